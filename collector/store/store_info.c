/* SPDX-License-Identifier: MIT */
/*
 * store_info: per-segment figures (store_foreach_segment) and the part of
 * the store not yet in a segment (store_get_tail_info), for `logq stats`
 * through GET /api/v1/stats. Reads only the in-memory block directories
 * and file sizes the store already keeps: no I/O, so it is cheap enough to
 * run on the event loop for any number of segments. The figures add up to
 * store_get_stats() (store.c); keep the two in step.
 */
#include "collector/store/store_internal.h"

#include <stdio.h>
#include <string.h>

#include "collector/store/index.h"

static void
store_info_fill(const struct store *s, size_t i,
                struct store_segment_info *si)
{
    const struct store_seg *g = s->segs[i];

    memset(si, 0, sizeof(*si));
    si->seq = g->seq;
    snprintf(si->name, sizeof(si->name), "seg-%016llx.lqs",
             (unsigned long long)g->seq);
    si->raw_bytes = g->raw_bytes;
    si->stored_bytes = g->file_size;
    si->index_bytes = g->ifile ? index_file_size(g->ifile) : 0;
    si->n_records = g->n_records;
    si->n_blocks = g->n_blks;
    for (size_t k = 0; k < g->n_blks; k++)
        if (g->blks[k].is_corrupt)
            si->n_corrupt_blocks++;
    if (g->n_records && g->min_ns <= g->max_ns) {
        si->first_ns = g->min_ns;
        si->last_ns = g->max_ns;
    }
    si->is_sealed = g->is_full != 0;
    /* store_seal() rolls to a new segment when the last one is full. */
    si->is_current = i + 1 == s->n_segs && !g->is_full &&
                     g->raw_bytes < s->opt.segment_size;
}

void
store_foreach_segment(struct store *s, store_segment_fn fn, void *arg)
{
    struct store_segment_info si;

    for (size_t i = 0; i < s->n_segs; i++) {
        store_lock(s);          /* cursors mark damage, drop indexes */
        store_info_fill(s, i, &si);
        store_unlock(s);
        fn(&si, arg);
    }
}

static void
store_info_range(struct store_tail_info *ti, uint32_t n, int64_t min_ns,
                 int64_t max_ns)
{
    if (n == 0 || min_ns > max_ns)
        return;
    if (min_ns < ti->first_ns)
        ti->first_ns = min_ns;
    if (max_ns > ti->last_ns)
        ti->last_ns = max_ns;
}

void
store_get_tail_info(struct store *s, struct store_tail_info *ti)
{
    memset(ti, 0, sizeof(*ti));
    ti->first_ns = INT64_MAX;
    ti->last_ns = INT64_MIN;
    /* The job's chunks (and those waiting to be its next) are read as
     * store_get_stats reads them: their counts and body lengths are fixed
     * before the job is submitted. */
    const struct seal_job *jobs[3] = { s->job, s->pend, s->closed };
    for (size_t j = 0; j < 3; j++)
        for (size_t i = 0; jobs[j] && i < jobs[j]->n_ch; i++) {
            const struct seal_chunk *ch = &jobs[j]->ch[i];
            ti->n_sealing_records += ch->n_records;
            ti->raw_bytes += ch->body.len;
            store_info_range(ti, ch->n_records, ch->min_ns, ch->max_ns);
        }
    ti->n_records = ti->n_sealing_records + s->tail.n_records;
    ti->raw_bytes += s->tail.body.len;
    store_info_range(ti, s->tail.n_records, s->tail.min_ns, s->tail.max_ns);
    if (ti->first_ns > ti->last_ns)
        ti->first_ns = ti->last_ns = 0;
    ti->pending_records = s->wal_n_recs;
    ti->wal_bytes = wal_bytes(s);
    for (size_t k = 0; k < s->n_wals; k++)
        if (s->wals[k].fd >= 0)
            ti->n_wal_files++;
}
