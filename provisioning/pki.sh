#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pki.sh DIR SERVER_SANS HOST...: the small CA of a logq cluster (SECURITY.md
# "TLS"), made with the openssl CLI; used by the demo and the Ansible pki
# role. In DIR (created 0700):
#   ca.crt ca.key              the CA (P-256, 10 years)
#   collector.crt .key         the collector's server certificate, CN
#                              collector, subjectAltName SERVER_SANS (e.g.
#                              "IP:10.77.0.1,IP:127.0.0.1,DNS:localhost")
#   shipper-HOST.crt .key      a client certificate per shipper, CN HOST (the
#                              collector's --tls-client-ca binds it to the
#                              HELLO host name)
# Keys are 0600. Existing files are kept (re-running adds what is missing),
# except that the collector certificate is made again when SERVER_SANS
# changed. Prints one line per file made (nothing: nothing changed). Never
# commit DIR.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 DIR SERVER_SANS [HOST...]" >&2
    exit 2
fi
dir=$1 sans=$2
shift 2
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
ossl() {
    local out
    out=$(openssl "$@" 2>&1) || { echo "pki.sh: openssl $1 failed: $out" >&2; exit 1; }
}
newkey() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
    newkey "$dir/ca.key"
    ossl req -x509 -new -key "$dir/ca.key" -out "$dir/ca.crt" -days 3650 \
        -subj "/O=logq/CN=logq cluster CA" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign
    echo "pki.sh: made the CA"
fi
chmod 0644 "$dir/ca.crt"

# leaf NAME CN EXTENSIONS: NAME.crt/.key signed by the CA (825 days)
leaf() {
    local name=$1 cn=$2 ext=$3
    [ -s "$dir/$name.key" ] || newkey "$dir/$name.key"
    printf '%b\n' "$ext" >"$dir/$name.ext"
    ossl req -new -key "$dir/$name.key" -out "$dir/$name.csr" -subj "/O=logq/CN=$cn"
    ossl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 825 -out "$dir/$name.crt" -extfile "$dir/$name.ext"
    rm -f "$dir/$name.csr" "$dir/$name.ext"
    chmod 0644 "$dir/$name.crt"
    echo "pki.sh: made $name.crt (CN $cn)"
}

if [ ! -s "$dir/collector.crt" ] || [ "$(cat "$dir/collector.sans" 2>/dev/null)" != "$sans" ]; then
    leaf collector collector "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=$sans"
    printf '%s\n' "$sans" >"$dir/collector.sans"
fi
for h in "$@"; do
    case $h in
        ''|*[!A-Za-z0-9._-]*) echo "pki.sh: bad host name '$h'" >&2; exit 2 ;;
    esac
    [ -s "$dir/shipper-$h.crt" ] ||
        leaf "shipper-$h" "$h" "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:$h"
done
