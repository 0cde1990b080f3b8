/* SPDX-License-Identifier: MIT */
/*
 * store_carry_test: a seal that carries the records appended during a
 * commit's sync into the next tail takes the committed prefix's stats
 * from the tail's mark (store_tail_at: only the records past it are
 * decoded) instead of decoding the whole tail and counting it again
 * (store_options.is_carry_decoded, the path before). Two stores fed the
 * same records through the same commits (records appended during every
 * sync, failed syncs, containers renamed and sources first seen during a
 * sync, one source's records only before a mark, another's only after)
 * must write the same files, byte for byte, and hold the same records.
 * And the WAL those commits wrote (version 4: each entry the tail's rows
 * as they are, carried records renumbered in the next tail's entries,
 * a failed sync's entry written again from the committed prefix) replays
 * to exactly the committed records at every point checked.
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
#include "tests/support/storetest.h"
#include "tests/support/testrng.h"

#define T0 STORETEST_T0

static uint64_t rng;

static unsigned
rn(unsigned n)
{
    return testrng_below(&rng, n);
}

static int fail_sync;           /* set before a commit begins */

struct side {
    char          dir[64];
    struct store *s;
};

static const char *const hosts[] = { "h1", "h2", "h3" };
static const char *const cids[] = { "c0", "c1", "c2", "c3" };

/* The same record into both stores. */
static void
append_both(struct side *v, uint64_t *off, int64_t *t, int n_src)
{
    unsigned src = rn((unsigned)n_src);
    char msg[400], name[16];
    size_t len = (size_t)snprintf(msg, sizeof(msg), "rec %llu src %u ",
                                  (unsigned long long)off[src] + 1, src);
    size_t pad = rn(300);

    memset(msg + len, 'a' + (int)rn(26), pad);
    len += pad;
    snprintf(name, sizeof(name), "name%u", rn(4) == 0 ? rn(3) : 0);
    *t += (int64_t)rn(2000000) - 500000;     /* out of order at times */
    struct logrec r = {
        .time_ns = *t, .recv_ns = T0 + (int64_t)off[src],
        .host = hosts[src % 3], .container_id = cids[src / 3],
        .container = name, .image = src % 2 ? "img" : "",
        .stream = (uint8_t)rn(2), .flags = (uint8_t)rn(8),
        .offset = ++off[src], .msg = msg, .msg_len = len,
    };
    for (int k = 0; k < 2; k++)
        assert_int_equal(store_append(v[k].s, &r), 1);
}

/* What a kill -9 now would leave of a (its seals synced first, so the
 * copy is of whole files): opened, it replays the WAL (version 4: the
 * tail's rows, written from the tail's bytes) to the records committed
 * in a, those a's cursors see, no more, no fewer. */
static void
same_after_crash(struct side *a)
{
    char dir[64], cmd[200];
    struct store_options opt = { .block_size = 8 << 10,
                                 .segment_size = 64 << 10,
                                 .clock = storetest_clock_t0_2h };

    assert_int_equal(store_sync(a->s), 0);
    snprintf(dir, sizeof(dir), "/tmp/store_carry_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd), "cp -a %s/. %s/", a->dir, dir);
    assert_int_equal(system(cmd), 0);
    struct store *c = storetest_open(dir, &opt);
    storetest_same_records(a->s, c, 0);
    store_close(c);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void
run_draw(uint64_t seed)
{
    struct side v[2];
    uint64_t off[12] = { 0 };
    int64_t t = T0;
    int n[2];

    rng = seed;
    for (int k = 0; k < 2; k++) {
        struct store_options opt = {
            .block_size = 8 << 10, .segment_size = 64 << 10,
            .clock = storetest_clock_t0_2h,
            .sync_hook = storetest_sync_fail_if, .sync_hook_arg = &fail_sync,
            .is_carry_decoded = k,
            .is_close_off = 1,  /* full tails sealed and carried as before
                                   (closed tails are never carried:
                                   store_close_test) */
        };
        snprintf(v[k].dir, sizeof(v[k].dir), "/tmp/store_carry_test.XXXXXX");
        assert_non_null(mkdtemp(v[k].dir));
        v[k].s = storetest_open(v[k].dir, &opt);
    }
    for (int round = 0; round < 400; round++) {
        /* sources past the first 6 appear later, some only in a sync */
        int n_src = round < 100 ? 6 : 12;
        for (unsigned i = rn(30); i > 0; i--)
            append_both(v, off, &t, n_src);
        fail_sync = rn(8) == 0;
        int rc[2];
        for (int k = 0; k < 2; k++)
            rc[k] = store_commit_begin(v[k].s);
        assert_int_equal(rc[0], rc[1]);
        assert_true(rc[0] >= 0);
        /* during the sync: none, a few or a block's worth */
        unsigned m = rn(4) == 0 ? 0 : rn(3) == 0 ? 60 : rn(10);
        for (unsigned i = 0; i < m; i++)
            append_both(v, off, &t, round % 50 < 10 ? 12 : 6);
        int is_syncing = rc[0] == 1;
        for (int k = 0; k < 2 && is_syncing; k++)
            rc[k] = store_commit_wait(v[k].s);
        assert_int_equal(rc[0], rc[1]);
        fail_sync = 0;
        if (round % 100 == 99)
            same_after_crash(&v[0]);
    }
    for (int k = 0; k < 2; k++) {
        assert_int_equal(store_commit(v[k].s), 0);
        assert_int_equal(store_sync(v[k].s), 0);
    }
    storetest_same_records(v[0].s, v[1].s, 1000);
    struct store_stats st;
    store_get_stats(v[0].s, &st);
    assert_true(st.n_recs_carried > 1000);      /* the paths compared ran */
    for (int k = 0; k < 2; k++)
        store_close(v[k].s);
    storetest_same_files_but_wal(v[0].dir, v[1].dir, &n[0]);
    storetest_same_files_but_wal(v[1].dir, v[0].dir, &n[1]);
    assert_true(n[0] >= 4);             /* several segments were sealed */
    for (int k = 0; k < 2; k++) {
        char cmd[96];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", v[k].dir);
        assert_int_equal(system(cmd), 0);
    }
}

static void
test_store_carry_same_bytes(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_draw(seed * 0x9e3779b97f4a7c15ULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_carry_same_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
