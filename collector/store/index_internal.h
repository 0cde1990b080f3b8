/* SPDX-License-Identifier: MIT */
/*
 * index_internal: what index.c (the in-memory map and the token sets),
 * index_write.c (the .lqi writer) and index_file.c (the .lqi reader)
 * share: the file format's constants, the map's layout and its two
 * accessors, the tests' switches (collector/STORE.md "Index file").
 */
#ifndef COLLECTOR_STORE_INDEX_INTERNAL_H
#define COLLECTOR_STORE_INDEX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "collector/store/index.h"

#define IX_COUNT_MIN_BLKS 4u            /* keys in fewer blocks: no counts
                                           (and, version 6, frames) */
/* A block's frame code (version 6, index_write.c ix_fcode): the frame when one
 * frame below IX_FCODE_MASK holds the key, else IX_FCODE_MASK and the
 * mask follows as a varint. */
#define IX_FCODE_MASK 7u

/* index_test_without_fields(), index_test_without_frames(),
 * index_test_full_keys(), index_test_v9(): set by tests before any store
 * runs (defined in index.c). */
extern int ix_without_fields, ix_without_frames, ix_full_keys,
    ix_without_subwords;

/* A key of the in-memory map: its postings are (block word, count word)
 * pairs, the block word the block number (below INDEX_MAX_BLKS, 20 bits)
 * with the mask of the frames holding the key above it (IX_BLK_BITS),
 * the count word (n << 3 | forms) as in the .lqi (STORE.md). One
 * pair is held inline; from the second on they are in a malloc'd array
 * whose capacity follows from n (IX_CAP_MIN, then doubling), so a key
 * takes 16 bytes. */
struct ix_ent {
    uint32_t check;                     /* tokenize_check of its token */
    uint32_t n : 31;                    /* pairs, at least 1 */
    uint32_t is_collided : 1;           /* two tokens: no counts */
    union {
        uint32_t  inl[2];               /* n == 1 */
        uint32_t *many;                 /* n >= 2 */
    } u;
};

#define IX_CAP_MIN 4u                   /* pairs of the first array */
#define IX_BLK_BITS 20u                 /* INDEX_MAX_BLKS == 1 << 20 */
#define IX_BLK_MASK ((1u << IX_BLK_BITS) - 1)
#define IX_BLK(w)   ((w) & IX_BLK_MASK)
#define IX_FM(w)    ((w) >> IX_BLK_BITS)

/* A slot of the map's hash table: the key's hash and where its entry
 * is. Keys live in pages of IX_PAGE_ENTS entries, in insertion order,
 * which never move: growing the table rehashes 8-byte slots only. At
 * 512 Ki keys (STORE_IDX_MAX_KEYS) the table is 1 Mi slots, 8 MiB, and
 * the entries 8 MiB, where one table of 24-byte entries took 24 MiB and
 * 36 MiB while it doubled (BENCHMARKS.md "Collector peak RSS"). A new
 * table is zeroed by writes before a probe reads it (index.c ix_tab_new:
 * no zero-page copy-on-write and its TLB shootdowns). */
struct ix_slot {
    uint32_t hash;                      /* 0: empty */
    uint32_t idx;                       /* entry number */
};

#define IX_PAGE_SHIFT 12
#define IX_PAGE_ENTS  (1u << IX_PAGE_SHIFT)     /* 64 KiB a page */

struct index_mem {
    struct ix_slot  *tab;
    size_t           size, n_keys, extra_bytes;
    struct ix_ent  **pages;             /* n_keys entries */
    size_t           n_pages, cap_pages;
    struct index_set pend;              /* index_mem_add_text's block */
    uint32_t         pend_blk;
    uint32_t         max_blk;           /* the highest block added */
    int              has_blk;           /* max_blk is set */
    int              is_over;           /* a block number past
                                           INDEX_MAX_BLKS came: the map
                                           cannot tell (every block may
                                           hold every key), no file */
    /* index_mem_mark: the map as it was (keys, highest block) and the
     * keys of then that lost their counts since, for index_mem_rollback */
    int              is_marked, mark_has_blk, mark_is_over;
    uint32_t         mark_max_blk;
    size_t           mark_keys, mark_size;
    uint32_t        *flips;
    size_t           n_flips, cap_flips;
};

/* Tests only: index_mem_add_set one key at a time, without its
 * pipeline (the same map). */
void index_mem_add_set_ref(struct index_mem *m, uint32_t blk,
                           const struct index_set *set);

static inline struct ix_ent *
ix_ent_at(const struct index_mem *m, uint32_t idx)
{
    return &m->pages[idx >> IX_PAGE_SHIFT][idx & (IX_PAGE_ENTS - 1)];
}

static inline const uint32_t *
ix_posts(const struct ix_ent *e)
{
    return e->n > 1 ? e->u.many : e->u.inl;
}

#endif
