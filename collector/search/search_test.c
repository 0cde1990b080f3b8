/* SPDX-License-Identifier: MIT */
/*
 * search_test: the caps and edges of collector/search/search.c that the property
 * test (search_prop_test.c) does not reach: the scan cost cap (partial
 * output, then SEARCH_ERROR with the byte count; context reads count;
 * records the token prefilter drops count, also when it drops all),
 * a group split at SEARCH_GROUP_MAX_RECORDS, grep -m trailing context, a
 * pause requested by the emit callback, an empty store; and the context
 * cases of issue 8 in small, readable form: neighbours across blocks the
 * index skips, outside the time range and on both streams, newest-first
 * groups read top to bottom, and the tail of /follow's history.
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

#define T0 1700000000000000000LL

struct got {
    size_t n, n_context, n_starts;
    int    pause_every;
    char   last[64];
};

static int
setup(void **state)
{
    *state = fx_new("search_test", NULL);
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
        fx_put(f, "h", T0 + i, i, msg, len);
    }
    assert_int_equal(store_commit(f->st), 0);
}

static int hit_all(int i) { (void)i; return 1; }
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

static struct search *
start_in(struct fx *f, const char *q_text, struct query **q,
         struct search_spec *spec, int64_t since, int64_t until,
         int stream)
{
    char *err = NULL;

    *q = query_parse(q_text, strlen(q_text), NULL, 0, &err);
    assert_non_null(*q);
    spec->q = *q;
    spec->filter.since_ns = since;
    spec->filter.until_ns = until;
    spec->filter.stream = stream;
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

/* Regression: when the token prefilter drops every record (each holds
 * one of the two words, none both), no record reaches the search, yet the
 * cap must still end the scan, with the error, on both paths, and the
 * store must stop reading blocks soon after the cap (3000 records of
 * ~10 bytes in 4 KiB blocks; a 200-byte cap). */
static void
test_search_scan_cap_all_prefiltered(void **state)
{
    struct fx *f = *state;
    struct store_options o = { .block_size = 4096 };
    char *err = NULL;

    store_close(f->st);
    f->st = store_open(f->dir, &o, &err);
    assert_non_null(f->st);
    for (int i = 0; i < 3000; i++) {
        char msg[64];
        int len = snprintf(msg, sizeof(msg), "%s %d",
                           i % 2 ? "alpha" : "beta", i);
        fx_put(f, "h", T0 + i, i, msg, len);
    }
    assert_int_equal(store_commit(f->st), 0);
    for (int is_serial = 0; is_serial < 2; is_serial++) {
        struct search_spec spec = { .limit = UINT64_MAX };
        struct query *q;
        struct got g = { 0 };
        spec.max_scan_bytes = 200;
        spec.is_serial = is_serial;
        struct search *s = start(f, "alpha beta", &q, &spec);
        assert_int_equal(run(s, &g), SEARCH_ERROR);
        assert_int_equal(g.n, 0);
        assert_non_null(strstr(search_errstr(s), "query cost limit reached: "
                                                 "scanned "));
        assert_true(search_scanned_bytes(s) > 200);
        assert_true(search_scanned_bytes(s) < 200 + 2 * 4096);
        search_free(s);
        query_free(q);
    }
}

/* Context lines are read by their own cursors and count toward the cap:
 * 1800 bytes cover the 10 matches alone, not a group of 100 lines read
 * twice. What was printed before the cap stays printed. */
static void
test_search_scan_cap_counts_context(void **state)
{
    struct fx *f = *state;
    struct search_spec spec = { .limit = UINT64_MAX };
    struct query *q;
    struct got g = { 0 };

    put(f, 100, hit_10);
    spec.max_scan_bytes = 1800;
    struct search *s = start(f, "hit", &q, &spec);
    assert_int_equal(run(s, &g), SEARCH_DONE);
    assert_int_equal(g.n, 10);
    search_free(s);
    query_free(q);
    memset(&g, 0, sizeof(g));
    spec.after = 50;
    s = start(f, "hit", &q, &spec);
    assert_int_equal(run(s, &g), SEARCH_ERROR);
    assert_true(g.n > 1 && g.n < 100);
    assert_true(g.n_context > 0);
    assert_true(search_scanned_bytes(s) <= 1800);
    assert_non_null(strstr(search_errstr(s), "query cost limit reached"));
    search_free(s);
    query_free(q);
}

/* The numbers of the lines emitted ("line <i>..."), in order, with a
 * leading '-' for context lines and "--" before group starts. */
struct seq {
    char text[4096];
    size_t len;
};

static int
seq_cb(const struct logrec *r, int is_context, int is_group_start,
       void *arg)
{
    struct seq *q = arg;
    int n = 0;

    assert_true(r->msg_len > 5 && memcmp(r->msg, "line ", 5) == 0);
    while (r->msg[5 + n] >= '0' && r->msg[5 + n] <= '9')
        n++;
    q->len += (size_t)snprintf(q->text + q->len, sizeof(q->text) - q->len,
                               "%s%s%.*s ", is_group_start ? "-- " : "",
                               is_context ? "-" : "", n, r->msg + 5);
    assert_true(q->len < sizeof(q->text));
    return 0;
}

static void
run_seq(struct search *s, struct seq *q)
{
    int rc, n = 0;

    while ((rc = search_step(s, 7, seq_cb, q)) == SEARCH_MORE)
        assert_true(++n < 100000);
    assert_int_equal(rc, SEARCH_DONE);
}

/* Reopens the store with small blocks and segments, so the token index
 * prunes blocks (it is written when a segment is full). */
static void
reopen_small(struct fx *f)
{
    struct store_options opt = { .block_size = 1024, .segment_size = 4096 };
    char *err = NULL;

    store_close(f->st);
    f->st = store_open(f->dir, &opt, &err);
    assert_non_null(f->st);
}

/* One container, long lines; hits at 50 and 90. */
static int hit_50_90(int i) { return i == 50 || i == 90; }

static void
put_long(struct fx *f, int n, int (*is_hit)(int))
{
    char pad[301];

    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < n; i++) {
        char msg[400];
        int len = snprintf(msg, sizeof(msg), "line %d %s%s", i, pad,
                           is_hit(i) ? " hit" : "");
        struct logrec r = {
            .time_ns = T0 + i, .host = "h", .container_id = "c",
            .container = "web", .image = "i", .offset = (uint64_t)i + 1,
            .stream = (uint8_t)(i % 2), .msg = msg, .msg_len = (size_t)len,
        };
        assert_int_equal(store_append(f->st, &r), 1);
        if (i % 3 == 0)
            assert_int_equal(store_commit(f->st), 0);
    }
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(store_sync(f->st), 0);
}

/* Issue 8: "-C 2 printed a line from 73 minutes later as the next line
 * when the token index skipped the neighbouring block". Context lines are
 * the container's real neighbours, both streams, whatever blocks the
 * index lets the match cursor skip. */
static void
test_search_context_across_skipped_blocks(void **state)
{
    struct fx *f = *state;
    struct query *q;
    struct seq got = { .len = 0 };

    reopen_small(f);
    put_long(f, 120, hit_50_90);
    struct search_spec spec = { .limit = UINT64_MAX, .before = 2,
                                .after = 2 };
    struct search *s = start(f, "hit", &q, &spec);
    run_seq(s, &got);
    assert_string_equal(got.text, "-48 -49 50 -51 -52 -- -88 -89 90 -91 "
                                  "-92 ");
    search_free(s);
    query_free(q);
}

/* Context ignores the time range (it selects matches); --stream narrows
 * matches and context. */
static void
test_search_context_time_range_stream(void **state)
{
    struct fx *f = *state;
    struct query *q;
    struct seq got = { .len = 0 };

    put_long(f, 40, hit_all);
    struct search_spec spec = { .limit = UINT64_MAX, .before = 2,
                                .after = 1, .is_newest_first = 1 };
    struct search *s = start_in(f, "hit", &q, &spec, T0 + 20, T0 + 21, -1);
    run_seq(s, &got);
    assert_string_equal(got.text, "-18 -19 20 -21 ");
    search_free(s);
    query_free(q);
    got.len = 0;
    s = start_in(f, "hit", &q, &spec, T0 + 20, T0 + 21, 0);  /* even */
    run_seq(s, &got);
    assert_string_equal(got.text, "-16 -18 20 -22 ");
    search_free(s);
    query_free(q);
}

/* Newest first: groups by their newest match, each read top to bottom;
 * touching windows merge (a match inside a window is a match); past the
 * limit a match inside the window is a context line. */
static int hit_groups(int i) { return i == 10 || i == 12 || i == 30; }

static void
test_search_context_desc_groups(void **state)
{
    struct fx *f = *state;
    struct query *q;
    struct seq got = { .len = 0 };

    put_long(f, 40, hit_groups);
    struct search_spec spec = { .limit = UINT64_MAX, .before = 1,
                                .after = 1, .is_newest_first = 1 };
    struct search *s = start(f, "hit", &q, &spec);
    run_seq(s, &got);
    assert_string_equal(got.text, "-29 30 -31 -- -9 10 -11 12 -13 ");
    search_free(s);
    query_free(q);
    got.len = 0;
    spec.limit = 2;
    s = start(f, "hit", &q, &spec);
    run_seq(s, &got);
    assert_string_equal(got.text, "-29 30 -31 -- -11 12 -13 ");
    search_free(s);
    query_free(q);
    got.len = 0;
    spec.limit = 2;
    spec.before = 2;
    s = start(f, "hit", &q, &spec);
    run_seq(s, &got);
    assert_string_equal(got.text, "-28 -29 30 -31 -- -10 -11 12 -13 ");
    search_free(s);
    query_free(q);
    got.len = 0;
    spec.is_newest_first = 0;   /* oldest first: 10 and 12 */
    s = start(f, "hit", &q, &spec);
    run_seq(s, &got);
    assert_string_equal(got.text, "-8 -9 10 -11 12 -13 ");
    search_free(s);
    query_free(q);
}

/* Tail (/follow's history): the limit newest matches, oldest first. */
static void
test_search_tail(void **state)
{
    struct fx *f = *state;
    struct query *q;
    struct seq got = { .len = 0 };

    put_long(f, 40, hit_groups);
    struct search_spec spec = { .limit = 2, .is_tail = 1 };
    struct search *s = start(f, "hit", &q, &spec);
    run_seq(s, &got);
    assert_string_equal(got.text, "12 30 ");
    search_free(s);
    query_free(q);
    got.len = 0;
    spec.limit = 10;
    s = start(f, "hit", &q, &spec);
    run_seq(s, &got);
    assert_string_equal(got.text, "10 12 30 ");
    search_free(s);
    query_free(q);
}

/* Tail with ties: the cut falls inside lines of one time; exactly the
 * limit newest by store key come out (not every line of the oldest time). */
static void
test_search_tail_ties(void **state)
{
    struct fx *f = *state;
    struct query *q;
    struct got g = { 0 };

    for (int i = 0; i < 5; i++) {
        char msg[16];
        int len = snprintf(msg, sizeof(msg), "tie %d", i);
        fx_put(f, "h", T0, i, msg, len);
    }
    assert_int_equal(store_commit(f->st), 0);
    struct search_spec spec = { .limit = 2, .is_tail = 1 };
    struct search *s = start(f, "tie", &q, &spec);
    assert_int_equal(run(s, &g), SEARCH_DONE);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.last, "tie 4");
    search_free(s);
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
        cmocka_unit_test_setup_teardown(test_search_scan_cap_all_prefiltered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_scan_cap_counts_context,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_search_context_across_skipped_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_search_context_time_range_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_context_desc_groups,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_tail_ties, setup,
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
