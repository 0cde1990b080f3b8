/* SPDX-License-Identifier: MIT */
/*
 * wire_ctl: the handshake and control payloads of PROTOCOL.md: HELLO
 * (host, software and its zstd offer, nonce), CHALLENGE, AUTH, the
 * version error, the u64 of WELCOME/ACK/PING/PONG, ERROR.
 */
#include "common/wire.h"

#include <string.h>

#include "common/wire_internal.h"

int
wire_hello_encode(struct buf *out, const char *hostname, const char *software,
                  const uint8_t nonce[WIRE_NONCE_LEN])
{
    size_t start = out->len;

    if (hostname[0] == '\0')
        return -1;
    if (wire_put_str16(out, hostname, strlen(hostname)) < 0 ||
        wire_put_str16(out, software, strlen(software)) < 0 ||
        buf_append(out, nonce, WIRE_NONCE_LEN) < 0)
        return wire_undo(out, start, -1);
    return 0;
}

int
wire_hello_decode(const uint8_t *p, size_t len, struct wire_str *hostname,
                  struct wire_str *software, uint8_t nonce[WIRE_NONCE_LEN],
                  const char **errstr)
{
    struct reader r;
    struct wire_str h, s;
    const uint8_t *n;

    reader_init(&r, p, len);
    if (wire_get_str16(&r, WIRE_STR16_MAX, &h, errstr) < 0 ||
        wire_get_str16(&r, WIRE_STR16_MAX, &s, errstr) < 0)
        return -1;
    if (reader_bytes(&r, WIRE_NONCE_LEN, &n) < 0)
        return wire_fail(errstr, "truncated nonce");
    if (wire_at_end(&r, errstr) < 0)
        return -1;
    if (h.len == 0)
        return wire_fail(errstr, "empty hostname");
    *hostname = h;
    *software = s;
    memcpy(nonce, n, WIRE_NONCE_LEN);
    return 0;
}

int
wire_hello_offers_zstd(const struct wire_str *software)
{
    static const char word[] = WIRE_SOFTWARE_ZSTD;
    const size_t wl = sizeof(word) - 1;
    const char *p = software->p;
    const char *end = p + software->len;

    if (software->len == 0)
        return 0;

    /* words after the first, split at single spaces */
    const char *sp = memchr(p, ' ', software->len);
    while (sp != NULL) {
        const char *w = sp + 1;
        sp = memchr(w, ' ', (size_t)(end - w));
        size_t n = (size_t)((sp != NULL ? sp : end) - w);
        if (n == wl && memcmp(w, word, wl) == 0)
            return 1;
    }
    return 0;
}

int
wire_challenge_encode(struct buf *out, unsigned flags,
                      const uint8_t nonce[WIRE_NONCE_LEN],
                      const uint8_t proof[WIRE_MAC_LEN])
{
    size_t start = out->len;

    if ((flags & ~(unsigned)(WIRE_CH_AUTH | WIRE_CH_ZSTD)) != 0)
        return -1;
    if (buf_put_u8(out, (uint8_t)flags) < 0 ||
        buf_append(out, nonce, WIRE_NONCE_LEN) < 0 ||
        buf_append(out, proof, WIRE_MAC_LEN) < 0)
        return wire_undo(out, start, -1);
    return 0;
}

int
wire_challenge_decode(const uint8_t *p, size_t len, unsigned *flags,
                      uint8_t nonce[WIRE_NONCE_LEN],
                      uint8_t proof[WIRE_MAC_LEN], const char **errstr)
{
    if (len != 1 + WIRE_NONCE_LEN + WIRE_MAC_LEN)
        return wire_fail(errstr, "bad challenge length");
    if ((p[0] & ~(WIRE_CH_AUTH | WIRE_CH_ZSTD)) != 0)
        return wire_fail(errstr, "unknown challenge flags");
    *flags = p[0];
    memcpy(nonce, p + 1, WIRE_NONCE_LEN);
    memcpy(proof, p + 1 + WIRE_NONCE_LEN, WIRE_MAC_LEN);
    return 0;
}

int
wire_auth_encode(struct buf *out, const uint8_t mac[WIRE_MAC_LEN])
{
    return buf_append(out, mac, WIRE_MAC_LEN);
}

int
wire_auth_decode(const uint8_t *p, size_t len, uint8_t mac[WIRE_MAC_LEN],
                 const char **errstr)
{
    if (len != WIRE_MAC_LEN)
        return wire_fail(errstr, "bad auth length");
    memcpy(mac, p, WIRE_MAC_LEN);
    return 0;
}

int
wire_version_error_encode(struct buf *out, uint8_t version, const char *msg)
{
    struct buf p;
    size_t start = out->len;
    int rc;

    buf_init(&p, WIRE_STR16_MAX + 2);
    rc = wire_error_encode(&p, WIRE_ERR_VERSION, msg);
    if (rc == 0)
        rc = wire_frame_encode(out, WIRE_ERROR, p.data, p.len, 0);
    buf_fini(&p);
    if (rc == 0)
        out->data[start + 2] = version;     /* not covered by the crc */
    return rc;
}

int
wire_u64_encode(struct buf *out, uint64_t v)
{
    return buf_put_u64(out, v);
}

int
wire_u64_decode(const uint8_t *p, size_t len, uint64_t *v,
                const char **errstr)
{
    if (len != 8)
        return wire_fail(errstr, "bad u64 payload length");
    *v = le64_load(p);
    return 0;
}

int
wire_error_encode(struct buf *out, uint16_t code, const char *msg)
{
    size_t start = out->len;

    if (buf_put_u16(out, code) < 0 ||
        wire_put_str16(out, msg, strlen(msg)) < 0)
        return wire_undo(out, start, -1);
    return 0;
}

int
wire_error_decode(const uint8_t *p, size_t len, uint16_t *code,
                  struct wire_str *msg, const char **errstr)
{
    struct reader r;
    uint16_t c;
    struct wire_str m;

    reader_init(&r, p, len);
    if (reader_u16(&r, &c) < 0)
        return wire_fail(errstr, "truncated error payload");
    if (wire_get_str16(&r, WIRE_STR16_MAX, &m, errstr) < 0 ||
        wire_at_end(&r, errstr) < 0)
        return -1;
    *code = c;
    *msg = m;
    return 0;
}
