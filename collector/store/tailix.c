/* SPDX-License-Identifier: MIT */
/*
 * tailix: the token index of the unsealed tail (collector/STORE.md "The
 * unsealed tail's index"). The tail's records, in arrival order, are cut
 * into pieces of about TAILIX_PIECE_BYTES of row body; each piece keeps
 * where it starts (body offset, record number, the time and receive time
 * its first record's deltas are taken from), its records' time range and
 * streams, and a filter of its records' token hashes: the words of each
 * message as collector/store/tokenize.h cuts and hashes them for the
 * segments' index (the same tokens, so a term means the same thing in the
 * tail as in a sealed block). A cursor copies and decodes only the pieces
 * whose filter may hold every word of its query (cursor.c); a filter
 * never says no for a token one of its records holds, so the answer is
 * that of a scan of the whole tail. Fed by store_tail_add (the store's
 * thread, under store.mu, as the record is encoded into the tail);
 * cursors read it under store.mu. Field tokens are not kept: a query's
 * field tokens do not narrow the tail (its words do).
 */
#include "collector/store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "collector/store/tokenize.h"
#include "common/xmalloc.h"

/* A token's place in piece p's filter: its hash mixed with the piece's
 * seed (so a word that shares its bits with a word every piece holds
 * does so in one piece, not in all), the top 8 bits picking a word, the
 * next two 6-bit fields its two bits in it. */
static inline uint64_t
tailix_mix(uint64_t h, uint32_t seed)
{
    return (h ^ seed) * 0x9e3779b97f4a7c15ull;
}

static inline uint64_t
tailix_mask(uint64_t x)
{
    return (1ull << ((x >> 50) & 63)) | (1ull << ((x >> 44) & 63));
}

static inline uint64_t *
tailix_word(const struct tailix_piece *p, uint64_t x)
{
    return &p->bits[x >> 56];
}

_Static_assert(TAILIX_WORDS == 256, "tailix_word picks a word by 8 bits");

/* ------------------------------------------------------------------ */
/* The filter's token hash                                             */

/* 0: separator; TX_W: ASCII word byte; TX_HI: a byte >= 0x80 (the word
 * rule of tokenize.h). */
#define TX_W  1u
#define TX_HI 2u

static const uint8_t tx_cls[256] = {
    ['0'] = TX_W, ['1'] = TX_W, ['2'] = TX_W, ['3'] = TX_W, ['4'] = TX_W,
    ['5'] = TX_W, ['6'] = TX_W, ['7'] = TX_W, ['8'] = TX_W, ['9'] = TX_W,
    ['A'] = TX_W, ['B'] = TX_W, ['C'] = TX_W, ['D'] = TX_W, ['E'] = TX_W,
    ['F'] = TX_W, ['G'] = TX_W, ['H'] = TX_W, ['I'] = TX_W, ['J'] = TX_W,
    ['K'] = TX_W, ['L'] = TX_W, ['M'] = TX_W, ['N'] = TX_W, ['O'] = TX_W,
    ['P'] = TX_W, ['Q'] = TX_W, ['R'] = TX_W, ['S'] = TX_W, ['T'] = TX_W,
    ['U'] = TX_W, ['V'] = TX_W, ['W'] = TX_W, ['X'] = TX_W, ['Y'] = TX_W,
    ['Z'] = TX_W, ['_'] = TX_W,
    ['a'] = TX_W, ['b'] = TX_W, ['c'] = TX_W, ['d'] = TX_W, ['e'] = TX_W,
    ['f'] = TX_W, ['g'] = TX_W, ['h'] = TX_W, ['i'] = TX_W, ['j'] = TX_W,
    ['k'] = TX_W, ['l'] = TX_W, ['m'] = TX_W, ['n'] = TX_W, ['o'] = TX_W,
    ['p'] = TX_W, ['q'] = TX_W, ['r'] = TX_W, ['s'] = TX_W, ['t'] = TX_W,
    ['u'] = TX_W, ['v'] = TX_W, ['w'] = TX_W, ['x'] = TX_W, ['y'] = TX_W,
    ['z'] = TX_W,
#define TX_H8 TX_HI, TX_HI, TX_HI, TX_HI, TX_HI, TX_HI, TX_HI, TX_HI
#define TX_H32 TX_H8, TX_H8, TX_H8, TX_H8
    [0x80] = TX_H32, TX_H32, TX_H32, TX_H32,
#undef TX_H8
#undef TX_H32
};

#define TX_ONES 0x0101010101010101ull
#define TX_M1   0x9fb21c651e98df25ull
#define TX_M2   0xc2b2ae3d27d4eb4full

static inline uint64_t
tx_load8(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

/* Eight ASCII bytes (each < 0x80) with 'A'..'Z' made small, as
 * tokenize.h folds them. */
static inline uint64_t
tx_fold8(uint64_t x)
{
    uint64_t ge = (x + TX_ONES * (0x80 - 'A')) & TX_ONES * 0x80;
    uint64_t gt = (x + TX_ONES * (0x80 - 'Z' - 1)) & TX_ONES * 0x80;

    return x | ((ge & ~gt) >> 2);
}

/* The first n (1..7) bytes of p in memory order, the rest 0: one load
 * when 8 bytes can be read (p + 8 <= lim), else byte by byte. */
static inline uint64_t
tx_load_part(const uint8_t *p, size_t n, const uint8_t *lim)
{
    uint64_t v = 0;

    if (lim - p >= 8) {
        v = tx_load8(p);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return v & ((1ull << (8 * n)) - 1);
#else
        return v & ~((1ull << (8 * (8 - n))) - 1);
#endif
    }
    memcpy(&v, p, n);
    return v;
}

/* The hash of the token whose first n (<= TOKENIZE_MAX_LEN) folded
 * bytes are p[0..n), or, with is_fold, whose bytes are ASCII p[0..n)
 * folded here (lim: the end of what may be read). Eight bytes a step:
 * the filter is in memory only, so it need not be the index's FNV-1a. */
static inline __attribute__((always_inline)) uint64_t
tx_hash(const uint8_t *p, size_t n, const uint8_t *lim, int is_fold)
{
    uint64_t h = TX_M2 ^ n;
    size_t i = 0;

    if (n <= 8 && lim - p >= 8) {   /* most words: one load */
        uint64_t v = tx_load8(p);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        v &= n == 8 ? ~0ull : (1ull << (8 * n)) - 1;
#else
        v &= n == 8 ? ~0ull : ~((1ull << (8 * (8 - n))) - 1);
#endif
        h = (h ^ (is_fold ? tx_fold8(v) : v)) * TX_M1;
        goto done;
    }

    for (; i + 8 <= n; i += 8) {
        uint64_t v = tx_load8(p + i);
        h = (h ^ (is_fold ? tx_fold8(v) : v)) * TX_M1;
        h ^= h >> 31;
    }
    if (i < n) {
        uint64_t v = tx_load_part(p + i, n - i, lim);
        h = (h ^ (is_fold ? tx_fold8(v) : v)) * TX_M1;
    }
done:
    h ^= h >> 32;
    h *= TX_M2;
    h ^= h >> 29;
    return h;
}

uint64_t
tailix_hash(const uint8_t *tok, size_t len)
{
    return tx_hash(tok, len, tok + len, 0);
}

void
tailix_init(struct tailix *x, size_t piece_size)
{
    memset(x, 0, sizeof(*x));
    x->piece_size = piece_size;
}

void
tailix_fini(struct tailix *x)
{
    for (uint32_t i = 0; i < x->cap; i++)
        free(x->p[i].bits);
    free(x->p);
    tailix_init(x, x->piece_size);
}

void
tailix_reset(struct tailix *x)
{
    x->n = 0;
}

void
tailix_cut(struct tailix *x, uint32_t n_records)
{
    while (x->n > 0 && x->p[x->n - 1].first >= n_records)
        x->n--;
    if (x->n > 0 && x->p[x->n - 1].first + x->p[x->n - 1].n > n_records)
        x->p[x->n - 1].n = n_records - x->p[x->n - 1].first;
}

void
tailix_move(struct tailix *dst, struct tailix *src)
{
    tailix_fini(dst);
    *dst = *src;
    tailix_init(src, dst->piece_size);
}

/* A new piece at body offset off, record idx, deltas from prev. */
static struct tailix_piece *
tailix_open_piece(struct tailix *x, size_t off, uint32_t idx,
                  const int64_t prev[2])
{
    if (x->n == x->cap) {
        x->p = xreallocarray(x->p, x->cap + 1, sizeof(*x->p));
        x->p[x->cap].bits = xmalloc(TAILIX_WORDS * sizeof(uint64_t));
        x->cap++;
    }
    struct tailix_piece *p = &x->p[x->n++];
    uint64_t *bits = p->bits;

    memset(p, 0, sizeof(*p));
    memset(bits, 0, TAILIX_WORDS * sizeof(uint64_t));
    p->bits = bits;
    p->off = off;
    p->first = idx;
    p->prev[0] = prev[0];
    p->prev[1] = prev[1];
    p->min_ns = INT64_MAX;
    p->max_ns = INT64_MIN;
    p->seed = (x->n - 1) * 0x85ebca6bu + 0x27d4eb2fu;
    return p;
}

static inline void
tailix_set(struct tailix_piece *p, uint64_t h)
{
    uint64_t x = tailix_mix(h, p->seed);
    uint64_t *w = tailix_word(p, x), m = tailix_mask(x);

    p->n_new += (m & ~*w) != 0;
    *w |= m;
}

/* A run holding bytes >= 0x80: its token as tokenize.h folds it. */
static int
tailix_hi_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    (void)hash;
    tailix_set(arg, tailix_hash(tok, len));
    return 0;
}

/* Sets the bits of every token of msg[0..len) in p: each maximal run of
 * word bytes, ASCII ones hashed as folded here, the others folded by
 * tokenize_foreach (the same tokens as tokenize.h's, cut alike). */
static void
tailix_add_text(struct tailix_piece *p, const uint8_t *msg, size_t len)
{
    const uint8_t *q = msg, *end = msg + len;

    while (q < end) {
        while (q < end && tx_cls[*q] == 0)
            q++;
        if (q == end)
            return;
        const uint8_t *s = q;
        unsigned any = 0, k;
        while (q < end && (k = tx_cls[*q]) != 0) {
            any |= k;
            q++;
        }
        size_t n = (size_t)(q - s);
        if (any & TX_HI)
            (void)tokenize_foreach(s, n, 0, tailix_hi_cb, p);
        else
            tailix_set(p, tx_hash(s, n < TOKENIZE_MAX_LEN ? n
                                                        : TOKENIZE_MAX_LEN,
                                  end, 1));
    }
}

void
tailix_add(struct tailix *x, size_t off, uint32_t idx, const int64_t prev[2],
           const struct store_rec *r)
{
    struct tailix_piece *p = x->n ? &x->p[x->n - 1] : NULL;

    if (x->piece_size == 0)
        return;                 /* not indexed */
    if (!p || (x->n < TAILIX_MAX_PIECES &&
               (off - p->off >= x->piece_size ||
                p->n_new >= TAILIX_FULL_NEW)))
        p = tailix_open_piece(x, off, idx, prev);
    p->n++;
    if (r->time_ns < p->min_ns)
        p->min_ns = r->time_ns;
    if (r->time_ns > p->max_ns)
        p->max_ns = r->time_ns;
    p->stream_mask |= (uint8_t)(1u << (r->stream & 1));
    if (p->is_all)
        return;
    /* the last piece a tail may have takes every record after it: once
     * its filter may be half set it stops (it may then hold any token) */
    if (p->n_new >= 2 * TAILIX_FULL_NEW) {
        p->is_all = 1;
        return;
    }
    tailix_add_text(p, r->msg, r->msg_len);
}

int
tailix_may_hold(const struct tailix_piece *p, const uint64_t *hashes,
                size_t n)
{
    if (p->is_all)
        return 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = tailix_mix(hashes[i], p->seed);
        uint64_t m = tailix_mask(x);
        if ((*tailix_word(p, x) & m) != m)
            return 0;
    }
    return 1;
}
