#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 90-fault-collector-kill (issue 9 "Faults" 1): three shippers, each with a
# container writing (and rotating) at a steady rate, while the collector
# is killed with SIGKILL every 1-3 s (random) and restarted on the same
# data dir and ports. Short: 3 x 300 lines/s for ~12 s, 5 kills. Soak
# (LOGQ_SOAK=1): 3 x 6700 lines/s (20k/s) for 60 s, a kill every 1-3 s
# until the writers finish (at most 60). Every line must then be read back
# exactly once, also after a clean restart (faultlib.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=faultlib.sh
. "$(dirname "$0")/faultlib.sh"
it_init 90-fault-collector-kill

RATE=$(soak_or 300 6700)
COUNT=$(soak_or 3600 402000)
MAX_KILLS=$(soak_or 5 60)
SMALL=(--block-size 64K --segment-size 1M)

start_collector collector "${SMALL[@]}"
COLLECTOR_TCP_PORT=$CTCP
COLLECTOR_HTTP_PORT=$CHTTP
export COLLECTOR_TCP_PORT COLLECTOR_HTTP_PORT
for n in 1 2 3; do
    mkdir -p "$IT_TMP/node$n.docker"
    start_shipper "node$n" "$IT_TMP/node$n.docker"
    fake_container "node$n" app "$IT_TMP/node$n.docker" --count "$COUNT" \
        --rate "$RATE" --max-size "$(soak_or 200000 10000000)" --max-file 3 \
        --stderr-every 5 --long-every 500 --long-size 20000
done

writers_busy() {
    local n
    for n in 1 2 3; do
        is_running "fd-node$n-app" && return 0
    done
    return 1
}

kills=0
deadline=$(( $(date +%s) + $(soak_or 60 150) ))
while [ "$kills" -lt "$MAX_KILLS" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep "$(rand_between 1 3)"
    writers_busy || break
    kill9 collector
    kills=$((kills + 1))
    start_collector collector "${SMALL[@]}"
done
log "collector killed $kills times"
assert_ge "$kills" "$(soak_or 3 20)" "collector kills while the writers ran"

wait_writers "$(soak_or 60 300)"
manifests=("$IT_TMP"/manifest-*.jsonl)
log "writers done: $(manifest_lines "${manifests[@]}") lines"
fault_wait_found "$(soak_or 90 600)" "${manifests[@]}"
sleep 2     # a late resend would show as a duplicate
fault_verify "$IT_TMP/out.jsonl" "${manifests[@]}"
log "records_duplicate (resends refused) since the last start: $(health_counter records_duplicate)"
fault_verify_store collector "${SMALL[@]}" -- "${manifests[@]}"

it_pass
