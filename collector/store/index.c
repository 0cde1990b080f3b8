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
 * (written by index_write.c, read by index_file.c).
 */
#include "collector/store/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/store/index_internal.h"
#include "collector/store/tokenize.h"
#include "common/xmalloc.h"


_Static_assert(sizeof(struct index_set_ent) == 16, "a set entry's size");
_Static_assert(INDEX_SET_FSHIFT + INDEX_FRAME_BITS <= 16 &&
               INDEX_SET_COLLIDED + TOKENIZE_FORMS <= INDEX_SET_FLAGS &&
               INDEX_SET_FLAGS < 1u << INDEX_SET_FSHIFT,
               "the forms, the collision and the frames in index_set_ent.fl");

/* index_test_without_fields(), index_test_without_frames(),
 * index_test_full_keys(), index_test_v9(): set by tests before any store
 * runs. */
int ix_without_fields, ix_without_frames, ix_full_keys, ix_without_subwords;


/* ------------------------------------------------------------------ */
/* In-memory map                                                       */

/* An empty table of size slots, its pages written first. A big calloc
 * is fresh mmap'd pages, which ix_grow's probes (reads) mapped to the
 * shared zero page; its first insert into each page then took a second
 * fault, whose copy-on-write flushes the page's TLB entry on the other
 * core running a collector thread (an IPI, a VM exit here): ix_grow was
 * 18% of the indexing thread's samples at 1 GiB, 13% in those faults
 * and shootdowns (BENCHMARKS.md "The open segment's map"). memset
 * faults each page in once, for writing, with no flush. */
static struct ix_slot *
ix_tab_new(size_t size)
{
    struct ix_slot *t = xreallocarray(NULL, size, sizeof(*t));

    memset(t, 0, size * sizeof(*t));
    return t;
}

#define IX_TAB_MIN 1024u               /* slots of a new map's table */
#define IX_TAB_MAX (1u << 21)           /* slots index_mem_new_keys makes
                                           at most (16 MiB; a segment's
                                           map ends at 1 Mi: 512 Ki keys) */

/* The table's slots once n_keys keys are in (ix_insert's growth rule:
 * the table doubles before a key would fill it past 3/4). */
static size_t
ix_tab_size_for(size_t n_keys)
{
    size_t size = IX_TAB_MIN;

    while (size < IX_TAB_MAX && n_keys * 4 > size * 3)
        size *= 2;
    return size;
}

struct index_mem *
index_mem_new_keys(size_t n_keys)
{
    struct index_mem *m = xcalloc(1, sizeof(*m));

    m->size = ix_tab_size_for(n_keys);
    m->tab = ix_tab_new(m->size);
    m->pend_blk = UINT32_MAX;
    return m;
}

struct index_mem *
index_mem_new(void)
{
    return index_mem_new_keys(0);
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
    struct ix_slot *nt = ix_tab_new(nsize);

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

/* Adds block word w (the block and its frames, IX_BLK_BITS) and count
 * word cw to the key numbered idx; a second token (another check) under
 * its hash makes the key lose its counts. is_new_blk: the block is past
 * every block added so far, so no key has it yet (its postings need not
 * be read). */
static inline void
ix_add_to(struct index_mem *m, uint32_t idx, uint32_t check,
          int is_collided, uint32_t w, uint32_t cw, int is_new_blk)
{
    struct ix_ent *e = ix_ent_at(m, idx);

    if ((e->check != check || is_collided) && !e->is_collided) {
        if (m->is_marked && idx < m->mark_keys)
            ix_note_flip(m, idx);
        e->is_collided = 1;
    }
    uint32_t *last = &ix_posts_rw(e)[2 * (e->n - 1)];
    if (is_new_blk || IX_BLK(*last) != IX_BLK(w))
        ix_push(m, e, w, cw);
    else
        *last |= w;                     /* the same block again */
}

/* Adds block blk (count word cw, frames fm) to the key of hash (ix_add_to),
 * making the key if the map has none. */
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
            ix_add_to(m, sl->idx, check, is_collided, w, cw, is_new_blk);
            return;
        }
        if (!sl->hash) {
            struct ix_ent *e = ix_new_ent(m);
            sl->hash = hash;
            sl->idx = (uint32_t)m->n_keys++;
            /* stored whole, from a local: the bit-fields set in place
             * read the new entry's line first (a miss: 8% of
             * ix_pipe_step's samples) */
            struct ix_ent ne = { .check = check, .n = 1,
                                 .is_collided = is_collided != 0,
                                 .u.inl = { w, cw } };
            memcpy(e, &ne, sizeof(ne));
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
    set->memo = NULL;
    set->tab = xcalloc(set->size, sizeof(*set->tab));
}

void
index_set_fini(struct index_set *set)
{
    free(set->tab);
    set->tab = NULL;
    set->memo = NULL;
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
    if (set->memo) {                    /* the texts begin again */
        set->memo->prev = NULL;
        set->memo->n = 0;
    }
}

static struct index_set_ent *
ix_set_slot(struct index_set *set, uint32_t hash)
{
    size_t mask = set->size - 1;

    for (size_t i = (hash >> 7) & mask;; i = (i + 1) & mask)
        if (set->tab[i].hash == hash || !set->tab[i].hash)
            return &set->tab[i];
}

const struct index_set_ent *
index_set_find(const struct index_set *set, uint32_t hash)
{
    if (set->size == 0 || hash == 0)
        return NULL;
    const struct index_set_ent *e =
        ix_set_slot((struct index_set *)set, hash);
    return e->hash == hash ? e : NULL;
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
    e->fl = TOKENIZE_FORMS;
    set->n++;
    return e;
}

/* A record's tokens on their way into a set: each token's slot is
 * prefetched as the tokenizer gives it, and the tokens are added
 * IX_BATCH at a time, in the same order, so the set's probes overlap
 * the tokenizing instead of waiting one by one (a 1 MiB block of
 * generated logs has ~13k keys in 32k slots, 512 KiB; in the
 * collector, beside the other threads, its probes missed the cache). */
#define IX_BATCH 32

struct ix_batch {
    struct index_set     *set;
    struct index_set_ent *tab;          /* set->tab, set->size - 1 (a */
    size_t                mask;         /* flush may grow the set) */
    uint16_t              fl;           /* the record's frame bit, in
                                           index_set_ent.fl */
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
    const uint16_t rec = (uint16_t)set->rec, fl = b->fl;

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
        e->fl = (uint16_t)((e->fl & (b->v[k].forms | ~TOKENIZE_FORMS)) |
                           fl);
        if (__builtin_expect(e->check != check, 0))
            e->fl |= INDEX_SET_COLLIDED;
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

    /* A record's number in 16 bits (index_set_ent.last) is never 0, the
     * "no record yet" of a new entry: at each multiple of 65536 every
     * entry's last is cleared (the same number comes again) and the
     * multiple skipped. */
    if ((uint16_t)++set->rec == 0) {
        for (size_t i = 0; i < set->size; i++)
            set->tab[i].last = 0;
        set->rec++;
    }
    b.set = set;
    b.tab = set->tab;
    b.mask = set->size - 1;
    b.fl = (uint16_t)(1u << (set->frame % INDEX_FRAME_BITS)
                      << INDEX_SET_FSHIFT);
    b.n = 0;
    if (set->memo) {                    /* sub-words by memo->with_subwords */
        tokenize_foreach_ex_memo(set->memo, text, len, ix_set_token_cb, &b);
    } else {
        tokenize_foreach_ex(text, len, ix_set_token_cb, &b);
        if (!ix_without_subwords && tokenize_has_high(text, len))
            tokenize_subwords_ex(text, len, ix_set_token_cb, &b);
    }
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

/* index_mem_add_set's pipeline: a set's keys in slot order, each going
 * through three steps IX_AHEAD keys apart, so that the map's three
 * dependent cache misses of a key (its slot, its entry, its postings'
 * end: the map of a segment is tens of MiB, each a miss) are in flight
 * for IX_AHEAD keys at once instead of one after another:
 *   push  the key's slot prefetched
 *   find  its slot probed (a read only): the entry number of a key the
 *         map has, whose entry is prefetched; none for a new key
 *   posts the entry read, the end of its postings prefetched
 *   add   ix_add_to the entry found, or ix_insert (a new key, probed
 *         again: the table may have grown or filled since)
 * Exact: a set holds each hash once, so no add of the pipeline makes or
 * moves the entry of a key found before it (entries never move, only
 * slots do), and the keys are added in the same order as one by one, so
 * the map is the same. */
#define IX_AHEAD 8u
#define IX_RING  32u                    /* > 3 * IX_AHEAD, a power of 2 */

struct ix_pipe {
    struct index_mem *m;
    uint32_t          blk;
    int               is_new_blk;
    size_t            n;                /* keys pushed */
    struct {
        const struct index_set_ent *e;
        uint32_t                    idx;    /* UINT32_MAX: a new key */
    } v[IX_RING];
};

static inline void
ix_pipe_find(struct ix_pipe *q, size_t j)
{
    const struct index_mem *m = q->m;
    uint32_t hash = q->v[j % IX_RING].e->hash;
    size_t mask = m->size - 1;

    q->v[j % IX_RING].idx = UINT32_MAX;
    for (size_t i = hash & mask; m->tab[i].hash; i = (i + 1) & mask)
        if (m->tab[i].hash == hash) {
            q->v[j % IX_RING].idx = m->tab[i].idx;
            __builtin_prefetch(ix_ent_at(m, m->tab[i].idx), 1);
            return;
        }
}

static inline void
ix_pipe_add(struct ix_pipe *q, size_t j)
{
    const struct index_set_ent *e = q->v[j % IX_RING].e;
    uint32_t idx = q->v[j % IX_RING].idx;
    uint32_t cw = ix_set_count(e) << 3 | (e->fl & TOKENIZE_FORMS);
    uint32_t fm = index_set_ent_fmask(e) ? index_set_ent_fmask(e)
                                         : INDEX_FRAMES_ALL;
    int is_collided = (e->fl & INDEX_SET_COLLIDED) != 0;

    if (idx == UINT32_MAX) {
        ix_insert(q->m, e->hash, e->check, is_collided, q->blk, cw, fm,
                  q->is_new_blk);
        return;
    }
    if ((q->m->n_keys + 1) * 4 > q->m->size * 3)
        ix_grow(q->m);                  /* as ix_insert: the same sizes */
    ix_add_to(q->m, idx, e->check, is_collided,
              q->blk | (fm & INDEX_FRAMES_ALL) << IX_BLK_BITS, cw,
              q->is_new_blk);
}

/* Step t of the pipeline: key t - IX_AHEAD found, key t - 2 * IX_AHEAD's
 * postings prefetched, key t - 3 * IX_AHEAD added (those pushed). The
 * prefetches are in functions that also store: GCC takes a function of
 * prefetches alone for pure and drops its calls. */
static inline void
ix_pipe_step(struct ix_pipe *q, size_t t)
{
    if (t >= IX_AHEAD && t - IX_AHEAD < q->n)
        ix_pipe_find(q, t - IX_AHEAD);
    if (t >= 2 * IX_AHEAD && t - 2 * IX_AHEAD < q->n) {
        uint32_t idx = q->v[(t - 2 * IX_AHEAD) % IX_RING].idx;
        if (idx != UINT32_MAX) {
            const struct ix_ent *e = ix_ent_at(q->m, idx);
            if (e->n > 1)
                __builtin_prefetch(&e->u.many[2 * (e->n - 1)], 1);
        }
    }
    if (t >= 3 * IX_AHEAD && t - 3 * IX_AHEAD < q->n)
        ix_pipe_add(q, t - 3 * IX_AHEAD);
}

void
index_mem_add_set(struct index_mem *m, uint32_t blk,
                  const struct index_set *set)
{
    struct ix_pipe q;

    if (blk >= INDEX_MAX_BLKS) {
        m->is_over = 1;                 /* past what a block word holds */
        return;
    }
    q.m = m;
    q.blk = blk;
    q.is_new_blk = !m->has_blk || blk > m->max_blk;
    q.n = 0;
    m->has_blk = 1;
    if (blk > m->max_blk)
        m->max_blk = blk;
    for (size_t i = 0; i < set->size; i++) {
        const struct index_set_ent *e = &set->tab[i];
        if (!e->hash)
            continue;
        __builtin_prefetch(&m->tab[e->hash & (m->size - 1)]);
        q.v[q.n % IX_RING].e = e;
        q.n++;
        ix_pipe_step(&q, q.n - 1);
    }
    for (size_t t = q.n; t < q.n + 3 * IX_AHEAD; t++)
        ix_pipe_step(&q, t);
}

/* index_mem_add_set the plain way, one key at a time: the reference
 * index_test compares the pipeline with. */
void
index_mem_add_set_ref(struct index_mem *m, uint32_t blk,
                      const struct index_set *set)
{
    int is_new_blk = !m->has_blk || blk > m->max_blk;

    if (blk >= INDEX_MAX_BLKS) {
        m->is_over = 1;
        return;
    }
    m->has_blk = 1;
    if (blk > m->max_blk)
        m->max_blk = blk;
    for (size_t i = 0; i < set->size; i++) {
        const struct index_set_ent *e = &set->tab[i];
        if (e->hash)
            ix_insert(m, e->hash, e->check,
                      (e->fl & INDEX_SET_COLLIDED) != 0, blk,
                      ix_set_count(e) << 3 | (e->fl & TOKENIZE_FORMS),
                      index_set_ent_fmask(e) ? index_set_ent_fmask(e)
                                             : INDEX_FRAMES_ALL,
                      is_new_blk);
    }
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
        struct ix_slot *nt = ix_tab_new(m->mark_size);
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

/* The entry of hash, NULL if none. Hash 0 is no key's (tokenize_hash
 * never gives it): it marks an empty slot, which it would match. */
static const struct ix_ent *
ix_find(const struct index_mem *m, uint32_t hash)
{
    size_t mask = m->size - 1;

    if (hash == 0)
        return NULL;
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

void
index_test_full_keys(int on)
{
    ix_full_keys = on != 0;
}

void
index_test_v9(int on)
{
    ix_without_subwords = on != 0;
}

int
index_sets_have_subwords(void)
{
    return !ix_without_subwords;
}
