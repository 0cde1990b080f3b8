/* SPDX-License-Identifier: MIT */
/*
 * follow_test: staging, publishing, unsubscribing from inside a callback and
 * the staging cap of collector/search/follow.c; the identity set; and the
 * boundary between a follower's history and its live lines, driven the way
 * ingest.c and api_follow.c drive follow, the store and search: no gap, no
 * duplicate, a late record older than the history's newest sent once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/search/follow.h"
#include "collector/search/search.h"
#include "common/xmalloc.h"
#include "tests/support/testrng.h"

struct sink {
    struct follow     *f;
    struct follow_sub *sub;
    int                n_rec;
    int                n_flush;
    int                drop_after;   /* unsubscribe after this many records */
    char               last[64];
};

static void
sink_rec(const struct logrec *r, void *arg)
{
    struct sink *s = arg;

    s->n_rec++;
    size_t n = r->msg_len < sizeof(s->last) - 1 ? r->msg_len
                                                : sizeof(s->last) - 1;
    memcpy(s->last, r->msg, n);
    s->last[n] = '\0';
    assert_string_equal(r->host, "node1");
    assert_string_equal(r->container, "web");
    assert_string_equal(r->image, "");          /* NULL staged as "" */
    if (s->drop_after && s->n_rec == s->drop_after)
        follow_unsubscribe(s->f, s->sub);
}

static void
sink_flush(void *arg)
{
    ((struct sink *)arg)->n_flush++;
}

static struct logrec
mkrec(const char *msg)
{
    struct logrec r = {
        .time_ns = 1, .host = "node1", .container_id = "abc",
        .container = "web", .image = NULL, .stream = 0, .offset = 9,
        .msg = msg, .msg_len = strlen(msg),
    };
    return r;
}

static void
test_follow_publish_to_all(void **state)
{
    (void)state;
    struct follow *f = follow_new(1 << 20);
    struct sink a = { .f = f }, b = { .f = f };

    struct logrec r = mkrec("before anyone listens");
    assert_int_equal(follow_stage(f, &r), 0);
    follow_publish(f);                       /* nothing staged: no-op */
    a.sub = follow_subscribe(f, sink_rec, sink_flush, &a);
    b.sub = follow_subscribe(f, sink_rec, NULL, &b);
    assert_int_equal(follow_n_subscribers(f), 2);
    r = mkrec("one");
    assert_int_equal(follow_stage(f, &r), 0);
    r = mkrec("two");
    assert_int_equal(follow_stage(f, &r), 0);
    assert_int_equal(a.n_rec, 0);            /* nothing before publish */
    follow_publish(f);
    assert_int_equal(a.n_rec, 2);
    assert_int_equal(b.n_rec, 2);
    assert_int_equal(a.n_flush, 1);
    assert_string_equal(a.last, "two");
    follow_publish(f);                       /* stage was cleared */
    assert_int_equal(a.n_rec, 2);
    follow_unsubscribe(f, b.sub);
    assert_int_equal(follow_n_subscribers(f), 1);
    follow_free(f);
}

/* A commit that completes later: only the records staged before it began
 * are published at its end; after a failed one (no end), the next commit
 * publishes its records first, then the later ones, in stage order. */
static void
test_follow_commit_begin_end(void **state)
{
    (void)state;
    struct follow *f = follow_new(1 << 20);
    struct sink a = { .f = f };

    a.sub = follow_subscribe(f, sink_rec, sink_flush, &a);
    struct logrec r = mkrec("one");
    assert_int_equal(follow_stage(f, &r), 0);
    follow_commit_begin(f);
    r = mkrec("two");                        /* staged while it syncs */
    assert_int_equal(follow_stage(f, &r), 0);
    follow_commit_end(f);
    assert_int_equal(a.n_rec, 1);
    assert_string_equal(a.last, "one");
    follow_commit_begin(f);                  /* this commit fails */
    r = mkrec("three");
    assert_int_equal(follow_stage(f, &r), 0);
    follow_commit_begin(f);                  /* the retry */
    r = mkrec("four");
    assert_int_equal(follow_stage(f, &r), 0);
    assert_int_equal(a.n_rec, 1);
    follow_commit_end(f);
    assert_int_equal(a.n_rec, 3);
    assert_string_equal(a.last, "three");
    assert_int_equal(a.n_flush, 2);
    follow_publish(f);
    assert_int_equal(a.n_rec, 4);
    assert_string_equal(a.last, "four");
    assert_int_equal(follow_n_dropped(f), 0);
    follow_free(f);
}

static void
test_follow_unsubscribe_in_callback(void **state)
{
    (void)state;
    struct follow *f = follow_new(1 << 20);
    struct sink a = { .f = f, .drop_after = 1 }, b = { .f = f };

    a.sub = follow_subscribe(f, sink_rec, sink_flush, &a);
    b.sub = follow_subscribe(f, sink_rec, sink_flush, &b);
    for (int i = 0; i < 3; i++) {
        struct logrec r = mkrec("x");
        assert_int_equal(follow_stage(f, &r), 0);
    }
    follow_publish(f);
    assert_int_equal(a.n_rec, 1);            /* dropped itself */
    assert_int_equal(a.n_flush, 0);
    assert_int_equal(b.n_rec, 3);
    assert_int_equal(follow_n_subscribers(f), 1);
    follow_free(f);                          /* ASan: no leak of a.sub */
}

static void
test_follow_stage_cap(void **state)
{
    (void)state;
    struct follow *f = follow_new(64);
    struct sink a = { .f = f };
    char big[80];

    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    a.sub = follow_subscribe(f, sink_rec, NULL, &a);
    struct logrec r = mkrec("small");
    assert_int_equal(follow_stage(f, &r), 0);
    r = mkrec(big);
    assert_int_equal(follow_stage(f, &r), -1);
    assert_int_equal(follow_n_dropped(f), 1);
    follow_publish(f);
    assert_int_equal(a.n_rec, 1);
    assert_string_equal(a.last, "small");    /* the failed copy left no trace */
    follow_free(f);
}

/* Issue 8: a record appended before anyone subscribed and committed after
 * was neither in a history cursor (not committed yet) nor sent live (not
 * staged): a gap. */
static void
test_follow_stage_before_subscribe(void **state)
{
    (void)state;
    struct follow *f = follow_new(1 << 20);
    struct sink a = { .f = f };

    struct logrec r = mkrec("appended, not committed");
    assert_int_equal(follow_stage(f, &r), 0);
    a.sub = follow_subscribe(f, sink_rec, NULL, &a);
    follow_publish(f);                       /* the commit */
    assert_int_equal(a.n_rec, 1);
    assert_string_equal(a.last, "appended, not committed");
    follow_free(f);
}

/* The stage's buffers after 8 MiB of records were published: with no
 * subscriber they are given back (they held 8 MiB for good before, 21-24
 * MiB of the collector's peak in BENCHMARKS.md); with one they keep
 * their size (no reallocation every commit). */
static void
test_follow_stage_mem_without_subscribers(void **state)
{
    (void)state;
    struct follow *f = follow_new(64 << 20);
    struct sink a = { .f = f };
    char msg[1025];

    memset(msg, 'x', 1024);
    msg[1024] = '\0';
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 2; k++) {           /* both buffers */
            for (int i = 0; i < 8192; i++) {
                struct logrec r = mkrec(msg);
                assert_int_equal(follow_stage(f, &r), 0);
            }
            follow_publish(f);
        }
        if (round == 0) {
            assert_true(follow_mem(f) <= 2 * (256 << 10));
            a.sub = follow_subscribe(f, sink_rec, NULL, &a);
        } else {
            assert_true(follow_mem(f) >= 8 << 20);
            assert_int_equal(a.n_rec, 2 * 8192);
        }
    }
    follow_free(f);
}

static void
test_follow_keys(void **state)
{
    (void)state;
    struct follow_keys *k = follow_keys_new(3);
    struct logrec r = mkrec("x");
    char longhost[400];

    assert_int_equal(follow_keys_has(k, &r), 0);
    assert_int_equal(follow_keys_add(k, &r), 0);
    assert_int_equal(follow_keys_add(k, &r), 0);     /* already held */
    assert_int_equal(follow_keys_count(k), 1);
    r.msg = "other text";                            /* same identity */
    assert_int_equal(follow_keys_has(k, &r), 1);
    r.offset = 10;                                   /* another line */
    assert_int_equal(follow_keys_has(k, &r), 0);
    assert_int_equal(follow_keys_add(k, &r), 0);
    r.container_id = "abd";
    assert_int_equal(follow_keys_has(k, &r), 0);
    memset(longhost, 'h', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    r.host = longhost;
    assert_int_equal(follow_keys_add(k, &r), 0);
    assert_int_equal(follow_keys_has(k, &r), 1);
    r.time_ns = 2;
    assert_int_equal(follow_keys_add(k, &r), -1);    /* full */
    assert_int_equal(follow_keys_has(k, &r), 0);
    assert_int_equal(follow_keys_count(k), 3);
    follow_keys_free(k);
}

/* Receive stamps: strictly increasing whatever the clock does; the
 * receive point is not above any record a new subscriber will be sent. */
static void
test_follow_recv_clock(void **state)
{
    (void)state;
    struct follow *f = follow_new(1 << 20);

    assert_true(follow_recv_next(f, 100) == 100);
    assert_true(follow_recv_next(f, 100) == 101);   /* same ns: next */
    assert_true(follow_recv_next(f, 50) == 102);    /* clock stepped back */
    assert_true(follow_recv_next(f, 500) == 500);
    /* nothing staged: the next stamp, reserved against a step back */
    assert_true(follow_receive_point(f, 900) == 900);
    assert_true(follow_recv_next(f, 10) >= 900);
    int64_t p = follow_receive_point(f, 0);
    int64_t t = follow_recv_next(f, 0);
    assert_true(t >= p);
    /* staged (appended, not yet committed): its stamp is the point */
    struct logrec r = mkrec("staged");
    r.recv_ns = t;
    assert_int_equal(follow_stage(f, &r), 0);
    int64_t later = follow_recv_next(f, 2000);
    assert_true(follow_receive_point(f, 3000) == t);
    follow_publish(f);
    assert_true(follow_receive_point(f, 0) > later);
    follow_free(f);
}

/* ---- history boundary ---- */

struct hb {
    struct store       *st;
    struct follow      *f;
    struct follow_keys *keys;       /* live lines held during history */
    const struct query *q;          /* live: NULL matches all */
    int                 is_hist;
    char                hist[8192], live[8192];
};

/* ingest_batch.c: append and stage; ingest_commit.c: commit, publish. */
static void
hb_append(struct hb *h, const char *host, int64_t t, uint64_t off,
          const char *msg)
{
    struct logrec r = {
        .time_ns = t, .host = host, .container_id = "c", .container = "web",
        .image = "i", .offset = off, .msg = msg, .msg_len = strlen(msg),
    };
    assert_int_equal(store_append(h->st, &r), 1);
    assert_int_equal(follow_stage(h->f, &r), 0);
}

static void
hb_commit(struct hb *h)
{
    assert_int_equal(store_commit(h->st), 0);
    follow_publish(h->f);
}

static void
hb_add(char *dst, size_t cap, const struct logrec *r)
{
    size_t n = strlen(dst);

    snprintf(dst + n, cap - n, "%.*s ", (int)r->msg_len, r->msg);
}

/* api_follow.c: live records wait (identity held) while history runs. */
static void
hb_live(const struct logrec *r, void *arg)
{
    struct hb *h = arg;

    if (h->q != NULL && !query_match(h->q, r->msg, r->msg_len))
        return;
    if (h->is_hist)
        assert_int_equal(follow_keys_add(h->keys, r), 0);
    hb_add(h->live, sizeof(h->live), r);
}

static int
hb_hist(const struct logrec *r, int is_context, int is_group_start,
        void *arg)
{
    struct hb *h = arg;

    if (!follow_keys_has(h->keys, r))
        hb_add(h->hist, sizeof(h->hist), r);
    return 0;
}

static void
test_follow_history_boundary(void **state)
{
    (void)state;
    char dir[64], *err = NULL;
    struct hb h;

    memset(&h, 0, sizeof(h));
    snprintf(dir, sizeof(dir), "/tmp/follow_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    h.st = store_open(dir, NULL, &err);
    assert_non_null(h.st);
    h.f = follow_new(1 << 20);
    h.keys = follow_keys_new(100);
    for (int i = 0; i < 10; i++) {
        char msg[16];
        snprintf(msg, sizeof(msg), "a%d", i);
        hb_append(&h, "h1", 100 + i, (uint64_t)i + 1, msg);
    }
    hb_commit(&h);
    hb_append(&h, "h2", 200, 1, "pending");     /* committed later */
    /* Subscribe and create the history in one loop turn. */
    struct follow_sub *sub = follow_subscribe(h.f, hb_live, NULL, &h);
    struct query *q = query_parse("", 0, NULL, 0, &err);
    struct search_spec spec = {
        .filter = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                    .stream = -1 },
        .q = q, .limit = 3, .is_tail = 1,
    };
    struct search *s = search_new(h.st, &spec, &err);
    assert_non_null(s);
    h.is_hist = 1;
    assert_int_equal(search_step(s, 1, hb_hist, &h), SEARCH_MORE);
    /* While the first pass runs: a late line of another host, older than
     * the history's newest (a9), and the pending one are committed. */
    hb_append(&h, "h3", 108, 1, "late");
    hb_commit(&h);
    int rc, n = 0;
    while ((rc = search_step(s, 1, hb_hist, &h)) == SEARCH_MORE)
        assert_true(++n < 1000);
    assert_int_equal(rc, SEARCH_DONE);
    h.is_hist = 0;
    hb_append(&h, "h1", 300, 11, "after");
    hb_commit(&h);
    assert_string_equal(h.hist, "a7 a8 a9 ");
    assert_string_equal(h.live, "pending late after ");
    search_free(s);
    query_free(q);
    follow_unsubscribe(h.f, sub);
    follow_keys_free(h.keys);
    follow_free(h.f);
    store_close(h.st);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* The same boundary with random data: several hosts, ties, late lines,
 * commits at random points while the history is read. Model: the history
 * is the N newest matches (store_key order) of what was committed at the
 * subscription, oldest first; the live lines are every later commit's
 * matches in commit order; together each record once. */
static uint64_t rng = 0x12345678ULL;

static unsigned
rn(unsigned n)
{
    return testrng_below(&rng, n);
}

struct rb_rec {
    int      host;
    int64_t  t;
    uint64_t off;
    int      is_match;
    char     msg[32];
};

struct rb {
    struct hb     h;
    struct rb_rec v[400];
    size_t        n, n_committed;
    uint64_t      offs[3];
};

static const char *const rb_hosts[] = { "h1", "h2", "h3" };

static void
rb_append(struct rb *b, int64_t t)
{
    struct rb_rec *x = &b->v[b->n++];

    assert_true(b->n <= 400);
    x->host = (int)rn(3);
    x->t = t;
    x->off = ++b->offs[x->host];
    x->is_match = rn(3) != 0;
    snprintf(x->msg, sizeof(x->msg), "%s %s-%llu", x->is_match ? "m" : "n",
             rb_hosts[x->host], (unsigned long long)x->off);
    hb_append(&b->h, rb_hosts[x->host], t, x->off, x->msg);
}

static int
rb_cmp(const void *pa, const void *pb)
{
    const struct rb_rec *a = *(const struct rb_rec *const *)pa;
    const struct rb_rec *b = *(const struct rb_rec *const *)pb;
    int c;

    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if ((c = strcmp(rb_hosts[a->host], rb_hosts[b->host])) != 0)
        return c;
    return a->off < b->off ? -1 : a->off > b->off;
}

/* Expected history: the limit newest matches of v[0..n_snap). */
static void
rb_expect_hist(struct rb *b, size_t n_snap, uint64_t limit, char *out,
               size_t cap)
{
    const struct rb_rec *p[400];
    size_t m = 0, first;

    for (size_t i = 0; i < n_snap; i++)
        if (b->v[i].is_match)
            p[m++] = &b->v[i];
    qsort(p, m, sizeof(*p), rb_cmp);
    first = m > limit ? m - limit : 0;
    out[0] = '\0';
    for (size_t i = first; i < m; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s ", p[i]->msg);
}

static void
rb_run(struct rb *b, const char *dir)
{
    struct store_options opt = { .block_size = 512, .segment_size = 4096 };
    char *err = NULL, want[8192];

    memset(b, 0, sizeof(*b));
    b->h.st = store_open(dir, &opt, &err);
    assert_non_null(b->h.st);
    b->h.f = follow_new(1 << 20);
    b->h.keys = follow_keys_new(400);
    size_t n0 = 5 + rn(60);
    for (size_t i = 0; i < n0; i++) {
        rb_append(b, 1000 + (int64_t)rn(50));
        if (rn(4) == 0)
            hb_commit(&b->h);
    }
    hb_commit(&b->h);
    size_t n_snap = b->n;
    for (unsigned i = rn(3); i > 0; i--)
        rb_append(b, 1000 + (int64_t)rn(80));   /* pending, not committed */
    struct follow_sub *sub = follow_subscribe(b->h.f, hb_live, NULL, &b->h);
    struct query *q = query_parse("m", 1, NULL, 0, &err);
    b->h.q = q;
    uint64_t limit = 1 + rn(15);
    struct search_spec spec = {
        .filter = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                    .stream = -1 },
        .q = q, .limit = limit, .is_tail = 1,
    };
    struct search *s = search_new(b->h.st, &spec, &err);
    assert_non_null(s);
    b->h.is_hist = 1;
    int rc, steps = 0;
    while ((rc = search_step(s, 1 + rn(4), hb_hist, &b->h)) ==
           SEARCH_MORE) {
        assert_true(++steps < 10000);
        if (rn(3) == 0)
            rb_append(b, 1000 + (int64_t)rn(80));   /* late or new */
        if (rn(2) == 0)
            hb_commit(&b->h);
    }
    assert_int_equal(rc, SEARCH_DONE);
    b->h.is_hist = 0;
    for (unsigned i = rn(4); i > 0; i--)
        rb_append(b, 1000 + (int64_t)rn(100));
    hb_commit(&b->h);
    rb_expect_hist(b, n_snap, limit, want, sizeof(want));
    assert_string_equal(b->h.hist, want);
    want[0] = '\0';
    for (size_t i = n_snap; i < b->n; i++)  /* commit order = append order */
        if (b->v[i].is_match)
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s ",
                     b->v[i].msg);
    assert_string_equal(b->h.live, want);
    search_free(s);
    query_free(q);
    follow_unsubscribe(b->h.f, sub);
    follow_keys_free(b->h.keys);
    follow_free(b->h.f);
    store_close(b->h.st);
}
static void
test_follow_history_random(void **state)
{
    static struct rb b;
    char dir[64], cmd[96];

    (void)state;
    for (int i = 0; i < 40; i++) {
        snprintf(dir, sizeof(dir), "/tmp/follow_test.XXXXXX");
        assert_non_null(mkdtemp(dir));
        rb_run(&b, dir);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_publish_to_all),
        cmocka_unit_test(test_follow_commit_begin_end),
        cmocka_unit_test(test_follow_unsubscribe_in_callback),
        cmocka_unit_test(test_follow_stage_cap),
        cmocka_unit_test(test_follow_stage_before_subscribe),
        cmocka_unit_test(test_follow_stage_mem_without_subscribers),
        cmocka_unit_test(test_follow_keys),
        cmocka_unit_test(test_follow_recv_clock),
        cmocka_unit_test(test_follow_history_boundary),
        cmocka_unit_test(test_follow_history_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
