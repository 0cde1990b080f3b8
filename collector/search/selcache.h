/* SPDX-License-Identifier: MIT */
/*
 * selcache: a follower's name selection (store/namesel.h: host, container
 * glob, image) remembered per source. The loop checks every published
 * record against every follower's selection; sources are few and records
 * many, so the answer for a (host, container, image) triple is computed
 * once with namesel_match (fnmatch(3) for container globs) and then
 * looked up: one hash of the names and one compare. The source's Docker
 * labels are part of the key by identity: the store's sets are immutable
 * and live until it closes (store.h), so one pointer is one set. Bounded: at most
 * max_entries triples; when full the cache starts again empty (counted).
 * Not thread-safe (one follower's, on the loop); no I/O.
 */
#ifndef COLLECTOR_SEARCH_SELCACHE_H
#define COLLECTOR_SEARCH_SELCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "collector/store/namesel.h"

struct selcache;

/* A cache over sel (borrowed: it must outlive the cache). */
struct selcache *selcache_new(const struct namesel *sel, size_t max_entries);
void selcache_free(struct selcache *c);
struct labelset;
/* namesel_match(sel, host, container, image, labels); NULL names are "". */
int  selcache_match(struct selcache *c, const char *host,
                    const char *container, const char *image,
                    const struct labelset *labels);
/* namesel_match calls made (misses) and times the cache was emptied. */
uint64_t selcache_n_misses(const struct selcache *c);
uint64_t selcache_n_resets(const struct selcache *c);

#endif
