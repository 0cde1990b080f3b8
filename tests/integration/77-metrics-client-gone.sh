#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 77-metrics-client-gone: clients of the Redis-backed endpoints
# (/api/v1/metrics, /api/v1/metrics/query, /api/v1/health, Grafana /search)
# hang up while Redis is blocked (DEBUG SLEEP). When Redis answers, the
# collector must drop the replies without touching the freed connection,
# leak nothing (ASan leak check at exit) and keep serving.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 77-metrics-client-gone

command -v redis-server >/dev/null || it_skip "redis-server not installed"
command -v redis-cli >/dev/null || it_skip "redis-cli not installed (redis-tools)"
redis_port
# Redis 7 and later refuse DEBUG unless started with this (older ones
# allow it and would refuse the unknown option).
dbg=()
if [[ $(redis-server --version) =~ v=([0-9]+)\. ]] &&
    [ "${BASH_REMATCH[1]}" -ge 7 ]; then
    dbg=(--enable-debug-command local)
fi
it_bg redis redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
    --appendonly no --daemonize no --dir "$IT_TMP" "${dbg[@]}"
rcli() { redis-cli -p "$RPORT" "$@"; }
wait_until 20 "redis-server on $RPORT" redis_is_ours redis
# The scenario's own server: DEBUG must work, so a refusal is a failure
# of this script, not a reason to skip.
[ "$(rcli debug sleep 0 2>&1)" = OK ] ||
    fail "redis DEBUG refused: $(rcli debug sleep 0 2>&1 | head -n 1)"

start_collector collector --redis "127.0.0.1:$RPORT"
api() { curl -fsS --max-time 10 "http://127.0.0.1:$CHTTP$1"; }
wait_until 20 "metrics list answers" api /api/v1/metrics

# Redis blocks for 2 s; every client gives up after 0.5 s.
rcli debug sleep 2 >/dev/null &
sleeper=$!
sleep 0.3
for path in /api/v1/metrics "/api/v1/metrics/query?name=host.cpu.pct"; do
    curl -sS --max-time 0.5 -o /dev/null "http://127.0.0.1:$CHTTP$path" \
        2>/dev/null || true
done
curl -sS --max-time 0.5 -o /dev/null -H 'Content-Type: application/json' \
    -d '{"target":""}' "http://127.0.0.1:$CHTTP/grafana/search" \
    2>/dev/null || true
wait "$sleeper" || true

# Still serving, and the dropped calls freed everything (checked at exit).
wait_until 30 "metrics list after the hang-ups" api /api/v1/metrics

# SIGTERM while Redis is blocked and three calls wait for it: the
# collector must exit cleanly (status 0, no sanitizer report).
rcli debug sleep 3 >/dev/null &
sleeper=$!
sleep 0.3
for path in /api/v1/metrics /api/v1/health; do
    curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$CHTTP$path" \
        2>/dev/null &
done
curl -sS --max-time 5 -o /dev/null -H 'Content-Type: application/json' \
    -d '{"target":""}' "http://127.0.0.1:$CHTTP/grafana/search" \
    2>/dev/null &
sleep 0.5
stop collector
wait "$sleeper" || true
assert_eq 0 "${IT_STATUS[collector]}" "collector exit status"
it_sanitizer_check || fail "sanitizer report after clients hung up"
it_pass
