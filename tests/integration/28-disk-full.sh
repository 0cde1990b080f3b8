#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 28-disk-full: the collector's data dir on a 4 MiB tmpfs the scenario
# mounts (as root, else as root of a user + mount namespace of its own,
# unshare -rm; SKIP only where user namespaces are refused). Lines stream in, then a ballast file fills the
# file system while two containers keep writing: commits fail (ENOSPC),
# the collector keeps running and answering, counts store_errors, logs the
# failure and stops acknowledging, so the shippers hold their lines. Once
# the ballast is deleted, ingest resumes by itself and every line is
# searchable exactly once; a restart on the same data serves the same.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=storelib.sh
. "$(dirname "$0")/storelib.sh"
it_init 28-disk-full

DATA=$IT_TMP/collector.data
mkdir -p "$DATA"
it_mount_tmpfs "$DATA" 4m

SMALL=(--segment-size 64K --block-size 8K --retention-interval 200ms)
start_collector collector "${SMALL[@]}"
for n in 1 2; do
    mkdir -p "$IT_TMP/node$n.docker"
    start_shipper "node$n" "$IT_TMP/node$n.docker"
    fake_container "node$n" first "$IT_TMP/node$n.docker" --count 300 \
        --rate 600
done
wait_writers 30
wait_all_found 60 "$IT_TMP"/manifest-*-first.jsonl

log "filling the file system"
dd if=/dev/zero of="$DATA/ballast" bs=64k >/dev/null 2>&1 || true
log "ballast: $(stat -c %s "$DATA/ballast") bytes; df: $(df -k "$DATA" | tail -n 1)"
for n in 1 2; do
    fake_container "node$n" during "$IT_TMP/node$n.docker" --count 600 \
        --rate 200 --long-every 20 --long-size 5000 --stderr-every 3
done
store_failing() { [ "$(health_counter store_errors)" -ge 1 ]; }
wait_until 30 "commits failing on the full disk" store_failing
sleep 2
health_ok || fail "collector not answering while the disk is full"
is_running collector || fail "collector exited on a full disk"
grep -qE 'store commit failed' "$IT_TMP/collector.log" ||
    fail "no commit failure in the collector log"
during=("$IT_TMP"/manifest-*-during.jsonl)
n_now=$(lq --json -n 1000000 2>/dev/null |
    python3 "$IT_DIR/check.py" count "${during[@]}")
log "while full: $n_now of the new lines stored, store_errors=$(health_counter store_errors)"
wait_writers 30
total=$(manifest_lines "${during[@]}")
[ "$n_now" -lt "$total" ] || fail "all $total lines stored on a full disk?"

log "freeing space"
rm -f "$DATA/ballast"
all=("$IT_TMP"/manifest-*.jsonl)
wait_all_found 90 "${all[@]}"
grep -qE 'store commit succeeded again' "$IT_TMP/collector.log" ||
    fail "no recovery line in the collector log"
sleep 2
lq_all "$IT_TMP/out.jsonl"
python3 "$IT_DIR/check.py" verify "${all[@]}" <"$IT_TMP/out.jsonl" ||
    fail "lines lost or doubled by the full disk"

log "restart on the same data"
stop collector || fail "collector did not stop on SIGTERM"
assert_eq 0 "${IT_STATUS[collector]}" "collector exit status"
start_collector collector "${SMALL[@]}"
lq_all "$IT_TMP/out2.jsonl"
python3 "$IT_DIR/check.py" verify "${all[@]}" <"$IT_TMP/out2.jsonl" ||
    fail "not exactly once after the restart"
index_agrees 500

it_pass
