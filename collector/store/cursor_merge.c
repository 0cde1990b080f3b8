/* SPDX-License-Identifier: MIT */
/*
 * cursor_merge: the cursor's k-way merge over blocks (STORE.md "Order").
 * Candidates are opened in the order of their bound (cursor.c). An open
 * candidate (a run) holds its filtered records sorted by store_key and
 * the number already emitted; a heap of runs keyed by their next record
 * gives the next record. Before the heap top is emitted, every candidate
 * whose bound could come before or tie with it is opened, so the output
 * is exact whatever order records arrived in. The bytes of open runs are
 * capped (store_options.cursor_mem_max, one budget for every open cursor
 * of the store: a cursor may hold what the others leave of it, and at
 * least an equal share, cursor_mem_limit): past its part the run needed last
 * is evicted, keeping its key and position, and read again (counted in
 * n_cursor_rereads) when it becomes the top. The next candidates (up to
 * BLK_AHEAD) are read ahead on blkload.c's helper thread, the filter's
 * match_fn run there too. Damaged blocks are reported once (-1) and
 * skipped; blocks deleted by retention meanwhile are skipped. A
 * matches-only cursor drops records where their blocks load; going exact
 * near the cost cap is cursor_exact.c's.
 */
#include "collector/store/cursor_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

/* ------------------------------------------------------------------ */
/* Keys and the heap                                                   */

int
cursor_sort_key_cmp(const struct cur_sort *x, const struct cur_sort *y)
{
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->l != y->l) {
        int cmp = strcmp(x->l->host, y->l->host);
        if (cmp == 0)
            cmp = strcmp(x->l->cid, y->l->cid);
        if (cmp != 0)
            return cmp < 0 ? -1 : 1;
    }
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return 0;
}

/* Key order; equal keys (never stored twice) in arrival order. */
static int
sort_cmp(const void *a, const void *b)
{
    const struct cur_sort *x = a, *y = b;
    int cmp = cursor_sort_key_cmp(x, y);

    if (cmp != 0)
        return cmp;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* 1 if run a's next record comes before run b's in the cursor's
 * direction (ties: the earlier candidate). */
static int
run_before(const struct store_cursor *c, const struct cur_run *a,
           const struct cur_run *b)
{
    if (c->is_stored && a->cand != b->cand)     /* stored order */
        return a->cand < b->cand;
    int cmp = cursor_sort_key_cmp(&a->head, &b->head);

    if (c->newest_first)
        cmp = -cmp;
    if (cmp != 0)
        return cmp < 0;
    return a->cand < b->cand;
}

static void
heap_swap(struct store_cursor *c, size_t i, size_t j)
{
    struct cur_run *t = c->heap[i];

    c->heap[i] = c->heap[j];
    c->heap[j] = t;
}

void
cursor_heap_down(struct store_cursor *c, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < c->n_heap && run_before(c, c->heap[l], c->heap[m]))
            m = l;
        if (l + 1 < c->n_heap && run_before(c, c->heap[l + 1], c->heap[m]))
            m = l + 1;
        if (m == i)
            return;
        heap_swap(c, i, m);
        i = m;
    }
}

void
cursor_heap_push(struct store_cursor *c, struct cur_run *run)
{
    if (c->n_heap == c->cap_heap) {
        c->cap_heap = c->cap_heap ? c->cap_heap * 2 : 16;
        c->heap = xreallocarray(c->heap, c->cap_heap, sizeof(*c->heap));
    }
    size_t i = c->n_heap++;
    c->heap[i] = run;
    while (i > 0 && run_before(c, c->heap[i], c->heap[(i - 1) / 2])) {
        heap_swap(c, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void
heap_pop(struct store_cursor *c)
{
    c->heap[0] = c->heap[--c->n_heap];
    cursor_heap_down(c, 0);
}

/* ------------------------------------------------------------------ */
/* Slots (buffers of open blocks) and runs                             */

static struct cur_slot *
slot_get(struct store_cursor *c)
{
    struct cur_slot *sl = c->pool;

    if (sl) {
        c->pool = sl->next;
        c->n_pool--;
        return sl;
    }
    sl = xcalloc(1, sizeof(*sl));
    blkload_init(&sl->ld);
    return sl;
}

static void
slot_free(struct cur_slot *sl)
{
    if (!sl)
        return;
    blkload_fini(&sl->ld);
    free(sl->sel);
    free(sl);
}

/* Keeps a few spare slots so a long scan does not reallocate per block. */
static void
slot_put(struct store_cursor *c, struct cur_slot *sl)
{
    if (!sl)
        return;
    if (c->n_pool >= CUR_POOL) {
        slot_free(sl);
        return;
    }
    sl->next = c->pool;
    c->pool = sl;
    c->n_pool++;
}

static void
cursor_slot_free_cb(void *sl)
{
    slot_free(sl);
}

/* The selection of a block's n labels (ids: block label -> global) into
 * ld, for blkload_hints. */
static void
cursor_set_lsel(struct store_cursor *c, struct blk_load *ld,
                const uint32_t *ids, uint32_t n)
{
    if (c->lr.match_fn == NULL)
        return;
    if (c->cap_lsel < n) {
        c->lsel = xreallocarray(c->lsel, n, 1);
        c->cap_lsel = n;
    }
    for (uint32_t i = 0; i < n; i++)
        c->lsel[i] = (uint8_t)cursor_label_sel(c, ids[i]);
    blkload_set_lsel(ld, c->lsel, n);
}

/* The same from a directory entry (under store.mu). */
static void
cursor_set_lsel_blk(struct store_cursor *c, struct blk_load *ld,
                    const struct store_blk *b)
{
    if (c->cap_lsel < b->n_labels) {
        c->lsel = xreallocarray(c->lsel, b->n_labels, 1);
        c->cap_lsel = b->n_labels;
    }
    for (uint32_t i = 0; i < b->n_labels; i++)
        c->lsel[i] = (uint8_t)cursor_label_sel(c, b->labels[i].id);
    blkload_set_lsel(ld, c->lsel, b->n_labels);
}

size_t
cursor_slot_mem(const struct cur_slot *sl)
{
    return sl->ld.comp.cap + sl->ld.raw.cap + sl->ld.cap_keep +
           sl->ld.cap_recs * sizeof(struct store_rec) +
           sl->cap_sel * sizeof(struct cur_sort);
}

void
cursor_mem_add(struct store_cursor *c, size_t n)
{
    if (c->mem_held == 0 && n > 0)
        __atomic_add_fetch(&c->s->n_cursors_mem, 1, __ATOMIC_RELAXED);
    c->mem_held += n;
    __atomic_add_fetch(&c->s->cursor_mem_total, n, __ATOMIC_RELAXED);
    if (c->mem_held > c->mem_peak)
        c->mem_peak = c->mem_held;
}

void
cursor_mem_sub(struct store_cursor *c, size_t n)
{
    c->mem_held -= n;
    __atomic_sub_fetch(&c->s->cursor_mem_total, n, __ATOMIC_RELAXED);
    if (c->mem_held == 0 && n > 0)
        __atomic_sub_fetch(&c->s->n_cursors_mem, 1, __ATOMIC_RELAXED);
}

size_t
cursor_mem_limit(const struct store_cursor *c)
{
    size_t total = __atomic_load_n(&c->s->cursor_mem_total,
                                   __ATOMIC_RELAXED);
    size_t n = __atomic_load_n(&c->s->n_cursors_mem, __ATOMIC_RELAXED);
    size_t others = total > c->mem_held ? total - c->mem_held : 0;
    size_t left = c->mem_max > others ? c->mem_max - others : 0;
    size_t share = c->mem_max / (n > 1 ? n : 1);

    return left > share ? left : share;
}

/* Drops a run's records (keeping what re-reading it needs). With is_free
 * the buffers are freed, else kept as spares. */
void
cursor_run_unload(struct store_cursor *c, struct cur_run *run, int is_free)
{
    cursor_mem_sub(c, run->mem);
    run->mem = 0;
    if (is_free || run->is_compact)     /* a compact slot is no spare */
        slot_free(run->slot);
    else
        slot_put(c, run->slot);
    run->slot = NULL;
    run->is_compact = 0;
    free(run->own_ids);
    run->own_ids = NULL;
    run->ids = NULL;
}

void
cursor_run_free(struct store_cursor *c, struct cur_run *run)
{
    cursor_run_unload(c, run, 0);
    free(run);
}

uint32_t
cursor_run_index(const struct store_cursor *c, const struct cur_run *run)
{
    return c->newest_first ? run->n_sel - 1 - run->pos : run->pos;
}

/* Selects the records of the run's decoded block (n records; keep: the
 * token prefilter, or NULL) that pass the filter, in key order. With
 * is_matches_only, the records whose match_fn answer is 0 are dropped
 * too, their bytes counted as the prefilter's: only the loader's
 * candidates are looked at (the after-key aside, the loader selected
 * exactly as cursor_rec_ok does). */
void
cursor_run_select(struct store_cursor *c, struct cur_run *run, uint32_t n,
           const uint8_t *keep)
{
    struct cur_slot *sl = run->slot;
    const struct store_rec *recs = sl->ld.recs;
    const uint8_t *hint = c->is_dropping && n > 0 ? sl->ld.hint : NULL;

    /* a phantom's key must lie past every record dropped: not for records
     * stamped at the ends of time (no key is past them) */
    if (hint != NULL && (sl->ld.drop_max_t == INT64_MAX ||
                         sl->ld.drop_min_t == INT64_MIN))
        hint = NULL;
    run->is_drop = hint != NULL;
    run->has_far = hint != NULL && sl->ld.drop_min_t <= sl->ld.drop_max_t;
    if (run->has_far) {
        run->far.t = c->newest_first ? sl->ld.drop_min_t - 1
                                     : sl->ld.drop_max_t + 1;
        run->far.off = 0;
        run->far.l = c->labels[run->ids[recs[0].label]];
        run->far.i = 0;
    }
    int is_cands = hint != NULL && !c->has_after;
    uint32_t m = is_cands ? sl->ld.n_cand : n;
    int is_sorted = 1;
    uint32_t k = 0;

    if (sl->cap_sel < m) {
        sl->sel = xreallocarray(sl->sel, m ? m : 1, sizeof(*sl->sel));
        sl->cap_sel = m ? m : 1;
    }
    if (is_cands && !run->is_reload) {
        c->skipped_bytes += sl->ld.tok_bytes;
        c->unmatched_bytes += sl->ld.drop_bytes - sl->ld.tok_bytes;
    }
    for (uint32_t j = 0; j < m; j++) {
        uint32_t i = is_cands ? sl->ld.cand[j] : j;
        const struct store_rec *r = &recs[i];
        if (!cursor_rec_ok(c, r, run->ids))
            continue;
        if (keep && !keep[i]) {
            if (!run->is_reload)
                c->skipped_bytes += r->msg_len;
            continue;
        }
        if (hint && !hint[i]) {
            if (!run->is_reload)
                c->unmatched_bytes += r->msg_len;
            continue;
        }
        struct cur_sort *e = &sl->sel[k];
        e->t = r->time_ns;
        e->off = r->offset;
        e->l = c->labels[run->ids[r->label]];
        e->i = i;
        if (k > 0 && is_sorted && sort_cmp(e - 1, e) > 0)
            is_sorted = 0;
        k++;
    }
    if (!is_sorted)
        qsort(sl->sel, k, sizeof(*sl->sel), sort_cmp);
    run->n_sel = k;
    if (hint != NULL && !run->is_reload) {
        c->n_unselected += n - k;
        c->n_unselected_call += n - k;
    }
}

/* Fills rq for candidate k of directory entry b (under store.mu): copies
 * of the entry and of the frame read, never the entry's arrays. */
static void
cand_req(const struct cur_cand *k, const struct store_blk *b,
         struct blk_req *rq)
{
    rq->seq = k->seq;
    rq->blk = k->blk;
    rq->frame = k->frame;
    rq->b = *b;
    if (k->frame != BLK_WHOLE && k->frame < b->n_frames)
        rq->fr = b->frames[k->frame];
    rq->b.labels = NULL;
    rq->b.frames = NULL;
}

/* A damaged block is reported once a cursor, whichever of its frames
 * shows it: 1 if block k was reported already, else notes it (0). */
static int
cursor_bad_seen(struct store_cursor *c, const struct cur_cand *k)
{
    for (size_t i = 0; i < c->n_bad; i++)
        if (c->bad[i].seq == k->seq && c->bad[i].blk == k->blk)
            return 1;
    c->bad = xreallocarray(c->bad, c->n_bad + 1, sizeof(*c->bad));
    c->bad[c->n_bad++] = *k;
    return 0;
}

/* Reads a segment candidate into a fresh slot (or takes the one read
 * ahead, or a copy of the last few blocks read): 1 read, 0 gone
 * (retention), -1 damaged. store.mu is held only to copy the directory
 * entry (or the cached body) and to record the outcome, never across the
 * read and decompression. */
static int
run_read_seg(struct store_cursor *c, struct cur_run *run,
             struct cur_slot **out, uint32_t *n)
{
    const struct cur_cand *k = &c->cands[run->cand];
    struct cur_slot *sl;

    sl = blkload_take(&c->lr, run->cand);
    if (sl == NULL) {
        sl = slot_get(c);
        sl->ld.rc = 0;
    }
    struct blk_req rq;
    int is_gone = 0, is_corrupt = 0, is_copied = 0, is_hit = 0;
    store_lock(c->s);
    struct store_blk *b = cursor_blk(c, k);  /* after the wait */
    if (!b) {
        is_gone = 1;
    } else {
        cand_req(k, b, &rq);
        is_corrupt = b->is_corrupt;
        if (!is_corrupt) {
            run->own_ids = xreallocarray(NULL, b->n_labels ? b->n_labels : 1,
                                         sizeof(uint32_t));
            for (uint32_t i = 0; i < b->n_labels; i++)
                run->own_ids[i] = b->labels[i].id;
            if (sl->ld.rc == 0) {
                cursor_set_lsel(c, &sl->ld, run->own_ids, b->n_labels);
                is_copied = cursor_bcache_copy(c, k, b, &sl->ld);
            }
        }
    }
    store_unlock(c->s);
    if (is_gone || is_corrupt) {
        slot_put(c, sl);
        return is_gone || cursor_bad_seen(c, k) ? 0 : -1;
    }
    if (is_copied)
        is_hit = cursor_bcache_decode(c, k, &rq, &sl->ld);
    if (sl->ld.rc == 0 || (is_copied && !is_hit))
        blkload_run(&c->lr, &rq, &sl->ld);
    int rc = sl->ld.rc;
    if (rc < 0 && cursor_bad_seen(c, k))
        rc = 0;                 /* another frame of it was reported */
    store_lock(c->s);
    if (rc < 0 && (b = cursor_blk(c, k)) != NULL && !b->is_corrupt) {
        b->is_corrupt = 1;
        c->s->n_corrupt++;
    }
    if (rc > 0 && is_hit)
        c->s->n_cursor_cache_hits++;
    if (rc > 0 && !is_hit) {
        c->s->n_cursor_reads++;
        c->s->n_cursor_ahead_reads += sl->ld.is_by_helper;
        if (!c->is_no_cache)
            cursor_bcache_put(c->s, k->seq, k->blk, k->frame, &rq.b,
                              &sl->ld.raw);
    }
    store_unlock(c->s);
    if (rc <= 0) {
        free(run->own_ids);
        run->own_ids = NULL;
        slot_put(c, sl);
        return rc;
    }
    run->ids = run->own_ids;
    *out = sl;
    *n = sl->ld.n;
    if (!run->is_reload) {      /* not decoded: its bytes count as the
                                   prefilter's (the cost cap) */
        c->skipped_bytes += sl->ld.skip_raw;
        if (c->is_dropping && sl->ld.n == 0) {
            /* and its records as dropped: a call's bounded work
             * (STORE_CURSOR_YIELD_RECORDS), the caller's count of what
             * it has seen */
            uint32_t nr = k->frame == BLK_WHOLE ? rq.b.n_records
                                                : rq.fr.n_records;
            c->n_unselected += nr;
            c->n_unselected_call += nr;
        }
    }
    return 1;
}

/* Decodes an in-memory candidate into a fresh slot. */
static int
run_read_mem(struct store_cursor *c, struct cur_run *run,
             struct cur_slot **out, uint32_t *n)
{
    const struct cur_mem *m = &c->mems[c->cands[run->cand].blk];
    struct cur_slot *sl = slot_get(c);

    run->ids = m->ids;
    *out = sl;
    *n = 0;
    if (!scan_may_hold(c->lr.toks, c->lr.n_toks, m->body.data,
                       m->body.len)) {
        if (!run->is_reload)    /* no record can hold every token */
            c->skipped_bytes += m->body.len;
        return 1;
    }
    if (block_decode(STORE_CODEC_ROW_RECV, m->body.data, m->body.len, m->n,
                     m->n_labels, &sl->ld.recs, &sl->ld.cap_recs) < 0) {
        slot_put(c, sl);
        return -1;              /* cannot happen: we encoded it */
    }
    if (c->lr.n_toks > 0)
        blkload_keep(&sl->ld, STORE_CODEC_ROW_RECV, m->n, c->lr.toks,
                     c->lr.n_toks);
    if (c->lr.match_fn != NULL) {
        cursor_set_lsel(c, &sl->ld, m->ids, m->n_labels);
        blkload_hints(&c->lr, &sl->ld, m->n, INT64_MIN, INT64_MAX, 0);
    }
    run->ids = m->ids;
    *out = sl;
    *n = m->n;
    return 1;
}

/* (Re)reads the run's block and selects its records; on success the run
 * holds a slot and its head is its next record: 1, 0 gone, -1 damaged. */
int
cursor_run_load(struct store_cursor *c, struct cur_run *run)
{
    const struct cur_cand *k = &c->cands[run->cand];
    struct cur_slot *sl = NULL;
    uint32_t n = 0;
    uint64_t sk0 = c->skipped_bytes;   /* the bytes not decoded */
    int rc = k->seq == CUR_MEM ? run_read_mem(c, run, &sl, &n)
                               : run_read_seg(c, run, &sl, &n);

    if (rc <= 0)
        return rc;
    run->n_recs = n;
    if (c->is_dropping && !run->is_reload) {
        /* the bytes not decoded, and every selected record's */
        uint64_t add = c->skipped_bytes - sk0 + (n > 0 ? sl->ld.sel_bytes
                                                       : 0);
        if (cursor_is_near_cap(c, add))
            cursor_exact(c);    /* the open runs; this one below */
        else
            c->bound_bytes += add;
    }
    run->slot = sl;
    cursor_run_select(c, run, n, c->lr.n_toks > 0 ? sl->ld.keep : NULL);
    run->is_reload = 1;
    struct cur_slot *cs = cursor_compact(c, run);
    if (cs != NULL) {           /* the block's buffers to the spares */
        slot_put(c, sl);
        run->slot = sl = cs;
        run->is_compact = 1;
    }
    run->mem = cursor_slot_mem(sl);
    cursor_mem_add(c, run->mem);
    if (run->pos < run->n_sel)
        run->head = sl->sel[cursor_run_index(c, run)];
    return 1;
}

/* ------------------------------------------------------------------ */
/* Read ahead, eviction, opening                                       */

/* The raw bytes of the segment candidates read ahead and not yet
 * opened. */
static uint64_t
cursor_ahead_bytes(const struct store_cursor *c)
{
    uint64_t n = 0;

    for (size_t j = c->pos; j < c->ahead_next; j++)
        if (c->cands[j].seq != CUR_MEM)
            n += c->cands[j].raw_len;
    return n;
}

/* Queues the next segment candidates to be opened (up to BLK_AHEAD, and
 * CUR_AHEAD_BYTES of raw bytes but one at least) on the helper thread.
 * Only for scans of a few blocks or more: a thread costs more than it
 * saves on one or two (or on the frames of one or two: 1.6 -> 2.0 ms of
 * collector CPU for a rare term's one block in 14 frames, which started
 * it). */
static void
cursor_read_ahead(struct store_cursor *c)
{
    if (c->is_no_helper || c->n_seg_cands < 3 || c->n_seg_blks < 3)
        return;
    if (c->ahead_next < c->pos)
        c->ahead_next = c->pos;
    uint64_t held = cursor_ahead_bytes(c);
    while (c->ahead_next < c->n_cands && !blkload_is_full(&c->lr)) {
        size_t j = c->ahead_next;
        if (c->cands[j].seq != CUR_MEM && held > 0 &&
            held + c->cands[j].raw_len > CUR_AHEAD_BYTES)
            return;
        c->ahead_next++;
        if (c->cands[j].seq == CUR_MEM)
            continue;
        held += c->cands[j].raw_len;
        struct blk_req rq = { .seq = c->cands[j].seq,
                              .blk = c->cands[j].blk };
        struct cur_slot *sl = slot_get(c);
        store_lock(c->s);
        const struct store_blk *b = cursor_blk(c, &c->cands[j]);
        int is_ok = b && !b->is_corrupt;
        if (is_ok) {
            cand_req(&c->cands[j], b, &rq);     /* the helper never reads
                                                   the entry's arrays */
            if (c->lr.match_fn != NULL)
                cursor_set_lsel_blk(c, &sl->ld, b);
        }
        store_unlock(c->s);
        if (is_ok && blkload_start(&c->lr) < 0)
            c->is_no_helper = 1;
        if (!is_ok || c->is_no_helper ||
            blkload_submit(&c->lr, &rq, &sl->ld, j, sl) < 0) {
            slot_put(c, sl);
            if (c->is_no_helper)
                return;
        }
    }
}

/* Evicts the loaded runs needed last (head furthest in the direction of
 * travel), never keep, until the held bytes fit the cursor's part of the
 * shared cap. Linear in the number of open runs; runs only when the cap
 * is passed. */
void
cursor_shrink(struct store_cursor *c, const struct cur_run *keep)
{
    while (c->mem_held > cursor_mem_limit(c)) {
        struct cur_run *victim = NULL;
        for (size_t i = 0; i < c->n_heap; i++) {
            struct cur_run *r = c->heap[i];
            if (r != keep && r->slot &&
                (!victim || run_before(c, victim, r)))
                victim = r;
        }
        if (!victim)
            return;
        cursor_run_unload(c, victim, 1);
    }
}

/* Opens candidate at: its matching records join the heap. 0, or -1 if
 * the block is damaged (reported once, then skipped). */
static int
cursor_open(struct store_cursor *c, size_t at)
{
    struct cur_run *run = xcalloc(1, sizeof(*run));

    run->cand = at;
    int rc = cursor_run_load(c, run);
    /* after a segment block: a query answered by the in-memory blocks
     * alone (the newest lines) reads nothing from disk */
    if (c->cands[at].seq != CUR_MEM)
        cursor_read_ahead(c);
    if (rc > 0 && run->n_sel == 0 && run->has_far) {
        run->is_phantom = 1;    /* all dropped: kept until passed */
        run->head = run->far;
    } else if (rc <= 0 || run->n_sel == 0) {
        cursor_run_free(c, run);
        return rc < 0 ? -1 : 0;
    }
    cursor_heap_push(c, run);
    cursor_shrink(c, NULL);
    return 0;
}

/* Reads the evicted heap top again. 0 (also when it is gone: dropped),
 * -1 if damaged meanwhile (dropped). */
static int
cursor_reload(struct store_cursor *c)
{
    struct cur_run *run = c->heap[0];
    uint32_t n_sel = run->n_sel;

    store_lock(c->s);
    c->s->n_cursor_rereads++;
    store_unlock(c->s);
    int rc = cursor_run_load(c, run);
    if (rc > 0 && run->n_sel == n_sel) {
        cursor_shrink(c, run);
        return 0;
    }
    /* gone (0), damaged (-1), or not what it was (cannot happen: blocks
     * are immutable and checksummed): dropped */
    heap_pop(c);
    cursor_run_free(c, run);
    return rc == 0 ? 0 : -1;
}

/* 1 if an unopened candidate k could hold a record that comes before, or
 * ties with, key h in the cursor's direction. */
static int
cand_may_precede(const struct store_cursor *c, const struct cur_cand *k,
                 const struct cur_sort *h)
{
    if (c->is_stored)   /* after every open run: opened once they pass */
        return 0;
    return c->newest_first ? k->bound >= h->t : k->bound <= h->t;
}

/* The phantoms passed: a record is returned after them. */
static void
cursor_pend_free(struct store_cursor *c)
{
    for (size_t i = 0; i < c->n_pend; i++)
        cursor_run_free(c, c->pend[i]);
    c->n_pend = 0;
}

/* Moves the heap top past the record it last gave. */
void
cursor_advance(struct store_cursor *c)
{
    struct cur_run *run = c->heap[0];

    if (++run->pos == run->n_sel) {
        if (run->has_far) {     /* records dropped past it: kept until
                                   passed */
            run->is_phantom = 1;
            run->head = run->far;
            cursor_heap_down(c, 0);
            return;
        }
        heap_pop(c);
        cursor_run_free(c, run);
        return;
    }
    run->head = run->slot->sel[cursor_run_index(c, run)];
    cursor_heap_down(c, 0);
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */

int
store_cursor_next(struct store_cursor *c, struct logrec *out)
{
    if (c->last) {
        cursor_advance(c);
        c->last = NULL;
    }
    c->n_unselected_call = 0;
    /* cursors opened since it last ran share the cap: its part back
     * (never the next record's run) */
    if (c->n_heap > 0 && c->mem_held > cursor_mem_limit(c))
        cursor_shrink(c, c->heap[0]);
    if (c->is_dropping && cursor_is_near_cap(c, 0)) {
        cursor_exact(c);
        cursor_shrink(c, NULL);
    }
    for (;;) {
        if (c->max_skipped > 0 && c->skipped_bytes > c->max_skipped &&
            c->pos < c->n_cands)
            return 0;           /* the caller's cost cap: stop reading */
        if (c->n_unselected_call >= STORE_CURSOR_YIELD_RECORDS)
            return 2;           /* bounded work a call: the caller's
                                   slices and cancel checks */
        if (c->n_heap == 0 && c->pos >= c->n_cands) {
            cursor_pend_free(c);        /* the end: every record passed */
            return 0;
        }
        if (c->n_heap == 0 ||
            (c->pos < c->n_cands &&
             cand_may_precede(c, &c->cands[c->pos], &c->heap[0]->head))) {
            if (c->is_dropping &&
                cursor_is_near_cap(c, c->cands[c->pos].raw_len)) {
                /* go exact before the open: a cursor without drops opens
                 * it when its own heads reach it, maybe later */
                cursor_exact(c);
                cursor_shrink(c, NULL);
                continue;
            }
            if (cursor_open(c, c->pos++) < 0)
                return -1;
            continue;
        }
        if (c->heap[0]->is_phantom) {
            /* every record it dropped comes before the next record
             * returned: passed once one is */
            struct cur_run *ph = c->heap[0];
            heap_pop(c);
            cursor_run_unload(c, ph, 0);
            if (c->n_pend == c->cap_pend) {
                c->cap_pend = c->cap_pend ? 2 * c->cap_pend : 16;
                c->pend = xreallocarray(c->pend, c->cap_pend,
                                        sizeof(*c->pend));
            }
            c->pend[c->n_pend++] = ph;
            continue;
        }
        if (c->heap[0]->slot)
            break;
        if (cursor_reload(c) < 0)
            return -1;
    }
    cursor_pend_free(c);
    struct cur_run *run = c->heap[0];
    const struct store_rec *r = &run->slot->ld.recs[run->head.i];
    const struct store_label *l = run->head.l;
    c->last = run;
    c->last_key = run->head;
    c->has_last_key = 1;
    c->ret_bytes += r->msg_len;
    out->time_ns = r->time_ns;
    out->recv_ns = r->recv_ns;
    out->host = l->host;
    out->container_id = l->cid;
    out->container = l->name;
    out->image = l->image;
    out->labels = store_source_labels(l->src);
    out->stream = r->stream;
    out->flags = r->flags;
    out->offset = r->offset;
    out->msg = (const char *)r->msg;
    out->msg_len = r->msg_len;
    return 1;
}

int
store_cursor_match(const struct store_cursor *c)
{
    const struct cur_run *run = c->last;

    if (c->lr.match_fn == NULL || run == NULL || run->slot == NULL)
        return -1;
    return run->slot->ld.hint[run->head.i];
}

void
cursor_merge_fini(struct store_cursor *c)
{
    blkload_loader_fini(&c->lr, cursor_slot_free_cb);
    cursor_pend_free(c);
    free(c->pend);
    for (size_t i = 0; i < c->n_heap; i++)
        cursor_run_free(c, c->heap[i]);
    free(c->heap);
    while (c->pool) {
        struct cur_slot *sl = c->pool;
        c->pool = sl->next;
        slot_free(sl);
    }
    free(c->lsel);
    free(c->bad);
}
