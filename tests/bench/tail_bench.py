#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""logq benchmark, issue "Speed": live tail latency and fan-in fairness.

--part tail: N fake containers (Docker json-file directories, as bench.py
writes them) are appended to by one writer process at a total target rate
for a bounded time, every line carrying its writer, a sequence number and
its write time (CLOCK_REALTIME ns); a real logq-shipper tails them into a
real logq-collector on 127.0.0.1 and `logq -f --json` follows. Reports the
achieved write rate, write-to-printed latency p50/p99/max and checks that
every line arrived exactly once (missing, duplicated, unexpected).

--part fanin: M logq-shippers (own --hostname, --docker-root, --state-dir),
each with one container holding the same logq-loggen json-file (hard
links: more bytes than the collector ingests in the time), start at once
into one collector; after --fanin-seconds the lines stored per host
(/api/v1/hosts) give min/median/max, min/max and the starved hosts (0, or
under a tenth of the median); collector peak RSS (VmHWM) and CPU.

Every wait is bounded; every process started here is stopped here.
"""
import argparse, array, calendar, json, multiprocessing, os, platform, select, shutil, signal
import statistics, subprocess, sys, tempfile, threading, time, urllib.request

from bench import BIN, free_port, http_json, proc_cpu_s, proc_cpu_split, proc_rss_kib, shipper_counters, shipper_waits

TAG = b'"message":"TAIL '
RECV = b'"received":"'
RECV_EVERY = 16         # lines whose receive time is parsed (the reader's CPU)


def make_container(root, cid, name):
    d = os.path.join(root, cid)
    os.makedirs(d)
    with open(os.path.join(d, "config.v2.json"), "w") as f:
        json.dump({"ID": cid, "Name": "/" + name,
                   "Config": {"Image": "tailbench:1", "Labels": {}},
                   "State": {"Running": True}, "RestartCount": 0}, f)
    path = os.path.join(d, cid + "-json.log")
    open(path, "w").close()
    return path


def start_collector(tmp, binr, extra):
    tcp, http = free_port(), free_port()
    coll = subprocess.Popen([os.path.join(binr, "logq-collector"), "--listen", f"127.0.0.1:{tcp}",
                             "--http", f"127.0.0.1:{http}", "--data-dir", os.path.join(tmp, "data"),
                             "--log-file", os.path.join(tmp, "collector.log")] + extra)
    server = f"http://127.0.0.1:{http}"
    for _ in range(100):
        try:
            http_json(server + "/health")
            break
        except OSError:
            time.sleep(0.1)
    return coll, tcp, server


def start_shipper(tmp, binr, tcp, root, host, extra=()):
    return subprocess.Popen([os.path.join(binr, "logq-shipper"), "--collector", f"127.0.0.1:{tcp}",
                             "--docker-root", root, "--state-dir", os.path.join(tmp, "state-" + host),
                             "--hostname", host, "--log-file", os.path.join(tmp, f"shipper-{host}.log")]
                            + list(extra))


def shipper_writeback(log):
    """The writeback the shipper asked for pages it read (its counters
    line at exit; absent before --writeback-step): calls, bytes, ms in
    them, the longest call in us, failures."""
    return shipper_counters(log, ("calls", "bytes", "ms", "max_us", "errors"),
                            prefix="writeback_")


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    end = time.time() + 30
    for p in procs:
        try:
            p.wait(timeout=max(0.1, end - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def writer(paths, rate, line_bytes, seconds, conn):
    """Appends lines at `rate` bytes/s in 20 ms ticks; sends the counts."""
    fds = [os.open(p, os.O_WRONLY | os.O_APPEND) for p in paths]
    n = len(fds)
    seq = [0] * n
    # The json-file line around the message is ~70 bytes; pad to line_bytes.
    pad = "x" * max(0, line_bytes - 110)
    t0 = time.monotonic()
    end = t0 + seconds
    written, nxt = 0, 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int(rate * (now - t0)) - written
        lines = due // line_bytes
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000000Z"
        while lines > 0:
            k = min(lines, max(1, (lines + n - 1) // n))
            w = nxt
            nxt = (nxt + 1) % n
            buf = []
            for _ in range(k):
                buf.append('{"log":"TAIL %d %d %d %s\\n","stream":"stdout","time":"%s"}\n'
                           % (w, seq[w], time.time_ns(), pad, stamp))
                seq[w] += 1
            data = "".join(buf).encode()
            os.write(fds[w], data)
            written += len(data)
            lines -= k
        time.sleep(max(0.0, 0.02 - (time.monotonic() - now)))
    conn.send((seq, written, time.monotonic() - t0))
    conn.close()


class Follow:
    """Reads `logq -f --json` lines; records counts per (writer, seq) and latencies."""

    def __init__(self, cmd, err):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        self.rest = b""
        self.seen = {}
        self.lat_us = array.array("q")
        self.wrote_ns = array.array("q")    # each line's write time, as lat_us
        # every RECV_EVERY-th line: write to received, received to printed
        self.recv_us = array.array("q")
        self.print_us = array.array("q")
        self.n_lines = 0
        self.secs = {}          # "YYYY-MM-DDTHH:MM:SS" -> unix seconds
        self.last_read = None   # when this reader last got bytes
        self.gaps = []          # reads more than 0.3 s apart: (at, seconds)
        self.warm = set()
        self.other = 0

    def recv_ns(self, ln):
        i = ln.find(RECV)
        if i < 0:
            return None
        ts = ln[i + len(RECV):i + len(RECV) + 30]
        sec = self.secs.get(ts[:19])
        if sec is None:
            sec = self.secs[ts[:19]] = calendar.timegm(time.strptime(ts[:19].decode(),
                                                                      "%Y-%m-%dT%H:%M:%S"))
        frac = ts[20:29] if ts[19:20] == b"." else b"0"
        return sec * 1000000000 + int(frac.ljust(9, b"0")[:9])

    def pump(self, secs):
        r, _, _ = select.select([self.proc.stdout], [], [], secs)
        if not r:
            return self.proc.poll() is None
        chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
        now = time.time_ns()
        if not chunk:
            return False
        if self.last_read is not None and now - self.last_read > 300000000:
            self.gaps.append((now, (now - self.last_read) / 1e9))
        self.last_read = now
        lines = (self.rest + chunk).split(b"\n")
        self.rest = lines.pop()
        for ln in lines:
            i = ln.find(TAG)
            if i < 0:
                j = ln.find(b'"message":"WARM ')
                if j >= 0:
                    self.warm.add(int(ln[j + 16:].split(b'"', 1)[0]))
                elif ln.strip():
                    self.other += 1
                continue
            f = ln[i + len(TAG):].split(b" ", 3)
            w, s, t = int(f[0]), int(f[1]), int(f[2])
            b = self.seen.get(w)
            if b is None:
                b = self.seen[w] = bytearray()
            if s >= len(b):
                b.extend(bytes(s + 1 - len(b) + 4096))
            if b[s] < 255:
                b[s] += 1
            self.lat_us.append((now - t) // 1000)
            self.wrote_ns.append(t)
            self.n_lines += 1
            if self.n_lines % RECV_EVERY == 0:
                rv = self.recv_ns(ln)
                if rv is not None:
                    self.recv_us.append((rv - t) // 1000)
                    self.print_us.append((now - rv) // 1000)
        return True


def pct(xs, p):
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


class DiskWatch(threading.Thread):
    """Every 0.2 s while the lines are written: the kernel's dirty and
    writeback page cache (/proc/meminfo), the store's disk (/proc/diskstats:
    sectors written, requests in flight) and, every 1 s, the collector's
    WAL fdatasyncs (/health store.wal_syncs): a slow window next to the
    writeback of other files' dirty pages (the kernel's 30 s expiry) that
    its syncs waited behind. Samples (t, dirty+wb KiB, sectors, in flight,
    syncs, sync ms); Linux only, else none."""

    def __init__(self, path, server, coll_pid=None):
        super().__init__(daemon=True)
        self.coll_pid = coll_pid
        self.timeline = []      # every 1 s: (t, /health, collector VmRSS KiB)
        st = os.stat(path)
        self.dev = f"{os.major(st.st_dev)} {os.minor(st.st_dev)} "
        self.server = server
        self.samples = []
        self.stop_ev = threading.Event()

    def disk(self):
        with open("/proc/diskstats") as f:
            for ln in f:
                if ln.split(None, 2)[:2] == self.dev.split():
                    x = ln.split()
                    return int(x[9]), int(x[11])
        # a file system with no disk line of its own (tmpfs, overlay): no row
        return None

    def run(self):
        syncs, ms, last_h = 0, 0, 0.0
        try:
            while not self.stop_ev.is_set():
                now = time.time_ns()
                with open("/proc/meminfo") as f:
                    mi = {l.split(":")[0]: int(l.split()[1]) for l in f}
                d = self.disk()
                if d is None:
                    return
                if time.time() - last_h >= 1.0:
                    last_h = time.time()
                    try:
                        hh = http_json(self.server + "/health", 2)
                        ws = hh.get("store", {}).get("wal_syncs", {})
                        rss = proc_rss_kib(self.coll_pid, "VmRSS") if self.coll_pid else 0
                        self.timeline.append((now, hh, rss))
                        syncs, ms = ws.get("n", 0), ws.get("ms", 0)
                    except OSError:
                        pass
                self.samples.append((now, mi.get("Dirty", 0) + mi.get("Writeback", 0), d[0], d[1],
                                     syncs, ms))
                self.stop_ev.wait(0.2)
        except (OSError, ValueError, KeyError):
            return

    def write_timeline(self, path, t0):
        """One row a second: the counters' change since the row before
        (records stored, collector reading held: times and ms, the loop's
        waits for the sealing thread: ms, WAL fdatasyncs: n and ms) and
        the collector's RSS then (--timeline)."""
        def get(h):
            c, st = h.get("counters", {}), h.get("store", {})
            ws = st.get("wal_syncs", {})
            sj = st.get("seal_steps", {})
            return (c.get("records_stored", 0), c.get("commit_holds", 0), c.get("commit_hold_ms", 0),
                    st.get("seal_wait_ms", 0), ws.get("n", 0), ws.get("ms", 0),
                    c.get("follow_clients_dropped", 0), sj.get("jobs", 0), sj.get("blocks", 0),
                    sj.get("build_ms", 0), sj.get("write_ms", 0), sj.get("sync_ms", 0))
        with open(path, "w") as f:
            f.write("t_s stored holds hold_ms seal_wait_ms syncs sync_ms drops seal_jobs seal_blocks "
                    "seal_build_ms seal_write_ms seal_sync_ms rss_mib\n")
            prev = None
            for t, h, rss in self.timeline:
                cur = get(h)
                if prev is not None:
                    d = [x - y for x, y in zip(cur, prev)]
                    f.write(f"{(t - t0) / 1e9:.1f} " + " ".join(str(x) for x in d) + f" {rss / 1024:.0f}\n")
                prev = cur

    def windows(self, t0, window):
        """Per window of write time: written MiB/s, most dirty+writeback
        MiB, most requests in flight, WAL syncs and their mean ms."""
        win = {}
        for s in self.samples:
            win.setdefault((s[0] - t0) // int(window * 1e9), []).append(s)
        cells = []
        for k in sorted(w for w in win if w >= 0):
            a, b = win[k][0], win[k][-1]
            dt = max((b[0] - a[0]) / 1e9, 0.2)
            n, ms = b[4] - a[4], b[5] - a[5]
            cells.append(f"{k * window:g}-{(k + 1) * window:g} s: {(b[2] - a[2]) * 512 / dt / (1 << 20):.0f} / "
                         f"{max(s[1] for s in win[k]) / 1024:.0f} / {max(s[3] for s in win[k])} / "
                         f"{n}, {ms / n if n else 0:.0f}")
        return cells


def part_tail(a, tmp, rep):
    root = os.path.join(tmp, "docker-tail")
    paths = [make_container(root, f"{i + 1:064x}", f"tail{i}") for i in range(a.writers)]
    coll, tcp, server = start_collector(tmp, a.bin, a.collector_arg)
    procs = [coll]
    try:
        ferr = open(os.path.join(tmp, "logq-f.err"), "wb")
        fol = Follow([os.path.join(a.bin, "logq"), "--server", server, "-f", "--json"], ferr)
        ferr.close()
        procs.append(fol.proc)
        ship = start_shipper(tmp, a.bin, tcp, root, "tail1", a.shipper_arg)
        procs.append(ship)
        # Warm-up: one line per container until all come back (tails and follow live).
        end = time.time() + 60
        last = 0.0
        while time.time() < end and len(fol.warm) < a.writers:
            if time.time() - last > 2:
                for w, p in enumerate(paths):
                    if w not in fol.warm:
                        with open(p, "a") as f:
                            f.write('{"log":"WARM %d\\n","stream":"stdout","time":"%s"}\n'
                                    % (w, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
                last = time.time()
            fol.pump(0.1)
        if len(fol.warm) < a.writers:
            print(f"tail_bench: only {len(fol.warm)} of {a.writers} warm-up lines came back in 60 s",
                  file=sys.stderr)
            return 1
        load = os.getloadavg()[0]
        stored0 = http_json(server + "/health")["counters"].get("records_stored", 0)
        cpu0 = (proc_cpu_s(ship.pid), proc_cpu_s(coll.pid), proc_cpu_s(fol.proc.pid), time.process_time())
        ship0 = proc_cpu_split(ship.pid)
        rx, tx = multiprocessing.Pipe(False)
        wp = multiprocessing.Process(target=writer, args=(paths, a.rate * (1 << 20), a.line_bytes,
                                                          a.seconds, tx))
        t_write0 = time.time_ns()
        dw = DiskWatch(tmp, server, coll.pid) if os.path.exists("/proc/diskstats") else None
        if dw is not None:
            dw.start()
        wp.start()
        res = None
        end = time.time() + a.seconds + 30
        # --stall: logq -f stopped (SIGSTOP) that long halfway through, as
        # a client descheduled on a loaded host: its follower is dropped
        # and resumes (received_since) when it goes on
        stall_at = time.time() + a.seconds / 2 if a.stall > 0 else None
        while res is None and time.time() < end:
            if stall_at is not None and time.time() >= stall_at:
                fol.proc.send_signal(signal.SIGSTOP)
                time.sleep(a.stall)
                fol.proc.send_signal(signal.SIGCONT)
                stall_at = None
            fol.pump(0.05)
            if rx.poll():
                res = rx.recv()
        wp.join(10)
        if res is None:
            print("tail_bench: the writer did not report", file=sys.stderr)
            return 1
        counts, written, wsecs = res
        t_write1 = time.time_ns()
        if dw is not None:
            dw.stop_ev.set()
            dw.join(5)
        total = sum(counts)

        def got():
            return sum(sum(1 for x in fol.seen.get(w, b"")[:c] if x) for w, c in enumerate(counts))
        # When the collector had stored them all (/health records_stored,
        # polled every 0.2 s) against when logq -f had printed them all:
        # which side of the commit a backlog is on.
        t_end, t_stored, t_printed = time.monotonic(), None, None
        drain_end = time.time() + a.drain
        while time.time() < drain_end and (t_stored is None or t_printed is None):
            fol.pump(0.2)
            now = time.monotonic()
            if t_printed is None and len(fol.lat_us) >= total:
                t_printed = now - t_end
            if t_stored is None and stored0 + total <= \
                    http_json(server + "/health")["counters"].get("records_stored", 0):
                t_stored = now - t_end
        cpu1 = (proc_cpu_s(ship.pid), proc_cpu_s(coll.pid), proc_cpu_s(fol.proc.pid), time.process_time())
        ship1 = proc_cpu_split(ship.pid)
        rss = (proc_rss_kib(ship.pid), proc_rss_kib(coll.pid))
        hh = http_json(server + "/health")
        h = hh["counters"]
        st = hh.get("store", {})
    finally:
        stop(procs)
    arrived = got()
    missing = total - arrived
    dups = sum(sum(1 for x in b[:counts[w]] if x > 1) if w < len(counts) else 0
               for w, b in fol.seen.items())
    unexpected = sum((sum(1 for x in b[counts[w]:] if x) if w < len(counts) else sum(1 for x in b if x))
                     for w, b in fol.seen.items())
    lat = sorted(fol.lat_us)
    mib = written / (1 << 20)
    why = {}        # drop reasons from the collector's log, counted
    drop_at = []    # seconds after the writer started
    with open(os.path.join(tmp, "collector.log"), errors="replace") as f:
        for ln in f:
            if "dropping slow follow client" in ln:
                r = ln.split('reason="', 1)[-1].split('"', 1)[0]
                why[r] = why.get(r, 0) + 1
                try:
                    at = calendar.timegm(time.strptime(ln[:19], "%Y-%m-%dT%H:%M:%S"))
                    drop_at.append(at + float("0" + ln[19:23].rstrip("Z")) - t_write0 / 1e9)
                except ValueError:
                    pass
    drops = sum(why.values())
    sw = shipper_waits(os.path.join(tmp, "shipper-tail1.log"))
    swb = shipper_writeback(os.path.join(tmp, "shipper-tail1.log"))
    with open(os.path.join(tmp, "logq-f.err"), errors="replace") as f:
        reconnects = sum(1 for ln in f if "reconnected to collector" in ln)
    gaps = [g for at, g in fol.gaps if t_write0 <= at <= t_write1 + 1000000000]
    rep.append(f"#### Live tail: {a.writers} containers, target {a.rate:g} MiB/s for {a.seconds:g} s, "
               f"{a.line_bytes}-byte json-file lines"
               f"{f', logq -f stopped for {a.stall:g} s halfway' if a.stall > 0 else ''}")
    rep.append(f"load (1-min) at the start: {load:.1f}\n")
    rep.append("| live tail | figure |\n|---|---|")
    rep.append(f"| written | {total} lines, {mib:.0f} MiB in {wsecs:.1f} s = {mib / wsecs:.1f} MiB/s "
               f"({total / wsecs:.0f} lines/s) |")
    if lat:
        rep.append(f"| write to printed by `logq -f --json` | p50 {pct(lat, 50) / 1000:.0f} ms, "
                   f"p99 {pct(lat, 99) / 1000:.0f} ms, max {lat[-1] / 1000:.0f} ms "
                   f"(target p99 <= 500 ms: {'met' if pct(lat, 99) <= 500000 else 'NOT met'}) |")
    if fol.recv_us:
        rl, pl = sorted(fol.recv_us), sorted(fol.print_us)
        rep.append(f"| of which (every {RECV_EVERY}th line): write to `received` | p50 "
                   f"{pct(rl, 50) / 1000:.0f} ms, p99 {pct(rl, 99) / 1000:.0f} ms; `received` to printed: "
                   f"p50 {pct(pl, 50) / 1000:.0f} ms, p99 {pct(pl, 99) / 1000:.0f} ms |")
    # when the slow lines were written: one slow moment, or a follower
    # that stayed behind (e.g. a catch-up slower than the lines come)
    win = {}
    for t, l in zip(fol.wrote_ns, fol.lat_us):
        win.setdefault((t - t_write0) // (a.window * 1000000000), []).append(l)
    if win:
        cells = []
        for k in sorted(win):
            ls = sorted(win[k])
            cells.append(f"{k * a.window:g}-{(k + 1) * a.window:g} s: {pct(ls, 50) / 1000:.0f} / "
                         f"{pct(ls, 99) / 1000:.0f}")
        rep.append(f"| p50 / p99 ms by when the line was written ({a.window:g} s windows) | "
                   f"{'; '.join(cells)} |")
    dcells = dw.windows(t_write0, a.window) if dw is not None else []
    if dw is not None and a.timeline:
        dw.write_timeline(a.timeline, t_write0)
    if dcells:
        rep.append(f"| the disk by the same windows: written MiB/s / most dirty + writeback MiB (all "
                   f"files) / most requests in flight / WAL fdatasyncs, mean ms | {'; '.join(dcells)} |")
    rep.append(f"| follower dropped (collector log) / `logq -f` reconnects | {drops} / {reconnects}; "
               f"this reader's reads over 0.3 s apart while writing: {len(gaps)}"
               f"{', longest %.2f s' % max(gaps) if gaps else ''}"
               f"{''.join(f'; {n}x {r}' for r, n in sorted(why.items()))}"
               f"{'; at ' + ', '.join(f'{x:.1f}' for x in drop_at) + ' s' if drop_at else ''} |")
    # where ingest waited (bench.py prints the same): a stall there is
    # latency for every line behind it
    stalls = []
    if sw:
        stalls.append(f"shipper reading paused for the window (until an ACK) {sw['window_waits']} times, "
                      f"{sw['window_wait_ms'] / 1000:.2f} s; for the compressor {sw['compress_waits']} times, "
                      f"{sw['compress_wait_ms'] / 1000:.2f} s")
    if swb:
        stalls.append(f"shipper writeback asked for pages read {swb['calls']} times, "
                      f"{swb['bytes'] / (1 << 20):.0f} MiB, {swb['ms'] / 1000:.2f} s in the calls, longest "
                      f"{swb['max_us'] / 1000:.1f} ms, {swb['errors']} failed")
    if "commit_holds" in h:
        stalls.append(f"collector reading held for a WAL sync {h['commit_holds']} times, "
                      f"{h['commit_hold_ms'] / 1000:.2f} s")
    ws = st.get("wal_syncs")
    if ws and ws.get("n"):
        stalls.append(f"WAL fdatasyncs {ws['n']}, mean {ws['ms'] / ws['n']:.1f} ms, longest "
                      f"{ws['max_ms']} ms, {ws.get('slow', 0)} over 100 ms, {ws['bytes'] / ws['n'] / 1024:.0f} KiB each")
    if "seal_waits" in st:
        why = st.get("seal_waits_for", {})
        stalls.append(f"collector loop waiting for the sealing thread {st['seal_waits']} times, "
                      f"{st['seal_wait_ms'] / 1000:.2f} s"
                      + (f" (no WAL file free {why['wal_file']}, waiting tails' cap {why['tails']}, "
                         f"segment's end {why['segment_end']})" if why else ""))
    if stalls:
        rep.append(f"| where ingest waited (whole run) | {'; '.join(stalls)} |")
    rep.append(f"| exactly once | {arrived} of {total} arrived; {missing} missing, {dups} duplicated, "
               f"{unexpected} unexpected{'' if missing or dups or unexpected else ': OK'} |")
    def fmt(t):
        return "not within --drain" if t is None else f"{t:.1f} s"
    rep.append(f"| after the writer stopped: all stored (/health) | {fmt(t_stored)}; all printed by "
               f"`logq -f`: {fmt(t_printed)} |")
    rep.append(f"| CPU while writing + drain | shipper {cpu1[0] - cpu0[0]:.1f} s (user "
               f"{ship1[0] - ship0[0]:.1f} + system {ship1[1] - ship0[1]:.1f}), "
               f"collector {cpu1[1] - cpu0[1]:.1f} s, `logq -f` {cpu1[2] - cpu0[2]:.1f} s, "
               f"this reader {cpu1[3] - cpu0[3]:.1f} s; peak RSS shipper {rss[0] / 1024:.0f} MiB, "
               f"collector {rss[1] / 1024:.0f} MiB |")
    rep.append(f"| collector follow counters | follow_records_dropped "
               f"{h.get('follow_records_dropped', 0)}, records_stored {h.get('records_stored', 0)}, "
               f"follow_catchup_rounds {h.get('follow_catchup_rounds', '-')}, "
               f"follow_rechases {h.get('follow_rechases', '-')}; "
               f"blocks (frames) cursors read {st.get('cursor_reads', 0)} of {st.get('blocks', 0)} stored "
               f"(the catch-ups after drops) |")
    rep.append("")
    if missing or dups or unexpected:
        print(f"tail_bench: LIVE TAIL LINES WRONG: {missing} not printed by logq -f within --drain "
              f"({'all were' if t_stored is not None else 'NOT all'} stored), {dups} duplicated, "
              f"{unexpected} unexpected", file=sys.stderr)
        return 1
    return 0


def part_fanin(a, tmp, rep):
    src = os.path.join(tmp, "fanin-json.log")
    with open(src, "wb") as f:
        subprocess.run([os.path.join(a.bin, "logq-loggen"), "--kind", "mixed", "--seed", "7",
                        "--format", "json-file", "--bytes", str(int(a.fanin_mib * (1 << 20)))],
                       stdout=f, check=True)
    cid = "ab" * 32
    roots = []
    for i in range(a.shippers):
        root = os.path.join(tmp, f"docker-fan{i:02d}")
        make_container(root, cid, "fan")
        os.unlink(os.path.join(root, cid, cid + "-json.log"))
        os.link(src, os.path.join(root, cid, cid + "-json.log"))
        roots.append(root)
    coll, tcp, server = start_collector(tmp, a.bin, a.collector_arg)
    procs = [coll]
    try:
        load = os.getloadavg()[0]
        t0 = time.monotonic()
        for i, root in enumerate(roots):
            procs.append(start_shipper(tmp, a.bin, tcp, root, f"fan{i:02d}", a.shipper_arg))
        end = t0 + a.fanin_seconds
        while time.monotonic() < end:
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        hosts = http_json(server + "/api/v1/hosts")
        secs = time.monotonic() - t0
        lines = {h["host"]: h["lines"] for h in hosts}
        coll_cpu, coll_rss = proc_cpu_s(coll.pid), proc_rss_kib(coll.pid)
        ship_rss = max(proc_rss_kib(p.pid) for p in procs[1:])
        ship_cpu = sum(proc_cpu_s(p.pid) for p in procs[1:])
        stored = http_json(server + "/health")["counters"].get("records_stored", 0)
    finally:
        stop(procs)
    per = [lines.get(f"fan{i:02d}", 0) for i in range(a.shippers)]
    med = statistics.median(per)
    starved = [f"fan{i:02d}" for i, n in enumerate(per) if n == 0 or n < med / 10]
    with open(src, "rb") as f:
        file_lines = sum(b.count(b"\n") for b in iter(lambda: f.read(1 << 24), b""))
    rep.append(f"#### Fan-in: {a.shippers} shippers at once, {a.fanin_mib:g} MiB of json-file each "
               f"({file_lines} lines), {secs:.0f} s")
    rep.append(f"load (1-min) at the start: {load:.1f}\n")
    rep.append("| fan-in | figure |\n|---|---|")
    rep.append(f"| lines stored per shipper | min {min(per)}, median {med:.0f}, max {max(per)}; "
               f"min/max {min(per) / max(max(per), 1):.2f}; total {sum(per)} (records_stored {stored}); "
               f"{sum(1 for n in per if n >= file_lines)} of {a.shippers} had shipped their whole file |")
    rep.append(f"| starved (0 or < median/10) | {len(starved)}{': ' + ', '.join(starved) if starved else ''} |")
    rep.append(f"| collector | CPU {coll_cpu:.1f} s, peak RSS {coll_rss / 1024:.0f} MiB |")
    rep.append(f"| shippers | CPU {ship_cpu:.1f} s in all, largest peak RSS {ship_rss / 1024:.0f} MiB |")
    rep.append("")
    if starved:
        print(f"tail_bench: STARVED SHIPPERS: {' '.join(starved)}", file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["tail", "fanin", "both"], default="both")
    ap.add_argument("--writers", type=int, default=100, help="live tail: containers written to")
    ap.add_argument("--rate", type=float, default=50, help="live tail: total MiB/s of json-file")
    ap.add_argument("--seconds", type=float, default=60, help="live tail: how long to write")
    ap.add_argument("--line-bytes", type=int, default=1024, help="live tail: json-file line size")
    ap.add_argument("--stall", type=float, default=0,
                    help="live tail: stop logq -f for this many seconds halfway through")
    ap.add_argument("--window", type=float, default=5,
                    help="live tail: latency percentiles per window of this many seconds of write time")
    ap.add_argument("--drain", type=float, default=30,
                    help="live tail: at most this long to wait for the last lines after writing")
    ap.add_argument("--shippers", type=int, default=50, help="fan-in: shippers at once")
    ap.add_argument("--fanin-seconds", type=float, default=60, help="fan-in: how long they run")
    ap.add_argument("--fanin-mib", type=float, default=64, help="fan-in: json-file MiB per shipper")
    ap.add_argument("--bin", default=BIN)
    ap.add_argument("--collector-arg", action="append", default=[])
    ap.add_argument("--shipper-arg", action="append", default=[],
                    help="extra logq-shipper argument (repeat), e.g. --shipper-arg=--writeback-step=0")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(BIN), "build", "tail-bench-report.md"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--timeline", default=None,
                    help="live tail: write one row a second of the collector's counters and RSS here")
    a = ap.parse_args()
    if min(a.writers, a.shippers, a.line_bytes - 127) < 1 or min(a.rate, a.seconds, a.fanin_mib) <= 0:
        ap.error("--writers, --shippers, --rate, --seconds, --fanin-mib must be positive, --line-bytes >= 128")
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    rep = [f"### tail_bench.py run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
           f"Machine: {platform.node()}, {os.cpu_count()} cores, {cpu}, kernel {platform.release()}; "
           f"shared and noisy.\n"]
    rc = 0
    for part, fn in (("tail", part_tail), ("fanin", part_fanin)):
        if a.part not in (part, "both"):
            continue
        tmp = tempfile.mkdtemp(prefix=f"logq-{part}bench.")
        try:
            rc |= fn(a, tmp, rep)
        finally:
            if a.keep:
                print(f"tail_bench: kept {tmp}", file=sys.stderr)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(rep) + "\n"
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)
    print(text)
    return rc


if __name__ == "__main__":
    sys.exit(main())
