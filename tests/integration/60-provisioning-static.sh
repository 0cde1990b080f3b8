#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 60-provisioning-static: the real-deployment provisioning (provisioning/),
# checked without VirtualBox, VMs or a registry:
#   - yamllint (provisioning/.yamllint, strict) and ansible-lint (production
#     profile, provisioning/ansible/.ansible-lint)
#   - ansible-playbook --syntax-check of every playbook with the inventory
#   - shellcheck of the provisioning scripts
#   - vagrant validate --ignore-provider
#   - every role template rendered by Ansible itself for every node of the
#     inventory (site.yml --tags render, local connection, files under a
#     temp dir; undefined variables are errors), then: the right units on
#     the right nodes, shippers pointed at the [collector] node's address
#     taken from the inventory (and from a second inventory that moves the
#     collector to node2), one 0600 shipper token per node (all
#     different) and the collector's list enrolling each, the pki role's CA and
#     certificates (client certificate per node naming it, the collector's
#     naming its address, keys 0600 with the right owners, units and the
#     Grafana datasource using them), valid YAML, systemd-analyze
#     verify of the units, nothing changed on a second render run; and a
#     template with an undefined variable must fail to render.
# Needs the Debian packages ansible-core, ansible-lint, yamllint, vagrant
# and the shellcheck package (systemd for systemd-analyze); a missing one is
# a failure with the apt-get line to run, never a silent skip.
set -Eeuo pipefail

name=60-provisioning-static
trap 'echo "FAIL: $name: unexpected error at line $LINENO"' ERR
repo=$(cd "$(dirname "$0")/../.." && pwd)
prov=$repo/provisioning
ans=$prov/ansible
tmp=$(mktemp -d "${TMPDIR:-/tmp}/logq-prov.XXXXXX")
lint_pid=
cleanup() {
    if [ -n "$lint_pid" ]; then
        kill "$lint_pid" 2>/dev/null || true
        wait "$lint_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
checks=0

fail() {
    echo "FAIL: $name: $*"
    exit 1
}
ok() {
    checks=$((checks + 1))
    echo "ok   $*"
}
# run [-C DIR] LABEL CMD...: runs CMD (in DIR) with its output in a file,
# shown on failure.
run() {
    local dir=. label
    if [ "$1" = -C ]; then
        dir=$2
        shift 2
    fi
    label=$1
    shift
    if ! (cd "$dir" && "$@") >"$tmp/out" 2>&1; then
        cat "$tmp/out"
        fail "$label"
    fi
    ok "$label"
}

# Ansible's own Python (python3-yaml is there; a pyenv python3 may lack it).
py=/usr/bin/python3
[ -x "$py" ] || py=python3

missing=()
for tool in ansible-playbook ansible-inventory ansible-lint yamllint shellcheck \
    vagrant systemd-analyze; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    fail "missing ${missing[*]}: apt-get install ansible-core ansible-lint yamllint shellcheck vagrant systemd"
fi

# ---- linters
run "yamllint --strict" yamllint --strict -c "$prov/.yamllint" "$prov"

mapfile -t scripts < <(find "$prov" \( -path "$prov/images" -o -path "$prov/demo" \
    -o -path "$prov/.cache" -o -path "$prov/.vagrant" \) -prune \
    -o -type f -name '*.sh' -print | sort)
scripts+=("$0")
run "shellcheck (${#scripts[@]} scripts)" shellcheck -x "${scripts[@]}"

export ANSIBLE_CONFIG=$ans/ansible.cfg
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_LOCAL_TEMP=$tmp/ansible-local
run -C "$ans" "ansible-playbook --syntax-check" \
    ansible-playbook -i inventory/vagrant.ini --syntax-check site.yml box.yml export-images.yml
# ansible-lint is the slowest check: it runs while the templates render.
(cd "$ans" && exec ansible-lint --nocolor -q) >"$tmp/lint.out" 2>&1 &
lint_pid=$!

# ---- images: every image that runs a program (has an ENTRYPOINT) ends with
# a non-root USER; the shipper's is uid 10002 with its one file capability
# and no setuid/setgid file left (the real run is 80-demo's check).
for df in "$prov"/images/Dockerfile.*; do
    grep -q '^ENTRYPOINT' "$df" || continue
    last_from=$(grep -n '^FROM' "$df" | tail -n 1 | cut -d: -f1)
    user=$(awk -v f="$last_from" 'NR > f && $1 == "USER" {u = $2} END {print u}' "$df")
    case $user in
        '' | root | 0 | 0:*) fail "$(basename "$df"): the final stage runs as '${user:-root}', not a non-root USER" ;;
    esac
done
ok "every daemon image ends with a non-root USER"
dfs=$prov/images/Dockerfile.shipper
if ! grep -q '^USER logq-shipper$' "$dfs" || ! grep -q 'useradd --system --uid 10002 ' "$dfs"; then
    fail "Dockerfile.shipper: not user logq-shipper, uid 10002"
fi
grep -q 'setcap cap_dac_read_search=ep /usr/local/bin/logq-shipper' "$dfs" ||
    fail "Dockerfile.shipper: logq-shipper lacks its file capability"
grep -q 'find / -xdev -perm /6000 -type f -exec chmod ug-s' "$dfs" ||
    fail "Dockerfile.shipper: setuid/setgid bits are not removed"
grep -q 'usermod -u 10003 redis' "$prov/images/Dockerfile.redis" ||
    fail "Dockerfile.redis: user redis has no fixed uid 10003"
ok "the shipper image: uid 10002, CAP_DAC_READ_SEARCH as a file capability, no setuid files"

# ---- Vagrantfile
run -C "$prov" "vagrant validate --ignore-provider" \
    env VAGRANT_DOTFILE_PATH="$tmp/vagrant-dot" VAGRANT_CHECKPOINT_DISABLE=1 \
    vagrant validate --ignore-provider

# vagrant validate does not look for the files the provisioners name.
mapfile -t vfiles < <(sed -nE 's/^ *ansible\.(playbook|config_file) *= *"([^"]+)".*/\2/p' \
    "$prov/Vagrantfile" | sort -u)
[ ${#vfiles[@]} -ge 3 ] || fail "Vagrantfile: expected playbooks and config_file, found '${vfiles[*]}'"
for f in "${vfiles[@]}"; do
    [ -f "$prov/$f" ] || fail "Vagrantfile names $f, which does not exist"
done
ok "files named by the Vagrantfile's provisioners exist (${vfiles[*]})"

# ---- template rendering
# Runtime facts the docker_images role records on a real node.
cat >"$tmp/facts.yml" <<'EOF'
logq_image_ids:
  collector: sha256:0000000000000000000000000000000000000000000000000000000000000001
  shipper: sha256:0000000000000000000000000000000000000000000000000000000000000002
  redis: sha256:0000000000000000000000000000000000000000000000000000000000000003
  sample-web: sha256:0000000000000000000000000000000000000000000000000000000000000004
  sample-worker: sha256:0000000000000000000000000000000000000000000000000000000000000005
  grafana: sha256:0000000000000000000000000000000000000000000000000000000000000006
EOF

# inv_load INVENTORY: one ansible-inventory call; sets inv_nodes (the
# [nodes] hosts), inv_collector (first [collector] host) and inv_addr (its
# logq_node_ip).
inv_load() {
    local dump
    dump=$(ansible-inventory -i "$1" --list | "$py" -c '
import json, sys
inv = json.load(sys.stdin)
nodes = inv.get("nodes", {}).get("hosts", [])
coll = (inv.get("collector", {}).get("hosts") or [""])[0]
addr = inv.get("_meta", {}).get("hostvars", {}).get(coll, {}).get("logq_node_ip", "")
print(" ".join(nodes)); print(coll); print(addr)') || return 1
    inv_nodes=$(sed -n 1p <<<"$dump")
    inv_collector=$(sed -n 2p <<<"$dump")
    inv_addr=$(sed -n 3p <<<"$dump")
    if [ -z "$inv_nodes" ] || [ -z "$inv_collector" ] || [ -z "$inv_addr" ]; then
        fail "$1: no [nodes], no [collector] host or no logq_node_ip for it"
    fi
}

# render INVENTORY OUTDIR LOG [ARGS...]: renders every node's files under
# OUTDIR/HOST (after inv_load INVENTORY).
render() {
    local inv=$1 out=$2 log=$3 h
    shift 3
    for h in $inv_nodes; do
        mkdir -p "$out/$h/etc/systemd/system"
    done
    (cd "$ans" && ansible-playbook -i "$inv" site.yml "$@" \
        --tags render --skip-tags always \
        -e ansible_connection=local -e ansible_become=false \
        -e "ansible_python_interpreter=$py" \
        -e logq_manage_services=false \
        -e "logq_root_prefix=$out/{{ inventory_hostname }}" \
        -e "logq_secrets_dir=$tmp/secrets" \
        -e "@$tmp/facts.yml") >"$log" 2>&1
}

# check_tls ROOT HOST [COLLECTOR_ADDR]: the pki role's files on HOST (SECURITY.md
# "TLS"): the cluster CA, the shipper's client certificate (CN HOST, signed
# by the CA, key the shipper uid 10002's, 0600) and the shipper unit using them; on the
# collector node its certificate naming COLLECTOR_ADDR, its key uid 10001's.
check_tls() {
    local root=$1 h=$2 caddr=${3:-} tls=$1/etc/logq/tls
    cmp -s "$tls/ca.crt" "$tmp/secrets/pki/ca.crt" || fail "$h: CA differs from the controller's"
    openssl verify -CAfile "$tls/ca.crt" "$tls/shipper.crt" >/dev/null 2>&1 ||
        fail "$h: the shipper certificate is not signed by the CA"
    openssl x509 -in "$tls/shipper.crt" -noout -subject | grep -q "CN = $h\$" ||
        fail "$h: the shipper certificate does not name $h"
    [ "$(stat -c %a:%u "$tls/shipper.key")" = 600:10002 ] || fail "$h: shipper.key not uid 10002's 0600"
    grep -q -- '--tls-ca /run/secrets/logq-ca.crt ' "$root/etc/systemd/system/logq-shipper.service" ||
        fail "$h: the shipper unit has no --tls-ca"
    grep -q -- '--tls-cert /run/secrets/logq-tls.crt ' "$root/etc/systemd/system/logq-shipper.service" ||
        fail "$h: the shipper unit has no --tls-cert"
    [ -n "$caddr" ] || return 0
    openssl verify -CAfile "$tls/ca.crt" "$tls/collector.crt" >/dev/null 2>&1 ||
        fail "$h: the collector certificate is not signed by the CA"
    openssl x509 -in "$tls/collector.crt" -noout -ext subjectAltName |
        grep -q "IP Address:$caddr," || fail "$h: the collector certificate does not name $caddr"
    [ "$(stat -c %a:%u "$tls/collector.key")" = 600:10001 ] || fail "$h: collector.key not uid 10001's 0600"
    grep -q -- '--tls-client-ca /run/secrets/logq-ca.crt ' \
        "$root/etc/systemd/system/logq-collector.service" ||
        fail "$h: the collector unit has no --tls-client-ca"
}

# check_tree OUTDIR: the rendered files agree with the inventory (inv_load).
check_tree() {
    local out=$1 collector=$inv_collector addr=$inv_addr h unit f
    for h in $inv_nodes; do
        unit=$out/$h/etc/systemd/system
        for f in logq-shipper logq-sample-web logq-sample-worker; do
            [ -s "$unit/$f.service" ] || fail "$h: $f.service not rendered"
        done
        for f in logq-collector logq-redis logq-grafana; do
            if [ "$h" = "$collector" ]; then
                [ -s "$unit/$f.service" ] || fail "$h (collector): $f.service not rendered"
            elif [ -e "$unit/$f.service" ]; then
                fail "$h is not the collector but got $f.service"
            fi
        done
        grep -q -- "--collector $addr:7070 " "$unit/logq-shipper.service" \
            || fail "$h: shipper not pointed at $collector ($addr:7070)"
        grep -q -- "--hostname $h " "$unit/logq-shipper.service" \
            || fail "$h: shipper --hostname is not $h"
        cmp -s "$out/$h/etc/logq/token" "$tmp/secrets/shippers/$h" \
            || fail "$h: token differs from the controller's shippers/$h"
        [ "$(stat -c %a "$out/$h/etc/logq/token")" = 600 ] || fail "$h: token not mode 0600"
        # The shipper container runs as uid 10002 (Dockerfile.shipper) with
        # CAP_DAC_READ_SEARCH only: its token and state are that uid's.
        [ "$(stat -c %u:%a "$out/$h/etc/logq/token")" = 10002:600 ] ||
            fail "$h: the shipper's token is not uid 10002's, 0600"
        [ "$(stat -c %u:%a "$out/$h/var/lib/logq/shipper")" = 10002:700 ] ||
            fail "$h: the shipper state directory is not uid 10002's, 0700"
        grep -q -- '--cap-drop ALL --cap-add DAC_READ_SEARCH \\$' "$unit/logq-shipper.service" ||
            fail "$h: the shipper unit does not drop every capability but DAC_READ_SEARCH"
        # every container a unit runs drops every capability (the shipper
        # then adds back DAC_READ_SEARCH only, checked above and below)
        for u in "$unit"/*.service; do
            if grep -q -- ' run --rm' "$u" && ! grep -q -- '--cap-drop ALL' "$u"; then
                fail "$h: $(basename "$u") runs a container without --cap-drop ALL"
            fi
        done
        if grep -hE -- '--privileged|--user[ =](root|0)\b|--cap-add' "$unit"/*.service |
            grep -v -- '--cap-drop ALL --cap-add DAC_READ_SEARCH \\$' >"$tmp/priv"; then
            cat "$tmp/priv"
            fail "$h: a unit runs privileged, as root or with an added capability"
        fi
        check_tls "$out/$h" "$h" "$([ "$h" = "$collector" ] && echo "$addr")"
        [ "$(stat -c %a "$tmp/secrets/shippers/$h")" = 600 ] ||
            fail "controller shippers/$h not mode 0600"
        [ "$(tr -d '\n' <"$tmp/secrets/shippers/$h" | wc -c)" -ge 32 ] ||
            fail "$h: token shorter than 32 characters"
        # the collector enrolls the node with exactly its own token
        grep -qx "$h $(cat "$tmp/secrets/shippers/$h")" \
            "$out/$collector/etc/logq/shipper-tokens" ||
            fail "the collector's shipper-tokens lack $h with its own token"
    done
    # one token per node: no two nodes share one, no extra hosts
    [ "$(for f in "$tmp/secrets/shippers/"*; do tr -d '\n' <"$f"; echo; done |
        sort -u | wc -l)" = "$(wc -w <<<"$inv_nodes")" ] ||
        fail "nodes share a shipper token"
    [ "$(grep -vc '^#' "$out/$collector/etc/logq/shipper-tokens")" = "$(wc -w <<<"$inv_nodes")" ] ||
        fail "shipper-tokens: not one line per node"
    [ "$(stat -c %u:%a "$out/$collector/var/lib/logq/redis")" = 10003:700 ] ||
        fail "$collector: the Redis data directory is not uid 10003's (the image's redis), 0700"
    if grep -rlE '\{\{|\{%|\}\}' "$out" >"$tmp/leftover"; then
        cat "$tmp/leftover"
        fail "unrendered Jinja left in the files above"
    fi
}

# 1. The lab inventory.
out=$tmp/render-vagrant
inv=$ans/inventory/vagrant.ini
inv_load "$inv"
render "$inv" "$out" "$tmp/render1.log" || { cat "$tmp/render1.log"; fail "rendering templates (vagrant.ini)"; }
check_tree "$out"
ok "templates render for every node (vagrant.ini)"

[ "$(stat -c %a "$tmp/secrets")" = 700 ] || fail "controller secrets dir not mode 0700"
[ "$(stat -c %a "$tmp/secrets/shippers")" = 700 ] || fail "controller shippers dir not mode 0700"
[ ! -e "$tmp/secrets/token" ] || fail "a cluster-wide token was created"
ok "one shipper token per node, 0600 on the nodes and the controller, enrolled on the collector"

collector=$inv_collector
gdir=$out/$collector/var/lib/logq/grafana/provisioning
"$py" - "$gdir/datasources/logq.yml" "$gdir/dashboards/logq.yml" \
    "$tmp/secrets/http-token-grafana" "$tmp/secrets/pki/ca.crt" >"$tmp/out" 2>&1 <<'EOF' || { cat "$tmp/out"; fail "Grafana provisioning files"; }
import sys, yaml
ds = yaml.safe_load(open(sys.argv[1]))["datasources"][0]
assert ds["type"] == "simpod-json-datasource", ds
assert ds["url"] == "https://127.0.0.1:7080/grafana", ds["url"]
assert ds["jsonData"]["tlsAuthWithCACert"] is True, ds
assert ds["secureJsonData"]["tlsCACert"].strip() == open(sys.argv[4]).read().strip(), \
    "the datasource does not trust the cluster CA"
token = open(sys.argv[3]).read().strip()
assert len(token) >= 32, "grafana's API token is short"
assert ds["jsonData"]["httpHeaderName1"] == "Authorization", ds
assert ds["secureJsonData"]["httpHeaderValue1"] == "Bearer " + token, \
    "the datasource does not send the grafana token"
prov = yaml.safe_load(open(sys.argv[2]))["providers"][0]
assert prov["options"]["path"] == "/var/lib/grafana/dashboards", prov
EOF
grep -q -- '--http 0.0.0.0:7080 ' "$out/$collector/etc/systemd/system/logq-collector.service" \
    || fail "inventory host variable logq_collector_http not applied to the collector"
# The API listens beyond loopback there: the collector must get its token
# file (it refuses to start otherwise), 0600, holding grafana's token.
grep -q -- '--http-token-file /run/secrets/logq-http-tokens ' \
    "$out/$collector/etc/systemd/system/logq-collector.service" \
    || fail "the collector unit has no --http-token-file"
ht=$out/$collector/etc/logq/http-tokens
[ "$(stat -c %a "$ht")" = 600 ] || fail "http-tokens not mode 0600"
# The collector container runs as uid 10001 with --cap-drop ALL: its token
# files and data directory must be that uid's, or it cannot start.
for f in "$ht" "$out/$collector/etc/logq/shipper-tokens" \
    "$out/$collector/var/lib/logq/collector"; do
    [ "$(stat -c %u "$f")" = 10001 ] || fail "$f not owned by uid 10001"
done
[ "$(stat -c %a "$out/$collector/etc/logq/shipper-tokens")" = 600 ] ||
    fail "shipper-tokens not mode 0600"
grep -q -- '--volume /etc/logq/shipper-tokens:/run/secrets/logq-token:ro' \
    "$out/$collector/etc/systemd/system/logq-collector.service" ||
    fail "the collector unit does not mount its list of shipper tokens"
grep -qx "grafana read $(cat "$tmp/secrets/http-token-grafana")" "$ht" \
    || fail "http-tokens lacks grafana's token"
grep -qx "logq read $(cat "$tmp/secrets/http-token-logq")" "$ht" \
    || fail "http-tokens lacks the logq token"
for f in http-token-grafana http-token-logq; do
    [ "$(stat -c %a "$tmp/secrets/$f")" = 600 ] || fail "controller $f not mode 0600"
done
ok "Grafana datasource and dashboards provider are valid YAML pointing at the API"

mapfile -t units < <(find "$out" -name '*.service' | sort)
[ ${#units[@]} -ge 6 ] || fail "expected at least 6 rendered units, found ${#units[@]}"
(cd "$tmp" && systemd-analyze verify "${units[@]}") >"$tmp/verify" 2>&1 || true
# Without Docker installed here, only its absence may be reported.
if [ ! -x /usr/bin/docker ]; then
    grep -v '/usr/bin/docker' "$tmp/verify" >"$tmp/verify2" || true
    mv "$tmp/verify2" "$tmp/verify"
fi
if [ -s "$tmp/verify" ]; then
    cat "$tmp/verify"
    fail "systemd-analyze verify reported problems in the rendered units"
fi
ok "systemd-analyze verify: ${#units[@]} units clean"

# The collector node runs every role: enough for the idempotence check.
render "$inv" "$out" "$tmp/render2.log" --limit "$collector" \
    || { cat "$tmp/render2.log"; fail "second render run"; }
if grep -qE 'changed=[1-9]' "$tmp/render2.log"; then
    cat "$tmp/render2.log"
    fail "second render run changed files (not idempotent)"
fi
grep -qE "^$collector .*ok=[1-9]" "$tmp/render2.log" || { cat "$tmp/render2.log"; fail "second render run did nothing"; }
ok "second render run changes nothing"

# 2. Another topology: the collector moves to node2, other addresses.
mkdir -p "$tmp/alt"
cat >"$tmp/alt/hosts.ini" <<'EOF'
[collector]
node2

[nodes]
node1 logq_node_ip=10.77.0.21
node2 logq_node_ip=10.77.0.22
node3 logq_node_ip=10.77.0.23
EOF
out=$tmp/render-alt
inv_load "$tmp/alt/hosts.ini"
[ "$inv_collector $inv_addr" = "node2 10.77.0.22" ] || fail "inventory parsing: '$inv_collector $inv_addr'"
render "$tmp/alt/hosts.ini" "$out" "$tmp/render3.log" \
    || { cat "$tmp/render3.log"; fail "rendering templates (other inventory)"; }
check_tree "$out"
ok "collector address and role placement follow the inventory (collector on node2)"

# 3. The check can fail: an undefined variable is an error, not "".
mkdir -p "$tmp/neg"
printf 'ok={{ logq_image_tag }} bad={{ logq_no_such_variable }}\n' >"$tmp/neg/t.j2"
# The template lookup renders in-process with the same templar and settings
# as the template module (cheaper than another module run).
if (cd "$ans" && ansible node1 -i "$inv" -m ansible.builtin.debug \
        -a "msg={{ lookup('ansible.builtin.template', '$tmp/neg/t.j2') }}") \
        >"$tmp/neg/log" 2>&1; then
    cat "$tmp/neg/log"
    fail "a template with an undefined variable rendered"
fi
grep -q "logq_no_such_variable" "$tmp/neg/log" || { cat "$tmp/neg/log"; fail "undefined variable not reported"; }
ok "an undefined variable fails the rendering"

lint_rc=0
wait "$lint_pid" || lint_rc=$?
lint_pid=
if [ "$lint_rc" -ne 0 ]; then
    cat "$tmp/lint.out"
    fail "ansible-lint (production profile)"
fi
ok "ansible-lint (production profile)"

echo "PASS: $name ($checks checks)"
