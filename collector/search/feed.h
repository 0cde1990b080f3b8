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
 * and memory is bounded: a live batch that would pass its caps refuses
 * the record (the follower has fallen behind; the caller drops it).
 *
 * Threads: push and take on the owner thread only; run on a worker only
 * between a take and the job's end (the pool's hand-off orders the two);
 * never both at once on the work batch. The live batch is the owner's
 * alone.
 */
#ifndef COLLECTOR_SEARCH_FEED_H
#define COLLECTOR_SEARCH_FEED_H

#include <stddef.h>

#include "collector/search/recbuf.h"
#include "common/record.h"

struct feed {
    struct recbuf live;     /* the owner's: pushed since the last take */
    struct recbuf work;     /* the job's: read from next on */
    size_t        next;
};

/* Per batch (live and work each): at most max_bytes of copies and
 * max_records records. */
void feed_init(struct feed *f, size_t max_bytes, size_t max_records);
void feed_fini(struct feed *f);
/* Owner: appends a copy of r. 0, or -1 when the live batch is full. */
int  feed_push(struct feed *f, const struct logrec *r);
/* Owner, no job running: 1 if a job has records to read (the rest of the
 * work batch, else the live batch, which becomes the work batch), else 0. */
int  feed_take(struct feed *f);
/* On the record's job; return 1 to end the step after this record. */
typedef int (*feed_record_fn)(const struct logrec *r, void *arg);
/* Job: calls fn on at most max_records records of the work batch from
 * where the last run stopped. 1 while the work batch has records left. */
int  feed_run(struct feed *f, size_t max_records, feed_record_fn fn,
              void *arg);
/* Owner: records pushed and not yet read by a job. */
size_t feed_n_waiting(const struct feed *f);

#endif
