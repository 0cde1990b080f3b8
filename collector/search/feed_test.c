/* SPDX-License-Identifier: MIT */
/*
 * feed_test: a follower's live records handed from the loop to a worker
 * (feed.c). Against a model: every record pushed and accepted reaches the
 * job's callback exactly once, in push order, whatever the interleaving
 * of pushes, takes and steps of random sizes (including steps the
 * callback ends early); a full live batch refuses, never loses what it
 * holds. Then the real hand-off: several followers, each one job at a
 * time on a pool of workers while the owner thread keeps pushing (run
 * under MODE=tsan too).
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/feed.h"
#include "collector/search/pool.h"
#include "common/xmalloc.h"

/* A record whose offset is its sequence number. */
static void
rec_of(struct logrec *r, char *msg, size_t msg_max, uint64_t seq)
{
    int n = snprintf(msg, msg_max, "line %llu %s", (unsigned long long)seq,
                     seq % 3 == 0 ? "match" : "other");
    *r = (struct logrec){
        .time_ns = (int64_t)(1000 - seq % 7), .host = "h1",
        .container_id = "c1", .container = "web", .image = "img",
        .offset = seq, .msg = msg, .msg_len = (size_t)n,
    };
}

struct seen {
    uint64_t *v;
    size_t    n, cap;
    int       stop_every;   /* end the step after every k-th record */
    int       only_match;   /* keep records with "match" only */
};

static int
seen_cb(const struct logrec *r, void *arg)
{
    struct seen *s = arg;
    char m[64];

    assert_true(r->msg_len < sizeof(m));
    memcpy(m, r->msg, r->msg_len);
    m[r->msg_len] = '\0';
    assert_string_equal(r->host, "h1");
    assert_string_equal(r->container, "web");
    if (!s->only_match || strstr(m, "match") != NULL) {
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 256;
            s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
        }
        s->v[s->n++] = r->offset;
    }
    return s->stop_every > 0 && s->n % (size_t)s->stop_every == 0;
}

static void
test_feed_model_random(void **state)
{
    char msg[64];
    struct logrec r;

    srand(4242);
    for (int round = 0; round < 200; round++) {
        struct feed f;
        struct seen s = { .stop_every = rand() % 4 };
        size_t max_records = 1 + (size_t)(rand() % 40);
        uint64_t *want = xcalloc(4000, sizeof(*want));
        size_t n_want = 0, n_refused = 0;
        uint64_t seq = 0;
        int is_running = 0;

        feed_init(&f, 64 + (size_t)(rand() % 4096), max_records);
        for (int op = 0; op < 400; op++) {
            int what = rand() % 3;
            if (what == 0) {                    /* the loop pushes */
                size_t live_n = f.live.n;
                rec_of(&r, msg, sizeof(msg), ++seq);
                if (feed_push(&f, &r) == 0) {
                    want[n_want++] = seq;
                } else {                        /* full: nothing lost */
                    assert_int_equal(f.live.n, live_n);
                    n_refused++;
                }
            } else if (what == 1 && !is_running) {
                is_running = feed_take(&f);     /* a job is submitted */
            } else if (is_running) {            /* a step of the job */
                is_running = feed_run(&f, 1 + (size_t)(rand() % 8),
                                      seen_cb, &s);
                /* the job may also end early (slice full) */
                if (is_running && rand() % 4 == 0)
                    is_running = 0;
            }
        }
        while (feed_take(&f))                   /* the rest, in order */
            while (feed_run(&f, 5, seen_cb, &s))
                ;
        assert_int_equal(feed_n_waiting(&f), 0);
        assert_int_equal(s.n, n_want);
        for (size_t i = 0; i < n_want; i++)
            assert_int_equal(s.v[i], want[i]);
        (void)n_refused;
        feed_fini(&f);
        free(want);
        free(s.v);
    }
}

static void
test_feed_full_refuses(void **state)
{
    struct feed f;
    struct seen s = { 0 };
    char msg[64];
    struct logrec r;

    feed_init(&f, 1 << 20, 3);
    for (uint64_t i = 1; i <= 3; i++) {
        rec_of(&r, msg, sizeof(msg), i);
        assert_int_equal(feed_push(&f, &r), 0);
    }
    rec_of(&r, msg, sizeof(msg), 4);
    assert_int_equal(feed_push(&f, &r), -1);
    assert_int_equal(feed_n_waiting(&f), 3);
    assert_int_equal(feed_take(&f), 1);
    /* the taken batch frees the live one: the loop may push again */
    assert_int_equal(feed_push(&f, &r), 0);
    assert_int_equal(feed_run(&f, 100, seen_cb, &s), 0);
    assert_int_equal(feed_take(&f), 1);
    assert_int_equal(feed_run(&f, 100, seen_cb, &s), 0);
    assert_int_equal(feed_take(&f), 0);
    assert_int_equal(s.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(s.v[i], i + 1);
    /* by bytes: one record too big for the batch is refused */
    feed_fini(&f);
    feed_init(&f, 16, 100);
    rec_of(&r, msg, sizeof(msg), 1);
    assert_int_equal(feed_push(&f, &r), -1);
    assert_int_equal(feed_n_waiting(&f), 0);
    feed_fini(&f);
    free(s.v);
}

/* ---- the real hand-off on a pool ---- */

#define N_FOLLOWERS 6
#define N_RECORDS   20000

struct follower {
    struct feed     feed;
    struct pool_job job;
    struct seen     seen;
    int             is_busy;
    int             n_jobs;
};

static void
follower_run(struct pool_job *j)
{
    struct follower *fl = j->arg;

    /* a few bounded steps, like api_follow.c's slice */
    for (int i = 0; i < 4; i++)
        if (!feed_run(&fl->feed, 7, seen_cb, &fl->seen))
            break;
}

static void
follower_kick(struct pool *p, struct follower *fl)
{
    if (fl->is_busy || !feed_take(&fl->feed))
        return;
    assert_int_equal(pool_submit(p, &fl->job), 0);
    fl->is_busy = 1;
    fl->n_jobs++;
}

static struct pool *the_pool;

static void
follower_done(struct pool_job *j, int is_run)
{
    struct follower *fl = j->arg;

    assert_true(is_run);
    fl->is_busy = 0;
    follower_kick(the_pool, fl);
}

static int
all_idle(struct follower *fl)
{
    for (int i = 0; i < N_FOLLOWERS; i++)
        if (fl[i].is_busy || feed_n_waiting(&fl[i].feed) > 0)
            return 0;
    return 1;
}

static void
test_feed_pool_handoff(void **state)
{
    struct follower *fl = xcalloc(N_FOLLOWERS, sizeof(*fl));
    char *err = NULL, msg[64];
    struct logrec r;

    the_pool = pool_new(3, N_FOLLOWERS, &err);
    assert_non_null(the_pool);
    for (int i = 0; i < N_FOLLOWERS; i++) {
        feed_init(&fl[i].feed, 1 << 20, 1 << 20);
        fl[i].job = (struct pool_job){ .run = follower_run,
                                       .done = follower_done,
                                       .arg = &fl[i] };
        fl[i].seen.only_match = i % 2;
        fl[i].seen.stop_every = i % 3;
    }
    struct pollfd pfd = { .fd = pool_fd(the_pool), .events = POLLIN };
    for (uint64_t seq = 1; seq <= N_RECORDS; ) {
        /* a publish round of 1..50 records, then the flush kicks */
        for (int k = 1 + rand() % 50; k > 0 && seq <= N_RECORDS; k--) {
            rec_of(&r, msg, sizeof(msg), seq++);
            for (int i = 0; i < N_FOLLOWERS; i++)
                assert_int_equal(feed_push(&fl[i].feed, &r), 0);
        }
        for (int i = 0; i < N_FOLLOWERS; i++)
            follower_kick(the_pool, &fl[i]);
        if (poll(&pfd, 1, 0) > 0)
            pool_drain(the_pool);
    }
    for (int t = 0; t < 10000 && !all_idle(fl); t++) {
        if (poll(&pfd, 1, 1) > 0)
            pool_drain(the_pool);
    }
    assert_true(all_idle(fl));
    for (int i = 0; i < N_FOLLOWERS; i++) {
        struct seen *s = &fl[i].seen;
        uint64_t want = 0;
        for (size_t k = 0; k < s->n; k++) {
            do
                want++;
            while (s->only_match && want % 3 != 0);
            assert_int_equal(s->v[k], want);
        }
        assert_int_equal(s->n, s->only_match ? N_RECORDS / 3 : N_RECORDS);
        assert_true(fl[i].n_jobs > 1);
        feed_fini(&fl[i].feed);
        free(s->v);
    }
    pool_free(the_pool);
    free(fl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_model_random),
        cmocka_unit_test(test_feed_full_refuses),
        cmocka_unit_test(test_feed_pool_handoff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
