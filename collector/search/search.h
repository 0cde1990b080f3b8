/* SPDX-License-Identifier: MIT */
/*
 * search: what GET /api/v1/logs, /count, /histogram and /follow's history
 * do with the records store cursors return: the query match, the result
 * limit, grep-like context groups and the scan cost cap. Driven in steps
 * of a bounded number of records so the HTTP handlers can run it in slices
 * on the event loop; knows nothing of HTTP or JSON (the caller's emit
 * callback formats records). The property test (search_prop_test.c) runs
 * the same steps against a brute-force model.
 *
 * Order: matches come from one store cursor over the filter (exact
 * store_key order, collector/STORE.md), newest first or oldest first.
 *
 * Context (before/after > 0), like grep -B/-A: the lines of a match's
 * container (host + container_id), both streams unless filter.stream
 * narrows them, in store_key order, whatever the token index lets the
 * match cursor skip and whatever the time range is (context lines are the
 * real neighbours; since/until, host, container and image select matches
 * only). A match's window is `before` lines before it and `after` lines
 * after it. Windows of one container that overlap or touch form one group:
 * a group grows in the search's direction while the next match of its
 * container lies within before + after + 1 lines of its last match. A
 * line that passes the filter and the query inside a group is a match
 * (it counts toward limit). With a limit, the matches are exactly the
 * `limit` first matches in the search's direction (the newest, or with
 * oldest first the oldest) over all containers, whatever groups their
 * windows form: a first pass (the rank pass) finds the first and the
 * last of them, and a matching line outside them is context. Every line
 * is emitted once: a later group never repeats a line of an earlier group
 * of the same container (its window is cut there) and a match already
 * printed is skipped. Each group is emitted top to bottom in time order
 * (before-lines, match, after-lines); groups come in the order of their
 * first match in the search's direction (newest first: by their newest
 * match; oldest first: by their oldest). A group stops growing past
 * SEARCH_GROUP_MAX_RECORDS lines; the next match then starts a new group.
 *
 * How: for each new group, one context cursor (host + container_id exact,
 * stream, no tokens, `after` = a key) reads away from the match in the
 * search's direction to find the group's matches and its far end (at most
 * before + after + 1 lines past its last match), one reads the before-
 * lines' start (oldest first only: before + 1 lines), then one reads the
 * group oldest first and emits it. Memory is O(containers with a group)
 * whatever the group size; no record is held between steps.
 *
 * The match cursor sees what was committed when search_new ran; context
 * cursors are created later and also see lines committed since (on a live
 * store a group may show, or merge, a line newer than the search). So does
 * the second pass after a rank pass: a late record committed meanwhile
 * whose key falls between the ranked first and last match counts as a
 * match, and the answer ends at `limit` matches (one of the ranked ones
 * may then be left out).
 *
 * Cost: every record read counts toward max_scan_bytes (its message
 * bytes), the match cursor's as well as the context cursors' (so a group
 * costs about twice its lines plus before + after + 1 probe lines), and
 * the bytes the store's token prefilter dropped. Context with a limit
 * reads the matches twice (the rank pass, then the search restricted to
 * the ranked time range).
 *
 * Tail (is_tail, no context): the `limit` newest matches, emitted oldest
 * first (/follow's history): the rank pass (newest first) finds the oldest
 * and the newest of them, a second oldest-first pass emits the matches
 * between.
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
#define SEARCH_DEFAULT_MAX_SCAN   ((uint64_t)16 << 30)   /* 16 GiB */

/* What to search. Strings are borrowed for search_new (the cursor copies
 * them); q is borrowed for the life of the search. */
struct search_spec {
    struct store_filter  filter;    /* tokens are filled in from q */
    const struct query  *q;
    uint64_t             limit;     /* matches; UINT64_MAX: no limit */
    int                  is_newest_first;
    int                  is_tail;   /* the limit newest, oldest first */
    unsigned             before;    /* context lines, time order, <= */
    unsigned             after;     /*   SEARCH_MAX_CONTEXT */
    uint64_t             max_scan_bytes;    /* message bytes read; 0: none */
    /* Counts from the index (aggregates): NULL, or with no limit, no
     * context and not is_tail, when q is one word (query_count_word), the
     * store's cursor offers each segment block all of whose records the
     * filter selects and whose index counts the word (store_filter
     * .count_fn): the blocks it takes are not read and their matches not
     * emitted (search_n_matches includes them). */
    store_count_fn       count_fn;
    void                *count_arg;
    /* 1: the reference path (tests): records are matched one at a time
     * on the search's thread and no block is read ahead. 0: the match
     * cursors read blocks ahead on a second thread and run the query
     * where each block is loaded, on both threads (store_filter.match_fn);
     * the same answers, in the same order. */
    int                  is_serial;
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
 * cursor cannot be created or the spec is invalid (tail with context). */
struct search *search_new(struct store *st, const struct search_spec *spec,
                          char **errstr);
void search_free(struct search *s);

/* Reads at most max_records records from the cursors and emits what is
 * final; records the match cursor dropped unseen where their blocks were
 * loaded (store_filter.is_matches_only) count among them, so a step's
 * work stays bounded whatever matches. Returns a search_status. After
 * SEARCH_DONE or SEARCH_ERROR further calls return the same status and
 * do nothing. */
int search_step(struct search *s, size_t max_records, search_emit_fn emit,
                void *arg);

const char *search_errstr(const struct search *s);
uint64_t search_n_matches(const struct search *s);
uint64_t search_scanned_bytes(const struct search *s);
/* Records read so far, those dropped unseen included (the count
 * search_step's max_records bounds). */
uint64_t search_n_seen(const struct search *s);
/* Of those, the records the match cursor dropped unseen where their
 * blocks were loaded (store_filter.is_matches_only). */
uint64_t search_n_dropped(const struct search *s);
/* Damaged blocks the cursors skipped so far. */
uint64_t search_n_damaged(const struct search *s);

#endif
