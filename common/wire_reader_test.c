/* SPDX-License-Identifier: MIT */
/*
 * wire_reader_test: the incremental frame reader (common/wire_reader.c).
 * A stream of frames fed one byte at a time (and in random chunks, checked
 * against wire_frame_decode over the whole stream) yields each frame
 * exactly when its last byte arrives; every error code is produced at
 * the earliest byte that decides it (a too-large length from the header
 * alone) and is kept; the buffer never holds more than one maximum frame
 * and is given back once empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/compress.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "tests/support/wirebuild.h"

/* HELLO, ACK, a zlib BATCH of 100 KiB, WELCOME, an empty METRICS. */
static void
make_stream(struct buf *out, size_t *ends, size_t *n_ends)
{
    struct buf p;
    uint8_t *big = xmalloc(100u << 10);

    buf_init(&p, 1024);
    for (size_t i = 0; i < (100u << 10); i++)
        big[i] = (uint8_t)(i % 251);
    *n_ends = 0;
    uint8_t nonce[WIRE_NONCE_LEN] = { 1 };
    assert_int_equal(wire_hello_encode(&p, "node1", "test/1", nonce), 0);
    assert_int_equal(wire_frame_encode(out, WIRE_HELLO, p.data, p.len, 0), 0);
    ends[(*n_ends)++] = out->len;
    buf_reset(&p);
    assert_int_equal(wire_u64_encode(&p, 7), 0);
    assert_int_equal(wire_frame_encode(out, WIRE_ACK, p.data, p.len, 0), 0);
    ends[(*n_ends)++] = out->len;
    assert_int_equal(wire_frame_encode(out, WIRE_BATCH, big, 100u << 10, 6),
                     0);
    ends[(*n_ends)++] = out->len;
    assert_int_equal(wire_frame_encode(out, WIRE_WELCOME, p.data, p.len, 0), 0);
    ends[(*n_ends)++] = out->len;
    assert_int_equal(wire_frame_encode(out, WIRE_METRICS, "", 0, 0), 0);
    ends[(*n_ends)++] = out->len;
    buf_fini(&p);
    free(big);
}

static void
test_reader_byte_at_a_time(void **state)
{
    struct buf s;
    struct wire_reader r;
    struct wire_frame f;
    size_t ends[8], n_ends, got = 0, at = 0;

    (void)state;
    buf_init(&s, 1u << 20);
    make_stream(&s, ends, &n_ends);
    wire_reader_init(&r, WIRE_MAX_PAYLOAD);
    assert_int_equal(wire_reader_next(&r, &f), WIRE_RD_NEED_MORE);
    for (size_t i = 0; i < s.len; i++) {
        assert_true(wire_reader_room(&r) >= 1);
        assert_int_equal(wire_reader_feed(&r, s.data + i, 1), WIRE_RD_OK);
        enum wire_rd rc = wire_reader_next(&r, &f);
        if (i + 1 != ends[got]) {
            assert_int_equal(rc, WIRE_RD_NEED_MORE);
            continue;
        }
        assert_int_equal(rc, WIRE_RD_OK);
        assert_int_equal(f.len, ends[got] - at - WIRE_HEADER_LEN);
        assert_memory_equal(f.payload, s.data + at + WIRE_HEADER_LEN, f.len);
        at = ends[got++];
        assert_int_equal(wire_reader_next(&r, &f), WIRE_RD_NEED_MORE);
        assert_int_equal(wire_reader_buffered(&r), 0);
    }
    assert_int_equal(got, n_ends);
    wire_reader_fini(&r);
    buf_fini(&s);
}

/* Random chunks against the one-shot decoder over the whole stream. */
static void
test_reader_random_chunks_match_decoder(void **state)
{
    struct buf s;
    size_t ends[8], n_ends;

    (void)state;
    buf_init(&s, 1u << 20);
    make_stream(&s, ends, &n_ends);
    srand(12345);
    for (int round = 0; round < 50; round++) {
        struct wire_reader r;
        struct wire_frame f, want;
        size_t at = 0, fed = 0, used, n = 0;
        const char *err;

        wire_reader_init(&r, WIRE_MAX_PAYLOAD);
        while (fed < s.len) {
            size_t k = 1 + (size_t)rand() % 70000;
            if (k > s.len - fed)
                k = s.len - fed;
            if (k > wire_reader_room(&r))
                k = wire_reader_room(&r);
            assert_int_equal(wire_reader_feed(&r, s.data + fed, k),
                             WIRE_RD_OK);
            fed += k;
            while (wire_reader_next(&r, &f) == WIRE_RD_OK) {
                assert_int_equal(wire_frame_decode(s.data + at, s.len - at,
                                                   &want, &used, &err), 1);
                assert_int_equal(f.type, want.type);
                assert_int_equal(f.flags, want.flags);
                assert_int_equal(f.len, want.len);
                assert_memory_equal(f.payload, want.payload, f.len);
                at += used;
                n++;
            }
        }
        assert_int_equal(n, n_ends);
        assert_int_equal(at, s.len);
        wire_reader_fini(&r);
    }
    buf_fini(&s);
}

/* Feeds b one byte at a time; returns the first result other than
 * NEED_MORE and the number of bytes fed by then. */
static enum wire_rd
feed_until(struct wire_reader *r, const struct buf *b, size_t *n_fed)
{
    struct wire_frame f;

    for (size_t i = 0; i < b->len; i++) {
        enum wire_rd rc = wire_reader_feed(r, b->data + i, 1);
        if (rc != WIRE_RD_OK) {
            *n_fed = i;
            return rc;
        }
        rc = wire_reader_next(r, &f);
        if (rc != WIRE_RD_NEED_MORE) {
            *n_fed = i + 1;
            return rc;
        }
    }
    *n_fed = b->len;
    return WIRE_RD_NEED_MORE;
}

/* One bad stream: the error comes at byte `at` and is kept. */
static void
expect_error(const struct buf *b, size_t max, enum wire_rd want, size_t at)
{
    struct wire_reader r;
    struct wire_frame f;
    size_t n = 0;

    wire_reader_init(&r, max);
    assert_int_equal(feed_until(&r, b, &n), want);
    assert_int_equal(n, at);
    assert_int_equal(wire_reader_next(&r, &f), want);
    assert_int_equal(wire_reader_feed(&r, "LQ", 2), want);
    assert_int_equal(wire_reader_room(&r), 0);
    /* the version a peer spoke, for a message that names it */
    assert_int_equal(wire_reader_bad_version(&r),
                     want == WIRE_RD_BAD_VERSION ? b->data[2] : -1);
    assert_string_not_equal(wire_rd_str(want), "unknown reader error");
    wire_reader_fini(&r);
}

static void
test_reader_every_error(void **state)
{
    struct buf b;
    uint8_t big[WIRE_MAX_CONTROL + 1] = { 0 };

    (void)state;
    buf_init(&b, 1u << 20);
    buf_append(&b, "LX", 2);
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_MAGIC, 2);
    buf_reset(&b);
    buf_append(&b, "G", 1);         /* "GET / HTTP/1.1": the first byte */
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_MAGIC, 1);
    buf_reset(&b);
    wirebuild_frame(&b, 9, 0, WIRE_ACK, 0, "12345678", 8);
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_VERSION, WIRE_HEADER_LEN);
    buf_reset(&b);
    wirebuild_frame(&b, 0, 0, WIRE_ACK, 0, "12345678", 8);
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_VERSION, WIRE_HEADER_LEN);
    buf_reset(&b);
    wirebuild_frame(&b, 1, 0, WIRE_ACK, 0, "12345678", 8);    /* protocol v1 */
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_VERSION, WIRE_HEADER_LEN);
    buf_reset(&b);
    wirebuild_frame(&b, WIRE_VERSION, WIRE_F_MAC, WIRE_ACK, 0, "12345678", 8);
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_LENGTH, WIRE_HEADER_LEN);
    buf_reset(&b);
    wirebuild_frame(&b, WIRE_VERSION, 0x80, WIRE_ACK, 0, "12345678", 8);
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_FLAGS, WIRE_HEADER_LEN);
    buf_reset(&b);
    wirebuild_frame(&b, WIRE_VERSION, 0, WIRE_ACK, 1, "12345678", 8);
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_FLAGS, WIRE_HEADER_LEN);
    buf_reset(&b);
    wirebuild_frame(&b, WIRE_VERSION, 0, 999, 0, "12345678", 8);
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_TYPE, WIRE_HEADER_LEN);
    buf_reset(&b);
    wirebuild_frame(&b, WIRE_VERSION, 0, WIRE_HELLO, 0, big, sizeof(big));
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_LENGTH, WIRE_HEADER_LEN);
    buf_reset(&b);
    wirebuild_frame(&b, WIRE_VERSION, 0, WIRE_ACK, 0, "12345678", 8);
    b.data[WIRE_HEADER_LEN + 7] ^= 1;
    expect_error(&b, WIRE_MAX_PAYLOAD, WIRE_RD_BAD_CRC, b.len);
    buf_fini(&b);
}

/* The length is judged from the header: a 4 MiB BATCH before the
 * handshake (max WIRE_MAX_CONTROL) fails at byte 16, with nothing more
 * than the header buffered. */
static void
test_reader_too_large_from_header(void **state)
{
    uint8_t h[WIRE_HEADER_LEN] = { 'L', 'Q', WIRE_VERSION, 0 };
    struct buf b;
    struct wire_reader r;
    struct wire_frame f;

    (void)state;
    le16_store(h + 4, WIRE_BATCH);
    le32_store(h + 8, WIRE_MAX_PAYLOAD);
    buf_init(&b, 64);
    buf_append(&b, h, sizeof(h));
    expect_error(&b, WIRE_MAX_CONTROL, WIRE_RD_TOO_LARGE, WIRE_HEADER_LEN);
    /* the same header is fine once the maximum is raised */
    wire_reader_init(&r, WIRE_MAX_CONTROL);
    assert_int_equal(wire_reader_room(&r), WIRE_HEADER_LEN + WIRE_MAX_CONTROL);
    wire_reader_set_max(&r, WIRE_MAX_PAYLOAD);
    assert_int_equal(wire_reader_feed(&r, h, sizeof(h)), WIRE_RD_OK);
    assert_int_equal(wire_reader_next(&r, &f), WIRE_RD_NEED_MORE);
    assert_int_equal(wire_reader_room(&r), WIRE_MAX_PAYLOAD);
    /* and over the protocol's own maximum, whatever the reader's */
    wire_reader_fini(&r);
    le32_store(h + 8, WIRE_MAX_PAYLOAD + 1);
    buf_reset(&b);
    buf_append(&b, h, sizeof(h));
    expect_error(&b, SIZE_MAX, WIRE_RD_TOO_LARGE, WIRE_HEADER_LEN);
    buf_fini(&b);
}

static void
test_reader_overflow(void **state)
{
    struct wire_reader r;
    struct wire_frame f;
    uint8_t junk[WIRE_HEADER_LEN + 101] = { 'L', 'Q' };

    (void)state;
    wire_reader_init(&r, 100);
    assert_int_equal(wire_reader_room(&r), WIRE_HEADER_LEN + 100);
    assert_int_equal(wire_reader_feed(&r, junk, sizeof(junk)),
                     WIRE_RD_OVERFLOW);
    assert_int_equal(wire_reader_buffered(&r), 0);
    assert_int_equal(wire_reader_next(&r, &f), WIRE_RD_OVERFLOW);
    wire_reader_fini(&r);
}

/* Several frames in one feed come out one by one; room never lets the
 * buffer pass one maximum frame; a large buffer is freed once empty. */
static void
test_reader_room_and_release(void **state)
{
    struct buf s;
    struct wire_reader r;
    struct wire_frame f;
    uint8_t *big = xcalloc(1, 1u << 20);

    (void)state;
    buf_init(&s, 4u << 20);
    assert_int_equal(wire_frame_encode(&s, WIRE_ACK, "12345678", 8, 0), 0);
    assert_int_equal(wire_frame_encode(&s, WIRE_ACK, "abcdefgh", 8, 0), 0);
    wire_reader_init(&r, WIRE_MAX_CONTROL);
    assert_int_equal(wire_reader_feed(&r, s.data, s.len), WIRE_RD_OK);
    assert_int_equal(wire_reader_next(&r, &f), WIRE_RD_OK);
    assert_memory_equal(f.payload, "12345678", 8);
    assert_int_equal(wire_reader_next(&r, &f), WIRE_RD_OK);
    assert_memory_equal(f.payload, "abcdefgh", 8);
    assert_int_equal(wire_reader_next(&r, &f), WIRE_RD_NEED_MORE);

    buf_reset(&s);
    assert_int_equal(wire_frame_encode(&s, WIRE_BATCH, big, 1u << 20, 0), 0);
    wire_reader_set_max(&r, 1u << 20);
    assert_int_equal(wire_reader_room(&r), s.len);
    assert_int_equal(wire_reader_feed(&r, s.data, s.len - 1), WIRE_RD_OK);
    assert_int_equal(wire_reader_room(&r), 1);
    assert_int_equal(wire_reader_next(&r, &f), WIRE_RD_NEED_MORE);
    assert_int_equal(wire_reader_feed(&r, s.data + s.len - 1, 1), WIRE_RD_OK);
    assert_int_equal(wire_reader_room(&r), 0);
    assert_true(r.in.cap >= s.len);
    assert_int_equal(wire_reader_next(&r, &f), WIRE_RD_OK);
    assert_int_equal(f.len, 1u << 20);
    assert_int_equal(wire_reader_next(&r, &f), WIRE_RD_NEED_MORE);
    assert_true(r.in.cap <= (64u << 10));
    assert_int_equal(wire_reader_room(&r), s.len);
    wire_reader_fini(&r);
    buf_fini(&s);
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_byte_at_a_time),
        cmocka_unit_test(test_reader_random_chunks_match_decoder),
        cmocka_unit_test(test_reader_every_error),
        cmocka_unit_test(test_reader_too_large_from_header),
        cmocka_unit_test(test_reader_overflow),
        cmocka_unit_test(test_reader_room_and_release),
    };
    return cmocka_run_group_tests_name("wire_reader", tests, NULL, NULL);
}
