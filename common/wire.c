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
 */
#include "common/wire.h"

#include <stdlib.h>
#include <string.h>

#include "common/compress.h"
#include "common/xmalloc.h"

#define WIRE_STR16_MAX      0xffffu
#define WIRE_SOURCE_MIN_LEN 18u     /* three empty str16, empty bytes32,
                                       u64 start */
#define WIRE_RECORD_MIN_LEN 26u     /* fixed fields + empty bytes32 */
#define WIRE_SAMPLE_MIN_LEN 14u     /* three empty str16 + u64 */
#define WIRE_BATCH_HDR_LEN  12u     /* u64 seq + u32 n_sources */
#define WIRE_BATCH_ENC_HEAD 1024u   /* room before records: a few sources */
#define WIRE_METRICS_HDR_LEN 20u    /* u64 seq + u64 time + u32 n_samples */

/* ---- helpers ---- */

static int
wire_fail(const char **errstr, const char *msg)
{
    if (errstr != NULL)
        *errstr = msg;
    return -1;
}

/* Reads a str16 of at most max bytes with no NUL byte. */
static int
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
static int
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

static int
wire_str_is_valid(const struct wire_str *s, size_t max)
{
    if (s->len > max)
        return 0;
    return s->len == 0 || memchr(s->p, 0, s->len) == NULL;
}

static int
wire_put_str16(struct buf *out, const void *p, size_t n)
{
    if (n > WIRE_STR16_MAX || buf_put_u16(out, (uint16_t)n) < 0)
        return -1;
    return buf_append(out, p, n);
}

static int
wire_put_bytes32(struct buf *out, const void *p, size_t n)
{
    if (n > UINT32_MAX || buf_put_u32(out, (uint32_t)n) < 0)
        return -1;
    return buf_append(out, p, n);
}

/* Restores out to len start when rc < 0; returns rc. */
static int
wire_undo(struct buf *out, size_t start, int rc)
{
    if (rc < 0)
        out->len = start;
    return rc;
}

static int
wire_at_end(const struct reader *r, const char **errstr)
{
    if (r->err)
        return wire_fail(errstr, "truncated payload");
    if (reader_left(r) != 0)
        return wire_fail(errstr, "trailing bytes in payload");
    return 0;
}

/* ---- frames ---- */

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
static enum wire_rd
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
wire_reader_bad_version(const struct wire_reader *r)
{
    if (r->err != WIRE_RD_BAD_VERSION || r->in.len - r->pos < 3)
        return -1;
    return r->in.data[r->pos + 2];
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

/* ---- frame reader ---- */

/* A reader's buffer larger than this is freed whenever it runs empty, so
 * an idle connection keeps no large allocation after a large frame. */
#define WIRE_READER_KEEP    (64u << 10)

void
wire_reader_init(struct wire_reader *r, size_t max_payload)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->in, 0);
    wire_reader_set_max(r, max_payload);
}

void
wire_reader_fini(struct wire_reader *r)
{
    buf_fini(&r->in);
    r->pos = 0;
}

void
wire_reader_set_max(struct wire_reader *r, size_t max_payload)
{
    if (max_payload > WIRE_MAX_PAYLOAD)
        max_payload = WIRE_MAX_PAYLOAD;
    r->max_payload = max_payload;
    r->in.max = WIRE_HEADER_LEN + max_payload;
}

size_t
wire_reader_buffered(const struct wire_reader *r)
{
    return r->in.len - r->pos;
}

size_t
wire_reader_room(const struct wire_reader *r)
{
    size_t have = wire_reader_buffered(r);

    if (r->err != WIRE_RD_OK || have >= r->in.max)
        return 0;
    return r->in.max - have;
}

enum wire_rd
wire_reader_feed(struct wire_reader *r, const void *p, size_t len)
{
    if (r->err != WIRE_RD_OK)
        return r->err;
    if (len == 0)
        return WIRE_RD_OK;
    if (len > wire_reader_room(r))
        return r->err = WIRE_RD_OVERFLOW;
    if (r->pos > 0) {           /* move the unread tail to the front */
        buf_consume(&r->in, r->pos);
        r->pos = 0;
    }
    /* room() was checked against max, so this append cannot fail */
    if (buf_append(&r->in, p, len) < 0)
        return r->err = WIRE_RD_OVERFLOW;
    return WIRE_RD_OK;
}

enum wire_rd
wire_reader_next(struct wire_reader *r, struct wire_frame *f)
{
    if (r->err != WIRE_RD_OK)
        return r->err;
    if (r->pos == r->in.len) {
        if (r->in.cap > WIRE_READER_KEEP) {
            size_t max = r->in.max;
            buf_fini(&r->in);
            buf_init(&r->in, max);
        }
        r->in.len = 0;
        r->pos = 0;
        return WIRE_RD_NEED_MORE;
    }
    enum wire_rd rc = wire_frame_check(r->in.data + r->pos,
                                       r->in.len - r->pos, r->max_payload, f);
    if (rc == WIRE_RD_OK)
        r->pos += WIRE_HEADER_LEN + f->len;
    else if (rc != WIRE_RD_NEED_MORE)
        r->err = rc;
    return rc;
}

/* Appends in[0..len) to out compressed as c says (NULL: as is). */
static int
wire_compress(struct buf *out, const void *in, size_t len,
              const struct wire_codec *c)
{
    if (c == NULL || c->flag == 0)
        return buf_append(out, in, len);
    if (c->flag == WIRE_F_ZLIB)
        return c->level > 0 ? compress_deflate(out, in, len, c->level) : -1;
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

/* ---- handshake and control payloads ---- */

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

/* ---- BATCH encoder ---- */

/*
 * The sources buf starts with room for the batch header (seq, n_sources);
 * the records buf starts with `head` free bytes. finish copies the header,
 * the sources and n_records into the end of that room, so the plain payload
 * is one contiguous run ending with the records, which are never copied
 * (they were a second 0.5-1 MiB buffer per encoder: BENCHMARKS.md "Shipper
 * peak RSS: the window and the encoder copy"). Sources that do not fit are
 * followed by a copy of the records, as before, and more room next time.
 */
void
wire_batch_enc_init(struct wire_batch_enc *e, size_t raw_max)
{
    if (raw_max > WIRE_MAX_INFLATED)
        raw_max = WIRE_MAX_INFLATED;
    buf_init(&e->sources, raw_max + 4);
    /* the room before the records never needs more than the sources' cap
     * and the count, rounded up (wire_batch_enc_finish) */
    buf_init(&e->records, raw_max + 4 + WIRE_BATCH_ENC_HEAD + 4 + raw_max);
    e->raw_max = raw_max;
    e->head = e->head_next = WIRE_BATCH_ENC_HEAD;
    wire_batch_enc_reset(e);
}

void
wire_batch_enc_fini(struct wire_batch_enc *e)
{
    buf_fini(&e->sources);
    buf_fini(&e->records);
    e->n_sources = 0;
    e->n_records = 0;
}

void
wire_batch_enc_reset(struct wire_batch_enc *e)
{
    static const uint8_t zero[WIRE_BATCH_HDR_LEN];

    buf_reset(&e->sources);
    buf_reset(&e->records);
    e->n_sources = 0;
    e->n_records = 0;
    /* raw_max >= header is not guaranteed; a tiny encoder just stays full */
    (void)buf_append(&e->sources, zero, sizeof(zero));
    e->head = e->head_next;
    if (buf_reserve(&e->records, e->head) < 0)
        e->head = 0;    /* cannot happen within the cap: copy at finish */
    e->records.len = e->head;
}

size_t
wire_batch_enc_raw_len(const struct wire_batch_enc *e)
{
    return WIRE_BATCH_HDR_LEN + 4 + (e->sources.len - WIRE_BATCH_HDR_LEN) +
           (e->records.len - e->head);
}

static int
wire_batch_enc_fits(const struct wire_batch_enc *e, size_t n)
{
    if (e->sources.len < WIRE_BATCH_HDR_LEN)
        return 0;
    size_t raw = wire_batch_enc_raw_len(e);
    return raw <= e->raw_max && n <= e->raw_max - raw;
}

int
wire_batch_enc_add_source(struct wire_batch_enc *e, const struct wire_source *s)
{
    if (e->n_sources >= WIRE_MAX_SOURCES ||
        !wire_str_is_valid(&s->id, WIRE_MAX_ID_LEN) ||
        !wire_str_is_valid(&s->name, WIRE_STR16_MAX) ||
        !wire_str_is_valid(&s->image, WIRE_STR16_MAX) ||
        !wire_str_is_valid(&s->labels, WIRE_MAX_LABELS_LEN))
        return -1;
    size_t n = WIRE_SOURCE_MIN_LEN + s->id.len + s->name.len + s->image.len +
               s->labels.len;
    if (!wire_batch_enc_fits(e, n))
        return -1;
    size_t start = e->sources.len;
    if (wire_put_str16(&e->sources, s->id.p, s->id.len) < 0 ||
        wire_put_str16(&e->sources, s->name.p, s->name.len) < 0 ||
        wire_put_str16(&e->sources, s->image.p, s->image.len) < 0 ||
        wire_put_bytes32(&e->sources, s->labels.p, s->labels.len) < 0 ||
        buf_put_u64(&e->sources, s->start) < 0)
        return wire_undo(&e->sources, start, -1);
    return (int)e->n_sources++;
}

int
wire_batch_enc_add_record(struct wire_batch_enc *e, const struct wire_record *r)
{
    if (e->n_records >= WIRE_MAX_RECORDS || r->source >= e->n_sources ||
        r->stream > LOGREC_STDERR || (r->flags & ~LOGREC_F_MASK) != 0 ||
        r->msg.len > WIRE_MAX_MSG_LEN)
        return -1;
    if (!wire_batch_enc_fits(e, WIRE_RECORD_MIN_LEN + r->msg.len))
        return -1;
    /* per-line hot path: one reservation, then fixed-offset stores */
    struct buf *b = &e->records;
    if (buf_reserve(b, WIRE_RECORD_MIN_LEN + r->msg.len) < 0)
        return -1;
    uint8_t *q = b->data + b->len;
    le32_store(q, r->source);
    q[4] = r->stream;
    q[5] = r->flags;
    le64_store(q + 6, (uint64_t)r->time_ns);
    le64_store(q + 14, r->offset);
    le32_store(q + 22, (uint32_t)r->msg.len);
    if (r->msg.len > 0)
        memcpy(q + WIRE_RECORD_MIN_LEN, r->msg.p, r->msg.len);
    b->len += WIRE_RECORD_MIN_LEN + r->msg.len;
    e->n_records++;
    return 0;
}

int
wire_batch_enc_finish(struct wire_batch_enc *e, uint64_t seq, struct buf *out,
                      int zlevel)
{
    struct wire_codec c = { zlevel > 0 ? WIRE_F_ZLIB : 0, zlevel };

    return wire_batch_enc_finish_codec(e, seq, out, &c);
}

int
wire_batch_enc_finish_codec(struct wire_batch_enc *e, uint64_t seq,
                            struct buf *out, const struct wire_codec *c)
{
    struct buf *s = &e->sources;
    size_t slen = s->len;

    if (slen < WIRE_BATCH_HDR_LEN)
        return -1;
    le64_store(s->data, seq);
    le32_store(s->data + 8, e->n_sources);
    const uint8_t *recs = e->records.data + e->head;
    size_t rlen = e->records.len - e->head;
    if (slen + 4 <= e->head) {
        /* in place: header, sources and count just before the records */
        uint8_t *p = e->records.data + e->head - (slen + 4);
        memcpy(p, s->data, slen);
        le32_store(p + slen, e->n_records);
        return wire_frame_encode_codec(out, WIRE_BATCH, p, slen + 4 + rlen,
                                       c);
    }
    /* the next batch of this encoder keeps room for as many sources */
    e->head_next = (slen + 4 + WIRE_BATCH_ENC_HEAD) & ~(size_t)1023;
    if (buf_put_u32(s, e->n_records) < 0 || buf_append(s, recs, rlen) < 0) {
        s->len = slen;
        return -1;
    }
    int rc = wire_frame_encode_codec(out, WIRE_BATCH, s->data, s->len, c);
    s->len = slen;
    return rc;
}

/* ---- BATCH decoder ---- */

static int
wire_source_decode(struct reader *r, struct wire_source *s,
                   const char **errstr)
{
    if (wire_get_str16(r, WIRE_MAX_ID_LEN, &s->id, errstr) < 0 ||
        wire_get_str16(r, WIRE_STR16_MAX, &s->name, errstr) < 0 ||
        wire_get_str16(r, WIRE_STR16_MAX, &s->image, errstr) < 0 ||
        wire_get_bytes32(r, WIRE_MAX_LABELS_LEN, 1, &s->labels, errstr) < 0)
        return -1;
    if (reader_u64(r, &s->start) < 0)
        return wire_fail(errstr, "truncated source start");
    return 0;
}

/* Reads one record without checking it against the source table. */
static int
wire_record_read(struct reader *r, struct wire_record *rec,
                 const char **errstr)
{
    uint64_t t;

    if (reader_u32(r, &rec->source) < 0 || reader_u8(r, &rec->stream) < 0 ||
        reader_u8(r, &rec->flags) < 0 || reader_u64(r, &t) < 0 ||
        reader_u64(r, &rec->offset) < 0)
        return wire_fail(errstr, "truncated record");
    rec->time_ns = (int64_t)t;
    return wire_get_bytes32(r, WIRE_MAX_MSG_LEN, 0, &rec->msg, errstr);
}

static int
wire_records_check(struct reader *r, uint32_t n_records, uint32_t n_sources,
                   const char **errstr)
{
    struct wire_record rec;

    if (n_records > WIRE_MAX_RECORDS)
        return wire_fail(errstr, "too many records");
    if ((uint64_t)n_records * WIRE_RECORD_MIN_LEN > reader_left(r))
        return wire_fail(errstr, "truncated batch records");
    for (uint32_t i = 0; i < n_records; i++) {
        if (wire_record_read(r, &rec, errstr) < 0)
            return -1;
        if (rec.source >= n_sources)
            return wire_fail(errstr, "record source index out of range");
        if (rec.stream > LOGREC_STDERR)
            return wire_fail(errstr, "bad record stream");
        if ((rec.flags & ~LOGREC_F_MASK) != 0)
            return wire_fail(errstr, "unknown record flags");
    }
    return wire_at_end(r, errstr);
}

int
wire_batch_decode(const uint8_t *p, size_t len, struct wire_batch *b,
                  const char **errstr)
{
    struct reader r;
    uint64_t seq;
    uint32_t n_sources, n_records;
    struct wire_source *sources = NULL;

    reader_init(&r, p, len);
    if (reader_u64(&r, &seq) < 0 || reader_u32(&r, &n_sources) < 0)
        return wire_fail(errstr, "truncated batch header");
    if (n_sources > WIRE_MAX_SOURCES)
        return wire_fail(errstr, "too many sources");
    if ((uint64_t)n_sources * WIRE_SOURCE_MIN_LEN > reader_left(&r))
        return wire_fail(errstr, "truncated batch sources");
    if (n_sources > 0)
        sources = xcalloc(n_sources, sizeof(*sources));
    for (uint32_t i = 0; i < n_sources; i++) {
        if (wire_source_decode(&r, &sources[i], errstr) < 0)
            goto fail;
    }
    if (reader_u32(&r, &n_records) < 0) {
        wire_fail(errstr, "truncated batch record count");
        goto fail;
    }
    size_t records_at = r.pos;
    if (wire_records_check(&r, n_records, n_sources, errstr) < 0)
        goto fail;
    b->seq = seq;
    b->n_sources = n_sources;
    b->sources = sources;
    b->n_records = n_records;
    reader_init(&b->rd, p + records_at, len - records_at);
    return 0;
fail:
    free(sources);
    return -1;
}

int
wire_batch_next(struct wire_batch *b, struct wire_record *r)
{
    if (b->rd.err || reader_left(&b->rd) == 0)
        return 0;
    if (wire_record_read(&b->rd, r, NULL) < 0)
        return 0;
    return 1;
}

void
wire_batch_fini(struct wire_batch *b)
{
    free(b->sources);
    memset(b, 0, sizeof(*b));
}

/* ---- METRICS ---- */

void
wire_metrics_enc_init(struct wire_metrics_enc *e, size_t raw_max)
{
    if (raw_max > WIRE_MAX_INFLATED)
        raw_max = WIRE_MAX_INFLATED;
    buf_init(&e->samples, raw_max);
    wire_metrics_enc_reset(e);
}

void
wire_metrics_enc_fini(struct wire_metrics_enc *e)
{
    buf_fini(&e->samples);
    e->n_samples = 0;
}

void
wire_metrics_enc_reset(struct wire_metrics_enc *e)
{
    static const uint8_t zero[WIRE_METRICS_HDR_LEN];

    buf_reset(&e->samples);
    e->n_samples = 0;
    (void)buf_append(&e->samples, zero, sizeof(zero));
}

int
wire_metrics_enc_add(struct wire_metrics_enc *e, const char *name,
                     const char *container, const char *label, double value)
{
    struct buf *b = &e->samples;
    size_t start = b->len;
    uint64_t bits;

    if (e->n_samples >= WIRE_MAX_SAMPLES || b->len < WIRE_METRICS_HDR_LEN ||
        name[0] == '\0')
        return -1;
    memcpy(&bits, &value, sizeof(bits));
    if (wire_put_str16(b, name, strlen(name)) < 0 ||
        wire_put_str16(b, container, strlen(container)) < 0 ||
        wire_put_str16(b, label, strlen(label)) < 0 ||
        buf_put_u64(b, bits) < 0)
        return wire_undo(b, start, -1);
    e->n_samples++;
    return 0;
}

int
wire_metrics_enc_finish(struct wire_metrics_enc *e, uint64_t seq,
                        int64_t time_ns, struct buf *out, int zlevel)
{
    struct wire_codec c = { zlevel > 0 ? WIRE_F_ZLIB : 0, zlevel };

    return wire_metrics_enc_finish_codec(e, seq, time_ns, out, &c);
}

int
wire_metrics_enc_finish_codec(struct wire_metrics_enc *e, uint64_t seq,
                              int64_t time_ns, struct buf *out,
                              const struct wire_codec *c)
{
    struct buf *b = &e->samples;

    if (b->len < WIRE_METRICS_HDR_LEN)
        return -1;
    le64_store(b->data, seq);
    le64_store(b->data + 8, (uint64_t)time_ns);
    le32_store(b->data + 16, e->n_samples);
    return wire_frame_encode_codec(out, WIRE_METRICS, b->data, b->len, c);
}

static int
wire_sample_read(struct reader *r, struct wire_sample *s, const char **errstr)
{
    uint64_t bits;

    if (wire_get_str16(r, WIRE_STR16_MAX, &s->name, errstr) < 0 ||
        wire_get_str16(r, WIRE_STR16_MAX, &s->container, errstr) < 0 ||
        wire_get_str16(r, WIRE_STR16_MAX, &s->label, errstr) < 0)
        return -1;
    if (reader_u64(r, &bits) < 0)
        return wire_fail(errstr, "truncated sample value");
    memcpy(&s->value, &bits, sizeof(bits));
    return 0;
}

int
wire_metrics_decode(const uint8_t *p, size_t len, struct wire_metrics *m,
                    const char **errstr)
{
    struct reader r;
    uint64_t seq, t;
    uint32_t n;
    struct wire_sample s;

    reader_init(&r, p, len);
    if (reader_u64(&r, &seq) < 0 || reader_u64(&r, &t) < 0 ||
        reader_u32(&r, &n) < 0)
        return wire_fail(errstr, "truncated metrics header");
    if (n > WIRE_MAX_SAMPLES)
        return wire_fail(errstr, "too many samples");
    if ((uint64_t)n * WIRE_SAMPLE_MIN_LEN > reader_left(&r))
        return wire_fail(errstr, "truncated metrics samples");
    size_t samples_at = r.pos;
    for (uint32_t i = 0; i < n; i++) {
        if (wire_sample_read(&r, &s, errstr) < 0)
            return -1;
        if (s.name.len == 0)
            return wire_fail(errstr, "empty metric name");
    }
    if (wire_at_end(&r, errstr) < 0)
        return -1;
    m->seq = seq;
    m->time_ns = (int64_t)t;
    m->n_samples = n;
    reader_init(&m->rd, p + samples_at, len - samples_at);
    return 0;
}

int
wire_metrics_next(struct wire_metrics *m, struct wire_sample *s)
{
    if (m->rd.err || reader_left(&m->rd) == 0)
        return 0;
    if (wire_sample_read(&m->rd, s, NULL) < 0)
        return 0;
    return 1;
}
