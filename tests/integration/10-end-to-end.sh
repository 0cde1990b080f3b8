#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 10-end-to-end: one collector, three shippers (node1..node3), each docker
# root with 2-3 fake containers writing while their files rotate (Docker
# max-size/max-file rotation and max-file=1 truncation), with > 16 KiB lines
# (split into partials) and stderr lines. Every line must be searchable
# exactly once with the right host/container/id/image/stream/time/bytes, the
# filters must select exactly the right subsets, and logq must fail loudly
# on an unreachable server, a bad flag and a bad regex. Last, a container
# labelled logq.multiline=java whose stack trace is cut by a kill -9 of its
# shipper (tracewriter.py): the shipper's saved position stays at the
# trace's first byte, and after the restart the trace is one record, the
# stderr lines sent meanwhile are not doubled, `logq` prints the trace's
# lines indented under its first. Docker labels: web and api carry
# Compose's service/project labels, selected with --service, --project and
# --label (globs, '!'), counted with count --by label:, shown in --json
# and --format, a misspelt service named with the nearest one; selection
# and --json again after a kill -9 and restart of the collector
# (labels.lql).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 10-end-to-end

start_collector collector

# A container with logs already on disk before its shipper starts.
mkdir -p "$IT_TMP/node1.docker" "$IT_TMP/node2.docker" "$IT_TMP/node3.docker"
python3 "$IT_DIR/fakedocker.py" --root "$IT_TMP/node1.docker" --host node1 \
    --name pre --image alpine:3.19 --count 50 --rate 5000 --long-every 25 \
    --stderr-every 3 --manifest "$IT_TMP/manifest-node1-pre.jsonl"

# A planted container whose log is a symlink to a file outside it (a
# root-only file in real life): refused, none of its lines shipped (the
# full check below fails on any record not in a manifest).
planted=$IT_TMP/node1.docker/$(printf 'ab%.0s' $(seq 32))
mkdir -p "$planted"
printf '{"log":"planted secret\\n","stream":"stdout","time":"%s"}\n' \
    "2026-01-02T03:04:05Z" >"$IT_TMP/secret.txt"
ln -s "$IT_TMP/secret.txt" "$planted/$(basename "$planted")-json.log"

for n in 1 2 3; do
    start_shipper "node$n" "$IT_TMP/node$n.docker"
done

for n in 1 2 3; do
    root=$IT_TMP/node$n.docker
    fake_container "node$n" web "$root" --image nginx:1.25 --label app=web \
        --label com.docker.compose.service=web \
        --label com.docker.compose.project=shop \
        --count 400 --rate 100 --max-size 65536 --max-file 3 \
        --long-every 40 --long-size 40000 --stderr-every 7
    fake_container "node$n" api "$root" --image "registry.local/api:v2" \
        --label com.docker.compose.service=api \
        --label com.docker.compose.project=shop \
        --count 400 --rate 100 --max-size 100000 --max-file 1 \
        --long-every 100 --long-size 20000 --stderr-every 5
done
fake_container node3 db "$IT_TMP/node3.docker" --image postgres:16 \
    --count 400 --rate 100 --stderr-every 2
wait_writers 60

manifests=("$IT_TMP"/manifest-*.jsonl)
total=$(manifest_lines "${manifests[@]}")
log "writers done: $total lines; waiting until all are searchable"
wait_all_found 90 "${manifests[@]}"

check() {   # check.py filters... -- logq args...
    local filters=()
    while [ "$1" != -- ]; do filters+=("$1"); shift; done
    shift
    lq --json -n 1000000 "$@" >"$IT_TMP/out.jsonl" ||
        fail "logq $* failed"
    python3 "$IT_DIR/check.py" verify "${filters[@]}" "${manifests[@]}" \
        <"$IT_TMP/out.jsonl" || fail "check failed for logq $*"
}

log "full check"
check --
rc=0
lq --json -n 10 planted >"$IT_TMP/planted.jsonl" || rc=$?
[ "$rc" = 1 ] || fail "logq planted exited $rc, want 1 (no match)"
[ ! -s "$IT_TMP/planted.jsonl" ] || fail "the planted symlink was shipped"
grep -q 'not a regular file, refused.*type=symlink' "$IT_TMP/node1.log" ||
    fail "node1 did not report the planted symlink"
log "filter checks"
check --host node2 -- --host node2
check --container api -- --container api
check --stream stderr -- --stream stderr
check --host node3 --container db --stream stdout -- \
    --host node3 --container db --stream stdout
check --container web -- --container 'w*'
check -- --since 15m

labels_json() {    # the newest api line's labels object in --json
    lq --json -n 1 --service api >"$IT_TMP/lab.json" || fail "--json"
    grep -q '"labels":{"com.docker.compose.project":"shop","com.docker.compose.service":"api"}}$' \
        "$IT_TMP/lab.json" || fail "no labels in --json: $(cat "$IT_TMP/lab.json")"
}
labels_checks() {
    log "Docker labels"
    check --container web -- --service web --label app=web --project 'sh*'
    check --container api -- --project shop --service '!web' \
        --label 'com.docker.compose.service=a*'
    lq count --json --by label:com.docker.compose.service \
        >"$IT_TMP/bylabel.json" || fail "count --by label failed"
    python3 - "$IT_TMP/bylabel.json" "${manifests[@]}" <<'EOF' ||
import collections, json, sys
got = json.load(open(sys.argv[1]))
want = collections.Counter()
for p in sys.argv[2:]:
    for line in open(p):
        c = json.loads(line)["container"]
        want[c if c in ("web", "api") else ""] += 1
groups = {g["key"]: g["count"] for g in got["groups"]}
# lines of containers without a manifest would count under "" too
if groups.get("web") != want["web"] or groups.get("api") != want["api"] or \
        groups.get("", 0) < want[""] or got["total"] != sum(groups.values()):
    print("count --by label: got %r, want %r" % (got, dict(want)))
    sys.exit(1)
EOF
        fail "count --by label:com.docker.compose.service wrong"
    labels_json
    assert_eq "web shop" "$(lq -n 1 --service web \
        --format '{container} {label.com.docker.compose.project}')" \
        "--format {label.KEY}"
    local rc=0
    lq -n 1 --service webb >/dev/null 2>"$IT_TMP/near.txt" || rc=$?
    assert_eq 1 "$rc" "exit status of --service webb"
    grep -q "no service 'webb'; did you mean web?" "$IT_TMP/near.txt" ||
        fail "no nearest service: $(cat "$IT_TMP/near.txt")"
}
labels_checks

log "term, regex, case, limit"
count_lq() {   # logq args...: prints the number of records returned
    local rc=0 n
    lq --json "$@" >"$IT_TMP/q.jsonl" || rc=$?
    n=$(grep -c . "$IT_TMP/q.jsonl" || true)
    # Exit status (README): 0 lines found, 1 none, 2 error.
    if [ "$n" -gt 0 ] && [ "$rc" != 0 ] || [ "$n" = 0 ] && [ "$rc" != 1 ]; then
        fail "logq $* exited $rc with $n records (want 0 with records, 1 without)"
    fi
    echo "$n"
}
assert_eq 1 "$(count_lq Mnode2-web-000123)" "records for term Mnode2-web-000123"
grep -q '"message":"Mnode2-web-000123 ' "$IT_TMP/q.jsonl" ||
    fail "wrong record: $(cat "$IT_TMP/q.jsonl")"
assert_eq 10 "$(count_lq -n 1000 -e 'Mnode1-api-00001[0-9] ')" "regex match count"
assert_eq 10 "$(count_lq -n 1000 -i -e 'mNODE1-API-00001[0-9] ')" \
    "case-insensitive regex match count"
assert_eq 0 "$(count_lq -n 1000 -e 'mNODE1-API-00001[0-9] ')" \
    "case-sensitive regex must not match"
assert_eq 5 "$(count_lq -n 5)" "-n 5 record count"
assert_eq 0 "$(count_lq -n 100 nosuchwordanywhere)" "records for an absent word"

log "hosts and containers"
hosts=$(lq hosts)
for n in node1 node2 node3; do
    grep -qw "$n" <<<"$hosts" || fail "logq hosts lacks $n: $hosts"
done
ctrs=$(lq containers)
for c in pre web api db; do
    grep -qw "$c" <<<"$ctrs" || fail "logq containers lacks $c: $ctrs"
done
# shell completion's live names (query/completion/): exact, sorted, once
got=$("$BUILD/logq" __complete hosts --server "http://127.0.0.1:$CHTTP" |
    tr '\n' ' ')
assert_eq "node1 node2 node3 " "$got" "logq __complete hosts"
got=$("$BUILD/logq" __complete containers --server "http://127.0.0.1:$CHTTP" |
    tr '\n' ' ')
assert_eq "api db pre web " "$got" "logq __complete containers"
got=$("$BUILD/logq" __complete labels --server "http://127.0.0.1:$CHTTP")
grep -qx 'app=web' <<<"$got" || fail "logq __complete labels lacks app=web: $got"
assert_eq "$(LC_ALL=C sort -u <<<"$got")" "$got" "logq __complete labels: sorted, once"
# the bash completion script against this collector: --service values
got=$(bash -c '. "$1"; COMP_WORDS=("$2" --server "$3" --service "")
    COMP_CWORD=4; _logq; echo "${COMPREPLY[*]}"' - \
    "$REPO/query/completion/logq.bash" "$BUILD/logq" "http://127.0.0.1:$CHTTP")
assert_eq "api web" "$got" "bash completion of 'logq --service'"
# logq's config file at its default place ($XDG_CONFIG_HOME/logq/config):
# the server and a saved query run as `logq @n2`; a flag after it wins
mkdir -p "$IT_TMP/xdg/logq"
printf '# test\nserver = http://127.0.0.1:%s\n@n2 = --host node2 -n 5 --json\n' \
    "$CHTTP" >"$IT_TMP/xdg/logq/config"
chmod 600 "$IT_TMP/xdg/logq/config"
uc() { env -u LOGQ_CONFIG -u LOGQ_SERVER XDG_CONFIG_HOME="$IT_TMP/xdg" "$BUILD/logq" "$@"; }
assert_eq 5 "$(uc @n2 | grep -c '"host":"node2"')" "logq @n2: node2 lines"
assert_eq 3 "$(uc @n2 -n 3 | wc -l)" "logq @n2 -n 3: lines"
echo 'color = sometimes' >>"$IT_TMP/xdg/logq/config"
rc=0; out=$(uc @n2 2>&1) || rc=$?
assert_eq 2 "$rc" "logq with a bad config line: exit status"
grep -q "xdg/logq/config:4: bad color 'sometimes'" <<<"$out" ||
    fail "bad config line not named with file:line: $out"
curl -fsS "http://127.0.0.1:$CHTTP/api/v1/hosts" >"$IT_TMP/hosts.json"
curl -fsS "http://127.0.0.1:$CHTTP/api/v1/containers" >"$IT_TMP/containers.json"
python3 - "$IT_TMP/hosts.json" "$IT_TMP/containers.json" "${manifests[@]}" \
    <<'EOF' || fail "/api/v1/hosts or /api/v1/containers wrong"
import collections, json, sys
hosts = {h["host"]: h for h in json.load(open(sys.argv[1]))}
ctrs = {(c["host"], c["container"]): c for c in json.load(open(sys.argv[2]))}
per_host, per_ctr = collections.Counter(), collections.Counter()
ids = {}
for p in sys.argv[3:]:
    for line in open(p):
        e = json.loads(line)
        per_host[e["host"]] += 1
        per_ctr[(e["host"], e["container"])] += 1
        ids[(e["host"], e["container"])] = (e["id"], e["image"])
bad = []
for h, n in per_host.items():
    if h not in hosts or hosts[h].get("lines") != n:
        bad.append("host %s: %r, expected lines=%d" % (h, hosts.get(h), n))
for k, n in per_ctr.items():
    c = ctrs.get(k)
    if not c or c.get("lines") != n or \
            (c.get("container_id"), c.get("image")) != ids[k]:
        bad.append("container %s: %r, expected lines=%d %r" % (k, c, n, ids[k]))
if len(hosts) != 3 or len(ctrs) != len(per_ctr):
    bad.append("extra entries: %d hosts, %d containers" % (len(hosts), len(ctrs)))
for b in bad:
    print("check: " + b)
sys.exit(1 if bad else 0)
EOF

log "CLI errors"
expect_error() {   # description, logq args...
    local what=$1 rc=0
    shift
    "$BUILD/logq" "$@" >"$IT_TMP/err.out" 2>"$IT_TMP/err.txt" || rc=$?
    [ "$rc" = 2 ] || fail "$what: logq $* exited $rc, want 2 (error)"
    [ -s "$IT_TMP/err.txt" ] || fail "$what: logq $* printed no message"
    log "$what: exit $rc: $(head -n 1 "$IT_TMP/err.txt")"
}
reserve_port DEAD        # reserved, nobody listens: connection refused
expect_error "unreachable collector" --server "http://127.0.0.1:$DEAD" foo
expect_error "bad flag" --server "http://127.0.0.1:$CHTTP" --no-such-flag
expect_error "bad regex" --server "http://127.0.0.1:$CHTTP" -e '(unclosed'
expect_error "bad since" --server "http://127.0.0.1:$CHTTP" --since yesterdayish

log "multi-line: a Java trace cut by a kill -9 of its shipper"
tw() { python3 "$IT_DIR/tracewriter.py" "$IT_TMP/node3.docker" "$IT_TMP" "$@"; }
it_bg tw-start python3 "$IT_DIR/tracewriter.py" "$IT_TMP/node3.docker" \
    "$IT_TMP" start
tw_started() { [ -s "$IT_TMP/tw-start.log" ]; }
wait_until 30 "tracewriter start" tw_started
read -r tid tstart <"$IT_TMP/tw-start.log"
saved_logical() {   # node3's saved logical offset for the trace container
    awk -v id="$tid" '$1 == id { print $5 }' "$IT_TMP/node3.state/positions"
}
# E2 starts a record, so E1 is sent; its resume point is the trace's start.
at_trace_start() { [ "$(saved_logical)" = "$tstart" ]; }
wait_until 30 "node3 saving the trace's start $tstart" at_trace_start
kill9 node3
touch "$IT_TMP/stop"
frames_done() { ! is_running tw-start; }
wait_until 30 "tracewriter frames" frames_done
assert_eq "$tstart" "$(saved_logical)" "position after the kill"
start_shipper node3 "$IT_TMP/node3.docker"
trace_records() {
    lq --json --container trace --all >"$IT_TMP/trace.jsonl" || true
    grep -c . "$IT_TMP/trace.jsonl" || true
}
six_records() { [ "$(trace_records)" -ge 6 ]; }
# E3 (the last, sent after the 1 s timer) comes after every re-sent record.
# (The trace's end, "INFO after" and E3 were written while node3 was down.)
wait_until 30 "6 records of the trace container" six_records
tw verify <"$IT_TMP/trace.jsonl" || fail "trace records wrong"
lq --container trace -n 1 IllegalStateException >"$IT_TMP/trace.txt"
nframes=$(cat "$IT_TMP/frames")
assert_eq "$((nframes + 4))" "$(wc -l <"$IT_TMP/trace.txt")" "trace text lines"
indented=$(grep -cE '^ {20,}(.at |Caused by|.\.\.\. 3 more)' "$IT_TMP/trace.txt")
assert_eq "$((nframes + 3))" "$indented" "indented continuation lines"

log "Docker labels after a kill -9 and restart of the collector"
kill9 collector
start_collector collector
check --container api -- --project shop --service '!web'
labels_json

it_pass
