/* SPDX-License-Identifier: MIT */
/*
 * escape: see escape.h. One unit at a time: a run of plain bytes is
 * copied in one go, every other unit (one byte, or one C1 code point) is
 * replaced by an escape of at most 6 bytes.
 */
#include "common/escape.h"

#include <stdint.h>
#include <string.h>

#include "common/utf8.h"

#define ESCAPE_UNIT_MAX 6       /* "\u009b" */

/* The unit at p[0..left): returns the bytes it spans; *elen 0 means it is
 * plain (copy those bytes), else esc[0..*elen) replaces them. */
static size_t
escape_unit(const uint8_t *p, size_t left, unsigned flags,
            char esc[ESCAPE_UNIT_MAX], size_t *elen)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t c = p[0];
    uint32_t cp = 0;
    size_t bad = 1, n = 1;

    *elen = 0;
    if (c >= 0x20 && c < 0x7f) {
        if ((flags & ESCAPE_QUOTE) && (c == '"' || c == '\\')) {
            esc[0] = '\\';
            esc[1] = (char)c;
            *elen = 2;
        }
        return 1;
    }
    if (c == '\t' && (flags & ESCAPE_KEEP_TAB))
        return 1;
    if (c == '\n' || c == '\r' || c == '\t') {
        esc[0] = '\\';
        esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        *elen = 2;
        return 1;
    }
    if (c >= 0x80) {
        n = utf8_decode(p, left, &cp, &bad);
        if (n > 0 && cp >= 0xa0)
            return n;
    }
    if (n > 0 && c >= 0x80) {           /* C1: U+0080..U+009F */
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[cp >> 4];
        esc[5] = hex[cp & 15];
        *elen = 6;
        return n;
    }
    esc[0] = '\\';                      /* C0, DEL, one invalid byte */
    esc[1] = 'x';
    esc[2] = hex[c >> 4];
    esc[3] = hex[c & 15];
    *elen = 4;
    return 1;
}

int
escape_append(struct buf *out, const char *s, size_t n, unsigned flags)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t saved = out->len, run = 0, i = 0;

    while (i < n) {
        char esc[ESCAPE_UNIT_MAX];
        size_t elen, k = escape_unit(p + i, n - i, flags, esc, &elen);
        if (elen == 0) {
            i += k;
            continue;
        }
        if (buf_append(out, s + run, i - run) < 0 ||
            buf_append(out, esc, elen) < 0)
            goto fail;
        i += k;
        run = i;
    }
    if (buf_append(out, s + run, n - run) < 0)
        goto fail;
    return 0;
fail:
    out->len = saved;
    return -1;
}

/* The length escape_append would add for s[0..n). */
static size_t
escape_len(const uint8_t *p, size_t n, unsigned flags)
{
    size_t len = 0;

    for (size_t i = 0; i < n;) {
        char esc[ESCAPE_UNIT_MAX];
        size_t elen, k = escape_unit(p + i, n - i, flags, esc, &elen);
        len += elen ? elen : k;
        i += k;
    }
    return len;
}

char *
escape_str(char *dst, size_t size, const char *s, size_t n, unsigned flags)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t len = 0, i = 0, room;

    if (size == 0)
        return dst;
    /* all of it, or as much as leaves room for "..." */
    room = escape_len(p, n, flags) <= size - 1 ? size - 1
         : size - 1 < 3 ? 0 : size - 4;
    while (i < n) {
        char esc[ESCAPE_UNIT_MAX];
        size_t elen, k = escape_unit(p + i, n - i, flags, esc, &elen);
        size_t plen = elen ? elen : k;
        if (len + plen > room) {
            size_t dots = size - 1 - len < 3 ? size - 1 - len : 3;
            memcpy(dst + len, "...", dots);
            len += dots;
            break;
        }
        memcpy(dst + len, elen ? esc : s + i, plen);
        len += plen;
        i += k;
    }
    dst[len] = '\0';
    return dst;
}

int
escape_is_plain(const char *s, size_t n, unsigned flags)
{
    const uint8_t *p = (const uint8_t *)s;

    for (size_t i = 0; i < n;) {
        char esc[ESCAPE_UNIT_MAX];
        size_t elen;
        i += escape_unit(p + i, n - i, flags, esc, &elen);
        if (elen != 0)
            return 0;
    }
    return 1;
}
