#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 76-health-grafana: metrics end to end. A private redis-server (Debian's,
# on a port of its own: lib.sh redis_port), a collector with --redis, two
# shippers (node1, node2) sampling copies of the cgroup v1 fixture tree
# (tests/data/metrics/v1/t0) every second while a ticker advances its CPU,
# network and disk counters
# (rates need moving counters); node1's "web" container also has log lines,
# some of them errors. Checks:
# - `logq health`: both hosts up, exit 0; a container set restarting is
#   listed, exit 1; after node2's shipper stops: node2 DOWN, exit 1;
# - `logq containers`: node1/web running with 0 restarts (table, --json);
#   without --redis: no error, exit 0;
# - `logq metrics` lists names and prints a series (exit 0), an unknown
#   name exits 1;
# - grafana_check.py: every dashboard of dashboards/*.json is valid and its
#   every panel target, annotation and template variable, sent to
#   /grafana/query or /grafana/variable as the plugin sends them, returns
#   non-empty data; the plugin's request shapes (ad-hoc filters, label.KEY
#   tag keys and filters on node1/web's Docker labels, multi-value
#   variables, free-form payloads) and every other /grafana endpoint answer
#   as collector/GRAFANA.md says; logs:count honours q; bucket times are
#   multiples of the step; bad bodies get 400 with a JSON error; HEAD and
#   405 on every route of the API;
# - a collector without --redis: metric targets 503, log targets work,
#   `logq health` exits 2;
# - the collector again with --max-scan-bytes 1M over 2.5 MiB of lines:
#   every Grafana log target answers 422 with the cap's error.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 76-health-grafana

command -v redis-server >/dev/null ||
    fail "redis-server missing (provisioning/deps.sh installs it)"
redis_port
it_bg redis redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$IT_TMP"
wait_until 20 "redis-server on $RPORT" redis_is_ours redis
start_collector collector --redis "127.0.0.1:$RPORT"
url="http://127.0.0.1:$CHTTP"

WEB_ID=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
DB_ID=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
for n in node1 node2; do
    cp -r "$REPO/tests/data/metrics/v1/t0" "$IT_TMP/$n.tree"
    chmod -R u+w "$IT_TMP/$n.tree"
done

# node1/web has Docker labels (Grafana's label.KEY tag keys and filters).
python3 - "$IT_TMP/node1.tree/docker/containers/$WEB_ID/config.v2.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["Config"]["Labels"] = {"app": "shop", "com.docker.compose.service": "web"}
json.dump(c, open(sys.argv[1], "w"))
EOF

# node1/web: 40 lines over the last minute, every 4th an error.
python3 - "$IT_TMP/node1.tree/docker/containers/$WEB_ID/$WEB_ID-json.log" <<'EOF'
import json, sys, time
now = time.time()
with open(sys.argv[1], "w") as f:
    for i in range(40):
        t = now - 60 + i
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
            ".%09dZ" % int((t % 1) * 1e9)
        msg = ("ERROR db connection refused attempt=%d\n" % i if i % 4 == 0
               else "GET /index.html 200 req=%d\n" % i)
        f.write(json.dumps({"log": msg, "stream": "stdout", "time": stamp}) + "\n")
EOF

# The ticker: advances the trees' counters every 0.5 s (bounded: 240 s).
cat >"$IT_TMP/ticker.py" <<'EOF'
import os, sys, time

def rewrite(path, fn):
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except OSError:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(fn(l) for l in lines))
    os.rename(tmp, path)

def bump(line, idx, by):
    parts = line.split()
    for i, b in zip(idx, by):
        if i < len(parts) and parts[i].isdigit():
            parts[i] = str(int(parts[i]) + b)
    return " ".join(parts)

def stat(l):
    return bump(l, [1, 3, 4], [30, 10, 60]) if l.startswith("cpu") else l

def netdev(l):
    if ":" not in l or l.strip().startswith(("lo:", "Inter", "face")):
        return l
    name, rest = l.split(":", 1)
    return name + ": " + bump(rest, [0, 8], [4000, 2000])

def disk(l):
    return bump(l, [5, 9], [64, 32])

def usage(l):
    return str(int(l) + 20000000) if l.strip().isdigit() else l

trees = sys.argv[1:]
for _ in range(480):
    for t in trees:
        rewrite(t + "/proc/stat", stat)
        rewrite(t + "/proc/net/dev", netdev)
        rewrite(t + "/proc/diskstats", disk)
        for d, _, files in os.walk(t + "/sys/fs/cgroup/cpuacct"):
            if "cpuacct.usage" in files:
                rewrite(d + "/cpuacct.usage", usage)
    time.sleep(0.5)
EOF
it_bg ticker python3 "$IT_TMP/ticker.py" "$IT_TMP/node1.tree" "$IT_TMP/node2.tree"

for n in node1 node2; do
    tree=$IT_TMP/$n.tree
    start_shipper "$n" "$tree/docker/containers" --metrics-interval 1 \
        --proc-root "$tree/proc" --sys-root "$tree/sys" \
        --host-root "$tree/host"
done

# ---- logq health
health_hosts_up() {   # N: logq health --json shows N hosts, all up
    lq health --json >"$IT_TMP/health.json" 2>/dev/null || true
    python3 - "$1" "$IT_TMP/health.json" <<'EOF'
import json, sys
h = json.load(open(sys.argv[2]))
up = [x["host"] for x in h["hosts"] if x["up"]]
sys.exit(0 if len(up) == int(sys.argv[1]) == len(h["hosts"]) else 1)
EOF
}
wait_until 60 "both hosts up in logq health" health_hosts_up 2
rc=0
lq health >"$IT_TMP/health.txt" 2>&1 || rc=$?
cat "$IT_TMP/health.txt" >&2
assert_eq 0 "$rc" "logq health exit status with every host up"
grep -Eq '^node1 +up ' "$IT_TMP/health.txt" || fail "node1 not shown up"
grep -Eq '^node2 +up ' "$IT_TMP/health.txt" || fail "node2 not shown up"
grep -q 'HOST.*STATUS.*CPU%.*ERRORS/15m' "$IT_TMP/health.txt" ||
    fail "health header missing"
grep -q $'\033' "$IT_TMP/health.txt" && fail "colors when piped"
# node1 logged 10 error lines within 15 minutes.
python3 - "$IT_TMP/health.json" <<'EOF' || fail "health figures wrong"
import json, sys
h = {x["host"]: x for x in json.load(open(sys.argv[1]))["hosts"]}
n1 = h["node1"]
assert n1["error_lines_15m"] == 10, n1
assert n1["containers_total"] >= 2 and n1["containers_running"] >= 1, n1
assert 0 < n1["mem_pct"] < 100 and 0 <= n1["fs_max_pct"] <= 100, n1
assert h["node2"]["error_lines_15m"] == 0, h["node2"]
EOF

# logq containers: the state and restart count from the metrics
ctrs_state() {
    lq containers --no-color >"$IT_TMP/ctrs.txt" 2>"$IT_TMP/ctrs.err" &&
        grep -Eq '^node1 +web +aaaaaaaaaaaa +busybox +running +0 +40 ' \
            "$IT_TMP/ctrs.txt" && [ ! -s "$IT_TMP/ctrs.err" ]
}
wait_until 20 "logq containers: node1/web running, 0 restarts" ctrs_state
head -1 "$IT_TMP/ctrs.txt" | grep -Eq '^HOST +CONTAINER +ID +IMAGE +STATE +RESTARTS +LINES +LAST SEEN$' ||
    fail "logq containers header: $(head -1 "$IT_TMP/ctrs.txt")"
lq containers --json | python3 -c 'import json, sys
c = [json.loads(l) for l in sys.stdin]
assert [(x["host"], x["container"], x["state"], x["restarts"]) for x in c] \
    == [("node1", "web", "running", 0)], c' || fail "logq containers --json"

# A restarting container: unhealthy, exit 1, listed.
cfg=$IT_TMP/node1.tree/docker/containers/$DB_ID/config.v2.json
python3 - "$cfg" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["State"]["Restarting"] = True
c["RestartCount"] += 1
json.dump(c, open(sys.argv[1] + ".tmp", "w"))
EOF
mv "$cfg.tmp" "$cfg"
health_unhealthy() {
    local rc=0
    lq health >"$IT_TMP/health-bad.txt" 2>&1 || rc=$?
    [ "$rc" = 1 ] && grep -Eq '^node1 +db +restarting' "$IT_TMP/health-bad.txt"
}
wait_until 30 "db shown restarting, exit 1" health_unhealthy
python3 - "$cfg" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["State"]["Restarting"] = False
json.dump(c, open(sys.argv[1] + ".tmp", "w"))
EOF
mv "$cfg.tmp" "$cfg"

# ---- logq metrics
rc=0
lq metrics >"$IT_TMP/names.txt" 2>&1 || rc=$?
assert_eq 0 "$rc" "logq metrics exit status"
for m in host.cpu.user_pct host.mem.used_pct host.fs.used_pct \
    host.net.rx_bps container.cpu_pct container.mem.bytes; do
    grep -qx "$m" "$IT_TMP/names.txt" || fail "logq metrics lacks $m"
done
series_ok() {   # ASCII sparkline: the locale is not UTF-8
    LC_ALL=C lq metrics host.net.rx_bps --host node1 --since 10m --step 1s \
        >"$IT_TMP/series.txt" 2>&1 &&
        grep -Eq '^node1 eth0 +[0-9.kM]+ +[0-9.kM]+ +[0-9.kM]+ +[0-9.kM]+ +[_.,:=+#-]+$' \
            "$IT_TMP/series.txt"
}
wait_until 30 "a host.net.rx_bps series with a sparkline" series_ok
cat "$IT_TMP/series.txt" >&2
grep -q 'node2' "$IT_TMP/series.txt" && fail "--host node1 showed node2"
LC_ALL=C.UTF-8 lq metrics host.net.rx_bps --host node1 >"$IT_TMP/utf8.txt"
grep -q '▁\|█' "$IT_TMP/utf8.txt" || fail "no block sparkline under UTF-8"
LC_ALL=C.UTF-8 lq metrics host.net.rx_bps --host node1 --no-spark \
    >"$IT_TMP/nospark.txt"
grep -q 'TREND' "$IT_TMP/nospark.txt" && fail "--no-spark kept the sparkline"
rc=0
lq metrics no.such.metric >/dev/null 2>&1 || rc=$?
assert_eq 1 "$rc" "logq metrics of an unknown name"
rc=0
lq metrics container.cpu_pct --host node1 --container web --json \
    >"$IT_TMP/series.json" 2>&1 || rc=$?
assert_eq 0 "$rc" "logq metrics --json exit status"
python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))["series"]
assert len(s) == 1 and s[0]["container"] == "web" and s[0]["points"], s' \
    "$IT_TMP/series.json" || fail "metrics --json series"

# ---- Grafana: every dashboard target, every endpoint
python3 "$IT_DIR/grafana_check.py" "$url" "$REPO/dashboards" node1 web \
    >"$IT_TMP/grafana.txt" 2>&1 || { cat "$IT_TMP/grafana.txt" >&2; fail "grafana checks"; }
cat "$IT_TMP/grafana.txt" >&2

# ---- a host goes down
stop node2
assert_eq 0 "${IT_STATUS[node2]}" "node2 shipper exit status"
health_down() {
    local rc=0
    lq health >"$IT_TMP/health-down.txt" 2>&1 || rc=$?
    [ "$rc" = 1 ] && grep -Eq '^node2 +DOWN ' "$IT_TMP/health-down.txt" &&
        grep -Eq '^node1 +up ' "$IT_TMP/health-down.txt"
}
wait_until 30 "node2 DOWN, exit 1" health_down
cat "$IT_TMP/health-down.txt" >&2

# ---- a collector without --redis
main_http=$CHTTP
start_collector plain
plain="http://127.0.0.1:$CHTTP"
code=$(curl -s -o "$IT_TMP/plain.json" -w '%{http_code}' -X POST \
    -d '{"targets":[{"target":"host.cpu.user_pct"}]}' "$plain/grafana/query")
assert_eq 503 "$code" "metric target without --redis"
grep -q 'metrics disabled' "$IT_TMP/plain.json" || fail "503 without reason"
code=$(curl -s -o "$IT_TMP/plain.json" -w '%{http_code}' -X POST \
    -d '{"targets":[{"target":"logs:count"},{"target":"logs"}]}' \
    "$plain/grafana/query")
assert_eq 200 "$code" "log targets without --redis"
code=$(curl -s -o "$IT_TMP/plain.json" -w '%{http_code}' -X POST -d '{}' \
    "$plain/grafana/metrics")
assert_eq 200 "$code" "/grafana/metrics without --redis"
grep -q '"logs:count"' "$IT_TMP/plain.json" || fail "log targets not listed"
rc=0
lq health >"$IT_TMP/plain-health.txt" 2>&1 || rc=$?
assert_eq 2 "$rc" "logq health without --redis"
grep -q 'metrics disabled' "$IT_TMP/plain-health.txt" ||
    fail "logq health does not say why"
# logq containers without metrics: "-", nothing on stderr, exit 0
lq containers >"$IT_TMP/plain-ctrs.txt" 2>"$IT_TMP/plain-ctrs.err" ||
    fail "logq containers without --redis: exit $?"
[ ! -s "$IT_TMP/plain-ctrs.err" ] ||
    fail "logq containers without --redis: $(cat "$IT_TMP/plain-ctrs.err")"
CHTTP=$main_http

# ---- the scan cost cap applies to every Grafana log target
WEBLOG=$IT_TMP/node1.tree/docker/containers/$WEB_ID/$WEB_ID-json.log
python3 - "$WEBLOG" <<'EOF'
import json, sys, time
now = time.time()
with open(sys.argv[1], "a") as f:
    for i in range(5000):
        t = now - 30 + i / 1000.0
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
            ".%09dZ" % int((t % 1) * 1e9)
        msg = "ERROR filler %d %s\n" % (i, "x" * 480)
        f.write(json.dumps({"log": msg, "stream": "stdout", "time": stamp}) + "\n")
EOF
fillers_in() {
    curl -sf "$url/api/v1/count?q=filler" | grep -q '"total":5000'
}
wait_until 60 "5000 filler lines stored" fillers_in
stop collector
start_collector collector --redis "127.0.0.1:$RPORT" --max-scan-bytes 1M
python3 "$IT_DIR/grafana_check.py" --capped "http://127.0.0.1:$CHTTP" \
    >"$IT_TMP/grafana-capped.txt" 2>&1 ||
    { cat "$IT_TMP/grafana-capped.txt" >&2; fail "grafana capped checks"; }
cat "$IT_TMP/grafana-capped.txt" >&2
it_pass
