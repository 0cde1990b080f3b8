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
# `logq --json --all` (saved to OUT); fails with check.py's report.
fault_verify() {
    local out=$1
    shift
    local t0
    t0=$(date +%s)
    lq --json --all >"$out" 2>"$out.err" ||
        fail "logq --all failed: $(head -c 300 "$out.err")"
    python3 "$IT_DIR/check.py" verify "$@" <"$out" >"$out.check" || {
        cat "$out.check" >&2
        fail "not exactly once: $(head -n 1 "$out.check")"
    }
    log "$(head -n 1 "$out.check") ($(( $(date +%s) - t0 )) s to read and check)"
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
