/* SPDX-License-Identifier: MIT */
/*
 * block: byte encodings of the store (collector/STORE.md): block headers,
 * block meta (the per-block label table used for pruning), record bodies
 * (shared by blocks and WAL entries). Pure functions over memory: no I/O.
 * The body decoder is hand-written rather than built on common/buf.h's
 * reader because it runs once per stored record on every scan; it is
 * bounds-checked at every step and never trusts a length from disk.
 */
#include "collector/store/store_internal.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BLK_HAS_AVX2_PATH 1
#endif

#include "common/compress.h"
#include "common/xmalloc.h"

static int
get_str(const uint8_t **pp, const uint8_t *end, const uint8_t **s,
        size_t *len)
{
    uint64_t n;

    if (blk_get_varint(pp, end, &n) < 0 || n > (uint64_t)(end - *pp))
        return -1;
    *s = *pp;
    *len = (size_t)n;
    *pp += n;
    return 0;
}

int
block_put_str(struct buf *b, const void *p, size_t n)
{
    if (buf_put_varint(b, n) < 0)
        return -1;
    return buf_append(b, p, n);
}

/* ------------------------------------------------------------------ */
/* Record bodies                                                       */

static inline size_t
put_varint_raw(uint8_t *t, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    return n;
}

size_t
block_varint_encode(uint8_t out[10], uint64_t v)
{
    return put_varint_raw(out, v);
}

int
block_rec_encode(struct buf *b, uint32_t label, int64_t prev[2],
                 const struct store_rec *r)
{
    uint8_t t[64];
    size_t n = 0;
    int64_t dt = (int64_t)((uint64_t)r->time_ns - (uint64_t)prev[0]);
    int64_t drecv = (int64_t)((uint64_t)r->recv_ns - (uint64_t)prev[1]);

    /* The prefix is built in a small array: one reserve per record. */
    n += put_varint_raw(t + n, label);
    n += put_varint_raw(t + n, blk_zz_enc(dt));
    n += put_varint_raw(t + n, blk_zz_enc(drecv));
    t[n++] = (uint8_t)((r->stream & 1) | (uint8_t)(r->flags << 1));
    n += put_varint_raw(t + n, r->offset);
    n += put_varint_raw(t + n, r->msg_len);
    if (buf_reserve(b, n + r->msg_len) < 0)
        return -1;
    memcpy(b->data + b->len, t, n);
    if (r->msg_len)
        memcpy(b->data + b->len + n, r->msg, r->msg_len);
    b->len += n + r->msg_len;
    prev[0] = r->time_ns;
    prev[1] = r->recv_ns;
    return 0;
}

static int
block_body_decode_prev(const uint8_t *p, size_t len, uint32_t n,
                       uint32_t n_labels, int has_recv, int64_t prev,
                       int64_t prev_recv, struct store_rec **recs,
                       size_t *cap)
{
    const uint8_t *end = p + len;

    if (n > len)                /* every record takes at least 5 bytes */
        return -1;
    if (*cap < n) {
        *recs = xreallocarray(*recs, n, sizeof(**recs));
        *cap = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct store_rec *r = &(*recs)[i];
        uint64_t label, dt, drecv = 0, off;
        const uint8_t *msg;
        size_t msg_len;

        if (blk_get_varint(&p, end, &label) < 0 || label >= n_labels ||
            blk_get_varint(&p, end, &dt) < 0 ||
            (has_recv && blk_get_varint(&p, end, &drecv) < 0) || p >= end)
            return -1;
        uint8_t sf = *p++;
        if (blk_get_varint(&p, end, &off) < 0 ||
            get_str(&p, end, &msg, &msg_len) < 0 || msg_len > UINT32_MAX)
            return -1;
        prev = (int64_t)((uint64_t)prev + (uint64_t)blk_zz_dec(dt));
        prev_recv = (int64_t)((uint64_t)prev_recv + (uint64_t)blk_zz_dec(drecv));
        r->time_ns = prev;
        r->recv_ns = prev_recv;
        r->offset = off;
        r->msg = msg;
        r->msg_len = (uint32_t)msg_len;
        r->label = (uint32_t)label;
        r->seq = i;
        r->stream = sf & 1;
        r->flags = (uint8_t)(sf >> 1);
    }
    return p == end ? 0 : -1;
}

int
block_body_decode(const uint8_t *p, size_t len, uint32_t n,
                  uint32_t n_labels, int has_recv, struct store_rec **recs,
                  size_t *cap)
{
    return block_body_decode_prev(p, len, n, n_labels, has_recv, 0, 0, recs,
                                  cap);
}

int
block_body_decode_at(const uint8_t *p, size_t len, uint32_t n,
                     uint32_t n_labels, const int64_t prev[2],
                     struct store_rec **recs, size_t *cap)
{
    return block_body_decode_prev(p, len, n, n_labels, 1, prev[0], prev[1],
                                  recs, cap);
}

/* ------------------------------------------------------------------ */
/* Block meta and header                                               */

int
block_meta_decode(const uint8_t *p, size_t len, int64_t min_ns,
                  uint8_t *stream_mask, struct store_meta_label **labels,
                  uint32_t *n_labels, struct store_frame **frames,
                  uint32_t *n_frames, struct block_recv_range *recv)
{
    const uint8_t *end = p + len;
    struct store_meta_label *ls = NULL;
    uint64_t n;

    if (len < 1)
        return -1;
    uint8_t mask = *p++;
    /* each label takes at least 8 bytes */
    if (blk_get_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p) / 8 + 1)
        return -1;
    ls = xcalloc(n ? n : 1, sizeof(*ls));
    for (uint64_t i = 0; i < n; i++) {
        struct store_meta_label *l = &ls[i];
        uint64_t dmin, span;
        for (int k = 0; k < 4; k++)
            if (get_str(&p, end, &l->str[k], &l->len[k]) < 0)
                goto fail;
        if (blk_get_varint(&p, end, &l->n_lines) < 0 ||
            blk_get_varint(&p, end, &l->max_off) < 0 ||
            blk_get_varint(&p, end, &dmin) < 0 ||
            blk_get_varint(&p, end, &span) < 0)
            goto fail;
        l->min_ns = (int64_t)((uint64_t)min_ns + (uint64_t)blk_zz_dec(dmin));
        l->max_ns = (int64_t)((uint64_t)l->min_ns + span);
    }
    if (frames) {
        /* the caller checks the table against the header */
        if (block_frames_decode(p, end, min_ns, UINT32_MAX, UINT64_MAX,
                                UINT64_MAX, frames, n_frames, recv) < 0)
            goto fail;
    } else if (p != end) {
        goto fail;
    }
    *stream_mask = mask;
    *labels = ls;
    *n_labels = (uint32_t)n;
    return 0;
fail:
    free(ls);
    return -1;
}

int
block_frames_decode(const uint8_t *p, const uint8_t *end, int64_t min_ns,
                    uint32_t n_records, uint64_t comp_len, uint64_t raw_len,
                    struct store_frame **frames, uint32_t *n_frames,
                    struct block_recv_range *recv)
{
    uint64_t n, off = 0, raw = 0, first = 0;

    /* each frame takes at least 8 bytes of table and one record */
    if (blk_get_varint(&p, end, &n) < 0 || n == 0 ||
        n > (uint64_t)(end - p) / 8)
        return -1;
    struct store_frame *fs = xcalloc(n, sizeof(*fs));
    for (uint64_t i = 0; i < n; i++) {
        struct store_frame *f = &fs[i];
        uint64_t nr, cl, rl, dmin, span;
        if (blk_get_varint(&p, end, &nr) < 0 || nr == 0 ||
            nr > UINT32_MAX - first ||
            blk_get_varint(&p, end, &cl) < 0 || cl > STORE_MAX_RAW ||
            blk_get_varint(&p, end, &rl) < 0 || rl > STORE_MAX_RAW ||
            end - p < 4)
            goto fail;
        f->crc = le32_load(p);
        p += 4;
        if (blk_get_varint(&p, end, &dmin) < 0 ||
            blk_get_varint(&p, end, &span) < 0)
            goto fail;
        f->off = off;
        f->comp_len = (uint32_t)cl;
        f->raw_len = (uint32_t)rl;
        f->n_records = (uint32_t)nr;
        f->first = (uint32_t)first;
        f->min_ns = (int64_t)((uint64_t)min_ns + (uint64_t)blk_zz_dec(dmin));
        f->max_ns = (int64_t)((uint64_t)f->min_ns + span);
        off += cl;
        raw += rl;
        first += nr;
    }
    if (recv != NULL) {
        uint64_t mn, span;
        if (blk_get_varint(&p, end, &mn) < 0 ||
            blk_get_varint(&p, end, &span) < 0 || mn > INT64_MAX ||
            span > (uint64_t)INT64_MAX - mn || (mn == 0 && span != 0))
            goto fail;
        recv->min = (int64_t)mn;
        recv->max = (int64_t)(mn + span);
    }
    if (p != end ||
        (n_records != UINT32_MAX &&
         (first != n_records || off != comp_len || raw != raw_len)))
        goto fail;
    *frames = fs;
    *n_frames = (uint32_t)n;
    return 0;
fail:
    free(fs);
    return -1;
}

void
block_hdr_encode(uint8_t out[STORE_BLK_HDR_LEN], const struct store_blk_hdr *h)
{
    le32_store(out, h->magic);
    le32_store(out + 4, h->meta_len);
    le32_store(out + 8, h->raw_len);
    le32_store(out + 12, h->comp_len);
    le32_store(out + 16, h->n_records);
    le32_store(out + 20, h->codec);
    le64_store(out + 24, (uint64_t)h->min_ns);
    le64_store(out + 32, (uint64_t)h->max_ns);
    le32_store(out + 40, h->body_crc);
    le32_store(out + 44, h->head_crc);
}

void
block_hdr_decode(const uint8_t in[STORE_BLK_HDR_LEN], struct store_blk_hdr *h)
{
    h->magic = le32_load(in);
    h->meta_len = le32_load(in + 4);
    h->raw_len = le32_load(in + 8);
    h->comp_len = le32_load(in + 12);
    h->n_records = le32_load(in + 16);
    h->codec = le32_load(in + 20);
    h->min_ns = (int64_t)le64_load(in + 24);
    h->max_ns = (int64_t)le64_load(in + 32);
    h->body_crc = le32_load(in + 40);
    h->head_crc = le32_load(in + 44);
}

/* ------------------------------------------------------------------ */
/* Columnar bodies (codec 2, sealed blocks)                            */

/* Column order in a codec-2 body; codecs 4 and 5 add COL_RECV, a codec 8
 * frame COL_TBITS (its COL_DT holds the time classes). */
enum {
    COL_LABEL, COL_DT, COL_FLAGS, COL_OFF, COL_LEN, COL_RECV, COL_N,
    COL_TBITS = COL_N, COL_MAX
};

/* Columns of a codec's body (codecs 8 and 9: of their frames). */
static int
cols_of(uint32_t codec)
{
    return codec == STORE_CODEC_FRAMES_TIME ||
           codec == STORE_CODEC_FRAMES_NL ? COL_MAX :
           store_codec_has_recv(codec) ? COL_N : COL_RECV;
}

/* Codec 8's time class of a delta d (2 * bit length of |d| + sign) and
 * the bits below the leading one of |d| (STORE.md "Time column (codec
 * 8)"). */
static inline uint8_t
time_class(int64_t d, uint64_t *m, int *n_bits)
{
    int neg = d < 0;
    *m = neg ? 0 - (uint64_t)d : (uint64_t)d;
    int len = *m ? 64 - __builtin_clzll(*m) : 0;
    *n_bits = len > 1 ? len - 1 : 0;
    return (uint8_t)(2 * len + neg);
}

/* Appends the low n (< 64) bits of v to the bit column at *w, least
 * significant first; *acc holds the *n_acc (< 8) bits not yet written. */
static inline void
bits_put(uint8_t **w, uint64_t *acc, int *n_acc, uint64_t v, int n)
{
    v &= (UINT64_C(1) << n) - 1;
    while (n > 0) {
        int take = 64 - *n_acc < n ? 64 - *n_acc : n;
        *acc |= (take == 64 ? v : v & ((UINT64_C(1) << take) - 1))
                << *n_acc;
        *n_acc += take;
        v = take == 64 ? 0 : v >> take;
        n -= take;
        while (*n_acc >= 8) {
            *(*w)++ = (uint8_t)*acc;
            *acc >>= 8;
            *n_acc -= 8;
        }
    }
}

/* Reads a codec 8 bit column. */
struct bit_reader {
    const uint8_t *p, *end;
    uint64_t acc;
    int      n;                 /* bits in acc */
};

/* The next n (< 64) bits into *v a byte at a time (the column's last
 * bytes, reads of more than 56 bits); -1 past the column's end. */
static int
bits_get_slow(struct bit_reader *b, int n, uint64_t *v)
{
    uint64_t out = 0;
    int got = 0;

    while (got < n) {
        while (b->n <= 56 && b->p < b->end) {
            b->acc |= (uint64_t)*b->p++ << b->n;
            b->n += 8;
        }
        if (b->n == 0)
            return -1;
        int take = n - got < b->n ? n - got : b->n;
        out |= (b->acc & ((UINT64_C(1) << take) - 1)) << got;
        b->acc >>= take;
        b->n -= take;
        got += take;
    }
    *v = out;
    return 0;
}

/* The next n (< 64) bits into *v; -1 past the column's end. Refills 8
 * bytes at once while 8 are left: the bits above b->n it loads are
 * those of the next bytes, loaded again (the same) at the next refill. */
static inline int
bits_get(struct bit_reader *b, int n, uint64_t *v)
{
    if (b->n < n && b->end - b->p >= 8) {
        b->acc |= le64_load(b->p) << b->n;
        b->p += (63 - b->n) >> 3;
        b->n |= 56;
    }
    if (b->n < n)
        return bits_get_slow(b, n, v);
    *v = b->acc & ((UINT64_C(1) << n) - 1);
    b->acc >>= n;
    b->n -= n;
    return 0;
}

/* The newlines in 64 bytes at p, bit k for byte k. */
#if defined(__SSE2__)
static inline uint32_t
nl_mask16(const uint8_t *p)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);

    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x,
                                                      _mm_set1_epi8('\n')));
}

static inline uint64_t
nl_mask64(const uint8_t *p)
{
    return (uint64_t)nl_mask16(p) | (uint64_t)nl_mask16(p + 16) << 16 |
           (uint64_t)nl_mask16(p + 32) << 32 |
           (uint64_t)nl_mask16(p + 48) << 48;
}
#endif

/* The newlines in [p, end): one pass, 16 bytes a step (codec 9's
 * messages, where a newline ends each), each byte's match (0 or -1)
 * subtracted from a byte counter and the counters summed (psadbw) every
 * 255 steps, before one can wrap: no popcount, which without -mpopcnt
 * is a call to libgcc's __popcountdi2 (~21 instructions) each time. */
uint64_t
block_nl_count(const uint8_t *p, const uint8_t *end)
{
    uint64_t c = 0;

#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (end - p >= 16) {
        size_t steps = (size_t)(end - p) / 16;
        if (steps > 255)
            steps = 255;
        __m128i acc = zero;
        for (size_t i = 0; i < steps; i++, p += 16)
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(
                _mm_loadu_si128((const __m128i *)(const void *)p), nl));
        __m128i sum = _mm_sad_epu8(acc, zero);  /* two 16-bit sums */
        c += (uint64_t)_mm_extract_epi16(sum, 0) +
             (uint64_t)_mm_extract_epi16(sum, 4);
    }
#endif
    for (; p < end; p++)
        c += *p == '\n';
    return c;
}

/* Appends the positions (from base) of mask m's bits to pos at *k: the
 * first written whatever the count (the next chunk's overwrites it if
 * there is none), so that a chunk of 0 or 1 newline (lines longer than
 * 64 bytes) takes no branch that depends on it; pos has 64 entries of
 * room past the last wanted. */
static inline void
nl_flatten(uint32_t *pos, uint32_t *k, uint64_t m, uint32_t base)
{
    uint32_t c = (uint32_t)__builtin_popcountll(m), at = *k;

    pos[at] = base + (uint32_t)__builtin_ctzll(m | UINT64_C(1) << 63);
    if (c > 1) {
        m &= m - 1;
        for (uint32_t j = 1; j < c; j++, m &= m - 1)
            pos[at + j] = base + (uint32_t)__builtin_ctzll(m);
    }
    *k = at + c;
}

#if defined(BLK_HAS_AVX2_PATH)
/* nl_find 64 bytes a step with AVX2 (only called where the CPU has it). */
__attribute__((target("avx2"))) static uint32_t
nl_find_avx2(const uint8_t *p, size_t len, uint32_t n, uint32_t *pos)
{
    const __m256i nl = _mm256_set1_epi8('\n');
    uint32_t k = 0;
    size_t at = 0;

    for (; len - at >= 64 && k < n; at += 64) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(p + at));
        __m256i y = _mm256_loadu_si256(
            (const __m256i *)(const void *)(p + at + 32));
        uint64_t m = (uint64_t)(uint32_t)_mm256_movemask_epi8(
                         _mm256_cmpeq_epi8(x, nl)) |
                     (uint64_t)(uint32_t)_mm256_movemask_epi8(
                         _mm256_cmpeq_epi8(y, nl)) << 32;
        nl_flatten(pos, &k, m, (uint32_t)at);
    }
    for (; at < len && k < n; at++)
        if (p[at] == '\n')
            pos[k++] = (uint32_t)at;
    return k;
}

/* 1 if the CPU has AVX2 (asked once). */
static int
blk_is_avx2(void)
{
    static int is = -1;
    int v = __atomic_load_n(&is, __ATOMIC_RELAXED);

    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&is, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

static int blk_no_avx2;                 /* block_test_nl_path */

/* The positions of the first n newlines of p's len bytes (len < 4 GiB)
 * into pos (n + 64 entries); how many it found if fewer, else at least
 * n. One pass, 64 bytes a step (AVX2 where the CPU has it, else SSE2),
 * instead of a search a record (codec 9's messages). */
uint32_t
block_nl_find(const uint8_t *p, size_t len, uint32_t n, uint32_t *pos)
{
    uint32_t k = 0;
    size_t at = 0;

#if defined(BLK_HAS_AVX2_PATH)
    if (!blk_no_avx2 && blk_is_avx2())
        return nl_find_avx2(p, len, n, pos);
#endif
#if defined(__SSE2__)
    for (; len - at >= 64 && k < n; at += 64)
        nl_flatten(pos, &k, nl_mask64(p + at), (uint32_t)at);
#endif
    for (; at < len && k < n; at++)
        if (p[at] == '\n')
            pos[k++] = (uint32_t)at;
    return k;
}

void
block_test_nl_path(int no_avx2)
{
    blk_no_avx2 = no_avx2 != 0;
}

/* Codec 9's offset prediction: the bytes of the fraction Docker's
 * json-file time of t holds (Go's RFC 3339 with nanoseconds: the dot and
 * the digits up to the last that is not 0, none for a whole second), as
 * a source's json-file line grows with it (STORE.md "Newline-ended
 * messages (codec 9)"). */
static inline uint64_t
frac_len(uint32_t f)
{
    uint64_t len = 10;

    if (f == 0)
        return 0;
    while (f % 10 == 0) {
        f /= 10;
        len--;
    }
    return len;
}

static inline uint64_t
time_frac_len(int64_t t)
{
    return frac_len((uint32_t)((uint64_t)t % 1000000000u));
}

/* t % 10^9 (as time_frac_len takes it) for t = the previous time + dt,
 * f the previous time's: one addition where dt is under a second and t
 * did not wrap (the decoder's step, a record at a time). */
static inline uint32_t
frac_step(uint32_t f, int64_t t, uint64_t dt)
{
    if (dt < 1000000000u && (uint64_t)t >= dt) {
        uint32_t g = f + (uint32_t)dt;
        return g >= 1000000000u ? g - 1000000000u : g;
    }
    return (uint32_t)((uint64_t)t % 1000000000u);
}

/* A frame's zstd blocks: at most FRAME_CUTS_MAX cuts (frame_cuts), a
 * cut at a source's edge at least FRAME_SRC_CUT_MIN bytes after the one
 * before (grouped blocks hold a few sources a frame; blocks in arrival
 * order, recompacted, many short runs). */
#define FRAME_CUTS_MAX    16
#define FRAME_SRC_CUT_MIN 4096

/* The most bytes a record takes in each column (varints of a u32, a u64
 * and a zigzagged i64; the flags byte). */
static const uint8_t col_max[COL_MAX] = { 5, 10, 1, 10, 5, 10, 8 };

/* Appends the column lengths, the columns [col[k], at[k]) and the n
 * messages (msg_bytes in all) to out; is_nl: the length column left out
 * and each message ended by a newline (codec 9). */
static int
cols_write(struct buf *out, uint8_t *const col[COL_MAX],
           uint8_t *const at[COL_MAX], int n_cols,
           const struct store_rec *recs, uint32_t n, uint64_t msg_bytes,
           int is_nl)
{
    size_t cols_len = 0, cl[COL_MAX];

    for (int k = 0; k < n_cols; k++) {
        cl[k] = is_nl && k == COL_LEN ? 0 : (size_t)(at[k] - col[k]);
        cols_len += cl[k];
    }
    if (is_nl)
        msg_bytes += n;                 /* the newlines */
    if (msg_bytes > out->max ||
        buf_reserve(out, (size_t)n_cols * 10 + cols_len +
                         (size_t)msg_bytes) < 0)
        return -1;
    uint8_t *w = out->data + out->len;
    for (int k = 0; k < n_cols; k++)
        w += put_varint_raw(w, (uint64_t)cl[k]);
    for (int k = 0; k < n_cols; k++) {
        memcpy(w, col[k], cl[k]);
        w += cl[k];
    }
    for (uint32_t i = 0; i < n; i++) {
        if (recs[i].msg_len)
            memcpy(w, recs[i].msg, recs[i].msg_len);
        w += recs[i].msg_len;
        if (is_nl)
            *w++ = '\n';
    }
    out->len = (size_t)(w - out->data);
    return 0;
}

int
block_cols_encode(struct buf *out, uint32_t codec,
                  const struct store_rec *recs, uint32_t n, uint32_t n_labels)
{
    /* Codecs 3 and 5: the offset column is predicted by the message
     * length (a source's offset advances by about its line's length). */
    uint64_t by_len = store_codec_is_zstd(codec);
    int n_cols = cols_of(codec), is_tbits = n_cols == COL_MAX;
    /* codec 9: newline-ended messages unless one holds a newline */
    int is_nl = codec == STORE_CODEC_FRAMES_NL && n > 0;
    uint64_t by_tlen = codec == STORE_CODEC_FRAMES_NL;
    uint8_t *col[COL_MAX], *at[COL_MAX];
    uint64_t acc = 0;
    int n_acc = 0;
    size_t per_rec = 0;
    uint64_t msg_bytes = 0;

    /* The columns are written into one scratch of their bound (no
     * growing buffers), then copied after their lengths. */
    for (int k = 0; k < n_cols; k++)
        per_rec += col_max[k];
    uint8_t *scratch = xmalloc((size_t)n * per_rec + 1);
    uint64_t *prev_off = xcalloc(n_labels ? n_labels : 1, sizeof(*prev_off));
    int64_t prev_ns = 0, prev_recv = 0;
    for (int k = 0, o = 0; k < n_cols; o += col_max[k], k++)
        col[k] = at[k] = scratch + (size_t)n * (size_t)o;
    for (uint32_t i = 0; i < n; i++) {
        const struct store_rec *r = &recs[i];
        int64_t dt = (int64_t)((uint64_t)r->time_ns - (uint64_t)prev_ns);
        int64_t doff = (int64_t)(r->offset - prev_off[r->label] -
                                 by_len * r->msg_len -
                                 (by_tlen ? time_frac_len(r->time_ns) : 0));
        prev_ns = r->time_ns;
        prev_off[r->label] = r->offset;
        at[COL_LABEL] += put_varint_raw(at[COL_LABEL], r->label);
        if (is_tbits) {
            uint64_t m;
            int n_bits;
            *at[COL_DT]++ = time_class(dt, &m, &n_bits);
            bits_put(&at[COL_TBITS], &acc, &n_acc, m, n_bits);
        } else {
            at[COL_DT] += put_varint_raw(at[COL_DT], blk_zz_enc(dt));
        }
        *at[COL_FLAGS]++ = (uint8_t)((r->stream & 1) | (r->flags << 1));
        at[COL_OFF] += put_varint_raw(at[COL_OFF], blk_zz_enc(doff));
        at[COL_LEN] += put_varint_raw(at[COL_LEN], r->msg_len);
        if (n_cols >= COL_N) {
            int64_t drecv = (int64_t)((uint64_t)r->recv_ns -
                                      (uint64_t)prev_recv);
            prev_recv = r->recv_ns;
            at[COL_RECV] += put_varint_raw(at[COL_RECV], blk_zz_enc(drecv));
        }
        msg_bytes += r->msg_len;
    }
    if (n_acc > 0)
        *at[COL_TBITS]++ = (uint8_t)acc;
    free(prev_off);
    size_t start = out->len;
    int rc = cols_write(out, col, at, n_cols, recs, n, msg_bytes, is_nl);
    if (rc == 0 && is_nl &&
        block_nl_count(out->data + out->len - msg_bytes - n,
                 out->data + out->len) != n) {
        /* a message holds a newline: the frame keeps its lengths */
        out->len = start;
        rc = cols_write(out, col, at, n_cols, recs, n, msg_bytes, 0);
    }
    free(scratch);
    return rc;
}

/* cols_decode's records; nl_pos: codec 9's newlines (from *msgs), or
 * NULL where the length column gives the messages' lengths. */
static int
cols_decode_at(const uint8_t *const cs[COL_MAX],
               const uint8_t *const ce[COL_MAX], const uint8_t **msgs,
               const uint8_t *end, uint32_t n, uint32_t n_labels,
               struct store_rec *recs, uint64_t *prev_off, uint64_t by_len,
               int is_codec9, const uint32_t *nl_pos)
{
    const uint8_t *c[COL_MAX];
    int64_t prev = 0, prev_recv = 0;
    int has_recv = cs[COL_RECV] != NULL, is_tbits = cs[COL_TBITS] != NULL;
    int is_nl = nl_pos != NULL;
    uint32_t frac = 0;          /* codec 9: prev % 10^9 */
    struct bit_reader br = { cs[COL_TBITS], ce[COL_TBITS], 0, 0 };

    memcpy(c, cs, sizeof(c));
    for (uint32_t i = 0; i < n; i++) {
        struct store_rec *r = &recs[i];
        uint64_t label, dt, doff, len = 0, drecv = 0;
        if (is_tbits) {
            /* class 2 * bit length + sign, at most 129; no negative 0 */
            unsigned tc = c[COL_DT] < ce[COL_DT] ? *c[COL_DT]++ : 1;
            unsigned bl = tc >> 1;
            if (tc > 129 || tc == 1)
                return -1;
            dt = 0;
            if (bl > 1 && bits_get(&br, (int)bl - 1, &dt) < 0)
                return -1;
            if (bl > 0)
                dt |= UINT64_C(1) << (bl - 1);
            if (tc & 1)
                dt = 0 - dt;
        } else if (blk_get_varint(&c[COL_DT], ce[COL_DT], &dt) < 0) {
            return -1;
        } else {
            dt = (uint64_t)blk_zz_dec(dt);
        }
        if (is_nl)                      /* from the last newline */
            len = nl_pos[i] - (i ? nl_pos[i - 1] + 1 : 0);
        if (blk_get_varint(&c[COL_LABEL], ce[COL_LABEL], &label) < 0 ||
            label >= n_labels ||
            c[COL_FLAGS] >= ce[COL_FLAGS] ||
            blk_get_varint(&c[COL_OFF], ce[COL_OFF], &doff) < 0 ||
            (!is_nl && blk_get_varint(&c[COL_LEN], ce[COL_LEN], &len) < 0) ||
            (has_recv && blk_get_varint(&c[COL_RECV], ce[COL_RECV], &drecv) < 0) ||
            len > (uint64_t)(end - *msgs))
            return -1;
        uint8_t sf = *c[COL_FLAGS]++;
        prev = (int64_t)((uint64_t)prev + dt);
        if (is_codec9)
            frac = frac_step(frac, prev, dt);
        prev_recv = (int64_t)((uint64_t)prev_recv + (uint64_t)blk_zz_dec(drecv));
        prev_off[label] += (uint64_t)blk_zz_dec(doff) + by_len * len +
                           (is_codec9 ? frac_len(frac) : 0);
        r->time_ns = prev;
        r->recv_ns = prev_recv;
        r->offset = prev_off[label];
        r->msg = *msgs;
        r->msg_len = (uint32_t)len;
        r->label = (uint32_t)label;
        r->seq = i;
        r->stream = sf & 1;
        r->flags = (uint8_t)(sf >> 1);
        *msgs += len + (uint64_t)is_nl;
    }
    for (int k = 0; k < (has_recv ? COL_N : COL_RECV); k++)
        if (c[k] != ce[k])
            return -1;
    /* the bit column ends in its last byte, padded with zeros */
    if (is_tbits && (br.p != br.end || br.n >= 8 || br.acc != 0))
        return -1;
    return 0;
}

/* Decodes the per-record columns; messages are laid out from *msgs
 * (codec 9: each ended by a newline where the length column is empty). */
static int
cols_decode(const uint8_t *const cs[COL_MAX],
            const uint8_t *const ce[COL_MAX], const uint8_t **msgs,
            const uint8_t *end, uint32_t n, uint32_t n_labels,
            struct store_rec *recs, uint64_t *prev_off, uint64_t by_len,
            int is_codec9)
{
    uint32_t *nl_pos = NULL;

    if (is_codec9 && n > 0 && cs[COL_LEN] == ce[COL_LEN]) {
        if (n > (uint64_t)(end - *msgs))
            return -1;                  /* a newline a record at least */
        nl_pos = xmalloc(((size_t)n + 64) * sizeof(*nl_pos));
        if ((uint64_t)(end - *msgs) > UINT32_MAX ||
            block_nl_find(*msgs, (size_t)(end - *msgs), n, nl_pos) < n) {
            free(nl_pos);
            return -1;
        }
    }
    int rc = cols_decode_at(cs, ce, msgs, end, n, n_labels, recs, prev_off,
                            by_len, is_codec9, nl_pos);
    free(nl_pos);
    return rc;
}

int
block_cols_decode(uint32_t codec, const uint8_t *p, size_t len, uint32_t n,
                  uint32_t n_labels, struct store_rec **recs, size_t *cap)
{
    const uint8_t *end = p + len, *cs[COL_MAX] = { NULL };
    const uint8_t *ce[COL_MAX] = { NULL };
    uint64_t cl[COL_MAX];
    int n_cols = cols_of(codec);

    if (n > len)                /* every record takes at least 5 bytes */
        return -1;
    for (int k = 0; k < n_cols; k++)
        if (blk_get_varint(&p, end, &cl[k]) < 0)
            return -1;
    for (int k = 0; k < n_cols; k++) {
        if (cl[k] > (uint64_t)(end - p))
            return -1;
        cs[k] = p;
        ce[k] = p + cl[k];
        p += cl[k];
    }
    if (*cap < n) {
        *recs = xreallocarray(*recs, n, sizeof(**recs));
        *cap = n;
    }
    uint64_t *prev_off = xcalloc(n_labels ? n_labels : 1, sizeof(*prev_off));
    int rc = cols_decode(cs, ce, &p, end, n, n_labels, *recs, prev_off,
                         store_codec_is_zstd(codec), 0);
    free(prev_off);
    return rc == 0 && p == end ? 0 : -1;
}

int
block_msg_bytes(uint32_t codec, const uint8_t *p, size_t len, uint32_t n,
                uint64_t *out)
{
    const uint8_t *end = p + len;
    int n_cols = store_codec_is_framed(codec) ?
                 cols_of(store_codec_frame_body(codec)) : cols_of(codec);
    uint64_t nf, cl, sum = 0;

    if (!store_codec_is_cols(codec) ||
        (store_codec_is_framed(codec) &&
         (blk_get_varint(&p, end, &nf) < 0 || nf != n)))
        return -1;      /* a frame's messages end where the next begins */
    uint64_t nl = 0;
    for (int k = 0; k < n_cols; k++) {
        if (blk_get_varint(&p, end, &cl) < 0 || cl > (uint64_t)(end - p))
            return -1;
        sum += cl;
        /* codec 9's newline-ended messages: the newlines are no one's */
        if (k == COL_LEN && cl == 0 && codec == STORE_CODEC_FRAMES_NL)
            nl = n;
    }
    if (sum + nl > (uint64_t)(end - p))
        return -1;
    *out = (uint64_t)(end - p) - sum - nl;
    return 0;
}

/* A codec 9 frame's column starts and ends (cs, ce) and its messages
 * (*msgs to end): 0, or -1 when p is not one frame of n records with
 * newline-ended messages. */
static int
frame_nl_cols(uint32_t codec, const uint8_t *p, size_t len, uint32_t n,
              const uint8_t *cs[COL_MAX], const uint8_t *ce[COL_MAX],
              const uint8_t **msgs)
{
    const uint8_t *end = p + len;
    uint64_t nf, cl[COL_MAX];

    if (codec != STORE_CODEC_FRAMES_NL || n == 0 || n > len ||
        blk_get_varint(&p, end, &nf) < 0 || nf != n)
        return -1;
    for (int k = 0; k < COL_MAX; k++)
        if (blk_get_varint(&p, end, &cl[k]) < 0 ||
            (k == COL_LEN && cl[k] != 0))
            return -1;          /* the lengths kept: decode them */
    for (int k = 0; k < COL_MAX; k++) {
        if (cl[k] > (uint64_t)(end - p))
            return -1;
        cs[k] = p;
        ce[k] = p + cl[k];
        p += cl[k];
    }
    *msgs = p;
    return (uint64_t)(end - p) > UINT32_MAX || n > (size_t)(end - p) ? -1
                                                                     : 0;
}

int
block_frame_nl(uint32_t codec, const uint8_t *p, size_t len, uint32_t n,
               uint32_t **nl, size_t *cap_nl, const uint8_t **msgs)
{
    const uint8_t *cs[COL_MAX], *ce[COL_MAX], *m, *end = p + len;

    if (frame_nl_cols(codec, p, len, n, cs, ce, &m) < 0)
        return -1;
    size_t mlen = (size_t)(end - m);
    if (*cap_nl < (size_t)n + 64) {
        *nl = xreallocarray(*nl, (size_t)n + 64, sizeof(**nl));
        *cap_nl = (size_t)n + 64;
    }
    /* the n-th newline ends the frame, as block_decode requires */
    if (block_nl_find(m, mlen, n, *nl) < n ||
        (*nl)[n - 1] + (size_t)1 != mlen)
        return -1;
    *msgs = m;
    return 0;
}

void
block_frame_recs(const uint8_t *msgs, uint32_t n, const uint32_t *nl,
                 struct store_rec **recs, size_t *cap)
{
    if (*cap < n) {
        *recs = xreallocarray(*recs, n ? n : 1, sizeof(**recs));
        *cap = n;
    }
    for (uint32_t i = 0, at = 0; i < n; i++) {
        struct store_rec *r = &(*recs)[i];
        r->msg = msgs + at;
        r->msg_len = nl[i] - at;
        r->seq = i;
        at = nl[i] + 1;
    }
}

int
block_frame_msgs(uint32_t codec, const uint8_t *p, size_t len, uint32_t n,
                 struct store_rec **recs, size_t *cap, uint32_t **nl,
                 size_t *cap_nl)
{
    const uint8_t *m;

    if (block_frame_nl(codec, p, len, n, nl, cap_nl, &m) < 0)
        return -1;
    block_frame_recs(m, n, *nl, recs, cap);
    return 0;
}

int
block_frame_cols(uint32_t codec, const uint8_t *p, size_t len, uint32_t n,
                 uint32_t n_labels, struct store_rec **recs, size_t *cap,
                 const uint32_t *nl)
{
    const uint8_t *cs[COL_MAX], *ce[COL_MAX], *m, *end = p + len;

    if (frame_nl_cols(codec, p, len, n, cs, ce, &m) < 0)
        return -1;
    if (*cap < n) {
        *recs = xreallocarray(*recs, n, sizeof(**recs));
        *cap = n;
    }
    uint64_t *prev_off = xcalloc(n_labels ? n_labels : 1, sizeof(*prev_off));
    int rc = cols_decode_at(cs, ce, &m, end, n, n_labels, *recs, prev_off, 1,
                            1, nl);
    free(prev_off);
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        (*recs)[i].seq = i;
    return rc == 0 && m == end ? 0 : -1;
}

/* Codecs 6 to 8: a raw body (or one frame of it) is frames back to back,
 * each varint n then a body of n records (codec 5's; codec 8's own)
 * whose messages end it. */
static int
frames_raw_decode(uint32_t codec, const uint8_t *p, size_t len, uint32_t n,
                  uint32_t n_labels, struct store_rec **recs, size_t *cap)
{
    const uint8_t *end = p + len;
    uint32_t done = 0;
    int rc = 0, n_cols = cols_of(store_codec_frame_body(codec));

    if (n > len)                /* every record takes at least 5 bytes */
        return -1;
    if (*cap < n) {
        *recs = xreallocarray(*recs, n ? n : 1, sizeof(**recs));
        *cap = n;
    }
    uint64_t *prev_off = xcalloc(n_labels ? n_labels : 1, sizeof(*prev_off));
    while (rc == 0 && p < end) {
        const uint8_t *cs[COL_MAX] = { NULL }, *ce[COL_MAX] = { NULL };
        uint64_t nf;
        if (blk_get_varint(&p, end, &nf) < 0 || nf == 0 || nf > n - done) {
            rc = -1;
            break;
        }
        uint64_t lens[COL_MAX];
        for (int k = 0; k < n_cols && rc == 0; k++)
            rc = blk_get_varint(&p, end, &lens[k]);
        for (int k = 0; k < n_cols && rc == 0; k++) {
            if (lens[k] > (uint64_t)(end - p)) {
                rc = -1;
                break;
            }
            cs[k] = p;
            ce[k] = p + lens[k];
            p += lens[k];
        }
        if (rc < 0)
            break;
        memset(prev_off, 0, (n_labels ? n_labels : 1) * sizeof(*prev_off));
        rc = cols_decode(cs, ce, &p, end, (uint32_t)nf, n_labels,
                         *recs + done, prev_off, 1,
                         codec == STORE_CODEC_FRAMES_NL);
        for (uint32_t i = 0; rc == 0 && i < nf; i++)
            (*recs)[done + i].seq = done + i;
        done += (uint32_t)nf;
    }
    free(prev_off);
    return rc == 0 && done == n ? 0 : -1;
}

/* 1 if time t lies outside [mn, mx] by more than the range's own width
 * plus BLOCK_FRAME_GAP_NS (no overflow whatever the times). */
static int
frame_is_far(int64_t t, int64_t mn, int64_t mx)
{
    uint64_t w = (uint64_t)mx - (uint64_t)mn;

    w = w > UINT64_MAX - BLOCK_FRAME_GAP_NS ? UINT64_MAX
                                            : w + BLOCK_FRAME_GAP_NS;
    if (t > mx)
        return (uint64_t)t - (uint64_t)mx > w;
    if (t < mn)
        return (uint64_t)mn - (uint64_t)t > w;
    return 0;
}

uint32_t
block_frame_end(const struct store_rec *recs, uint32_t i, uint32_t n,
                size_t size)
{
    size_t bytes = 0, limit = size;
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    uint32_t at_size = 0;
    int is_full = 0;

    while (i < n && (bytes == 0 || bytes < limit)) {
        /* a source's run ends here, the frame has some bytes, and the
         * next source's lines are far from its time range: cut, so that
         * the frame's range is not that of two distant runs (STORE.md
         * "Frames") */
        if (bytes >= size / BLOCK_FRAME_MIN_SHARE && bytes > 0 &&
            recs[i].label != recs[i - 1].label &&
            frame_is_far(recs[i].time_ns, mn, mx))
            break;
        if (recs[i].time_ns < mn)
            mn = recs[i].time_ns;
        if (recs[i].time_ns > mx)
            mx = recs[i].time_ns;
        bytes += recs[i].msg_len + 8;
        i++;
        if (!is_full && bytes >= size && i < n) {
            /* full: the block's last records join it if they are
             * fewer than BLOCK_FRAME_TAIL_SHARE's bytes (STORE.md
             * "Frames"), else it ends here */
            is_full = 1;
            at_size = i;
            limit = size + size / BLOCK_FRAME_TAIL_SHARE;
        }
    }
    return is_full && (i < n || bytes >= limit) ? at_size : i;
}

int
block_seal_decode(const uint8_t *p, size_t len, uint32_t n, uint32_t n_labels,
                  struct store_rec **recs, size_t *cap)
{
    if (block_body_decode(p, len, n, n_labels, 1, recs, cap) < 0)
        return -1;
    if (n < 2 || n_labels < 2)
        return 0;               /* one source: grouped as it is */
    uint32_t *at = xcalloc(n_labels, sizeof(*at));
    const struct store_rec *in = *recs;
    for (uint32_t i = 0; i < n; i++)
        at[in[i].label]++;
    for (uint32_t l = 0, sum = 0; l < n_labels; l++) {
        uint32_t c = at[l];
        at[l] = sum;            /* where label l's records begin */
        sum += c;
    }
    /* one pass, a stream of writes per label; the new array replaces the
     * caller's (no copy back) */
    struct store_rec *out = xmalloc((size_t)n * sizeof(*out));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = at[in[i].label]++;
        out[k] = in[i];
        out[k].seq = k;
    }
    free(*recs);
    *recs = out;
    *cap = n;
    free(at);
    return 0;
}

int
block_frames_encode(struct buf *body, struct buf *table, struct buf *cols,
                    const struct store_rec *recs, uint32_t n,
                    uint32_t n_labels, int64_t min_ns, size_t frame_size,
                    int level, uint32_t codec, uint32_t *raw_len)
{
    uint32_t fcodec = store_codec_frame_body(codec);

    uint64_t n_frames = 0, raw = 0;
    struct buf t;

    buf_init(&t, STORE_MAX_META);
    for (uint32_t i = 0; i < n; n_frames++) {
        uint32_t j = block_frame_end(recs, i, n, frame_size);
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        for (uint32_t k = i; k < j; k++) {
            if (recs[k].time_ns < mn)
                mn = recs[k].time_ns;
            if (recs[k].time_ns > mx)
                mx = recs[k].time_ns;
        }
        buf_reset(cols);
        size_t at = body->len;
        uint8_t c4[4];
        if (buf_put_varint(cols, j - i) < 0 ||
            block_cols_encode(cols, fcodec, recs + i, j - i, n_labels) < 0 ||
            block_frame_compress(body, cols->data, cols->len, codec,
                                 level) < 0)
            goto fail;
        le32_store(c4, compress_crc32(0, body->data + at, body->len - at));
        if (buf_put_varint(&t, j - i) < 0 ||
            buf_put_varint(&t, body->len - at) < 0 ||
            buf_put_varint(&t, cols->len) < 0 ||
            buf_append(&t, c4, 4) < 0 ||
            buf_put_varint(&t, blk_zz_enc((int64_t)((uint64_t)mn -
                                                    (uint64_t)min_ns))) < 0 ||
            buf_put_varint(&t, (uint64_t)mx - (uint64_t)mn) < 0)
            goto fail;
        raw += cols->len;
        i = j;
    }
    if (raw > STORE_MAX_RAW || buf_put_varint(table, n_frames) < 0 ||
        buf_append(table, t.data, t.len) < 0)
        goto fail;
    buf_fini(&t);
    *raw_len = (uint32_t)raw;
    return 0;
fail:
    buf_fini(&t);
    return -1;
}

/* Where a frame's raw bytes are cut into zstd blocks: codecs 6 and 7
 * after the time column and where the messages begin, codec 8 after its
 * small columns (before the time bits) and where the messages begin;
 * then, in the messages, where one source's records end and another's
 * begin (at most FRAME_CUTS_MAX cuts in all, each at least
 * FRAME_SRC_CUT_MIN bytes after the one before); 0 cuts if its lengths
 * do not add up (the messages' cuts stop where a record's do not). */
static size_t
frame_cuts(uint32_t codec, const uint8_t *raw, size_t len,
           size_t cuts[FRAME_CUTS_MAX])
{
    const uint8_t *p = raw, *end = raw + len;
    const uint8_t *cs[COL_MAX] = { NULL }, *ce[COL_MAX] = { NULL };
    uint64_t n, cl[COL_MAX], at = 0, first = 0;
    int n_cols = cols_of(store_codec_frame_body(codec));
    int first_end = n_cols == COL_MAX ? COL_RECV : COL_DT;

    if (blk_get_varint(&p, end, &n) < 0)
        return 0;
    for (int k = 0; k < n_cols; k++) {
        if (blk_get_varint(&p, end, &cl[k]) < 0 ||
            cl[k] > (uint64_t)(end - p))
            return 0;
        at += cl[k];
        if (k == first_end)
            first = at;
    }
    if (at > (uint64_t)(end - p))
        return 0;
    for (int k = 0, o = 0; k < n_cols; o += (int)cl[k], k++) {
        cs[k] = p + o;
        ce[k] = p + o + cl[k];
    }
    size_t head = (size_t)(p - raw), nc = 2;
    cuts[0] = head + (size_t)first;
    cuts[1] = head + (size_t)at;
    /* zstd codes a block's literals with one Huffman table: each
     * source's text its own (STORE.md "Frames") */
    const uint8_t *lp = cs[COL_LABEL], *np = cs[COL_LEN];
    uint64_t label, prev = 0, mlen = 0;
    size_t pos = cuts[1];
    uint32_t *nl = NULL, n_nl = 0;
    /* n is the raw bytes' own claim: each record needs its newline */
    if (codec == STORE_CODEC_FRAMES_NL && n > 0 && cl[COL_LEN] == 0 &&
        n <= len - pos && len - pos <= UINT32_MAX) {
        nl = xmalloc(((size_t)n + 64) * sizeof(*nl));
        n_nl = block_nl_find(raw + pos, len - pos, (uint32_t)n, nl);
    }
    for (uint64_t i = 0; i < n && nc < FRAME_CUTS_MAX; i++) {
        if (blk_get_varint(&lp, ce[COL_LABEL], &label) < 0 ||
            (nl ? i >= n_nl
                : blk_get_varint(&np, ce[COL_LEN], &mlen) < 0 ||
                  mlen > len - pos))
            break;
        if (i > 0 && label != prev && pos - cuts[nc - 1] >= FRAME_SRC_CUT_MIN)
            cuts[nc++] = pos;
        prev = label;
        pos = nl ? cuts[1] + nl[i] + 1 : pos + (size_t)mlen;
    }
    free(nl);
    return nc;
}

int
block_frame_compress(struct buf *out, const uint8_t *raw, size_t len,
                     uint32_t codec, int level)
{
    size_t cuts[FRAME_CUTS_MAX];
    size_t n = frame_cuts(codec, raw, len, cuts);

    return compress_zstd_cuts(out, raw, len, cuts, n, level);
}

int
block_recv_encode(struct buf *meta, const struct store_rec *recs, uint32_t n)
{
    int64_t mn = INT64_MAX, mx = 0;

    for (uint32_t i = 0; i < n; i++) {
        if (recs[i].recv_ns <= 0)
            continue;           /* none (or not a unix time): no range */
        if (recs[i].recv_ns < mn)
            mn = recs[i].recv_ns;
        if (recs[i].recv_ns > mx)
            mx = recs[i].recv_ns;
    }
    if (mx == 0)
        mn = 0;
    if (buf_put_varint(meta, (uint64_t)mn) < 0 ||
        buf_put_varint(meta, (uint64_t)(mx - mn)) < 0)
        return -1;
    return 0;
}

int
block_decode(uint32_t codec, const uint8_t *p, size_t len, uint32_t n,
             uint32_t n_labels, struct store_rec **recs, size_t *cap)
{
    if (store_codec_is_framed(codec))
        return frames_raw_decode(codec, p, len, n, n_labels, recs, cap);
    if (store_codec_is_cols(codec))
        return block_cols_decode(codec, p, len, n, n_labels, recs, cap);
    return block_body_decode(p, len, n, n_labels,
                             store_codec_has_recv(codec), recs, cap);
}
