#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 30-latency: one collector, one shipper, one container written line by line
# at 20 lines/s; `logq -f --json` must show each line within 1 s at p99
# (p50/p99/max printed). Every line exactly once on the follow stream too.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 30-latency

start_collector collector
mkdir -p "$IT_TMP/node1.docker"
start_shipper node1 "$IT_TMP/node1.docker"
if ! python3 "$IT_DIR/latency.py" --logq "$BUILD/logq" \
        --server "http://127.0.0.1:$CHTTP" --root "$IT_TMP/node1.docker" \
        --count 200 --rate 20 --p99 1.0 2>&1 | tee "$IT_TMP/latency.txt"; then
    fail "latency check failed"
fi
is_running node1 || fail "shipper died"
is_running collector || fail "collector died"

it_pass
