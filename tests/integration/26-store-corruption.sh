#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 26-store-corruption: fill a store of small segments, stop the collector
# and damage it on disk: (a) one byte in the middle of a block body (found
# when the block is read) and one in another block's header (found at
# open), (b) one index file truncated to half and every page of another
# flipped, (c) one segment header's magic. Restart: the collector starts,
# reports the damage in its log and in /health, serves every line that was
# not in the two damaged blocks exactly once (and loses exactly those),
# token queries return what a scanning regex returns, new lines are stored
# as usual, and a second restart serves the same. The .lqi with flipped
# pages is dropped at its first failed lookup and rebuilt by the second
# restart, which then counts no index error. The harness fails on any
# sanitizer report.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=storelib.sh
. "$(dirname "$0")/storelib.sh"
it_init 26-store-corruption

# the collector's ports, kept across its crashes (reserve_port: nothing
# else takes them while it is down, not even a shipper reconnecting)
reserve_port COLLECTOR_TCP_PORT
reserve_port COLLECTOR_HTTP_PORT
export COLLECTOR_TCP_PORT COLLECTOR_HTTP_PORT
SMALL=(--segment-size 64K --block-size 4K --retention-interval 200ms)
DATA=$IT_TMP/collector.data
TOOL=$IT_DIR/storetool.py

start_collector collector "${SMALL[@]}"
for n in 1 2; do
    mkdir -p "$IT_TMP/node$n.docker"
    start_shipper "node$n" "$IT_TMP/node$n.docker"
    fake_container "node$n" web "$IT_TMP/node$n.docker" --count 900 \
        --rate 600 --long-every 97 --long-size 20000 --stderr-every 7
    fake_container "node$n" api "$IT_TMP/node$n.docker" --image api:2 \
        --count 900 --rate 600
done
wait_writers 60
before=("$IT_TMP"/manifest-*.jsonl)
wait_all_found 90 "${before[@]}"
# more of web's lines until the store holds 8 segment files
# (storelib.sh web_rounds_until: the burst above could fill as few as 2)
seg_files() { find "$DATA" -maxdepth 1 -name 'seg-*.lqs' | wc -l; }
WEB_FIRST=901
web_rounds_until 8 seg_files 90 "${before[@]}"
log "fill: $(seg_files) segments after $WEB_ROUNDS more rounds of web's lines"
lq_all "$IT_TMP/out0.jsonl"
python3 "$IT_DIR/check.py" verify "${before[@]}" <"$IT_TMP/out0.jsonl" ||
    fail "store not exact before any damage"
stop collector || fail "collector did not stop on SIGTERM"
assert_eq 0 "${IT_STATUS[collector]}" "collector exit status"

log "damaging the store"
python3 "$TOOL" segments "$DATA" >"$IT_TMP/segments.jsonl"
python3 "$TOOL" blocks "$DATA" >"$IT_TMP/blocks.jsonl"
mapfile -t SEGS < <(python3 -c 'import json, sys
for x in open(sys.argv[1]):
    print(json.loads(x)["seg"])' "$IT_TMP/segments.jsonl")
assert_ge "${#SEGS[@]}" 8 "segments on disk"
# mid_block SEG: the JSON line of the middle block of SEG.
mid_block() {
    python3 -c 'import json, sys
b = [x for x in open(sys.argv[1]) if json.loads(x)["seg"] == sys.argv[2]]
sys.stdout.write(b[len(b) // 2])' "$IT_TMP/blocks.jsonl" "$1"
}
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# (a) a body byte in segment 1, a header byte (min_ns) in segment 2.
body_blk=$(mid_block "${SEGS[1]}")
off=$(( $(field "$body_blk" body_off) + $(field "$body_blk" comp_len) / 2 ))
python3 "$TOOL" flip "$DATA/${SEGS[1]}" "$off"
head_blk=$(mid_block "${SEGS[2]}")
python3 "$TOOL" flip "$DATA/${SEGS[2]}" "$(( $(field "$head_blk" off) + 25 ))"
printf '%s\n%s\n' "$body_blk" "$head_blk" >"$IT_TMP/damaged.jsonl"
log "damaged blocks: $(field "$body_blk" n_records) records in ${SEGS[1]}," \
    "$(field "$head_blk" n_records) in ${SEGS[2]}"
# (b) index files: one cut in half, one with every page flipped.
lqi3=$DATA/${SEGS[3]%.lqs}.lqi
lqi4=$DATA/${SEGS[4]%.lqs}.lqi
if [ ! -f "$lqi3" ] || [ ! -f "$lqi4" ]; then
    fail "full segments without .lqi"
fi
python3 "$TOOL" truncate "$lqi3" "$(( $(stat -c %s "$lqi3") / 2 ))"
n_pages=0
while read -r page; do
    python3 "$TOOL" flip "$lqi4" "$(field "$page" off)"
    n_pages=$((n_pages + 1))
done < <(python3 "$TOOL" lqi-pages "$lqi4")
assert_ge "$n_pages" 1 "index pages flipped"
# (c) a segment header (its magic).
python3 "$TOOL" flip "$DATA/${SEGS[5]}" 1

# check_served OUT: every line but the damaged blocks' exactly once.
check_served() {
    lq_all "$IT_TMP/$1"
    python3 "$IT_DIR/storecheck.py" damaged "$IT_TMP/damaged.jsonl" \
        "$IT_TMP"/manifest-*.jsonl <"$IT_TMP/$1" >"$IT_TMP/damaged.txt" ||
        { cat "$IT_TMP/damaged.txt" >&2; fail "$1: lines lost or doubled beyond the damaged blocks"; }
    cat "$IT_TMP/damaged.txt" >&2
}

log "restart on the damaged store"
start_collector collector "${SMALL[@]}"
grep -E 'store damage found at open' "$IT_TMP/collector.log" ||
    fail "the collector did not log the damage found at open"
assert_ge "$(health_store corrupt_blocks)" 2 "corrupt blocks at open (block header + segment header)"
assert_ge "$(health_store index_rebuilds)" 1 "index rebuilds (truncated .lqi)"
check_served out1.jsonl
assert_ge "$(health_store corrupt_blocks)" 3 "corrupt blocks after reading the damaged body"
assert_ge "$(health_counter search_damaged_blocks)" 1 "search_damaged_blocks"
wait_until 30 "the damage found by a search in the log" \
    grep -qE 'store damage corrupt_blocks=([3-9]|[1-9][0-9])' "$IT_TMP/collector.log"
index_agrees 2000
assert_ge "$(health_store index_errors)" 1 "index errors (flipped .lqi pages)"
# the first failed page drops that .lqi (scanned until the next open)
[ ! -e "$lqi4" ] || fail "the .lqi with flipped pages was kept"
errs1=$(health_store index_errors)
index_agrees 500
assert_eq "$errs1" "$(health_store index_errors)" \
    "index errors after more token queries (the dropped .lqi is not read again)"

log "new lines after the damage"
for n in 1 2; do
    fake_container "node$n" late "$IT_TMP/node$n.docker" --image late:1 \
        --count 300 --rate 300 --stderr-every 4
done
wait_writers 60
wait_until 60 "the late lines searchable" last_lines_found \
    "$IT_TMP"/manifest-*-late.jsonl
check_served out2.jsonl

log "second restart"
stop collector || fail "collector did not stop on SIGTERM"
assert_eq 0 "${IT_STATUS[collector]}" "collector exit status"
start_collector collector "${SMALL[@]}"
assert_ge "$(health_store index_rebuilds)" 1 "index rebuilds (the dropped .lqi)"
[ -f "$lqi4" ] || fail "the dropped .lqi was not rebuilt at the second open"
check_served out3.jsonl
index_agrees 2000
assert_eq 0 "$(health_store index_errors)" \
    "index errors after the second restart (rebuilt index, no failing page)"
log "after the second restart: corrupt_blocks=$(health_store corrupt_blocks)" \
    "index_rebuilds=$(health_store index_rebuilds)" \
    "index_errors=$(health_store index_errors)"

it_pass
