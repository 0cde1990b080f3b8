/* SPDX-License-Identifier: MIT */
/*
 * index_store_test: the per-segment token index through the store's API
 * (index_test.c tests the map and its files alone). A property test:
 * random records and random token sets, where the indexed cursor must
 * return exactly the records that a brute-force scan returns, in the same
 * order, also after a reopen, with a deleted .lqi, a damaged .lqi and a
 * leftover temp file (killed during an index write); a .lqi with damaged
 * pages is dropped at its first failed lookup and rebuilt once at the
 * next open; .lqi files of version 2 are rebuilt; the sealing thread's
 * .lqi equals the one rebuilt at open, also after failed segment writes
 * and their retries; a failed index write leaves the segment scanned.
 */
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/index.h"
#include "collector/store/store.h"
#include "common/casefold.h"
#include "common/compress.h"
#include "common/xmalloc.h"
#include "tests/support/indextest.h"

#define T0 1700000000000000000LL


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

static size_t frame_size;       /* the stores' (0: the default) */

static struct store *
open_store(const char *dir)
{
    struct store_options opt = { .block_size = 2048, .segment_size = 16384,
                                 .frame_size = frame_size };
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
    off_t pages = 32 + (off_t)n_blks * 12 + (off_t)n_pages * 12 +
                  (hdr[4] >= INDEX_VERSION_RANGE ? INDEX_RANGE_TRAILER : 0);
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
sealer_matches_rebuild(size_t fs)
{
    char *dir = make_dir();
    struct store_stats st;
    uint8_t *want[64];
    size_t want_len[64], n_segs;

    frame_size = fs;
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
    frame_size = 0;
}

/* ... and with frames of 512 bytes (about 4 a block; the records of its
 * three sources arrive interleaved): the sealing thread's token sets
 * number the frames the seal cut after grouping the records by source,
 * which a rebuild reads from the frame table. */
static void
test_index_sealer_matches_rebuild(void **state)
{
    (void)state;
    sealer_matches_rebuild(0);
    sealer_matches_rebuild(512);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_property),
        cmocka_unit_test(test_index_write_failure),
        cmocka_unit_test(test_index_sealer_matches_rebuild),
        cmocka_unit_test(test_index_write_retry),
        cmocka_unit_test(test_index_damaged_pages),
        cmocka_unit_test(test_index_upgrade_from_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
