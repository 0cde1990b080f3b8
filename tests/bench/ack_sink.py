#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A collector stand-in that only acknowledges (common/PROTOCOL.md frames).

For measuring the shipper alone: does the handshake (no auth), then ACKs
every BATCH and METRICS frame at once, after checking that the seq inside
its payload is the next one on this connection (a shipper sending frames
out of order is reported and disconnected). Counts the records of each
batch by inflating only the payload's head (seq, sources, n_records), so it
costs far less CPU than the shipper. Writes "<tcp_port>" to --port-file and,
once --records records were acked, "<unix time> <records> <batches>" to
--done-file. Stores nothing.
"""
import argparse, os, socket, struct, sys, time, zlib

HDR = struct.Struct("<2sBBHHII")
HELLO, CHALLENGE, AUTH, WELCOME, BATCH, ACK, METRICS = 100, 101, 102, 103, 200, 201, 300
F_ZLIB = 1


def frame(ftype, payload):
    return HDR.pack(b"LQ", 3, 0, ftype, 0, len(payload), zlib.crc32(payload)) + payload


def head(flags, payload, need):
    """First bytes of the plain payload, inflating no more than needed."""
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
                # auth_required 0, our nonce, an all-zero proof
                conn.sendall(frame(CHALLENGE, b"\0" + os.urandom(32) + bytes(32)))
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
