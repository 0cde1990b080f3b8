#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The shipper's batch encoders side by side (BENCHMARKS.md "Shipper
# compression"): zlib levels 1-6 and strategies against libdeflate, on the
# real log samples (../shared/corpus beside the project root, skipped where
# it does not exist) and on logq-loggen output, in one run. Messages are
# packed into BATCH payloads as the shipper packs them; ratios are of the
# json-file bytes of the same lines.
#   tests/bench/deflate_bench.sh [MIB of generated json-file, default 128]
# ONLY_CAND=zstd (say) runs only the candidates whose name starts so, and
# libdeflate 1 for reference.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIB=${1:-128}
ONLY=()
[ -n "${ONLY_CAND:-}" ] && ONLY=(--only "$ONLY_CAND")
BENCH=$ROOT/build/release/deflate-bench
LOGGEN=$ROOT/build/release/logq-loggen
make -C "$ROOT" -s build/release/deflate-bench build/release/logq-loggen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# json-file -> one message per line (partials joined); prints json bytes.
to_plain() {
    python3 - "$1" "$2" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
n = 0
part = ""
with open(src, "rb") as f, open(dst, "w", encoding="utf-8", newline="") as o:
    for raw in f:
        n += len(raw)
        part += json.loads(raw)["log"]
        if part.endswith("\n"):
            o.write(part.replace("\r", "").rstrip("\n").replace("\n", " ") + "\n")
            part = ""
print(n)
PY
}

# plain lines -> Docker json-file bytes (json.dumps escapes as Docker's
# encoder does, but for <, >, & which Docker writes as \u003c...).
json_bytes() {
    python3 - "$@" <<'PY'
import json, sys
n = 0
for p in sys.argv[1:]:
    with open(p, encoding="utf-8", errors="replace", newline="") as f:
        for line in f:
            body = json.dumps(line if line.endswith("\n") else line + "\n")
            n += len(('{"log":%s,"stream":"stdout","time":'
                      '"2026-12-03T18:15:48.123456789Z"}\n') % body)
print(n)
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
corpus=$ROOT/../shared/corpus
[ -d "$corpus" ] || corpus=$ROOT/../../shared/corpus
samples=("$corpus"/*.log)
if [ -f "${samples[0]}" ]; then
    echo
    echo "## real samples (${#samples[@]} files of $corpus)"
    # each sample four times over (their 2,000 lines are 2 MiB in all):
    # batches as full as the shipper's at a steady rate
    files=()
    for f in "${samples[@]}"; do
        files+=("$f" "$f" "$f" "$f")
    done
    "$BENCH" --json-bytes "$(json_bytes "${files[@]}")" --rounds 5 "${ONLY[@]}" "${files[@]}"
fi
echo
echo "## logq-loggen, $MIB MiB of json-file (web, app, sys, worker)"
for kind in web app sys worker; do
    "$LOGGEN" --kind "$kind" --seed 7 --stream-mix --format json-file \
        --bytes $((MIB * 1048576 / 4)) >"$tmp/$kind.json"
    to_plain "$tmp/$kind.json" "$tmp/$kind.txt" >"$tmp/$kind.n"
    rm -f "$tmp/$kind.json"
done
total=$(cat "$tmp"/*.n | paste -sd+ | bc)
"$BENCH" --json-bytes "$total" --rounds 2 "${ONLY[@]}" "$tmp"/web.txt "$tmp"/app.txt \
    "$tmp"/sys.txt "$tmp"/worker.txt
