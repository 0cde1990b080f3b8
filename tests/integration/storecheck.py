#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""storecheck: checks `logq --json` output (stdin) for the store scenarios.

Every mode also checks that each record is a manifest line (right host,
container, id, image, stream, time, bytes: check.py's record_problems) and
that no line is returned twice. Exit 0 when all is well, 1 otherwise.

  storecheck.py suffix [--keep NAME]... [--gone NAME]... [--min-deleted N]
                      [--newer-than NS] MANIFEST...
      retention: per (host, container), the lines present must be exactly
      the newest ones (a contiguous run of sequence numbers ending at the
      last line written): a store deletes whole oldest segments and stores
      each source in offset order, so anything else is a lost or
      resurrected line. Containers named by --keep must keep at least one
      line, those named by --gone none; at least N lines in all must be
      gone (retention did run); every line stamped NS or later (unix ns)
      must be present.
  storecheck.py damaged BLOCKS.jsonl MANIFEST...
      corruption: BLOCKS.jsonl holds the damaged blocks (storetool.py
      blocks lines). The missing lines must number exactly the blocks'
      n_records, and each must fit one damaged block (host and container
      among its labels, time within [min_ns, max_ns]).
  storecheck.py same A.jsonl B.jsonl
      two outputs (a token query and the equivalent scanning regex) hold
      the same records; prints how many.
Python 3 standard library only.
"""

import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402  (check.py beside this file)


def seen_markers(recs, exp, errs):
    """marker -> count over recs; bad records go to errs."""
    seen = collections.Counter()
    for r in recs:
        msg = r.get("message") if isinstance(r.get("message"), str) else ""
        ms = check.MARKER.findall(msg[:200])
        if len(ms) != 1 or ms[0] not in exp:
            errs.append("unexpected record: %.200r" % (r,))
            continue
        seen[ms[0]] += 1
        if seen[ms[0]] == 1:
            for p in check.record_problems(r, exp[ms[0]]):
                errs.append("%s: %s" % (ms[0], p))
    for m, n in sorted(seen.items()):
        if n > 1:
            errs.append("duplicate: %s seen %d times" % (m, n))
    return seen


def seq_of(marker):
    return int(marker.rsplit("-", 1)[1])


def mode_suffix(a, exp, recs, errs):
    seen = seen_markers(recs, exp, errs)
    by_src = collections.defaultdict(list)
    for m, e in exp.items():
        by_src[(e["host"], e["container"])].append(seq_of(m))
    n_deleted = 0
    for (host, ctr), seqs in sorted(by_src.items()):
        seqs.sort()
        prefix = "M%s-%s-" % (host, ctr)
        present = [s for s in seqs if "%s%06d" % (prefix, s) in seen]
        kept_from = present[0] if present else None
        want = [s for s in seqs if kept_from is not None and s >= kept_from]
        if present != want:
            gaps = sorted(set(want) - set(present))
            errs.append("%s/%s: lines %s missing inside the kept run %d..%d"
                        % (host, ctr, gaps[:10], kept_from, seqs[-1]))
        if ctr in a.keep and not present:
            errs.append("%s/%s: every line deleted" % (host, ctr))
        if ctr in a.gone and present:
            errs.append("%s/%s: %d lines left, expected none" % (
                host, ctr, len(present)))
        for s in seqs:
            e = exp["%s%06d" % (prefix, s)]
            if a.newer_than is not None and e["time_ns"] >= a.newer_than \
                    and e["m"] not in seen:
                errs.append("%s deleted though newer than %d" % (
                    e["m"], a.newer_than))
        n_deleted += len(seqs) - len(want)
        print("storecheck: %s/%s kept %d of %d lines (from seq %s)" % (
            host, ctr, len(present), len(seqs), kept_from))
    if n_deleted < a.min_deleted:
        errs.append("only %d lines deleted, expected at least %d" % (
            n_deleted, a.min_deleted))
    print("storecheck: %d lines deleted by retention" % n_deleted)


def mode_damaged(a, exp, recs, errs):
    seen = seen_markers(recs, exp, errs)
    with open(a.blocks, encoding="utf-8") as f:
        blocks = [json.loads(x) for x in f if x.strip()]
    want_missing = sum(b["n_records"] for b in blocks)
    missing = [m for m in exp if m not in seen]
    if len(missing) != want_missing:
        errs.append("%d lines missing, the damaged blocks held %d" % (
            len(missing), want_missing))
    for m in missing:
        e = exp[m]
        if not any([e["host"], e["container"]] in b["labels"] and
                   b["min_ns"] <= e["time_ns"] <= b["max_ns"] for b in blocks):
            errs.append("missing %s is in no damaged block" % m)
    print("storecheck: %d records, %d lines missing, damaged blocks held %d"
          % (len(recs), len(missing), want_missing))


def canon(path):
    with open(path, encoding="utf-8") as f:
        recs, bad = check.read_records(f)
    return collections.Counter(json.dumps(r, sort_keys=True)
                               for r in recs), len(recs), bad


def mode_same(a, errs):
    ca, na, bad_a = canon(a.a)
    cb, nb, bad_b = canon(a.b)
    errs.extend(bad_a + bad_b)
    if ca != cb:
        only_a, only_b = ca - cb, cb - ca
        errs.append("%d records only in %s, %d only in %s" % (
            sum(only_a.values()), a.a, sum(only_b.values()), a.b))
        for r in list(only_a)[:3] + list(only_b)[:3]:
            errs.append("differs: %.160s" % r)
    print("storecheck: %d and %d records" % (na, nb))


def main(argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("suffix")
    s.add_argument("--keep", action="append", default=[])
    s.add_argument("--gone", action="append", default=[])
    s.add_argument("--min-deleted", type=int, default=0)
    s.add_argument("--newer-than", type=int)
    s.add_argument("manifest", nargs="+")
    d = sub.add_parser("damaged")
    d.add_argument("blocks")
    d.add_argument("manifest", nargs="+")
    m = sub.add_parser("same")
    m.add_argument("a")
    m.add_argument("b")
    a = p.parse_args(argv)
    errs = []
    if a.mode == "same":
        mode_same(a, errs)
    else:
        exp = check.load_manifests(a.manifest)
        recs, errs = check.read_records(sys.stdin)
        if a.mode == "suffix":
            mode_suffix(a, exp, recs, errs)
        else:
            mode_damaged(a, exp, recs, errs)
    for e in errs[:40]:
        print("storecheck:   " + e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
