#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make fuzz: builds every tests/fuzz/fuzz_<name>.c as a libFuzzer binary with
# clang (ASan+UBSan) and runs each for FUZZ_SECONDS (default 60) on a copy of
# tests/fuzz/corpus/<name>/. New crashes are left in build/fuzz-work/<name>/;
# minimise one with the binary's -minimize_crash=1 and add it to the corpus.
# FUZZ_TARGETS="redis reply" runs only those, in that order; stdout is
# closed (the argument parsers print --help there), crash reports go to
# stderr. Library objects are kept in build/fuzz-work/obj and rebuilt when
# their source or a header they include (clang -MMD) is newer.
# `make test` only replays the corpus (gcc, no clang needed).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v clang >/dev/null; then
    echo "make fuzz needs clang with libFuzzer: apt-get install clang" >&2
    exit 2
fi
secs=${FUZZ_SECONDS:-60}
out=build/fuzz-work
mkdir -p "$out"
# Undefined behaviour aborts, as in the ASan build: it is a crash, not a
# line in the log (signed overflows in query/timeexpr.c went unnoticed so).
flags=(-std=c11 -I. -D_GNU_SOURCE -g -O1 -fno-sanitize-recover=undefined)
san=address,undefined
# The Makefile's LIBS (make print-libs).
read -r -a libs <<<"$(make -s --no-print-directory print-libs)"
# Every library source except the programs' main.c and the unit tests.
srcs=()
for c in common/*.c shipper/*.c collector/*.c collector/*/*.c \
         query/*.c; do
    case $c in *_test.c | */main.c) ;; *) srcs+=("$c") ;; esac
done
# Whether object $1 is missing or older than a file it was built from
# (its .d file, written by -MMD, lists them).
is_stale() {
    local dep deps
    [ -f "$1" ] && [ -f "${1%.o}.d" ] || return 0
    read -r -a deps <<<"$(sed -e 's/^[^:]*://' -e 's/\\$//' "${1%.o}.d" |
        tr '\n' ' ')"
    for dep in "${deps[@]}"; do
        [ "$dep" -nt "$1" ] && return 0
    done
    return 1
}
# The library is compiled once (objects in $out/obj), then linked into
# every target.
objs=()
for c in "${srcs[@]}"; do
    o=$out/obj/${c%.c}.o
    mkdir -p "$(dirname "$o")"
    if is_stale "$o"; then
        clang "${flags[@]}" "-fsanitize=fuzzer-no-link,$san" -MMD -c "$c" \
            -o "$o"
    fi
    objs+=("$o")
done
# A target that starts threads for every input (fuzz_wal: the store's
# three, at each of its two opens) grows by what ASan keeps of every
# thread that ever lived (an AsanThreadContext, never freed or reused:
# google/sanitizers#273), about 1.1 KB an input: 358 MB after 240,000
# inputs, libFuzzer's 2 GB -rss_limit_mb after about 1.8 million (40
# minutes). logq holds nothing: the same loop without ASan keeps 28,656
# bytes of heap in use and 2.4 MB RSS over 18,000 inputs (SECURITY.md
# "Peak RSS"). Such a target runs in processes of at most
# FUZZ_RESTART_SECONDS (default 60) one after another on the same corpus
# directory, each starting from what the last one kept.
restart_secs() {
    case $1 in
    wal) echo "${FUZZ_RESTART_SECONDS:-60}" ;;
    *) echo "$secs" ;;
    esac
}
targets=()
for f in tests/fuzz/fuzz_*.c; do
    name=$(basename "$f" .c)
    targets+=("${name#fuzz_}")
done
read -r -a targets <<<"${FUZZ_TARGETS:-${targets[*]}}"
rc=0
for target in "${targets[@]}"; do
    name=fuzz_$target
    f=tests/fuzz/$name.c
    if [ ! -f "$f" ]; then
        echo "no fuzz target $f" >&2
        rc=1
        continue
    fi
    echo "=== $name (${secs}s)"
    clang "${flags[@]}" "-fsanitize=fuzzer,$san" -o "$out/$name" "$f" \
        "${objs[@]}" "${libs[@]}"
    mkdir -p "$out/$target"
    if [ -d "tests/fuzz/corpus/$target" ]; then
        cp -n "tests/fuzz/corpus/$target"/* "$out/$target"/ 2>/dev/null || true
    fi
    # ASan's quarantine counts the bytes asked for, not the chunks: these
    # parsers make many small allocations whose headers and redzones are
    # 73% of the heap, so the default 256 MB quarantine grew to about 1 GB
    # (where libFuzzer starts purging: half of -rss_limit_mb; SECURITY.md
    # "Peak RSS"). 64 MB still keeps millions of freed chunks poisoned,
    # far more than one input frees. ASAN_OPTIONS from the caller wins.
    left=$secs
    every=$(restart_secs "$target")
    while [ "$left" -gt 0 ]; do
        run=$((left < every ? left : every))
        left=$((left - run))
        (cd "$out/$target" &&
            ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64} "../$name" \
            -max_total_time="$run" \
            -close_fd_mask=1 -artifact_prefix=./ . ) || { rc=1; break; }
    done
done
exit "$rc"
