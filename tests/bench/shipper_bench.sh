#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shipper throughput: ships ~GIB GiB of Docker json-file (four containers of
# logq-loggen output, generated once and kept in $DATA) through a real
# logq-shipper into a real logq-collector on 127.0.0.1 and prints wall time
# from shipper start to the last record stored (collector /health
# counters.records_stored), shipper CPU seconds (/proc/<pid>/stat), peak RSS
# (VmHWM) and the load average, as MiB/s per wall and per CPU second, and
# the bytes it wrote (/proc/<pid>/io wchar: the frames on the wire, plus a
# few KiB of positions file and log) as a share of the json-file bytes.
#   tests/bench/shipper_bench.sh [extra shipper flags...]
#   SHIPPER=path COLLECTOR=path GIB=1 DATA=/tmp/logq-shipbench RUNS=1
# SINK=1 replaces the collector by tests/bench/ack_sink.py, which only ACKs
# (and checks seq order): the shipper alone, when the collector is slower.
# The sink takes zstd as a collector does (SINK_ZLIB=1: it answers as an
# earlier collector, and the shipper sends zlib).
# Every wait is bounded; the collector's store is removed after each run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHIPPER=${SHIPPER:-$ROOT/bin/logq-shipper}
COLLECTOR=${COLLECTOR:-$ROOT/bin/logq-collector}
LOGGEN=${LOGGEN:-$ROOT/bin/logq-loggen}
GIB=${GIB:-1}
DATA=${DATA:-/tmp/logq-shipbench}
RUNS=${RUNS:-1}
SINK=${SINK:-0}
TIMEOUT=${TIMEOUT:-600}
TCK=$(getconf CLK_TCK)

gen_data() {
    local total i kind cid
    total=$(awk -v g="$GIB" 'BEGIN { printf "%d", g * 1073741824 / 4 }')
    rm -rf "$DATA" && mkdir -p "$DATA/docker"
    i=0
    for kind in web app sys worker; do
        i=$((i + 1))
        cid=$(printf "%064x" "$i" | tr 0 "$i")
        mkdir "$DATA/docker/$cid"
        printf '{"ID":"%s","Name":"/%s","Config":{"Image":"%s:1","Labels":{}},"State":{"Running":true}}\n' \
            "$cid" "$kind" "$kind" >"$DATA/docker/$cid/config.v2.json"
        "$LOGGEN" --kind "$kind" --seed "$i" --stream-mix --format json-file \
            --bytes "$total" >"$DATA/docker/$cid/$cid-json.log"
    done
    # records, not lines: Docker splits long messages into partial lines
    cat "$DATA"/docker/*/*-json.log | grep -c '\\n","stream"' >"$DATA/lines"
    du -cb "$DATA"/docker/*/*-json.log | tail -1 | cut -f1 >"$DATA/bytes"
}

cpu_s() {   # utime + stime of a pid, in seconds
    awk -v t="$TCK" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / t }' \
        "/proc/$1/stat"
}

threads_cpu() {   # "name=cpu_s ..." per thread: the busiest bounds the wall
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s=%s ' "$(cat "$t/comm")" "$(cpu_s "$1/task/${t##*/}")"
    done
}

hwm_kib() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

stored() {
    curl -sf "http://127.0.0.1:$1/health" |
        sed -n 's/.*"records_stored": *\([0-9]*\).*/\1/p'
}

start_collector() {   # sets pc, tcp, http
    if [ "$SINK" = 1 ]; then
        local zl=()
        [ "${SINK_ZLIB:-0}" = 1 ] && zl=(--zlib)
        python3 "$ROOT/tests/bench/ack_sink.py" --port-file "$tmp/ports" \
            --done-file "$tmp/done" --records "$LINES" "${zl[@]}" &
    else
        "$COLLECTOR" --listen 127.0.0.1:0 --http 127.0.0.1:0 \
            --data-dir "$tmp/data" --port-file "$tmp/ports" \
            --log-file "$tmp/collector.log" &
    fi
    pc=$!
    for _ in $(seq 100); do [ -s "$tmp/ports" ] && break; sleep 0.1; done
    read -r tcp http <"$tmp/ports"
}

n_done() {   # records stored (collector) or acked (sink) so far
    if [ "$SINK" = 1 ]; then
        if [ -s "$tmp/done" ]; then cut -d' ' -f2 "$tmp/done"; else echo 0; fi
    else
        n=$(stored "$http"); echo "${n:-0}"
    fi
}

one_run() {
    local tmp tcp http pc ps t0 t1 n cpu rss ccpu load thr wb
    tmp=$(mktemp -d /tmp/logq-shipbench-run.XXXXXX)
    start_collector
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    t0=$(date +%s.%N)
    "$SHIPPER" --collector "127.0.0.1:$tcp" --docker-root "$DATA/docker" \
        --state-dir "$tmp/state" --hostname bench --log-file "$tmp/shipper.log" \
        "$@" &
    ps=$!
    n=0
    while [ "$n" -lt "$LINES" ]; do
        sleep 0.05
        n=$(n_done)
        if awk -v a="$(date +%s.%N)" -v b="$t0" -v l="$TIMEOUT" \
            'BEGIN { exit !(a - b > l) }'; then
            echo "shipper_bench: timeout, $n of $LINES stored" >&2
            break
        fi
    done
    t1=$(date +%s.%N)
    [ "$SINK" = 1 ] && [ -s "$tmp/done" ] && t1=$(cut -d' ' -f1 "$tmp/done")
    cpu=$(cpu_s "$ps"); rss=$(hwm_kib "$ps"); ccpu=$(cpu_s "$pc")
    thr=$(threads_cpu "$ps")
    wb=$(awk '/^wchar:/ { print $2 }' "/proc/$ps/io")
    kill -TERM "$ps"; wait "$ps" || true
    kill -TERM "$pc"; wait "$pc" || true
    awk -v t0="$t0" -v t1="$t1" -v b="$BYTES" -v cpu="$cpu" -v rss="$rss" \
        -v ccpu="$ccpu" -v n="$n" -v ld="$load" 'BEGIN {
        wall = t1 - t0; mib = b / 1048576; gib = b / 1073741824
        printf "records %d  %.0f MiB json-file  wall %.2f s  %.1f MiB/s" \
               "  |  shipper cpu %.2f s  %.1f MiB/cpu-s  %.1f cpu-s/GiB" \
               "  peak RSS %.1f MiB  |  collector cpu %.2f s  |  load %s\n",
               n, mib, wall, mib / wall, cpu, mib / cpu, cpu / gib,
               rss / 1024, ccpu, ld }'
    echo "  shipper threads (cpu s): $thr"
    awk -v w="$wb" -v b="$BYTES" 'BEGIN {
        printf "  shipper wrote %.1f MiB = %.2f%% of the json-file bytes\n",
               w / 1048576, 100 * w / b }'
    rm -rf "$tmp"
}

[ -s "$DATA/lines" ] || gen_data
LINES=$(cat "$DATA/lines")
BYTES=$(cat "$DATA/bytes")
echo "shipper $SHIPPER $*"
for _ in $(seq "$RUNS"); do
    one_run "$@"
done
