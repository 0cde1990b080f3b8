#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: runs tests/bench/bench.py (BENCH_GIB=1 by default) and prints
# its report; paste the report into BENCHMARKS.md with the machine it ran on.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 tests/bench/bench.py --gib "${BENCH_GIB:-1}" "$@"
