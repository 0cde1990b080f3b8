#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 05-cli-flags: every program answers --help with exit 0 and a bad flag or a
# missing required flag with exit 2 and a message, without any sanitizer
# report (the ASan build checks leaks on these exit paths too; regression:
# logq-shipper --help leaked its parsed config), and logq's config file's
# since is no clash with an --until before it. Then the documentation
# generated from the flag tables: each man page (`--man`; the one make
# built must be the same) passes `man --warnings` without a word and names
# every flag its program's --help names (logq: of every command); logq's
# bash and zsh completion parse (bash -n, zsh -n) and offer, for each
# command, exactly the flags its --help lists (also with a config file);
# `make install`'s script puts everything in place under a temporary
# DESTDIR.
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
# logq --timeout: a collector that takes the request and never answers is
# given up on after D, with the reason and the flag named (a count sends
# nothing until its scan is done: the default wait is 5 minutes).
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
s.settimeout(20); c = s.accept()[0]; time.sleep(20)' >"$IT_TMP/mute.port" &
mute=$!
for _ in $(seq 50); do [ -s "$IT_TMP/mute.port" ] && break; sleep 0.1; done
t0=$(date +%s%N)
out=$("$BUILD/logq" --server "http://127.0.0.1:$(cat "$IT_TMP/mute.port")" \
    --timeout 1s count x 2>&1) && fail "logq count against a mute server: $out"
t1=$(date +%s%N)
kill "$mute" 2>/dev/null; wait "$mute" 2>/dev/null || true
case $out in
*"no data for 1 s (read timed out)"*"--timeout"*) ;;
*) fail "logq --timeout 1s: $out" ;;
esac
[ $(((t1 - t0) / 1000000)) -lt 8000 ] ||
    fail "logq --timeout 1s took $(((t1 - t0) / 1000000)) ms"
check 2 "$BUILD/logq" --timeout 25h count x
check 2 "$BUILD/logq-shipper" --state-dir "$IT_TMP"   # no --collector
check 2 "$BUILD/logq-shipper" --collector nohostport --state-dir "$IT_TMP"
for rule in jav 'regex:(' regex:; do       # not a multi-line rule
    check 2 "$BUILD/logq-shipper" --collector 127.0.0.1:1 \
        --state-dir "$IT_TMP" --multiline "$rule"
done
check 2 "$BUILD/logq" --since yesterdayish
check 2 "$BUILD/logq" -n
# the config file's since is a default: an --until before it is no clash
# (regression: "--until must be later than --since" for a --since never
# given); the search goes on to the (absent) collector
printf 'since = 1h\n' >"$IT_TMP/logq.conf"
chmod 600 "$IT_TMP/logq.conf"
out=$(LOGQ_CONFIG="$IT_TMP/logq.conf" "$BUILD/logq" --until 2h x \
    --server http://127.0.0.1:1 2>&1 >/dev/null) && fail "logq reached port 1"
case $out in
*"cannot reach collector"*) ;;
*) fail "config since with --until 2h: $out" ;;
esac

# long_flags: the --flags of option lines ("  -e, --regex REGEX") on stdin.
long_flags() { grep -E '^ *-' | grep -oE -- '--[a-z][a-z-]*' | sort -u; }

man_check() {   # man_check PROGRAM SECTION [COMMAND...]
    local p=$1 page="$IT_TMP/$1.$2" c missing
    "$BUILD/$p" --man >"$page" || fail "$p --man exited $?"
    cmp -s "$page" "$BUILD/man/$p.$2" ||
        fail "$BUILD/man/$p.$2 differs from $p --man (make MODE=asan build)"
    LC_ALL=C MANWIDTH=120 man --warnings -l "$page" 2>"$IT_TMP/man.err" |
        grep -oE -- '--[a-z][a-z-]*' | sort -u >"$IT_TMP/man.flags"
    [ ! -s "$IT_TMP/man.err" ] || fail "man --warnings $p: $(cat "$IT_TMP/man.err")"
    shift 2
    for c in "" "$@"; do
        "$BUILD/$p" ${c:+"$c"} --help | long_flags
    done | sort -u >"$IT_TMP/help.flags"
    missing=$(comm -23 "$IT_TMP/help.flags" "$IT_TMP/man.flags" | tr '\n' ' ')
    [ -z "$missing" ] || fail "$p: in --help but not in its man page: $missing"
}
man_check logq-collector 8
# what each signal does (SIGHUP: the token files again, SECURITY.md)
if ! grep -q '^\.SH SIGNALS' "$IT_TMP/logq-collector.8" ||
    ! grep -q '^SIGTERM, SIGINT: .* SIGHUP: read .*token' "$IT_TMP/logq-collector.8"; then
    fail "logq-collector(8) has no SIGNALS section naming SIGHUP"
fi
man_check logq-shipper 8
cmds=$("$BUILD/logq" __complete commands | cut -f1)
[ -n "$cmds" ] || fail "logq __complete commands listed nothing"
# shellcheck disable=SC2086 # one word per command
man_check logq 1 $cmds

export PATH="$BUILD:$PATH"
cd "$REPO" || fail "cd $REPO"
# completion works for a user with a config file (regression: its
# defaults were put before __complete's list name's argument, so
# `logq __complete flags count` saw "--server" as the command)
printf 'server = http://127.0.0.1:1\ncolor = never\nsince = 1h\n' \
    >"$IT_TMP/logq.conf"
export LOGQ_CONFIG="$IT_TMP/logq.conf"
bash -n query/completion/logq.bash || fail "bash -n logq.bash"
zsh -n query/completion/_logq || fail "zsh -n _logq"
# what completion offers after "logq [CMD] --" is `logq __complete flags
# CMD`: for every command exactly the flags of its --help; bash and zsh
# (its completion functions stubbed to print what they are given) offer
# that list for the search and for one command
for c in "" $cmds; do
    want=$(logq ${c:+"$c"} --help | long_flags | tr '\n' ' ')
    got=$(logq __complete flags ${c:+"$c"} | cut -f1 | grep -- '^--' | sort -u |
        tr '\n' ' ')
    assert_eq "$want" "$got" "logq __complete flags $c"
done
for c in "" count; do
    want=$(logq ${c:+"$c"} --help | long_flags | tr '\n' ' ')
    got=$(bash -c '. query/completion/logq.bash
        COMP_WORDS=(logq $1 --); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _logq; printf "%s\n" "${COMPREPLY[@]}"' - "$c" | sort -u | tr '\n' ' ')
    assert_eq "$want" "$got" "bash completion of 'logq $c --'"
    got=$(zsh -c 'compadd() { shift; print -rl -- "$@"; }
        source query/completion/_logq >/dev/null 2>&1
        words=(logq ${=1} --); CURRENT=${#words}; PREFIX=--; _logq' - "$c" |
        grep -- '^--' | sort -u | tr '\n' ' ')
    assert_eq "$want" "$got" "zsh completion of 'logq $c --'"
done
got=$(bash -c '. query/completion/logq.bash
    COMP_WORDS=(logq --color ""); COMP_CWORD=2; _logq; echo "${COMPREPLY[*]}"')
assert_eq "auto always never" "$got" "bash completion of 'logq --color'"

provisioning/install.sh "$BUILD" "$IT_TMP/dest" /usr >/dev/null ||
    fail "install.sh exited $?"
for f in bin/logq bin/logq-collector bin/logq-shipper share/man/man1/logq.1 \
    share/man/man8/logq-collector.8 share/man/man8/logq-shipper.8 \
    share/bash-completion/completions/logq share/zsh/site-functions/_logq; do
    [ -s "$IT_TMP/dest/usr/$f" ] || fail "make install left out /usr/$f"
done
[ -x "$IT_TMP/dest/usr/bin/logq" ] || fail "installed logq is not executable"
it_pass
