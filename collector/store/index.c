/* SPDX-License-Identifier: MIT */
/*
 * index: per-segment token index (see index.h; file format in
 * collector/STORE.md). The in-memory map is keyed by the 32-bit token hash
 * only (no token strings are kept): a collision merges two posting lists,
 * which can only add candidate blocks. Every token occurrence first goes
 * through a small per-block set that fits in cache, so the big map sees
 * each (token, block) pair once: on generated logs a 256 KiB block has
 * ~50k tokens but ~12k distinct ones, and big-map probes miss the cache.
 * Sealed files keep keys sorted by hash in pages of INDEX_PAGE_KEYS keys
 * (written here, read by index_file.c).
 */
#include "collector/store/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/store/index_internal.h"
#include "collector/store/tokenize.h"
#include "common/compress.h"
#include "common/xmalloc.h"


/* index_test_without_fields(), index_test_without_frames(): set by tests
 * before any store runs. */
static int ix_without_fields, ix_without_frames;

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
 * 36 MiB while it doubled (BENCHMARKS.md "Collector peak RSS"). */
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


/* ------------------------------------------------------------------ */
/* Varints                                                             */

static size_t
ix_varint_len(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* In-memory map                                                       */

struct index_mem *
index_mem_new(void)
{
    struct index_mem *m = xcalloc(1, sizeof(*m));

    m->size = 1024;
    m->tab = xcalloc(m->size, sizeof(*m->tab));
    m->pend_blk = UINT32_MAX;
    return m;
}

static inline struct ix_ent *
ix_ent_at(const struct index_mem *m, uint32_t idx)
{
    return &m->pages[idx >> IX_PAGE_SHIFT][idx & (IX_PAGE_ENTS - 1)];
}

void
index_mem_free(struct index_mem *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_keys; i++) {
        struct ix_ent *e = ix_ent_at(m, (uint32_t)i);
        if (e->n > 1)
            free(e->u.many);
    }
    for (size_t i = 0; i < m->n_pages; i++)
        free(m->pages[i]);
    free(m->pages);
    free(m->tab);
    free(m->flips);
    index_set_fini(&m->pend);
    free(m);
}

static inline const uint32_t *
ix_posts(const struct ix_ent *e)
{
    return e->n > 1 ? e->u.many : e->u.inl;
}

/* A new key's entry, numbered m->n_keys (not yet counted). */
static struct ix_ent *
ix_new_ent(struct index_mem *m)
{
    if (m->n_keys == m->n_pages * IX_PAGE_ENTS) {
        if (m->n_pages == m->cap_pages) {
            m->cap_pages = m->cap_pages ? m->cap_pages * 2 : 16;
            m->pages = xreallocarray(m->pages, m->cap_pages,
                                     sizeof(*m->pages));
        }
        m->pages[m->n_pages++] = xmalloc(IX_PAGE_ENTS * sizeof(struct ix_ent));
    }
    return ix_ent_at(m, (uint32_t)m->n_keys);
}

static void
ix_grow(struct index_mem *m)
{
    size_t nsize = m->size * 2;
    struct ix_slot *nt = xcalloc(nsize, sizeof(*nt));

    for (size_t i = 0; i < m->size; i++) {
        if (!m->tab[i].hash)
            continue;
        size_t k = m->tab[i].hash & (nsize - 1);
        while (nt[k].hash)
            k = (k + 1) & (nsize - 1);
        nt[k] = m->tab[i];
    }
    free(m->tab);
    m->tab = nt;
    m->size = nsize;
}

static inline uint32_t *
ix_posts_rw(struct ix_ent *e)
{
    return e->n > 1 ? e->u.many : e->u.inl;
}

static void
ix_push(struct index_mem *m, struct ix_ent *e, uint32_t blk, uint32_t cw)
{
    uint32_t n = e->n;

    if (n == 1) {
        uint32_t *p = xreallocarray(NULL, 2 * IX_CAP_MIN, sizeof(*p));
        p[0] = e->u.inl[0];
        p[1] = e->u.inl[1];
        e->u.many = p;
        m->extra_bytes += 2 * IX_CAP_MIN * sizeof(*p);
    } else if (n >= IX_CAP_MIN && (n & (n - 1)) == 0) {
        /* full: the capacity is n, a power of two from IX_CAP_MIN */
        e->u.many = xreallocarray(e->u.many, 2 * (size_t)n * 2,
                                  sizeof(uint32_t));
        m->extra_bytes += 2 * (size_t)n * sizeof(uint32_t);
    }
    e->u.many[2 * n] = blk;
    e->u.many[2 * n + 1] = cw;
    e->n = n + 1;
}

/* Key idx (older than the mark) lost its counts: undone by a rollback. */
static void
ix_note_flip(struct index_mem *m, uint32_t idx)
{
    if (m->n_flips == m->cap_flips) {
        m->cap_flips = m->cap_flips ? m->cap_flips * 2 : 16;
        m->flips = xreallocarray(m->flips, m->cap_flips, sizeof(*m->flips));
    }
    m->flips[m->n_flips++] = idx;
}

/* Adds block blk (count word cw, frames fm) to the key of hash; a second
 * token (another check) under the same hash makes the key lose its
 * counts. is_new_blk: blk is past every block added so far, so no key
 * has it yet (its postings need not be read). */
static void
ix_insert(struct index_mem *m, uint32_t hash, uint32_t check,
          int is_collided, uint32_t blk, uint32_t cw, uint32_t fm,
          int is_new_blk)
{
    uint32_t w = blk | (fm & INDEX_FRAMES_ALL) << IX_BLK_BITS;

    if ((m->n_keys + 1) * 4 > m->size * 3)
        ix_grow(m);
    size_t mask = m->size - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct ix_slot *sl = &m->tab[i];
        if (sl->hash == hash) {
            struct ix_ent *e = ix_ent_at(m, sl->idx);
            if ((e->check != check || is_collided) && !e->is_collided) {
                if (m->is_marked && sl->idx < m->mark_keys)
                    ix_note_flip(m, sl->idx);
                e->is_collided = 1;
            }
            uint32_t *last = &ix_posts_rw(e)[2 * (e->n - 1)];
            if (is_new_blk || IX_BLK(*last) != blk)
                ix_push(m, e, w, cw);
            else
                *last |= w;             /* the same block again */
            return;
        }
        if (!sl->hash) {
            struct ix_ent *e = ix_new_ent(m);
            sl->hash = hash;
            sl->idx = (uint32_t)m->n_keys++;
            e->check = check;
            e->is_collided = is_collided != 0;
            e->n = 1;
            e->u.inl[0] = w;
            e->u.inl[1] = cw;
            return;
        }
    }
}

void
index_mem_flush(struct index_mem *m)
{
    if (m->pend.n > 0)
        index_mem_add_set(m, m->pend_blk, &m->pend);
    if (m->pend.tab != NULL)
        index_set_reset(&m->pend);
}

void
index_mem_add_text_frame(struct index_mem *m, uint32_t blk, uint32_t fbit,
                         const void *text, size_t len)
{
    if (blk != m->pend_blk) {
        index_mem_flush(m);
        m->pend_blk = blk;
    }
    if (m->pend.tab == NULL)
        index_set_init(&m->pend);
    m->pend.frame = fbit;
    index_set_add_text(&m->pend, text, len);
}

void
index_mem_add_text(struct index_mem *m, uint32_t blk, const void *text,
                   size_t len)
{
    index_mem_add_text_frame(m, blk, 0, text, len);
}

/* ------------------------------------------------------------------ */
/* Per-block hash sets (built off the store's thread)                  */

void
index_set_init(struct index_set *set)
{
    set->size = 1u << 14;
    set->n = 0;
    set->rec = 0;
    set->frame = 0;
    set->tab = xcalloc(set->size, sizeof(*set->tab));
}

void
index_set_fini(struct index_set *set)
{
    free(set->tab);
    set->tab = NULL;
    set->size = set->n = 0;
}

void
index_set_reset(struct index_set *set)
{
    if (set->n)
        memset(set->tab, 0, set->size * sizeof(*set->tab));
    set->n = 0;
    set->rec = 0;
    set->frame = 0;
}

static struct index_set_ent *
ix_set_slot(struct index_set *set, uint32_t hash)
{
    size_t mask = set->size - 1;

    for (size_t i = (hash >> 7) & mask;; i = (i + 1) & mask)
        if (set->tab[i].hash == hash || !set->tab[i].hash)
            return &set->tab[i];
}

/* A key new to the set, in the empty slot e (found by ix_batch_flush): the
 * table grows first when it would pass half full (then e moves). Apart
 * from ix_batch_flush's hot path: about one token in 15 is new to its block
 * on generated logs. */
static __attribute__((noinline)) struct index_set_ent *
ix_set_new(struct index_set *set, struct index_set_ent *e, uint32_t hash,
           uint32_t check)
{
    if ((set->n + 1) * 2 > set->size) {
        struct index_set_ent *old = set->tab;
        size_t osize = set->size;
        set->size *= 2;
        set->tab = xcalloc(set->size, sizeof(*set->tab));
        for (size_t i = 0; i < osize; i++)
            if (old[i].hash)
                *ix_set_slot(set, old[i].hash) = old[i];
        free(old);
        e = ix_set_slot(set, hash);
    }
    e->hash = hash;
    e->check = check;
    e->flags = TOKENIZE_FORMS;
    set->n++;
    return e;
}

/* A record's tokens on their way into a set: each token's slot is
 * prefetched as the tokenizer gives it, and the tokens are added
 * IX_BATCH at a time, in the same order, so the set's probes overlap
 * the tokenizing instead of waiting one by one (a 1 MiB block of
 * generated logs has ~13k keys in 32k slots, 640 KiB; in the
 * collector, beside the other threads, its probes missed the cache). */
#define IX_BATCH 32

struct ix_batch {
    struct index_set     *set;
    struct index_set_ent *tab;          /* set->tab, set->size - 1 (a */
    size_t                mask;         /* flush may grow the set) */
    uint32_t              fbit;         /* the record's frame bit */
    size_t                n;
    struct {
        uint32_t hash, check, forms;
    } v[IX_BATCH];
};

/* Adds the batch's tokens to its set. The hot path of a block's tokens
 * (about 6 M in 32 MiB of generated text): a key already in the set,
 * the set's fields held in locals (a store through an entry could alias
 * them), the growth check only for a new key (ix_set_new). n_recs is not
 * capped here (it is at most the set's records, which a block's u32
 * record count bounds) but where it is read, ix_set_count. */
static void
ix_batch_flush(struct ix_batch *b)
{
    struct index_set *set = b->set;
    struct index_set_ent *tab = set->tab;
    size_t mask = set->size - 1, n = b->n;
    const uint32_t rec = set->rec, fbit = b->fbit;

    for (size_t k = 0; k < n; k++) {
        uint32_t hash = b->v[k].hash, check = b->v[k].check;
        struct index_set_ent *e;
        for (size_t i = (hash >> 7) & mask;; i = (i + 1) & mask) {
            e = &tab[i];
            if (e->hash == hash)
                break;
            if (!e->hash) {
                e = ix_set_new(set, e, hash, check);
                tab = set->tab;
                mask = set->size - 1;
                break;
            }
        }
        e->flags &= b->v[k].forms | ~TOKENIZE_FORMS;
        e->fmask |= fbit;
        if (__builtin_expect(e->check != check, 0))
            e->flags |= INDEX_SET_COLLIDED;
        if (e->last != rec) {           /* most tokens: once a record */
            e->last = rec;
            e->n_recs++;
        }
    }
    b->n = 0;
    b->tab = tab;
    b->mask = mask;
}

static int
ix_set_token_cb(uint32_t hash, uint32_t check, unsigned forms, void *arg)
{
    struct ix_batch *b = arg;

    if (b->n == IX_BATCH)
        ix_batch_flush(b);
    __builtin_prefetch(&b->tab[(hash >> 7) & b->mask], 1);
    b->v[b->n].hash = hash;
    b->v[b->n].check = check;
    b->v[b->n++].forms = forms;
    return 0;
}

void
index_set_add_text(struct index_set *set, const void *text, size_t len)
{
    struct ix_batch b;

    set->rec++;                         /* 0 is "no record yet" */
    if (set->rec == 0)
        set->rec = 1;
    b.set = set;
    b.tab = set->tab;
    b.mask = set->size - 1;
    b.fbit = 1u << (set->frame % INDEX_FRAME_BITS);
    b.n = 0;
    tokenize_foreach_ex(text, len, ix_set_token_cb, &b);
    if (!ix_without_fields)
        tokenize_fields_ex(text, len, ix_set_token_cb, &b);
    ix_batch_flush(&b);
}

/* The records of the set holding e's token, capped as a count word
 * holds them. */
static inline uint32_t
ix_set_count(const struct index_set_ent *e)
{
    return e->n_recs < INDEX_MAX_COUNT ? e->n_recs : INDEX_MAX_COUNT;
}

static void
ix_insert_ent(struct index_mem *m, const struct index_set_ent *e,
              uint32_t blk, int is_new_blk)
{
    ix_insert(m, e->hash, e->check, (e->flags & INDEX_SET_COLLIDED) != 0,
              blk, ix_set_count(e) << 3 | (e->flags & TOKENIZE_FORMS),
              e->fmask ? e->fmask : INDEX_FRAMES_ALL, is_new_blk);
}

/* The set's keys go into the map IX_BATCH at a time, each one's slot
 * prefetched when it is picked: the map of a segment is tens of MiB, so
 * each insert is a cache miss, and these overlap. Same order as one by
 * one, so the same map. */
void
index_mem_add_set(struct index_mem *m, uint32_t blk,
                  const struct index_set *set)
{
    const struct index_set_ent *q[IX_BATCH];
    size_t n = 0;
    int is_new_blk = !m->has_blk || blk > m->max_blk;

    if (blk >= INDEX_MAX_BLKS) {
        m->is_over = 1;                 /* past what a block word holds */
        return;
    }
    m->has_blk = 1;
    if (blk > m->max_blk)
        m->max_blk = blk;
    for (size_t i = 0; i < set->size; i++) {
        const struct index_set_ent *e = &set->tab[i];
        if (!e->hash)
            continue;
        __builtin_prefetch(&m->tab[e->hash & (m->size - 1)], 1);
        q[n++] = e;
        if (n == IX_BATCH) {
            for (size_t k = 0; k < n; k++)
                ix_insert_ent(m, q[k], blk, is_new_blk);
            n = 0;
        }
    }
    for (size_t k = 0; k < n; k++)
        ix_insert_ent(m, q[k], blk, is_new_blk);
}

/* ------------------------------------------------------------------ */
/* A speculative add: mark, then keep or roll back                     */

void
index_mem_mark(struct index_mem *m)
{
    m->is_marked = 1;
    m->mark_has_blk = m->has_blk;
    m->mark_is_over = m->is_over;
    m->mark_max_blk = m->max_blk;
    m->mark_keys = m->n_keys;
    m->mark_size = m->size;
    m->n_flips = 0;
}

void
index_mem_keep(struct index_mem *m)
{
    m->is_marked = 0;
    m->n_flips = 0;
}

/* Pairs a postings array of n >= 2 pairs has room for (ix_push). */
static size_t
ix_cap_pairs(uint32_t n)
{
    size_t c = IX_CAP_MIN;

    while (c < n)
        c *= 2;
    return c;
}

/* Drops the last of e's postings (e->n >= 2), shrinking the array as
 * ix_push grew it, so that the bytes held are those of a key that never
 * had it. */
static void
ix_pop(struct index_mem *m, struct ix_ent *e)
{
    uint32_t n = e->n;
    size_t had = ix_cap_pairs(n);

    if (n == 2) {
        uint32_t *p = e->u.many;
        e->u.inl[0] = p[0];
        e->u.inl[1] = p[1];
        free(p);
        m->extra_bytes -= had * 2 * sizeof(uint32_t);
    } else if (ix_cap_pairs(n - 1) < had) {
        size_t cap = ix_cap_pairs(n - 1);
        e->u.many = xreallocarray(e->u.many, 2 * cap, sizeof(uint32_t));
        m->extra_bytes -= (had - cap) * 2 * sizeof(uint32_t);
    }
    e->n = n - 1;
}

void
index_mem_rollback(struct index_mem *m)
{
    if (!m->is_marked)
        return;
    /* Keys of then: their postings of blocks past the mark's highest go
     * (a key of then has one at or below it, so none is emptied). */
    for (size_t i = 0; i < m->mark_keys; i++) {
        struct ix_ent *e = ix_ent_at(m, (uint32_t)i);
        while (e->n > 1 &&
               IX_BLK(ix_posts(e)[2 * (e->n - 1)]) > m->mark_max_blk)
            ix_pop(m, e);
    }
    for (size_t i = 0; i < m->n_flips; i++)
        ix_ent_at(m, m->flips[i])->is_collided = 0;
    /* Keys since: entries, pages past the last needed and slots go. */
    for (size_t i = m->mark_keys; i < m->n_keys; i++) {
        struct ix_ent *e = ix_ent_at(m, (uint32_t)i);
        if (e->n > 1) {
            m->extra_bytes -= ix_cap_pairs(e->n) * 2 * sizeof(uint32_t);
            free(e->u.many);
        }
    }
    size_t n_pages = (m->mark_keys + IX_PAGE_ENTS - 1) / IX_PAGE_ENTS;
    for (size_t i = n_pages; i < m->n_pages; i++)
        free(m->pages[i]);
    m->n_pages = n_pages;
    if (m->n_keys > m->mark_keys) {
        /* the table as it was (it may have grown since) */
        struct ix_slot *nt = xcalloc(m->mark_size, sizeof(*nt));
        size_t mask = m->mark_size - 1;
        for (size_t i = 0; i < m->size; i++) {
            if (!m->tab[i].hash || m->tab[i].idx >= m->mark_keys)
                continue;
            size_t k = m->tab[i].hash & mask;
            while (nt[k].hash)
                k = (k + 1) & mask;
            nt[k] = m->tab[i];
        }
        free(m->tab);
        m->tab = nt;
        m->size = m->mark_size;
        m->n_keys = m->mark_keys;
    }
    m->has_blk = m->mark_has_blk;
    m->max_blk = m->mark_max_blk;
    m->is_over = m->mark_is_over;
    index_mem_keep(m);
}

size_t
index_mem_n_keys(const struct index_mem *m)
{
    return m->n_keys;
}

size_t
index_mem_bytes(const struct index_mem *m)
{
    return sizeof(*m) + m->size * sizeof(*m->tab) +
           m->n_pages * IX_PAGE_ENTS * sizeof(struct ix_ent) +
           m->cap_pages * sizeof(*m->pages) +
           m->pend.size * sizeof(*m->pend.tab) + m->extra_bytes;
}

static const struct ix_ent *
ix_find(const struct index_mem *m, uint32_t hash)
{
    size_t mask = m->size - 1;

    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        if (m->tab[i].hash == hash)
            return ix_ent_at(m, m->tab[i].idx);
        if (!m->tab[i].hash)
            return NULL;
    }
}

void
index_mem_lookup_frames(const struct index_mem *m, uint32_t hash,
                        uint64_t *bits, uint32_t *fmask, uint32_t n_bits)
{
    if (m->is_over) {
        for (uint32_t b = 0; b < n_bits; b++) {
            bits[b / 64] |= 1ull << (b % 64);
            if (fmask)
                fmask[b] = INDEX_FRAMES_ALL;
        }
        return;
    }
    const struct ix_ent *e = ix_find(m, hash);

    if (!e)
        return;
    const uint32_t *p = ix_posts(e);
    for (uint32_t i = 0; i < e->n; i++) {
        uint32_t b = IX_BLK(p[2 * i]);
        if (b >= n_bits)
            continue;
        bits[b / 64] |= 1ull << (b % 64);
        if (fmask)
            fmask[b] = IX_FM(p[2 * i]);
    }
}

void
index_mem_lookup(const struct index_mem *m, uint32_t hash, uint64_t *bits,
                 uint32_t n_bits)
{
    index_mem_lookup_frames(m, hash, bits, NULL, n_bits);
}

int
index_mem_counts(const struct index_mem *m, uint32_t hash, uint32_t check,
                 uint32_t *cw, uint32_t n_bits)
{
    const struct ix_ent *e = ix_find(m, hash);

    if (m->is_over || !e || e->is_collided || e->check != check)
        return 0;
    const uint32_t *p = ix_posts(e);
    for (uint32_t i = 0; i < e->n; i++)
        if (IX_BLK(p[2 * i]) < n_bits)
            cw[IX_BLK(p[2 * i])] = p[2 * i + 1];
    return 1;
}

/* ------------------------------------------------------------------ */
/* Encoding a sealed index                                             */

/* LSD radix sort of a[0..n) by bits 32..55 (3 passes of 8 bits) through
 * tmp (n words); the result in a. */
static void
ix_sort_low24(uint64_t *a, uint64_t *tmp, size_t n)
{
    uint64_t *src = a, *dst = tmp;

    if (n < 2)
        return;
    for (unsigned shift = 32; shift < 56; shift += 8) {
        size_t pos[256] = { 0 };
        for (size_t i = 0; i < n; i++)
            pos[(src[i] >> shift) & 0xff]++;
        for (size_t d = 0, sum = 0; d < 256; d++) {
            size_t c = pos[d];
            pos[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[pos[(src[i] >> shift) & 0xff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    memcpy(a, src, n * sizeof(*a));     /* 3 passes: src is tmp */
}

/* The map's keys in hash order: m->n_keys words (hash << 32 | entry
 * number), to free. Hashes are distinct, so the order is total: the
 * slots go straight into 256 buckets by their hash's top byte, and each
 * bucket is radix sorted by the other 24 bits through a scratch of the
 * largest bucket's size (where qsort's comparisons of entries scattered
 * over the table were ~5% of the collector's CPU, and an LSD sort of the
 * whole array needed a second one: 4 MiB more at a seal of 512 Ki keys). */
static uint64_t *
ix_sorted_keys(const struct index_mem *m)
{
    size_t n = m->n_keys, start[257] = { 0 }, fill[256], max_b = 1;
    uint64_t *a = xcalloc(n ? n : 1, sizeof(*a));

    for (size_t i = 0; i < m->size; i++)
        if (m->tab[i].hash)
            start[(m->tab[i].hash >> 24) + 1]++;
    for (size_t d = 0; d < 256; d++) {
        if (start[d + 1] > max_b)
            max_b = start[d + 1];
        start[d + 1] += start[d];
        fill[d] = start[d];
    }
    for (size_t i = 0; i < m->size; i++)
        if (m->tab[i].hash)
            a[fill[m->tab[i].hash >> 24]++] =
                (uint64_t)m->tab[i].hash << 32 | m->tab[i].idx;
    uint64_t *tmp = xcalloc(max_b, sizeof(*tmp));
    for (size_t d = 0; d < 256; d++)
        ix_sort_low24(a + start[d], tmp, start[d + 1] - start[d]);
    free(tmp);
    return a;
}

static uint32_t
ix_fcode(uint32_t fm)
{
    if (fm != 0 && (fm & (fm - 1)) == 0 && fm < (1u << IX_FCODE_MASK))
        return (uint32_t)__builtin_ctz(fm);
    return IX_FCODE_MASK;
}

/* varint (v << 3 | the frame code of fm), then the mask if the code says
 * so. */
static int
ix_put_fblk(struct buf *b, uint64_t v, uint32_t fm)
{
    uint32_t code = ix_fcode(fm);

    if (buf_put_varint(b, v << 3 | code) < 0)
        return -1;
    return code == IX_FCODE_MASK ? buf_put_varint(b, fm) : 0;
}

/* Postings: varint hdr, low two bits the kind: 0 list (count = hdr >> 2,
 * then count varints: first block, then each gap minus one), 1 bitmap
 * (count = hdr >> 2, then n_blks bits), 2 one block (hdr >> 2), 3 (version
 * 5) counted: count = hdr >> 3, bit 2 a bitmap, else a list, then u32
 * check and count varints of count words (records holding the token << 3
 * | the spellings every occurrence is in), one per block in order. The
 * smallest of list and bitmap is written; most keys (ids, numbers) are in
 * one block; keys in IX_COUNT_MIN_BLKS blocks or more that hold one token
 * are counted. Version 6: a key in fewer blocks is one block or a list,
 * each block number v written as v << 3 | its frame code (ix_put_fblk). */
static int
ix_put_postings(struct buf *b, const struct ix_ent *e, uint32_t n_blks)
{
    const uint32_t *p = ix_posts(e);
    size_t list_len = 0, map_len = (n_blks + 7) / 8;
    int is_framed = !ix_without_fields && !ix_without_frames &&
                    e->n < IX_COUNT_MIN_BLKS;

#define IX_P(i) IX_BLK(p[2 * (i)])
    if (e->n == 1 && is_framed) {
        uint32_t code = ix_fcode(IX_FM(p[0]));
        if (buf_put_varint(b, (((uint64_t)IX_P(0) << 3 | code) << 2) | 2) < 0)
            return -1;
        return code == IX_FCODE_MASK ? buf_put_varint(b, IX_FM(p[0])) : 0;
    }
    if (e->n == 1)
        return buf_put_varint(b, ((uint64_t)IX_P(0) << 2) | 2);
    if (is_framed) {
        if (buf_put_varint(b, (uint64_t)e->n << 2) < 0)
            return -1;
        for (uint32_t i = 0; i < e->n; i++)
            if (ix_put_fblk(b, i ? IX_P(i) - IX_P(i - 1) - 1 : IX_P(0),
                            IX_FM(p[2 * i])) < 0)
                return -1;
        return 0;
    }
    for (uint32_t i = 0; i < e->n; i++)
        list_len += ix_varint_len(i ? IX_P(i) - IX_P(i - 1) - 1 : IX_P(0));
    int is_map = map_len < list_len;
    int is_counted = !ix_without_fields && !e->is_collided &&
                     e->n >= IX_COUNT_MIN_BLKS;
    uint64_t hdr = is_counted
                   ? ((uint64_t)e->n << 3) | (uint64_t)is_map << 2 | 3
                   : ((uint64_t)e->n << 2) | (uint64_t)is_map;
    if (buf_put_varint(b, hdr) < 0)
        return -1;
    if (is_map) {
        if (buf_reserve(b, map_len) < 0)
            return -1;
        uint8_t *q = b->data + b->len;
        memset(q, 0, map_len);
        for (uint32_t i = 0; i < e->n; i++)
            q[IX_P(i) / 8] |= (uint8_t)(1u << (IX_P(i) % 8));
        b->len += map_len;
    } else {
        for (uint32_t i = 0; i < e->n; i++)
            if (buf_put_varint(b, i ? IX_P(i) - IX_P(i - 1) - 1
                                    : IX_P(0)) < 0)
                return -1;
    }
#undef IX_P
    if (!is_counted)
        return 0;
    if (buf_put_u32(b, e->check) < 0)
        return -1;
    for (uint32_t i = 0; i < e->n; i++)
        if (buf_put_varint(b, p[2 * i + 1]) < 0)
            return -1;
    return 0;
}

/* Encodes the pages of the sorted keys into pages, the directory into dir
 * (first hash, length, crc per page). */
/* Where index_mem_write's pages go: the directory in memory, the pages
 * through a buffer handed to fn at page boundaries once it holds chunk
 * bytes. */
struct ix_sink {
    index_write_fn fn;
    void          *arg;
    struct buf     pages, dir;
    uint64_t       off;                 /* file offset of pages.data */
    size_t         chunk;
};

static int
ix_sink_flush(struct ix_sink *k)
{
    if (k->pages.len == 0)
        return 0;
    if (k->fn(k->arg, k->off, k->pages.data, k->pages.len) < 0)
        return -1;
    k->off += k->pages.len;
    buf_reset(&k->pages);
    return 0;
}

/* Encodes the pages of the sorted keys into k, the directory into
 * k->dir (first hash, length, crc per page). */
static int
ix_encode_pages(const struct index_mem *m, const uint64_t *keys, size_t n,
                uint32_t n_blks, struct ix_sink *k)
{
    struct buf *pages = &k->pages;

    for (size_t i = 0; i < n; i += INDEX_PAGE_KEYS) {
        size_t cnt = n - i < INDEX_PAGE_KEYS ? n - i : INDEX_PAGE_KEYS;
        size_t start = pages->len;
        uint32_t first = (uint32_t)(keys[i] >> 32), prev = first;
        if (buf_put_varint(pages, cnt) < 0)
            return -1;
        for (size_t j = i; j < i + cnt; j++) {
            uint32_t hash = (uint32_t)(keys[j] >> 32);
            if (buf_put_varint(pages, hash - prev) < 0 ||
                ix_put_postings(pages, ix_ent_at(m, (uint32_t)keys[j]),
                                n_blks) < 0)
                return -1;
            prev = hash;
        }
        size_t plen = pages->len - start;
        if (buf_put_u32(&k->dir, first) < 0 ||
            buf_put_u32(&k->dir, (uint32_t)plen) < 0 ||
            buf_put_u32(&k->dir,
                        compress_crc32(0, pages->data + start, plen)) < 0)
            return -1;
        if (pages->len >= k->chunk && ix_sink_flush(k) < 0)
            return -1;
    }
    return ix_sink_flush(k);
}

int
index_mem_write(const struct index_mem *m, uint64_t seq,
                const struct index_blkref *blks, uint32_t n_blks,
                size_t chunk, index_write_fn fn, void *arg)
{
    uint64_t *keys = ix_sorted_keys(m);
    size_t n = m->n_keys;
    uint32_t n_pages = (uint32_t)((n + INDEX_PAGE_KEYS - 1) / INDEX_PAGE_KEYS);
    struct ix_sink k = {
        .fn = fn, .arg = arg, .chunk = chunk,
        .off = INDEX_HDR_LEN + 12ull * n_blks + 12ull * n_pages,
    };
    struct buf head;
    int rc = -1;

    buf_init(&k.pages, SIZE_MAX);
    buf_init(&k.dir, SIZE_MAX);
    buf_init(&head, SIZE_MAX);
    if (m->is_over ||                   /* the file cannot hold its blocks */
        ix_encode_pages(m, keys, n, n_blks, &k) < 0)
        goto out;
    uint8_t h[INDEX_HDR_LEN];
    le32_store(h, INDEX_MAGIC);
    le32_store(h + 4, ix_without_fields ? INDEX_VERSION_NO_FIELDS :
                      ix_without_frames ? INDEX_VERSION_COUNTS :
                      INDEX_VERSION);
    le64_store(h + 8, seq);
    le32_store(h + 16, n_blks);
    le32_store(h + 20, n_pages);
    le32_store(h + 24, (uint32_t)n);
    le32_store(h + 28, 0);
    if (buf_append(&head, h, sizeof(h)) < 0)
        goto out;
    for (uint32_t i = 0; i < n_blks; i++)
        if (buf_put_u64(&head, blks[i].off) < 0 ||
            buf_put_u32(&head, blks[i].body_crc) < 0)
            goto out;
    if (buf_append(&head, k.dir.data, k.dir.len) < 0)
        goto out;
    uint32_t crc = compress_crc32(0, head.data, INDEX_HDR_LEN - 4);
    crc = compress_crc32(crc, head.data + INDEX_HDR_LEN,
                         head.len - INDEX_HDR_LEN);
    le32_store(head.data + 28, crc);
    rc = fn(arg, 0, head.data, head.len) < 0 ? -1 : 0;
out:
    buf_fini(&k.pages);
    buf_fini(&k.dir);
    buf_fini(&head);
    free(keys);
    return rc;
}

#define IX_BUF_CHUNK (64u << 10)

struct ix_buf_sink {
    struct buf *out;
    size_t      start;
};

static int
ix_buf_write(void *arg, uint64_t off, const void *p, size_t len)
{
    struct ix_buf_sink *o = arg;
    struct buf *out = o->out;

    if (off > out->max - o->start || len > out->max - o->start - off)
        return -1;
    size_t end = o->start + (size_t)off + len;
    if (end > out->len && buf_reserve(out, end - out->len) < 0)
        return -1;
    if (end > out->len) {
        if (o->start + off > out->len)
            memset(out->data + out->len, 0, o->start + off - out->len);
        out->len = end;
    }
    memcpy(out->data + o->start + off, p, len);
    return 0;
}

int
index_mem_encode(const struct index_mem *m, uint64_t seq,
                 const struct index_blkref *blks, uint32_t n_blks,
                 struct buf *out)
{
    struct ix_buf_sink o = { .out = out, .start = out->len };

    if (index_mem_write(m, seq, blks, n_blks, IX_BUF_CHUNK, ix_buf_write,
                        &o) < 0) {
        out->len = o.start;
        return -1;
    }
    return 0;
}

void
index_test_without_fields(int on)
{
    ix_without_fields = on != 0;
}

void
index_test_without_frames(int on)
{
    ix_without_frames = on != 0;
}
