#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 09-valgrind: the release binaries (make all; the ASan build cannot run
# under valgrind) under valgrind memcheck, end to end: a collector with
# both token files and a private redis-server, a shipper with its own
# token sampling the fixture /proc and /sys trees, a fake container writing
# through a rotation, then logq running every command against them
# (search, context with a regex, follow, count, histogram, containers,
# stats, health, metrics) and a few bad requests (a bad query, a wrong
# token, a bad metrics parameter, a cut Grafana body). Every process must report no memcheck error and no definite or
# indirect leak (valgrind -q prints nothing, --error-exitcode otherwise),
# and the daemons must exit 0 on SIGTERM. SECURITY.md "Hostile input".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 09-valgrind

command -v valgrind >/dev/null ||
    fail "valgrind missing (provisioning/deps.sh installs it)"
command -v redis-server >/dev/null ||
    fail "redis-server missing (provisioning/deps.sh installs it)"
REL=$REPO/build/release
for b in logq-collector logq-shipper logq; do
    [ -x "$REL/$b" ] || fail "missing $REL/$b (make all)"
done
# lib.sh runs $BUILD/<program>: make that a valgrind wrapper per program,
# one log per process (vg-<program>.<pid>.log, kept on failure).
# valgrind.supp: PCRE2's JIT code only (its reasons are there).
VG=$IT_TMP/vg
mkdir -p "$VG"
for b in logq-collector logq-shipper logq; do
    cat >"$VG/$b" <<EOF
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full \\
    --suppressions="$IT_DIR/valgrind.supp" \\
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \\
    --log-file="$IT_TMP/vg-$b.%p.log" "$REL/$b" "\$@"
EOF
    chmod +x "$VG/$b"
done
BUILD=$VG

FIX=$REPO/tests/data/metrics/v2/t0
redis_port
it_bg redis redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
    --appendonly no --daemonize no --dir "$IT_TMP"
wait_until 20 "redis-server on $RPORT" redis_is_ours redis

enroll "$IT_TMP/hosts" node1
make_token "$IT_TMP/t-admin"
IT_HTTP_TOKEN=$(cat "$IT_TMP/t-admin")
(umask 077; printf 'ops admin %s\n' "$IT_HTTP_TOKEN" >"$IT_TMP/http-tokens")
start_collector collector --token-file "$IT_TMP/hosts" \
    --http-token-file "$IT_TMP/http-tokens" --redis "127.0.0.1:$RPORT" \
    --block-size 4096
mkdir -p "$IT_TMP/node1/containers"
start_shipper node1 "$IT_TMP/node1/containers" --token-file "$IT_TMP/hosts.d/node1" \
    --metrics-interval 1 --proc-root "$FIX/proc" --sys-root "$FIX/sys" \
    --host-root "$FIX/host"
# the shipper is slow to start under valgrind; a rotated file it has not
# opened yet could be gone (max-file) before it looks
wait_until 60 "shipper started" grep -q 'main: started' "$IT_TMP/node1.log"
fake_container node1 web "$IT_TMP/node1/containers" --image nginx:1.25 \
    --count 300 --rate 100 --max-size 65536 --max-file 4 --long-every 50 \
    --long-size 20000 --stderr-every 4
wait_writers 60
wait_all_found 60 "$IT_TMP"/manifest-*.jsonl
wait_until 30 "metrics in Redis" \
    sh -c "redis-cli -p $RPORT zcard logq:names | grep -qv '^0$'"

log "every logq command under valgrind"
lq_ok() {   # logq ARGS... must exit 0 (or 1: no match) under valgrind
    local rc=0
    lq "$@" >"$IT_TMP/lq.out" 2>&1 || rc=$?
    case $rc in
        0 | 1) ;;
        *) fail "logq $* exited $rc: $(tail -n 3 "$IT_TMP/lq.out")" ;;
    esac
}
lq_ok -n 50 --json
lq_ok -C 2 -n 5 -e 'line [0-9]+' -i --container web
lq_ok count --by stream
lq_ok histogram --step 1m --since 1h
lq_ok containers
lq_ok stats
lq_ok health
lq_ok metrics host.cpu.user_pct --since 10m --step 10s
# follow for 6 s, then SIGTERM: logq stops cleanly (and is leak-checked)
rc=0
LOGQ_TOKEN=$IT_HTTP_TOKEN timeout --preserve-status 6 "$BUILD/logq" \
    --server "http://127.0.0.1:$CHTTP" -f -n 3 >"$IT_TMP/follow.out" 2>&1 ||
    rc=$?
case $rc in 0 | 1) ;; *) fail "logq -f exited $rc" ;; esac
[ "$(wc -l <"$IT_TMP/follow.out")" -ge 3 ] || fail "logq -f printed no history"

log "bad requests"
rc=0
lq '"unterminated' >"$IT_TMP/bad.out" 2>&1 || rc=$?
assert_eq 2 "$rc" "logq with a bad query"
rc=0
LOGQ_TOKEN=$(printf 'x%.0s' $(seq 40)) "$BUILD/logq" \
    --server "http://127.0.0.1:$CHTTP" hosts >"$IT_TMP/401.out" 2>&1 || rc=$?
assert_eq 2 "$rc" "logq with a wrong token"
code=$(it_curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$CHTTP/api/v1/metrics/query?name=x&since=bogus")
assert_eq 400 "$code" "metrics query with a bad since"
code=$(it_curl -s -o /dev/null -w '%{http_code}' -X POST \
    --data '{"targets":[{"target":' "http://127.0.0.1:$CHTTP/grafana/query")
assert_eq 400 "$code" "grafana query with a cut body"

it_stop_all
n=0
for f in "$IT_TMP"/vg-*.log; do
    [ -e "$f" ] || fail "no valgrind log written"
    [ ! -s "$f" ] || fail "valgrind: $(basename "$f"): $(head -n 20 "$f")"
    n=$((n + 1))
done
log "$n processes ran clean under valgrind"
it_pass
