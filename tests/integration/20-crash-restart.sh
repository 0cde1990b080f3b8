#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 20-crash-restart: the 10-end-to-end topology on fixed collector ports.
# While the containers keep writing (and rotating): kill -9 the collector
# and restart it on the same data dir and ports (shippers must reconnect by
# themselves and resend what was not acknowledged), then kill -9 one shipper
# and restart it on the same state dir, then stop/start another one
# gracefully. At the end every line must be stored exactly once.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 20-crash-restart

# The first collector picks its own ports (no window in which another
# process could take a port probed by a bind to port 0 and closed);
# restarts reuse them.
start_collector collector
COLLECTOR_TCP_PORT=$CTCP
COLLECTOR_HTTP_PORT=$CHTTP
export COLLECTOR_TCP_PORT COLLECTOR_HTTP_PORT

for n in 1 2 3; do
    mkdir -p "$IT_TMP/node$n.docker"
    start_shipper "node$n" "$IT_TMP/node$n.docker"
done
for n in 1 2 3; do
    root=$IT_TMP/node$n.docker
    fake_container "node$n" web "$root" --count 900 --rate 60 \
        --max-size 65536 --max-file 3 --long-every 50 --long-size 30000 \
        --stderr-every 7
    fake_container "node$n" worker "$root" --image "worker:1" --count 900 \
        --rate 60 --max-size 200000 --max-file 2 --stderr-every 3
done

sleep 3
kill9 collector
sleep 1
start_collector collector
sleep 3
kill9 node2
sleep 1
start_shipper node2 "$IT_TMP/node2.docker"
sleep 2
stop node3 || fail "node3 did not stop on SIGTERM"
log "node3 stopped with status ${IT_STATUS[node3]}"
sleep 1
start_shipper node3 "$IT_TMP/node3.docker"
sleep 2
kill9 collector
start_collector collector

wait_writers 60
manifests=("$IT_TMP"/manifest-*.jsonl)
total=$(manifest_lines "${manifests[@]}")
log "writers done: $total lines; waiting until all are searchable"
wait_all_found 90 "${manifests[@]}"
# Let any late resend land before checking for duplicates.
sleep 2
lq --json -n 1000000 >"$IT_TMP/out.jsonl" || fail "logq failed"
python3 "$IT_DIR/check.py" verify "${manifests[@]}" <"$IT_TMP/out.jsonl" ||
    fail "not exactly once after crashes"
log "records_duplicate since last restart: $(health_counter records_duplicate)"

it_pass
