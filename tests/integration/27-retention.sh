#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 27-retention: the store's retention against the real collector.
# By size (--retention-size 128K, 32 KiB segments): while two containers
# write, whole oldest segments go; per container exactly the newest lines
# are left (none twice, no gap), the deleted segments' .lqs and .lqi files
# are gone, the /health counters grow, and the store stays under the limit
# (plus at most one segment in progress), with cold segments recompacted
# (--recompact-level 9) meanwhile.
# By age (--retention-age 6s, on a second collector): an "old" container's
# lines all go once newer segments follow them, every line younger than the
# age is still there, without any traffic the timer keeps deleting until
# only the segment being written is left, and a restart then serves
# exactly the lines that were left (the unsealed tail included).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=storelib.sh
. "$(dirname "$0")/storelib.sh"
it_init 27-retention

LIMIT=$((128 * 1024))
SLACK=$((64 * 1024))    # one 32 KiB segment in progress + WAL + hw.lqh
DATA=$IT_TMP/size.data

log "retention by size"
start_collector size --segment-size 32K --block-size 4K \
    --retention-size "$LIMIT" --retention-interval 200ms \
    --recompact-level 9 --recompact-age 0s
for n in 1 2; do
    mkdir -p "$IT_TMP/node$n.docker"
    start_shipper "node$n" "$IT_TMP/node$n.docker"
    fake_container "node$n" bulk "$IT_TMP/node$n.docker" --count 3000 \
        --rate 400 --long-every 50 --long-size 8000 --stderr-every 5
done
# the first deletion, waited for (it comes about 0.4 s into the writers'
# 7.5 s; a fixed sleep 4 failed if a loaded machine started shipping late)
deleted_some() { [ "$(health_store segments_deleted)" -ge 1 ]; }
wait_until 30 "a segment deleted while the writers write" deleted_some
mid=$(health_store segments_deleted)
mid_bytes=$(health_store bytes_deleted)
wait_writers 60
wait_until 60 "the last bulk lines searchable" last_lines_found \
    "$IT_TMP"/manifest-*-bulk.jsonl
sleep 1
end=$(health_store segments_deleted)
end_bytes=$(health_store bytes_deleted)
log "segments_deleted $mid -> $end, bytes_deleted $mid_bytes -> $end_bytes"
assert_ge "$mid" 1 "segments deleted while writing"
assert_ge "$end" $((mid + 1)) "segments deleted later on"
assert_ge "$end_bytes" $((mid_bytes + 1)) "bytes_deleted growth"
grep -qE 'retention deleted segments=[0-9]+' "$IT_TMP/size.log" ||
    fail "no retention line in the collector log"
# recompaction (collector/STORE.md) ran beside retention and the searches:
# the checks below hold for recompacted segments too
grep -qE 'recompacted segments=[1-9]' "$IT_TMP/size.log" ||
    fail "no recompaction line in the collector log"
grep -E 'recompacted segments=' "$IT_TMP/size.log" | tail -1 >&2
assert_ge "$(health_store recompacted_segments)" 1 "/health store.recompacted_segments"
assert_ge "$(health_store recompact_saved_bytes)" 1 "/health store.recompact_saved_bytes"
assert_eq "$(health_store recompact_errors)" 0 "/health store.recompact_errors"
lq_all "$IT_TMP/out.jsonl"
python3 "$IT_DIR/storecheck.py" suffix --keep bulk --min-deleted 1000 \
    "$IT_TMP"/manifest-*-bulk.jsonl <"$IT_TMP/out.jsonl" \
    >"$IT_TMP/suffix.txt" ||
    { cat "$IT_TMP/suffix.txt" >&2; fail "size retention left the wrong lines"; }
cat "$IT_TMP/suffix.txt" >&2
stored=$(health_store stored_bytes)
assert_ge $((LIMIT + SLACK)) "$stored" "stored_bytes under the limit + one segment"
disk=$(find "$DATA" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
log "stored_bytes=$stored, files in the data dir: $disk bytes"
assert_ge $((LIMIT + SLACK)) "$disk" "data dir size under the limit + one segment"
python3 - "$DATA" "$end" <<'EOF' || fail "deleted segments left files behind"
import os, re, sys
names = os.listdir(sys.argv[1])
lqs = {n[4:20] for n in names if re.fullmatch(r"seg-[0-9a-f]{16}\.lqs", n)}
lqi = {n[4:20] for n in names if re.fullmatch(r"seg-[0-9a-f]{16}\.lqi", n)}
first = min(int(x, 16) for x in lqs)
bad = ["orphan index seg-%s.lqi" % x for x in sorted(lqi - lqs)]
# Sequence numbers start at 1: the deleted ones are exactly those below.
if first - 1 != int(sys.argv[2]):
    bad.append("oldest segment left is %d, after %s deletions" % (first, sys.argv[2]))
print("segments left: %d (oldest seq %d), indexes %d" % (len(lqs), first, len(lqi)))
for b in bad:
    print("retention: " + b)
sys.exit(1 if bad else 0)
EOF
stop node1
stop node2
stop size || fail "size collector did not stop on SIGTERM"

log "retention by age"
start_collector age --segment-size 16K --block-size 2K --retention-age 6s \
    --retention-interval 200ms
mkdir -p "$IT_TMP/node3.docker"
start_shipper node3 "$IT_TMP/node3.docker"
fake_container node3 old "$IT_TMP/node3.docker" --count 400 --rate 400
wait_writers 30
wait_all_found 30 "$IT_TMP"/manifest-node3-old.jsonl
fake_container node3 new "$IT_TMP/node3.docker" --count 1500 --rate 150 \
    --stderr-every 3
wait_writers 40
wait_until 30 "the last new line searchable" last_lines_found \
    "$IT_TMP"/manifest-node3-new.jsonl
# Read at once: from the last append on only the timer deletes, and the
# segments written in the last 6 s are still there (reading this after the
# checks below let a loaded machine see every deletion happen first).
idle=$(health_store segments_deleted)
young=$(( $(date +%s%N) - 2000000000 ))
lq_all "$IT_TMP/age.jsonl"
python3 "$IT_DIR/storecheck.py" suffix --keep new --gone old \
    --min-deleted 400 --newer-than "$young" "$IT_TMP"/manifest-node3-*.jsonl \
    <"$IT_TMP/age.jsonl" >"$IT_TMP/suffix.txt" ||
    { cat "$IT_TMP/suffix.txt" >&2; fail "age retention left the wrong lines"; }
cat "$IT_TMP/suffix.txt" >&2
one_segment_left() { [ "$(health_store segments)" = 1 ]; }
wait_until 20 "age retention without traffic down to one segment" \
    one_segment_left
assert_ge "$(health_store segments_deleted)" $((idle + 1)) \
    "segments deleted by the timer without traffic"
log "age: segments_deleted $idle -> $(health_store segments_deleted) with no traffic"
lq_all "$IT_TMP/age2.jsonl"
python3 "$IT_DIR/storecheck.py" suffix --keep new --gone old \
    "$IT_TMP"/manifest-node3-*.jsonl <"$IT_TMP/age2.jsonl" ||
    fail "age retention without traffic left the wrong lines"
# The lines left are the last segment plus the unsealed tail (in the WAL
# only); a restart must bring back exactly those, although retention wrote
# hw.lqh after they were committed.
stop age || fail "age collector did not stop on SIGTERM"
assert_eq 0 "${IT_STATUS[age]}" "age collector exit status"
start_collector age --segment-size 16K --block-size 2K --retention-age 6s \
    --retention-interval 200ms
lq_all "$IT_TMP/age3.jsonl"
python3 "$IT_DIR/storecheck.py" same "$IT_TMP/age2.jsonl" \
    "$IT_TMP/age3.jsonl" >"$IT_TMP/same.txt" ||
    fail "a restart after age retention lost lines: $(cat "$IT_TMP/same.txt")"

it_pass
