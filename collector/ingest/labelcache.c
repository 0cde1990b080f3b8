/* SPDX-License-Identifier: MIT */
/*
 * labelcache: see labelcache.h. One slot holds the last text that hashed
 * to it, its set or its error; an uncached parse (a text over the byte
 * bound) lives in a scratch entry until the next call.
 */
#include "collector/ingest/labelcache.h"

#include <stdlib.h>
#include <string.h>

#include "common/labelset.h"
#include "common/xmalloc.h"

struct lc_slot {
    char            *text;          /* NULL: empty */
    size_t           len;
    struct labelset *ls;
    size_t           n_dropped;
    char            *err;
};

struct labelcache {
    struct lc_slot slots[LABELCACHE_SLOTS];
    struct lc_slot scratch;         /* a parse not kept */
    size_t         n_bytes;         /* texts held in slots */
    uint64_t       n_parsed;
};

static void
lc_slot_clear(struct labelcache *c, struct lc_slot *s)
{
    if (s->text != NULL && s != &c->scratch)
        c->n_bytes -= s->len;
    free(s->text);
    labelset_free(s->ls);
    free(s->err);
    memset(s, 0, sizeof(*s));
}

struct labelcache *
labelcache_new(void)
{
    return xcalloc(1, sizeof(struct labelcache));
}

void
labelcache_free(struct labelcache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < LABELCACHE_SLOTS; i++)
        lc_slot_clear(c, &c->slots[i]);
    lc_slot_clear(c, &c->scratch);
    free(c);
}

static struct labelcache_entry
lc_entry(const struct lc_slot *s)
{
    return (struct labelcache_entry){ s->ls, s->n_dropped, s->err };
}

struct labelcache_entry
labelcache_get(struct labelcache *c, const char *text, size_t len,
               uint64_t hash)
{
    struct lc_slot *s = &c->slots[hash % LABELCACHE_SLOTS];

    if (s->text != NULL && s->len == len && memcmp(s->text, text, len) == 0)
        return lc_entry(s);
    lc_slot_clear(c, s);
    lc_slot_clear(c, &c->scratch);
    if (c->n_bytes + len > LABELCACHE_MAX_BYTES)
        s = &c->scratch;            /* parsed, not kept */
    else
        c->n_bytes += len;
    s->text = xmalloc(len + 1);
    memcpy(s->text, text, len);
    s->len = len;
    s->ls = labelset_parse(text, len, &s->n_dropped, &s->err);
    c->n_parsed++;
    return lc_entry(s);
}

uint64_t
labelcache_n_parsed(const struct labelcache *c)
{
    return c->n_parsed;
}
