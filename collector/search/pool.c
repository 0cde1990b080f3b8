/* SPDX-License-Identifier: MIT */
/*
 * pool: a fixed set of worker threads over one bounded FIFO of jobs; the
 * done list is handed back to the owner thread through a self-pipe (one
 * byte while the list is non-empty and not yet seen). See pool.h.
 */
#include "collector/search/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmalloc.h"

struct pool {
    pthread_mutex_t  mu;
    pthread_cond_t   cv;
    pthread_t        th[POOL_MAX_THREADS];
    struct pool_job *cur[POOL_MAX_THREADS];     /* running, by worker */
    unsigned         n_threads;
    struct pool_job *q_head, *q_tail;
    size_t           n_queued, max_queued;
    struct pool_job *done_head, *done_tail;
    int              is_signalled;              /* a byte is in the pipe */
    int              is_stop;
    int              fds[2];
};

struct pool_worker {
    struct pool *p;
    unsigned     idx;
};

static void
pool_push_done(struct pool *p, struct pool_job *j)
{
    j->next = NULL;
    if (p->done_tail)
        p->done_tail->next = j;
    else
        p->done_head = j;
    p->done_tail = j;
    if (!p->is_signalled) {
        p->is_signalled = 1;
        ssize_t n;
        do
            n = write(p->fds[1], "x", 1);
        while (n < 0 && errno == EINTR);
    }
}

static void *
pool_main(void *arg)
{
    struct pool_worker *w = arg;
    struct pool *p = w->p;
    unsigned idx = w->idx;

    free(w);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->q_head && !p->is_stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->q_head)
            break;
        struct pool_job *j = p->q_head;
        p->q_head = j->next;
        if (!p->q_head)
            p->q_tail = NULL;
        p->n_queued--;
        p->cur[idx] = j;
        pthread_mutex_unlock(&p->mu);
        j->is_run = !pool_is_cancelled(j);
        if (j->is_run)
            j->run(j);
        pthread_mutex_lock(&p->mu);
        p->cur[idx] = NULL;
        pool_push_done(p, j);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct pool *
pool_new(unsigned n_threads, size_t max_queued, char **errstr)
{
    struct pool *p = xcalloc(1, sizeof(*p));

    if (n_threads < 1 || n_threads > POOL_MAX_THREADS) {
        *errstr = xasprintf("query threads must be 1..%d", POOL_MAX_THREADS);
        free(p);
        return NULL;
    }
    p->max_queued = max_queued;
    if (pipe2(p->fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        *errstr = xasprintf("pipe: %s", strerror(errno));
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (unsigned i = 0; i < n_threads; i++) {
        struct pool_worker *w = xcalloc(1, sizeof(*w));
        w->p = p;
        w->idx = i;
        int rc = pthread_create(&p->th[i], NULL, pool_main, w);
        if (rc != 0) {
            free(w);
            *errstr = xasprintf("pthread_create: %s", strerror(rc));
            pool_free(p);
            return NULL;
        }
        p->n_threads++;
    }
    return p;
}

void
pool_set_name(struct pool *p, const char *name)
{
    for (unsigned i = 0; i < p->n_threads; i++)
        (void)pthread_setname_np(p->th[i], name);
}

int
pool_fd(const struct pool *p)
{
    return p->fds[0];
}

int
pool_submit(struct pool *p, struct pool_job *j)
{
    pthread_mutex_lock(&p->mu);
    if (p->is_stop || p->n_queued >= p->max_queued) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    __atomic_store_n(&j->is_cancel, 0, __ATOMIC_RELAXED);
    j->is_run = 0;
    j->next = NULL;
    if (p->q_tail)
        p->q_tail->next = j;
    else
        p->q_head = j;
    p->q_tail = j;
    p->n_queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void
pool_cancel(struct pool_job *j)
{
    __atomic_store_n(&j->is_cancel, 1, __ATOMIC_RELAXED);
}

int
pool_is_cancelled(const struct pool_job *j)
{
    return __atomic_load_n(&j->is_cancel, __ATOMIC_RELAXED);
}

void
pool_drain(struct pool *p)
{
    char b[64];

    /* the byte first: a job finished after the list is taken below
     * writes a new one */
    while (read(p->fds[0], b, sizeof(b)) > 0)
        ;
    pthread_mutex_lock(&p->mu);
    struct pool_job *j = p->done_head;
    p->done_head = p->done_tail = NULL;
    p->is_signalled = 0;
    pthread_mutex_unlock(&p->mu);
    while (j) {
        struct pool_job *next = j->next;
        j->next = NULL;
        j->done(j, j->is_run);
        j = next;
    }
}

void
pool_free(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->is_stop = 1;
    /* queued jobs never run: straight to the done list */
    while (p->q_head) {
        struct pool_job *j = p->q_head;
        p->q_head = j->next;
        pool_cancel(j);
        j->is_run = 0;
        pool_push_done(p, j);
    }
    p->q_tail = NULL;
    p->n_queued = 0;
    for (unsigned i = 0; i < p->n_threads; i++)
        if (p->cur[i])
            pool_cancel(p->cur[i]);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->th[i], NULL);
    /* Done callbacks may submit again: refused (is_stop), so this ends. */
    pool_drain(p);
    close(p->fds[0]);
    close(p->fds[1]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
