#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 41-conn-limits: what unauthenticated and idle peers may cost the
# collector (SECURITY.md "Connections before and after the handshake").
# Runs the release collector (bin/, `make all`): ASan's allocator keeps
# freed memory in quarantine, so only the real allocator's RSS means
# anything here.
#  - 100 connections that never authenticate, each announcing a 4 MiB
#    frame and streaming it: the collector's peak RSS (VmHWM) may grow by
#    at most 32 MiB (it grew by ~400 MiB and kept it when each could buffer
#    a whole frame before the handshake).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 41-conn-limits

[ -x "$REPO/bin/logq-collector" ] || fail "missing $REPO/bin/logq-collector (make all)"
BUILD=$REPO/bin
make_token "$IT_TMP/token"
start_collector collector --token-file "$IT_TMP/token"
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

it_pass
