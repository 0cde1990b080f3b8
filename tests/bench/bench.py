#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""logq benchmark: ingest, storage and query speed against grep in the same run.

Generates realistic Docker json-file logs with bin/logq-loggen, ships them
through a real logq-shipper into a real logq-collector on 127.0.0.1, then
times searches with bin/logq against grep -F / grep -E (and rg when
installed) over the same messages as a plain text file in the page cache.
Stored bytes: the generator's store after the collector's stop, split into
segments, .lqi, WAL and other files; and, when ../shared/corpus exists, the
real samples through the store's own code (tests/bench/store_size.c).
Bytes on the wire (the kernel's bytes_sent of the shipper's connection):
the generator's, and the real samples' shipped as eight containers by a
real shipper into a second collector (the issue's 12% holds for both).
Prints a Markdown report (also written to --out). Every wait is bounded.
"""
import argparse, json, os, platform, random, re, shlex, shutil, signal, socket, statistics
import subprocess, sys, tempfile, time, urllib.request
import rsyslog_peer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "bin")
RARE, MEDIUM_EVERY = "zebracorn", 100


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_cpu_split(pid):
    """(user, system) CPU seconds of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / hz, int(fields[12]) / hz


def proc_io(pid):
    """/proc/PID/io as a dict (wchar, syscw, write_bytes, ...), {} if unreadable."""
    try:
        with open(f"/proc/{pid}/io") as f:
            return {k: int(v) for k, v in (ln.split(":") for ln in f if ":" in ln)}
    except (OSError, ValueError):
        return {}


def proc_rss_kib(pid, key="VmHWM"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def threads_ticks(pid):
    """{tid: (comm, utime + stime in clock ticks)} of a process's threads."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
            fields = rest.split()
            out[int(tid)] = (head.split("(", 1)[1], int(fields[11]) + int(fields[12]))
        except (OSError, IndexError, ValueError):
            pass
    return out


class ThreadSampler:
    """Per-thread CPU of a process, sampled from /proc/PID/task/*/stat (the
    critical path of a pipeline: the thread near 100% of a core while the
    others wait)."""

    def __init__(self, pid, every=0.5):
        self.pid, self.every, self.samples, self.next = pid, every, [], 0.0

    def poll(self, force=False):
        now = time.perf_counter()
        if force or now >= self.next:
            self.samples.append((now, threads_ticks(self.pid)))
            self.next = now + self.every

    def rows(self, who):
        """Markdown rows: thread, CPU s, share of the wall, share of the
        sampling intervals in which it was at least 90% busy."""
        if len(self.samples) < 2:
            return []
        hz = os.sysconf("SC_CLK_TCK")
        (t0, first), (t1, last) = self.samples[0], self.samples[-1]
        wall = t1 - t0
        rows = []
        for tid, (comm, ticks) in sorted(last.items(), key=lambda kv: -kv[1][1]):
            cpu = (ticks - first.get(tid, (comm, 0))[1]) / hz
            if cpu < 0.05:
                continue
            busy = n = 0
            for (ta, a), (tb, b) in zip(self.samples, self.samples[1:]):
                if tid in b and tb > ta:
                    n += 1
                    busy += (b[tid][1] - a.get(tid, (comm, 0))[1]) / hz >= 0.9 * (tb - ta)
            rows.append(f"| {who} `{comm}` ({tid}) | {cpu:.2f} s | {100 * cpu / wall:.0f}% | "
                        f"{100 * busy / max(n, 1):.0f}% |")
        return rows


def shipper_counters(log, keys, prefix=""):
    """The named counters (each prefix + key) of the shipper's last
    counters line (written at exit) as {key: int}, or None if the log has
    no such line or lacks one of them (a build before the counter)."""
    need = prefix + keys[0] + "="
    try:
        with open(log) as f:
            lines = [ln for ln in f if " counters " in ln and need in ln]
    except OSError:
        return None
    if not lines:
        return None
    kv = dict(w.split("=", 1) for w in lines[-1].split() if "=" in w)
    try:
        return {k: int(kv[prefix + k]) for k in keys}
    except (KeyError, ValueError):
        return None


def shipper_waits(log):
    """The shipper's pauses of reading (its counters line at exit): by the
    in-flight window (ended by ACKs) and by the compressor."""
    return shipper_counters(log, ("window_waits", "window_wait_ms",
                                  "compress_waits", "compress_wait_ms"))


def exec_pid(p, name, timeout=10.0):
    """The pid of the process named name that Popen p runs: p itself, or a
    descendant when p is a wrapper (perf record, --collector-wrap), so that
    /proc figures and signals are the program's, not the wrapper's. Waits
    (bounded) for the wrapper's child to exec; p's own pid if none shows."""
    deadline = time.time() + timeout
    while True:
        todo = [p.pid]
        while todo:
            pid = todo.pop()
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == name[:15]:
                        return pid
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/children") as f:
                        todo += [int(c) for c in f.read().split()]
            except (OSError, ValueError):
                pass
        if time.time() >= deadline or p.poll() is not None:
            return p.pid
        time.sleep(0.02)


class PerfCtl:
    """perf record of a program started under it (every thread, those it
    starts later included: `perf record -p` sees only the threads there
    when it attaches, and lq-tailset starts at the first waiting tail),
    with its events off until enable() (perf's --control fifo)."""

    def __init__(self, out, tmp, name, is_on):
        self.ctl, self.ack = (os.path.join(tmp, f"perf-{name}.{k}") for k in ("ctl", "ack"))
        for f in (self.ctl, self.ack):
            os.mkfifo(f)
        self.argv = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "-g",
                     "-o", out, "--control", f"fifo:{self.ctl},{self.ack}"] + \
                    ([] if is_on else ["-D", "-1"]) + ["--"]
        self.fd = self.fa = -1

    def cmd(self, word):
        """enable or disable; waits (bounded) for perf's ack."""
        deadline = time.time() + 10
        while self.fd < 0:  # perf opens both fifos at its start
            try:
                self.fd = os.open(self.ctl, os.O_WRONLY | os.O_NONBLOCK)
                self.fa = os.open(self.ack, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                if time.time() >= deadline:
                    raise
                time.sleep(0.05)
        os.write(self.fd, word.encode() + b"\n")
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                if os.read(self.fa, 64):
                    return
            except BlockingIOError:
                pass
            time.sleep(0.01)

    def close(self):
        for fd in (self.fd, self.fa):
            if fd >= 0:
                os.close(fd)


def disk_sectors(path):
    """Sectors written to the disk holding path (/proc/diskstats), or -1
    (no such file, or a file system without a disk line of its own)."""
    try:
        st = os.stat(path)
        dev = [str(os.major(st.st_dev)), str(os.minor(st.st_dev))]
        with open("/proc/diskstats") as f:
            for ln in f:
                x = ln.split()
                if x[:2] == dev:
                    return int(x[9])
    except (OSError, ValueError, IndexError):
        pass
    return -1


def http_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def gen_container(root, cid, name, image, args, out_plain, nbytes):
    """Writes one container's json-file log and appends its plain text."""
    d = os.path.join(root, cid)
    os.makedirs(d)
    with open(os.path.join(d, "config.v2.json"), "w") as f:
        json.dump({"ID": cid, "Name": "/" + name,
                   "Config": {"Image": image, "Labels": {}},
                   "State": {"Running": True}, "RestartCount": 0}, f)
    gen = [os.path.join(BIN, "logq-loggen")] + args
    part = out_plain + ".part"
    # Plain text first (sized by bytes), then the same lines as json-file:
    # the generator gives identical text for the same seed and count.
    with open(part, "wb") as f:
        sh(gen + ["--format", "plain", "--bytes", str(nbytes)], stdout=f, stderr=f)
    with open(part, "rb") as f:
        count = sum(b.count(b"\n") for b in iter(lambda: f.read(1 << 24), b""))
    with open(os.path.join(d, cid + "-json.log"), "wb") as f:
        sh(gen + ["--format", "json-file", "--count", str(count)], stdout=f)
    with open(out_plain, "ab") as dst, open(part, "rb") as src:
        shutil.copyfileobj(src, dst, 1 << 24)
    os.unlink(part)


def add_rare_lines(root, out_plain):
    """A container with a few lines holding a term found nowhere else."""
    cid = "f" * 63 + "1"
    d = os.path.join(root, cid)
    os.makedirs(d)
    with open(os.path.join(d, "config.v2.json"), "w") as f:
        json.dump({"ID": cid, "Name": "/rare", "Config": {"Image": "rare:1"}}, f)
    lines = [f"payment {RARE} id={i} declined by upstream gateway" for i in range(5)]
    with open(os.path.join(d, cid + "-json.log"), "w") as f:
        for i, ln in enumerate(lines):
            f.write(json.dumps({"log": ln + "\n", "stream": "stderr",
                                "time": f"2026-11-27T13:50:{40 + i}.000000000Z"}) + "\n")
    with open(out_plain, "a") as f:
        f.write("\n".join(lines) + "\n")


def gzip1(droot):
    """`gzip -1` over the same json-file bytes (page cache): wall s, CPU s."""
    files = sorted(os.path.join(dp, fn) for dp, _, fns in os.walk(droot)
                   for fn in fns if fn.endswith("-json.log"))
    t0, r0 = time.perf_counter(), os.times()
    with open(os.devnull, "wb") as null:
        sh(["gzip", "-1", "-c"] + files, stdout=null)
    r1 = os.times()
    return time.perf_counter() - t0, (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)


def store_split(data):
    """Bytes on disk of a store after its stop: segments, .lqi, WAL, other."""
    out = {"lqs": 0, "lqi": 0, "wal": 0, "other": 0}
    for dp, _, fns in os.walk(data):
        for fn in fns:
            kind = fn.rsplit(".", 1)[-1]
            kind = {"lqs": "lqs", "lqi": "lqi", "lqw": "wal"}.get(kind, "other")
            out[kind] += os.path.getsize(os.path.join(dp, fn))
    return out


def split_text(split, json_bytes):
    """'.lqs A% + .lqi B% + WAL C% + other D%' of json-file bytes."""
    names = (("lqs", "segments (.lqs)"), ("lqi", ".lqi"), ("wal", "WAL"), ("other", "other"))
    return " + ".join(f"{label} {100 * split.get(k, 0) / json_bytes:.2f}%" for k, label in names
                      if k in split)


def find_corpus(arg):
    """The Loghub samples (../shared/corpus beside this tree or beside the
    main tree of a git worktree, or --corpus / LOGQ_CORPUS), or None."""
    cands = [arg] if arg else []
    if os.environ.get("LOGQ_CORPUS"):
        cands.append(os.environ["LOGQ_CORPUS"])
    cands.append(os.path.join(ROOT, "..", "shared", "corpus"))
    try:
        common = subprocess.run(["git", "-C", ROOT, "rev-parse", "--path-format=absolute",
                                 "--git-common-dir"], capture_output=True, text=True).stdout.strip()
        if common:
            cands.append(os.path.join(os.path.dirname(common), "..", "shared", "corpus"))
    except OSError:
        pass
    for d in cands:
        if d and os.path.isdir(d):
            files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".log"))
            if files:
                return files
    return None


def real_samples(a, tmp):
    """Stored bytes of the real samples through the store's own code
    (tests/bench/store_size.c): full segments only, as a share of the
    json-file bytes of their records. {} when there are no samples."""
    files = find_corpus(a.corpus)
    if not files:
        print("bench: no ../shared/corpus: the real-sample stored size is SKIPPED", file=sys.stderr)
        return {}
    if not os.access(a.store_size, os.X_OK):
        print(f"bench: no {a.store_size} (make build/release/store-size): the real-sample "
              "stored size is SKIPPED", file=sys.stderr)
        return {}
    def run(level, one=False):
        d = os.path.join(tmp, f"corpus-store-{level}{'-one' if one else ''}")
        seg = ["--one-segment"] if one else ["--segment-size", a.corpus_segment_size]
        out = subprocess.run([a.store_size] + seg + ["--level", str(level), d] + files,
                             check=True, capture_output=True, text=True).stdout
        shutil.rmtree(d, ignore_errors=True)
        return {k: int(v) for k, v in (kv.split("=") for kv in out.split())}
    r = run(0)
    r["files"] = len(files)
    # the collector's default segment size: the sealed blocks as one
    # segment whose .lqi is written, instead of one .lqi a block
    r["one_segment"] = run(0, one=True)
    # --recompact-level L rewrites full segments into the same blocks and
    # frames at L: a store built at L holds the same bytes (STORE.md)
    r["recompacted"] = {lv: run(lv) for lv in (9, 19)}
    return r


def go_json_escape(b):
    """A log line's bytes as Go's encoding/json writes them in Docker's
    json-file (the escapes tests/bench/store_size.c counts)."""
    out = bytearray()
    for c in b:
        if c in (0x22, 0x5c):
            out += b"\\" + bytes([c])
        elif c == 0x0a:
            out += b"\\n"
        elif c == 0x0d:
            out += b"\\r"
        elif c == 0x09:
            out += b"\\t"
        elif c < 0x20 or c in (0x3c, 0x3e, 0x26):
            out += b"\\u%04x" % c
        else:
            out.append(c)
    return bytes(out)


def real_wire(a, tmp):
    """The shipper's bytes on the wire for the real samples: each Loghub
    file as one container's json-file (1 ms apart, random nanoseconds, as
    store_size.c stamps them), shipped by a real logq-shipper into a real
    collector. {} when there are no samples or it did not finish."""
    files = find_corpus(a.corpus)
    if not files:
        return {}
    root = os.path.join(tmp, "corpus-docker")
    rng = random.Random(7)
    json_bytes = lines = 0
    for i, path in enumerate(files):
        cid = f"{0xc0 + i:02x}" * 32
        d = os.path.join(root, cid)
        os.makedirs(d)
        with open(os.path.join(d, "config.v2.json"), "w") as f:
            json.dump({"ID": cid, "Name": "/" + os.path.basename(path).split("_")[0].lower(),
                       "Config": {"Image": "loghub:1", "Labels": {}}, "State": {"Running": True}}, f)
        with open(path, "rb") as f:
            text = f.read()
        with open(os.path.join(d, cid + "-json.log"), "wb") as out:
            for n, ln in enumerate(text.split(b"\n")[:-1] if text.endswith(b"\n") else text.split(b"\n")):
                ns = rng.randrange(1000000)
                t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1795786240 + n // 1000))
                frac = f"{(n % 1000) * 1000000 + ns:09d}".rstrip("0")
                rec = (b'{"log":"' + go_json_escape(ln + b"\n") + b'","stream":"stdout","time":"'
                       + (t + ("." + frac if frac else "") + "Z").encode() + b'"}\n')
                out.write(rec)
                json_bytes += len(rec)
                lines += 1
    tcp, http = free_port(), free_port()
    server = f"http://127.0.0.1:{http}"
    procs = []
    try:
        procs.append(subprocess.Popen([os.path.join(BIN, "logq-collector"), "--listen", f"127.0.0.1:{tcp}",
                                       "--http", f"127.0.0.1:{http}", "--data-dir", os.path.join(tmp, "corpus-data"),
                                       "--log-file", os.path.join(tmp, "corpus-collector.log")]))
        for _ in range(100):
            try:
                http_json(server + "/health")
                break
            except OSError:
                time.sleep(0.1)
        procs.append(subprocess.Popen([os.path.join(BIN, "logq-shipper"), "--collector", f"127.0.0.1:{tcp}",
                                       "--docker-root", root, "--state-dir", os.path.join(tmp, "corpus-state"),
                                       "--hostname", "bench2", "--log-file", os.path.join(tmp, "corpus-shipper.log")]
                                      + a.shipper_arg))
        stored, deadline = 0, time.time() + 120
        while time.time() < deadline and stored < lines:
            time.sleep(0.1)
            stored = http_json(server + "/health")["counters"].get("records_stored", 0)
        wire = rsyslog_peer.wire_bytes(tcp)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    batches = None
    try:
        with open(os.path.join(tmp, "corpus-shipper.log")) as f:
            m = re.findall(r"batches_sent=(\d+)", f.read())
            batches = int(m[-1]) if m else None
    except OSError:
        pass
    if stored < lines or wire < 0:
        print(f"bench: real samples on the wire: {stored} of {lines} stored, wire {wire}: SKIPPED",
              file=sys.stderr)
        return {}
    return {"files": len(files), "lines": lines, "json_bytes": json_bytes, "wire": wire,
            "batches": batches}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# Why the last run of a command failed ("" if it did not), for its row.
last_error = ""


def timed(cmd, runs):
    global last_error
    times, out = [], b""
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t)
        out = r.stdout
        last_error = ""
        if r.returncode != 0:
            why = r.stderr.decode("utf-8", "replace").strip().splitlines()
            last_error = f"exit {r.returncode}: {why[-1] if why else 'no message'}"
    return statistics.median(times), out


def pick_terms(plain, total_lines):
    """Finds a ~1% and a ~10% word in a sample of the text."""
    counts = {}
    with open(plain, "rb") as f:
        sample = f.read(8 << 20).decode("utf-8", "replace").splitlines()
    for line in sample:
        for w in set(re.findall(r"[A-Za-z][A-Za-z0-9]{3,}", line)):
            counts[w] = counts.get(w, 0) + 1
    n = max(len(sample), 1)
    def nearest(target):
        return min(counts, key=lambda w: abs(counts[w] / n - target))
    return nearest(0.01), nearest(0.10)


def backlog(server):
    """Records not yet in a segment block (/api/v1/stats wal.records: being
    sealed, waiting for the sealing thread, the tail), of them those handed
    to the sealing thread (sealing_records), and the in-memory blocks
    cursors copied / skipped by their token set so far, and the segment
    blocks or frames cursors read (/health; absent before those counters:
    -1)."""
    try:
        w = http_json(server + "/api/v1/stats")["wal"]
        st = http_json(server + "/health").get("store", {})
        return (w.get("records", -1), w.get("sealing_records", -1),
                st.get("cursor_mem_reads", -1), st.get("cursor_mem_skips", -1),
                st.get("cursor_reads", -1))
    except (OSError, ValueError, KeyError):
        return (-1, -1, -1, -1, -1)


def backlog_text(rows_backlog, runs):
    """The report's lines on the sealing backlog each query row met and
    the frames each query read."""
    parts, frames = [], []
    for name, (b0, b1) in rows_backlog:
        if b0[4] >= 0 and b1[4] >= 0:
            frames.append(f"{name}: {(b1[4] - b0[4]) / runs:.0f}")
    for name, (b0, b1) in rows_backlog:
        reads = f"{b1[2] - b0[2]}" if b0[2] >= 0 else "-"
        skips = f"{b1[3] - b0[3]}" if b0[3] >= 0 else "-"
        parts.append(f"{name}: {b0[0]} ({b0[1]} sealing), copied {reads} / skipped {skips}")
    return ("Unsealed records when each query row began (/api/v1/stats wal.records, of them "
            "handed to the sealing thread), and the in-memory blocks the row's queries copied / "
            "skipped by their token set (/health store.cursor_mem_reads / cursor_mem_skips; "
            "- : not counted by this build): " + "; ".join(parts) + ".\n\n"
            "Segment blocks or frames read per query (/health store.cursor_reads over the "
            "row's logq runs, divided by their number): " + ("; ".join(frames) or "-") + ".")


def run_queries(a, server, plain, n_lines):
    """Times logq against grep (and rg) on the same lines: the query rows;
    also the sealing backlog each row met (backlog_text)."""
    with open(plain, "rb") as f:  # page cache warm for grep
        while f.read(1 << 24):
            pass
    medium, common = pick_terms(plain, n_lines)
    logq = [os.path.join(BIN, "logq"), "--server", server, "--json", "--all"]
    rg = shutil.which("rg")
    cases = [
        ("rare term", [RARE], ["grep", "-F", "-w", "-c", RARE, plain]),
        ("1% term", [medium], ["grep", "-F", "-w", "-c", medium, plain]),
        ("10% term", [common], ["grep", "-F", "-w", "-c", common, plain]),
        ("phrase", [f'"{RARE} id=3"'], ["grep", "-F", "-c", f"{RARE} id=3", plain]),
        ("regex with literal", ["-e", f"{RARE} id=[0-3]"], ["grep", "-E", "-c", f"{RARE} id=[0-3]", plain]),
        # \< (GNU's word start, which grep -E knows too): logq reads it
        # by its word rule, so the word narrows through the index; \b is
        # PCRE2's ASCII boundary, which a UTF-8 letter may cross, so the
        # word narrows as a token or as an ASCII run inside a token with
        # such a letter (collector/STORE.md "Sub-word tokens").
        ("regex with a bounded literal (\\<)", ["-e", f"\\<{RARE} id=[0-3]"],
         ["grep", "-E", "-c", f"\\<{RARE} id=[0-3]", plain]),
        ("regex with \\b", ["-e", f"\\b{RARE} id=[0-3]"],
         ["grep", "-E", "-c", f"\\b{RARE} id=[0-3]", plain]),
        ("regex without literal", ["-e", "[0-9]{3}\\.[0-9]{3}\\.[0-9]{3}\\.9[0-9]"],
         ["grep", "-E", "-c", "[0-9]{3}\\.[0-9]{3}\\.[0-9]{3}\\.9[0-9]", plain]),
        ("rare term, --container rare", [RARE, "--container", "rare"], ["grep", "-F", "-w", "-c", RARE, plain]),
        ("rare term, --until (time filter)", [RARE, "--until", "2026-11-27T13:51:00Z"],
         ["grep", "-F", "-w", "-c", RARE, plain]),
    ]
    # The newest / oldest N of a frequent term over every host and
    # container (exact time order); the reference is grep reading the
    # plain text from its end (tac) and stopping at N, as a person would.
    logq_n = [os.path.join(BIN, "logq"), "--server", server, "--json"]
    tail_cmd = ["sh", "-c", f"tac {shlex.quote(plain)} | grep -F -w -m 100 {shlex.quote(common)} | wc -l"]
    head_cmd = ["sh", "-c", f"grep -F -w -m 100 {shlex.quote(common)} {shlex.quote(plain)} | wc -l"]
    newest = [
        ("newest 100: 10% term", logq_n + ["-n", "100", common], tail_cmd),
        ("oldest 100 (--asc): 10% term", logq_n + ["--asc", "-n", "100", common], head_cmd),
        ("newest 100: every line", logq_n + ["-n", "100"],
         ["sh", "-c", f"tail -n 100 {shlex.quote(plain)} | wc -l"]),
        ("rare term with -C 3", logq_n + ["-C", "3", RARE],
         ["grep", "-F", "-w", "-c", "-C", "3", RARE, plain]),
    ]
    # Counting only, like grep -c: `logq count` streams nothing per match.
    lcount = [os.path.join(BIN, "logq"), "--server", server, "count", "--json"]
    cases += [
        ("count: 1% term", [medium], ["grep", "-F", "-w", "-c", medium, plain]),
        ("count: 10% term", [common], ["grep", "-F", "-w", "-c", common, plain]),
        ("count: regex without literal", ["-e", "[0-9]{3}\\.[0-9]{3}\\.[0-9]{3}\\.9[0-9]"],
         ["grep", "-E", "-c", "[0-9]{3}\\.[0-9]{3}\\.[0-9]{3}\\.9[0-9]", plain]),
    ]
    rows, seen = [], []
    for name, lcmd, gcmd in newest:
        b0 = backlog(server)
        lt, out = timed(lcmd, a.runs)
        seen.append((name, (b0, backlog(server))))
        if last_error:
            name += f" (logq {last_error})"
        gt, gout = timed(gcmd, a.runs)
        n_logq = sum(1 for ln in out.split(b"\n") if ln and b'"break"' not in ln)
        rows.append([name, f"{lt * 1000:.1f}", f"{gt * 1000:.1f}", f"{gt / lt:.1f}x", str(n_logq),
                     gout.decode().strip()] + (["-"] if rg else []))
    for name, q, gcmd in cases:
        is_count = name.startswith("count: ")
        b0 = backlog(server)
        lt, out = timed((lcount if is_count else logq) + q, a.runs)
        seen.append((name, (b0, backlog(server))))
        logq_error = last_error
        gt, gout = timed(gcmd, a.runs)
        if is_count:
            try:
                n_logq = json.loads(out)["total"]
            except (ValueError, KeyError):
                n_logq = -1
        else:
            n_logq = out.count(b"\n")
        if str(n_logq) != gout.decode().strip():
            name += " (COUNTS DIFFER)"
        if logq_error:
            name += f" (logq {logq_error})"
        row = [name, f"{lt * 1000:.1f}", f"{gt * 1000:.1f}", f"{gt / lt:.1f}x", str(n_logq),
               gout.decode().strip()]
        if rg:
            rt, _ = timed([rg, "-c", "-F" if "-F" in gcmd else "-e", gcmd[-2], plain], a.runs)
            row.append(f"{rt * 1000:.1f}")
        rows.append(row)
    return rows, medium, common, rg, backlog_text(seen, a.runs)


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=float(os.environ.get("BENCH_GIB", "1")))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench-report.md"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--collector-arg", action="append", default=[],
                    help="extra logq-collector argument (repeat), e.g. --collector-arg=--block-size=1M")
    ap.add_argument("--shipper-arg", action="append", default=[],
                    help="extra logq-shipper argument (repeat), e.g. --shipper-arg=--compression=zlib")
    ap.add_argument("--ingest-only", action="store_true",
                    help="stop after the ingest figures (no queries)")
    ap.add_argument("--no-peer", action="store_true",
                    help="skip the rsyslog peer (run after logq over the same files)")
    ap.add_argument("--no-sync", action="store_true",
                    help="do not sync(2) the generated json-files before the ingest (their "
                         "writeback then may fall inside the timed ingest)")
    ap.add_argument("--perf", metavar="DIR",
                    help="perf record (cpu-clock, call graphs) the collector (every thread, "
                         "while it ingests) and the shipper (from its start to its stop); "
                         "DIR/collector.data and DIR/shipper.data")
    ap.add_argument("--bin", default=BIN,
                    help="directory of the logq binaries to measure (default: bin/)")
    ap.add_argument("--corpus", default="",
                    help="directory of real log samples (*.log; default: ../shared/corpus)")
    ap.add_argument("--store-size", default=os.path.join(ROOT, "build", "release", "store-size"),
                    help="the store-size tool measuring the real samples' stored bytes")
    ap.add_argument("--corpus-segment-size", default="1M",
                    help="segment size for the real samples (small: so that segments fill "
                         "and their .lqi is written)")
    ap.add_argument("--collector-wrap", default="",
                    help="command line to run the collector under, e.g. 'strace -f -c -o FILE'")
    a = ap.parse_args()
    BIN = a.bin

    tmp = tempfile.mkdtemp(prefix="logq-bench.")
    droot, plain = os.path.join(tmp, "docker"), os.path.join(tmp, "plain.txt")
    os.makedirs(droot)
    total = int(a.gib * (1 << 30))
    kinds = [("web", "nginx:1.25"), ("app", "shop/api:2.3"),
             ("sys", "debian:12"), ("worker", "shop/worker:2.3")]
    procs, perf_c, perf_s, pids = [], None, None, []
    try:
        t0 = time.perf_counter()
        for i, (kind, image) in enumerate(kinds):
            cid = f"{i + 1:x}" * 64
            gen_container(droot, cid[:64], kind, image,
                          ["--kind", kind, "--seed", str(i + 1), "--stream-mix"],
                          plain, int(total * 0.75) // len(kinds))
        add_rare_lines(droot, plain)
        gen_s = time.perf_counter() - t0
        json_bytes = sum(os.path.getsize(os.path.join(dp, fn))
                         for dp, _, fns in os.walk(droot) for fn in fns if fn.endswith("-json.log"))
        plain_bytes = os.path.getsize(plain)
        with open(plain, "rb") as f:
            n_lines = sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 24), b""))

        gzip1_s, gzip1_cpu = gzip1(droot)
        sync_s = -1.0
        if not a.no_sync:
            # The generated json-files (1.2 GiB at --gib 1) out of the page
            # cache's dirty pages before the ingest is timed: else the
            # kernel's writeback of them (30 s after they were written)
            # begins near the ingest's end on this machine and lands in it
            # or not depending on a second's difference, with the WAL's
            # fdatasyncs behind it (BENCHMARKS.md "The end-to-end gap").
            t_sync = time.perf_counter()
            os.sync()
            sync_s = time.perf_counter() - t_sync
        tcp, http = free_port(), free_port()
        data = os.path.join(tmp, "data")
        if a.perf:
            os.makedirs(a.perf, exist_ok=True)
            perf_c = PerfCtl(os.path.join(a.perf, "collector.data"), tmp, "collector", False)
            perf_s = PerfCtl(os.path.join(a.perf, "shipper.data"), tmp, "shipper", True)
        coll = subprocess.Popen((perf_c.argv if perf_c else []) + shlex.split(a.collector_wrap)
                                + [os.path.join(BIN, "logq-collector"), "--listen", f"127.0.0.1:{tcp}",
                                 "--http", f"127.0.0.1:{http}", "--data-dir", data,
                                 "--log-file", os.path.join(tmp, "collector.log"),
                                 # --all of the 10% term at BENCH_GIB=10 is
                                 # ~1 GB of JSON: past the default 256M
                                 # bound, /logs would be cut (API.md)
                                 "--http-max-response", "4G"]
                                + a.collector_arg)
        procs.append(coll)
        server = f"http://127.0.0.1:{http}"
        for _ in range(100):
            try:
                http_json(server + "/health")
                break
            except OSError:
                time.sleep(0.1)
        coll_pid = exec_pid(coll, "logq-collector")    # it answered: exec'd
        pids.append(coll_pid)
        load_ingest = os.getloadavg()[0]
        samplers = [ThreadSampler(coll_pid)]
        samplers[0].poll(force=True)
        if perf_c:
            perf_c.cmd("enable")
        disk0 = disk_sectors(tmp)
        t0 = time.perf_counter()
        ship = subprocess.Popen((perf_s.argv if perf_s else [])
                                + [os.path.join(BIN, "logq-shipper"), "--collector", f"127.0.0.1:{tcp}",
                                 "--docker-root", droot, "--state-dir", os.path.join(tmp, "state"),
                                 "--hostname", "bench1", "--log-file", os.path.join(tmp, "shipper.log")]
                                + a.shipper_arg)
        procs.append(ship)
        ship_pid = exec_pid(ship, "logq-shipper") if perf_s else ship.pid
        pids.append(ship_pid)
        samplers.append(ThreadSampler(ship_pid))
        samplers[1].poll(force=True)
        deadline = time.time() + max(600, 600 * a.gib)
        stored, h = 0, {}
        while time.time() < deadline:
            for ts in samplers:
                ts.poll()
            h = http_json(server + "/health")
            stored = h["counters"].get("records_stored", 0)
            if stored >= n_lines:
                break
            time.sleep(0.05)
        ingest_s = time.perf_counter() - t0
        disk1 = disk_sectors(tmp)
        for ts in samplers:
            ts.poll(force=True)
        thread_rows = samplers[0].rows("collector") + samplers[1].rows("shipper")
        if perf_c:
            perf_c.cmd("disable")
        ship_cpu, coll_cpu = proc_cpu_s(ship_pid), proc_cpu_s(coll_pid)
        coll_us, coll_io = proc_cpu_split(coll_pid), proc_io(coll_pid)
        ship_rss, coll_rss_ingest = proc_rss_kib(ship_pid), proc_rss_kib(coll_pid)
        # The shipper's connection is still open: the kernel's count of
        # the bytes it sent (frames, acks' replies aside), as rsyslog's.
        ship_wire = rsyslog_peer.wire_bytes(tcp)
        os.kill(ship_pid, signal.SIGTERM)   # a perf around it then ends too
        ship.wait(timeout=60)
        ship_waits = shipper_waits(os.path.join(tmp, "shipper.log"))
        if stored < n_lines:
            print(f"bench: only {stored} of {n_lines} records stored before the deadline", file=sys.stderr)

        rows, medium, common, rg, seen = [], "-", "-", None, ""
        if not a.ingest_only:
            rows, medium, common, rg, seen = run_queries(a, server, plain, n_lines)
        coll_rss_query = proc_rss_kib(coll_pid)
        try:    # the most one search's merge held (absent before it: -1)
            cur_peak = http_json(server + "/health")["store"].get("cursor_mem_peak", -1)
        except (OSError, ValueError, KeyError):
            cur_peak = -1
        coll_cpu_total = proc_cpu_s(coll_pid)
        os.kill(coll_pid, signal.SIGTERM)
        coll.wait(timeout=120)
        # After the stop: blocks still being sealed or waiting for the
        # sealing thread when the last record was stored are in segments
        # now, not in the WAL (the unsealed tail still is).
        split = store_split(data)
        store_bytes = sum(split.values())
        real = real_samples(a, tmp)
        real_w = real_wire(a, tmp)
        peer = None
        if not a.no_peer:
            files = sorted(os.path.join(dp, fn) for dp, _, fns in os.walk(droot)
                           for fn in fns if fn.endswith("-json.log"))
            peer = rsyslog_peer.run(tmp, files, json_bytes, free_port, proc_cpu_s,
                                    proc_rss_kib, max(600, 600 * a.gib))
            if "error" not in peer and peer["lines"] != peer["sent"]:
                print(f"bench: RSYSLOG LINE COUNT MISMATCH: {peer['lines']} received, "
                      f"{peer['sent']} sent", file=sys.stderr)
    finally:
        for p, pid in zip(procs, pids):
            if p.poll() is None and pid != p.pid:   # the program under a wrapper
                try:
                    os.kill(pid, signal.SIGKILL)
                    p.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    pass
        for p in procs:
            if p.poll() is None:
                p.kill()
        for pc in (perf_c, perf_s):
            if pc:
                pc.close()
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mib = json_bytes / (1 << 20)
    rep = []
    rep.append(f"### Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, BENCH_GIB={a.gib}")
    rep.append(f"Machine: {platform.node()}, {os.cpu_count()} cores, {cpu}, "
               f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') >> 30} GiB RAM, "
               f"kernel {platform.release()}; shared and noisy: compare within a run.\n")
    rep.append(f"Data: {n_lines} lines from logq-loggen (web, app, sys, worker; {gen_s:.0f} s to generate), "
               f"{mib:.0f} MiB of Docker json-file, {plain_bytes / (1 << 20):.0f} MiB of plain text.\n")
    rep.append("| ingest | figure |\n|---|---|")
    rep.append(f"| wall time, shipper start to last record stored | {ingest_s:.1f} s ({mib / ingest_s:.0f} MiB/s of json-file) |")
    rep.append(f"| `gzip -1` alone over the same json-file (page cache, same run) | {gzip1_s:.1f} s "
               f"({mib / gzip1_s:.0f} MiB/s, CPU {gzip1_cpu:.1f} s); logq end to end = "
               f"{gzip1_s / ingest_s:.2f}x `gzip -1` |")
    rep.append(f"| machine load (1-min average) when the ingest started | {load_ingest:.1f} |")
    rep.append("| the generated json-files synced before the ingest (`--no-sync`: not) | "
               + (f"yes, {sync_s:.1f} s |" if sync_s >= 0 else "no |"))
    rep.append(f"| shipper CPU | {ship_cpu:.1f} s ({ship_cpu / (json_bytes / (1 << 30)):.1f} s per GiB), peak RSS {ship_rss / 1024:.1f} MiB |")
    rep.append(f"| shipper's bytes on the wire (ss -ti bytes_sent) | "
               + (f"{ship_wire / (1 << 20):.1f} MiB = {100 * ship_wire / json_bytes:.1f}% of json-file |"
                  if ship_wire >= 0 else "unknown (no ss, or the connection was gone) |"))
    if real_w:
        rep.append(f"| the same for the real samples ({real_w['files']} Loghub files as containers, "
                   f"{real_w['lines']} lines, {real_w['json_bytes'] / (1 << 20):.1f} MiB of json-file, "
                   f"one shipper, {real_w['batches']} batches) | {real_w['wire'] / (1 << 20):.2f} MiB = "
                   f"{100 * real_w['wire'] / real_w['json_bytes']:.1f}% of json-file |")
    rep.append(f"| collector CPU while ingesting | {coll_cpu:.1f} s ({coll_cpu / (json_bytes / (1 << 30)):.1f} s per GiB: "
               f"user {coll_us[0]:.1f} + system {coll_us[1]:.1f} s), peak RSS {coll_rss_ingest / 1024:.1f} MiB |")
    if coll_io:
        rep.append(f"| collector's writes while ingesting (/proc/PID/io: write calls, their MiB, "
                   f"MiB it sent to storage) | {coll_io.get('syscw', 0)}, "
                   f"{coll_io.get('wchar', 0) / (1 << 20):.0f} MiB, "
                   f"{coll_io.get('write_bytes', 0) / (1 << 20):.0f} MiB |")
    sw = h.get("store", {}) if h else {}
    if "seal_waits" in sw:
        rep.append(f"| collector loop waiting for the sealing thread (/health store.seal_waits) | "
                   f"{sw['seal_waits']} times, {sw['seal_wait_ms'] / 1000:.2f} s |")
    tc = sw.get("tail_closes")
    if tc:
        rep.append(f"| tails closed full at a WAL write; seal jobs that left their WAL files to a later one; "
                   f"records encoded again on the loop, carried / split (/health store.tail_closes) | "
                   f"{tc['n']}; {tc['jobs_without_wal']}; {tc['records_carried']} / {tc['records_split']} |")
    st = sw.get("seal_steps")
    if st:
        rep.append(f"| sealing thread: jobs (blocks), in a job; build / write / segment sync / "
                   f"index wait / WAL cut; done to applied (/health store.seal_steps) | "
                   f"{st['jobs']} ({st['blocks']}), {st['run_ms'] / 1000:.2f} s; "
                   f"{st['build_ms'] / 1000:.2f} / {st['write_ms'] / 1000:.2f} / "
                   f"{st['sync_ms'] / 1000:.2f} / {st['index_wait_ms'] / 1000:.2f} / "
                   f"{st['wal_cut_ms'] / 1000:.2f} s; {st['apply_lag_ms'] / 1000:.2f} s |")
    if ship_waits:
        rep.append(f"| shipper reading paused: window full until an ACK / batch waiting for the compressor | "
                   f"{ship_waits['window_waits']} times, {ship_waits['window_wait_ms'] / 1000:.2f} s / "
                   f"{ship_waits['compress_waits']} times, {ship_waits['compress_wait_ms'] / 1000:.2f} s |")
    hc = h.get("counters", {}) if h else {}
    if "commit_holds" in hc:
        rep.append(f"| collector reading held for a WAL sync (/health commit_holds) | "
                   f"{hc['commit_holds']} times, {hc['commit_hold_ms'] / 1000:.2f} s |")
    ws = sw.get("wal_syncs")
    if ws and ws.get("n"):
        rep.append(f"| collector WAL fdatasyncs (/health store.wal_syncs): count, mean, longest, "
                   f"over 100 ms, MiB they made durable | {ws['n']}, {ws['ms'] / ws['n']:.1f} ms, "
                   f"{ws['max_ms']} ms, {ws.get('slow', 0)}, {ws['bytes'] / (1 << 20):.0f} MiB |")
    if disk0 >= 0 and disk1 >= disk0:
        rep.append(f"| written to the store's disk while ingesting (/proc/diskstats: the whole disk, "
                   f"other processes' writes too) | {(disk1 - disk0) * 512 / (1 << 20):.0f} MiB |")
    rep.append(f"| stored bytes after the collector's stop (blocks + index + WAL + metadata) | {store_bytes / (1 << 20):.0f} MiB = {100 * store_bytes / json_bytes:.1f}% of json-file, {100 * store_bytes / plain_bytes:.1f}% of plain text |")
    rep.append(f"| of which (% of json-file) | {split_text(split, json_bytes)} |")
    if real:
        rj = real["full_json_bytes"]
        rs = {"lqs": real["blocks_bytes"], "lqi": real["lqi_bytes"]}
        rep.append(f"| stored bytes, real samples ({real['files']} Loghub files, {real['records']} lines, "
                   f"{real['json_bytes'] / (1 << 20):.1f} MiB of json-file; store-size, "
                   f"{a.corpus_segment_size} segments; the {real['full_segments']} full segments' "
                   f"{real['full_records']} lines) | "
                   f"{100 * (rs['lqs'] + rs['lqi']) / max(rj, 1):.1f}% of json-file = "
                   f"{split_text(rs, max(rj, 1))} |")
        ro = real["one_segment"]
        how = (f"the {ro['full_records']} sealed lines' blocks as one segment, its .lqi written as when "
               f"full; a 64 MiB segment holds ~{(64 << 20) / ro['segment_size']:.0f}x these blocks, so "
               f"its index's share would be smaller still" if ro["segment_size"] else
               f"{ro['full_segments']} full segments of the default size")
        rep.append(f"| the same with the collector's default segment size (store-size --one-segment: "
                   f"{how}) | "
                   f"{100 * (ro['blocks_bytes'] + ro['lqi_bytes']) / max(ro['full_json_bytes'], 1):.1f}% of json-file = "
                   f"{split_text({'lqs': ro['blocks_bytes'], 'lqi': ro['lqi_bytes']}, max(ro['full_json_bytes'], 1))} |")
        for lv, rr in real["recompacted"].items():
            rep.append(f"| the same once recompacted at level {lv} (`--recompact-level {lv}`; "
                       f"built at {lv}: the same frames) | "
                       f"{100 * (rr['blocks_bytes'] + rr['lqi_bytes']) / max(rr['full_json_bytes'], 1):.1f}% |")
    cur_text = (f"; a search's open blocks at most {cur_peak / (1 << 20):.1f} MiB (/health store.cursor_mem_peak)"
                if cur_peak >= 0 else "")
    rep.append(f"| collector after queries | CPU {coll_cpu_total:.1f} s total, peak RSS {coll_rss_query / 1024:.1f} MiB{cur_text} |")
    if peer is not None:
        rep += rsyslog_peer.report_rows(peer, json_bytes)
    rep.append("")
    rep.append("| thread while ingesting (/proc/PID/task, every 0.5 s) | CPU | of the wall | intervals >= 90% busy |")
    rep.append("|---|---|---|---|")
    rep += thread_rows
    rep.append("")
    if not rows:
        return finish(a, rep)
    hdr = "| query | logq ms | grep ms | grep/logq | logq lines | grep -c |" + (" rg ms |" if rg else "")
    rep.append(hdr)
    rep.append("|" + "---|" * (7 if rg else 6))
    for r in rows:
        rep.append("| " + " | ".join(r) + " |")
    rep.append(f"\nTerms: rare `{RARE}` (5 lines), 1% `{medium}`, 10% `{common}`. logq times are the whole "
               f"`logq --json --all ...` process printing every match (rows 'count:': "
               f"`logq count --json ...`, which returns only the total); grep times are `grep -c` (`-F -w` for "
               f"terms: logq terms match whole words) over the plain text in the page cache. Median of {a.runs} runs.")
    rep.append("\n" + seen)
    finish(a, rep)


def finish(a, rep):
    text = "\n".join(rep) + "\n"
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
