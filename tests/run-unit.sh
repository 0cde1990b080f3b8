#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every unit test binary under BUILD_DIR/tests/ (cmocka, one per
# module), then every BUILD_DIR/fuzz/fuzz_<name>_replay over
# tests/fuzz/corpus/<name>/ (skipped when that folder does not exist).
# UNIT_JOBS (default 2) binaries run at a time; one line per binary, in
# order; a failing binary's output is shown after its line and kept in
# BUILD_DIR/test-logs/. The last line is "unit: N passed, M failed (S s,
# J at a time)"; the exit status is 1 if anything failed.
# LOGQ_CORPUS (the json-file corpus for shipper/dockerline_diff_test), when not
# set, becomes the absolute path of ../shared/corpus beside this tree (or
# beside the main tree of a git worktree); when neither exists it becomes
# "none", which skips that part, and a WARNING line says so (a clean clone
# with no corpus beside it still passes; CI has the corpus, and a
# LOGQ_CORPUS that names a missing directory fails the test).
# Usage: tests/run-unit.sh BUILD_DIR     (e.g. build/asan)
set -uo pipefail

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
logs="$build/test-logs"
mkdir -p "$logs"
cd "$root" || exit 2

# corpus_find: prints the absolute path of the first corpus found.
corpus_find() {
    local common
    common=$(git -C "$root" rev-parse --path-format=absolute \
        --git-common-dir 2>/dev/null) || common=""
    for dir in "$root/../shared/corpus" \
        ${common:+"$(dirname "$common")/../shared/corpus"}; do
        if [ -d "$dir" ]; then
            (cd "$dir" && pwd)
            return 0
        fi
    done
    return 1
}
if [ -z "${LOGQ_CORPUS:-}" ]; then
    if LOGQ_CORPUS=$(corpus_find); then
        echo "corpus: $LOGQ_CORPUS"
    else
        LOGQ_CORPUS=none
        echo "WARNING: no json-file corpus at $root/../shared/corpus:" \
            "the dockerline corpus differential test is SKIPPED" \
            "(set LOGQ_CORPUS to run it)"
    fi
fi
export LOGQ_CORPUS

# A hung test fails instead of stalling CI.
per_test_timeout=${UNIT_TIMEOUT:-300}
# Binaries run UNIT_JOBS at a time (default 2: many of them mostly wait on
# timers and sockets, e.g. sender_test); the lines still come out in order.
jobs_max=${UNIT_JOBS:-2}
passed=0
failed=0

# The list: NAME and command (binary, corpus or "") per entry.
names=()
bins=()
corpora=()
while IFS= read -r -d '' bin; do
    names+=("${bin#"$build"/}")
    bins+=("$bin")
    corpora+=("")
done < <(find "$build/tests" -type f -perm -u+x -print0 2>/dev/null | sort -z)

for bin in "$build"/fuzz/fuzz_*_replay; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    name=${name#fuzz_}
    name=${name%_replay}
    corpus="$root/tests/fuzz/corpus/$name"
    if [ ! -d "$corpus" ]; then
        echo "SKIP fuzz/fuzz_${name}_replay (no tests/fuzz/corpus/$name)"
        continue
    fi
    names+=("fuzz/fuzz_${name}_replay")
    bins+=("$bin")
    corpora+=("$corpus")
done
n_found=${#names[@]}

# start K: runs entry K in the background; its log and "rc ms" go to files.
start() {
    local k=$1 log="$logs/${names[$1]//\//_}.log"
    (
        s=$(date +%s%N)
        if [ -n "${corpora[$k]}" ]; then
            timeout "$per_test_timeout" "${bins[$k]}" "${corpora[$k]}"
        else
            timeout "$per_test_timeout" "${bins[$k]}"
        fi >"$log" 2>&1
        rc=$?
        echo "$rc $(( ($(date +%s%N) - s) / 1000000 ))" >"$log.rc"
    ) &
}

# report K: prints entry K's line (and a failing binary's output).
report() {
    local log="$logs/${names[$1]//\//_}.log" rc ms
    read -r rc ms <"$log.rc"
    rm -f "$log.rc"
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        printf 'PASS %-50s %6d ms\n' "${names[$1]}" "$ms"
    else
        failed=$((failed + 1))
        printf 'FAIL %-50s %6d ms (exit %d, log %s)\n' "${names[$1]}" "$ms" \
            "$rc" "$log"
        tail -n 40 "$log" | sed 's/^/    /'
    fi
}

for ((k = 0; k < n_found; k++)); do
    rm -f "$logs/${names[$k]//\//_}.log.rc"
done
t0=$(date +%s)
next=0
shown=0
running=0
while [ "$shown" -lt "$n_found" ]; do
    while [ "$running" -lt "$jobs_max" ] && [ "$next" -lt "$n_found" ]; do
        start "$next"
        next=$((next + 1))
        running=$((running + 1))
    done
    wait -n 2>/dev/null || true
    running=$(jobs -rp | wc -l)
    while [ "$shown" -lt "$next" ]; do
        rcf="$logs/${names[$shown]//\//_}.log.rc"
        # all done and still no result: its shell died (counted as failed)
        [ "$running" = 0 ] && [ ! -s "$rcf" ] && echo "125 0" >"$rcf"
        [ -s "$rcf" ] || break
        report "$shown"
        shown=$((shown + 1))
    done
done

if [ "$n_found" -eq 0 ]; then
    echo "no test binaries under $build/tests or $build/fuzz" >&2
    echo "unit: 0 passed, 1 failed"
    exit 1
fi
echo "unit: $passed passed, $failed failed ($(( $(date +%s) - t0 )) s, $jobs_max at a time)"
[ "$failed" -eq 0 ]
