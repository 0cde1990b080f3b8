#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 46-http-limits: the HTTP API's limits (SECURITY.md "HTTP limits"), each
# through real sockets (httplimits.py) against a real collector:
# - Host check: a request whose Host is not an IP literal, localhost or a
#   --http-host name gets 421 (DNS rebinding), counted, without CORS
#   headers; IPs, localhost and configured names and domains pass;
# - a request trickled one byte at a time (headers, or a POST body) is
#   closed at --http-request-timeout, not kept alive by each byte; a
#   kept-alive idle connection is closed at the same deadline;
# - --http-max-connections: the connection over the cap gets 503 and is
#   counted, the slots come back when connections close;
# - accept failing with EMFILE (prlimit) pauses the listener: a handful of
#   log lines instead of a busy loop, counted, and the API answers again
#   once descriptors are free;
# - --http-max-response: /logs is cut after whole lines with a partial
#   error line, /histogram and Grafana answer an error, each counted.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 46-http-limits

HL="$IT_DIR/httplimits.py"
counters() {   # NAME...: prints "name=value" of /health counters
    it_curl -fsS --max-time 5 "http://127.0.0.1:$CHTTP/health" |
        python3 -c 'import json, sys
c = json.load(sys.stdin)["counters"]
print(" ".join("%s=%d" % (k, c[k]) for k in sys.argv[1:]))' "$@"
}
# status HOST PATH: the HTTP status of GET PATH sent with that Host header.
status() {
    curl -s -o "$IT_TMP/status.body" -D "$IT_TMP/status.head" \
        -w '%{http_code}' --max-time 5 -H "Host: $1" \
        "http://127.0.0.1:$CHTTP$2"
}

log "Host header: IPs, localhost and --http-host names pass, others get 421"
start_collector hosts --http-host logs.example --http-host .corp.test,my_collector
for h in "127.0.0.1:$CHTTP" "[::1]:$CHTTP" 10.1.2.3 localhost "LOCALHOST:$CHTTP" \
         app.localhost logs.example "logs.example.:$CHTTP" corp.test \
         a.b.corp.test my_collector:7080; do
    assert_eq 200 "$(status "$h" /health)" "Host $h"
done
n=0
for h in evil.example "evil.example:$CHTTP" localhost.evil.example \
         127.0.0.1.evil.example xcorp.test logs.example.evil 'a b'; do
    code=$(status "$h" /api/v1/hosts)
    assert_eq 421 "$code" "Host '$h'"
    n=$((n + 1))
done
grep -q '"error":"Host .*--http-host' "$IT_TMP/status.body" ||
    fail "421 body: $(cat "$IT_TMP/status.body")"
assert_eq 421 "$(status evil.example /health)" "/health with a foreign Host"
n=$((n + 1))
code=$(curl -s -o /dev/null -D "$IT_TMP/cors.head" -w '%{http_code}' \
    -H 'Host: evil.example' -H 'Origin: http://evil.example' \
    -X OPTIONS -H 'Access-Control-Request-Method: GET' \
    "http://127.0.0.1:$CHTTP/api/v1/logs")
assert_eq 421 "$code" "preflight from a foreign Host"
n=$((n + 1))
! grep -qi '^access-control-' "$IT_TMP/cors.head" "$IT_TMP/status.head" ||
    fail "a 421 carries CORS headers"
assert_eq "http_host_refused=$n http_bad_requests=0" \
    "$(counters http_host_refused http_bad_requests)" "421s counted"
"$BUILD/logq" --server "http://localhost:$CHTTP" hosts >/dev/null ||
    fail "logq --server http://localhost:PORT refused"
stop hosts
rc=0
"$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen 127.0.0.1:0 \
    --http 127.0.0.1:0 --http-host 'bad name' -t 2>"$IT_TMP/badhost.err" || rc=$?
assert_eq 2 "$rc" "-t with --http-host 'bad name'"
grep -q -- "--http-host: bad name" "$IT_TMP/badhost.err" ||
    fail "bad --http-host message: $(cat "$IT_TMP/badhost.err")"

log "a trickled request is closed at --http-request-timeout (2 s)"
start_collector slow --http-request-timeout 2s
# 1 byte every 0.5 s: the whole request would take > 20 s; the idle
# timeout (30 s) never fires because every byte resets it.
secs=$(python3 "$HL" trickle "$CHTTP" 0.5 15) || fail "headers trickle: $secs"
python3 -c 'import sys; t = float(sys.argv[1]); sys.exit(not 1.5 <= t <= 5)' \
    "$secs" || fail "headers trickle closed after ${secs}s, want ~2"
secs=$(python3 "$HL" trickle "$CHTTP" 0.5 15 body) || fail "body trickle: $secs"
python3 -c 'import sys; t = float(sys.argv[1]); sys.exit(not 1.5 <= t <= 5)' \
    "$secs" || fail "body trickle closed after ${secs}s, want ~2"
secs=$(python3 "$HL" keepalive "$CHTTP" 10) || fail "keep-alive: $secs"
python3 -c 'import sys; t = float(sys.argv[1]); sys.exit(not 1.5 <= t <= 5)' \
    "$secs" || fail "idle keep-alive closed after ${secs}s, want ~2"
assert_eq "http_request_timeouts=3" "$(counters http_request_timeouts)" \
    "timeouts counted"
stop slow

log "--http-max-connections 4: the fifth gets 503, counted; slots come back"
start_collector cap --http-max-connections 4
python3 "$HL" hold "$CHTTP" 4 6 >"$IT_TMP/hold.out" &
hold_pid=$!
wait_until 30 "4 connections held" grep -q "held 4" "$IT_TMP/hold.out"
sleep 0.3
over=$(python3 "$HL" overcap "$CHTTP")
case $over in
    "HTTP/1.1 503 Service Unavailable" | reset) ;;
    *) fail "over the cap: $over" ;;
esac
wait "$hold_pid" || fail "hold client failed"
wait_until 30 "slots back" health_ok
assert_eq "http_connections_refused=1" \
    "$(counters http_connections_refused)" "refusal counted"
# the gauge: only the /health request itself is open
assert_eq "http_connections_open=1" "$(counters http_connections_open)" \
    "open connections after the clients left"
stop cap

log "EMFILE on accept pauses the listener (prlimit --nofile 64)"
mkdir -p "$IT_TMP/emfile.data"
pf="$IT_TMP/emfile.ports"
it_bg emfile prlimit --nofile=64:64 "$BUILD/logq-collector" \
    --listen 127.0.0.1:0 --http 127.0.0.1:0 --data-dir "$IT_TMP/emfile.data" \
    --port-file "$pf" --http-max-connections 1000
IT_DAEMON[emfile]=1
wait_until 30 "emfile collector port file" test -s "$pf"
read -r CTCP CHTTP <"$pf"
wait_until 20 "emfile collector /health" health_ok
opened=$(python3 "$HL" flood "$CHTTP" 150 3)
log "held $opened connections for 3 s"
wait_until 30 "/health after the flood" health_ok
elog="$IT_TMP/emfile.log"
lines=$(grep -c -i 'accept' "$elog" || true)
log "accept log lines: $lines"
[ "$lines" -le 3 ] || fail "$lines accept lines in 3 s: $(grep -i accept "$elog" | head -3)"
grep -q 'cannot accept HTTP connections, pausing' "$elog" ||
    fail "no pause line in the log"
paused=$(health_counter http_accept_paused)
assert_ge "$paused" 1 "http_accept_paused"
stop emfile

log "--http-max-response 16K: /logs cut after whole lines, others refuse"
start_collector bound --http-max-response 16K
mkdir -p "$IT_TMP/node1.docker"
start_shipper node1 "$IT_TMP/node1.docker"
fake_container node1 web "$IT_TMP/node1.docker" --count 400 --rate 4000
wait_writers 60
wait_until 30 "400 lines stored" \
    sh -c "curl -fsS 'http://127.0.0.1:$CHTTP/api/v1/count' | grep -q '\"total\":400'"
curl -fsS "http://127.0.0.1:$CHTTP/api/v1/logs?limit=0" >"$IT_TMP/cut.jsonl"
python3 - "$IT_TMP/cut.jsonl" <<'EOF' || fail "cut /logs"
import json, sys
raw = open(sys.argv[1], "rb").read()
lines = raw.decode().splitlines()
last = json.loads(lines[-1])
assert last.get("partial") is True and "http-max-response" in last["error"], last
body = len(raw) - len(lines[-1]) - 1
assert 12 * 1024 < body <= 16 * 1024, body
for l in lines[:-1]:
    assert "message" in json.loads(l), l
print("records", len(lines) - 1, "bytes", body)
EOF
rc=0
"$BUILD/logq" --server "http://127.0.0.1:$CHTTP" -n 0 >/dev/null \
    2>"$IT_TMP/cut.err" || rc=$?
assert_eq 2 "$rc" "logq -n 0 over the bound"
grep -q "http-max-response" "$IT_TMP/cut.err" || fail "logq: $(cat "$IT_TMP/cut.err")"
since=$(( $(date +%s) - 3600 ))000000000
code=$(curl -s -o "$IT_TMP/hist.json" -w '%{http_code}' \
    "http://127.0.0.1:$CHTTP/api/v1/histogram?since=$since&step=1s")
assert_eq 500 "$code" "histogram over the bound"
grep -q "http-max-response" "$IT_TMP/hist.json" || fail "$(cat "$IT_TMP/hist.json")"
code=$(curl -s -o "$IT_TMP/graf.json" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' \
    -d '{"range":{"from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z"},"targets":[{"target":"logs","refId":"A","payload":{"limit":1000}}]}' \
    "http://127.0.0.1:$CHTTP/grafana/query")
assert_eq 400 "$code" "Grafana logs table over the bound"
grep -q "http-max-response" "$IT_TMP/graf.json" || fail "$(cat "$IT_TMP/graf.json")"
assert_eq "http_responses_cut=4" "$(counters http_responses_cut)" "cuts counted"

it_pass
