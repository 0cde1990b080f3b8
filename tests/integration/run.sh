#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh BUILD_DIR [SCENARIO...]: runs the integration scenarios (all
# tests/integration/NN-*.sh, or those named: "10", "10-end-to-end" or the
# file name), each under timeout(1), and prints a summary (each scenario's
# seconds, slowest first) ending with the line "integration: N passed, M
# failed in S s". Exit 1 if any failed. A scenario
# that leaves a process of its own running fails too (the process is killed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [SCENARIO...]" >&2
    exit 2
fi
build=$1
shift
case $build in /*) ;; *) build=$repo/$build ;; esac
export LOGQ_BUILD=$build

# Per-scenario time limits in seconds (default 240). The fault scenarios
# run for minutes under LOGQ_SOAK=1 (make soak).
limit_for() {
    case $1 in
        9?-fault-*) if [ "${LOGQ_SOAK:-0}" = 1 ]; then echo 2400; else echo 240; fi ;;
        10-*) echo 240 ;;
        20-*) echo 240 ;;
        30-*) echo 150 ;;
        40-*) echo 180 ;;
        50-*) echo 420 ;;
        60-*) echo 420 ;;   # ansible-lint: ~70 CPU-s, minutes on a loaded machine
        80-*) echo 600 ;;
        *) echo 240 ;;
    esac
}

scenarios=()
if [ $# -eq 0 ]; then
    for f in "$here"/[0-9][0-9]-*.sh; do
        scenarios+=("$f")
    done
else
    for want in "$@"; do
        want=${want%.sh}
        found=
        for f in "$here"/[0-9][0-9]-*.sh; do
            b=$(basename "$f" .sh)
            if [ "$b" = "$want" ] || [ "${b%%-*}" = "$want" ]; then
                found=$f
            fi
        done
        if [ -z "$found" ]; then
            echo "run.sh: no scenario named $want" >&2
            exit 2
        fi
        scenarios+=("$found")
    done
fi

# timeout(1) makes itself a process group leader: everything a scenario
# starts (unless it calls setsid) is in the group whose id is timeout's pid.
# run.sh kills that group when it is itself stopped, and after each scenario
# checks that nothing of the group is left running (a leftover collector or
# shipper would hold ports and disks and skew the next scenarios).
tpid=
stop_group() {
    [ -n "$tpid" ] && kill -TERM -- "-$tpid" 2>/dev/null
    exit 130
}
trap stop_group INT TERM HUP

# leftovers PGID: waits up to 5 s for the group to empty; prints what is
# still in it, then kills it.
leftovers() {
    local i left
    for ((i = 0; i < 20; i++)); do
        left=$(pgrep -g "$1" 2>/dev/null || true)
        [ -z "$left" ] && return 0
        sleep 0.25
    done
    # shellcheck disable=SC2086 # a list of pids
    ps -o pid=,args= -p "$(echo $left | tr ' ' ,)" 2>/dev/null || true
    kill -KILL -- "-$1" 2>/dev/null || true
}

passed=0
failed=0
results=()
t_all=$(date +%s)
for f in "${scenarios[@]}"; do
    name=$(basename "$f" .sh)
    limit=$(limit_for "$name")
    echo "=== $name (limit ${limit}s)"
    # Logs of an earlier failed run of this scenario would mislead.
    rm -rf "$here/logs/$name"
    start=$(date +%s)
    rc=0
    timeout -k 20 "$limit" bash "$f" </dev/null &
    tpid=$!
    wait "$tpid" || rc=$?
    left=$(leftovers "$tpid")
    tpid=
    secs=$(( $(date +%s) - start ))
    why="exit $rc"
    [ "$rc" = 124 ] && why="timed out after ${limit}s"
    if [ -n "$left" ]; then
        printf 'FAIL: %s: processes left running (killed):\n%s\n' "$name" \
            "$left"
        [ "$rc" = 0 ] && rc=1 && why="left processes running"
    fi
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        results+=("$(printf '%4d s  PASS  %s' "$secs" "$name")")
    else
        failed=$((failed + 1))
        results+=("$(printf '%4d s  FAIL  %s (%s; logs in tests/integration/logs/%s/)' \
            "$secs" "$name" "$why" "$name")")
    fi
    echo "=== $name: ${secs}s"
done

echo "=== summary (seconds per scenario, slowest first)"
printf '%s\n' "${results[@]}" | sort -rn
echo "integration: $passed passed, $failed failed in $(( $(date +%s) - t_all )) s"
[ "$failed" = 0 ]
