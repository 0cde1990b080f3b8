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
    return len <= SRCCHECK_MAX_TEXT &&
           utf8_is_printable((const uint8_t *)p, len);
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
