#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 17-regex: logq -e end to end, judged by the collector's PCRE2 alone:
# (?i), (?:a|b), look-ahead and look-behind, several -e as alternatives
# (an (?i) in one does not reach the other), \< \> word anchors by the term
# rule, bad regexes (exit 2, the message names the regex, PCRE2's reason
# and offset), and CRLF line ends, also one that Docker's 16 KiB split
# cuts in two. Each answer is checked line by line against the written
# lines, with Python's re (same meaning for these patterns) as the model.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 17-regex

start_collector collector
mkdir -p "$IT_TMP/node1.docker"
start_shipper node1 "$IT_TMP/node1.docker"

# The written lines: one JSON object per line, {"m": marker, "msg": the
# message as logq must show it (without its CRLF)}.
python3 - "$IT_DIR" "$IT_TMP/node1.docker" "$IT_TMP/written.jsonl" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
import fakedocker

texts = [
    "disk ERROR on sda", "an error occurred", "errors: none",
    "user=admin login", "user=bob login", "pam_unix session opened",
    "unix socket closed", "cpu high", "disk full", "mem low",
    "caf\u00e9 ouvert", "caf open", "id=42 pid=43", "pid=44",
]
c = fakedocker.Container(sys.argv[2], fakedocker.container_id("node1", "rx", 1),
                         "rx", "rx:1")
with open(sys.argv[3], "w", encoding="utf-8") as out:
    def put(marker, text, crlf=False):
        msg = marker + " " + text
        c.write(msg + ("\r" if crlf else ""))
        out.write(json.dumps({"m": marker, "msg": msg}) + "\n")
    for i, t in enumerate(texts, 1):
        put("Mrx-%03d" % i, t)
    # 16384 bytes with the '\r': Docker writes it as a partial piece
    # ending in "\r", then a piece that is "\n" alone.
    head = "Mrx-015 crlf split "
    put("Mrx-015", head[8:] + "x" * (16383 - len(head)), crlf=True)
    put("Mrx-016", "crlf whole", crlf=True)
c.close()
EOF
n_written=$(wc -l <"$IT_TMP/written.jsonl")
n_found() { [ "$(lq --json -n 1000 Mrx | wc -l)" = "$n_written" ]; }
wait_until 60 "all $n_written lines searchable" n_found

# check NAME [logq args...]: the --json answer's messages, sorted, equal
# the written lines that Python's re selects for the -e/-i of the args.
check() {
    local name=$1
    shift
    lq --json -n 1000 "$@" >"$IT_TMP/got.jsonl" ||
        fail "$name: logq $* exited $?"
    python3 - "$IT_TMP/written.jsonl" "$IT_TMP/got.jsonl" "$@" <<'EOF' ||
import json, re, sys
W = "[A-Za-z0-9_\\x80-\\xff]"
pats, icase, args = [], False, sys.argv[3:]
for i, a in enumerate(args):
    if a == "-e":
        pats.append(args[i + 1])
    elif a == "-i":
        icase = True
flags = re.DOTALL | (re.IGNORECASE if icase else 0)
res = [re.compile(p.replace("\\<", "(?<!%s)(?=%s)" % (W, W))
                   .replace("\\>", "(?<=%s)(?!%s)" % (W, W)).encode(), flags)
       for p in pats]
want = sorted(w["msg"] for w in map(json.loads, open(sys.argv[1]))
              if any(r.search(w["msg"].encode()) for r in res))
got = sorted(json.loads(l)["message"] for l in open(sys.argv[2]))
if not want:
    sys.exit("the model selects no line: a check that cannot fail")
if got != want:
    sys.exit("got %r\nwant %r" % (got, want))
EOF
        fail "$name: answer differs from the written lines"
    log "$name: $(wc -l <"$IT_TMP/got.jsonl") lines as written"
}

check "(?i) inline option" -e '(?i)error'
check "non-capturing group" -e '(?:cpu|disk) (?:high|full)'
check "look-ahead" -e 'user=(?=admin)'
check "negative look-ahead" -e 'user=(?!admin)\w+'
check "look-behind" -e '(?<=\bid=)\d+'
check "two -e are alternatives" -e cpu -e disk
check "(?i) stays in its own -e" -e '(?i)ERROR' -e 'MEM'
check "\\< \\> word anchors" -e '\<unix\>'
check "\\< \\>: a byte >= 0x80 is a word character" -e '\<caf\>'
check "\\< \\> with -i" -i -e '\<ERROR\>'
assert_eq 3 "$(lq count -e cpu -e disk)" "count with two -e"

log "CRLF line ends"
python3 - "$IT_TMP/written.jsonl" <(lq --json -n 1000 -e '^Mrx-01[56] ') <<'EOF' ||
import json, sys
want = sorted(w["msg"] for w in map(json.loads, open(sys.argv[1]))
              if w["m"] in ("Mrx-015", "Mrx-016"))
got = sorted(json.loads(l)["message"] for l in open(sys.argv[2]))
assert len(want) == 2 and len(want[0]) == 16383, [len(w) for w in want]
assert got == want, [g[-12:] for g in got]
EOF
    fail "a CRLF line end was kept"

log "bad regexes"
# bad_regex WANT ARGS...: exit 2 and WANT on stderr.
bad_regex() {
    local want=$1 rc=0
    shift
    lq "$@" >"$IT_TMP/bad.out" 2>"$IT_TMP/bad.err" || rc=$?
    assert_eq 2 "$rc" "logq $* exit status"
    grep -qF -- "$want" "$IT_TMP/bad.err" ||
        fail "logq $*: want '$want', got: $(cat "$IT_TMP/bad.err")"
    [ ! -s "$IT_TMP/bad.out" ] || fail "logq $*: printed lines"
    log "logq $*: $(head -n 1 "$IT_TMP/bad.err")"
}
bad_regex "bad regex '(' at offset 1: missing closing parenthesis" -e '('
bad_regex "bad regex 'b(' at offset 2: missing closing parenthesis" \
    -e ok -e 'b('
bad_regex "bad regex 'a{2,1}' at offset 5: numbers out of order" -e 'a{2,1}'
bad_regex "\\< and \\> cannot be used with the x (extended) option" \
    -e '(?x) \<a'
bad_regex "bad regex '(' at offset 1" count -e '('

it_pass
