/* SPDX-License-Identifier: MIT */
/*
 * utf8: UTF-8 validation and decoding, UTF-8 encoding, JSON escapes (see
 * utf8.h). Written by hand because it sits on per-byte hot paths (the
 * shipper's json-file scanner, the record escaper, logq's reply parser);
 * a library would cost a call and a state object per code point. The
 * well-formed byte ranges are those of RFC 3629 / Unicode table 3-7.
 */
#include "common/utf8.h"

size_t
utf8_encode(uint32_t cp, uint8_t out[UTF8_MAX_LEN])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

size_t
utf8_cut(const uint8_t *p, size_t n)
{
    if ((p[n] & 0xC0) != 0x80)
        return n;
    /* p[n] continues a sequence: find its lead byte, at most 3 back */
    size_t j = n;
    do {
        if (j == 0 || n - j == 3)
            return n;   /* no lead byte: not UTF-8 anyway */
        j--;
    } while ((p[j] & 0xC0) == 0x80);
    /* Cut before it only if p[j..n] is a well-formed sequence, whole or
     * the beginning of one: a stray continuation byte after a whole
     * sequence, or after a bad lead byte, is not UTF-8 anyway. */
    uint32_t cp;
    size_t bad = 0, left = n - j + 1;
    size_t got = utf8_decode(p + j, left, &cp, &bad);
    if (got == left || (got == 0 && bad == left))
        return j;
    return n;
}

int
utf8_is_printable(const uint8_t *p, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t bad, n = utf8_decode(p + i, len - i, &cp, &bad);
        if (n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += n;
    }
    return 1;
}
