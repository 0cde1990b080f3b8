/* SPDX-License-Identifier: MIT */
/*
 * cursor_test: a property test of the store's read path. Records of six
 * sources (3 hosts x 2 container ids, equal times across sources on
 * purpose) arrive in adversarial orders: random interleavings, runs of
 * each source in turn (grouped by source at seal), one host's
 * backlog of old records delivered after the others' newer ones, records
 * of several MiB between small ones; with commits, sealing, restarts (WAL
 * replay) and retention between them and tiny blocks and segments. For
 * random filters (time range, host, container glob, container id, stream,
 * tokens with and without is_tokens_required, an after-key, a receive
 * point: records are stamped in arrival order) in both directions, the cursor's output must equal a brute-force model: every
 * stored record, filtered, sorted by store_key. One dataset runs with a
 * tiny cursor_mem_max so eviction and re-reading are exercised (and
 * checked to have happened). With a record test (match_fn), half the
 * queries also run under a drawn cost cap, with and without
 * is_matches_only: both must stop alike (check_cap). Deterministic seeds;
 * a failure prints them. The data, the store and the model:
 * tests/support/cursorfx.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "tests/support/cursorfx.h"

static unsigned long long n_returned;     /* records, for the verbose line */
static unsigned long long n_cursor_yields; /* store_cursor_next gave 2 */
static unsigned long long n_caps, n_caps_hit; /* check_cap scans, and
                                                 those the cap stopped */

/* Runs q and compares with the model. Exact unless tokens are given
 * without is_tokens_required (then the store may add records of blocks
 * the index let through: the output must lie between the two models). */
static void
check_query(struct fx *f, const struct query *q)
{
    int is_exact = q->fl.n_tokens == 0 || q->fl.is_tokens_required;
    struct store_cursor *c = store_cursor_new(f->s, &q->fl, q->newest_first);
    struct logrec r;
    size_t j = 0, got = 0;
    uint64_t n_dropped = 0, n_yields = 0;
    int rc;

    while ((rc = store_cursor_next(c, &r)) == 1 || rc == 2) {
        uint64_t d = store_cursor_take_dropped(c);
        n_dropped += d;
        if (rc == 2) {          /* only after dropping enough, unseen */
            if (!q->fl.is_matches_only ||
                d < STORE_CURSOR_YIELD_RECORDS) {
                print_query(f, q);
                fail_msg("returned 2 after dropping %llu records",
                         (unsigned long long)d);
            }
            n_yields++;
            continue;
        }
        got++;
        n_returned++;
        /* a record test gives its answer with every record returned */
        if (q->word && store_cursor_match(c) !=
                       holds_word(r.msg, r.msg_len, q->word)) {
            print_query(f, q);
            fail_msg("record %zu: match %d", got, store_cursor_match(c));
        }
        /* r must be the next model record the store may return; only
         * records it may leave out can be passed over. */
        for (;; j++) {
            const struct mrec *m = j < f->n_alive ? model_at(f, q, j) : NULL;
            if (m && model_ok(q, m, is_exact) && same_rec(m, &r))
                break;
            if (!m || model_ok(q, m, 1)) {
                print_query(f, q);
                fail_msg("record %zu: t=%lld %s/%s off=%llu %s t=%lld "
                         "%s/%s off=%llu", got, (long long)r.time_ns, r.host,
                         r.container_id, (unsigned long long)r.offset,
                         m ? "instead of" : "is extra, model ends",
                         m ? (long long)m->t : 0, m ? src_host(m->src) : "",
                         m ? src_cid(m->src) : "",
                         m ? (unsigned long long)m->off : 0);
            }
        }
        j++;
    }
    if (rc < 0) {
        print_query(f, q);
        fail_msg("cursor reported a damaged block");
    }
    if (!q->fl.is_matches_only && n_dropped != 0)
        fail_msg("records dropped without is_matches_only");
    if (q->fl.n_tokens == 0) {
        /* every record the filter selects is returned, or dropped with
         * its bytes counted (the cost cap's): none is lost, none counted
         * twice */
        uint64_t want = 0;
        for (size_t i = 0; i < f->n_alive; i++)
            if (model_ok(q, f->alive[i], 0))
                want += f->alive[i]->len;
        if (store_cursor_skipped_bytes(c) +
            store_cursor_returned_bytes(c) != want) {
            print_query(f, q);
            fail_msg("skipped %llu + returned %llu bytes, want %llu",
                     (unsigned long long)store_cursor_skipped_bytes(c),
                     (unsigned long long)store_cursor_returned_bytes(c),
                     (unsigned long long)want);
        }
    }
    n_cursor_yields += n_yields;
    store_cursor_free(c);
    for (; j < f->n_alive; j++) {
        if (model_ok(q, model_at(f, q, j), 1)) {
            print_query(f, q);
            fail_msg("record missing after %zu returned", got);
        }
    }
}

/* ------------------------------------------------------------ cost cap */

/* What a scan of q under a cost cap gives, read as search_scan.c reads it
 * (no other cost: the cap counts the bytes returned and the cursor's
 * skipped ones; near the cap store_cursor_exact, then fail): the records
 * match_fn accepts (a fingerprint each, in order), whether the cap
 * stopped it, and the bytes counted at its end. */
struct capped {
    uint64_t *fp;
    size_t    n;
    int       is_capped;
    uint64_t  cost;
};

static uint64_t
rec_fp(const struct logrec *r)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)r->time_ns;

    for (const char *p = r->host; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (const char *p = r->container_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return (h ^ r->offset) * 1099511628211ull;
}

static void
capped_scan(struct fx *f, const struct query *q, int is_matches_only,
            uint64_t cap, struct capped *out)
{
    struct store_filter fl = q->fl;
    struct logrec r;
    uint64_t charged = 0;

    fl.is_matches_only = is_matches_only;
    fl.max_skipped_bytes = cap;
    struct store_cursor *c = store_cursor_new(f->s, &fl, q->newest_first);
    out->n = 0;
    out->is_capped = 0;
    for (;;) {
        int rc = store_cursor_next(c, &r);
        assert_true(rc >= 0);
        uint64_t len = rc == 1 ? r.msg_len : 0;
        if (charged + store_cursor_skipped_bytes(c) + len > cap)
            store_cursor_exact(c);
        if (charged + store_cursor_skipped_bytes(c) + len > cap) {
            out->is_capped = 1;
            break;
        }
        if (rc == 0)
            break;
        if (rc == 2)
            continue;
        charged += len;
        if (store_cursor_match(c) == 1)
            out->fp[out->n++] = rec_fp(&r);
    }
    out->cost = charged + store_cursor_skipped_bytes(c);
    store_cursor_free(c);
}

/* Under a cost cap a cursor with is_matches_only must stop where one
 * without stops, on a store whose seals are done: the same matches
 * before it, the same bytes counted (store_cursor_set_others). The cap is drawn up to the bytes the filter
 * selects, from a stream of its own (the other draws stay as they were). */
static void
check_cap(struct fx *f, const struct query *q)
{
    uint64_t h = (f->cfg->seed << 20) ^ ((uint64_t)f->round << 10) ^
                 (uint64_t)f->query, total = 0;
    struct capped a, b;
    struct store_tail_info ti;

    h = (h ^ (h >> 31)) * 0x9e3779b97f4a7c15ull;
    if (q->word == NULL || h % 2 != 0)
        return;
    /* Only with no block being sealed or waiting for it: meanwhile a
     * cursor leaves out a waiting block whose token set lq-tailset has
     * published by then and reads one without (STORE.md "Waiting tails'
     * token sets"), so where the cap falls depends on when each cursor
     * was created (cursor_test failed so once in 160 unit runs at load
     * 8-9: 6 matches against 7 at the same cost). Not store_sync: the
     * seals would let retention delete records the round's model holds
     * (search_prop_test can sync, 9ce23bc). */
    store_get_tail_info(f->s, &ti);
    if (ti.n_sealing_records > 0)
        return;
    for (size_t i = 0; i < f->n_alive; i++)
        if (model_ok(q, f->alive[i], 0))
            total += f->alive[i]->len;
    uint64_t cap = 1 + (h >> 8) % (total + total / 8 + 1);
    a.fp = xcalloc(f->n_alive + 1, sizeof(*a.fp));
    b.fp = xcalloc(f->n_alive + 1, sizeof(*b.fp));
    capped_scan(f, q, 1, cap, &a);
    capped_scan(f, q, 0, cap, &b);
    if (a.n != b.n || a.is_capped != b.is_capped || a.cost != b.cost ||
        memcmp(a.fp, b.fp, a.n * sizeof(*a.fp)) != 0) {
        print_query(f, q);
        fail_msg("cap %llu: matches only %zu matches, capped %d, cost %llu;"
                 " without %zu, %d, %llu", (unsigned long long)cap, a.n,
                 a.is_capped, (unsigned long long)a.cost, b.n, b.is_capped,
                 (unsigned long long)b.cost);
    }
    n_caps++;
    n_caps_hit += (unsigned long long)a.is_capped;
    free(a.fp);
    free(b.fp);
}

/* The stored records: all appended ones, or with retention those a full
 * scan returns (checked against the store's own count and the model). */
static void
model_refresh(struct fx *f)
{
    struct store_stats st;

    free(f->alive);
    f->alive = xcalloc(f->n + 1, sizeof(*f->alive));
    f->n_alive = 0;
    store_get_stats(f->s, &st);
    if (!f->cfg->retention_bytes) {
        for (size_t i = 0; i < f->n; i++)
            f->alive[f->n_alive++] = &f->recs[i];
    } else {
        /* oldest first by the model's order; survivors are found by
         * key in the appended set (a lost record shows in the count) */
        const struct mrec **all = xcalloc(f->n + 1, sizeof(*all));
        for (size_t i = 0; i < f->n; i++)
            all[i] = &f->recs[i];
        qsort(all, f->n, sizeof(*all), mrec_cmp);
        struct store_filter fl = { .since_ns = INT64_MIN,
                                   .until_ns = INT64_MAX, .stream = -1 };
        struct store_cursor *c = store_cursor_new(f->s, &fl, 0);
        struct logrec r;
        size_t j = 0;
        while (store_cursor_next(c, &r) == 1) {
            while (j < f->n && !same_rec(all[j], &r))
                j++;
            if (j == f->n)
                fail_msg("seed %llu: a stored record is not in the model "
                         "or out of order", (unsigned long long)f->cfg->seed);
            f->alive[f->n_alive++] = all[j++];
        }
        store_cursor_free(c);
        free(all);
    }
    assert_int_equal(f->n_alive, st.n_records);
    qsort(f->alive, f->n_alive, sizeof(*f->alive), mrec_cmp);
}

static void
check_round(struct fx *f)
{
    struct query q;

    model_refresh(f);
    f->round++;
    for (f->query = 0; f->query < f->cfg->n_queries; f->query++) {
        gen_query(f, &q);
        check_query(f, &q);
        check_cap(f, &q);
        q.newest_first = !q.newest_first;   /* both directions */
        check_query(f, &q);
    }
}

/* ------------------------------------------------------------ driver */

static void
run_dataset(const struct cfg *cfg)
{
    struct fx f;

    memset(&f, 0, sizeof(f));
    f.cfg = cfg;
    rng = cfg->seed;
    snprintf(f.dir, sizeof(f.dir), "/tmp/cursor_test.XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    f.opt.block_size = cfg->block_size;
    f.opt.segment_size = cfg->segment_size;
    f.opt.cursor_mem_max = cfg->mem_max;
    f.opt.retention_bytes = cfg->retention_bytes;
    f.opt.compress_codec = (int)rn(2);
    /* zstd: codec 5 (the old format), or codec 6 in frames of ~100 bytes
     * or 64 KiB (one a block here) */
    f.opt.frame_size = rn(3) == 0 ? STORE_NO_FRAMES : rn(2) ? 100 : 0;
    f.ix_mix = (int)rn(3);
    gen_dataset(&f);
    size_t n_all = f.n;
    fx_open(&f);
    f.n = 0;
    for (size_t i = 0; i < n_all; i++) {
        fx_append(&f, &f.recs[i]);
        f.n++;
        if (rn(6) == 0)
            assert_int_equal(store_commit(f.s), 0);
        if (rn(40) == 0)
            assert_int_equal(store_sync(f.s), 0);
        if (rn(150) == 0)
            fx_open(&f);                /* WAL replay */
        if (rn(200) == 0) {
            assert_int_equal(store_commit(f.s), 0);   /* seal in flight */
            check_round(&f);
        }
    }
    assert_int_equal(store_commit(f.s), 0);
    check_round(&f);
    assert_int_equal(store_sync(f.s), 0);
    fx_open(&f);
    check_round(&f);

    struct store_stats st;
    store_get_stats(f.s, &st);
    if (cfg->mem_max > 0 && cfg->mem_max < 4096)
        assert_true(st.n_cursor_rereads > 0);
    if (cfg->retention_bytes)
        assert_true(f.n_alive < f.n);   /* retention did delete */
    if (getenv("CURSOR_TEST_VERBOSE"))
        printf("seed %llu: %zu records, %zu stored, %llu blocks, %llu "
               "segments, %llu re-reads, %llu rets, %llu/%llu capped\n",
               (unsigned long long)cfg->seed, f.n, f.n_alive,
               (unsigned long long)st.n_blocks,
               (unsigned long long)st.n_segments,
               (unsigned long long)st.n_cursor_rereads, n_returned,
               n_caps_hit, n_caps);
    store_close(f.s);
    char *cmd = xasprintf("rm -rf '%s'", f.dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    for (size_t i = 0; i < n_all; i++)
        free(f.recs[i].msg);
    free(f.recs);
    free(f.alive);
}

static void
test_cursor_order_interleaved(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct cfg c = { .seed = seed * 7919, .n_recs = 600, .mode = 0,
                         .block_size = seed % 2 ? 256 : 1024,
                         .segment_size = 4096, .n_queries = 30 };
        run_dataset(&c);
    }
}

/* The sources in turn, runs of up to 40 records each: the blocks hold
 * several runs of each source, which the seal groups by source (STORE.md
 * "Order of records in a block"), small frames cut after the grouping. */
static void
test_cursor_order_round_robin(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct cfg c = { .seed = seed * 6700417, .n_recs = 600, .mode = 3,
                         .block_size = seed % 2 ? 1024 : 4096,
                         .segment_size = seed < 3 ? 4096 : 32768,
                         .n_queries = 30 };
        run_dataset(&c);
    }
}

static void
test_cursor_order_late_backlog(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct cfg c = { .seed = seed * 104729, .n_recs = 600,
                         .mode = seed % 2 ? 1 : 2,
                         .block_size = seed < 3 ? 256 : 1024,
                         .segment_size = seed < 3 ? 2048 : 32768,
                         .n_queries = 30 };
        run_dataset(&c);
    }
}

static void
test_cursor_order_big_records(void **state)
{
    (void)state;
    struct cfg c = { .seed = 31337, .n_recs = 300, .mode = 1,
                     .block_size = 2048, .segment_size = 8192,
                     .n_big = 3, .n_queries = 8 };
    run_dataset(&c);
}

static void
test_cursor_order_retention(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        struct cfg c = { .seed = seed * 65537, .n_recs = 600, .mode = 2,
                         .block_size = 512, .segment_size = 2048,
                         .retention_bytes = 8192, .n_queries = 20 };
        run_dataset(&c);
    }
}

/* A tiny cap: every open block past the first is evicted and re-read. */
static void
test_cursor_order_evicting(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        struct cfg c = { .seed = seed * 2654435761u, .n_recs = 500,
                         .mode = (int)seed, .block_size = 512,
                         .segment_size = 4096, .mem_max = 1,
                         .n_queries = 20 };
        run_dataset(&c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_order_interleaved),
        cmocka_unit_test(test_cursor_order_round_robin),
        cmocka_unit_test(test_cursor_order_late_backlog),
        cmocka_unit_test(test_cursor_order_big_records),
        cmocka_unit_test(test_cursor_order_retention),
        cmocka_unit_test(test_cursor_order_evicting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
