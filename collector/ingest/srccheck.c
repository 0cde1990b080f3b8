/* SPDX-License-Identifier: MIT */
/*
 * srccheck: checks of a BATCH source's metadata (see srccheck.h). They
 * bound what one sender can make the store keep per label and keep
 * control characters out of names shown in listings and logs.
 */
#include "collector/ingest/srccheck.h"

#include <stdint.h>

#include "common/utf8.h"

int
srccheck_id(const char *p, size_t len)
{
    if (len != SRCCHECK_ID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

int
srccheck_text(const char *p, size_t len)
{
    const uint8_t *q = (const uint8_t *)p;
    size_t i = 0;

    if (len > SRCCHECK_MAX_TEXT)
        return 0;
    while (i < len) {
        uint32_t cp;
        size_t bad, n = utf8_decode(q + i, len - i, &cp, &bad);
        if (n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += n;
    }
    return 1;
}

const char *
srccheck_source(const struct wire_source *s)
{
    if (!srccheck_id(s->id.p, s->id.len))
        return "container id is not 64 lower-case hex digits";
    if (!srccheck_text(s->name.p, s->name.len))
        return "container name longer than 256 bytes or not printable "
               "UTF-8";
    if (!srccheck_text(s->image.p, s->image.len))
        return "image longer than 256 bytes or not printable UTF-8";
    return NULL;
}
