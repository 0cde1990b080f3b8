#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 06-hardening: the release binaries (bin/, what `make all` installs and the
# images ship) carry the Makefile's hardening (SECURITY.md "Build
# hardening"), read from the ELF files with readelf:
#   - position-independent executable (ELF type DYN, FLAGS_1 PIE),
#   - full RELRO: a GNU_RELRO segment and BIND_NOW (FLAGS NOW / FLAGS_1 NOW),
#   - a non-executable stack (GNU_STACK without E),
#   - stack canaries (__stack_chk_fail referenced),
#   - _FORTIFY_SOURCE (glibc __*_chk functions referenced).
# logq-loggen is a static PIE: same checks on its full symbol table.
# The ASan build is not checked: it is built without these on purpose.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
it_init 06-hardening

command -v readelf >/dev/null || fail "readelf not installed (binutils)"

# check_elf FILE SYMTAB_OPTION: fails with the first missing property.
check_elf() {
    local f=$1 symopt=$2 hdr dyn seg syms chk
    [ -x "$f" ] || fail "$f missing: run make all first"
    hdr=$(readelf -hW "$f")
    dyn=$(readelf -dW "$f")
    seg=$(readelf -lW "$f")
    syms=$(readelf "$symopt" -W "$f")
    grep -Eq 'Type:[[:space:]]+DYN' <<<"$hdr" || fail "$f is not PIE (ELF type)"
    grep -Eq 'FLAGS_1\).*PIE' <<<"$dyn" || fail "$f: FLAGS_1 has no PIE"
    grep -Eq 'GNU_RELRO' <<<"$seg" || fail "$f has no GNU_RELRO segment"
    grep -Eq '(BIND_NOW|FLAGS\).* BIND_NOW|FLAGS_1\).* NOW)' <<<"$dyn" ||
        fail "$f is not linked with -z now (partial RELRO only)"
    grep -Eq 'GNU_STACK.* RWE ' <<<"$seg" && fail "$f has an executable stack"
    grep -Eq 'TEXTREL' <<<"$dyn" && fail "$f has text relocations"
    grep -Eq ' __stack_chk_fail(@|$)' <<<"$syms" ||
        fail "$f has no stack protector (__stack_chk_fail not referenced)"
    chk=$(grep -Eo ' __[a-z0-9_]+_chk(@|$)' <<<"$syms" |
              grep -v __stack_chk_fail | sort -u | wc -l)
    [ "$chk" -ge 1 ] ||
        fail "$f is not built with _FORTIFY_SOURCE (no __*_chk function)"
    log "$f: PIE, full RELRO, NX stack, canaries, $chk fortified functions"
}

for p in logq-collector logq-shipper logq; do
    check_elf "$REPO/bin/$p" --dyn-syms
done
check_elf "$REPO/bin/logq-loggen" --syms

it_pass
