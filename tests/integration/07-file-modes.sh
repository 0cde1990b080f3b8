#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 07-file-modes: the collector's files are its user's alone and its port
# file never writes through a symlink (SECURITY.md "Collector data
# directory and port file"), whatever the umask it was started with:
#   - a new data directory is created 0700 (its missing parents too), an
#     existing 0755 one is
#     tightened to 0700 with a warning; every store file is 0600;
#   - the port file is 0600; a symlink planted at the port file path, or at
#     the old temporary name "PORTFILE.tmp", is not followed: the files they
#     point to are unchanged and the port file is a regular file.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
it_init 07-file-modes

umask 022
mode() { stat -c %a "$1"; }

# check_store DIR MIN_FILES: the directory 0700, every file in it 0600 or
# stricter.
check_store() {
    local dir=$1 f n=0
    assert_eq 700 "$(mode "$dir")" "mode of $dir"
    while IFS= read -r f; do
        [ $(( 0$(mode "$f") & 077 )) = 0 ] ||
            fail "$f has mode $(mode "$f"), want no group/other access"
        n=$((n + 1))
    done < <(find "$dir" -mindepth 1)
    [ "$n" -ge "$2" ] || fail "only $n files in $dir, want $2 or more"
    log "$dir: 0700, $n files without group/other access"
}

# run_collector NAME DATA_DIR PORT_FILE: like lib.sh's start_collector, but
# with the data directory and port file this test prepares (and small
# blocks and segments, so sealed blocks, segments and indexes exist).
run_collector() {
    local name=$1 data=$2 pf=$3 i
    it_bg "$name" "$BUILD/logq-collector" --listen 127.0.0.1:0 \
        --http 127.0.0.1:0 --data-dir "$data" --port-file "$pf" \
        --block-size 4096 --segment-size 65536
    IT_DAEMON[$name]=1
    for ((i = 0; i < 120; i++)); do
        [ -f "$pf" ] && [ ! -L "$pf" ] && grep -qE '^[0-9]+ [0-9]+$' "$pf" &&
            break
        is_running "$name" || fail "collector $name exited at start"
        sleep 0.25
    done
    read -r CTCP CHTTP <"$pf" || fail "collector $name wrote no port file"
    wait_until 20 "collector $name /health" health_ok
}

# 1: an existing 0755 data directory, and symlinks planted at the port
# file path and at its old temporary name PORTFILE.tmp.
echo "victim one" >"$IT_TMP/victim1"
echo "victim two" >"$IT_TMP/victim2"
mkdir -m 0755 "$IT_TMP/run" "$IT_TMP/collector.data"
pf="$IT_TMP/run/ports"
ln -s "$IT_TMP/victim1" "$pf"
ln -s "$IT_TMP/victim2" "$pf.tmp"
run_collector collector "$IT_TMP/collector.data" "$pf"
[ -L "$pf" ] && fail "port file is still a symlink"
assert_eq "victim one" "$(cat "$IT_TMP/victim1")" \
    "target of the port file symlink"
assert_eq "victim two" "$(cat "$IT_TMP/victim2")" "target of the .tmp symlink"
assert_eq 600 "$(mode "$pf")" "port file mode"
grep -q 'data directory was group/world accessible, set to 0700' \
    "$IT_TMP/collector.log" || fail "no warning about the 0755 data directory"

mkdir -p "$IT_TMP/docker"
fake_container h1 web "$IT_TMP/docker" --count 2000 --rate 2000
start_shipper h1 "$IT_TMP/docker"
wait_writers 30
wait_all_found 60 "$IT_TMP"/manifest-*.jsonl
stop h1
stop collector
check_store "$IT_TMP/collector.data" 4

# 2: a data directory the collector creates itself, with its two missing
# parents (like mkdir -p; 0700 each).
run_collector fresh "$IT_TMP/new/parents/data" "$IT_TMP/run/fresh.ports"
stop fresh
check_store "$IT_TMP/new/parents/data" 1
assert_eq "700 700" "$(mode "$IT_TMP/new") $(mode "$IT_TMP/new/parents")" \
    "modes of the data directory's new parents"
assert_eq 600 "$(mode "$IT_TMP/run/fresh.ports")" "port file mode"
if grep -q 'group/world accessible' "$IT_TMP/fresh.log"; then
    fail "warned about a directory it created itself"
fi

it_pass
