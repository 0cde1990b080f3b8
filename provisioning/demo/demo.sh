#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh up|refresh|down|status: the local three-node logq demo.
#
# Topology: network namespaces node1..node3, each with a veth (eth0,
# 10.77.0.N/24) joined by the bridge logq0 (10.77.0.254) in the root
# namespace; traffic stays between these test hosts. Each node runs its own
# private dockerd (nsenter --net, own data root in $LQ_CACHE/nodes/nodeN so
# loaded images survive demo-down, own exec root/socket/pid file in
# $LQ_RUN/nodeN, --bridge=none --iptables=false, --cgroup-parent
# /logq-nodeN). node1 runs logq-redis and logq-collector (--network host:
# they listen in node1's namespace); every node runs logq-shipper (its
# node's containers dir, /proc and /sys read-only; state bind-mounted from
# $LQ_STATE/nodeN, so replacing the container loses and repeats nothing)
# and four sample applications logging through json-file (max-size=1m,
# max-file=3): web (access log), app (errors, stack traces), worker (lines
# over 16 KiB), crasher (exits 1 every ~12 s; --restart on-failure).
# A forwarder (forward.py) in the root namespace makes the collector's HTTP
# API answer at 127.0.0.1:7080, so bin/logq works with the demo's API token
# (LOGQ_TOKEN=$(cat $LQ_STATE/logq.token); the API and the shipper port
# listen beyond loopback, so the collector requires both token files).
# Both ports speak TLS (SECURITY.md "TLS"): provisioning/pki.sh makes a CA
# in $LQ_STATE/pki, the collector's certificate (IP 10.77.0.1 and
# 127.0.0.1, localhost) and a client certificate per node, which the
# collector requires (--tls-client-ca: a node can only send as itself);
# bin/logq needs LOGQ_SERVER=https://127.0.0.1:7080 and
# LOGQ_TLS_CA=$LQ_STATE/pki/ca.crt (the demo prints the exports).
#
# Without a usable Docker engine (or without root) the same roles run as
# plain processes with simulated Docker roots (json-file logs written by
# logq-loggen --format json-file); as root still in the three namespaces,
# without root on 127.0.0.1 only. It says so.
#
#   up       build/reuse images, start everything, print sample logq output;
#            when already up, says so and exits 0
#   refresh  rebuild images, replace the logq containers (docker mode)
#   down     remove everything (containers, dockerds, namespaces, bridge,
#            forwarder, state); cached images stay in $LQ_CACHE. Verifies
#            that nothing is left and exits 1 if something is.
#   status   what is running
#   token-file  prints the path of the API token bin/logq needs
#            (export LOGQ_TOKEN=$(cat "$(demo.sh token-file)"))
#   ca-file  prints the path of the CA bin/logq needs (LOGQ_TLS_CA)
# LQ_DEMO_MODE=process forces the plain-process mode (to try or test it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../images/common.sh
. "$repo/provisioning/images/common.sh"

if [ "$(id -u)" != 0 ]; then
    LQ_RUN=${XDG_RUNTIME_DIR:-/tmp}/logq-demo-$(id -u)
    LQ_STATE=$LQ_RUN/state
else
    LQ_STATE=${LQ_STATE:-/var/lib/logq-demo}
fi
NODES=(node1 node2 node3)
NET=10.77.0
BRIDGE=logq0
COLLECTOR_IP=$NET.1
API_PORT=7080
SHIPPER_UID=10002     # the shipper image's user (images/Dockerfile.shipper)
BIN=$repo/bin

t_start=$(date +%s)
elapsed() { echo $(( $(date +%s) - t_start )); }
node_ip() { echo "$NET.${1#node}"; }
node_run() { echo "$LQ_RUN/$1"; }
node_data() { echo "$LQ_CACHE/nodes/$1"; }
ndk() { local n=$1; shift; lq_dk "$(node_run "$n")" "$@"; }
mode() { cat "$LQ_RUN/mode" 2>/dev/null || true; }
in_ns() { local n=$1; shift; nsenter "--net=/run/netns/$n" "$@"; }

# ---------------------------------------------------------------- network
net_up() {
    local n
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET.254/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    for n in "${NODES[@]}"; do
        ip netns add "$n"
        ip link add "lq-$n" type veth peer name eth0 netns "$n"
        ip link set "lq-$n" master "$BRIDGE" up
        ip -n "$n" addr add "$(node_ip "$n")/24" dev eth0
        ip -n "$n" link set eth0 up
        ip -n "$n" link set lo up
    done
}

net_down() {
    local n
    for n in "${NODES[@]}"; do
        ip link del "lq-$n" 2>/dev/null || true
        [ -e "/run/netns/$n" ] && ip netns del "$n" 2>/dev/null
    done
    ip link del "$BRIDGE" 2>/dev/null || true
}

# ---------------------------------------------------------------- forwarder
forward_up() {   # TARGET_HOST
    python3 "$here/forward.py" "127.0.0.1:$API_PORT" "$1:$API_PORT" \
        --pid-file "$LQ_RUN/forward.pid" </dev/null >"$LQ_RUN/forward.log" 2>&1 &
    disown
    local i
    for ((i = 0; i < 50; i++)); do
        [ -s "$LQ_RUN/forward.pid" ] && return 0
        sleep 0.1
    done
    cat "$LQ_RUN/forward.log" >&2
    lq_die "the forwarder to $1:$API_PORT did not start"
}

# pid-file processes: the forwarder and, in process mode, every daemon.
kill_pidfiles() {
    local f pid i
    for f in "$LQ_RUN"/forward.pid "$LQ_RUN"/pids/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            # A process group leader (setsid) takes its children along.
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -0 "$pid" 2>/dev/null && { kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null; }
        fi
        rm -f "$f"
    done
}

wait_http() {   # URL SECONDS [NETNS]
    local i
    local -a pre=()
    [ -n "${3:-}" ] && pre=(nsenter "--net=/run/netns/$3")
    for ((i = 0; i < $2 * 4; i++)); do
        "${pre[@]}" curl -sf -m 2 --cacert "$LQ_STATE/pki/ca.crt" -o /dev/null "$1" && return 0
        sleep 0.25
    done
    return 1
}

# ---------------------------------------------------------------- docker mode
NODE_IMAGES_1=(logq/collector:latest logq/shipper:latest logq/redis:latest logq/apps:latest)
NODE_IMAGES=(logq/shipper:latest logq/apps:latest)

# Copies to each node the images whose ID differs from the builder's.
load_images() {
    local n img want have pids=() imgs
    for n in "${NODES[@]}"; do
        imgs=()
        if [ "$n" = node1 ]; then
            for img in "${NODE_IMAGES_1[@]}"; do imgs+=("$img"); done
        else
            for img in "${NODE_IMAGES[@]}"; do imgs+=("$img"); done
        fi
        local todo=()
        for img in "${imgs[@]}"; do
            want=$(bdk image inspect -f '{{.Id}}' "$img")
            have=$(ndk "$n" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)
            [ "$want" = "$have" ] || todo+=("$img")
        done
        [ ${#todo[@]} -gt 0 ] || continue
        lq_log "$n: loading ${todo[*]}"
        (bdk save "${todo[@]}" | ndk "$n" load -q >/dev/null) &
        pids+=($!)
    done
    local p
    for p in "${pids[@]}"; do
        wait "$p" || lq_die "loading images into a node failed"
    done
    for n in "${NODES[@]}"; do
        ndk "$n" image prune -f >/dev/null 2>&1 || true
    done
}

images() {
    lq_builder_up || lq_die "the builder dockerd did not start"
    "$repo/provisioning/images/build.sh" --quiet
    load_images
    lq_builder_down
}

# The secrets, all 0600 (token files that the group or others may read are
# refused, SECURITY.md): one shipper token per node (shipper-NODE.token;
# SECURITY.md "Shipper identity": a node's token lets it send as that node
# only), the collector's list of them (shipper-tokens, HOST TOKEN per
# line), the API token bin/logq uses (LOGQ_TOKEN) and the collector's
# --http-token-file holding it.
secret_files() {
    local n
    mkdir -p "$LQ_STATE"
    for n in "${NODES[@]}"; do
        if [ ! -s "$LQ_STATE/shipper-$n.token" ]; then
            (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' \
                >"$LQ_STATE/shipper-$n.token")
        fi
    done
    (umask 077
     {
         printf '# demo.sh: HOST TOKEN, one line per node (SECURITY.md "Shipper identity")\n'
         for n in "${NODES[@]}"; do
             printf '%s %s\n' "$n" "$(cat "$LQ_STATE/shipper-$n.token")"
         done
     } >"$LQ_STATE/shipper-tokens.new")
    mv "$LQ_STATE/shipper-tokens.new" "$LQ_STATE/shipper-tokens"
    rm -f "$LQ_STATE/token"     # the shared token of before protocol 2
    if [ ! -s "$LQ_STATE/logq.token" ]; then
        (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$LQ_STATE/logq.token")
    fi
    (umask 077; printf '# demo.sh: NAME ROLE TOKEN (collector/API.md)\ndemo read %s\n' \
        "$(cat "$LQ_STATE/logq.token")" >"$LQ_STATE/http-tokens")
    "$repo/provisioning/pki.sh" "$LQ_STATE/pki" \
        "IP:$COLLECTOR_IP,IP:127.0.0.1,DNS:localhost" "${NODES[@]}"
    use_token
}

# Exports LOGQ_TOKEN, LOGQ_SERVER and LOGQ_TLS_CA for the demo's own
# bin/logq calls.
use_token() {
    if [ -s "$LQ_STATE/logq.token" ]; then
        LOGQ_TOKEN=$(cat "$LQ_STATE/logq.token")
        export LOGQ_TOKEN
    fi
    export LOGQ_SERVER=https://127.0.0.1:$API_PORT
    export LOGQ_TLS_CA=$LQ_STATE/pki/ca.crt
}

token_files() {
    local n
    secret_files
    # The shipper image runs as uid 10002 (Dockerfile.shipper), the
    # collector's as uid 10001: each gets its directory and token copy.
    for n in "${NODES[@]}"; do
        mkdir -p "$LQ_STATE/$n/shipper"
        chown -R "$SHIPPER_UID:$SHIPPER_UID" "$LQ_STATE/$n/shipper"
        chmod 0700 "$LQ_STATE/$n/shipper"
        install -m 0400 -o "$SHIPPER_UID" -g "$SHIPPER_UID" \
            "$LQ_STATE/shipper-$n.token" "$LQ_STATE/$n/token"
        install -m 0444 "$LQ_STATE/pki/ca.crt" "$LQ_STATE/$n/ca.crt"
        install -m 0444 "$LQ_STATE/pki/shipper-$n.crt" "$LQ_STATE/$n/tls.crt"
        install -m 0400 -o "$SHIPPER_UID" -g "$SHIPPER_UID" \
            "$LQ_STATE/pki/shipper-$n.key" "$LQ_STATE/$n/tls.key"
    done
    mkdir -p "$LQ_STATE/node1/collector"
    chown 10001:10001 "$LQ_STATE/node1/collector"
    install -m 0400 -o 10001 -g 10001 "$LQ_STATE/shipper-tokens" \
        "$LQ_STATE/node1/collector.token"
    install -m 0400 -o 10001 -g 10001 "$LQ_STATE/http-tokens" \
        "$LQ_STATE/node1/collector.http-tokens"
    install -m 0444 "$LQ_STATE/pki/collector.crt" "$LQ_STATE/node1/collector.crt"
    install -m 0400 -o 10001 -g 10001 "$LQ_STATE/pki/collector.key" \
        "$LQ_STATE/node1/collector.key"
}

# Optional flags (--redis, --proc-root, --sys-root) are passed only when the
# binary in the image knows them (its --help, read once per run).
declare -A HELP=()
supports() {   # BINARY FLAG
    local img=logq/shipper:latest
    [ "$1" = logq-collector ] && img=logq/collector:latest
    if [ -z "${HELP[$1]:-}" ]; then
        HELP[$1]=$(ndk node1 run --rm --network none --cap-drop ALL \
            --cap-add DAC_READ_SEARCH --entrypoint "/usr/local/bin/$1" \
            "$img" --help 2>&1 || true)
    fi
    grep -q -- "$2" <<<"${HELP[$1]}"
}

run_redis() {
    ndk node1 run -d --name logq-redis --network host --restart unless-stopped \
        --read-only --log-opt max-size=1m --log-opt max-file=3 --label logq.demo=1 \
        logq/redis:latest >/dev/null
}

run_collector() {
    local -a extra=()
    supports logq-collector --redis && extra+=(--redis 127.0.0.1:6379)
    ndk node1 run -d --name logq-collector --network host --restart unless-stopped \
        --read-only --cap-drop ALL --security-opt no-new-privileges \
        --log-opt max-size=1m --log-opt max-file=3 --label logq.demo=1 \
        -v "$LQ_STATE/node1/collector:/var/lib/logq" \
        -v "$LQ_STATE/node1/collector.token:/etc/logq/token:ro" \
        -v "$LQ_STATE/node1/collector.http-tokens:/etc/logq/http-tokens:ro" \
        -v "$LQ_STATE/node1/collector.crt:/etc/logq/tls.crt:ro" \
        -v "$LQ_STATE/node1/collector.key:/etc/logq/tls.key:ro" \
        -v "$LQ_STATE/node1/ca.crt:/etc/logq/ca.crt:ro" \
        logq/collector:latest --listen 0.0.0.0:7070 --http "0.0.0.0:$API_PORT" \
        --data-dir /var/lib/logq --token-file /etc/logq/token \
        --http-token-file /etc/logq/http-tokens --tls-cert /etc/logq/tls.crt \
        --tls-key /etc/logq/tls.key --tls-client-ca /etc/logq/ca.crt \
        "${extra[@]}" >/dev/null
}

# The shipper image runs as uid 10002 with CAP_DAC_READ_SEARCH only, a file
# capability of the binary that --cap-add keeps in the bounding set (and
# that --security-opt no-new-privileges would withhold: Dockerfile.shipper).
run_shipper() {   # NODE
    local n=$1
    local -a extra=()
    supports logq-shipper --proc-root && extra+=(--proc-root /host/proc)
    supports logq-shipper --sys-root && extra+=(--sys-root /host/sys)
    ndk "$n" run -d --name logq-shipper --network host --restart unless-stopped \
        --read-only --cap-drop ALL --cap-add DAC_READ_SEARCH \
        --log-opt max-size=1m --log-opt max-file=3 --label logq.demo=1 \
        -v "$(node_data "$n")/containers:/var/lib/docker/containers:ro" \
        -v /proc:/host/proc:ro -v /sys:/host/sys:ro \
        -v "$LQ_STATE/$n/shipper:/var/lib/logq-shipper" \
        -v "$LQ_STATE/$n/token:/etc/logq/token:ro" \
        -v "$LQ_STATE/$n/ca.crt:/etc/logq/ca.crt:ro" \
        -v "$LQ_STATE/$n/tls.crt:/etc/logq/tls.crt:ro" \
        -v "$LQ_STATE/$n/tls.key:/etc/logq/tls.key:ro" \
        logq/shipper:latest --collector "$COLLECTOR_IP:7070" \
        --docker-root /var/lib/docker/containers --state-dir /var/lib/logq-shipper \
        --hostname "$n" --token-file /etc/logq/token --tls-ca /etc/logq/ca.crt \
        --tls-cert /etc/logq/tls.crt --tls-key /etc/logq/tls.key \
        "${extra[@]}" >/dev/null
}

run_apps() {   # NODE
    local n=$1 seed=${1#node}
    local -a common=(-d --network host --log-driver json-file --log-opt max-size=1m
                     --log-opt max-file=3 --label logq.demo=1 --read-only)
    ndk "$n" run "${common[@]}" --name web --restart unless-stopped logq/apps:latest \
        --kind web --rate 20 --seed "1$seed" --start-time now >/dev/null
    ndk "$n" run "${common[@]}" --name app --restart unless-stopped logq/apps:latest \
        --kind app --rate 8 --stream-mix --seed "2$seed" --start-time now >/dev/null
    ndk "$n" run "${common[@]}" --name worker --restart unless-stopped logq/apps:latest \
        --kind worker --rate 4 --long-every 40 --long-size 20000 --seed "3$seed" \
        --start-time now >/dev/null
    # shellcheck disable=SC2016 # expanded by the container's sh
    ndk "$n" run "${common[@]}" --name crasher --restart on-failure \
        --entrypoint /bin/sh logq/apps:latest -c \
        'echo "crasher starting (pid $$, $(date -u +%FT%TZ))"
         exec logq-loggen --kind app --rate 5 --exit-after 60 --exit-code 1 --seed "4'"$seed"'" --start-time now' \
        >/dev/null
}

docker_up() {
    local n pids=() p
    mkdir -p "$LQ_CACHE/nodes"
    lq_log "building/checking images (builder dockerd, cache $LQ_CACHE)"
    lq_builder_up || lq_die "the builder dockerd did not start"
    "$repo/provisioning/images/build.sh" --quiet
    lq_log "images ready at $(elapsed) s; network and three dockerds"
    net_up
    for n in "${NODES[@]}"; do
        lq_dockerd_start "$n" "$(node_data "$n")" "$(node_run "$n")" "$n" "/logq-$n" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do
        wait "$p" || lq_die "a node's dockerd did not start (logs in $LQ_RUN/node*/dockerd.log)"
    done
    for n in "${NODES[@]}"; do
        # Leftovers of an earlier demo that was not taken down cleanly.
        ids=$(ndk "$n" ps -aq)
        # shellcheck disable=SC2086 # one id per word
        [ -z "$ids" ] || ndk "$n" rm -f $ids >/dev/null
    done
    load_images
    lq_builder_down
    token_files
    lq_log "dockerds up at $(elapsed) s; starting containers"
    run_redis
    run_collector
    wait_http "https://$COLLECTOR_IP:$API_PORT/health" 30 ||
        { ndk node1 logs --tail 20 logq-collector >&2; lq_die "the collector did not answer on $COLLECTOR_IP:$API_PORT"; }
    for n in node2 node3; do
        wait_http "https://$COLLECTOR_IP:$API_PORT/health" 5 "$n" ||
            lq_die "$n cannot reach $COLLECTOR_IP over the bridge $BRIDGE (a host firewall? net.bridge.bridge-nf-call-iptables with a FORWARD DROP policy blocks it)"
    done
    for n in "${NODES[@]}"; do
        run_shipper "$n"
        run_apps "$n"
    done
    forward_up "$COLLECTOR_IP"
}

docker_refresh() {
    local n t
    lq_log "rebuilding images"
    lq_builder_up || lq_die "the builder dockerd did not start"
    "$repo/provisioning/images/build.sh" --quiet
    load_images
    lq_builder_down
    lq_log "images ready at $(elapsed) s; replacing the logq containers"
    # Shippers first stop (they save acknowledged positions on SIGTERM),
    # then the collector and Redis, then everything starts again.
    for n in "${NODES[@]}"; do
        ndk "$n" stop -t 20 logq-shipper >/dev/null 2>&1 || true
        ndk "$n" rm -f logq-shipper >/dev/null 2>&1 || true
    done
    ndk node1 stop -t 20 logq-collector >/dev/null 2>&1 || true
    ndk node1 rm -f logq-collector logq-redis >/dev/null 2>&1 || true
    run_redis
    run_collector
    wait_http "https://$COLLECTOR_IP:$API_PORT/health" 30 ||
        lq_die "the new collector did not answer"
    for n in "${NODES[@]}"; do
        run_shipper "$n"
    done
    t=$(ndk node1 inspect -f '{{.Image}}' logq-collector | cut -c8-19)
    lq_log "collector image $t, shipper image $(ndk node1 inspect -f '{{.Image}}' logq-shipper | cut -c8-19)"
}

# ---------------------------------------------------------------- process mode
# A simulated container: <root>/<id>/config.v2.json as Docker writes it (the
# fields the shipper reads) and a json-file log fed by logq-loggen.
sim_dir() {   # NODE ROOT NAME: creates the container's dir, prints its log path
    local n=$1 root=$2 name=$3 id
    id=$(printf '%s/%s' "$n" "$name" | sha256sum | cut -c1-64)
    mkdir -p "$root/$id"
    printf '{"ID":"%s","Name":"/%s","Config":{"Image":"logq/apps:sim","Labels":{"logq.demo":"1"}},"State":{"Running":true}}\n' \
        "$id" "$name" >"$root/$id/config.v2.json"
    echo "$root/$id/$id-json.log"
}

sim_container() {   # NODE ROOT NAME LOGGEN-ARGS...
    local n=$1 name=$3 log
    log=$(sim_dir "$1" "$2" "$3")
    shift 3
    # shellcheck disable=SC2016 # $0/$@ expand in that sh
    bg_proc "$n-$name" "" sh -c 'exec "$0" "$@" --format json-file >>"'"$log"'"' \
        "$BIN/logq-loggen" "$@"
}

# The crasher: a start line, 60 lines, exit 1, "restarted" a second later.
sim_crasher() {   # NODE ROOT SEED
    local log
    log=$(sim_dir "$1" "$2" crasher)
    # shellcheck disable=SC2016 # expanded by that sh
    bg_proc "$1-crasher" "" sh -c 'while :; do
        printf "$4" "$(date -u +%FT%TZ)" "$(date -u +%FT%T.%NZ)" >>"$1"
        "$2" --kind app --rate 5 --exit-after 60 --exit-code 1 --seed "$3" \
            --start-time now --format json-file >>"$1"
        sleep 1
    done' sh "$log" "$BIN/logq-loggen" "4$3" \
        '{"log":"crasher starting (%s)\\n","stream":"stdout","time":"%s"}\n'
}

bg_proc() {   # NAME NETNS CMD...: background, pid file, log in $LQ_RUN/logs
    local name=$1 ns=$2
    shift 2
    local -a pre=()
    [ -n "$ns" ] && pre=(nsenter "--net=/run/netns/$ns")
    mkdir -p "$LQ_RUN/pids" "$LQ_RUN/logs"
    setsid "${pre[@]}" "$@" </dev/null >>"$LQ_RUN/logs/$name.log" 2>&1 &
    echo $! >"$LQ_RUN/pids/$name.pid"
}

process_up() {
    local n root ns cip http seed pki
    local -a extra=()
    if [ "$(id -u)" = 0 ]; then
        net_up
        cip=$COLLECTOR_IP
        http=0.0.0.0:$API_PORT
    else
        cip=127.0.0.1
        http=127.0.0.1:$API_PORT
    fi
    secret_files
    pki=$LQ_STATE/pki
    ns=
    [ "$(id -u)" = 0 ] && ns=node1
    bg_proc collector "$ns" "$BIN/logq-collector" --listen "$cip:7070" --http "$http" \
        --data-dir "$LQ_STATE/node1/collector" --token-file "$LQ_STATE/shipper-tokens" \
        --http-token-file "$LQ_STATE/http-tokens" --tls-cert "$pki/collector.crt" \
        --tls-key "$pki/collector.key" --tls-client-ca "$pki/ca.crt"
    mkdir -p "$LQ_STATE/node1/collector"
    wait_http "https://$cip:$API_PORT/health" 20 "$ns" || lq_die "the collector did not answer (log: $LQ_RUN/logs/collector.log)"
    for n in "${NODES[@]}"; do
        root=$LQ_STATE/$n/containers
        seed=${n#node}
        mkdir -p "$root" "$LQ_STATE/$n/shipper"
        ns=
        [ "$(id -u)" = 0 ] && ns=$n
        bg_proc "$n-shipper" "$ns" "$BIN/logq-shipper" --collector "$cip:7070" \
            --docker-root "$root" --state-dir "$LQ_STATE/$n/shipper" --hostname "$n" \
            --token-file "$LQ_STATE/shipper-$n.token" --tls-ca "$pki/ca.crt" \
            --tls-cert "$pki/shipper-$n.crt" --tls-key "$pki/shipper-$n.key" \
            "${extra[@]}"
        sim_container "$n" "$root" web --kind web --rate 20 --seed "1$seed" --start-time now
        sim_container "$n" "$root" app --kind app --rate 8 --stream-mix --seed "2$seed" --start-time now
        sim_container "$n" "$root" worker --kind worker --rate 4 --long-every 40 \
            --long-size 20000 --seed "3$seed" --start-time now
        sim_crasher "$n" "$root" "$seed"
    done
    [ "$(id -u)" = 0 ] && forward_up "$COLLECTOR_IP"
    return 0
}

# ---------------------------------------------------------------- output
show() {   # ARGS...: prints "$ bin/logq ARGS" and its output (long lines cut)
    printf '\n$ bin/logq %s\n' "$*"
    "$BIN/logq" "$@" 2>&1 | cut -c1-200 || true
}

wait_all_hosts() {
    local i
    for ((i = 0; i < 120; i++)); do
        if [ "$("$BIN/logq" hosts 2>/dev/null | grep -cE '^node[123]\b' || true)" = 3 ] &&
            "$BIN/logq" -n 1 --container web >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.25
    done
    return 1
}

print_samples() {
    if ! wait_all_hosts; then
        lq_log "not all three nodes ship to the collector within 30 s"
        if [ "$(mode)" = docker ]; then
            for n in "${NODES[@]}"; do
                echo "== $n" >&2
                ndk "$n" ps -a --format '{{.Names}}\t{{.Status}}' >&2
                ndk "$n" logs --tail 5 logq-shipper >&2 2>&1 || true
            done
        fi
        lq_die "the demo is up but not shipping (make demo-down removes it)"
    fi
    sleep 1
    show hosts
    show containers
    show error -n 5
    show --container web -n 3
    show --host node3 --container 'crash*' starting -n 3
}

# ---------------------------------------------------------------- commands
is_up() {
    [ -n "$(mode)" ] || return 1
    if [ "$(mode)" = docker ]; then
        local n
        for n in "${NODES[@]}"; do
            lq_dockerd_alive "$(node_run "$n")" || return 1
        done
    fi
    [ "$(id -u)" != 0 ] || { pid=$(cat "$LQ_RUN/forward.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; } || return 1
    curl -sf -m 2 --cacert "$LQ_STATE/pki/ca.crt" -o /dev/null \
        "https://127.0.0.1:$API_PORT/health"
}

cmd_up() {
    use_token
    if is_up; then
        echo "The logq demo is already up ($(mode) mode); try: bin/logq hosts"
        echo "(make demo-refresh rebuilds and replaces the logq containers; make demo-down removes it.)"
        "$BIN/logq" hosts || true
        exit 0
    fi
    if [ -n "$(mode)" ] || [ -e /run/netns/node1 ] || ip link show "$BRIDGE" >/dev/null 2>&1; then
        lq_log "an earlier demo is half up; removing it first"
        cmd_down >/dev/null || true
    fi
    if curl -s -m 1 -o /dev/null "http://127.0.0.1:$API_PORT/" 2>/dev/null ||
        (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then
        lq_die "127.0.0.1:$API_PORT is already in use (a collector of your own?); stop it first"
    fi
    for b in logq-collector logq-shipper logq logq-loggen; do
        [ -x "$BIN/$b" ] || lq_die "missing $BIN/$b: run make first"
    done
    mkdir -p "$LQ_RUN"
    local why
    if [ "${LQ_DEMO_MODE:-}" = process ]; then
        why="LQ_DEMO_MODE=process"
    fi
    if [ "${LQ_DEMO_MODE:-}" != process ] && why=$(lq_docker_usable); then
        echo docker >"$LQ_RUN/mode"
        # shellcheck disable=SC2154 # rc is set in the trap itself
        trap 'rc=$?; [ "$rc" = 0 ] || lq_log "demo up failed (make demo-down cleans up)"' EXIT
        docker_up
    else
        echo process >"$LQ_RUN/mode"
        echo "*** No usable Docker engine ($why): running the same roles as plain processes"
        echo "*** with simulated Docker roots (logq-loggen --format json-file)."
        process_up
    fi
    print_samples
    printf '\nThe demo is up (%s mode) in %s s. Try bin/logq -f, bin/logq --host node2 error;\n' "$(mode)" "$(elapsed)"
    if [ "$(mode)" = docker ]; then
        printf 'docker on a node: DOCKER_HOST=unix://%s/node2/docker.sock docker ps\n' "$LQ_RUN"
    fi
    # shellcheck disable=SC2016 # the $(cat ...) is for the user to run
    printf 'bin/logq needs the demo API token, its URL and CA:\n  export LOGQ_TOKEN=$(cat %s/logq.token) LOGQ_SERVER=https://127.0.0.1:%s LOGQ_TLS_CA=%s/pki/ca.crt\n' \
        "$LQ_STATE" "$API_PORT" "$LQ_STATE"
    printf 'make demo-refresh rebuilds and replaces the logq containers; make demo-down removes everything.\n'
}

cmd_refresh() {
    is_up || lq_die "the demo is not up: make demo"
    [ "$(mode)" = docker ] || lq_die "refresh needs docker mode (this demo runs plain processes); make demo-down && make demo"
    docker_refresh
    wait_all_hosts || lq_die "not all nodes ship after the refresh"
    show hosts
    printf '\ndemo refreshed in %s s\n' "$(elapsed)"
}

leftovers() {
    local n left=()
    for n in "${NODES[@]}"; do
        [ -e "/run/netns/$n" ] && left+=("netns $n")
        ip link show "lq-$n" >/dev/null 2>&1 && left+=("link lq-$n")
    done
    ip link show "$BRIDGE" >/dev/null 2>&1 && left+=("bridge $BRIDGE")
    [ -e "$LQ_RUN" ] && left+=("dir $LQ_RUN")
    [ -e "$LQ_STATE" ] && left+=("dir $LQ_STATE")
    grep -qF " $LQ_RUN/" /proc/mounts && left+=("mounts under $LQ_RUN")
    grep -qF " $LQ_CACHE/nodes/" /proc/mounts && left+=("mounts under $LQ_CACHE/nodes")
    pgrep -f -- "$LQ_RUN/" >/dev/null 2>&1 && left+=("processes: $(pgrep -f -- "$LQ_RUN/" | tr '\n' ' ')")
    pgrep -f -- "$here/forward.py" >/dev/null 2>&1 && left+=("forwarder")
    printf '%s\n' "${left[@]}"
}

cmd_down() {
    local n
    if [ "$(id -u)" = 0 ]; then
        for n in "${NODES[@]}"; do
            lq_dockerd_stop "$(node_run "$n")"
            # the node's data root itself may be a mount point too
            awk -v d="$(node_data "$n")" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
                while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
        done
    fi
    kill_pidfiles
    [ "$(id -u)" = 0 ] && net_down
    lq_builder_down 2>/dev/null || true
    rm -rf "$LQ_RUN" "$LQ_STATE"
    local left
    left=$(leftovers)
    if [ -n "$left" ]; then
        printf 'demo-down: left behind:\n%s\n' "$left" >&2
        return 1
    fi
    echo "demo down: no namespaces, links, dockerds, forwarder or state left (images stay cached in $LQ_CACHE)"
}

cmd_status() {
    if ! is_up; then
        echo "demo: not up${LQ_RUN:+ }$( [ -n "$(mode)" ] && echo "(half up: make demo-down)")"
        return 1
    fi
    echo "demo: up ($(mode) mode)"
    if [ "$(mode)" = docker ]; then
        for n in "${NODES[@]}"; do
            echo "== $n"
            ndk "$n" ps --format '{{.Names}}\t{{.Image}}\t{{.Status}}'
        done
    fi
}

case ${1:-} in
    up) cmd_up ;;
    refresh) cmd_refresh ;;
    down) cmd_down ;;
    status) cmd_status ;;
    token-file) echo "$LQ_STATE/logq.token" ;;
    ca-file) echo "$LQ_STATE/pki/ca.crt" ;;
    *) echo "usage: $0 up|refresh|down|status|token-file|ca-file" >&2; exit 2 ;;
esac
