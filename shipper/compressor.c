/* SPDX-License-Identifier: MIT */
/*
 * compressor: see compressor.h. One mutex guards a FIFO of jobs to do and a
 * FIFO of jobs done; workers wait on a condition variable. A worker that
 * makes the done list non-empty writes one byte to a non-blocking pipe,
 * after releasing the mutex (written under it, the loop it woke blocked on
 * the mutex: 1.1-1.7 s of a 13-21 s bench ingest at load 5-12); the loop's
 * read event drains the pipe first and then takes the whole done list, so
 * a byte written after the drain (or after the loop took the job it
 * announces) only causes one spare wakeup and no finished job is ever left
 * without one. Workers block all signals
 * (libevent's evsignal handles them on the loop thread). Compressor state
 * is per thread in common/compress.c, so workers share nothing else.
 */
#include "shipper/compressor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/xmalloc.h"

struct compressor_list {
    struct compressor_job *head;
    struct compressor_job *tail;
};

struct compressor {
    struct event_base     *base;
    compressor_done_fn     done_cb;
    void                  *cb_arg;
    int                    n_threads;
    int                    n_started;
    pthread_t              threads[COMPRESSOR_MAX_THREADS];
    int                    has_sync;
    pthread_mutex_t        mu;
    pthread_cond_t         cv;
    int                    is_stopping;     /* under mu */
    struct compressor_list todo;            /* under mu */
    struct compressor_list done;            /* under mu */
    size_t                 n_pending;       /* loop thread only */
    int                    pipe_fd[2];
    struct event          *done_ev;
};

/* ---- helpers ---- */

static void
compressor_push(struct compressor_list *l, struct compressor_job *j)
{
    j->next = NULL;
    if (l->tail != NULL)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static struct compressor_job *
compressor_pop(struct compressor_list *l)
{
    struct compressor_job *j = l->head;

    if (j != NULL) {
        l->head = j->next;
        if (l->head == NULL)
            l->tail = NULL;
        j->next = NULL;
    }
    return j;
}

static void
compressor_run(struct compressor_job *j)
{
    if (j->kind == COMPRESSOR_BATCH) {
        j->rc = wire_batch_enc_finish_codec(j->enc, j->seq, j->out,
                                            &j->codec);
        return;
    }
    struct buf scratch;
    const char *err;

    buf_init(&scratch, WIRE_MAX_INFLATED);
    j->rc = compressor_reseq(j->frame->data, j->frame->len, j->seq,
                             &j->codec, &scratch, j->out, &err);
    buf_fini(&scratch);
}

static void
compressor_notify(struct compressor *c)
{
    const char b = 1;

    /* EAGAIN: the pipe is full of wakeups already. */
    while (write(c->pipe_fd[1], &b, 1) < 0 && errno == EINTR)
        continue;
}

static void *
compressor_main(void *arg)
{
    struct compressor *c = arg;

    (void)pthread_setname_np(pthread_self(), "logq-deflate");  /* top -H */
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->todo.head == NULL && !c->is_stopping)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->is_stopping)
            break;
        struct compressor_job *j = compressor_pop(&c->todo);
        pthread_mutex_unlock(&c->mu);
        compressor_run(j);
        pthread_mutex_lock(&c->mu);
        int was_empty = c->done.head == NULL;
        compressor_push(&c->done, j);
        if (was_empty) {
            /* outside the lock: the write wakes the loop, which takes
             * the lock at once in compressor_done_cb */
            pthread_mutex_unlock(&c->mu);
            compressor_notify(c);
            pthread_mutex_lock(&c->mu);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ---- event callback ---- */

static void
compressor_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct compressor *c = arg;
    char drain[64];

    while (read(c->pipe_fd[0], drain, sizeof(drain)) > 0)
        continue;
    pthread_mutex_lock(&c->mu);
    struct compressor_list l = c->done;
    c->done.head = c->done.tail = NULL;
    pthread_mutex_unlock(&c->mu);
    struct compressor_job *j;
    while ((j = compressor_pop(&l)) != NULL) {
        c->n_pending--;
        c->done_cb(c->cb_arg, j);
    }
}

/* ---- setup ---- */

static int
compressor_start_threads(struct compressor *c)
{
    sigset_t all, old;
    int rc = 0;

    sigfillset(&all);
    if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
        return -1;
    for (int i = 0; i < c->n_threads && rc == 0; i++) {
        if (pthread_create(&c->threads[i], NULL, compressor_main, c) != 0)
            rc = -1;
        else
            c->n_started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- public API ---- */

struct compressor *
compressor_new(struct event_base *base, int n_threads,
               compressor_done_fn done, void *arg)
{
    if (n_threads < 0 || n_threads > COMPRESSOR_MAX_THREADS)
        return NULL;
    struct compressor *c = xcalloc(1, sizeof(*c));

    c->base = base;
    c->done_cb = done;
    c->cb_arg = arg;
    c->n_threads = n_threads;
    c->pipe_fd[0] = c->pipe_fd[1] = -1;
    if (n_threads == 0)
        return c;
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        goto fail;
    }
    c->has_sync = 1;
    if (pipe2(c->pipe_fd, O_NONBLOCK | O_CLOEXEC) < 0)
        goto fail;
    c->done_ev = event_new(base, c->pipe_fd[0], EV_READ | EV_PERSIST,
                           compressor_done_cb, c);
    if (c->done_ev == NULL || event_add(c->done_ev, NULL) < 0)
        goto fail;
    if (compressor_start_threads(c) < 0)
        goto fail;
    return c;
fail:
    compressor_free(c);
    return NULL;
}

void
compressor_free(struct compressor *c)
{
    if (c == NULL)
        return;
    if (c->has_sync) {
        pthread_mutex_lock(&c->mu);
        c->is_stopping = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    for (int i = 0; i < c->n_started; i++)
        pthread_join(c->threads[i], NULL);
    if (c->done_ev != NULL)
        event_free(c->done_ev);
    for (int i = 0; i < 2; i++) {
        if (c->pipe_fd[i] >= 0)
            close(c->pipe_fd[i]);
    }
    if (c->has_sync) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
    }
    free(c);
}

void
compressor_submit(struct compressor *c, struct compressor_job *job)
{
    c->n_pending++;
    if (c->n_threads == 0) {
        compressor_run(job);
        c->n_pending--;
        c->done_cb(c->cb_arg, job);
        return;
    }
    pthread_mutex_lock(&c->mu);
    compressor_push(&c->todo, job);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

size_t
compressor_pending(const struct compressor *c)
{
    return c->n_pending;
}

int
compressor_reseq(const uint8_t *frame, size_t len, uint64_t seq,
                 const struct wire_codec *codec, struct buf *scratch,
                 struct buf *out, const char **errstr)
{
    struct wire_frame f;
    size_t used;
    const uint8_t *p;
    size_t plen;

    *errstr = "encode failed";
    if (wire_frame_decode(frame, len, &f, &used, errstr) != 1 ||
        wire_frame_payload(&f, scratch, &p, &plen, errstr) < 0)
        return -1;
    if (used != len || plen < 8) {
        *errstr = "not a whole frame with a seq";
        return -1;
    }
    if (p != scratch->data) {           /* stored: copy, never patch input */
        buf_reset(scratch);
        if (buf_append(scratch, p, plen) < 0)
            return -1;
    }
    le64_store(scratch->data, seq);
    return wire_frame_encode_codec(out, f.type, scratch->data, plen, codec);
}
