#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build.sh: builds the logq Docker images in the builder dockerd (see
# common.sh; data root in $LQ_CACHE, outside the checkout, no registry) and
# prints their sizes:
#   logq/build:bookworm    toolchain + -dev packages (the build stage base)
#   logq/runtime:bookworm  Debian minbase + runtime libraries + user logq
#   logq/collector         multi-stage: compile, then runtime + collector + logq
#   logq/shipper           multi-stage: compile, then runtime + shipper
#   logq/redis             Debian's redis-server
#   logq/apps              busybox + logq-loggen (sample applications)
# The base images come from base.sh (once). Every build is the classic
# builder (DOCKER_BUILDKIT=0) with --network host, so apt-get works; the
# context is a tar stream of just the Makefile and the sources, so editing a
# test, a doc or a script does not invalidate the compile layer. The compile
# stage is tagged logq/compiled so `docker image prune` keeps its cache.
# Usage: provisioning/images/build.sh [--quiet]  (as root; the builder
# dockerd is stopped again at the end unless it was already running)
# LQ_IMAGE_REV=REV: compile the sources of that git commit, not the tree.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
quiet=
[ "${1:-}" = --quiet ] && quiet=1

if ! why=$(lq_docker_usable); then
    lq_die "cannot build images: $why"
fi
t0=$(date +%s)
mkdir -p "$LQ_CACHE"
was_up=0
lq_dockerd_alive "$LQ_BUILDER_RUN" && was_up=1
lq_builder_up || lq_die "the builder dockerd did not start"
[ "$was_up" = 1 ] || trap lq_builder_down EXIT
"$here/base.sh"

# The build context: the Makefile and the C sources (no tests, docs, build
# output or .git), plus provisioning/images for the health scripts. One
# snapshot for all builds, so they compile the same tree (and the compile
# layer is shared) even while the sources are being edited.
ctx=$LQ_CACHE/context.tar
# The sources: SRC_PATHS, and the log generator's parts tests/support/loggen*
# (a pattern, as their names differ between commits: git archive takes it as
# a pathspec, tar the shell's expansion in the tree). The release build's
# training run (Makefile "PGO") needs tests/bench/store_build.c and
# tests/bench/pgo_train.sh, and the generator.
SRC_PATHS=(Makefile common shipper collector query)
PGO_PATHS=(tests/bench/store_build.c tests/bench/pgo_train.sh)
context_snapshot() {
    local tree=$repo tmp="" f
    if [ -n "${LQ_IMAGE_REV:-}" ]; then
        # The sources of a commit (e.g. a release tag) instead of the tree.
        tmp=$(mktemp -d "$LQ_CACHE/src.XXXXXX")
        local pgo=()
        for f in "${PGO_PATHS[@]}"; do    # an older commit has no PGO
            git -C "$repo" cat-file -e "$LQ_IMAGE_REV:$f" 2>/dev/null && pgo+=("$f")
        done
        git -C "$repo" archive --format=tar "$LQ_IMAGE_REV" "${SRC_PATHS[@]}" \
                'tests/support/loggen*' "${pgo[@]}" |
            tar -C "$tmp" -x
        mkdir -p "$tmp/provisioning"
        cp -a "$repo/provisioning/images" "$tmp/provisioning/"
        tree=$tmp
    fi
    local have=()
    for f in "${PGO_PATHS[@]}"; do
        [ ! -e "$tree/$f" ] || have+=("$f")
    done
    (cd "$tree" && tar -c --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
        --exclude='*_test.c' --exclude='*.md' --exclude='*.d' --exclude='*.o' \
        --exclude='*.log' "${SRC_PATHS[@]}" tests/support/loggen* \
        "${have[@]}" provisioning/images) >"$ctx"
    [ -z "$tmp" ] || rm -rf "$tmp"
}
context_snapshot

build() {   # DOCKERFILE TAG [ARGS...]
    local file=$1 tag=$2 log t
    shift 2
    log=$LQ_CACHE/build-${tag//[:\/]/_}.log
    t=$(date +%s)
    if ! DOCKER_BUILDKIT=0 bdk build --network host --force-rm \
            -f "provisioning/images/$file" -t "$tag" "$@" - <"$ctx" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        lq_die "docker build of $tag failed (log: $log)"
    fi
    [ -n "$quiet" ] || lq_log "built $tag in $(( $(date +%s) - t )) s"
}

# The three images that only install packages, at once (apt-bound).
pids=()
build Dockerfile.build logq/build:bookworm & pids+=($!)
build Dockerfile.runtime logq/runtime:bookworm & pids+=($!)
build Dockerfile.redis logq/redis:latest & pids+=($!)
for p in "${pids[@]}"; do
    wait "$p" || exit 1
done
build Dockerfile.collector logq/compiled:latest --target build
build Dockerfile.collector logq/collector:latest
build Dockerfile.shipper logq/shipper:latest
build Dockerfile.apps logq/apps:latest
# Smoke check: every binary starts in its runtime image (a shared library
# missing from Dockerfile.runtime, e.g. after a new -l in the Makefile's
# LIBS, shows here and not at demo time).
for pair in logq/collector:latest:/usr/local/bin/logq-collector \
            logq/collector:latest:/usr/local/bin/logq \
            logq/shipper:latest:/usr/local/bin/logq-shipper \
            logq/apps:latest:/bin/logq-loggen; do
    img=${pair%:*}
    bin=${pair##*:}
    # the shipper's file capability needs DAC_READ_SEARCH in the bounding set
    if ! out=$(bdk run --rm --network none --cap-drop ALL --cap-add DAC_READ_SEARCH \
            --entrypoint "$bin" "$img" --help 2>&1); then
        printf '%s\n' "$out" | tail -n 5 >&2
        lq_die "$bin does not start in $img (a runtime library missing from Dockerfile.runtime?)"
    fi
done
# Replaced images (previous builds) are dangling now; the cache of the
# current ones is reachable from the tags above and stays.
bdk image prune -f >/dev/null 2>&1 || true
rm -f "$ctx"

if [ -z "$quiet" ]; then
    printf '%-24s %10s  %s\n' IMAGE SIZE ID
    for img in "$LQ_DEBIAN_BASE" "$LQ_BUSYBOX_BASE" "${LQ_IMAGES[@]}"; do
        printf '%-24s %7s MB  %s\n' "$img" "$(lq_image_mb "$img")" \
            "$(bdk image inspect -f '{{.Id}}' "$img" | cut -c8-19)"
    done
fi
lq_log "images ready in $(( $(date +%s) - t0 )) s (builder data root $LQ_CACHE/builder)"
