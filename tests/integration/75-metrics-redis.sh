#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 75-metrics-redis: a private redis-server, a collector with --redis and two
# shippers sampling the fixture /proc and /sys trees (tests/data/metrics,
# cgroup v1 and v2) every second. The series must reach Redis and come back
# through /api/v1/metrics and /api/v1/metrics/query; /api/v1/health shows
# both hosts up. Redis is killed and restarted mid-run while a container
# writes logs: metrics resume by themselves and every log line written
# meanwhile is searchable exactly once. A stopped shipper's host is down
# after 3 missed intervals.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 75-metrics-redis

command -v redis-server >/dev/null ||
    fail "redis-server missing (provisioning/deps.sh installs it)"
command -v redis-cli >/dev/null ||
    fail "redis-cli missing (redis-tools; provisioning/deps.sh installs it)"
FIX=$REPO/tests/data/metrics
redis_port

start_redis() {
    it_bg redis redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
        --appendonly no --daemonize no --dir "$IT_TMP"
    wait_until 20 "redis-server on $RPORT" redis_is_ours redis
}
rcli() { redis-cli -p "$RPORT" "$@"; }
# points NODE METRIC: number of points of one host series in Redis.
points() { rcli zcard "logq:s:$1|$2||" 2>/dev/null || echo 0; }
has_points() { [ "$(points "$1" "$2")" -ge "$3" ]; }
api() { curl -fsS --max-time 10 "http://127.0.0.1:$CHTTP$1"; }

# node2: a container with known error lines (fakedocker's words hold none):
# "error", "FATAL", "panic:" and "Exception" match, "errors" does not.
errid=$(printf "e%.0s" $(seq 64))
mkdir -p "$IT_TMP/node2/containers/$errid"
printf '{"Name":"/errs","Config":{"Image":"app:1"},"State":{"Running":true}}' \
    >"$IT_TMP/node2/containers/$errid/config.v2.json"
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000000Z)
for m in "an error occurred" "FATAL: gone" "panic: nil map" \
         "java.lang.Exception at x" "no errors here" "all fine"; do
    printf '{"log":"%s\\n","stream":"stderr","time":"%s"}\n' "$m" "$now"
done >"$IT_TMP/node2/containers/$errid/$errid-json.log"

start_redis
start_collector collector --redis "127.0.0.1:$RPORT" --metrics-retention 1h

for n in 1 2; do
    v=v$n
    mkdir -p "$IT_TMP/node$n/containers"
    start_shipper "node$n" "$IT_TMP/node$n/containers" --metrics-interval 1 \
        --proc-root "$FIX/$v/t0/proc" --sys-root "$FIX/$v/t0/sys" \
        --host-root "$FIX/$v/t0/host"
done
fake_container node1 web "$IT_TMP/node1/containers" --count 400 --rate 25 \
    --stderr-every 5

# -- after two intervals the series are in Redis and served by the API
wait_until 20 "node1 metrics in redis" has_points node1 host.mem.used_pct 2
wait_until 20 "node2 metrics in redis" has_points node2 host.mem.used_pct 2
log "redis: node1 $(points node1 host.mem.used_pct) points, $(rcli zcard logq:names) names"
api /api/v1/metrics >"$IT_TMP/names.json"
python3 - "$IT_TMP/names.json" <<'PY'
import json, sys
names = json.load(open(sys.argv[1]))["names"]
assert names == sorted(names), names
for n in ("host.mem.used_pct", "host.load.1", "shipper.connected",
          "shipper.metrics_interval_s", "host.fs.used_pct"):
    assert n in names, (n, names)
PY
# the names index is a zset scored by the last write (collector/REDIS.md
# "Alive"), and a real shipper's names are far within --max-metric-names
[ "$(rcli type logq:names)" = zset ] ||
    fail "logq:names is a $(rcli type logq:names), not a zset"
# and within the per-host caps (collector/REDIS.md "Bounds")
api /health | python3 -c '
import json, sys
h = json.load(sys.stdin)
c = h["counters"]
assert c["metrics_names_dropped"] == 0, c["metrics_names_dropped"]
for k in ("metrics_host_names_refused", "metrics_host_series_refused",
          "metrics_hosts_capped"):
    assert c[k] == 0, (k, c[k])
assert h["metrics_capped"] == [], h["metrics_capped"]'
api "/api/v1/metrics/query?name=host.mem.used_pct&since=10m&step=1s" \
    >"$IT_TMP/query.json"
python3 - "$IT_TMP/query.json" <<'PY'
import json, sys
series = json.load(open(sys.argv[1]))["series"]
hosts = sorted(s["host"] for s in series)
assert hosts == ["node1", "node2"], hosts
for s in series:
    assert s["container"] == "" and s["label"] == "" and s["step_ms"] == 1000, s
    assert len(s["points"]) >= 2, s
    assert all(0 < p[1] <= 100 for p in s["points"]), s
    assert s["min"] <= s["avg"] <= s["max"], s
PY
api "/api/v1/metrics/query?name=host.fs.used_pct&host=node1&container=&label=/" \
    >"$IT_TMP/fs.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["series"]
assert len(s)==1 and s[0]["label"]=="/" and s[0]["points"], s' "$IT_TMP/fs.json"
code=$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$CHTTP/api/v1/metrics/query?host=node1")
assert_eq 400 "$code" "query without name"

hosts_up() {   # EXPECTED: "node1=True node2=False"
    api /api/v1/health >"$IT_TMP/health.json" || return 1
    python3 - "$IT_TMP/health.json" "$1" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
got = " ".join("%s=%s" % (x["host"], x["up"]) for x in sorted(
    h["hosts"], key=lambda x: x["host"]))
sys.exit(0 if got == sys.argv[2] else 1)
PY
}
wait_until 20 "both hosts up" hosts_up "node1=True node2=True"
python3 - "$IT_TMP/health.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
for x in h["hosts"]:
    assert x["interval_s"] == 1, x
    assert x["mem_pct"] is not None and 0 < x["mem_pct"] < 100, x
    assert x["fs_max_pct"] is not None, x
    assert x["error_lines_15m"] >= 0, x
assert h["redis"]["connected"] is True, h
PY

# -- Redis killed and restarted while logs flow
before=$(points node1 host.mem.used_pct)
kill9 redis
sleep 3
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CHTTP/api/v1/metrics")
assert_eq 503 "$code" "metrics while redis is down"
health_ok || fail "collector /health not ok while redis is down"
start_redis
wait_until 30 "metrics resume after the redis restart" \
    has_points node1 host.mem.used_pct 2
log "metrics resumed: $before points before, $(points node1 host.mem.used_pct) in the new redis"
api /api/v1/metrics/query?name=shipper.connected >/dev/null

# -- every log line exactly once (none lost to the Redis outage)
wait_writers 60
wait_all_found 60 "$IT_TMP"/manifest-*.jsonl
lq --json -n 1000000 --host node1 >"$IT_TMP/out.jsonl"
python3 "$IT_DIR/check.py" verify "$IT_TMP"/manifest-*.jsonl <"$IT_TMP/out.jsonl" ||
    fail "log lines lost or duplicated across the redis restart"
api /api/v1/health >"$IT_TMP/health.json"
python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))
n={x["host"]: x for x in h["hosts"]}
assert n["node2"]["error_lines_15m"] == 4, n
assert n["node1"]["error_lines_15m"] == 0, n
assert n["node2"]["containers_running"] == 1, n' "$IT_TMP/health.json"

# -- a metric name the collector has no data for: nothing found (exit 1,
# the name may only not have been sent yet) with the nearest names it has
rc=0
lq metrics host.mem.used_pt 2>"$IT_TMP/m.err" >/dev/null || rc=$?
assert_eq 1 "$rc" "unknown metric: exit 1"
grep -qF "no metric 'host.mem.used_pt' at the collector; did you mean host.mem.used_pct" \
    "$IT_TMP/m.err" || fail "unknown metric message: $(cat "$IT_TMP/m.err")"

# -- a stopped shipper: its host is down after 3 missed intervals
stop node2
wait_until 20 "node2 down" hosts_up "node1=True node2=False"
python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))
assert h["all_ok"] is False, h' "$IT_TMP/health.json"

it_pass
