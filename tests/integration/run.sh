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

# LOGQ_IT_JOBS (default 2; 1 under LOGQ_SOAK=1, whose scenarios load the
# machine for minutes) scenarios run at a time: most of a scenario's time
# is waiting (for lines, timers, restarts), not CPU. Each one's output then
# goes to a file, shown whole when it ends. A scenario named in run_alone
# runs with nothing beside it: 30 and 31 measure latencies, 80 takes fixed
# names, addresses and ports (the demo's). LOGQ_IT_JOBS=1 runs them one
# after the other with their output as it comes.
if [ "${LOGQ_SOAK:-0}" = 1 ]; then
    jobs_max=${LOGQ_IT_JOBS:-1}
else
    jobs_max=${LOGQ_IT_JOBS:-2}
fi
run_alone() {
    case $1 in
        30-* | 31-* | 80-*) return 0 ;;
    esac
    return 1
}
outdir=$(mktemp -d /tmp/logq-run.XXXXXX)

# timeout(1) makes itself a process group leader: everything a scenario
# starts (unless it calls setsid) is in the group whose id is timeout's pid.
# run.sh kills those groups when it is itself stopped, and after each
# scenario checks that nothing of its group is left running (a leftover
# collector or shipper would hold ports and disks and skew the next
# scenarios).
declare -A run_name=() run_start=() run_limit=()
stop_group() {
    local p
    for p in "${!run_name[@]}"; do
        kill -TERM -- "-$p" 2>/dev/null
    done
    rm -rf "$outdir"
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

# launch FILE: starts one scenario under timeout(1) in the background.
launch() {
    local name limit
    name=$(basename "$1" .sh)
    limit=$(limit_for "$name")
    echo "=== $name (limit ${limit}s)"
    # Logs of an earlier failed run of this scenario would mislead.
    rm -rf "$here/logs/$name"
    if [ "$jobs_max" -le 1 ]; then
        timeout -k 20 "$limit" bash "$1" </dev/null &
    else
        timeout -k 20 "$limit" bash "$1" </dev/null >"$outdir/$name.out" 2>&1 &
    fi
    run_name[$!]=$name
    run_start[$!]=$(date +%s)
    run_limit[$!]=$limit
}

# finish PID RC: the scenario's output (when kept), leftovers, result.
finish() {
    local p=$1 rc=$2 name=${run_name[$1]} left secs why
    unset "run_name[$p]"
    left=$(leftovers "$p")
    secs=$(( $(date +%s) - run_start[$p] ))
    if [ "$jobs_max" -gt 1 ]; then
        echo "=== $name (output)"
        cat "$outdir/$name.out"
    fi
    why="exit $rc"
    [ "$rc" = 124 ] && why="timed out after ${run_limit[$p]}s"
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
        # Scenarios built on lib.sh keep their logs; the others only
        # printed their output above.
        local where="its output above"
        [ -d "$here/logs/$name" ] && where="logs in tests/integration/logs/$name/"
        results+=("$(printf '%4d s  FAIL  %s (%s; %s)' \
            "$secs" "$name" "$why" "$where")")
    fi
    echo "=== $name: ${secs}s"
}

# wait_one: waits for any running scenario to end and finishes it.
wait_one() {
    local p rc=0
    wait -n -p p "${!run_name[@]}" || rc=$?
    finish "$p" "$rc"
}

for f in "${scenarios[@]}"; do
    name=$(basename "$f" .sh)
    # Room for it: one slot free, and nothing beside a run_alone one.
    while [ "${#run_name[@]}" -ge "$jobs_max" ] ||
        { [ "${#run_name[@]}" -gt 0 ] && run_alone "$name"; } ||
        { [ "${#run_name[@]}" -gt 0 ] && run_alone "${run_name[*]}"; }; do
        wait_one
    done
    launch "$f"
done
while [ "${#run_name[@]}" -gt 0 ]; do
    wait_one
done
rm -rf "$outdir"

echo "=== summary (seconds per scenario, slowest first)"
printf '%s\n' "${results[@]}" | sort -rn
echo "integration: $passed passed, $failed failed in $(( $(date +%s) - t_all )) s ($jobs_max at a time)"
[ "$failed" = 0 ]
