#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tracewriter: a fake container (fakedocker.Container) whose Java stack
trace is cut by a kill -9 of its shipper (10-end-to-end).

  tracewriter.py ROOT DIR start      writes "INFO before", the first two
      lines of a trace (stdout) and two stderr lines; prints the container
      id and the trace's first byte (the resume point the shipper must
      keep); then, in the same process (no start-up gap under load), one
      more "\\tat" frame every 100 ms until DIR/stop exists (at most 300),
      so the trace never goes 1 s without a line, then the trace's last
      lines, "INFO after" and a third stderr line; the frame count goes to
      DIR/frames
  tracewriter.py ROOT DIR verify     reads `logq --json` for the container
      on stdin: every record exactly once, the trace one record whose
      message is its lines joined with "\\n"
Python 3 standard library only.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakedocker import Container, container_id  # noqa: E402

NAME = "trace"
HEAD = ["java.lang.IllegalStateException: order 42 has no lines",
        "\tat com.example.OrderService.total(OrderService.java:88)"]
TAIL = ["Caused by: java.lang.NullPointerException: lines is null",
        "\t... 3 more"]


def frame(i):
    return "\tat com.example.Retry.attempt%03d(Retry.java:%d)" % (i, i)


def container(root):
    cid = container_id("node3", NAME, 0)
    return Container(root, cid, NAME, "shop/orders:1",
                     labels={"logq.multiline": "java",
                             "com.docker.compose.service": "orders"})


def expected(d):
    n = int(open(os.path.join(d, "frames")).read())
    trace = "\n".join(HEAD + [frame(i) for i in range(n)] + TAIL)
    return {("stdout", "INFO before"): 1, ("stdout", trace): 1,
            ("stdout", "INFO after"): 1, ("stderr", "E1 slow disk"): 1,
            ("stderr", "E2 slow disk"): 1, ("stderr", "E3 slow disk"): 1}


def main():
    root, d, cmd = sys.argv[1:4]
    c = container(root)
    if cmd == "start":
        c.write("INFO before")
        start = os.fstat(c.fd).st_size
        for line in HEAD:
            c.write(line)
        c.write("E1 slow disk", "stderr")
        c.write("E2 slow disk", "stderr")
        print(c.id, start, flush=True)
        n = 0
        while not os.path.exists(os.path.join(d, "stop")) and n < 300:
            c.write(frame(n))
            n += 1
            time.sleep(0.1)
        for line in TAIL:
            c.write(line)
        c.write("INFO after")
        c.write("E3 slow disk", "stderr")
        with open(os.path.join(d, "frames"), "w") as f:
            f.write(str(n))
    elif cmd == "verify":
        want = expected(d)
        got = {}
        for line in sys.stdin:
            r = json.loads(line)
            k = (r["stream"], r["message"])
            got[k] = got.get(k, 0) + 1
        bad = [(k, got.get(k, 0), n) for k, n in want.items()
               if got.get(k, 0) != n]
        bad += [(k, n, 0) for k, n in got.items() if k not in want]
        for k, n, w in bad:
            print("tracewriter: %r: %d records, want %d" % (k, n, w))
        sys.exit(1 if bad else 0)
    os.close(c.fd)


if __name__ == "__main__":
    main()
