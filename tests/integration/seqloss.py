#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""seqloss: one real-Docker container's lines against what logq returned
and what /health reports lost (93-fault-rotation's soak, Docker's own
json-file rotation).

    seqloss.py [--kept DIR [--min-rate R]] OUT TRUTH PREFIX HEALTH HOST CONTAINER

OUT: `logq --json` records of the container; TRUTH: the lines it printed
(logq-loggen run again with the same --seed and --start-time: its text is
deterministic), each ending in " PREFIX-<seq>"; HEALTH: /health's JSON.
Fails when a line is doubled or unknown, or when the lines missing are not
what /health reports: none missing and nothing reported, or the reported
bytes within the json-file bytes the missing lines took. Those bytes are
known to within the time field, which Docker writes in RFC 3339 with
trailing zeros cut (20 to 30 bytes a line); when /health says "at least",
the reported bytes must not exceed them.

--kept DIR: every json-file Docker wrote for the container, kept by
jsonkeep.py (hard links, so also the files Docker deleted). Each line of
TRUTH must be in them exactly once, with the text logq-loggen printed (else
the keeper missed a file, or Docker lost or doubled a line: the check
fails); the bytes of the missing lines are then known exactly, and /health
must report exactly them (or, "at least", no more). Also prints the rate
Docker wrote at, from the first and last time stamps it gave the lines;
--min-rate R: fails if that is below R lines/s.
"""
import collections
import datetime
import json
import os
import re
import sys

ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def docker_escaped_len(text):
    """Length of text as Docker's json-file writer escapes it."""
    n = 0
    for ch in text:
        if ch in ESC:
            n += 2
        elif ch in "<>&" or ord(ch) < 0x20 or ch in "\u2028\u2029":
            n += 6
        else:
            n += len(ch.encode("utf-8"))
    return n


def json_file_bytes(text, stream="stdout"):
    """(min, max) bytes of the json-file line holding text."""
    fixed = len('{"log":"') + docker_escaped_len(text + "\n") + \
        len('","stream":"%s","time":"' % stream) + len('"}\n')
    return fixed + 20, fixed + 30


def docker_time(s):
    """Seconds since the epoch of a json-file time (RFC 3339, UTC, 'Z')."""
    day, _, frac = s.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(day, "%Y-%m-%dT%H:%M:%S")
    t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
    return t + int((frac + "000000000")[:9]) / 1e9


def read_kept(kept, pat, lines, errs):
    """{seq: json-file bytes} of the kept files; (first, last) time."""
    size = {}
    first = last = None
    for fn in sorted(os.listdir(kept)):
        with open(os.path.join(kept, fn), "rb") as f:
            for raw in f:
                rec = json.loads(raw)
                msg = rec["log"].rstrip("\n")
                m = pat.search(msg)
                if m is None or lines.get(int(m.group(1))) != msg:
                    errs.append("kept file %s: unknown line %r" % (fn, msg[:80]))
                    continue
                seq = int(m.group(1))
                if seq in size:
                    errs.append("Docker wrote line %d twice" % seq)
                size[seq] = len(raw)
                t = docker_time(rec["time"])
                first = t if first is None else min(first, t)
                last = t if last is None else max(last, t)
    gone = sorted(set(lines) - set(size))
    if gone:
        errs.append("%d lines not in the kept files (first %d): a file was "
                    "not kept, the exact loss is unknown" % (len(gone), gone[0]))
    return size, first, last


def main(argv):
    kept = None
    min_rate = 0
    if argv[:1] == ["--kept"]:
        kept, argv = argv[1], argv[2:]
    if argv[:1] == ["--min-rate"]:
        min_rate, argv = float(argv[1]), argv[2:]
    out, truth, prefix, health, host, name = argv
    pat = re.compile(re.escape(prefix) + r"-(\d+)$")
    lines = {}
    with open(truth, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = pat.search(line)
            if m:
                lines[int(m.group(1))] = line
    seen = collections.Counter()
    errs = []
    with open(out, encoding="utf-8") as f:
        for raw in f:
            if not raw.strip():
                continue
            msg = json.loads(raw)["message"]
            m = pat.search(msg)
            if m is None or lines.get(int(m.group(1))) != msg:
                errs.append("unknown or altered line: %r" % msg[:80])
                continue
            seen[int(m.group(1))] += 1
    dup = sum(n - 1 for n in seen.values() if n > 1)
    missing = sorted(set(lines) - set(seen))
    lo = sum(json_file_bytes(lines[s])[0] for s in missing)
    hi = sum(json_file_bytes(lines[s])[1] for s in missing)
    rate = ""
    if kept is not None:
        size, first, last = read_kept(kept, pat, lines, errs)
        lo = hi = sum(size.get(s, 0) for s in missing)
        if first is None or last <= first or \
                len(size) / (last - first) < min_rate:
            errs.append("Docker wrote slower than %d lines/s" % min_rate)
        if first is not None and last > first:
            rate = "; Docker wrote %d lines in %.2f s (%.0f lines/s, its " \
                "time stamps), %d files" % (len(size), last - first,
                                             len(size) / (last - first),
                                             len(os.listdir(kept)))
    row = {"lost_bytes": 0, "lost_lines": 0, "events": 0,
           "bytes_at_least": False, "lines_at_least": False}
    with open(health, encoding="utf-8") as f:
        for s in json.load(f).get("losses", {}).get("sources", []):
            if s["host"] == host and s["container"] == name:
                row = s
    if dup:
        errs.append("%d lines doubled" % dup)
    if errs[:1] == [] and not missing and row["events"]:
        errs.append("nothing missing, yet a loss reported: %r" % row)
    if missing and not row["events"]:
        errs.append("%d lines missing (first %d), no loss reported" % (
            len(missing), missing[0]))
    if missing and row["events"]:
        b = row["lost_bytes"]
        if row["bytes_at_least"] and b > hi:
            errs.append("reported at least %d bytes, the missing lines took "
                        "at most %d" % (b, hi))
        if row["lines_at_least"] is False and row["lost_lines"] != len(missing):
            errs.append("reported %d lines lost, %d are missing" % (
                row["lost_lines"], len(missing)))
        if row["lines_at_least"] and row["lost_lines"] > len(missing):
            errs.append("reported at least %d lines lost, %d are missing" % (
                row["lost_lines"], len(missing)))
        if not row["bytes_at_least"] and not lo <= b <= hi:
            errs.append("reported %d bytes lost, the missing lines took "
                        "%d..%d" % (b, lo, hi))
    print("seqloss: %s/%s: %d lines written, %d delivered, %d doubled, %d "
          "missing (json-file %d..%d bytes); /health: %s%d bytes, %d lines, "
          "%d events%s" % (host, name, len(lines), len(seen), dup,
                           len(missing), lo, hi,
                           "at least " if row["bytes_at_least"] else "",
                           row["lost_bytes"], row["lost_lines"], row["events"],
                           rate))
    for e in errs[:10]:
        print("seqloss: " + e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
