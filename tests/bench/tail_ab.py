#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A/B of queries that reach the unsealed tail, two logq builds at once.

bench.py --keep leaves a store whose tail was sealed at the collector's
stop, so a query on it never meets the unsealed tail that a live store
has (up to a block of committed rows, collector/STORE.md "The unsealed
tail's index"). This starts each side's collector on its own copy of DATA,
ships --tail-kib KiB of new logq-loggen text into it with a real shipper
(one container, `tailfill`, fewer bytes than a block, so it stays
unsealed), then runs each query alternately against A and B (a load
change hits both alike) and prints the medians, the collectors' CPU per
query (/proc) and whether both answered the same bytes. With --callgrind
OUT it runs one side only (--a) under `valgrind --tool=callgrind
--instr-atstart=no`, instrumenting the --runs rare-term queries alone;
with --ingest-kib N as well, instead the collector from its start on an
empty store while N KiB of text are shipped into it (its ingest cost).
Every wait is bounded.

usage: tail_ab.py --a BIN DATA [--b BIN DATA] [--runs 50] [--tail-kib 800]
"""
import argparse, hashlib, json, os, resource, shutil, socket, statistics, subprocess
import sys, tempfile, time, urllib.request

RARE = "zebracorn"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


class Side:
    def __init__(self, name, bindir, data, tmp, wrap):
        self.name, self.bin = name, bindir
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.data = os.path.join(self.dir, "data")
        shutil.copytree(data, self.data)
        self.tcp, self.http = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http}"
        self.log = open(os.path.join(self.dir, "collector.log"), "w")
        self.p = subprocess.Popen(wrap + [os.path.join(bindir, "logq-collector"),
                                          "--data-dir", self.data,
                                          "--listen", f"127.0.0.1:{self.tcp}",
                                          "--http", f"127.0.0.1:{self.http}"],
                                  stdout=self.log, stderr=self.log)
        for _ in range(1200):           # 120 s (valgrind opens slowly)
            try:
                urllib.request.urlopen(self.url + "/health", timeout=2).read()
                return
            except OSError:
                if self.p.poll() is not None:
                    sys.exit(f"tail_ab: {name}'s collector exited {self.p.returncode}")
                time.sleep(0.1)
        self.p.kill()
        sys.exit(f"tail_ab: {name}'s collector did not answer in 120 s")

    def logq(self, args):
        t = time.perf_counter()
        out = subprocess.run([os.path.join(self.bin, "logq"), "--server", self.url, "--json"]
                             + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=300).stdout
        return time.perf_counter() - t, out

    def fill_tail(self, root, n_lines):
        state = os.path.join(self.dir, "state")
        os.makedirs(state)
        sh = subprocess.Popen([os.path.join(self.bin, "logq-shipper"), "--collector",
                               f"127.0.0.1:{self.tcp}", "--state-dir", state,
                               "--docker-root", root, "--hostname", "tailhost"],
                              stdout=self.log, stderr=self.log)
        try:
            for _ in range(1200):       # 120 s
                hosts = json.loads(urllib.request.urlopen(self.url + "/api/v1/hosts",
                                                          timeout=10).read())
                if sum(h["lines"] for h in hosts if h["host"] == "tailhost") >= n_lines:
                    time.sleep(1)       # appended: committed within a sync
                    return
                time.sleep(0.1)
            sys.exit(f"tail_ab: {self.name}: the tail lines did not arrive in 120 s")
        finally:
            sh.terminate()
            sh.wait(timeout=30)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.p.kill()


def make_tail(bindir, tmp, kib):
    root = os.path.join(tmp, "docker")
    cid = "7" * 64
    d = os.path.join(root, cid)
    os.makedirs(d)
    with open(os.path.join(d, "config.v2.json"), "w") as f:
        json.dump({"ID": cid, "Name": "/tailfill", "Config": {"Image": "tail:1", "Labels": {}},
                   "State": {"Running": True}, "RestartCount": 0}, f)
    gen = [os.path.join(bindir, "logq-loggen"), "--kind", "mixed", "--seed", "77",
           "--start-time", "2026-11-27T15:00:00Z"]
    plain = subprocess.run(gen + ["--format", "plain", "--bytes", str(kib * 1024)],
                           stdout=subprocess.PIPE, check=True).stdout
    n = plain.count(b"\n")
    with open(os.path.join(d, cid + "-json.log"), "wb") as f:
        subprocess.run(gen + ["--format", "json-file", "--count", str(n)], stdout=f, check=True)
    return root, n


def strip_received(out):
    """The output without each line's receive time (the sides' tails were
    shipped apart, so it differs; everything else must not)."""
    lines = []
    for ln in out.split(b"\n"):
        if ln:
            o = json.loads(ln)
            o.pop("received", None)
            lines.append(json.dumps(o, sort_keys=True).encode())
    return b"\n".join(lines)


QUERIES = [
    ("rare term", [RARE]),
    ("rare term, --container rare", [RARE, "--container", "rare"]),
    ("rare term, --until", [RARE, "--until", "2026-11-27T13:51:00Z"]),
    ("rare term, -i", ["-i", RARE.upper()]),
    ("phrase", ['"declined by upstream"']),
    ("term in the tail only, newest 100", ["-n", "100", "--container", "tailfill", "error"]),
    ("10% term, newest 100", ["-n", "100", "cart"]),
    ("regex", ["-n", "1000", "-e", "zebra[a-z]+"]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", nargs=2, metavar=("BIN", "DATA"), required=True)
    ap.add_argument("--b", nargs=2, metavar=("BIN", "DATA"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--tail-kib", type=int, default=800)
    ap.add_argument("--callgrind", metavar="OUT")
    ap.add_argument("--ingest-kib", type=int, default=0,
                    help="with --callgrind: instrument the collector from its start on an "
                         "empty store while this many KiB of text are shipped (ingest cost)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="logq-tailab.")
    sides = []
    try:
        if a.ingest_kib and a.callgrind:
            root, n = make_tail(a.a[0], tmp, a.ingest_kib)
            empty = os.path.join(tmp, "empty")
            os.makedirs(empty, mode=0o700)
            sides.append(Side("A", a.a[0], empty, tmp,
                              ["valgrind", "--tool=callgrind",
                               f"--callgrind-out-file={a.callgrind}"]))
            sides[0].fill_tail(root, n)
            print(f"{n} lines of {a.ingest_kib} KiB shipped")
            return
        root, n = make_tail(a.a[0], tmp, a.tail_kib)
        wrap = []
        if a.callgrind:
            wrap = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    f"--callgrind-out-file={a.callgrind}"]
        sides.append(Side("A", a.a[0], a.a[1], tmp, wrap))
        if a.b and not a.callgrind:
            sides.append(Side("B", a.b[0], a.b[1], tmp, []))
        for s in sides:
            s.fill_tail(root, n)
        print(f"tail: {n} lines of {a.tail_kib} KiB; load {os.getloadavg()[0]:.1f}")
        if a.callgrind:
            for _ in range(3):
                sides[0].logq([RARE])
            subprocess.run(["callgrind_control", "-i", "on", str(sides[0].p.pid)], check=True,
                           stdout=subprocess.DEVNULL)
            for _ in range(a.runs):
                sides[0].logq([RARE])
            subprocess.run(["callgrind_control", "-i", "off", str(sides[0].p.pid)], check=True,
                           stdout=subprocess.DEVNULL)
            print(f"{a.runs} rare-term queries instrumented")
            return
        for name, q in QUERIES:
            outs = [strip_received(s.logq(q)[1]) for s in sides]
            same = all(o == outs[0] for o in outs)
            lines = sum(1 for ln in outs[0].split(b"\n") if ln)
            print(f"{name}: {lines} lines, {hashlib.md5(outs[0]).hexdigest()[:8]}"
                  + ("" if len(sides) == 1 else (", A = B" if same else ", A != B: DIFFER")))
        print(f"\n| query (load {os.getloadavg()[0]:.1f}) | "
              + " | ".join(f"{s.name} median / min ms | {s.name} collector / logq CPU ms"
                           for s in sides) + " |")
        print("|---|" + "---|---|" * len(sides))
        for name, q in QUERIES[:3] + [("logq --version (no query)", None)]:
            t = {s.name: [] for s in sides}
            cpu0 = {s.name: proc_cpu(s.p.pid) for s in sides}
            lcpu = {s.name: 0.0 for s in sides}
            for _ in range(a.runs):
                for s in sides:
                    c0 = children_cpu()
                    if q is None:
                        t0 = time.perf_counter()
                        subprocess.run([os.path.join(s.bin, "logq"), "--version"],
                                       stdout=subprocess.DEVNULL, timeout=60)
                        t[s.name].append((time.perf_counter() - t0) * 1000)
                    else:
                        t[s.name].append(s.logq(q)[0] * 1000)
                    lcpu[s.name] += children_cpu() - c0
            cpu = {s.name: (proc_cpu(s.p.pid) - cpu0[s.name]) * 1000 / a.runs for s in sides}
            print(f"| {name} | " + " | ".join(
                f"{statistics.median(t[s.name]):.2f} / {min(t[s.name]):.2f} | "
                f"{cpu[s.name]:.2f} / {lcpu[s.name] * 1000 / a.runs:.2f}"
                for s in sides) + " |")
        print(f"load after: {os.getloadavg()[0]:.1f}")
    finally:
        for s in sides:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
