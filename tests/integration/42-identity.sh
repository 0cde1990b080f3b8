#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 42-identity: shipper identity (SECURITY.md "Shipper identity",
# common/PROTOCOL.md version 2). Per-host tokens: host node2's token cannot
# send as node3 (a protocol client and a real shipper both refused, nothing
# stored); a fake collector without the tokens (a random proof, or asking
# for none) gets nothing from a real shipper but its HELLO; a man in the
# middle who modifies a batch, replays one, or replays an ACK to the
# shipper ends the connection each time (counted in frames_bad_mac and the
# shipper's counters), nothing of the modified batch is stored, and the
# shipper behind it still delivers every line exactly once. An honest
# shipper writes throughout, and all of its lines arrive exactly once.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 42-identity

enroll "$IT_TMP/hosts" node1 node2 node3
start_collector collector --token-file "$IT_TMP/hosts"
mkdir -p "$IT_TMP/node1.docker" "$IT_TMP/node2.docker"
start_shipper node1 "$IT_TMP/node1.docker" --token-file "$IT_TMP/hosts.d/node1"
fake_container node1 web "$IT_TMP/node1.docker" --count 300 --rate 30
auth0=$(health_counter auth_failures)

log "a shipper gets only its own token, not the collector's list"
mkdir -p "$IT_TMP/x.state"
rc=0
"$BUILD/logq-shipper" --collector "127.0.0.1:$CTCP" --docker-root "$IT_TMP/x" \
    --state-dir "$IT_TMP/x.state" --hostname node1 \
    --token-file "$IT_TMP/hosts" 2>"$IT_TMP/list.err" || rc=$?
assert_eq 2 "$rc" "shipper given the collector's token list: exit status"
grep -q "HOST TOKEN list" "$IT_TMP/list.err" ||
    fail "no clear message: $(cat "$IT_TMP/list.err")"

log "node2's token cannot send as node3"
python3 "$IT_DIR/identity.py" cross "$CTCP" "$IT_TMP/hosts" node2 node3 ||
    fail "cross-host protocol client"
mkdir -p "$IT_TMP/impostor.docker" "$IT_TMP/impostor.state"
fake_container node3 app "$IT_TMP/impostor.docker" --count 20 --rate 100
it_bg impostor "$BUILD/logq-shipper" --collector "127.0.0.1:$CTCP" \
    --docker-root "$IT_TMP/impostor.docker" --state-dir "$IT_TMP/impostor.state" \
    --hostname node3 --token-file "$IT_TMP/hosts.d/node2"
IT_DAEMON[impostor]=1
wait_until 20 "the impostor refuses the collector's proof" \
    grep -q "refusing to send logs.*host=node3" "$IT_TMP/impostor.log"
wait_until 30 "auth_failures after the impostor" \
    test "$(health_counter auth_failures)" -ge "$((auth0 + 2))"

log "a fake collector without the tokens gets nothing but HELLO"
for mode in wrong noauth; do
    it_bg "fake-$mode" python3 "$IT_DIR/identity.py" fake-collector \
        "$IT_TMP/fake-$mode.port" "$IT_TMP/fake-$mode.frames" "$mode"
    wait_until 30 "fake collector ($mode) port" test -s "$IT_TMP/fake-$mode.port"
    mkdir -p "$IT_TMP/f$mode.docker" "$IT_TMP/f$mode.state"
    fake_container node2 "f$mode" "$IT_TMP/f$mode.docker" --count 20 --rate 100
    it_bg "shipper-$mode" "$BUILD/logq-shipper" \
        --collector "127.0.0.1:$(cat "$IT_TMP/fake-$mode.port")" \
        --docker-root "$IT_TMP/f$mode.docker" --state-dir "$IT_TMP/f$mode.state" \
        --hostname node2 --token-file "$IT_TMP/hosts.d/node2"
    IT_DAEMON[shipper-$mode]=1
done
for mode in wrong noauth; do
    wait_until 20 "the shipper refuses the fake collector ($mode)" \
        grep -q "refusing to send logs" "$IT_TMP/shipper-$mode.log"
done
sleep 1
for mode in wrong noauth; do
    stop "shipper-$mode"
    assert_eq 0 "$(grep -vc -e '^connection$' -e '^100$' "$IT_TMP/fake-$mode.frames" || true)" \
        "frames other than HELLO sent to the fake collector ($mode)"
    grep -q "collector_auth_failures=[1-9]" "$IT_TMP/shipper-$mode.log" ||
        fail "shipper-$mode: collector_auth_failures not counted"
    stop "fake-$mode"
done

log "a man in the middle: a modified batch, a replayed batch, a replayed ACK"
mac0=$(health_counter frames_bad_mac)
it_bg proxy python3 "$IT_DIR/identity.py" proxy "$IT_TMP/proxy.port" "$CTCP" \
    "$IT_TMP/proxy.events"
wait_until 30 "proxy port" test -s "$IT_TMP/proxy.port"
mkdir -p "$IT_TMP/node2.state"
# zlib batches, so the proxy can rewrite the records inside (Python has no
# zstd); also a shipper that offers no zstd, as older ones, still accepted
# (common/PROTOCOL.md "Compression")
it_bg node2 "$BUILD/logq-shipper" --collector "127.0.0.1:$(cat "$IT_TMP/proxy.port")" \
    --docker-root "$IT_TMP/node2.docker" --state-dir "$IT_TMP/node2.state" \
    --hostname node2 --token-file "$IT_TMP/hosts.d/node2" --compression zlib
IT_DAEMON[node2]=1
fake_container node2 web "$IT_TMP/node2.docker" --count 200 --rate 40
wait_until 30 "the proxy's three attacks" grep -q "conn 3 down: ack 1 replayed" \
    "$IT_TMP/proxy.events"
grep -q "conn 1 up: batch 2 modified" "$IT_TMP/proxy.events" ||
    fail "no modified batch: $(cat "$IT_TMP/proxy.events")"
grep -q "conn 2 up: batch 2 replayed" "$IT_TMP/proxy.events" ||
    fail "no replayed batch: $(cat "$IT_TMP/proxy.events")"
wait_until 30 "frames_bad_mac for the modified and the replayed batch" \
    test "$(health_counter frames_bad_mac)" -ge "$((mac0 + 2))"
wait_until 30 "the shipper refusing the replayed ACK" \
    grep -q "frame from the collector refused" "$IT_TMP/node2.log"

wait_writers 40
wait_all_found 60 "$IT_TMP/manifest-node1-web.jsonl" "$IT_TMP/manifest-node2-web.jsonl"
for h in node1 node2; do
    lq --json -n 1000000 --host "$h" --container web >"$IT_TMP/$h.jsonl" ||
        fail "logq failed"
    python3 "$IT_DIR/check.py" verify "$IT_TMP/manifest-$h-web.jsonl" \
        <"$IT_TMP/$h.jsonl" || fail "$h's lines not exactly once"
done
rc=0
lq --json -n 100 EVILZ >"$IT_TMP/evil.jsonl" || rc=$?
assert_eq 1 "$rc" "logq exit status: no record of the modified batch"
rc=0
lq --json -n 100 --host node3 >"$IT_TMP/node3.jsonl" || rc=$?
assert_eq 1 "$rc" "logq exit status: nothing stored as node3"
lq --json -n 10 IDENTCROSS >"$IT_TMP/cross.jsonl" || fail "logq failed"
assert_eq 1 "$(grep -c '"host":"node2"' "$IT_TMP/cross.jsonl" || true)" \
    "node2's own batch from the protocol client"
stop node2
grep -q "frames_bad_mac=[1-9]" "$IT_TMP/node2.log" ||
    fail "node2: frames_bad_mac not counted"
health_ok || fail "collector unhealthy at the end"

it_pass
