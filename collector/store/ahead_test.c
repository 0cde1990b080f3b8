/* SPDX-License-Identifier: MIT */
/*
 * ahead_test: store_count_ahead, the records of a filter's names stamped
 * at or after a time, from the block directory alone (collector/store/
 * ahead.c). Host "a" stamps 200 records a year ahead and one at
 * INT64_MAX, host "b" stamps normal times, in the same commits (so their
 * blocks mix labels) over several segments, the blocks being sealed and
 * the tail. Checked against a cursor reading every record: exact where
 * every selected label lies wholly on one side, a lower bound (flagged)
 * where one straddles; names select (host, exclusion); a reopen counts
 * the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/store/namesel.h"
#include "collector/store/store.h"
#include "common/xmalloc.h"
#include "tests/support/storetest.h"
#include "tests/support/testdir.h"

#define T0   1700000000000000000LL
#define SEC  1000000000LL
#define YEAR (365LL * 86400 * SEC)

static struct store *
open_store(const char *dir)
{
    struct store_options o = { .block_size = 2 << 10,
                               .segment_size = 16 << 10 };

    return storetest_open(dir, &o);
}

static void
put(struct store *s, const char *host, uint64_t off, int64_t t)
{
    char msg[128];
    struct logrec r = { .time_ns = t, .host = host, .container_id = host,
                        .container = host, .image = "img", .offset = off,
                        .msg = msg, .recv_ns = T0 };

    r.msg_len = (size_t)snprintf(msg, sizeof(msg), "%s line %llu %s", host,
                                 (unsigned long long)off,
                                 "padding padding padding padding padding");
    assert_int_equal(store_append(s, &r), 1);
}

/* The records a cursor over f reads at or after from (the truth). */
static uint64_t
count_read(struct store *s, const struct store_filter *f, int64_t from)
{
    struct store_filter g = *f;
    struct store_cursor *c;
    struct logrec r;
    uint64_t n = 0;
    int rc;

    g.since_ns = from;
    c = store_cursor_new(s, &g, 0);
    while ((rc = store_cursor_next(c, &r)) != 0)
        n += rc == 1;
    store_cursor_free(c);
    return n;
}

/* store_count_ahead over f from `from`: exact (equal to what a cursor
 * reads) unless flagged, then at least 1 and at most the truth. */
static uint64_t
ahead(struct store *s, const struct store_filter *f, int64_t from,
      int want_bound)
{
    uint64_t n, truth = count_read(s, f, from);
    int is_bound = -1;

    store_count_ahead(s, f, from, &n, &is_bound);
    assert_int_equal(is_bound, want_bound);
    if (!is_bound)
        assert_int_equal(n, truth);
    else
        assert_true(n >= 1 && n <= truth);
    return n;
}

static void
test_ahead_counts(void **state)
{
    (void)state;
    char *dir = testdir_make("ahead_test");
    struct store *s = open_store(dir);
    struct store_filter all = { .since_ns = INT64_MIN,
                                .until_ns = INT64_MAX, .stream = -1 };
    uint64_t a = 1, b = 1;

    /* 20 commits of 10 "a" records a year ahead and 15 "b" now */
    for (int k = 0; k < 20; k++) {
        for (int i = 0; i < 10; i++, a++)
            put(s, "a", a, T0 + YEAR + (int64_t)a * SEC);
        for (int i = 0; i < 15; i++, b++)
            put(s, "b", b, T0 + (int64_t)b * SEC);
        assert_int_equal(store_commit(s), 0);
    }
    put(s, "a", a++, INT64_MAX);
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(store_sync(s), 0);
    for (int i = 0; i < 5; i++, a++)        /* left in the tail */
        put(s, "a", a, T0 + YEAR + (int64_t)a * SEC);
    assert_int_equal(store_commit(s), 0);

    struct store_stats st;
    store_get_stats(s, &st);
    assert_true(st.n_segments >= 2);
    int64_t day = T0 + 86400 * SEC;
    assert_int_equal(ahead(s, &all, day, 0), 206);
    /* the INT64_MAX record shares its block label with others of "a" */
    assert_int_equal(ahead(s, &all, INT64_MAX, 1), 1);
    assert_int_equal(ahead(s, &all, T0 + 2 * YEAR, 1), 1);
    ahead(s, &all, T0 + YEAR + 100 * SEC, 1);     /* "a" straddles */
    ahead(s, &all, T0 + 150 * SEC, 1);            /* "b" straddles */

    struct store_filter f = all;
    f.host = "b";
    assert_int_equal(ahead(s, &f, day, 0), 0);
    f.host = "a";
    assert_int_equal(ahead(s, &f, day, 0), 206);
    f.since_ns = INT64_MAX;                         /* a later since */
    assert_int_equal(ahead(s, &f, day, 1), 1);
    char *err = NULL;
    struct namesel *sel = namesel_new();
    assert_int_equal(namesel_add(sel, NAMESEL_HOST, "!a", &err), 0);
    f = all;
    f.sel = sel;
    assert_int_equal(ahead(s, &f, day, 0), 0);

    store_close(s);
    s = open_store(dir);
    assert_int_equal(ahead(s, &all, day, 0), 206);
    assert_int_equal(ahead(s, &f, day, 0), 0);
    store_close(s);
    namesel_free(sel);
    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ahead_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
