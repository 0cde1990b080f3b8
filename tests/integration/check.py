#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check: compares `logq --json` output (stdin) with fakedocker manifests.

  check.py count  MANIFEST...              prints how many expected lines are
                                           present (at least once)
  check.py verify [--host H] [--container C] [--stream S] MANIFEST...
      every manifest line selected by the filters must appear exactly once,
      with the right host, container, container_id, image, stream, time and
      message bytes; any other record in the output is an error; per
      generator (marker prefix) the sequence numbers read back must be
      exactly those written (first lost/doubled one reported). Prints a
      summary; exit 0 when all is well, 1 otherwise (first problems listed).
      --lost-bytes N: lines may be missing (lost to Docker's rotation) when
      the json-file bytes they took (manifest "jb") add up to exactly N;
      --lost-at-least N: to N or more (the shipper knew only a bound);
      --lost-at-most N: to N or less (never more reported than missing);
      --may-lose CONTAINER (repeatable): its lines may be missing (checked
      on their own with --lost-bytes), never doubled.
Python 3 standard library only.
"""

import argparse
import calendar
import hashlib
import json
import re
import sys

MARKER = re.compile(r"M[A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[0-9]{6}")


def load_manifests(paths):
    exp = {}
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    e = json.loads(line)
                    exp[e["m"]] = e
    return exp


def parse_time_ns(s):
    """RFC 3339 UTC ('Z') with 0-9 fraction digits -> unix ns, or None."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z", s)
    if not m:
        return None
    sec = calendar.timegm(tuple(int(x) for x in re.split(r"[-T:]", m.group(1)))
                          + (0, 0, 0))
    frac = (m.group(2) or "").ljust(9, "0")
    return sec * 1_000_000_000 + int(frac)


def iter_records(stream, bad):
    """The records of stream one at a time (a soak's output holds millions:
    never all in memory); lines that are not JSON go to bad."""
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError:
            bad.append("line %d is not JSON: %.120r" % (n, line))


def read_records(stream):
    bad = []
    recs = list(iter_records(stream, bad))
    return recs, bad


def record_problems(r, e):
    probs = []
    for key, rkey in (("host", "host"), ("container", "container"),
                      ("id", "container_id"), ("image", "image"),
                      ("stream", "stream")):
        if r.get(rkey) != e[key]:
            probs.append("%s=%r, expected %r" % (rkey, r.get(rkey), e[key]))
    msg = r.get("message")
    enc = msg.encode("utf-8") if isinstance(msg, str) else b""
    if hashlib.sha256(enc).hexdigest() != e["sha"]:
        probs.append("message differs (%d bytes, expected %d): %.80r" % (
            len(enc), e["len"], msg))
    t = parse_time_ns(r.get("time", "")) if isinstance(r.get("time"), str) \
        else None
    if t != e["time_ns"]:
        probs.append("time=%r, expected %d ns" % (r.get("time"), e["time_ns"]))
    return probs


def selected(e, a):
    return ((a.host is None or e["host"] == a.host) and
            (a.container is None or e["container"] == a.container) and
            (a.stream is None or e["stream"] == a.stream))


def gen_problems(want, seen, errs, lost=frozenset()):
    """Per generator (host-container prefix of the markers), the sequence
    numbers seen must be exactly those written: each once, none missing.
    Reports each generator's first missing or doubled number."""
    gens = {}
    for m in want:
        g, _, n = m.rpartition("-")
        gens.setdefault(g, set()).add(int(n))
    for g, nums in sorted(gens.items()):
        got = {n for n in nums if seen.get("%s-%06d" % (g, n), 0) >= 1 or
               "%s-%06d" % (g, n) in lost}
        dup = sorted(n for n in nums if seen.get("%s-%06d" % (g, n), 0) > 1)
        if got != nums or dup:
            lost = sorted(nums - got)
            errs.append("generator %s: %d written (%d..%d), %d lost (first "
                        "%s), %d doubled (first %s)" % (
                            g, len(nums), min(nums), max(nums), len(lost),
                            lost[0] if lost else "-", len(dup),
                            dup[0] if dup else "-"))


def verify(a, exp, recs, errs):
    """recs: any iterable of records (read once)."""
    want = {m: e for m, e in exp.items() if selected(e, a)}
    if not want:
        # An empty manifest or a filter that selects nothing would let an
        # empty answer pass: never what a scenario means to check.
        errs.append("no expected line selected (empty manifest or filter)")
    seen = {}
    n_recs = 0
    for r in recs:
        n_recs += 1
        msg = r.get("message") if isinstance(r.get("message"), str) else ""
        ms = MARKER.findall(msg[:200])
        if len(ms) != 1 or ms[0] not in want:
            errs.append("unexpected record: %.200r" % (r,))
            continue
        seen[ms[0]] = seen.get(ms[0], 0) + 1
        if seen[ms[0]] == 1:
            for p in record_problems(r, want[ms[0]]):
                errs.append("%s: %s" % (ms[0], p))
    missing = sorted(m for m in want if m not in seen)
    dups = sorted(m for m, n in seen.items() if n > 1)
    lost = frozenset()
    if a.lost_bytes is not None or a.lost_at_least is not None or \
            a.lost_at_most is not None:
        jb = sum(want[m]["jb"] for m in missing)
        print("check: %d lines missing, %d json-file bytes" % (len(missing),
                                                             jb))
        if a.lost_bytes is not None and jb != a.lost_bytes:
            errs.append("missing lines took %d bytes, reported lost %d" % (
                jb, a.lost_bytes))
        if a.lost_at_least is not None and jb < a.lost_at_least:
            errs.append("missing lines took %d bytes, reported lost at "
                        "least %d" % (jb, a.lost_at_least))
        if a.lost_at_most is not None and a.lost_at_most > jb:
            errs.append("reported lost more than missing: %d > %d bytes" % (
                a.lost_at_most, jb))
        lost, missing = frozenset(missing), []
    if a.may_lose:
        lost = lost | {m for m in missing
                       if want[m]["container"] in a.may_lose}
        missing = [m for m in missing if m not in lost]
    for m in missing[:20]:
        errs.append("missing: %s (%s)" % (m, want[m]["stream"]))
    for m in dups[:20]:
        errs.append("duplicate: %s seen %d times" % (m, seen[m]))
    gen_problems(want, seen, errs, lost)
    print("check: expected %d, got %d records, %d missing, %d duplicated, "
          "%d problems in total" % (len(want), n_recs, len(missing),
                                    len(dups), len(errs)))
    for e in errs[:40]:
        print("check:   " + e)
    return 1 if errs else 0


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("count", "verify"))
    p.add_argument("--host")
    p.add_argument("--container")
    p.add_argument("--stream")
    p.add_argument("--lost-bytes", type=int)
    p.add_argument("--lost-at-least", type=int)
    p.add_argument("--may-lose", action="append", default=[])
    p.add_argument("--lost-at-most", type=int)
    p.add_argument("manifest", nargs="+")
    a = p.parse_args(argv)
    exp = load_manifests(a.manifest)
    errs = []
    recs = iter_records(sys.stdin, errs)
    if a.mode == "count":
        found = set()
        for r in recs:
            msg = r.get("message") if isinstance(r.get("message"), str) else ""
            found.update(m for m in MARKER.findall(msg[:200]) if m in exp)
        print(len(found))
        return 0
    return verify(a, exp, recs, errs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
