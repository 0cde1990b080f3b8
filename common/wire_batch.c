/* SPDX-License-Identifier: MIT */
/*
 * wire_batch: BATCH payloads (PROTOCOL.md): the encoder (sources and
 * records into one contiguous payload, compressed into a frame) and the
 * decoder, which validates the whole payload (every source and record
 * against its limits) before wire_batch_next walks it unchecked.
 */
#include "common/wire.h"

#include <stdlib.h>
#include <string.h>

#include "common/wire_internal.h"
#include "common/xmalloc.h"

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

/* The record at the front of r if it is whole (fixed fields, then a
 * message of at most WIRE_MAX_MSG_LEN bytes), read by fixed offsets and
 * r moved past it: 1; else 0, r untouched (the caller takes
 * wire_record_read, which says what is wrong). The same record as
 * wire_record_read, which costs a call and a bounds check per field
 * (~160 instructions a record, twice per record: the batch's check on
 * the decoding thread, its walk on the loop); wire_batch_test compares
 * the two. */
static inline int
wire_record_fast(struct reader *r, struct wire_record *rec)
{
    size_t left = r->len - r->pos;

    if (r->err || left < WIRE_RECORD_MIN_LEN)
        return 0;
    const uint8_t *p = r->p + r->pos;
    uint32_t n = le32_load(p + 22);
    if (n > WIRE_MAX_MSG_LEN || n > left - WIRE_RECORD_MIN_LEN)
        return 0;
    rec->source = le32_load(p);
    rec->stream = p[4];
    rec->flags = p[5];
    rec->time_ns = (int64_t)le64_load(p + 6);
    rec->offset = le64_load(p + 14);
    rec->msg.p = (const char *)p + WIRE_RECORD_MIN_LEN;
    rec->msg.len = n;
    r->pos += WIRE_RECORD_MIN_LEN + (size_t)n;
    return 1;
}

/* Every record of the batch read and checked against the source table;
 * is_ref: wire_record_read for each (the reference, for tests). */
static int
wire_records_check(struct reader *r, uint32_t n_records, uint32_t n_sources,
                   int is_ref, const char **errstr)
{
    struct wire_record rec;

    if (n_records > WIRE_MAX_RECORDS)
        return wire_fail(errstr, "too many records");
    if ((uint64_t)n_records * WIRE_RECORD_MIN_LEN > reader_left(r))
        return wire_fail(errstr, "truncated batch records");
    for (uint32_t i = 0; i < n_records; i++) {
        if ((is_ref || !wire_record_fast(r, &rec)) &&
            wire_record_read(r, &rec, errstr) < 0)
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

static int
wire_batch_decode_with(const uint8_t *p, size_t len, struct wire_batch *b,
                       int is_ref, const char **errstr)
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
    if (wire_records_check(&r, n_records, n_sources, is_ref, errstr) < 0)
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
wire_batch_decode(const uint8_t *p, size_t len, struct wire_batch *b,
                  const char **errstr)
{
    return wire_batch_decode_with(p, len, b, 0, errstr);
}

int
wire_batch_decode_ref(const uint8_t *p, size_t len, struct wire_batch *b,
                      const char **errstr)
{
    return wire_batch_decode_with(p, len, b, 1, errstr);
}

int
wire_batch_next(struct wire_batch *b, struct wire_record *r)
{
    if (wire_record_fast(&b->rd, r))
        return 1;
    return wire_batch_next_ref(b, r);
}

int
wire_batch_next_ref(struct wire_batch *b, struct wire_record *r)
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
