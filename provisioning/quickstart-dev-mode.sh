#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Starts the three-node logq lab: builds the images, boots node1..node3
# from the logq-flatcar box, provisions them (ansible/site.yml: collector,
# Redis and Grafana on node1, a shipper and sample apps on every node),
# waits until logs from every node reached the collector and prints logq
# commands to try.
set -euo pipefail

QS_NAME=quickstart-dev-mode.sh

usage() {
    cat <<USAGE
Usage: provisioning/$QS_NAME [--skip-build] [--no-sample] [-h|--help]

Boots and provisions node1..node3 (vagrant up --provision), then waits for
sample data from all nodes. Run provisioning/quickstart-init-box.sh once
before (it builds the '\${LOGQ_BOX:-logq-flatcar}' box).

  --skip-build  do not rebuild the images (use provisioning/.cache/images)
  --no-sample   do not start the sample apps (skips the 'sample' tag)
  -h, --help    this text

Afterwards: API https://127.0.0.1:7080 (CA provisioning/.secrets/pki/ca.crt), Grafana http://127.0.0.1:3000 (user
admin, password in provisioning/.secrets/grafana-admin). Quick round trip
after a code change: provisioning/refresh-dev-mode.sh.
USAGE
}

# shellcheck source-path=SCRIPTDIR source=quickstart-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/quickstart-common.sh"

skip_build=0
no_sample=0
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-build) skip_build=1 ;;
        --no-sample) no_sample=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; qs_die "unknown argument '$1'" ;;
    esac
    shift
done

qs_check_prereqs
[ "$skip_build" -eq 1 ] || qs_check_build_prereqs
qs_box_present "$LOGQ_BOX" \
    || qs_die "the box '$LOGQ_BOX' is missing: run provisioning/quickstart-init-box.sh first"

[ "$skip_build" -eq 1 ] || qs_build_images

if [ "$no_sample" -eq 1 ]; then
    export LOGQ_ANSIBLE_SKIP_TAGS=sample
fi
qs_log "booting and provisioning node1..node3"
qs_vagrant up --provision

api=$(qs_api_url)
qs_wait_api "$api"

if [ "$no_sample" -eq 0 ]; then
    qs_log "waiting for sample logs from node1, node2 and node3"
    seen=''
    # The API asks for a token (collector --http-token-file, Ansible token role).
    auth="Authorization: Bearer $(cat "$QS_PROV_DIR/.secrets/http-token-logq" 2>/dev/null)"
    for i in $(seq 1 60); do
        seen=$(curl -fsS --max-time 3 --cacert "$QS_CA" -H "$auth" "$api/api/v1/hosts" 2>/dev/null \
            | grep -o '"host": *"[^"]*"' | sort -u | wc -l) || seen=0
        [ "${seen:-0}" -ge 3 ] && break
        [ "$i" -lt 60 ] && sleep 2
    done
    [ "${seen:-0}" -ge 3 ] || qs_die "only ${seen:-0} of 3 nodes shipped logs after 2 minutes; look at: vagrant ssh node2 -c 'journalctl -u logq-shipper'"
fi

grafana_port=$(qs_vagrant port node1 --guest 3000 2>/dev/null | tr -dc '0-9') || true
cat <<DONE

logq lab is up.
  API      $api        (GET /health, /api/v1/logs, see collector/API.md)
  Grafana  http://127.0.0.1:${grafana_port:-3000}   user admin, password: cat provisioning/.secrets/grafana-admin
  Tokens   provisioning/.secrets/shippers/NODE (one per shipper; the collector lists them all)
  API token provisioning/.secrets/http-token-logq (bin/logq: LOGQ_TOKEN or --token-file)

Try (from the repository root, after 'make'):
  export LOGQ_SERVER=$api
  export LOGQ_TOKEN=\$(cat provisioning/.secrets/http-token-logq)
  export LOGQ_TLS_CA=provisioning/.secrets/pki/ca.crt
  bin/logq hosts
  bin/logq containers
  bin/logq search -n 20 error
  bin/logq search --host node2 --container web --since 15m
  bin/logq search -f --host node3          # follow, Ctrl-C to stop

After a code change: provisioning/refresh-dev-mode.sh
Stop: (cd provisioning && vagrant halt)   Remove: (cd provisioning && vagrant destroy -f)
DONE
