#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 15-search-features: context lines (-A/-B/-C: same container, both
# streams, merged windows read top to bottom, "--" between groups,
# "group":N and "context":true in JSON, both orders), logq count --by
# host/container/stream, grep habits (-v, -c, -l, --color highlighting the
# matched bytes), repeated and negated --host/--container/--image with
# nearest-name errors, time forms (--tail, --from/--to, now-1h, unix
# seconds, dates, --local), -o raw, --format, sorted containers and logq
# histogram against
# the known line counts of the fake containers' manifests, and the query
# limits (context > 1000, limit, scan cost cap on /logs, /count and
# /histogram, too many buckets) failing with clear errors; then fields of
# JSON and logfmt lines (field terms and their highlighted values,
# count --by field:, {field.NAME}).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 15-search-features

start_collector collector
mkdir -p "$IT_TMP/node1.docker" "$IT_TMP/node2.docker"
start_shipper node1 "$IT_TMP/node1.docker"
start_shipper node2 "$IT_TMP/node2.docker"
fake_container node1 web "$IT_TMP/node1.docker" --image nginx:1.25 \
    --count 200 --rate 2000
fake_container node1 api "$IT_TMP/node1.docker" --image api:2 \
    --count 150 --rate 2000 --stderr-every 3
fake_container node2 web "$IT_TMP/node2.docker" --image nginx:1.25 \
    --count 100 --rate 2000
wait_writers 60
manifests=("$IT_TMP"/manifest-*.jsonl)
total=$(manifest_lines "${manifests[@]}")
wait_all_found 60 "${manifests[@]}"
log "all $total lines searchable"

# markers FILE: the markers of a --json output, one per line, with a "C"
# after context lines.
markers() {
    python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["message"].split(" ")[0] + (" C" if r.get("context") else ""))' "$1"
}
# groups FILE: the "group" field of each record of a --json output.
groups() {
    python3 -c 'import json, sys
print(" ".join(str(json.loads(l).get("group")) for l in open(sys.argv[1])))' "$1"
}

log "context: one window"
lq --json --asc -C 2 Mnode1-web-000050 >"$IT_TMP/c1.jsonl"
assert_eq "Mnode1-web-000048 C
Mnode1-web-000049 C
Mnode1-web-000050
Mnode1-web-000051 C
Mnode1-web-000052 C" "$(markers "$IT_TMP/c1.jsonl")" "-C 2 around one match"

assert_eq "1 1 1 1 1" "$(groups "$IT_TMP/c1.jsonl")" "group field"

log "context: two groups, text output"
lq --no-color --asc -A 1 -B 1 Mnode1-web-000050 OR Mnode1-web-000060 \
    >"$IT_TMP/c2.txt"
assert_eq 7 "$(wc -l <"$IT_TMP/c2.txt")" "2 groups of 3 lines + separator"
assert_eq "--" "$(sed -n 4p "$IT_TMP/c2.txt")" "group separator line"
grep -q ' web: Mnode1-web-000050 ' "$IT_TMP/c2.txt" || fail "match not marked ':'"
grep -q ' web- Mnode1-web-000049 ' "$IT_TMP/c2.txt" || fail "context not marked '-'"
grep -q ' web- Mnode1-web-000061 ' "$IT_TMP/c2.txt" || fail "after line missing"

lq --json --asc -A 1 -B 1 Mnode1-web-000050 OR Mnode1-web-000060 \
    >"$IT_TMP/c2.jsonl"
assert_eq "1 1 1 2 2 2" "$(groups "$IT_TMP/c2.jsonl")" "two groups, JSON"

log "context: overlapping windows merge, newest first reads top to bottom"
lq --json -C 1 Mnode1-web-000050 OR Mnode1-web-000052 >"$IT_TMP/c3.jsonl"
assert_eq "Mnode1-web-000049 C
Mnode1-web-000050
Mnode1-web-000051 C
Mnode1-web-000052
Mnode1-web-000053 C" "$(markers "$IT_TMP/c3.jsonl")" "merged window, desc"
lq --no-color -C 1 Mnode1-web-000050 OR Mnode1-web-000052 >"$IT_TMP/c3.txt"
if grep -q -- '^--$' "$IT_TMP/c3.txt"; then fail "merged window split"; fi

log "context: both streams, --stream narrows"
# api writes every 3rd line to stderr: line 4's neighbours are 3 and 5
# (docker logs order); with --stream stdout they are 2 and 5.
lq --json --asc -C 1 Mnode1-api-000004 >"$IT_TMP/c4.jsonl"
assert_eq "Mnode1-api-000003 C
Mnode1-api-000004
Mnode1-api-000005 C" "$(markers "$IT_TMP/c4.jsonl")" "context from both streams"
lq --json --asc -C 1 --stream stdout Mnode1-api-000004 >"$IT_TMP/c5.jsonl"
assert_eq "Mnode1-api-000002 C
Mnode1-api-000004
Mnode1-api-000005 C" "$(markers "$IT_TMP/c5.jsonl")" "stdout context"
# Without -C the JSON field set is unchanged.
lq --json Mnode1-web-000050 >"$IT_TMP/c6.jsonl"
assert_eq "Mnode1-web-000050" "$(markers "$IT_TMP/c6.jsonl")" "match without -C"
if grep -q '"context"' "$IT_TMP/c6.jsonl"; then fail "context field without -C"; fi

log "count"
expect_counts() {   # by: prints "key count" lines from the manifests
    python3 -c 'import json, sys, collections
c = collections.Counter()
for f in sys.argv[2:]:
    for line in open(f):
        m = json.loads(line)
        k = {"host": m["host"], "container": m["host"] + "/" + m["container"],
             "stream": m["stream"]}[sys.argv[1]]
        c[k] += 1
for k in sorted(c):
    print(k, c[k])' "$@"
}
got_counts() {   # JSON body on stdin: sorted "key count" lines, total check
    python3 -c 'import json, sys
r = json.load(sys.stdin)
assert r["total"] == sum(g["count"] for g in r["groups"]), r
counts = [g["count"] for g in r["groups"]]
assert counts == sorted(counts, reverse=True), counts
for g in sorted(r["groups"], key=lambda g: g["key"]):
    print(g["key"], g["count"])'
}
for by in host container stream; do
    assert_eq "$(expect_counts "$by" "${manifests[@]}")" \
        "$(lq count --by "$by" --json | got_counts)" "count --by $by"
done
assert_eq "$total" "$(lq count)" "count total"
assert_eq 200 "$(lq count --host node1 --container web)" "count with filters"
lq --no-color count --by host >"$IT_TMP/count.txt"
grep -qE '^node1 +350$' "$IT_TMP/count.txt" || fail "count table: $(cat "$IT_TMP/count.txt")"
grep -qE '^TOTAL +450$' "$IT_TMP/count.txt" || fail "count total row"
rc=0
lq count NoSuchWordAnywhere >/dev/null || rc=$?
assert_eq 1 "$rc" "count of nothing exits 1"

log "grep habits: -v, -c, -l, --color"
# -v drops what a regex matches, server-side (so -c and -n count what is
# left); the expected number comes from the manifests.
want_v=$(python3 -c 'import json, re, sys
print(sum(1 for f in sys.argv[1:] for l in open(f)
          if json.loads(l)["host"] == "node1" and
          json.loads(l)["container"] == "web" and
          not re.match(r"Mnode1-web-0000[0-4]", json.loads(l)["m"])))' \
    "${manifests[@]}")
assert_eq "$want_v" "$(lq -c --host node1 --container web \
    -v '^Mnode1-web-0000[0-4]')" "-c -v"
assert_eq "$want_v" "$(lq --host node1 --container web --all \
    -v '^Mnode1-web-0000[0-4]' | wc -l)" "-v lines"
assert_eq "node1/api
node1/web
node2/web" "$(lq -l)" "-l pairs"
assert_eq "node1/web" "$(lq -l Mnode1-web-000050)" "-l one pair"
# Highlighting marks exactly what matched: the term (not the longer
# word around "000050" in other lines) and the regex span.
lq --color=always Mnode1-web-000050 -e 'web-0+5' >"$IT_TMP/hl.txt"
grep -qF "$(printf '\033[1;31mMnode1-web-000050\033[0m')" "$IT_TMP/hl.txt" ||
    fail "highlight: $(cat -v "$IT_TMP/hl.txt")"
NO_COLOR=1 lq --color=auto Mnode1-web-000050 >"$IT_TMP/hl2.txt"
if grep -q "$(printf '\033')" "$IT_TMP/hl2.txt"; then fail "color into a pipe"; fi
# NO_COLOR (the environment) beats the config file's color = always
printf 'color = always\n' >"$IT_TMP/logq.conf"
chmod 600 "$IT_TMP/logq.conf"
LOGQ_CONFIG="$IT_TMP/logq.conf" NO_COLOR=1 lq Mnode1-web-000050 \
    >"$IT_TMP/hl3.txt"
grep -q Mnode1-web-000050 "$IT_TMP/hl3.txt" || fail "config color: no line"
if grep -q "$(printf '\033')" "$IT_TMP/hl3.txt"; then
    fail "config color = always beat NO_COLOR"
fi

log "selections: repeated alternatives, '!' excludes, nearest names"
assert_eq "$total" "$(lq -c --container web --container api)" "two containers"
assert_eq 150 "$(lq -c --container '!web')" "--container !web"
assert_eq 300 "$(lq -c --host node1 --host node2 --container '!api*')" \
    "two hosts without api"
assert_eq 200 "$(lq count --host node1 --image '!api:2')" "count --image !"
rc=0
lq --container we >/dev/null 2>"$IT_TMP/sel.err" || rc=$?
assert_eq 1 "$rc" "no such container: exit 1"
assert_eq "logq: no container 'we'; did you mean web?" \
    "$(cat "$IT_TMP/sel.err")" "nearest container"
rc=0
lq -c --host node3 --host node1 >/dev/null 2>"$IT_TMP/sel.err" || rc=$?
assert_eq 0 "$rc" "one of two hosts exists"
rc=0
lq -c --host node3 >/dev/null 2>"$IT_TMP/sel.err" || rc=$?
assert_eq 1 "$rc" "no such host: exit 1"
assert_eq "logq: no host 'node3'; did you mean node1, node2?" \
    "$(cat "$IT_TMP/sel.err")" "nearest hosts"

log "time: --tail, --from/--to, unix seconds, dates, local time"
want_tail=$(python3 -c 'import json, sys
m = [json.loads(l) for f in sys.argv[1:] for l in open(f)]
m = sorted((r["time_ns"], r["m"]) for r in m
           if r["host"] == "node1" and r["container"] == "web")
print("\n".join(x for _, x in m[-3:]))' "${manifests[@]}")
lq --json --tail 3 --host node1 --container web >"$IT_TMP/tail.jsonl"
assert_eq "$want_tail" "$(markers "$IT_TMP/tail.jsonl")" "--tail 3: oldest first"
assert_eq "$total" "$(TZ=UTC lq -c --from "$(date -u -d yesterday +%F)" \
    --to "$(date -u -d tomorrow +%F)")" "dates without time"
assert_eq "$total" "$(lq -c --from "$(($(date +%s) - 3600))" --to now)" \
    "unix seconds"
assert_eq 0 "$(lq -c --from now-1s --to now || true)" "now-1s: nothing new"
TZ=Asia/Tokyo lq --local --no-color Mnode1-web-000050 >"$IT_TMP/local.txt"
grep -qE '^[0-9-]{10}T[0-9:]{8}\.[0-9]{3}\+09:00 node1 web ' "$IT_TMP/local.txt" ||
    fail "--local time: $(cat "$IT_TMP/local.txt")"
TZ=Asia/Tokyo lq --local --json Mnode1-web-000050 | grep -q '"time":"[^"]*Z"' ||
    fail "--json is not UTC with --local"

log "output: -o raw, --format, sorted containers"
lq -o raw --asc -n 2 --host node1 --container web >"$IT_TMP/raw.txt"
assert_eq "Mnode1-web-" "$(cut -c1-11 "$IT_TMP/raw.txt" | sort -u)" \
    "-o raw prints the message alone"
assert_eq "node1/web/stdout Mnode1-web-000050" \
    "$(lq --format '{host}/{container}/{stream} {message}' Mnode1-web-000050 |
       cut -d' ' -f1,2)" "--format"
assert_eq "node1 api
node1 web
node2 web" "$(lq containers --no-color | awk 'NR > 1 { print $1, $2 }')" \
    "containers sorted by host and name"

log "histogram"
lq histogram --step 1s --since 10m --json >"$IT_TMP/h.json"
python3 -c 'import json, sys
h = json.load(open(sys.argv[1]))
assert h["step_ms"] == 1000, h["step_ms"]
b = h["buckets"]
assert sum(c for _, c in b) == int(sys.argv[2]), sum(c for _, c in b)
assert all(t % 1000 == 0 for t, _ in b), "unaligned bucket"
assert all(b[i + 1][0] - b[i][0] == 1000 for i in range(len(b) - 1)), "gap"
assert len(b) >= 600 and len(b) <= 601, len(b)' "$IT_TMP/h.json" "$total" ||
    fail "histogram buckets"
lq --no-color histogram --step 1m --since 10m >"$IT_TMP/h.txt"
python3 -c 'import sys
rows = [l.split() for l in open(sys.argv[1])]
assert sum(int(r[1]) for r in rows) == int(sys.argv[2]), rows
assert any(len(r) == 3 and set(r[2]) == {"#"} for r in rows), rows' \
    "$IT_TMP/h.txt" "$total" || fail "histogram text: $(cat "$IT_TMP/h.txt")"

log "limits"
api() { curl -sS --max-time 10 -o "$IT_TMP/api.out" -w '%{http_code}' \
    "http://127.0.0.1:$CHTTP$1"; }
assert_eq 400 "$(api '/api/v1/logs?after=1001')" "after > 1000"
grep -q '"error":"bad after: want 0 to 1000 context lines"' "$IT_TMP/api.out" ||
    fail "after error: $(cat "$IT_TMP/api.out")"
assert_eq 400 "$(api '/api/v1/logs?limit=1000001')" "limit > 1000000"
assert_eq 400 "$(api '/api/v1/count?by=image')" "bad by"
assert_eq 400 "$(api '/api/v1/count?limit=5')" "limit on count"
assert_eq 400 "$(api '/api/v1/histogram?step=1ms&since=0')" "too many buckets"
grep -q 'too many histogram buckets' "$IT_TMP/api.out" ||
    fail "bucket error: $(cat "$IT_TMP/api.out")"
assert_eq 422 "$(api '/api/v1/count?max_scan=1000')" "count over scan cap"
grep -q '"error":"query cost limit reached: scanned [0-9]* bytes"' \
    "$IT_TMP/api.out" || fail "count cap error: $(cat "$IT_TMP/api.out")"
assert_eq 422 "$(api '/api/v1/histogram?max_scan=1000')" "histogram cap"
assert_eq 200 "$(api '/api/v1/logs?max_scan=1000&order=asc')" "logs cap"
tail -n 1 "$IT_TMP/api.out" | grep -q '"error":"query cost limit reached: scanned [0-9]* bytes","partial":true' ||
    fail "logs cap line: $(tail -n 1 "$IT_TMP/api.out")"
rc=0
lq --max-scan 2K --asc >"$IT_TMP/cap.out" 2>"$IT_TMP/cap.err" || rc=$?
assert_eq 2 "$rc" "logq exit status at the scan cap"
grep -q 'query cost limit reached' "$IT_TMP/cap.err" ||
    fail "logq cap message: $(cat "$IT_TMP/cap.err")"
assert_ge "$(wc -l <"$IT_TMP/cap.out")" 1 "partial results before the cap"
rc=0
lq count --max-scan 1000 2>"$IT_TMP/cap.err" || rc=$?
assert_eq 2 "$rc" "logq count exit status at the scan cap"
grep -q 'query cost limit reached' "$IT_TMP/cap.err" || fail "count cap message"
rc=0
lq -C 1001 x 2>"$IT_TMP/ctx.err" || rc=$?
assert_eq 2 "$rc" "logq -C 1001"
grep -q "bad context line count '1001' (0-1000)" "$IT_TMP/ctx.err" ||
    fail "-C message: $(cat "$IT_TMP/ctx.err")"
rc=0
lq -f -C 1 x 2>/dev/null || rc=$?
assert_eq 2 "$rc" "-C with -f"

log "clear errors: a wrong path, the shipper port"
rc=0
LOGQ_TOKEN=$IT_HTTP_TOKEN LOGQ_TLS_CA=$IT_TLS_CA "$BUILD/logq" \
    --server "$(it_scheme)://127.0.0.1:$CHTTP/nope" x 2>"$IT_TMP/e.err" || rc=$?
assert_eq 2 "$rc" "404: exit 2"
grep -qF "(404 Not Found: $(it_scheme)://127.0.0.1:$CHTTP/nope/api/v1/logs; check the path of --server)" \
    "$IT_TMP/e.err" || fail "404 message: $(cat "$IT_TMP/e.err")"
rc=0
"$BUILD/logq" --server "http://127.0.0.1:$CTCP" x 2>"$IT_TMP/e.err" || rc=$?
assert_eq 2 "$rc" "shipper port: exit 2"
grep -qF "port $CTCP answers in the shipper protocol" "$IT_TMP/e.err" ||
    fail "shipper port message: $(cat "$IT_TMP/e.err")"

rc=0
lq health 2>"$IT_TMP/e.err" || rc=$?
assert_eq 2 "$rc" "health without --redis: exit 2"
grep -qF "start logq-collector with --redis HOST:PORT" "$IT_TMP/e.err" ||
    fail "health without redis: $(cat "$IT_TMP/e.err")"

log "hosts: STATUS, LAST CONTACT"
lq hosts --no-color >"$IT_TMP/hosts.txt"
grep -qE '^node1 +connected +2 +350 +[0-9]+s ago +[0-9]+[sm] ago$' \
    "$IT_TMP/hosts.txt" || fail "hosts table: $(cat "$IT_TMP/hosts.txt")"
stop node2
lq hosts --no-color >"$IT_TMP/hosts.txt"
grep -qE '^node2 +down since [0-9]+s ago +1 +100 ' "$IT_TMP/hosts.txt" ||
    fail "node2 not down: $(cat "$IT_TMP/hosts.txt")"

log "fields: JSON and logfmt lines (level:error, status:>=500, --by field:)"
# seq 1..60: lvl is info/warn/error by seq % 3, status 200/404/500/503 by
# seq % 4 (fakedocker.py --template), so every count below is arithmetic.
# Few logq runs (about 10: ~0.2-0.4 s each under ASan and load); the
# field rules themselves are unit-tested (fields_test, query_fields_prop_test,
# search_fields_test).
fake_container node1 jsonapp "$IT_TMP/node1.docker" --count 60 --rate 2000 \
    --template '{{"level":"{lvl}","msg":"req {m}","http":{{"status":{status}}},"user":{{"id":{seq}}},"tags":["a","t{seq}"]}}'
fake_container node1 fmtapp "$IT_TMP/node1.docker" --count 60 --rate 2000 \
    --template 'level={lvl} msg="req {m} done" status={status} user.id={seq}'
wait_writers 30
wait_all_found 30 "$IT_TMP"/manifest-node1-{jsonapp,fmtapp}.jsonl
assert_eq 40 "$(lq -c level:error)" "level:error: JSON and logfmt"
assert_eq 30 "$(lq -c 'http.status:>=500')" "nested JSON number >= 500"
assert_eq 30 "$(lq -c 'status:>=500')" "logfmt status, plain text never"
assert_eq 4 "$(lq -c level:error status:503 -v 'user\.id=11$')" \
    "two field terms (seq 11 23 35 47 59) and -v"
assert_eq 2 "$(lq -c user.id:42)" "user.id:42 in both forms"
# a field term highlights its value (as written), not the name
lq --color=always user.id:42 >"$IT_TMP/fhl.txt"
hl=$(printf '\033[1;31m42\033[0m')
for want in "\"id\":$hl}" "user.id=$hl"; do
    grep -qF "$want" "$IT_TMP/fhl.txt" ||
        fail "field highlight: $(cat -v "$IT_TMP/fhl.txt")"
done
assert_eq 1 "$(lq -c 'msg:"req Mnode1-fmtapp-000010 done"')" "quoted value"
assert_eq 20 "$(lq -c '"level=error"')" "a phrase still searches the text"
assert_eq "error 40
info 40
warn 40" "$(lq count --by field:level --container jsonapp \
    --container fmtapp --json | got_counts)" "count --by field:level"
assert_eq "info 42" "$(lq --format '{field.level} {field.user.id}' \
    Mnode1-jsonapp-000042)" "--format {field.NAME}"
rc=0
lq -c 'status:>=abc' 2>"$IT_TMP/f.err" || rc=$?
assert_eq 2 "$rc" "a comparison needs a number"
grep -qF "field comparison 'status:>=abc' needs a number" "$IT_TMP/f.err" ||
    fail "comparison error: $(cat "$IT_TMP/f.err")"

it_pass
