#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 41-conn-limits: what unauthenticated and idle peers may cost the
# collector (SECURITY.md "Connections before and after the handshake").
# Runs the release collector (bin/, `make all`): ASan's allocator keeps
# freed memory in quarantine, so only the real allocator's RSS means
# anything here.
#  - 100 connections that never authenticate (from 100 loopback
#    addresses), each announcing a 4 MiB frame and streaming it: the
#    collector's peak RSS (VmHWM) may grow by at most 32 MiB (it grew by
#    ~400 MiB and kept it when each could buffer a whole frame before the
#    handshake).
#  - --max-connections-per-address 8: a 9th connection from one address is
#    refused (ERROR 4) and counted, another address still gets in.
#  - --idle-timeout 20s: after WELCOME a silent client and one trickling a
#    BATCH a byte a second are closed after ~20 s (counted), a client
#    sending PING every second stays; before WELCOME a HELLO trickled a
#    byte a second is closed by --handshake-timeout 3s; a real shipper with
#    nothing to send (metrics every hour) stays connected on its PINGs.
#  - --max-sources-per-host 3, --max-hosts 5: a host's 4th and 5th new
#    sources have their records dropped and counted (the batch is ACKed),
#    a 6th host is refused at AUTH with ERROR 4 and counted; after a
#    restart the counts come back from the store.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 41-conn-limits

[ -x "$REPO/bin/logq-collector" ] || fail "missing $REPO/bin/logq-collector (make all)"
BUILD=$REPO/bin
enroll "$IT_TMP/hosts" node1 silent trickle pinger capsrc caph-1 caph-2 \
    caph-3 caph-4 caph-5
start_collector collector --token-file "$IT_TMP/hosts" \
    --max-connections-per-address 8 --idle-timeout 20s --handshake-timeout 3s \
    --max-hosts 5 --max-sources-per-host 3
pid=${IT_PIDS[collector]}

log "100 unauthenticated connections announcing 4 MiB frames"
out=$(python3 "$IT_DIR/connlimits.py" preauth "$CTCP" "$pid" 100) ||
    fail "connlimits preauth failed"
log "$out"
read -r _ before _ after _ hwm _ <<<"$out"
[ "$hwm" -le "$((before + 32768))" ] ||
    fail "collector VmHWM ${hwm} KiB with 100 pre-auth connections (from ${before} KiB; at most +32 MiB)"
[ "$after" -le "$((before + 16384))" ] ||
    fail "collector VmRSS ${after} KiB after they closed (from ${before} KiB; at most +16 MiB)"
health_ok || fail "collector unhealthy after the pre-auth flood"
assert_ge "$(health_counter frames_rejected)" 100 "frames_rejected"

log "per-address cap"
python3 "$IT_DIR/connlimits.py" peraddr "$CTCP" 8 ||
    fail "per-address connection cap"
assert_eq 1 "$(health_counter connections_rejected_per_address)" \
    "connections_rejected_per_address"

log "idle, trickling and pinging clients; an idle shipper"
mkdir -p "$IT_TMP/node1.docker"
start_shipper node1 "$IT_TMP/node1.docker" --token-file "$IT_TMP/hosts.d/node1" \
    --metrics-interval 3600
wait_until 20 "shipper node1 connected" grep -q "connected peer" "$IT_TMP/node1.log"
hs0=$(health_counter handshake_timeouts)
python3 "$IT_DIR/connlimits.py" idle "$CTCP" "$IT_TMP/hosts" 20 3 ||
    fail "idle timeout cases"
assert_eq 2 "$(health_counter idle_timeouts)" "idle_timeouts (silent, trickle)"
assert_eq "$((hs0 + 1))" "$(health_counter handshake_timeouts)" "handshake_timeouts"
if grep -q "connection closed" "$IT_TMP/node1.log"; then
    fail "the idle shipper was disconnected: $(grep "connection closed" "$IT_TMP/node1.log")"
fi

log "caps on sources per host and hosts (node1 and capsrc known: 3 new hosts fit)"
python3 "$IT_DIR/connlimits.py" caps "$CTCP" "$IT_TMP/hosts" 3 3 ||
    fail "host and source caps"
assert_eq 4 "$(health_counter records_refused_source_cap)" "records_refused_source_cap"
assert_eq 1 "$(health_counter hosts_refused)" "hosts_refused"
assert_eq 6 "$(lq -n 100 --host capsrc CONNLIMITS | grep -c CONNLIMITS-SRC)" \
    "records of capsrc's first 3 sources (2 batches)"
assert_eq 0 "$(lq -n 100 --host capsrc CONNLIMITS | grep -Ec 'CONNLIMITS-SRC-ca500[34]')" \
    "records of capsrc's sources over the cap"
assert_eq 3 "$(lq -n 100 CONNLIMITS-HOST | grep -c CONNLIMITS-HOST)" \
    "records of the admitted new hosts"

log "after a restart the store's hosts count again"
stop node1
stop collector
start_collector collector --token-file "$IT_TMP/hosts" --max-hosts 5 \
    --max-sources-per-host 3
# known from the store: capsrc, caph-1..3; so caph-4 fits and caph-5 not
python3 "$IT_DIR/connlimits.py" caps "$CTCP" "$IT_TMP/hosts" 3 4 ||
    fail "caps after a restart"
assert_eq 1 "$(health_counter hosts_refused)" "hosts_refused after the restart"
assert_eq 4 "$(health_counter records_refused_source_cap)" \
    "records_refused_source_cap after the restart"

it_pass
