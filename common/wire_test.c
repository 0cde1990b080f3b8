/* SPDX-License-Identifier: MIT */
/*
 * wire_test: round trips of every frame and control payload codec, and
 * every rejection the decoders promise (bad header fields, oversize
 * length seen before the payload arrives, crc mismatch, zlib bombs,
 * trailing bytes). BATCH and METRICS payloads: wire_payload_test.c.
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

/* zstd level 1 on the wire is compress_zstd_tuned's hash log 13 and
 * shortest match 6 (wire.c), byte for byte, and decodes back; on this
 * text its bytes are not plain level 1's. */
static void
test_frame_zstd1_tuned(void **state)
{
    struct fixture *fx = *state;
    struct wire_codec c = { WIRE_F_ZSTD, 1 };
    struct buf text, z, plain;
    struct wire_frame f;
    const char *err;
    const uint8_t *p;
    size_t len;
    uint64_t x = 7;

    buf_init(&text, 1u << 20);
    buf_init(&z, 1u << 20);
    buf_init(&plain, 1u << 20);
    while (text.len < 300000) {
        char line[128];
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int n = snprintf(line, sizeof(line), "GET /api/v1/item/%u user=%u "
                         "status=%u took %ums\n", (unsigned)(x >> 40),
                         (unsigned)(x >> 52), 200 + (unsigned)(x >> 61),
                         (unsigned)(x >> 56));
        assert_int_equal(buf_append(&text, line, (size_t)n), 0);
    }
    buf_reset(&fx->out);
    assert_int_equal(wire_frame_encode_codec(&fx->out, WIRE_BATCH, text.data,
                                             text.len, &c), 0);
    assert_int_equal(decode_one(&fx->out, &f, &err), 1);
    assert_int_equal(compress_zstd_tuned(&z, text.data, text.len, 1, 13, 6),
                     0);
    assert_int_equal(f.len, z.len);
    assert_memory_equal(f.payload, z.data, z.len);
    assert_int_equal(compress_zstd(&plain, text.data, text.len, 1), 0);
    assert_false(plain.len == z.len &&
                 memcmp(plain.data, z.data, z.len) == 0);
    assert_int_equal(wire_frame_payload(&f, &fx->scratch, &p, &len, &err), 0);
    assert_int_equal(len, text.len);
    assert_memory_equal(p, text.data, text.len);
    buf_fini(&text);
    buf_fini(&z);
    buf_fini(&plain);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_frame_roundtrip_plain_and_zlib),
        T(test_frame_zstd1_tuned),
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
#undef T
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
