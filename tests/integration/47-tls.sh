#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 47-tls: TLS on both collector ports (SECURITY.md "TLS"). Certificates are
# made here with the openssl CLI into the temp dir: a CA, a collector
# certificate for 127.0.0.1, one naming another host, shipper client
# certificates for web1 and from a foreign CA. With --tls-cert/--tls-key
# and --tls-client-ca (and both token files, which keep working over TLS):
# logs flow end to end and are searchable with logq https://; a shipper
# sending as web2 with web1's certificate, one without a certificate, one
# trusting another CA and one speaking plain TCP send nothing (refusals
# counted: auth_failures, tls_failures); plain HTTP on the API port is
# refused (http_tls_failures) and logq says to use https://. A collector
# whose certificate names another host is refused by the shipper and by
# logq; logq https:// to a plain port says so. A key file the group can
# read is refused like a token file.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
it_init 47-tls

command -v openssl >/dev/null || fail "openssl CLI missing (provisioning/deps.sh)"
pki=$IT_TMP/pki
mkdir -p "$pki"
ossl() { openssl "$@" 2>>"$IT_TMP/openssl.log" >/dev/null; }
# ca NAME: a self-signed P-256 CA in $pki/NAME.{crt,key}
ca() {
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$pki/$1.key" -out "$pki/$1.crt" -days 2 -subj "/CN=$1" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign
}
# leaf CA NAME CN EXTENSIONS: $pki/NAME.{crt,key} signed by CA
leaf() {
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$pki/$2.key" -out "$pki/$2.csr" -subj "/CN=$3"
    printf '%s\n' "$4" >"$pki/$2.ext"
    ossl x509 -req -in "$pki/$2.csr" -CA "$pki/$1.crt" -CAkey "$pki/$1.key" \
        -CAcreateserial -days 2 -out "$pki/$2.crt" -extfile "$pki/$2.ext"
    chmod 600 "$pki/$2.key"
}
ca ca
ca rogue
leaf ca server collector "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
leaf ca other collector "subjectAltName=DNS:other.example
extendedKeyUsage=serverAuth"
leaf ca web1 web1 "extendedKeyUsage=clientAuth"
leaf rogue rweb rweb "extendedKeyUsage=clientAuth"
CA=$pki/ca.crt

log "a key file the group can read is refused; half a pair is refused"
mkdir -p "$IT_TMP/x.data"
cp "$pki/server.key" "$pki/open.key"
chmod 0640 "$pki/open.key"
rc=0
"$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen 127.0.0.1:0 \
    --http 127.0.0.1:0 --tls-cert "$pki/server.crt" --tls-key "$pki/open.key" \
    -t >"$IT_TMP/refused.out" 2>&1 || rc=$?
assert_eq 2 "$rc" "0640 --tls-key: exit status"
grep -q "mode 0640" "$IT_TMP/refused.out" || fail "0640 key: $(cat "$IT_TMP/refused.out")"
rc=0
"$BUILD/logq-collector" --data-dir "$IT_TMP/x.data" --listen 127.0.0.1:0 \
    --http 127.0.0.1:0 --tls-cert "$pki/server.crt" -t >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "--tls-cert without --tls-key: exit status"
mkdir -p "$IT_TMP/y.docker" "$IT_TMP/y.state"
rc=0
"$BUILD/logq-shipper" --collector 127.0.0.1:1 --docker-root "$IT_TMP/y.docker" \
    --state-dir "$IT_TMP/y.state" --hostname y --tls-cert "$pki/web1.crt" \
    --tls-key "$pki/web1.key" >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "shipper --tls-cert without --tls-ca: exit status"

enroll "$IT_TMP/hosts" web1 web2 nocert rogueca plain
make_token "$IT_TMP/t-read"
(umask 077; printf 'ops read %s\n' "$(cat "$IT_TMP/t-read")" >"$IT_TMP/http-tokens")
IT_HTTP_TOKEN=$(cat "$IT_TMP/t-read")
IT_TLS_CA=$CA
start_collector collector --tls-cert "$pki/server.crt" --tls-key "$pki/server.key" \
    --tls-client-ca "$CA" --token-file "$IT_TMP/hosts" \
    --http-token-file "$IT_TMP/http-tokens"
grep -q "tls=on+client-certs" "$IT_TMP/collector.log" || fail "no tls=on in the start line"

# every shipper's containers have their lines on disk before it starts
for h in web1 web2 nocert rogueca plain; do
    mkdir -p "$IT_TMP/$h.docker"
    python3 "$IT_DIR/fakedocker.py" --root "$IT_TMP/$h.docker" --host "$h" \
        --name app --count 300 --rate 100000 --stderr-every 7 \
        --manifest "$IT_TMP/manifest-$h.jsonl"
done
start_shipper web1 "$IT_TMP/web1.docker" --token-file "$IT_TMP/hosts.d/web1" --tls-ca "$CA" \
    --tls-cert "$pki/web1.crt" --tls-key "$pki/web1.key"
start_shipper web2 "$IT_TMP/web2.docker" --token-file "$IT_TMP/hosts.d/web2" --tls-ca "$CA" \
    --tls-cert "$pki/web1.crt" --tls-key "$pki/web1.key"
start_shipper nocert "$IT_TMP/nocert.docker" --token-file "$IT_TMP/hosts.d/nocert" --tls-ca "$CA"
start_shipper rogueca "$IT_TMP/rogueca.docker" --token-file "$IT_TMP/hosts.d/rogueca" \
    --tls-ca "$pki/rogue.crt" --tls-cert "$pki/rweb.crt" --tls-key "$pki/rweb.key"
start_shipper plain "$IT_TMP/plain.docker" --token-file "$IT_TMP/hosts.d/plain"

log "web1's lines are searchable with logq https://"
wait_all_found 30 "$IT_TMP/manifest-web1.jsonl"
lq --json -n 100000 --host web1 >"$IT_TMP/web1.jsonl" || fail "logq https --host web1"
python3 "$IT_DIR/check.py" verify "$IT_TMP/manifest-web1.jsonl" <"$IT_TMP/web1.jsonl" ||
    fail "web1's lines over TLS differ from what was written"

log "the refused shippers retry (backoff) and send nothing"
has() { grep -q -- "$2" "$IT_TMP/$1.log"; }
n_lines() { grep -c -- "$2" "$IT_TMP/$1.log" || true; }
at_least() { [ "$(n_lines "$1" "$2")" -ge "$3" ]; }   # LOG PATTERN N
wait_until 20 "web2 refused twice" at_least collector 'client certificate does not name the host peer=[^ ]* host=web2' 2
wait_until 20 "rogueca retried" at_least rogueca 'certificate verify failed' 2
wait_until 20 "nocert retried" at_least nocert 'connection closed' 2
wait_until 20 "plain retried" at_least plain 'a TLS port' 2
has rogueca "reason=TLS: certificate verify failed: [a-z]" ||
    fail "rogueca does not say why: $(grep 'connection closed' "$IT_TMP/rogueca.log" | head -2)"
has collector 'TLS handshake failed peer=127.0.0.1:[0-9]* error=' ||
    fail "no TLS handshake failure logged by the collector"
for h in web2 nocert rogueca plain; do
    rc=0
    lq --json -n 100000 --host "$h" >"$IT_TMP/none.jsonl" || rc=$?
    assert_eq 1 "$rc" "logq --host $h: exit status (no lines)"
    n=$(wc -l <"$IT_TMP/none.jsonl")
    assert_eq 0 "$n" "records stored for refused shipper $h"
done
assert_ge "$(health_counter auth_failures)" 2 "auth_failures (web2 with web1's certificate)"
assert_ge "$(health_counter tls_failures)" 4 "tls_failures (no certificate, plaintext, foreign CA)"

log "plain HTTP on the TLS API port is refused, counted, and logq says why"
rc=0
curl -fsS --max-time 5 "http://127.0.0.1:$CHTTP/health" >/dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "plain HTTP answered on the TLS port"
rc=0
LOGQ_TOKEN=$IT_HTTP_TOKEN "$BUILD/logq" --server "http://127.0.0.1:$CHTTP" hosts \
    >/dev/null 2>"$IT_TMP/lq.err" || rc=$?
assert_eq 2 "$rc" "logq http:// to the TLS port: exit status"
grep -q "use https://" "$IT_TMP/lq.err" || fail "logq http:// to TLS: $(cat "$IT_TMP/lq.err")"
assert_ge "$(health_counter http_tls_failures)" 2 "http_tls_failures"

log "logq: no CA, the token still required over TLS, --tls-ca and \$LOGQ_TLS_CA"
rc=0
LOGQ_TOKEN=$IT_HTTP_TOKEN LOGQ_TLS_CA='' "$BUILD/logq" --server "https://127.0.0.1:$CHTTP" \
    hosts >/dev/null 2>"$IT_TMP/lq.err" || rc=$?
assert_eq 2 "$rc" "logq https without the CA: exit status"
grep -q "certificate verify failed.*--tls-ca" "$IT_TMP/lq.err" ||
    fail "logq https without the CA: $(cat "$IT_TMP/lq.err")"
rc=0
LOGQ_TOKEN='' "$BUILD/logq" --server "https://127.0.0.1:$CHTTP" --tls-ca "$CA" hosts \
    >/dev/null 2>"$IT_TMP/lq.err" || rc=$?
assert_eq 2 "$rc" "logq https without a token: exit status"
grep -q "(401)" "$IT_TMP/lq.err" || fail "no 401 over TLS: $(cat "$IT_TMP/lq.err")"
LOGQ_TOKEN=$IT_HTTP_TOKEN "$BUILD/logq" --server "https://127.0.0.1:$CHTTP" \
    --tls-ca "$CA" hosts >"$IT_TMP/hosts.out" || fail "logq --tls-ca hosts"
grep -q "^web1 " "$IT_TMP/hosts.out" || fail "web1 not in logq hosts: $(cat "$IT_TMP/hosts.out")"
for h in web2 nocert rogueca plain; do
    grep -q "^$h " "$IT_TMP/hosts.out" && fail "$h listed by logq hosts"
done

for h in web2 nocert rogueca plain; do stop "$h"; done

log "a collector whose certificate names another host is refused"
# not start_collector: its /health check would (rightly) refuse the name
mkdir -p "$IT_TMP/other.data"
it_bg other "$BUILD/logq-collector" --listen 127.0.0.1:0 --http 127.0.0.1:0 \
    --data-dir "$IT_TMP/other.data" --port-file "$IT_TMP/other.ports" \
    --tls-cert "$pki/other.crt" --tls-key "$pki/other.key" --http-host other.example
IT_DAEMON[other]=1
wait_until 30 "the other collector's port file" test -s "$IT_TMP/other.ports"
read -r OTCP OHTTP <"$IT_TMP/other.ports"
CTCP=$OTCP
mkdir -p "$IT_TMP/wrongname.docker"
python3 "$IT_DIR/fakedocker.py" --root "$IT_TMP/wrongname.docker" --host wrongname \
    --name app --count 10 --manifest "$IT_TMP/wn.jsonl"
start_shipper wrongname "$IT_TMP/wrongname.docker" --tls-ca "$CA"
wait_until 20 "wrongname retried" at_least wrongname 'certificate verify failed' 2
has wrongname "IP address mismatch" ||
    fail "wrong name not said: $(grep 'connection closed' "$IT_TMP/wrongname.log" | head -2)"
rc=0
"$BUILD/logq" --server "https://127.0.0.1:$OHTTP" --tls-ca "$CA" hosts \
    >/dev/null 2>"$IT_TMP/lq.err" || rc=$?
assert_eq 2 "$rc" "logq https to a wrongly named collector: exit status"
grep -q "IP address mismatch" "$IT_TMP/lq.err" || fail "logq wrong name: $(cat "$IT_TMP/lq.err")"
stop wrongname
n=$(curl -fsS --cacert "$CA" --resolve "other.example:$OHTTP:127.0.0.1" \
    "https://other.example:$OHTTP/api/v1/hosts" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
assert_eq 0 "$n" "hosts on the wrongly named collector"

log "logq https:// to a plain port says so"
IT_TLS_CA=
IT_HTTP_TOKEN=
start_collector plainc
rc=0
"$BUILD/logq" --server "https://127.0.0.1:$CHTTP" --tls-ca "$CA" hosts \
    >/dev/null 2>"$IT_TMP/lq.err" || rc=$?
assert_eq 2 "$rc" "logq https to a plain port: exit status"
grep -q "http:// port" "$IT_TMP/lq.err" || fail "logq https to plain: $(cat "$IT_TMP/lq.err")"

it_pass
