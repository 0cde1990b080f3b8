/* SPDX-License-Identifier: MIT */
/*
 * compress_test: deflate/inflate round trips at several levels and sizes
 * (with stream reuse between calls), appending after existing data, and
 * the failure modes: output over max_out (bombs, and the exact-limit edge),
 * truncated and corrupt streams, trailing garbage, out's own cap; crc32.
 * The deflate side (libdeflate) is checked against zlib's inflate, the
 * reference path the collector runs: every line of the real-log corpus
 * ($LOGQ_CORPUS, *.log; "none" skips it) alone and every file whole, and
 * the edges: empty, 1 byte, incompressible, levels 0..12, an out cap met
 * exactly or missed by one byte, a batch at the wire's inflated cap.
 * The inflate side (libdeflate's decompressor) is checked against zlib's
 * inflate too: zlib's own streams at every level (old shippers and the
 * test tools write those), outputs past the first guessed room, and
 * damaged streams, where both must give the same verdict and output. The
 * zstd frame rules of PROTOCOL.md "Compression" are checked on frames
 * built by hand: a stated size over the limit is refused before anything
 * is allocated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <zlib.h>
#include <zstd.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "common/compress.h"
#include "common/wire.h"
#include "tests/support/testrng.h"

static uint8_t *
make_text(size_t n, uint32_t seed)
{
    uint8_t *p = xmalloc(n ? n : 1);
    static const char words[] = "info warn error GET /api/v1/items 200 ms ";

    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (seed >> 24) % 7 == 0 ? (uint8_t)(seed >> 16)
                                     : (uint8_t)words[i % (sizeof(words) - 1)];
    }
    return p;
}

static void
test_compress_roundtrip_sizes_levels(void **state)
{
    static const size_t sizes[] = { 0, 1, 100, 65536, 1000003 };
    struct buf z, o;
    const char *err;

    (void)state;
    buf_init(&z, 1u << 26);
    buf_init(&o, 1u << 26);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *in = make_text(sizes[i], (uint32_t)i);
        for (int level = -1; level <= 9; level += 3) {
            buf_reset(&z);
            buf_reset(&o);
            assert_int_equal(compress_deflate(&z, in, sizes[i], level), 0);
            assert_int_equal(compress_inflate(&o, z.data, z.len, sizes[i],
                                              &err), 0);
            assert_int_equal(o.len, sizes[i]);
            if (sizes[i])
                assert_memory_equal(o.data, in, sizes[i]);
        }
        free(in);
    }
    buf_fini(&z);
    buf_fini(&o);
}

static void
test_compress_appends(void **state)
{
    struct buf z, o;
    const char *err;

    (void)state;
    buf_init(&z, 1u << 20);
    buf_init(&o, 1u << 20);
    assert_int_equal(buf_append(&z, "HDR", 3), 0);
    assert_int_equal(compress_deflate(&z, "payload", 7, 6), 0);
    assert_memory_equal(z.data, "HDR", 3);
    assert_int_equal(buf_append(&o, "xy", 2), 0);
    assert_int_equal(compress_inflate(&o, z.data + 3, z.len - 3, 100, &err),
                     0);
    assert_int_equal(o.len, 9);
    assert_memory_equal(o.data, "xypayload", 9);
    buf_fini(&z);
    buf_fini(&o);
}

static void
test_compress_limit_exact_and_over(void **state)
{
    uint8_t in[5000];
    struct buf z, o;
    const char *err = NULL;

    (void)state;
    memset(in, 'q', sizeof(in));
    buf_init(&z, 1u << 20);
    buf_init(&o, 1u << 20);
    assert_int_equal(compress_deflate(&z, in, sizeof(in), 6), 0);
    assert_int_equal(compress_inflate(&o, z.data, z.len, sizeof(in), &err), 0);
    assert_int_equal(o.len, sizeof(in));
    buf_reset(&o);
    assert_int_equal(buf_append(&o, "keep", 4), 0);
    assert_int_equal(compress_inflate(&o, z.data, z.len, sizeof(in) - 1,
                                      &err), -1);
    assert_string_equal(err, "inflated size over limit");
    assert_int_equal(o.len, 4);     /* left as it was */
    assert_int_equal(compress_inflate(&o, z.data, z.len, 0, &err), -1);
    buf_fini(&z);
    buf_fini(&o);
}

static void
test_compress_bomb_bounded_memory(void **state)
{
    size_t n = 100u << 20;
    uint8_t *zeros = xcalloc(1, n);
    struct buf z, o;
    const char *err;

    (void)state;
    assert_non_null(zeros);
    buf_init(&z, 1u << 20);
    buf_init(&o, SIZE_MAX);
    assert_int_equal(compress_deflate(&z, zeros, n, 9), 0);
    free(zeros);
    assert_true(z.len < 200000);
    assert_int_equal(compress_inflate(&o, z.data, z.len, 16u << 20, &err), -1);
    assert_string_equal(err, "inflated size over limit");
    assert_int_equal(o.len, 0);
    assert_true(o.cap <= (32u << 20));
    buf_fini(&z);
    buf_fini(&o);
}

static void
test_compress_truncated_corrupt_trailing(void **state)
{
    uint8_t *in = make_text(20000, 9);
    struct buf z, o;
    const char *err;

    (void)state;
    buf_init(&z, 1u << 20);
    buf_init(&o, 1u << 20);
    assert_int_equal(compress_deflate(&z, in, 20000, 6), 0);
    for (size_t cut = 0; cut < z.len; cut += 1 + cut / 3) {
        err = NULL;
        buf_reset(&o);
        assert_int_equal(compress_inflate(&o, z.data, cut, 1u << 20, &err),
                         -1);
        assert_non_null(err);
        assert_int_equal(o.len, 0);
    }
    assert_int_equal(compress_inflate(&o, z.data, z.len - 1, 1u << 20, &err),
                     -1);
    assert_string_equal(err, "corrupt or truncated zlib stream");
    assert_int_equal(buf_append(&z, "x", 1), 0);
    assert_int_equal(compress_inflate(&o, z.data, z.len, 1u << 20, &err), -1);
    assert_string_equal(err, "trailing bytes after zlib stream");
    z.len--;
    z.data[z.len / 2] ^= 0x55;
    z.data[z.len / 2 + 1] ^= 0x55;
    assert_int_equal(compress_inflate(&o, z.data, z.len, 1u << 20, &err), -1);
    z.data[0] = 0x00;       /* not a zlib header */
    assert_int_equal(compress_inflate(&o, z.data, z.len, 1u << 20, &err), -1);
    assert_string_equal(err, "corrupt or truncated zlib stream");
    /* the thread's inflater is still usable after failures */
    buf_reset(&z);
    buf_reset(&o);
    assert_int_equal(compress_deflate(&z, in, 20000, 1), 0);
    assert_int_equal(compress_inflate(&o, z.data, z.len, 20000, &err), 0);
    assert_memory_equal(o.data, in, 20000);
    free(in);
    buf_fini(&z);
    buf_fini(&o);
}

static void
test_compress_out_cap(void **state)
{
    uint8_t *in = make_text(10000, 3);
    struct buf z, o, tiny;
    const char *err;

    (void)state;
    buf_init(&z, 1u << 20);
    buf_init(&o, 9999);
    buf_init(&tiny, 10);
    assert_int_equal(compress_deflate(&tiny, in, 10000, 6), -1);
    assert_int_equal(tiny.len, 0);
    assert_int_equal(compress_deflate(&z, in, 10000, 6), 0);
    assert_int_equal(compress_inflate(&o, z.data, z.len, 1u << 20, &err), -1);
    assert_int_equal(o.len, 0);
    /* a level change after a failure still works */
    buf_reset(&z);
    assert_int_equal(compress_deflate(&z, in, 10000, 9), 0);
    free(in);
    buf_fini(&z);
    buf_fini(&o);
    buf_fini(&tiny);
}

static void
test_compress_crc32(void **state)
{
    (void)state;
    assert_int_equal(compress_crc32(0, "123456789", 9), 0xcbf43926u);
    uint32_t c = compress_crc32(0, "1234", 4);
    assert_int_equal(compress_crc32(c, "56789", 5), 0xcbf43926u);
    assert_int_equal(compress_crc32(0, NULL, 0), 0);
}

/* libdeflate's crc32 against zlib's (the stored CRCs were zlib's): every
 * length to 600 and a few large ones, at every alignment mod 16, whole
 * and continued from a split. */
static void
test_compress_crc32_equals_zlib(void **state)
{
    (void)state;
    size_t n = 70000 + 16;
    uint8_t *p = make_text(n, 7);
    for (size_t i = 0; i < n; i += 3)
        p[i] = (uint8_t)(p[i] * 31u + i);       /* every byte value */
    size_t lens[] = { 4096, 65535, 65536, 70000 };
    for (size_t al = 0; al < 16; al++) {
        for (size_t len = 0; len < 600 + 4; len++) {
            size_t l = len < 600 ? len : lens[len - 600];
            uint32_t ref = (uint32_t)crc32_z(0, p + al, l);
            assert_int_equal(compress_crc32(0, p + al, l), ref);
            size_t cut = l / 3;
            uint32_t c = compress_crc32(0, p + al, cut);
            assert_int_equal(compress_crc32(c, p + al + cut, l - cut), ref);
            uint32_t z = (uint32_t)crc32_z(0, p + al, cut);
            assert_int_equal(compress_crc32(z, p + al + cut, l - cut), ref);
        }
    }
    free(p);
}

static void *
thread_roundtrip(void *arg)
{
    uint8_t *in = make_text(50000, (uint32_t)(uintptr_t)arg);
    struct buf z, o;
    const char *err;
    intptr_t ok = 1;

    buf_init(&z, 1u << 20);
    buf_init(&o, 1u << 20);
    for (int i = 0; i < 20 && ok; i++) {
        buf_reset(&z);
        buf_reset(&o);
        ok = compress_deflate(&z, in, 50000, 1 + i % 9) == 0 &&
             compress_inflate(&o, z.data, z.len, 50000, &err) == 0 &&
             o.len == 50000 && memcmp(o.data, in, 50000) == 0;
    }
    buf_fini(&z);
    buf_fini(&o);
    free(in);
    return (void *)ok;
}

/* Per-thread streams are independent and freed at thread exit (LSan
 * reports the z_streams of exited threads otherwise). */
static void
test_compress_threads(void **state)
{
    pthread_t t[3];
    void *ok;

    (void)state;
    for (uintptr_t i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, thread_roundtrip,
                                        (void *)i), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(t[i], &ok), 0);
        assert_true(ok == (void *)1);
    }
}

static void
test_zstd_roundtrip_and_errors(void **state)
{
    static const size_t sizes[] = { 0, 1, 100, 65536, 1000003 };
    struct buf z, o;
    const char *err;

    (void)state;
    buf_init(&z, 1u << 26);
    buf_init(&o, 1u << 26);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *in = make_text(sizes[i], (uint32_t)i + 7);
        for (int level = 1; level <= 9; level += 4) {
            buf_reset(&z);
            buf_reset(&o);
            assert_int_equal(buf_append(&o, "ab", 2), 0);   /* appends */
            assert_int_equal(compress_zstd(&z, in, sizes[i], level), 0);
            assert_int_equal(compress_unzstd(&o, z.data, z.len, sizes[i],
                                             &err), 0);
            assert_int_equal(o.len, sizes[i] + 2);
            if (sizes[i])
                assert_memory_equal(o.data + 2, in, sizes[i]);
        }
        free(in);
    }
    /* over the limit, truncated, corrupt, trailing bytes: out unchanged */
    uint8_t *in = make_text(100000, 3);
    buf_reset(&z);
    assert_int_equal(compress_zstd(&z, in, 100000, 3), 0);
    buf_reset(&o);
    assert_int_equal(compress_unzstd(&o, z.data, z.len, 99999, &err), -1);
    assert_non_null(strstr(err, "limit"));
    assert_int_equal(compress_unzstd(&o, z.data, z.len / 2, 100000, &err),
                     -1);
    assert_int_equal(buf_append(&z, "x", 1), 0);
    assert_int_equal(compress_unzstd(&o, z.data, z.len, 100000, &err), -1);
    assert_non_null(strstr(err, "trailing"));
    z.len--;
    z.data[z.len / 2] ^= 0xff;
    int rc = compress_unzstd(&o, z.data, z.len, 100000, &err);
    if (rc == 0)    /* a flip in a literal may decode: then it differs */
        assert_true(memcmp(o.data, in, 100000) != 0);
    else
        assert_int_equal(o.len, 0);
    assert_int_equal(compress_unzstd(&o, "garbage!", 8, 100, &err), -1);
    assert_int_equal(o.len, rc == 0 ? 100000 : 0);
    /* out's own cap */
    struct buf small;
    buf_init(&small, 10);
    assert_int_equal(compress_zstd(&small, in, 100000, 3), -1);
    assert_int_equal(small.len, 0);
    buf_reset(&z);
    assert_int_equal(compress_zstd(&z, in, 100000, 3), 0);
    assert_int_equal(compress_unzstd(&small, z.data, z.len, 100000, &err),
                     -1);
    assert_int_equal(small.len, 0);
    buf_fini(&small);
    free(in);
    buf_fini(&z);
    buf_fini(&o);
}

/* zlib's deflate (what older shippers and the test tools send) at every
 * level, inflated by the wrapper: the same bytes; sizes and ratios past the
 * first room (8x the input) so the room doubles, and a reused out. */
static void
test_inflate_zlib_streams(void **state)
{
    static const size_t sizes[] = { 0, 1, 777, 300000, 3000000 };
    struct buf o;
    const char *err;

    (void)state;
    buf_init(&o, 1u << 26);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *in = make_text(sizes[i], (uint32_t)i + 40);
        if (i == 4)
            memset(in, 'z', sizes[i]);      /* ratio far over 8 */
        uLongf zcap = compressBound(sizes[i]);
        uint8_t *z = xmalloc(zcap);
        for (int level = 0; level <= 9; level += 3) {
            uLongf zlen = zcap;
            assert_int_equal(compress2(z, &zlen, in, sizes[i], level), Z_OK);
            for (int keep = 0; keep <= 1; keep++) {
                if (!keep) {        /* a fresh out: the guess and doubling */
                    buf_fini(&o);
                    buf_init(&o, 1u << 26);
                }
                buf_reset(&o);
                assert_int_equal(compress_inflate(&o, z, zlen, sizes[i], &err),
                                 0);
                assert_int_equal(o.len, sizes[i]);
                if (sizes[i])
                    assert_memory_equal(o.data, in, sizes[i]);
            }
        }
        free(z);
        free(in);
    }
    buf_fini(&o);
}

/* Damaged zlib streams: the wrapper and zlib's uncompress agree on every
 * one (accept with the same bytes, or refuse). */
static void
test_inflate_damaged_against_zlib(void **state)
{
    uint8_t *in = make_text(6000, 77);
    uint8_t z[8192], ref[7000];
    struct buf o;
    const char *err;
    uint32_t seed = 99;
    int n_ok = 0, n_bad = 0;

    (void)state;
    buf_init(&o, 1u << 20);
    for (int round = 0; round < 3000; round++) {
        uLongf zlen = sizeof(z);
        assert_int_equal(compress2(z, &zlen, in, 1000 + (size_t)round % 5000,
                                   round % 10), Z_OK);
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 8) % zlen;
        if (round % 7 == 0)
            zlen = at;                          /* truncated */
        else
            z[at] ^= (uint8_t)(1u << (seed >> 28) % 8);     /* a bit flip */
        uLongf rlen = sizeof(ref);
        int ref_ok = uncompress(ref, &rlen, z, zlen) == Z_OK;
        buf_reset(&o);
        int rc = compress_inflate(&o, z, zlen, sizeof(ref), &err);
        assert_int_equal(rc == 0, ref_ok);
        if (ref_ok) {
            assert_int_equal(o.len, rlen);
            assert_memory_equal(o.data, ref, rlen);
            n_ok++;
        } else {
            assert_int_equal(o.len, 0);
            n_bad++;
        }
    }
    assert_true(n_bad > 2000);      /* the damage is mostly caught */
    (void)n_ok;
    free(in);
    buf_fini(&o);
}

/* A zstd frame built by hand: magic, header descriptor fhd, then the
 * fields it announces (hdr[0..hlen)), then one raw block of body. */
static size_t
zstd_frame(uint8_t *f, uint8_t fhd, const uint8_t *hdr, size_t hlen,
           const char *body)
{
    size_t n = strlen(body), k = 0;
    uint32_t bh = 1u | ((uint32_t)n << 3);     /* last, raw, n bytes */

    le32_store(f, ZSTD_MAGICNUMBER);
    k = 4;
    f[k++] = fhd;
    memcpy(f + k, hdr, hlen);
    k += hlen;
    f[k++] = (uint8_t)bh;
    f[k++] = (uint8_t)(bh >> 8);
    f[k++] = (uint8_t)(bh >> 16);
    memcpy(f + k, body, n);
    return k + n;
}

/* PROTOCOL.md "Compression": one frame, stating its size, within the
 * limit, without a dictionary; nothing allocated for a refused size. */
static void
test_unzstd_frame_rules(void **state)
{
    uint8_t f[128], two[256];
    struct buf o;
    const char *err;
    size_t n;

    (void)state;
    buf_init(&o, 1u << 26);
    /* single segment, 1-byte content size 5: decodes */
    n = zstd_frame(f, 0x20, (const uint8_t[]){ 5 }, 1, "hello");
    assert_int_equal(compress_unzstd(&o, f, n, 100, &err), 0);
    assert_int_equal(o.len, 5);
    assert_memory_equal(o.data, "hello", 5);
    /* the same stating 6: the content differs from the header */
    buf_reset(&o);
    n = zstd_frame(f, 0x20, (const uint8_t[]){ 6 }, 1, "hello");
    assert_int_equal(compress_unzstd(&o, f, n, 100, &err), -1);
    assert_int_equal(o.len, 0);
    /* no content size (window descriptor instead): refused */
    n = zstd_frame(f, 0x00, (const uint8_t[]){ 0 }, 1, "hello");
    assert_int_equal(compress_unzstd(&o, f, n, 100, &err), -1);
    assert_string_equal(err, "zstd frame without content size");
    /* a dictionary id: refused */
    n = zstd_frame(f, 0x21, (const uint8_t[]){ 7, 5 }, 2, "hello");
    assert_int_equal(compress_unzstd(&o, f, n, 100, &err), -1);
    assert_string_equal(err, "zstd frame needs a dictionary");
    /* stating 2 GiB in a 16-byte frame: refused from the header, before
     * any output room is allocated */
    struct buf fresh;
    buf_init(&fresh, SIZE_MAX);
    n = zstd_frame(f, 0xa0, (const uint8_t[]){ 0xff, 0xff, 0xff, 0x7f }, 4,
                   "hello");
    assert_int_equal(compress_unzstd(&fresh, f, n, 16u << 20, &err), -1);
    assert_string_equal(err, "decompressed size over limit");
    assert_int_equal(fresh.cap, 0);
    buf_fini(&fresh);
    /* a skippable frame, and two frames back to back */
    le32_store(f, ZSTD_MAGIC_SKIPPABLE_START);
    le32_store(f + 4, 4);
    memcpy(f + 8, "abcd", 4);
    assert_int_equal(compress_unzstd(&o, f, 12, 100, &err), -1);
    assert_string_equal(err, "not a zstd frame");
    n = zstd_frame(f, 0x20, (const uint8_t[]){ 5 }, 1, "hello");
    memcpy(two, f, n);
    memcpy(two + n, f, n);
    assert_int_equal(compress_unzstd(&o, two, 2 * n, 100, &err), -1);
    assert_string_equal(err, "trailing bytes after zstd frame");
    assert_int_equal(compress_unzstd(&o, f, 3, 100, &err), -1);
    assert_int_equal(o.len, 0);
    buf_fini(&o);
}

/* Negative (fast) levels round-trip too; out of range is refused. */
static void
test_zstd_levels(void **state)
{
    uint8_t *in = make_text(200000, 5);
    struct buf z, o;
    const char *err;

    (void)state;
    buf_init(&z, 1u << 20);
    buf_init(&o, 1u << 20);
    for (int level = -7; level <= 3; level += 2) {
        buf_reset(&z);
        buf_reset(&o);
        assert_int_equal(compress_zstd(&z, in, 200000, level), 0);
        assert_int_equal(compress_unzstd(&o, z.data, z.len, 200000, &err), 0);
        assert_memory_equal(o.data, in, 200000);
    }
    buf_reset(&z);
    assert_int_equal(compress_zstd(&z, in, 200000, ZSTD_maxCLevel() + 1), -1);
    assert_int_equal(compress_zstd(&z, in, 200000, ZSTD_minCLevel() - 1), -1);
    assert_int_equal(z.len, 0);
    free(in);
    buf_fini(&z);
    buf_fini(&o);
}

/* compress_zstd_tuned (the shipper's batches): the same bytes as zstd's
 * own ZSTD_compress2 with those parameters set on a new context, decoded
 * back whole; with 0, 0 the same bytes as compress_zstd; and a call with
 * parameters leaves none behind on the thread's context (the store's
 * frames after it are as before); parameters zstd does not take are
 * refused with out as it was. */
static void
test_zstd_tuned(void **state)
{
    static const size_t sizes[] = { 0, 1, 100, 70000, 524288 };
    uint8_t *in = make_text(524288, 9);
    struct buf z, o, plain_before, plain_after;
    const char *err;

    (void)state;
    buf_init(&z, 1u << 20);
    buf_init(&o, 1u << 20);
    buf_init(&plain_before, 1u << 20);
    buf_init(&plain_after, 1u << 20);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        buf_reset(&plain_before);
        assert_int_equal(compress_zstd(&plain_before, in, n, 1), 0);
        buf_reset(&z);
        assert_int_equal(compress_zstd_tuned(&z, in, n, 1, 13, 6), 0);
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        assert_non_null(cc);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_hashLog, 13);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_minMatch, 6);
        size_t cap = ZSTD_compressBound(n);
        uint8_t *ref = xmalloc(cap);
        size_t rn = ZSTD_compress2(cc, ref, cap, in, n);
        assert_false(ZSTD_isError(rn));
        assert_int_equal(z.len, rn);
        assert_memory_equal(z.data, ref, rn);
        free(ref);
        ZSTD_freeCCtx(cc);
        buf_reset(&o);
        assert_int_equal(compress_unzstd(&o, z.data, z.len, n, &err), 0);
        assert_int_equal(o.len, n);
        if (n > 0)
            assert_memory_equal(o.data, in, n);
        buf_reset(&plain_after);
        assert_int_equal(compress_zstd(&plain_after, in, n, 1), 0);
        assert_int_equal(plain_after.len, plain_before.len);
        assert_memory_equal(plain_after.data, plain_before.data,
                            plain_before.len);
        buf_reset(&z);
        assert_int_equal(compress_zstd_tuned(&z, in, n, 1, 0, 0), 0);
        assert_int_equal(z.len, plain_before.len);
        assert_memory_equal(z.data, plain_before.data, plain_before.len);
    }
    buf_reset(&z);
    assert_int_equal(compress_zstd_tuned(&z, in, 1000, 1, 2, 0), -1);
    assert_int_equal(compress_zstd_tuned(&z, in, 1000, 1, 0, 1), -1);
    assert_int_equal(z.len, 0);
    free(in);
    buf_fini(&z);
    buf_fini(&o);
    buf_fini(&plain_before);
    buf_fini(&plain_after);
}

/* Deflates in[0..n) at level and checks it against zlib's own inflate
 * (uncompress) and the wrapper's: both give back in, byte for byte. */
static void
check_deflate(const uint8_t *in, size_t n, int level)
{
    struct buf z, o;
    const char *err;

    buf_init(&z, 2 * n + 1024);
    buf_init(&o, n + 1);
    assert_int_equal(compress_deflate(&z, in, n, level), 0);
    uLongf got = n + 1;
    uint8_t *ref = xmalloc(n + 1);
    assert_int_equal(uncompress(ref, &got, z.data, z.len), Z_OK);
    assert_int_equal(got, n);
    assert_int_equal(compress_inflate(&o, z.data, z.len, n, &err), 0);
    assert_int_equal(o.len, n);
    if (n > 0) {
        assert_memory_equal(ref, in, n);
        assert_memory_equal(o.data, in, n);
    }
    free(ref);
    buf_fini(&z);
    buf_fini(&o);
}

static uint8_t *
make_random(size_t n, uint64_t seed)
{
    uint8_t *p = xmalloc(n ? n : 1);

    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)testrng_next(&seed);
    return p;
}

static void
test_deflate_edges_against_zlib(void **state)
{
    (void)state;
    check_deflate((const uint8_t *)"", 0, 1);
    check_deflate((const uint8_t *)"x", 1, 1);
    uint8_t *rnd = make_random(1u << 20, 42);
    uint8_t *txt = make_text(1u << 20, 5);
    for (int level = 0; level <= 12; level++) {
        check_deflate(rnd, 1u << 20, level);   /* incompressible */
        check_deflate(txt, 1u << 20, level);
        check_deflate(rnd, 1, level);
    }
    check_deflate(txt, 1u << 20, -1);
    struct buf z;
    buf_init(&z, 1u << 22);
    assert_int_equal(compress_deflate(&z, txt, 100, 13), -1);
    assert_int_equal(compress_deflate(&z, txt, 100, -2), 0);   /* default */
    assert_int_equal(z.len > 0, 1);
    buf_fini(&z);
    free(rnd);
    free(txt);
}

/* An output that fits out's cap exactly is made; one byte less fails and
 * leaves out's bytes as they were. */
static void
test_deflate_cap_exact(void **state)
{
    uint8_t *in = make_text(200000, 9);
    struct buf z;

    (void)state;
    buf_init(&z, 1u << 20);
    assert_int_equal(compress_deflate(&z, in, 200000, 1), 0);
    size_t need = z.len;
    buf_fini(&z);
    buf_init(&z, need + 3);
    assert_int_equal(buf_append(&z, "HDR", 3), 0);
    assert_int_equal(compress_deflate(&z, in, 200000, 1), 0);
    assert_int_equal(z.len, need + 3);
    buf_fini(&z);
    buf_init(&z, need + 2);
    assert_int_equal(buf_append(&z, "HDR", 3), 0);
    assert_int_equal(compress_deflate(&z, in, 200000, 1), -1);
    assert_int_equal(z.len, 3);
    assert_memory_equal(z.data, "HDR", 3);
    buf_fini(&z);
    free(in);
}

/* The largest plain batch the wire allows: it deflates and comes back
 * through the frame codec; incompressible, it is refused (payload cap). */
static void
test_deflate_batch_cap(void **state)
{
    uint8_t *txt = xmalloc(WIRE_MAX_INFLATED + 1);
    struct buf f, scratch;
    struct wire_frame fr;
    size_t used;
    const uint8_t *p;
    size_t plen;
    const char *err;

    (void)state;
    for (size_t i = 0, k = 0; i < WIRE_MAX_INFLATED; k++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "%zu GET /api/v1/items 200\n",
                         k * 7919 % 100003);
        size_t m = (size_t)n < WIRE_MAX_INFLATED - i ? (size_t)n
                                                     : WIRE_MAX_INFLATED - i;
        memcpy(txt + i, line, m);
        i += m;
    }
    buf_init(&f, WIRE_MAX_PAYLOAD + 64);
    buf_init(&scratch, WIRE_MAX_INFLATED);
    assert_int_equal(wire_frame_encode(&f, WIRE_BATCH, txt, WIRE_MAX_INFLATED,
                                       1), 0);
    assert_int_equal(wire_frame_decode(f.data, f.len, &fr, &used, &err), 1);
    assert_int_equal(wire_frame_payload(&fr, &scratch, &p, &plen, &err), 0);
    assert_int_equal(plen, WIRE_MAX_INFLATED);
    assert_memory_equal(p, txt, plen);
    assert_int_equal(wire_frame_encode(&f, WIRE_BATCH, txt,
                                       WIRE_MAX_INFLATED + 1, 1), -1);
    uint8_t *rnd = make_random(WIRE_MAX_INFLATED, 3);
    buf_reset(&f);
    assert_int_equal(wire_frame_encode(&f, WIRE_BATCH, rnd, WIRE_MAX_INFLATED,
                                       1), -1);
    assert_int_equal(f.len, 0);
    free(rnd);
    free(txt);
    buf_fini(&f);
    buf_fini(&scratch);
}

static uint8_t *
read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    struct buf b;
    uint8_t chunk[65536];
    size_t n;

    assert_non_null(fp);
    buf_init(&b, 1u << 28);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        assert_int_equal(buf_append(&b, chunk, n), 0);
    fclose(fp);
    *len = b.len;
    return b.data;
}

/* Every corpus line alone (the shipper's smallest batches) and every file
 * whole, at level 1 (the shipper's default). */
static void
test_deflate_corpus(void **state)
{
    const char *dir = getenv("LOGQ_CORPUS");
    size_t n_lines = 0, n_files = 0;

    (void)state;
    if (dir == NULL || *dir == 0)
        dir = "../shared/corpus";
    if (strcmp(dir, "none") == 0) {
        print_message("[ SKIPPED  ] LOGQ_CORPUS=none: corpus part skipped\n");
        skip();
    }
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".log") != 0)
            continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        size_t len;
        uint8_t *all = read_file(path, &len);
        check_deflate(all, len, 1);
        for (size_t i = 0; i < len;) {
            uint8_t *e = memchr(all + i, '\n', len - i);
            size_t end = e ? (size_t)(e - all) + 1 : len;
            check_deflate(all + i, end - i, 1);
            n_lines++;
            i = end;
        }
        n_files++;
        free(all);
        free(path);
    }
    closedir(d);
    print_message("corpus: %zu lines in %zu files\n", n_lines, n_files);
    assert_true(n_files > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compress_roundtrip_sizes_levels),
        cmocka_unit_test(test_compress_appends),
        cmocka_unit_test(test_compress_limit_exact_and_over),
        cmocka_unit_test(test_compress_bomb_bounded_memory),
        cmocka_unit_test(test_compress_truncated_corrupt_trailing),
        cmocka_unit_test(test_compress_out_cap),
        cmocka_unit_test(test_compress_crc32),
        cmocka_unit_test(test_compress_crc32_equals_zlib),
        cmocka_unit_test(test_compress_threads),
        cmocka_unit_test(test_zstd_roundtrip_and_errors),
        cmocka_unit_test(test_inflate_zlib_streams),
        cmocka_unit_test(test_inflate_damaged_against_zlib),
        cmocka_unit_test(test_unzstd_frame_rules),
        cmocka_unit_test(test_zstd_levels),
        cmocka_unit_test(test_zstd_tuned),
        cmocka_unit_test(test_deflate_edges_against_zlib),
        cmocka_unit_test(test_deflate_cap_exact),
        cmocka_unit_test(test_deflate_batch_cap),
        cmocka_unit_test(test_deflate_corpus),
    };
    return cmocka_run_group_tests_name("compress", tests, NULL, NULL);
}
