# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# lib.sh: shared helpers for the integration scenarios (sourced, not run).
# A scenario calls it_init NAME, starts real processes with start_collector /
# start_shipper / it_bg, waits with wait_until (always bounded), checks with
# assert_eq / fail, and ends with it_pass. The EXIT trap stops everything the
# scenario started; on success it removes the temp dir, on failure it copies
# the logs to tests/integration/logs/<scenario>/ and prints their tails.
# Binaries come from $LOGQ_BUILD (run.sh sets it; default build/asan).
# Network: 127.0.0.1 only.

set -euo pipefail

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$IT_DIR/../.." && pwd)
BUILD=${LOGQ_BUILD:-$REPO/build/asan}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# latency.py imports fakedocker.py: no __pycache__ left in the source tree.
export PYTHONDONTWRITEBYTECODE=1

IT_NAME=
IT_TMP=
IT_OK=0
CTCP=
CHTTP=
declare -A IT_PIDS=()
declare -A IT_STATUS=()
declare -A IT_DAEMON=()     # collectors and shippers: must exit cleanly
IT_AT_EXIT=()               # commands the EXIT trap runs after stopping all

log() { printf '[%s %s] %s\n' "$(date +%T)" "$IT_NAME" "$*" >&2; }

fail() {
    printf 'FAIL: %s: %s\n' "$IT_NAME" "$*" >&2
    exit 1
}

assert_eq() {   # expected actual message
    [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

assert_ge() {   # actual minimum message
    [ "$1" -ge "$2" ] || fail "$3: expected >= $2, got $1"
}

# it_init NAME: temp dir, traps, binary checks.
it_init() {
    IT_NAME=$1
    IT_TMP=$(mktemp -d /tmp/logq-it.XXXXXX)
    trap it_cleanup EXIT
    trap 'exit 143' TERM INT HUP
    local b
    for b in logq-collector logq-shipper logq; do
        [ -x "$BUILD/$b" ] || fail "missing binary $BUILD/$b (make MODE=asan build)"
    done
    # logq reads no config file of the user running the tests
    # (query/userconf.h); a scenario that tests one names it
    export LOGQ_CONFIG=
    log "temp dir $IT_TMP, binaries from $BUILD"
}

it_pass() {
    IT_OK=1
    it_stop_all
    it_sanitizer_check || { IT_OK=0; fail "sanitizer report in the logs"; }
    local name st
    for name in "${!IT_DAEMON[@]}"; do
        st=${IT_STATUS[$name]:-}
        case $st in
            0 | 143) ;;
            *) IT_OK=0; fail "$name: exit status '$st' on SIGTERM (want 0)" ;;
        esac
    done
    printf 'PASS: %s\n' "$IT_NAME"
}

# it_skip REASON: a loud SKIP and exit 0 (only for a missing environment).
it_skip() {
    IT_OK=1
    printf '\n*** SKIP: %s: %s ***\n\n' "$IT_NAME" "$*"
    exit 0
}

# it_at_exit CMD: run CMD (eval) in the EXIT trap, after the processes stop.
it_at_exit() { IT_AT_EXIT+=("$1"); }

# it_mount_tmpfs DIR SIZE: mounts a tmpfs of SIZE (mount's size=, e.g. 4m)
# on DIR, unmounted at exit. Call it before starting any process. As root
# it mounts. Otherwise, or when root may not mount (no CAP_SYS_ADMIN), it
# runs the whole scenario again as root of a new user and mount namespace
# (unshare -rm: the caller's uid mapped to 0 there; tmpfs is mountable in
# a user namespace, and the mount is seen by nobody outside) and exits
# with that run's status. It skips only where user namespaces are refused
# (a sysctl, a seccomp profile), with unshare's reason.
it_mount_tmpfs() {
    local dir=$1 size=$2 why
    echo "not root" >"$IT_TMP/mount.txt"
    if [ "$(id -u)" = 0 ] &&
        mount -t tmpfs -o "size=$size" logq-it-tmpfs "$dir" \
            2>"$IT_TMP/mount.txt"; then
        it_at_exit "umount '$dir'"
        log "tmpfs of $size mounted on $dir"
        return 0
    fi
    if [ "${LOGQ_IT_USERNS:-0}" = 1 ]; then
        fail "cannot mount a tmpfs in a user namespace: $(cat "$IT_TMP/mount.txt" 2>/dev/null)"
    fi
    why=$(unshare -rm true 2>&1) ||
        it_skip "cannot mount a tmpfs as uid $(id -u) ($(head -c 200 "$IT_TMP/mount.txt" 2>/dev/null | tr -s "\n" " " || true)) and user namespaces are refused here (unshare -rm: ${why:-no reason given})"
    log "uid $(id -u) may not mount: running again as root of a user + mount namespace (unshare -rm)"
    trap - EXIT TERM INT HUP
    rm -rf "$IT_TMP"
    LOGQ_IT_USERNS=1 exec unshare -rm -- bash "$0"
}

# Fails when any process log holds a sanitizer report.
it_sanitizer_check() {
    local f bad=0
    for f in "$IT_TMP"/*.log; do
        [ -e "$f" ] || continue
        if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
            printf 'sanitizer report in %s\n' "$(basename "$f")" >&2
            bad=1
        fi
    done
    return "$bad"
}

# Stops every process still registered: SIGTERM to all, up to 15 s for
# them to exit, then SIGKILL. Exit statuses land in IT_STATUS.
it_stop_all() {
    local name pid i alive
    for name in "${!IT_PIDS[@]}"; do
        kill -TERM "${IT_PIDS[$name]}" 2>/dev/null || true
    done
    for ((i = 0; i < 150; i++)); do
        alive=0
        for pid in "${IT_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for name in "${!IT_PIDS[@]}"; do
        stop "$name" || true
    done
}

it_cleanup() {
    local rc=$?
    trap - EXIT TERM INT HUP
    set +e
    it_stop_all
    local hook
    for hook in "${IT_AT_EXIT[@]}"; do
        eval "$hook"
    done
    if [ "$IT_OK" = 1 ] && [ "$rc" = 0 ]; then
        [ -n "$IT_TMP" ] && rm -rf "$IT_TMP"
        return 0
    fi
    [ -n "$IT_TMP" ] || exit "$rc"
    local keep="$IT_DIR/logs/$IT_NAME" f
    rm -rf "$keep"
    mkdir -p "$keep"
    find "$IT_TMP" -maxdepth 1 -type f \( -name '*.log' -o -name '*.txt' \
        -o -name '*.json' -o -name '*.jsonl' \) -exec cp {} "$keep/" \;
    for f in "$IT_TMP"/*.log; do
        [ -e "$f" ] || continue
        printf -- '---- tail of %s ----\n' "$(basename "$f")" >&2
        tail -n 15 "$f" >&2
    done
    if [ "${LOGQ_KEEP_TMP:-0}" = 1 ]; then
        printf 'FAIL: %s (exit %s); logs kept in %s, temp dir %s kept\n' \
            "$IT_NAME" "$rc" "$keep" "$IT_TMP" >&2
    else
        rm -rf "$IT_TMP"
        printf 'FAIL: %s (exit %s); logs kept in %s (LOGQ_KEEP_TMP=1 keeps %s)\n' \
            "$IT_NAME" "$rc" "$keep" "$IT_TMP" >&2
    fi
    exit "$(( rc == 0 ? 1 : rc ))"
}

# it_bg NAME CMD...: runs CMD in the background, output to $IT_TMP/NAME.log.
it_bg() {
    local name=$1
    shift
    "$@" >>"$IT_TMP/$name.log" 2>&1 &
    IT_PIDS[$name]=$!
}

is_running() { [ -n "${IT_PIDS[$1]:-}" ] && kill -0 "${IT_PIDS[$1]}" 2>/dev/null; }

# kill9 NAME: SIGKILL and reap.
kill9() {
    local pid=${IT_PIDS[$1]:-}
    [ -n "$pid" ] || fail "kill9: no process $1"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "IT_PIDS[$1]" "IT_DAEMON[$1]"
    log "killed -9 $1 (pid $pid)"
}

# stop NAME: SIGTERM, wait up to 15 s, then SIGKILL. Exit status kept in
# IT_STATUS[NAME]; returns 1 if it had to be killed.
stop() {
    local name=$1 pid=${IT_PIDS[$1]:-} i st=0
    [ -n "$pid" ] || return 0
    unset "IT_PIDS[$name]"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name (pid $pid) ignored SIGTERM for 15 s; SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        IT_STATUS[$name]=killed
        return 1
    fi
    wait "$pid" 2>/dev/null || st=$?
    IT_STATUS[$name]=$st
    return 0
}

# wait_until SECONDS DESCRIPTION CMD...: polls CMD every 0.25 s until it
# succeeds or SECONDS of wall time have passed.
wait_until() {
    local secs=$1 what=$2 i deadline
    shift 2
    deadline=$(( $(date +%s) + secs ))
    for ((i = 0; i < secs * 4 + 1; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        [ "$(date +%s)" -lt "$deadline" ] || break
        sleep 0.25
    done
    fail "timed out after ${secs}s waiting for $what"
}

# reserve_port VAR: sets VAR to a port of 127.0.0.1 the scenario keeps
# for its whole life (restarts reuse it), as tests/support/redisserver.h
# picks the unit tests' ports: below the kernel's ephemeral range, so no
# bind to port 0 and no connect() takes it (the daemons of the scenario
# run beside this one, or a client reconnecting to it while its server is
# down, which on a port of the range could even connect to itself), and
# reserved by an abstract unix socket named for it, held by a python3
# (it_bg "portlock-VAR", stopped with the rest), so neither the scenario
# beside nor a unit test picks it.
reserve_port() {
    local var=$1 pf=$IT_TMP/$1.port i
    rm -f "$pf"
    it_bg "portlock-$var" python3 -c 'import os, signal, socket, sys
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    lo, hi = map(int, f.read().split())
if lo - 1024 >= 1024:
    n = min(lo - 1024, 8192)
    base = lo - n
elif 65535 - hi >= 1024:
    base, n = hi + 1, min(65535 - hi, 8192)
else:
    base, n = 1024, 65535 - 1024
at = os.getpid() * 2654435761 % n
for i in range(n):
    port = base + (at + i) % n
    u = socket.socket(socket.AF_UNIX)
    try:
        u.bind("\0logq-test-port-%d" % port)
        t = socket.socket()
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind(("127.0.0.1", port))
        t.listen(1)
        t.close()
    except OSError:
        u.close()
        continue
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        signal.pause()
sys.exit("no free port in %d..%d" % (base, base + n - 1))' "$pf"
    for ((i = 0; i < 100; i++)); do
        [ -s "$pf" ] && break
        is_running "portlock-$var" ||
            fail "no port for $var: $(cat "$IT_TMP/portlock-$var.log")"
        sleep 0.1
    done
    [ -s "$pf" ] || fail "no port for $var in 10 s"
    printf -v "$var" '%s' "$(cat "$pf")"
    log "$var: port ${!var} (reserved)"
}

# redis_port: RPORT for the scenario's own redis-server (reserve_port).
redis_port() { reserve_port RPORT; }

# redis_is_ours NAME: the redis-server answering on $RPORT is NAME's (its
# it_bg pid is INFO's process_id), not another's on the same port.
redis_is_ours() {
    [ "$(redis-cli -p "$RPORT" info server 2>/dev/null | tr -d '\r' |
        sed -n 's/^process_id://p')" = "${IT_PIDS[$1]:-none}" ]
}

# start_collector [NAME] [EXTRA ARGS...]: data dir $IT_TMP/NAME.data;
# ports from COLLECTOR_TCP_PORT / COLLECTOR_HTTP_PORT (default 0 = any).
# Sets CTCP and CHTTP, returns once /health answers.
start_collector() {
    local name=${1:-collector}
    shift || true
    local pf="$IT_TMP/$name.ports"
    rm -f "$pf"
    mkdir -p "$IT_TMP/$name.data"
    it_bg "$name" "$BUILD/logq-collector" \
        --listen "127.0.0.1:${COLLECTOR_TCP_PORT:-0}" \
        --http "127.0.0.1:${COLLECTOR_HTTP_PORT:-0}" \
        --data-dir "$IT_TMP/$name.data" --port-file "$pf" "$@"
    IT_DAEMON[$name]=1
    local i
    for ((i = 0; i < 120; i++)); do
        [ -s "$pf" ] && grep -qE '^[0-9]+ [0-9]+$' "$pf" && break
        is_running "$name" || fail "collector $name exited at start"
        sleep 0.25
    done
    [ -s "$pf" ] || fail "collector $name wrote no port file in 30 s"
    read -r CTCP CHTTP <"$pf"
    wait_until 20 "collector $name /health" health_ok
    log "collector $name up: tcp $CTCP http $CHTTP"
}

health_ok() {
    it_curl -fsS --max-time 2 "$(it_scheme)://127.0.0.1:$CHTTP/health" |
        grep -q '"ok"'
}

# make_token FILE: a fresh random 64-hex-digit token in FILE, mode 0600 (token
# files are refused when the group or others may read them, or when shorter
# than 32 bytes: common/secret.c).
make_token() {
    (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$1")
}

# enroll FILE HOST...: per-host shipper tokens (SECURITY.md "Shipper
# identity"): appends "HOST TOKEN" for each host to FILE, the collector's
# --token-file, and writes each host's own token alone to FILE.d/HOST, the
# shipper's --token-file; all 0600.
enroll() {
    local file=$1 host tok
    shift
    (umask 077; mkdir -p "$file.d"; touch "$file")
    for host in "$@"; do
        tok=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
        (umask 077; printf '%s %s\n' "$host" "$tok" >>"$file"
         printf '%s\n' "$tok" >"$file.d/$host")
    done
}

# IT_HTTP_TOKEN: when set, the bearer token it_curl, health_counter and lq
# send (the scenario started the collector with --http-token-file).
IT_HTTP_TOKEN=

# IT_TLS_CA: when set, the collector's API speaks TLS (the scenario gave
# --tls-cert): health_ok, health_counter and lq use https:// and this CA
# (it_curl passes it as --cacert).
IT_TLS_CA=
it_scheme() { if [ -n "$IT_TLS_CA" ]; then echo https; else echo http; fi; }

# it_curl ARGS...: curl with the scenario's bearer token and CA, if any.
it_curl() {
    local extra=()
    [ -n "$IT_HTTP_TOKEN" ] && extra+=(-H "Authorization: Bearer $IT_HTTP_TOKEN")
    [ -n "$IT_TLS_CA" ] && extra+=(--cacert "$IT_TLS_CA")
    curl "${extra[@]}" "$@"
}

# health_counter NAME: prints /health counters.NAME (fails if absent).
health_counter() {
    it_curl -fsS --max-time 5 "$(it_scheme)://127.0.0.1:$CHTTP/health" |
        python3 -c 'import json, sys
c = json.load(sys.stdin)["counters"]
print(int(c[sys.argv[1]]))' "$1"
}

# start_shipper NAME DOCKER_ROOT [EXTRA ARGS...]: hostname NAME, state dir
# $IT_TMP/NAME.state (kept across restarts).
start_shipper() {
    local name=$1 root=$2
    shift 2
    mkdir -p "$IT_TMP/$name.state"
    it_bg "$name" "$BUILD/logq-shipper" --collector "127.0.0.1:$CTCP" \
        --docker-root "$root" --state-dir "$IT_TMP/$name.state" \
        --hostname "$name" "$@"
    IT_DAEMON[$name]=1
    sleep 0.2
    is_running "$name" || fail "shipper $name exited at start"
    log "shipper $name up on $root"
}

# lq ARGS...: the logq CLI against the scenario's collector.
lq() {
    LOGQ_TOKEN=$IT_HTTP_TOKEN LOGQ_TLS_CA=$IT_TLS_CA "$BUILD/logq" \
        --server "$(it_scheme)://127.0.0.1:$CHTTP" "$@"
}

# fake_container HOST NAME ROOT ARGS...: background fakedocker writer
# (process name fd-HOST-NAME), manifest $IT_TMP/manifest-HOST-NAME.jsonl.
fake_container() {
    local host=$1 name=$2 root=$3
    shift 3
    it_bg "fd-$host-$name" python3 "$IT_DIR/fakedocker.py" --root "$root" \
        --host "$host" --name "$name" \
        --manifest "$IT_TMP/manifest-$host-$name.jsonl" "$@"
}

# wait_writers SECONDS: waits for every fd-* writer to finish successfully.
wait_writers() {
    local secs=$1 name i
    for ((i = 0; i < secs * 4; i++)); do
        local busy=0
        for name in "${!IT_PIDS[@]}"; do
            [[ $name == fd-* ]] && is_running "$name" && busy=1
        done
        [ "$busy" = 0 ] && break
        sleep 0.25
    done
    for name in "${!IT_PIDS[@]}"; do
        [[ $name == fd-* ]] || continue
        is_running "$name" && fail "writer $name still running after ${secs}s"
        stop "$name"
        assert_eq 0 "${IT_STATUS[$name]}" "writer $name exit status"
    done
}

# all_found TOTAL MANIFEST...: true once logq returns TOTAL distinct markers.
all_found() {
    local total=$1 n
    shift
    n=$(lq --json --all 2>/dev/null | python3 "$IT_DIR/check.py" count "$@")
    echo "$n" >"$IT_TMP/found.txt"
    [ "$n" -ge "$total" ]
}

# wait_all_found SECONDS MANIFEST...: waits until every manifest line is
# searchable; on timeout shows check.py's report (which lines are missing).
wait_all_found() {
    local secs=$1 total
    shift
    total=$(manifest_lines "$@")
    rm -f "$IT_TMP/found.txt"
    if ! (wait_until "$secs" "all $total lines searchable" all_found "$total" "$@") \
        2>/dev/null; then
        lq --json -n 1000000 >"$IT_TMP/timeout-out.jsonl" 2>&1 || true
        python3 "$IT_DIR/check.py" verify "$@" <"$IT_TMP/timeout-out.jsonl" || true
        fail "timed out after ${secs}s: $(cat "$IT_TMP/found.txt" 2>/dev/null || echo 0) of $total lines searchable"
    fi
}

manifest_lines() { cat "$@" | wc -l | tr -d ' '; }
