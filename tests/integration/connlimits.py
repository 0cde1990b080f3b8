#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""connlimits: hostile connection patterns for the collector (41-conn-limits).

  connlimits.py preauth PORT PID N   N connections that never authenticate
      (from N different loopback addresses 127.0.1.x), each announcing a
      4 MiB frame (BATCH, or HELLO) and streaming its payload for a few
      seconds; prints the collector's VmRSS/VmHWM (KiB, from
      /proc/PID/status) before, while they are open and after they closed,
      as `rss_kib BEFORE DURING AFTER hwm_kib HWM`.
  connlimits.py peraddr PORT CAP   CAP connections from 127.0.0.3 are kept;
      one more from there must get ERROR 4 and be closed; one from
      127.0.0.4 must still get its CHALLENGE.
  connlimits.py global PORT CAP   CAP connections from 127.0.1.1.. are
      kept (the collector's --max-connections CAP); one more, from another
      address, must get ERROR 4 and be closed; after one of the CAP closes
      a new one must get its CHALLENGE.
  connlimits.py idle PORT HOSTS_FILE IDLE_S HANDSHAKE_S   after WELCOME: a
      silent client and one trickling a BATCH a byte a second must be closed
      about IDLE_S after their last whole frame, one sending PING every
      second must stay open and get every PONG; before WELCOME a client
      trickling its HELLO must be closed after HANDSHAKE_S.
  connlimits.py caps PORT HOSTS_FILE MAX_SOURCES NEW_HOSTS   host "capsrc"
      sends two batches of MAX_SOURCES + 2 new sources, one record each
      (CONNLIMITS-SRC-*): both ACKed (the last two sources' records are
      dropped and counted); then new hosts caph-1, caph-2... each store one
      record: NEW_HOSTS of them are welcomed, the next gets ERROR 4.
Exit 1 if a case misbehaved. 127.0.0.1 only; every loop is bounded in count
and time.
"""

import os
import select
import socket
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import badclient  # noqa: E402  (frame helpers, handshake)

HOST = "127.0.0.1"
T_HELLO, T_BATCH, T_PING, T_PONG, T_ERROR = 100, 200, 202, 203, 199
FAILS = []


def check(ok, what):
    print("%s %s" % ("ok  " if ok else "FAIL", what))
    if not ok:
        FAILS.append(what)


def header(ftype, length):
    return b"LQ" + struct.pack("<BBHHII", 2, 0, ftype, 0, length,
                               zlib.crc32(b"") & 0xFFFFFFFF)


def proc_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s for pid %d" % (field, pid))


def pump(socks, chunk, secs):
    """Writes chunk to every socket still open, without blocking, for
    secs seconds; a socket the collector closed is dropped."""
    deadline = time.monotonic() + secs
    while socks and time.monotonic() < deadline:
        for s in list(socks):
            try:
                s.send(chunk)
            except BlockingIOError:
                pass
            except OSError:
                socks.remove(s)
                s.close()
        time.sleep(0.01)
    return socks


def preauth(port, pid, n):
    before = proc_kib(pid, "VmRSS")
    socks = []
    for i in range(n):
        s = socket.create_connection((HOST, port), timeout=5,
                                     source_address=("127.0.1.%d" % (i + 1),
                                                     0))
        s.setblocking(False)
        s.send(header(T_BATCH if i % 2 == 0 else T_HELLO, 4 << 20))
        socks.append(s)
    open_socks = pump(list(socks), b"\0" * 65536, 4.0)
    during = proc_kib(pid, "VmRSS")
    for s in open_socks:
        s.close()
    time.sleep(1.0)
    after = proc_kib(pid, "VmRSS")
    print("rss_kib %d %d %d hwm_kib %d open_at_end %d" %
          (before, during, after, proc_kib(pid, "VmHWM"), len(open_socks)))
    return 0


def connect_from(port, src):
    return socket.create_connection((HOST, port), timeout=5,
                                    source_address=(src, 0))


def peraddr(port, cap):
    hello = badclient.frame(T_HELLO, badclient.str16("capped") +
                            badclient.str16("connlimits/0.1") + bytes(32))
    kept = [connect_from(port, "127.0.0.3") for _ in range(cap)]
    time.sleep(0.3)
    extra = badclient.Conn.__new__(badclient.Conn)
    extra.s, extra.buf = connect_from(port, "127.0.0.3"), b""
    f = extra.read_frame()
    code = struct.unpack_from("<H", f[1])[0] if f and f[0] == T_ERROR else None
    check(code == 4, "connection %d from one address refused with ERROR 4 "
          "(got %r)" % (cap + 1, f and f[0]))
    check(extra.read_frame() is None, "and closed")
    other = badclient.Conn.__new__(badclient.Conn)
    other.s, other.buf = connect_from(port, "127.0.0.4"), b""
    other.send(hello)
    f = other.read_frame()
    check(f is not None and f[0] == 101,
          "another address still gets its CHALLENGE (got %r)" % (f and f[0]))
    for s in kept + [extra.s, other.s]:
        s.close()
    return 1 if FAILS else 0


def globalcap(port, cap):
    """--max-connections CAP: CAP connections, each from its own address,
    are kept; one more, from yet another address, is refused with ERROR 4
    and closed; once one of the CAP closes, a new one gets its CHALLENGE."""
    hello = badclient.frame(T_HELLO, badclient.str16("capped") +
                            badclient.str16("connlimits/0.1") + bytes(32))
    kept = [connect_from(port, "127.0.1.%d" % (i + 1)) for i in range(cap)]
    time.sleep(0.3)
    extra = badclient.Conn.__new__(badclient.Conn)
    extra.s, extra.buf = connect_from(port, "127.0.1.%d" % (cap + 1)), b""
    f = extra.read_frame()
    code = struct.unpack_from("<H", f[1])[0] if f and f[0] == T_ERROR else None
    check(code == 4, "connection %d in all refused with ERROR 4 (got %r)" %
          (cap + 1, f and f[0]))
    check(extra.read_frame() is None, "and closed")
    kept[0].close()
    time.sleep(0.5)
    other = badclient.Conn.__new__(badclient.Conn)
    other.s, other.buf = connect_from(port, "127.0.1.%d" % (cap + 2)), b""
    other.send(hello)
    f = other.read_frame()
    check(f is not None and f[0] == 101,
          "after one closed, a new connection gets its CHALLENGE (got %r)" %
          (f and f[0]))
    for s in kept[1:] + [extra.s, other.s]:
        s.close()
    return 1 if FAILS else 0


class Peer:
    """One connection and what happened to it (non-blocking reads)."""

    def __init__(self, name, conn):
        self.name, self.c, self.closed_at, self.pongs = name, conn, None, 0
        self.c.s.setblocking(False)

    def poll(self, now):
        if self.closed_at is not None:
            return
        try:
            d = self.c.s.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            d = b""
        if not d:
            self.closed_at = now
            return
        self.c.buf += d
        while len(self.c.buf) >= 16:
            n = struct.unpack_from("<I", self.c.buf, 8)[0]
            if len(self.c.buf) < 16 + n:
                break
            if struct.unpack_from("<H", self.c.buf, 4)[0] == T_PONG:
                self.pongs += 1
            self.c.buf = self.c.buf[16 + n:]

    def send(self, data):
        if self.closed_at is None:
            try:
                self.c.s.send(data)
            except OSError:
                pass


def idle(port, tokens, idle_s, handshake_s):
    hello = badclient.frame(T_HELLO, badclient.str16("trickler") +
                            badclient.str16("connlimits/0.1") + bytes(32))
    silent = Peer("silent", badclient.welcomed(port, tokens, "silent"))
    trickle = Peer("trickle", badclient.welcomed(port, tokens, "trickle"))
    pinger = Peer("pinger", badclient.welcomed(port, tokens, "pinger"))
    batch = trickle.c.session.seal(T_BATCH, badclient.batch_payload(
        1, [(1, "CONNLIMITS-TRICKLE")]))
    pre = badclient.Conn(port)
    pre = Peer("pre-auth trickle", pre)
    start = time.monotonic()
    n_pings, i = 0, 0
    while time.monotonic() - start < idle_s + 6:
        now = time.monotonic() - start
        for p in (silent, trickle, pinger, pre):
            p.poll(now)
        if now >= i:        # once a second
            trickle.send(batch[i:i + 1])
            pre.send(hello[i:i + 1])
            pinger.send(pinger.c.session.seal(T_PING, struct.pack("<Q", i)))
            n_pings += 1
            i += 1
        select.select([], [], [], 0.05)
    time.sleep(0.5)
    for p in (silent, trickle, pinger, pre):
        p.poll(time.monotonic() - start)
        print("     %s: closed after %s s, %d PONGs" %
              (p.name, "%.1f" % p.closed_at if p.closed_at else "-",
               p.pongs))
    for p in (silent, trickle):
        check(p.closed_at is not None and
              idle_s - 1 <= p.closed_at <= idle_s + 4,
              "%s closed by the idle timeout (%d s)" % (p.name, idle_s))
    check(pre.closed_at is not None and
          handshake_s - 1 <= pre.closed_at <= handshake_s + 3,
          "pre-auth trickle closed by the handshake timeout (%d s)" %
          handshake_s)
    check(pinger.closed_at is None and pinger.pongs >= n_pings - 1,
          "pinging client kept open, %d of %d PINGs answered" %
          (pinger.pongs, n_pings))
    return 1 if FAILS else 0


def batch_of(c, seq, ids, tag):
    """A BATCH frame for c's session (tagged, PROTOCOL.md "Frame MACs")."""
    p = struct.pack("<QI", seq, len(ids))
    for i in ids:
        p += badclient.str16("%064x" % i) + badclient.str16("capped-%x" % i) + \
            badclient.str16("busybox") + badclient.bytes32("{}") + \
            struct.pack("<Q", 0)
    p += struct.pack("<I", len(ids))
    for k, i in enumerate(ids):
        p += struct.pack("<IBBQQ", k, 0, 0, time.time_ns(), seq)
        p += badclient.bytes32("CONNLIMITS-%s-%x-%d" % (tag, i, seq))
    return c.session.seal(T_BATCH, p, compress=True)


def expect_ack(c, seq, what):
    f = c.read_frame()
    check(f is not None and f[0] == 201 and
          struct.unpack("<Q", f[1])[0] == seq, "%s ACKed (got %r)" %
          (what, f and f[0]))


def caps(port, tokens, max_sources, new_hosts):
    time.sleep(0.5)     # the previous case's connections are gone
    c = badclient.welcomed(port, tokens, "capsrc")
    ids = [0xCA5000 + i for i in range(max_sources + 2)]
    for seq in (1, 2):
        c.send(batch_of(c, seq, ids, "SRC"))
        expect_ack(c, seq, "batch %d of %d sources" % (seq, len(ids)))
    c.s.close()
    admitted = 0
    for n in range(1, new_hosts + 2):
        c = badclient.Conn(port)
        f = c.handshake("caph-%d" % n, tokens["caph-%d" % n])
        if f is None or f[0] != 103:
            code = struct.unpack_from("<H", f[1])[0] \
                if f and f[0] == T_ERROR else None
            check(code == 4 and n == new_hosts + 1,
                  "new host %d refused with ERROR %r (want 4 for host %d)" %
                  (n, code, new_hosts + 1))
            check(c.read_frame() is None, "and closed")
            c.s.close()
            break
        c.send(batch_of(c, 1, [0xCA6000 + n], "HOST"))
        expect_ack(c, 1, "host caph-%d" % n)
        admitted += 1
        c.s.close()
    check(admitted == new_hosts, "%d new hosts admitted (want %d)" %
          (admitted, new_hosts))
    return 1 if FAILS else 0


def main(argv):
    if len(argv) == 4 and argv[0] == "preauth":
        return preauth(int(argv[1]), int(argv[2]), int(argv[3]))
    if len(argv) == 3 and argv[0] == "peraddr":
        return peraddr(int(argv[1]), int(argv[2]))
    if len(argv) == 3 and argv[0] == "global":
        return globalcap(int(argv[1]), int(argv[2]))
    if len(argv) == 5 and argv[0] == "caps":
        return caps(int(argv[1]), badclient.load_hosts(argv[2]),
                    int(argv[3]), int(argv[4]))
    if len(argv) == 5 and argv[0] == "idle":
        return idle(int(argv[1]), badclient.load_hosts(argv[2]),
                    int(argv[3]), int(argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
