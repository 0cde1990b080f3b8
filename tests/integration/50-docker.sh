#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 50-docker: real Docker (tests/support/dockerd.sh, a private dockerd). A
# busybox image with logq-loggen inside; containers run with --network host
# --log-opt max-size=200k --log-opt max-file=3, print known numbered lines
# (some > 16 KiB, some on stderr) and exit; one container ran before the
# shipper started. A shipper on <dataroot>/containers must deliver every
# line exactly once, with the container's real name, id and image, compared
# with `docker logs` (the ground truth, stdout and stderr apart). genweb
# carries Compose's labels: `--service web`, `--project p50`, `count --by
# label:com.docker.compose.service` and `--json` labels select and show
# exactly its lines. SKIP only
# when dockerd cannot run here (not root, docker.io/busybox-static missing,
# daemon does not start).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../support/dockerd.sh
. "$IT_DIR/../support/dockerd.sh"
it_init 50-docker

if ! why=$(dockerd_can_start); then
    it_skip "real Docker unavailable: $why"
fi
# shellcheck disable=SC2016 # expanded by the EXIT trap
it_at_exit 'cp "$DK_ROOT/dockerd.log" "$IT_TMP/dockerd.log" 2>/dev/null; dockerd_stop'
if ! dockerd_start; then
    it_skip "private dockerd did not start (see its log above)"
fi
log "private dockerd at $DK_ROOT"

loggen=$BUILD/logq-loggen
[ -x "$loggen" ] || loggen=$REPO/bin/logq-loggen
[ -x "$loggen" ] || fail "no logq-loggen in $BUILD or bin/ (make all)"
file -L "$loggen" | grep -q static || fail "$loggen is not static"
image=logq-it:1
dockerd_busybox_image "$image" "$loggen"

run() {   # NAME [--label K=V]... CMD...: detached, json-file rotation
    local name=$1 labels=(--label logq.test=50)
    shift
    while [ "${1:-}" = --label ]; do
        labels+=("$1" "$2")
        shift 2
    done
    dk run -d --name "$name" --network host --log-driver json-file \
        --log-opt max-size=200k --log-opt max-file=3 "${labels[@]}" \
        "$image" "$@" >/dev/null
}

start_collector collector

# Before the shipper: its log is complete on disk when the shipper starts.
# shellcheck disable=SC2016 # run by the container's sh
run early sh -c 'i=1; while [ $i -le 300 ]; do
    echo "Dearly-$i before the shipper"; i=$((i + 1)); done'
timeout 60 "$DK_DOCKER" wait early >/dev/null || fail "container early hung"

start_shipper dock1 "$DK_DATA/containers"

# Each container's whole output stays under 3 x 200k so that Docker keeps
# all of it and `docker logs` is a complete ground truth (checked below).
run genweb --label com.docker.compose.service=web \
    --label com.docker.compose.project=p50 /bin/logq-loggen --kind web --count 1000 --rate 2000 \
    --marker Dgenweb --long-every 250 --long-size 40000 --seed 7
run genmix /bin/logq-loggen --kind mixed --count 800 --rate 800 \
    --marker Dgenmix --seed 3 --stream-mix
# shellcheck disable=SC2016 # run by the container's sh
run mixed sh -c 'x=$(head -c 20000 /dev/zero | tr "\0" y)
    i=1; while [ $i -le 600 ]; do
        if [ $((i % 3)) = 0 ]; then echo "Dmixed-$i on stderr" >&2;
        elif [ $((i % 100)) = 50 ]; then echo "Dmixed-$i long $x$x";
        else echo "Dmixed-$i on stdout"; fi
        i=$((i + 1)); done'

for c in genweb genmix mixed; do
    timeout 120 "$DK_DOCKER" wait "$c" >"$IT_TMP/exit-$c.txt" ||
        fail "container $c did not finish"
    assert_eq 0 "$(cat "$IT_TMP/exit-$c.txt")" "exit status of container $c"
done

# Ground truth: docker logs (joins Docker's 16 KiB partials), per stream.
containers=(early genweb genmix mixed)
expected=0
for c in "${containers[@]}"; do
    dk logs "$c" >"$IT_TMP/truth-$c.stdout.txt" 2>"$IT_TMP/truth-$c.stderr.txt"
    dk inspect -f '{{.Id}} {{.Config.Image}}' "$c" >"$IT_TMP/inspect-$c.txt"
    n=$(cat "$IT_TMP/truth-$c.stdout.txt" "$IT_TMP/truth-$c.stderr.txt" | wc -l)
    expected=$((expected + n))
    log "container $c: $n lines, $(find "$DK_DATA/containers" -name '*-json.log*' -path "*$(cut -d' ' -f1 "$IT_TMP/inspect-$c.txt")*" | wc -l) log files"
done
[ "$(wc -l <"$IT_TMP/truth-mixed.stderr.txt")" = 200 ] || fail "mixed: stderr lines"

got_all() {
    lq --json -n 1000000 --host dock1 >"$IT_TMP/out.jsonl" 2>/dev/null || return 1
    [ "$(grep -c . "$IT_TMP/out.jsonl")" -ge "$expected" ]
}
wait_until 90 "all $expected lines searchable" got_all
sleep 1
lq --json -n 1000000 --host dock1 >"$IT_TMP/out.jsonl" || fail "logq failed"

python3 - "$IT_TMP" "${containers[@]}" <<'EOF' || fail "logq disagrees with docker logs"
import collections, json, re, sys
tmp, names = sys.argv[1], sys.argv[2:]
recs = [json.loads(l) for l in open(tmp + "/out.jsonl", encoding="utf-8") if l.strip()]
bad = []
by = collections.defaultdict(list)
for r in recs:
    by[(r.get("container"), r.get("stream"))].append(r)
for name in names:
    cid, image = open("%s/inspect-%s.txt" % (tmp, name)).read().split()
    for stream in ("stdout", "stderr"):
        with open("%s/truth-%s.%s.txt" % (tmp, name, stream), "rb") as f:
            truth = f.read().decode("utf-8", "replace").split("\n")[:-1]
        got = by.pop((name, stream), [])
        for r in got:
            if (r.get("container_id"), r.get("image"), r.get("host")) != (cid, image, "dock1"):
                bad.append("%s/%s: wrong id/image/host %r" % (name, stream, r))
                break
        tc, gc = collections.Counter(truth), collections.Counter(r["message"] for r in got)
        if tc != gc:
            miss = list((tc - gc).elements())
            extra = list((gc - tc).elements())
            bad.append("%s/%s: %d lines in docker logs, %d in logq; missing %d %r; extra %d %r" % (
                name, stream, len(truth), len(got), len(miss),
                [m[:60] for m in miss[:3]], len(extra), [m[:60] for m in extra[:3]]))
        print("check: %s/%s: %d lines, %d long" % (name, stream, len(truth),
              sum(1 for t in truth if len(t) > 16384)))
for k, v in by.items():
    bad.append("records from an unexpected container/stream %r: %d" % (k, len(v)))
# Markers: every loggen/sh sequence number exactly once.
truth_all = {}
for name in names:
    for stream in ("stdout", "stderr"):
        with open("%s/truth-%s.%s.txt" % (tmp, name, stream), "rb") as f:
            truth_all.setdefault(name, []).extend(
                f.read().decode("utf-8", "replace").split("\n")[:-1])
for name, prefix, count in (("genweb", "Dgenweb", 1000), ("genmix", "Dgenmix", 800),
                            ("mixed", "Dmixed", 600), ("early", "Dearly", 300)):
    seqs = collections.Counter()
    for r in recs:
        if r.get("container") == name:
            for m in re.findall(re.escape(prefix) + r"-(\d+)\b", r["message"]):
                seqs[int(m)] += 1
    if len(seqs) != count or any(n != 1 for n in seqs.values()):
        bad.append("%s: %d distinct %s markers (want %d), %d repeated" % (
            name, len(seqs), prefix, count, sum(1 for n in seqs.values() if n != 1)))
    tseqs = set(int(m) for t in truth_all[name]
                for m in re.findall(re.escape(prefix) + r"-(\d+)\b", t))
    if tseqs != set(range(1, count + 1)):
        bad.append("%s: docker logs itself lacks lines (%d of %d): Docker's "
                   "rotation dropped some, the test writes too much" % (
                       name, len(tseqs), count))
if not any(len(r["message"]) > 16384 for r in recs):
    bad.append("no line over 16 KiB came through")
for b in bad:
    print("check: " + b)
sys.exit(1 if bad else 0)
EOF

ctrs=$(lq containers)
for c in "${containers[@]}"; do
    grep -qw "$c" <<<"$ctrs" || fail "logq containers lacks $c"
done

log "labels: --service, --project, count --by label:, --json labels"
# Docker labels as the shipper read them from the real config.v2.json:
# genweb is Compose's service "web" of project "p50"; the others are not.
n_web=$(cat "$IT_TMP/truth-genweb.stdout.txt" "$IT_TMP/truth-genweb.stderr.txt" | wc -l)
assert_eq "$n_web" "$(lq -c --service web --host dock1)" "logq -c --service web"
assert_eq "$n_web" "$(lq -c --project p50 --label logq.test=50)" \
    "logq -c --project p50 --label logq.test=50"
lq count --by label:com.docker.compose.service --host dock1 --json |
    python3 -c 'import json, sys
g = {x["key"]: x["count"] for x in json.load(sys.stdin)["groups"]}
want = {"web": int(sys.argv[1]), "": int(sys.argv[2]) - int(sys.argv[1])}
assert g == want, (g, want)' "$n_web" "$expected" ||
    fail "count --by label:com.docker.compose.service"
lq --json -n 1 --service web | python3 -c 'import json, sys
l = json.loads(sys.stdin.readline())["labels"]
assert l["com.docker.compose.project"] == "p50" and l["logq.test"] == "50", l' ||
    fail "--json labels of a --service web line"
log "labels checked"
it_pass
