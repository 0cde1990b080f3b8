/* SPDX-License-Identifier: MIT */
/*
 * cursor_mem_test: the bytes a merge holds for a selective query over
 * blocks whose time ranges all overlap (cursor_compact.c). Two sources
 * are appended in turn, one stamped forwards and one backwards, so every
 * block spans the middle of the time range and a newest-first merge
 * keeps about half of the blocks open at once. A word in 1 record of
 * 40 is searched with a cursor_mem_max of a few blocks: each open run
 * holds its few matches, not its block, so nothing is evicted and read
 * again (store_stats.n_cursor_rereads 0, cursor_mem_peak under the cap),
 * and the answers (records, order, match answers) are those of a brute
 * force over the records written. Without the copies every open run
 * held a whole block and the cap evicted them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "common/xmalloc.h"
#include "tests/support/testdir.h"

#define T0       1700000000000000000LL
#define N_PER    6000           /* records of each source */
#define EVERY    40             /* one in EVERY holds the word */
#define MEM_MAX  (96u << 10)    /* cursor_mem_max: ~24 frames' buffers */

/* Record i of source src: its time (source 0 forwards, 1 backwards on the
 * same grid) and whether it holds the word. */
static int64_t
rec_time(int src, int i)
{
    return T0 + (src == 0 ? i : N_PER - 1 - i) * 1000LL + src;
}

static int
rec_has_word(int src, int i)
{
    return (i + 7 * src) % EVERY == 0;
}

static void
rec_msg(int src, int i, char *m, size_t len)
{
    snprintf(m, len, "GET /api/v1/items/%d?src=%d status=200 %s took=%dms",
             i, src, rec_has_word(src, i) ? "needle" : "hay", i % 97);
}

static struct store *
fill(const char *dir)
{
    struct store_options opt = { .block_size = 8192, .frame_size = 2048,
                                 .segment_size = 1 << 20,
                                 .cursor_mem_max = MEM_MAX };
    char *err = NULL, host[16], cid[16], name[16], m[128];

    struct store *s = store_open(dir, &opt, &err);
    if (!s)
        fail_msg("store_open: %s", err);
    for (int i = 0; i < N_PER; i++)
        for (int src = 0; src < 2; src++) {
            snprintf(host, sizeof(host), "h%d", src);
            snprintf(cid, sizeof(cid), "c%d", src);
            snprintf(name, sizeof(name), "n%d", src);
            rec_msg(src, i, m, sizeof(m));
            struct logrec r = {
                .time_ns = rec_time(src, i), .host = host,
                .container_id = cid, .container = name, .image = "img",
                .offset = (uint64_t)i + 1, .msg = m, .msg_len = strlen(m),
                .recv_ns = T0,
            };
            assert_int_equal(store_append(s, &r), 1);
            if (i % 50 == 49 && src == 1)
                assert_int_equal(store_commit(s), 0);
        }
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(store_sync(s), 0);
    return s;
}

static int
match_even(void *arg, const char *msg, size_t len)
{
    (void)arg;
    (void)len;
    return strtol(msg + strlen("GET /api/v1/items/"), NULL, 10) % 2 == 0;
}

/* Scans newest-first for the word (with match_fn when is_match; only its
 * matches with is_only) and checks every record against the brute force,
 * in order. */
static void
check_scan(struct store *s, int is_match, int is_only)
{
    const char *toks[] = { "needle" };
    struct store_filter fl = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
        .tokens = toks, .n_tokens = 1, .is_tokens_required = 1,
        .is_no_cache = 1,
    };
    if (is_match) {
        fl.match_fn = match_even;
        fl.is_matches_only = is_only;
    }
    struct store_stats st0, st1;
    store_get_stats(s, &st0);
    struct store_cursor *c = store_cursor_new(s, &fl, 1);
    struct logrec r;
    int64_t prev = INT64_MAX;
    int n = 0, n_want = 0, rc;
    char m[128];

    for (int src = 0; src < 2; src++)
        for (int i = 0; i < N_PER; i++)
            n_want += rec_has_word(src, i) &&
                      (!is_only || i % 2 == 0);
    while ((rc = store_cursor_next(c, &r)) != 0) {
        if (rc == 2)
            continue;
        assert_int_equal(rc, 1);
        int src = r.container_id[1] - '0', i = (int)r.offset - 1;
        assert_true(r.time_ns <= prev);
        prev = r.time_ns;
        assert_int_equal(r.time_ns, rec_time(src, i));
        assert_true(rec_has_word(src, i));
        rec_msg(src, i, m, sizeof(m));
        assert_int_equal(r.msg_len, strlen(m));
        assert_memory_equal(r.msg, m, r.msg_len);
        if (is_match)
            assert_int_equal(store_cursor_match(c), i % 2 == 0);
        n++;
    }
    store_cursor_free(c);
    assert_int_equal(n, n_want);
    store_get_stats(s, &st1);
    assert_true(st1.n_cursor_reads - st0.n_cursor_reads > 100);
    assert_int_equal(st1.n_cursor_rereads - st0.n_cursor_rereads, 0);
    assert_true(st1.cursor_mem_peak > 0);
    assert_true(st1.cursor_mem_peak <= MEM_MAX);
}

static void
test_overlapping_blocks_hold_matches(void **state)
{
    char *dir = testdir_make("cursor_mem_test");
    assert_non_null(dir);
    struct store *s = fill(dir);

    (void)state;
    check_scan(s, 0, 0);
    check_scan(s, 1, 0);
    check_scan(s, 1, 1);
    store_close(s);
    char *cmd = xasprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlapping_blocks_hold_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
