#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 16-stats: `logq stats` and GET /api/v1/stats against the real collector
# with small segments (16 KiB) and blocks (2 KiB), fed by one shipper and
# two fake containers. Checks: the totals equal /health's store figures
# and the lines written; several segments are listed, each matching its
# files on disk (.lqs size, .lqi size), all but the last sealed with an
# index; segments + WAL add up to the totals; the text table has one row
# per segment and a TOTAL row with the line count, times in UTC, or in
# TZ's zone with --local; errors exit 2 (bad flag, unreachable collector)
# and a parameter is a 400.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 16-stats

# --retention-interval 200ms: the timer that also applies a sealing job
# finished while no commit comes (an idle collector: the check below)
start_collector collector --segment-size 16K --block-size 2K \
    --retention-interval 200ms
mkdir -p "$IT_TMP/node1.docker"
start_shipper node1 "$IT_TMP/node1.docker"
fake_container node1 web "$IT_TMP/node1.docker" --image nginx:1.25 \
    --count 1200 --rate 400 --stderr-every 5
fake_container node1 api "$IT_TMP/node1.docker" --image api:2 \
    --count 600 --rate 300
wait_writers 60
wait_all_found 60 "$IT_TMP"/manifest-*.jsonl
written=$(manifest_lines "$IT_TMP"/manifest-*.jsonl)
log "$written lines written and searchable"

# A sealing job writes its blocks and, when it fills a segment, that
# segment's .lqi before the collector's loop applies it: until then the
# stats list the segment without its index while the file is on disk.
# Compare once no job is in flight (the writers are done, so none starts;
# the retention timer applies the last within 200 ms): up to 30 s, then
# fail rather than compare a state the checks below cannot judge.
is_idle=0
for _ in $(seq 150); do
    lq stats --json >"$IT_TMP/stats.json" || fail "logq stats --json failed"
    if python3 -c 'import json, sys
sys.exit(json.load(open(sys.argv[1]))["wal"]["sealing_records"] != 0)' \
        "$IT_TMP/stats.json"; then
        is_idle=1
        break
    fi
    sleep 0.2
done
[ "$is_idle" = 1 ] || fail "the sealing thread never went idle in 30 s" \
    "(wal.sealing_records stayed > 0 after the writers were done):" \
    "$(cat "$IT_TMP/stats.json")"
curl -fsS --max-time 5 "http://127.0.0.1:$CHTTP/health" >"$IT_TMP/health.json"
python3 - "$IT_TMP/stats.json" "$IT_TMP/health.json" "$written" \
    "$IT_TMP/collector.data" <<'PY' || fail "stats figures do not add up"
import json, os, sys
st = json.load(open(sys.argv[1]))
health = json.load(open(sys.argv[2]))["store"]
written, data = int(sys.argv[3]), sys.argv[4]
tot, wal, segs = st["total"], st["wal"], st["segments"]
bad = []
def eq(what, a, b):
    if a != b:
        bad.append("%s: %r != %r" % (what, a, b))
for k in ("records", "raw_bytes", "stored_bytes", "index_bytes", "blocks",
          "segments", "corrupt_blocks"):
    eq("total.%s vs /health" % k, tot[k], health[k])
eq("total records vs lines written", tot["records"], written)
eq("segments listed", len(segs), tot["segments"])
if len(segs) < 3:
    bad.append("only %d segments" % len(segs))
eq("records", sum(s["records"] for s in segs) + wal["records"], tot["records"])
eq("raw", sum(s["raw_bytes"] for s in segs) + wal["raw_bytes"], tot["raw_bytes"])
eq("stored", sum(s["stored_bytes"] + s["index_bytes"] for s in segs)
   + wal["wal_bytes"], tot["stored_bytes"])
eq("blocks", sum(s["blocks"] for s in segs), tot["blocks"])
for i, s in enumerate(segs):
    size = os.path.getsize(os.path.join(data, s["name"]))
    # A block the sealing thread wrote joins the directory at the next
    # commit: until then it is counted under wal.sealing_records and the
    # last file may be longer than its listed size.
    if i + 1 == len(segs) and wal["sealing_records"] > 0:
        if size < s["stored_bytes"]:
            bad.append("%s: %d bytes on disk < %d" % (s["name"], size,
                                                       s["stored_bytes"]))
    else:
        eq("%s size" % s["name"], size, s["stored_bytes"])
    lqi = os.path.join(data, s["name"][:-4] + ".lqi")
    eq("%s .lqi size" % s["name"],
       os.path.getsize(lqi) if os.path.exists(lqi) else 0, s["index_bytes"])
    if not 0 < s["first_ns"] <= s["last_ns"]:
        bad.append("%s time range %d..%d" % (s["name"], s["first_ns"], s["last_ns"]))
    if i + 1 < len(segs) and not (s["sealed"] and s["index_bytes"] > 0
                                  and not s["current"]):
        bad.append("%s not sealed with an index" % s["name"])
    if s["records"] <= 0 or s["stored_bytes"] >= s["raw_bytes"]:
        bad.append("%s: %d records, %d stored of %d raw" % (
            s["name"], s["records"], s["stored_bytes"], s["raw_bytes"]))
if sum(1 for s in segs if s["current"]) > 1:
    bad.append("more than one current segment")
print("%d segments, %d records, raw %d, stored %d, index %d, wal %d records"
      " (%d sealing)" % (len(segs), tot["records"], tot["raw_bytes"],
                         tot["stored_bytes"], tot["index_bytes"],
                         wal["records"], wal["sealing_records"]),
      file=sys.stderr)
for b in bad:
    print("stats: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

lq stats >"$IT_TMP/stats.txt" || fail "logq stats failed"
cat "$IT_TMP/stats.txt" >&2
n_segs=$(python3 -c 'import json, sys
print(len(json.load(open(sys.argv[1]))["segments"]))' "$IT_TMP/stats.json")
assert_eq "$n_segs" "$(grep -c '^seg-[0-9a-f]\{16\}\.lqs ' "$IT_TMP/stats.txt")" \
    "segment rows in the table"
head -n 1 "$IT_TMP/stats.txt" | grep -q '^SEGMENT .*RATIO .*LINES ' ||
    fail "no header row"
grep -qE '^WAL +unsealed ' "$IT_TMP/stats.txt" || fail "no WAL row"
grep -qE "^TOTAL +$n_segs seg .* $written +[0-9]+ " "$IT_TMP/stats.txt" ||
    fail "no TOTAL row with $n_segs segments and $written lines"
grep -qE 'MiB|KiB' "$IT_TMP/stats.txt" || fail "sizes not in human units"
grep -qE '^TOTAL .* [0-9T:-]{19}Z +[0-9T:-]{19}Z$' "$IT_TMP/stats.txt" ||
    fail "TOTAL times not in UTC"
# --local (as the other commands): the zone of TZ, offset shown
TZ=XST-1 lq stats --local >"$IT_TMP/stats-local.txt" ||
    fail "logq stats --local failed"
grep -qE '^TOTAL .* [0-9T:-]{19}\+01:00 +[0-9T:-]{19}\+01:00$' \
    "$IT_TMP/stats-local.txt" || fail "stats --local: $(cat "$IT_TMP/stats-local.txt")"

rc=0
lq stats --bogus >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "logq stats --bogus exit status"
rc=0
reserve_port DEAD        # reserved, nobody listens: connection refused
"$BUILD/logq" stats --server "http://127.0.0.1:$DEAD" \
    >/dev/null 2>"$IT_TMP/unreach.err" || rc=$?
assert_eq 2 "$rc" "logq stats against a closed port"
code=$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$CHTTP/api/v1/stats?x=1")
assert_eq 400 "$code" "/api/v1/stats with a parameter"

it_pass
