# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Helpers shared by quickstart-init-box.sh, quickstart-dev-mode.sh and
# refresh-dev-mode.sh. Sourced, never run; the caller sets QS_NAME and
# defines usage() first.

QS_PROV_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QS_REPO_DIR=$(cd "$QS_PROV_DIR/.." && pwd)
QS_ANSIBLE_DIR=$QS_PROV_DIR/ansible
# Read by the Vagrantfile too.
export LOGQ_BOX=${LOGQ_BOX:-logq-flatcar}
export LOGQ_BASE_BOX=${LOGQ_BASE_BOX:-flatcar-stable}
export LOGQ_IMAGE_TAG=${LOGQ_IMAGE_TAG:-dev}

qs_log() { printf '==> %s\n' "$*" >&2; }

qs_die() {
    printf '%s: error: %s\n' "$QS_NAME" "$*" >&2
    exit 1
}

# qs_need COMMAND HINT: fails with HINT when COMMAND is not on PATH.
qs_need() {
    command -v "$1" >/dev/null 2>&1 || qs_die "'$1' not found. $2"
}

qs_check_prereqs() {
    qs_need vagrant "Install Vagrant (Debian: apt-get install vagrant) and run again."
    qs_need VBoxManage "Install VirtualBox: the Vagrantfile uses the virtualbox provider."
    qs_need ansible-playbook "Install Ansible (Debian: apt-get install ansible-core)."
    qs_need curl "Install curl (Debian: apt-get install curl)."
}

qs_check_build_prereqs() {
    qs_need make "Install make (Debian: apt-get install build-essential)."
    qs_need docker "Install Docker (Debian: apt-get install docker.io): images are built locally."
    docker info >/dev/null 2>&1 \
        || qs_die "cannot talk to Docker (is dockerd running, may this user use it?)"
}

qs_vagrant() { (cd "$QS_PROV_DIR" && vagrant "$@"); }

qs_playbook() { (cd "$QS_ANSIBLE_DIR" && ansible-playbook "$@"); }

qs_box_present() {
    qs_vagrant box list --machine-readable 2>/dev/null \
        | awk -F, -v box="$1" '$3 == "box-name" && $4 == box { found = 1 } END { exit !found }'
}

# Builds the programs and images (make images, tag $LOGQ_IMAGE_TAG), then
# saves changed images as tarballs for the docker_images role.
qs_build_images() {
    qs_log "building logq and its images (tag $LOGQ_IMAGE_TAG)"
    make -C "$QS_REPO_DIR" images
    qs_log "saving image tarballs to provisioning/.cache/images"
    qs_playbook export-images.yml
}

# qs_machine_state NAME: prints Vagrant's state of a machine (running,
# poweroff, not_created, ...).
qs_machine_state() {
    qs_vagrant status "$1" --machine-readable \
        | awk -F, '$3 == "state" { print $4 }' | tail -n 1
}

# qs_api_url: the collector API as reachable from this machine (Vagrant may
# have moved the forwarded port). HTTPS: the collector's certificate (pki
# role) names 127.0.0.1; QS_CA is the cluster CA that signed it.
QS_CA=$QS_PROV_DIR/.secrets/pki/ca.crt
qs_api_url() {
    local port
    port=$(qs_vagrant port node1 --guest 7080 2>/dev/null | tr -dc '0-9') || true
    printf 'https://127.0.0.1:%s' "${port:-7080}"
}

# qs_wait_api URL: waits (bounded) until the collector answers /health.
qs_wait_api() {
    local url=$1 i
    qs_log "waiting for the collector at $url"
    for i in $(seq 1 60); do
        if curl -fsS --max-time 3 --cacert "$QS_CA" "$url/health" >/dev/null 2>&1; then
            return 0
        fi
        [ "$i" -lt 60 ] && sleep 2
    done
    qs_die "the collector did not answer at $url/health after 2 minutes; look at: vagrant ssh node1 -c 'journalctl -u logq-collector'"
}
