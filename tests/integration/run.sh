#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh BUILD_DIR [SCENARIO...]: runs the integration scenarios (all
# tests/integration/NN-*.sh, or those named: "10", "10-end-to-end" or the
# file name), each under timeout(1), and prints a summary ending with the
# line "integration: N passed, M failed". Exit 1 if any failed.
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

# Per-scenario time limits in seconds (default 240).
limit_for() {
    case $1 in
        10-*) echo 240 ;;
        20-*) echo 240 ;;
        30-*) echo 150 ;;
        40-*) echo 180 ;;
        50-*) echo 420 ;;
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

passed=0
failed=0
results=()
for f in "${scenarios[@]}"; do
    name=$(basename "$f" .sh)
    limit=$(limit_for "$name")
    echo "=== $name (limit ${limit}s)"
    start=$(date +%s)
    rc=0
    timeout -k 20 "$limit" bash "$f" || rc=$?
    secs=$(( $(date +%s) - start ))
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        results+=("PASS  $name (${secs}s)")
    else
        failed=$((failed + 1))
        why="exit $rc"
        [ "$rc" = 124 ] && why="timed out after ${limit}s"
        results+=("FAIL  $name (${secs}s, $why; logs in tests/integration/logs/$name/)")
    fi
done

echo "=== summary"
for r in "${results[@]}"; do
    echo "$r"
done
echo "integration: $passed passed, $failed failed"
[ "$failed" = 0 ]
