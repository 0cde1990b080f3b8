#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 70-container-metrics: the metrics sampler against real containers of a
# private dockerd (tests/support/dockerd.sh; cgroup v1 or v2, whatever the
# machine has). Containers: lqm-burn spins a CPU, lqm-mem holds 64 MiB in a
# tmpfs under a 256 MiB limit, lqm-pause is paused, lqm-flap exits 3 under
# --restart on-failure:2 until Docker gives up. The live mode of the
# metrics unit test (LOGQ_METRICS_LIVE=<data-root>:/sys) samples twice, 3 s
# apart, and checks CPU > 10 % (shared host), memory >= 50 MiB, limit 256 MiB, the states
# and RestartCount >= 1; this script then checks container.restarts against
# `docker inspect` for every container and that `docker restart` (unlike a
# policy restart) leaves RestartCount alone. SKIP only when Docker cannot
# run here.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../support/dockerd.sh
. "$IT_DIR/../support/dockerd.sh"
it_init 70-container-metrics

probe=$BUILD/tests/shipper/metrics_test
[ -x "$probe" ] || fail "missing $probe (make MODE=asan tests)"
if ! why=$(dockerd_can_start); then
    it_skip "real Docker unavailable: $why"
fi
# shellcheck disable=SC2016 # expanded by the EXIT trap
it_at_exit 'cp "$DK_ROOT/dockerd.log" "$IT_TMP/dockerd.log" 2>/dev/null; dockerd_stop'
if ! dockerd_start; then
    it_skip "private dockerd did not start (see its log above)"
fi
log "private dockerd at $DK_ROOT"
image=lqm:1
dockerd_busybox_image "$image"

run() {   # NAME [DOCKER-RUN-OPTIONS...] -- CMD...
    local name=$1
    shift
    local opts=()
    while [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    shift
    dk run -d --name "$name" --network host "${opts[@]}" "$image" "$@" \
        >/dev/null
}

restarts() { dk inspect -f '{{.RestartCount}}' "$1"; }
status() { dk inspect -f '{{.State.Status}}' "$1"; }
flap_done() { [ "$(status lqm-flap)" = exited ] && [ "$(restarts lqm-flap)" = 2 ]; }
mem_full() { dk exec lqm-mem test -f /t/done; }

run lqm-burn -- sh -c 'while :; do :; done'
run lqm-mem --memory 256m --tmpfs /t:size=128m -- \
    sh -c 'head -c 67108864 /dev/zero >/t/fill && touch /t/done && exec sleep 3600'
run lqm-pause -- sleep 3600
run lqm-flap --restart on-failure:2 -- sh -c 'sleep 0.2; exit 3'

# docker restart stops and starts: RestartCount counts policy restarts only.
before=$(restarts lqm-pause)
dk restart -t 1 lqm-pause >/dev/null
after=$(restarts lqm-pause)
log "docker restart: RestartCount $before -> $after"
assert_eq "$before" "$after" "RestartCount after docker restart"
dk pause lqm-pause >/dev/null
wait_until 60 "lqm-flap to give up after 2 restarts" flap_done
wait_until 60 "lqm-mem to fill its tmpfs" mem_full
log "cgroup: $(stat -fc %T /sys/fs/cgroup)"

log "sampling (LOGQ_METRICS_LIVE=$DK_DATA:/sys)"
out=$IT_TMP/metrics-live.log
rc=0
(cd "$REPO" && LOGQ_METRICS_LIVE="$DK_DATA:/sys" "$probe") >"$out" 2>&1 || rc=$?
grep '^live: ' "$out" | grep -E 'container|errors|cgroup|host.cpu' >&2 || true
[ "$rc" -eq 0 ] || { tail -n 30 "$out" >&2; fail "metrics_test failed (exit $rc)"; }
grep -q '^\[       OK \] test_metrics_live' "$out" ||
    fail "the live test did not run (skipped?)"

# container.restarts must equal Docker's own RestartCount.
for c in lqm-burn lqm-mem lqm-pause lqm-flap; do
    got=$(awk -v c="$c" '$1 == "live:" && $2 == "container.restarts" &&
        $3 == c { printf "%d", $NF }' "$out")
    assert_eq "$(restarts "$c")" "$got" "container.restarts of $c"
done
it_pass
