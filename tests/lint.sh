#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lint.sh: repository checks behind `make lint`.
#   - shellcheck -x on every *.sh outside build/ and .git/
#   - banned C functions (sprintf, vsprintf, strcpy, strcat, strtok, atoi,
#     atol, atoll, gets, alloca) in *.c / *.h
#   - raw malloc/calloc/realloc outside common/xmalloc.c (use xmalloc.h)
#   - evhttp_connection_set_closecb outside collector/api/api_conn.c, which
#     owns it to count connections (handlers use api_conn_set_closecb)
# Comments and string literals are ignored for the C checks. Prints every
# finding as file:line: text; exit 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."

findings=0

mapfile -t shells < <(find . \( -path ./build -o -path ./.git -o -path ./bin \) \
    -prune -o -type f -name '*.sh' -print | sort)
if ! command -v shellcheck >/dev/null 2>&1; then
    echo "lint: shellcheck not installed (apt-get install shellcheck)" >&2
    exit 1
fi
if [ ${#shells[@]} -gt 0 ] && ! shellcheck -x "${shells[@]}"; then
    findings=$((findings + 1))
fi

mapfile -t csrc < <(find . \( -path ./build -o -path ./.git -o -path ./bin \) \
    -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print | sort)
if [ ${#csrc[@]} -gt 0 ]; then
    # Strips comments and string/char literals, then greps per line.
    if ! python3 - "${csrc[@]}" <<'EOF'; then
import re, sys

BANNED = re.compile(r"\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|"
                    r"atoll|gets|alloca)\s*\(")
ALLOC = re.compile(r"(?<![\w.>])(malloc|calloc|realloc)\s*\(")
CLOSECB = re.compile(r"\bevhttp_connection_set_closecb\s*\(")
TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|'
                   r"'(?:\\.|[^'\\\n])*'", re.S)


def blank(m):
    # keep newlines so line numbers stay right
    return re.sub(r"[^\n]", " ", m.group(0))


bad = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8", errors="replace") as f:
        src = f.read()
    code = TOKEN.sub(blank, src)
    lines = src.split("\n")
    norm = path[2:] if path.startswith("./") else path
    for n, line in enumerate(code.split("\n"), 1):
        for m in BANNED.finditer(line):
            print("%s:%d: banned function %s(): %s" % (
                norm, n, m.group(1), lines[n - 1].strip()))
            bad += 1
        if CLOSECB.search(line) and norm != "collector/api/api_conn.c":
            print("%s:%d: evhttp_connection_set_closecb() outside "
                  "collector/api/api_conn.c (use api_conn_set_closecb, or "
                  "the HTTP connection count leaks): %s"
                  % (norm, n, lines[n - 1].strip()))
            bad += 1
        if norm == "common/xmalloc.c" or line.lstrip().startswith("#"):
            continue
        for m in ALLOC.finditer(line):
            print("%s:%d: raw %s() outside common/xmalloc.c (use xmalloc.h): %s"
                  % (norm, n, m.group(1), lines[n - 1].strip()))
            bad += 1
sys.exit(1 if bad else 0)
EOF
        findings=$((findings + 1))
    fi
fi

if [ "$findings" -ne 0 ]; then
    echo "lint: FAILED" >&2
    exit 1
fi
echo "lint: ok (${#shells[@]} shell scripts, ${#csrc[@]} C files)"
