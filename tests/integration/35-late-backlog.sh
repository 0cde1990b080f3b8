#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 35-late-backlog: three hosts, one collector with small blocks (4 KiB) and
# segments (128 KiB). node1 and node2 ship two batches of recent lines
# (stdout and stderr, ties in time across hosts and between two containers
# of one host, 300 KiB lines between small ones, "error" in varying
# density) with a kill -9 and a SIGTERM of the collector between them;
# node3's shipper is down meanwhile and its files fill with a backlog (hours
# older, and interleaved with and equal to the others' times). Then node3's
# shipper starts and the collector is killed -9 once more while it catches
# up. Every answer is compared line by line (ordercheck.py) with a model of
# the manifests sorted by the store key (time, host, container_id, offset):
# -n 20 with and without a term, --asc -n 20, --asc -n 1 / -n 1 per
# container and per host, --host, -n 0 and --all, -C 2 in JSON and text,
# -B 3 --asc, -A 1 --stream stderr, -C with -n, count --by; some again after a restart;
# and -f -n 5 error (history, then two live lines, each once); then that
# -f reconnects after an outage during which a late backlog (event times
# hours older than what it printed, and some newer) was stored: every
# backlog line is printed once, oldest first, then a live line
# (collector/API.md "Resuming a follow").
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 35-late-backlog

S=1000000000
# T: two hours ago on a whole second, so every set time is in the past and
# the live lines of the -f check are the newest.
T=$(( ($(date +%s) - 7200) * S ))

# Small blocks and segments: the data spans many of both (checked below).
STORE_OPTS=(--segment-size 128K --block-size 4K)
start_collector collector "${STORE_OPTS[@]}"
COLLECTOR_TCP_PORT=$CTCP
COLLECTOR_HTTP_PORT=$CHTTP
export COLLECTOR_TCP_PORT COLLECTOR_HTTP_PORT
for n in 1 2 3; do
    mkdir -p "$IT_TMP/node$n.docker"
done
start_shipper node1 "$IT_TMP/node1.docker"
start_shipper node2 "$IT_TMP/node2.docker"

# lines HOST NAME FIRST COUNT START_NS [fakedocker args...]: writes COUNT
# lines stamped START_NS + i s (unless --time-step) into HOST's container
# NAME, appending to its log file and manifest; returns when written.
lines() {
    local host=$1 name=$2 first=$3 count=$4 start=$5
    shift 5
    python3 "$IT_DIR/fakedocker.py" --root "$IT_TMP/$host.docker" \
        --host "$host" --name "$name" --first "$first" --count "$count" \
        --time-start "$start" --rate 20000 \
        --manifest "$IT_TMP/manifest-$host-$name.jsonl" "$@" \
        2>>"$IT_TMP/fakedocker.log" || fail "fakedocker $host/$name failed"
}

log "batch A: node1, node2"
lines node1 web 1 200 "$T" --image nginx:1.25 --word-every 7 \
    --stderr-every 5 --long-every 90 --long-size 300000
lines node2 web 1 200 "$T" --image nginx:1.25 --word-every 11
lines node2 cache 1 100 "$T" --image redis:7 --time-step $((2 * S)) \
    --word-every 9 --stderr-every 2
lines node1 api 1 140 $((T + S / 2)) --image api:2 --word-every 3 \
    --stderr-every 4
front=("$IT_TMP"/manifest-node[12]-*.jsonl)
wait_all_found 60 "${front[@]}"
# A few small lines last: committed to the WAL, not yet sealed in a block
# (less than --block-size), so the kill -9 leaves them to the WAL replay.
lines node1 api 141 10 $((T + 140 * S + S / 2)) --image api:2 \
    --word-every 3 --stderr-every 4
wait_all_found 60 "${front[@]}"
kill9 collector
start_collector collector "${STORE_OPTS[@]}"
grep -q 'wal_replayed=[1-9]' "$IT_TMP/collector.log" ||
    fail "no WAL replay after the kill -9 (the scenario needs one)"

log "batch B: node1, node2; node3's backlog on disk, its shipper down"
lines node1 web 201 200 $((T + 1000 * S)) --image nginx:1.25 \
    --word-every 5 --stderr-every 5 --long-every 90 --long-size 300000
lines node1 api 151 150 $((T + 1000 * S + S / 2)) --image api:2 \
    --word-every 40 --stderr-every 4
lines node2 web 201 200 $((T + 1000 * S)) --image nginx:1.25 \
    --word-every 6 --stderr-every 3
lines node2 cache 101 100 $((T + 1000 * S)) --image redis:7 \
    --time-step $((2 * S)) --word-every 9 --stderr-every 2
lines node3 web 1 300 $((T - 3 * 3600 * S)) --image nginx:1.25 \
    --word-every 4 --stderr-every 6 --long-every 100 --long-size 400000
lines node3 web 301 100 $((T + 50 * S + S / 4)) --image nginx:1.25 \
    --word-every 3 --stderr-every 6
lines node3 web 401 200 $((T + 1000 * S + S / 4)) --image nginx:1.25 \
    --word-every 3 --stderr-every 6
lines node3 old 1 200 $((T - 5 * 3600 * S)) --image old:1 \
    --word-every 13 --long-every 150 --long-size 250000
lines node3 old 201 200 $((T + 1000 * S)) --image old:1 --word-every 2 \
    --stderr-every 7
wait_all_found 60 "${front[@]}"
stop collector || fail "collector ignored SIGTERM"
start_collector collector "${STORE_OPTS[@]}"

log "node3's shipper catches up; kill -9 of the collector meanwhile"
start_shipper node3 "$IT_TMP/node3.docker"
sleep 0.5
kill9 collector
start_collector collector "${STORE_OPTS[@]}"
manifests=("$IT_TMP"/manifest-*.jsonl)
wait_all_found 60 "${manifests[@]}"
sleep 1
lq --json -n 1000000 >"$IT_TMP/all.jsonl" || fail "logq failed"
python3 "$IT_DIR/check.py" verify "${manifests[@]}" <"$IT_TMP/all.jsonl" ||
    fail "not every line exactly once"
store_fig() {   # NAME: /health store.NAME
    curl -fsS --max-time 5 "http://127.0.0.1:$CHTTP/health" |
        python3 -c 'import json, sys
print(int(json.load(sys.stdin)["store"][sys.argv[1]]))' "$1"
}
# A segment is cut after the seal job that fills it, and a job takes
# every full block waiting (several under load, each with a 300 KiB
# line): the same 48 blocks made 4 segments or 3 (a clean-clone CI run
# at load 2, 2 scenarios at a time). More than one is what the order
# checks across segments need, and every one but the last must have
# reached --segment-size (128 KiB of block bodies) before the next was
# begun, through the kills and restarts too.
assert_ge "$(store_fig segments)" 2 "segments in the store"
curl -fsS --max-time 5 "http://127.0.0.1:$CHTTP/api/v1/stats" |
    python3 -c 'import json, sys
segs = json.load(sys.stdin)["segments"]
short = ["%s: %d raw bytes" % (g["name"], g["raw_bytes"]) for g in segs[:-1]
         if g["raw_bytes"] < 128 * 1024]
sys.exit("segments short of 128 KiB before the last: " + ", ".join(short)
         if short else 0)' || fail "a segment but the last short of segment_size"
assert_ge "$(store_fig blocks)" 25 "blocks in the store"
log "$(manifest_lines "${manifests[@]}") lines stored exactly once in" \
    "$(store_fig segments) segments, $(store_fig blocks) blocks; order checks"

failed=()
# expect NAME MODE [ordercheck args...] -- logq args...: runs logq into
# NAME.answer.txt and compares it with the model (report in NAME.txt; both
# kept in logs/ on failure); a mismatch is recorded: all checks run, and
# the scenario fails at the end listing them.
expect() {
    local name=$1 mode=$2 oc=() rc=0
    shift 2
    while [ "$1" != -- ]; do oc+=("$1"); shift; done
    shift
    lq "$@" >"$IT_TMP/$name.answer.txt" 2>"$IT_TMP/$name.err" || rc=$?
    if [ "$rc" != 0 ]; then
        log "$name: logq $* exited $rc: $(head -c 300 "$IT_TMP/$name.err")"
        failed+=("$name")
        return 0
    fi
    if ! python3 "$IT_DIR/ordercheck.py" "$mode" --what "$name" "${oc[@]}" \
        "${manifests[@]}" <"$IT_TMP/$name.answer.txt" >"$IT_TMP/$name.txt"; then
        sed 's/^/    /' "$IT_TMP/$name.txt" >&2
        failed+=("$name")
    fi
}

expect error-n20 lines --word error -n 20 -- --json -n 20 error
expect n20 lines -n 20 -- --json -n 20
expect asc-n20 lines --asc -n 20 -- --json --asc -n 20
expect asc-error-n20 lines --asc --word error -n 20 -- --json --asc -n 20 error
for c in web api cache old; do
    expect "oldest-$c" lines --asc -n 1 --container "$c" -- \
        --json --asc -n 1 --container "$c"
done
for hc in node1/web node1/api node2/web node2/cache node3/web node3/old; do
    h=${hc%/*} c=${hc#*/}
    expect "oldest-$h-$c" lines --asc -n 1 --host "$h" --container "$c" -- \
        --json --asc -n 1 --host "$h" --container "$c"
    expect "newest-$h-$c" lines -n 1 --host "$h" --container "$c" -- \
        --json -n 1 --host "$h" --container "$c"
done
expect host-node3-n50 lines --host node3 -n 50 -- --json -n 50 --host node3
expect host-node3-asc-error lines --host node3 --asc --word error -n 50 -- \
    --json --asc -n 50 --host node3 error
expect host-node1-all lines --host node1 -n 1000000 -- \
    --json -n 1000000 --host node1
expect n0 lines -n 0 -- --json -n 0
expect all-asc-error lines --asc --word error -n 0 -- --json --all --asc error
expect count-error-container count --word error --by container -- \
    count --by container --json error
expect count-stream count --by stream -- count --by stream --json
expect context-C2-json context --word error -A 2 -B 2 -- --json -C 2 error
expect context-C2-text context --text --word error -A 2 -B 2 -- \
    --no-color -C 2 error
expect context-B3-asc context --asc --word error -B 3 -- --json -B 3 --asc error
# -n N: the matches are exactly the N newest (oldest with --asc) over all
# containers; a matching line past them inside a window is context
# (node3/web: "error" every 3rd line at the end, every 4th at the start).
expect context-C4-n3 context --word error -A 4 -B 4 -n 3 -- \
    --json -C 4 -n 3 error
expect context-C6-asc-n3 context --word error -A 6 -B 6 -n 3 --asc \
    --host node3 --container web -- \
    --json -C 6 --asc -n 3 --host node3 --container web error
expect context-A1-stderr context --word error -A 1 --stream stderr -- \
    --json -A 1 --stream stderr error

log "after a graceful restart: the same answers from the reopened store"
stop collector || fail "collector ignored SIGTERM"
start_collector collector "${STORE_OPTS[@]}"
expect restart-n0 lines -n 0 -- --json -n 0
expect restart-asc-n20 lines --asc -n 20 -- --json --asc -n 20
expect restart-context-C2-json context --word error -A 2 -B 2 -- \
    --json -C 2 error

log "follow: -f -n 5 error, then two live lines"
# --foreground: stop's SIGTERM goes to logq alone, not to its leak check
# at exit as well (43-sender-times)
it_bg follow timeout --foreground 60 "$BUILD/logq" \
    --server "http://127.0.0.1:$CHTTP" --json -f -n 5 error
follow_has() {   # N: true once the follow output holds N records
    [ "$(grep -c '^{' "$IT_TMP/follow.log" || true)" -ge "$1" ]
}
n_live=0
live() {   # HOST NAME IMAGE SEQ: one matching line stamped now, seen by -f
    python3 "$IT_DIR/fakedocker.py" --root "$IT_TMP/$1.docker" --host "$1" \
        --name "$2" --image "$3" --first "$4" --count 1 --word-every 1 \
        --manifest "$IT_TMP/manifest-$1-$2.jsonl" 2>>"$IT_TMP/fakedocker.log" ||
        fail "fakedocker live line failed"
    n_live=$((n_live + 1))
    (wait_until 20 "live line $n_live in -f" follow_has $((5 + n_live))) ||
        log "live line $n_live did not arrive"
}
(wait_until 20 "-f history" follow_has 5) || log "-f printed no 5 lines"
live node2 web nginx:1.25 401
live node3 old old:1 401
sleep 1
cp "$IT_TMP/follow.log" "$IT_TMP/follow-first.log"
if ! python3 "$IT_DIR/ordercheck.py" follow --what follow-n5-error \
    --word error -n 5 --then Mnode2-web-000401 --then Mnode3-old-000401 \
    "${manifests[@]}" <"$IT_TMP/follow-first.log" >"$IT_TMP/follow.txt"; then
    sed 's/^/    /' "$IT_TMP/follow.txt" >&2
    failed+=(follow-n5-error)
fi

log "follow: an outage; node3's late backlog is stored before -f is back"
stop node3 || fail "shipper node3 ignored SIGTERM"
lines node3 late 1 40 $((T - 3600 * S)) --image late:1 --word-every 1
lines node3 late 41 10 $(( $(date +%s) * S )) --image late:1 --word-every 1
stop collector || fail "collector ignored SIGTERM"
# -f cannot reach it on this HTTP port until the backlog is stored
COLLECTOR_HTTP_PORT=0 start_collector collector "${STORE_OPTS[@]}"
start_shipper node3 "$IT_TMP/node3.docker"
wait_all_found 60 "$IT_TMP/manifest-node3-late.jsonl"
stop collector || fail "collector ignored SIGTERM"
start_collector collector "${STORE_OPTS[@]}"
(wait_until 30 "backlog in -f" follow_has $((7 + 50))) ||
    log "-f printed no 50 more lines after the reconnect"
n_live=$((7 + 50 - 5))
live node3 late late:1 51
stop follow || true
if ! python3 "$IT_DIR/ordercheck.py" follow --what follow-reconnect \
    --word error -n 50 --then Mnode3-late-000051 \
    "$IT_TMP/manifest-node3-late.jsonl" \
    < <(grep '^{' "$IT_TMP/follow.log" | tail -n +8) \
    >"$IT_TMP/follow-reconnect.txt"; then
    sed 's/^/    /' "$IT_TMP/follow-reconnect.txt" >&2
    failed+=(follow-reconnect)
fi

[ ${#failed[@]} = 0 ] || fail "${#failed[@]} checks failed: ${failed[*]}"
it_pass
