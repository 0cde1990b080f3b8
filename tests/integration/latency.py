#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""latency: write->visible latency through shipper, collector and `logq -f`.

Starts `logq -f --json --container NAME`, writes warm-up lines into a fake
container (fakedocker.Container) until one comes back (so the follow stream
and the shipper's tail are both live), then writes --count lines one by one
at --rate, each tagged LAT-<seq>, and times each until logq prints it.
Prints p50/p99/max; exit 1 if a line is missing/duplicated or p99 >= --p99.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakedocker  # noqa: E402


def reader(proc, seen, lock, events):
    for raw in proc.stdout:
        now = time.monotonic()
        if not raw.strip():
            continue
        try:
            msg = json.loads(raw).get("message", "")
        except ValueError:
            print("latency: not JSON from logq -f: %.100r" % raw, flush=True)
            continue
        tag = msg.split(" ", 1)[0]
        with lock:
            seen.setdefault(tag, []).append(now)
        events.set()


def wait_for(pred, secs, events):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if pred():
            return True
        events.wait(0.05)
        events.clear()
    return pred()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logq", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--p99", type=float, default=1.0)
    a = ap.parse_args()
    name = "latency"
    c = fakedocker.Container(a.root, fakedocker.container_id("lat", name, 1),
                             name, "busybox:latest")
    proc = subprocess.Popen([a.logq, "--server", a.server, "-f", "--json",
                             "--container", name], stdout=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace")
    seen, lock, events = {}, threading.Lock(), threading.Event()
    t = threading.Thread(target=reader, args=(proc, seen, lock, events),
                         daemon=True)
    t.start()
    try:
        return run(a, c, proc, seen, lock, events)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        c.close()


def run(a, c, proc, seen, lock, events):
    warm = 0
    end = time.monotonic() + 40
    while time.monotonic() < end and proc.poll() is None:
        warm += 1
        c.write("WARM-%d warming up" % warm)
        if wait_for(lambda: any(k.startswith("WARM-") for k in seen), 0.5,
                    events):
            break
    if not any(k.startswith("WARM-") for k in seen):
        print("latency: FAIL: no warm-up line came back through logq -f in "
              "40 s (logq exit %r)" % proc.poll())
        return 1
    sent = {}
    start = time.monotonic()
    for i in range(a.count):
        tag = "LAT-%d" % i
        sent[tag] = time.monotonic()
        c.write("%s sent at %d" % (tag, time.time_ns()), "stderr" if i % 4 == 0
                else "stdout")
        delay = start + (i + 1) / a.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def all_seen():
        with lock:
            return all(k in seen for k in sent)
    wait_for(all_seen, 10, events)
    with lock:
        missing = [k for k in sent if k not in seen]
        dups = [k for k in sent if len(seen.get(k, [])) > 1]
        lat = [seen[k][0] - sent[k] for k in sent if k in seen]
    if lat:
        print("latency: %d lines, p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
            len(lat), pct(lat, 50) * 1e3, pct(lat, 99) * 1e3, max(lat) * 1e3))
    if missing or dups:
        print("latency: FAIL: %d missing (%s), %d duplicated (%s)" % (
            len(missing), missing[:5], len(dups), dups[:5]))
        return 1
    if pct(lat, 99) >= a.p99:
        print("latency: FAIL: p99 %.3f s >= %.3f s" % (pct(lat, 99), a.p99))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
