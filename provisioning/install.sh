#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs logq from a build directory: the three programs into
# PREFIX/bin, logq.1 and logq-collector.8, logq-shipper.8 into
# PREFIX/share/man/man1 and man8, logq's completion into
# PREFIX/share/bash-completion/completions/logq and
# PREFIX/share/zsh/site-functions/_logq; everything under DESTDIR (a
# staging root, "" for none). Run by `make install`; prints each file.
# Usage: provisioning/install.sh BUILD_DIR DESTDIR PREFIX
set -euo pipefail
if [ $# -ne 3 ] || [ ! -d "$1" ] || [ -z "$3" ]; then
    echo "usage: $0 BUILD_DIR DESTDIR PREFIX" >&2
    exit 2
fi
build=$1 root=$2$3
src=$(cd "$(dirname "$0")/.." && pwd)

put() {     # put MODE FILE DIR: installs FILE into DIR (created)
    install -d -m 755 "$3"
    install -m "$1" "$2" "$3/"
    echo "installed $3/$(basename "$2")"
}

for p in logq logq-collector logq-shipper; do
    put 755 "$build/$p" "$root/bin"
done
put 644 "$build/man/logq.1" "$root/share/man/man1"
for p in logq-collector logq-shipper; do
    put 644 "$build/man/$p.8" "$root/share/man/man8"
done
install -d -m 755 "$root/share/bash-completion/completions"
install -m 644 "$src/query/completion/logq.bash" \
    "$root/share/bash-completion/completions/logq"
echo "installed $root/share/bash-completion/completions/logq"
put 644 "$src/query/completion/_logq" "$root/share/zsh/site-functions"
