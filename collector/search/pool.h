/* SPDX-License-Identifier: MIT */
/*
 * pool: the collector's query workers (collector/README.md "Queries off
 * the loop"). N threads take jobs from one bounded FIFO queue; a finished
 * job goes to a done list and the pool's file descriptor becomes readable,
 * so the owner thread (the event loop) calls pool_drain() from a read
 * event and runs each job's done callback there. A job is a struct the
 * caller embeds in its own state (no allocation per job); at most one
 * submission of a job may be outstanding. Cancelling is a flag the run
 * callback polls (pool_is_cancelled) between bounded steps of work.
 *
 * Threads: submit, cancel, drain and free are for the owner thread only;
 * run callbacks run on the workers and must touch only their job's state
 * (and the store through its cursors, STORE.md "Threads").
 */
#ifndef COLLECTOR_SEARCH_POOL_H
#define COLLECTOR_SEARCH_POOL_H

#include <stddef.h>

struct pool;
struct pool_job;

/* On a worker: the job's work. */
typedef void (*pool_run_fn)(struct pool_job *j);
/* On the owner thread (pool_drain or pool_free): the job is over. is_run
 * is 0 when it never ran (cancelled while queued, or the pool was being
 * freed); the job may be submitted again or freed. */
typedef void (*pool_done_fn)(struct pool_job *j, int is_run);

struct pool_job {
    pool_run_fn      run;
    pool_done_fn     done;
    void            *arg;
    /* the pool's */
    int              is_cancel;         /* atomic */
    int              is_run;
    struct pool_job *next;
};

#define POOL_MAX_THREADS 64

/* Starts n_threads workers (1..POOL_MAX_THREADS) with a queue of at most
 * max_queued jobs waiting (running ones not counted). NULL with *errstr
 * (caller frees) on failure. */
struct pool *pool_new(unsigned n_threads, size_t max_queued, char **errstr);
/* Names the workers (at most 15 bytes: top -H, the bench's per-thread
 * CPU). */
void pool_set_name(struct pool *p, const char *name);
/* Readable when done jobs wait for pool_drain (read event, level). */
int  pool_fd(const struct pool *p);
/* Queues j (run, done, arg set by the caller; is_cancel cleared). 0, or
 * -1 when the queue is full (j untouched: the caller answers 503). */
int  pool_submit(struct pool *p, struct pool_job *j);
/* Asks j to stop: a queued job is not run, a running one sees
 * pool_is_cancelled(). Its done callback still comes. */
void pool_cancel(struct pool_job *j);
int  pool_is_cancelled(const struct pool_job *j);
/* Runs the done callbacks of the jobs finished so far. */
void pool_drain(struct pool *p);
/* Cancels what is queued and running, waits for the workers to stop, runs
 * every outstanding done callback, frees. NULL is a no-op. */
void pool_free(struct pool *p);

#endif
