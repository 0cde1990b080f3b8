/* SPDX-License-Identifier: MIT */
/*
 * feed: a follower's live records, loop to worker (contract in feed.h).
 * Two recbufs swapped at take time: the loop fills one while a job reads
 * the other, so neither waits for the other and no lock is needed (the
 * pool's submit and done hand-offs order every access).
 */
#include "collector/search/feed.h"

#include <string.h>

void
feed_init(struct feed *f, size_t max_bytes, size_t max_records)
{
    recbuf_init(&f->live, max_bytes, max_records);
    recbuf_init(&f->work, max_bytes, max_records);
    f->next = 0;
}

void
feed_fini(struct feed *f)
{
    recbuf_fini(&f->live);
    recbuf_fini(&f->work);
    f->next = 0;
}

int
feed_push(struct feed *f, const struct logrec *r)
{
    return recbuf_add(&f->live, r);
}

int
feed_take(struct feed *f)
{
    if (f->next < f->work.n)
        return 1;
    if (f->live.n == 0)
        return 0;
    recbuf_swap(&f->live, &f->work);
    recbuf_reset(&f->live);
    f->next = 0;
    return 1;
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
