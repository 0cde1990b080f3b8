#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""httplimits.py: raw-socket HTTP clients for 46-http-limits (127.0.0.1).

  trickle PORT SECS_PER_BYTE MAX_WAIT [body]
      sends a request one byte every SECS_PER_BYTE seconds (headers, or a
      POST /grafana/search whose body trickles); prints the seconds until
      the server closed the connection, or exits 1 if it was still open
      after MAX_WAIT seconds or answered.
  keepalive PORT MAX_WAIT
      one request, then idles on the kept-alive connection; prints the
      seconds from the response until the server closed it (exit 1 if not
      within MAX_WAIT).
  hold PORT N SECS [PATH]
      opens N connections, holds them SECS seconds (printing "held N" once
      all are open), then closes them.
  overcap PORT
      one request; prints the status line (503 expected) or "reset".
  flood PORT N SECS
      opens up to N connections (stops early when connect fails), holds
      them SECS seconds, closes them; prints how many were opened.
"""
import socket
import sys
import time

HOST = "127.0.0.1"


def req_bytes(port, body):
    if body:
        payload = b'{"target":""}' + b" " * 40
        return (b"POST /grafana/search HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (port, len(payload)), payload)
    return (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Pad: %s\r\n\r\n"
            % (port, b"x" * 20), b"")


def closed_within(s, secs):
    """True if the peer closed (EOF or reset) within secs; raises on data."""
    s.settimeout(secs)
    try:
        d = s.recv(4096)
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
    if d:
        raise SystemExit("server answered: %r" % d[:80])
    return True


def trickle(port, per_byte, max_wait, body):
    head, payload = req_bytes(port, body)
    data = head + payload if body else head
    s = socket.create_connection((HOST, port))
    t0 = time.monotonic()
    start = len(head) if body else 0
    if body:
        s.sendall(head)             # headers at once, the body trickles
    for i in range(start, len(data)):
        if time.monotonic() - t0 > max_wait:
            break
        try:
            s.send(data[i:i + 1])
        except OSError:
            print("%.1f" % (time.monotonic() - t0))
            return 0
        if closed_within(s, per_byte):
            print("%.1f" % (time.monotonic() - t0))
            return 0
    print("still open after %.1f s" % (time.monotonic() - t0))
    return 1


def read_response(s):
    """Reads one response with a Content-Length body; returns status."""
    buf = b""
    s.settimeout(5)
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise SystemExit("closed before the response")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(rest) < n:
        rest += s.recv(4096)
    return head.split(b"\r\n")[0].decode()


def keepalive(port, max_wait):
    s = socket.create_connection((HOST, port))
    s.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    status = read_response(s)
    if " 200 " not in status:
        raise SystemExit("first request: " + status)
    t0 = time.monotonic()
    if closed_within(s, max_wait):
        print("%.1f" % (time.monotonic() - t0))
        return 0
    print("still open after %.1f s" % max_wait)
    return 1


def hold(port, n, secs):
    socks = [socket.create_connection((HOST, port)) for _ in range(n)]
    print("held %d" % len(socks), flush=True)
    time.sleep(secs)
    for s in socks:
        s.close()
    return 0


def overcap(port):
    s = socket.create_connection((HOST, port))
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s.settimeout(5)
        d = s.recv(4096)
    except (ConnectionResetError, BrokenPipeError):
        print("reset")
        return 0
    print(d.split(b"\r\n")[0].decode() if d else "closed")
    return 0


def flood(port, n, secs):
    socks = []
    for _ in range(n):
        try:
            socks.append(socket.create_connection((HOST, port), timeout=2))
        except OSError:
            break
    time.sleep(secs)
    for s in socks:
        s.close()
    print(len(socks))
    return 0


def main(argv):
    cmd, port = argv[1], int(argv[2])
    if cmd == "trickle":
        return trickle(port, float(argv[3]), float(argv[4]),
                       len(argv) > 5 and argv[5] == "body")
    if cmd == "keepalive":
        return keepalive(port, float(argv[3]))
    if cmd == "hold":
        return hold(port, int(argv[3]), float(argv[4]))
    if cmd == "overcap":
        return overcap(port)
    if cmd == "flood":
        return flood(port, int(argv[3]), float(argv[4]))
    raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
