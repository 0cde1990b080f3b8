#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 95-fault-clock-step (issue 9 "Faults" 6): a shipper's wall clock steps
# +1 h, then -1 h (back to 1 h behind), then back, while two containers
# write and rotate. The steps come from libfaketime (Debian's libfaketime,
# provisioning/deps.sh) reading an offset file the test rewrites; the
# monotonic clock is left alone (FAKETIME_DONT_FAKE_MONOTONIC), as a real
# step (settimeofday, NTP) leaves it, so this is what a node whose clock is
# corrected sees. Nothing may be lost or doubled, and every line keeps its
# event time (Docker's timestamp, checked to the ns by check.py) and its
# receive time (the collector's clock, not stepped: logq --json
# "received", kept per record in the store, the same after a restart);
# segment write times and retention use the collector's clock too. Short:
# steps 3 s apart; soak: 20 s apart, 10 rounds.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=faultlib.sh
. "$(dirname "$0")/faultlib.sh"
it_init 95-fault-clock-step

FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -e "$FT" ] || fail "$FT missing (provisioning/deps.sh installs libfaketime)"
STEP_S=$(soak_or 3 20)
ROUNDS=$(soak_or 1 10)
RATE=$(soak_or 150 1000)
COUNT=$((RATE * STEP_S * (3 * ROUNDS + 1)))
RC=$IT_TMP/faketimerc
echo "+0" >"$RC"

t_start=$(date +%s)
start_collector collector
ROOT=$IT_TMP/node1.docker
mkdir -p "$ROOT"
# libfaketime must come before ASan's runtime in the preload order: ASan's
# check of that order is switched off for this process only.
FAKETIME_TIMESTAMP_FILE=$RC FAKETIME_NO_CACHE=1 \
FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD=$FT \
ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0 \
    start_shipper node1 "$ROOT" --log-level debug --metrics-interval 1
for c in app side; do
    fake_container node1 "$c" "$ROOT" --count "$COUNT" --rate "$RATE" \
        --seconds $((STEP_S * (3 * ROUNDS + 1))) \
        --max-size 30000 --max-file 3 --stderr-every 3
done
for ((r = 1; r <= ROUNDS; r++)); do
    for off in +1h -1h +0; do
        sleep "$STEP_S"
        echo "$off" >"$RC"
        log "shipper clock offset $off"
    done
done
wait_writers "$(soak_or 60 300)"
manifests=("$IT_TMP"/manifest-*.jsonl)
fault_wait_found "$(soak_or 60 300)" "${manifests[@]}"
sleep 2
fault_verify "$IT_TMP/out.jsonl" "${manifests[@]}"

# The steps did reach the shipper: its own log lines carry times an hour
# ahead and an hour behind the collector's (each step lasts longer than
# a rotation, which logs "next file" at debug).
spread=$(python3 - "$IT_TMP/node1.log" <<'PY'
import calendar, re, sys
ts = []
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", line)
    if m:
        ts.append(calendar.timegm(tuple(int(x) for x in
                  re.split(r"[-T:]", m.group(1))) + (0, 0, 0)))
print(max(ts) - min(ts) if ts else 0)
PY
)
assert_ge "$spread" 7000 "seconds between the shipper's earliest and latest log times"
fault_verify_store collector -- "${manifests[@]}"

# Every line has its receive time, from the collector's clock: after the
# event time (fakedocker stamps lines with the unstepped clock; 2 s slack),
# within the run, and the same once the collector restarted on its store.
python3 - "$t_start" "$(($(date +%s) + 1))" "$IT_TMP/out.jsonl" \
    "$IT_TMP/out-store.jsonl" <<'PY' || fail "receive times"
import json, sys
from datetime import datetime, timezone

def ns(s):
    base, _, frac = s.rstrip("Z").partition(".")
    t = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=timezone.utc)
    return int(t.timestamp()) * 10**9 + int((frac + "000000000")[:9])

lo, hi = int(sys.argv[1]) * 10**9, int(sys.argv[2]) * 10**9
runs = []
for path in sys.argv[3:5]:
    got = {}
    for line in open(path):
        r = json.loads(line)
        if "received" not in r:
            sys.exit("%s: no \"received\": %s" % (path, line[:200]))
        t, rv = ns(r["time"]), ns(r["received"])
        if not (lo <= rv <= hi and rv >= t - 2 * 10**9):
            sys.exit("%s: received %s, time %s, run %d..%d" %
                     (path, r["received"], r["time"], lo, hi))
        got[(r["container_id"], r["message"])] = rv
    runs.append(got)
if runs[0] != runs[1]:
    sys.exit("receive times differ after the restart")
print("receive times: %d lines, all kept across the restart" % len(runs[0]))
PY

it_pass
