/* SPDX-License-Identifier: MIT */
/*
 * tokenize: splits text into index tokens (rules in tokenize.h and
 * collector/STORE.md). Hand-written table-driven loop rather than ctype
 * calls because it runs over every stored byte at seal time: one table
 * load per ASCII byte, folding and hashing on the fly; a non-ASCII unit
 * goes through common/casefold.c. Field tokens take the fields of a JSON
 * or logfmt message from common/fields.c. tokenize_foreach_ex_memo takes
 * the first tokens of a text that begins as the one before from that
 * one's (a block's records of a source in a row, collector/STORE.md
 * "Tokens").
 */
#include "collector/store/tokenize.h"

#include <string.h>

#include "common/casefold.h"
#include "common/fields.h"
#include "common/fnv.h"

/* 0 for separators, else the ASCII-folded byte (bytes >= 0x80 map to
 * themselves and are folded as UTF-8 by casefold_next). */
static const uint8_t tok_fold[256] = {
#define R8(a) a, a + 1, a + 2, a + 3, a + 4, a + 5, a + 6, a + 7
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
    ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
    ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
    ['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j',
    ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o',
    ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
    ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
    ['Z'] = 'z', ['_'] = '_',
    ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
    ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
    ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o',
    ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't',
    ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y',
    ['z'] = 'z',
    [0x80] = R8(0x80), R8(0x88), R8(0x90), R8(0x98), R8(0xa0), R8(0xa8), R8(0xb0),
    R8(0xb8), R8(0xc0), R8(0xc8), R8(0xd0), R8(0xd8), R8(0xe0), R8(0xe8),
    R8(0xf0), R8(0xf8),
#undef R8
};

static inline uint64_t
tok_mix(uint64_t h)
{
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

static inline uint32_t
tok_finish(uint64_t h)
{
    uint32_t v = (uint32_t)tok_mix(h);

    return v ? v : 1;
}

static uint64_t
tok_fnv(const uint8_t *tok, size_t len)
{
    return fnv1a64(tok, len);
}

uint32_t
tokenize_hash(const uint8_t *tok, size_t len)
{
    return tok_finish(tok_fnv(tok, len));
}

unsigned
tokenize_forms(const uint8_t *tok, const uint8_t *s, size_t len)
{
    unsigned lo = 1, up = 1, cap = 1;

    for (size_t i = 0; i < len; i++) {
        uint8_t c = tok[i];
        uint8_t uc = c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
        lo &= s[i] == c;
        up &= s[i] == uc;
        cap &= s[i] == (i == 0 ? uc : c);
    }
    return lo * TOKENIZE_FORM_LOWER | up * TOKENIZE_FORM_UPPER |
           cap * TOKENIZE_FORM_CAPITAL;
}

uint32_t
tokenize_check(const uint8_t *tok, size_t len)
{
    return (uint32_t)(tok_mix(tok_fnv(tok, len)) >> 32);
}

int
tokenize_has_high(const void *text, size_t len)
{
    const uint8_t *p = text;
    uint64_t acc = 0;
    size_t i = 0;

    for (; i + 32 <= len; i += 32) {    /* four words a step: vectorized */
        uint64_t w[4];
        memcpy(w, p + i, sizeof(w));
        acc |= w[0] | w[1] | w[2] | w[3];
        if (acc & 0x8080808080808080ull)
            return 1;
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < len; i++)
        acc |= p[i];
    return (acc & 0x8080808080808080ull) != 0;
}

size_t
tokenize_subword(const void *word, size_t len, uint8_t tok[TOKENIZE_MAX_LEN])
{
    const uint8_t *w = word;
    size_t n = 0;

    tok[n++] = TOKENIZE_SUB_BYTE;
    for (size_t i = 0; i < len && n < TOKENIZE_MAX_LEN; i++)
        tok[n++] = w[i] >= 'A' && w[i] <= 'Z' ? (uint8_t)(w[i] + 32) : w[i];
    return n;
}

/* Folded token of the run at *pp, into tok (capped), hashed on the fly;
 * leaves *pp past the run and returns the token's length. *forms: the
 * TOKENIZE_FORM_* spellings of the token the run is written in. */
static inline size_t
tok_run(const uint8_t **pp, const uint8_t *end, uint8_t *tok, uint64_t *hp,
        unsigned *forms)
{
    const uint8_t *p = *pp, *start = p;
    uint64_t h = FNV1A64_OFFSET;
    size_t n = 0;
    unsigned lo = 1, up = 1, cap = 1;
    uint8_t c;

    while (p < end && (c = tok_fold[*p]) != 0) {
        if (c < 0x80) {
            uint8_t uc = c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
            lo &= *p == c;
            up &= *p == uc;
            cap &= *p == (p == start ? uc : c);
            if (n < TOKENIZE_MAX_LEN) {
                tok[n++] = c;
                h = fnv1a64_byte(h, c);
            }
            p++;
            continue;
        }
        uint8_t f[4];
        size_t f_len;
        size_t used = casefold_next(p, (size_t)(end - p), f, &f_len);
        unsigned eq = used == f_len && memcmp(p, f, f_len) == 0;
        lo &= eq;
        up &= eq;
        cap &= eq;
        p += used;
        for (size_t k = 0; k < f_len && n < TOKENIZE_MAX_LEN; k++) {
            tok[n++] = f[k];
            h = fnv1a64_byte(h, f[k]);
        }
    }
    *pp = p;
    *hp = h;
    *forms = lo * TOKENIZE_FORM_LOWER | up * TOKENIZE_FORM_UPPER |
             cap * TOKENIZE_FORM_CAPITAL;
    return n;
}

int
tokenize_foreach(const void *text, size_t len, unsigned flags,
                 tokenize_fn fn, void *arg)
{
    const uint8_t *p = text, *end = p + len;
    uint8_t tok[TOKENIZE_MAX_LEN];

    (void)flags;
    while (p < end) {
        while (p < end && !tok_fold[*p])
            p++;
        if (p == end)
            break;
        uint64_t h;
        unsigned forms;
        size_t n = tok_run(&p, end, tok, &h, &forms);
        int rc = fn(tok, n, tok_finish(h), arg);
        if (rc)
            return rc;
    }
    return 0;
}

/* The reference: every run through tok_run (tokenize_diff_test checks
 * the fast path below against it and against a model). */
int
tokenize_foreach_ex_ref(const void *text, size_t len, tokenize_ex_fn fn,
                        void *arg)
{
    const uint8_t *p = text, *end = p + len;
    uint8_t tok[TOKENIZE_MAX_LEN];

    while (p < end) {
        while (p < end && !tok_fold[*p])
            p++;
        if (p == end)
            break;
        uint64_t h;
        unsigned forms;
        (void)tok_run(&p, end, tok, &h, &forms);
        uint64_t m = tok_mix(h);
        uint32_t lo = (uint32_t)m;
        int rc = fn(lo ? lo : 1, (uint32_t)(m >> 32), forms, arg);
        if (rc)
            return rc;
    }
    return 0;
}

/* tok_cls: 0 for separators, else TOK_W with TOK_UP for ASCII capitals
 * (so a byte folds as c | (cls & TOK_UP)), TOK_LO for ASCII small
 * letters, TOK_HI for bytes >= 0x80. */
#define TOK_W   0x01u
#define TOK_LO  0x02u
#define TOK_HI  0x04u
#define TOK_UP  0x20u

static const uint8_t tok_cls[256] = {
#define C4(a) a, a, a, a
#define C16(a) C4(a), C4(a), C4(a), C4(a)
#define UP4(a) [a] = TOK_W | TOK_UP, [a + 1] = TOK_W | TOK_UP, \
    [a + 2] = TOK_W | TOK_UP, [a + 3] = TOK_W | TOK_UP
#define LO4(a) [a] = TOK_W | TOK_LO, [a + 1] = TOK_W | TOK_LO, \
    [a + 2] = TOK_W | TOK_LO, [a + 3] = TOK_W | TOK_LO
    ['0'] = TOK_W, ['1'] = TOK_W, ['2'] = TOK_W, ['3'] = TOK_W,
    ['4'] = TOK_W, ['5'] = TOK_W, ['6'] = TOK_W, ['7'] = TOK_W,
    ['8'] = TOK_W, ['9'] = TOK_W, ['_'] = TOK_W,
    UP4('A'), UP4('E'), UP4('I'), UP4('M'), UP4('Q'), UP4('U'),
    ['Y'] = TOK_W | TOK_UP, ['Z'] = TOK_W | TOK_UP,
    LO4('a'), LO4('e'), LO4('i'), LO4('m'), LO4('q'), LO4('u'),
    ['y'] = TOK_W | TOK_LO, ['z'] = TOK_W | TOK_LO,
    [0x80] = C16(TOK_W | TOK_HI), C16(TOK_W | TOK_HI), C16(TOK_W | TOK_HI),
    C16(TOK_W | TOK_HI), C16(TOK_W | TOK_HI), C16(TOK_W | TOK_HI),
    C16(TOK_W | TOK_HI), C16(TOK_W | TOK_HI),
#undef C4
#undef C16
#undef UP4
#undef LO4
};

/* tok_cf: a byte's class (tok_cls) << 8 | the byte folded (bytes >= 0x80
 * as they are), so the word loop below takes the fold and the case of a
 * byte from one load. */
#define CF_CLS(c)                                                         \
    ((c) >= 'A' && (c) <= 'Z' ? TOK_W | TOK_UP                            \
     : (c) >= 'a' && (c) <= 'z' ? TOK_W | TOK_LO                          \
     : ((c) >= '0' && (c) <= '9') || (c) == '_' ? TOK_W                   \
     : (c) >= 0x80 ? TOK_W | TOK_HI : 0u)
#define CF(c)                                                             \
    (uint16_t)(CF_CLS(c) << 8 | (CF_CLS(c) ? (c) | (CF_CLS(c) & TOK_UP) : 0u))
#define CF4(c) CF(c), CF((c) + 1), CF((c) + 2), CF((c) + 3)
#define CF16(c) CF4(c), CF4((c) + 4), CF4((c) + 8), CF4((c) + 12)
#define CF64(c) CF16(c), CF16((c) + 16), CF16((c) + 32), CF16((c) + 48)
static const uint16_t tok_cf[256] = {
    CF64(0), CF64(64), CF64(128), CF64(192),
};
#undef CF_CLS
#undef CF
#undef CF4
#undef CF16
#undef CF64

/* The spellings of an ASCII run from its first byte's class and the
 * classes of the others, by (first & (TOK_LO | TOK_UP)) | (rest's
 * TOK_LO, TOK_UP bits) >> 1: lower if no capital, upper if no small
 * letter, capital if the first is no small letter and no other is a
 * capital. */
#define TF(i) (uint8_t)((((i) & 0x30) ? 0 : TOKENIZE_FORM_LOWER) |         \
                        (((i) & 0x03) ? 0 : TOKENIZE_FORM_UPPER) |         \
                        (((i) & 0x12) ? 0 : TOKENIZE_FORM_CAPITAL))
#define TF4(i) TF(i), TF((i) + 1), TF((i) + 2), TF((i) + 3)
#define TF16(i) TF4(i), TF4((i) + 4), TF4((i) + 8), TF4((i) + 12)
static const uint8_t tok_forms[64] = {
    TF16(0), TF16(16), TF16(32), TF16(48),
};
#undef TF
#undef TF4
#undef TF16

/* The run at p (a word byte, class k) if it is all ASCII: hashed folded
 * (its first TOKENIZE_MAX_LEN bytes) into *hp, its forms into *forms;
 * returns the end of the run, or NULL if it holds a byte >= 0x80 (the
 * caller takes tok_run). A byte's class gives its fold and case, so this
 * is one table load, one FNV step and one OR per byte. */
static inline const uint8_t *
tok_run_ascii(const uint8_t *p, const uint8_t *end, unsigned k, uint64_t *hp,
              unsigned *forms)
{
    const uint8_t *lim = end - p > TOKENIZE_MAX_LEN ? p + TOKENIZE_MAX_LEN
                                                    : end;
    unsigned first = k, rest = 0, cf;
    uint64_t h = fnv1a64_byte(FNV1A64_OFFSET, *p | (uint8_t)(k & TOK_UP));

    /* two bytes a bound check (the loop runs over every word byte) */
    for (p++; p + 1 < lim; p += 2) {
        if ((cf = tok_cf[p[0]]) == 0)
            goto run_end;
        rest |= cf;
        h = fnv1a64_byte(h, (uint8_t)cf);
        if ((cf = tok_cf[p[1]]) == 0) {
            p++;
            goto run_end;
        }
        rest |= cf;
        h = fnv1a64_byte(h, (uint8_t)cf);
    }
    if (p < lim && (cf = tok_cf[*p]) != 0) {
        rest |= cf;
        h = fnv1a64_byte(h, (uint8_t)cf);
        p++;
    }
run_end:
    rest >>= 8;
    if (p == lim)                       /* past the cap: case only */
        while (p < end && (k = tok_cls[*p]) != 0) {
            rest |= k;
            p++;
        }
    if ((first | rest) & TOK_HI)
        return NULL;
    *forms = tok_forms[(first & (TOK_LO | TOK_UP)) |
                       (rest & (TOK_LO | TOK_UP)) >> 1];
    *hp = h;
    return p;
}

static inline int
tok_emit(uint64_t h, unsigned forms, tokenize_ex_fn fn, void *arg)
{
    uint64_t m = tok_mix(h);
    uint32_t lo = (uint32_t)m;

    return fn(lo ? lo : 1, (uint32_t)(m >> 32), forms, arg);
}

int
tokenize_foreach_ex(const void *text, size_t len, tokenize_ex_fn fn,
                    void *arg)
{
    const uint8_t *p = text, *end = p + len;
    uint8_t tok[TOKENIZE_MAX_LEN];

    while (p < end) {
        unsigned k;
        while ((k = tok_cls[*p]) == 0)
            if (++p == end)
                return 0;
        uint64_t h;
        unsigned forms;
        const uint8_t *r = tok_run_ascii(p, end, k, &h, &forms);
        if (r)
            p = r;
        else
            (void)tok_run(&p, end, tok, &h, &forms);
        int rc = tok_emit(h, forms, fn, arg);
        if (rc)
            return rc;
    }
    return 0;
}

/* Calls fn with the sub-word tokens of the run [p, end) of word bytes
 * (one holding a byte >= 0x80); with memo, also keeps each in memo->t at
 * *n (the run's end at_end) while they fit, else sets *is_full (the
 * caller then drops the run's token and those kept). */
static int
tok_subwords_run(const uint8_t *p, const uint8_t *end, tokenize_ex_fn fn,
                 void *arg, struct tokenize_memo *memo, uint32_t *n,
                 int *is_full, uint32_t at_end)
{
    uint8_t tok[TOKENIZE_MAX_LEN];

    for (const uint8_t *q = p; q < end;) {
        while (q < end && *q >= 0x80)
            q++;
        const uint8_t *w = q;
        while (q < end && *q < 0x80)            /* ASCII word bytes */
            q++;
        if (q == w)
            continue;
        size_t len = tokenize_subword(w, (size_t)(q - w), tok);
        uint64_t m = tok_mix(tok_fnv(tok, len));
        uint32_t lo = (uint32_t)m ? (uint32_t)m : 1, hi = (uint32_t)(m >> 32);
        if (memo && !*is_full) {
            if (*n == TOKENIZE_MEMO_TOKENS) {
                *is_full = 1;
            } else {
                memo->t[*n].end = at_end;
                memo->t[*n].hash = lo;
                memo->t[*n].check = hi;
                memo->t[(*n)++].forms = 0;
            }
        }
        int rc = fn(lo, hi, 0, arg);
        if (rc)
            return rc;
    }
    return 0;
}

int
tokenize_subwords_ex(const void *text, size_t len, tokenize_ex_fn fn,
                     void *arg)
{
    const uint8_t *p = text, *end = p + len;

    while (p < end) {
        unsigned k = 0;
        while (p < end && tok_cls[*p] == 0)
            p++;
        const uint8_t *start = p;
        while (p < end && tok_cls[*p] != 0)
            k |= tok_cls[*p++];
        if (!(k & TOK_HI))
            continue;
        int rc = tok_subwords_run(start, p, fn, arg, NULL, NULL, NULL, 0);
        if (rc)
            return rc;
    }
    return 0;
}

/* The length of the common start of a[0..a_len) and b[0..b_len). */
static size_t
tok_common(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    size_t n = a_len < b_len ? a_len : b_len, i = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)             /* the first byte that differs: the low */
            return i + (size_t)__builtin_ctzll(x ^ y) / 8;
    }
#endif
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* Calls fn with memo's tokens that are also text[0..len)'s first ones:
 * runs ended, with the byte after them, inside the common start of text
 * and memo's last text (bytes past the last kept run's end are no use).
 * Keeps those in memo; returns where they end (0: none) in *at. */
static int
tok_memo_replay(struct tokenize_memo *memo, const uint8_t *text, size_t len,
                size_t *at, tokenize_ex_fn fn, void *arg)
{
    size_t same = 0;
    uint32_t k = 0;

    *at = 0;
    if (memo->prev && memo->n > 0) {
        size_t use = (size_t)memo->t[memo->n - 1].end + 1;
        same = tok_common(memo->prev, memo->prev_len, text,
                          len < use ? len : use);
    }
    for (; k < memo->n && memo->t[k].end < same; k++) {
        int rc = fn(memo->t[k].hash, memo->t[k].check, memo->t[k].forms,
                    arg);
        if (rc)
            return rc;
        *at = memo->t[k].end;
    }
    memo->n = k;
    return 0;
}

int
tokenize_foreach_ex_memo(struct tokenize_memo *memo, const void *text,
                         size_t len, tokenize_ex_fn fn, void *arg)
{
    const uint8_t *s = text, *end = s + len;
    uint8_t tok[TOKENIZE_MAX_LEN];
    size_t at;
    int rc = tok_memo_replay(memo, s, len, &at, fn, arg);
    const uint8_t *p = s + at;
    uint32_t n = memo->n;               /* kept in memo->t: the first */
    int is_full = 0;                    /* no later token kept */

    memo->prev = s;
    memo->prev_len = len;
    while (rc == 0 && p < end) {
        unsigned c;
        while ((c = tok_cls[*p]) == 0)
            if (++p == end)
                goto out;
        uint64_t h;
        unsigned forms;
        const uint8_t *run = p;
        const uint8_t *r = tok_run_ascii(p, end, c, &h, &forms);
        if (r)
            p = r;
        else                            /* the run holds a byte >= 0x80 */
            (void)tok_run(&p, end, tok, &h, &forms);
        uint64_t m = tok_mix(h);
        uint32_t lo = (uint32_t)m ? (uint32_t)m : 1, hi = (uint32_t)(m >> 32);
        uint32_t n_mark = n;
        is_full |= n == TOKENIZE_MEMO_TOKENS || (size_t)(p - s) >= UINT32_MAX;
        if (!is_full) {
            memo->t[n].end = (uint32_t)(p - s);
            memo->t[n].hash = lo;
            memo->t[n].check = hi;
            memo->t[n++].forms = forms;
        }
        rc = fn(lo, hi, forms, arg);
        if (rc == 0 && r == NULL && memo->with_subwords) {
            rc = tok_subwords_run(run, p, fn, arg, memo, &n, &is_full,
                                  (uint32_t)(p - s));
            if (is_full)                /* a token is kept whole or not */
                n = n_mark;
        }
    }
out:
    memo->n = n;
    if (rc) {                           /* stopped: the memo may lack */
        memo->prev = NULL;              /* tokens, so it starts again */
        memo->n = 0;
    }
    return rc;
}

/* Folds src[0..len) into tok from *n until the token is full: the first
 * bytes of the whole string's fold, without folding a long value whole. */
static void
tok_fold_into(uint8_t *tok, size_t *n, const uint8_t *src, size_t len)
{
    size_t i = 0;

    while (i < len && *n < TOKENIZE_MAX_LEN) {
        if (src[i] < 0x80) {
            uint8_t c = src[i++];
            tok[(*n)++] = c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
            continue;
        }
        uint8_t f[4];
        size_t f_len;
        i += casefold_next(src + i, len - i, f, &f_len);
        for (size_t k = 0; k < f_len && *n < TOKENIZE_MAX_LEN; k++)
            tok[(*n)++] = f[k];
    }
}

size_t
tokenize_field(const void *name, size_t name_len, const void *value,
               size_t value_len, uint8_t tok[TOKENIZE_MAX_LEN])
{
    size_t n = 0;

    tok_fold_into(tok, &n, name, name_len);
    if (n == TOKENIZE_MAX_LEN)
        return n;
    tok[n++] = ':';
    tok_fold_into(tok, &n, value, value_len);
    return n;
}

struct tok_fields {
    tokenize_fn    fn;
    tokenize_ex_fn ex;
    void          *arg;
    int            rc;
};

static int
tok_field_cb(const struct fields_field *f, void *arg)
{
    struct tok_fields *t = arg;
    uint8_t tok[TOKENIZE_MAX_LEN];
    size_t n = tokenize_field(f->name, f->name_len, f->value, f->value_len,
                              tok);

    if (t->ex) {
        uint64_t m = tok_mix(tok_fnv(tok, n));
        uint32_t lo = (uint32_t)m;
        t->rc = t->ex(lo ? lo : 1, (uint32_t)(m >> 32), 0, t->arg);
    } else {
        t->rc = t->fn(tok, n, tokenize_hash(tok, n), t->arg);
    }
    return t->rc;
}

int
tokenize_fields(const void *text, size_t len, tokenize_fn fn, void *arg)
{
    struct tok_fields t = { fn, NULL, arg, 0 };

    fields_foreach_fast(text, len, tok_field_cb, &t);
    return t.rc;
}

int
tokenize_fields_ex(const void *text, size_t len, tokenize_ex_fn fn,
                   void *arg)
{
    struct tok_fields t = { NULL, fn, arg, 0 };

    fields_foreach_fast(text, len, tok_field_cb, &t);
    return t.rc;
}
