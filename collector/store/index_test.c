/* SPDX-License-Identifier: MIT */
/*
 * index_test: the per-segment token index. Unit tests of index.c (map
 * lookups, .lqi encode/load round trip, list and bitmap postings, damaged
 * and truncated files) and a property test through the store's API: random
 * records and random token sets, where the indexed cursor must return
 * exactly the records that a brute-force scan returns, in the same order,
 * also after a reopen, with a deleted .lqi, a damaged .lqi and a leftover
 * temp file (killed during an index write); a .lqi with damaged pages is
 * dropped at its first failed lookup and rebuilt once at the next open.
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
#include "collector/store/store.h"
#include "collector/store/tokenize.h"
#include "common/casefold.h"
#include "common/compress.h"
#include "common/xmalloc.h"
#include "tests/support/testdir.h"

#define T0 1700000000000000000LL

static uint64_t rng_state;

static uint32_t
rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static char *
make_dir(void)
{
    char *dir = testdir_make("logq-index-test");

    assert_non_null(dir);
    return dir;
}

static void
remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *p = xasprintf("%s/%s", dir, de->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

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
    buf_init(&img, 16u << 20);
    assert_int_equal(index_mem_encode(m, 3, refs, 64, &img), 0);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img.data, img.len), (ssize_t)img.len);
    struct index_file *f = index_file_load(fd, 3, &why);
    assert_non_null(f);
    for (uint32_t v = 0; v < 21000; v++) {
        uint64_t want = 0, got = 0;
        int n = snprintf(tok, sizeof(tok), "k%u", v);
        index_mem_lookup(m, h(tok), &want, 64);
        assert_int_equal(index_file_lookup(f, fd, h(tok), NULL, &got, 64),
                         0);
        assert_true(got == want);
        assert_true(v < 20000 || want == 0);
        (void)n;
    }
    index_file_free(f);
    close(fd);
    index_mem_free(m);
    buf_fini(&img);
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
    write_sample(path, &img);
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

/* ------------------------------------------------------------------ */
/* Property test through the store                                    */

#define N_VOCAB 48
static char vocab[N_VOCAB][96];

static void
make_vocab(void)
{
    static const char *fixed[] = {
        "error", "Warn", "GET", "10.0.0.1", "caf\xc3\xa9", "na\xc3\xafve",
        "\xe6\x97\xa5\xe6\x9c\xac", "user_id", "/var/log/app.log",
        "6db169e4-19a2-a16a-ba76-e982c6baf843", "CAF\xc3\x89",
        "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
        "pam_unix(sshd)", "\xc8\xba" "x", "caf",
    };
    for (size_t i = 0; i < N_VOCAB; i++) {
        if (i < sizeof(fixed) / sizeof(fixed[0])) {
            snprintf(vocab[i], sizeof(vocab[i]), "%s", fixed[i]);
        } else if (i % 11 == 0) {
            /* longer than the token cap: prefixes collide on purpose */
            memset(vocab[i], 'L', 80);
            snprintf(vocab[i] + 80, 16, "x%zu", i);
        } else {
            snprintf(vocab[i], sizeof(vocab[i]), "%sw%x",
                     i % 3 ? "" : "Rare", (unsigned)(rng() % 4096));
        }
    }
}

/* The word rule (collector/search/query.h, tokenize.h). */
static int
is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/* Does the folded message f (fl bytes) hold the folded tok as a whole
 * word (common/casefold.h keeps which bytes are word bytes)? */
static int
has_word(const char *f, size_t fl, const char *tok)
{
    size_t n = strlen(tok);

    for (size_t i = 0; i + n <= fl; i++) {
        if (f[i] != tok[0] || memcmp(f + i, tok, n) != 0)
            continue;
        if ((i == 0 || !is_word((unsigned char)f[i - 1])) &&
            (i + n == fl || !is_word((unsigned char)f[i + n])))
            return 1;
    }
    return 0;
}

struct qtoks {
    char  *tok[4];
    size_t n;
};

/* A filter word: a whole vocabulary token (a word run), folded. */
static void
pick_token(struct qtoks *q)
{
    const char *w = vocab[rng() % N_VOCAB];
    size_t len = strlen(w), i = 0, n_runs = 0;
    char runs[8][200];

    while (i < len && n_runs < 8) {
        while (i < len && !is_word((unsigned char)w[i]))
            i++;
        size_t start = i;
        while (i < len && is_word((unsigned char)w[i]))
            i++;
        if (i == start)
            continue;
        size_t k = casefold_str((const uint8_t *)w + start, i - start,
                                (uint8_t *)runs[n_runs], sizeof(runs[0]) - 1);
        runs[n_runs++][k] = '\0';
    }
    if (!n_runs)
        return;
    q->tok[q->n++] = xstrdup(runs[rng() % n_runs]);
}

/* Does r hold every token of q once folded (folded once per record)? */
static int
rec_matches(const struct logrec *r, const struct qtoks *q)
{
    static char f[4096];
    size_t fl = casefold_str((const uint8_t *)r->msg, r->msg_len,
                             (uint8_t *)f, sizeof(f));

    assert_true(fl <= sizeof(f));
    for (size_t i = 0; i < q->n; i++)
        if (!has_word(f, fl, q->tok[i]))
            return 0;
    return 1;
}

/* Appends the matching records of a scan to out ("host offset\n" each);
 * returns the number of records the cursor returned. */
static size_t
scan(struct store *s, const struct qtoks *q, int use_tokens, int newest,
     struct buf *out)
{
    struct store_filter f = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
        .tokens = use_tokens ? (const char *const *)q->tok : NULL,
        .n_tokens = use_tokens ? q->n : 0,
        .is_tokens_required = use_tokens == 2,
    };
    struct store_cursor *c = store_cursor_new(s, &f, newest);
    struct logrec r;
    size_t n = 0;
    int rc;

    buf_reset(out);
    while ((rc = store_cursor_next(c, &r)) != 0) {
        if (rc < 0)
            continue;
        n++;
        if (!rec_matches(&r, q))
            continue;
        char line[128];
        int k = snprintf(line, sizeof(line), "%s %llu\n", r.host,
                         (unsigned long long)r.offset);
        assert_int_equal(buf_append(out, line, (size_t)k), 0);
    }
    store_cursor_free(c);
    return n;
}

/* Runs n_queries random token sets; returns how many read fewer records
 * with the index than without. */
static size_t
check_queries(struct store *s, size_t n_queries)
{
    struct buf want, got;
    size_t n_pruned = 0, n_dropped = 0;

    buf_init(&want, 64u << 20);
    buf_init(&got, 64u << 20);
    for (size_t k = 0; k < n_queries; k++) {
        struct qtoks q = { .n = 0 };
        size_t nt = 1 + rng() % 3;
        for (size_t i = 0; i < nt; i++)
            pick_token(&q);
        if (k % 10 == 9)
            q.tok[q.n++] = xstrdup("zzznotthere");
        int newest = (int)(rng() % 2);
        size_t n_all = scan(s, &q, 0, newest, &want);
        size_t n_idx = scan(s, &q, 1, newest, &got);
        assert_true(n_idx <= n_all);
        if (n_idx < n_all)
            n_pruned++;
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, want.len);
        /* records without every token dropped by the cursor: the same
         * matches from no more records */
        size_t n_req = scan(s, &q, 2, newest, &got);
        assert_true(n_req <= n_idx);
        n_dropped += n_req < n_idx;
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, want.len);
        for (size_t i = 0; i < q.n; i++)
            free(q.tok[i]);
    }
    buf_fini(&want);
    buf_fini(&got);
    assert_true(n_queries < 20 || n_dropped > 0);
    return n_pruned;
}

static struct store *
open_store(const char *dir)
{
    struct store_options opt = { .block_size = 2048, .segment_size = 16384 };
    char *err = NULL;
    struct store *s = store_open(dir, &opt, &err);

    assert_non_null(s);
    return s;
}

static void
fill_store_every(struct store *s, size_t n, size_t every)
{
    static const char *seps[] = { " ", " ", ".", "/", ":", "-", "=", ", " };
    uint64_t off[3] = { 0, 0, 0 };
    const char *hosts[3] = { "h0", "h1", "h2" };

    for (size_t i = 0; i < n; i++) {
        char msg[1024];
        size_t len = 0, nw = 1 + rng() % 8;
        for (size_t w = 0; w < nw; w++) {
            const char *word = vocab[rng() % N_VOCAB];
            /* the rare words appear in few records */
            if ((word[0] == 'R' || word[0] == 'L') && rng() % 8)
                word = vocab[1 + rng() % 3];
            len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s",
                                    w ? seps[rng() % 8] : "", word);
        }
        uint32_t src = rng() % 3;
        struct logrec r = {
            .time_ns = T0 + (int64_t)i * 1000 - (int64_t)(rng() % 5000),
            .host = hosts[src], .container_id = "c", .container = "web",
            .image = "img", .stream = (int)(rng() % 2),
            .offset = ++off[src] * 10, .msg = msg, .msg_len = len,
        };
        assert_int_equal(store_append(s, &r), 1);
        if (i % every == every - 1)
            assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(store_commit(s), 0);
}

static void
fill_store(struct store *s, size_t n)
{
    fill_store_every(s, n, 37);
}

static char *
lqi_path(const char *dir, uint64_t seq)
{
    return xasprintf("%s/seg-%016llx.lqi", dir, (unsigned long long)seq);
}

static void
test_index_property(void **state)
{
    char *dir = make_dir();
    struct store_stats st;

    (void)state;
    rng_state = 42;
    make_vocab();
    struct store *s = open_store(dir);
    fill_store(s, 4000);
    store_get_stats(s, &st);
    assert_true(st.n_segments >= 4);
    assert_true(st.index_bytes > 0);
    assert_true(check_queries(s, 150) > 0);
    store_close(s);

    /* reopen: sealed indexes are loaded, the open segment rebuilt */
    s = open_store(dir);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_rebuilds, 0);
    assert_true(check_queries(s, 60) > 0);
    store_close(s);

    /* deleted, damaged and leftover-temp index files */
    char *p1 = lqi_path(dir, 1), *p2 = lqi_path(dir, 2);
    char *tmp = xasprintf("%s.tmp", p2);
    assert_int_equal(unlink(p1), 0);
    int fd = open(p2, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "\xff\xff\xff\xff", 4, 20), 4);
    close(fd);
    fd = open(tmp, O_WRONLY | O_CREAT, 0644);
    assert_int_equal(write(fd, "LQI1half", 8), 8);
    close(fd);
    s = open_store(dir);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_rebuilds, 2);
    assert_int_not_equal(access(p1, F_OK), -1);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_true(check_queries(s, 60) > 0);
    store_close(s);

    /* a damaged page is found at lookup time: that segment is scanned */
    struct stat sb;
    assert_int_equal(stat(p2, &sb), 0);
    s = open_store(dir);
    fd = open(p2, O_RDWR);
    for (off_t at = sb.st_size - 64; at < sb.st_size; at += 8)
        assert_int_equal(pwrite(fd, "\x55", 1, at), 1);
    close(fd);
    assert_true(check_queries(s, 60) > 0);
    store_get_stats(s, &st);
    assert_true(st.n_index_errors > 0);
    store_close(s);
    free(p1);
    free(p2);
    free(tmp);
    remove_dir(dir);
    free(dir);
}

/* Replaces the .lqi of segment seq with a valid version-2 file for the
 * same blocks whose postings are those of an older tokenizer: here a
 * single token, so a reader that trusted it would miss nearly every
 * match. Version field and header CRC are written as version 2 had them. */
static void
write_v2_index(const char *path, uint64_t seq)
{
    int fd = open(path, O_RDONLY);
    const char *why;

    assert_true(fd >= 0);
    struct index_file *f = index_file_load(fd, seq, &why);
    assert_non_null(f);
    close(fd);
    struct index_mem *m = index_mem_new();
    index_mem_add_text(m, 0, "old", 3);
    index_mem_flush(m);
    struct buf img;
    buf_init(&img, 1u << 20);
    assert_int_equal(index_mem_encode(m, seq, index_file_blks(f),
                                      index_file_n_blks(f), &img), 0);
    uint32_t n_blks = index_file_n_blks(f);
    index_file_free(f);
    index_mem_free(m);
    uint8_t *h = img.data;
    uint32_t n_pages = (uint32_t)h[20] | (uint32_t)h[21] << 8 |
                       (uint32_t)h[22] << 16 | (uint32_t)h[23] << 24;
    size_t meta = 12 * (size_t)n_blks + 12 * (size_t)n_pages;
    h[4] = 2;
    h[5] = h[6] = h[7] = 0;
    uint32_t crc = compress_crc32(0, h, 28);
    crc = compress_crc32(crc, h + 32, meta);
    for (int i = 0; i < 4; i++)
        h[28 + i] = (uint8_t)(crc >> (8 * i));
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img.data, img.len), (ssize_t)img.len);
    close(fd);
    buf_fini(&img);
}

static uint32_t
lqi_version(const char *path)
{
    uint8_t h[8];
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
    close(fd);
    return (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
           (uint32_t)h[7] << 24;
}

/* The upgrade path: .lqi files of version 2 (older token rules) are stale
 * at open, rebuilt from their segments and counted; every query then
 * answers exactly as a full scan; the next open keeps the new files. */
static void
test_index_upgrade_from_v2(void **state)
{
    char *dir = make_dir();
    struct store_stats st;

    (void)state;
    rng_state = 7;
    make_vocab();
    struct store *s = open_store(dir);
    fill_store(s, 3000);
    store_get_stats(s, &st);
    size_t n_full = 0;
    store_close(s);
    for (uint64_t seq = 1; seq < 64; seq++) {
        char *p = lqi_path(dir, seq);
        if (access(p, F_OK) == 0) {
            assert_int_equal(lqi_version(p), INDEX_VERSION);
            write_v2_index(p, seq);
            assert_int_equal(lqi_version(p), 2);
            n_full++;
        }
        free(p);
    }
    assert_true(n_full >= 3);

    s = open_store(dir);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_rebuilds, n_full);
    assert_true(check_queries(s, 120) > 0);
    store_close(s);
    for (uint64_t seq = 1; seq <= n_full; seq++) {
        char *p = lqi_path(dir, seq);
        assert_int_equal(lqi_version(p), INDEX_VERSION);
        free(p);
    }
    s = open_store(dir);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_rebuilds, 0);
    assert_true(check_queries(s, 40) > 0);
    store_close(s);
    remove_dir(dir);
    free(dir);
}

/* Damages every page of a .lqi whose header (and so its directory) stays
 * valid: the file is still loaded at open. */
static void
damage_pages(const char *path)
{
    uint8_t hdr[32];
    struct stat sb;
    int fd = open(path, O_RDWR);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &sb), 0);
    assert_int_equal(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
    uint32_t n_blks = (uint32_t)hdr[16] | (uint32_t)hdr[17] << 8 |
                      (uint32_t)hdr[18] << 16 | (uint32_t)hdr[19] << 24;
    uint32_t n_pages = (uint32_t)hdr[20] | (uint32_t)hdr[21] << 8 |
                       (uint32_t)hdr[22] << 16 | (uint32_t)hdr[23] << 24;
    off_t pages = 32 + (off_t)n_blks * 12 + (off_t)n_pages * 12;
    assert_true(n_pages > 0 && pages < sb.st_size);
    for (off_t at = pages; at < sb.st_size; at += 4) {
        uint8_t c;
        assert_int_equal(pread(fd, &c, 1, at), 1);
        c ^= 0x5a;
        assert_int_equal(pwrite(fd, &c, 1, at), 1);
    }
    close(fd);
}

/* Pages that fail their CRC at lookup: the file is dropped on the first
 * failure (one error, not one per query), answers stay exact, and the
 * next open rebuilds it once; after that no lookup fails. */
static void
test_index_damaged_pages(void **state)
{
    char *dir = make_dir();
    struct store_stats st;

    (void)state;
    rng_state = 99;
    make_vocab();
    struct store *s = open_store(dir);
    fill_store(s, 3000);
    store_close(s);

    char *p2 = lqi_path(dir, 2);
    damage_pages(p2);
    s = open_store(dir);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_rebuilds, 0);
    assert_int_equal(st.n_index_errors, 0);
    uint64_t bytes_before = st.index_bytes;
    check_queries(s, 40);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_errors, 1);
    assert_true(st.index_bytes < bytes_before);
    assert_int_equal(access(p2, F_OK), -1);
    check_queries(s, 40);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_errors, 1);
    store_close(s);

    s = open_store(dir);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_rebuilds, 1);
    assert_int_not_equal(access(p2, F_OK), -1);
    assert_true(check_queries(s, 60) > 0);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_errors, 0);
    store_close(s);

    /* and the rebuilt file is kept by the next open */
    s = open_store(dir);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_rebuilds, 0);
    store_close(s);
    free(p2);
    remove_dir(dir);
    free(dir);
}

/* The whole file at path into *out (NULL, 0 if it does not exist). */
static void
slurp(const char *path, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;

    *out = NULL;
    *len = 0;
    if (fd < 0)
        return;
    assert_int_equal(fstat(fd, &st), 0);
    *len = (size_t)st.st_size;
    *out = xmalloc(*len ? *len : 1);
    assert_int_equal(read(fd, *out, *len), (ssize_t)*len);
    close(fd);
}

/* The sealing thread keeps the open segment's index and writes its .lqi
 * (segindex.c); a rebuild from the segment's blocks at open is the
 * reference: every .lqi the thread wrote is the same file byte for byte. */
static void
test_index_sealer_matches_rebuild(void **state)
{
    char *dir = make_dir();
    struct store_stats st;
    uint8_t *want[64];
    size_t want_len[64], n_segs;

    (void)state;
    rng_state = 1234;
    make_vocab();
    struct store *s = open_store(dir);
    fill_store(s, 4500);
    store_get_stats(s, &st);
    n_segs = st.n_segments;
    assert_true(n_segs >= 4 && n_segs <= 64);
    assert_int_equal(st.n_index_errors, 0);
    assert_true(check_queries(s, 40) > 0);  /* while the segments fill */
    store_close(s);
    for (size_t q = 1; q < n_segs; q++) {  /* the last one is open */
        char *p = lqi_path(dir, q);
        slurp(p, &want[q], &want_len[q]);
        assert_non_null(want[q]);
        assert_int_equal(unlink(p), 0);
        free(p);
    }
    s = open_store(dir);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_rebuilds, n_segs - 1);
    store_close(s);
    for (size_t q = 1; q < n_segs; q++) {
        char *p = lqi_path(dir, q);
        uint8_t *got;
        size_t got_len;
        slurp(p, &got, &got_len);
        assert_non_null(got);
        assert_int_equal(got_len, want_len[q]);
        assert_memory_equal(got, want[q], got_len);
        free(got);
        free(want[q]);
        free(p);
    }
    remove_dir(dir);
    free(dir);
}

/* The write hook of test_index_write_retry, on the sealing thread only:
 * every fifth block write (12 at most) fails (ENOSPC), after the indexing
 * thread was given the job's blocks, and the retry's first block then
 * fails to build (quarantined), so the retry numbers its other blocks
 * from where the failed try numbered that one. */
static int retry_n_jobs, retry_n_failed, retry_arm_block;

static int
retry_hook(const char *what, size_t len, void *arg)
{
    (void)arg;
    if (strcmp(what, "block") == 0 && retry_arm_block) {
        retry_arm_block = 0;
        errno = EINVAL;
        return -1;
    }
    if (strcmp(what, "segment") != 0 || len <= 16)  /* not a header */
        return 0;
    if (++retry_n_jobs % 5 != 0 || retry_n_failed >= 12)
        return 0;
    retry_n_failed++;
    retry_arm_block = 1;
    errno = ENOSPC;
    return -1;
}

/* A failed segment write after the indexing thread fed the job's blocks
 * to the segment's map (indexer.c), then the retry: each block written
 * is indexed once, under its own number. Every .lqi the sealing thread
 * wrote is the one rebuilt from the segment's blocks at open, byte for
 * byte (fails if the failed try's postings stay: the quarantined block's
 * tokens and counts then land on the block numbered as it was), and
 * lookups stay exact meanwhile. */
static void
test_index_write_retry(void **state)
{
    char *dir = make_dir();
    struct store_options opt = { .block_size = 2048, .segment_size = 16384,
                                 .write_hook = retry_hook };
    struct store_stats st;
    char *names[64];
    uint8_t *want[64];
    size_t want_len[64], n_lqi = 0;
    char *err = NULL;

    (void)state;
    rng_state = 99;
    make_vocab();
    retry_n_jobs = retry_n_failed = retry_arm_block = 0;
    struct store *s = store_open(dir, &opt, &err);
    assert_non_null(s);
    /* 150 records a commit: jobs of several blocks (tail_split) */
    fill_store_every(s, 4000, 150);
    for (int k = 0; k < 20 && store_sync(s) != 0; k++)
        ;                               /* retried until it is written */
    assert_int_equal(store_sync(s), 0);
    store_get_stats(s, &st);
    assert_true(st.n_segments >= 4);
    assert_true(retry_n_failed >= 5);
    assert_true(st.n_seal_errors >= (uint64_t)retry_n_failed);
    assert_true(st.n_quarantined_blocks >= 3);
    assert_true(check_queries(s, 30) > 0);
    store_get_stats(s, &st);            /* no page failed its check */
    assert_int_equal(st.n_index_errors, 0);
    store_close(s);
    /* every .lqi written (a segment whose blocks were all quarantined
     * has none: its number is skipped) */
    DIR *d = opendir(dir);
    struct dirent *de;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 4, ".lqi") != 0)
            continue;
        assert_true(n_lqi < 64);
        names[n_lqi] = xasprintf("%s/%s", dir, de->d_name);
        slurp(names[n_lqi], &want[n_lqi], &want_len[n_lqi]);
        assert_non_null(want[n_lqi]);
        assert_int_equal(unlink(names[n_lqi]), 0);
        n_lqi++;
    }
    closedir(d);
    assert_true(n_lqi >= 3);
    s = open_store(dir);
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_rebuilds, n_lqi);
    store_close(s);
    for (size_t q = 0; q < n_lqi; q++) {
        uint8_t *got;
        size_t got_len;
        slurp(names[q], &got, &got_len);
        assert_non_null(got);
        assert_int_equal(got_len, want_len[q]);
        assert_memory_equal(got, want[q], got_len);
        free(got);
        free(want[q]);
        free(names[q]);
    }
    remove_dir(dir);
    free(dir);
}

/* A failed index write (e.g. disk full) leaves the segment unindexed and
 * no temp file; results stay exact and the next open rebuilds it. */
static int
fail_index_hook(const char *what, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    return strcmp(what, "index") == 0 ? -1 : 0;
}

static void
test_index_write_failure(void **state)
{
    char *dir = make_dir();
    struct store_options opt = { .block_size = 2048, .segment_size = 16384,
                                 .write_hook = fail_index_hook };
    struct store_stats st;
    char *err = NULL;

    (void)state;
    rng_state = 7;
    make_vocab();
    struct store *s = store_open(dir, &opt, &err);
    assert_non_null(s);
    fill_store(s, 1500);
    store_get_stats(s, &st);
    assert_true(st.n_index_errors > 0);
    assert_int_equal(st.index_bytes, 0);
    check_queries(s, 40);
    char *tmp = xasprintf("%s/seg-%016llx.lqi.tmp", dir, 1ull);
    assert_int_equal(access(tmp, F_OK), -1);
    free(tmp);
    store_close(s);
    s = open_store(dir);
    store_get_stats(s, &st);
    assert_true(st.n_index_rebuilds > 0);
    assert_true(check_queries(s, 40) > 0);
    store_close(s);
    remove_dir(dir);
    free(dir);
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
        set->tab[k].flags = rng() % TOKENIZE_FORMS +
                            (rng() % 64 ? 0 : INDEX_SET_COLLIDED);
        /* frames (no rng draw: the version 5 image stays as it was):
         * one of 5, or several */
        set->tab[k].fmask = v % 11 ? 1u << (v % 5) : v % INDEX_FRAMES_ALL;
        if (set->tab[k].fmask == 0)
            set->tab[k].fmask = 1;
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
 * slots, before frame masks; the version 6 one (frames) its own. */
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
    assert_int_equal(index_mem_encode(m, 12, refs, 64, &img), 0);
    assert_int_equal(img.len, 482241);
    assert_int_equal(compress_crc32(0, img.data, img.len), 0x514208d9u);
    /* streamed in pieces of whole pages (a page here is ~1 KiB): the
     * same image, never more than a page past the chunk at a time */
    struct pieces w = { .cap = img.len };
    w.img = xcalloc(1, w.cap);
    assert_int_equal(index_mem_write(m, 12, refs, 64, 8192, pieces_write,
                                     &w), 0);
    assert_int_equal(w.len, img.len);
    assert_memory_equal(w.img, img.data, img.len);
    assert_true(w.n > 40);
    assert_true(w.max_len < 8192 + 4096);
    free(w.img);
    buf_fini(&img);
    index_mem_free(m);
    index_set_fini(&set);
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
    struct buf a, b;

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
    buf_init(&a, 16u << 20);
    buf_init(&b, 16u << 20);
    assert_int_equal(index_mem_encode(m, 3, refs, 40, &a), 0);
    assert_int_equal(index_mem_encode(ref, 3, refs, 40, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    buf_fini(&a);
    buf_fini(&b);
    index_mem_free(m);
    index_mem_free(ref);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_mem_lookup),
        cmocka_unit_test(test_index_frames),
        cmocka_unit_test(test_index_same_block_twice),
        cmocka_unit_test(test_index_image_stable),
        cmocka_unit_test(test_index_mem_bytes_bound),
        cmocka_unit_test(test_index_mem_rollback),
        cmocka_unit_test(test_index_file_round_trip),
        cmocka_unit_test(test_index_counts),
        cmocka_unit_test(test_index_counts_collision),
        cmocka_unit_test(test_index_file_damage),
        cmocka_unit_test(test_index_encode_many_keys),
        cmocka_unit_test(test_index_encode_cap),
        cmocka_unit_test(test_index_property),
        cmocka_unit_test(test_index_write_failure),
        cmocka_unit_test(test_index_sealer_matches_rebuild),
        cmocka_unit_test(test_index_write_retry),
        cmocka_unit_test(test_index_damaged_pages),
        cmocka_unit_test(test_index_upgrade_from_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
