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
#    refused (ERROR 4) and counted, another address still gets in;
#    --max-connections 4 (a third collector): a 5th connection from a 5th
#    address is refused (ERROR 4) and counted, and once one closes a new
#    one is served.
#  - dead peers closed within 30 s with the default flags (issue 9
#    "Faults" 3): after WELCOME a silent client and one trickling a BATCH a
#    byte a second are closed by the default --idle-timeout (20 s; counted),
#    a client sending PING every second stays; before WELCOME a HELLO
#    trickled a byte a second is closed by --handshake-timeout 3s; a real
#    shipper with nothing to send (metrics every hour) stays connected on
#    its PINGs. Meanwhile, on a second collector frozen with SIGSTOP (the
#    kernel still takes the bytes, nothing answers), two shippers with the
#    default flags give it up within 30 s: an idle one (its PING gets no
#    PONG) and a busy one (its batches get no ACK).
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
enroll "$IT_TMP/fz-hosts" quiet busy
# The idle timeout is left at its default: the case below proves it.
start_collector collector --token-file "$IT_TMP/hosts" \
    --max-connections-per-address 8 --handshake-timeout 3s \
    --max-hosts 5 --max-sources-per-host 3
pid=${IT_PIDS[collector]}
main_tcp=$CTCP
main_http=$CHTTP

# A second collector with two shippers, frozen further down (set up first,
# so that their start overlaps the cases before).
start_collector frozen --token-file "$IT_TMP/fz-hosts"
fz_tcp=$CTCP
fz_http=$CHTTP
for n in quiet busy; do
    mkdir -p "$IT_TMP/$n.docker"
    start_shipper "$n" "$IT_TMP/$n.docker" --token-file "$IT_TMP/fz-hosts.d/$n" \
        --metrics-interval 3600
done
fake_container busy app "$IT_TMP/busy.docker" --count 1200 --rate 20
CTCP=$main_tcp
CHTTP=$main_http

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

log "global cap (--max-connections 4, on a third collector)"
start_collector gcap --max-connections 4
python3 "$IT_DIR/connlimits.py" global "$CTCP" 4 ||
    fail "global connection cap"
assert_eq 1 "$(health_counter connections_rejected)" "connections_rejected"
stop gcap || fail "collector gcap did not stop on SIGTERM"
CTCP=$main_tcp
CHTTP=$main_http

log "a frozen collector, shippers with the default flags"
CTCP=$fz_tcp
CHTTP=$fz_http
busy_stored() { [ "$(health_counter records_stored)" -ge 20 ]; }
wait_until 30 "the busy shipper's lines stored" busy_stored
wait_until 20 "shipper quiet connected" grep -q "connected peer" "$IT_TMP/quiet.log"
kill -STOP "${IT_PIDS[frozen]}"
frozen_at=$(date +%s%3N)
CTCP=$main_tcp
CHTTP=$main_http

log "idle, trickling and pinging clients; an idle shipper"
mkdir -p "$IT_TMP/node1.docker"
start_shipper node1 "$IT_TMP/node1.docker" --token-file "$IT_TMP/hosts.d/node1" \
    --metrics-interval 3600
wait_until 20 "shipper node1 connected" grep -q "connected peer" "$IT_TMP/node1.log"
hs0=$(health_counter handshake_timeouts)
# 20: the default --idle-timeout; connlimits.py wants them closed at 19-24 s
python3 "$IT_DIR/connlimits.py" idle "$CTCP" "$IT_TMP/hosts" 20 3 ||
    fail "idle timeout cases (default --idle-timeout)"
assert_eq 2 "$(health_counter idle_timeouts)" "idle_timeouts (silent, trickle)"
assert_eq "$((hs0 + 1))" "$(health_counter handshake_timeouts)" "handshake_timeouts"
if grep -q "connection closed" "$IT_TMP/node1.log"; then
    fail "the idle shipper was disconnected: $(grep "connection closed" "$IT_TMP/node1.log")"
fi

# gave_up NAME: the ms from the freeze to NAME's first "connection closed"
# (its log's own time stamps) and the reason; false if none yet.
gave_up() {
    python3 - "$IT_TMP/$1.log" "$frozen_at" <<'EOF'
import calendar, sys, time
at = int(sys.argv[2])
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if "connection closed" not in line:
        continue
    ts = line.split()[0]                 # 2026-12-03T15:36:14.577Z
    ms = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 \
        + int(ts[20:23])
    if ms >= at:
        print(ms - at, line.split("reason=")[-1].strip())
        sys.exit(0)
sys.exit(1)
EOF
}
# up to 35 s after the freeze for both, then the collector runs again (a
# stopped process would not stop on SIGTERM)
for ((i = 0; i < 200; i++)); do
    gave_up quiet >/dev/null && gave_up busy >/dev/null && break
    [ $(( $(date +%s%3N) - frozen_at )) -lt 35000 ] || break
    sleep 0.25
done
kill -CONT "${IT_PIDS[frozen]}"
for n in quiet busy; do
    read -r ms why <<<"$(gave_up "$n" || echo -1 none)"
    log "shipper $n gave up the frozen collector after $ms ms ($why)"
    if [ "$ms" -lt 0 ] || [ "$ms" -gt 30000 ]; then
        fail "shipper $n took over 30 s ($ms ms) to give up a collector that stopped answering"
    fi
done
gave_up quiet | grep -q "ping timeout" || fail "the idle shipper did not give up on its PING"
gave_up busy | grep -q "ack timeout" || fail "the busy shipper did not give up on its ACK"
for n in quiet busy fd-busy-app frozen; do
    stop "$n"
done

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
