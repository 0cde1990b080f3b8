#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""identity: attackers on shipper identity (42-identity, SECURITY.md
"Shipper identity"), speaking wirev2.py.

  identity.py cross PORT HOSTS_FILE A B
      handshakes as host B with host A's token (taken from the collector's
      HOSTS_FILE): must get ERROR 2 and no WELCOME. Then host A with its
      own token sends one batch (IDENTCROSS-OK), which must be ACKed.
  identity.py fake-collector PORT_FILE LOG MODE
      a collector without the tokens: answers HELLO with a CHALLENGE whose
      proof is random (MODE wrong) or that asks for no token (MODE noauth),
      and writes the type of every frame it receives to LOG, one per line
      ("101"...). A real shipper must send nothing after HELLO.
  identity.py proxy PORT_FILE UPSTREAM LOG
      a man in the middle between a real shipper and the collector at
      127.0.0.1:UPSTREAM, which writes what it did to LOG. Connection 1:
      the shipper's 2nd BATCH is modified (its records' "Mnode" markers
      become "EVILZ", the crc made right again, the tag kept). Connection
      2: the 2nd BATCH is sent twice (replay). Connection 3: the first
      ACK is sent twice towards the shipper. Later connections pass
      untouched. Each of the three must end the connection.
Runs until killed (fake-collector, proxy). 127.0.0.1 only.
"""

import os
import socket
import struct
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wirev2 import (F_ZLIB, F_ZSTD, HOST, T_ACK, T_BATCH,  # noqa: E402
                    T_CHALLENGE, T_ERROR, T_WELCOME, Conn, bytes32, frame,
                    load_hosts, split_frame, str16)


def cross(port, hosts_file, a, b):
    tokens = load_hosts(hosts_file)
    c = Conn(port)
    f = c.handshake(b, tokens[a], check_collector=False)
    c.s.close()
    if not f or f[0] != T_ERROR or struct.unpack_from("<H", f[1])[0] != 2:
        sys.exit("cross: %s's token as %s: expected ERROR 2, got %r" %
                 (a, b, f))
    print("ok   %s's token as %s: ERROR 2" % (a, b))
    c = Conn(port)
    f = c.handshake(a, tokens[a])
    if not f or f[0] != T_WELCOME:
        sys.exit("cross: %s with its own token: no WELCOME: %r" % (a, f))
    p = struct.pack("<QI", 1, 1) + str16("%064x" % 0x1DE) + str16("cross") + \
        str16("img") + bytes32("{}") + struct.pack("<QI", 0, 1) + \
        struct.pack("<IBBQQ", 0, 0, 0, time.time_ns(), 1) + \
        bytes32("IDENTCROSS-OK")
    c.send_frame(T_BATCH, p, compress=True)
    f = c.read_frame()
    c.s.close()
    if not f or f[0] != T_ACK:
        sys.exit("cross: %s's own batch not ACKed: %r" % (a, f))
    print("ok   %s with its own token: batch ACKed" % a)


def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(path + ".tmp", path)


def listener():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((HOST, 0))
    ls.listen(16)
    return ls


def note(log, text):
    with open(log, "a") as f:
        f.write(text + "\n")


def fake_serve(conn, log, mode):
    conn.settimeout(30)
    buf = b""
    try:
        while True:
            d = conn.recv(65536)
            if not d:
                return
            buf += d
            while True:
                f = split_frame(buf)
                if not f:
                    break
                buf = f[5]
                note(log, str(f[2]))
                if f[2] == 100:
                    required = 0 if mode == "noauth" else 1
                    conn.sendall(frame(T_CHALLENGE, bytes([required]) +
                                       os.urandom(32) + os.urandom(32)))
    except OSError:
        pass
    finally:
        conn.close()


def fake_collector(port_file, log, mode):
    ls = listener()
    write_port(port_file, ls.getsockname()[1])
    while True:
        conn, _ = ls.accept()
        note(log, "connection")
        threading.Thread(target=fake_serve, args=(conn, log, mode),
                         daemon=True).start()


def tamper(raw):
    """The BATCH frame raw with its records' markers changed, crc fixed,
    the tag (last 32 bytes) kept. A zstd body (no zstd in Python's
    standard library) gets its last byte flipped instead: modified all
    the same."""
    version, flags, ftype, _, _, _ = struct.unpack_from("<BBHHII", raw, 2)
    body, tag = raw[16:-32], raw[-32:]
    if flags & F_ZSTD:
        body = body[:-1] + bytes([body[-1] ^ 0x5A])
    else:
        plain = zlib.decompress(body) if flags & F_ZLIB else body
        plain = plain.replace(b"Mnode", b"EVILZ")
        body = zlib.compress(plain, 6) if flags & F_ZLIB else plain
    p = body + tag
    return b"LQ" + struct.pack("<BBHHII", version, flags, ftype, 0, len(p),
                               zlib.crc32(p) & 0xFFFFFFFF) + p


def pump(src, dst, edit, log, n_conn, direction):
    """Copies frames from src to dst; edit(index, raw) gives what to send."""
    buf = b""
    k = 0
    try:
        while True:
            d = src.recv(1 << 20)
            if not d:
                break
            buf += d
            while True:
                f = split_frame(buf)
                if not f:
                    break
                buf = f[5]
                out, what = edit(f[2], k, f[4])
                k += 1
                if what:
                    note(log, "conn %d %s: %s" % (n_conn, direction, what))
                dst.sendall(out)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Edits:
    """What the proxy changes on connection n (see the module doc)."""

    def __init__(self, n):
        self.n = n
        self.batches = 0
        self.acks = 0

    def up(self, ftype, k, raw):
        if ftype != T_BATCH:
            return raw, None
        self.batches += 1
        if self.batches != 2:
            return raw, None
        if self.n == 1:
            return tamper(raw), "batch 2 modified"
        if self.n == 2:
            return raw + raw, "batch 2 replayed"
        return raw, None

    def down(self, ftype, k, raw):
        if ftype != T_ACK:
            return raw, None
        self.acks += 1
        if self.n == 3 and self.acks == 1:
            return raw + raw, "ack 1 replayed"
        return raw, None


def proxy(port_file, upstream, log):
    ls = listener()
    write_port(port_file, ls.getsockname()[1])
    n = 0
    while True:
        conn, _ = ls.accept()
        n += 1
        try:
            up = socket.create_connection((HOST, upstream), timeout=30)
        except OSError:
            conn.close()
            continue
        up.settimeout(None)
        conn.settimeout(None)
        note(log, "conn %d open" % n)
        e = Edits(n)
        threading.Thread(target=pump, args=(conn, up, e.up, log, n, "up"),
                         daemon=True).start()
        threading.Thread(target=pump, args=(up, conn, e.down, log, n,
                                            "down"), daemon=True).start()


def main(argv):
    if len(argv) == 5 and argv[0] == "cross":
        cross(int(argv[1]), argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[0] == "fake-collector":
        fake_collector(argv[1], argv[2], argv[3])
    elif len(argv) == 4 and argv[0] == "proxy":
        proxy(argv[1], int(argv[2]), argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
