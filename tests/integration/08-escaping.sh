#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 08-escaping: strings from the network never reach a terminal or the
# collector's log raw (SECURITY.md "Log and terminal injection"). A shipper
# (inject.py) sends a host name with C1 and invalid bytes, a software string
# with a newline and ESC, messages with ESC[2J, raw and UTF-8 C1 and invalid
# bytes, a container named web<ESC>[2J<0x9b><0xff> (refused by the source
# rules: records_refused), then 60 ERROR frames with a forged log line
# before any handshake. Checked:
#   - logq (text), logq containers, logq hosts: valid UTF-8 without control
#     characters, the escapes visible, the host whose name is not UTF-8
#     listed escaped (not dropped);
#   - the collector's log: the same, no forged line, pre-auth errors capped
#     with a "suppressed" line and /health log_lines_suppressed > 0.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
it_init 08-escaping

start_collector collector
python3 "$IT_DIR/inject.py" send "$CTCP" >"$IT_TMP/inject.out" 2>&1 ||
    fail "inject.py: $(tail -3 "$IT_TMP/inject.out")"

R=$'\xef\xbf\xbd'     # U+FFFD
has_lines() { [ "$(lq -n 10 zqinjectzq 2>/dev/null | grep -c .)" = 3 ]; }
wait_until 20 "the injected lines searchable" has_lines
lq -n 10 zqinjectzq >"$IT_TMP/text.out"
lq containers >"$IT_TMP/containers.out"
lq hosts >"$IT_TMP/hosts.out"
for f in text containers hosts; do
    python3 "$IT_DIR/inject.py" check "$IT_TMP/$f.out" >&2 ||
        fail "logq $f output holds control characters"
done
# Records travel as JSON: bytes that are not UTF-8 arrive as U+FFFD
# (common/record.c), the rest is escaped by logq.
grep -qF "zqinjectzq 0 \\x1b[2J $R \\u009b $R$R end" "$IT_TMP/text.out" ||
    fail "message not shown escaped: $(head -1 "$IT_TMP/text.out")"
grep -qF 'inj\x9b\xff  webinj' "$IT_TMP/containers.out" ||
    fail "hostile host's container not listed: $(cat "$IT_TMP/containers.out")"
assert_ge "$(health_counter records_refused)" 1 "records_refused"
grep -qF 'inj\x9b\xff' "$IT_TMP/hosts.out" ||
    fail "hostile host not listed escaped: $(cat "$IT_TMP/hosts.out")"

n=$(health_counter log_lines_suppressed)
assert_ge "$n" 1 "log_lines_suppressed"
stop collector
python3 "$IT_DIR/inject.py" check "$IT_TMP/collector.log" >&2 ||
    fail "the collector's log holds control characters"
if grep -q '^2026-01-01T00:00:00.000Z' "$IT_TMP/collector.log"; then
    fail "a forged line made it into the collector's log"
fi
grep -q 'suppressed [0-9]* similar messages' "$IT_TMP/collector.log" ||
    log "note: no summary line yet (the window had not ended)"
n_pre=$(grep -c 'error frame before the handshake' "$IT_TMP/collector.log" ||
    true)
[ "$n_pre" -le 20 ] || fail "$n_pre pre-auth error lines logged, budget 20"
log "pre-auth error lines logged: $n_pre of 60, suppressed: $n"
it_pass
