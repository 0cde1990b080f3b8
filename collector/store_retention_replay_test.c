/* SPDX-License-Identifier: MIT */
/*
 * store_retention_replay_test: a store bug found by
 * tests/integration/25-store-crash.sh, reproduced through the store's
 * public API (collector/store/store.h) without killing anything. Retention
 * writes hw.lqh with the sources' high water marks, which include records
 * committed to the WAL but not yet sealed into a block; at open hw.lqh is
 * loaded before the WAL is replayed, and replay skips every record at or
 * below the high water mark as "already sealed". So committed (acknowledged)
 * records are dropped after a crash or a restart, and their resend is then
 * refused as a duplicate. Lives outside collector/store/ only because that
 * directory was being rewritten when it was found; belongs in store_test.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "common/xmalloc.h"

#define T0      1700000000000000000LL
#define HOUR_NS (3600LL * 1000000000)

struct rfx {
    char          dir[64];
    char          snap[80];
    struct store *s;
    int64_t       now;
};

static int64_t
rfx_clock(void *arg)
{
    return ((struct rfx *)arg)->now;
}

static struct store *
rfx_open(struct rfx *f, const char *dir)
{
    struct store_options o = {
        .block_size = 4096, .segment_size = 8192,
        .retention_age_ns = HOUR_NS, .clock = rfx_clock, .clock_arg = f,
    };
    char *err = NULL;
    struct store *s = store_open(dir, &o, &err);

    if (s == NULL)
        fail_msg("store_open %s: %s", dir, err);
    return s;
}

/* Appends offsets [first, last] of one source, stamped T0 + offset us. */
static int
rfx_put(struct store *s, uint64_t first, uint64_t last)
{
    char msg[96];
    int n = 0;

    for (uint64_t off = first; off <= last; off++) {
        snprintf(msg, sizeof(msg), "line %06llu of the retention replay "
                 "test, long enough to fill blocks", (unsigned long long)off);
        struct logrec r = {
            .time_ns = T0 + (int64_t)off * 1000, .host = "h1",
            .container_id = "c1", .container = "web", .image = "img",
            .offset = off, .msg = msg, .msg_len = strlen(msg),
        };
        n += store_append(s, &r);
    }
    return n;
}

/* Records of the store with an offset above min_off. */
static int
rfx_count_above(struct store *s, uint64_t min_off)
{
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1 };
    struct store_cursor *c = store_cursor_new(s, &fl, 0);
    struct logrec r;
    int n = 0, rc;

    while ((rc = store_cursor_next(c, &r)) != 0)
        if (rc > 0 && r.offset > min_off)
            n++;
    store_cursor_free(c);
    return n;
}

static int
rfx_setup(void **state)
{
    struct rfx *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/store_rr_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->snap, sizeof(f->snap), "%s.crash", f->dir);
    f->now = T0;
    *state = f;
    return 0;
}

static int
rfx_teardown(void **state)
{
    struct rfx *f = *state;
    char *cmd = xasprintf("rm -rf '%s' '%s'", f->dir, f->snap);

    store_close(f->s);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(cmd);
    free(f);
    return 0;
}

/* Sealed segments, then 5 records committed to the WAL only; retention
 * deletes the old segments (writing hw.lqh). A copy of the directory at
 * that point is what kill -9 leaves: the 5 committed records must be there
 * after open, and their resend must be a duplicate. */
static void
test_retention_keeps_wal_records(void **state)
{
    struct rfx *f = *state;

    f->s = rfx_open(f, f->dir);
    for (uint64_t off = 1; off <= 400; off += 10) {
        assert_int_equal(rfx_put(f->s, off, off + 9), 10);
        assert_int_equal(store_commit(f->s), 0);
    }
    assert_int_equal(store_sync(f->s), 0);
    assert_int_equal(rfx_put(f->s, 401, 405), 5);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    assert_int_equal(rfx_count_above(f->s, 400), 5);
    f->now = T0 + 10 * HOUR_NS;     /* every sealed segment has expired */
    assert_true(store_apply_retention(f->s) > 0);

    char *cmd = xasprintf("cp -a '%s' '%s'", f->dir, f->snap);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    struct store *crashed = rfx_open(f, f->snap);
    struct store_stats st;
    store_get_stats(crashed, &st);
    int n_kept = rfx_count_above(crashed, 400);
    int n_resent = rfx_put(crashed, 401, 405);
    store_close(crashed);
    if (n_kept != 5)
        fail_msg("after a crash: %d of the 5 committed WAL records are left "
                 "(wal_replayed=%llu), a resend stored %d of them", n_kept,
                 (unsigned long long)st.n_wal_replayed, n_resent);
    assert_int_equal(n_resent, 0);

    /* A clean close and reopen must keep them too. */
    store_close(f->s);
    f->s = rfx_open(f, f->dir);
    assert_int_equal(rfx_count_above(f->s, 400), 5);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retention_keeps_wal_records,
                                        rfx_setup, rfx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
