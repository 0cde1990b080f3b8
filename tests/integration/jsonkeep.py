#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""jsonkeep: keep every json-file a real Docker container writes, so a test
knows exactly what Docker wrote, even the files its rotation deleted
(93-fault-rotation's real-Docker soak).

    jsonkeep.py CONTAINER_DIR KEEP_DIR STOP_FILE SECONDS

Every 5 ms it lists CONTAINER_DIR's `*-json.log*` and hard-links each file
(inode) it has not kept yet into KEEP_DIR (same file system), checking that
the link is the inode it listed (the name may have been rotated meanwhile:
then it tries again at the next look). A link keeps the inode and all its
bytes after Docker unlinks its name, and changes nothing the shipper looks
at (it works from the directory listing and its open descriptors). Docker
renames a file through `.1` .. `.N-1` before deleting it, so a file is
listed for N rotations: at 50k lines/s with max-size 10m and max-file 5,
about 3.7 s; a look every 5 ms catches it unless this process is starved
for that long, which `jsonkeep_check` in seqloss.py would find (a sequence
number missing from the kept files).

It stops when STOP_FILE exists (after one more look) or after SECONDS, and
prints how many files it kept. The kept links are named
`<order>-<inode>` in the order they were first seen.
"""
import os
import sys
import time


def look(src, keep, kept):
    try:
        names = os.listdir(src)
    except FileNotFoundError:
        return
    for name in names:
        if "-json.log" not in name:
            continue
        path = os.path.join(src, name)
        try:
            ino = os.stat(path).st_ino
        except FileNotFoundError:
            continue
        if ino in kept:
            continue
        dst = os.path.join(keep, "%06d-%d" % (len(kept), ino))
        try:
            os.link(path, dst)
        except FileNotFoundError:
            continue
        if os.stat(dst).st_ino != ino:
            os.unlink(dst)      # rotated between the stat and the link
            continue
        kept.add(ino)


def main(argv):
    src, keep, stop, secs = argv[0], argv[1], argv[2], float(argv[3])
    os.makedirs(keep, exist_ok=True)
    kept = set()
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        done = os.path.exists(stop)
        look(src, keep, kept)
        if done:
            break
        time.sleep(0.005)
    else:
        print("jsonkeep: stopped after %.0f s without %s" % (secs, stop),
              file=sys.stderr)
        return 1
    print("jsonkeep: %d files kept" % len(kept))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
