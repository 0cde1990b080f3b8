/* SPDX-License-Identifier: MIT */
/*
 * linesplit: see linesplit.h. Lines found entirely inside one piece are
 * handed out in place; only the tail of a piece is copied, so the common
 * case (many short lines per chunk) copies nothing.
 */
#include "query/linesplit.h"

#include <string.h>

void
linesplit_init(struct linesplit *ls, size_t max_line)
{
    /* The buffer never holds the '\n', so max_line bytes is its cap. */
    buf_init(&ls->partial, max_line);
    ls->max_line = max_line;
    ls->errstr = NULL;
}

void
linesplit_fini(struct linesplit *ls)
{
    buf_fini(&ls->partial);
}

void
linesplit_reset(struct linesplit *ls)
{
    buf_reset(&ls->partial);
    ls->errstr = NULL;
}

static int
linesplit_fail(struct linesplit *ls, const char *why)
{
    ls->errstr = why;
    buf_reset(&ls->partial);
    return -1;
}

int
linesplit_feed(struct linesplit *ls, const char *p, size_t n,
               linesplit_line_fn fn, void *arg)
{
    if (ls->errstr != NULL)
        return -1;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;

        if (ls->partial.len + take > ls->max_line)
            return linesplit_fail(ls, "line too long");
        if (nl == NULL)
            return buf_append(&ls->partial, p, take) < 0
                       ? linesplit_fail(ls, "line too long") : 0;
        int rc;
        if (ls->partial.len == 0) {
            rc = fn(p, take, arg);
        } else {
            if (buf_append(&ls->partial, p, take) < 0)
                return linesplit_fail(ls, "line too long");
            rc = fn((const char *)ls->partial.data, ls->partial.len, arg);
            buf_reset(&ls->partial);
        }
        if (rc < 0)
            return -1;
        p += take + 1;
        n -= take + 1;
    }
    return 0;
}

int
linesplit_finish(struct linesplit *ls, linesplit_line_fn fn, void *arg)
{
    if (ls->errstr != NULL)
        return -1;
    if (ls->partial.len == 0)
        return 0;
    int rc = fn((const char *)ls->partial.data, ls->partial.len, arg);
    buf_reset(&ls->partial);
    return rc < 0 ? -1 : 0;
}
