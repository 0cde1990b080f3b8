#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""seqloss: one real-Docker container's lines against what logq returned
and what /health reports lost (93-fault-rotation's soak, Docker's own
json-file rotation).

    seqloss.py OUT TRUTH PREFIX HEALTH HOST CONTAINER

OUT: `logq --json` records of the container; TRUTH: the lines it printed
(logq-loggen run again with the same --seed and --start-time: its text is
deterministic), each ending in " PREFIX-<seq>"; HEALTH: /health's JSON.
Fails when a line is doubled or unknown, or when the lines missing are not
what /health reports: none missing and nothing reported, or the reported
bytes within the json-file bytes the missing lines took. Those bytes are
known to within the time field, which Docker writes in RFC 3339 with
trailing zeros cut (20 to 30 bytes a line); when /health says "at least",
the reported bytes must not exceed them.
"""
import collections
import json
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


def main(argv):
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
    row = {"lost_bytes": 0, "lost_lines": 0, "events": 0,
           "bytes_at_least": False}
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
        if not row["bytes_at_least"] and not lo <= b <= hi:
            errs.append("reported %d bytes lost, the missing lines took "
                        "%d..%d" % (b, lo, hi))
    print("seqloss: %s/%s: %d lines written, %d delivered, %d doubled, %d "
          "missing (json-file %d..%d bytes); /health: %s%d bytes, %d lines, "
          "%d events" % (host, name, len(lines), len(seen), dup, len(missing),
                         lo, hi, "at least " if row["bytes_at_least"] else "",
                         row["lost_bytes"], row["lost_lines"], row["events"]))
    for e in errs[:10]:
        print("seqloss: " + e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
