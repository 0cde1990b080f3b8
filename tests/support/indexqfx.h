/* SPDX-License-Identifier: MIT */
/*
 * indexqfx: the fixture of the tests that check what the store's index
 * narrows (collector/search/search_fields_test.c, search_bword_test.c):
 * a store of small blocks and segments (512 B, 4 KiB) in a fresh test
 * directory (testdir.h: removed even when an assertion fails), the
 * test's messages (NUL-terminated, in rows of stride bytes from msgs) as
 * the records of two containers, record i at time T0 + i and offset
 * (i + 1) * 100: the even ones of c1, then the odd ones of c2 as a
 * backlog delivered late, so that blocks of the two overlap in time and
 * the cursor merges them (issue "Right answers"); and a search
 * through search_new/search_step whose answer must be exactly the
 * records query_match accepts, in order; it returns what the search
 * cost, so that a test can tell narrowed from read whole. Test-only,
 * header-only.
 */
#ifndef TESTS_SUPPORT_INDEXQFX_H
#define TESTS_SUPPORT_INDEXQFX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/query.h"
#include "collector/search/search.h"
#include "collector/store/store.h"
#include "common/xmalloc.h"
#include "tests/support/testdir.h"

#define IQ_T0    1700000000000000000LL
#define IQ_MAX   4096                   /* records a test may have */

static inline struct store *
iq_open(const char *dir)
{
    struct store_options opt;
    char *err = NULL;

    memset(&opt, 0, sizeof(opt));
    opt.block_size = 512;
    opt.segment_size = 4096;
    struct store *s = store_open(dir, &opt, &err);
    if (s == NULL)
        fail_msg("store_open: %s", err);
    return s;
}

#define IQ_MSG(msgs, stride, i) ((msgs) + (size_t)(i) * (stride))

/* Appends messages from..to: the even ones as c1's, then the odd ones as
 * c2's, arriving after them with earlier times; a commit every 50. */
static inline void
iq_fill(struct store *s, const char *msgs, size_t stride, int from, int to)
{
    int n = 0;

    for (int odd = 0; odd < 2; odd++)
        for (int i = from; i < to; i++) {
            if ((i & 1) != odd)
                continue;
            const char *m = IQ_MSG(msgs, stride, i);
            struct logrec lr = {
                .time_ns = IQ_T0 + i, .host = odd ? "h2" : "h1",
                .container_id = odd ? "c2" : "c1",
                .container = odd ? "api" : "app", .image = "img",
                .stream = 0, .offset = (uint64_t)(i + 1) * 100, .msg = m,
                .msg_len = strlen(m),
            };
            assert_int_equal(store_append(s, &lr), 1);
            if (++n % 50 == 0)
                assert_int_equal(store_commit(s), 0);
        }
    assert_int_equal(store_commit(s), 0);
}

struct iq_hits {
    uint64_t offs[IQ_MAX];
    size_t   n;
};

static inline int
iq_emit(const struct logrec *r, int is_context, int is_group_start,
        void *arg)
{
    struct iq_hits *h = arg;

    (void)is_context;
    (void)is_group_start;
    assert_true(h->n < IQ_MAX);
    h->offs[h->n++] = r->offset;
    return 0;
}

/* What a search cost: the message bytes it scanned and the segment
 * blocks it read (store_stats.n_cursor_reads). */
struct iq_cost {
    uint64_t scanned;
    uint64_t reads;
};

/* Runs q over st (every match, no limit) and checks its answer against
 * query_match over messages 0..n (the records stored); name is the
 * query in the failure messages. Frees q. */
static inline struct iq_cost
iq_check(struct store *st, struct query *q, const char *msgs, size_t stride,
         int n, const char *name)
{
    char *err = NULL;
    struct search_spec spec;
    struct iq_hits *got = xcalloc(1, sizeof(*got));
    struct store_stats a, b;
    struct iq_cost cost;

    memset(&spec, 0, sizeof(spec));
    spec.filter.since_ns = INT64_MIN;
    spec.filter.until_ns = INT64_MAX;
    spec.filter.stream = -1;
    spec.q = q;
    spec.limit = UINT64_MAX;
    spec.max_scan_bytes = SEARCH_DEFAULT_MAX_SCAN;
    store_get_stats(st, &a);
    struct search *s = search_new(st, &spec, &err);
    assert_non_null(s);
    int rc;
    while ((rc = search_step(s, 64, iq_emit, got)) == SEARCH_MORE)
        ;
    assert_int_equal(rc, SEARCH_DONE);
    cost.scanned = search_scanned_bytes(s);
    search_free(s);
    store_get_stats(st, &b);
    cost.reads = b.n_cursor_reads - a.n_cursor_reads;
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        const char *m = IQ_MSG(msgs, stride, i);
        if (!query_match(q, m, strlen(m)))
            continue;
        if (k >= got->n || got->offs[k] != (uint64_t)(i + 1) * 100)
            fail_msg("%s: record %d missing or out of place", name, i);
        k++;
    }
    if (k != got->n)
        fail_msg("%s: %zu records, want %zu", name, got->n, k);
    if (k == 0)
        fail_msg("%s: no record matches (the test is vacuous)", name);
    query_free(q);
    free(got);
    return cost;
}

static inline char *
iq_make_dir(const char *prefix)
{
    char *d = testdir_make(prefix);

    assert_non_null(d);
    return d;
}

static inline void
iq_rm_dir(char *d)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
    free(d);
}

#endif
