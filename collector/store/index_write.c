/* SPDX-License-Identifier: MIT */
/*
 * index_write: a segment's in-memory token map (index.c) written as a
 * sealed .lqi file (see index.h; format in collector/STORE.md "Index
 * file"): keys sorted by hash in pages of INDEX_PAGE_KEYS keys, each
 * key's postings as a list, a bitmap or one block, with per-block counts
 * or (version 6) frames, the keys (version 7) cut to index_key_bits() of
 * their number (tokens cut alike merged into one key) and their gaps
 * Rice-coded at the head of each page; handed to a write
 * callback in chunks or into a buffer. Reads nothing back (index_file.c
 * reads the files).
 */
#include "collector/store/index.h"

#include <stdlib.h>
#include <string.h>

#include "collector/store/index_internal.h"
#include "common/compress.h"
#include "common/xmalloc.h"

/* index_test_v7(): write version 7, set by tests before any store
 * runs. */
static int ix_v7, ix_v8;

void
index_test_v7(int on)
{
    ix_v7 = on != 0;
}

/* index_test_v8(): write version 8. */
void
index_test_v8(int on)
{
    ix_v8 = on != 0;
}

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

/* The entries of the sorted keys are in insertion order, so each is a
 * cache miss, and so are the postings of a key in several blocks:
 * ix_encode_pages prefetches the entry of the key IX_ENC_AHEAD on, and
 * the postings of the one half as far on (its entry there by then). In
 * the loop itself: GCC takes a function of prefetches alone for pure
 * and drops its calls. */
#define IX_ENC_AHEAD 16u

/* ------------------------------------------------------------------ */
/* Keys cut short (version 7)                                          */

/* The key of sorted word w (hash << 32 | entry number) in a file of
 * key range range (index_key_cut: versions 7 and 8 its top bits, range
 * 2^bits; version 9 range = index_key_range()). */
static inline uint32_t
ix_cut(uint64_t w, uint64_t bits)
{
    return index_key_cut((uint32_t)(w >> 32), bits);
}

/* Distinct keys of the sorted keys[0..n) cut to range bits. */
static size_t
ix_n_cut(const uint64_t *keys, size_t n, uint64_t bits)
{
    size_t c = n ? 1 : 0;

    for (size_t i = 1; i < n; i++)
        c += ix_cut(keys[i], bits) != ix_cut(keys[i - 1], bits);
    return c;
}

/* The key range of the file (keys are index_key_cut(hash, range)), its
 * keys once cut into *n_cut. Version 9: index_key_range() of the map's
 * n tokens, written in the file. Versions 7 and 8: 2^index_key_bits_v()
 * of the number of keys the file holds once cut, which the reader takes
 * from the header: cutting can only merge keys, and fewer keys can only
 * narrow the width, so the width falls until it is that of its own key
 * count. Older: 2^32. */
static uint64_t
ix_file_key_range(const uint64_t *keys, size_t n, uint32_t version,
                  size_t *n_cut)
{
    if (version >= INDEX_VERSION_RANGE) {
        uint64_t range = index_key_range(n);
        *n_cut = ix_n_cut(keys, n, range);
        return range;
    }
    int is_short = version >= INDEX_VERSION_SHORT_KEYS;
    uint32_t bits = is_short ? index_key_bits_v(n, version) : 32;
    size_t c = ix_n_cut(keys, n, 1ull << bits);

    while (is_short && index_key_bits_v(c, version) < bits) {
        bits = index_key_bits_v(c, version);
        c = ix_n_cut(keys, n, 1ull << bits);
    }
    *n_cut = c;
    return 1ull << bits;
}

static int
ix_cmp_blk(const void *a, const void *b)
{
    uint32_t x = IX_BLK(*(const uint32_t *)a);
    uint32_t y = IX_BLK(*(const uint32_t *)b);

    return x < y ? -1 : x > y;
}

/* Into *e, the key of the n > 1 tokens of keys[0..n) whose keys cut
 * alike: the union of their blocks in order, each with the union of its
 * frame masks, without counts (is_collided: as two tokens of one full
 * hash); with keep_counts (version 9), when exactly one of them is
 * counted (in IX_COUNT_MIN_BLKS blocks or more, one token), its check
 * and counts, 0 in the blocks it is not in (*is_merged set: STORE.md
 * "Keys in a range"). Its pairs live in *tmp (grown to *cap words). */
static void
ix_merge(const struct index_mem *m, const uint64_t *keys, size_t n,
         struct ix_ent *e, uint32_t **tmp, size_t *cap, int keep_counts,
         int *is_merged)
{
    size_t total = 0, k = 0, out = 0;

    for (size_t i = 0; i < n; i++)
        total += ix_ent_at(m, (uint32_t)keys[i])->n;
    if (*cap < 3 * total) {
        *cap = 3 * total;
        *tmp = xreallocarray(*tmp, *cap, sizeof(**tmp));
    }
    uint32_t *w = *tmp, *pairs = *tmp + total;
    for (size_t i = 0; i < n; i++) {
        const struct ix_ent *x = ix_ent_at(m, (uint32_t)keys[i]);
        const uint32_t *p = ix_posts(x);
        for (uint32_t j = 0; j < x->n; j++)
            w[k++] = p[2 * j];
    }
    qsort(w, k, sizeof(*w), ix_cmp_blk);
    for (size_t i = 0; i < k; i++) {
        if (out && IX_BLK(pairs[2 * (out - 1)]) == IX_BLK(w[i])) {
            pairs[2 * (out - 1)] |= w[i];       /* the same block: OR masks */
            continue;
        }
        pairs[2 * out] = w[i];
        pairs[2 * out + 1] = 0;
        out++;
    }
    memset(e, 0, sizeof(*e));
    e->n = (uint32_t)out;
    e->is_collided = 1;
    *is_merged = 0;
    const struct ix_ent *one = NULL;
    size_t n_counted = 0;
    for (size_t i = 0; keep_counts && i < n; i++) {
        const struct ix_ent *x = ix_ent_at(m, (uint32_t)keys[i]);
        if (x->n >= IX_COUNT_MIN_BLKS && !x->is_collided) {
            one = x;
            n_counted++;
        }
    }
    if (n_counted == 1) {       /* its blocks are a subset of the union */
        const uint32_t *p = ix_posts(one);
        for (size_t o = 0, j = 0; o < out; o++) {
            if (j < one->n && IX_BLK(p[2 * j]) == IX_BLK(pairs[2 * o]))
                pairs[2 * o + 1] = p[2 * j++ + 1];
        }
        e->is_collided = 0;
        e->check = one->check;
        *is_merged = 1;
    }
    if (out > 1) {
        e->u.many = pairs;
    } else {
        e->u.inl[0] = pairs[0];
        e->u.inl[1] = 0;
    }
}

/* Bits of the gaps g[0..ng) Rice-coded with parameter r. */
static uint64_t
ix_rice_len(const uint32_t *g, size_t ng, uint32_t r)
{
    uint64_t len = (uint64_t)ng * (r + 1);

    for (size_t x = 0; x < ng; x++)
        len += g[x] >> r;
    return len;
}

/* The gaps - 1 between the cnt keys of a page (the groups of keys[i..n)
 * cut to bits bits) into g (cnt - 1 of them), and the Rice parameter:
 * the one of floor(log2(mean gap)) - 2 to + 1 that makes them shortest
 * (*len their bits). */
static uint32_t
ix_gaps(const uint64_t *keys, size_t n, size_t i, size_t cnt, uint64_t bits,
        uint32_t *g, uint64_t *len)
{
    uint32_t prev = ix_cut(keys[i], bits);
    size_t ng = 0;

    for (size_t c = 1; c < cnt; c++) {
        while (i < n && ix_cut(keys[i], bits) == prev)
            i++;
        uint32_t key = ix_cut(keys[i], bits);
        g[ng++] = key - prev - 1;
        prev = key;
    }
    uint64_t sum = 0, best = UINT64_MAX;
    uint32_t r0 = 0, r = 0;
    for (size_t x = 0; x < ng; x++)
        sum += g[x] + 1;
    while (ng && (uint64_t)2 << r0 <= sum / ng)
        r0++;
    for (uint32_t t = r0 > 2 ? r0 - 2 : 0; t <= r0 + 1 && t < 32; t++) {
        uint64_t l = ix_rice_len(g, ng, t);
        if (l < best) {
            best = l;
            r = t;
        }
    }
    *len = ng ? best : 0;
    return r;
}

/* Version 7: after the page's key count, the gaps between its cnt keys
 * (the groups of keys[i..n) cut to bits bits), each gap - 1 Rice-coded:
 * u8 r, then per gap (gap - 1) >> r one bits, a zero bit and the low r
 * bits of gap - 1 (least significant first), in bytes filled from their
 * lowest bit, the last one padded with zeros. r is the one of
 * floor(log2(mean gap)) - 2 to + 1 that makes the gaps shortest. */
static int
ix_put_gaps(struct buf *b, const uint64_t *keys, size_t n, size_t i,
            size_t cnt, uint64_t bits)
{
    uint32_t g[INDEX_PAGE_KEYS];
    uint64_t best;
    uint32_t r = ix_gaps(keys, n, i, cnt, bits, g, &best);
    size_t ng = cnt ? cnt - 1 : 0;
    size_t nbytes = (size_t)((best + 7) / 8);
    if (buf_put_u8(b, (uint8_t)r) < 0 || buf_reserve(b, nbytes) < 0)
        return -1;
    uint8_t *q = b->data + b->len;
    uint64_t pos = 0;
    memset(q, 0, nbytes);
    for (size_t x = 0; x < ng; x++) {
        for (uint32_t u = g[x] >> r; u > 0; u--, pos++)
            q[pos >> 3] |= (uint8_t)(1u << (pos & 7));
        pos++;
        for (uint32_t u = 0; u < r; u++, pos++)
            q[pos >> 3] |= (uint8_t)((g[x] >> u & 1) << (pos & 7));
    }
    b->len += nbytes;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Version 8: a page's gaps and postings as one stream of bits         */

/* Bits appended to a buf, each byte filled from its lowest bit: 32 at
 * a time into the buf (reserved for the page ahead), the rest in acc. */
struct ix_bw {
    struct buf *b;
    uint64_t    acc;
    uint32_t    n;                      /* bits in acc, < 32 between calls */
    int         err;
};

/* The low n (<= 32) bits of v. */
static inline void
ix_bw_put(struct ix_bw *w, uint64_t v, uint32_t n)
{
    w->acc |= (v & ((1ull << n) - 1)) << w->n;
    w->n += n;
    if (w->n >= 32) {
        if (buf_put_u32(w->b, (uint32_t)w->acc) < 0)
            w->err = 1;
        w->acc >>= 32;
        w->n -= 32;
    }
}

/* v Exp-Golomb coded with parameter k: with u = (v >> k) + 1 of bit
 * length L + 1, L zero bits, a one bit, the L bits of u below its
 * leading one, then the low k bits of v (each field least significant
 * first). */
static void
ix_bw_eg(struct ix_bw *w, uint64_t v, uint32_t k)
{
    uint64_t u = (v >> k) + 1;
    uint32_t len = 63 - (uint32_t)__builtin_clzll(u);

    for (uint32_t z = len; z > 0; z -= z < 32 ? z : 32)
        ix_bw_put(w, 0, z < 32 ? z : 32);
    ix_bw_put(w, 1, 1);
    ix_bw_put(w, u, len);               /* the bits below the leading one */
    ix_bw_put(w, v, k);
}

static uint32_t
ix_eg_len(uint64_t v, uint32_t k)
{
    uint64_t u = (v >> k) + 1;

    return 2 * (63 - (uint32_t)__builtin_clzll(u)) + 1 + k;
}

static void
ix_bw_end(struct ix_bw *w)
{
    for (; w->n > 0; w->n -= w->n < 8 ? w->n : 8, w->acc >>= 8)
        if (buf_put_u8(w->b, (uint8_t)w->acc) < 0)
            w->err = 1;
    w->acc = 0;
    w->n = 0;
}

static uint32_t
ix_bitlen(uint64_t v)
{
    return v ? 64 - (uint32_t)__builtin_clzll(v) : 0;
}

/* How a file's frame fields are written: version 8 in fixed widths
 * (fbits, mbits); version 9 (is_coded) a symbol of the file's prefix
 * code (STORE.md "Coded frame fields"): symbol f < mbits for the one
 * frame f, mbits for a mask of several, which then follows in mbits
 * bits. A code of one symbol takes no bits. */
struct ix_fc {
    uint32_t fbits, mbits;
    int      is_coded;
    int      n_used;                            /* symbols with a code */
    uint8_t  len[INDEX_FRAME_BITS + 1];         /* 0: no code */
    uint32_t code[INDEX_FRAME_BITS + 1];        /* bit-reversed: its first
                                                   bit lowest */
};

/* The frame field of a block of a key in fewer than IX_COUNT_MIN_BLKS
 * blocks: version 8 a zero bit and the frame's number in fbits bits when
 * one frame holds the key, else a one bit and the mask in mbits bits;
 * version 9 its symbol's code, then the mask of symbol mbits. */
static inline void
ix_bw_frames(struct ix_bw *w, uint32_t fm, const struct ix_fc *fc)
{
    int is_one = fm != 0 && (fm & (fm - 1)) == 0;

    if (fc->is_coded) {
        uint32_t sym = is_one ? (uint32_t)__builtin_ctz(fm) : fc->mbits;
        if (fc->n_used > 1)
            ix_bw_put(w, fc->code[sym], fc->len[sym]);
        if (!is_one)
            ix_bw_put(w, fm, fc->mbits);
    } else if (is_one) {
        ix_bw_put(w, 0, 1);
        ix_bw_put(w, (uint32_t)__builtin_ctz(fm), fc->fbits);
    } else {
        ix_bw_put(w, 1, 1);
        ix_bw_put(w, fm, fc->mbits);
    }
}

/* Huffman code lengths of the n (<= INDEX_FRAME_BITS + 1) counts cnt
 * into fc->len (0 where the count is 0; at most n - 1 <= 12 bits; a
 * lone symbol 1, coded in no bits), then the canonical codes (by length,
 * then symbol; the first bit the most significant), bit-reversed into
 * fc->code. */
static void
ix_fc_build(struct ix_fc *fc, const uint64_t *cnt, uint32_t n)
{
    uint64_t w[INDEX_FRAME_BITS + 1];
    int root[INDEX_FRAME_BITS + 1], live = 0;

    memset(fc->len, 0, sizeof(fc->len));
    memset(fc->code, 0, sizeof(fc->code));
    for (uint32_t s = 0; s < n; s++) {
        w[s] = cnt[s];
        root[s] = cnt[s] ? (int)s : -1;     /* each its own tree */
        live += cnt[s] != 0;
    }
    fc->n_used = live;
    for (uint32_t s = 0; live == 1 && s < n; s++)
        if (cnt[s])
            fc->len[s] = 1;
    while (live > 1) {                      /* merge the two lightest */
        int a = -1, b = -1;
        for (uint32_t s = 0; s < n; s++) {
            if (root[s] != (int)s)
                continue;                   /* not a tree's root */
            if (a < 0 || w[s] < w[a]) {
                b = a;
                a = (int)s;
            } else if (b < 0 || w[s] < w[b]) {
                b = (int)s;
            }
        }
        for (uint32_t s = 0; s < n; s++)    /* the leaves of both: deeper */
            if (root[s] == a || root[s] == b) {
                fc->len[s]++;
                root[s] = a;
            }
        w[a] += w[b];
        live--;
    }
    uint32_t next = 0;
    for (uint32_t l = 1; l <= INDEX_FRAME_BITS; l++, next <<= 1)
        for (uint32_t s = 0; s < n; s++) {
            if (fc->len[s] != l)
                continue;
            uint32_t r = 0;
            for (uint32_t k = 0; k < l; k++)
                r |= (next >> k & 1) << (l - 1 - k);
            fc->code[s] = r;
            next++;
        }
}

#define IX_EG_MAX_K 20u

/* The reference of ix_eg_best: every value's length for every k
 * (index_test_eg_best checks the two against each other). */
static uint32_t
ix_eg_best_ref(const uint32_t *v, size_t n, size_t stride, uint32_t shift,
               uint64_t *len)
{
    uint64_t best = UINT64_MAX;
    uint32_t bk = 0;

    for (uint32_t k = 0; k <= IX_EG_MAX_K; k++) {
        uint64_t l = 0;
        for (size_t i = 0; i < n; i++)
            l += ix_eg_len(v[i * stride] >> shift, k);
        if (l < best) {
            best = l;
            bk = k;
        }
    }
    *len = best;
    return bk;
}

/* The Exp-Golomb parameter (0 to 20) that codes v[0..n) (every stride-th
 * word, shifted right by shift) shortest (the smallest such k), and
 * *len their bits: the same as ix_eg_best_ref from two passes over the
 * values (the longest bit length, then the counts), not 21 (which took
 * ~40% of the .lqi encoder's instructions). With
 * u = (v >> k) + 1 = (v + 2^k) >> k, whose bit length is that of
 * v + 2^k less k, a value's length is 2 * bitlen(v + 2^k) - k - 1; for
 * v of bit length b, bitlen(v + 2^k) is k + 1 where b <= k, else b, plus
 * one where adding 2^k carries out of bit b - 1: where bits k to b - 1
 * of v are all ones, i.e. k >= b - t for t the ones v begins with. So
 * per value its b (a count by bit length) and the range [b - t, b) of
 * k it carries at (a difference array) give every k's sum exactly. Past
 * the values' longest bit length B every value is k + 1 bits long, so
 * the sum n * (k + 1) only grows: k stops at B (most lists are short,
 * of small gaps and counts). */
static uint32_t
ix_eg_best(const uint32_t *v, size_t n, size_t stride, uint32_t shift,
           uint64_t *len)
{
    uint64_t cnt[33];                   /* values by bit length */
    int64_t carry[34];                  /* +1 at b - t, -1 at b */
    uint32_t all = 0;

    for (size_t i = 0; i < n; i++)
        all |= v[i * stride] >> shift;
    uint32_t bmax = all ? 32 - (uint32_t)__builtin_clz(all) : 0;
    uint32_t kmax = bmax < IX_EG_MAX_K ? bmax : IX_EG_MAX_K;
    memset(cnt, 0, (bmax + 1) * sizeof(*cnt));
    memset(carry, 0, (bmax + 2) * sizeof(*carry));
    for (size_t i = 0; i < n; i++) {
        uint32_t x = v[i * stride] >> shift;
        uint32_t b = x ? 32 - (uint32_t)__builtin_clz(x) : 0;
        cnt[b]++;
        if (!x)
            continue;
        /* the bits below the leading one that are not set: their
         * highest ends v's leading ones */
        uint32_t z = ~x & (b == 32 ? UINT32_MAX : (1u << b) - 1);
        uint32_t t = z ? b - (32 - (uint32_t)__builtin_clz(z)) : b;
        carry[b - t]++;
        carry[b]--;
    }
    uint64_t best = UINT64_MAX, below = 0, above = 0;
    uint32_t bk = 0;
    int64_t c = 0;

    for (uint32_t b = 1; b <= bmax; b++)
        above += (uint64_t)b * cnt[b];  /* sum of b over b > k, k = 0 */
    below = cnt[0];                     /* values with b <= k */
    for (uint32_t k = 0; k <= kmax; k++) {
        if (k > 0) {
            below += cnt[k];
            above -= (uint64_t)k * cnt[k];
        }
        c += carry[k];
        uint64_t s = below * (k + 1) + above + (uint64_t)c;
        uint64_t l = 2 * s - (uint64_t)n * (k + 1);
        if (l < best) {
            best = l;
            bk = k;
        }
    }
    *len = best;
    return bk;
}

uint32_t
index_test_eg_best(const uint32_t *v, size_t n, size_t stride,
                   uint32_t shift, uint64_t *len, int is_ref)
{
    return is_ref ? ix_eg_best_ref(v, n, stride, shift, len)
                  : ix_eg_best(v, n, stride, shift, len);
}

/* Version 8 postings of e (STORE.md "Index file", "Postings in bits"):
 * in a file of one block none but its frame field; else a one-block key
 * 0, its block in bbits bits, its frame field; a key in 2 or 3 blocks
 * 1 0, a bit (n - 2), each block in bbits bits with its frame field; a
 * key in 4 blocks or more 1 1, a counted bit, a bitmap bit, EG0(n - 4),
 * then the n_blks bits of a bitmap or a list (5 bits k, the first block
 * in bbits bits, each next gap - 1 EG k), then if counted its 32-bit
 * check, 3 bits of forms, 5 bits k and per block a bit (its forms are
 * those: 0, else 1 and 3 bits of its own) and its records EG k. */
static int
ix_put_postings_bits(struct ix_bw *w, const struct ix_ent *e,
                     uint32_t n_blks, uint32_t bbits, const struct ix_fc *fc,
                     int is_merged, uint32_t **tmp, size_t *cap)
{
    const uint32_t *p = ix_posts(e);

#define IX_P(i) IX_BLK(p[2 * (i)])
    if (n_blks == 1) {
        if (e->n != 1 || IX_P(0) != 0)
            return -1;
        ix_bw_frames(w, IX_FM(p[0]), fc);
        return 0;
    }
    if (e->n == 1) {
        ix_bw_put(w, 0, 1);
        ix_bw_put(w, IX_P(0), bbits);
        ix_bw_frames(w, IX_FM(p[0]), fc);
        return 0;
    }
    if (e->n < IX_COUNT_MIN_BLKS) {
        ix_bw_put(w, 1, 1);
        ix_bw_put(w, 0, 1);
        ix_bw_put(w, e->n - 2, 1);
        for (uint32_t i = 0; i < e->n; i++) {
            ix_bw_put(w, IX_P(i), bbits);
            ix_bw_frames(w, IX_FM(p[2 * i]), fc);
        }
        return 0;
    }
    if (*cap < e->n) {
        *cap = e->n;
        *tmp = xreallocarray(*tmp, *cap, sizeof(**tmp));
    }
    uint32_t *g = *tmp;
    for (uint32_t i = 1; i < e->n; i++)
        g[i - 1] = IX_P(i) - IX_P(i - 1) - 1;
    uint64_t list_len;
    uint32_t k = ix_eg_best(g, e->n - 1, 1, 0, &list_len);
    list_len += 5 + bbits;
    int is_map = n_blks < list_len;
    int is_counted = !e->is_collided;
    ix_bw_put(w, 3, 2);
    ix_bw_put(w, (uint32_t)is_counted, 1);
    if (is_counted && fc->is_coded)     /* version 9: merged */
        ix_bw_put(w, (uint32_t)is_merged, 1);
    ix_bw_put(w, (uint32_t)is_map, 1);
    ix_bw_eg(w, e->n - IX_COUNT_MIN_BLKS, 0);
    if (is_map) {
        for (uint32_t b = 0, i = 0; b < n_blks; b++) {
            uint32_t on = i < e->n && IX_P(i) == b;
            ix_bw_put(w, on, 1);
            i += on;
        }
    } else {
        ix_bw_put(w, k, 5);
        ix_bw_put(w, IX_P(0), bbits);
        for (uint32_t i = 0; i + 1 < e->n; i++)
            ix_bw_eg(w, g[i], k);
    }
#undef IX_P
    if (!is_counted)
        return 0;
    uint32_t forms = p[1] & 7;
    uint64_t rec_len;
    uint32_t kr = ix_eg_best(p + 1, e->n, 2, 3, &rec_len);
    ix_bw_put(w, e->check, 32);
    ix_bw_put(w, forms, 3);
    ix_bw_put(w, kr, 5);
    for (uint32_t i = 0; i < e->n; i++) {
        uint32_t cw = p[2 * i + 1];
        if ((cw & 7) == forms) {
            ix_bw_put(w, 0, 1);
        } else {
            ix_bw_put(w, 1, 1);
            ix_bw_put(w, cw & 7, 3);
        }
        ix_bw_eg(w, cw >> 3, kr);
    }
    return 0;
}

/* The widths of a file's frame fields (fc->fbits, fc->mbits; version 8:
 * each page holds them, the same in every page; version 9: the file's
 * trailer): the bit length of the OR of the frame masks of the map's
 * keys in fewer than IX_COUNT_MIN_BLKS blocks (so of a merged key's too:
 * its mask is their OR), and that of the highest frame bit. Version 9
 * (fc->is_coded) also the code of its frame fields, from how often each
 * frame alone and a mask of several come: a key merged from keys of one
 * frame each may be a mask of several, so that symbol has a code
 * whenever masks have 2 bits or more. One pass over the entries in
 * memory order. */
static void
ix_frame_bits(const struct index_mem *m, struct ix_fc *fc)
{
    uint32_t all = 0;
    uint64_t cnt[INDEX_FRAME_BITS + 1] = { 0 }, several = 0;

    for (size_t i = 0; i < m->n_keys; i++) {
        const struct ix_ent *e = ix_ent_at(m, (uint32_t)i);
        if (e->n >= IX_COUNT_MIN_BLKS)
            continue;
        const uint32_t *p = ix_posts(e);
        for (uint32_t j = 0; j < e->n; j++) {
            uint32_t fm = IX_FM(p[j * 2]);
            all |= fm;
            if (fm != 0 && (fm & (fm - 1)) == 0)
                cnt[__builtin_ctz(fm)]++;
            else
                several++;
        }
    }
    fc->mbits = ix_bitlen(all);
    fc->fbits = fc->mbits ? ix_bitlen(fc->mbits - 1) : 0;
    if (!fc->is_coded)
        return;
    cnt[fc->mbits] = several + (fc->mbits >= 2);
    ix_fc_build(fc, cnt, fc->mbits + 1);
}

/* Keys a page of version holds (the last page: the rest). */
static size_t
ix_page_keys(uint32_t version)
{
    return version >= INDEX_VERSION_RANGE ? INDEX_PAGE_KEYS_RANGE
                                          : INDEX_PAGE_KEYS;
}

/* Encodes the pages of the sorted keys[0..n), cut to key range bits
 * (n_cut keys once cut; version 7: the gaps Rice-coded ahead of the
 * postings; version 8: the gaps, then the postings, in bits; version 9
 * the same without the page's key count and frame widths, its frame
 * fields in fc's code; older: each key's gap as a varint before its
 * postings), into k, the directory into k->dir (first key, length, crc
 * per page). */
static int
ix_encode_pages(const struct index_mem *m, const uint64_t *keys, size_t n,
                size_t n_cut, uint64_t bits, uint32_t version,
                uint32_t n_blks, const struct ix_fc *fc, struct ix_sink *k)
{
    struct buf *pages = &k->pages;
    uint32_t *tmp = NULL, *gtmp = NULL;
    size_t cap = 0, gcap = 0, i = 0;
    int is_short = version >= INDEX_VERSION_SHORT_KEYS;
    int is_bits = version >= INDEX_VERSION_BITS;
    int is_range = version >= INDEX_VERSION_RANGE;
    uint32_t bbits = n_blks > 1 ? ix_bitlen(n_blks - 1) : 0;
    size_t per = ix_page_keys(version);
    struct buf sb;              /* version 9: a page's bits, its skip first */
    int rc = -1;

    buf_init(&sb, SIZE_MAX);
    for (size_t done = 0; done < n_cut; done += per) {
        size_t cnt = n_cut - done < per ? n_cut - done : per;
        size_t start = pages->len;
        uint32_t first = ix_cut(keys[i], bits), prev = first;
        struct ix_bw w = { .b = is_range ? &sb : pages };
        uint64_t post0 = 0, mid = 0;    /* bits where the postings begin,
                                           where key per / 2's begin */
        buf_reset(&sb);
        if (!is_range && buf_put_varint(pages, cnt) < 0)
            goto out;
        if (is_bits) {
            uint32_t g[INDEX_PAGE_KEYS_RANGE];
            uint64_t glen;
            uint32_t r = ix_gaps(keys, n, i, cnt, bits, g, &glen);
            if (buf_put_u8(pages, (uint8_t)r) < 0 ||
                (!is_range &&
                 buf_put_u8(pages, (uint8_t)(fc->fbits | fc->mbits << 4)) < 0))
                goto out;
            for (size_t x = 0; x + 1 < cnt; x++) {
                for (uint32_t u = g[x] >> r; u > 0; u -= u < 32 ? u : 32)
                    ix_bw_put(&w, UINT32_MAX, u < 32 ? u : 32);
                ix_bw_put(&w, 0, 1);
                ix_bw_put(&w, g[x], r);
            }
            post0 = sb.len * 8 + w.n;  /* version 9's */
        } else if (is_short && ix_put_gaps(pages, keys, n, i, cnt, bits) < 0) {
            goto out;
        }
        for (size_t c = 0; c < cnt; c++) {
            uint32_t key = ix_cut(keys[i], bits);
            size_t j = i + 1;
            while (j < n && ix_cut(keys[j], bits) == key)
                j++;
            if (i + IX_ENC_AHEAD < n)
                __builtin_prefetch(
                    ix_ent_at(m, (uint32_t)keys[i + IX_ENC_AHEAD]));
            if (i + IX_ENC_AHEAD / 2 < n) {
                const struct ix_ent *ahead =
                    ix_ent_at(m, (uint32_t)keys[i + IX_ENC_AHEAD / 2]);
                if (ahead->n > 1)
                    __builtin_prefetch(ahead->u.many);
            }
            struct ix_ent merged;
            const struct ix_ent *e = ix_ent_at(m, (uint32_t)keys[i]);
            int is_merged = 0;
            if (j - i > 1) {
                ix_merge(m, keys + i, j - i, &merged, &tmp, &cap, is_range,
                         &is_merged);
                e = &merged;
            }
            if (is_range && c == per / 2)
                mid = sb.len * 8 + w.n;
            if (is_bits) {
                if (ix_put_postings_bits(&w, e, n_blks, bbits, fc, is_merged,
                                         &gtmp, &gcap) < 0)
                    goto out;
            } else if ((!is_short && buf_put_varint(pages, key - prev) < 0) ||
                       ix_put_postings(pages, e, n_blks) < 0) {
                goto out;
            }
            prev = key;
            i = j;
        }
        if (is_bits) {
            ix_bw_end(&w);
            if (w.err)
                goto out;
        }
        /* version 9: the bits from the postings' start to key per / 2's
         * (0: the page has no more keys), so a lookup of a key of the
         * second half skips the first half's postings */
        if (is_range && (buf_put_varint(pages, mid ? mid - post0 : 0) < 0 ||
                         buf_append(pages, sb.data, sb.len) < 0))
            goto out;
        size_t plen = pages->len - start;
        if (buf_put_u32(&k->dir, first) < 0 ||
            buf_put_u32(&k->dir, (uint32_t)plen) < 0 ||
            buf_put_u32(&k->dir,
                        compress_crc32(0, pages->data + start, plen)) < 0)
            goto out;
        if (pages->len >= k->chunk && ix_sink_flush(k) < 0)
            goto out;
    }
    rc = ix_sink_flush(k);
out:
    buf_fini(&sb);
    free(tmp);
    free(gtmp);
    return rc;
}

int
index_mem_write(const struct index_mem *m, uint64_t seq,
                const struct index_blkref *blks, uint32_t n_blks,
                size_t chunk, index_write_fn fn, void *arg)
{
    uint64_t *keys = ix_sorted_keys(m);
    uint32_t version = ix_without_fields ? INDEX_VERSION_NO_FIELDS :
                       ix_without_frames ? INDEX_VERSION_COUNTS :
                       ix_full_keys ? INDEX_VERSION_FRAMES :
                       ix_v7 ? INDEX_VERSION_SHORT_KEYS :
                       ix_v8 ? INDEX_VERSION_BITS :
                       ix_without_subwords ? INDEX_VERSION_RANGE : INDEX_VERSION;
    int is_range = version >= INDEX_VERSION_RANGE;
    size_t n, per = ix_page_keys(version);
    uint64_t bits = ix_file_key_range(keys, m->n_keys, version, &n);
    uint32_t n_pages = (uint32_t)((n + per - 1) / per);
    struct ix_fc fc = { .is_coded = is_range };
    struct ix_sink k = {
        .fn = fn, .arg = arg, .chunk = chunk,
        .off = INDEX_HDR_LEN + 12ull * n_blks + 12ull * n_pages +
               (is_range ? INDEX_RANGE_TRAILER : 0),
    };
    struct buf head;
    int rc = -1;

    buf_init(&k.pages, SIZE_MAX);
    buf_init(&k.dir, SIZE_MAX);
    buf_init(&head, SIZE_MAX);
    if (version >= INDEX_VERSION_BITS)
        ix_frame_bits(m, &fc);
    if (m->is_over ||                   /* the file cannot hold its blocks */
        ix_encode_pages(m, keys, m->n_keys, n, bits, version, n_blks, &fc,
                        &k) < 0)
        goto out;
    uint8_t h[INDEX_HDR_LEN];
    le32_store(h, INDEX_MAGIC);
    le32_store(h + 4, version);
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
    if (is_range) {             /* the range, the frame fields' code */
        uint8_t t[INDEX_RANGE_TRAILER] = { 0 };
        le32_store(t, (uint32_t)(bits - 1));
        t[4] = (uint8_t)fc.mbits;
        for (uint32_t s = 0; s <= fc.mbits; s++)
            t[5 + s / 2] |= (uint8_t)(fc.len[s] << (s % 2 * 4));
        if (buf_append(&head, t, sizeof(t)) < 0)
            goto out;
    }
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
