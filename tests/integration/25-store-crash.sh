#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 25-store-crash: kill -9 the collector again and again while two shippers
# stream lines into a store cut into tiny blocks (4 KiB) and segments
# (64 KiB), so a kill lands in or next to a block seal, a segment roll or
# an index (.lqi) write. Phase 1 (no retention): after the last restart
# every line is searchable exactly once, and token queries (index) return
# what the equivalent regex (full scan) returns. Phase 2: the same with a
# tiny --retention-size, so segments are deleted all the time and kills hit
# retention too: per container the lines left must be exactly the newest
# ones (no line lost in between, none twice, none resurrected), lines were
# deleted, and the index still agrees with a scan.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=storelib.sh
. "$(dirname "$0")/storelib.sh"
it_init 25-store-crash

# the collector's ports, kept across its crashes (reserve_port: nothing
# else takes them while it is down, not even a shipper reconnecting)
reserve_port COLLECTOR_TCP_PORT
reserve_port COLLECTOR_HTTP_PORT
export COLLECTOR_TCP_PORT COLLECTOR_HTTP_PORT
SMALL=(--segment-size 64K --block-size 4K --retention-interval 200ms)
DATA=$IT_TMP/collector.data

# crash_loop N ARGS...: N times: let it run 0.4-1.9 s, kill -9, restart.
crash_loop() {
    local n=$1 i
    shift
    for ((i = 1; i <= n; i++)); do
        sleep "$((RANDOM % 16 / 10)).$((RANDOM % 10))"
        sleep 0.4
        kill9 collector
        # What the kill interrupted, as far as files show it.
        log "killed with: $(find "$DATA" -name '*.tmp' | wc -l) temp files," \
            "$(find "$DATA" -name '*.lqs' | wc -l) segments"
        start_collector collector "$@"
        log "restart $i: $(health_stores torn_cuts wal_replayed \
            index_rebuilds segments)"
    done
}

start_collector collector "${SMALL[@]}"
for n in 1 2; do
    mkdir -p "$IT_TMP/node$n.docker"
    start_shipper "node$n" "$IT_TMP/node$n.docker"
done

log "phase 1: crashes while sealing"
for n in 1 2; do
    root=$IT_TMP/node$n.docker
    fake_container "node$n" web "$root" --count 1800 --rate 120 \
        --long-every 97 --long-size 20000 --stderr-every 7
    fake_container "node$n" api "$root" --image api:2 --count 1800 --rate 120
done
crash_loop 7 "${SMALL[@]}"
wait_writers 90
phase1=("$IT_TMP"/manifest-*.jsonl)
wait_all_found 120 "${phase1[@]}"
# more of web's lines until the store holds 10 segments (storelib.sh
# web_rounds_until: the lines above could fill fewer, seen: 9)
segments() { health_store segments; }
WEB_FIRST=1801
web_rounds_until 10 segments 120 "${phase1[@]}"
log "phase 1: $(segments) segments, $WEB_ROUNDS more rounds of web's lines"
sleep 2         # a late resend would show up as a duplicate
lq_all "$IT_TMP/out.jsonl"
python3 "$IT_DIR/check.py" verify "${phase1[@]}" <"$IT_TMP/out.jsonl" ||
    fail "phase 1: not exactly once after crashes during sealing"
segs=$(health_store segments)
assert_ge "$segs" 10 "segments written in phase 1 (seals and rolls)"
index_agrees 2000
python3 "$IT_DIR/storetool.py" segments "$DATA" >"$IT_TMP/segments1.jsonl"
python3 - "$IT_TMP/segments1.jsonl" <<'EOF' || fail "a full segment has no index"
import json, sys
segs = [json.loads(x) for x in open(sys.argv[1])]
bad = [s["seg"] for s in segs[:-1] if not s["has_lqi"]]
print("segments: %d, full ones without .lqi: %s" % (len(segs), bad))
sys.exit(1 if bad else 0)
EOF

log "phase 2: crashes while retention deletes"
LIMIT=$((192 * 1024))
RET=("${SMALL[@]}" --retention-size "$LIMIT")
kill9 collector
start_collector collector "${RET[@]}"
for n in 1 2; do
    fake_container "node$n" ret "$IT_TMP/node$n.docker" --image ret:1 \
        --count 1800 --rate 150 --long-every 53 --long-size 9000
done
crash_loop 7 "${RET[@]}"
wait_writers 90
all=("$IT_TMP"/manifest-*.jsonl)
wait_until 120 "the last ret lines searchable" last_lines_found \
    "$IT_TMP"/manifest-*-ret.jsonl
sleep 2
lq_all "$IT_TMP/out2.jsonl"
python3 "$IT_DIR/storecheck.py" suffix --keep ret --min-deleted 1000 \
    "${all[@]}" <"$IT_TMP/out2.jsonl" >"$IT_TMP/suffix.txt" ||
    { cat "$IT_TMP/suffix.txt" >&2; fail "phase 2: retention lost or duplicated lines"; }
cat "$IT_TMP/suffix.txt" >&2
deleted=$(( $(log_sum "$IT_TMP/collector.log" 'retention deleted segments=[0-9]+') +
            $(log_sum "$IT_TMP/collector.log" 'store open .*segments_deleted=[0-9]+') ))
assert_ge "$deleted" 5 "segments deleted in phase 2 (collector log)"
log "segments deleted by retention over all runs: $deleted"
index_agrees 300

it_pass
