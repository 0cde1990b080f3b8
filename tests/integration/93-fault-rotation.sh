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
#  - lost data, counted (shipper/tail.h struct tail_loss): with the
#    collector frozen the shipper stops reading at its in-flight cap while
#    a container rotates through ~80 files (max-file 20); it notes each new
#    file, holds 8 open (read after Docker deleted them) and knows the
#    sizes of the others: those deleted unread are its loss, which /health
#    reports as exact: the json-file bytes of the lines missing from the
#    store, by the manifest (ext4 gives a deleted noted file's inode to a
#    newer file: told apart by their first bytes, shipper/tail_fp.c). More
#    rotations than max-file while the shipper is stopped: a loss of
#    unknown size ("at least"), reported, never silent; so is a container
#    new to the shipper found with a full rotation set.
# Every other line exactly once (fakedocker's max-file 1 pauses before it
# truncates, so that case loses nothing either).
# Then Docker's own json-file rotation under a private dockerd
# (tests/support/dockerd.sh), max-file 5, each container's lines numbered
# (logq-loggen, a bounded count) and every file Docker writes kept by
# jsonkeep.py (hard links), so the bytes of each line are known even when
# rotation deleted its file: soak (LOGQ_SOAK=1) max-size 10m, one
# container at 20k lines/s (one write per line), one at 50k lines/s
# (buffered writes), one at 50k lines/s with the collector stopped 15 s:
# Docker must write at 90% of the rate at least, every line delivered
# once, and the loss exactly the bytes of the lines missing. The short run
# has the last case only, with max-size 1m, 30k lines/s for 3 s and the
# collector stopped 2 s (a SKIP of that part only where Docker cannot
# run). docker_part below.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=faultlib.sh
. "$(dirname "$0")/faultlib.sh"
# shellcheck source-path=SCRIPTDIR source=../support/dockerd.sh
. "$IT_DIR/../support/dockerd.sh"
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

# The short waits below read every line back (wait_all_found); after the
# soak's fast rotation (up to 900,000 lines) that is more than the
# default 256 MiB answer (the soak of 2026-12-04 failed so).
big=()
[ "$FAULT_SOAK" = 1 ] && big=(--http-max-response 2G)
start_collector collector "${big[@]}"
start_shipper node1 "$MNT"

# -- fast rotation and truncation in place, shipper running
fake_container node1 fast "$MNT" --count $((RATE * SECS)) --rate "$RATE" \
    --seconds "$SECS" \
    --max-size "$SIZE" --max-file 5 --stderr-every 9 --long-every 400 \
    --long-size 20000
fake_container node1 trunc "$MNT" --count $((200 * SECS)) --rate 200 \
    --seconds "$SECS" \
    --max-size 50000 --max-file 1
wait_writers $((SECS + 60))
fault_wait_found 120 "$IT_TMP"/manifest-node1-fast.jsonl \
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
last_line() { tail -n 1 "$IT_TMP/manifest-node1-$1.jsonl" >"$IT_TMP/last-$1.jsonl"; }
# "gone" (lost data, below) writes its first lines while "reuse" fills its
# file, and the rest, through more rotations than max-file, in the same
# stop of the shipper. Its first lines fit in one file: more, and Docker
# could delete one before the shipper has even found the container (28
# lines, 2 runs in 9 at load 14: unseen then; a possible loss now, "late")
fake_container node1 gone "$MNT" --count 20 --rate 2000 --max-size 4000 \
    --max-file 2 --seed 1
reuse 1 --count 1000 --stop-full
[ "$(stat -c %s "$live")" -ge 12000 ] || fail "live file not filled"
wait_writers 30
wait_all_found 30 "$IT_TMP/manifest-node1-reuse.jsonl" \
    "$IT_TMP/manifest-node1-gone.jsonl"
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
fake_container node1 gone "$MNT" --count 300 --first 21 --rate 5000 \
    --max-size 4000 --max-file 2 --seed 1
# "late": a container new to the shipper that rotates past max-file while
# it is stopped: found with a full rotation set, Docker may have deleted
# files it never saw: a possible loss of unknown size, reported
# (shipper/README.md "Found late"; uncounted before).
fake_container node1 late "$MNT" --count 100 --rate 5000 --max-size 4000 \
    --max-file 2 --seed 1
wait_writers 30
last_line gone
last_line late
start_shipper node1 "$MNT" --metrics-interval 1 --max-inflight-bytes 64K
wait_all_found 30 "$IT_TMP/manifest-node1-reuse.jsonl" "$IT_TMP/last-gone.jsonl" \
    "$IT_TMP/last-late.jsonl"
grep -q 'saved file replaced (its inode reused)' "$IT_TMP/node1.log" ||
    fail "the shipper did not notice the reused inode"
log "inode reuse: all lines in"

# -- lost data, counted. "gone" rotated past max-file while the shipper
# was stopped: a loss of unknown size (at least 0 bytes), reported. "lost":
# with the collector frozen the shipper stops reading at its in-flight cap
# (64 KiB of compressed frames); the container rotates through ~55 files;
# the shipper notes each, holds 8 open and knows the others' sizes. Its
# first 5 lines (one file) come before: found later, with Docker rotating
# every 20 ms, the shipper could miss files before it first looked (a
# loss of unknown size, 1 run in 8 at load 14). Then 200 lines/s, a file
# every 100 ms, each deleted 2 s after it came (max-file 20): a shipper
# stalled longer than the life of a file (0.4 s at the 1000 lines/s of
# before; seen at load ~5 under ASan, and made with a 1 s SIGSTOP) loses
# files it never saw, a loss of unknown size, where /health must be exact.
t0=$(date +%s)
fake_container node1 lost "$MNT" --count 5 --rate 1000 --max-size 20000 \
    --max-file 20 --long-every 1 --long-size 1000 --seed 1
wait_writers 30
lost_id=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import fakedocker
print(fakedocker.container_id("node1", "lost", "1")[:12])' "$IT_DIR")
wait_until 30 "the shipper has found 'lost'" \
    grep -q "container found container=$lost_id" "$IT_TMP/node1.log"
kill -STOP "${IT_PIDS[collector]}"
fake_container node1 lost "$MNT" --count 995 --first 6 --rate 200 \
    --max-size 20000 --max-file 20 --long-every 1 --long-size 1000 --seed 1
wait_writers 30
kill -CONT "${IT_PIDS[collector]}"
last_line lost
wait_all_found 60 "$IT_TMP/last-lost.jsonl"
# loss_check NAME OPTION: the missing lines of NAME against what /health
# reports (OPTION --lost-bytes: what the shipper says is exact, the bytes
# of the lines missing; --lost-at-least: a lower bound, which /health must
# say it is).
loss_check() {
    local name=$1 opt=$2 b lines n bound
    read -r b lines n bound < <(it_curl -fsS --max-time 5 \
        "$(it_scheme)://127.0.0.1:$CHTTP/health" | python3 -c 'import json, sys
for s in json.load(sys.stdin)["losses"]["sources"]:
    if s["host"] == "node1" and s["container"] == sys.argv[1]:
        print(s["lost_bytes"], s["lost_lines"], s["events"],
              int(s["bytes_at_least"]))' "$name") || return 1
    [ "${n:-0}" -ge 1 ] || return 1
    [ "$bound" = "$([ "$opt" = --lost-at-least ] && echo 1 || echo 0)" ] || return 1
    lq --json --all --container "$name" >"$IT_TMP/out-$name.jsonl" &&
        python3 "$IT_DIR/check.py" verify "$opt" "$b" \
            "$IT_TMP/manifest-node1-$name.jsonl" <"$IT_TMP/out-$name.jsonl" \
            >"$IT_TMP/loss-$name.check.txt" || return 1
    echo "$b bytes, $lines lines in $n events, $(grep 'lines missing' "$IT_TMP/loss-$name.check.txt")" \
        >"$IT_TMP/loss-$name.txt"
}
# loss_wait NAME OPTION SECONDS: loss_check until it holds; on failure the
# last check and /health are kept in the logs.
loss_wait() {
    (wait_until "$3" "the loss of '$1' in /health" loss_check "$1" "$2") || {
        it_curl -fsS "$(it_scheme)://127.0.0.1:$CHTTP/health" \
            >"$IT_TMP/health-$1.json" || true
        cat "$IT_TMP/loss-$1.check.txt" >&2 || true
        fail "the loss of '$1' in /health is not what is missing from the store"
    }
}
loss_wait lost --lost-bytes 20
loss_wait gone --lost-at-least 10
loss_wait late --lost-at-least 10
grep -q '^check: [1-9][0-9]* lines missing' "$IT_TMP/loss-gone.check.txt" ||
    fail "'gone' lost nothing: the case did not happen"
log "lost data ($(( $(date +%s) - t0 )) s): 'lost' reported $(cat "$IT_TMP/loss-lost.txt"); 'gone' reported at least $(cat "$IT_TMP/loss-gone.txt"); 'late' (found late) at least $(cat "$IT_TMP/loss-late.txt")"

manifests=(--may-lose lost --may-lose gone --may-lose late "$IT_TMP"/manifest-*.jsonl)
sleep 2
fault_verify "$IT_TMP/out.jsonl" "${manifests[@]}"
# -- the losses survive a collector restart (kept in the data directory,
# collector/ingest/lossfile.c). The shipper is stopped first: what /health
# shows after the restart (and `logq health`, from the same table, with
# --redis) comes from the file, not from a new report.
stop node1 || fail "shipper did not stop"
losses_json() {
    it_curl -fsS --max-time 5 "$(it_scheme)://127.0.0.1:$CHTTP/health" |
        python3 -c 'import json, sys
print(json.dumps(json.load(sys.stdin)["losses"], sort_keys=True))'
}
before=$(losses_json)
fault_verify_store collector "${big[@]}" -- "${manifests[@]}"
assert_eq "$before" "$(losses_json)" "/health losses after a collector restart"
assert_eq 600 "$(stat -c %a "$IT_TMP/collector.data/losses")" "mode of the losses file"
# a damaged losses file: logged, counted, kept aside; the collector runs
stop collector || fail "collector did not stop"
printf 'logq-losses 1\nh node1 1\ns node1 zz\n' >"$IT_TMP/collector.data/losses"
start_collector collector
assert_eq 1 "$(health_counter losses_file_errors)" "losses_file_errors after a damaged losses file"
grep -q 'lost-data file unusable, starting empty: .*losses: line 3: bad source line; kept as .*losses.bad' \
    "$IT_TMP/collector.log" || fail "no clear error about the damaged losses file"
[ -f "$IT_TMP/collector.data/losses.bad" ] || fail "damaged losses file not kept"
log "losses kept across a collector restart, a damaged losses file set aside"


# docker_count NAME: the collector's count of container NAME's lines.
docker_count() {
    lq count --json --container "$1" 2>/dev/null | python3 -c 'import json, sys
print(int(json.load(sys.stdin)["total"]))'
}

# docker_settled NAME: true once NAME's count has not moved for 3 looks
# (1 s apart; the container has exited: nothing more will come).
docker_settled() {
    local n
    n=$(docker_count "$1") || return 1
    echo "$n" >>"$IT_TMP/counts-$1.txt"
    [ "$(tail -n 3 "$IT_TMP/counts-$1.txt" | sort -u | wc -l)" = 1 ] &&
        [ "$(wc -l <"$IT_TMP/counts-$1.txt")" -ge 3 ]
}

# docker_loss_settled NAME: true once /health reports a loss for NAME and
# the report has not changed between two looks (2 s apart; the shipper
# sends its counters every second).
docker_loss_settled() {
    local row
    row=$(it_curl -fsS --max-time 5 "$(it_scheme)://127.0.0.1:$CHTTP/health" |
        python3 -c 'import json, sys
for s in json.load(sys.stdin)["losses"]["sources"]:
    if s["host"] == "dock1" and s["container"] == sys.argv[1] and s["events"]:
        print(json.dumps(s, sort_keys=True))' "$1") || return 1
    [ -n "$row" ] || return 1
    echo "$row" >>"$IT_TMP/losses-$1.txt"
    if [ "$(wc -l <"$IT_TMP/losses-$1.txt")" -ge 2 ] &&
        [ "$(tail -n 2 "$IT_TMP/losses-$1.txt" | sort -u | wc -l)" = 1 ]; then
        return 0
    fi
    sleep 2
    return 1
}

# ticks PID: CPU time (user + system) of PID so far, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# docker_one RATE SECS FLUSH_MS [FREEZE_AT FREEZE_SECS]: a container
# writing RATE lines/s for SECS s through json-file with max-size 10m
# (short run 1m), max-file 5 (logq-loggen: one write per line with
# FLUSH_MS 0, else one write every FLUSH_MS ms, as a buffered logger). In
# the soak Docker must write them at 90% of RATE at least (its time
# stamps). jsonkeep.py hard-links every file
# Docker writes, so the check knows each line's json-file bytes even in the
# files rotation deleted, and the rate Docker wrote at (its time stamps).
# With FREEZE_AT, the collector is stopped (SIGSTOP) from FREEZE_AT s for
# FREEZE_SECS s: the shipper stops reading at its in-flight cap, Docker
# deletes files it had not read, and /health must report exactly their
# bytes. Checks and logs the figures, with dockerd's CPU.
docker_one() {
    local rate=$1 secs=$2 flush=$3 at=${4:-} frozen=${5:-} name n id keep k0 t0 t1 cpu gen
    name=rot$rate${at:+lost}
    n=$((rate * secs))
    keep=$DK_DATA/logq-keep-$name    # on the bind mount dockerd makes of its root: link(2) needs the same mount
    gen=(--kind web --count "$n" --seed 9 --marker "D$name"
        --start-time 2026-01-01T00:00:00Z)
    id=$(dk create --name "$name" --network host --log-driver json-file \
        --log-opt max-size="$(soak_or 1m 10m)" --log-opt max-file=5 logq-it:93 \
        /bin/logq-loggen "${gen[@]}" --rate "$rate" --flush-ms "$flush") ||
        fail "cannot create container $name"
    python3 "$IT_DIR/jsonkeep.py" "$DK_DATA/containers/$id" "$keep" \
        "$keep.stop" $((secs + 600)) >"$IT_TMP/keep-$name.txt" &
    k0=$!
    t0=$(date +%s)
    cpu=$(ticks "$(cat "$DK_ROOT/dockerd.pid")")
    dk start "$name" >/dev/null || fail "cannot start container $name"
    if [ -n "$at" ]; then
        sleep "$at"
        kill -STOP "${IT_PIDS[dcol]}"
        sleep "$frozen"
        kill -CONT "${IT_PIDS[dcol]}"
    fi
    timeout $((secs + 600)) "$DK_DOCKER" wait "$name" >"$IT_TMP/exit-$name.txt" ||
        fail "container $name did not finish"
    cpu=$(( $(ticks "$(cat "$DK_ROOT/dockerd.pid")") - cpu ))
    t1=$(date +%s)
    touch "$keep.stop"
    wait "$k0" || fail "jsonkeep for $name failed"
    assert_eq 0 "$(cat "$IT_TMP/exit-$name.txt")" "exit status of $name"
    "$BUILD/logq-loggen" "${gen[@]}" >"$IT_TMP/truth-$name.txt"
    wait_until 600 "$name's count settled" docker_settled "$name"
    [ -z "$at" ] || wait_until 60 "$name's loss in /health" docker_loss_settled "$name"
    lq --json --all --container "$name" >"$IT_TMP/out-$name.jsonl" ||
        fail "logq --all --container $name failed"
    it_curl -fsS "$(it_scheme)://127.0.0.1:$CHTTP/health" >"$IT_TMP/health-$name.json"
    python3 "$IT_DIR/seqloss.py" --kept "$keep" \
        --min-rate "$(soak_or 0 $((rate * 9 / 10)))" \
        "$IT_TMP/out-$name.jsonl" \
        "$IT_TMP/truth-$name.txt" "D$name" "$IT_TMP/health-$name.json" dock1 \
        "$name" >"$IT_TMP/seqloss-$name.txt" || {
        cat "$IT_TMP/seqloss-$name.txt" >&2
        fail "$name: lines doubled, or lost and not counted exactly"
    }
    if [ -n "$at" ]; then
        grep -q ' 0 missing' "$IT_TMP/seqloss-$name.txt" &&
            fail "$name: nothing lost with the collector stopped ${frozen} s: the case did not happen"
    else
        grep -q ' 0 missing' "$IT_TMP/seqloss-$name.txt" ||
            fail "$name: lines lost with the shipper keeping up"
    fi
    rm -rf "$keep" "$keep.stop"
    log "$(head -n 1 "$IT_TMP/seqloss-$name.txt"); ${at:+collector stopped ${frozen} s; }dockerd CPU $((cpu / 100)).$((cpu % 100 / 10)) s in $((t1 - t0)) s; load $(cut -d' ' -f1-3 /proc/loadavg); settled $(( $(date +%s) - t1 )) s later"
}

docker_part() {
    local why
    if ! why=$(dockerd_can_start); then
        [ "$FAULT_SOAK" = 1 ] && fail "soak: real Docker unavailable: $why"
        log "real Docker: SKIP ($why)"
        return 0
    fi
    # shellcheck disable=SC2016 # expanded by the EXIT trap
    it_at_exit 'cp "$DK_ROOT/dockerd.log" "$IT_TMP/dockerd.log" 2>/dev/null; dockerd_stop'
    # Docker at the normal priority, as on a real host, even when the
    # tests run under `nice`: niced with the rest at load 15 on 2 cores,
    # dockerd got too little CPU to copy 50k lines/s (40,243 in one soak;
    # it needs 20-30% of a core for them).
    DK_NICE=0 dockerd_start || fail "the private dockerd did not start"
    dockerd_busybox_image logq-it:93 "$BUILD/logq-loggen"
    stop collector || fail "collector did not stop"
    # a million lines in one answer: more than the default 256 MiB
    start_collector dcol --http-max-response 2G
    if [ "$FAULT_SOAK" = 1 ]; then
        start_shipper dock1 "$DK_DATA/containers" --metrics-interval 1
        docker_one 20000 20 0
        docker_one 50000 20 10
        docker_one 50000 30 10 2 15
    else
        # a small in-flight cap: the stopped collector makes a loss soon
        start_shipper dock1 "$DK_DATA/containers" --metrics-interval 1 \
            --max-inflight-bytes 64K
        docker_one 30000 3 10 0.5 2
    fi
}
docker_part

it_pass
