/* SPDX-License-Identifier: MIT */
/*
 * index_file: a sealed segment's .lqi file, read (see index.h; format in
 * collector/STORE.md "Index file"; index_write.c writes it): only the
 * header, block table and page directory (12 bytes a page) stay in
 * memory, a lookup reads and checks one page with pread and decodes the
 * postings of its key (blocks, per-block counts, frames).
 */
#include "collector/store/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/store/index_internal.h"
#include "common/compress.h"
#include "common/xmalloc.h"

#define IX_MAX_META  (64u << 20)        /* block table + page directory */
#define IX_MAX_PAGE  (4u << 20)

struct index_file {
    uint64_t             size;
    uint32_t             version;
    int                  has_fields;    /* version >= 4 */
    uint32_t             key_bits;      /* 32; version 7 on: index_key_bits_v */
    uint64_t             range;         /* keys index_key_cut(hash, range):
                                           2^key_bits; version 9 its own */
    uint32_t             blk_bits;      /* version 8: bits of a block number */
    /* version 9: the frame fields' code (STORE.md "Coded frame fields"):
     * symbols 0 to mbits, code_one the one coded in no bits (-1: none),
     * else hcount[l] codes of l bits, hsym the symbols by code */
    uint32_t             mbits;
    int                  code_one;
    uint8_t              hcount[16], hsym[INDEX_FRAME_BITS + 1];
    uint8_t              hfast[256];    /* by the next 8 bits: len << 4 |
                                           sym of a code of at most 8
                                           bits, 0 if longer */
    uint32_t             n_blks, n_pages, n_keys;
    struct index_blkref *blks;
    uint32_t            *first;         /* per page: first hash */
    uint32_t            *len, *crc;
    uint64_t            *off;
};

static int
ix_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;

    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t c = *p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* Sealed index files                                                  */

void
index_file_free(struct index_file *f)
{
    if (!f)
        return;
    free(f->blks);
    free(f->first);
    free(f->len);
    free(f->crc);
    free(f->off);
    free(f);
}

static int
ix_pread_all(int fd, void *p, size_t n, uint64_t off)
{
    uint8_t *q = p;

    while (n > 0) {
        ssize_t r = pread(fd, q, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        q += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Parses the checked block table and page directory in meta. */
static int
ix_parse_meta(struct index_file *f, const uint8_t *meta)
{
    const uint8_t *p = meta;
    uint64_t pos = INDEX_HDR_LEN + 12ull * f->n_blks + 12ull * f->n_pages +
                   (f->version >= INDEX_VERSION_RANGE ? INDEX_RANGE_TRAILER
                                                      : 0);

    f->blks = xcalloc(f->n_blks ? f->n_blks : 1, sizeof(*f->blks));
    for (uint32_t i = 0; i < f->n_blks; i++, p += 12) {
        f->blks[i].off = le64_load(p);
        f->blks[i].body_crc = le32_load(p + 8);
    }
    size_t np = f->n_pages ? f->n_pages : 1;
    f->first = xcalloc(np, sizeof(*f->first));
    f->len = xcalloc(np, sizeof(*f->len));
    f->crc = xcalloc(np, sizeof(*f->crc));
    f->off = xcalloc(np, sizeof(*f->off));
    for (uint32_t i = 0; i < f->n_pages; i++, p += 12) {
        f->first[i] = le32_load(p);
        f->len[i] = le32_load(p + 4);
        f->crc[i] = le32_load(p + 8);
        f->off[i] = pos;
        pos += f->len[i];
        if (f->len[i] > IX_MAX_PAGE || (i && f->first[i] <= f->first[i - 1]) ||
            (uint64_t)f->first[i] >= f->range)
            return -1;
    }
    return pos == f->size ? 0 : -1;
}

/* Version 9: the trailer after the page directory, t (STORE.md "Keys in
 * a range", "Coded frame fields"): the key range, then the frame
 * fields' mask width and code lengths, checked to be a prefix code. */
static int
ix_parse_trailer(struct index_file *f, const uint8_t *t)
{
    uint32_t n_used = 0, at = 0;
    uint8_t len[INDEX_FRAME_BITS + 1];

    f->range = (uint64_t)le32_load(t) + 1;
    f->mbits = t[4];
    f->code_one = -1;
    if (f->mbits > INDEX_FRAME_BITS)
        return -1;
    for (uint32_t s = 0; s <= INDEX_FRAME_BITS; s++) {
        len[s] = (uint8_t)(t[5 + s / 2] >> (s % 2 * 4) & 15);
        if (len[s] && s > f->mbits)
            return -1;
        n_used += len[s] != 0;
        f->hcount[len[s]]++;
    }
    if (t[11] >> 4)                     /* past symbol 12: padding */
        return -1;
    f->hcount[0] = 0;
    for (uint32_t s = 0; n_used == 1 && s <= f->mbits; s++)
        if (len[s])
            f->code_one = (int)s;
    /* a prefix code: no more codes of a length than the shorter ones
     * leave (Kraft) */
    for (uint32_t l = 1, left = 1; l < 16; l++) {
        left <<= 1;
        if (f->hcount[l] > left)
            return -1;
        left -= f->hcount[l];
    }
    for (uint32_t l = 1; l < 16; l++)
        for (uint32_t s = 0; s <= f->mbits; s++)
            if (len[s] == l)
                f->hsym[at++] = (uint8_t)s;
    /* the codes of up to 8 bits by their bits as a page holds them (the
     * first bit lowest): every byte they begin */
    for (uint32_t l = 1, code = 0, k = 0; l <= 8; l++, code <<= 1)
        for (uint32_t c = 0; c < f->hcount[l]; c++, code++, k++) {
            uint32_t rev = 0;
            for (uint32_t j = 0; j < l; j++)
                rev |= (code >> j & 1) << (l - 1 - j);
            for (uint32_t hi = 0; hi < 256u >> l; hi++)
                f->hfast[rev | hi << l] = (uint8_t)(l << 4 | f->hsym[k]);
        }
    return 0;
}

struct index_file *
index_file_load(int fd, uint64_t seq, const char **errstr)
{
    struct index_file *f = xcalloc(1, sizeof(*f));
    uint8_t h[INDEX_HDR_LEN], *meta = NULL;
    struct stat st;

    *errstr = "unreadable";
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < INDEX_HDR_LEN ||
        ix_pread_all(fd, h, sizeof(h), 0) < 0)
        goto fail;
    f->size = (uint64_t)st.st_size;
    f->n_blks = le32_load(h + 16);
    f->n_pages = le32_load(h + 20);
    f->n_keys = le32_load(h + 24);
    *errstr = "bad header";
    f->version = le32_load(h + 4);
    f->has_fields = f->version >= INDEX_VERSION_FIELDS;
    f->key_bits = f->version >= INDEX_VERSION_SHORT_KEYS
                  ? index_key_bits_v(f->n_keys, f->version) : 32;
    f->range = 1ull << f->key_bits;
    int is_range = f->version >= INDEX_VERSION_RANGE;
    uint64_t per = is_range ? INDEX_PAGE_KEYS_RANGE : INDEX_PAGE_KEYS;
    uint64_t meta_len = 12ull * f->n_blks + 12ull * f->n_pages +
                        (is_range ? INDEX_RANGE_TRAILER : 0);
    if (le32_load(h) != INDEX_MAGIC ||
        f->version < INDEX_VERSION_NO_FIELDS || f->version > INDEX_VERSION ||
        le64_load(h + 8) != seq || f->n_blks > INDEX_MAX_BLKS ||
        meta_len > IX_MAX_META || meta_len > f->size - INDEX_HDR_LEN ||
        f->n_pages > f->n_keys ||
        (uint64_t)f->n_keys > (uint64_t)f->n_pages * per ||
        (is_range && (uint64_t)f->n_pages != (f->n_keys + per - 1) / per))
        goto fail;
    meta = xmalloc(meta_len ? meta_len : 1);
    *errstr = "unreadable";
    if (ix_pread_all(fd, meta, (size_t)meta_len, INDEX_HDR_LEN) < 0)
        goto fail;
    uint32_t crc = compress_crc32(0, h, INDEX_HDR_LEN - 4);
    crc = compress_crc32(crc, meta, (size_t)meta_len);
    *errstr = "bad checksum";
    if (crc != le32_load(h + 28))
        goto fail;
    *errstr = "bad page directory";
    if ((is_range && ix_parse_trailer(f, meta + meta_len -
                                         INDEX_RANGE_TRAILER) < 0) ||
        ix_parse_meta(f, meta) < 0)
        goto fail;
    while (f->n_blks > 1 && (f->n_blks - 1) >> f->blk_bits)
        f->blk_bits++;
    free(meta);
    return f;
fail:
    free(meta);
    index_file_free(f);
    return NULL;
}

int
index_file_has_fields(const struct index_file *f)
{
    return f->has_fields;
}

int
index_file_has_subwords(const struct index_file *f)
{
    return f->version >= INDEX_VERSION_SUBWORDS;
}

uint32_t
index_file_n_blks(const struct index_file *f)
{
    return f->n_blks;
}

const struct index_blkref *
index_file_blks(const struct index_file *f)
{
    return f->blks;
}

uint64_t
index_file_size(const struct index_file *f)
{
    return f->size;
}

static void
ix_set_bit(const struct index_file *f, const uint32_t *map, uint32_t b,
           uint32_t fm, uint64_t *bits, uint32_t *fmask, uint32_t n_bits)
{
    if (b >= f->n_blks)
        return;
    uint32_t d = map ? map[b] : b;
    if (d >= n_bits)
        return;
    bits[d / 64] |= 1ull << (d % 64);
    if (fmask)
        fmask[d] = fm;
}

/* One decoded postings entry (ix_postings). */
struct ix_dec {
    uint32_t *blks;                     /* f->n_blks entries */
    uint32_t *fms;                      /* their frame masks */
    uint32_t *cws;                      /* count words, if has_counts */
    uint32_t  n, check;
    int       has_counts;
    int       is_merged;                /* version 9: counts of one token
                                           of several under the key */
};

/* The frame mask of frame code code (ix_fcode), reading the mask from
 * *pp if the code says so. -1 if malformed. */
static int
ix_get_fmask(const uint8_t **pp, const uint8_t *end, uint32_t code,
             uint32_t *fm)
{
    uint64_t v;

    if (code < IX_FCODE_MASK) {
        *fm = 1u << code;
        return 0;
    }
    if (ix_get_varint(pp, end, &v) < 0 || v == 0 || v > INDEX_FRAMES_ALL)
        return -1;
    *fm = (uint32_t)v;
    return 0;
}

/* Decodes one postings entry at *pp into d (if want, else skips it).
 * -1 if malformed. */
static int
ix_postings(const struct index_file *f, const uint8_t **pp,
            const uint8_t *end, int want, struct ix_dec *d)
{
    uint64_t hdr, v, cnt;
    uint32_t fm = INDEX_FRAMES_ALL;
    int is_counted, is_map, is_framed;

    if (ix_get_varint(pp, end, &hdr) < 0)
        return -1;
    is_counted = (hdr & 3) == 3;
    if (is_counted && f->version < INDEX_VERSION_COUNTS)
        return -1;
    cnt = is_counted ? hdr >> 3 : hdr >> 2;
    is_map = is_counted ? (hdr >> 2) & 1 : (hdr & 3) == 1;
    d->n = 0;
    d->has_counts = 0;
    d->is_merged = 0;
    if (!is_counted && (hdr & 3) == 2) {
        if (f->version >= INDEX_VERSION_FRAMES &&
            ix_get_fmask(pp, end, (uint32_t)(cnt & 7), &fm) < 0)
            return -1;
        if (f->version >= INDEX_VERSION_FRAMES)
            cnt >>= 3;
        if (cnt >= f->n_blks)
            return -1;
        if (want) {
            d->fms[d->n] = fm;
            d->blks[d->n++] = (uint32_t)cnt;
        }
        return 0;
    }
    if (cnt > f->n_blks)
        return -1;
    /* version 6: a list of fewer than IX_COUNT_MIN_BLKS blocks carries
     * their frames */
    is_framed = f->version >= INDEX_VERSION_FRAMES && !is_counted &&
                !is_map && cnt < IX_COUNT_MIN_BLKS;
    if (is_map) {
        size_t map_len = (f->n_blks + 7) / 8;
        uint32_t got = 0;
        if ((size_t)(end - *pp) < map_len)
            return -1;
        for (uint32_t b = 0; b < f->n_blks; b++)
            if ((*pp)[b / 8] & (1u << (b % 8))) {
                if (want) {
                    d->fms[d->n] = INDEX_FRAMES_ALL;
                    d->blks[d->n++] = b;
                }
                got++;
            }
        *pp += map_len;
        if (is_counted && got != cnt)
            return -1;
    } else {
        uint64_t blk = 0;
        for (uint64_t i = 0; i < cnt; i++) {
            if (ix_get_varint(pp, end, &v) < 0 ||
                (is_framed &&
                 ix_get_fmask(pp, end, (uint32_t)(v & 7), &fm) < 0))
                return -1;
            if (is_framed)
                v >>= 3;
            if (v >= f->n_blks)
                return -1;
            blk = i ? blk + v + 1 : v;
            if (blk >= f->n_blks)
                return -1;
            if (want) {
                d->fms[d->n] = fm;
                d->blks[d->n++] = (uint32_t)blk;
            }
        }
    }
    if (!is_counted)
        return 0;
    if ((size_t)(end - *pp) < 4)
        return -1;
    d->check = le32_load(*pp);
    *pp += 4;
    for (uint64_t i = 0; i < cnt; i++) {
        if (ix_get_varint(pp, end, &v) < 0 || v > UINT32_MAX)
            return -1;
        if (want)
            d->cws[i] = (uint32_t)v;
    }
    d->has_counts = 1;
    return 0;
}

/* Last page whose first hash is <= hash, or -1. */
static long
ix_find_page(const struct index_file *f, uint32_t hash)
{
    size_t lo = 0, hi = f->n_pages;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->first[mid] <= hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

/* The bits of p[0..nb) from bit pos (< nb * 8) on, in the low bits of a
 * word, zeros past the end: at least 57 of them are the page's when 8
 * bytes follow. */
static inline uint64_t
ix_bits(const uint8_t *p, size_t nb, uint64_t pos)
{
    size_t at = (size_t)(pos >> 3);
    uint64_t w = 0;

    if (nb - at >= 8)
        w = le64_load(p + at);
    else
        for (size_t k = 0; at + k < nb; k++)
            w |= (uint64_t)p[at + k] << (8 * k);
    return w >> (pos & 7);
}

/* A page's bits from pos on (index_write.c's stream: bytes filled from
 * their lowest bit). */
struct ix_br {
    const uint8_t *p;
    size_t         nb;
    uint64_t       pos, n_bits;
};

/* The next n (<= 57) bits into *v. -1 past the page. */
static inline int
ix_br_get(struct ix_br *b, uint32_t n, uint64_t *v)
{
    if (b->n_bits - b->pos < n)
        return -1;
    *v = n ? ix_bits(b->p, b->nb, b->pos) & ((1ull << n) - 1) : 0;
    b->pos += n;
    return 0;
}

/* The bits up to the next stop bit (a zero when ones, else a one), at
 * most max of them, into *run, and past the stop bit. -1 past the page
 * or past max. */
static int
ix_br_run(struct ix_br *b, int ones, uint64_t max, uint64_t *run)
{
    uint64_t got = 0;

    for (;;) {              /* up to 57 at a time */
        if (b->pos >= b->n_bits)
            return -1;
        uint64_t avail = b->n_bits - b->pos < 57 ? b->n_bits - b->pos : 57;
        uint64_t w = ix_bits(b->p, b->nb, b->pos);
        if (ones)
            w = ~w;
        w &= (1ull << avail) - 1;
        if (w) {
            uint64_t z = (uint64_t)__builtin_ctzll(w);
            got += z;
            b->pos += z + 1;
            break;
        }
        got += avail;
        b->pos += avail;
        if (got > max)
            return -1;
    }
    if (got > max)
        return -1;
    *run = got;
    return 0;
}

/* An Exp-Golomb value of parameter k (index_write.c ix_bw_eg) into *v,
 * its unary part at most 32 bits: -1 if longer or past the page. */
static int
ix_br_eg(struct ix_br *b, uint32_t k, uint64_t *v)
{
    uint64_t len, lo, hi;

    if (b->n_bits - b->pos >= 57) {     /* from one load when it fits */
        uint64_t w = ix_bits(b->p, b->nb, b->pos) & ((1ull << 57) - 1);
        if (w) {
            len = (uint64_t)__builtin_ctzll(w);
            if (2 * len + 1 + k <= 57) {
                w >>= len + 1;
                hi = w & ((1ull << len) - 1);
                lo = (w >> len) & ((1ull << k) - 1);
                b->pos += 2 * len + 1 + k;
                *v = ((((uint64_t)1 << len | hi) - 1) << k) | lo;
                return 0;
            }
        }
    }
    if (ix_br_run(b, 0, 32, &len) < 0 || ix_br_get(b, (uint32_t)len, &hi) < 0 ||
        ix_br_get(b, k, &lo) < 0)
        return -1;
    *v = ((((uint64_t)1 << len | hi) - 1) << k) | lo;
    return 0;
}

/* Version 7 to 9: the Rice-coded gaps (r their parameter) of a page of
 * cnt keys whose first is first, from b's position (index_write.c
 * ix_gaps): *at the number of key within the page (-1: not there), b
 * past the gaps when it is there (the gaps after a key past key are not
 * read). A gap from one load of 57 bits where it fits (its ones, the
 * zero, its r low bits). -1 if malformed. */
static int
ix_find_gap(struct ix_br *b, uint32_t r, uint64_t cnt, uint64_t first,
            uint32_t key, long *at)
{
    uint64_t h = first, lomask = (1ull << r) - 1;

    *at = h == key ? 0 : -1;
    if (h > key)
        return 0;
    for (uint64_t i = 1; i < cnt; i++) {
        uint64_t hi, lo;
        uint64_t w = b->n_bits - b->pos >= 57
                     ? ix_bits(b->p, b->nb, b->pos) | ~((1ull << 57) - 1)
                     : 0;
        uint64_t z = w ? (uint64_t)__builtin_ctzll(~w) : 64;
        if (z + 1 + r <= 57) {
            hi = z;
            lo = (w >> (z + 1)) & lomask;
            b->pos += z + 1 + r;
            if (hi > UINT32_MAX >> r)
                return -1;
        } else if (ix_br_run(b, 1, UINT32_MAX >> r, &hi) < 0 ||
                   ix_br_get(b, r, &lo) < 0) {
            return -1;
        }
        h += (hi << r | lo) + 1;
        if (h > UINT32_MAX)
            return -1;
        if (h == key)
            *at = (long)i;
        else if (h > key && *at < 0)
            return 0;                   /* not in the page */
    }
    return 0;
}

/* Version 9: a symbol of the file's frame code into *sym (canonical:
 * the first bit the code's most significant). -1 if none or past the
 * page. */
static inline int
ix_br_sym(const struct index_file *f, struct ix_br *b, uint32_t *sym)
{
    if (f->code_one >= 0) {
        *sym = (uint32_t)f->code_one;
        return 0;
    }
    uint64_t w = ix_bits(b->p, b->nb, b->pos), avail = b->n_bits - b->pos;
    uint32_t code = 0, first = 0, at = 0, fast = f->hfast[w & 255];
    if (fast && fast >> 4 <= avail) {
        *sym = fast & 15;
        b->pos += fast >> 4;
        return 0;
    }
    for (uint32_t l = 1; l < 16 && l <= avail; l++, w >>= 1) {
        code |= (uint32_t)(w & 1);
        uint32_t c = f->hcount[l];
        if (code - first < c) {
            *sym = f->hsym[at + code - first];
            b->pos += l;
            return 0;
        }
        at += c;
        first = (first + c) << 1;
        code <<= 1;
    }
    return -1;
}

/* A block's frame field (index_write.c ix_bw_frames) into *fm: version
 * 8 in widths fbits and mbits, version 9 in the file's code. -1 if
 * malformed. */
static int
ix_br_frames(const struct index_file *f, struct ix_br *b, uint32_t fbits,
             uint32_t mbits, uint32_t *fm)
{
    uint64_t is_mask, v;
    uint32_t sym;

    if (f->version >= INDEX_VERSION_RANGE) {
        if (ix_br_sym(f, b, &sym) < 0)
            return -1;
        is_mask = sym == f->mbits;
        v = sym;
        if (is_mask && ix_br_get(b, f->mbits, &v) < 0)
            return -1;
    } else if (ix_br_get(b, 1, &is_mask) < 0 ||
               ix_br_get(b, is_mask ? mbits : fbits, &v) < 0) {
        return -1;
    }
    if (!is_mask)
        v = 1ull << v;
    if (v == 0 || v > INDEX_FRAMES_ALL)
        return -1;
    *fm = (uint32_t)v;
    return 0;
}

/* Version 8: one key's postings (index_write.c ix_put_postings_bits)
 * from b into d (if want, else skipped). -1 if malformed. */
static int
ix_postings_bits(const struct index_file *f, struct ix_br *b,
                 uint32_t fbits, uint32_t mbits, int want, struct ix_dec *d)
{
    uint64_t kind, v, n;
    uint32_t fm;

    d->n = 0;
    d->has_counts = 0;
    d->is_merged = 0;
    /* the most common key, in one block, from one load of 57 bits (at
     * most 1 + 20 + 1 + 12 of them) */
    uint32_t has_kind = f->n_blks > 1;
    uint64_t need = has_kind + f->blk_bits + 1 +
                    (fbits > mbits ? fbits : mbits);
    if (f->version < INDEX_VERSION_RANGE && f->n_blks > 0 &&
        b->n_bits - b->pos >= need) {
        uint64_t w = ix_bits(b->p, b->nb, b->pos);
        if ((w & has_kind) == 0) {
            w >>= has_kind;
            uint64_t blk = w & ((1ull << f->blk_bits) - 1);
            w >>= f->blk_bits;
            uint32_t is_mask = (uint32_t)(w & 1), wd = is_mask ? mbits : fbits;
            uint64_t m = (w >> 1) & ((1ull << wd) - 1);
            if (!is_mask)
                m = 1ull << m;
            if (blk >= f->n_blks || m == 0 || m > INDEX_FRAMES_ALL)
                return -1;
            b->pos += has_kind + f->blk_bits + 1 + wd;
            if (want) {
                d->fms[0] = (uint32_t)m;
                d->blks[0] = (uint32_t)blk;
                d->n = 1;
            }
            return 0;
        }
    }
    kind = 0;                           /* a file of one block: no kind */
    if (f->n_blks == 0 || (f->n_blks > 1 && ix_br_get(b, 1, &kind) < 0))
        return -1;
    if (kind == 0) {                    /* one block */
        uint64_t blk;
        if (ix_br_get(b, f->blk_bits, &blk) < 0 || blk >= f->n_blks ||
            ix_br_frames(f, b, fbits, mbits, &fm) < 0)
            return -1;
        if (want) {
            d->fms[0] = fm;
            d->blks[0] = (uint32_t)blk;
            d->n = 1;
        }
        return 0;
    }
    if (ix_br_get(b, 1, &kind) < 0)
        return -1;
    if (kind == 0) {                    /* 2 or 3 blocks, with frames */
        if (ix_br_get(b, 1, &n) < 0)
            return -1;
        n += 2;
        for (uint64_t i = 0, last = 0; i < n; i++) {
            if (ix_br_get(b, f->blk_bits, &v) < 0 || v >= f->n_blks ||
                (i && v <= last) || ix_br_frames(f, b, fbits, mbits, &fm) < 0)
                return -1;
            last = v;
            if (want) {
                d->fms[d->n] = fm;
                d->blks[d->n++] = (uint32_t)v;
            }
        }
        return 0;
    }
    uint64_t is_counted, is_map, k, is_merged = 0;
    if (f->n_blks < IX_COUNT_MIN_BLKS ||
        ix_br_get(b, 1, &is_counted) < 0 ||
        (is_counted && f->version >= INDEX_VERSION_RANGE &&
         ix_br_get(b, 1, &is_merged) < 0) ||
        ix_br_get(b, 1, &is_map) < 0 ||
        ix_br_eg(b, 0, &n) < 0 || n > f->n_blks - IX_COUNT_MIN_BLKS)
        return -1;
    n += IX_COUNT_MIN_BLKS;
    if (is_map) {
        uint64_t got = 0;
        for (uint32_t blk = 0, take; blk < f->n_blks; blk += take) {
            take = f->n_blks - blk < 57 ? f->n_blks - blk : 57;
            if (ix_br_get(b, take, &v) < 0)
                return -1;
            got += (uint64_t)__builtin_popcountll(v);
            for (; want && v; v &= v - 1) {
                d->fms[d->n] = INDEX_FRAMES_ALL;
                d->blks[d->n++] = blk + (uint32_t)__builtin_ctzll(v);
            }
        }
        if (got != n)
            return -1;
    } else {
        uint64_t blk;
        if (ix_br_get(b, 5, &k) < 0 || k > 20 ||
            ix_br_get(b, f->blk_bits, &blk) < 0 || blk >= f->n_blks)
            return -1;
        for (uint64_t i = 0; i < n; i++) {
            if (i && (ix_br_eg(b, (uint32_t)k, &v) < 0 ||
                      v >= f->n_blks - blk - 1))
                return -1;
            if (i)
                blk += v + 1;
            if (want) {
                d->fms[d->n] = INDEX_FRAMES_ALL;
                d->blks[d->n++] = (uint32_t)blk;
            }
        }
    }
    if (!is_counted)
        return 0;
    uint64_t check, forms, kr, other, own;
    if (ix_br_get(b, 32, &check) < 0 || ix_br_get(b, 3, &forms) < 0 ||
        ix_br_get(b, 5, &kr) < 0 || kr > 20)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        own = forms;
        if (ix_br_get(b, 1, &other) < 0 ||
            (other && ix_br_get(b, 3, &own) < 0) ||
            ix_br_eg(b, (uint32_t)kr, &v) < 0 || v > UINT32_MAX >> 3)
            return -1;
        if (want)
            d->cws[i] = (uint32_t)(v << 3 | own);
    }
    d->check = (uint32_t)check;
    d->has_counts = want;
    d->is_merged = (int)is_merged;
    return 0;
}

/* The postings of hash into d (d->n = 0 if absent): those of its key,
 * the hash's top f->key_bits bits (version 7). -1 if the page cannot be
 * read or is damaged. */
static int
ix_file_find(const struct index_file *f, int fd, uint32_t hash,
             struct ix_dec *d)
{
    hash = index_key_cut(hash, f->range);
    long pg = ix_find_page(f, hash);
    uint8_t stack[4096] = { 0 }, *page = stack;
    int rc = -1;

    d->n = 0;
    d->has_counts = 0;
    d->is_merged = 0;
    if (pg < 0)
        return 0;
    uint32_t len = f->len[pg];
    if (len > sizeof(stack))
        page = xmalloc(len);
    if (ix_pread_all(fd, page, len, f->off[pg]) < 0 ||
        compress_crc32(0, page, len) != f->crc[pg])
        goto out;
    const uint8_t *p = page, *end = page + len;
    uint64_t cnt, delta, h = f->first[pg];
    int is_range = f->version >= INDEX_VERSION_RANGE;
    if (is_range)               /* every page full but the last */
        cnt = (uint64_t)pg + 1 < f->n_pages
              ? INDEX_PAGE_KEYS_RANGE
              : f->n_keys - (uint64_t)pg * INDEX_PAGE_KEYS_RANGE;
    else if (ix_get_varint(&p, end, &cnt) < 0 || cnt > INDEX_PAGE_KEYS)
        goto out;
    if (f->version >= INDEX_VERSION_SHORT_KEYS) {
        int is_bits = f->version >= INDEX_VERSION_BITS;
        uint32_t fbits = 0, mbits = 0;
        long at;
        if (p >= end || *p > 31 || (is_bits && !is_range && end - p < 2))
            goto out;
        uint32_t r = *p++;
        uint64_t skip = 0;
        if (is_range && ix_get_varint(&p, end, &skip) < 0)
            goto out;
        if (is_bits && !is_range) {
            fbits = *p & 15;
            mbits = *p++ >> 4;
            if (mbits > INDEX_FRAME_BITS || fbits > 4)
                goto out;
        }
        struct ix_br b = { .p = p, .nb = (size_t)(end - p),
                           .n_bits = (uint64_t)(end - p) * 8 };
        if (ix_find_gap(&b, r, cnt, h, hash, &at) < 0)
            goto out;
        if (is_bits) {
            long i = 0;
            /* version 9: a key of the second half skips the first's */
            if (is_range && skip && at >= INDEX_PAGE_KEYS_RANGE / 2) {
                if (skip > b.n_bits - b.pos)
                    goto out;
                b.pos += skip;
                i = INDEX_PAGE_KEYS_RANGE / 2;
            }
            for (; i <= at; i++)
                if (ix_postings_bits(f, &b, fbits, mbits, i == at, d) < 0)
                    goto out;
            rc = 0;
            goto out;
        }
        p += (b.pos + 7) / 8;
        for (long i = 0; i <= at; i++)
            if (ix_postings(f, &p, end, i == at, d) < 0)
                goto out;
        rc = 0;
        goto out;
    }
    for (uint64_t i = 0; i < cnt; i++) {
        if (ix_get_varint(&p, end, &delta) < 0 || delta > UINT32_MAX - h)
            goto out;
        h += delta;
        if (h > hash)
            break;
        if (ix_postings(f, &p, end, h == hash, d) < 0)
            goto out;
        if (h == hash)
            break;
    }
    rc = 0;
out:
    if (page != stack)
        free(page);
    return rc;
}

static void
ix_dec_init(const struct index_file *f, struct ix_dec *d)
{
    size_t n = f->n_blks ? f->n_blks : 1;

    d->blks = xcalloc(n, sizeof(*d->blks));
    d->fms = xcalloc(n, sizeof(*d->fms));
    d->cws = xcalloc(n, sizeof(*d->cws));
    d->n = 0;
    d->has_counts = 0;
    d->is_merged = 0;
}

static void
ix_dec_fini(struct ix_dec *d)
{
    free(d->blks);
    free(d->fms);
    free(d->cws);
}

int
index_file_lookup_check(const struct index_file *f, int fd, uint32_t hash,
                        uint32_t check, int has_check, const uint32_t *map,
                        uint64_t *bits, uint32_t *fmask, uint32_t n_bits)
{
    struct ix_dec d;

    ix_dec_init(f, &d);
    int rc = ix_file_find(f, fd, hash, &d);
    /* a counted key not marked merged is one token's (collided keys
     * have no counts): a query token of another check is not in the
     * segment */
    if (rc == 0 && has_check && d.has_counts && !d.is_merged &&
        d.check != check)
        d.n = 0;
    for (uint32_t i = 0; rc == 0 && i < d.n; i++)
        ix_set_bit(f, map, d.blks[i], d.fms[i], bits, fmask, n_bits);
    ix_dec_fini(&d);
    return rc;
}

int
index_file_lookup_frames(const struct index_file *f, int fd, uint32_t hash,
                         const uint32_t *map, uint64_t *bits,
                         uint32_t *fmask, uint32_t n_bits)
{
    return index_file_lookup_check(f, fd, hash, 0, 0, map, bits, fmask,
                                   n_bits);
}

int
index_file_lookup(const struct index_file *f, int fd, uint32_t hash,
                  const uint32_t *map, uint64_t *bits, uint32_t n_bits)
{
    return index_file_lookup_frames(f, fd, hash, map, bits, NULL, n_bits);
}

int
index_file_counts(const struct index_file *f, int fd, uint32_t hash,
                  uint32_t check, const uint32_t *map, uint32_t *cw,
                  uint32_t n_bits)
{
    struct ix_dec d;

    ix_dec_init(f, &d);
    int rc = ix_file_find(f, fd, hash, &d);
    if (rc == 0 && d.has_counts && d.check == check) {
        for (uint32_t i = 0; i < d.n; i++) {
            uint32_t b = map ? map[d.blks[i]] : d.blks[i];
            if (b < n_bits)
                cw[b] = d.cws[i];
        }
        rc = 1;
    }
    ix_dec_fini(&d);
    return rc;
}
