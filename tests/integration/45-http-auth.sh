#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 45-http-auth: who gets in (SECURITY.md). A collector with
# --http-token-file (a read and an admin token) and per-host shipper tokens:
# every request but GET/HEAD /health without a valid bearer token gets 401
# with WWW-Authenticate: Bearer and a JSON error, counted in /health;
# /health without a token shows the status only; logq sends $LOGQ_TOKEN or
# --token-file and fails with exit 2 and a clear message on a 401; no
# response carries CORS headers. Token files that the group or others may
# read, or shorter than 32 bytes, stop the collector, the shipper and logq
# with an error naming the file. A non-loopback --listen/--http without its
# token file is refused unless --insecure, which warns at every start.
# SIGHUP re-reads both token files: a rotated read token and a newly
# enrolled shipper work at once, the old token is refused; a bad file keeps
# the old sets (warned, counted).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 45-http-auth

make_token "$IT_TMP/token"
enroll "$IT_TMP/hosts" node1
make_token "$IT_TMP/t-read"
make_token "$IT_TMP/t-admin"
make_token "$IT_TMP/t-wrong"
TREAD=$(cat "$IT_TMP/t-read")
TADMIN=$(cat "$IT_TMP/t-admin")
(umask 077; printf '# name role token\ngrafana read %s\n\nops\tadmin %s  \n' \
    "$TREAD" "$TADMIN" >"$IT_TMP/http-tokens")

log "token files the group or others may read, or too short, are refused"
# refused: expect exit 2 and every word of the message in stderr
refused() {   # what want... -- command...
    local what=$1 rc=0 w
    shift
    local want=()
    while [ "$1" != -- ]; do want+=("$1"); shift; done
    shift
    "$@" >"$IT_TMP/refused.out" 2>"$IT_TMP/refused.err" || rc=$?
    assert_eq 2 "$rc" "$what: exit status"
    for w in "${want[@]}"; do
        grep -qF -- "$w" "$IT_TMP/refused.err" ||
            fail "$what: '$w' not in: $(cat "$IT_TMP/refused.err")"
    done
}
cp "$IT_TMP/http-tokens" "$IT_TMP/open-tokens"
chmod 0644 "$IT_TMP/open-tokens"
mkdir -p "$IT_TMP/x.data"
refused "collector, 0644 --http-token-file" "$IT_TMP/open-tokens" "mode 0644" -- \
    "$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen 127.0.0.1:0 \
    --http 127.0.0.1:0 --http-token-file "$IT_TMP/open-tokens" -t
cp "$IT_TMP/token" "$IT_TMP/open-token"
chmod 0640 "$IT_TMP/open-token"
refused "collector, 0640 --token-file" "$IT_TMP/open-token" "mode 0640" -- \
    "$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen 127.0.0.1:0 \
    --http 127.0.0.1:0 --token-file "$IT_TMP/open-token" -t
(umask 077; printf 'short-but-private\n' >"$IT_TMP/short-token"
 printf 'node1 short-but-private\n' >"$IT_TMP/short-hosts")
refused "collector, short token in --token-file" "$IT_TMP/short-hosts:1" \
    "32 to 1024" -- \
    "$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen 127.0.0.1:0 \
    --http 127.0.0.1:0 --token-file "$IT_TMP/short-hosts" -t
refused "collector, the old shared-token --token-file" "$IT_TMP/token" \
    "single shared token" "HOST TOKEN" -- \
    "$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen 127.0.0.1:0 \
    --http 127.0.0.1:0 --token-file "$IT_TMP/token" -t
mkdir -p "$IT_TMP/y.docker" "$IT_TMP/y.state"
refused "shipper, 0640 --token-file" "$IT_TMP/open-token" "mode 0640" -- \
    "$BUILD/logq-shipper" --collector 127.0.0.1:1 --docker-root "$IT_TMP/y.docker" \
    --state-dir "$IT_TMP/y.state" --hostname y --token-file "$IT_TMP/open-token"
refused "shipper, short --token-file" "$IT_TMP/short-token" "at least 32" -- \
    "$BUILD/logq-shipper" --collector 127.0.0.1:1 --docker-root "$IT_TMP/y.docker" \
    --state-dir "$IT_TMP/y.state" --hostname y --token-file "$IT_TMP/short-token"

log "a non-loopback port without its token file is refused (-t: nothing binds)"
refused "--listen 0.0.0.0 without --token-file" "--listen 0.0.0.0:7070" \
    "--token-file" "--insecure" -- \
    "$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" -t
refused "--listen [::] without --token-file" "--listen [::]:0" -- \
    "$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen '[::]:0' \
    --http 127.0.0.1:0 --http-token-file "$IT_TMP/http-tokens" -t
refused "--http 0.0.0.0 without --http-token-file" "--http 0.0.0.0:0" \
    "--http-token-file" -- \
    "$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen 0.0.0.0:0 \
    --token-file "$IT_TMP/hosts" --http 0.0.0.0:0 -t
"$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen 0.0.0.0:0 \
    --http 0.0.0.0:0 --token-file "$IT_TMP/hosts" \
    --http-token-file "$IT_TMP/http-tokens" -t >/dev/null ||
    fail "both token files given: -t refused"
"$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen 0.0.0.0:0 \
    --http 0.0.0.0:0 --insecure -t >/dev/null || fail "--insecure: -t refused"

log "--insecure logs a warning at every start"
start_collector insecure --insecure
grep -q 'warn.*--insecure' "$IT_TMP/insecure.log" ||
    fail "no --insecure warning in the collector's log"
stop insecure

start_collector collector --token-file "$IT_TMP/hosts" \
    --http-token-file "$IT_TMP/http-tokens"
mkdir -p "$IT_TMP/node1.docker"
start_shipper node1 "$IT_TMP/node1.docker" --token-file "$IT_TMP/hosts.d/node1"
fake_container node1 web "$IT_TMP/node1.docker" --count 50 --rate 100
wait_writers 30
IT_HTTP_TOKEN=$TREAD
wait_all_found 30 "$IT_TMP/manifest-node1-web.jsonl"
IT_HTTP_TOKEN=

base="http://127.0.0.1:$CHTTP"
n401=0
# status METHOD PATH [curl args...]: prints the status; headers in hdr.txt,
# body in body.txt.
status() {
    local m=$1 p=$2
    shift 2
    local head=()
    [ "$m" = HEAD ] && head=(-I)
    curl -sS --max-time 10 -X "$m" "${head[@]}" -D "$IT_TMP/hdr.txt" \
        -o "$IT_TMP/body.txt" -w '%{http_code}' "$@" "$base$p"
}
# denied METHOD PATH [curl args...]: 401, the Bearer challenge, a JSON error.
denied() {
    local m=$1 p=$2
    shift 2
    assert_eq 401 "$(status "$m" "$p" "$@")" "$m $p $*"
    grep -qi '^WWW-Authenticate: Bearer' "$IT_TMP/hdr.txt" ||
        fail "$m $p: no WWW-Authenticate: Bearer"
    if [ "$m" != HEAD ]; then
        grep -qi '^Content-Type: application/json' "$IT_TMP/hdr.txt" ||
            fail "$m $p: 401 not JSON"
        python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["error"]' \
            "$IT_TMP/body.txt" || fail "$m $p: no JSON error in the 401"
    fi
    n401=$((n401 + 1))
}

log "no token, a wrong one or another scheme: 401 everywhere but /health"
for p in /api/v1/logs /api/v1/follow /api/v1/hosts /api/v1/containers \
    /api/v1/count /api/v1/histogram /api/v1/stats /api/v1/metrics \
    /api/v1/metrics/query /api/v1/health /grafana/ /grafana/metrics \
    /no/such/path; do
    denied GET "$p"
done
denied GET /api/v1/logs -H "Authorization: Bearer $(cat "$IT_TMP/t-wrong")"
grep -qi 'error="invalid_token"' "$IT_TMP/hdr.txt" ||
    fail "a wrong token: no error=\"invalid_token\" in the challenge"
denied GET /api/v1/logs -H "Authorization: Basic $TREAD"
denied GET /api/v1/logs -H "Authorization: Bearer ${TREAD:0:32}"
denied GET /api/v1/logs -H "Authorization: Bearer ${TREAD}x"
denied HEAD /api/v1/logs
denied POST /grafana/search -H 'Content-Type: application/json' -d '{}'
denied OPTIONS /api/v1/logs -H "Origin: http://evil.example" \
    -H 'Access-Control-Request-Method: GET'
denied GET '/health/'

log "/health without a token: the status only"
assert_eq 200 "$(status GET /health)" "GET /health without a token"
assert_eq '{"status":"ok"}' "$(tr -d '\n' <"$IT_TMP/body.txt")" \
    "/health without a token (no peers, versions or counters)"
assert_eq 200 "$(status HEAD /health)" "HEAD /health without a token"
assert_eq 200 "$(status GET /health -H "Authorization: Bearer $TADMIN")" \
    "GET /health with the admin token"
python3 - "$IT_TMP/body.txt" "$n401" <<'PY' || fail "/health with a token"
import json, sys
h = json.load(open(sys.argv[1]))
assert h["version"], h
assert [s for s in h["shippers"] if s["host"] == "node1" and s["peer"]], h
assert h["counters"]["http_unauthorized"] == int(sys.argv[2]), \
    (h["counters"]["http_unauthorized"], sys.argv[2])
PY

log "both roles read; a token's trailing spaces in the file are trimmed"
for t in "$TREAD" "$TADMIN"; do
    assert_eq 200 "$(status GET '/api/v1/logs?limit=1' -H "Authorization: Bearer $t")" \
        "GET /api/v1/logs with a valid token"
    assert_eq 200 "$(status GET /api/v1/hosts -H "authorization: bearer $t")" \
        "scheme and header name are case-insensitive"
done

log "no CORS: no Access-Control-* header, even to a preflight"
status OPTIONS /api/v1/logs -H "Authorization: Bearer $TREAD" \
    -H "Origin: http://evil.example" -H 'Access-Control-Request-Method: GET' \
    >/dev/null
! grep -qi '^Access-Control-' "$IT_TMP/hdr.txt" ||
    fail "a preflight got CORS headers: $(cat "$IT_TMP/hdr.txt")"
status GET /api/v1/hosts -H "Authorization: Bearer $TREAD" \
    -H "Origin: http://evil.example" >/dev/null
! grep -qi '^Access-Control-' "$IT_TMP/hdr.txt" ||
    fail "a GET with Origin got CORS headers"

log "logq: no token, a wrong one, a public token file: exit 2 and why"
refused "logq without a token" "asks for a token" "LOGQ_TOKEN" -- \
    env LOGQ_TOKEN= "$BUILD/logq" --server "$base" web
refused "logq with a wrong token" "refused the token" -- \
    env LOGQ_TOKEN="$(cat "$IT_TMP/t-wrong")" "$BUILD/logq" --server "$base" web
refused "logq hosts without a token" "asks for a token" -- \
    env LOGQ_TOKEN= "$BUILD/logq" hosts --server "$base"
refused "logq, 0640 --token-file" "$IT_TMP/open-token" "mode 0640" -- \
    env LOGQ_TOKEN= "$BUILD/logq" --server "$base" --token-file "$IT_TMP/open-token" web
refused "logq, short \$LOGQ_TOKEN" "at least 32" -- \
    env LOGQ_TOKEN=short "$BUILD/logq" --server "$base" web

log "logq: \$LOGQ_TOKEN and --token-file (a file of one token) both work"
n=$(env LOGQ_TOKEN="$TREAD" "$BUILD/logq" --server "$base" --json -n 0 | wc -l)
assert_eq 50 "$n" "lines with \$LOGQ_TOKEN"
n=$(env LOGQ_TOKEN= "$BUILD/logq" --token-file "$IT_TMP/t-admin" --server "$base" \
    --json -n 0 | wc -l)
assert_eq 50 "$n" "lines with --token-file"
n=$(env LOGQ_TOKEN= "$BUILD/logq" containers --token-file "$IT_TMP/t-read" \
    --server "$base" --json | grep -c web || true)
assert_ge "$n" 1 "logq containers with --token-file"
env LOGQ_TOKEN= "$BUILD/logq" --token-file "$IT_TMP/t-read" --server "$base" \
    count web >/dev/null || fail "logq --token-file before the command: count"

log "SIGHUP: rotated token files apply without a restart; a bad one is kept out"
make_token "$IT_TMP/t-new"
TNEW=$(cat "$IT_TMP/t-new")
(umask 077; printf 'grafana read %s\nops admin %s\n' "$TNEW" "$TADMIN" \
    >"$IT_TMP/http-tokens.new")
mv "$IT_TMP/http-tokens.new" "$IT_TMP/http-tokens"
enroll "$IT_TMP/hosts" node2            # a host enrolled after the start
IT_HTTP_TOKEN=$TADMIN
reloads_are() {   # COUNTER N
    [ "$(health_counter "$1")" = "$2" ]
}
kill -HUP "${IT_PIDS[collector]}"
wait_until 30 "the token files reloaded" reloads_are token_reloads 1
assert_eq 401 "$(status GET /api/v1/hosts -H "Authorization: Bearer $TREAD")" \
    "the replaced read token after SIGHUP"
assert_eq 200 "$(status GET /api/v1/hosts -H "Authorization: Bearer $TNEW")" \
    "the new read token after SIGHUP"
mkdir -p "$IT_TMP/node2.docker"
start_shipper node2 "$IT_TMP/node2.docker" --token-file "$IT_TMP/hosts.d/node2"
fake_container node2 web "$IT_TMP/node2.docker" --count 20 --rate 100
wait_writers 30
wait_all_found 30 "$IT_TMP/manifest-node2-web.jsonl"
(umask 077; printf 'grafana read short\n' >"$IT_TMP/http-tokens")
kill -HUP "${IT_PIDS[collector]}"
wait_until 30 "the bad token file refused" reloads_are token_reload_errors 1
grep -q 'token files not reloaded.*http-tokens' "$IT_TMP/collector.log" ||
    fail "no warning naming the bad token file"
assert_eq 200 "$(status GET /api/v1/hosts -H "Authorization: Bearer $TNEW")" \
    "the new token still in force after a bad file"
assert_eq 1 "$(health_counter token_reloads)" "token_reloads"
IT_HTTP_TOKEN=

log "SIGHUP while the collector starts: held, then taken as a reload"
# Its log a FIFO without a reader: the collector waits in its start (as
# while a large store opens) until it is read.
stop collector || fail "collector did not stop"
mkfifo "$IT_TMP/early.fifo"
it_bg early "$BUILD/logq-collector" --listen 127.0.0.1:0 --http 127.0.0.1:0 \
    --data-dir "$IT_TMP/collector.data" --port-file "$IT_TMP/early.ports" \
    --token-file "$IT_TMP/hosts" --log-file "$IT_TMP/early.fifo"
hup_held() {   # SigBlk of /proc/PID/status holds SIGHUP (bit 0)
    local m
    m=$(awk '/^SigBlk:/ {print $2}' "/proc/${IT_PIDS[early]}/status") &&
        (( (16#$m & 1) == 1 ))
}
wait_until 30 "the starting collector holding SIGHUP" hup_held
kill -HUP "${IT_PIDS[early]}"
it_bg earlylog cat "$IT_TMP/early.fifo"
wait_until 30 "the early collector's port file" \
    grep -qE '^[0-9]+ [0-9]+$' "$IT_TMP/early.ports"
is_running early || fail "a SIGHUP during the start killed the collector"
read -r CTCP CHTTP <"$IT_TMP/early.ports"
wait_until 30 "the reload of a SIGHUP held at start" \
    reloads_are token_reloads 1
stop early || fail "the early collector did not stop"

it_pass
