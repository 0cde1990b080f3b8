#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 91-fault-shipper-kill (issue 9 "Faults" 2): a shipper is killed with
# SIGKILL every 2 s mid-batch (small batches, three containers writing,
# every 7th json-file line written in two halves 20 ms apart so the file
# often ends without its newline, long lines split by Docker into 16 KiB
# pieces) and restarted on the same state dir. Each container's last
# json-file line is written in two halves 3 s apart, so at least one kill
# finds every file ending without its newline. Short: 6 kills; soak: a
# kill every 2 s for 10 min, the writers asked for 1000 lines/s each but
# bounded by time (fakedocker --seconds: at load 12 they managed about
# 275 lines/s), so the checks follow what was written. Every line exactly
# once.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=faultlib.sh
. "$(dirname "$0")/faultlib.sh"
it_init 91-fault-shipper-kill

RATE=$(soak_or 250 1000)
SECS=$(soak_or 12 600)
COUNT=$((RATE * SECS))
MAX_KILLS=$(soak_or 6 300)
SHIP=(--batch-bytes 8K --flush-ms 200)
ROOT=$IT_TMP/node1.docker

start_collector collector
mkdir -p "$ROOT"
start_shipper node1 "$ROOT" "${SHIP[@]}"
for c in web db cache; do
    fake_container node1 "$c" "$ROOT" --count "$COUNT" --seconds "$SECS" \
        --rate "$RATE" \
        --max-size 300000 --max-file 3 --split-every 7 --last-split-pause 3 \
        --long-every 97 --long-size 40000 --stderr-every 4
done

writers_busy() {
    local c
    for c in web db cache; do
        is_running "fd-node1-$c" && return 0
    done
    return 1
}

kills=0
t0=$(date +%s)
deadline=$(( t0 + SECS + 30 ))
while [ "$kills" -lt "$MAX_KILLS" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 2
    writers_busy || break
    kill9 node1
    kills=$((kills + 1))
    start_shipper node1 "$ROOT" "${SHIP[@]}"
done
log "shipper killed $kills times in $(( $(date +%s) - t0 )) s"
# How often a restart's listings missed the saved file (listed again
# before deciding: shipper/README.md), and took one for gone.
slog=$IT_TMP/node1.log
log "restarts that listed again for a saved file:" \
    "$(grep -c 'saved file not listed' "$slog" || true)," \
    "saved files gone: $(grep -c 'saved file gone' "$slog" || true)"
assert_ge "$kills" "$(soak_or 4 200)" "shipper kills while the writers ran"
wait_writers "$(soak_or 60 120)"
manifests=("$IT_TMP"/manifest-*.jsonl)
log "written: $(manifest_lines "${manifests[@]}") lines in $(( $(date +%s) - t0 )) s ($COUNT asked per writer)"
fault_wait_found "$(soak_or 60 300)" "${manifests[@]}"
sleep 2
fault_verify "$IT_TMP/out.jsonl" "${manifests[@]}"
fault_verify_store collector -- "${manifests[@]}"

it_pass
