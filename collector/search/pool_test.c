/* SPDX-License-Identifier: MIT */
/*
 * pool_test: the query worker pool. Every job's done callback runs once
 * on the owner thread; a full queue refuses; a cancelled running job
 * stops promptly and a cancelled queued one never runs; freeing the pool
 * with work running and queued cancels it, calls every done callback and
 * leaks nothing (ASan); MODE=tsan checks the hand-offs.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/search/pool.h"
#include "common/xmalloc.h"

struct tjob {
    struct pool_job job;
    int             is_block;   /* spin until cancelled (or 60 s) */
    int             started;    /* atomic */
    int             saw_cancel;
    int             n_done, last_is_run;
    int            *n_freed;    /* free in done when set */
};

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
tjob_run(struct pool_job *j)
{
    struct tjob *t = j->arg;
    int64_t end = mono_ms() + 60000;

    __atomic_store_n(&t->started, 1, __ATOMIC_RELEASE);
    while (t->is_block && !pool_is_cancelled(j) && mono_ms() < end)
        usleep(1000);
    t->saw_cancel = pool_is_cancelled(j);
}

static void
tjob_done(struct pool_job *j, int is_run)
{
    struct tjob *t = j->arg;

    t->n_done++;
    t->last_is_run = is_run;
    if (t->n_freed) {
        (*t->n_freed)++;
        free(t);
    }
}

static struct tjob *
tjob_new(int is_block, int *n_freed)
{
    struct tjob *t = xcalloc(1, sizeof(*t));
    t->job.run = tjob_run;
    t->job.done = tjob_done;
    t->job.arg = t;
    t->is_block = is_block;
    t->n_freed = n_freed;
    return t;
}

/* Drains until pred(arg) or 30 s (a blocking job that is never
 * cancelled spins for 60 s: the bounds below tell the two apart however
 * slow this machine, TSan and a loaded 2-core CI included). */
static int
drain_until(struct pool *p, int (*pred)(void *), void *arg)
{
    int64_t end = mono_ms() + 30000;

    while (!pred(arg) && mono_ms() < end) {
        struct pollfd pfd = { .fd = pool_fd(p), .events = POLLIN };
        if (poll(&pfd, 1, 50) > 0)
            pool_drain(p);
    }
    return pred(arg);
}

static int
all_done(void *arg)
{
    struct tjob **ts = arg;
    for (size_t i = 0; ts[i]; i++)
        if (ts[i]->n_done != 1)
            return 0;
    return 1;
}

static void
wait_started(struct tjob *t)
{
    for (int k = 0; k < 30000 && !__atomic_load_n(&t->started,
                                                 __ATOMIC_ACQUIRE); k++)
        usleep(1000);
    assert_true(__atomic_load_n(&t->started, __ATOMIC_ACQUIRE));
}

static void
test_pool_runs_all(void **state)
{
    (void)state;
    char *err = NULL;
    struct pool *p = pool_new(3, 16, &err);
    struct tjob *ts[17] = { 0 };

    assert_non_null(p);
    for (int i = 0; i < 16; i++) {
        ts[i] = tjob_new(0, NULL);
        assert_int_equal(pool_submit(p, &ts[i]->job), 0);
    }
    assert_true(drain_until(p, all_done, ts));
    for (int i = 0; i < 16; i++) {
        assert_int_equal(ts[i]->last_is_run, 1);
        free(ts[i]);
    }
    pool_free(p);
    assert_null(pool_new(0, 1, &err));
    free(err);
}

static void
test_pool_queue_full(void **state)
{
    (void)state;
    char *err = NULL;
    struct pool *p = pool_new(1, 2, &err);
    struct tjob *ts[5] = { 0 };

    ts[0] = tjob_new(1, NULL);
    assert_int_equal(pool_submit(p, &ts[0]->job), 0);
    wait_started(ts[0]);        /* running: not in the queue */
    ts[1] = tjob_new(0, NULL);
    ts[2] = tjob_new(0, NULL);
    ts[3] = tjob_new(0, NULL);
    assert_int_equal(pool_submit(p, &ts[1]->job), 0);
    assert_int_equal(pool_submit(p, &ts[2]->job), 0);
    assert_int_equal(pool_submit(p, &ts[3]->job), -1);   /* full */
    pool_cancel(&ts[0]->job);
    ts[3]->n_done = 1;          /* never submitted */
    assert_true(drain_until(p, all_done, ts));
    assert_int_equal(ts[1]->last_is_run, 1);
    for (int i = 0; i < 4; i++)
        free(ts[i]);
    pool_free(p);
}

static void
test_pool_cancel(void **state)
{
    (void)state;
    char *err = NULL;
    struct pool *p = pool_new(1, 4, &err);
    struct tjob *ts[3] = { 0 };

    ts[0] = tjob_new(1, NULL);
    ts[1] = tjob_new(0, NULL);
    assert_int_equal(pool_submit(p, &ts[0]->job), 0);
    assert_int_equal(pool_submit(p, &ts[1]->job), 0);
    wait_started(ts[0]);
    int64_t t0 = mono_ms();
    pool_cancel(&ts[1]->job);   /* queued: never runs */
    pool_cancel(&ts[0]->job);   /* running: stops */
    assert_true(drain_until(p, all_done, ts));
    assert_true(mono_ms() - t0 < 30000);     /* not the job's 60 s */
    assert_int_equal(ts[0]->last_is_run, 1);
    assert_int_equal(ts[0]->saw_cancel, 1);
    assert_int_equal(ts[1]->last_is_run, 0);
    assert_int_equal(ts[1]->started, 0);
    /* a job may be submitted again once done */
    ts[0]->is_block = 0;
    assert_int_equal(pool_submit(p, &ts[0]->job), 0);
    struct tjob *one[2] = { ts[0], NULL };
    ts[0]->n_done = 0;
    assert_true(drain_until(p, all_done, one));
    assert_int_equal(ts[0]->saw_cancel, 0);
    free(ts[0]);
    free(ts[1]);
    pool_free(p);
}

static void
test_pool_free_in_flight(void **state)
{
    (void)state;
    char *err = NULL;
    struct pool *p = pool_new(2, 8, &err);
    int n_freed = 0;
    struct tjob *a = tjob_new(1, &n_freed), *b = tjob_new(1, &n_freed);

    assert_int_equal(pool_submit(p, &a->job), 0);
    assert_int_equal(pool_submit(p, &b->job), 0);
    wait_started(a);
    wait_started(b);
    for (int i = 0; i < 5; i++)     /* queued behind two running */
        assert_int_equal(pool_submit(p, &tjob_new(1, &n_freed)->job), 0);
    int64_t t0 = mono_ms();
    pool_free(p);                   /* every done callback frees its job */
    assert_int_equal(n_freed, 7);
    assert_true(mono_ms() - t0 < 30000);     /* not the jobs' 60 s */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_all),
        cmocka_unit_test(test_pool_queue_full),
        cmocka_unit_test(test_pool_cancel),
        cmocka_unit_test(test_pool_free_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
