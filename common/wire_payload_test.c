/* SPDX-License-Identifier: MIT */
/*
 * wire_payload_test: round trips of the BATCH and METRICS payload codecs
 * and every rejection their decoders promise (truncations, out-of-range
 * indexes, bad stream and flags, NUL bytes, limits checked before
 * allocating); split from wire_test.c (frames and control payloads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "common/compress.h"
#include "common/hmac.h"
#include "common/wire.h"
#include "tests/support/wirebuild.h"
#include "tests/support/wiretestfx.h"

/* ---- BATCH ---- */

static void
fill_batch(struct wire_batch_enc *e)
{
    struct wire_source s = { str_of("abc123"), str_of("web"),
                             str_of("nginx:1.25"), str_of("{\"a\":\"b\"}"),
                             99 };
    struct wire_source s2 = { str_of("def456"), str_of("db"),
                              str_of("postgres"), str_of(""),
                              UINT64_C(0x0102030405060708) };
    assert_int_equal(wire_batch_enc_add_source(e, &s), 0);
    assert_int_equal(wire_batch_enc_add_source(e, &s2), 1);
    for (uint32_t i = 0; i < 10; i++) {
        struct wire_record r = { i % 2, (uint8_t)(i % 2), LOGREC_F_RAW,
                                 1700000000000000000ll + i, 100 + i,
                                 str_of(i == 3 ? "" : "a log line") };
        assert_int_equal(wire_batch_enc_add_record(e, &r), 0);
    }
}

static void
test_batch_roundtrip(void **state)
{
    struct fixture *fx = *state;
    struct wire_batch_enc e;
    struct wire_batch b;
    struct wire_frame f;
    struct wire_record r;
    const char *err;
    const uint8_t *p;
    size_t len;

    wire_batch_enc_init(&e, 1u << 20);
    fill_batch(&e);
    size_t raw = wire_batch_enc_raw_len(&e);
    for (int z = 0; z <= 1; z++) {
        buf_reset(&fx->out);
        assert_int_equal(wire_batch_enc_finish(&e, 42, &fx->out, z), 0);
        assert_int_equal(decode_one(&fx->out, &f, &err), 1);
        assert_int_equal(f.type, WIRE_BATCH);
        assert_int_equal(wire_frame_payload(&f, &fx->scratch, &p, &len, &err),
                         0);
        assert_int_equal(len, raw);
        assert_int_equal(wire_batch_decode(p, len, &b, &err), 0);
        assert_int_equal(b.seq, 42);
        assert_int_equal(b.n_sources, 2);
        assert_int_equal(b.n_records, 10);
        assert_int_equal(b.sources[0].id.len, 6);
        assert_memory_equal(b.sources[0].labels.p, "{\"a\":\"b\"}", 9);
        assert_int_equal(b.sources[1].labels.len, 0);
        assert_int_equal(b.sources[0].start, 99);
        assert_true(b.sources[1].start == UINT64_C(0x0102030405060708));
        uint32_t i = 0;
        while (wire_batch_next(&b, &r) == 1) {
            assert_int_equal(r.source, i % 2);
            assert_int_equal(r.stream, i % 2);
            assert_int_equal(r.flags, LOGREC_F_RAW);
            assert_int_equal(r.time_ns, 1700000000000000000ll + i);
            assert_int_equal(r.offset, 100 + i);
            assert_int_equal(r.msg.len, i == 3 ? 0 : 10);
            i++;
        }
        assert_int_equal(i, 10);
        wire_batch_fini(&b);
        assert_null(b.sources);
    }
    wire_batch_enc_reset(&e);
    assert_int_equal(wire_batch_enc_raw_len(&e), 16);
    buf_reset(&fx->out);
    assert_int_equal(wire_batch_enc_finish(&e, 1, &fx->out, 0), 0);
    assert_int_equal(wire_batch_decode(fx->out.data + WIRE_HEADER_LEN, 16, &b,
                                       &err), 0);
    assert_int_equal(b.n_records, 0);
    assert_int_equal(wire_batch_next(&b, &r), 0);
    wire_batch_fini(&b);
    wire_batch_enc_fini(&e);
}

/* The reference layout of a BATCH payload (PROTOCOL.md), built field by
 * field: what the encoder's in-place and copying paths must both give. */
static void
ref_batch(struct buf *b, uint64_t seq, const struct wire_source *src,
          uint32_t n_src, const struct wire_record *rec, uint32_t n_rec)
{
    buf_reset(b);
    assert_int_equal(buf_put_u64(b, seq), 0);
    assert_int_equal(buf_put_u32(b, n_src), 0);
    for (uint32_t i = 0; i < n_src; i++) {
        const struct wire_source *s = &src[i];
        assert_int_equal(buf_put_u16(b, (uint16_t)s->id.len), 0);
        assert_int_equal(buf_append(b, s->id.p, s->id.len), 0);
        assert_int_equal(buf_put_u16(b, (uint16_t)s->name.len), 0);
        assert_int_equal(buf_append(b, s->name.p, s->name.len), 0);
        assert_int_equal(buf_put_u16(b, (uint16_t)s->image.len), 0);
        assert_int_equal(buf_append(b, s->image.p, s->image.len), 0);
        assert_int_equal(buf_put_u32(b, (uint32_t)s->labels.len), 0);
        assert_int_equal(buf_append(b, s->labels.p, s->labels.len), 0);
        assert_int_equal(buf_put_u64(b, s->start), 0);
    }
    assert_int_equal(buf_put_u32(b, n_rec), 0);
    for (uint32_t i = 0; i < n_rec; i++) {
        const struct wire_record *r = &rec[i];
        assert_int_equal(buf_put_u32(b, r->source), 0);
        assert_int_equal(buf_put_u8(b, r->stream), 0);
        assert_int_equal(buf_put_u8(b, r->flags), 0);
        assert_int_equal(buf_put_u64(b, (uint64_t)r->time_ns), 0);
        assert_int_equal(buf_put_u64(b, r->offset), 0);
        assert_int_equal(buf_put_u32(b, (uint32_t)r->msg.len), 0);
        assert_int_equal(buf_append(b, r->msg.p, r->msg.len), 0);
    }
}

/* One encoder over batches whose source tables are small (finished in
 * place), larger than the room kept before the records (copied; the next
 * batch keeps more room) and small again: every plain payload equals the
 * reference byte for byte, and raw_len is its length. A batch whose sources
 * fit the room kept is finished in place: the sources buffer neither grows
 * nor has the records copied behind it (its spare bytes stay as poisoned). */
static void
test_batch_in_place_equals_reference(void **state)
{
    struct fixture *fx = *state;
    static const uint32_t n_src_of[] = { 1, 2, 40, 40, 3, 0, 60, 1 };
    struct wire_source src[60];
    struct wire_record rec[50];
    char ids[60][16], labels[60][64];
    struct wire_batch_enc e;
    struct buf ref;
    uint64_t x = 12345;

    buf_init(&ref, 1u << 20);
    wire_batch_enc_init(&e, 1u << 20);
    for (size_t k = 0; k < sizeof(n_src_of) / sizeof(n_src_of[0]); k++) {
        uint32_t n_src = n_src_of[k], n_rec = n_src > 0 ? 50 : 0;
        for (uint32_t i = 0; i < n_src; i++) {
            snprintf(ids[i], sizeof(ids[i]), "c%zu-%u", k, i);
            snprintf(labels[i], sizeof(labels[i]),
                     "{\"app\":\"a-rather-long-label-value-%u\"}", i);
            struct wire_source s = { str_of(ids[i]), str_of("name"),
                                     str_of("image:1"), str_of(labels[i]),
                                     k * 1000 + i };
            src[i] = s;
            assert_int_equal(wire_batch_enc_add_source(&e, &s), (int)i);
        }
        for (uint32_t i = 0; i < n_rec; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            struct wire_record r = { (uint32_t)(x >> 33) % n_src,
                                     (uint8_t)(x & 1), 0, (int64_t)(x >> 2),
                                     i, str_of(i % 7 == 0 ? "" :
                                               "GET /x 200 a log line") };
            rec[i] = r;
            assert_int_equal(wire_batch_enc_add_record(&e, &r), 0);
        }
        ref_batch(&ref, 1000 + k, src, n_src, rec, n_rec);
        assert_int_equal(wire_batch_enc_raw_len(&e), ref.len);
        size_t cap = e.sources.cap, spare = cap - e.sources.len;
        memset(e.sources.data + e.sources.len, 0xa5, spare);
        buf_reset(&fx->out);
        assert_int_equal(wire_batch_enc_finish(&e, 1000 + k, &fx->out, 0), 0);
        if (k != 2 && k != 6) {     /* those pass the room kept (1, 3 KiB) */
            assert_int_equal(e.sources.cap, cap);
            for (size_t i = 0; i < spare; i++)
                assert_int_equal(e.sources.data[e.sources.len + i], 0xa5);
        }
        assert_int_equal(fx->out.len, WIRE_HEADER_LEN + ref.len);
        assert_memory_equal(fx->out.data + WIRE_HEADER_LEN, ref.data,
                            ref.len);
        wire_batch_enc_reset(&e);
    }
    wire_batch_enc_fini(&e);
    buf_fini(&ref);
}

/* A plain encoded batch payload (no frame) in fx->out. */
static void
plain_batch(struct fixture *fx)
{
    struct wire_batch_enc e;

    wire_batch_enc_init(&e, 1u << 20);
    fill_batch(&e);
    buf_reset(&fx->out);
    assert_int_equal(wire_batch_enc_finish(&e, 7, &fx->out, 0), 0);
    buf_consume(&fx->out, WIRE_HEADER_LEN);
    wire_batch_enc_fini(&e);
}

static void
test_batch_every_truncation_rejected(void **state)
{
    struct fixture *fx = *state;
    struct wire_batch b;
    const char *err;

    plain_batch(fx);
    for (size_t n = 0; n < fx->out.len; n++) {
        err = NULL;
        assert_int_equal(wire_batch_decode(fx->out.data, n, &b, &err), -1);
        assert_non_null(err);
    }
    assert_int_equal(buf_put_u8(&fx->out, 0), 0);
    assert_int_equal(wire_batch_decode(fx->out.data, fx->out.len, &b, &err),
                     -1);
    assert_string_equal(err, "trailing bytes in payload");
}

/* Offsets inside plain_batch(): header 12, source 0 = 2+6+2+3+2+10+4+9+8. */
#define SRC0_AT   12u
#define SRC0_LEN  46u
#define SRC1_LEN  (2u + 6 + 2 + 2 + 2 + 8 + 4 + 8)
#define REC0_AT   (SRC0_AT + SRC0_LEN + SRC1_LEN + 4)

static void
test_batch_bad_source_index(void **state)
{
    struct fixture *fx = *state;
    struct wire_batch b;
    const char *err;

    plain_batch(fx);
    assert_int_equal(wire_batch_decode(fx->out.data, fx->out.len, &b, &err),
                     0);
    wire_batch_fini(&b);
    le32_store(fx->out.data + REC0_AT, 2);
    assert_int_equal(wire_batch_decode(fx->out.data, fx->out.len, &b, &err),
                     -1);
    assert_string_equal(err, "record source index out of range");
}

static void
test_batch_bad_stream_and_flags(void **state)
{
    struct fixture *fx = *state;
    struct wire_batch b;
    const char *err;

    plain_batch(fx);
    fx->out.data[REC0_AT + 4] = 2;
    assert_int_equal(wire_batch_decode(fx->out.data, fx->out.len, &b, &err),
                     -1);
    assert_string_equal(err, "bad record stream");
    fx->out.data[REC0_AT + 4] = 0;
    fx->out.data[REC0_AT + 5] = 0x08;
    assert_int_equal(wire_batch_decode(fx->out.data, fx->out.len, &b, &err),
                     -1);
    assert_string_equal(err, "unknown record flags");
}

static void
test_batch_nul_in_strings(void **state)
{
    struct fixture *fx = *state;
    struct wire_batch b;
    const char *err;

    /* id, name, image, labels of source 0 each get a NUL in turn */
    size_t at[] = { SRC0_AT + 2, SRC0_AT + 10, SRC0_AT + 15,
                    SRC0_AT + 29 };
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        plain_batch(fx);
        fx->out.data[at[i]] = 0;
        assert_int_equal(wire_batch_decode(fx->out.data, fx->out.len, &b,
                                           &err), -1);
        assert_string_equal(err, "NUL byte in string");
    }
}

static void
test_batch_limits_before_allocation(void **state)
{
    uint8_t p[12 + 4 + 4];
    struct wire_batch b;
    const char *err;

    (void)state;
    memset(p, 0, sizeof(p));
    le32_store(p + 8, WIRE_MAX_SOURCES + 1);
    assert_int_equal(wire_batch_decode(p, sizeof(p), &b, &err), -1);
    assert_string_equal(err, "too many sources");
    /* a claimed 4096 sources in 8 bytes is refused before xcalloc */
    le32_store(p + 8, WIRE_MAX_SOURCES);
    assert_int_equal(wire_batch_decode(p, sizeof(p), &b, &err), -1);
    assert_string_equal(err, "truncated batch sources");
    le32_store(p + 8, 0);
    le32_store(p + 12, WIRE_MAX_RECORDS + 1);
    assert_int_equal(wire_batch_decode(p, 16, &b, &err), -1);
    assert_string_equal(err, "too many records");
    le32_store(p + 12, 1);
    assert_int_equal(wire_batch_decode(p, 16, &b, &err), -1);
}

static void
test_batch_long_id_rejected(void **state)
{
    struct fixture *fx = *state;
    char id[WIRE_MAX_ID_LEN + 2];
    struct wire_batch_enc e;
    struct wire_source s = { { id, WIRE_MAX_ID_LEN + 1 }, str_of("n"),
                             str_of("i"), str_of(""), 0 };
    struct wire_batch b;
    const char *err;

    memset(id, 'a', sizeof(id));
    wire_batch_enc_init(&e, 1u << 20);
    assert_int_equal(wire_batch_enc_add_source(&e, &s), -1);
    s.id.len = WIRE_MAX_ID_LEN;
    assert_int_equal(wire_batch_enc_add_source(&e, &s), 0);
    assert_int_equal(wire_batch_enc_finish(&e, 1, &fx->out, 0), 0);
    wire_batch_enc_fini(&e);
    /* patch the id length to 129 by hand: decoder refuses it */
    le16_store(fx->out.data + WIRE_HEADER_LEN + 12, WIRE_MAX_ID_LEN + 1);
    assert_int_equal(wire_batch_decode(fx->out.data + WIRE_HEADER_LEN,
                                       fx->out.len - WIRE_HEADER_LEN, &b,
                                       &err), -1);
    assert_string_equal(err, "string too long");
}

static void
test_batch_enc_rejects_bad_items(void **state)
{
    struct wire_batch_enc e;
    struct wire_source s = { str_of("id"), { "a\0b", 3 }, str_of("i"),
                             str_of(""), 0 };
    struct wire_record r = { 0, 0, 0, 1, 1, str_of("m") };

    (void)state;
    wire_batch_enc_init(&e, 1u << 20);
    assert_int_equal(wire_batch_enc_add_source(&e, &s), -1);
    assert_int_equal(wire_batch_enc_add_record(&e, &r), -1); /* no source */
    s.name = str_of("ab");
    assert_int_equal(wire_batch_enc_add_source(&e, &s), 0);
    r.stream = 2;
    assert_int_equal(wire_batch_enc_add_record(&e, &r), -1);
    r.stream = 1;
    r.flags = 0x10;
    assert_int_equal(wire_batch_enc_add_record(&e, &r), -1);
    r.flags = LOGREC_F_MASK;
    assert_int_equal(wire_batch_enc_add_record(&e, &r), 0);
    assert_int_equal(e.n_records, 1);
    wire_batch_enc_fini(&e);
}

static void
test_batch_enc_raw_max(void **state)
{
    struct wire_batch_enc e;
    struct wire_source s = { str_of("id"), str_of("n"), str_of("i"),
                             str_of(""), 0 };
    char msg[100];
    struct wire_record r = { 0, 0, 0, 1, 1, { msg, sizeof(msg) } };
    int n = 0;

    (void)state;
    memset(msg, 'x', sizeof(msg));
    wire_batch_enc_init(&e, 1000);
    assert_int_equal(wire_batch_enc_add_source(&e, &s), 0);
    while (wire_batch_enc_add_record(&e, &r) == 0)
        n++;
    assert_true(n > 0);
    assert_true(wire_batch_enc_raw_len(&e) <= 1000);
    assert_true(wire_batch_enc_raw_len(&e) + 126 > 1000);
    assert_int_equal(e.n_records, (uint32_t)n);
    wire_batch_enc_fini(&e);
}

/* ---- METRICS ---- */

static void
test_metrics_roundtrip(void **state)
{
    struct fixture *fx = *state;
    struct wire_metrics_enc e;
    struct wire_metrics m;
    struct wire_sample s;
    struct wire_frame f;
    const char *err;
    const uint8_t *p;
    size_t len;

    wire_metrics_enc_init(&e, 1u << 20);
    assert_int_equal(wire_metrics_enc_add(&e, "host.cpu.user_pct", "", "",
                                          12.5), 0);
    assert_int_equal(wire_metrics_enc_add(&e, "container.mem.bytes", "web",
                                          "", 1e9), 0);
    assert_int_equal(wire_metrics_enc_add(&e, "", "web", "", 1), -1);
    assert_int_equal(wire_metrics_enc_finish(&e, 9, 1234, &fx->out, 6), 0);
    assert_int_equal(decode_one(&fx->out, &f, &err), 1);
    assert_int_equal(f.type, WIRE_METRICS);
    assert_int_equal(wire_frame_payload(&f, &fx->scratch, &p, &len, &err), 0);
    assert_int_equal(wire_metrics_decode(p, len, &m, &err), 0);
    assert_int_equal(m.seq, 9);
    assert_int_equal(m.time_ns, 1234);
    assert_int_equal(m.n_samples, 2);
    assert_int_equal(wire_metrics_next(&m, &s), 1);
    assert_int_equal(s.name.len, 17);
    assert_true(s.value == 12.5);
    assert_int_equal(wire_metrics_next(&m, &s), 1);
    assert_memory_equal(s.container.p, "web", 3);
    assert_true(s.value == 1e9);
    assert_int_equal(wire_metrics_next(&m, &s), 0);
    /* truncations and trailing byte */
    for (size_t n = 0; n < len; n++)
        assert_int_equal(wire_metrics_decode(p, n, &m, &err), -1);
    uint8_t *copy = xmalloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    copy[len] = 0;
    assert_int_equal(wire_metrics_decode(copy, len + 1, &m, &err), -1);
    le32_store(copy + 16, WIRE_MAX_SAMPLES + 1);
    assert_int_equal(wire_metrics_decode(copy, len, &m, &err), -1);
    assert_string_equal(err, "too many samples");
    free(copy);
    wire_metrics_enc_fini(&e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_batch_in_place_equals_reference),
        T(test_batch_roundtrip),
        T(test_batch_every_truncation_rejected),
        T(test_batch_bad_source_index),
        T(test_batch_bad_stream_and_flags),
        T(test_batch_nul_in_strings),
        T(test_batch_limits_before_allocation),
        T(test_batch_long_id_rejected),
        T(test_batch_enc_rejects_bad_items),
        T(test_batch_enc_raw_max),
        T(test_metrics_roundtrip),
#undef T
    };
    return cmocka_run_group_tests_name("wire_payload", tests, NULL, NULL);
}
