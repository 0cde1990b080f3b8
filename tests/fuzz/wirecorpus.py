#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""wirecorpus: writes the seed corpora of the wire and wire_reader fuzz
targets (tests/fuzz/corpus/wire/, corpus/wire_reader/) as protocol version
3 frames (common/PROTOCOL.md), from tests/integration/wirev2.py, which is
written from the spec apart from the C code. Tagged frames are sealed
under the session the targets key (FUZZ_WIRE_HELLO in fuzzwire.h): token
"fuzz-token-0123456789abcdef012345", both nonces zero, host "fuzz",
shipper to collector, numbered from 0 per input. Deterministic: running
it again rewrites the same bytes (zlib level 6; zstd frames of raw and RLE
blocks built by hand, and one compressed frame kept as bytes below), so
`git diff` after a
run shows only what a change to this file meant. Run it from anywhere:
    python3 tests/fuzz/wirecorpus.py
It replaces the files it makes and leaves others (crash-*) alone."""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import wirev2 as w  # noqa: E402

TOKEN = b"fuzz-token-0123456789abcdef012345"
NONCE = bytes(32)
HOST = "fuzz"
# fuzz_wire's mode byte
ON, SEAL = 0x01, 0x02
# fuzz_wire_reader's second byte: the reader's maximum, and the crc reseal
MAX_4M, MAX_4K, MAX_64, MAX_0, RESEAL = 0, 1, 2, 3, 0x04

CID = "4f1c2a9be07d3c5a8b6e1f0d2c4b6a8e9d7c5b3a1f0e2d4c6b8a9e7d5c3b1a0f"
CID2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
T0 = 1764770000123456789        # 2025-12-03, in ns


# batch(4) compressed by the zstd CLI at level 3 (content size, no
# checksum): real entropy-coded blocks for the decoder, where the frames
# wirev2.zstd_frame builds hold only raw and RLE blocks.
ZSTD_BATCH4 = bytes.fromhex(
    "28b52ffd600c01dd0a004614493960499b0e05b5388c00200178ea8448320c53"
    "6c78b3f9e4b25eaae93a48937bcfefb384984b8488888808d9fd339fbe6342b8"
    "d50d3c10ad4d01360037003c00d87601b42577b8e294d4a990959a9a138dea63"
    "9b8e979c0e85aa64a99e66449fdad878c98ee834a1ea582936a56653e5f5dcf1"
    "3ff187b931d6e5cb7d00b54f5c6d2b9dd42445d0e33432def10aa42d8115ec9a"
    "35c09d99ce97d36e657033a8d732daad90f2bf00d430b29a6c59998bbc0a5f8c"
    "fbff02c1c286231a09bd189b0725231b0fcb4af032ee1c6964dc6c3ceb0002f8"
    "96b73c8989f23ff349a02201430007151600ae886415ffff78a021c227ff198f"
    "498609094405b10b81946bd96e5ef0babbfd5f28ac0b1410d896d9d9f8352453"
    "207906a2948cd745eeb3ad65ddd366e32e1700606098a1c305e08a0618832120"
    "0ca9828281953058c005c86c0993af55bc5c30601017001ca61acb05016866b4"
    "0090d100da")


def session():
    return w.Session(TOKEN, NONCE, NONCE, HOST, w.SHIPPER)


def u64(v):
    return struct.pack("<Q", v)


def hello(host="node1", software="logq-shipper/0.3"):
    return w.str16(host) + w.str16(software) + bytes(range(32))


def challenge(flags=1):
    return bytes([flags]) + bytes(range(100, 132)) + bytes(32)


def error(code, msg):
    return struct.pack("<H", code) + w.str16(msg)


def source(cid, name, image, labels, start):
    return (w.str16(cid) + w.str16(name) + w.str16(image) +
            w.bytes32(labels) + u64(start))


def record(src, stream, flags, t, offset, msg):
    return (struct.pack("<IBBqQ", src, stream, flags, t, offset) +
            w.bytes32(msg))


def batch(seq=1):
    """Two sources, four records: stdout, stderr, a RAW and a TRUNCATED
    one, an empty message; offsets as the shipper counts them."""
    srcs = [source(CID, "web", "nginx:1.25",
                   '{"com.docker.compose.service":"web"}', 0),
            source(CID2, "db", "postgres:16", "", 4096)]
    recs = [record(0, 0, 0, T0, 97,
                   '10.0.0.7 - - "GET /api/users HTTP/1.1" 200 512'),
            record(0, 1, 0, T0 + 1000, 180,
                   "error: upstream timed out (110) while reading"),
            record(1, 0, 1, T0 + 2000, 4180, "not json-file {\"log\":"),
            record(1, 1, 2, T0 + 3000, 20600, "x" * 40),
            record(1, 0, 0, T0 + 4000, 20650, "")]
    return (u64(seq) + struct.pack("<I", len(srcs)) + b"".join(srcs) +
            struct.pack("<I", len(recs)) + b"".join(recs))


def batch_empty(seq=1):
    return u64(seq) + struct.pack("<I", 0) + struct.pack("<I", 0)


def sample(name, container, label, value):
    return (w.str16(name) + w.str16(container) + w.str16(label) +
            struct.pack("<d", value))


def metrics(seq=2):
    s = [sample("host.cpu.user_pct", "", "", 12.5),
         sample("host.fs.used_bytes", "", "/var", 5.0e9),
         sample("container.mem.bytes", "web", "", 73400320.0),
         sample("shipper.session", "", "", 123456789.0),
         sample("shipper.lost.bytes", "web", CID, 8192.0),
         sample("shipper.lost.flags", "web", CID, 1.0)]
    return (u64(seq) + u64(T0) + struct.pack("<I", len(s)) + b"".join(s))


def tagged_session():
    """What a shipper sends after AUTH: every frame tagged, n = 0, 1, ..."""
    s = session()
    return (s.seal(w.T_BATCH, batch(1), compress=True) +
            s.seal(w.T_METRICS, metrics(2), compress=True) +
            s.seal(w.T_PING, u64(7)) +
            s.seal(w.T_BATCH, batch(3)) +
            s.seal(w.T_BATCH, ZSTD_BATCH4, flags=w.F_ZSTD) +
            s.seal(w.T_METRICS, metrics(5), zstd=True) +
            s.seal(w.T_ERROR, error(4, "shutting down")))


def plain_session():
    """A connection without tokens: nothing tagged."""
    return (w.frame(w.T_HELLO, hello()) +
            w.frame(w.T_AUTH, bytes(32)) +
            w.frame(w.T_BATCH, batch(1), compress=True) +
            w.frame(w.T_METRICS, metrics(2), compress=True) +
            w.frame(w.T_BATCH, batch(3), zstd=True) +
            w.frame(w.T_PING, u64(9)))


def wire_seeds():
    s = session()
    first = s.seal(w.T_BATCH, batch(1), compress=True)
    return {
        "hello": bytes([0]) + w.frame(w.T_HELLO, hello()),
        "hello_v2": bytes([0]) + w.frame(w.T_HELLO, hello(), version=2),
        "challenge": bytes([0]) + w.frame(w.T_CHALLENGE, challenge()),
        "auth": bytes([0]) + w.frame(w.T_AUTH, bytes(range(32))),
        "error": bytes([0]) + w.frame(w.T_ERROR, error(2, "auth failed")),
        "ack_welcome": bytes([0]) + w.frame(w.T_WELCOME, u64(77)) +
        w.frame(w.T_ACK, u64(3)) + w.frame(w.T_PONG, u64(9)),
        "batch_zlib": bytes([0]) + w.frame(w.T_BATCH, batch(),
                                           compress=True),
        "batch_zstd": bytes([0]) + w.frame(w.T_BATCH, ZSTD_BATCH4,
                                           flags=w.F_ZSTD),
        "batch_zstd_raw": bytes([0]) + w.frame(w.T_BATCH, batch(),
                                               zstd=True),
        "batch_zstd_rle_bomb": bytes([0]) + w.frame(
            w.T_BATCH, w.zstd_frame(bytes(20 << 20), rle=0), flags=w.F_ZSTD),
        "batch_zstd_lying_size": bytes([0]) + w.frame(
            w.T_BATCH, w.zstd_frame(bytes(300000), stated=1000, rle=0),
            flags=w.F_ZSTD),
        "batch_zstd_no_size": bytes([0]) + w.frame(
            w.T_BATCH, w.zstd_frame(batch(), stated=-1), flags=w.F_ZSTD),
        "batch_both_codecs": bytes([0]) + w.frame(
            w.T_BATCH, ZSTD_BATCH4, flags=w.F_ZSTD | w.F_ZLIB),
        "hello_zstd": bytes([0]) + w.frame(
            w.T_HELLO, hello(software="logq-shipper/0.3 zstd")),
        "challenge_zstd": bytes([0]) + w.frame(w.T_CHALLENGE, challenge(3)),
        "batch_empty_sealed": bytes([SEAL]) +
        w.frame(w.T_BATCH, batch_empty(), compress=True),
        "plain_session": bytes([0]) + plain_session(),
        "plain_session_sealed": bytes([SEAL]) + plain_session(),
        "batch_tagged": bytes([ON]) + first,
        "batch_replayed": bytes([ON]) + first + first,
        "untagged_when_on": bytes([ON]) + w.frame(w.T_PING, u64(1)),
        "tagged_when_off": bytes([0]) + first,
        "tagged_session": bytes([ON]) + tagged_session(),
        "tagged_session_sealed": bytes([ON | SEAL]) + tagged_session(),
        "batch_payload": bytes([0]) + batch(),
        "metrics_payload": bytes([0]) + metrics(),
    }


def reader_seeds():
    tagged = tagged_session()
    plain = plain_session()
    cut = w.frame(w.T_BATCH, batch(), compress=True)
    return {
        "plain_max4m": bytes([5, MAX_4M]) + plain,
        "plain_max4k": bytes([51, MAX_4K]) + plain,
        "plain_max64": bytes([7, MAX_64]) + plain,
        "plain_max0": bytes([9, MAX_0]) + plain,
        "plain_max4k_reseal": bytes([33, MAX_4K | RESEAL]) + plain,
        "tagged_max4m": bytes([11, MAX_4M]) + tagged,
        "tagged_max4k": bytes([200, MAX_4K]) + tagged,
        "tagged_max4m_reseal": bytes([3, MAX_4M | RESEAL]) + tagged,
        "truncated_max4m": bytes([17, MAX_4M]) + cut[:-5],
        "zstd_max4m": bytes([13, MAX_4M]) +
        w.frame(w.T_BATCH, ZSTD_BATCH4, flags=w.F_ZSTD) +
        w.frame(w.T_BATCH, batch(5), zstd=True),
        "both_codecs_max4m": bytes([6, MAX_4M]) +
        w.frame(w.T_BATCH, ZSTD_BATCH4, flags=w.F_ZSTD | w.F_ZLIB),
        "hello_v2_max4k": bytes([1, MAX_4K]) +
        w.frame(w.T_HELLO, hello(), version=2),
        "bad_crc_max4m": bytes([2, MAX_4M]) +
        w.frame(w.T_ACK, u64(5), crc=0x12345678),
        "long_control_max4m": bytes([4, MAX_4M]) +
        w.frame(w.T_ERROR, b"", length=5000),
        "http_get": bytes([1, MAX_4K]) + b"GET / HTTP/1.1\r\n",
    }


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%s: %d seeds, %d bytes" % (
        target, len(seeds), sum(len(v) for v in seeds.values())))


def main():
    write("wire", wire_seeds())
    write("wire_reader", reader_seeds())


if __name__ == "__main__":
    main()
