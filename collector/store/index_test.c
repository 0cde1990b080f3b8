/* SPDX-License-Identifier: MIT */
/*
 * index_test: the per-segment token index. Unit tests of index.c,
 * index_write.c and index_file.c (map lookups, .lqi encode/load round
 * trip, list and bitmap postings, counts, frames, damaged and truncated
 * files, the map's rollback and memory bound, the map's add pipeline
 * against the one-by-one add, a set's counts past 65536 records). The
 * index through the store's API (the property test against a
 * brute-force scan, damaged and old .lqi files, failed writes) is
 * index_store_test.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/index.h"
#include "collector/store/index_internal.h"
#include "collector/store/store.h"
#include "collector/store/tokenize.h"
#include "common/casefold.h"
#include "common/compress.h"
#include "common/xmalloc.h"
#include "tests/support/indextest.h"

static uint32_t
h(const char *tok)
{
    return tokenize_hash((const uint8_t *)tok, strlen(tok));
}

/* ------------------------------------------------------------------ */
/* index.c                                                             */

/* 40 blocks: "common" in all, "even" in even ones, "b<i>" only in i. */
static struct index_mem *
sample_mem(void)
{
    struct index_mem *m = index_mem_new();

    for (uint32_t b = 0; b < 40; b++) {
        char text[128];
        snprintf(text, sizeof(text), "Common b%u %s COMMON", b,
                 b % 2 ? "odd" : "even");
        index_mem_add_text(m, b, text, strlen(text));
        index_mem_add_text(m, b, "common again", 12);
    }
    index_mem_flush(m);
    return m;
}

static void
test_index_mem_lookup(void **state)
{
    struct index_mem *m = sample_mem();
    uint64_t bits[1];

    (void)state;
    assert_int_equal(index_mem_n_keys(m), 44);
    assert_true(index_mem_bytes(m) > 0);
    bits[0] = 0;
    index_mem_lookup(m, h("common"), bits, 40);
    assert_true(bits[0] == (1ull << 40) - 1);
    bits[0] = 0;
    index_mem_lookup(m, h("even"), bits, 40);
    assert_true(bits[0] == 0x5555555555ull);
    bits[0] = 0;
    index_mem_lookup(m, h("b7"), bits, 40);
    assert_true(bits[0] == 1ull << 7);
    bits[0] = 0;
    index_mem_lookup(m, h("absent"), bits, 40);
    assert_true(bits[0] == 0);
    index_mem_free(m);
    index_mem_free(NULL);
}

/* Hash 0 is no token's (tokenize_hash never gives it) and marks an empty
 * slot of the map's table: a lookup of it finds nothing, where the map's
 * probe took the first empty slot it met for a match and gave the first
 * key's blocks and counts. */
static void
test_index_hash_zero(void **state)
{
    struct index_mem *m = sample_mem();
    uint64_t bits[1] = { 0 };
    uint32_t fmask[40] = { 0 }, cw[40] = { 0 };

    (void)state;
    index_mem_lookup_frames(m, 0, bits, fmask, 40);
    assert_true(bits[0] == 0);
    for (uint32_t b = 0; b < 40; b++)
        assert_int_equal(fmask[b], 0);
    /* the first key's check ("common" comes first): the probe returned
     * its entry, whose counts were taken */
    assert_int_equal(index_mem_counts(m, 0, tokenize_check(
        (const uint8_t *)"common", 6), cw, 40), 0);
    for (uint32_t b = 0; b < 40; b++)
        assert_int_equal(cw[b], 0);
    index_mem_free(m);
}

/* Writes the .lqi image of m (n_blks <= 40 blocks) for seq 5 to path;
 * frees m. */
static void
write_mem(const char *path, struct index_mem *m, uint32_t n_blks,
          struct buf *img)
{
    struct index_blkref refs[40];

    for (uint32_t i = 0; i < n_blks; i++) {
        refs[i].off = 16 + 1000ull * i;
        refs[i].body_crc = i * 7;
    }
    buf_init(img, 1u << 20);
    assert_int_equal(index_mem_encode(m, 5, refs, n_blks, img), 0);
    index_mem_free(m);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img->data, img->len), (ssize_t)img->len);
    close(fd);
}

/* Writes the .lqi image of sample_mem() for seq 5 to path. */
static void
write_sample(const char *path, struct buf *img)
{
    write_mem(path, sample_mem(), 40, img);
}

static void
test_index_file_round_trip(void **state)
{
    char *dir = make_dir();
    char *path = xasprintf("%s/x.lqi", dir);
    struct buf img;
    const char *why;
    uint64_t bits[1];

    (void)state;
    write_sample(path, &img);
    int fd = open(path, O_RDONLY);
    struct index_file *f = index_file_load(fd, 5, &why);
    assert_non_null(f);
    assert_int_equal(index_file_n_blks(f), 40);
    assert_int_equal(index_file_blks(f)[3].off, 3016);
    assert_int_equal(index_file_blks(f)[3].body_crc, 21);
    assert_int_equal(index_file_size(f), img.len);
    const char *toks[] = { "common", "even", "odd", "b0", "b39", "again" };
    for (size_t i = 0; i < 6; i++) {
        struct index_mem *m = sample_mem();
        uint64_t want = 0;
        index_mem_lookup(m, h(toks[i]), &want, 40);
        index_mem_free(m);
        bits[0] = 0;
        assert_int_equal(index_file_lookup(f, fd, h(toks[i]), NULL, bits,
                                           40), 0);
        assert_true(bits[0] == want);
    }
    bits[0] = 0;
    assert_int_equal(index_file_lookup(f, fd, h("absent"), NULL, bits, 40), 0);
    assert_true(bits[0] == 0);
    /* a block map moves bits; UINT32_MAX drops the block */
    uint32_t map[40];
    for (uint32_t i = 0; i < 40; i++)
        map[i] = i == 7 ? UINT32_MAX : 39 - i;
    bits[0] = 0;
    assert_int_equal(index_file_lookup(f, fd, h("b1"), map, bits, 40), 0);
    assert_true(bits[0] == 1ull << 38);
    bits[0] = 0;
    assert_int_equal(index_file_lookup(f, fd, h("b7"), map, bits, 40), 0);
    assert_true(bits[0] == 0);
    /* the wrong segment number is refused */
    assert_null(index_file_load(fd, 6, &why));
    index_file_free(f);
    close(fd);
    buf_fini(&img);
    remove_dir(dir);
    free(path);
    free(dir);
}

static uint32_t
ck(const char *tok)
{
    return tokenize_check((const uint8_t *)tok, strlen(tok));
}

/* Per-block record counts (version 5): "common" is in both records of
 * every block, spelled three ways (no common form); "even" once in each
 * even block in lower case; "b7" in one block: counted in memory,
 * not in the file (fewer than 4 blocks); another token's check and a
 * version 3 file give none. */
static void
test_index_counts(void **state)
{
    char *dir = make_dir();
    char *path = xasprintf("%s/x.lqi", dir);
    struct buf img;
    const char *why;
    uint32_t cw[40];

    (void)state;
    struct index_mem *m = sample_mem();
    memset(cw, 0xff, sizeof(cw));
    assert_int_equal(index_mem_counts(m, h("common"), ck("common"), cw, 40),
                     1);
    for (int b = 0; b < 40; b++)
        assert_int_equal(cw[b], 2u << 3);
    memset(cw, 0xff, sizeof(cw));
    assert_int_equal(index_mem_counts(m, h("b7"), ck("b7"), cw, 40), 1);
    for (int b = 0; b < 40; b++)
        assert_int_equal(cw[b], b == 7 ? 1u << 3 | TOKENIZE_FORM_LOWER
                                         : UINT32_MAX);
    assert_int_equal(index_mem_counts(m, h("even"), ck("odd"), cw, 40), 0);
    index_mem_free(m);

    write_sample(path, &img);
    int fd = open(path, O_RDONLY);
    struct index_file *f = index_file_load(fd, 5, &why);
    assert_non_null(f);
    memset(cw, 0xff, sizeof(cw));
    assert_int_equal(index_file_counts(f, fd, h("even"), ck("even"), NULL,
                                       cw, 40), 1);
    for (int b = 0; b < 40; b++)
        assert_int_equal(cw[b], b % 2 ? UINT32_MAX
                                       : 1u << 3 | TOKENIZE_FORM_LOWER);
    memset(cw, 0xff, sizeof(cw));
    assert_int_equal(index_file_counts(f, fd, h("common"), ck("common"),
                                       NULL, cw, 40), 1);
    assert_int_equal(cw[39], 2u << 3);  /* Common, COMMON, common */
    assert_int_equal(index_file_counts(f, fd, h("b7"), ck("b7"), NULL, cw,
                                       40), 0);
    assert_int_equal(index_file_counts(f, fd, h("even"), ck("odd"), NULL,
                                       cw, 40), 0);
    assert_int_equal(index_file_counts(f, fd, h("absent"), ck("absent"),
                                       NULL, cw, 40), 0);
    index_file_free(f);
    close(fd);
    buf_fini(&img);

    index_test_without_fields(1);       /* writes version 3 */
    write_sample(path, &img);
    index_test_without_fields(0);
    fd = open(path, O_RDONLY);
    f = index_file_load(fd, 5, &why);
    assert_non_null(f);
    assert_int_equal(index_file_counts(f, fd, h("even"), ck("even"), NULL,
                                       cw, 40), 0);
    uint64_t bits[1] = { 0 };
    assert_int_equal(index_file_lookup(f, fd, h("even"), NULL, bits, 40), 0);
    assert_true(bits[0] == 0x5555555555ull);
    index_file_free(f);
    close(fd);
    buf_fini(&img);
    remove_dir(dir);
    free(path);
    free(dir);
}

/* Two tokens under one hash (bshja and zptdb: tokenize_hash 0x020ab6f4,
 * different checks) have no counts, in memory and in the file, whether
 * they meet in one block (is_within: block 5 has a record of each, so the
 * block's 2 records under the hash are not bshja's 1) or only in the key
 * (bshja in blocks 0-4, zptdb alone in block 5); every block of either is
 * still a candidate; "solo" beside them keeps its counts. */
static void
test_index_counts_collision(void **state)
{
    char *dir = make_dir();
    char *path = xasprintf("%s/x.lqi", dir);
    const char *why;

    (void)state;
    assert_int_equal(h("bshja"), h("zptdb"));
    assert_int_not_equal(ck("bshja"), ck("zptdb"));
    for (int is_within = 0; is_within < 2; is_within++) {
        struct index_mem *m = index_mem_new();
        for (uint32_t b = 0; b < 5; b++)
            index_mem_add_text(m, b, "solo bshja", 10);
        if (is_within)
            index_mem_add_text(m, 5, "solo bshja", 10);
        index_mem_add_text(m, 5, "solo zptdb", 10);
        index_mem_flush(m);
        uint32_t cw[6];
        uint64_t bits[1] = { 0 };
        for (int k = 0; k < 2; k++) {
            const char *tok = k ? "zptdb" : "bshja";
            memset(cw, 0xff, sizeof(cw));
            assert_int_equal(index_mem_counts(m, h(tok), ck(tok), cw, 6), 0);
            for (int b = 0; b < 6; b++)
                assert_int_equal(cw[b], UINT32_MAX);
        }
        assert_int_equal(index_mem_counts(m, h("solo"), ck("solo"), cw, 6),
                         1);
        assert_int_equal(cw[5], (1u + is_within) << 3 | TOKENIZE_FORM_LOWER);
        index_mem_lookup(m, h("bshja"), bits, 6);
        assert_true(bits[0] == 0x3f);

        struct buf img;
        write_mem(path, m, 6, &img);
        int fd = open(path, O_RDONLY);
        struct index_file *f = index_file_load(fd, 5, &why);
        assert_non_null(f);
        for (int k = 0; k < 2; k++) {
            const char *tok = k ? "zptdb" : "bshja";
            memset(cw, 0xff, sizeof(cw));
            assert_int_equal(index_file_counts(f, fd, h(tok), ck(tok), NULL,
                                               cw, 6), 0);
            for (int b = 0; b < 6; b++)
                assert_int_equal(cw[b], UINT32_MAX);
        }
        assert_int_equal(index_file_counts(f, fd, h("solo"), ck("solo"),
                                           NULL, cw, 6), 1);
        assert_int_equal(cw[0], 1u << 3 | TOKENIZE_FORM_LOWER);
        assert_int_equal(cw[5], (1u + is_within) << 3 | TOKENIZE_FORM_LOWER);
        bits[0] = 0;
        assert_int_equal(index_file_lookup(f, fd, h("zptdb"), NULL, bits, 6),
                         0);
        assert_true(bits[0] == 0x3f);
        index_file_free(f);
        close(fd);
        buf_fini(&img);
    }
    remove_dir(dir);
    free(path);
    free(dir);
}

/* Many keys (hundreds of pages, hashes over the whole 32-bit range): the
 * encoded file answers every key as the map does, and no absent one; keys
 * out of hash order would put them on the wrong page. */
static void
test_index_encode_many_keys(void **state)
{
    char *dir = make_dir();
    char *path = xasprintf("%s/x.lqi", dir);
    struct index_mem *m = index_mem_new();
    struct index_blkref refs[64];
    struct buf img;
    const char *why;
    char tok[32];

    (void)state;
    rng_state = 99;
    for (uint32_t b = 0; b < 64; b++) {
        refs[b].off = 16 + 4096ull * b;
        refs[b].body_crc = b;
        for (int i = 0; i < 600; i++) {
            int n = snprintf(tok, sizeof(tok), "k%u", rng() % 20000);
            index_mem_add_text(m, b, tok, (size_t)n);
        }
    }
    index_mem_flush(m);
    assert_true(index_mem_n_keys(m) > 15000);   /* > 100 pages */
    /* version 6 (32-bit keys): exactly the map's blocks; versions 7 to 9
     * (keys cut short): at least them, more for a few tokens only */
    for (uint32_t ver = 6; ver <= 10; ver++) {
        int full = ver == 6;
        buf_init(&img, 16u << 20);
        index_test_full_keys(full);
        index_test_v7(ver == 7);
        index_test_v8(ver == 8);
        index_test_v9(ver == 9);
        assert_int_equal(index_mem_encode(m, 3, refs, 64, &img), 0);
        index_test_full_keys(0);
        index_test_v7(0);
        index_test_v8(0);
        index_test_v9(0);
        assert_int_equal(le32_load(img.data + 4), ver);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, img.data, img.len), (ssize_t)img.len);
        struct index_file *f = index_file_load(fd, 3, &why);
        assert_non_null(f);
        uint32_t n_wider = 0;
        for (uint32_t v = 0; v < 21000; v++) {
            uint64_t want = 0, got = 0;
            int n = snprintf(tok, sizeof(tok), "k%u", v);
            index_mem_lookup(m, h(tok), &want, 64);
            assert_int_equal(index_file_lookup(f, fd, h(tok), NULL, &got,
                                               64), 0);
            assert_true((got & want) == want);
            n_wider += got != want;
            assert_true(v < 20000 || want == 0);
            (void)n;
        }
        print_message("version %u: %u of 21000 tokens hit more blocks\n",
                      ver, n_wider);
        if (full)
            assert_int_equal(n_wider, 0);
        else
            assert_true(n_wider < 21000u >> ((ver == 7 ? INDEX_KEY_SLACK
                                              : ver == 8
                                              ? INDEX_KEY_SLACK_BITS
                                              : (uint32_t)__builtin_ctz(
                                                  INDEX_KEY_SLACK_RANGE)) -
                                             2));
        index_file_free(f);
        close(fd);
        buf_fini(&img);
    }
    index_mem_free(m);
    remove_dir(dir);
    free(path);
    free(dir);
}

static void
test_index_file_damage(void **state)
{
    char *dir = make_dir();
    char *path = xasprintf("%s/x.lqi", dir);
    struct buf img;
    const char *why;
    uint64_t bits[1];

    (void)state;
    for (int ver = 7; ver <= 10; ver++) {
    index_test_v7(ver == 7);
    index_test_v8(ver == 8);
    index_test_v9(ver == 9);
    write_sample(path, &img);
    index_test_v7(0);
    index_test_v8(0);
    index_test_v9(0);
    assert_int_equal(le32_load(img.data + 4), ver);
    /* every truncation is refused at load */
    for (size_t len = 0; len < img.len; len += 1 + len / 8) {
        assert_int_equal(truncate(path, (off_t)len), 0);
        int fd = open(path, O_RDONLY);
        assert_null(index_file_load(fd, 5, &why));
        close(fd);
    }
    /* a flipped byte in the header/directory fails the load; in a page,
     * the lookups that read that page (the byte flipped in place and put
     * back: a rewrite of the whole file per byte took seconds) */
    size_t n_bad_load = 0, n_bad_lookup = 0;
    int fd = open(path, O_RDWR | O_TRUNC);
    assert_int_equal(write(fd, img.data, img.len), (ssize_t)img.len);
    for (size_t at = 0; at < img.len; at++) {
        uint8_t bad = img.data[at] ^ 0x40;
        assert_int_equal(pwrite(fd, &bad, 1, (off_t)at), 1);
        struct index_file *f = index_file_load(fd, 5, &why);
        if (!f) {
            n_bad_load++;
        } else {
            bits[0] = 0;
            if (index_file_lookup(f, fd, h("common"), NULL, bits, 40) < 0)
                n_bad_lookup++;
            else
                assert_true(bits[0] == (1ull << 40) - 1);
        }
        index_file_free(f);
        assert_int_equal(pwrite(fd, img.data + at, 1, (off_t)at), 1);
    }
    close(fd);
    assert_true(n_bad_load > 0);
    assert_true(n_bad_lookup > 0);
    assert_true(n_bad_load + n_bad_lookup == img.len);
    buf_fini(&img);
    }
    remove_dir(dir);
    free(path);
    free(dir);
}

/* Version 7 to 9 pages damaged behind valid CRCs (as a writer's bug would
 * leave them: the CRCs recomputed after random bytes of the pages were
 * changed): a lookup fails or answers, and never reads past its page
 * (ASan) nor hangs on the Rice-coded gaps. */
static void
test_index_short_keys_damage(void **state)
{
    char *dir = make_dir();
    char *path = xasprintf("%s/x.lqi", dir);
    struct buf img;
    const char *why;
    static const char *toks[] = { "common", "even", "odd", "b0", "b39",
                                  "again", "absent" };

    (void)state;
    for (int ver = 7; ver <= 10; ver++) {
    index_test_v7(ver == 7);
    index_test_v8(ver == 8);
    index_test_v9(ver == 9);
    write_sample(path, &img);
    index_test_v7(0);
    index_test_v8(0);
    index_test_v9(0);
    assert_int_equal(le32_load(img.data + 4), ver);
    uint32_t n_blks = le32_load(img.data + 16), n_pages = le32_load(img.data + 20);
    size_t dir_at = INDEX_HDR_LEN + 12 * (size_t)n_blks;
    size_t pages_at = dir_at + 12 * (size_t)n_pages +
                      (ver >= INDEX_VERSION_RANGE ? INDEX_RANGE_TRAILER : 0);
    uint8_t *d = xmalloc(img.len);
    size_t n_fail = 0, n_ok = 0;
    rng_state = 5;
    for (int round = 0; round < 3000; round++) {
        memcpy(d, img.data, img.len);
        for (int k = 0, n = 1 + (int)(rng() % 3); k < n; k++)
            d[pages_at + rng() % (img.len - pages_at)] ^=
                (uint8_t)(1u << (rng() % 8));
        for (size_t pg = 0, off = pages_at; pg < n_pages; pg++) {
            uint32_t len = le32_load(d + dir_at + 12 * pg + 4);
            le32_store(d + dir_at + 12 * pg + 8,
                       compress_crc32(0, d + off, len));
            off += len;
        }
        uint32_t crc = compress_crc32(0, d, INDEX_HDR_LEN - 4);
        le32_store(d + 28, compress_crc32(crc, d + INDEX_HDR_LEN,
                                          pages_at - INDEX_HDR_LEN));
        int fd = open(path, O_RDWR | O_TRUNC);
        assert_int_equal(write(fd, d, img.len), (ssize_t)img.len);
        struct index_file *f = index_file_load(fd, 5, &why);
        assert_non_null(f);
        for (size_t t = 0; t < sizeof(toks) / sizeof(toks[0]); t++) {
            uint64_t bits[1] = { 0 };
            uint32_t cw[40];
            if (index_file_lookup(f, fd, h(toks[t]), NULL, bits, 40) < 0)
                n_fail++;
            else
                n_ok++;
            (void)index_file_counts(f, fd, h(toks[t]), ck(toks[t]), NULL,
                                    cw, 40);
        }
        index_file_free(f);
        close(fd);
    }
    print_message("version %d, damaged pages: %zu lookups failed, %zu "
                  "answered\n", ver, n_fail, n_ok);
    assert_true(n_fail > 0 && n_ok > 0);
    free(d);
    buf_fini(&img);
    }
    remove_dir(dir);
    free(path);
    free(dir);
}

static void
test_index_encode_cap(void **state)
{
    struct index_mem *m = sample_mem();
    struct index_blkref refs[40] = { { 0, 0 } };
    struct buf small;

    (void)state;
    buf_init(&small, 64);
    assert_int_equal(index_mem_encode(m, 1, refs, 40, &small), -1);
    assert_int_equal(small.len, 0);
    buf_fini(&small);
    index_mem_free(m);
}

/* Two sets for one block: a key in both keeps one posting (the first
 * set's count word), so the map is the one of their union as one set;
 * a record of more tokens than the set takes at a time loses none. */
static void
test_index_same_block_twice(void **state)
{
    struct index_set a, b, u, c;
    struct index_blkref refs[2] = { { 16, 1 }, { 2000, 2 } };
    struct buf img1, img2;
    char big[2000];
    size_t n = 0;

    (void)state;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "w%d W%d ", i, i % 7);
    index_set_init(&a);
    index_set_init(&b);
    index_set_init(&u);
    index_set_init(&c);
    index_set_add_text(&a, "alpha beta", 10);
    index_set_add_text(&b, "beta gamma", 10);
    index_set_add_text(&u, "alpha beta gamma", 16);
    index_set_add_text(&c, big, n);
    assert_int_equal(c.n, 100);
    struct index_mem *m1 = index_mem_new(), *m2 = index_mem_new();
    index_mem_add_set(m1, 0, &a);
    index_mem_add_set(m1, 0, &b);
    index_mem_add_set(m1, 1, &c);
    index_mem_add_set(m2, 0, &u);
    index_mem_add_set(m2, 1, &c);
    assert_int_equal(index_mem_n_keys(m1), 103);
    assert_int_equal(index_mem_n_keys(m2), 103);
    buf_init(&img1, 1u << 20);
    buf_init(&img2, 1u << 20);
    assert_int_equal(index_mem_encode(m1, 9, refs, 2, &img1), 0);
    assert_int_equal(index_mem_encode(m2, 9, refs, 2, &img2), 0);
    assert_int_equal(img1.len, img2.len);
    assert_memory_equal(img1.data, img2.data, img1.len);
    for (int i = 0; i < 100; i++) {
        char w[8];
        uint64_t bits[1] = { 0 };
        int wl = snprintf(w, sizeof(w), "w%d", i);
        index_mem_lookup(m1, tokenize_hash((const uint8_t *)w, (size_t)wl),
                         bits, 2);
        assert_true(bits[0] == 2);
    }
    buf_fini(&img1);
    buf_fini(&img2);
    index_mem_free(m1);
    index_mem_free(m2);
    index_set_fini(&a);
    index_set_fini(&b);
    index_set_fini(&u);
    index_set_fini(&c);
}

/* Fills set with n hand-made keys of rng's hashes (no tokenizer): a key
 * of hash v has check ~v, except one in 64 (another token: a collision),
 * 1..40 records and any spellings. */
static void
fill_set(struct index_set *set, uint32_t n, uint32_t n_vals)
{
    index_set_reset(set);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = (rng() % n_vals + 1) * 2654435761u;
        size_t k = v & (set->size - 1);
        if (v == 0)
            continue;
        while (set->tab[k].hash && set->tab[k].hash != v)
            k = (k + 1) & (set->size - 1);
        if (set->tab[k].hash)
            continue;
        set->tab[k].hash = v;
        set->tab[k].check = rng() % 64 ? ~v : rng();
        set->tab[k].n_recs = 1 + rng() % 40;
        uint32_t fl = rng() % TOKENIZE_FORMS +
                      (rng() % 64 ? 0 : INDEX_SET_COLLIDED);
        /* frames (no rng draw: the version 5 image stays as it was):
         * one of 5, or several */
        uint32_t fm = v % 11 ? 1u << (v % 5) : v % INDEX_FRAMES_ALL;
        set->tab[k].fl = (uint16_t)(fl | (fm ? fm : 1) << INDEX_SET_FSHIFT);
        set->n++;
    }
}

/* index_mem_write's pieces, assembled at their offsets. */
struct pieces {
    uint8_t *img;
    size_t   cap, len, n, max_len;
};

static int
pieces_write(void *arg, uint64_t off, const void *p, size_t len)
{
    struct pieces *w = arg;

    assert_true(off + len <= w->cap);
    memcpy(w->img + off, p, len);
    if (off + len > w->len)
        w->len = (size_t)(off + len);
    w->n++;
    if (off > 0 && len > w->max_len)
        w->max_len = len;
    return 0;
}

/* Frames (version 6): a key in fewer than 4 blocks keeps the frames of
 * each block that hold it, exact for frames 0..11 (a frame code for one
 * frame under 7, a mask otherwise), in the map and in the file; version
 * 5 (without frames) and keys in 4 blocks or more say every frame. A
 * block number past what a posting holds leaves the map unable to tell:
 * every block, no counts, no file. */
static void
test_index_frames(void **state)
{
    static const struct {
        const char *tok;
        uint32_t    m0, m2;             /* masks in blocks 0 and 2 */
    } want[] = {
        { "alpha", 1u << 0, 1u << 1 }, { "beta", 1u << 3, 0 },
        { "gamma", 1u << 3 | 1u << 5, 0 }, { "delta", 1u << 11, 0 },
        { "every", INDEX_FRAMES_ALL, INDEX_FRAMES_ALL },
    };
    char *dir = make_dir();
    char *path = xasprintf("%s/x.lqi", dir);

    (void)state;
    for (int v5 = 0; v5 < 2; v5++) {
        struct index_mem *m = index_mem_new();
        index_mem_add_text_frame(m, 0, 0, "alpha every", 11);
        index_mem_add_text_frame(m, 0, 3, "beta gamma", 10);
        index_mem_add_text_frame(m, 0, 5, "gamma", 5);
        index_mem_add_text_frame(m, 0, 11, "delta", 5);
        index_mem_add_text_frame(m, 1, 0, "every", 5);
        index_mem_add_text_frame(m, 2, 1, "alpha every", 11);
        index_mem_add_text_frame(m, 3, 2, "every", 5);
        index_mem_flush(m);
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            uint64_t bits[1] = { 0 };
            uint32_t fm[4] = { 0 };
            index_mem_lookup_frames(m, h(want[i].tok), bits, fm, 4);
            if (i < 4) {
                assert_int_equal(fm[0], want[i].m0);
                assert_int_equal(fm[2], want[i].m2);
            }
        }
        struct buf img;
        index_test_without_frames(v5);
        write_mem(path, m, 4, &img);
        index_test_without_frames(0);
        buf_fini(&img);
        const char *why;
        int fd = open(path, O_RDONLY);
        struct index_file *f = index_file_load(fd, 5, &why);
        assert_non_null(f);
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            uint64_t bits[1] = { 0 };
            uint32_t fm[4] = { 0 };
            assert_int_equal(index_file_lookup_frames(f, fd, h(want[i].tok),
                                                      NULL, bits, fm, 4), 0);
            assert_true(bits[0] & 1);
            assert_int_equal(fm[0], v5 ? INDEX_FRAMES_ALL : want[i].m0);
            if (want[i].m2)
                assert_int_equal(fm[2], v5 ? INDEX_FRAMES_ALL : want[i].m2);
        }
        index_file_free(f);
        close(fd);
    }
    /* block 2^20: the map cannot tell */
    struct index_mem *m = index_mem_new();
    struct index_set set;
    uint64_t bits[1] = { 0 };
    uint32_t fm[8] = { 0 }, cw[8];
    index_set_init(&set);
    index_set_add_text(&set, "alpha", 5);
    index_mem_add_set(m, 0, &set);
    index_mem_add_set(m, INDEX_MAX_BLKS, &set);
    index_mem_lookup_frames(m, h("absent"), bits, fm, 8);
    assert_true(bits[0] == 0xff);
    assert_int_equal(fm[7], INDEX_FRAMES_ALL);
    assert_int_equal(index_mem_counts(m, h("alpha"), 0, cw, 8), 0);
    struct buf img;
    buf_init(&img, 1u << 20);
    struct index_blkref ref = { 16, 1 };
    assert_int_equal(index_mem_encode(m, 5, &ref, 1, &img), -1);
    buf_fini(&img);
    index_set_fini(&set);
    index_mem_free(m);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}

/* The .lqi bytes do not depend on how the map is laid out in memory:
 * the version 5 image of a map of hand-made sets (lists, bitmaps,
 * counted keys, collisions) has the CRC it had with the map of 24-byte
 * slots, before frame masks; the version 6 one (frames) its own, the
 * version 7 one (keys cut short) its own, the version 8 one (postings
 * in bits) its own, and the version 9 one (keys in a range, coded frame
 * fields) its own. */
#define V8_IMG_LEN 337433
#define V8_IMG_CRC 0x0f8309f6u
#define V9_IMG_LEN 307548
#define V9_IMG_CRC 0xa09d7671u
static void
test_index_image_stable(void **state)
{
    struct index_set set;
    struct index_blkref refs[64];
    struct index_mem *m = index_mem_new();
    struct buf img;

    (void)state;
    rng_state = 7;
    index_set_init(&set);
    for (uint32_t b = 0; b < 64; b++) {
        refs[b].off = 16 + 65536ull * b;
        refs[b].body_crc = b * 77;
        fill_set(&set, 3000, b % 2 ? 60000 : 5000);
        index_mem_add_set(m, b, &set);
    }
    assert_int_equal(index_mem_n_keys(m), 48886);
    buf_init(&img, 16u << 20);
    index_test_without_frames(1);
    assert_int_equal(index_mem_encode(m, 12, refs, 64, &img), 0);
    index_test_without_frames(0);
    assert_int_equal(img.len, 436499);
    assert_int_equal(compress_crc32(0, img.data, img.len), 0x9fcbb81fu);
    buf_reset(&img);
    index_test_full_keys(1);
    assert_int_equal(index_mem_encode(m, 12, refs, 64, &img), 0);
    index_test_full_keys(0);
    assert_int_equal(img.len, 482241);
    assert_int_equal(compress_crc32(0, img.data, img.len), 0x514208d9u);
    buf_reset(&img);
    index_test_v7(1);
    assert_int_equal(index_mem_encode(m, 12, refs, 64, &img), 0);
    index_test_v7(0);
    assert_int_equal(img.len, 404552);
    assert_int_equal(compress_crc32(0, img.data, img.len), 0x029e9210u);
    buf_reset(&img);
    index_test_v8(1);
    assert_int_equal(index_mem_encode(m, 12, refs, 64, &img), 0);
    index_test_v8(0);
    index_test_v9(0);
    assert_int_equal(img.len, V8_IMG_LEN);
    assert_int_equal(compress_crc32(0, img.data, img.len), V8_IMG_CRC);
    buf_reset(&img);
    index_test_v9(1);
    assert_int_equal(index_mem_encode(m, 12, refs, 64, &img), 0);
    index_test_v9(0);
    print_message("version 9: %zu bytes, crc %08x\n", img.len,
                  compress_crc32(0, img.data, img.len));
    assert_int_equal(img.len, V9_IMG_LEN);
    assert_int_equal(compress_crc32(0, img.data, img.len), V9_IMG_CRC);
    /* version 10: the same coding (these keys came from no text, so no
     * sub-words): the same bytes but for the version and the header's
     * checksum */
    struct buf v9;
    buf_init(&v9, img.len);
    buf_append(&v9, img.data, img.len);
    buf_reset(&img);
    assert_int_equal(index_mem_encode(m, 12, refs, 64, &img), 0);
    assert_int_equal(img.len, V9_IMG_LEN);
    assert_int_equal(le32_load(img.data + 4), INDEX_VERSION_SUBWORDS);
    assert_memory_equal(img.data, v9.data, 4);
    assert_memory_equal(img.data + 8, v9.data + 8, 20);
    assert_memory_equal(img.data + 32, v9.data + 32, img.len - 32);
    buf_fini(&v9);
    /* streamed in pieces of whole pages (a page here is ~1 KiB): the
     * same image, never more than a page past the chunk at a time */
    struct pieces w = { .cap = img.len };
    w.img = xcalloc(1, w.cap);
    assert_int_equal(index_mem_write(m, 12, refs, 64, 8192, pieces_write,
                                     &w), 0);
    assert_int_equal(w.len, img.len);
    assert_memory_equal(w.img, img.data, img.len);
    assert_true(w.n > 30);
    assert_true(w.max_len < 8192 + 4096);
    free(w.img);
    buf_fini(&img);
    index_mem_free(m);
    index_set_fini(&set);
}

/* A set of n keys (at most) from n_vals values whose low `low` bits are
 * 0, so that in a map of up to 2^low slots they share one probe run. */
static void
fill_set_low(struct index_set *set, uint32_t n, uint32_t n_vals,
             unsigned low)
{
    index_set_reset(set);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = (rng() % n_vals + 1) << low;
        if (v == 0 || index_set_find(set, v))
            continue;
        size_t k = (v >> 7) & (set->size - 1);
        while (set->tab[k].hash)
            k = (k + 1) & (set->size - 1);
        set->tab[k].hash = v;
        set->tab[k].check = rng() % 16 ? ~v : rng();
        set->tab[k].n_recs = 1 + rng() % 9;
        uint32_t fl = rng() % TOKENIZE_FORMS +
                      (rng() % 32 ? 0 : INDEX_SET_COLLIDED);
        set->tab[k].fl = (uint16_t)(fl | 1u << (rng() % INDEX_FRAME_BITS)
                                              << INDEX_SET_FSHIFT);
        set->n++;
    }
}

/* m and ref encode to the same image (segment 3, n_blks blocks of refs); returns its
 * length. */
static size_t
check_same_image(struct index_mem *m, struct index_mem *ref,
                 const struct index_blkref *refs, uint32_t n_blks)
{
    struct buf a, b;

    buf_init(&a, 16u << 20);
    buf_init(&b, 16u << 20);
    assert_int_equal(index_mem_encode(m, 3, refs, n_blks, &a), 0);
    assert_int_equal(index_mem_encode(ref, 3, refs, n_blks, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    size_t len = a.len;
    buf_fini(&a);
    buf_fini(&b);
    return len;
}

/* index_mem_add_set's pipeline (keys found, their entries and postings
 * prefetched some keys ahead of their add) against the one-by-one add:
 * the same keys, sizes and image over sets of 0 to thousands of keys
 * (fewer than the pipeline's depth too), a block added twice (its
 * postings read), keys sharing a probe run, the table grown during a
 * set, collisions, and a rollback; fails if the pipeline drops or
 * reorders a key, adds one to another key's entry or grows the table
 * elsewhere. */
static void
test_index_add_set_pipeline(void **state)
{
    static const uint32_t sizes[] = { 0, 1, 7, 23, 24, 25, 49, 300, 3000 };
    struct index_set set;
    struct index_blkref refs[200];
    struct index_mem *m = index_mem_new(), *ref = index_mem_new();
    uint32_t blk = 0, mark_blk = 0;

    (void)state;
    rng_state = 5;
    index_set_init(&set);
    for (uint32_t k = 0; k < 200; k++) {
        refs[k].off = 16 + 4096ull * k;
        refs[k].body_crc = k;
    }
    for (uint32_t r = 0; r < 120; r++) {
        uint32_t n = sizes[rng() % 9];
        if (r % 3 == 0)
            fill_set_low(&set, n, r % 2 ? 400 : 40000, r % 4 ? 10 : 4);
        else
            fill_set(&set, n, r % 2 ? 2000 : 1u << 30);
        if (r == 60) {          /* a failed add, rolled back in both */
            mark_blk = ++blk;   /* past every block before the mark */
            index_mem_mark(m);
            index_mem_mark(ref);
        }
        index_mem_add_set(m, blk, &set);
        index_mem_add_set_ref(ref, blk, &set);
        assert_int_equal(index_mem_n_keys(m), index_mem_n_keys(ref));
        assert_int_equal(index_mem_bytes(m), index_mem_bytes(ref));
        if (r == 64) {          /* the retry: the same block numbers */
            index_mem_rollback(m);
            index_mem_rollback(ref);
            assert_int_equal(index_mem_n_keys(m), index_mem_n_keys(ref));
            blk = mark_blk;
            continue;
        }
        blk += rng() % 4 != 0;  /* else the same block again */
    }
    assert_true(check_same_image(m, ref, refs, blk + 1) > 70000);
    index_mem_free(m);
    index_mem_free(ref);
    index_set_fini(&set);
}

/* A block of more records than 16 bits count (a set entry keeps its
 * last record's number in 16 bits, cleared at each multiple of 65536):
 * each token's count is the number of records holding it, whatever the
 * spacing of those records; fails if a token seen exactly 65536
 * records apart (or 65535, or 65537: the numbers skip the multiples) is
 * taken for one seen in the same record. */
static void
test_index_set_many_records(void **state)
{
    static const uint32_t every[] = { 1, 65535, 65536, 65537, 70000 };
    const uint32_t n = 3 * 65536 + 100;
    uint32_t want[5] = { 0 };
    struct index_set set;

    (void)state;
    index_set_init(&set);
    for (uint32_t i = 0; i < n; i++) {
        char text[128];
        size_t len = 0;
        for (size_t k = 0; k < 5; k++)
            if (i % every[k] == 3 % every[k]) {
                len += (size_t)snprintf(text + len, sizeof(text) - len,
                                        "e%u e%u ", every[k], every[k]);
                want[k]++;
            }
        index_set_add_text(&set, text, len);
    }
    for (size_t k = 0; k < 5; k++) {
        char tok[16];
        snprintf(tok, sizeof(tok), "e%u", every[k]);
        const struct index_set_ent *e = index_set_find(&set, h(tok));
        assert_non_null(e);
        assert_int_equal(e->n_recs, want[k]);
        assert_int_equal(index_set_ent_flags(e), TOKENIZE_FORM_LOWER);
    }
    assert_int_equal(want[2], 4);
    index_set_fini(&set);
}

/* Versions 7 to 9: keys cut to index_key_bits_v(n) bits (version 9:
 * to a range of 128 keys a token, index_key_range). The image of
 * a map of n_blks blocks of 800 tokens each (of 20,000: in one block, a
 * few with their frames, many and counted) against the version 6 image
 * of the same map (32-bit keys: exactly the map's blocks): every
 * token's lookup gives at least version 6's blocks and frames (a
 * superset: the blocks of the tokens its cut key merged with), exactly
 * them for all but a few in 2^slack tokens; counts only where version 6
 * has them, and the same; few absent tokens hit a key; the file is
 * smaller. Fails if the reader does not cut the hash (tokens not
 * found), if a merged key drops a token's blocks or frames or keeps
 * counts, or if no key merged (the test would not test merging). */
static void
short_keys_check(uint32_t n_blks, uint32_t ver, uint32_t n_frames)
{
    struct index_blkref refs[200];
    struct index_mem *m = index_mem_new();
    struct buf img6, img7;
    const char *why;
    char tok[32];
    uint32_t slack = ver == 7 ? INDEX_KEY_SLACK : ver == 8
                     ? INDEX_KEY_SLACK_BITS
                     : (uint32_t)__builtin_ctz(INDEX_KEY_SLACK_RANGE);

    rng_state = 21;
    for (uint32_t b = 0; b < n_blks; b++) {
        refs[b].off = 16 + 65536ull * b;
        refs[b].body_crc = b * 77;
        for (int i = 0; i < (n_blks == 1 ? 20000 : 800); i++) {
            uint32_t v = i < 40 ? rng() % 200 : rng() % 20000;
            int n = snprintf(tok, sizeof(tok), "k%u", v);
            index_mem_add_text_frame(m, b, rng() % n_frames, tok, (size_t)n);
        }
    }
    index_mem_flush(m);
    size_t n_keys = index_mem_n_keys(m);
    buf_init(&img6, 16u << 20);
    buf_init(&img7, 16u << 20);
    index_test_full_keys(1);
    assert_int_equal(index_mem_encode(m, 5, refs, n_blks, &img6), 0);
    index_test_full_keys(0);
    index_test_v7(ver == 7);
    index_test_v8(ver == 8);
    index_test_v9(ver == 9);
    assert_int_equal(index_mem_encode(m, 5, refs, n_blks, &img7), 0);
    index_test_v7(0);
    index_test_v8(0);
    index_test_v9(0);
    assert_int_equal(le32_load(img6.data + 4), INDEX_VERSION_FRAMES);
    assert_int_equal(le32_load(img7.data + 4), ver);
    assert_true(img7.len < img6.len);
    char *dir = make_dir();
    char *p6 = xasprintf("%s/6.lqi", dir), *p7 = xasprintf("%s/7.lqi", dir);
    int fd = open(p7, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int fd6 = open(p6, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0 && fd6 >= 0);
    assert_int_equal(write(fd, img7.data, img7.len), (ssize_t)img7.len);
    assert_int_equal(write(fd6, img6.data, img6.len), (ssize_t)img6.len);
    struct index_file *f = index_file_load(fd, 5, &why);
    struct index_file *f6 = index_file_load(fd6, 5, &why);
    assert_non_null(f);
    assert_non_null(f6);
    size_t n_merged = 0, n_present = 0, n_false = 0, n_counted = 0;
    size_t n_lost = 0, n_false_ck = 0, n_false_many = 0, n_kept = 0;
    uint32_t cw6[200], cwf[200], fmf[200], fm6[200];
    for (uint32_t v = 0; v < 30000; v++) {
        int n = snprintf(tok, sizeof(tok), "k%u", v);
        uint32_t hv = h(tok), cv = ck(tok);
        uint64_t bm[4] = { 0 }, bf[4] = { 0 }, b6[4] = { 0 };
        memset(fmf, 0, sizeof(fmf));
        memset(fm6, 0, sizeof(fm6));
        index_mem_lookup(m, hv, bm, n_blks);
        assert_int_equal(index_file_lookup_frames(f, fd, hv, NULL, bf, fmf,
                                                  n_blks), 0);
        assert_int_equal(index_file_lookup_frames(f6, fd6, hv, NULL, b6,
                                                  fm6, n_blks), 0);
        /* with the token's check: never fewer blocks or frames than
         * version 6 gives (the token's own), none where a counted key of
         * another token was hit */
        uint64_t bc[4] = { 0 };
        uint32_t fmc[200] = { 0 };
        assert_int_equal(index_file_lookup_check(f, fd, hv, cv, 1, NULL, bc,
                                                 fmc, n_blks), 0);
        int is_exact = 1, is_any = 0, is_ck_exact = 1;
        for (int w = 0; w < 4; w++) {
            assert_true(b6[w] == bm[w]);
            assert_true((bf[w] & b6[w]) == b6[w]);
            assert_true((bc[w] & b6[w]) == b6[w] && (bc[w] & ~bf[w]) == 0);
            is_exact &= bf[w] == b6[w];
            is_ck_exact &= bc[w] == b6[w];
            is_any |= bm[w] != 0;
        }
        for (uint32_t b = 0; b < n_blks; b++)
            if (b6[b / 64] >> (b % 64) & 1)
                assert_true((fmc[b] & fm6[b]) == fm6[b]);
        for (uint32_t b = 0; b < n_blks; b++)
            if (b6[b / 64] >> (b % 64) & 1) {
                assert_true((fmf[b] & fm6[b]) == fm6[b]);
                is_exact &= fmf[b] == fm6[b];
            }
        if (!is_any) {
            n_false += !is_exact;
            n_false_ck += !is_ck_exact;
            n_false_many += !is_exact &&
                            __builtin_popcountll(bf[0]) + __builtin_popcountll(bf[1]) +
                            __builtin_popcountll(bf[2]) + __builtin_popcountll(bf[3]) >= 4;
            continue;
        }
        n_present++;
        n_merged += !is_exact;
        memset(cwf, 0xff, sizeof(cwf));
        memset(cw6, 0xff, sizeof(cw6));
        int r6 = index_file_counts(f6, fd6, hv, cv, NULL, cw6, n_blks);
        int rf = index_file_counts(f, fd, hv, cv, NULL, cwf, n_blks);
        /* a key merged with a token of a subset of its blocks is exact
         * but without counts (version 9 keeps those of its one counted
         * token: 0 records in the others' blocks) */
        assert_true(rf == r6 || rf == 0);
        n_lost += rf != r6;
        n_kept += rf == 1 && !is_exact;
        if (rf == 1) {
            for (uint32_t b = 0; b < n_blks; b++)
                if (cw6[b] != UINT32_MAX)
                    assert_int_equal(cwf[b], cw6[b]);
                else
                    assert_true(cwf[b] == UINT32_MAX || cwf[b] >> 3 == 0);
            n_counted++;
        }
        (void)n;
    }
    print_message("version %u, %u blocks of %u frames: %zu keys, %zu and "
                  "%zu bytes (version 6), %zu tokens hit more, %zu of %zu "
                  "absent hit (%zu of them 4 blocks or more; with the "
                  "check %zu), %zu counted (%zu of them merged), %zu "
                  "counts lost\n", ver, n_blks, n_frames,
                  n_keys, img7.len, img6.len, n_merged, n_false,
                  30000 - n_present, n_false_many, n_false_ck, n_counted,
                  n_kept, n_lost);
    /* most merges there are of a counted token and a rare one (at 200
     * blocks nearly every token is counted) */
    if (ver >= INDEX_VERSION_RANGE && n_blks == 64)
        assert_true(n_kept > 0 && n_lost < n_kept);
    /* the check drops the hits of counted keys, the most costly */
    assert_true(n_false_ck <= n_false);
    if (ver >= INDEX_VERSION_COUNTS && n_false_many > 0)
        assert_true(n_false_ck < n_false);
    assert_int_equal(n_present, n_keys);
    if (n_blks > 1 || n_frames > 1)     /* else a merge changes nothing */
        assert_true(n_merged > 0);
    assert_true(n_merged < n_keys >> (slack - 2));
    assert_true(n_lost < n_keys >> (slack - 2));
    assert_true(n_false < (30000 - n_present) >> (slack - 2));
    if (n_blks >= 64)
        assert_true(n_counted > 100);
    index_file_free(f);
    index_file_free(f6);
    close(fd);
    close(fd6);
    remove_dir(dir);
    free(p6);
    free(p7);
    free(dir);
    buf_fini(&img6);
    buf_fini(&img7);
    index_mem_free(m);
}

static void
test_index_short_keys(void **state)
{
    struct index_blkref refs[2] = { { 16, 0 }, { 65552, 77 } };
    const char *why;
    uint32_t fmf[2];
    struct buf img7;
    char *dir, *p7;
    struct index_mem *m;
    struct index_file *f;
    int fd;

    (void)state;
    for (uint32_t ver = 7; ver <= 10; ver++) {
        short_keys_check(64, ver, 12);
        short_keys_check(1, ver, 12);
        short_keys_check(1, ver, 1);
        short_keys_check(3, ver, 5);
        short_keys_check(17, ver, 4);
        short_keys_check(200, ver, 12);
    }

    /* two tokens whose keys cut alike, in one block in other frames: the
     * file holds one key, and each token's lookup gives both frames */
    char t1[16], t2[16];
    uint64_t range = index_key_range(2);
    for (uint32_t i = 0, j; ; i++) {
        snprintf(t1, sizeof(t1), "m%u", i);
        for (j = 0; j < i; j++) {
            snprintf(t2, sizeof(t2), "m%u", j);
            if (index_key_cut(h(t1), range) == index_key_cut(h(t2), range))
                break;
        }
        if (j < i)
            break;
    }
    m = index_mem_new();
    index_mem_add_text_frame(m, 0, 1, t1, strlen(t1));
    index_mem_add_text_frame(m, 0, 3, t2, strlen(t2));
    index_mem_add_text_frame(m, 1, 2, t2, strlen(t2));
    index_mem_flush(m);
    buf_init(&img7, 1u << 20);
    assert_int_equal(index_mem_encode(m, 5, refs, 2, &img7), 0);
    index_mem_free(m);
    assert_int_equal(le32_load(img7.data + 24), 1);     /* n_keys */
    dir = make_dir();
    p7 = xasprintf("%s/7.lqi", dir);
    fd = open(p7, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img7.data, img7.len), (ssize_t)img7.len);
    f = index_file_load(fd, 5, &why);
    assert_non_null(f);
    for (int k = 0; k < 2; k++) {
        uint64_t bf[1] = { 0 };
        assert_int_equal(index_file_lookup_frames(f, fd, h(k ? t2 : t1), NULL,
                                                  bf, fmf, 2), 0);
        assert_true(bf[0] == 3);
        assert_int_equal(fmf[0], 1u << 1 | 1u << 3);
        assert_int_equal(fmf[1], 1u << 2);
    }
    index_file_free(f);
    close(fd);
    remove_dir(dir);
    free(p7);
    free(dir);
    buf_fini(&img7);
}

/* A speculative add rolled back (the sealing thread's map after a failed
 * segment write, STORE.md "Threads"): the blocks added since the mark
 * are gone, postings, new keys and lost counts (collisions) alike, so
 * that other sets added under the same block numbers (the retry, one of
 * its blocks quarantined) give the image of a map that never had the
 * first ones; fails if a key keeps a posting, keeps the counts' loss
 * (a collision in the failed add) or a key of the failed add stays.
 * Twice, the second time over a table grown since the mark. */
static void
test_index_mem_rollback(void **state)
{
    struct index_set set;
    struct index_blkref refs[40];
    struct index_mem *m = index_mem_new(), *ref = index_mem_new();

    (void)state;
    index_set_init(&set);
    for (uint32_t k = 0; k < 40; k++) {
        refs[k].off = 16 + 4096ull * k;
        refs[k].body_crc = k;
    }
    rng_state = 11;
    for (uint32_t k = 0; k < 20; k++) {
        fill_set(&set, 500, k % 2 ? 3000 : 400);
        index_mem_add_set(m, k, &set);
        index_mem_add_set(ref, k, &set);
    }
    size_t keys0 = index_mem_n_keys(m), bytes0 = index_mem_bytes(m);
    for (int round = 0; round < 2; round++) {
        uint32_t base = 20 + 10 * (uint32_t)round;
        index_mem_mark(m);
        for (uint32_t k = 0; k < 6; k++) {  /* the failed try: new keys,
                                               and old ones that get
                                               postings or lose counts */
            fill_set(&set, round ? 8000 : 700, k % 2 ? 3000 : 1u << 30);
            index_mem_add_set(m, base + k, &set);
        }
        assert_true(index_mem_n_keys(m) > keys0);
        index_mem_rollback(m);
        assert_int_equal(index_mem_n_keys(m), keys0);
        if (round == 0)         /* the postings arrays shrank back */
            assert_int_equal(index_mem_bytes(m), bytes0);
        index_mem_mark(m);      /* the retry: other blocks, same numbers */
        for (uint32_t k = 0; k < 10; k++) {
            fill_set(&set, 500, 3000);
            index_mem_add_set(m, base + k, &set);
            index_mem_add_set(ref, base + k, &set);
        }
        index_mem_keep(m);
        keys0 = index_mem_n_keys(m);
        bytes0 = index_mem_bytes(m);
        assert_int_equal(keys0, index_mem_n_keys(ref));
    }
    index_mem_rollback(m);      /* kept: nothing to undo */
    assert_int_equal(index_mem_n_keys(m), keys0);
    check_same_image(m, ref, refs, 40);
    index_mem_free(m);
    index_mem_free(ref);
    index_set_fini(&set);
}

/* A map made for n keys (index_mem_new_keys: the sealing thread's, for
 * the last segment's key count) against one grown from the smallest
 * table: the same keys, lookups, counts and image, whether n is the
 * final count (then the same table: the same bytes held, it never
 * doubled), fewer (it doubles later), more, 0 or past the largest
 * table; with a rollback past a doubling. Fails if the table's size
 * decides anything but where keys lie. */
static void
test_index_mem_new_keys(void **state)
{
    static const size_t ns[] = { 0, 1, 767, 768, 769, 5000, 0, 1u << 30 };
    struct index_set set;
    struct index_blkref refs[30];

    (void)state;
    index_set_init(&set);
    for (uint32_t k = 0; k < 30; k++) {
        refs[k].off = 16 + 4096ull * k;
        refs[k].body_crc = k;
    }
    for (size_t c = 0; c < sizeof(ns) / sizeof(ns[0]); c++) {
        struct index_mem *ref = index_mem_new();
        struct index_mem *m = NULL;
        size_t n = ns[c];
        if (c == 6) {           /* the exact count: built once before */
            struct index_mem *pre = index_mem_new();
            rng_state = 21;
            for (uint32_t k = 0; k < 30; k++) {
                fill_set(&set, 400, k % 3 ? 5000 : 1u << 30);
                index_mem_add_set(pre, k, &set);
            }
            n = index_mem_n_keys(pre);
            index_mem_free(pre);
        }
        m = index_mem_new_keys(n);
        if (n > 768)            /* made larger than the smallest table */
            assert_true(index_mem_bytes(m) > index_mem_bytes(ref));
        else
            assert_int_equal(index_mem_bytes(m), index_mem_bytes(ref));
        rng_state = 21;
        for (uint32_t k = 0; k < 30; k++) {
            fill_set(&set, 400, k % 3 ? 5000 : 1u << 30);
            if (k == 20) {      /* a failed add past a doubling */
                index_mem_mark(m);
                index_mem_add_set(m, 20, &set);
                index_mem_add_set(m, 21, &set);
                index_mem_rollback(m);
            }
            index_mem_add_set(m, k, &set);
            index_mem_add_set(ref, k, &set);
        }
        assert_int_equal(index_mem_n_keys(m), index_mem_n_keys(ref));
        if (c == 6)             /* the same table: never grown */
            assert_int_equal(index_mem_bytes(m), index_mem_bytes(ref));
        for (uint32_t i = 0; i < 3000; i++) {
            uint32_t h = i < 2000 ? (rng() % 5000 + 1) * 2654435761u
                                  : rng();
            uint64_t b1[1] = { 0 }, b2[1] = { 0 };
            uint32_t cw1[30] = { 0 }, cw2[30] = { 0 };
            index_mem_lookup(m, h, b1, 30);
            index_mem_lookup(ref, h, b2, 30);
            assert_int_equal(b1[0], b2[0]);
            assert_int_equal(index_mem_counts(m, h, ~h, cw1, 30),
                             index_mem_counts(ref, h, ~h, cw2, 30));
            assert_memory_equal(cw1, cw2, sizeof(cw1));
        }
        check_same_image(m, ref, refs, 30);
        index_mem_free(m);
        index_mem_free(ref);
    }
    index_set_fini(&set);
}

/* The open segment's map is bounded per key: at 400k keys (past 3/4 of
 * 512 Ki slots, so the table has doubled to 1 Mi) it holds at most 40
 * bytes a key with every key in one block (8-byte slots, 16-byte entries;
 * the table of 24-byte slots took 63), and 16 bytes more a key for
 * postings arrays of up to 4 blocks. */
static void
test_index_mem_bytes_bound(void **state)
{
    struct index_set set;
    struct index_mem *m = index_mem_new();
    uint32_t b = 0;

    (void)state;
    rng_state = 3;
    index_set_init(&set);
    while (index_mem_n_keys(m) < 400000) {
        fill_set(&set, 8000, 1u << 30);
        index_mem_add_set(m, b++, &set);
    }
    size_t n = index_mem_n_keys(m);
    assert_true(index_mem_bytes(m) <= 40 * n);
    for (uint32_t i = 0; i < 3; i++) {
        struct index_set_ent *e = set.tab;
        for (size_t k = 0; k < set.size; k++)
            e[k].n_recs = e[k].hash ? 1 : 0;
        index_mem_add_set(m, b++, &set);
    }
    assert_int_equal(index_mem_n_keys(m), n);
    assert_true(index_mem_bytes(m) <= 40 * n + 32 * set.n);
    index_mem_free(m);
    index_set_fini(&set);
}

/* The .lqi encoder's Exp-Golomb parameter from its two passes over the
 * values is the one trying every parameter finds, with the same bits:
 * lengths 0 to 16 one by one, then steps of 1 + n / 16 up to 295 (58
 * lengths in all), of values of every bit length (runs of ones, powers
 * of two and their neighbours, 0, UINT32_MAX, random), with the strides
 * and shifts the encoder uses (gaps: 1, 0; counts: 2, 3). */
static void
test_index_eg_best(void **state)
{
    enum { N = 300 };
    uint32_t v[2 * N];
    size_t n_cases = 0;

    (void)state;
    rng_state = 11;
    for (uint32_t kind = 0; kind < 8; kind++)
        for (size_t n = 0; n <= N; n += 1 + n / 16) {
            for (size_t i = 0; i < 2 * N; i++) {
                uint32_t b = rng() % 33, x;
                switch (kind) {
                case 0: x = rng() % 4; break;
                case 1: x = b ? (uint32_t)(UINT32_MAX >> (32 - b)) : 0;
                    break;                      /* all ones */
                case 2: x = b ? 1u << (b - 1) : 0; break;
                case 3: x = (b ? 1u << (b - 1) : 0) + rng() % 3 - 1; break;
                case 4: x = rng() >> (rng() % 32); break;
                case 5: x = i % 2 ? UINT32_MAX : 0; break;
                case 6: x = rng() % 64; break;
                default: x = (uint32_t)(UINT32_MAX >> (rng() % 32)) &
                             ~(1u << (rng() % 32));
                }
                v[i] = x;
            }
            for (size_t stride = 1; stride <= 2; stride++)
                for (uint32_t shift = 0; shift <= 3; shift += 3) {
                    uint64_t len = 0, len_ref = 0;
                    uint32_t k = index_test_eg_best(v, n, stride, shift,
                                                    &len, 0);
                    uint32_t k_ref = index_test_eg_best(v, n, stride, shift,
                                                        &len_ref, 1);
                    assert_int_equal(k, k_ref);
                    assert_int_equal(len, len_ref);
                    n_cases++;
                }
        }
    assert_true(n_cases > 500);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_mem_lookup),
        cmocka_unit_test(test_index_hash_zero),
        cmocka_unit_test(test_index_frames),
        cmocka_unit_test(test_index_same_block_twice),
        cmocka_unit_test(test_index_image_stable),
        cmocka_unit_test(test_index_short_keys),
        cmocka_unit_test(test_index_short_keys_damage),
        cmocka_unit_test(test_index_mem_bytes_bound),
        cmocka_unit_test(test_index_mem_rollback),
        cmocka_unit_test(test_index_mem_new_keys),
        cmocka_unit_test(test_index_add_set_pipeline),
        cmocka_unit_test(test_index_set_many_records),
        cmocka_unit_test(test_index_file_round_trip),
        cmocka_unit_test(test_index_counts),
        cmocka_unit_test(test_index_counts_collision),
        cmocka_unit_test(test_index_file_damage),
        cmocka_unit_test(test_index_encode_many_keys),
        cmocka_unit_test(test_index_encode_cap),
        cmocka_unit_test(test_index_eg_best),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
