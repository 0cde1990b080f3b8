# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# dockerd.sh: a private dockerd for tests (sourced, not run). Never touches a
# system dockerd: its own short root under /tmp, own socket, pid file,
# --bridge=none --iptables=false, and every docker command goes through
# /usr/bin/docker with DOCKER_HOST pointing at that socket.
#   dockerd_can_start          0 if root and dockerd/docker exist (else prints why)
#   dockerd_start              sets DK_ROOT, DK_DATA, DOCKER_HOST; waits ready
#                              (DK_NICE=N: dockerd, containerd, the shims
#                              and the containers at niceness N, whatever
#                              the caller's)
#   dk ARGS...                 /usr/bin/docker against the private daemon
#   dockerd_busybox_image NAME:TAG [FILE...]  imports busybox-static + FILEs
#                              (copied into /bin) as an image
#   dockerd_stop               removes containers, stops the daemon by pid
#                              file (bounded), unmounts leftovers, removes DK_ROOT

DK_DOCKER=/usr/bin/docker
DK_ROOT=
DK_DATA=

dockerd_can_start() {
    if [ "$(id -u)" != 0 ]; then
        echo "not root"
        return 1
    fi
    local b
    for b in dockerd "$DK_DOCKER"; do
        command -v "$b" >/dev/null 2>&1 || { echo "$b not installed (docker.io)"; return 1; }
    done
    if [ ! -x /bin/busybox ] || ! file -L /bin/busybox 2>/dev/null | grep -q static; then
        echo "no static /bin/busybox (busybox-static)"
        return 1
    fi
    return 0
}

dk() {
    DOCKER_HOST="unix://$DK_ROOT/docker.sock" "$DK_DOCKER" "$@"
}

# dockerd_start: returns 1 (with dockerd.log's tail on stderr) if the daemon
# does not answer within 60 s.
dockerd_start() {
    DK_ROOT=$(mktemp -d /tmp/lqdk.XXXXXX)
    DK_DATA=$DK_ROOT/data
    export DOCKER_HOST="unix://$DK_ROOT/docker.sock"
    local prio=()
    [ -z "${DK_NICE:-}" ] || prio=(nice -n "$((DK_NICE - $(nice)))")
    "${prio[@]}" dockerd --data-root "$DK_DATA" --exec-root "$DK_ROOT/exec" \
        --pidfile "$DK_ROOT/dockerd.pid" -H "$DOCKER_HOST" \
        --iptables=false --ip6tables=false --bridge=none \
        --log-level=warn >"$DK_ROOT/dockerd.log" 2>&1 &
    local i
    for ((i = 0; i < 120; i++)); do
        if [ -S "$DK_ROOT/docker.sock" ] && dk version >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    tail -n 20 "$DK_ROOT/dockerd.log" >&2
    return 1
}

dockerd_busybox_image() {
    local tag=$1 dir app f
    shift
    dir=$(mktemp -d "$DK_ROOT/img.XXXXXX")
    mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc" "$dir/proc" "$dir/sys" "$dir/dev"
    cp /bin/busybox "$dir/bin/busybox"
    for app in $("$dir/bin/busybox" --list); do
        [ "$app" = busybox ] || ln -sf busybox "$dir/bin/$app"
    done
    for f in "$@"; do
        cp "$f" "$dir/bin/"
    done
    echo 'root:x:0:0:root:/:/bin/sh' >"$dir/etc/passwd"
    tar -C "$dir" -c . | dk import -c 'ENV PATH=/bin' - "$tag" >/dev/null
    rm -rf "$dir"
}

dockerd_stop() {
    [ -n "$DK_ROOT" ] || return 0
    local ids pid i
    if [ -S "$DK_ROOT/docker.sock" ]; then
        ids=$(dk ps -aq 2>/dev/null || true)
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086 # one id per word
            timeout 60 "$DK_DOCKER" -H "$DOCKER_HOST" rm -f $ids >/dev/null 2>&1 || true
        fi
    fi
    pid=$(cat "$DK_ROOT/dockerd.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    fi
    # Leftover mounts (overlay, netns, shm) must go before the tree does.
    grep -F " $DK_ROOT/" /proc/mounts | awk '{print $2}' | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
    rm -rf "$DK_ROOT"
    DK_ROOT=
}
