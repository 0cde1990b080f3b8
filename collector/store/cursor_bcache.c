/* SPDX-License-Identifier: MIT */
/*
 * cursor_bcache: the raw (decompressed, CRC-checked) bodies of the last
 * STORE_BCACHE_N segment blocks cursors read, kept in the store
 * (store.bcache, each at most STORE_BCACHE_MAX bytes, the one used
 * longest ago replaced; STORE.md "Order"): a context cursor mostly needs
 * the block its match cursor has just read and takes it from here
 * (decode and filter only). Used by the merge's segment reads
 * (cursor_merge.c): the copy under store.mu, the decode without it.
 */
#include "collector/store/cursor_internal.h"

/* The cache entry holding block (seq, blk at off) or its frame, or
 * NULL. */
static struct store_bcache_ent *
bcache_find(struct store *s, uint64_t seq, uint32_t blk, uint32_t frame,
            uint64_t off)
{
    for (size_t i = 0; i < STORE_BCACHE_N; i++) {
        struct store_bcache_ent *e = &s->bcache[i];
        if (e->tick && e->seq == seq && e->blk == blk && e->off == off &&
            e->frame == frame)
            return e;
    }
    return NULL;
}

/* The records of candidate k of block b: the block's or its frame's. */
static uint32_t
cand_n_records(const struct cur_cand *k, const struct store_blk *b,
               const struct store_frame *fr)
{
    return k->frame == BLK_WHOLE ? b->n_records : fr->n_records;
}

/* Keeps a copy of a block's raw body just read, in place of the entry
 * used longest ago. */
void
cursor_bcache_put(struct store *s, uint64_t seq, uint32_t blk, uint32_t frame,
           const struct store_blk *b, const struct buf *raw)
{
    struct store_bcache_ent *e = &s->bcache[0];

    if (raw->len > STORE_BCACHE_MAX ||
        bcache_find(s, seq, blk, frame, b->off))
        return;
    for (size_t i = 1; i < STORE_BCACHE_N; i++)
        if (s->bcache[i].tick < e->tick)
            e = &s->bcache[i];
    if (e->raw.max == 0)
        buf_init(&e->raw, STORE_BCACHE_MAX);
    buf_reset(&e->raw);
    e->tick = 0;
    if (buf_append(&e->raw, raw->data, raw->len) < 0)
        return;
    e->seq = seq;
    e->blk = blk;
    e->frame = frame;
    e->off = b->off;
    e->tick = ++s->bcache_tick;
}

/* Copies block b's raw body from the cache into ld->raw (under
 * store.mu): 1 done, 0 not cached. */
int
cursor_bcache_copy(struct store_cursor *c, const struct cur_cand *k,
            const struct store_blk *b, struct blk_load *ld)
{
    struct store_bcache_ent *e = bcache_find(c->s, k->seq, k->blk, k->frame,
                                             b->off);

    if (e == NULL)
        return 0;
    buf_reset(&ld->raw);
    if (buf_append(&ld->raw, e->raw.data, e->raw.len) < 0)
        return 0;               /* read it from disk instead */
    e->tick = ++c->s->bcache_tick;
    return 1;
}

/* Decodes a cached body copied into ld->raw and marks tokens as blkload
 * does (without store.mu): 1 done, 0 read it from disk instead. */
int
cursor_bcache_decode(struct store_cursor *c, const struct cur_cand *k,
              const struct blk_req *rq, struct blk_load *ld)
{
    ld->seq = k->seq;
    ld->blk = k->blk;
    blkload_decode(&c->lr, 0, &rq->b, cand_n_records(k, &rq->b, &rq->fr),
                   ld);
    return ld->rc > 0;
}
