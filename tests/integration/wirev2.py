# SPDX-License-Identifier: MIT
"""wirev2: the shipper<->collector protocol, version 3, written again from
common/PROTOCOL.md for the integration tools (badclient.py, identity.py,
inject.py): frames, the per-host proofs and session keys, frame tags, and
a blocking client connection. Independent of the C code on purpose: a
mismatch with the spec shows up as a failed handshake or a bad MAC.
127.0.0.1 only; every read has a timeout."""

import hashlib
import hmac
import os
import socket
import struct
import zlib

HOST = "127.0.0.1"
VERSION = 3
T_HELLO, T_CHALLENGE, T_AUTH, T_WELCOME, T_ERROR = 100, 101, 102, 103, 199
T_BATCH, T_ACK, T_PING, T_PONG, T_METRICS = 200, 201, 202, 203, 300
F_ZLIB, F_MAC, F_ZSTD = 1, 2, 4
CH_AUTH, CH_ZSTD = 1, 2         # CHALLENGE's flags byte
ZSTD_MAGIC = 0xFD2FB528
SHIPPER, COLLECTOR = 1, 2       # roles, also the direction bytes
PROOF = {SHIPPER: b"logq-v2 shipper proof",
         COLLECTOR: b"logq-v2 collector proof"}
KEY = {SHIPPER: b"logq-v2 key shipper to collector",
       COLLECTOR: b"logq-v2 key collector to shipper"}


def str16(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<H", len(b)) + b


def bytes32(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<I", len(b)) + b


def zstd_frame(payload, stated=None, rle=None):
    """One zstd frame (RFC 8878) of raw blocks, or of RLE blocks repeating
    the byte rle for len(payload) bytes: no compression library needed.
    The header states `stated` (default: the true size) as content size;
    stated=-1 states none (a window descriptor instead)."""
    size = len(payload) if stated is None else stated
    if stated == -1:
        hdr = bytes([0x00, 0x58])          # no size, 8 MiB window
    elif size < 256:
        hdr = bytes([0x20, size])          # single segment, 1-byte size
    elif size < 65536 + 256:
        hdr = bytes([0x60]) + struct.pack("<H", size - 256)
    else:
        hdr = bytes([0xA0]) + struct.pack("<I", size)
    out = struct.pack("<I", ZSTD_MAGIC) + hdr
    n = len(payload)
    pos = 0
    while True:
        k = min(n - pos, 128 << 10)
        last = 1 if pos + k == n else 0
        btype = 1 if rle is not None else 0
        out += struct.pack("<I", last | (btype << 1) | (k << 3))[:3]
        out += bytes([rle]) if rle is not None else payload[pos:pos + k]
        pos += k
        if last:
            return out


def frame(ftype, payload, flags=0, version=VERSION, reserved=0, crc=None,
          length=None, compress=False, zstd=False):
    if compress:
        payload = zlib.compress(payload, 6)
        flags |= F_ZLIB
    if zstd:
        payload = zstd_frame(payload)
        flags |= F_ZSTD
    if crc is None:
        crc = zlib.crc32(payload) & 0xFFFFFFFF
    if length is None:
        length = len(payload)
    return b"LQ" + struct.pack("<BBHHII", version, flags, ftype, reserved,
                               length, crc) + payload


def split_frame(buf):
    """(version, flags, type, payload, raw, rest) for the first whole frame
    in buf, or None when more bytes are needed."""
    if len(buf) < 16:
        return None
    version, flags, ftype, _, length, _ = struct.unpack_from("<BBHHII", buf, 2)
    if len(buf) < 16 + length:
        return None
    return (version, flags, ftype, buf[16:16 + length], buf[:16 + length],
            buf[16 + length:])


def _mac(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def derive(token, label, ns, nc, host):
    h = host.encode() if isinstance(host, str) else host
    return _mac(token, label + ns + nc + h)


def proof(token, role, ns, nc, host):
    return derive(token, PROOF[role], ns, nc, host)


def load_hosts(path):
    """The collector's --token-file: {host: token bytes}."""
    out = {}
    with open(path, "rb") as f:
        for line in f.read().splitlines():
            line = line.strip()
            if line and not line.startswith(b"#"):
                host, tok = line.split()
                out[host.decode()] = tok
    return out


class Session:
    """Frame tags for one end of a connection (PROTOCOL.md "Frame MACs")."""

    def __init__(self, token, ns, nc, host, role):
        other = COLLECTOR if role == SHIPPER else SHIPPER
        self.send_key = derive(token, KEY[role], ns, nc, host)
        self.recv_key = derive(token, KEY[other], ns, nc, host)
        self.send_dir, self.recv_dir = role, other
        self.n_sent = self.n_recv = 0

    def tag(self, key, direction, n, ftype, flags, body):
        return _mac(key, struct.pack("<BQHBI", direction, n, ftype, flags,
                                     len(body)) + body)

    def seal(self, ftype, payload, compress=False, flags=0, zstd=False):
        """A whole tagged frame (flags: F_ZLIB or F_ZSTD for a payload
        already compressed)."""
        flags |= F_MAC
        if compress:
            payload = zlib.compress(payload, 6)
            flags |= F_ZLIB
        if zstd:
            payload = zstd_frame(payload)
            flags |= F_ZSTD
        t = self.tag(self.send_key, self.send_dir, self.n_sent, ftype, flags,
                     payload)
        self.n_sent += 1
        return frame(ftype, payload + t, flags=flags)

    def open(self, ftype, flags, payload):
        """The body (tag checked and stripped), or None when it is wrong."""
        if not flags & F_MAC or len(payload) < 32:
            return None
        body, t = payload[:-32], payload[-32:]
        want = self.tag(self.recv_key, self.recv_dir, self.n_recv, ftype,
                        flags, body)
        if not hmac.compare_digest(want, t):
            return None
        self.n_recv += 1
        return body


class Conn:
    """A client connection to the collector's shipper port."""

    session = None      # also for a Conn made with __new__ (connlimits.py)

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""
        self.session = None

    def send(self, data):
        try:
            self.s.sendall(data)
        except OSError:
            pass    # the peer may close early; what matters is the close

    def send_frame(self, ftype, payload, compress=False, zstd=False):
        if self.session:
            self.send(self.session.seal(ftype, payload, compress, zstd=zstd))
        else:
            self.send(frame(ftype, payload, compress=compress, zstd=zstd))

    def read_raw(self):
        """Next frame as split_frame's tuple, or None when the peer closed."""
        while True:
            f = split_frame(self.buf)
            if f:
                self.buf = f[5]
                return f
            try:
                d = self.s.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                return None
            self.buf += d

    def read_frame(self):
        """Next frame (type, payload): tag checked once the session is on
        (type "BADMAC" when it fails), inflated; None when closed."""
        f = self.read_raw()
        if f is None:
            return None
        _, flags, ftype, p, _, _ = f
        if self.session:
            p = self.session.open(ftype, flags, p)
            if p is None:
                return "BADMAC", b""
        return ftype, zlib.decompress(p) if flags & F_ZLIB else p

    def expect_close(self, what, fails):
        """Reads until the collector closes; ERROR frames are allowed."""
        got = []
        try:
            while True:
                f = self.read_frame()
                if f is None:
                    break
                got.append(f[0])
        except socket.timeout:
            fails.append(what)
            print("FAIL %s: connection still open after 10 s (frames %s)" %
                  (what, got))
            return got
        finally:
            self.s.close()
        print("ok   %s: closed by the collector (frames %s)" % (what, got))
        return got

    challenge_flags = None

    def handshake(self, hostname, token, check_collector=True,
                  software="badclient/0.2"):
        """HELLO, CHALLENGE, AUTH; returns the frame after AUTH (WELCOME or
        ERROR). With check_collector, a collector proof that is wrong raises
        (an honest shipper stops there). The session is on from a tagged
        WELCOME on; a refusal (ERROR 2) comes untagged. software "x zstd"
        offers zstd (PROTOCOL.md "Compression"); CHALLENGE's flags byte is
        kept in challenge_flags."""
        ns = os.urandom(32)
        self.send(frame(T_HELLO, str16(hostname) + str16(software) + ns))
        f = self.read_frame()
        if not f or f[0] != T_CHALLENGE or len(f[1]) != 65:
            raise RuntimeError("no CHALLENGE: %r" % (f,))
        flags, nc, cproof = f[1][0], f[1][1:33], f[1][33:65]
        self.challenge_flags = flags
        required = flags & CH_AUTH
        if check_collector and token and (
                not required or
                cproof != proof(token, COLLECTOR, ns, nc, hostname)):
            raise RuntimeError("the collector did not prove the token")
        mine = proof(token, SHIPPER, ns, nc, hostname) if token else bytes(32)
        self.send(frame(T_AUTH, mine))
        f = self.read_raw()
        if f is None:
            return None
        _, flags, ftype, p, _, _ = f
        if flags & F_MAC:
            self.session = Session(token, ns, nc, hostname, SHIPPER)
            p = self.session.open(ftype, flags, p)
            if p is None:
                return "BADMAC", b""
        return ftype, p
