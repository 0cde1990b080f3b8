# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# common.sh: shared by provisioning/images/*.sh and provisioning/demo/*.sh
# (sourced, not run). The image builds run in a private "builder" dockerd in
# the root network namespace (apt-get inside `docker build --network host`
# needs the host's network); its data root lives OUTSIDE the checkout, in
# $LQ_CACHE (default /var/cache/logq-demo), so the base images, the
# toolchain image and the layer cache survive `make demo-down` and later
# runs reuse them. Never touches a system dockerd: own socket, pid file,
# exec root, --bridge=none --iptables=false.
#   lq_log MSG...              progress line on stderr
#   lq_die MSG...              error line, exit 1
#   lq_docker_usable           0 if root and docker.io/busybox-static exist (else prints why)
#   lq_dockerd_start NAME DATA RUN [NETNS] [CGROUP_PARENT]
#                              starts a private dockerd (in NETNS if given),
#                              waits up to 60 s for it to answer
#   lq_dockerd_stop RUN        removes its containers, stops it by pid file
#                              (by command line if RUN is gone)
#   lq_dk RUN ARGS...          /usr/bin/docker against the dockerd of RUN
#   lq_builder_up / lq_builder_down / bdk ARGS...   the builder dockerd
#   LQ_IMAGES                  the images `make images` builds, in order

LQ_CACHE=${LQ_CACHE:-/var/cache/logq-demo}
LQ_RUN=${LQ_RUN:-/run/logq-demo}
LQ_BUILDER_RUN=$LQ_RUN/builder
LQ_DOCKER=/usr/bin/docker
# shellcheck disable=SC2034 # used by the scripts that source this file
LQ_DEBIAN_BASE=logq/debian-base:bookworm
# shellcheck disable=SC2034 # used by the scripts that source this file
LQ_BUSYBOX_BASE=logq/busybox:base
# shellcheck disable=SC2034 # used by the scripts that source this file
LQ_IMAGES=(logq/build:bookworm logq/runtime:bookworm logq/collector:latest
           logq/shipper:latest logq/redis:latest logq/apps:latest)

lq_log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
lq_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

lq_docker_usable() {
    if [ "$(id -u)" != 0 ]; then
        echo "not root"
        return 1
    fi
    command -v dockerd >/dev/null 2>&1 || { echo "dockerd not installed (docker.io)"; return 1; }
    [ -x "$LQ_DOCKER" ] || { echo "$LQ_DOCKER missing (docker.io)"; return 1; }
    if [ ! -x /bin/busybox ] || ! file -L /bin/busybox 2>/dev/null | grep -q static; then
        echo "no static /bin/busybox (busybox-static)"
        return 1
    fi
    return 0
}

lq_dk() {
    local run=$1
    shift
    DOCKER_HOST="unix://$run/docker.sock" "$LQ_DOCKER" "$@"
}

lq_dockerd_alive() {   # RUN
    local pid
    pid=$(cat "$1/dockerd.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ -S "$1/docker.sock" ] &&
        lq_dk "$1" version >/dev/null 2>&1
}

# lq_dockerd_start NAME DATA RUN [NETNS] [CGROUP_PARENT]: a no-op when that
# daemon already answers. Returns 1 (log tail on stderr) if it does not come up.
lq_dockerd_start() {
    local name=$1 data=$2 run=$3 netns=${4:-} cgp=${5:-} i
    local -a pre=() extra=()
    lq_dockerd_alive "$run" && return 0
    mkdir -p "$data" "$run"
    rm -f "$run/docker.sock" "$run/dockerd.pid"
    [ -n "$netns" ] && pre=(nsenter "--net=/run/netns/$netns")
    [ -n "$cgp" ] && extra=(--cgroup-parent "$cgp")
    # setsid: the daemon outlives the make that started it and gets no
    # terminal signals; stdin from /dev/null so no pipe is held open.
    setsid "${pre[@]}" dockerd --data-root "$data" --exec-root "$run/exec" \
        --pidfile "$run/dockerd.pid" -H "unix://$run/docker.sock" \
        --iptables=false --ip6tables=false --bridge=none --ip-forward=false \
        --ip-masq=false --storage-driver overlay2 "${extra[@]}" \
        --log-level=warn </dev/null >"$run/dockerd.log" 2>&1 &
    for ((i = 0; i < 120; i++)); do
        if [ -S "$run/docker.sock" ] && lq_dk "$run" version >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    lq_log "dockerd $name did not answer within 60 s; its log:"
    tail -n 20 "$run/dockerd.log" >&2
    return 1
}

# lq_dockerd_pids RUN: the dockerds started for RUN, found by their command
# line (--pidfile RUN/dockerd.pid), so also when RUN was removed under them.
lq_dockerd_pids() {
    ps -eo pid=,args= | awk -v m="--pidfile $1/dockerd.pid " \
        'index($0 " ", m) && $2 ~ /(^|\/)dockerd$/ { print $1 }'
}

# lq_dockerd_stop RUN [KEEP_CONTAINERS]: bounded; unmounts what it left.
# Stops the daemon by its pid file, and by its command line when RUN (and
# the pid file with it) is gone: a second `make demo-down`, or a demo taken
# down by another checkout, must not leave a dockerd running.
lq_dockerd_stop() {
    local run=$1 keep=${2:-} ids pid pids i
    if [ ! -d "$run" ]; then
        local data
        pids=$(lq_dockerd_pids "$run")
        [ -n "$pids" ] || return 0
        # its data root: dockerd bind-mounts it on itself, and a daemon
        # stopped without its run dir leaves that mount behind
        data=$(ps -o args= -p "${pids%%[[:space:]]*}" |
               awk '{ for (i = 1; i < NF; i++) if ($i == "--data-root") print $(i + 1) }')
        # shellcheck disable=SC2086 # one pid per word
        kill -TERM $pids 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            pids=$(lq_dockerd_pids "$run")
            [ -n "$pids" ] || break
            sleep 0.2
        done
        # shellcheck disable=SC2086 # one pid per word
        [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
        awk -v r="$run/" -v d="$data" '
            index($2, r) == 1 || (d != "" && ($2 == d || index($2, d "/") == 1)) { print $2 }
            ' /proc/mounts | sort -r |
            while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
        return 0
    fi
    if [ -z "$keep" ] && lq_dockerd_alive "$run"; then
        ids=$(lq_dk "$run" ps -aq 2>/dev/null || true)
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086 # one id per word
            timeout 60 "$LQ_DOCKER" -H "unix://$run/docker.sock" rm -f $ids >/dev/null 2>&1 || true
        fi
    fi
    pid=$(cat "$run/dockerd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    fi
    grep -F " $run/" /proc/mounts | awk '{print $2}' | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
    rm -rf "$run"
}

lq_builder_up() {
    lq_dockerd_start builder "$LQ_CACHE/builder" "$LQ_BUILDER_RUN"
}
lq_builder_down() { lq_dockerd_stop "$LQ_BUILDER_RUN" keep; }
bdk() { lq_dk "$LQ_BUILDER_RUN" "$@"; }

# Size of an image in MB (one decimal), from the builder.
lq_image_mb() {
    bdk image inspect -f '{{.Size}}' "$1" 2>/dev/null |
        awk '{printf "%.1f", $1 / 1000000}'
}
