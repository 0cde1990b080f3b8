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

/* Four hex digits at p (left >= 4 checked by the caller); -1 if not. */
static int
utf8_hex4(const uint8_t *p, uint32_t *out, unsigned *flags)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        if (c >= '0' && c <= '9') {
            v = v * 16 + (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v = v * 16 + (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v = v * 16 + (uint32_t)(c - 'A' + 10);
            *flags |= UTF8_ESC_UPPER_HEX;
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* p is just past the "u" of "\u"; returns the bytes consumed from p (4,
 * or 10 for a joined pair), 0 if malformed. */
static size_t
utf8_json_u(const uint8_t *p, size_t left, uint32_t *cp, unsigned *flags)
{
    uint32_t v, lo;
    unsigned f = UTF8_ESC_U, f2 = 0;

    if (left < 4 || utf8_hex4(p, &v, &f) < 0)
        return 0;
    if (v >= 0xd800 && v <= 0xdbff && left >= 10 && p[4] == '\\' &&
        p[5] == 'u' && utf8_hex4(p + 6, &lo, &f2) == 0 && lo >= 0xdc00 &&
        lo <= 0xdfff) {
        *cp = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
        *flags = f | f2 | UTF8_ESC_PAIR;
        return 10;
    }
    if (v >= 0xd800 && v <= 0xdfff) {
        *cp = UTF8_REPLACEMENT;
        *flags = f | UTF8_ESC_LONE;
        return 4;
    }
    *cp = v;
    *flags = f;
    return 4;
}

size_t
utf8_json_escape(const uint8_t *p, size_t left, uint32_t *cp,
                 unsigned *flags)
{
    uint32_t v;

    if (left == 0)
        return 0;
    switch (p[0]) {
    case '"': case '\\': case '/': v = p[0]; break;
    case 'b': v = '\b'; break;
    case 'f': v = '\f'; break;
    case 'n': v = '\n'; break;
    case 'r': v = '\r'; break;
    case 't': v = '\t'; break;
    case 'u': {
        size_t n = utf8_json_u(p + 1, left - 1, cp, flags);
        return n > 0 ? n + 1 : 0;
    }
    default: return 0;
    }
    *cp = v;
    *flags = 0;
    return 1;
}
