#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A/B query latency of two logq builds on the same data, interleaved.

Each side is a bin/ directory and a collector data directory that side's
collector wrote (e.g. two `bench.py --keep` runs of the same --gib, one per
build: the generator is deterministic, so both stores hold the same lines).
Both collectors run at once on 127.0.0.1; every query is run alternately
against A and B, so a load change on a shared machine hits both alike.
Prints a Markdown table of medians, and per query the segment blocks or
frames each collector read (/health store.cursor_reads) and its CPU
(/proc/PID/stat), averaged over the runs. Every wait is bounded.

usage: abcompare.py --a BIN DATA --b BIN DATA [--runs 15] [--rare T]
                    [--medium T] [--common T]
"""
import argparse, json, os, socket, statistics, subprocess, sys, tempfile, time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(bindir, data, logf):
    port = free_port()
    tport = free_port()
    p = subprocess.Popen([os.path.join(bindir, "logq-collector"), "--data-dir", data,
                          "--listen", f"127.0.0.1:{tport}", "--http", f"127.0.0.1:{port}"],
                         stdout=logf, stderr=logf)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):        # 60 s at most (opening a store reads its index)
        try:
            urllib.request.urlopen(url + "/health", timeout=2).read()
            return p, url
        except OSError:
            if p.poll() is not None:
                sys.exit(f"abcompare: collector in {data} exited {p.returncode}")
            time.sleep(0.1)
    p.kill()
    sys.exit("abcompare: collector did not answer in 60 s")


def reads(url):
    """Segment blocks or frames the collector's cursors read so far (-1:
    not counted by that build)."""
    try:
        h = json.loads(urllib.request.urlopen(url + "/health", timeout=10).read())
        return h.get("store", {}).get("cursor_reads", -1)
    except (OSError, ValueError):
        return -1


def cpu_s(pid):
    """The process's user + system CPU seconds so far."""
    with open(f"/proc/{pid}/stat") as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def run(bindir, url, args):
    t = time.perf_counter()
    out = subprocess.run([os.path.join(bindir, "logq"), "--server", url, "--json"] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=300).stdout
    return time.perf_counter() - t, sum(1 for ln in out.split(b"\n") if ln and b'"break"' not in ln)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", nargs=2, metavar=("BIN", "DATA"), required=True)
    ap.add_argument("--b", nargs=2, metavar=("BIN", "DATA"), required=True)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--rare", default="zebracorn")
    ap.add_argument("--medium", default="OPTIONS")
    ap.add_argument("--common", default="cart")
    a = ap.parse_args()
    queries = [
        ("newest 100: 10% term", ["-n", "100", a.common]),
        ("oldest 100 (--asc): 10% term", ["--asc", "-n", "100", a.common]),
        ("newest 100: every line", ["-n", "100"]),
        ("newest 100 before a time (--until)", ["-n", "100", "--until", "2026-11-27T13:51:00Z"]),
        ("rare term", ["-n", "1000000", a.rare]),
        ("rare term, --container rare", ["-n", "1000000", a.rare, "--container", "rare"]),
        ("rare term with -C 3", ["-C", "3", a.rare]),
        ("10% term with -C 2 -n 100", ["-C", "2", "-n", "100", a.common]),
        ("1% term, every match (--all)", ["--all", a.medium]),
        ("10% term, every match (--all)", ["--all", a.common]),
        ("regex with literal (--all)", ["--all", "-e", f"{a.rare} id=[0-3]"]),
    ]
    logf = tempfile.TemporaryFile()
    procs = []
    try:
        pa, ua = start(a.a[0], a.a[1], logf)
        procs.append(pa)
        pb, ub = start(a.b[0], a.b[1], logf)
        procs.append(pb)
        print("| query | A ms | B ms | B/A | A lines | B lines | A / B frames read | "
              "A / B collector CPU ms |\n|---|---|---|---|---|---|---|---|")
        for name, q in queries:
            ta, tb = [], []
            na = nb = 0
            ra, rb, ca, cb = reads(ua), reads(ub), cpu_s(pa.pid), cpu_s(pb.pid)
            for _ in range(a.runs):
                t, na = run(a.a[0], ua, q)
                ta.append(t)
                t, nb = run(a.b[0], ub, q)
                tb.append(t)
            ma, mb = statistics.median(ta), statistics.median(tb)
            fa, fb = (reads(ua) - ra) / a.runs, (reads(ub) - rb) / a.runs
            ua_ms = (cpu_s(pa.pid) - ca) * 1000 / a.runs
            ub_ms = (cpu_s(pb.pid) - cb) * 1000 / a.runs
            print(f"| {name} | {ma * 1000:.1f} | {mb * 1000:.1f} | {mb / ma:.2f} | {na} | {nb} | "
                  f"{fa:.0f} / {fb:.0f} | {ua_ms:.0f} / {ub_ms:.0f} |", flush=True)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
