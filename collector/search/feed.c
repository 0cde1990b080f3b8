/* SPDX-License-Identifier: MIT */
/*
 * feed: a follower's live records, loop to worker (contract in feed.h).
 * Two recbufs swapped at take time: the loop fills one while a job reads
 * the other, so neither waits for the other and no lock is needed (the
 * pool's submit and done hand-offs order every access). The shared
 * budget counts recbuf_cost bytes per record (its data and its entry),
 * charged at push and
 * released when the batch is emptied: the owner's thread does both.
 */
#include "collector/search/feed.h"

#include <assert.h>
#include <string.h>

/* Bytes a batch keeps allocated once emptied; past that it is freed. */
#define FEED_KEEP ((size_t)256 << 10)

void
feed_budget_init(struct feed_budget *b, size_t max_bytes)
{
    b->max_bytes = max_bytes;
    b->used = 0;
    TAILQ_INIT(&b->feeds);
}

struct feed *
feed_budget_largest(const struct feed_budget *b)
{
    struct feed *f, *best = NULL;

    TAILQ_FOREACH(f, &b->feeds, link)
        if (f->live_bytes > 0 &&
            (best == NULL || f->live_bytes > best->live_bytes))
            best = f;
    return best;
}

void
feed_init(struct feed *f, size_t max_bytes, size_t max_records,
          struct feed_budget *budget, void *owner)
{
    memset(f, 0, sizeof(*f));
    recbuf_init(&f->live, max_bytes, max_records);
    recbuf_init(&f->work, max_bytes, max_records);
    f->budget = budget;
    f->owner = owner;
    if (budget != NULL)
        TAILQ_INSERT_TAIL(&budget->feeds, f, link);
}

/* Gives n bytes back to the budget. */
static void
feed_uncharge(struct feed *f, size_t n)
{
    if (f->budget == NULL)
        return;
    assert(f->budget->used >= n);
    f->budget->used -= n;
}

void
feed_fini(struct feed *f)
{
    feed_uncharge(f, f->live_bytes + f->work_bytes);
    if (f->budget != NULL)
        TAILQ_REMOVE(&f->budget->feeds, f, link);
    recbuf_fini(&f->live);
    recbuf_fini(&f->work);
    memset(f, 0, sizeof(*f));
}

int
feed_push(struct feed *f, const struct logrec *r)
{
    size_t size = recbuf_cost(r);

    if (f->budget != NULL && size > f->budget->max_bytes - f->budget->used)
        return FEED_BUDGET;
    if (recbuf_add(&f->live, r) < 0)
        return FEED_FULL;
    f->live_bytes += size;
    if (f->budget != NULL)
        f->budget->used += size;
    return 0;
}

int
feed_take(struct feed *f)
{
    if (f->next < f->work.n)
        return 1;
    feed_uncharge(f, f->work_bytes);    /* read to its end */
    f->work_bytes = 0;
    recbuf_empty(&f->work, FEED_KEEP);
    f->next = 0;
    if (f->live.n == 0)
        return 0;
    recbuf_swap(&f->live, &f->work);
    f->work_bytes = f->live_bytes;
    f->live_bytes = 0;
    return 1;
}

void
feed_release_live(struct feed *f)
{
    feed_uncharge(f, f->live_bytes);
    f->live_bytes = 0;
    recbuf_empty(&f->live, FEED_KEEP);
}

int
feed_run(struct feed *f, size_t max_records, feed_record_fn fn, void *arg)
{
    struct logrec r;

    for (size_t n = 0; n < max_records && f->next < f->work.n; n++) {
        recbuf_get(&f->work, f->next++, &r);
        if (fn(&r, arg))
            break;
    }
    return f->next < f->work.n;
}

size_t
feed_n_waiting(const struct feed *f)
{
    return f->live.n + (f->work.n - f->next);
}
