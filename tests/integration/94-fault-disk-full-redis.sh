#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 94-fault-disk-full-redis (issue 9 "Faults" 5): the collector's data dir is
# a small tmpfs the test mounts itself (as root, as CI runs, else in a user
# + mount namespace of its own: lib.sh it_mount_tmpfs). While two
# shippers keep writing, the file system is filled by a ballast file and
# freed again, N times (short 2, soak 10): while it is full the collector
# keeps answering, counts store_errors and stops acknowledging (the lines
# written meanwhile are not all stored); once space returns everything is
# stored exactly once. Meanwhile the Redis that takes the metrics hangs
# (SIGSTOP) and is then killed: logs are unaffected (lines keep arriving
# within seconds while Redis hangs, and all are there at the end).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=faultlib.sh
. "$(dirname "$0")/faultlib.sh"
it_init 94-fault-disk-full-redis

command -v redis-server >/dev/null ||
    fail "redis-server missing (provisioning/deps.sh installs it)"
CYCLES=$(soak_or 2 10)
DATA=$IT_TMP/collector.data
mkdir -p "$DATA"
it_mount_tmpfs "$DATA" 16m

redis_port
it_bg redis redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
    --appendonly no --daemonize no --dir "$IT_TMP"
wait_until 20 "redis-server on $RPORT" redis_is_ours redis

SMALL=(--segment-size 256K --block-size 16K --retention-interval 200ms
    --redis "127.0.0.1:$RPORT")
start_collector collector "${SMALL[@]}"
for n in 1 2; do
    mkdir -p "$IT_TMP/node$n.docker"
    start_shipper "node$n" "$IT_TMP/node$n.docker" --metrics-interval 1
done

# -- Redis hangs: a container's lines still arrive within seconds.
kill -STOP "${IT_PIDS[redis]}"
fake_container node1 hung "$IT_TMP/node1.docker" --count 200 --rate 100
wait_writers 30
wait_all_found 20 "$IT_TMP/manifest-node1-hung.jsonl"
log "lines arrive while Redis hangs"
kill -CONT "${IT_PIDS[redis]}"
kill9 redis
log "Redis killed: it stays down from here on"

store_errors_above() { [ "$(health_counter store_errors)" -gt "$1" ]; }
# The WAL files hold no stale entries past their live ends: the store cut
# them, idle (store_wal_trim, on the retention timer). A reused file keeps
# its pages (collector/STORE.md "Write-ahead log"), and commits that
# overwrite them need no new space, so a full disk would not fail a
# commit until they are used up: the collector goes on acknowledging
# what the WAL holds durably, which is right, but the cycle below must
# see commits fail while its writers run (1197 of 1200 lines were
# acknowledged while full once, with WAL files grown to about 8 blocks:
# collector/STORE.md "Closed tails").
wal_trimmed() {
    local live disk
    live=$(lq stats --json 2>/dev/null | python3 -c 'import json, sys
print(int(json.load(sys.stdin)["wal"]["wal_bytes"]))') || return 1
    disk=$(stat -c %s "$DATA"/wal*.lqw | awk '{ s += $1 } END { print s }')
    [ "$live" = "$disk" ]
}
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
    wait_until 20 "WAL files cut to their live entries (idle)" wal_trimmed
    for n in 1 2; do
        fake_container "node$n" "c$cycle" "$IT_TMP/node$n.docker" \
            --count 600 --rate 200 --long-every 20 --long-size 5000 \
            --stderr-every 3
    done
    sleep 1
    errs=$(health_counter store_errors)
    dd if=/dev/zero of="$DATA/ballast" bs=64k >/dev/null 2>&1 || true
    log "cycle $cycle: full ($(df -k "$DATA" | awk 'NR == 2 { print $4 }') KiB free)"
    wait_until 30 "commits failing on the full disk" store_errors_above "$errs"
    health_ok || fail "collector not answering while the disk is full"
    cyc=("$IT_TMP"/manifest-*-"c$cycle".jsonl)
    wait_writers 30
    n_now=$(lq --json --all 2>/dev/null |
        python3 "$IT_DIR/check.py" count "${cyc[@]}")
    total=$(manifest_lines "${cyc[@]}")
    log "cycle $cycle: $n_now of $total new lines stored while full"
    [ "$n_now" -lt "$total" ] || fail "all $total lines acknowledged on a full disk"
    rm -f "$DATA/ballast"
    wait_all_found 90 "${cyc[@]}"
done
is_running collector || fail "collector exited"
grep -qE 'store commit succeeded again' "$IT_TMP/collector.log" ||
    fail "no recovery line in the collector log"
all=("$IT_TMP"/manifest-*.jsonl)
sleep 2
fault_verify "$IT_TMP/out.jsonl" "${all[@]}"
fault_verify_store collector "${SMALL[@]}" -- "${all[@]}"

it_pass
