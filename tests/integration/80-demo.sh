#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 80-demo: the three-node demo end to end (provisioning/demo/demo.sh, real
# Docker: three network namespaces, a private dockerd each, the logq images).
#  - up (timed); both ports speak TLS (bin/logq needs the demo's CA, plain
#    HTTP is refused); lines from web/app/worker/crasher on all three nodes
#    are found by bin/logq with the real container names, ids and images
#    (docker inspect), and worker lines over 16 KiB arrive whole;
#  - the shippers run as uid 10002 with CAP_DAC_READ_SEARCH only (CapEff,
#    CapPrm and CapBnd of the running process), the collector as uid 10001
#    with no capability;
#  - the crashing container is restarted by Docker (RestartCount) and its
#    start line is in the logs once per start;
#  - a counting container on node3 (--marker) writes while node3's link is
#    cut for 15 s (ip link set down on its veth; node3 verifiably cannot
#    reach the collector meanwhile): every marker arrives exactly once;
#  - `up` again says it is up and exits 0; refresh (timed) replaces the
#    logq containers and the markers are still exactly once, shipping goes on;
#  - down (timed) leaves no namespace, link, dockerd, forwarder, mount or
#    state behind; before up, a dockerd whose run dir is gone is still
#    stopped by lq_dockerd_stop (found by its command line).
# Uses bin/ (make all). SKIP only when no dockerd can start here.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../support/dockerd.sh
. "$IT_DIR/../support/dockerd.sh"
# shellcheck source-path=SCRIPTDIR source=../../provisioning/images/common.sh
. "$REPO/provisioning/images/common.sh"
it_init 80-demo

if ! why=$(dockerd_can_start); then
    it_skip "real Docker unavailable: $why"
fi
# A throwaway private dockerd first: SKIP (not FAIL) only if none can start.
# (dockerd_stop returns the status of its last pipeline: not an error here.)
if ! dockerd_start; then
    dockerd_stop || true
    it_skip "a private dockerd does not start here (see its log above)"
fi
dockerd_stop || true
# lq_dockerd_stop stops a daemon whose run dir is gone (its pid file with
# it: a second demo-down, or the demo taken down from another checkout):
# found by its command line. The run dir is moved away, not removed, so
# the daemon's own files stay out of the way until it is stopped.
orun=$(mktemp -d /tmp/lqorph.XXXXXX)
# shellcheck disable=SC2016 # expanded by the EXIT trap
it_at_exit '{ for p in $(lq_dockerd_pids "$orun/run") $(lq_dockerd_pids "$orun/gone"); do kill -9 "$p"; done; sleep 1; grep -F " $orun/" /proc/mounts | awk "{print \$2}" | sort -r | while read -r m; do umount -l "$m"; done; rm -rf "$orun"; } 2>/dev/null || true'
lq_dockerd_start orphan "$orun/data" "$orun/run" >/dev/null 2>&1 ||
    fail "a private dockerd for the orphan check did not start"
[ -n "$(lq_dockerd_pids "$orun/run")" ] || fail "lq_dockerd_pids does not find a running dockerd"
mv "$orun/run" "$orun/gone"
lq_dockerd_stop "$orun/run"
[ -z "$(lq_dockerd_pids "$orun/run")" ] ||
    fail "lq_dockerd_stop left a dockerd running once its run dir was gone"
! grep -qF " $orun/" /proc/mounts ||
    fail "lq_dockerd_stop left mounts under $orun: $(grep -F " $orun/" /proc/mounts)"
log "a dockerd whose run dir is gone is stopped by its command line"
for b in logq logq-collector logq-shipper logq-loggen; do
    [ -x "$REPO/bin/$b" ] || fail "missing $REPO/bin/$b (make all)"
done
demo=$REPO/provisioning/demo/demo.sh
LQ=$REPO/bin/logq
if "$demo" status >/dev/null 2>&1; then
    fail "a demo is already up (make demo-down first; this test takes it down)"
fi
ndk() { local n=$1; shift; lq_dk "$LQ_RUN/$n" "$@"; }
# shellcheck disable=SC2016 # expanded by the EXIT trap
it_at_exit 'ip link set lq-node3 up 2>/dev/null; "$demo" down >>"$IT_TMP/down.log" 2>&1 || cat "$IT_TMP/down.log" >&2'

t=$(date +%s)
"$demo" up >"$IT_TMP/up.log" 2>&1 || fail "demo.sh up failed (up.log)"
up_s=$(( $(date +%s) - t ))
log "demo up in ${up_s}s"
grep -q 'docker mode' "$IT_TMP/up.log" || fail "the demo did not run in docker mode"
# The API speaks TLS with the demo's CA (SECURITY.md "TLS"): plain HTTP is
# refused, https:// without the CA fails verification.
ca=$("$demo" ca-file)
[ -s "$ca" ] || fail "the demo made no CA"
export LOGQ_SERVER=https://127.0.0.1:7080
rc=0
env LOGQ_TLS_CA= "$LQ" hosts >"$IT_TMP/noca.txt" 2>&1 || rc=$?
if [ "$rc" != 2 ] || ! grep -q 'certificate verify failed' "$IT_TMP/noca.txt"; then
    fail "bin/logq without the demo's CA: exit $rc: $(cat "$IT_TMP/noca.txt")"
fi
rc=0
LOGQ_SERVER=http://127.0.0.1:7080 "$LQ" hosts >"$IT_TMP/plain.txt" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "bin/logq http:// to the demo's TLS API: exit $rc"
export LOGQ_TLS_CA=$ca
# The API listens beyond loopback, so it asks for the demo's token.
tf=$("$demo" token-file)
[ "$(stat -c %a "$tf")" = 600 ] || fail "the demo's API token file is not 0600"
rc=0
env LOGQ_TOKEN= "$LQ" hosts >"$IT_TMP/notoken.txt" 2>&1 || rc=$?
if [ "$rc" != 2 ] || ! grep -q '401' "$IT_TMP/notoken.txt"; then
    fail "bin/logq without the demo's token: exit $rc: $(cat "$IT_TMP/notoken.txt")"
fi
LOGQ_TOKEN=$(cat "$tf")
export LOGQ_TOKEN
# Each node's shipper has its own token, and the collector enrolls each node
# with exactly that one (SECURITY.md "Shipper identity").
st=$(dirname "$tf")
declare -A owner=()
for n in node1 node2 node3; do
    t=$(cat "$st/$n/token")
    [ -z "${owner[$t]:-}" ] || fail "$n shares its shipper token with ${owner[$t]}"
    owner[$t]=$n
    grep -qx "$n $t" "$st/node1/collector.token" ||
        fail "the collector does not enroll $n with $n's own token"
done
assert_eq 3 "$(grep -vc '^#' "$st/node1/collector.token")" \
    "hosts enrolled on the demo's collector"

# --- every node's sample containers, with real names, ids and images
for n in node1 node2 node3; do
    for c in web app worker crasher; do
        ndk "$n" inspect -f '{{.Id}} {{.Config.Image}}' "$c" >"$IT_TMP/inspect-$n-$c.txt" ||
            fail "no container $c on $n"
    done
done
all_seen() {
    "$LQ" --json -n 1000000 >"$IT_TMP/all.jsonl" 2>/dev/null || return 1
    python3 - "$IT_TMP" <<'EOF'
import json, sys
tmp = sys.argv[1]
seen, long_ = set(), set()
for l in open(tmp + "/all.jsonl", encoding="utf-8"):
    r = json.loads(l)
    seen.add((r["host"], r["container"]))
    if r["container"] == "worker" and len(r["message"]) > 16384:
        long_.add(r["host"])
want = {(n, c) for n in ("node1", "node2", "node3") for c in ("web", "app", "worker", "crasher")}
sys.exit(0 if want <= seen and len(long_) == 3 else 1)
EOF
}
wait_until 60 "lines (and a worker line over 16 KiB) from all containers on all nodes" all_seen
python3 - "$IT_TMP" <<'EOF' || fail "records disagree with docker inspect"
import json, sys
tmp = sys.argv[1]
bad = []
recs = [json.loads(l) for l in open(tmp + "/all.jsonl", encoding="utf-8")]
for n in ("node1", "node2", "node3"):
    for c in ("web", "app", "worker", "crasher"):
        cid, image = open("%s/inspect-%s-%s.txt" % (tmp, n, c)).read().split()
        got = [r for r in recs if r["host"] == n and r["container"] == c]
        ids = {(r["container_id"], r["image"]) for r in got}
        if ids != {(cid, image)}:
            bad.append("%s/%s: id/image %r, docker inspect says %s %s" % (n, c, ids, cid[:12], image))
        longs = [len(r["message"]) for r in got if len(r["message"]) > 16384]
        print("check: %s/%s: %d lines, id %s, image %s%s" % (
            n, c, len(got), cid[:12], image,
            ", long lines %r" % sorted(set(longs)) if longs else ""))
        if c == "worker" and any(x != 20000 for x in longs):
            bad.append("%s/worker: a long line was cut or joined wrongly: %r" % (n, longs))
for b in bad:
    print("check: " + b)
sys.exit(1 if bad else 0)
EOF

# --- the logq containers run unprivileged: the shippers as uid 10002 with
# CAP_DAC_READ_SEARCH as their only capability (from the binary's file
# capability, bounded by --cap-drop ALL --cap-add DAC_READ_SEARCH), the
# collector as uid 10001 with none; all of the above was shipped that way.
# Checked in the kernel's view of the running processes (/proc/PID/status).
proc_creds() {   # NODE CONTAINER -> "uid gid capeff capprm capbnd"
    local pid
    pid=$(ndk "$1" inspect -f '{{.State.Pid}}' "$2") || return 1
    awk '/^Uid:/ {u=$2} /^Gid:/ {g=$2} /^CapEff:/ {e=$2} /^CapPrm:/ {p=$2}
         /^CapBnd:/ {b=$2} END {print u, g, e, p, b}' "/proc/$pid/status"
}
drs=0000000000000004    # 1 << CAP_DAC_READ_SEARCH (2)
for n in node1 node2 node3; do
    got=$(proc_creds "$n" logq-shipper) || fail "$n: no logq-shipper process"
    [ "$got" = "10002 10002 $drs $drs $drs" ] ||
        fail "$n: shipper uid gid CapEff CapPrm CapBnd are '$got', want '10002 10002 $drs $drs $drs'"
    # its health check sees the logs through its own capped find
    ndk "$n" exec logq-shipper /usr/local/libexec/logq-find /var/lib/docker/containers \
        -name '*-json.log' >"$IT_TMP/find-$n.txt" 2>&1 || fail "$n: logq-find: $(cat "$IT_TMP/find-$n.txt")"
    [ "$(grep -c -- '-json.log$' "$IT_TMP/find-$n.txt")" -ge 4 ] ||
        fail "$n: the shipper's health check does not see the container logs"
    out=$(ndk "$n" exec logq-shipper /usr/local/bin/shipper-health 2>&1) ||
        fail "$n: shipper-health: $out"
    ndk "$n" inspect -f '{{.Config.User}}' logq-shipper | grep -qx logq-shipper ||
        fail "$n: the shipper image's USER is not logq-shipper"
done
got=$(proc_creds node1 logq-collector) || fail "no logq-collector process"
[ "$got" = "10001 10001 0000000000000000 0000000000000000 0000000000000000" ] ||
    fail "collector uid gid CapEff CapPrm CapBnd are '$got'"
log "shippers run as uid 10002 with CapEff $drs (CAP_DAC_READ_SEARCH only), the collector as uid 10001 with none"

# --- the crashing container: Docker restarts it, each start is logged
restarted() { [ "$(ndk node3 inspect -f '{{.RestartCount}}' crasher)" -ge 1 ]; }
wait_until 40 "node3's crasher restarted by Docker" restarted
starts_ok() {
    local r1 r2 got
    r1=$(ndk node3 inspect -f '{{.RestartCount}}' crasher)
    sleep 2
    got=$("$LQ" -n 1000 --host node3 --container crasher '"crasher starting"' 2>/dev/null | grep -c 'crasher starting' || true)
    r2=$(ndk node3 inspect -f '{{.RestartCount}}' crasher)
    echo "restarts $r1..$r2, start lines $got" >"$IT_TMP/crasher.txt"
    [ "$got" -ge $((r1 + 1)) ] && [ "$got" -le $((r2 + 1)) ]
}
wait_until 20 "one start line per start of node3's crasher" starts_ok
log "crasher on node3: $(cat "$IT_TMP/crasher.txt")"

# --- node3's link cut for 15 s while a counting container writes
# 25 s of writing: 3 before the cut, 15 during it, 7 after it.
count=2500
ndk node3 run -d --name counter --network host --log-driver json-file \
    --log-opt max-size=1m --log-opt max-file=3 logq/apps:latest \
    --kind sys --rate 100 --count "$count" --marker LQ80 --start-time now >/dev/null
sleep 3
cut_at=$(date -u +%FT%T.%NZ)
ip link set lq-node3 down
log "node3's link down"
sleep 2
if nsenter --net=/run/netns/node3 curl -sf -m 2 -o /dev/null http://10.77.0.1:7080/health; then
    fail "node3 still reaches the collector with its link down"
fi
sleep 13
ip link set lq-node3 up
back_at=$(date -u +%FT%T.%NZ)
log "node3's link up again"
timeout 60 env "DOCKER_HOST=unix://$LQ_RUN/node3/docker.sock" "$LQ_DOCKER" wait counter \
    >"$IT_TMP/counter-exit.txt" || fail "the counter container did not finish"
assert_eq 0 "$(cat "$IT_TMP/counter-exit.txt")" "counter's exit status"
markers_complete() {
    "$LQ" --json -n 1000000 --host node3 --container counter >"$IT_TMP/counter.jsonl" 2>/dev/null || return 1
    [ "$(grep -c 'LQ80-' "$IT_TMP/counter.jsonl")" -ge "$count" ]
}
check_markers() {   # WHEN
    python3 - "$IT_TMP" "$count" "$cut_at" "$back_at" "$1" <<'EOF'
import collections, json, re, sys
tmp, count, cut, back, when = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
seqs = collections.Counter()
during = 0
for l in open(tmp + "/counter.jsonl", encoding="utf-8"):
    r = json.loads(l)
    for m in re.findall(r"LQ80-(\d+)\b", r["message"]):
        seqs[int(m)] += 1
    if cut[:23] <= r["time"][:23] <= back[:23]:
        during += 1
missing = sorted(set(range(1, count + 1)) - set(seqs))
dups = sorted(s for s, k in seqs.items() if k > 1)
print("check (%s): %d distinct markers of %d, %d missing %r, %d duplicated %r, %d written during the cut"
      % (when, len(seqs), count, len(missing), missing[:5], len(dups), dups[:5], during))
ok = not missing and not dups and len(seqs) == count and during > 0
sys.exit(0 if ok else 1)
EOF
}
wait_until 60 "all $count markers of node3's counter" markers_complete
sleep 1
markers_complete || true
check_markers "after the cut" || fail "markers lost or duplicated across node3's link cut"

# --- up again while up; refresh
"$demo" up >"$IT_TMP/up2.log" 2>&1 || fail "demo.sh up while up failed"
grep -q 'already up' "$IT_TMP/up2.log" || fail "demo.sh up while up did not say so"
before=$("$LQ" -n 1000000 --host node2 --container web 2>/dev/null | wc -l)
t=$(date +%s)
"$demo" refresh >"$IT_TMP/refresh.log" 2>&1 || fail "demo.sh refresh failed"
refresh_s=$(( $(date +%s) - t ))
log "demo refresh in ${refresh_s}s"
more_web() { [ "$("$LQ" -n 1000000 --host node2 --container web 2>/dev/null | wc -l)" -gt "$before" ]; }
wait_until 30 "node2's web lines shipped after the refresh" more_web
markers_complete || fail "logq failed after the refresh"
check_markers "after the refresh" || fail "markers lost or duplicated by the refresh"

# --- down: nothing left
t=$(date +%s)
"$demo" down >"$IT_TMP/down.log" 2>&1 || fail "demo.sh down failed: $(cat "$IT_TMP/down.log")"
down_s=$(( $(date +%s) - t ))
left=()
for n in node1 node2 node3; do
    ip netns list | grep -qw "$n" && left+=("netns $n")
    ip link show "lq-$n" >/dev/null 2>&1 && left+=("link lq-$n")
done
ip link show logq0 >/dev/null 2>&1 && left+=("bridge logq0")
pgrep -f -- "$LQ_RUN/" >/dev/null && left+=("processes $(pgrep -f -- "$LQ_RUN/" | tr '\n' ' ')")
pgrep -f -- "provisioning/demo/forward.py" >/dev/null && left+=("forwarder")
grep -qE " ($LQ_RUN/|$LQ_CACHE/nodes/)" /proc/mounts && left+=("mounts")
[ -e "$LQ_RUN" ] && left+=("$LQ_RUN")
[ -e /var/lib/logq-demo ] && left+=("/var/lib/logq-demo")
curl -s -m 1 -o /dev/null http://127.0.0.1:7080/health && left+=("127.0.0.1:7080 answers")
[ ${#left[@]} -eq 0 ] || fail "left behind after down: ${left[*]}"
log "timings: up ${up_s}s, refresh ${refresh_s}s, down ${down_s}s"
it_pass
