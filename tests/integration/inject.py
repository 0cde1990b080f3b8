#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""inject: a shipper whose strings try to drive terminals and forge log
lines (08-escaping). Written from common/PROTOCOL.md via wirev2.py.

  inject.py send PORT    one authenticated (no token) connection: host name
      with C1 and invalid bytes, software with a newline and ESC, 3 records
      of container webinj whose messages hold ESC[2J, raw and UTF-8 C1 and
      invalid bytes (word zqinjectzq), 1 of a container named
      web<ESC>[2J<0x9b><0xff>; then
      N connections that send an ERROR frame with a forged log line before
      the handshake completes. Exit 1 if the batch is not ACKed.
  inject.py check FILE   FILE (logq output, or the collector's log) must
      be valid UTF-8 with no control character but newline and tab.
127.0.0.1 only.
"""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wirev2 as bc  # noqa: E402

HOST = b"inj\x9b\xff"
NAME = b"web\x1b[2J\x9b\xff"
MSG = b"zqinjectzq %d \x1b[2J \x9b \xc2\x9b \xff\xfe end"
FORGED = b"x\n2026-01-01T00:00:00.000Z error logq-collector main: forged\x1b[2J"


def send(port):
    c = bc.Conn(port)
    c.send(bc.frame(bc.T_HELLO, bc.str16(HOST) + bc.str16(b"sw\n" + FORGED) +
                    os.urandom(32)))
    f = c.read_frame()
    if not f or f[0] != bc.T_CHALLENGE:
        sys.exit("inject: no CHALLENGE: %r" % (f,))
    c.send(bc.frame(bc.T_AUTH, bytes(32)))
    f = c.read_frame()
    if not f or f[0] != bc.T_WELCOME:
        sys.exit("inject: no WELCOME: %r" % (f,))
    # source 0 is well formed, source 1's name is the attack (the
    # collector's source rules refuse it: records_refused)
    p = struct.pack("<QI", 1, 2)
    p += bc.str16("%064x" % 0x1EC7) + bc.str16(b"webinj") + \
        bc.str16(b"img:1") + bc.bytes32(b"{}") + struct.pack("<Q", 0)
    p += bc.str16("%064x" % 0x1EC8) + bc.str16(NAME) + \
        bc.str16(b"img:1") + bc.bytes32(b"{}") + struct.pack("<Q", 0)
    p += struct.pack("<I", 4)
    for i in range(4):
        p += struct.pack("<IBBQQ", i // 3, 0, 0, time.time_ns(), 10 + i)
        p += bc.bytes32(MSG % i)
    c.send(bc.frame(bc.T_BATCH, p, compress=True))
    f = c.read_frame()
    if not f or f[0] != bc.T_ACK or struct.unpack("<Q", f[1])[0] != 1:
        sys.exit("inject: batch not ACKed: %r" % (f,))
    c.s.close()
    for _ in range(60):     # pre-auth errors: over the log budget
        c = bc.Conn(port)
        c.send(bc.frame(bc.T_ERROR, struct.pack("<H", 1) + bc.str16(FORGED)))
        c.expect_close("error frame before the handshake", [])
    print("inject: sent")


def check(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        sys.exit("%s: not UTF-8: %s" % (path, e))
    for i, ch in enumerate(text):
        o = ord(ch)
        if (o < 0x20 and ch not in "\n\t") or 0x7f <= o < 0xa0:
            sys.exit("%s: control U+%04X at %d: %r" %
                     (path, o, i, text[max(0, i - 40):i + 20]))
    print("%s: %d bytes, clean" % (path, len(data)))


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(int(sys.argv[2]))
    else:
        check(sys.argv[2])
