/* SPDX-License-Identifier: MIT */
/*
 * cursor_exact: the matches-only cursor going exact (STORE.md "Matches
 * only"). While the cost cap cannot be reached the merge (cursor_merge.c)
 * drops the records match_fn rejects where their blocks are loaded, and
 * keeps a run whose dropped records lie past its last selected one as a
 * phantom until the merge passes it. Once the cap could be reached,
 * cursor_exact selects the open runs and the phantoms passed since the
 * last record returned again without drops, positioned after that record,
 * and gives back the bytes of the dropped records not yet passed, so the
 * cap stops at the very record a cursor without drops would. Owns no
 * state of its own: it works on the merge's runs and heap
 * (cursor_internal.h).
 */
#include "collector/store/cursor_internal.h"

/* 1 if the cost cap could be reached once `add` more bytes are opened
 * (is_dropping: see cursor_internal.h). */
int
cursor_is_near_cap(const struct store_cursor *c, uint64_t add)
{
    return c->max_skipped > 0 &&
           c->others + c->bound_bytes + add > c->max_skipped;
}

/* Makes an open run (or phantom) exact (cursor_exact): its records
 * selected again without drops (read again if evicted), positioned after
 * the record returned last, and, if it was selected with drops, the bytes
 * of the dropped records not yet passed given back (they are counted one
 * by one when returned). 1, or 0 when nothing is left of it (or it is
 * gone or damaged meanwhile: dropped). */
static int
run_exact(struct store_cursor *c, struct cur_run *run)
{
    int was_drop = run->is_drop;

    run->is_phantom = 0;
    if (run->is_compact)        /* its selection alone: read it again */
        cursor_run_unload(c, run, 1);
    if (run->slot) {
        struct cur_slot *sl = run->slot;
        cursor_mem_sub(c, run->mem);
        cursor_run_select(c, run, run->n_recs,
                   c->lr.n_toks > 0 ? sl->ld.keep : NULL);
        run->mem = cursor_slot_mem(sl);
        cursor_mem_add(c, run->mem);
    } else {
        store_lock(c->s);
        c->s->n_cursor_rereads++;
        store_unlock(c->s);
        if (cursor_run_load(c, run) <= 0)
            return 0;
    }
    const struct cur_slot *sl = run->slot;
    uint32_t pos = 0;
    if (c->has_last_key) {
        for (run->pos = 0; run->pos < run->n_sel; run->pos++) {
            int cmp = cursor_sort_key_cmp(&sl->sel[cursor_run_index(c, run)],
                                   &c->last_key);
            if (c->newest_first ? cmp < 0 : cmp > 0)
                break;
        }
        pos = run->pos;
    }
    for (run->pos = pos; was_drop && run->pos < run->n_sel; run->pos++) {
        uint32_t i = sl->sel[cursor_run_index(c, run)].i;
        if (sl->ld.hint[i] == 0)
            c->unmatched_bytes -= sl->ld.recs[i].msg_len;
    }
    run->pos = pos;
    if (pos >= run->n_sel)
        return 0;
    run->head = sl->sel[cursor_run_index(c, run)];
    return 1;
}

/* The cost cap could be reached: from now on nothing is dropped, and the
 * open runs are made exact (run_exact), so the cap counts every record
 * when the merge reaches it, as without is_matches_only. */
void
cursor_exact(struct store_cursor *c)
{
    size_t k = 0;

    c->is_dropping = 0;
    /* phantoms passed since the last record returned: their records past
     * it come again, one by one (read again: the only case a block is
     * read twice without the memory cap) */
    for (size_t i = 0; i < c->n_pend; i++) {
        struct cur_run *run = c->pend[i];
        if (run_exact(c, run)) {
            cursor_heap_push(c, run);
            cursor_shrink(c, run);
        } else {
            cursor_run_free(c, run);
        }
    }
    c->n_pend = 0;
    for (size_t i = 0; i < c->n_heap; i++) {
        struct cur_run *run = c->heap[i];
        if (!run_exact(c, run)) {
            cursor_run_unload(c, run, 0);
            run->pos = run->n_sel = 0;      /* nothing left: freed below */
        }
        cursor_shrink(c, run);  /* the runs read again fit the cap */
    }
    for (size_t i = 0; i < c->n_heap; i++) {
        struct cur_run *run = c->heap[i];
        if (run->pos < run->n_sel)
            c->heap[k++] = run;
        else
            cursor_run_free(c, run);
    }
    c->n_heap = k;
    for (size_t i = k / 2; i-- > 0;)
        cursor_heap_down(c, i);
}

void
store_cursor_exact(struct store_cursor *c)
{
    if (c->last) {              /* the heap as after the next call's
                                   advance */
        cursor_advance(c);
        c->last = NULL;
    }
    if (c->is_dropping) {
        cursor_exact(c);
        cursor_shrink(c, NULL);
    }
}
