/* SPDX-License-Identifier: MIT */
/*
 * feed_test: a follower's live records handed from the loop to a worker
 * (feed.c). Against a model: every record pushed and accepted reaches the
 * job's callback exactly once, in push order, whatever the interleaving
 * of pushes, takes and steps of random sizes (including steps the
 * callback ends early); a full live batch refuses, never loses what it
 * holds. Several feeds sharing a byte budget, against a model of what
 * each holds: the budget never passes its cap, counts exactly the bytes
 * held, refuses exactly the pushes that would pass it (before a full
 * batch), names the feed with the most live bytes, and gets every byte
 * back when a batch is read, released or finied. Then the real hand-off: several followers, each one job at a
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

        feed_init(&f, 64 + (size_t)(rand() % 4096), max_records, NULL, NULL);
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

    feed_init(&f, 1 << 20, 3, NULL, NULL);
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
    feed_init(&f, 16, 100, NULL, NULL);
    rec_of(&r, msg, sizeof(msg), 1);
    assert_int_equal(feed_push(&f, &r), -1);
    assert_int_equal(feed_n_waiting(&f), 0);
    feed_fini(&f);
    free(s.v);
}

/* ---- a byte budget shared by several feeds, against a model ---- */

#define N_SHARED 4

/* The model of one feed: bytes and records of its batches. */
struct mfeed {
    size_t live_bytes, live_n;      /* charged: recbuf_cost */
    size_t live_data;               /* data bytes: recbuf_size */
    size_t work_bytes, work_n, work_next;
    int    is_running;              /* a job holds the work batch */
    int    is_open;
};

static size_t
model_used(const struct mfeed *m)
{
    size_t used = 0;

    for (int i = 0; i < N_SHARED; i++)
        used += m[i].live_bytes + m[i].work_bytes;
    return used;
}

/* feed_record_fn: counts every record. */
static int
count_all_cb(const struct logrec *r, void *arg)
{
    (*(size_t *)arg)++;
    return 0;
}

/* feed_record_fn: counts; ends the step at random. */
static int
count_cb(const struct logrec *r, void *arg)
{
    size_t *n = arg;

    assert_string_equal(r->container, "web");
    (*n)++;
    return rand() % 4 == 0;
}

static void
test_feed_budget_model(void **state)
{
    struct feed f[N_SHARED];
    struct mfeed m[N_SHARED];
    struct feed_budget b;
    char msg[256];
    uint64_t seq = 0;
    size_t n_budget = 0, n_full = 0, n_largest = 0;

    srand(777);
    for (int round = 0; round < 50; round++) {
        size_t batch_max = 200 + (size_t)(rand() % 2000);
        size_t max_records = 1 + (size_t)(rand() % 30);
        feed_budget_init(&b, 100 + (size_t)(rand() % 3000));
        memset(m, 0, sizeof(m));
        for (int i = 0; i < N_SHARED; i++) {
            feed_init(&f[i], batch_max, max_records, &b, &m[i]);
            m[i].is_open = 1;
        }
        for (int op = 0; op < 2000; op++) {
            int i = rand() % N_SHARED, what = rand() % 10;
            struct mfeed *mi = &m[i];
            if (!mi->is_open) {                 /* a new follower */
                feed_init(&f[i], batch_max, max_records, &b, mi);
                memset(mi, 0, sizeof(*mi));
                mi->is_open = 1;
            } else if (what < 5) {              /* the loop pushes */
                struct logrec r;
                seq++;
                int n = snprintf(msg, sizeof(msg), "line %llu %.*s",
                                 (unsigned long long)seq,
                                 (int)(seq * 7 % 150), "xxxxxxxxxxxxxxxxxx"
                                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                 "xxxxxxxxxxxxxxxxxxxxxxxxxx");
                r = (struct logrec){ .time_ns = 1, .host = "h1",
                                     .container_id = "c1",
                                     .container = "web", .image = "img",
                                     .offset = seq, .msg = msg,
                                     .msg_len = (size_t)n };
                size_t size = 3 + 3 + 4 + 4 + (size_t)n;
                size_t cost = recbuf_cost(&r);
                assert_true(cost > size);   /* the entry is charged */
                int want = model_used(m) + cost > b.max_bytes ? FEED_BUDGET
                           : mi->live_n == max_records ||
                             mi->live_data + size > batch_max ? FEED_FULL
                           : 0;
                assert_int_equal(feed_push(&f[i], &r), want);
                if (want == 0) {
                    mi->live_bytes += cost;
                    mi->live_data += size;
                    mi->live_n++;
                }
                n_budget += want == FEED_BUDGET;
                n_full += want == FEED_FULL;
            } else if (what < 7 && !mi->is_running) {   /* a take */
                int has;
                if (mi->work_next == mi->work_n) {
                    mi->work_bytes = mi->work_n = mi->work_next = 0;
                    if (mi->live_n > 0) {
                        mi->work_bytes = mi->live_bytes;
                        mi->work_n = mi->live_n;
                        mi->live_bytes = mi->live_n = mi->live_data = 0;
                    }
                }
                has = mi->work_next < mi->work_n;
                assert_int_equal(feed_take(&f[i]), has);
                mi->is_running = has;
            } else if (what < 9 && mi->is_running) {    /* a job's step */
                size_t n_read = 0;
                size_t k = 1 + (size_t)(rand() % 5);
                mi->is_running = feed_run(&f[i], k, count_cb, &n_read);
                mi->work_next += n_read;
                assert_int_equal(mi->is_running,
                                 mi->work_next < mi->work_n);
            } else if (what == 9 && !mi->is_running) {  /* dropped */
                struct feed *big = feed_budget_largest(&b);
                size_t most = 0;
                for (int k = 0; k < N_SHARED; k++)
                    if (m[k].is_open && m[k].live_bytes > most)
                        most = m[k].live_bytes;
                if (most == 0) {
                    assert_null(big);
                } else {
                    assert_non_null(big);
                    struct mfeed *mb = big->owner;
                    assert_int_equal(mb->live_bytes, most);
                    if (!mb->is_running && rand() % 2) {
                        feed_fini(big);         /* its client goes */
                        memset(mb, 0, sizeof(*mb));
                    } else {
                        feed_release_live(big); /* dropping it */
                        mb->live_bytes = mb->live_n = mb->live_data = 0;
                    }
                    n_largest++;
                }
            }
            assert_int_equal(b.used, model_used(m));
            assert_true(b.used <= b.max_bytes);
        }
        for (int i = 0; i < N_SHARED; i++)
            if (m[i].is_open)
                feed_fini(&f[i]);
        assert_int_equal(b.used, 0);
        assert_true(TAILQ_EMPTY(&b.feeds));
    }
    /* the model's branches were all taken */
    assert_true(n_budget > 100);
    assert_true(n_full > 100);
    assert_true(n_largest > 100);
}

/* Short lines: the budget counts each copy's entry too, so the records
 * a budget admits take no more memory than it says (charging only
 * their few data bytes let 16384 empty lines into 64 KiB, over 1 MiB of
 * entries). */
static void
test_feed_budget_short_lines(void **state)
{
    struct feed f;
    struct feed_budget b;
    struct logrec r = { .time_ns = 1, .msg = "", .msg_len = 0 };
    size_t n = 0;

    (void)state;
    feed_budget_init(&b, 64 << 10);
    feed_init(&f, 1 << 20, 1 << 20, &b, NULL);
    while (n < (1 << 20) && feed_push(&f, &r) == 0)
        n++;
    assert_int_equal(feed_push(&f, &r), FEED_BUDGET);
    assert_true(n * 64 <= b.max_bytes);    /* an entry is over 64 bytes */
    assert_int_equal(b.used, n * recbuf_cost(&r));
    feed_fini(&f);
    assert_int_equal(b.used, 0);
}

/* A burst's buffers are freed once it is read (or released): an idle
 * follower keeps a few hundred KiB, not two 4 MiB batches. */
static void
test_feed_burst_freed(void **state)
{
    struct feed f;
    char msg[1000];
    struct logrec r = { .time_ns = 1, .msg = msg, .msg_len = sizeof(msg) };
    size_t n_read = 0;

    (void)state;
    memset(msg, 'x', sizeof(msg));
    feed_init(&f, 4 << 20, 65536, NULL, NULL);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(feed_push(&f, &r), 0);
    assert_int_equal(feed_take(&f), 1);         /* the burst is the work */
    for (int i = 0; i < 3000; i++)
        assert_int_equal(feed_push(&f, &r), 0);  /* and the live batch */
    assert_true(recbuf_mem(&f.work) > 2 << 20);
    while (feed_run(&f, 1000, count_all_cb, &n_read))
        ;
    assert_int_equal(n_read, 3000);
    assert_int_equal(feed_take(&f), 1);         /* work read: freed */
    while (feed_run(&f, 1000, count_all_cb, &n_read))
        ;
    assert_int_equal(feed_take(&f), 0);
    assert_true(recbuf_mem(&f.live) + recbuf_mem(&f.work) <= 512 << 10);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(feed_push(&f, &r), 0);
    feed_release_live(&f);                      /* a follower dropped */
    assert_true(recbuf_mem(&f.live) + recbuf_mem(&f.work) <= 512 << 10);
    feed_fini(&f);
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
        feed_init(&fl[i].feed, 1 << 20, 1 << 20, NULL, NULL);
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
        cmocka_unit_test(test_feed_budget_model),
        cmocka_unit_test(test_feed_budget_short_lines),
        cmocka_unit_test(test_feed_burst_freed),
        cmocka_unit_test(test_feed_pool_handoff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
