#!/bin/bash
# SPDX-License-Identifier: MIT
# Gives a Flatcar node a Python interpreter for Ansible, as root, with only a
# shell (it runs before Ansible can use Python). Idempotent: it exits at once
# when LINK already runs Python, and never edits Flatcar's extension list
# unless the extension image is in place (a listed but missing extension is
# downloaded in the initrd at every boot and a failed download fails the
# boot).
# Usage: bootstrap-python.sh LINK PYPY_URL [PYPY_SHA256] [SYSEXT_BASE_URL]
set -euo pipefail

link=${1:?usage: bootstrap-python.sh LINK PYPY_URL [PYPY_SHA256] [SYSEXT_BASE_URL]}
pypy_url=${2:?missing PYPY_URL}
pypy_sha256=${3:-}
sysext_base=${4:-}

log() { echo "bootstrap-python: $*"; }

works() { [ -x "$1" ] && "$1" -c 'import json, sys' >/dev/null 2>&1; }

use() {
    mkdir -p "$(dirname "$link")"
    ln -sfn "$1" "$link"
    works "$link" || { log "$1 does not run"; exit 1; }
    log "installed $link -> $1"
    exit 0
}

# Flatcar's official python extension, downloaded for the running release.
try_sysext() {
    local id='' version='' group='' board img url conf f
    # shellcheck disable=SC1091
    . /etc/os-release
    id=${ID:-}
    version=${VERSION:-}
    [ "$id" = flatcar ] && [ -n "$version" ] || return 1
    for f in /usr/share/flatcar/update.conf /etc/flatcar/update.conf; do
        if [ -r "$f" ] && grep -q '^GROUP=' "$f"; then
            group=$(sed -n 's/^GROUP=//p' "$f" | tail -n 1)
        fi
    done
    case "$group" in
        stable|beta|alpha|lts) ;;
        *) group=stable ;;
    esac
    case "$(uname -m)" in
        x86_64) board=amd64-usr ;;
        aarch64) board=arm64-usr ;;
        *) return 1 ;;
    esac
    [ -n "$sysext_base" ] || sysext_base="https://${group}.release.flatcar-linux.net"
    img="/etc/flatcar/sysext/flatcar-python-${version}.raw"
    url="${sysext_base}/${board}/${version}/flatcar-python.raw"
    mkdir -p /etc/flatcar/sysext /etc/extensions
    if [ ! -s "$img" ]; then
        log "fetching $url"
        if ! curl -fsSL --retry 3 -o "$img.part" "$url"; then
            rm -f "$img.part"
            log "no python extension for Flatcar $version"
            return 1
        fi
        mv "$img.part" "$img"
    fi
    ln -sfn "$img" /etc/extensions/flatcar-python.raw
    systemctl restart systemd-sysext
    if ! works /usr/bin/python3; then
        rm -f /etc/extensions/flatcar-python.raw
        systemctl restart systemd-sysext
        return 1
    fi
    conf=/etc/flatcar/enabled-sysext.conf
    # Listed only now that it works, so OS updates fetch the matching one.
    grep -qx python "$conf" 2>/dev/null || echo python >>"$conf"
    return 0
}

try_pypy() {
    local dir=/opt/pypy tmp
    if ! works "$dir/bin/pypy3"; then
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' RETURN
        log "fetching $pypy_url"
        curl -fsSL --retry 3 -o "$tmp/pypy.tar.bz2" "$pypy_url" || return 1
        if [ -n "$pypy_sha256" ]; then
            echo "$pypy_sha256  $tmp/pypy.tar.bz2" | sha256sum -c - >/dev/null \
                || { log "checksum mismatch for $pypy_url"; return 1; }
        else
            log "warning: no checksum given, PyPy download not verified"
        fi
        mkdir -p "$tmp/root"
        tar -xjf "$tmp/pypy.tar.bz2" -C "$tmp/root" --strip-components=1
        rm -rf "$dir"
        mkdir -p "$(dirname "$dir")"
        mv "$tmp/root" "$dir"
    fi
    works "$dir/bin/pypy3"
}

if works "$link"; then
    log "$link already works"
    exit 0
fi
if works /usr/bin/python3; then
    use /usr/bin/python3
fi
if try_sysext; then
    use /usr/bin/python3
fi
if try_pypy; then
    use /opt/pypy/bin/pypy3
fi
log "could not install Python (no extension, PyPy download failed)"
exit 1
