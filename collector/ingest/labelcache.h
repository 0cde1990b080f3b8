/* SPDX-License-Identifier: MIT */
/*
 * labelcache: the parses of the Docker label texts shippers send
 * (labelset_parse), kept per exact text so a text seen before is not
 * parsed again on the event loop: the store knows only each source's last
 * text, so a host alternating between label sets (or many sources of one
 * image) would otherwise be parsed with every batch. Direct-mapped by the
 * text's hash, an entry compared byte for byte (a hash collision is a
 * miss, never another text's labels); a miss replaces the slot. Bounded:
 * LABELCACHE_SLOTS entries and LABELCACHE_MAX_BYTES of texts (a text that
 * does not fit is parsed, not kept). Loop-only; knows nothing of sources.
 */
#ifndef COLLECTOR_INGEST_LABELCACHE_H
#define COLLECTOR_INGEST_LABELCACHE_H

#include <stddef.h>
#include <stdint.h>

#define LABELCACHE_SLOTS     256
#define LABELCACHE_MAX_BYTES ((size_t)4 << 20)

struct labelset;

/* The parse of one text, as labelset_parse gave it. */
struct labelcache_entry {
    const struct labelset *ls;      /* NULL: not a JSON object */
    size_t                 n_dropped;
    const char            *err;     /* when ls is NULL */
};

struct labelcache *labelcache_new(void);
void labelcache_free(struct labelcache *c);
/* The parse of text[0..len) (hash: any hash of the text, the same for the
 * same text), parsed now or found. The entry's pointers are the cache's,
 * valid until the next labelcache_get or labelcache_free. */
struct labelcache_entry labelcache_get(struct labelcache *c, const char *text,
                                       size_t len, uint64_t hash);
/* How many texts the cache has parsed (misses), for tests (not in
 * /health). */
uint64_t labelcache_n_parsed(const struct labelcache *c);

#endif
