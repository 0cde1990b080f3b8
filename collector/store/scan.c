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
 * per record: the search is anchored on the token's rarest byte, found
 * with memchr (a byte without case) or eight bytes at a time (a letter).
 * Pure functions over memory; used by cursor.c only.
 */
#include "collector/store/store_internal.h"

#include <string.h>

/* Letters from common to rare in log text; a later one anchors better. */
static const char scan_letter_rank[] = "etaoinsrhldcumfpgwybvkxjqz";

static int
scan_byte_score(uint8_t c)
{
    if (c >= 'a' && c <= 'z')
        return (int)(strchr(scan_letter_rank, c) - scan_letter_rank);
    if (c >= 0x80)
        return 40;
    return 12;                  /* digits: common in logs */
}

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
    int best = -1;

    if (len > sizeof(t->b))
        len = sizeof(t->b);
    tok = scan_ascii_part(tok, &len);
    memcpy(t->b, tok, len);
    t->len = (uint32_t)len;
    t->anchor = 0;
    for (size_t i = 0; i < len; i++) {
        int sc = scan_byte_score(tok[i]);
        if (sc > best) {
            best = sc;
            t->anchor = (uint32_t)i;
        }
    }
    t->a_byte = len ? tok[t->anchor] : 0;
    t->is_letter = t->a_byte >= 'a' && t->a_byte <= 'z';
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

/* First byte in [p, end) equal to lo or its upper case (lo: 'a'..'z'). */
static const uint8_t *
scan_find_letter(const uint8_t *p, const uint8_t *end, uint8_t lo)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull;
    const uint64_t highs = 0x8080808080808080ull;
    const uint64_t pat = ones * lo, fold = ones * 0x20;

    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof(w));
        uint64_t x = (w | fold) ^ pat;
        /* the lowest flagged byte is exactly the first zero byte */
        uint64_t z = (x - ones) & ~x & highs;
        if (z)
            return p + (__builtin_ctzll(z) >> 3);
        p += 8;
    }
#endif
    for (; p < end; p++)
        if ((uint8_t)(*p | 0x20) == lo)
            return p;
    return NULL;
}

/* Start of the first occurrence of t in [p, end), or NULL. */
static const uint8_t *
scan_find(const struct scan_tok *t, const uint8_t *p, const uint8_t *end)
{
    if (t->len == 0)
        return p;
    while ((size_t)(end - p) >= t->len) {
        const uint8_t *from = p + t->anchor;
        const uint8_t *last = end - (t->len - t->anchor) + 1;
        const uint8_t *a = t->is_letter
            ? scan_find_letter(from, last, t->a_byte)
            : memchr(from, t->a_byte, (size_t)(last - from));
        if (!a)
            return NULL;
        const uint8_t *start = a - t->anchor;
        if (scan_equal(t, start))
            return start;
        p = start + 1;
    }
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
