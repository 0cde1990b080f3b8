/* SPDX-License-Identifier: MIT */
/*
 * casefold: simple case folding (see casefold.h). The table comes from
 * common/casefold_gen.py: code points below 0x600 (Latin-1 to Armenian,
 * the letters log text mostly has) are one array load, the widest range
 * without mappings (U+2CF3..U+A63F: CJK, kana) one compare, the rest a
 * binary search over about 970 sorted pairs.
 */
#include "common/casefold.h"

#include "common/utf8.h"

struct casefold_pair {
    uint32_t from;
    uint32_t to;
};

#include "common/casefold_table.h"

uint32_t
casefold_cp(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    if (cp < CASEFOLD_DIRECT) {
        uint16_t to = casefold_direct[cp - 0x80];
        return to ? to : cp;
    }
    if (cp >= CASEFOLD_GAP_FIRST && cp < CASEFOLD_GAP_END)
        return cp;              /* CJK and the like: nothing folds */
    size_t lo = 0, hi = sizeof(casefold_pairs) / sizeof(casefold_pairs[0]);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (casefold_pairs[mid].from == cp)
            return casefold_pairs[mid].to;
        if (casefold_pairs[mid].from < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return cp;
}

size_t
casefold_next(const uint8_t *p, size_t left, uint8_t out[4], size_t *out_len)
{
    uint32_t cp;
    size_t bad;

    if (p[0] < 0x80) {
        out[0] = p[0] >= 'A' && p[0] <= 'Z' ? (uint8_t)(p[0] + 32) : p[0];
        *out_len = 1;
        return 1;
    }
    /* Two-byte characters below CASEFOLD_DIRECT (Latin, Greek, Cyrillic,
     * Armenian: most non-ASCII log text) skip the general decoder; this
     * halves the tokenizer's cost on such text. */
    if (p[0] >= 0xc2 && p[0] < 0xc0 + (CASEFOLD_DIRECT >> 6) && left >= 2 &&
        (p[1] & 0xc0) == 0x80) {
        cp = ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3fu);
        uint32_t to = casefold_direct[cp - 0x80];
        if (to == 0) {
            out[0] = p[0];
            out[1] = p[1];
            *out_len = 2;
        } else {
            *out_len = utf8_encode(to, out);    /* U+023A: 3 bytes */
        }
        return 2;
    }
    size_t n = utf8_decode(p, left, &cp, &bad);
    if (n == 0) {
        out[0] = p[0];
        *out_len = 1;
        return 1;
    }
    *out_len = utf8_encode(casefold_cp(cp), out);
    return n;
}

size_t
casefold_str(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
    size_t i = 0, n = 0;

    while (i < len) {
        uint8_t u[4];
        size_t ul;
        i += casefold_next(src + i, len - i, u, &ul);
        for (size_t k = 0; k < ul; k++, n++)
            if (n < cap)
                dst[n] = u[k];
    }
    return n;
}
