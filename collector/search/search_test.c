/* SPDX-License-Identifier: MIT */
/*
 * search_test: the caps and edges of collector/search/search.c that the property
 * test (search_prop_test.c) does not reach: the scan cost cap (partial
 * output, then SEARCH_ERROR with the byte count), the context memory cap,
 * a group split at SEARCH_GROUP_MAX_RECORDS, grep -m trailing context, a
 * pause requested by the emit callback, and an empty store.
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

#define T0 1700000000000000000LL

struct fx {
    char          dir[64];
    struct store *st;
};

struct got {
    size_t n, n_context, n_starts;
    int    pause_every;
    char   last[64];
};

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    char *err = NULL;

    snprintf(f->dir, sizeof(f->dir), "/tmp/search_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->st = store_open(f->dir, NULL, &err);
    assert_non_null(f->st);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    store_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* n records on one source; message i is "line <i>" plus " hit" when
 * is_hit(i). */
static void
put(struct fx *f, int n, int (*is_hit)(int))
{
    for (int i = 0; i < n; i++) {
        char msg[64];
        int len = snprintf(msg, sizeof(msg), "line %d%s", i,
                           is_hit(i) ? " hit" : "");
        struct logrec r = {
            .time_ns = T0 + i, .host = "h", .container_id = "c",
            .container = "web", .image = "i", .offset = (uint64_t)i + 1,
            .msg = msg, .msg_len = (size_t)len,
        };
        assert_int_equal(store_append(f->st, &r), 1);
    }
    assert_int_equal(store_commit(f->st), 0);
}

static int hit_all(int i) { (void)i; return 1; }
static int hit_none(int i) { (void)i; return 0; }
static int hit_10(int i) { return i % 10 == 0; }

static int
emit_cb(const struct logrec *r, int is_context, int is_group_start,
        void *arg)
{
    struct got *g = arg;

    g->n++;
    g->n_context += is_context != 0;
    g->n_starts += is_group_start != 0;
    snprintf(g->last, sizeof(g->last), "%.*s", (int)r->msg_len, r->msg);
    return g->pause_every > 0 && g->n % (size_t)g->pause_every == 0;
}

static struct search *
start(struct fx *f, const char *q_text, struct query **q,
      struct search_spec *spec)
{
    char *err = NULL;

    *q = query_parse(q_text, strlen(q_text), NULL, 0, &err);
    assert_non_null(*q);
    spec->q = *q;
    spec->filter.since_ns = INT64_MIN;
    spec->filter.until_ns = INT64_MAX;
    spec->filter.stream = -1;
    struct search *s = search_new(f->st, spec, &err);
    assert_non_null(s);
    return s;
}

static int
run(struct search *s, struct got *g)
{
    int rc, n = 0;

    while ((rc = search_step(s, 1000, emit_cb, g)) == SEARCH_MORE)
        assert_true(++n < 100000);
    return rc;
}

static void
test_search_scan_cap_partial(void **state)
{
    struct fx *f = *state;
    struct search_spec spec = { .limit = UINT64_MAX };
    struct query *q;
    struct got g = { 0 };

    put(f, 100, hit_all);
    spec.max_scan_bytes = 200;          /* about 18 records of ~11 bytes */
    struct search *s = start(f, "hit", &q, &spec);
    assert_int_equal(run(s, &g), SEARCH_ERROR);
    assert_true(g.n >= 2 && g.n < 30);  /* matches before the cap */
    assert_true(search_scanned_bytes(s) <= 200);
    assert_non_null(strstr(search_errstr(s), "query cost limit reached: "
                                             "scanned "));
    /* Further steps keep the status and emit nothing. */
    size_t n = g.n;
    assert_int_equal(search_step(s, 10, emit_cb, &g), SEARCH_ERROR);
    assert_int_equal(g.n, n);
    search_free(s);
    query_free(q);
}

/* Regression: with the store's token prefilter on, records without the
 * search words never reach search_feed, yet reading them is the cost the
 * cap bounds: 90 non-matching records of ~7 bytes pass the 200-byte cap. */
static void
test_search_scan_cap_counts_prefiltered(void **state)
{
    struct fx *f = *state;
    struct search_spec spec = { .limit = UINT64_MAX };
    struct query *q;
    struct got g = { 0 };

    put(f, 100, hit_10);
    spec.max_scan_bytes = 200;
    struct search *s = start(f, "hit", &q, &spec);
    assert_int_equal(run(s, &g), SEARCH_ERROR);
    assert_true(g.n < 10);
    assert_true(search_scanned_bytes(s) > 200 - 16);
    search_free(s);
    query_free(q);
}

static void
test_search_scan_cap_flushes_groups(void **state)
{
    struct fx *f = *state;
    struct search_spec spec = { .limit = UINT64_MAX, .after = 50 };
    struct query *q;
    struct got g = { 0 };

    put(f, 100, hit_10);
    spec.max_scan_bytes = 100;
    struct search *s = start(f, "hit", &q, &spec);
    assert_int_equal(run(s, &g), SEARCH_ERROR);
    assert_true(g.n > 1);               /* the open group was emitted */
    assert_true(g.n_context > 0);
    search_free(s);
    query_free(q);
}

static void
test_search_held_cap(void **state)
{
    struct fx *f = *state;
    struct search_spec spec = { .limit = UINT64_MAX, .before = 1000 };
    struct query *q;
    struct got g = { 0 };

    put(f, 3000, hit_none);
    spec.max_held_bytes = 16 << 10;
    struct search *s = start(f, "hit", &q, &spec);
    assert_int_equal(run(s, &g), SEARCH_ERROR);
    assert_non_null(strstr(search_errstr(s), "context lines need more "
                                             "than"));
    search_free(s);     /* frees what the ring held: ASan checks */
    query_free(q);
}

static void
test_search_group_split(void **state)
{
    struct fx *f = *state;
    struct search_spec spec = { .limit = UINT64_MAX, .before = 1 };
    struct query *q;
    struct got g = { 0 };

    put(f, SEARCH_GROUP_MAX_RECORDS + 50, hit_all);
    struct search *s = start(f, "hit", &q, &spec);
    assert_int_equal(run(s, &g), SEARCH_DONE);
    assert_int_equal(g.n, SEARCH_GROUP_MAX_RECORDS + 50);
    assert_int_equal(g.n_starts, 1);    /* one split: two groups */
    assert_int_equal(g.n_context, 0);
    search_free(s);
    query_free(q);
}

static void
test_search_limit_trailing_context(void **state)
{
    struct fx *f = *state;
    struct search_spec spec = { .limit = 1, .after = 2 };
    struct query *q;
    struct got g = { 0 };

    put(f, 20, hit_all);
    struct search *s = start(f, "hit", &q, &spec);
    assert_int_equal(run(s, &g), SEARCH_DONE);
    /* Like grep -m1 -A2: the match, then two lines shown as context
     * although they match too. */
    assert_int_equal(g.n, 3);
    assert_int_equal(g.n_context, 2);
    assert_string_equal(g.last, "line 2 hit");
    assert_int_equal(search_n_matches(s), 1);
    search_free(s);
    query_free(q);
}

static void
test_search_pause(void **state)
{
    struct fx *f = *state;
    struct search_spec spec = { .limit = UINT64_MAX };
    struct query *q;
    struct got g = { .pause_every = 3 };

    put(f, 10, hit_all);
    struct search *s = start(f, "", &q, &spec);
    assert_int_equal(search_step(s, 1000, emit_cb, &g), SEARCH_MORE);
    assert_int_equal(g.n, 3);
    assert_int_equal(run(s, &g), SEARCH_DONE);
    assert_int_equal(g.n, 10);
    search_free(s);
    query_free(q);
}

static void
test_search_empty_store(void **state)
{
    struct fx *f = *state;
    struct search_spec spec = { .limit = 5, .before = 3, .after = 3,
                                .is_newest_first = 1 };
    struct query *q;
    struct got g = { 0 };

    struct search *s = start(f, "x", &q, &spec);
    assert_int_equal(run(s, &g), SEARCH_DONE);
    assert_int_equal(g.n, 0);
    search_free(s);
    query_free(q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_search_scan_cap_partial, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_search_scan_cap_counts_prefiltered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_scan_cap_flushes_groups,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_held_cap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_search_group_split, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_search_limit_trailing_context,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_pause, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_empty_store, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
