#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 93-fault-rotation (issue 9 "Faults" 4): Docker's json-file rotation under
# stress, with the docker root on a small ext4 file system the test makes
# on a loop device (root), where a deleted file's inode number is given to
# the next file created, as on a busy real host:
#  - fast rotation: max-size 64 KiB (soak 10 MiB), max-file 5, at 2000
#    lines/s (soak 20000), while the shipper keeps up;
#  - truncation in place (max-file 1, Docker's copytruncate-like mode);
#  - rotation while the shipper is stopped, fewer rotations than max-file:
#    nothing is lost;
#  - inode reuse: with max-file 2, two rotations while the shipper is
#    stopped delete the file it had finished and give its inode to the new
#    live file; the shipper must not take the new file for the old one (it
#    skipped the rotated file and the new file's first bytes, silently:
#    fixed by the file fingerprint in the saved position, shipper/tail.h).
# Every line exactly once (fakedocker's max-file 1 pauses before it
# truncates, so that case loses nothing either).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=faultlib.sh
. "$(dirname "$0")/faultlib.sh"
it_init 93-fault-rotation

[ "$(id -u)" = 0 ] || fail "needs root for a loop device (CI and make test run as root)"
command -v mkfs.ext4 >/dev/null || fail "mkfs.ext4 missing (e2fsprogs)"
RATE=$(soak_or 2000 20000)
SIZE=$(soak_or 65536 10000000)
SECS=$(soak_or 5 45)

IMG=$IT_TMP/docker.img
MNT=$IT_TMP/node1.docker
truncate -s "$(soak_or 64M 2G)" "$IMG"
mkfs.ext4 -q -F "$IMG"
mkdir -p "$MNT"
mount -o loop "$IMG" "$MNT" 2>"$IT_TMP/mount.txt" ||
    fail "cannot mount a loop device: $(cat "$IT_TMP/mount.txt")"
it_at_exit "umount '$MNT'"

start_collector collector
start_shipper node1 "$MNT"

# -- fast rotation and truncation in place, shipper running
fake_container node1 fast "$MNT" --count $((RATE * SECS)) --rate "$RATE" \
    --max-size "$SIZE" --max-file 5 --stderr-every 9 --long-every 400 \
    --long-size 20000
fake_container node1 trunc "$MNT" --count $((200 * SECS)) --rate 200 \
    --max-size 50000 --max-file 1
wait_writers $((SECS + 60))
wait_all_found 120 "$IT_TMP"/manifest-node1-fast.jsonl \
    "$IT_TMP"/manifest-node1-trunc.jsonl
log "fast rotation and truncation: all lines in"

# -- rotation while the shipper is stopped (3 rotations, max-file 5)
fake_container node1 stopped "$MNT" --count 300 --rate 1000 \
    --max-size 20000 --max-file 5 --seed 1
wait_writers 30
wait_all_found 30 "$IT_TMP/manifest-node1-stopped.jsonl"
stop node1 || fail "shipper did not stop"
fake_container node1 stopped "$MNT" --count 400 --first 301 --rate 1000 \
    --max-size 20000 --max-file 5 --seed 1
wait_writers 30
start_shipper node1 "$MNT"
wait_all_found 30 "$IT_TMP/manifest-node1-stopped.jsonl"
log "rotation while stopped: all lines in"

# -- inode reuse. The live file is filled to max-size (the next line
# rotates it first) and read to its end; the shipper stops. Then lines
# until two rotations have happened (fakedocker --stop-rotations-n): the
# first rotation renames it to .1 (replacing the old .1, whose inode the
# new live file takes), the second deletes it (read to its end: nothing
# lost) and gives its inode to the new live file. Resuming there at the
# saved position skipped all of .1 and the new file's first lines.
id=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import fakedocker
print(fakedocker.container_id("node1", "reuse", "1"))' "$IT_DIR")
live=$MNT/$id/$id-json.log
reuse() {     # reuse FIRST ARGS...: lines of container "reuse"
    local first=$1
    shift
    python3 "$IT_DIR/fakedocker.py" --root "$MNT" --host node1 --name reuse \
        --manifest "$IT_TMP/manifest-node1-reuse.jsonl" --first "$first" \
        --max-size 12000 --max-file 2 --seed 1 --rate 2000 "$@" \
        2>>"$IT_TMP/fd-reuse.log"
}
reuse 1 --count 1000 --stop-full
[ "$(stat -c %s "$live")" -ge 12000 ] || fail "live file not filled"
wait_all_found 30 "$IT_TMP/manifest-node1-reuse.jsonl"
sleep 1
stop node1 || fail "shipper did not stop"
ino0=$(stat -c %i "$live")
n=$(manifest_lines "$IT_TMP/manifest-node1-reuse.jsonl")
# two rotations, then 5 lines so the new live file is not empty
reuse $((n + 1)) --count 1000 --stop-rotations-n 2 --stop-rotations 5
n=$(manifest_lines "$IT_TMP/manifest-node1-reuse.jsonl")
ino1=$(stat -c %i "$live")
log "live file inode $ino0 when the shipper stopped, $ino1 after two rotations ($n lines)"
assert_eq "$ino0" "$ino1" "the live file's inode after two rotations (ext4 reuses a freed inode)"
start_shipper node1 "$MNT"
wait_all_found 30 "$IT_TMP/manifest-node1-reuse.jsonl"
grep -q 'saved file replaced (its inode reused)' "$IT_TMP/node1.log" ||
    fail "the shipper did not notice the reused inode"
log "inode reuse: all lines in"

manifests=("$IT_TMP"/manifest-*.jsonl)
sleep 2
fault_verify "$IT_TMP/out.jsonl" "${manifests[@]}"
fault_verify_store collector -- "${manifests[@]}"

it_pass
