/* SPDX-License-Identifier: MIT */
/*
 * tplenc: a candidate encoding of the store's message column, measured by
 * msgenc_bench (not shipped; BENCHMARKS.md "Message column encodings").
 * tplenc_pack turns a codec-5 raw block body into: the columns as they
 * are, then three streams: templates (each message with its digit runs
 * and lowercase hex runs replaced by one-byte operations), numbers
 * (varints) and hex (two digits a byte). tplenc_expand turns that back
 * into the same codec-5 body, byte for byte, and is bounds-checked at
 * every step. Numbers are written as they are (TPLENC_RAW), as the
 * difference from the last number in the same context (TPLENC_DELTA: the
 * hash of the message's template before it), or as the difference only
 * when the last two in that context were close (TPLENC_ADAPT).
 */
#include "tests/bench/tplenc.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

/* Template bytes that start an operation; any other byte is itself. */
enum {
    TPL_NUM = 1,        /* a digit run without leading zero: num varint */
    TPL_ZNUM = 2,       /* + u8 width: a zero-padded digit run */
    TPL_HEX = 3,        /* + u8 digits: lowercase hex, nibbles in hex */
    TPL_ESC = 4,        /* + the literal byte (one of 1..4) */
};
#define TPL_MAX_DIGITS  19      /* < 2^64 */
#define TPL_MIN_HEX     4

/* Streams after the columns, in order. */
enum { STR_TPL, STR_NUM, STR_HEX, STR_N };

/* The context of a number: the hash of its message's template bytes
 * before it (the same field of the same kind of line, mostly); each keeps
 * the last number seen in it, for TPLENC_DELTA and TPLENC_ADAPT. */
#define TPL_CTX_BITS    12
#define TPL_CLOSE       8
struct tpl_ctx {
    int      mode;              /* enum tplenc_nums */
    struct tpl_slot {
        uint64_t v;             /* the last number */
        uint64_t is_close;      /* it was within TPL_CLOSE of the one before */
    } last[1u << TPL_CTX_BITS];
    uint32_t h;                 /* template bytes of this message so far */
};

static inline void
ctx_feed(struct tpl_ctx *x, uint8_t c)
{
    x->h = (x->h ^ c) * 0x01000193u;
}

/* The code of v in a context whose slot is *last, which it updates. */
static inline uint64_t
ctx_code(int mode, struct tpl_slot *last, uint64_t v)
{
    int64_t d = (int64_t)(v - last->v);
    uint64_t code = last->is_close ? blk_zz_enc(d) : v;

    if (mode != TPLENC_ADAPT)
        code = mode == TPLENC_RAW ? v : blk_zz_enc(d);
    last->v = v;
    last->is_close = d > -TPL_CLOSE && d < TPL_CLOSE;
    return code;
}

/* Inverse of ctx_code. */
static inline uint64_t
ctx_value(int mode, struct tpl_slot *last, uint64_t code)
{
    int is_delta = mode == TPLENC_ADAPT ? (int)last->is_close :
                   mode == TPLENC_DELTA;
    uint64_t v = is_delta ? last->v + (uint64_t)blk_zz_dec(code) : code;
    int64_t d = (int64_t)(v - last->v);

    last->v = v;
    last->is_close = d > -TPL_CLOSE && d < TPL_CLOSE;
    return v;
}

static inline struct tpl_slot *
ctx_slot(struct tpl_ctx *x)
{
    return &x->last[(x->h * 0x9e3779b1u) >> (32 - TPL_CTX_BITS)];
}

static inline int
is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static inline int
is_alnum(uint8_t c)
{
    return is_digit(c) || (uint8_t)((c | 0x20) - 'a') < 26;
}

static inline int
hex_val(uint8_t c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Kind of the alphanumeric run m[0..n): TPL_NUM, TPL_ZNUM, TPL_HEX, or 0
 * (kept as text). */
static int
run_kind(const uint8_t *m, size_t n)
{
    int has_digit = 0, has_letter = 0;

    for (size_t i = 0; i < n; i++) {
        if (hex_val(m[i]) < 0)
            return 0;
        if (is_digit(m[i]))
            has_digit = 1;
        else
            has_letter = 1;
    }
    if (!has_letter) {
        if (n > TPL_MAX_DIGITS)
            return 0;
        return m[0] == '0' && n > 1 ? TPL_ZNUM : TPL_NUM;
    }
    return has_digit && n >= TPL_MIN_HEX && n <= 255 ? TPL_HEX : 0;
}

/* The streams being written: tpl and hex have room reserved per message
 * (a message byte gives at most 2 template bytes and at most 1 hex byte),
 * num per number. */
struct tpl_out {
    struct buf     st[STR_N];
    struct tpl_ctx x;
};

static inline void
tpl_put(struct tpl_out *w, uint8_t c)
{
    struct buf *t = &w->st[STR_TPL];

    t->data[t->len++] = c;
    ctx_feed(&w->x, c);
}

static int
pack_num(struct tpl_out *w, const uint8_t *m, size_t n)
{
    uint64_t v = 0;
    struct tpl_slot *last = ctx_slot(&w->x);
    struct buf *b = &w->st[STR_NUM];

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(m[i] - '0');
    if (buf_reserve(b, 10) < 0)
        return -1;
    b->len += block_varint_encode(b->data + b->len, ctx_code(w->x.mode, last, v));
    return 0;
}

static int
pack_run(struct tpl_out *w, const uint8_t *m, size_t n)
{
    int kind = run_kind(m, n);

    if (kind == 0) {
        for (size_t i = 0; i < n; i++)
            tpl_put(w, m[i]);
        return 0;
    }
    tpl_put(w, (uint8_t)kind);
    if (kind != TPL_NUM)
        tpl_put(w, (uint8_t)n);
    if (kind != TPL_HEX)
        return pack_num(w, m, n);
    struct buf *h = &w->st[STR_HEX];
    for (size_t i = 0; i < n; i += 2) {
        int lo = i + 1 < n ? hex_val(m[i + 1]) : 0;
        h->data[h->len++] = (uint8_t)(hex_val(m[i]) << 4 | lo);
    }
    return 0;
}

static int
pack_msg(struct tpl_out *w, const uint8_t *m, size_t len)
{
    size_t i = 0;

    if (buf_reserve(&w->st[STR_TPL], 2 * len) < 0 ||
        buf_reserve(&w->st[STR_HEX], len) < 0)
        return -1;
    w->x.h = 0;
    while (i < len) {
        uint8_t c = m[i];
        if (!is_alnum(c)) {
            if (c >= TPL_NUM && c <= TPL_ESC)
                tpl_put(w, TPL_ESC);
            tpl_put(w, c);
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < len && is_alnum(m[j]))
            j++;
        if (pack_run(w, m + i, j - i) < 0)
            return -1;
        i = j;
    }
    return 0;
}

/* The codec-5 column section of body p[0..len): its length and the length
 * column's bounds. -1 if malformed. */
static int
cols_span(const uint8_t *p, size_t len, size_t *cols_len,
          const uint8_t **lens, const uint8_t **lens_end)
{
    const uint8_t *q = p, *end = p + len;
    uint64_t cl[6], sum = 0;

    for (int k = 0; k < 6; k++) {
        if (blk_get_varint(&q, end, &cl[k]) < 0 ||
            cl[k] > (uint64_t)(end - q))
            return -1;
        sum += cl[k];
    }
    if (sum > (uint64_t)(end - q))
        return -1;
    *lens = q + cl[0] + cl[1] + cl[2] + cl[3];
    *lens_end = *lens + cl[4];
    *cols_len = (size_t)(q - p) + (size_t)sum;
    return 0;
}

int
tplenc_pack(const uint8_t *p, size_t len, uint32_t n, int mode,
            struct buf *out)
{
    const uint8_t *lens, *lens_end, *msg;
    size_t cols_len;
    struct tpl_out *w;
    int rc = -1;

    if (cols_span(p, len, &cols_len, &lens, &lens_end) < 0)
        return -1;
    w = xcalloc(1, sizeof(*w));
    w->x.mode = mode;
    for (int k = 0; k < STR_N; k++)
        buf_init(&w->st[k], out->max);
    msg = p + cols_len;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t ml;
        if (blk_get_varint(&lens, lens_end, &ml) < 0 ||
            ml > (uint64_t)(p + len - msg) ||
            pack_msg(w, msg, (size_t)ml) < 0)
            goto out;
        msg += ml;
    }
    if (msg != p + len || lens != lens_end ||
        buf_append(out, p, cols_len) < 0)
        goto out;
    for (int k = 0; k < STR_N; k++)
        if (buf_put_varint(out, w->st[k].len) < 0)
            goto out;
    for (int k = 0; k < STR_N; k++)
        if (buf_append(out, w->st[k].data, w->st[k].len) < 0)
            goto out;
    rc = 0;
out:
    for (int k = 0; k < STR_N; k++)
        buf_fini(&w->st[k]);
    free(w);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Expansion                                                           */

struct tpl_in {
    const uint8_t *c[STR_N], *e[STR_N];
    struct tpl_ctx x;
};

/* Writes v in decimal, zero-padded to width, at o (room: width or 20);
 * returns the digits written, 0 if v needs more than width digits. */
static size_t
put_dec(uint8_t *o, uint64_t v, size_t width)
{
    uint8_t t[20];
    size_t n = 0;

    do {
        t[n++] = (uint8_t)('0' + v % 10);
        v /= 10;
    } while (v);
    if (width && n > width)
        return 0;
    while (n < width)
        t[n++] = '0';
    for (size_t i = 0; i < n; i++)
        o[i] = t[n - 1 - i];
    return n;
}

static size_t
expand_hex(struct tpl_in *in, uint8_t *o, size_t left, uint8_t w)
{
    static const char digits[] = "0123456789abcdef";
    size_t nb = ((size_t)w + 1) / 2;
    const uint8_t *h = in->c[STR_HEX];

    if (w < TPL_MIN_HEX || w > left ||
        nb > (size_t)(in->e[STR_HEX] - h))
        return 0;
    for (size_t i = 0; i < w; i++)
        o[i] = (uint8_t)digits[i & 1 ? h[i / 2] & 15 : h[i / 2] >> 4];
    in->c[STR_HEX] += nb;
    return w;
}

static size_t
expand_num(struct tpl_in *in, uint8_t *o, size_t left, uint8_t w)
{
    uint64_t d;
    struct tpl_slot *last = ctx_slot(&in->x);
    uint8_t t[20];

    if (blk_get_varint(&in->c[STR_NUM], in->e[STR_NUM], &d) < 0)
        return 0;
    size_t n = put_dec(t, ctx_value(in->x.mode, last, d), w);
    if (n == 0 || n > left)
        return 0;
    memcpy(o, t, n);
    return n;
}

/* One template operation (a byte <= TPL_ESC at in's template) into o
 * (left bytes of room); returns the bytes written, 0 if malformed or
 * over the room. */
static size_t
expand_op(struct tpl_in *in, uint8_t *o, size_t left)
{
    uint8_t op = *in->c[STR_TPL]++, w = 0;

    ctx_feed(&in->x, op);
    if (op == 0) {
        *o = 0;
        return 1;
    }
    if (op != TPL_NUM) {
        if (in->c[STR_TPL] >= in->e[STR_TPL])
            return 0;
        w = *in->c[STR_TPL]++;
        ctx_feed(&in->x, w);
    }
    switch (op) {
    case TPL_ESC:
        if (w < TPL_NUM || w > TPL_ESC)
            return 0;
        *o = w;
        return 1;
    case TPL_HEX:
        return expand_hex(in, o, left, w);
    case TPL_ZNUM:
        if (w < 2 || w > TPL_MAX_DIGITS)
            return 0;
        return expand_num(in, o, left, w);
    default:
        return expand_num(in, o, left, 0);
    }
}

/* Expands one message of ml bytes into o. -1 if malformed. */
static int
expand_msg(struct tpl_in *in, uint8_t *o, size_t ml)
{
    uint8_t *me = o + ml;

    in->x.h = 0;
    while (o < me) {
        const uint8_t *t = in->c[STR_TPL], *te = in->e[STR_TPL];
        if (t >= te)
            return -1;
        /* a run of literal bytes */
        while (t < te && o < me && *t > TPL_ESC) {
            ctx_feed(&in->x, *t);
            *o++ = *t++;
        }
        in->c[STR_TPL] = t;
        if (o == me)
            break;
        if (t >= te || *t > TPL_ESC)
            return -1;
        size_t k = expand_op(in, o, (size_t)(me - o));
        if (k == 0)
            return -1;
        o += k;
    }
    return 0;
}

int
tplenc_expand(const uint8_t *p, size_t len, uint32_t n, int mode,
              size_t raw_len, uint8_t *out)
{
    const uint8_t *lens, *lens_end, *end = p + len;
    size_t cols_len;
    uint64_t sl[STR_N];

    if (cols_span(p, len, &cols_len, &lens, &lens_end) < 0 ||
        cols_len > raw_len)
        return -1;
    const uint8_t *q = p + cols_len;
    for (int k = 0; k < STR_N; k++)
        if (blk_get_varint(&q, end, &sl[k]) < 0)
            return -1;
    struct tpl_in *in = xcalloc(1, sizeof(*in));
    in->x.mode = mode;
    int rc = -1;
    for (int k = 0; k < STR_N; k++) {
        if (sl[k] > (uint64_t)(end - q))
            goto out;
        in->c[k] = q;
        in->e[k] = q + sl[k];
        q += sl[k];
    }
    if (q != end)
        goto out;
    memcpy(out, p, cols_len);
    uint8_t *o = out + cols_len, *oe = out + raw_len;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t ml;
        if (blk_get_varint(&lens, lens_end, &ml) < 0 ||
            ml > (uint64_t)(oe - o) || expand_msg(in, o, (size_t)ml) < 0)
            goto out;
        o += ml;
    }
    for (int k = 0; k < STR_N; k++)
        if (in->c[k] != in->e[k])
            goto out;
    rc = lens == lens_end && o == oe ? 0 : -1;
out:
    free(in);
    return rc;
}
