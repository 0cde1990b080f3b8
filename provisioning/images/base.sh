#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# base.sh: makes the two base images, once, in the builder dockerd (data
# root in $LQ_CACHE, outside the checkout), with no registry:
#   logq/debian-base:bookworm  debootstrap --variant=minbase bookworm, from
#                              the Debian mirror this machine's apt uses
#                              (/etc/apt/sources.list*), then docker import
#                              (about 2 minutes, the first time only)
#   logq/busybox:base          /bin/busybox from busybox-static + applet links
# An image already present is kept; --force remakes both.
# Usage: provisioning/images/base.sh [--force]   (as root; the builder
# dockerd is started if needed and left as it was found)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

force=
[ "${1:-}" = --force ] && force=1

# The first http(s) Debian mirror apt is configured with for bookworm (not
# -security): one-line "deb URL SUITE ..." or deb822 "URIs:" / "Suites:".
debian_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        case $f in
            *.sources)
                awk 'BEGIN { RS = ""; FS = "\n" }
                     { uri = ""; ok = 0; deb = 0
                       for (i = 1; i <= NF; i++) {
                         if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
                         if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1
                         if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1 }
                       if (ok && deb && uri ~ /^https?:/ && uri !~ /security/) { print uri; exit } }' "$f"
                ;;
            *)
                awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                     if ($(i + 1) == "bookworm" && $i ~ /^https?:/ && $i !~ /security/) { print $i; exit } }' "$f"
                ;;
        esac
    done | head -n 1
}

make_debian_base() {
    local mirror dir t0
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    if ! command -v debootstrap >/dev/null; then
        lq_log "installing debootstrap (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            debootstrap >/dev/null || lq_die "debootstrap missing (apt-get install debootstrap)"
    fi
    dir=$(mktemp -d "$LQ_CACHE/rootfs.XXXXXX")
    t0=$(date +%s)
    lq_log "debootstrap --variant=minbase bookworm from $mirror (about 2 minutes, once)"
    if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$LQ_CACHE/debootstrap.log" 2>&1; then
        tail -n 20 "$LQ_CACHE/debootstrap.log" >&2
        rm -rf "$dir"
        lq_die "debootstrap failed (log: $LQ_CACHE/debootstrap.log)"
    fi
    # Smaller image: no package cache, lists, docs, man pages or locales
    # (dpkg is told to skip them in later installs too).
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
        "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
        "$dir"/usr/share/locale/* "$dir"/var/log/*.log
    cat >"$dir/etc/dpkg/dpkg.cfg.d/logq-nodoc" <<'CFG'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
CFG
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
        >"$dir/etc/apt/apt.conf.d/90logq"
    printf 'deb %s bookworm main\n' "$mirror" >"$dir/etc/apt/sources.list"
    tar --numeric-owner -C "$dir" -c . |
        bdk import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            -c 'CMD ["/bin/bash"]' - "$LQ_DEBIAN_BASE" >/dev/null
    rm -rf "$dir"
    lq_log "$LQ_DEBIAN_BASE made in $(( $(date +%s) - t0 )) s ($(lq_image_mb "$LQ_DEBIAN_BASE") MB)"
}

make_busybox_base() {
    local dir app
    dir=$(mktemp -d "$LQ_CACHE/rootfs.XXXXXX")
    mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc" "$dir/proc" "$dir/sys" "$dir/dev"
    chmod 1777 "$dir/tmp"
    cp /bin/busybox "$dir/bin/busybox"
    for app in $("$dir/bin/busybox" --list); do
        [ "$app" = busybox ] || ln -sf busybox "$dir/bin/$app"
    done
    printf 'root:x:0:0:root:/:/bin/sh\napp:x:10002:10002:app:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
        >"$dir/etc/passwd"
    printf 'root:x:0:\napp:x:10002:\nnogroup:x:65534:\n' >"$dir/etc/group"
    tar --numeric-owner -C "$dir" -c . |
        bdk import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$LQ_BUSYBOX_BASE" >/dev/null
    rm -rf "$dir"
    lq_log "$LQ_BUSYBOX_BASE made ($(lq_image_mb "$LQ_BUSYBOX_BASE") MB)"
}

mkdir -p "$LQ_CACHE"
was_up=0
lq_dockerd_alive "$LQ_BUILDER_RUN" && was_up=1
lq_builder_up || lq_die "the builder dockerd did not start"
[ "$was_up" = 1 ] || trap lq_builder_down EXIT
if [ -n "$force" ] || ! bdk image inspect "$LQ_BUSYBOX_BASE" >/dev/null 2>&1; then
    make_busybox_base
fi
if [ -n "$force" ] || ! bdk image inspect "$LQ_DEBIAN_BASE" >/dev/null 2>&1; then
    make_debian_base
fi
