# SPDX-License-Identifier: MIT
"""The peer in make bench: rsyslog (Debian's rsyslogd) over the same files.

imfile -> omfwd (TCP, zlib stream compression) -> imptcp -> omfile, two
private rsyslogd processes (own -f config, -i pidfile, work directories
under the bench's temp dir, ports on 127.0.0.1), never the system's
service or /etc/rsyslog.conf. Settings are rsyslog's documented
performance ones: large batches and queues, imfile from the start of each
file (freshStartTail off, readMode 0), omfile with asyncWriting and big
buffers. Delivery is checked by counting the output file's lines.
"""
import os, re, shutil, subprocess, time

# zlib level 1 as logq's shipper; the stream mode compresses across
# records (per-record "single" mode compresses each line alone, which
# would handicap rsyslog on short lines).
ZIPLEVEL = 1

SENDER = """global(workDirectory="{work}" maxMessageSize="256k")
main_queue(queue.type="FixedArray" queue.size="100000" queue.dequeueBatchSize="4096")
module(load="imfile" mode="inotify")
{inputs}
action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
       compression.mode="stream:always" ziplevel="{zip}"
       compression.stream.flushOnTXEnd="on"
       template="RSYSLOG_ForwardFormat" action.resumeRetryCount="-1")
"""

INPUT = ('input(type="imfile" file="{path}" tag="bench{i}" readMode="0" '
         'freshStartTail="off" addMetadata="off")')

RECEIVER = """global(workDirectory="{work}" maxMessageSize="256k")
main_queue(queue.type="FixedArray" queue.size="100000" queue.dequeueBatchSize="4096")
module(load="imptcp" threads="2")
input(type="imptcp" address="127.0.0.1" port="{port}" compression.mode="stream:always")
template(name="msgonly" type="string" string="%msg:2:$%\\n")
action(type="omfile" file="{out}" template="msgonly" asyncWriting="on"
       ioBufferSize="256k" flushOnTXEnd="off" flushInterval="1")
"""


def available():
    return shutil.which("rsyslogd") or (os.path.exists("/usr/sbin/rsyslogd") and "/usr/sbin/rsyslogd")


def version(rsyslogd):
    r = subprocess.run([rsyslogd, "-v"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = r.stdout.decode(errors="replace").splitlines()[:1]
    return " ".join(first[0].split("(")[0].split()) if first else "rsyslogd"


def start(rsyslogd, tmp, name, conf_text):
    work = os.path.join(tmp, name)
    os.makedirs(work, exist_ok=True)
    conf = os.path.join(work, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(conf_text.replace("{work}", work))
    # -n: no fork (the pid is rsyslogd's own); -i: a private pid file.
    log = open(os.path.join(work, "rsyslogd.out"), "wb")
    p = subprocess.Popen([rsyslogd, "-n", "-f", conf, "-i", os.path.join(work, "rsyslogd.pid")],
                         stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return p


def run(tmp, files, json_bytes, free_port, proc_cpu_s, proc_rss_kib, deadline_s):
    """Ships files through rsyslog; returns a dict of figures (or error).
    "sent" is the input's line count: json-file lines, which are more than
    the records when Docker split a record over 16 KiB."""
    rsyslogd = available()
    if not rsyslogd:
        return {"error": "rsyslogd not installed (provisioning/deps.sh --bench)"}
    n_lines = sum(count_more(p, 0, 0)[0] for p in files)
    root = os.path.join(tmp, "rsyslog")
    os.makedirs(root)
    out = os.path.join(root, "received.log")
    port = free_port()
    procs = []
    try:
        recv = start(rsyslogd, root, "receiver",
                     RECEIVER.format(work="{work}", port=port, out=out))
        procs.append(recv)
        if not wait_listening(port, recv):
            return {"error": "rsyslog receiver did not listen (see %s)" % os.path.join(root, "receiver")}
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        inputs = "\n".join(INPUT.format(path=p, i=i) for i, p in enumerate(files))
        send = start(rsyslogd, root, "sender",
                     SENDER.format(work="{work}", port=port, zip=ZIPLEVEL, inputs=inputs))
        procs.append(send)
        got, off, last_growth = 0, 0, time.time()
        deadline = time.time() + deadline_s
        while got < n_lines and time.time() < deadline and time.time() - last_growth < 60:
            if send.poll() is not None or recv.poll() is not None:
                break
            got, off, grew = count_more(out, got, off)
            if grew:
                last_growth = time.time()
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        fig = {"version": version(rsyslogd), "wall": wall, "load": load, "lines": got, "sent": n_lines,
               "send_cpu": proc_cpu_s(send.pid), "send_rss": proc_rss_kib(send.pid),
               "recv_cpu": proc_cpu_s(recv.pid), "recv_rss": proc_rss_kib(recv.pid),
               "wire": wire_bytes(port)}
        for p in (send, recv):
            p.terminate()
            p.wait(timeout=30)
        # Anything written after the count (it should be nothing) is a
        # duplicate or a late line: the final count decides.
        fig["lines"], fig["bytes"], _ = count_more(out, 0, 0)
        return fig
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def wire_bytes(port):
    """Bytes the sender's open TCP connections to port have sent (ss -ti
    bytes_sent, the kernel's count): rsyslog's bytes on the wire. -1 when
    ss is missing or shows no such connection."""
    try:
        out = subprocess.run(["ss", "-tinH", "state", "established", "dport", "=", f":{port}"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return -1
    sent = [int(m) for m in re.findall(rb"bytes_sent:(\d+)", out)]
    return sum(sent) if sent else -1


def wait_listening(port, proc):
    import socket
    for _ in range(100):
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def count_more(path, got, off):
    """Counts newlines appended to path since offset off."""
    try:
        with open(path, "rb") as f:
            f.seek(off)
            start = off
            for buf in iter(lambda: f.read(1 << 24), b""):
                got += buf.count(b"\n")
                off += len(buf)
            return got, off, off > start
    except FileNotFoundError:
        return got, off, False


def report_rows(fig, json_bytes):
    """Markdown rows for the ingest table."""
    if "error" in fig:
        return [f"| rsyslog peer | NOT RUN: {fig['error']} |"]
    n_lines = fig["sent"]
    mib, gib = json_bytes / (1 << 20), json_bytes / (1 << 30)
    rows = [f"| {fig['version']} imfile -> omfwd (TCP, zlib stream, level {ZIPLEVEL}) -> imptcp -> omfile, "
            f"same files | {fig['wall']:.1f} s ({mib / fig['wall']:.0f} MiB/s of json-file), load {fig['load']:.1f} "
            f"when it started |",
            f"| rsyslog sender CPU | {fig['send_cpu']:.1f} s ({fig['send_cpu'] / gib:.1f} s per GiB), "
            f"peak RSS {fig['send_rss'] / 1024:.1f} MiB; " + (
                f"on the wire {fig['wire'] / (1 << 20):.1f} MiB = {100 * fig['wire'] / json_bytes:.1f}% "
                f"of json-file (ss -ti bytes_sent) |" if fig["wire"] >= 0 else "bytes on the wire unknown |"),
            f"| rsyslog receiver CPU | {fig['recv_cpu']:.1f} s ({fig['recv_cpu'] / gib:.1f} s per GiB), "
            f"peak RSS {fig['recv_rss'] / 1024:.1f} MiB (writes a flat file: no index) |"]
    same = "the same bytes" if fig["bytes"] == json_bytes else \
        f"{fig['bytes']} bytes for {json_bytes} sent"
    if fig["lines"] == n_lines:
        rows.append(f"| rsyslog delivery (output file's lines) | {fig['lines']} of {n_lines} json-file lines, {same} |")
    else:
        rows.append(f"| rsyslog delivery (output file's lines) | **MISMATCH: {fig['lines']} lines received, "
                    f"{n_lines} sent**, {same} |")
    return rows
