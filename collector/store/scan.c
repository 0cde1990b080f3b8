/* SPDX-License-Identifier: MIT */
/*
 * scan: finds a folded token (tokenize.h) as an ASCII case-insensitive
 * substring, in one message or in a block's whole message column (codecs
 * 2 and 3 keep messages back to back), so that a cursor whose caller
 * requires every filter token can drop records without one before they
 * are handed out. A token with bytes >= 0x80 is searched by its longest
 * ASCII part only (none: every record is kept): its non-ASCII letters may
 * be written in another case and length ("CAFÉ" for "café", "Ⱥ" for "ⱥ"),
 * while its ASCII bytes come from ASCII bytes of the text, differing at
 * most in ASCII case (no non-ASCII letter folds to ASCII, common/
 * casefold.h). So the search keeps every record the matcher can accept. One pass over the column per block instead of a search
 * per record: the search compares 16 starts at a time for the token's
 * first and last byte (SSE2, folded), then the whole token.
 * Pure functions over memory; used by cursor.c only.
 */
#include "collector/store/store_internal.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The longest run of ASCII bytes in tok[0..*len): its start, *len its
 * length (0 if none). */
static const uint8_t *
scan_ascii_part(const uint8_t *tok, size_t *len)
{
    const uint8_t *best = tok;
    size_t best_len = 0, i = 0;

    while (i < *len) {
        while (i < *len && tok[i] >= 0x80)
            i++;
        size_t start = i;
        while (i < *len && tok[i] < 0x80)
            i++;
        if (i - start > best_len) {
            best = tok + start;
            best_len = i - start;
        }
    }
    *len = best_len;
    return best;
}

void
scan_tok_init(struct scan_tok *t, const uint8_t *tok, size_t len)
{
    if (len > sizeof(t->b))
        len = sizeof(t->b);
    tok = scan_ascii_part(tok, &len);
    memcpy(t->b, tok, len);
    t->len = (uint32_t)len;
}

static inline uint8_t
scan_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static int
scan_equal(const struct scan_tok *t, const uint8_t *p)
{
    for (uint32_t i = 0; i < t->len; i++)
        if (scan_lower(p[i]) != t->b[i])
            return 0;
    return 1;
}

/* Where a token's first and last byte may sit: text byte c matches
 * want when (c | or) == want (or 0x20 for a letter, else 0). */
struct scan_pair {
    uint8_t want0, or0, want1, or1;
    size_t  dist;                       /* len - 1 */
};

static struct scan_pair
scan_pair_of(const struct scan_tok *t)
{
    uint8_t b0 = t->b[0], b1 = t->b[t->len - 1];
    struct scan_pair pr = {
        .want0 = b0, .want1 = b1, .dist = t->len - 1,
        .or0 = b0 >= 'a' && b0 <= 'z' ? 0x20 : 0,
        .or1 = b1 >= 'a' && b1 <= 'z' ? 0x20 : 0,
    };
    return pr;
}

/* Start of the first occurrence of t in [p, end), or NULL: 16 starts at
 * a time (SSE2), each whose first and last byte fit compared whole. */
static const uint8_t *
scan_find(const struct scan_tok *t, const uint8_t *p, const uint8_t *end)
{
    if (t->len == 0)
        return p;
    if ((size_t)(end - p) < t->len)
        return NULL;
    struct scan_pair pr = scan_pair_of(t);
    const uint8_t *last = end - pr.dist;        /* starts before it */

#if defined(__SSE2__)
    const __m128i w0 = _mm_set1_epi8((char)pr.want0);
    const __m128i o0 = _mm_set1_epi8((char)pr.or0);
    const __m128i w1 = _mm_set1_epi8((char)pr.want1);
    const __m128i o1 = _mm_set1_epi8((char)pr.or1);

    for (; last - p >= 16; p += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i y = _mm_loadu_si128(
            (const __m128i *)(const void *)(p + pr.dist));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(
            _mm_cmpeq_epi8(_mm_or_si128(x, o0), w0),
            _mm_cmpeq_epi8(_mm_or_si128(y, o1), w1)));
        for (; mask != 0; mask &= mask - 1) {
            const uint8_t *s = p + __builtin_ctz(mask);
            if (scan_equal(t, s))
                return s;
        }
    }
#endif
    for (; p < last; p++)
        if ((p[0] | pr.or0) == pr.want0 && (p[pr.dist] | pr.or1) == pr.want1 &&
            scan_equal(t, p))
            return p;
    return NULL;
}

int
scan_has(const struct scan_tok *t, const uint8_t *msg, size_t len)
{
    return scan_find(t, msg, msg + len) != NULL;
}

int
scan_may_hold(const struct scan_tok *toks, size_t n_toks, const uint8_t *p,
              size_t len)
{
    return n_toks == 0 || scan_has(&toks[0], p, len);
}

void
scan_column(const struct scan_tok *t, const struct store_rec *recs,
            uint32_t n, uint8_t *keep)
{
    if (n == 0)
        return;
    if (t->len == 0) {
        memset(keep, 1, n);
        return;
    }
    const uint8_t *p = recs[0].msg;
    const uint8_t *end = recs[n - 1].msg + recs[n - 1].msg_len;
    uint32_t ri = 0;

    while (p < end) {
        const uint8_t *at = scan_find(t, p, end);
        if (!at)
            return;
        while (ri < n && recs[ri].msg + recs[ri].msg_len <= at)
            ri++;
        if (ri == n)
            return;
        if (at < recs[ri].msg) {
            p = recs[ri].msg;   /* between messages (codec 6 frames) */
            continue;
        }
        if (at + t->len > recs[ri].msg + recs[ri].msg_len) {
            p = at + 1;         /* spans two messages */
            continue;
        }
        keep[ri] = 1;
        if (++ri == n)
            return;
        p = recs[ri].msg;
    }
}
