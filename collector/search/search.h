/* SPDX-License-Identifier: MIT */
/*
 * search: what GET /api/v1/logs, /count and /histogram do with the records
 * a store cursor returns: the query match, the result limit, grep-like
 * context windows (before/after lines of the same source) and the scan cost
 * cap. Driven in steps of a bounded number of records so the HTTP handlers
 * can run it in slices on the event loop; knows nothing of HTTP or JSON
 * (the caller's emit callback formats records). The property test
 * (search_prop_test.c) runs the same steps against a brute-force model.
 *
 * Context, in time order like grep -B/-A: a source is (host, container_id,
 * stream); its records are taken in the cursor's order. The windows are
 * computed in scan order, so newest-first swaps the roles: records seen
 * before a match in scan order are its "after" lines. Overlapping or
 * touching windows merge into one group, each record is emitted once, and a
 * group is emitted in one piece (scan order) when it can no longer grow:
 * groups of different sources therefore appear in the order they complete.
 * Memory is bounded: a ring of at most (scan-order lookbehind) records and
 * the open group per source, all under max_held_bytes; a group larger than
 * SEARCH_GROUP_MAX_RECORDS records or SEARCH_GROUP_MAX_BYTES is emitted early
 * and the rest of it continues as a new group. Context comes only from
 * records that pass the filter (time range, host, container, image,
 * stream). limit counts matches; as with grep -m, once it is reached no new
 * group starts, open windows are still filled (a later match inside one is
 * a context line), then the search ends.
 */
#ifndef COLLECTOR_SEARCH_H
#define COLLECTOR_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "collector/search/query.h"
#include "collector/store/store.h"
#include "common/record.h"

#define SEARCH_MAX_CONTEXT        1000
#define SEARCH_GROUP_MAX_RECORDS  10000
#define SEARCH_GROUP_MAX_BYTES    ((size_t)4 << 20)
#define SEARCH_DEFAULT_HELD_BYTES ((size_t)256 << 20)
#define SEARCH_DEFAULT_MAX_SCAN   ((uint64_t)16 << 30)   /* 16 GiB */

/* What to search. Strings are borrowed for search_new (the cursor copies
 * them); q is borrowed for the life of the search. */
struct search_spec {
    struct store_filter  filter;    /* tokens are filled in from q */
    const struct query  *q;
    uint64_t             limit;     /* matches; UINT64_MAX: no limit */
    int                  is_newest_first;
    unsigned             before;    /* context lines, time order, <= */
    unsigned             after;     /*   SEARCH_MAX_CONTEXT */
    uint64_t             max_scan_bytes;    /* message bytes read; 0: none */
    size_t               max_held_bytes;    /* 0: the default */
};

/* One output record: is_context for a context line, is_group_start for the
 * first record of a group other than the first group (print "--"). Return
 * 1 to end the current step after this record (the slice is full), else 0.
 * r and its strings are valid only during the call. */
typedef int (*search_emit_fn)(const struct logrec *r, int is_context,
                              int is_group_start, void *arg);

enum search_status {
    SEARCH_MORE = 0,    /* call search_step again */
    SEARCH_DONE = 1,    /* limit reached or store exhausted, all emitted */
    SEARCH_ERROR = -1,  /* a cap was reached: search_errstr(); everything
                           found before it has been emitted */
};

struct search;

/* Creates the cursor and state. NULL (with *errstr, caller frees) when the
 * cursor cannot be created. */
struct search *search_new(struct store *st, const struct search_spec *spec,
                          char **errstr);
void search_free(struct search *s);

/* Reads at most max_records from the cursor (flushing groups counts too)
 * and emits what is final. Returns a search_status. After SEARCH_DONE or
 * SEARCH_ERROR further calls return the same status and do nothing. */
int search_step(struct search *s, size_t max_records, search_emit_fn emit,
                void *arg);

const char *search_errstr(const struct search *s);
uint64_t search_n_matches(const struct search *s);
uint64_t search_scanned_bytes(const struct search *s);
/* Damaged blocks the cursor skipped so far. */
uint64_t search_n_damaged(const struct search *s);

#endif
