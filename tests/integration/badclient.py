#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""badclient: hostile and honest clients for the collector (40-bad-input).

  badclient.py tcp  PORT HOSTS_FILE   one connection per bad case (garbage,
      oversized length, bad crc, bad version, reserved bits, frame before
      the handshake, a tagged frame before it, a version 1 shipper (must get
      ERROR 3 it can read), wrong token, zlib bomb, corrupt zlib, zstd
      bombs (a stated size over 16 MiB; a frame holding more than it
      states), a zstd frame without its size, corrupt zstd, both codec
      flags, bad source index, trailing bytes, an untagged batch after the
      handshake, truncated frame, connection flood), each of which the
      collector must answer by closing the connection; then an honest client
      written from common/PROTOCOL.md whose batch must be ACKed: a zlib one
      that offers no zstd (an older shipper: CHALLENGE must not carry the
      zstd bit, which it would refuse), and host "badzstd", which offers
      zstd, gets the bit and sends zstd batches (BADINPUT-ZSTD-*); then
      position poisoning: a record at offset 2^64-1 for host "poisoned",
      after which that source's honest lines (BADINPUT-POISON-*) must
      still be stored; then the position rule for host "positions": a
      batch that skips ahead, one that goes backwards, a new source not at
      0 (BADINPUT-POS-BAD-*, refused) among honest and resent ones
      (BADINPUT-POS-OK-*, each stored once) (40-bad-input checks the store).
      HOSTS_FILE is the collector's --token-file: each client uses its
      host's token (badclient, badhonest, badzstd, poisoned, bomber,
      positions).
  badclient.py http PORT             malformed API requests, each must get
      a 4xx with a JSON {"error": ...} body; raw garbage on the HTTP port.
  badclient.py losses PORT HOSTS_FILE N   host "lossy" sends N METRICS
      frames back to back, each reporting more bytes lost for its source
      (PROTOCOL.md "Lost data"), each ACKed; prints the seconds it took.
Prints one line per case; exit 1 if any case misbehaved. 127.0.0.1 only.
"""

import json
import os
import socket
import struct
import sys
import time
import urllib.error
import urllib.request
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wirev2 import (CH_ZSTD, F_ZLIB, F_ZSTD, HOST, T_ACK,  # noqa: E402
                    T_BATCH, T_ERROR, T_HELLO, T_METRICS, T_WELCOME, Conn,
                    bytes32, frame, load_hosts, str16, zstd_frame)

FAILS = []


def batch_payload(seq, records, n_sources=1, source_idx=0, trailing=b""):
    p = struct.pack("<QI", seq, n_sources)
    for i in range(n_sources):
        p += str16("%064x" % (0xBAD + i)) + str16("badinput") + \
            str16("busybox:latest") + bytes32("{}") + struct.pack("<Q", 0)
    p += struct.pack("<I", len(records))
    for off, msg in records:
        p += struct.pack("<IBBQQ", source_idx, 0, 0, time.time_ns(), off)
        p += bytes32(msg)
    return p + trailing


def wait_released(port, limit=10.0):
    """Waits until the collector has seen this address's closed connections
    go (--max-connections-per-address refuses at accept with an ERROR; a
    free slot sends nothing before HELLO): on a loaded machine the closes
    can still be queued when the next case connects."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        c = Conn(port)
        c.s.settimeout(0.3)
        try:
            f = c.read_frame()
        except socket.timeout:
            c.s.close()
            return
        c.s.close()
        if f is None or f[0] != T_ERROR:
            return
        time.sleep(0.1)
    raise RuntimeError("connections from this address not released "
                       "after %.0f s" % limit)


def welcomed(port, tokens, hostname="badclient"):
    c = Conn(port)
    f = c.handshake(hostname, tokens[hostname])
    if not f or f[0] != T_WELCOME:
        raise RuntimeError("no WELCOME for a correct token: %r" % (f,))
    return c


def expect_close(c, what):
    return c.expect_close(what, FAILS)


def tcp_cases(port, tokens):
    nonce = bytes(32)
    hello = frame(T_HELLO, str16("bad") + str16("x") + nonce)
    cases = [
        ("garbage", b"GET / HTTP/1.0\r\n\r\n" + os.urandom(3000)),
        ("oversized length", frame(T_HELLO, b"", length=0xFFFFFFF0)),
        ("length just over 4 MiB", frame(T_HELLO, b"", length=(4 << 20) + 1)),
        ("bad crc", frame(T_HELLO, str16("bad") + str16("x") + nonce,
                          crc=12345)),
        ("bad version", frame(T_HELLO, str16("bad") + str16("x") + nonce,
                              version=9)),
        ("reserved bits", frame(T_HELLO, str16("bad") + str16("x") + nonce,
                                reserved=1)),
        ("unknown flags", frame(T_HELLO, str16("bad") + str16("x") + nonce,
                                flags=8)),
        ("tagged frame before the handshake",
         frame(T_HELLO, str16("bad") + str16("x") + nonce + bytes(32),
               flags=2)),
        ("version 1 hello (no nonce)", frame(T_HELLO, str16("bad") +
                                             str16("x"))),
        ("batch before handshake", frame(T_BATCH, batch_payload(1, [(1, "x")]))),
        ("hello with NUL in hostname", frame(T_HELLO, str16(b"a\0b") +
                                             str16("x") + nonce)),
        ("hello truncated payload", frame(T_HELLO, b"\x10\x00ab")),
        ("two hellos", hello + hello),
    ]
    for what, data in cases:
        c = Conn(port)
        c.send(data)
        expect_close(c, what)

    old_shipper(port, 1)
    old_shipper(port, 2)
    c = Conn(port)
    f = c.handshake("badclient", b"not-the-token-0123456789abcdef012345",
                    check_collector=False)
    got = expect_close(c, "wrong token")
    if not f or f[0] != T_ERROR or struct.unpack_from("<H", f[1])[0] != 2:
        FAILS.append("wrong token error")
        print("FAIL wrong token: expected ERROR code 2, got %r" % (f,))

    bomb = zlib.compress(batch_payload(1, [(1, "x" * (40 << 20))]), 9)
    post = [
        ("zlib bomb (%d bytes -> 40 MiB)" % len(bomb),
         (T_BATCH, bomb, "raw-zlib")),
        ("corrupt zlib", (T_BATCH, b"\x78\x9c" + os.urandom(200),
                          "raw-zlib")),
        ("zstd bomb (stated 40 MiB)", (T_BATCH, zstd_frame(
            bytes(40 << 20), rle=0), "raw-zstd")),
        ("zstd bomb (states 1 MiB, holds 40 MiB)", (T_BATCH, zstd_frame(
            bytes(40 << 20), stated=1 << 20, rle=0), "raw-zstd")),
        ("zstd frame without content size", (T_BATCH, zstd_frame(
            batch_payload(1, [(1, "x")]), stated=-1), "raw-zstd")),
        ("corrupt zstd", (T_BATCH, zstd_frame(b"")[:5] + os.urandom(200),
                          "raw-zstd")),
        ("zlib and zstd flags at once", (T_BATCH, zstd_frame(
            batch_payload(1, [(1, "x")])), "both")),
        ("bad source index", (T_BATCH, batch_payload(
            1, [(1, "x")], source_idx=7), True)),
        ("trailing bytes", (T_BATCH, batch_payload(
            1, [(1, "x")], trailing=b"junk"), True)),
        ("too many sources", (T_BATCH, struct.pack("<QI", 1, 5000), False)),
        ("record count past the payload", (T_BATCH, struct.pack(
            "<QII", 1, 0, 900000), False)),
        ("unknown frame type", (777, b"", False)),
        ("untagged batch after the handshake",
         frame(T_BATCH, batch_payload(1, [(1, "x")]))),
    ]
    for what, data in post:
        c = welcomed(port, tokens)
        if isinstance(data, tuple):
            ftype, p, how = data
            flags = {"raw-zlib": F_ZLIB, "raw-zstd": F_ZSTD,
                     "both": F_ZLIB | F_ZSTD}.get(how, 0)
            data = c.session.seal(ftype, p, compress=how is True,
                                  flags=flags)
        c.send(data)
        expect_close(c, what)
    del got

    c = Conn(port)
    c.send(frame(T_HELLO, str16("bad") + str16("x") + nonce)[:10])
    c.s.close()
    print("ok   truncated frame then close")

    socks = [socket.create_connection((HOST, port), timeout=10)
             for _ in range(50)]
    for s in socks:
        s.close()
    print("ok   50 connections opened and closed")
    wait_released(port)

    honest(port, tokens)
    zstd_client(port, tokens)
    poison(port, tokens)
    positions(port, tokens)
    meta_bomb(port, tokens)
    label_bomb(port, tokens)


def label_bomb(port, tokens):
    """Docker labels over issue 9's limits: 70 good labels, a 300-byte
    value and a key with an escape (source 0), and text that is not a JSON
    object (source 1). Both batches are ACKed and the lines stored;
    40-bad-input checks labels_refused (6 past 64 + 2 bad = 8),
    labels_invalid (1) and the 64 labels kept. Then label_sets."""
    import json
    c = welcomed(port, tokens, "labeller")
    labels = {"k%02d" % i: "v" for i in range(70)}
    labels["long"] = "x" * 300
    labels["esc\x1b[2J"] = "v"
    texts = [json.dumps(labels), "[1]"]
    p = struct.pack("<QI", 1, 2)
    for i, t in enumerate(texts):
        p += str16("%064x" % (0x1AB + i)) + str16("lab-%d" % i) + \
            str16("img") + bytes32(t) + struct.pack("<Q", 0)
    p += struct.pack("<I", 2)
    for i in range(2):
        p += struct.pack("<IBBQQ", i, 0, 0, time.time_ns(), 1)
        p += bytes32("BADINPUT-LABELS-%d" % i)
    c.send_frame(T_BATCH, p, compress=True)
    f = c.read_frame()
    if not f or f[0] != T_ACK:
        FAILS.append("labels")
        print("FAIL labels: expected ACK, got %r" % (f and f[0],))
    else:
        print("ok   labels over the limits: batch ACKed")
    label_sets(c)
    c.s.close()


def label_sets(c, n=66):
    """One source ("lab-cap") given a new label set with every batch:
    the store takes 64 sets, refuses the last 2 (counted in
    labelsets_capped, logged); batches pipelined, each record's line
    CAPLABELS-k tiling the source's positions (k-1, k]."""
    for k in range(1, n + 1):
        p = struct.pack("<QI", 1 + k, 1) + str16("ca11ab" + "0" * 58) + \
            str16("lab-cap") + str16("img") + \
            bytes32(json.dumps({"set": str(k)})) + struct.pack("<Q", k - 1)
        p += struct.pack("<I", 1) + struct.pack("<IBBQQ", 0, 0, 0,
                                                time.time_ns(), k)
        c.send_frame(T_BATCH, p + bytes32("CAPLABELS-%d" % k), compress=True)
    for _ in range(n):
        f = c.read_frame()
        if not f or f[0] != T_ACK:
            FAILS.append("label sets")
            print("FAIL label sets: expected ACK, got %r" % (f and f[0],))
            return
        if struct.unpack("<Q", f[1])[0] == 1 + n:
            print("ok   %d label sets for one source: batches ACKed" % n)
            return
    FAILS.append("label sets")
    print("FAIL label sets: last batch not ACKed")


def meta_bomb(port, tokens):
    """Metadata bomb: 5 batches of 120 sources with 64 KiB names (new ones
    each batch), plus sources with a bad id, a control character in the
    name and an image over 256 bytes. The batches are acknowledged (a
    refusal must not make a shipper resend forever), their records dropped
    and counted (40-bad-input checks records_refused and the store)."""
    c = welcomed(port, tokens, "bomber")
    for seq in range(1, 6):
        p = struct.pack("<QI", seq, 123)
        for i in range(120):
            p += str16("%064x" % (0xB0B + i)) + \
                str16(("%d-%d-" % (seq, i)) + "n" * 65000) + \
                str16("busybox") + bytes32("{}") + struct.pack("<Q", 0)
        p += str16("../../etc/passwd") + str16("ok") + str16("img") + \
            bytes32("{}") + struct.pack("<Q", 0)
        p += str16("%064x" % 0xB0C0) + str16("esc\x1b[2J") + str16("img") + \
            bytes32("{}") + struct.pack("<Q", 0)
        p += str16("%064x" % 0xB0C1) + str16("ok") + str16("i" * 300) + \
            bytes32("{}") + struct.pack("<Q", 0)
        p += struct.pack("<I", 123)
        for i in range(123):
            p += struct.pack("<IBBQQ", i, 0, 0, time.time_ns(), seq)
            p += bytes32("BADINPUT-BOMB-%d-%d" % (seq, i))
        c.send_frame(T_BATCH, p, compress=True)
        f = c.read_frame()
        if not f or f[0] != T_ACK or struct.unpack("<Q", f[1])[0] != seq:
            FAILS.append("bomb")
            print("FAIL bomb: expected ACK %d, got %r" % (seq, f and f[0]))
            c.s.close()
            return
    c.s.close()
    print("ok   metadata bomb: 5 batches of 123 bad sources ACKed")


def poison(port, tokens):
    """A hostile sender claims a source's position is 2^64-1; the honest
    lines sent later for that source must be stored, not acknowledged and
    dropped as duplicates."""
    c = welcomed(port, tokens, "poisoned")
    c.send_frame(T_BATCH, batch_payload(1, [(2**64 - 1, "BADINPUT-POISONER")]),
                 compress=True)
    f = c.read_frame()
    if not f or f[0] not in (T_ACK, T_ERROR):
        FAILS.append("poison")
        print("FAIL poison: expected ACK or ERROR, got %r" % (f,))
    c.s.close()
    c = welcomed(port, tokens, "poisoned")
    recs = [(500 + i, "BADINPUT-POISON-HONEST-%d" % i) for i in range(3)]
    c.send_frame(T_BATCH, batch_payload(1, recs), compress=True)
    f = c.read_frame()
    if not f or f[0] != T_ACK:
        FAILS.append("poison honest")
        print("FAIL poison: honest batch after it not ACKed: %r" % (f,))
    else:
        print("ok   poison: offset 2^64-1 sent, then honest batch ACKed")
    c.s.close()


def honest(port, tokens):
    c = welcomed(port, tokens, "badhonest")
    if c.challenge_flags & CH_ZSTD:     # an older shipper refuses the bit
        FAILS.append("zstd bit without an offer")
        print("FAIL honest client: CHALLENGE flags %d without an offer" %
              c.challenge_flags)
    recs = [(100 + i, "BADINPUT-HONEST-%d via badclient" % i) for i in range(3)]
    c.send_frame(T_BATCH, batch_payload(1, recs), compress=True)
    f = c.read_frame()
    if not f or f[0] != T_ACK or struct.unpack("<Q", f[1])[0] != 1:
        FAILS.append("honest batch")
        print("FAIL honest client: expected ACK 1, got %r" % (f,))
    else:
        print("ok   honest client: batch ACKed")
    # A resend of the same offsets must be dropped as duplicates, not stored.
    c.send_frame(T_BATCH, batch_payload(2, recs), compress=True)
    f = c.read_frame()
    if not f or f[0] != T_ACK or struct.unpack("<Q", f[1])[0] != 2:
        FAILS.append("honest resend")
        print("FAIL honest client resend: expected ACK 2, got %r" % (f,))
    c.s.close()


def zstd_client(port, tokens):
    """Offers zstd, must get the CHALLENGE bit, and its zstd batches are
    ACKed (PROTOCOL.md "Compression")."""
    c = Conn(port)
    f = c.handshake("badzstd", tokens["badzstd"], software="badclient/0.3 zstd")
    if not f or f[0] != T_WELCOME or not c.challenge_flags & CH_ZSTD:
        FAILS.append("zstd offer")
        print("FAIL zstd client: WELCOME %r, CHALLENGE flags %r" %
              (f, c.challenge_flags))
        return
    for seq in (1, 2):
        recs = [(100 * seq + i, "BADINPUT-ZSTD-%d via badclient" %
                 (3 * seq + i)) for i in range(3)]
        c.send_frame(T_BATCH, batch_payload(seq, recs), zstd=True)
        f = c.read_frame()
        if not f or f[0] != T_ACK or struct.unpack("<Q", f[1])[0] != seq:
            FAILS.append("zstd batch")
            print("FAIL zstd client: expected ACK %d, got %r" % (seq, f))
            break
    else:
        print("ok   zstd client: offered, accepted, two zstd batches ACKed")
    c.s.close()


def old_shipper(port, version):
    """An older shipper's HELLO (version 1: no nonce; version 2: no batch
    start): closed with an ERROR (code 3) in that version's header that
    says to upgrade, so an old shipper logs why."""
    c = Conn(port)
    nonce = bytes(32) if version >= 2 else b""
    c.send(frame(T_HELLO, str16("old") + str16("logq-shipper/0.1") + nonce,
                 version=version))
    f = c.read_raw()
    c.s.close()
    ok = f is not None and f[0] == version and f[2] == T_ERROR and \
        struct.unpack_from("<H", f[3])[0] == 3 and b"upgrade" in f[3]
    if not ok:
        FAILS.append("old shipper v%d" % version)
    print("%s version %d shipper: %r" % ("ok  " if ok else "FAIL", version,
                                         f and f[3]))


def pos_batch(seq, sources):
    """A BATCH of sources [(id, start, [(offset, msg), ...]), ...]."""
    p = struct.pack("<QI", seq, len(sources))
    for sid, start, _ in sources:
        p += str16("%064x" % sid) + str16("positions") + str16("img") + \
            bytes32("{}") + struct.pack("<Q", start)
    recs = [(k, off, msg) for k, (_, _, rs) in enumerate(sources)
            for off, msg in rs]
    p += struct.pack("<I", len(recs))
    for k, off, msg in recs:
        p += struct.pack("<IBBQQ", k, 0, 0, time.time_ns(), off)
        p += bytes32("BADINPUT-POS-" + msg)
    return p


def positions(port, tokens):
    """PROTOCOL.md "Plausible positions": every batch is acknowledged; the
    refused records (BAD) are not stored, the others (OK) exactly once."""
    a, b = 0x905A, 0x905B
    batches = [
        [(a, 0, [(100, "OK-1"), (200, "OK-2")])],
        [(a, 300, [(400, "BAD-skip-ahead")])],                  # hole 200..300
        [(a, 200, [(250, "OK-3"), (240, "BAD-backwards"),
                   (260, "BAD-after-backwards")])],
        [(b, 50, [(60, "BAD-new-not-at-0")]),                   # new source
         (a, 250, [(270, "OK-4")])],
        [(a, 0, [(100, "OK-1"), (200, "OK-2"), (250, "OK-3"),   # a resend
                 (270, "OK-4"), (300, "OK-5")]),
         (b, 0, [(10, "OK-6")])],
    ]
    c = welcomed(port, tokens, "positions")
    for seq, srcs in enumerate(batches, 1):
        c.send_frame(T_BATCH, pos_batch(seq, srcs), compress=True)
        f = c.read_frame()
        if not f or f[0] != T_ACK or struct.unpack("<Q", f[1])[0] != seq:
            FAILS.append("positions")
            print("FAIL positions: expected ACK %d, got %r" % (seq, f))
            c.s.close()
            return
    c.s.close()
    print("ok   positions: skip ahead, backwards, new source not at 0 ACKed")


def http_get(port, path, method="GET"):
    req = urllib.request.Request("http://%s:%d%s" % (HOST, port, path),
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_cases(port):
    bad = ["/api/v1/logs?limit=abc", "/api/v1/logs?limit=-5",
           "/api/v1/logs?limit=99999999999999999999999",
           "/api/v1/logs?limit=1000001", "/api/v1/logs?order=sideways",
           "/api/v1/logs?regex=(unclosed", "/api/v1/logs?stream=stdin",
           "/api/v1/logs?since=notatime", "/api/v1/logs?until=2026-13-45T99:00:00Z",
           "/api/v1/logs?bogus=1", "/api/v1/logs?icase=maybe",
           "/api/v1/logs?q=%22unterminated", "/api/v1/follow?order=asc",
           "/api/v1/follow?limit=1000001"]
    for path in bad:
        st, body = http_get(port, path)
        ok = 400 <= st < 500
        try:
            ok = ok and "error" in json.loads(body) if st != 414 else ok
        except ValueError:
            ok = False
        print("%s %s -> %d %.80r" % ("ok  " if ok else "FAIL", path[:60], st,
                                      body))
        if not ok:
            FAILS.append(path[:60])
    for path, want in (("/api/v1/nope", 404), ("/nope", 404)):
        st, body = http_get(port, path)
        if st != want:
            FAILS.append(path)
        print("%s %s -> %d" % ("ok  " if st == want else "FAIL", path, st))
    st, _ = http_get(port, "/api/v1/logs?q=" + "a" * 100000)
    if st >= 500:
        FAILS.append("long q")
    print("%s 100 KB query text -> %d" % ("ok  " if st < 500 else "FAIL", st))
    st, _ = http_get(port, "/api/v1/logs", method="DELETE")
    if not 400 <= st < 500:
        FAILS.append("DELETE")
    print("%s DELETE /api/v1/logs -> %d" % ("ok  " if 400 <= st < 500
                                            else "FAIL", st))
    s = socket.create_connection((HOST, port), timeout=10)
    s.sendall(b"\x00\xff garbage \r\n\r\n" + os.urandom(500))
    try:
        while s.recv(4096):
            pass
        print("ok   garbage on the HTTP port: closed")
    except socket.timeout:
        FAILS.append("http garbage")
        print("FAIL garbage on the HTTP port: still open after 10 s")
    s.close()


def losses(port, tokens, n):
    c = welcomed(port, tokens, "lossy")
    cid = "%064x" % 0x1055
    t0 = time.monotonic()
    for seq in range(1, n + 1):
        samples = [("shipper.session", "", "", 4242.0),
                   ("shipper.lost.bytes", "lossy-web", cid, 1000.0 * seq)]
        p = struct.pack("<QQI", seq, time.time_ns(), len(samples))
        for name, container, label, value in samples:
            p += str16(name) + str16(container) + str16(label) + \
                struct.pack("<d", value)
        c.send_frame(T_METRICS, p)
        f = c.read_frame()
        if not f or f[0] != T_ACK or struct.unpack("<Q", f[1])[0] != seq:
            FAILS.append("losses metrics")
            print("FAIL METRICS %d: expected its ACK, got %r" % (seq, f),
                  file=sys.stderr)
            break
    print("%.0f" % (time.monotonic() - t0 + 0.5))
    c.s.close()


def main(argv):
    if len(argv) == 3 and argv[0] == "tcp":
        tcp_cases(int(argv[1]), load_hosts(argv[2]))
    elif len(argv) == 2 and argv[0] == "http":
        http_cases(int(argv[1]))
    elif len(argv) == 4 and argv[0] == "losses":
        losses(int(argv[1]), load_hosts(argv[2]), int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if FAILS:
        print("badclient: %d cases failed: %s" % (len(FAILS), FAILS))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
