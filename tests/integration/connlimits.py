#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""connlimits: hostile connection patterns for the collector (41-conn-limits).

  connlimits.py preauth PORT PID N   N connections that never authenticate,
      each announcing a 4 MiB frame (BATCH, or HELLO) and streaming its
      payload for a few seconds; prints the collector's VmRSS/VmHWM (KiB,
      from /proc/PID/status) before, while they are open and after they
      closed, as `rss_kib BEFORE DURING AFTER hwm_kib HWM`.
Exit 1 if a case misbehaved. 127.0.0.1 only; every loop is bounded in count
and time.
"""

import socket
import struct
import sys
import time
import zlib

HOST = "127.0.0.1"
T_HELLO, T_BATCH = 100, 200


def header(ftype, length):
    return b"LQ" + struct.pack("<BBHHII", 1, 0, ftype, 0, length,
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
        s = socket.create_connection((HOST, port), timeout=5)
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


def main(argv):
    if len(argv) == 4 and argv[0] == "preauth":
        return preauth(int(argv[1]), int(argv[2]), int(argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
