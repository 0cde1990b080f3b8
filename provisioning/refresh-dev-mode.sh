#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Quick round trip after a code change: rebuilds the images and re-runs only
# the logq roles (tags) on the running lab VMs. The docker_images role loads
# only images whose id changed, and a changed image restarts its unit.
set -euo pipefail

QS_NAME=refresh-dev-mode.sh

usage() {
    cat <<USAGE
Usage: provisioning/$QS_NAME [--skip-build] [--tags TAGS] [-h|--help]

Rebuilds the images and re-provisions the running node1..node3 with the
Ansible tags TAGS (default: logq,sample: images, token, collector, shipper,
sample apps). Needs the lab started by provisioning/quickstart-dev-mode.sh.

  --skip-build  do not rebuild the images
  --tags TAGS   comma-separated Ansible tags (site.yml lists them)
  -h, --help    this text
USAGE
}

# shellcheck source-path=SCRIPTDIR source=quickstart-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/quickstart-common.sh"

skip_build=0
tags=logq,sample
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-build) skip_build=1 ;;
        --tags)
            [ $# -ge 2 ] || qs_die "--tags needs a value"
            tags=$2
            shift
            ;;
        --tags=*) tags=${1#--tags=} ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; qs_die "unknown argument '$1'" ;;
    esac
    shift
done
case "$tags" in
    ''|*[!a-z0-9_,]*) qs_die "bad --tags '$tags' (comma-separated tag names)" ;;
esac

qs_check_prereqs
[ "$skip_build" -eq 1 ] || qs_check_build_prereqs
for node in node1 node2 node3; do
    state=$(qs_machine_state "$node")
    [ "$state" = running ] \
        || qs_die "$node is '${state:-unknown}', not running: start the lab with provisioning/quickstart-dev-mode.sh"
done

[ "$skip_build" -eq 1 ] || qs_build_images

qs_log "re-provisioning node1..node3 with tags $tags"
LOGQ_ANSIBLE_TAGS=$tags qs_vagrant provision node3

api=$(qs_api_url)
qs_wait_api "$api"
qs_log "done: collector answers at $api"
