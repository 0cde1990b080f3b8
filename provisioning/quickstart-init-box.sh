#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the logq-flatcar Vagrant base box, once: builds the logq images,
# boots one Flatcar VM ("builder"), gives it Python, pre-loads every image,
# packages it and adds it to Vagrant as logq-flatcar. The dev-mode VMs boot
# from that box, so they start with everything already loaded.
set -euo pipefail

QS_NAME=quickstart-init-box.sh

usage() {
    cat <<USAGE
Usage: provisioning/$QS_NAME [--skip-build] [--keep-vm] [-h|--help]

Builds the Vagrant box '\${LOGQ_BOX:-logq-flatcar}' from the Flatcar box
'\${LOGQ_BASE_BOX:-flatcar-stable}', which must have been added first, e.g.:
  vagrant box add flatcar-stable \\
    https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant.json

Steps: make images; save the images as tarballs (provisioning/.cache/images);
vagrant up builder (bootstrap Python, docker load); vagrant package;
vagrant box add --force; vagrant destroy builder.

  --skip-build  reuse the tarballs already in provisioning/.cache/images
  --keep-vm     keep the builder VM afterwards (default: destroy it)
  -h, --help    this text

Needs: vagrant, VirtualBox (VBoxManage), ansible-playbook, curl, and for
the build make and a working docker. Environment: LOGQ_IMAGE_TAG (default
dev), LOGQ_BOX, LOGQ_BASE_BOX.
USAGE
}

# shellcheck source-path=SCRIPTDIR source=quickstart-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/quickstart-common.sh"

skip_build=0
keep_vm=0
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-build) skip_build=1 ;;
        --keep-vm) keep_vm=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; qs_die "unknown argument '$1'" ;;
    esac
    shift
done

qs_check_prereqs
[ "$skip_build" -eq 1 ] || qs_check_build_prereqs
qs_box_present "$LOGQ_BASE_BOX" || qs_die "the base box '$LOGQ_BASE_BOX' is missing. Add it with:
  vagrant box add $LOGQ_BASE_BOX https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant.json"

if [ "$skip_build" -eq 0 ]; then
    qs_build_images
elif [ -z "$(ls -A "$QS_PROV_DIR/.cache/images" 2>/dev/null)" ]; then
    qs_die "--skip-build: no tarballs in provisioning/.cache/images (run without --skip-build)"
fi

box_file=$QS_PROV_DIR/.cache/$LOGQ_BOX.box
on_error() {
    printf '%s: failed; the builder VM is left for inspection (vagrant ssh builder),\n' "$QS_NAME" >&2
    printf 'remove it with: (cd provisioning && vagrant destroy -f builder)\n' >&2
}
trap on_error ERR

if [ "$(qs_machine_state builder)" != not_created ]; then
    qs_log "removing the previous builder VM"
    qs_vagrant destroy -f builder
fi
qs_log "booting the builder VM from $LOGQ_BASE_BOX and provisioning it (ansible/box.yml)"
qs_vagrant up builder

qs_log "packaging the builder VM as $box_file"
mkdir -p "$(dirname "$box_file")"
rm -f "$box_file"
qs_vagrant package builder --output "$box_file"

qs_log "adding the box $LOGQ_BOX"
qs_vagrant box add --force "$LOGQ_BOX" "$box_file"
rm -f "$box_file"
trap - ERR

if [ "$keep_vm" -eq 0 ]; then
    qs_vagrant destroy -f builder
fi
qs_log "done: box $LOGQ_BOX is ready; next: provisioning/quickstart-dev-mode.sh"
