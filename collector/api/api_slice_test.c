/* SPDX-License-Identifier: MIT */
/*
 * api_slice_test: how much of a search one worker slice runs
 * (api_search_slice, collector README "Queries off the loop"). Records
 * the match cursor drops unseen where their blocks are loaded count
 * API_DROP_SHARE to one, so a scan that matches little is not cut every
 * API_SLICE_RECORDS records (each loop turn let the read-ahead thread
 * run dry); records that reach the search still count one each, and the
 * time bound still ends a slice that only drops.
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

#include "collector/api/api_internal.h"
#include "collector/api/api_pool.h"
#include "common/xmalloc.h"
#include "tests/support/searchfx.h"

#define T0     1700000000000000000LL
#define N_RECS (3 * API_SLICE_RECORDS)
#define NO_END ((int64_t)3600 * 1000000000)    /* no time bound */

static int
setup(void **state)
{
    struct store_options o = { .block_size = 65536 };
    struct fx *f = fx_new("api_slice_test", &o);

    for (int i = 0; i < N_RECS; i++) {
        char msg[64];
        int len = snprintf(msg, sizeof(msg), "req %d took %d ms", i,
                           (i * 37) % 1000);
        fx_put(f, "h1", T0 + i, i, msg, len);
        if (i % 5000 == 4999)
            assert_int_equal(store_commit(f->st), 0);
    }
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(store_sync(f->st), 0);
    *state = f;
    return 0;
}

static int
count_cb(const struct logrec *r, int is_context, int is_group_start,
         void *arg)
{
    (*(uint64_t *)arg)++;
    return 0;
}

/* The threaded search of regex re (read ahead, dropping where loaded). */
static struct search *
start(struct fx *f, const char *re, struct query **q)
{
    struct search_spec spec = { .limit = UINT64_MAX };
    char *err = NULL;

    *q = query_parse("", 0, re, 0, &err);
    assert_non_null(*q);
    spec.q = *q;
    spec.filter.since_ns = INT64_MIN;
    spec.filter.until_ns = INT64_MAX;
    spec.filter.stream = -1;
    struct search *s = search_new(f->st, &spec, &err);
    assert_non_null(s);
    return s;
}

/* A regex no record matches: every record is dropped where its block is
 * loaded, and N_RECS of them (3 x API_SLICE_RECORDS) are one slice. */
static void
test_slice_drops_count_less(void **state)
{
    struct fx *f = *state;
    struct pool_job j = { 0 };
    struct query *q;
    struct search *s = start(f, "took [0-9]+ s", &q);
    uint64_t n = 0;

    assert_int_equal(api_search_slice_ns(s, &j, count_cb, &n, NULL, NO_END),
                     SEARCH_DONE);
    assert_int_equal(n, 0);
    assert_int_equal(search_n_seen(s), N_RECS);
    assert_int_equal(search_n_dropped(s), N_RECS);
    search_free(s);
    query_free(q);
}

/* A regex every record matches: none is dropped, each counts one, so a
 * slice ends after API_SLICE_RECORDS (the step it ends in: at most
 * API_STEP_RECORDS more), and the slices together see every record once. */
static void
test_slice_matches_count_one(void **state)
{
    struct fx *f = *state;
    struct pool_job j = { 0 };
    struct query *q;
    struct search *s = start(f, "took [0-9]+ ms", &q);
    uint64_t n = 0, seen = 0;
    int rc, n_slices = 0;

    do {
        rc = api_search_slice_ns(s, &j, count_cb, &n, NULL, NO_END);
        uint64_t d = search_n_seen(s) - seen;
        seen += d;
        if (rc == SEARCH_MORE) {
            assert_true(d >= API_SLICE_RECORDS);
            assert_true(d < API_SLICE_RECORDS + API_STEP_RECORDS);
        }
        assert_true(++n_slices <= 4);
    } while (rc == SEARCH_MORE);
    assert_int_equal(rc, SEARCH_DONE);
    assert_int_equal(n, N_RECS);
    assert_int_equal(seen, N_RECS);
    assert_int_equal(search_n_dropped(s), 0);
    assert_true(n_slices >= 3);
    search_free(s);
    query_free(q);
}

/* The time bound still ends a slice that only drops: with none left, it
 * ends after its first step (one cursor call's drops and their block). */
static void
test_slice_time_bound(void **state)
{
    struct fx *f = *state;
    struct pool_job j = { 0 };
    struct query *q;
    struct search *s = start(f, "took [0-9]+ s", &q);
    uint64_t n = 0;

    assert_int_equal(api_search_slice_ns(s, &j, count_cb, &n, NULL, 0),
                     SEARCH_MORE);
    assert_true(search_n_seen(s) > 0);
    assert_true(search_n_seen(s) < API_SLICE_RECORDS);
    search_free(s);
    query_free(q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_drops_count_less),
        cmocka_unit_test(test_slice_matches_count_one),
        cmocka_unit_test(test_slice_time_bound),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
