#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 40-bad-input: a collector with a token, an honest shipper writing all the
# while, and badclient.py sending garbage, oversized lengths, bad crcs, a
# zlib bomb, zstd bombs, a wrong token, malformed batches (TCP), an older
# shipper's zlib and a newer one's zstd batches, and malformed requests
# (HTTP). Each bad connection must be closed, each bad request answered
# with a 4xx; the collector keeps serving (health OK, the honest shipper's
# lines all arrive exactly once) and the counters in /health went up.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 40-bad-input

enroll "$IT_TMP/hosts" node1 badclient badhonest badzstd poisoned bomber \
    positions labeller lossy
start_collector collector --token-file "$IT_TMP/hosts"
mkdir -p "$IT_TMP/node1.docker"
start_shipper node1 "$IT_TMP/node1.docker" --token-file "$IT_TMP/hosts.d/node1"
fake_container node1 web "$IT_TMP/node1.docker" --count 300 --rate 30 \
    --max-size 30000 --max-file 2 --long-every 60 --long-size 20000 \
    --stderr-every 4

rej0=$(health_counter frames_rejected)
auth0=$(health_counter auth_failures)
bad0=$(health_counter http_bad_requests)
dup0=$(health_counter records_duplicate)
imp0=$(health_counter records_implausible)

log "TCP cases"
python3 "$IT_DIR/badclient.py" tcp "$CTCP" "$IT_TMP/hosts" |
    tee "$IT_TMP/badclient-tcp.txt" || fail "TCP bad-input cases failed"
health_ok || fail "collector unhealthy after the TCP cases"
log "HTTP cases"
python3 "$IT_DIR/badclient.py" http "$CHTTP" |
    tee "$IT_TMP/badclient-http.txt" || fail "HTTP bad-input cases failed"
health_ok || fail "collector unhealthy after the HTTP cases"
is_running collector || fail "collector died"

rej=$(health_counter frames_rejected)
auth=$(health_counter auth_failures)
bad=$(health_counter http_bad_requests)
log "frames_rejected $rej0 -> $rej, auth_failures $auth0 -> $auth, http_bad_requests $bad0 -> $bad"
assert_ge "$((rej - rej0))" 20 "frames_rejected increase"
assert_ge "$((auth - auth0))" 1 "auth_failures increase"
assert_ge "$((bad - bad0))" 13 "http_bad_requests increase"
dup=$(health_counter records_duplicate)
assert_ge "$((dup - dup0))" 3 "records_duplicate increase (resent batch)"

log "a shipper with the wrong token must be refused"
make_token "$IT_TMP/badtoken"     # well formed, but not the collector's
mkdir -p "$IT_TMP/intruder.docker" "$IT_TMP/intruder.state"
fake_container intruder web "$IT_TMP/intruder.docker" --count 5 --rate 100
it_bg intruder "$BUILD/logq-shipper" --collector "127.0.0.1:$CTCP" \
    --docker-root "$IT_TMP/intruder.docker" --state-dir "$IT_TMP/intruder.state" \
    --hostname intruder --token-file "$IT_TMP/badtoken"

lq --json -n 100 BADINPUT >"$IT_TMP/honest.jsonl" || fail "logq failed"
assert_eq 3 "$(grep -c '"host":"badhonest"' "$IT_TMP/honest.jsonl" || true)" \
    "records from the honest protocol client"
assert_eq 6 "$(grep -c '"host":"badzstd"' "$IT_TMP/honest.jsonl" || true)" \
    "records from the zstd client (PROTOCOL.md \"Compression\")"
lq --json -n 100 --host poisoned BADINPUT >"$IT_TMP/poison.jsonl" ||
    fail "logq failed"
assert_eq 3 "$(grep -c 'BADINPUT-POISON-HONEST' "$IT_TMP/poison.jsonl" || true)" \
    "honest lines of a source after a record at offset 2^64-1"
assert_eq 0 "$(grep -c 'BADINPUT-POISONER' "$IT_TMP/poison.jsonl" || true)" \
    "records stored at an implausible offset"
lq --json -n 100 --host positions BADINPUT >"$IT_TMP/positions.jsonl" ||
    fail "logq failed"
for i in 1 2 3 4 5 6; do
    assert_eq 1 "$(grep -c "BADINPUT-POS-OK-$i\"" "$IT_TMP/positions.jsonl" || true)" \
        "stored copies of BADINPUT-POS-OK-$i (position rule: honest and resent)"
done
assert_eq 0 "$(grep -c 'BADINPUT-POS-BAD' "$IT_TMP/positions.jsonl" || true)" \
    "records stored past a hole, backwards or for a new source not at 0"
# poison 1, skip ahead 1, backwards 2, new source not at 0 1
assert_eq 5 "$(($(health_counter records_implausible) - imp0))" \
    "records_implausible increase"
lq --json -n 100 --host bomber >"$IT_TMP/bomb.jsonl" || true
assert_eq 0 "$(grep -c . "$IT_TMP/bomb.jsonl" || true)" \
    "records stored with 64 KiB names, bad ids or control characters"
assert_ge "$(health_counter records_refused)" 615 "records_refused"
# Docker labels over the limits: pairs left out and counted, lines stored
assert_eq 8 "$(health_counter labels_refused)" "labels_refused"
assert_eq 1 "$(health_counter labels_invalid)" "labels_invalid"
assert_eq 2 "$(lq --json -n 10 --host labeller BADINPUT | grep -c .)" \
    "lines of sources with bad labels"
it_curl -fsS "$(it_scheme)://127.0.0.1:$CHTTP/api/v1/containers" |
    python3 -c 'import json, sys
c = {x["container"]: x for x in json.load(sys.stdin) if x["host"] == "labeller"}
l = c["lab-0"]["labels"]
assert len(l) == 64 and l["k00"] == "v" and "long" not in l, l
assert c["lab-1"]["labels"] == {}, c["lab-1"]
assert c["lab-cap"]["labels"] == {"set": "64"}, c["lab-cap"]' ||
    fail "labels kept of the labeller's sources wrong"
# A 65th and 66th label set for one source: refused, counted and logged
# (with the host and the limit; logged nothing before)
assert_eq 66 "$(lq --json -n 100 --host labeller CAPLABELS | grep -c .)" \
    "lines of a source given 66 label sets"
assert_eq 2 "$(it_curl -fsS "$(it_scheme)://127.0.0.1:$CHTTP/health" |
    python3 -c 'import json, sys
print(json.load(sys.stdin)["store"]["labelsets_capped"])')" "labelsets_capped"
assert_eq 2 "$(grep -c 'labels refused: container=ca11ab000000 .* 64 label sets.*host=labeller' \
    "$IT_TMP/collector.log" || true)" "log lines of label sets refused"
# The lost-data file is rewritten at most once a second, however often
# METRICS frames change it (a whole table and an fsync, on the loop); while
# it cannot be saved (a directory in its place) each try is counted, and
# once it can, the figures are saved.
losses=$IT_TMP/collector.data/losses
rm -f "$losses"
mkdir -p "$losses/in-the-way"
lerr0=$(health_counter losses_file_errors)
secs=$(python3 "$IT_DIR/badclient.py" losses "$CTCP" "$IT_TMP/hosts" 40) ||
    fail "METRICS frames reporting losses not ACKed"
for _ in $(seq 50); do     # the first try comes a second after a change
    [ "$(health_counter losses_file_errors)" -gt "$lerr0" ] && break
    sleep 0.1
done
lerr=$(($(health_counter losses_file_errors) - lerr0))
log "losses file: $lerr failed saves for 40 changes in ${secs} s"
assert_ge "$lerr" 1 "losses_file_errors while the file cannot be saved"
[ "$lerr" -le $((secs + 3)) ] ||
    fail "losses file rewritten $lerr times in $secs s (once a second at most)"
rm -r "$losses"
python3 "$IT_DIR/badclient.py" losses "$CTCP" "$IT_TMP/hosts" 41 >/dev/null ||
    fail "METRICS frames reporting losses not ACKed"
for _ in $(seq 50); do
    grep -q '^s lossy 0*1055 0 0 0 0 41000 0 0 lossy-web$' "$losses" 2>/dev/null && break
    sleep 0.2
done
grep -q '^s lossy 0*1055 0 0 0 0 41000 0 0 lossy-web$' "$losses" 2>/dev/null ||
    fail "lost-data figures not saved once the file could be: $(cat "$losses" 2>&1)"

wait_writers 30
manifest=$IT_TMP/manifest-node1-web.jsonl
total=$(manifest_lines "$manifest")
wait_all_found 60 "$manifest"
lq --json -n 1000000 --host node1 >"$IT_TMP/out.jsonl" || fail "logq failed"
python3 "$IT_DIR/check.py" verify "$manifest" <"$IT_TMP/out.jsonl" ||
    fail "honest shipper's lines not exactly once"
rc=0
lq --json -n 100 --host intruder >"$IT_TMP/intruder.jsonl" || rc=$?
assert_eq 1 "$rc" "logq exit status for no records"
assert_eq 0 "$(grep -c . "$IT_TMP/intruder.jsonl" || true)" \
    "records from the shipper with the wrong token"
assert_ge "$(health_counter auth_failures)" "$((auth + 1))" \
    "auth_failures after the intruder shipper"
health_ok || fail "collector unhealthy at the end"
# A loss reported just before a SIGTERM is saved at exit (ingest_free hands
# the last table to the saver's thread and waits), not dropped with the
# save timer's second: stopped right after the last ACK.
python3 "$IT_DIR/badclient.py" losses "$CTCP" "$IT_TMP/hosts" 42 >/dev/null ||
    fail "METRICS frames reporting losses not ACKed"
stop collector || fail "collector did not stop on SIGTERM"
grep -q '^s lossy 0*1055 0 0 0 0 42000 0 0 lossy-web$' "$losses" ||
    fail "lost-data figures of the last second not saved at exit: $(cat "$losses" 2>&1)"

it_pass
