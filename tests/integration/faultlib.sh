# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# faultlib.sh: helpers for the fault scenarios (9x-fault-*), sourced after
# lib.sh. Each scenario has a short mode (make test: small rates, a few
# faults, well under a minute) and a long one (LOGQ_SOAK=1, make soak: the
# rates and durations of issue 9's "Faults"). Every fault loop is bounded
# in count and in time. The proof is always the same: every line a
# generator (fakedocker) wrote, numbered M<host>-<container>-<seq>, is read
# back exactly once through `logq --json --all` (check.py verify: content,
# time, metadata, and per generator no sequence number lost or doubled),
# then again after a restart of the collector on the same data (what the
# store holds on disk, not what was in memory).

FAULT_SOAK=${LOGQ_SOAK:-0}

# soak_or SHORT LONG: prints SHORT, or LONG under LOGQ_SOAK=1.
soak_or() {
    if [ "$FAULT_SOAK" = 1 ]; then echo "$2"; else echo "$1"; fi
}

# rand_between LO HI: a random integer in [LO, HI].
rand_between() { echo $(( $1 + RANDOM % ($2 - $1 + 1) )); }

# fault_wait_found SECS MANIFEST...: waits until every manifest line is
# searchable. The short mode polls check.py over every line (wait_all_found,
# which names the missing ones on a timeout); a soak holds up to millions
# of lines, too many to read back every 0.25 s, so it polls the collector's
# count of all its lines (`logq count`: nothing but the number leaves the
# collector) until that reaches the manifests' total, and leaves the exact
# check (each line once) to fault_verify.
fault_wait_found() {
    local secs=$1
    shift
    if [ "$FAULT_SOAK" != 1 ]; then
        wait_all_found "$secs" "$@"
        return
    fi
    local total t0
    total=$(manifest_lines "$@")
    t0=$(date +%s)
    wait_until "$secs" "$total lines counted by the collector" \
        fault_counted "$total"
    log "the collector counts $(cat "$IT_TMP/counted.txt") lines (written $total) after $(( $(date +%s) - t0 )) s"
}

# fault_counted TOTAL: true once `logq count` (all lines) reaches TOTAL.
fault_counted() {
    local n
    n=$(lq count --json 2>/dev/null | python3 -c 'import json, sys
print(int(json.load(sys.stdin)["total"]))') || return 1
    echo "$n" >"$IT_TMP/counted.txt"
    [ "$n" -ge "$1" ]
}

# fault_verify OUT MANIFEST...: every manifest line exactly once in
# `logq --json --all` (saved to OUT); fails with check.py's report. A soak
# holds more than the collector sends in one answer (--http-max-response,
# 256 MiB: 1.2 M lines are more), so under LOGQ_SOAK it reads and checks
# one generator's stream at a time (--host, --container, --stream) and then
# checks that those answers add up to every line the collector holds (no
# record outside the generators).
fault_verify() {
    local out=$1 t0
    shift
    t0=$(date +%s)
    if [ "$FAULT_SOAK" = 1 ]; then
        fault_verify_parts "$out" "$@"
        log "every generator's lines exactly once ($(( $(date +%s) - t0 )) s to read and check)"
        return
    fi
    lq --json --all >"$out" 2>"$out.err" ||
        fail "logq --all failed: $(head -c 300 "$out.err")"
    python3 "$IT_DIR/check.py" verify "$@" <"$out" >"$out.check" || {
        cat "$out.check" >&2
        fail "not exactly once: $(head -n 1 "$out.check")"
    }
    log "$(head -n 1 "$out.check") ($(( $(date +%s) - t0 )) s to read and check)"
}

# fault_verify_parts OUT [--may-lose NAME]... MANIFEST...: fault_verify by
# generator and stream (check.py's --may-lose options go to every check).
fault_verify_parts() {
    local out=$1 m host name streams st n sum=0 total may=() mans=()
    shift
    while [ $# -gt 0 ]; do
        if [ "$1" = --may-lose ]; then
            may+=(--may-lose "$2")
            shift 2
            continue
        fi
        mans+=("$1")
        shift
    done
    for m in "${mans[@]}"; do
        # its host, container and the streams it wrote to
        read -r host name streams <<<"$(python3 -c 'import json, sys
st = set()
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    st.add(e["stream"])
print(e["host"], e["container"], " ".join(sorted(st)))' "$m")"
        for st in $streams; do
            lq --json --all --host "$host" --container "$name" --stream "$st" \
                >"$out" 2>"$out.err" ||
                fail "logq --all ($host/$name $st) failed: $(head -c 300 "$out.err")"
            python3 "$IT_DIR/check.py" verify "${may[@]}" --host "$host" \
                --container "$name" --stream "$st" "$m" <"$out" >"$out.check" || {
                cat "$out.check" >&2
                fail "$host/$name $st: not exactly once: $(head -n 1 "$out.check")"
            }
            n=$(grep -c . "$out" || true)
            sum=$((sum + n))
            log "$host/$name $st: $(head -n 1 "$out.check")"
        done
    done
    fault_counted 0
    total=$(cat "$IT_TMP/counted.txt")
    assert_eq "$total" "$sum" "records the collector holds (logq count) = those of the generators"
}

# fault_verify_store NAME ARGS -- MANIFEST...: restarts collector NAME
# (SIGTERM, same data, ports and ARGS) and verifies again: the lines are in
# the store, not only in the first process's memory.
fault_verify_store() {
    local name=$1
    shift
    local args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        args+=("$1")
        shift
    done
    shift
    stop "$name" || fail "$name did not stop on SIGTERM"
    assert_eq 0 "${IT_STATUS[$name]}" "$name exit status"
    start_collector "$name" "${args[@]}"
    fault_verify "$IT_TMP/out-store.jsonl" "$@"
}

# pid_rss_kib PID: resident set size in KiB (VmRSS).
pid_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# pid_fds PID: open file descriptors.
pid_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# pid_socks PID: open sockets (listening and connected).
pid_socks() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -lname 'socket:*' | wc -l; }
