/* SPDX-License-Identifier: MIT */
/*
 * selcache: name selection answers per source (contract in selcache.h).
 * Open addressing (load <= 1/2) over entries that own a copy of their
 * key: host, container and image, each NUL-terminated, back to back.
 */
#include "collector/search/selcache.h"

#include <stdlib.h>
#include <string.h>

#include "common/fnv.h"
#include "common/xmalloc.h"

struct selcache_entry {
    uint64_t hash;
    char    *key;
    size_t   key_len;
    const struct labelset *labels;  /* by identity (selcache.h) */
    int      is_match;
};

struct selcache {
    const struct namesel  *sel;
    struct selcache_entry *tab;
    size_t                 tab_size, n, max;
    uint64_t               n_misses, n_resets;
};

struct selcache *
selcache_new(const struct namesel *sel, size_t max_entries)
{
    struct selcache *c = xcalloc(1, sizeof(*c));

    c->sel = sel;
    c->max = max_entries ? max_entries : 1;
    c->tab_size = 16;
    while (c->tab_size < 2 * c->max)
        c->tab_size *= 2;
    c->tab = xcalloc(c->tab_size, sizeof(*c->tab));
    return c;
}

static void
selcache_clear(struct selcache *c)
{
    for (size_t i = 0; i < c->tab_size; i++) {
        free(c->tab[i].key);
        c->tab[i].key = NULL;
    }
    c->n = 0;
}

void
selcache_free(struct selcache *c)
{
    if (c == NULL)
        return;
    selcache_clear(c);
    free(c->tab);
    free(c);
}

/* Appends s and its NUL to the FNV-1a hash h; its length in *len. */
static uint64_t
selcache_hash(uint64_t h, const char *s, size_t *len)
{
    *len = strlen(s) + 1;
    return fnv1a64_more(h, s, *len);
}

int
selcache_match(struct selcache *c, const char *host, const char *container,
               const char *image, const struct labelset *labels)
{
    const char *v[3] = { host ? host : "", container ? container : "",
                         image ? image : "" };
    size_t len[3];
    uint64_t h = FNV1A64_OFFSET;

    for (int k = 0; k < 3; k++)
        h = selcache_hash(h, v[k], &len[k]);
    uintptr_t lp = (uintptr_t)labels;
    for (int k = 0; k < 8; k++, lp >>= 8)
        h = fnv1a64_byte(h, (uint8_t)lp);
    size_t key_len = len[0] + len[1] + len[2];
    size_t i = h & (c->tab_size - 1);
    for (; c->tab[i].key != NULL; i = (i + 1) & (c->tab_size - 1)) {
        const struct selcache_entry *e = &c->tab[i];
        if (e->hash == h && e->key_len == key_len && e->labels == labels &&
            memcmp(e->key, v[0], len[0]) == 0 &&
            memcmp(e->key + len[0], v[1], len[1]) == 0 &&
            memcmp(e->key + len[0] + len[1], v[2], len[2]) == 0)
            return e->is_match;
    }
    int is_match = namesel_match(c->sel, v[0], v[1], v[2], labels);
    c->n_misses++;
    if (c->n == c->max) {           /* full: start again */
        selcache_clear(c);
        c->n_resets++;
        i = h & (c->tab_size - 1);
    }
    struct selcache_entry *e = &c->tab[i];
    e->hash = h;
    e->key_len = key_len;
    e->labels = labels;
    e->key = xmalloc(key_len);
    memcpy(e->key, v[0], len[0]);
    memcpy(e->key + len[0], v[1], len[1]);
    memcpy(e->key + len[0] + len[1], v[2], len[2]);
    e->is_match = is_match;
    c->n++;
    return is_match;
}

uint64_t
selcache_n_misses(const struct selcache *c)
{
    return c->n_misses;
}

uint64_t
selcache_n_resets(const struct selcache *c)
{
    return c->n_resets;
}
