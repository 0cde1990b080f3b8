/* SPDX-License-Identifier: MIT */
/*
 * ahead: how many records of a filter's names lie at or after a time,
 * from the block directory alone (no block is read): what a range that
 * ends at that time leaves out (an open-ended search ends a grace after
 * the collector's clock: collector/API.md "Records stamped ahead").
 * Each block keeps, per label (host, container id, name, image), its
 * line count and time range: a selected label whose lines all lie at or
 * past from_ns counts them all; one that straddles from_ns counts one (its
 * newest line) and makes the figure a lower bound. Segments whose newest
 * record is older are skipped whole, so on a store where nothing is
 * stamped ahead the cost is one comparison per segment, the blocks being
 * sealed and the tail. Uses the cursor's label selection (cursor.c).
 */
#include <stdlib.h>

#include "collector/store/cursor_internal.h"
#include "common/xmalloc.h"

struct ahead_acc {
    struct store_cursor *c;     /* label selection only */
    int64_t              from;
    uint64_t             n;
    int                  is_lower_bound;
};

static void
ahead_label(struct ahead_acc *a, uint32_t id, uint32_t n_lines,
            int64_t min_ns, int64_t max_ns)
{
    if (n_lines == 0 || max_ns < a->from || !cursor_label_sel(a->c, id))
        return;
    if (min_ns >= a->from) {
        a->n += n_lines;
        return;
    }
    a->n++;
    a->is_lower_bound = 1;
}

static void
ahead_labels(struct ahead_acc *a, const struct store_blk_label *l,
             uint32_t n_labels, int64_t max_ns)
{
    if (max_ns < a->from)
        return;
    for (uint32_t i = 0; i < n_labels; i++)
        ahead_label(a, l[i].id, l[i].n_lines, l[i].min_ns, l[i].max_ns);
}

/* Segment blocks, the blocks being sealed or waiting for it, the closed
 * tails, the tail. */
static void
ahead_walk(struct store *s, struct ahead_acc *a)
{
    for (size_t i = 0; i < s->n_segs; i++) {
        const struct store_seg *g = s->segs[i];
        if (g->n_blks == 0 || g->max_ns < a->from)
            continue;
        for (size_t k = 0; k < g->n_blks; k++)
            if (!g->blks[k].is_corrupt)
                ahead_labels(a, g->blks[k].labels, g->blks[k].n_labels,
                             g->blks[k].max_ns);
    }
    const struct seal_job *jobs[3] = { s->job, s->pend, s->closed };
    for (size_t j = 0; j < 3; j++)
        for (size_t i = 0; jobs[j] != NULL && i < jobs[j]->n_ch; i++)
            ahead_labels(a, jobs[j]->ch[i].labels, jobs[j]->ch[i].n_labels,
                         jobs[j]->ch[i].max_ns);
    const struct store_tail *t = &s->tail;
    if (t->n_records == 0 || t->max_ns < a->from)
        return;
    for (uint32_t i = 0; i < t->n_labels; i++)
        ahead_label(a, t->labels[i].id, t->labels[i].n_lines,
                    t->labels[i].min_ns, t->labels[i].max_ns);
}

void
store_count_ahead(struct store *s, const struct store_filter *f,
                  int64_t from_ns, uint64_t *n, int *is_lower_bound)
{
    struct store_cursor c = { .s = s, .stream = -1 };
    struct ahead_acc a = { .c = &c, .from = from_ns };

    if (f != NULL) {
        /* borrowed: cursor_label_sel only reads them */
        c.host = (char *)f->host;
        c.cid = (char *)f->container_id;
        c.container = (char *)f->container;
        c.image = (char *)f->image;
        c.sel = (struct namesel *)f->sel;
        if (f->since_ns > a.from)
            a.from = f->since_ns;
    }
    store_lock(s);
    c.labels = s->labels;
    c.n_label_ok = s->n_labels;
    c.label_ok = xcalloc(s->n_labels ? s->n_labels : 1, 1);
    ahead_walk(s, &a);
    store_unlock(s);
    free(c.label_ok);
    *n = a.n;
    *is_lower_bound = a.is_lower_bound;
}
