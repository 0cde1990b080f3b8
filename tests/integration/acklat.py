#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""acklat: the acknowledgement latency a shipper sees (31-query-isolation).

  acklat.py PORT SECONDS [--host H] [--max-ms MS] [--size BYTES]
      [--every S] [--http PORT --followers N --follow-query Q]
      [--http PORT --grafana N]

With --followers, first opens N /follow streams (GET /api/v1/follow?Q,
each must answer 200) and one checking follower (q=acklat,
container=acklat). Then one authenticated connection (no token: the
scenario's collector has none) as host H sends one BATCH of one record
every S seconds (default 0.05) for SECONDS and times each from send to
its ACK. The record (container "acklat", message "acklat <seq> "
padded with words to BYTES) is one the followers' query must try, so
their work lands between the batch and its ACK if the collector does it
on its event loop. Prints n, p50, p99 and max; exit 1 if a batch is not
acknowledged, the max is over --max-ms (it stops at the first such
batch), or the checking follower did not get every line exactly once
and in order within 20 s of the other followers closing. With --grafana,
N clients keep POSTing a /grafana/query body the collector must work to
parse (640 KB of JSON, 16 ad-hoc filter regexes of 248 bytes, 100
targets of 50 hosts; ~30-100 ms each) for the whole run, one at a time
each (Connection: close), and leave at its end; at least one must have
been answered (any status: without --redis the reply is a 503 once
parsed).
Written from common/PROTOCOL.md via wirev2.py.
127.0.0.1 only; every read has a timeout.
"""

import argparse
import os
import re
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wirev2 as bc  # noqa: E402


def batch(seq, start, offset, msg):
    p = struct.pack("<QI", seq, 1)
    p += bc.str16("%064x" % 0xAC1A7) + bc.str16("acklat") + \
        bc.str16("img:1") + bc.bytes32("{}") + struct.pack("<Q", start)
    p += struct.pack("<I", 1)
    p += struct.pack("<IBBQQ", 0, 0, 0, time.time_ns(), offset)
    p += bc.bytes32(msg)
    return p


def follow(port, query):
    s = socket.create_connection((bc.HOST, port), timeout=30)
    s.sendall(("GET /api/v1/follow?%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "\r\n" % query).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(4096)
        if not d:
            sys.exit("acklat: follow stream closed before its headers")
        head += d
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit("acklat: follow?%s: %r" % (query, head[:100]))
    return s, head.split(b"\r\n\r\n", 1)[1]


def checker(s, data):
    """Appends the checking follower's stream to data until it closes."""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return
            data.extend(d)
    except OSError:
        return


def grafana_body():
    alts = []
    while len("(?:%s)|15" % "|".join(alts)) < 220:
        alts.append("w%d[a-f0-9]{2,5}(?:-x|_y)+z" % len(alts))
    pat = "(?:%s)" % "|".join(alts)
    filters = ['{"key":"container","operator":"=~","value":"%s|%d"}'
               % (pat, i) for i in range(16)]
    hosts = ",".join('"h%d"' % k for k in range(50))
    targets = ['{"refId":"T%d","target":"cpu","payload":{"host":[%s]}}'
               % (i, hosts) for i in range(100)]
    return ('{"range":{"from":"2023-11-14T22:00:00Z",'
            '"to":"2023-11-14T23:00:00Z"},"adhocFilters":[%s],'
            '"targets":[%s],"pad":"%s"}' % (",".join(filters),
                                           ",".join(targets),
                                           "x" * 600000)).encode()


def grafana_client(port, body, stop, answered, socks):
    """POSTs body until stop is set; counts the replies in answered."""
    req = ("POST /grafana/query HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Connection: close\r\nContent-Length: %d\r\n\r\n"
           % len(body)).encode() + body
    while not stop.is_set():
        try:
            s = socket.create_connection((bc.HOST, port), timeout=30)
            socks.append(s)         # shut down at stop: the client leaves
            s.sendall(req)
            reply = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                reply += d
            s.close()
        except OSError:
            continue
        if reply.startswith(b"HTTP/1.1 "):
            answered.append(int(reply[9:12]))


def seqs(data):
    return [int(m) for m in re.findall(rb'"message":"acklat (\d+) ',
                                       bytes(data))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--host", default="acker")
    ap.add_argument("--max-ms", type=float, default=0)
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--every", type=float, default=0.05)
    ap.add_argument("--http", type=int)
    ap.add_argument("--followers", type=int, default=0)
    ap.add_argument("--follow-query", default="")
    ap.add_argument("--grafana", type=int, default=0)
    a = ap.parse_args()
    stop, answered, storm, socks = threading.Event(), [], [], []
    if a.http and a.grafana:
        body = grafana_body()
        for _ in range(a.grafana):
            storm.append(threading.Thread(target=grafana_client, daemon=True,
                                          args=(a.http, body, stop,
                                                answered, socks)))
            storm[-1].start()
        time.sleep(0.5)             # the bodies are on their way
    held, data = [], bytearray()
    if a.http and a.followers:
        for _ in range(a.followers):
            held.append(follow(a.http, a.follow_query)[0])
        cs, rest = follow(a.http, "q=acklat&container=acklat")
        data.extend(rest)
        t = threading.Thread(target=checker, args=(cs, data), daemon=True)
        t.start()
        print("acklat: %d followers with %.60s..." % (len(held),
              a.follow_query), flush=True)
    c = bc.Conn(a.port, timeout=30)
    f = c.handshake(a.host, None)
    if not f or f[0] != bc.T_WELCOME:
        sys.exit("acklat: no WELCOME: %r" % (f,))
    lat = []
    offset = 0
    end = time.monotonic() + a.seconds
    seq = 0
    while time.monotonic() < end:
        seq += 1
        msg = ("acklat %d " % seq).encode()
        msg += b"word " * max(0, (a.size - len(msg)) // 5)
        start = offset
        offset += len(msg) + 1
        t0 = time.monotonic()
        c.send_frame(bc.T_BATCH, batch(seq, start, offset, msg),
                     compress=True)
        try:
            f = c.read_frame()
        except OSError as e:
            sys.exit("acklat: batch %d: no ACK: %s" % (seq, e))
        if not f or f[0] != bc.T_ACK or struct.unpack("<Q", f[1][:8])[0] != seq:
            sys.exit("acklat: batch %d not ACKed: %r" % (seq, f))
        dt = time.monotonic() - t0
        lat.append(dt * 1000)
        if a.max_ms and dt * 1000 > a.max_ms:
            break
        time.sleep(max(0.0, a.every - dt))
    c.s.close()
    stop.set()
    n_answered = len(answered)
    for x in list(socks):           # those waiting leave (jobs cancelled)
        try:
            x.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    for t in storm:
        t.join(30)
    if storm:
        print("acklat: %d grafana bodies answered meanwhile (%s)"
              % (n_answered, ",".join(sorted(set(map(str, answered))))),
              flush=True)
        if n_answered == 0:
            print("acklat: FAIL no grafana body answered")
            return 1
    lat.sort()
    p50 = lat[len(lat) // 2]
    p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
    print("acklat: %d batches, ACK latency p50 %.1f ms p99 %.1f ms max %.1f ms"
          % (len(lat), p50, p99, lat[-1]), flush=True)
    if a.max_ms and lat[-1] > a.max_ms:
        print("acklat: FAIL max %.1f ms over %.0f ms" % (lat[-1], a.max_ms))
        return 1
    if not a.followers:
        return 0
    for x in held:                  # their jobs are cancelled
        x.close()
    end = time.monotonic() + 20
    while len(seqs(data)) < seq and time.monotonic() < end:
        time.sleep(0.1)
    time.sleep(0.3)                 # a duplicate would come meanwhile
    got = seqs(data)
    if got != list(range(1, seq + 1)):
        print("acklat: FAIL the checking follower got %d lines, want 1..%d "
              "in order once each: %s" % (len(got), seq, got[:20]))
        return 1
    print("acklat: the checking follower got all %d lines in order" % seq)
    return 0


if __name__ == "__main__":
    sys.exit(main())
