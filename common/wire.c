/* SPDX-License-Identifier: MIT */
/*
 * wire: frame and payload codecs of common/PROTOCOL.md. Every field is
 * encoded and decoded one by one in little-endian order. Decoders are pure
 * functions over borrowed bytes: they check each limit before anything is
 * allocated (the only allocation is a batch's source table, bounded by
 * WIRE_MAX_SOURCES and by the bytes actually present) and validate a whole
 * payload before reporting success, so callers may walk records with
 * wire_batch_next/wire_metrics_next without further checks. Compression and
 * crc32 go through common/compress; proofs, keys and frame MACs are in
 * common/wireauth.
 * Encoders leave their output buf as it was when they fail.
 *
 * The frame reader (wire_reader_*) is the one place a byte stream becomes
 * frames, for the collector's ingest and the shipper's sender alike: it
 * checks every header field as soon as the header is there (a too-large
 * length is refused before its payload is buffered), so what a peer can
 * make the other side hold is one frame under the maximum the owner sets
 * (WIRE_MAX_CONTROL before the handshake, see PROTOCOL.md).
 *
 * Parts, one job each (wire_internal.h holds the field helpers they
 * share): this file the field helpers and frames (header checks, decode,
 * encode, the payload inflated); wire_reader.c the frame reader;
 * wire_ctl.c the handshake and control payloads; wire_batch.c BATCH
 * (encoder and decoder); wire_metrics.c METRICS.
 */
#include "common/wire.h"

#include <stdlib.h>
#include <string.h>

#include "common/compress.h"
#include "common/wire_internal.h"

int
wire_fail(const char **errstr, const char *msg)
{
    if (errstr != NULL)
        *errstr = msg;
    return -1;
}

/* Reads a str16 of at most max bytes with no NUL byte. */
int
wire_get_str16(struct reader *r, size_t max, struct wire_str *s,
               const char **errstr)
{
    uint16_t n;
    const uint8_t *q;

    if (reader_u16(r, &n) < 0)
        return wire_fail(errstr, "truncated string length");
    if (n > max)
        return wire_fail(errstr, "string too long");
    if (reader_bytes(r, n, &q) < 0)
        return wire_fail(errstr, "truncated string");
    if (memchr(q, 0, n) != NULL)
        return wire_fail(errstr, "NUL byte in string");
    s->p = (const char *)q;
    s->len = n;
    return 0;
}

/* Reads a bytes32 of at most max bytes; NUL bytes rejected if no_nul. */
int
wire_get_bytes32(struct reader *r, size_t max, int no_nul,
                 struct wire_str *s, const char **errstr)
{
    uint32_t n;
    const uint8_t *q;

    if (reader_u32(r, &n) < 0)
        return wire_fail(errstr, "truncated bytes length");
    if (n > max)
        return wire_fail(errstr, "bytes field too long");
    if (reader_bytes(r, n, &q) < 0)
        return wire_fail(errstr, "truncated bytes");
    if (no_nul && memchr(q, 0, n) != NULL)
        return wire_fail(errstr, "NUL byte in string");
    s->p = (const char *)q;
    s->len = n;
    return 0;
}

int
wire_str_is_valid(const struct wire_str *s, size_t max)
{
    if (s->len > max)
        return 0;
    return s->len == 0 || memchr(s->p, 0, s->len) == NULL;
}

int
wire_put_str16(struct buf *out, const void *p, size_t n)
{
    if (n > WIRE_STR16_MAX || buf_put_u16(out, (uint16_t)n) < 0)
        return -1;
    return buf_append(out, p, n);
}

int
wire_put_bytes32(struct buf *out, const void *p, size_t n)
{
    if (n > UINT32_MAX || buf_put_u32(out, (uint32_t)n) < 0)
        return -1;
    return buf_append(out, p, n);
}

/* Restores out to len start when rc < 0; returns rc. */
int
wire_undo(struct buf *out, size_t start, int rc)
{
    if (rc < 0)
        out->len = start;
    return rc;
}

int
wire_at_end(const struct reader *r, const char **errstr)
{
    if (r->err)
        return wire_fail(errstr, "truncated payload");
    if (reader_left(r) != 0)
        return wire_fail(errstr, "trailing bytes in payload");
    return 0;
}

const char *
wire_rd_str(enum wire_rd rc)
{
    switch (rc) {
    case WIRE_RD_OK:          return "ok";
    case WIRE_RD_NEED_MORE:   return "incomplete frame";
    case WIRE_RD_BAD_MAGIC:   return "bad frame magic";
    case WIRE_RD_BAD_VERSION: return "unsupported protocol version";
    case WIRE_RD_BAD_FLAGS:   return "unknown frame flags or reserved bits";
    case WIRE_RD_BAD_TYPE:    return "unknown frame type";
    case WIRE_RD_BAD_LENGTH:  return "control frame too long, or too short "
                                     "for its MAC";
    case WIRE_RD_TOO_LARGE:   return "frame payload too large";
    case WIRE_RD_BAD_CRC:     return "frame crc mismatch";
    case WIRE_RD_OVERFLOW:    return "reader overflow";
    }
    return "unknown reader error";
}

static int
wire_type_is_known(uint16_t type)
{
    switch (type) {
    case WIRE_HELLO: case WIRE_CHALLENGE: case WIRE_AUTH: case WIRE_WELCOME:
    case WIRE_ERROR: case WIRE_BATCH: case WIRE_ACK: case WIRE_PING:
    case WIRE_PONG: case WIRE_METRICS:
        return 1;
    }
    return 0;
}

/*
 * Checks the header at the front of p[0..len): the magic byte by byte as it
 * arrives, the rest once all WIRE_HEADER_LEN bytes are there. WIRE_RD_OK
 * with *plen set, WIRE_RD_NEED_MORE or the error. The crc is not checked.
 */
static enum wire_rd
wire_header_check(const uint8_t *p, size_t len, size_t max_payload,
                  uint32_t *plen)
{
    if ((len >= 1 && p[0] != 'L') || (len >= 2 && p[1] != 'Q'))
        return WIRE_RD_BAD_MAGIC;
    if (len < WIRE_HEADER_LEN)
        return WIRE_RD_NEED_MORE;
    uint16_t type = le16_load(p + 4);
    uint32_t n = le32_load(p + 8);

    if (p[2] < WIRE_VERSION_MIN || p[2] > WIRE_VERSION)
        return WIRE_RD_BAD_VERSION;
    if ((p[3] & ~(WIRE_F_ZLIB | WIRE_F_MAC | WIRE_F_ZSTD)) != 0 ||
        (p[3] & (WIRE_F_ZLIB | WIRE_F_ZSTD)) == (WIRE_F_ZLIB | WIRE_F_ZSTD) ||
        le16_load(p + 6) != 0)
        return WIRE_RD_BAD_FLAGS;
    if (!wire_type_is_known(type))
        return WIRE_RD_BAD_TYPE;
    if (type != WIRE_BATCH && type != WIRE_METRICS && n > WIRE_MAX_CONTROL)
        return WIRE_RD_BAD_LENGTH;
    if ((p[3] & WIRE_F_MAC) && n < WIRE_MAC_LEN)
        return WIRE_RD_BAD_LENGTH;
    if (n > max_payload)
        return WIRE_RD_TOO_LARGE;
    *plen = n;
    return WIRE_RD_OK;
}

/* A whole frame at the front of p[0..len), as wire_header_check. */
enum wire_rd
wire_frame_check(const uint8_t *p, size_t len, size_t max_payload,
                 struct wire_frame *f)
{
    uint32_t plen = 0;
    enum wire_rd rc = wire_header_check(p, len, max_payload, &plen);

    if (rc != WIRE_RD_OK)
        return rc;
    if (len - WIRE_HEADER_LEN < plen)
        return WIRE_RD_NEED_MORE;
    const uint8_t *payload = p + WIRE_HEADER_LEN;
    if (compress_crc32(0, payload, plen) != le32_load(p + 12))
        return WIRE_RD_BAD_CRC;
    f->version = p[2];
    f->flags = p[3];
    f->type = le16_load(p + 4);
    f->payload = payload;
    f->len = plen;
    return WIRE_RD_OK;
}

int
wire_frame_decode(const uint8_t *p, size_t len, struct wire_frame *f,
                  size_t *consumed, const char **errstr)
{
    struct wire_frame fr;
    enum wire_rd rc = wire_frame_check(p, len, WIRE_MAX_PAYLOAD, &fr);

    if (rc == WIRE_RD_NEED_MORE)
        return 0;
    if (rc != WIRE_RD_OK)
        return wire_fail(errstr, wire_rd_str(rc));
    *f = fr;
    *consumed = WIRE_HEADER_LEN + fr.len;
    return 1;
}

/*
 * zstd level 1 on the wire (the shipper's, shipper/sender_internal.h):
 * over the level's parameters at a 512 KiB batch (hash log 14, shortest
 * match 7), a smaller hash table and shorter matches: 3-6% less CPU and
 * 0.07-0.16 points fewer bytes on the wire, real samples and generator
 * (tests/bench/deflate_bench.sh, shipper_bench.sh; BENCHMARKS.md "The
 * shipper's CPU"). Any zstd decoder reads the frames as before.
 */
#define WIRE_ZSTD1_HASH_LOG  13
#define WIRE_ZSTD1_MIN_MATCH 6

/* Appends in[0..len) to out compressed as c says (NULL: as is). */
static int
wire_compress(struct buf *out, const void *in, size_t len,
              const struct wire_codec *c)
{
    if (c == NULL || c->flag == 0)
        return buf_append(out, in, len);
    if (c->flag == WIRE_F_ZLIB)
        return c->level > 0 ? compress_deflate(out, in, len, c->level) : -1;
    if (c->flag == WIRE_F_ZSTD && c->level == 1)
        return compress_zstd_tuned(out, in, len, 1, WIRE_ZSTD1_HASH_LOG,
                                   WIRE_ZSTD1_MIN_MATCH);
    if (c->flag == WIRE_F_ZSTD)
        return compress_zstd(out, in, len, c->level);
    return -1;
}

int
wire_frame_encode_codec(struct buf *out, uint16_t type, const void *payload,
                        size_t len, const struct wire_codec *c)
{
    size_t start = out->len;
    uint8_t hdr[WIRE_HEADER_LEN] = { 'L', 'Q', WIRE_VERSION, 0 };
    uint8_t flag = c != NULL ? c->flag : 0;

    if (len > (flag != 0 ? WIRE_MAX_INFLATED : WIRE_MAX_PAYLOAD))
        return -1;
    if (buf_append(out, hdr, sizeof(hdr)) < 0)
        return -1;
    if (wire_compress(out, payload, len, c) < 0)
        return wire_undo(out, start, -1);
    size_t plen = out->len - start - WIRE_HEADER_LEN;
    if (plen > WIRE_MAX_PAYLOAD)
        return wire_undo(out, start, -1);
    uint8_t *h = out->data + start;
    h[3] = flag;
    le16_store(h + 4, type);
    le16_store(h + 6, 0);
    le32_store(h + 8, (uint32_t)plen);
    le32_store(h + 12, compress_crc32(0, h + WIRE_HEADER_LEN, plen));
    return 0;
}

int
wire_frame_encode(struct buf *out, uint16_t type, const void *payload,
                  size_t len, int zlevel)
{
    struct wire_codec c = { zlevel > 0 ? WIRE_F_ZLIB : 0, zlevel };

    return wire_frame_encode_codec(out, type, payload, len, &c);
}

int
wire_frame_payload(const struct wire_frame *f, struct buf *scratch,
                   const uint8_t **p, size_t *len, const char **errstr)
{
    int rc = 0;

    if (!(f->flags & (WIRE_F_ZLIB | WIRE_F_ZSTD))) {
        *p = f->payload;
        *len = f->len;
        return 0;
    }
    buf_reset(scratch);
    if (f->flags & WIRE_F_ZSTD)
        rc = compress_unzstd(scratch, f->payload, f->len, WIRE_MAX_INFLATED,
                             errstr);
    else
        rc = compress_inflate(scratch, f->payload, f->len, WIRE_MAX_INFLATED,
                              errstr);
    if (rc < 0)
        return -1;
    *p = scratch->data;
    *len = scratch->len;
    return 0;
}
