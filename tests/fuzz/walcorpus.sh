#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# walcorpus.sh: writes the seeds of fuzz_wal (tests/fuzz/corpus/wal/):
# WAL files made by the store's own code. tests/fuzz/walgen.c is built
# against the store of each WAL version (version 2: ef66907's parent, the
# last before receive times; 3: 14c5a3c's parent, the last before the
# tail's rows; 4: d025b15, the last before the file's generation in each
# entry; 5: this tree), run, and the wal.lqw it leaves is kept, each
# once as it is and once with fuzz_wal's reseal bit, plus two files at
# once (v3 beside v4, v4 beside v5), the v4 and v5 files with their
# header damaged, and the v5 file under a newer generation (its entries
# stale, as a reused file's).
# Same bytes on every run. Needs gcc and the build's libraries.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tests/fuzz/corpus/wal
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The Makefile's LIBS (make print-libs).
read -r -a libs <<<"$(make -s --no-print-directory print-libs)"
# gen VERSION REV [CFLAGS...]: $tmp/v<VERSION>.lqw from the store at REV
# (. = this tree).
gen() {
    local v=$1 rev=$2 src=$tmp/src$1
    shift 2
    mkdir -p "$src"
    if [ "$rev" = . ]; then
        cp -r common collector "$src"/
    else
        git archive "$rev" common collector | tar -x -C "$src"
    fi
    local c srcs=()
    for c in "$src"/common/*.c "$src"/collector/store/*.c; do
        case $c in *_test.c) ;; *) srcs+=("$c") ;; esac
    done
    gcc -std=c11 -D_GNU_SOURCE -O1 -w -I"$src" "$@" -o "$tmp/walgen$v" \
        tests/fuzz/walgen.c "${srcs[@]}" "${libs[@]}"
    "$tmp/walgen$v" "$tmp/store$v"
    cp "$tmp/store$v/wal.lqw" "$tmp/v$v.lqw"
}
gen 2 'ef66907^'
gen 3 '14c5a3c^' -DWALGEN_RECV
gen 4 d025b15 -DWALGEN_RECV
gen 5 . -DWALGEN_RECV
mkdir -p "$out"
for v in 2 3 4 5; do
    { printf '\0'; cat "$tmp/v$v.lqw"; } >"$out/v$v"
    { printf '\1'; cat "$tmp/v$v.lqw"; } >"$out/v$v-reseal"
done
# two files: bytes 1-2 are the first one's length (little-endian)
n3=$(stat -c %s "$tmp/v3.lqw")
{ printf '\3'; printf '%b' "$(printf '\\%03o\\%03o' $((n3 & 255)) \
    $((n3 >> 8)))"; cat "$tmp/v3.lqw" "$tmp/v4.lqw"; } >"$out/v3-v4-two"
n4=$(stat -c %s "$tmp/v4.lqw")
{ printf '\3'; printf '%b' "$(printf '\\%03o\\%03o' $((n4 & 255)) \
    $((n4 >> 8)))"; cat "$tmp/v4.lqw" "$tmp/v5.lqw"; } >"$out/v4-v5-two"
{ printf '\1XXXX'; tail -c +5 "$tmp/v4.lqw"; } >"$out/v4-damaged-header"
{ printf '\1XXXX'; tail -c +5 "$tmp/v5.lqw"; } >"$out/v5-damaged-header"
# generation 99 in the header: every entry (generation 1) is stale
{ printf '\0'; head -c 8 "$tmp/v5.lqw"; printf 'c\0\0\0\0\0\0\0'
  tail -c +17 "$tmp/v5.lqw"; } >"$out/v5-stale"
ls -l "$out"
