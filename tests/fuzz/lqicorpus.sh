#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lqicorpus.sh: writes the seeds of fuzz_lqi (tests/fuzz/corpus/lqi/):
# model inputs for each `.lqi` version the writer still writes (10, 9, 8,
# 7, 6, 5 and 3: model-v<N>), and the writer's image of each (v<N>, and
# v<N>-reseal with fuzz_lqi's reseal bit), made by fuzz_lqi.c itself
# built with -DFUZZ_LQI_GEN against this tree.
# Same bytes on every run. Needs gcc, python3 and the build's libraries.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tests/fuzz/corpus/lqi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The Makefile's LIBS (make print-libs).
read -r -a libs <<<"$(make -s --no-print-directory print-libs)"
srcs=()
for c in common/*.c collector/store/*.c; do
    case $c in *_test.c) ;; *) srcs+=("$c") ;; esac
done
gcc -std=c11 -D_GNU_SOURCE -DFUZZ_LQI_GEN -O1 -w -I. -o "$tmp/gen" \
    tests/fuzz/fuzz_lqi.c "${srcs[@]}" "${libs[@]}"
mkdir -p "$out"
# 20 blocks: "common" in every one (counted), "even"/"odd" in half,
# "b<i>" in one, "pair<i/8>" in 2-3 blocks in other frames; JSON and
# logfmt records for field tokens; upper and capital spellings.
python3 - "$tmp" <<'PY'
import sys
vers = [10, 8, 7, 6, 5, 3, 9]       # fuzz_lqi.c's order
recs = []
for b in range(20):
    recs.append((b, b % 12, f"Common b{b} {'odd' if b % 2 else 'even'} COMMON pair{b // 8}"))
    recs.append((b, (b * 5) % 12, '{"level":"error","msg":"disk full","code":%d}' % (b % 3)))
    recs.append((b, 3, f"ts=2026-12-06T00:{b:02d}:00Z level=warn user=u{b % 4} ERROR caf\u00e9"))
for i, v in enumerate(vers):
    body = bytearray([1 | i << 1, 19])
    for b, f, t in recs:
        tb = t.encode()
        body += bytes([b, f, len(tb)]) + tb
    open(f"{sys.argv[1]}/model-v{v}", "wb").write(body)
PY
for v in 10 9 8 7 6 5 3; do
    cp "$tmp/model-v$v" "$out/model-v$v"
    "$tmp/gen" "$tmp/model-v$v" "$out/v$v"
done
ls -l "$out"
