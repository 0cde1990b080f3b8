#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 05-cli-flags: every program answers --help with exit 0 and a bad flag or a
# missing required flag with exit 2 and a message, without any sanitizer
# report (the ASan build checks leaks on these exit paths too; regression:
# logq-shipper --help leaked its parsed config).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
it_init 05-cli-flags

# cmd expected_rc args...: runs one binary, checks its exit status and that
# stderr holds no sanitizer report.
check() {
    local want=$1 out rc=0
    shift
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" = "$want" ] || fail "$* exited $rc, want $want: $out"
    if printf '%s' "$out" | grep -Eq 'Sanitizer|runtime error'; then
        fail "$* produced a sanitizer report: $out"
    fi
    if [ "$want" = 2 ] && [ -z "$out" ]; then
        fail "$* failed without a message"
    fi
}

for p in logq-collector logq-shipper logq; do
    check 0 "$BUILD/$p" --help
    check 2 "$BUILD/$p" --no-such-flag
done
check 2 "$BUILD/logq-collector"                       # no --data-dir
check 2 "$BUILD/logq-shipper" --state-dir "$IT_TMP"   # no --collector
check 2 "$BUILD/logq-shipper" --collector nohostport --state-dir "$IT_TMP"
for rule in jav 'regex:(' regex:; do       # not a multi-line rule
    check 2 "$BUILD/logq-shipper" --collector 127.0.0.1:1 \
        --state-dir "$IT_TMP" --multiline "$rule"
done
check 2 "$BUILD/logq" --since yesterdayish
check 2 "$BUILD/logq" -n
it_pass
