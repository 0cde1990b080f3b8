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
 * held a whole block and the cap evicted them. Several cursors open at
 * once share the cap (cursor_mem_limit): together they hold about one
 * cap, not one each.
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
#include "collector/store/store_internal.h"
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

#define N_CUR 4               /* cursors open at once */

/* One of several cursors stepped in turn: its direction, the key it
 * returned last and the records it returned. */
struct step {
    struct store_cursor *c;
    int                  newest, n, is_end;
    int64_t              prev;
};

/* Steps st's cursor once: checks the record against the brute force. */
static void
step_once(struct step *st)
{
    struct logrec r;
    char m[128];
    int rc;

    while ((rc = store_cursor_next(st->c, &r)) == 2)
        ;
    if (rc == 0) {
        st->is_end = 1;
        return;
    }
    assert_int_equal(rc, 1);
    int src = r.container_id[1] - '0', i = (int)r.offset - 1;
    assert_true(st->newest ? r.time_ns <= st->prev : r.time_ns >= st->prev);
    st->prev = r.time_ns;
    assert_int_equal(r.time_ns, rec_time(src, i));
    rec_msg(src, i, m, sizeof(m));
    assert_int_equal(r.msg_len, strlen(m));
    assert_memory_equal(r.msg, m, r.msg_len);
    st->n++;
}

/* N_CUR cursors open at once share cursor_mem_max: full scans stepped
 * in turn (two newest-first, two oldest-first; alone, one holds the whole
 * cap), all they hold together stays within the cap plus half of it (a
 * cursor that took the whole cap alone gives back once it runs again)
 * and, after each round, within the cap plus a frame's buffers a cursor
 * (the run each keeps for its next record); every cursor returns every
 * record, in order, as written. With a cap each, they held N_CUR caps
 * together. */
static void
test_cursors_share_cap(void **state)
{
    char *dir = testdir_make("cursor_mem_test");
    assert_non_null(dir);
    struct store *s = fill(dir);
    struct store_filter fl = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
        .is_no_cache = 1,
    };
    struct step st[N_CUR];
    int n_want = 2 * N_PER;
    size_t most = 0, most_round = 0;

    (void)state;
    for (int k = 0; k < N_CUR; k++) {
        st[k] = (struct step){ .newest = k % 2 == 0, .n = 0 };
        st[k].prev = st[k].newest ? INT64_MAX : INT64_MIN;
        st[k].c = store_cursor_new(s, &fl, st[k].newest);
    }
    for (int live = N_CUR; live > 0;) {
        live = 0;
        for (int k = 0; k < N_CUR; k++) {
            if (st[k].is_end)
                continue;
            step_once(&st[k]);
            live += !st[k].is_end;
            size_t t = __atomic_load_n(&s->cursor_mem_total,
                                       __ATOMIC_RELAXED);
            if (t > most)
                most = t;
        }
        size_t t = __atomic_load_n(&s->cursor_mem_total, __ATOMIC_RELAXED);
        if (t > most_round)
            most_round = t;
    }
    for (int k = 0; k < N_CUR; k++) {
        assert_int_equal(st[k].n, n_want);
        store_cursor_free(st[k].c);
    }
    assert_int_equal(s->cursor_mem_total, 0);
    assert_int_equal(s->n_cursors_mem, 0);
    struct store_stats st1;
    store_get_stats(s, &st1);
    print_message("%d cursors: at most %zu bytes together (%zu after a "
                  "round), cap %u; one cursor's peak %llu\n", N_CUR, most,
                  most_round, MEM_MAX,
                  (unsigned long long)st1.cursor_mem_peak);
    assert_true(most <= MEM_MAX + MEM_MAX / 2);
    assert_true(most_round <= MEM_MAX + N_CUR * (16u << 10));
    store_close(s);

    /* alone, a cursor holds the whole cap */
    s = store_open(dir, &(struct store_options){ .block_size = 8192,
                   .frame_size = 2048, .segment_size = 1 << 20,
                   .cursor_mem_max = MEM_MAX }, NULL);
    assert_non_null(s);
    struct step one = { .newest = 1, .prev = INT64_MAX };
    one.c = store_cursor_new(s, &fl, 1);
    while (!one.is_end)
        step_once(&one);
    store_cursor_free(one.c);
    store_get_stats(s, &st1);
    print_message("alone: %llu\n", (unsigned long long)st1.cursor_mem_peak);
    assert_int_equal(one.n, n_want);
    assert_true(st1.cursor_mem_peak > MEM_MAX - MEM_MAX / 8);
    store_close(s);
    char *cmd = xasprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(dir);
}

/* A live host's blocks as the live-tail bench writes them: N_SRC
 * sources, every line stamped the same second, appended in turns of a
 * few lines each (batch k received at T0 + k), so every frame of every
 * block spans the same instant and holds a part of each source. */
#define N_SRC    40
#define N_TURNS  120
#define PER_TURN 4

static void
same_second_msg(int src, int i, char *m, size_t len)
{
    snprintf(m, len, "TAIL %d %d the same second from every container %d",
             src, i, (src * 31 + i) % 1000);
}

static struct store *
fill_same_second(const char *dir, size_t mem_max)
{
    struct store_options opt = { .block_size = 8192, .frame_size = 2048,
                                 .segment_size = 1 << 20,
                                 .cursor_mem_max = mem_max };
    char *err = NULL, cid[16], m[128];
    struct store *s = store_open(dir, &opt, &err);

    if (!s)
        fail_msg("store_open: %s", err);
    for (int k = 0; k < N_TURNS; k++) {
        for (int src = 0; src < N_SRC; src++)
            for (int j = 0; j < PER_TURN; j++) {
                int i = k * PER_TURN + j;
                snprintf(cid, sizeof(cid), "c%02d", src);
                same_second_msg(src, i, m, sizeof(m));
                struct logrec r = {
                    .time_ns = T0, .host = "h", .container_id = cid,
                    .container = cid, .image = "img",
                    .offset = (uint64_t)i + 1, .msg = m,
                    .msg_len = strlen(m), .recv_ns = T0 + k,
                };
                assert_int_equal(store_append(s, &r), 1);
            }
        assert_int_equal(store_commit(s), 0);
        if (k == N_TURNS - 3)
            assert_int_equal(store_sync(s), 0);     /* the rest unsealed */
    }
    return s;
}

/* Scans oldest first (stored order or store_key order) the records
 * received at or after turn k0: every one once, each source's in its
 * order; returns the frames read and read again (store_stats). */
static void
scan_same_second(struct store *s, int is_stored, int k0, uint64_t *reads,
                 uint64_t *rereads)
{
    struct store_filter fl = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
        .is_no_cache = 1, .recv_since_ns = T0 + k0,
        .is_stored_order = is_stored,
    };
    int next[N_SRC], n = 0;
    struct store_stats st0, st1;
    struct logrec r;
    char m[128];

    for (int src = 0; src < N_SRC; src++)
        next[src] = k0 * PER_TURN;
    store_get_stats(s, &st0);
    struct store_cursor *c = store_cursor_new(s, &fl, 0);
    int rc;
    while ((rc = store_cursor_next(c, &r)) != 0) {
        if (rc == 2)
            continue;
        assert_int_equal(rc, 1);
        int src = (int)strtol(r.container_id + 1, NULL, 10);
        assert_true(src >= 0 && src < N_SRC);
        assert_int_equal(r.offset, (uint64_t)next[src] + 1);
        same_second_msg(src, next[src], m, sizeof(m));
        assert_int_equal(r.msg_len, strlen(m));
        assert_memory_equal(r.msg, m, r.msg_len);
        next[src]++;
        n++;
    }
    store_cursor_free(c);
    assert_int_equal(n, N_SRC * PER_TURN * (N_TURNS - k0));
    store_get_stats(s, &st1);
    *reads = st1.n_cursor_reads - st0.n_cursor_reads;
    *rereads = st1.n_cursor_rereads - st0.n_cursor_rereads;
}

/* A catch-up's cursor (store_filter.is_stored_order: a resumed follow's
 * round) over blocks that all span the same instant reads each frame once
 * under a cap of about 30 of its ~600 frames, and returns every record
 * received since its point once, each source's in order, the unsealed
 * ones last. In store_key order the same scan must open every frame at
 * once (they all tie) and reads them again as the cap evicts them
 * (595 frames: 5,402 read, 4,822 of them again). */
static void
test_stored_order_reads_once(void **state)
{
    char *dir = testdir_make("cursor_mem_test");
    assert_non_null(dir);
    struct store *s = fill_same_second(dir, 64u << 10);
    uint64_t frames = 0, reads, rereads, kreads, krereads;

    (void)state;
    for (size_t i = 0; i < s->n_segs; i++)
        for (size_t k = 0; k < s->segs[i]->n_blks; k++)
            frames += s->segs[i]->blks[k].n_frames;
    assert_true(frames > 100);
    scan_same_second(s, 1, 0, &reads, &rereads);
    print_message("%llu frames stored: stored order read %llu (%llu again)",
                  (unsigned long long)frames, (unsigned long long)reads,
                  (unsigned long long)rereads);
    assert_int_equal(reads, frames);
    assert_int_equal(rereads, 0);
    scan_same_second(s, 0, 0, &kreads, &krereads);
    print_message(", key order %llu (%llu again)\n",
                  (unsigned long long)kreads, (unsigned long long)krereads);
    assert_true(kreads > 2 * frames);
    /* from a receive point on: the blocks received before it not read */
    scan_same_second(s, 1, N_TURNS / 2, &reads, &rereads);
    assert_true(reads <= frames / 2 + 8);
    assert_int_equal(rereads, 0);
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
        cmocka_unit_test(test_cursors_share_cap),
        cmocka_unit_test(test_stored_order_reads_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
