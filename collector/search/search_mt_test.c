/* SPDX-License-Identifier: MIT */
/*
 * search_mt_test: the threaded scan path (search.h is_serial = 0: blocks
 * read ahead on the cursor's helper thread, the query run where blocks
 * are loaded, on both threads) against the serial one, small enough to
 * run under ThreadSanitizer (make tsan-unit): a regex without a literal
 * over many small blocks of two interleaved sources, both orders, with
 * and without a limit and a cost cap, and searches freed in the middle
 * of a scan with requests still queued or running on the helper (the
 * client leaving). The property test (search_prop_test.c) compares both
 * paths with the model on adversarial arrival orders.
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

#include "collector/search/search.h"
#include "common/xmalloc.h"
#include "tests/support/searchfx.h"

#define T0     1700000000000000000LL
#define N_RECS 4000

/* The emitted lines, "<msg>|<is_context>" joined by newlines. */
struct seq {
    char  *text;
    size_t len, cap;
};

static int
setup_n(void **state, int n_recs)
{
    struct store_options o = { .block_size = 4096 };
    struct fx *f = fx_new("search_mt_test", &o);

    /* Two sources, times interleaved and stepping back now and then, so
     * the cursor merges overlapping blocks. */
    for (int i = 0; i < n_recs; i++) {
        char msg[96];
        int len = snprintf(msg, sizeof(msg), "req %d from 10.%d.%d.%d took "
                           "%d ms", i, i % 7, (i * 13) % 256, (i * 7) % 256,
                           (i * 37) % 1000);
        fx_put(f, i % 2 ? "h1" : "h2",
               T0 + (i / 2) * 10 - (i % 5 == 0 ? 15 : 0), i, msg, len);
        if (i % 500 == 499)
            assert_int_equal(store_commit(f->st), 0);
    }
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(store_sync(f->st), 0);
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return setup_n(state, N_RECS);
}

/* More records than a cursor drops in one call (the yield's test). */
static int
setup_big(void **state)
{
    return setup_n(state, 5 * STORE_CURSOR_YIELD_RECORDS);
}

static int
emit_cb(const struct logrec *r, int is_context, int is_group_start,
        void *arg)
{
    struct seq *q = arg;
    size_t need = q->len + r->msg_len + 8;

    if (need > q->cap) {
        q->cap = need * 2;
        q->text = xreallocarray(q->text, q->cap, 1);
    }
    q->len += (size_t)snprintf(q->text + q->len, q->cap - q->len,
                               "%.*s|%d%d\n", (int)r->msg_len, r->msg,
                               is_context != 0, is_group_start != 0);
    return 0;
}

static struct search *
start(struct fx *f, struct query **q, struct search_spec *spec,
      int is_serial)
{
    static const char *const re = "[0-9]{2}\\.[0-9]+ took [0-9]*7 ms";
    char *err = NULL;

    *q = query_parse("", 0, re, 0, &err);
    assert_non_null(*q);
    spec->q = *q;
    spec->filter.since_ns = INT64_MIN;
    spec->filter.until_ns = INT64_MAX;
    spec->filter.stream = -1;
    spec->is_serial = is_serial;
    struct search *s = search_new(f->st, spec, &err);
    assert_non_null(s);
    return s;
}

/* Runs spec on one path: its lines in *out, its status returned. */
static int
run(struct fx *f, const struct search_spec *spec0, int is_serial,
    struct seq *out, uint64_t *scanned)
{
    struct search_spec spec = *spec0;
    struct query *q;
    struct search *s = start(f, &q, &spec, is_serial);
    int rc, n = 0;

    out->len = 0;
    while ((rc = search_step(s, 64, emit_cb, out)) == SEARCH_MORE)
        assert_true(++n < 100000);
    *scanned = search_scanned_bytes(s);
    search_free(s);
    query_free(q);
    return rc;
}

static void
check_same(struct fx *f, const struct search_spec *spec, int want_rc)
{
    struct seq a = { 0 }, b = { 0 };
    uint64_t sa, sb;

    assert_int_equal(run(f, spec, 1, &a, &sa), want_rc);
    assert_int_equal(run(f, spec, 0, &b, &sb), want_rc);
    assert_true(a.len > 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.text, b.text, a.len);
    assert_int_equal(sa, sb);
    free(a.text);
    free(b.text);
}

static void
test_search_mt_same_as_serial(void **state)
{
    struct fx *f = *state;
    struct search_spec spec;
    struct store_stats st0, st1;

    store_get_stats(f->st, &st0);
    for (int desc = 0; desc < 2; desc++) {
        memset(&spec, 0, sizeof(spec));
        spec.limit = UINT64_MAX;
        spec.is_newest_first = desc;
        check_same(f, &spec, SEARCH_DONE);
        spec.limit = 37;                /* stops with blocks read ahead */
        check_same(f, &spec, SEARCH_DONE);
        spec.limit = UINT64_MAX;
        spec.max_scan_bytes = 60000;    /* about a third of the store */
        check_same(f, &spec, SEARCH_ERROR);
        spec.max_scan_bytes = 0;
        spec.before = 1;
        spec.after = 2;
        check_same(f, &spec, SEARCH_DONE);
    }
    store_get_stats(f->st, &st1);
    assert_true(st1.n_cursor_ahead_reads > st0.n_cursor_ahead_reads);
}

/* A scan without context leaves the store's cache of recent blocks
 * alone (no context cursor will re-read them): a newest-first scan after
 * an oldest-first one takes no block from it; with context it does. */
static void
test_search_mt_no_cache_without_context(void **state)
{
    struct fx *f = *state;
    struct store_stats st0, st1, st2;
    struct seq out = { 0 };
    uint64_t scanned;

    for (int ctx = 0; ctx < 2; ctx++) {
        struct search_spec spec = { .limit = UINT64_MAX, .before = ctx };
        store_get_stats(f->st, &st0);
        run(f, &spec, 0, &out, &scanned);
        store_get_stats(f->st, &st1);
        spec.is_newest_first = 1;
        run(f, &spec, 0, &out, &scanned);
        store_get_stats(f->st, &st2);
        assert_true(st1.n_cursor_reads > st0.n_cursor_reads);
        if (ctx)
            assert_true(st2.n_cursor_cache_hits > st1.n_cursor_cache_hits);
        else
            assert_int_equal(st2.n_cursor_cache_hits,
                             st1.n_cursor_cache_hits);
    }
    free(out.text);
}

/* The client leaves: the search is freed after a step or two, whatever
 * the helper is doing; nothing leaks, nothing races (TSan). */
static void
test_search_mt_free_midway(void **state)
{
    struct fx *f = *state;

    for (int k = 0; k < 20; k++) {
        struct search_spec spec = { .limit = UINT64_MAX,
                                    .is_newest_first = k % 2 };
        struct seq out = { 0 };
        struct query *q;
        struct search *s = start(f, &q, &spec, 0);
        for (int i = 0; i < k % 4; i++)
            assert_int_equal(search_step(s, 200, emit_cb, &out),
                             SEARCH_MORE);
        search_free(s);
        query_free(q);
        free(out.text);
    }
}

/* A scan that matches nothing still comes back after bounded work: the
 * match cursor drops the records where their blocks are loaded, and a
 * step counts them (search_n_seen) and returns once it has seen
 * max_records, or the cursor dropped STORE_CURSOR_YIELD_RECORDS (plus the
 * rest of the block it was in). Without that, one step would scan the
 * whole store (the query workers' slices and cancel checks, collector
 * README "Queries off the loop"). Every record is counted once, and the
 * bytes scanned are the serial path's: also those of blocks left
 * undecoded, whose bytes lack what every match holds ("zebracorn": the
 * raw bytes' test) or whose messages have no match ("took": tested
 * before the columns are decoded). */
static void
test_search_mt_bounded_steps(void **state)
{
    struct fx *f = *state;
    const uint64_t n_all = 5 * STORE_CURSOR_YIELD_RECORDS;
    static const char *const res[] = { "took [0-9]+ s", "zebracorn [0-9]" };

    for (int desc = 0; desc < 4; desc++) {
        struct search_spec spec = { .limit = UINT64_MAX,
                                    .is_newest_first = desc % 2 };
        struct seq out = { 0 };
        char *err = NULL;
        struct query *q = query_parse("", 0, res[desc / 2], 0, &err);
        assert_non_null(q);
        spec.q = q;
        spec.filter.since_ns = INT64_MIN;
        spec.filter.until_ns = INT64_MAX;
        spec.filter.stream = -1;
        uint64_t scanned[2];
        for (int is_serial = 0; is_serial < 2; is_serial++) {
            spec.is_serial = is_serial;
            struct search *s = search_new(f->st, &spec, &err);
            assert_non_null(s);
            int rc, n_steps = 0;
            uint64_t seen = 0, most = 0;
            do {
                rc = search_step(s, 64, emit_cb, &out);
                uint64_t d = search_n_seen(s) - seen;
                seen += d;
                most = d > most ? d : most;
                assert_true(++n_steps < 100000);
            } while (rc == SEARCH_MORE);
            assert_int_equal(rc, SEARCH_DONE);
            assert_int_equal(out.len, 0);
            assert_int_equal(seen, n_all);
            /* a step: 64 records, or one call's drops and its block */
            assert_true(most <= 64 + STORE_CURSOR_YIELD_RECORDS + 200);
            assert_true(n_steps >= 5);
            scanned[is_serial] = search_scanned_bytes(s);
            search_free(s);
        }
        assert_int_equal(scanned[0], scanned[1]);
        query_free(q);
        free(out.text);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_search_mt_same_as_serial,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_mt_free_midway,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_search_mt_no_cache_without_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_mt_bounded_steps,
                                        setup_big, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
