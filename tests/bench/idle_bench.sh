#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Idle shipper (issue "Speed": 500 containers, most idle, under 1% of a
# core): N containers of L json-file lines each under a temp Docker root,
# a real logq-shipper into a real logq-collector on 127.0.0.1. Once every
# line is stored, the shipper's CPU (/proc/<pid>/stat) is read over IDLE
# seconds with nothing written; then one new container is created with one
# line (time until stored: pickup after the idle period) and one container
# is removed (time until the shipper logs it forgotten).
#   tests/bench/idle_bench.sh [extra shipper flags...]
#   SHIPPER=path COLLECTOR=path N=500 L=200 IDLE=60
# Every wait is bounded; the temp directory is removed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHIPPER=${SHIPPER:-$ROOT/bin/logq-shipper}
COLLECTOR=${COLLECTOR:-$ROOT/bin/logq-collector}
N=${N:-500}
L=${L:-200}
IDLE=${IDLE:-60}
TCK=$(getconf CLK_TCK)

tmp=$(mktemp -d /tmp/logq-idlebench.XXXXXX)
pc=; ps=
cleanup() {
    local p
    for p in $ps $pc; do
        if kill -TERM "$p" 2>/dev/null; then wait "$p" || true; fi
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

mkcontainers() {   # first count lines
    python3 - "$tmp/docker" "$1" "$2" "$3" <<'EOF'
import os, sys
root, first, count, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(first, first + count):
    cid = "%064x" % (0xc0ffee000000 + i)
    d = os.path.join(root, cid)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.v2.json"), "w") as f:
        f.write('{"ID":"%s","Name":"/idle%d","Config":{"Image":"idle:1",'
                '"Labels":{}},"State":{"Running":true}}\n' % (cid, i))
    with open(os.path.join(d, cid + "-json.log"), "w") as f:
        for n in range(lines):
            f.write('{"log":"container %d line %d GET /api/items?id=%d '
                    'status=200\\n","stream":"stdout",'
                    '"time":"2026-12-03T20:00:%02d.%09dZ"}\n'
                    % (i, n, n * 7919, n % 60, n))
EOF
}

cpu_s() {
    awk -v t="$TCK" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / t }' \
        "/proc/$1/stat"
}

stored() {
    curl -sf "http://127.0.0.1:$http/health" |
        sed -n 's/.*"records_stored": *\([0-9]*\).*/\1/p'
}

wait_stored() {   # want timeout_s; prints seconds waited
    local t0 n
    t0=$(date +%s.%N)
    while :; do
        n=$(stored); n=${n:-0}
        [ "$n" -ge "$1" ] && break
        if awk -v a="$(date +%s.%N)" -v b="$t0" -v l="$2" \
            'BEGIN { exit !(a - b > l) }'; then
            echo "idle_bench: timeout, $n of $1 stored" >&2
            return 1
        fi
        sleep 0.02
    done
    awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }'
}

mkdir -p "$tmp/docker"
mkcontainers 1 "$N" "$L"
"$COLLECTOR" --listen 127.0.0.1:0 --http 127.0.0.1:0 --data-dir "$tmp/data" \
    --port-file "$tmp/ports" --log-file "$tmp/collector.log" &
pc=$!
for _ in $(seq 100); do [ -s "$tmp/ports" ] && break; sleep 0.1; done
read -r tcp http <"$tmp/ports"
"$SHIPPER" --collector "127.0.0.1:$tcp" --docker-root "$tmp/docker" \
    --state-dir "$tmp/state" --hostname idle --log-file "$tmp/shipper.log" \
    "$@" &
ps=$!
total=$((N * L))
ship_s=$(wait_stored "$total" 300)
sleep 2     # the last ACKs, state saves
load=$(cut -d' ' -f1-3 /proc/loadavg)
c0=$(cpu_s "$ps")
sleep "$IDLE"
c1=$(cpu_s "$ps")
rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$ps/status")
mkcontainers $((N + 1)) 1 1
pick_s=$(wait_stored $((total + 1)) 30)
gone=$(printf "%064x" $((0xc0ffee000000 + 1)))
t0=$(date +%s.%N)
rm -rf "${tmp:?}/docker/$gone"
for _ in $(seq 1500); do
    grep -q "container forgotten container=${gone:0:12}" "$tmp/shipper.log" &&
        break
    sleep 0.02
done
gone_s=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
grep -q "container forgotten container=${gone:0:12}" "$tmp/shipper.log" ||
    gone_s="never"
awk -v n="$N" -v l="$L" -v s="$ship_s" -v c0="$c0" -v c1="$c1" \
    -v idle="$IDLE" -v rss="$rss" -v p="$pick_s" -v g="$gone_s" \
    -v ld="$load" 'BEGIN {
    printf "%d containers x %d lines shipped in %s s  |  idle %d s: " \
           "cpu %.2f s = %.2f%% of a core (target: under 1%%)  |  " \
           "peak RSS %.1f MiB (target: 32 MiB with 500 containers)  |  " \
           "new container stored after %s s, removed one forgotten after " \
           "%s s  |  load %s\n", n, l, s, idle, c1 - c0,
           100 * (c1 - c0) / idle, rss / 1024, p, g, ld }'
