#!/bin/sh
# SPDX-License-Identifier: MIT
# pgo_train.sh STORE_BUILD LOGGEN DATA_DIR: the training run of the
# profile-guided release build (Makefile "PGO"). STORE_BUILD is the
# instrumented build's store-build (build/pgogen), which writes its counts
# into DATA_DIR as it exits; they are made afresh each time (the counts of
# two runs would add up). The workload is the collector's ingest after the
# wire: 100 MB of logq-loggen's four kinds (web, app, sys, worker; the
# same seed every time), appended and committed as ingest does
# (`--async`), sealed, compressed and indexed by the store's threads. Its
# store and input go to a temporary directory, removed at the end. About
# 3 s of CPU on 2 cores.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 STORE_BUILD LOGGEN DATA_DIR" >&2; exit 2; }
sb=$1 gen=$2 data=$3
rm -rf "$data"
mkdir -p "$data"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/logq-pgo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for kind in web app sys worker; do
    "$gen" --kind "$kind" --seed 7 --format plain --bytes 25000000 \
        >"$tmp/$kind.txt"
done
echo "pgo: training $sb (store-build --async, 100 MB of logq-loggen lines)"
"$sb" --async "$tmp/store" "$tmp/web.txt" "$tmp/app.txt" "$tmp/sys.txt" \
    "$tmp/worker.txt" >/dev/null
n=$(find "$data" -name '*.gcda' | wc -l)
if [ "$n" -eq 0 ]; then
    echo "pgo: $sb wrote no counts into $data" >&2
    exit 1
fi
echo "pgo: $n profiles in $data"
