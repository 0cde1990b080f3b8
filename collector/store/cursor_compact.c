/* SPDX-License-Identifier: MIT */
/*
 * cursor_compact: an open run's selection copied out of its block's
 * buffers (STORE.md "Reading: a k-way merge over blocks", memory). A
 * merge keeps a run open from its first record until its last is
 * returned; where the candidates' time ranges overlap (sources read in
 * turn: every frame holds a little of each one's time), hundreds of runs
 * are open at once, and each held the whole frame it was read from
 * (compressed and raw bytes, every decoded record) for the few records
 * the filter and the text query kept: a 1% term's --all held the 64 MiB
 * cap and re-read evicted frames (BENCHMARKS.md "Collector RSS after
 * queries"). A run whose selection takes far less than its slot gets a
 * slot of its own size holding copies of the selected records (in key
 * order), their messages and their match answers; the block's slot goes
 * back to the spares for the next read.
 */
#include "collector/store/cursor_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

/* The message bytes of the run's n selected records of sl (*msg) and
 * what copies of them would take (messages, records, keys, match
 * answers). */
static size_t
compact_size(const struct cur_slot *sl, uint32_t n, size_t *msg)
{
    *msg = 0;
    for (uint32_t j = 0; j < n; j++)
        *msg += sl->ld.recs[sl->sel[j].i].msg_len;
    return *msg + (size_t)n * (sizeof(struct store_rec) +
                               sizeof(struct cur_sort) + 1);
}

struct cur_slot *
cursor_compact(const struct store_cursor *c, const struct cur_run *run)
{
    const struct cur_slot *sl = run->slot;
    uint32_t n = run->n_sel;
    size_t bytes, at = 0;

    if (compact_size(sl, n, &bytes) * CUR_COMPACT_SHARE >
        cursor_slot_mem(sl))
        return NULL;

    struct cur_slot *cs = xcalloc(1, sizeof(*cs));
    blkload_init(&cs->ld);
    if (buf_reserve(&cs->ld.raw, bytes ? bytes : 1) < 0) {
        free(cs);               /* cannot happen: at most a block's */
        return NULL;
    }
    cs->ld.recs = xreallocarray(NULL, n ? n : 1, sizeof(*cs->ld.recs));
    cs->ld.cap_recs = n ? n : 1;
    cs->sel = xreallocarray(NULL, n ? n : 1, sizeof(*cs->sel));
    cs->cap_sel = n ? n : 1;
    if (c->lr.match_fn != NULL) {
        cs->ld.hint = xmalloc(n ? n : 1);
        cs->ld.cap_hint = n ? n : 1;
    }
    for (uint32_t j = 0; j < n; j++) {
        uint32_t i = sl->sel[j].i;
        struct store_rec r = sl->ld.recs[i];
        memcpy(cs->ld.raw.data + at, r.msg, r.msg_len);
        r.msg = cs->ld.raw.data + at;
        at += r.msg_len;
        cs->ld.recs[j] = r;
        cs->sel[j] = sl->sel[j];
        cs->sel[j].i = j;
        if (cs->ld.hint != NULL)
            cs->ld.hint[j] = sl->ld.hint[i];
    }
    cs->ld.raw.len = at;
    cs->ld.n = n;
    cs->ld.rc = 1;
    return cs;
}
