# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# storelib.sh: helpers for the store scenarios (25 crash, 26 corruption,
# 27 retention), sourced after lib.sh. storetool.py reads/damages a stopped
# store on disk; storecheck.py checks logq output (retention suffix,
# damaged blocks, token query == scanning regex).

# Words the fakedocker texts hold (lower case, ASCII, so the token query and
# the case-sensitive regex mean the same), a few rare ones (sequence numbers
# of the markers: the index must find the few blocks that hold them) and one
# that occurs nowhere.
STORE_WORDS=(alpha timeout kernel eth0 items curl job tmp user
    000123 000777 001500 nosuchwordzz)

# health_store NAME: prints /health store.NAME.
health_store() {
    curl -fsS --max-time 5 "http://127.0.0.1:$CHTTP/health" |
        python3 -c 'import json, sys
print(int(json.load(sys.stdin)["store"][sys.argv[1]]))' "$1"
}

# health_stores NAME...: prints "NAME=VALUE ..." of /health store.NAME (one
# request for all).
health_stores() {
    curl -fsS --max-time 5 "http://127.0.0.1:$CHTTP/health" |
        python3 -c 'import json, sys
st = json.load(sys.stdin)["store"]
print(" ".join("%s=%d" % (k, int(st[k])) for k in sys.argv[1:]))' "$@"
}

# lq_all OUT ARGS...: every matching record as JSON lines into OUT (logq
# exits 1 when nothing matches: that is an empty OUT, not an error).
lq_all() {
    local out=$1 rc=0
    shift
    lq --json -n 1000000 "$@" >"$out" 2>"$out.err" || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "logq $* exited $rc: $(head -c 300 "$out.err")"
    [ "$rc" = 1 ] && [ -s "$out" ] && fail "logq $* exited 1 with output"
    return 0
}

# index_agrees MIN_TOTAL: for every STORE_WORDS word, the token query (the
# store reads only the blocks its index lists) returns exactly the records
# of an equivalent regex that scans every block; the words together match at least
# MIN_TOTAL records (so the check cannot pass on an empty store).
index_agrees() {
    local min=$1 w total=0 n
    for w in "${STORE_WORDS[@]}"; do
        # The '|^$' branch (only an empty message, and there is none) holds
        # no word, so no required word can be taken from the regex for the
        # index: this query reads every block. It runs beside the token
        # query (the collector has query workers for both).
        lq_all "$IT_TMP/scan.jsonl" -e "(^|[^[:alnum:]])$w([^[:alnum:]]|\$)|^\$" &
        local scan_pid=$!
        lq_all "$IT_TMP/tok.jsonl" "$w"
        wait "$scan_pid" || fail "the scanning query for '$w' failed"
        python3 "$IT_DIR/storecheck.py" same "$IT_TMP/tok.jsonl" \
            "$IT_TMP/scan.jsonl" >"$IT_TMP/same.txt" ||
            fail "index and scan disagree on '$w': $(cat "$IT_TMP/same.txt")"
        n=$(grep -c . "$IT_TMP/tok.jsonl" || true)
        total=$((total + n))
    done
    assert_ge "$total" "$min" "records matched by the index words"
    log "index agrees with a scan on ${#STORE_WORDS[@]} words ($total records)"
}

# last_lines_found MANIFEST...: true once the last line of every manifest
# is searchable (a shipper sends each container in order, so everything
# before it was delivered too).
last_lines_found() {
    local m marker
    for m in "$@"; do
        marker=$(tail -n 1 "$m" | python3 -c 'import json, sys
print(json.load(sys.stdin)["m"])')
        lq --json -n 10 "$marker" 2>/dev/null | grep -q "\"$marker " || return 1
    done
}

# web_rounds_until NEED COUNT WAIT MANIFEST...: while the command COUNT
# prints a number below NEED, more of web's lines on node1 and node2 (300
# a host, ~90 KiB raw, numbered on from WEB_FIRST, which it advances), a
# round at a time (40 at most), each waited for (wait_writers, then
# wait_all_found WAIT over MANIFEST...); WEB_ROUNDS: the rounds added (a
# log line says so when 40 did not reach NEED, and the caller's assertion
# on the count then fails). A segment rolls per seal job, and while WAL
# syncs are slow (a loaded disk) each job takes all that came meanwhile,
# so a scenario's lines can fill fewer segments than it needs (25 and
# 26, seen with every fdatasync made to take 1.5 s; collector/STORE.md
# "Segment"). None on a normal run.
web_rounds_until() {
    local need=$1 count=$2 wait=$3 n
    shift 3
    for ((WEB_ROUNDS = 0; WEB_ROUNDS < 40; WEB_ROUNDS++)); do
        [ "$("$count")" -ge "$need" ] && return 0
        for n in 1 2; do
            fake_container "node$n" web "$IT_TMP/node$n.docker" --count 300 \
                --first "$WEB_FIRST" --rate 600 --long-every 97 \
                --long-size 20000 --stderr-every 7
        done
        wait_writers 60
        wait_all_found "$wait" "$@"
        WEB_FIRST=$((WEB_FIRST + 300))
    done
    [ "$("$count")" -ge "$need" ] ||
        log "web_rounds_until: $count still below $need after $WEB_ROUNDS rounds"
}

# log_sum FILE REGEX: sums, over every match of REGEX in FILE, the number
# that ends the match (e.g. 'retention deleted segments=[0-9]+').
log_sum() {
    grep -oE "$2" "$1" | grep -oE '[0-9]+$' | awk '{ s += $1 } END { print s + 0 }'
}
