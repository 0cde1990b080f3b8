#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ordercheck: checks the order of logq's answers against fakedocker manifests.

The model: every manifest line is a record; records sort by the store key
(time_ns, host, container_id bytewise, source offset), where the offset is
the line's place in its container's file (manifest order). A record
matches WORD when its manifest entry says it holds that word ("word").

  ordercheck.py lines [--word W] [--host H] [--container C] [--stream S]
                      [--asc] [-n N] MANIFEST...
      stdin is `logq --json` output: it must be the first N (0: all) of the
      selected records, newest first (--asc: oldest first), each with the
      right fields and bytes.
  ordercheck.py context --word W -A N -B N [--host H] [--container C]
                      [--stream S] [--asc] [-n N] [--text] MANIFEST...
      stdin is `logq W -A N -B N [-n N] --json` (or text with --text):
      grep-like groups of the same container (both streams unless
      --stream), each in time order, ordered by their newest match (--asc:
      oldest match), -n counting matches as grep -m; JSON records carry
      "group" (1, 2, ...) and context lines "context":true, text marks
      matches "CONTAINER:" and context "CONTAINER-" with "--" between
      groups.
  ordercheck.py count --by host|container|stream [--word W] MANIFEST...
      stdin is `logq count --by ... [W] --json`: the count per key and the
      total of the selected records.
  ordercheck.py follow --word W -n N [--then MARKER]... MANIFEST...
      stdin is `logq -f -n N W --json`: the N newest matches oldest first,
      then each --then marker once, then nothing.
Exit 0 when equal; else 1 and the first differing line is printed.
Python 3 standard library only.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402  (load_manifests, record_problems, MARKER)


def load_model(paths):
    """Manifest entries with their offset proxy, sorted by the store key."""
    exp = check.load_manifests(paths)
    n_in_file = {}
    recs = []
    for e in exp.values():
        src = (e["host"], e["id"])
        e["off"] = n_in_file.get(src, 0)
        n_in_file[src] = e["off"] + 1
        recs.append(e)
    recs.sort(key=store_key)
    return exp, recs


def store_key(e):
    return (e["time_ns"], e["host"].encode(), e["id"].encode(), e["off"])


def describe(e):
    if e is None:
        return "(nothing)"
    return "%s %s t=%d %s/%s %s%s" % (
        e["m"], e["stream"], e["time_ns"], e["host"], e["container"],
        e["id"][:12], " word" if e.get("word") else "")


def marker_of(msg):
    ms = check.MARKER.findall(msg[:200]) if isinstance(msg, str) else []
    return ms[0] if len(ms) == 1 else None


def read_json(stream):
    recs = []
    for n, line in enumerate(stream, 1):
        line = line.strip()
        if not line.startswith("{"):
            continue            # stderr notes of -f, never records
        try:
            recs.append(json.loads(line))
        except ValueError:
            sys.exit("ordercheck: line %d is not JSON: %.120r" % (n, line))
    return recs


def compare(what, want, got, exp):
    """want/got: lists of strings whose first word may be a marker."""
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else None
        g = got[i] if i < len(got) else None
        if w == g:
            continue
        print("ordercheck: %s: %d lines expected, %d got; first difference "
              "at line %d:" % (what, len(want), len(got), i + 1))
        print("ordercheck:   expected %s" % (w,))
        print("ordercheck:        got %s" % (g,))
        for tag, s in (("expected", w), ("got", g)):
            if s and s.split(" ")[0] in exp:
                print("ordercheck:   %s is %s" % (
                    tag, describe(exp[s.split(" ")[0]])))
        lo = max(0, i - 3)
        print("ordercheck:   expected lines %d..: %r" % (lo + 1, want[lo:i + 3]))
        print("ordercheck:   got lines %d..: %r" % (lo + 1, got[lo:i + 3]))
        return 1
    print("ordercheck: %s: %d lines as expected" % (what, len(want)))
    return 0


def field_problems(recs, exp):
    errs = []
    for r in recs:
        m = marker_of(r.get("message"))
        if m is None or m not in exp:
            errs.append("record without a known marker: %.200r" % (r,))
            continue
        errs.extend("%s: %s" % (m, p) for p in check.record_problems(r, exp[m]))
    for e in errs[:10]:
        print("ordercheck:   " + e)
    return 1 if errs else 0


def selected(e, a):
    return ((a.word is None or e.get("word") == a.word) and
            (a.host is None or e["host"] == a.host) and
            (a.container is None or e["container"] == a.container) and
            (a.stream is None or e["stream"] == a.stream))


def cmd_lines(a, exp, model):
    want = [e for e in model if selected(e, a)]
    if not a.asc:
        want.reverse()
    if a.n > 0:
        want = want[:a.n]
    if not want:
        print("ordercheck: the model selects nothing (a check that cannot fail)")
        return 1
    recs = read_json(sys.stdin)
    rc = compare(a.what, [e["m"] for e in want],
                 [marker_of(r.get("message")) or "?" for r in recs], exp)
    return rc | field_problems(recs, exp)


def model_groups(a, model):
    """Lists of (entry, is_match) per group, in output order, as grep -m
    (collector/API.md): matches are taken in answer order (newest first, or
    oldest with --asc); a group starts at the first one not yet printed and
    grows away from it (towards older lines, or newer with --asc) through
    every match whose window overlaps or touches. The matches are exactly
    the -n first ones in answer order over every container (the newest, or
    the oldest with --asc): a matching line past them is context."""
    by_src = {}
    for e in model:
        if a.stream is None or e["stream"] == a.stream:
            by_src.setdefault((e["host"], e["id"]), []).append(e)
    where = {}
    for lines in by_src.values():
        for i, e in enumerate(lines):
            where[e["m"]] = (lines, i)
    def is_match(e):    # --host/--container select matches, not context
        return e.get("word") == a.word and selected(e, a)
    matches = [e for e in model if e["m"] in where and is_match(e)]
    if not matches:
        sys.exit("ordercheck: no match: a context check that cannot fail")
    if not a.asc:
        matches.reverse()
    ranked = set(e["m"] for e in matches[:a.n])
    matches = matches[:a.n]
    def is_match(e):    # noqa: F811 (only the ranked matches count)
        return e["m"] in ranked
    # Window sides seen from the direction the group grows in.
    step, ahead, behind = (1, a.A, a.B) if a.asc else (-1, a.B, a.A)
    done, groups, n = set(), [], 0
    for m in matches:
        if n >= a.n:
            break
        if m["m"] in done:
            continue
        lines, i = where[m["m"]]
        def line(d):    # the line d steps ahead of i, or None
            j = i + step * d
            return lines[j] if 0 <= j < len(lines) else None
        group = [(line(d), False) for d in range(-behind, 0)
                 if line(d) is not None]
        group.append((m, True))
        done.add(m["m"])
        n += 1
        end, d = ahead, 1
        while line(d) is not None:
            if d > end:
                # a match whose before-lines reach the group joins it
                k = next((k for k in range(d, end + 2 + behind)
                          if line(k) is not None and is_match(line(k))), None)
                if k is None or n >= a.n:
                    break
                end = k
            e = line(d)
            if is_match(e) and n < a.n:
                done.add(e["m"])
                n += 1
                end = max(end, d + ahead)
                group.append((e, True))
            else:
                group.append((e, False))
            d += 1
        if step < 0:
            group.reverse()
        groups.append(group)
    return groups


def cmd_context(a, exp, model):
    groups = model_groups(a, model)
    if a.text:
        want = []
        for g in groups:
            if want:
                want.append("--")
            want += ["%s %s %s%s" % (e["m"], e["host"], e["container"],
                                     ":" if is_m else "-") for e, is_m in g]
        got = []
        for line in sys.stdin:
            line = line.rstrip("\n")
            if line == "--":
                got.append(line)
                continue
            f = line.split(" ", 3)
            m = marker_of(f[3]) if len(f) == 4 else None
            if m is None:
                got.append("? %.100r" % line)
                continue
            got.append("%s %s %s" % (m, f[1], f[2]))
        return compare(a.what, want, got, exp)
    want = ["%s group=%d%s" % (e["m"], n, "" if is_m else " context")
            for n, g in enumerate(groups, 1) for e, is_m in g]
    recs = read_json(sys.stdin)
    got = []
    for r in recs:
        ctx = r.get("context")
        got.append("%s group=%s%s" % (
            marker_of(r.get("message")) or "?", r.get("group"),
            " context" if ctx is True else "" if ctx in (None, False)
            else " context=%r" % (ctx,)))
    return compare(a.what, want, got, exp) | field_problems(recs, exp)


def cmd_count(a, exp, model):
    want = {}
    for e in model:
        if selected(e, a):
            k = {"host": e["host"], "container": e["host"] + "/" + e["container"],
                 "stream": e["stream"]}[a.by]
            want[k] = want.get(k, 0) + 1
    got = json.load(sys.stdin)
    lines_w = ["total %d" % sum(want.values())] + \
        ["%s %d" % kv for kv in sorted(want.items())]
    lines_g = ["total %s" % got.get("total")] + sorted(
        "%s %s" % (g.get("key"), g.get("count")) for g in got.get("groups", []))
    return compare(a.what, lines_w, lines_g, exp)


def cmd_follow(a, exp, model):
    want = [e["m"] for e in model if e.get("word") == a.word]
    want = want[len(want) - a.n:] + a.then
    recs = read_json(sys.stdin)
    rc = compare(a.what, want,
                 [marker_of(r.get("message")) or "?" for r in recs], exp)
    return rc | field_problems(recs, exp)


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("lines", "context", "count", "follow"))
    p.add_argument("--what", default="answer", help="name in messages")
    p.add_argument("--word")
    p.add_argument("--host")
    p.add_argument("--container")
    p.add_argument("--stream")
    p.add_argument("--asc", action="store_true")
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("-A", type=int, default=0)
    p.add_argument("-B", type=int, default=0)
    p.add_argument("--text", action="store_true")
    p.add_argument("--then", action="append", default=[])
    p.add_argument("--by", choices=("host", "container", "stream"),
                   default="host")
    p.add_argument("manifest", nargs="+")
    a = p.parse_args(argv)
    exp, model = load_model(a.manifest)
    if a.mode == "lines":
        return cmd_lines(a, exp, model)
    if a.mode == "count":
        return cmd_count(a, exp, model)
    if a.word is None:
        p.error("%s needs --word" % a.mode)
    if a.mode == "context":
        return cmd_context(a, exp, model)
    new = [m for m in a.then if m not in exp]
    if new:
        p.error("--then markers not in the manifests: %s" % new)
    # The live lines come after the history: out of the history's model.
    model = [e for e in model if e["m"] not in a.then]
    return cmd_follow(a, exp, model)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
