#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""storetool: reads and damages a stopped collector's store on disk.

For the store scenarios (25, 26, 27); the format is collector/STORE.md.
Only headers and meta are read (they are never compressed), so this works
whatever codec the bodies use.

  storetool.py blocks DIR        one JSON line per block of every segment:
      seg (file name), seq, off, total, meta_len, comp_len, n_records,
      min_ns, max_ns, body_off (first body byte in the file), labels
      [[host, container], ...]; a header or meta that does not parse ends
      that segment's listing (the scenarios damage stores only afterwards)
  storetool.py segments DIR      one JSON line per segment: seg, seq, size,
      n_blocks, n_records, has_lqi
  storetool.py lqi-pages FILE    one JSON line per page of a .lqi index:
      off (first byte in the file), len
  storetool.py flip FILE OFFSET  inverts the byte at OFFSET (bits ^ 0xff)
  storetool.py truncate FILE LEN
Python 3 standard library only.
"""

import json
import os
import re
import struct
import sys

SEG_RE = re.compile(r"seg-([0-9a-f]{16})\.lqs$")
SEG_HDR = 16
BLK_HDR = 48
SEG_MAGIC = 0x3153514C
BLK_MAGIC = 0x3142514C


class Reader:
    def __init__(self, data):
        self.d = data
        self.p = 0

    def varint(self):
        v = shift = 0
        while True:
            if self.p >= len(self.d) or shift > 63:
                raise ValueError("bad varint")
            b = self.d[self.p]
            self.p += 1
            v |= (b & 0x7F) << shift
            if b < 0x80:
                return v
            shift += 7

    def str(self):
        n = self.varint()
        if n > len(self.d) - self.p:
            raise ValueError("bad string")
        s = self.d[self.p:self.p + n]
        self.p += n
        return s.decode("utf-8", "replace")


def meta_labels(meta):
    r = Reader(meta)
    r.p = 1                         # stream mask
    labels = []
    for _ in range(r.varint()):
        host, _cid, ctr, _img = r.str(), r.str(), r.str(), r.str()
        r.varint()                  # n_lines
        r.varint()                  # max offset
        r.varint()                  # zz min delta
        r.varint()                  # max - min
        labels.append([host, ctr])
    return labels


def segment_files(d):
    out = []
    for name in sorted(os.listdir(d)):
        m = SEG_RE.match(name)
        if m:
            out.append((name, int(m.group(1), 16)))
    return out


def seg_blocks(d, name, seq):
    with open(os.path.join(d, name), "rb") as f:
        data = f.read()
    pos = SEG_HDR
    while pos + BLK_HDR <= len(data):
        (magic, meta_len, _raw, comp_len, n_rec, _codec, min_ns, max_ns,
         _bcrc, _hcrc) = struct.unpack_from("<IIIIIIqqII", data, pos)
        total = BLK_HDR + meta_len + comp_len
        if magic != BLK_MAGIC or pos + total > len(data):
            break
        try:
            labels = meta_labels(data[pos + BLK_HDR:pos + BLK_HDR + meta_len])
        except ValueError:
            break
        yield {"seg": name, "seq": seq, "off": pos, "total": total,
               "meta_len": meta_len, "comp_len": comp_len,
               "n_records": n_rec, "min_ns": min_ns, "max_ns": max_ns,
               "body_off": pos + BLK_HDR + meta_len, "labels": labels}
        pos += total


def cmd_blocks(d):
    for name, seq in segment_files(d):
        for b in seg_blocks(d, name, seq):
            print(json.dumps(b))


def cmd_segments(d):
    for name, seq in segment_files(d):
        blks = list(seg_blocks(d, name, seq))
        lqi = os.path.join(d, name[:-4] + ".lqi")
        print(json.dumps({"seg": name, "seq": seq,
                          "size": os.path.getsize(os.path.join(d, name)),
                          "n_blocks": len(blks),
                          "n_records": sum(b["n_records"] for b in blks),
                          "has_lqi": os.path.exists(lqi)}))


def cmd_lqi_pages(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, ver, _seq, n_blks, n_pages, _keys, _crc = struct.unpack_from(
        "<IIQIIII", data, 0)
    if magic != 0x3149514C:
        sys.exit("storetool: %s is not an LQI1 index" % path)
    dir_off = 32 + 12 * n_blks
    # version 9: 12 bytes of key range and frame code after the directory
    off = dir_off + 12 * n_pages + (12 if ver >= 9 else 0)
    for i in range(n_pages):
        _first, plen, _pcrc = struct.unpack_from("<III", data,
                                                 dir_off + 12 * i)
        print(json.dumps({"off": off, "len": plen}))
        off += plen


def cmd_flip(path, off):
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        if len(b) != 1:
            sys.exit("storetool: %s has no byte at %d" % (path, off))
        f.seek(off)
        f.write(bytes([b[0] ^ 0xFF]))


def main(argv):
    if len(argv) == 2 and argv[0] == "blocks":
        cmd_blocks(argv[1])
    elif len(argv) == 2 and argv[0] == "segments":
        cmd_segments(argv[1])
    elif len(argv) == 2 and argv[0] == "lqi-pages":
        cmd_lqi_pages(argv[1])
    elif len(argv) == 3 and argv[0] == "flip":
        cmd_flip(argv[1], int(argv[2]))
    elif len(argv) == 3 and argv[0] == "truncate":
        os.truncate(argv[1], int(argv[2]))
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
