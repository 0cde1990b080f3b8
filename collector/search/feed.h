/* SPDX-License-Identifier: MIT */
/*
 * feed: one follower's live records, handed from the event loop to a
 * query worker in bounded batches (collector/README.md "Queries off the
 * loop"). The loop pushes copies of the records follow.c publishes into
 * the live batch; when no job of the follower runs, feed_take makes them
 * the work batch (or keeps the rest of the current one), and a job on a
 * worker reads the work batch in steps (feed_run), resuming where the
 * last step stopped. So the loop never matches a line, records reach the
 * follower's callback exactly once each, in the order they were pushed,
 * and memory is bounded twice: a live batch that would pass its caps
 * refuses the record (the follower has fallen behind; the caller drops
 * it), and so does a push that would take the bytes held by all the
 * feeds of a shared budget (every follower's batches) past its cap; the
 * budget names the feed holding the most waiting bytes, for the caller to
 * drop (feed_budget_largest, feed_release_live). A work batch's bytes
 * are held until the next take after it was read, or feed_fini; a batch
 * emptied (read and taken, or released) frees its buffers when they hold
 * over 256 KiB, so a burst's memory is not kept by an idle follower.
 *
 * Threads: push, take, release, fini and the budget on the owner thread
 * only; run on a worker only between a take and the job's end (the
 * pool's hand-off orders the two); never both at once on the work batch.
 * The live batch and the budget's counts are the owner's alone.
 */
#ifndef COLLECTOR_SEARCH_FEED_H
#define COLLECTOR_SEARCH_FEED_H

#include <stddef.h>
#include <sys/queue.h>

#include "collector/search/recbuf.h"
#include "common/record.h"

#define FEED_FULL   (-1)    /* this feed's live batch is full */
#define FEED_BUDGET (-2)    /* the shared budget is */

struct feed {
    struct recbuf       live;       /* the owner's: pushed since the last
                                       take */
    struct recbuf       work;       /* the job's: read from next on */
    size_t              next;
    struct feed_budget *budget;     /* NULL: none */
    void               *owner;      /* feed_init's, for the budget's user */
    size_t              live_bytes; /* charged to budget (recbuf_cost) */
    size_t              work_bytes;
    TAILQ_ENTRY(feed)   link;       /* in budget->feeds */
};

/* Bytes held by every feed that shares it, at most max_bytes. */
struct feed_budget {
    size_t                  max_bytes;
    size_t                  used;
    TAILQ_HEAD(, feed)      feeds;
};

void feed_budget_init(struct feed_budget *b, size_t max_bytes);
/* The feed of b with the most bytes in its live batch (what releasing it
 * frees at once); NULL when no live batch holds any. */
struct feed *feed_budget_largest(const struct feed_budget *b);

/* Per batch (live and work each): at most max_bytes of copies and
 * max_records records; all batches of budget's feeds (NULL: none) at
 * most budget->max_bytes together. owner is kept for the caller. */
void feed_init(struct feed *f, size_t max_bytes, size_t max_records,
               struct feed_budget *budget, void *owner);
/* Releases f's bytes and leaves its budget. */
void feed_fini(struct feed *f);
/* Owner: appends a copy of r. 0, FEED_FULL when the live batch is full,
 * FEED_BUDGET when the budget would pass its cap (f unchanged). */
int  feed_push(struct feed *f, const struct logrec *r);
/* Owner, no job running: 1 if a job has records to read (the rest of the
 * work batch, else the live batch, which becomes the work batch), else 0.
 * A work batch read to its end is released here. */
int  feed_take(struct feed *f);
/* Owner: forgets the live batch's records (a follower being dropped),
 * releasing their bytes at once. */
void feed_release_live(struct feed *f);
/* On the record's job; return 1 to end the step after this record. */
typedef int (*feed_record_fn)(const struct logrec *r, void *arg);
/* Job: calls fn on at most max_records records of the work batch from
 * where the last run stopped. 1 while the work batch has records left. */
int  feed_run(struct feed *f, size_t max_records, feed_record_fn fn,
              void *arg);
/* Owner: records pushed and not yet read by a job. */
size_t feed_n_waiting(const struct feed *f);

#endif
