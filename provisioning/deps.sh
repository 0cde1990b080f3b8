#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages logq needs to build, test and run the demo.
# Usage: provisioning/deps.sh [--check]   (--check: exit 1 if anything is missing)
set -euo pipefail
PKGS=(build-essential pkg-config libevent-dev zlib1g-dev libjansson-dev
      libhiredis-dev libcmocka-dev libzstd-dev libpcre2-dev libssl-dev openssl redis-server redis-tools docker.io busybox-static
      iproute2 procps curl python3 shellcheck yamllint libfaketime
      ansible ansible-lint vagrant python3-jinja2 python3-yaml systemd debootstrap file
      valgrind)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "missing packages: ${missing[*]}" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: run as root (apt-get needs it): sudo $0" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
