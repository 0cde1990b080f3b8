/* SPDX-License-Identifier: MIT */
/*
 * ingest_jobs: data frames (BATCH, METRICS) handed to the decoding thread
 * and back, in order (ingest.c "Decoding off the loop"; the decoding
 * itself is ingest_dec.c). INGEST_DEC_JOBS jobs in all, on a free list;
 * each connection holds its jobs in a FIFO in frame order (at most
 * INGEST_CONN_JOBS) and stores their results from its head only, so the
 * seq check, the store's order and the ACK rule are those of an inline
 * decode. A connection that finds no free job waits in a FIFO of
 * connections and is resumed from the loop (kick_ev) when one is put
 * back. Jobs of a connection that went keep its struct until the last
 * comes back; their frames are dropped, never acknowledged.
 */
#include "collector/ingest/ingest_internal.h"

#include <stdlib.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "collector/ingest/ingest_dec.h"
#include "collector/search/pool.h"

/* Back on the free list; a connection waiting for it is resumed from the
 * loop (kick_ev), never from inside another connection's processing. */
void
ingest_jobs_put(struct ingest *ing, struct ingest_job *j)
{
    struct ingest_conn *c = j->c;

    TAILQ_REMOVE(&c->jobs, j, entry);
    c->n_jobs--;
    ingest_dec_release(&j->d);
    j->c = NULL;
    TAILQ_INSERT_TAIL(&ing->free_jobs, j, entry);
    if (!TAILQ_EMPTY(&ing->waiting) && !ing->is_freeing)
        event_active(ing->kick_ev, 0, 0);
}

/* On the decoding thread. */
static void
ingest_job_run(struct pool_job *pj)
{
    struct ingest_job *j = pj->arg;

    ingest_dec_run(&j->d);
}

/* A decoded frame, in its connection's frame order. */
static int
ingest_job_store(struct ingest_conn *c, struct ingest_job *j)
{
    struct ingest_dec *d = &j->d;

    if (d->rc == INGEST_DEC_BAD_PAYLOAD) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad payload", d->err);
        return -1;
    }
    if (d->rc == INGEST_DEC_BAD_BATCH) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad BATCH payload", d->err);
        return -1;
    }
    if (d->type == WIRE_BATCH)
        return ingest_batch_store(c, &d->batch);
    return ingest_batch_metrics(c, d->p, d->len);
}

/* Stores c's decoded frames from the head of its FIFO; drops them once c
 * is closing or the collector is shutting down. Held while the store is
 * failing: they go in when reading resumes. */
void
ingest_jobs_deliver(struct ingest_conn *c)
{
    struct ingest *ing = c->ing;
    struct ingest_job *j;

    while ((j = TAILQ_FIRST(&c->jobs)) != NULL && j->is_done) {
        if (c->state == INGEST_READY && j->is_run && !ing->is_shutdown) {
            if (ingest_is_holding(ing))
                return;         /* resumed when the commit ends */
            (void)ingest_job_store(c, j);
        }
        ingest_jobs_put(ing, j);
    }
}

/* On the loop, from pool_drain (or pool_free at the end). */
static void
ingest_job_done(struct pool_job *pj, int is_run)
{
    struct ingest_job *j = pj->arg;
    struct ingest_conn *c = j->c;

    j->is_done = 1;
    j->is_run = is_run;
    if (c->is_gone) {
        ingest_jobs_put(c->ing, j);
        if (c->n_jobs == 0)
            free(c);
        return;
    }
    if (!c->ing->is_freeing)
        ingest_conn_process(c);
}

void
ingest_jobs_drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;

    pool_drain(ing->dec);
}

/* Connections that waited for a free job, in the order they began to. */
void
ingest_jobs_kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;
    struct ingest_conn *c;

    while (!TAILQ_EMPTY(&ing->free_jobs) &&
           (c = TAILQ_FIRST(&ing->waiting)) != NULL) {
        TAILQ_REMOVE(&ing->waiting, c, wait_entry);
        c->is_waiting = 0;
        ingest_conn_process(c);
    }
}

/* 1 if c may take another frame off its input now. */
int
ingest_jobs_may_take(struct ingest_conn *c)
{
    struct ingest *ing = c->ing;

    if (c->state != INGEST_READY)
        return 1;               /* handshake frames: no job */
    if (ingest_is_holding(ing) || c->n_jobs >= INGEST_CONN_JOBS)
        return 0;               /* resumed by reading / its own jobs /
                                   the commit's end */
    if (!TAILQ_EMPTY(&ing->free_jobs))
        return 1;
    if (!c->is_waiting) {
        c->is_waiting = 1;
        TAILQ_INSERT_TAIL(&ing->waiting, c, wait_entry);
    }
    return 0;
}

/* Hands the frame to the decoding thread (a free job is there:
 * ingest_jobs_may_take). */
int
ingest_jobs_submit(struct ingest_conn *c, const struct wire_frame *f)
{
    struct ingest *ing = c->ing;
    struct ingest_job *j = TAILQ_FIRST(&ing->free_jobs);

    if (j == NULL || ingest_dec_set(&j->d, f) < 0) {
        ingest_conn_close(c, WIRE_ERR_BUSY, "collector error");
        return -1;
    }
    TAILQ_REMOVE(&ing->free_jobs, j, entry);
    j->c = c;
    j->is_done = 0;
    j->is_run = 0;
    j->d.pj.run = ingest_job_run;
    j->d.pj.done = ingest_job_done;
    j->d.pj.arg = j;
    TAILQ_INSERT_TAIL(&c->jobs, j, entry);
    c->n_jobs++;
    if (pool_submit(ing->dec, &j->d.pj) < 0) {
        /* cannot happen (the pool queues INGEST_DEC_JOBS): inline */
        ingest_dec_run(&j->d);
        j->is_done = 1;
        j->is_run = 1;
        ingest_jobs_deliver(c);
    }
    return 0;
}
