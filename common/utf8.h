/* SPDX-License-Identifier: MIT */
/*
 * utf8: the one UTF-8 and JSON-string decoder of all three programs.
 * Validation follows RFC 3629 (no overlong forms, no surrogates, nothing
 * past U+10FFFF); an invalid sequence is reported with the length of its
 * maximal invalid subpart (Unicode's recommended practice for U+FFFD), so
 * a caller can replace either per byte or per subpart. JSON escapes
 * (RFC 8259) decode one at a time, \uXXXX surrogate pairs joined. Callers
 * keep their own loops over plain bytes (the hot paths scan ASCII runs in
 * bulk) and come here for every non-ASCII byte and every backslash. Pure:
 * no allocation, no state; fuzzed by tests/fuzz/fuzz_utf8.c.
 */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xfffdu
#define UTF8_MAX_LEN     4

/*
 * Decodes the code point at p[0..left) (left >= 1). Returns the length of
 * a valid sequence (1 for ASCII, 2..4) with *cp set, or 0 when p starts an
 * invalid sequence, with *bad set to the length of its maximal invalid
 * subpart (1..3 bytes, never past left).
 */
static inline size_t utf8_decode(const uint8_t *p, size_t left, uint32_t *cp,
                                 size_t *bad);

/* Encodes cp (< 0x110000, not a surrogate) into out; returns 1..4. */
size_t utf8_encode(uint32_t cp, uint8_t out[UTF8_MAX_LEN]);

/*
 * The largest cut <= n that does not split a UTF-8 sequence of p (p[n] must
 * be readable): where text capped at n bytes may end. The start of the
 * sequence when p[j..n] (j >= n - 3) is a well-formed sequence or the
 * beginning of one; otherwise n itself: p[n] starts a sequence, or the
 * bytes around it are not UTF-8 anyway (a stray continuation byte, after
 * a whole sequence or a bad lead byte, is kept up to n).
 */
size_t utf8_cut(const uint8_t *p, size_t n);

/*
 * 1 if p[0..len) is valid UTF-8 without control characters (C0, DEL, C1):
 * text safe to show in listings and logs (container names and images,
 * collector/ingest/srccheck.h; Docker labels, common/labelset.h).
 */
int utf8_is_printable(const uint8_t *p, size_t len);

/* Flags of utf8_json_escape(). */
#define UTF8_ESC_U          1u  /* a \uXXXX form (or a pair of them) */
#define UTF8_ESC_UPPER_HEX  2u  /* ... written with an upper-case hex digit */
#define UTF8_ESC_PAIR       4u  /* a surrogate pair, joined */
#define UTF8_ESC_LONE       8u  /* a lone surrogate: *cp is U+FFFD */

/*
 * Decodes the JSON escape at p[0..left), p just past the backslash: one of
 * " \ / b f n r t, or uXXXX, where a high surrogate directly followed by
 * "\uDC00".."\uDFFF" is joined into one code point. Returns the bytes
 * consumed with *cp and *flags set, or 0 if the escape is malformed or cut
 * short.
 */
static inline size_t utf8_json_escape(const uint8_t *p, size_t left,
                                      uint32_t *cp, unsigned *flags);

/* ---- inline: these run per non-ASCII code point and per escape on the
 * shipper's hot path; as out-of-line calls they cost the json-file parser
 * about 10% more instructions on text with UTF-8 and \u escapes
 * (callgrind), and more in wall time. The well-formed ranges are RFC
 * 3629's. ---- */

static inline size_t
utf8_decode(const uint8_t *p, size_t left, uint32_t *cp, size_t *bad)
{
    uint8_t c = p[0], lo = 0x80, hi = 0xbf;
    size_t need;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    *bad = 1;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    need = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (c == 0xe0)
        lo = 0xa0;              /* overlong */
    else if (c == 0xed)
        hi = 0x9f;              /* surrogates */
    else if (c == 0xf0)
        lo = 0x90;              /* overlong */
    else if (c == 0xf4)
        hi = 0x8f;              /* past U+10FFFF */
    if (left < 2 || p[1] < lo || p[1] > hi)
        return 0;
    uint32_t v = c & (need == 2 ? 0x1fu : need == 3 ? 0x0fu : 0x07u);
    v = (v << 6) | (p[1] & 0x3fu);
    for (size_t i = 2; i < need; i++) {
        if (left <= i || (p[i] & 0xc0) != 0x80) {
            *bad = i;
            return 0;
        }
        v = (v << 6) | (p[i] & 0x3fu);
    }
    *cp = v;
    return need;
}

/* Four hex digits at p (left >= 4 checked by the caller); -1 if not. */
static inline int
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
static inline size_t
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

static inline size_t
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

#endif
