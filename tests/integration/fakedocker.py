#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fakedocker: writes container logs the way Docker's json-file driver does.

Used by the integration scenarios instead of a real dockerd (50-docker.sh
uses the real one). For one container in a docker root it creates
<root>/<id>/config.v2.json (+ hostconfig.json) and appends json-file lines to
<root>/<id>/<id>-json.log:
  {"log":"text\\n","stream":"stdout","time":"2026-11-27T13:50:40.123456789Z"}
- lines longer than 16 KiB are split into 16 KiB pieces without a trailing
  "\\n", the last piece carrying the rest and the "\\n" (Docker's copier);
- max-size/max-file rotation as Docker's loggerutils does: before a write,
  when the live file has reached max-size, rename .N-1 -> .N ... live -> .1
  and open a new live file; with max-file 1 the live file is truncated in
  place (same inode);
- every logical line carries a unique marker M<host>-<ctr>-<seq>, and a
  manifest (one JSON object per line: marker, host, container, id, image,
  stream, sha256 of the message, length, time_ns, "jb": the json-file
  bytes written for it (all its 16 KiB pieces), and "word" when the line
  holds --word) records what was written so that check.py can verify
  exactly-once delivery and ordercheck.py can model the answers' order;
- --split-every N writes every Nth json-file line in two halves 20 ms apart
  and --last-split-pause S the last one S seconds apart, so that a reader
  (or a kill) finds the file ending without its newline; --stop-full and
  --stop-rotations-n/--stop-rotations end a run right where a rotation
  is due or happened (93-fault-rotation's inode reuse);
- times are the wall clock, or with --time-start/--time-step set ones (a
  backlog hours old, equal times across hosts), as a shipper that was down
  finds them; running it again on the same --name appends to the same file.
Python 3 standard library only. Also importable (latency.py uses Container).
"""

import argparse
import hashlib
import json
import os
import random
import sys
import time

PARTIAL = 16 * 1024

WORDS = ("alpha beta gamma delta request response timeout retry upstream "
         "cache miss hit user session token worker queue job done failed "
         "disk cpu memory eth0 kernel audit GET POST PUT DELETE").split()
# Every word make_text can write: --word must be none of them, so that a
# line holds it exactly when the manifest says so.
FILLER = {w.lower() for w in WORDS} | set(
    "get api items ms ua curl ref none a b worker job in s path c tmp tab "
    "h llo nic de user level info msg n".split())


def go_json_string(s):
    """JSON-encodes s like Go's encoding/json: UTF-8 kept, <>& escaped."""
    out = json.dumps(s, ensure_ascii=False)
    return (out.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029"))


def rfc3339nano(t_ns):
    sec, ns = divmod(t_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + \
        ".%09dZ" % ns


def container_id(host, name, seed):
    return hashlib.sha256(("%s/%s/%s" % (host, name, seed)).encode()).hexdigest()


class Container:
    """One container's json-file log under a docker root."""

    def __init__(self, root, cid, name, image, labels=None, max_size=0,
                 max_file=1, truncate_pause=0.0, split_every=0):
        self.root = root
        self.id = cid
        self.name = name
        self.image = image
        self.labels = labels or {}
        self.max_size = max_size
        self.max_file = max(1, max_file)
        self.dir = os.path.join(root, cid)
        self.path = os.path.join(self.dir, cid + "-json.log")
        self.n_rotations = 0
        self.truncate_pause = truncate_pause
        self.split_every = split_every
        self.split_pause = 0.02
        self.n_entries = 0
        self.last_bytes = 0     # json-file bytes of the last write()
        os.makedirs(self.dir, exist_ok=True)
        self.write_config(running=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                          0o640)
        self.size = os.fstat(self.fd).st_size

    def write_config(self, running):
        cfg = {
            "ID": self.id,
            "Name": "/" + self.name,
            "Created": "2026-11-27T13:00:00.000000000Z",
            "Path": "/bin/sh",
            "Args": [],
            "Image": "sha256:" + hashlib.sha256(self.image.encode()).hexdigest(),
            "LogPath": self.path,
            "Driver": "overlay2",
            "Config": {
                "Hostname": self.id[:12],
                "Image": self.image,
                "Labels": self.labels,
                "Env": ["PATH=/usr/bin:/bin"],
                "Cmd": ["sh"],
            },
            "State": {
                "Running": running,
                "Paused": False,
                "Restarting": False,
                "Pid": os.getpid() if running else 0,
                "ExitCode": 0,
                "StartedAt": "2026-11-27T13:00:01.000000000Z",
                "FinishedAt": ("0001-01-01T00:00:00Z" if running
                               else rfc3339nano(time.time_ns())),
            },
        }
        host_cfg = {"LogConfig": {"Type": "json-file", "Config": {
            "max-size": str(self.max_size), "max-file": str(self.max_file)}}}
        for fname, obj in (("config.v2.json", cfg),
                           ("hostconfig.json", host_cfg)):
            tmp = os.path.join(self.dir, "." + fname + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(obj, f)
            os.rename(tmp, os.path.join(self.dir, fname))

    def _rotate(self):
        if self.max_file < 2 and self.truncate_pause > 0:
            # Truncation in place loses whatever a reader has not read yet
            # (Docker's doing, not the shipper's): give it time to catch up.
            time.sleep(self.truncate_pause)
        os.close(self.fd)
        if self.max_file >= 2:
            for i in range(self.max_file - 1, 1, -1):
                src = "%s.%d" % (self.path, i - 1)
                if os.path.exists(src):
                    os.rename(src, "%s.%d" % (self.path, i))
            os.rename(self.path, self.path + ".1")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                          os.O_APPEND, 0o640)
        self.size = 0
        self.n_rotations += 1

    def _entry(self, text, stream, t_ns):
        line = '{"log":%s,"stream":"%s","time":"%s"}\n' % (
            go_json_string(text), stream, rfc3339nano(t_ns))
        data = line.encode("utf-8")
        if self.max_size > 0 and self.size >= self.max_size:
            self._rotate()
        self.n_entries += 1
        if self.split_every and self.n_entries % self.split_every == 0:
            # A reader (or a kill) can find the file ending mid-line.
            half = len(data) // 2
            os.write(self.fd, data[:half])
            time.sleep(self.split_pause)
            os.write(self.fd, data[half:])
        else:
            os.write(self.fd, data)  # one write per json-file line, as Docker
        self.size += len(data)
        self.last_bytes += len(data)

    def write(self, message, stream="stdout", t_ns=None):
        """Writes one logical line (without its '\\n') stamped t_ns (None:
        now); returns its time_ns."""
        if t_ns is None:
            t_ns = time.time_ns()
        raw = message.encode("utf-8") + b"\n"
        self.last_bytes = 0
        pos = 0
        while len(raw) - pos > PARTIAL:
            piece = raw[pos:pos + PARTIAL]
            self._entry(piece.decode("utf-8"), stream, t_ns)
            pos += PARTIAL
        self._entry(raw[pos:].decode("utf-8"), stream, t_ns)
        return t_ns

    def close(self, running=False):
        os.close(self.fd)
        self.write_config(running=running)


def make_text(rng, seq, long_size):
    if long_size:
        words = []
        n = 0
        while n < long_size:
            w = rng.choice(WORDS)
            words.append(w)
            n += len(w) + 1
        return " ".join(words)[:long_size]
    kind = seq % 5
    if kind == 0:
        return 'GET /api/items/%d 200 %dms ua="curl/8.0" ref=<none> a&b' % (
            rng.randrange(10000), rng.randrange(500))
    if kind == 1:
        return "worker %d: job done in %.3fs \\ path C:\\tmp\ttab" % (
            rng.randrange(16), rng.random())
    if kind == 2:
        return "h\u00e9llo \u00fcnic\u00f8de \u2713 \u65e5\u672c\u8a9e user=%s" % (
            rng.choice(WORDS))
    if kind == 3:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 20)))
    return "{\"level\":\"info\",\"msg\":\"%s\",\"n\":%d}" % (
        rng.choice(WORDS), seq)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="docker root (containers dir)")
    p.add_argument("--host", required=True, help="host name used in markers")
    p.add_argument("--name", required=True, help="container name")
    p.add_argument("--image", default="busybox:latest")
    p.add_argument("--label", action="append", default=[], help="k=v")
    p.add_argument("--seed", default="1")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--first", type=int, default=1, help="first sequence number")
    p.add_argument("--rate", type=float, default=200.0, help="lines per second")
    p.add_argument("--max-size", type=int, default=0)
    p.add_argument("--max-file", type=int, default=1)
    p.add_argument("--truncate-pause", type=float, default=0.5,
                   help="seconds to wait before a max-file=1 truncation")
    p.add_argument("--long-every", type=int, default=0)
    p.add_argument("--long-size", type=int, default=40000)
    p.add_argument("--stderr-every", type=int, default=0)
    p.add_argument("--word", default="error",
                   help="word put after the marker of every --word-every'th line")
    p.add_argument("--word-every", type=int, default=0)
    p.add_argument("--time-start", type=int,
                   help="unix ns of the first line (default: the wall clock)")
    p.add_argument("--time-step", type=int, default=1_000_000_000,
                   help="ns between lines with --time-start")
    p.add_argument("--manifest", help="append one JSON line per written line")
    p.add_argument("--template",
                   help="each message is this Python format string with "
                   "{m} (the marker), {seq}, {lvl} (info, warn, error by "
                   "seq %% 3) and {status} (200, 404, 500, 503 by seq %% 4): "
                   "JSON or logfmt lines")
    p.add_argument("--split-every", type=int, default=0,
                   help="write every Nth json-file line in two writes, "
                   "20 ms apart (a line without its newline at the end)")
    p.add_argument("--last-split-pause", type=float, default=0.0,
                   help="write the last json-file line in two halves this "
                   "many seconds apart (the file ends without a newline)")
    p.add_argument("--stop-full", action="store_true",
                   help="stop (before --count) once the live file has "
                   "reached --max-size: the next line would rotate it")
    p.add_argument("--stop-rotations", type=int, default=0,
                   help="stop (before --count) this many lines after the "
                   "Nth rotation, N given by --stop-rotations-n")
    p.add_argument("--stop-rotations-n", type=int, default=0)
    p.add_argument("--seconds", type=float, default=0.0,
                   help="stop (before --count) after this many seconds: "
                   "the line written then is the last (--last-split-pause "
                   "applies to it), so a soak's length does not depend on "
                   "how fast this writer manages to write")
    p.add_argument("--keep-running", action="store_true",
                   help="leave State.Running true at the end")
    a = p.parse_args(argv)
    if not 0 < a.count <= 1_000_000 or not 0 < a.rate <= 100_000:
        p.error("count must be 1..1000000 and rate 0..100000")
    if not 0 <= a.seconds <= 86400:
        p.error("seconds must be 0..86400")
    if not 0 <= a.last_split_pause <= 60:
        p.error("last-split-pause must be 0..60 seconds")
    if a.long_size > 4 << 20:
        p.error("long-size at most 4 MiB")
    if not a.word.isalnum() or a.word.lower() in FILLER:
        p.error("word must be alphanumeric and not one of the filler words")
    if a.time_start is not None and (a.time_start < 0 or a.time_step < 0):
        p.error("time-start and time-step must not be negative")
    return a


def main(argv):
    a = parse_args(argv)
    labels = dict(kv.split("=", 1) for kv in a.label)
    cid = container_id(a.host, a.name, a.seed)
    c = Container(a.root, cid, a.name, a.image, labels, a.max_size, a.max_file,
                  a.truncate_pause, a.split_every)
    rng = random.Random("%s/%s/%s" % (a.host, a.name, a.seed))
    man = open(a.manifest, "a", encoding="utf-8") if a.manifest else None
    start = time.monotonic()
    after_rot = 0
    for i in range(a.count):
        seq = a.first + i
        marker = "M%s-%s-%06d" % (a.host, a.name, seq)
        is_long = a.long_every and seq % a.long_every == 0
        has_word = a.word_every and seq % a.word_every == 0
        msg = marker + " " + (a.word + " " if has_word else "") + \
            make_text(rng, seq, a.long_size if is_long else 0)
        if a.template:
            msg = a.template.format(m=marker, seq=seq,
                                    lvl=("info", "warn", "error")[seq % 3],
                                    status=(200, 404, 500, 503)[seq % 4])
        stream = "stderr" if a.stderr_every and seq % a.stderr_every == 0 \
            else "stdout"
        is_last = i == a.count - 1 or (
            a.seconds > 0 and time.monotonic() - start >= a.seconds)
        if a.last_split_pause > 0 and is_last:
            c.split_every, c.split_pause = 1, a.last_split_pause
        t_ns = c.write(msg, stream, None if a.time_start is None
                       else a.time_start + i * a.time_step)
        if man:
            enc = msg.encode("utf-8")
            e = {"m": marker, "host": a.host, "container": a.name, "id": cid,
                 "image": a.image, "stream": stream, "time_ns": t_ns,
                 "len": len(enc), "sha": hashlib.sha256(enc).hexdigest(),
                 "jb": c.last_bytes}
            if has_word:
                e["word"] = a.word
            man.write(json.dumps(e) + "\n")
        if is_last or (a.stop_full and 0 < a.max_size <= c.size):
            break
        if a.stop_rotations_n and c.n_rotations >= a.stop_rotations_n:
            after_rot += 1
            if after_rot >= a.stop_rotations:
                break
        delay = start + (i + 1) / a.rate - time.monotonic()
        if delay > 0:
            if man:
                man.flush()
            time.sleep(delay)
    if man:
        man.close()
    c.close(running=a.keep_running)
    print("fakedocker: %s/%s wrote %d lines, %d rotations" % (
        a.host, a.name, i + 1, c.n_rotations), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
