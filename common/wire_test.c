/* SPDX-License-Identifier: MIT */
/*
 * wire_test: round trips of every frame and payload codec, and every
 * rejection the decoders promise (bad header fields, oversize length seen
 * before the payload arrives, crc mismatch, zlib bombs, trailing bytes,
 * out-of-range indexes and NUL bytes).
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

struct fixture {
    struct buf out;
    struct buf scratch;
};

static int
setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    buf_init(&fx->out, 64u << 20);
    buf_init(&fx->scratch, WIRE_MAX_INFLATED);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    buf_fini(&fx->out);
    buf_fini(&fx->scratch);
    free(fx);
    return 0;
}

static struct wire_str
str_of(const char *s)
{
    struct wire_str w = { s, strlen(s) };
    return w;
}

static int
decode_one(const struct buf *b, struct wire_frame *f, const char **err)
{
    size_t used = 0;

    *err = NULL;
    int rc = wire_frame_decode(b->data, b->len, f, &used, err);
    if (rc == 1)
        assert_int_equal(used, b->len);
    return rc;
}

/* ---- frames ---- */

static void
test_frame_roundtrip_plain_and_zlib(void **state)
{
    struct fixture *fx = *state;
    const char msg[] = "hello hello hello hello hello";
    struct wire_frame f;
    const char *err;
    const uint8_t *p;
    size_t len;

    for (int z = 0; z <= 6; z += 6) {
        buf_reset(&fx->out);
        assert_int_equal(wire_frame_encode(&fx->out, WIRE_ACK, msg,
                                           sizeof(msg), z), 0);
        assert_int_equal(decode_one(&fx->out, &f, &err), 1);
        assert_int_equal(f.type, WIRE_ACK);
        assert_int_equal(f.version, WIRE_VERSION);
        assert_int_equal(f.flags, z ? WIRE_F_ZLIB : 0);
        assert_int_equal(wire_frame_payload(&f, &fx->scratch, &p, &len, &err),
                         0);
        assert_int_equal(len, sizeof(msg));
        assert_memory_equal(p, msg, sizeof(msg));
    }
    /* zstd (PROTOCOL.md "Compression"), at a fast and a normal level */
    for (int level = -1; level <= 1; level += 2) {
        struct wire_codec c = { WIRE_F_ZSTD, level };
        buf_reset(&fx->out);
        assert_int_equal(wire_frame_encode_codec(&fx->out, WIRE_BATCH, msg,
                                                 sizeof(msg), &c), 0);
        assert_int_equal(decode_one(&fx->out, &f, &err), 1);
        assert_int_equal(f.flags, WIRE_F_ZSTD);
        assert_int_equal(wire_frame_payload(&f, &fx->scratch, &p, &len, &err),
                         0);
        assert_int_equal(len, sizeof(msg));
        assert_memory_equal(p, msg, sizeof(msg));
    }
    /* an unknown codec flag or level is refused, out left as it was */
    struct wire_codec bad[] = { { 0x08, 1 }, { WIRE_F_ZLIB, 0 },
                                { WIRE_F_ZSTD, 99 } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf_reset(&fx->out);
        assert_int_equal(wire_frame_encode_codec(&fx->out, WIRE_BATCH, msg,
                                                 sizeof(msg), &bad[i]), -1);
        assert_int_equal(fx->out.len, 0);
    }
}

/* HELLO's software text offers zstd by a word after the first one. */
static void
test_hello_offers_zstd(void **state)
{
    static const struct { const char *sw; int offers; } cases[] = {
        { "logq-shipper/0.3 zstd", 1 }, { "x zlib zstd", 1 },
        { "x zstd more", 1 }, { "logq-shipper/0.2", 0 }, { "zstd", 0 },
        { "x zstdx", 0 }, { "x  zstd", 1 }, { "x zst", 0 }, { "", 0 },
        { "x ZSTD", 0 }, { "x zstd ", 1 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wire_str w = { cases[i].sw, strlen(cases[i].sw) };
        assert_int_equal(wire_hello_offers_zstd(&w), cases[i].offers);
    }
}

static void
test_frame_header_layout(void **state)
{
    struct fixture *fx = *state;
    const uint8_t payload[3] = { 1, 2, 3 };

    assert_int_equal(wire_frame_encode(&fx->out, 0x1234, payload, 3, 0), 0);
    const uint8_t *h = fx->out.data;
    assert_int_equal(fx->out.len, WIRE_HEADER_LEN + 3);
    assert_int_equal(h[0], 'L');
    assert_int_equal(h[1], 'Q');
    assert_int_equal(h[2], 3);
    assert_int_equal(h[3], 0);
    assert_int_equal(h[4], 0x34);
    assert_int_equal(h[5], 0x12);
    assert_int_equal(h[6] | h[7], 0);
    assert_int_equal(le32_load(h + 8), 3);
    assert_int_equal(le32_load(h + 12), compress_crc32(0, payload, 3));
}

static void
test_frame_truncated_needs_more(void **state)
{
    struct fixture *fx = *state;
    struct wire_frame f;
    const char *err = NULL;
    size_t used = 0;

    assert_int_equal(wire_frame_encode(&fx->out, WIRE_ACK, "12345678", 8, 0),
                     0);
    for (size_t n = 0; n < fx->out.len; n++)
        assert_int_equal(wire_frame_decode(fx->out.data, n, &f, &used, &err),
                         0);
    assert_null(err);
    assert_int_equal(used, 0);
}

static void
test_frame_two_in_a_row(void **state)
{
    struct fixture *fx = *state;
    struct wire_frame f;
    const char *err = NULL;
    size_t used = 0;

    assert_int_equal(wire_frame_encode(&fx->out, WIRE_ACK, "aaaaaaaa", 8, 0),
                     0);
    size_t first = fx->out.len;
    assert_int_equal(wire_frame_encode(&fx->out, WIRE_WELCOME, "bbbbbbbb", 8,
                                       0), 0);
    assert_int_equal(wire_frame_decode(fx->out.data, fx->out.len, &f, &used,
                                       &err), 1);
    assert_int_equal(used, first);
    assert_int_equal(f.type, WIRE_ACK);
    assert_int_equal(wire_frame_decode(fx->out.data + used,
                                       fx->out.len - used, &f, &used, &err),
                     1);
    assert_int_equal(f.type, WIRE_WELCOME);
}

static void
test_frame_bad_magic(void **state)
{
    struct fixture *fx = *state;
    struct wire_frame f;
    const char *err;

    wirebuild_frame(&fx->out, WIRE_VERSION, 0, WIRE_ACK, 0, "12345678", 8);
    fx->out.data[1] = 'X';
    assert_int_equal(decode_one(&fx->out, &f, &err), -1);
    assert_non_null(err);
    /* a wrong first byte is refused without waiting for a header */
    size_t used;
    assert_int_equal(wire_frame_decode((const uint8_t *)"G", 1, &f, &used,
                                       &err), -1);
}

static void
test_frame_bad_version(void **state)
{
    struct fixture *fx = *state;
    struct wire_frame f;
    const char *err;

    wirebuild_frame(&fx->out, 4, 0, WIRE_ACK, 0, "12345678", 8);
    assert_int_equal(decode_one(&fx->out, &f, &err), -1);
    buf_reset(&fx->out);
    wirebuild_frame(&fx->out, 0, 0, WIRE_ACK, 0, "12345678", 8);
    assert_int_equal(decode_one(&fx->out, &f, &err), -1);
    assert_string_equal(err, "unsupported protocol version");
    /* version 1 (one shared token, no MACs) is no longer accepted */
    buf_reset(&fx->out);
    wirebuild_frame(&fx->out, 1, 0, WIRE_ACK, 0, "12345678", 8);
    assert_int_equal(decode_one(&fx->out, &f, &err), -1);
    assert_string_equal(err, "unsupported protocol version");
    /* nor version 2 (no batch start per source) */
    buf_reset(&fx->out);
    wirebuild_frame(&fx->out, 2, 0, WIRE_ACK, 0, "12345678", 8);
    assert_int_equal(decode_one(&fx->out, &f, &err), -1);
    assert_string_equal(err, "unsupported protocol version");
}

static void
test_frame_bad_flags_and_reserved(void **state)
{
    struct fixture *fx = *state;
    struct wire_frame f;
    const char *err;

    wirebuild_frame(&fx->out, WIRE_VERSION, 0x08, WIRE_ACK, 0, "12345678", 8);
    assert_int_equal(decode_one(&fx->out, &f, &err), -1);
    /* zlib and zstd at once (PROTOCOL.md "Frame") */
    buf_reset(&fx->out);
    wirebuild_frame(&fx->out, WIRE_VERSION, WIRE_F_ZLIB | WIRE_F_ZSTD,
                    WIRE_BATCH, 0, "12345678", 8);
    assert_int_equal(decode_one(&fx->out, &f, &err), -1);
    assert_string_equal(err, "unknown frame flags or reserved bits");
    /* the MAC flag on a payload shorter than a MAC */
    buf_reset(&fx->out);
    wirebuild_frame(&fx->out, WIRE_VERSION, WIRE_F_MAC, WIRE_ACK, 0,
                    "12345678", 8);
    assert_int_equal(decode_one(&fx->out, &f, &err), -1);
    assert_string_equal(err, wire_rd_str(WIRE_RD_BAD_LENGTH));
    buf_reset(&fx->out);
    wirebuild_frame(&fx->out, WIRE_VERSION, 0, WIRE_ACK, 0x0100, "12345678", 8);
    assert_int_equal(decode_one(&fx->out, &f, &err), -1);
    assert_string_equal(err, "unknown frame flags or reserved bits");
}

static void
test_frame_oversize_rejected_from_header(void **state)
{
    uint8_t h[WIRE_HEADER_LEN] = { 'L', 'Q', WIRE_VERSION, 0 };
    struct wire_frame f;
    const char *err = NULL;
    size_t used;

    (void)state;
    le16_store(h + 4, WIRE_BATCH);
    le32_store(h + 8, WIRE_MAX_PAYLOAD + 1);
    /* only the header is present: the limit is enforced before the body */
    assert_int_equal(wire_frame_decode(h, sizeof(h), &f, &used, &err), -1);
    assert_string_equal(err, "frame payload too large");
    le32_store(h + 8, WIRE_MAX_PAYLOAD);
    assert_int_equal(wire_frame_decode(h, sizeof(h), &f, &used, &err), 0);
}

static void
test_frame_crc_mismatch(void **state)
{
    struct fixture *fx = *state;
    struct wire_frame f;
    const char *err;

    assert_int_equal(wire_frame_encode(&fx->out, WIRE_ACK, "12345678", 8, 0),
                     0);
    fx->out.data[WIRE_HEADER_LEN + 3] ^= 1;
    assert_int_equal(decode_one(&fx->out, &f, &err), -1);
    assert_string_equal(err, "frame crc mismatch");
}

static void
test_frame_encode_too_large(void **state)
{
    struct fixture *fx = *state;
    size_t n = WIRE_MAX_PAYLOAD + 1;
    uint8_t *big = xcalloc(1, n);

    assert_non_null(big);
    assert_int_equal(wire_frame_encode(&fx->out, WIRE_BATCH, big, n, 0), -1);
    assert_int_equal(fx->out.len, 0);
    /* compressible: fits once deflated */
    assert_int_equal(wire_frame_encode(&fx->out, WIRE_BATCH, big, n, 1), 0);
    free(big);
}

static void
test_frame_encode_cap_reached(void **state)
{
    struct buf small;

    (void)state;
    buf_init(&small, 20);
    assert_int_equal(wire_frame_encode(&small, WIRE_ACK, "12345678", 8, 0),
                     -1);
    assert_int_equal(small.len, 0);
    assert_int_equal(wire_frame_encode(&small, WIRE_ACK, "1234", 4, 0), 0);
    buf_fini(&small);
}

static void
test_frame_zlib_bomb_rejected(void **state)
{
    struct fixture *fx = *state;
    size_t n = 100u << 20;
    uint8_t *zeros = xcalloc(1, n);
    struct buf z;
    struct wire_frame f;
    const char *err;
    const uint8_t *p;
    size_t len;

    assert_non_null(zeros);
    buf_init(&z, WIRE_MAX_PAYLOAD);
    assert_int_equal(compress_deflate(&z, zeros, n, 9), 0);
    free(zeros);
    assert_true(z.len < WIRE_MAX_PAYLOAD);
    wirebuild_frame(&fx->out, WIRE_VERSION, WIRE_F_ZLIB, WIRE_BATCH, 0,
                    z.data, (uint32_t)z.len);
    buf_fini(&z);
    assert_int_equal(decode_one(&fx->out, &f, &err), 1);
    assert_int_equal(wire_frame_payload(&f, &fx->scratch, &p, &len, &err), -1);
    assert_string_equal(err, "inflated size over limit");
    assert_true(fx->scratch.cap <= 2 * (size_t)WIRE_MAX_INFLATED);
}

static void
test_frame_zlib_corrupt_rejected(void **state)
{
    struct fixture *fx = *state;
    struct wire_frame f;
    const char *err;
    const uint8_t *p;
    size_t len;

    wirebuild_frame(&fx->out, WIRE_VERSION, WIRE_F_ZLIB, WIRE_BATCH, 0,
                    "not zlib at all", 15);
    assert_int_equal(decode_one(&fx->out, &f, &err), 1);
    assert_int_equal(wire_frame_payload(&f, &fx->scratch, &p, &len, &err), -1);
}

/* ---- control payloads ---- */

static void
test_hello_roundtrip_and_rejects(void **state)
{
    struct fixture *fx = *state;
    struct wire_str h, s;
    uint8_t nonce[WIRE_NONCE_LEN], got[WIRE_NONCE_LEN];
    const char *err;

    for (int i = 0; i < WIRE_NONCE_LEN; i++)
        nonce[i] = (uint8_t)(200 - i);
    assert_int_equal(wire_hello_encode(&fx->out, "node-1", "logq-shipper/0.1",
                                       nonce), 0);
    assert_int_equal(fx->out.len, 2 + 6 + 2 + 16 + WIRE_NONCE_LEN);
    assert_int_equal(wire_hello_decode(fx->out.data, fx->out.len, &h, &s,
                                       got, &err), 0);
    assert_int_equal(h.len, 6);
    assert_memory_equal(h.p, "node-1", 6);
    assert_int_equal(s.len, 16);
    assert_memory_equal(got, nonce, WIRE_NONCE_LEN);
    /* a version 1 HELLO (no nonce) */
    assert_int_equal(wire_hello_decode(fx->out.data, 2 + 6 + 2 + 16, &h, &s,
                                       got, &err), -1);
    assert_string_equal(err, "truncated nonce");
    /* trailing byte */
    assert_int_equal(buf_put_u8(&fx->out, 0), 0);
    assert_int_equal(wire_hello_decode(fx->out.data, fx->out.len, &h, &s,
                                       got, &err), -1);
    assert_string_equal(err, "trailing bytes in payload");
    /* truncated */
    assert_int_equal(wire_hello_decode(fx->out.data, 5, &h, &s, got, &err),
                     -1);
    /* NUL inside the hostname */
    fx->out.data[4] = 0;
    assert_int_equal(wire_hello_decode(fx->out.data, fx->out.len - 1, &h, &s,
                                       got, &err), -1);
    assert_string_equal(err, "NUL byte in string");
    /* empty hostname */
    buf_reset(&fx->out);
    assert_int_equal(wire_hello_encode(&fx->out, "", "x", nonce), -1);
    assert_int_equal(fx->out.len, 0);
}

static void
test_challenge_auth_u64_error(void **state)
{
    struct fixture *fx = *state;
    uint8_t nonce[WIRE_NONCE_LEN], got[WIRE_NONCE_LEN];
    uint8_t proof[WIRE_MAC_LEN], gotp[WIRE_MAC_LEN];
    unsigned req;
    const char *err;
    uint64_t v;
    uint16_t code;
    struct wire_str m;

    for (int i = 0; i < WIRE_NONCE_LEN; i++) {
        nonce[i] = (uint8_t)(i * 7);
        proof[i] = (uint8_t)(i * 3 + 1);
    }
    assert_int_equal(wire_challenge_encode(&fx->out, 1, nonce, proof), 0);
    assert_int_equal(fx->out.len, 1 + WIRE_NONCE_LEN + WIRE_MAC_LEN);
    assert_int_equal(wire_challenge_decode(fx->out.data, fx->out.len, &req,
                                           got, gotp, &err), 0);
    assert_int_equal(req, 1);
    assert_memory_equal(got, nonce, WIRE_NONCE_LEN);
    assert_memory_equal(gotp, proof, WIRE_MAC_LEN);
    /* a version 1 CHALLENGE (no proof) */
    assert_int_equal(wire_challenge_decode(fx->out.data, 1 + WIRE_NONCE_LEN,
                                           &req, got, gotp, &err), -1);
    /* bit 1 (zstd accepted, PROTOCOL.md "Compression") with and without
     * bit 0; any other bit is refused, by the encoder too */
    for (unsigned fl = 0; fl < 256; fl++) {
        fx->out.data[0] = (uint8_t)fl;
        int rc = wire_challenge_decode(fx->out.data, fx->out.len, &req, got,
                                       gotp, &err);
        assert_int_equal(rc, fl <= 3 ? 0 : -1);
        if (rc == 0)
            assert_int_equal(req, fl);
    }
    struct buf tmp;
    buf_init(&tmp, 1024);
    assert_int_equal(wire_challenge_encode(&tmp, WIRE_CH_AUTH | WIRE_CH_ZSTD,
                                           nonce, proof), 0);
    assert_int_equal(tmp.data[0], 3);
    assert_int_equal(wire_challenge_encode(&tmp, 4, nonce, proof), -1);
    assert_int_equal(tmp.len, 1 + WIRE_NONCE_LEN + WIRE_MAC_LEN);
    buf_fini(&tmp);
    assert_int_equal(wire_challenge_decode(fx->out.data, 10, &req, got, gotp,
                                           &err), -1);

    buf_reset(&fx->out);
    assert_int_equal(wire_auth_encode(&fx->out, nonce), 0);
    assert_int_equal(wire_auth_decode(fx->out.data, fx->out.len, got, &err), 0);
    assert_memory_equal(got, nonce, WIRE_MAC_LEN);
    assert_int_equal(wire_auth_decode(fx->out.data, 31, got, &err), -1);

    buf_reset(&fx->out);
    assert_int_equal(wire_u64_encode(&fx->out, 0x0102030405060708ull), 0);
    assert_int_equal(fx->out.data[0], 8);
    assert_int_equal(wire_u64_decode(fx->out.data, 8, &v, &err), 0);
    assert_int_equal(v, 0x0102030405060708ull);
    assert_int_equal(wire_u64_decode(fx->out.data, 7, &v, &err), -1);

    buf_reset(&fx->out);
    assert_int_equal(wire_error_encode(&fx->out, WIRE_ERR_AUTH, "auth failed"),
                     0);
    assert_int_equal(wire_error_decode(fx->out.data, fx->out.len, &code, &m,
                                       &err), 0);
    assert_int_equal(code, WIRE_ERR_AUTH);
    assert_int_equal(m.len, 11);
    assert_int_equal(wire_error_decode(fx->out.data, fx->out.len - 1, &code,
                                       &m, &err), -1);
}

/* An old (version 1) peer gets an ERROR in a version 1 header: magic,
 * version 1, type ERROR, a crc that checks, code 3 and the message. */
static void
test_version_error_for_old_peer(void **state)
{
    struct fixture *fx = *state;
    const uint8_t *h;
    uint16_t code;
    struct wire_str m;
    const char *err;

    assert_int_equal(wire_version_error_encode(&fx->out, 1, "upgrade"), 0);
    h = fx->out.data;
    assert_memory_equal(h, "LQ", 2);
    assert_int_equal(h[2], 1);
    assert_int_equal(le16_load(h + 4), WIRE_ERROR);
    uint32_t plen = le32_load(h + 8);
    assert_int_equal(fx->out.len, WIRE_HEADER_LEN + plen);
    assert_int_equal(le32_load(h + 12),
                     compress_crc32(0, h + WIRE_HEADER_LEN, plen));
    assert_int_equal(wire_error_decode(h + WIRE_HEADER_LEN, plen, &code, &m,
                                       &err), 0);
    assert_int_equal(code, WIRE_ERR_VERSION);
    assert_int_equal(m.len, 7);
    assert_memory_equal(m.p, "upgrade", 7);
}

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
        T(test_frame_roundtrip_plain_and_zlib),
        T(test_frame_header_layout),
        T(test_frame_truncated_needs_more),
        T(test_frame_two_in_a_row),
        T(test_frame_bad_magic),
        T(test_frame_bad_version),
        T(test_frame_bad_flags_and_reserved),
        T(test_frame_oversize_rejected_from_header),
        T(test_frame_crc_mismatch),
        T(test_frame_encode_too_large),
        T(test_frame_encode_cap_reached),
        T(test_frame_zlib_bomb_rejected),
        T(test_frame_zlib_corrupt_rejected),
        T(test_hello_roundtrip_and_rejects),
        cmocka_unit_test(test_hello_offers_zstd),
        T(test_challenge_auth_u64_error),
        T(test_version_error_for_old_peer),
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
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
