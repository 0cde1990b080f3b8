#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every unit test binary under BUILD_DIR/tests/ (cmocka, one per
# module), then every BUILD_DIR/fuzz/fuzz_<name>_replay over
# tests/fuzz/corpus/<name>/ (skipped when that folder does not exist).
# One line per binary; a failing binary's output is shown after its line
# and kept in BUILD_DIR/test-logs/. The last line is
# "unit: N passed, M failed"; the exit status is 1 if anything failed.
# LOGQ_CORPUS (the json-file corpus for shipper/dockerline_test), when not
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
passed=0
failed=0

# run NAME CMD...: runs one binary, logs its output, prints its line.
run() {
    local name=$1
    shift
    local log="$logs/${name//\//_}.log"
    local start end rc
    start=$(date +%s%N)
    timeout "$per_test_timeout" "$@" >"$log" 2>&1
    rc=$?
    end=$(date +%s%N)
    local ms=$(( (end - start) / 1000000 ))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        printf 'PASS %-50s %6d ms\n' "$name" "$ms"
    else
        failed=$((failed + 1))
        printf 'FAIL %-50s %6d ms (exit %d, log %s)\n' "$name" "$ms" "$rc" \
            "$log"
        tail -n 40 "$log" | sed 's/^/    /'
    fi
}

n_found=0
while IFS= read -r -d '' bin; do
    n_found=$((n_found + 1))
    run "${bin#"$build"/}" "$bin"
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
    n_found=$((n_found + 1))
    run "fuzz/fuzz_${name}_replay" "$bin" "$corpus"
done

if [ "$n_found" -eq 0 ]; then
    echo "no test binaries under $build/tests or $build/fuzz" >&2
    echo "unit: 0 passed, 1 failed"
    exit 1
fi
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
