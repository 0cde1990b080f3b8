#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages logq needs to build, test and run the demo.
# Usage: provisioning/deps.sh [--check] [--bench]
#   --check: exit 1 if anything is missing
#   --bench: also rsyslog, the peer `make bench` runs, and heaptrack
#            (README "Dependencies")
set -euo pipefail
check=0 bench=0
for arg in "$@"; do
    case "$arg" in
        --check) check=1 ;;
        --bench) bench=1 ;;
        *) echo "usage: $0 [--check] [--bench]" >&2; exit 2 ;;
    esac
done
PKGS=(build-essential pkg-config libevent-dev zlib1g-dev libjansson-dev
      libhiredis-dev libcmocka-dev libzstd-dev libdeflate-dev libpcre2-dev libssl-dev openssl redis-server redis-tools docker.io busybox-static
      iproute2 procps curl python3 shellcheck yamllint libfaketime
      ansible ansible-lint vagrant python3-jinja2 python3-yaml systemd debootstrap file
      valgrind zsh man-db)
if [ "$bench" -eq 1 ]; then
    PKGS+=(rsyslog heaptrack)
fi
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$check" -eq 1 ]; then
    echo "missing packages: ${missing[*]}" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: run as root (apt-get needs it): sudo $0" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# rsyslog's package starts the system's syslog service on install; the
# bench runs its own private rsyslogd processes and needs no service, so
# while installing, policy-rc.d (Debian's invoke-rc.d policy) refuses
# every service start. An existing policy-rc.d is left as it is.
policy=/usr/sbin/policy-rc.d
if [ "$bench" -eq 1 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# provisioning/deps.sh --bench: no service starts while installing\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
