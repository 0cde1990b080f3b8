/* SPDX-License-Identifier: MIT */
/*
 * index_write: a segment's in-memory token map (index.c) written as a
 * sealed .lqi file (see index.h; format in collector/STORE.md "Index
 * file"): keys sorted by hash in pages of INDEX_PAGE_KEYS keys, each
 * key's postings as a list, a bitmap or one block, with per-block counts
 * or (version 6) frames; handed to a write callback in chunks or into a
 * buffer. Reads nothing back (index_file.c reads the files).
 */
#include "collector/store/index.h"

#include <stdlib.h>
#include <string.h>

#include "collector/store/index_internal.h"
#include "common/compress.h"
#include "common/xmalloc.h"

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

/* The entries of the sorted keys are in insertion order, so each is a
 * cache miss, and so are the postings of a key in several blocks:
 * ix_encode_pages prefetches the entry of the key IX_ENC_AHEAD on, and
 * the postings of the one half as far on (its entry there by then). In
 * the loop itself: GCC takes a function of prefetches alone for pure
 * and drops its calls. */
#define IX_ENC_AHEAD 16u

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
            if (j + IX_ENC_AHEAD < n)
                __builtin_prefetch(
                    ix_ent_at(m, (uint32_t)keys[j + IX_ENC_AHEAD]));
            if (j + IX_ENC_AHEAD / 2 < n) {
                const struct ix_ent *e =
                    ix_ent_at(m, (uint32_t)keys[j + IX_ENC_AHEAD / 2]);
                if (e->n > 1)
                    __builtin_prefetch(e->u.many);
            }
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
