#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: runs tests/bench/bench.py (BENCH_GIB=1 by default), then
# tests/bench/tail_bench.py (live tail latency and fan-in fairness, issue
# "Speed"; its options in $TAIL_BENCH_ARGS, e.g. "--seconds 20 --rate 25"),
# then tests/bench/idle_bench.sh (500 containers, most idle: the shipper's
# CPU and peak RSS; N, L and IDLE from the environment as it documents;
# IDLE_BENCH=0 skips it) and prints their reports; paste them into
# BENCHMARKS.md with the machine they ran on.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 tests/bench/bench.py --gib "${BENCH_GIB:-1}" "$@"
# shellcheck disable=SC2086 # word splitting of the options is wanted
python3 tests/bench/tail_bench.py ${TAIL_BENCH_ARGS:-}
[ "${IDLE_BENCH:-1}" = 0 ] || exec tests/bench/idle_bench.sh
