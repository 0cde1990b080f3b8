#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""forward.py LISTEN_HOST:PORT TARGET_HOST:PORT [--pid-file F]

The demo's TCP forwarder: makes the collector's HTTP API, which listens in
network namespace node1, answer at 127.0.0.1:7080 in the root namespace, so
a plain `bin/logq` works. One thread pair per connection, at most 64
connections at once (more are closed at once), bounded 64 KiB reads; exits
on SIGTERM/SIGINT. Python 3 standard library only.
"""

import os
import signal
import socket
import sys
import threading

MAX_CONN = 64
slots = threading.BoundedSemaphore(MAX_CONN)


def addr(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(client, target):
    try:
        upstream = socket.create_connection(target, timeout=5)
        upstream.settimeout(None)
    except OSError:
        client.close()
        slots.release()
        return
    t = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    t.start()
    pump(client, upstream)
    t.join()
    client.close()
    upstream.close()
    slots.release()


def main():
    args = sys.argv[1:]
    pid_file = None
    if "--pid-file" in args:
        i = args.index("--pid-file")
        pid_file = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    listen, target = addr(args[0]), addr(args[1])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        srv.bind(listen)
    except OSError as e:
        sys.exit("forward: cannot listen on %s:%d: %s" % (listen[0], listen[1], e))
    srv.listen(64)
    if pid_file:
        with open(pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    while True:
        client, _ = srv.accept()
        if not slots.acquire(blocking=False):
            client.close()
            continue
        threading.Thread(target=serve, args=(client, target), daemon=True).start()


if __name__ == "__main__":
    main()
