#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A collector stand-in that only acknowledges (common/PROTOCOL.md frames).

For measuring the shipper alone: does the handshake (no auth), then ACKs
every BATCH and METRICS frame at once, after checking that the seq inside
its payload is the next one on this connection (a shipper sending frames
out of order is reported and disconnected). Answers a zstd offer as a
collector of this version does (CHALLENGE bit 1, common/PROTOCOL.md
"Compression"), so the shipper sends what it sends to a real collector
(it used to answer 0: the shipper measured here sent zlib). Counts the
records of each batch by decoding only the payload's head (seq, sources,
n_records; zstd through libzstd's streaming decoder, ctypes), so it costs
far less CPU than the shipper. Writes "<tcp_port>" to --port-file and,
once --records records were acked, "<unix time> <records> <batches>" to
--done-file. Stores nothing.
"""
import argparse, ctypes, ctypes.util, os, socket, struct, sys, time, zlib

HDR = struct.Struct("<2sBBHHII")
HELLO, CHALLENGE, AUTH, WELCOME, BATCH, ACK, METRICS = 100, 101, 102, 103, 200, 201, 300
F_ZLIB, F_ZSTD = 1, 4
CH_ZSTD = 2


class ZBuf(ctypes.Structure):
    """ZSTD_inBuffer / ZSTD_outBuffer: pointer, size, pos."""
    _fields_ = [("p", ctypes.c_void_p), ("size", ctypes.c_size_t), ("pos", ctypes.c_size_t)]


class Unzstd:
    """The first bytes of a zstd frame: libzstd's streaming decoder, stopped
    once it has given them (the rest of the frame is never decoded)."""

    def __init__(self):
        name = ctypes.util.find_library("zstd") or "libzstd.so.1"
        z = self.z = ctypes.CDLL(name)
        z.ZSTD_createDStream.restype = ctypes.c_void_p
        z.ZSTD_DCtx_reset.argtypes = [ctypes.c_void_p, ctypes.c_int]
        z.ZSTD_DCtx_reset.restype = ctypes.c_size_t
        z.ZSTD_decompressStream.argtypes = [ctypes.c_void_p, ctypes.POINTER(ZBuf),
                                            ctypes.POINTER(ZBuf)]
        z.ZSTD_decompressStream.restype = ctypes.c_size_t
        z.ZSTD_isError.argtypes = [ctypes.c_size_t]
        z.ZSTD_isError.restype = ctypes.c_uint
        self.ds = z.ZSTD_createDStream()

    def head(self, payload, need):
        z = self.z
        z.ZSTD_DCtx_reset(self.ds, 1)    # ZSTD_reset_session_only
        src = (ctypes.c_char * len(payload)).from_buffer_copy(payload)
        out = ctypes.create_string_buffer(need)
        ib = ZBuf(ctypes.cast(src, ctypes.c_void_p), len(payload), 0)
        ob = ZBuf(ctypes.cast(out, ctypes.c_void_p), need, 0)
        while ob.pos < need:
            r = z.ZSTD_decompressStream(self.ds, ctypes.byref(ob), ctypes.byref(ib))
            if z.ZSTD_isError(r):
                raise zlib.error("corrupt zstd frame")
            if r == 0 or (ib.pos == ib.size and ob.pos < ob.size):
                break
        return out.raw[:ob.pos]


UNZSTD = None


def frame(ftype, payload):
    return HDR.pack(b"LQ", 3, 0, ftype, 0, len(payload), zlib.crc32(payload)) + payload


def head(flags, payload, need):
    """First bytes of the plain payload, inflating no more than needed."""
    global UNZSTD
    if flags & F_ZSTD:
        if UNZSTD is None:
            UNZSTD = Unzstd()
        return UNZSTD.head(payload, need)
    if not flags & F_ZLIB:
        return payload
    return zlib.decompressobj().decompress(payload, need)


def batch_records(flags, payload):
    need = 4096
    while True:
        p = head(flags, payload, need)
        try:
            seq, n_src = struct.unpack_from("<QI", p, 0)
            pos = 12
            for _ in range(n_src):
                for _ in range(3):
                    (n,) = struct.unpack_from("<H", p, pos)
                    pos += 2 + n
                (n,) = struct.unpack_from("<I", p, pos)
                pos += 4 + n + 8        # labels, then the u64 start
            (n_rec,) = struct.unpack_from("<I", p, pos)
            return seq, n_rec
        except struct.error:
            if len(p) < need:
                raise
            need *= 4


def serve(conn, st, a):
    buf = bytearray()
    expect = 1
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = conn.recv(1 << 20)
        if not data:
            return
        buf += data
        acks = []
        pos = 0
        while len(buf) - pos >= HDR.size:
            magic, ver, flags, ftype, _, plen, _ = HDR.unpack_from(buf, pos)
            if magic != b"LQ":
                print("ack_sink: bad magic", file=sys.stderr)
                return
            if len(buf) - pos - HDR.size < plen:
                break
            payload = bytes(buf[pos + HDR.size:pos + HDR.size + plen])
            pos += HDR.size + plen
            if ftype == HELLO:
                # auth_required 0 (bit 1: zstd, when offered as a word of
                # the software text), our nonce, an all-zero proof
                (hn,) = struct.unpack_from("<H", payload, 0)
                (sn,) = struct.unpack_from("<H", payload, 2 + hn)
                software = payload[4 + hn:4 + hn + sn]
                ch = CH_ZSTD if b"zstd" in software.split(b" ") and not a.zlib else 0
                conn.sendall(frame(CHALLENGE, bytes([ch]) + os.urandom(32) + bytes(32)))
            elif ftype == AUTH:
                conn.sendall(frame(WELCOME, struct.pack("<Q", 1)))
            elif ftype in (BATCH, METRICS):
                if ftype == BATCH:
                    seq, n = batch_records(flags, payload)
                    st["records"] += n
                    st["batches"] += 1
                else:
                    seq = struct.unpack_from("<Q", head(flags, payload, 8))[0]
                if seq != expect:
                    print(f"ack_sink: seq {seq}, expected {expect}", file=sys.stderr)
                    st["errors"] += 1
                    return
                acks.append(frame(ACK, struct.pack("<Q", seq)))
                expect += 1
        del buf[:pos]
        if acks:
            conn.sendall(acks[-1])
        if not st["done"] and st["records"] >= a.records:
            st["done"] = True
            with open(a.done_file + ".tmp", "w") as f:
                f.write(f"{time.time():.3f} {st['records']} {st['batches']}\n")
            os.rename(a.done_file + ".tmp", a.done_file)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--done-file", required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--zlib", action="store_true",
                    help="answer a zstd offer as an earlier collector (the shipper sends zlib)")
    a = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(f"{ls.getsockname()[1]}\n")
    os.rename(a.port_file + ".tmp", a.port_file)
    st = {"records": 0, "batches": 0, "errors": 0, "done": False}
    while True:
        conn, _ = ls.accept()
        try:
            serve(conn, st, a)
        except (OSError, struct.error, zlib.error) as e:
            print(f"ack_sink: {e}", file=sys.stderr)
        conn.close()


if __name__ == "__main__":
    main()
