/* SPDX-License-Identifier: MIT */
/*
 * indexer_test: the sealing thread with its indexing thread beside it
 * (indexer.c) writes the same store, byte for byte, as the sealing thread
 * gathering the token sets itself (store_options.is_index_inline), on the
 * same input: several sources, plain, JSON and logfmt messages, commits
 * of one record and commits of several blocks (split into many blocks of
 * one seal job), several segments with their .lqi files. Then the store
 * written with the thread answers token lookups as a brute-force scan
 * of what was written does. Run under MODE=tsan too (make tsan-unit).
 * The store without is_index_inline runs two threads more than with it
 * (the indexing thread and its helper, which gathers the sets of a
 * job's other blocks): else both stores would be written inline and
 * compare equal. A token
 * in a block's second frame sets frame bit 1 of its .lqi mask.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/index.h"
#include "collector/store/store.h"
#include "collector/store/store_internal.h"
#include "collector/store/tokenize.h"
#include "common/xmalloc.h"
#include "tests/support/storetest.h"

#define T0     STORETEST_T0
#define N_RECS 6000

/* Record i's message: words from a small and a large vocabulary, every
 * 5th JSON, every 7th logfmt, so blocks have distinct token sets. */
static void
msg_of(int i, char *out, size_t cap)
{
    static const char *const verbs[] = { "GET", "POST", "error", "retry",
                                         "timeout", "done" };
    unsigned v = (unsigned)i * 2654435761u;

    if (i % 5 == 0)
        snprintf(out, cap, "{\"level\":\"%s\",\"user\":\"u%u\",\"n\":%d}",
                 verbs[v % 6], v % 997, i);
    else if (i % 7 == 0)
        snprintf(out, cap, "level=%s req=r%u path=/api/v%u", verbs[v % 6],
                 v % 4093, v % 9);
    else
        snprintf(out, cap, "%s /item/%u took %u ms tok%u", verbs[v % 6],
                 v % 100003, v % 500, (unsigned)i / 50);
}

/* Writes the test's records into a store at dir; returns the threads the
 * process had while the store was open. */
static int
write_store(const char *dir, int is_inline)
{
    struct store_options opt = {
        .block_size = 8192, .segment_size = 96 << 10,
        .clock = storetest_clock_t0_2h, .is_index_inline = is_inline,
    };
    char *err = NULL;
    struct store *s = store_open(dir, &opt, &err);
    char msg[128], host[16], cid[16];

    if (!s)
        fail_msg("store_open: %s", err);
    int n_threads = storetest_count_threads();
    for (int i = 0; i < N_RECS; i++) {
        int src = i % 3;
        snprintf(host, sizeof(host), "host%d", src);
        snprintf(cid, sizeof(cid), "cid%d", src);
        msg_of(i, msg, sizeof(msg));
        struct logrec r = {
            .time_ns = T0 + (int64_t)i * 1000, .host = host,
            .container_id = cid, .container = "web", .image = "nginx:1",
            .stream = (uint8_t)(i % 2), .offset = (uint64_t)i + 1,
            .msg = msg, .msg_len = strlen(msg),
            .recv_ns = T0 + 3600000000000LL + i / 10,
        };
        assert_int_equal(store_append(s, &r), 1);
        /* commits of 20 records; every 1000 records one of ~60 KiB,
         * which the seal splits into several blocks of one job */
        if ((i % 1000 < 600 && i % 20 == 19) || i % 1000 == 999)
            assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(store_sync(s), 0);
    store_close(s);
    return n_threads;
}

/* Records holding tok by a cursor with the token required, against a
 * brute-force count over the written messages; each tok is chosen so
 * that it only ever occurs as a whole word (the cursor's index lookup is
 * by word, its final check by substring). */
static void
check_lookup(struct store *s, const char *tok)
{
    const char *toks[1] = { tok };
    struct store_filter f = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
        .tokens = toks, .n_tokens = 1, .is_tokens_required = 1,
    };
    struct store_cursor *c = store_cursor_new(s, &f, 0);
    struct logrec r;
    char msg[128];
    int n = 0, want = 0, rc;

    while ((rc = store_cursor_next(c, &r)) != 0) {
        assert_int_equal(rc, 1);
        n++;
    }
    store_cursor_free(c);
    for (int i = 0; i < N_RECS; i++) {
        msg_of(i, msg, sizeof(msg));
        want += strcasestr(msg, tok) != NULL;
    }
    assert_true(want > 0);
    assert_int_equal(n, want);
}

static void
test_indexer_same_bytes(void **state)
{
    char a[] = "/tmp/indexer_test.XXXXXX", b[] = "/tmp/indexer_test.XXXXXX";
    int n[3];

    (void)state;
    assert_non_null(mkdtemp(a));
    assert_non_null(mkdtemp(b));
    int n_with = write_store(a, 0);
    int n_without = write_store(b, 1);
    assert_int_equal(n_with, n_without + 2);    /* the indexing thread
                                                   and its helper */
    storetest_same_dirs(a, b, n);
    assert_true(n[0] >= 3);     /* the test covers rolls and .lqi files */
    assert_true(n[1] >= 2);

    char *err = NULL;
    struct store_options opt = { .block_size = 8192,
                                 .segment_size = 96 << 10,
                                 .clock = storetest_clock_t0_2h };
    struct store *s = store_open(a, &opt, &err);
    if (!s)
        fail_msg("store_open: %s", err);
    struct store_stats st;
    store_get_stats(s, &st);
    assert_int_equal(st.n_index_rebuilds, 0);   /* every .lqi was good */
    check_lookup(s, "tok119");
    check_lookup(s, "u996");
    check_lookup(s, "r3883");
    check_lookup(s, "timeout");
    store_close(s);
    char *cmd = xasprintf("rm -rf '%s' '%s'", a, b);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* The frame mask the .lqi of segment seq in dir gives the block holding
 * the word "q<i>z" (its only block: the key is in one), 0 if none. */
static uint32_t
lqi_frames(const char *dir, uint64_t seq, int i)
{
    char *path = xasprintf("%s/seg-%016llx.lqi", dir,
                           (unsigned long long)seq);
    const char *why = NULL;
    char tok[24];
    int fd = open(path, O_RDONLY);

    free(path);
    assert_true(fd >= 0);
    struct index_file *f = index_file_load(fd, seq, &why);
    if (f == NULL)
        fail_msg("index_file_load: %s", why);
    uint32_t n = index_file_n_blks(f), mask = 0;
    uint32_t *map = xcalloc(n, sizeof(*map)), *fmask = xcalloc(n, 4);
    uint64_t *bits = xcalloc((n + 63) / 64, sizeof(*bits));
    for (uint32_t b = 0; b < n; b++)
        map[b] = b;
    snprintf(tok, sizeof(tok), "q%dz", i);
    assert_int_equal(index_file_lookup_frames(f, fd, tokenize_hash(
                         (const uint8_t *)tok, strlen(tok)), map, bits,
                         fmask, n), 0);
    for (uint32_t b = 0; b < n; b++)
        if (bits[b / 64] >> (b % 64) & 1) {
            assert_int_equal(mask, 0);          /* one block */
            mask = fmask[b];
        }
    free(map);
    free(fmask);
    free(bits);
    index_file_free(f);
    close(fd);
    return mask;
}

/* The indexing thread numbers the frames of a block's token sets as
 * block_frames_encode cuts them: the words of the last record of the
 * first frame set frame bit 0 in the .lqi, those of the first record of
 * the second frame bit 1 (the frame table of the segment says where the
 * second frame begins). Before, only frames_test guarded this. */
static void
test_indexer_frame_bits(void **state)
{
    char dir[] = "/tmp/indexer_test.XXXXXX";
    struct store_options opt = {
        .block_size = 8192, .segment_size = 32 << 10, .frame_size = 1024,
        .clock = storetest_clock_t0_2h,
    };
    char *err = NULL, msg[96];

    (void)state;
    assert_non_null(mkdtemp(dir));
    struct store *s = store_open(dir, &opt, &err);
    if (!s)
        fail_msg("store_open: %s", err);
    for (int i = 0; i < 2000; i++) {
        snprintf(msg, sizeof(msg), "line q%dz of the frame bits test", i);
        struct logrec r = {
            .time_ns = T0 + (int64_t)i * 1000, .host = "h", .container_id =
            "c", .container = "web", .image = "nginx:1", .offset =
            (uint64_t)i + 1, .msg = msg, .msg_len = strlen(msg),
        };
        assert_int_equal(store_append(s, &r), 1);
        if (i % 20 == 19)
            assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(store_sync(s), 0);
    store_lock(s);
    const struct store_seg *seg = store_seg_find(s, 1);
    assert_non_null(seg);
    assert_true(seg->n_blks > 0);
    uint32_t n_frames = seg->blks[0].n_frames;
    int first1 = n_frames > 1 ? (int)seg->blks[0].frames[1].first : -1;
    store_unlock(s);
    store_close(s);
    print_message("block 0 of segment 1: %u frames, the second from "
                  "record %d\n", n_frames, first1);
    assert_true(n_frames >= 3 && n_frames <= INDEX_FRAME_BITS);
    assert_true(first1 > 0);
    /* block 0 of segment 1 holds records 0.. in order (one source) */
    assert_int_equal(lqi_frames(dir, 1, first1 - 1), 1u << 0);
    assert_int_equal(lqi_frames(dir, 1, first1), 1u << 1);
    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_indexer_same_bytes),
        cmocka_unit_test(test_indexer_frame_bits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
