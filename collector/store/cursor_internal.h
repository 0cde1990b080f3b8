/* SPDX-License-Identifier: MIT */
/*
 * cursor_internal: the cursor shared by cursor.c (filter, candidate
 * blocks, creation), cursor_merge.c (the k-way merge over open blocks:
 * reading, eviction, the heap), cursor_bcache.c (the last few block
 * bodies read, kept for the next cursors) and cursor_exact.c (a
 * matches-only cursor going exact near the cost cap). Not for use
 * outside collector/store/.
 */
#ifndef COLLECTOR_STORE_CURSOR_INTERNAL_H
#define COLLECTOR_STORE_CURSOR_INTERNAL_H

#include "collector/store/store_internal.h"

#define CUR_MEM        UINT64_MAX       /* cand.seq of an in-memory block
                                           (cand.blk indexes c->mems) */
#define CUR_MAX_HASHES 64
#define CUR_POOL       2                /* spare block buffers kept */
#define CUR_AHEAD_BYTES (3u << 20)      /* raw bytes read ahead at most
                                           (one candidate at least): 3
                                           whole 1 MiB blocks, as when
                                           BLK_AHEAD was 3, but 2 of the
                                           unframed (codec 5 and older)
                                           blocks a last record took past
                                           1 MiB; ~200 KiB frames:
                                           BLK_AHEAD bounds */
#define CUR_COMPACT_SHARE 4             /* a run's selection copied out of
                                           its slot when it takes at most
                                           a quarter of it */

/* A block that may hold matches: a segment block or an in-memory one. */
struct cur_cand {
    uint64_t seq;                       /* segment, or CUR_MEM */
    uint32_t blk;
    uint32_t frame;                     /* codec 6: its frame, else
                                           BLK_WHOLE */
    int64_t  bound;                     /* newest-first: max_ns, else min_ns */
    uint64_t raw_len;                   /* its raw bytes: more than its
                                           messages' */
};

/* An in-memory block copied at creation: the committed tail, or a block
 * being sealed. Row bodies (codec 1). */
struct cur_mem {
    struct buf  body;
    uint32_t    n, n_labels;
    uint32_t   *ids;                    /* block label -> global label */
};

/* A selected record of an open block: its key, and its index in the
 * block's decoded records. */
struct cur_sort {
    int64_t                   t;
    uint64_t                  off;
    const struct store_label *l;        /* host, cid of the key */
    uint32_t                  i;
};

/* Buffers of one open block: decoded records and their selection. */
struct cur_slot {
    struct blk_load  ld;
    struct cur_sort *sel;
    size_t           cap_sel;
    struct cur_slot *next;              /* in the spare pool */
};

/* An opened candidate: its selected records in key order, the number
 * already emitted (pos) and the key of the next one (head). Evicted:
 * slot NULL; cand, n_sel, pos and head are kept to re-read it. */
struct cur_run {
    size_t           cand;
    struct cur_slot *slot;
    const uint32_t  *ids;               /* block label -> global label */
    uint32_t        *own_ids;           /* ids of a segment block */
    uint32_t         n_sel, pos;
    size_t           mem;               /* bytes counted in mem_held */
    struct cur_sort  head;
    uint8_t          is_reload;         /* read before: skipped bytes counted */
    uint8_t          is_compact;        /* slot holds the selection only
                                           (cursor_compact.c) */
    /* Opened while dropping: records it dropped (their bytes counted at
     * once) may lie past its last selected one. Then, once its selected
     * records are returned (or when it has none), it stays in the heap as
     * a phantom keyed past them (far), returning nothing, until the merge
     * passes it: till then cursor_exact can give their bytes back. */
    uint8_t          is_drop;           /* selected with drops */
    uint8_t          has_far, is_phantom;
    struct cur_sort  far;
    uint32_t         n_recs;            /* records decoded */
};

struct store_cursor {
    struct store      *s;
    /* The store's label array at creation: every label of the cursor's
     * blocks is in it, and it is never freed before the store (store.mu) */
    struct store_label *const *labels;
    int                newest_first;
    int                is_stored;       /* store_filter.is_stored_order */
    int                is_tok_req;
    int64_t            since, until;
    int64_t            recv_since;      /* 0: none (store_filter) */
    char              *host, *cid, *container, *image;
    struct namesel    *sel;         /* owned copy, NULL: any */
    int                stream;
    int                has_after;
    struct store_key   after;           /* strings owned */
    uint32_t           hashes[CUR_MAX_HASHES];
    size_t             n_hashes;
    struct scan_tok    toks[CUR_MAX_HASHES];  /* is_tokens_required */
    uint32_t           fhashes[CUR_MAX_HASHES]; /* field tokens */
    uint32_t           checks[CUR_MAX_HASHES];  /* tokenize_check of each */
    uint32_t           fchecks[CUR_MAX_HASHES]; /* hash's token (a .lqi
                                                   lookup's: STORE.md
                                                   "Index file") */
    size_t             n_fhashes;
    uint32_t           bhashes[CUR_MAX_HASHES]; /* store_filter.bwords */
    uint32_t           bchecks[CUR_MAX_HASHES];
    uint32_t           shashes[CUR_MAX_HASHES]; /* their sub-word tokens */
    uint32_t           schecks[CUR_MAX_HASHES];
    size_t             n_bhashes;
    size_t             n_toks;
    uint8_t           *label_ok;        /* per label id: 0 ?, 1 yes, 2 no */
    size_t             n_label_ok;

    struct cur_cand   *cands;           /* in bound order (cursor.c) */
    size_t             n_cands, pos;    /* pos: next to open */
    size_t             n_seg_cands;
    size_t             n_seg_blks;      /* segment blocks they are in */
    struct cur_mem    *mems;
    size_t             n_mems;

    struct cur_run   **heap;            /* open runs by head key */
    size_t             n_heap, cap_heap;
    struct cur_run    *last;            /* emitted from; advanced next call */
    size_t             mem_held, mem_max;
    size_t             mem_peak;        /* most mem_held at once */
    struct cur_slot   *pool;
    size_t             n_pool;

    struct blk_loader  lr;
    size_t             ahead_next;      /* next candidate to read ahead */
    int                is_no_helper;
    int                is_no_cache;     /* store_filter.is_no_cache */
    uint8_t           *lsel;            /* cursor_set_lsel's scratch */
    size_t             cap_lsel;
    struct cur_cand   *bad;             /* damaged blocks reported */
    size_t             n_bad;
    uint64_t           skipped_bytes;   /* message bytes the token
                                           prefilter dropped */
    int                is_matches_only; /* store_filter's (with a
                                           match_fn) */
    /* Dropping (is_matches_only) while the cost cap cannot be reached:
     * others (the caller's cost besides this cursor's,
     * store_cursor_set_others) + bound_bytes (every selected byte of the
     * blocks opened so far, and the bytes of those not decoded) <= the
     * cap. Past it the cursor goes exact (cursor_exact): no more drops,
     * so the cap stops at the very record a cursor without drops would. */
    int                is_dropping;
    uint64_t           unmatched_bytes; /* bytes of the records dropped for
                                           match_fn's 0 (not passed yet
                                           given back): with skipped_bytes
                                           in store_cursor_skipped_bytes,
                                           not in the max_skipped stop */
    uint64_t           others, bound_bytes;
    uint64_t           ret_bytes;       /* messages returned */
    struct cur_run   **pend;            /* phantoms passed since the
                                           record returned last (no
                                           slot): freed when the next is
                                           returned; cursor_exact reads
                                           them again */
    size_t             n_pend, cap_pend;
    int                has_last_key;
    struct cur_sort    last_key;        /* of the record returned last */
    /* Records of the blocks opened while dropping that were decoded and
     * not selected, so passed over unseen: those match_fn answered 0, and
     * also those the time, label, stream and after-key filters and the
     * token prefilter reject (all of them work done: they feed only
     * store_cursor_take_dropped and the yield, never a byte count) */
    uint64_t           n_unselected;    /* since store_cursor_take_dropped */
    uint64_t           n_unselected_call; /* of them, in this call of
                                             store_cursor_next */
    uint64_t           max_skipped;     /* store_filter.max_skipped_bytes */
    /* store_filter.count_word (has_count: set), its hash and check */
    int                has_count;
    unsigned           count_forms;
    uint32_t           count_hash, count_check;
    store_count_fn     count_fn;
    void              *count_arg;
    uint64_t           n_counted_blks, n_counted_recs;
};

/* cursor.c */
/* 1 if decoded record r (labels mapped by ids) passes the filter. */
int  cursor_rec_ok(struct store_cursor *c, const struct store_rec *r,
                   const uint32_t *ids);
/* 1 if the filter selects global label id (host, container, image, the
 * selection). */
int  cursor_label_sel(struct store_cursor *c, uint32_t id);
/* The directory entry of a segment candidate; NULL if retention deleted
 * it. Under store.mu, valid until it is released. */
struct store_blk *cursor_blk(struct store_cursor *c, const struct cur_cand *k);

/* cursor_merge.c */
/* Releases the merge's runs, buffers and helper thread. */
void cursor_merge_fini(struct store_cursor *c);
/* Key order of two selected records: <0, 0 (same key), >0. */
int  cursor_sort_key_cmp(const struct cur_sort *x, const struct cur_sort *y);
/* Selects the records of the run's decoded block (n records; keep: the
 * token prefilter, or NULL) that pass the filter, in key order (with
 * drops while is_dropping). */
void cursor_run_select(struct store_cursor *c, struct cur_run *run,
                       uint32_t n, const uint8_t *keep);
/* The bytes of a slot's buffers (counted in mem_held). */
size_t cursor_slot_mem(const struct cur_slot *sl);
/* (Re)reads the run's block and selects its records: 1 (the run holds a
 * slot, its head its next record), 0 gone, -1 damaged. */
int  cursor_run_load(struct store_cursor *c, struct cur_run *run);
/* The index in the run's selection of its record at run->pos. */
uint32_t cursor_run_index(const struct store_cursor *c,
                          const struct cur_run *run);
void cursor_heap_push(struct store_cursor *c, struct cur_run *run);
void cursor_heap_down(struct store_cursor *c, size_t i);
/* Counts n bytes more (cursor_mem_add) or fewer (cursor_mem_sub) in the
 * cursor's mem_held and the store's cursor_mem_total. */
void cursor_mem_add(struct store_cursor *c, size_t n);
void cursor_mem_sub(struct store_cursor *c, size_t n);
/* The bytes the cursor may hold now: of store_options.cursor_mem_max,
 * shared by every open cursor, what the others leave, and never less
 * than an equal share. */
size_t cursor_mem_limit(const struct store_cursor *c);
/* Evicts the loaded runs needed last, never keep (may be NULL), until
 * the held bytes fit cursor_mem_limit. */
void cursor_shrink(struct store_cursor *c, const struct cur_run *keep);
/* Drops a run's records, keeping what re-reading it needs; is_free frees
 * the buffers, else they are kept as spares. */
void cursor_run_unload(struct store_cursor *c, struct cur_run *run,
                       int is_free);
/* Unloads and frees the run. */
void cursor_run_free(struct store_cursor *c, struct cur_run *run);
/* Moves the heap top past the record it last gave. */
void cursor_advance(struct store_cursor *c);

/* cursor_compact.c */
/* A new slot holding copies of the run's selected records alone (in
 * key order, sel[j].i == j), or NULL when they take more than
 * 1/CUR_COMPACT_SHARE of its slot (kept as it is). */
struct cur_slot *cursor_compact(const struct store_cursor *c,
                                const struct cur_run *run);

/* cursor_bcache.c */
/* Keeps a copy of a block's raw body just read, in place of the entry
 * used longest ago (under store.mu). */
void cursor_bcache_put(struct store *s, uint64_t seq, uint32_t blk,
                       uint32_t frame, const struct store_blk *b,
                       const struct buf *raw);
/* Copies block b's raw body from the cache into ld->raw (under
 * store.mu): 1 done, 0 not cached. */
int  cursor_bcache_copy(struct store_cursor *c, const struct cur_cand *k,
                        const struct store_blk *b, struct blk_load *ld);
/* Decodes a cached body copied into ld->raw (without store.mu): 1 done,
 * 0 read it from disk instead. */
int  cursor_bcache_decode(struct store_cursor *c, const struct cur_cand *k,
                          const struct blk_req *rq, struct blk_load *ld);

/* cursor_exact.c */
/* 1 if the cost cap could be reached once add more bytes are opened
 * (is_dropping). */
int  cursor_is_near_cap(const struct store_cursor *c, uint64_t add);
/* From now on nothing is dropped: the open runs and the phantoms passed
 * since the last record returned are made exact (is_dropping). */
void cursor_exact(struct store_cursor *c);

#endif
