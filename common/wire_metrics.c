/* SPDX-License-Identifier: MIT */
/*
 * wire_metrics: METRICS payloads (PROTOCOL.md): the encoder of samples
 * and the decoder, which validates every sample before wire_metrics_next
 * walks them unchecked.
 */
#include "common/wire.h"

#include <string.h>

#include "common/wire_internal.h"

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
