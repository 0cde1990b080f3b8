/* SPDX-License-Identifier: MIT */
/*
 * store_test: unit tests of the store through its public API: round trip,
 * exactly-once by offset, cursor order and filters (store_key, container
 * id, after-key), the ends of time, the cursor's block cache and reads,
 * restart, and printed (never asserted) throughput figures. Crash
 * simulation and damaged files: store_crash_test.c; retention, limits
 * and write failures: store_retention_test.c; the fixture:
 * tests/support/storefx.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "collector/store/store_internal.h"
#include "common/compress.h"
#include "common/xmalloc.h"
#include "tests/support/storefx.h"

static void
test_store_round_trip(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    fx_open(f);
    assert_int_equal(put_n(f, 0, 1, 500), 500);
    assert_int_equal(put_n(f, 1, 1, 500), 500);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(scan_all(f->s), 1000);  /* also while being sealed */
    assert_int_equal(store_sync(f->s), 0);
    assert_int_equal(scan_all(f->s), 1000);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_records, 1000);
    assert_true(st.n_blocks >= 2);          /* 4 KiB blocks */
    assert_int_equal(st.n_corrupt_blocks, 0);
    assert_int_equal(st.first_ns, T0 + 1000);
    assert_int_equal(st.last_ns, T0 + 500 * 1000 + 1);
}

static void
test_store_dedup_by_offset(void **state)
{
    struct fx *f = *state;

    fx_open(f);
    assert_int_equal(put_n(f, 0, 1, 10), 10);
    /* pending records count for the high water mark */
    assert_int_equal(put_n(f, 0, 5, 10), 4);  /* 11..14 are new */
    assert_int_equal(store_source_offset(f->s, "host0", "cid0"), 14);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(put_n(f, 0, 1, 14), 0);
    assert_int_equal(put_n(f, 1, 3, 2), 2);   /* other source unaffected */
    assert_int_equal(store_source_offset(f->s, "host1", "cid1"), 4);
    assert_int_equal(store_source_offset(f->s, "nohost", "cid0"), 0);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(scan_all(f->s), 16);
}

static void
check_order(struct store *s, int newest)
{
    struct store_filter fl = all_filter();
    struct store_cursor *c = store_cursor_new(s, &fl, newest);
    struct logrec r;
    int64_t prev = newest ? INT64_MAX : INT64_MIN;
    int n = 0;

    while (store_cursor_next(c, &r) == 1) {
        if (newest)
            assert_true(r.time_ns <= prev);
        else
            assert_true(r.time_ns >= prev);
        prev = r.time_ns;
        n++;
    }
    store_cursor_free(c);
    assert_int_equal(n, 2000);
}

static void
test_store_order(void **state)
{
    struct fx *f = *state;

    fx_open(f);
    /* Commits of 50 records (~1.7 KiB) sealed whole into 4 KiB blocks:
     * blocks with disjoint times (sealed and tail), records shuffled within
     * each: the documented order is then exact by time. */
    for (int blk = 0; blk < 40; blk++) {
        for (int i = 0; i < 50; i++) {
            int k = (i * 37) % 50;      /* permutation of 0..49 */
            uint64_t off = (uint64_t)(blk * 50 + k + 1);
            char msg[64];
            snprintf(msg, sizeof(msg), "line 0/%llu of the test",
                     (unsigned long long)off);
            /* offsets must grow: use a source per block position */
            struct logrec r = { .time_ns = T0 + (int64_t)off * 1000,
                                .host = "h", .container = "c", .image = "i",
                                .msg = msg, .msg_len = strlen(msg) };
            char cid[32];
            snprintf(cid, sizeof(cid), "cid0-%d-%d", blk, i);
            r.container_id = cid;
            r.offset = off;
            assert_int_equal(store_append(f->s, &r), 1);
        }
        assert_int_equal(store_commit(f->s), 0);
    }
    check_order(f->s, 1);
    check_order(f->s, 0);
    fx_open(f);
    check_order(f->s, 1);
    check_order(f->s, 0);
}

static void
test_store_filters(void **state)
{
    struct fx *f = *state;
    struct store_filter fl;

    fx_open(f);
    put_n(f, 0, 1, 300);
    put_n(f, 1, 1, 300);
    put_n(f, 2, 1, 300);
    assert_int_equal(store_commit(f->s), 0);
    put_n(f, 3, 1, 30);                  /* stays in the tail */
    assert_int_equal(store_commit(f->s), 0);

    fl = all_filter();
    fl.host = "host0";                   /* sources 0 and 2 */
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 600);
    fl = all_filter();
    fl.container = "web-[13]";
    assert_int_equal(scan_count(f->s, &fl, 0, NULL), 330);
    fl.container = "nomatch*";
    assert_int_equal(scan_count(f->s, &fl, 0, NULL), 0);
    fl = all_filter();
    fl.image = "redis:7";
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 300);
    fl = all_filter();
    fl.stream = 1;                       /* odd offsets */
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 150 * 3 + 15);
    fl = all_filter();
    fl.since_ns = T0 + 100 * 1000;       /* offsets 100..199 (+src) */
    fl.until_ns = T0 + 200 * 1000;
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 100 * 3);
    fl.host = "host1";
    fl.stream = 0;
    assert_int_equal(scan_count(f->s, &fl, 0, NULL), 50);
}

static void
test_store_key_cmp(void **state)
{
    struct store_key a = { 5, "h1", "c1", 7 }, b = a;
    struct logrec r = { .time_ns = 9, .host = "hx", .container_id = "cx",
                        .offset = 3 };

    (void)state;
    assert_int_equal(store_key_cmp(&a, &b), 0);
    b.offset = 8;                       /* offset last */
    assert_int_equal(store_key_cmp(&a, &b), -1);
    b.container_id = "c0";              /* container_id before offset */
    assert_int_equal(store_key_cmp(&a, &b), 1);
    b.host = "h2";                      /* host before container_id */
    assert_int_equal(store_key_cmp(&a, &b), -1);
    b.host = "h";                       /* bytewise: a prefix sorts first */
    assert_int_equal(store_key_cmp(&a, &b), 1);
    b.time_ns = 6;                      /* time first */
    assert_int_equal(store_key_cmp(&a, &b), -1);
    assert_int_equal(store_key_cmp(&b, &a), 1);
    b.time_ns = INT64_MIN;              /* no overflow at the extremes */
    a.time_ns = INT64_MAX;
    assert_int_equal(store_key_cmp(&a, &b), 1);
    store_key_of(&r, &a);
    assert_int_equal(a.time_ns, 9);
    assert_string_equal(a.host, "hx");
    assert_string_equal(a.container_id, "cx");
    assert_int_equal(a.offset, 3);
}

static void
test_store_filter_container_id(void **state)
{
    struct fx *f = *state;
    struct store_filter fl = all_filter();

    fx_open(f);
    put_n(f, 0, 1, 300);
    put_n(f, 1, 1, 300);
    put_n(f, 2, 1, 300);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    put_n(f, 3, 1, 30);                 /* stays in the tail */
    assert_int_equal(store_commit(f->s), 0);
    fl.container_id = "cid1";
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 300);
    fl.container_id = "cid3";
    assert_int_equal(scan_count(f->s, &fl, 0, NULL), 30);
    fl.container_id = "cid";            /* exact, not a prefix */
    assert_int_equal(scan_count(f->s, &fl, 0, NULL), 0);
    fl.container_id = "cid2";
    fl.host = "host1";                  /* cid2 is on host0 */
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 0);
    fl.host = "host0";
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 300);
}

/* Records a scan from after (in direction newest) must give: every
 * stored record past it, each once. Checks with a brute-force count. */
static void
check_after(struct store *s, const struct store_key *after, int newest,
            const struct store_key *all, int n_all)
{
    struct store_filter fl = all_filter();
    struct store_cursor *c;
    struct store_key k;
    struct logrec r;
    int want = 0, got = 0;

    for (int i = 0; i < n_all; i++) {
        int cmp = store_key_cmp(&all[i], after);
        want += newest ? cmp < 0 : cmp > 0;
    }
    fl.after = after;
    c = store_cursor_new(s, &fl, newest);
    while (store_cursor_next(c, &r) == 1) {
        store_key_of(&r, &k);
        int cmp = store_key_cmp(&k, after);
        assert_true(newest ? cmp < 0 : cmp > 0);
        got++;
    }
    store_cursor_free(c);
    assert_int_equal(got, want);
}

static void
test_store_filter_after(void **state)
{
    struct fx *f = *state;
    struct store_key all[4 * 200];
    char hosts[4][16], cids[4][16];
    int n = 0;

    fx_open(f);
    /* Four sources on two hosts; every 4th time is shared by all (ties
     * broken by host, container_id). Some sealed, some in the tail. */
    for (int src = 0; src < 4; src++) {
        snprintf(hosts[src], sizeof(hosts[src]), "host%d", src % 2);
        snprintf(cids[src], sizeof(cids[src]), "cid%d", src);
    }
    for (int i = 1; i <= 200; i++) {
        for (int src = 0; src < 4; src++) {
            int64_t t = T0 + (i % 4 == 0 ? i : i * 10 + src) * 1000LL;
            struct logrec r = { .time_ns = t, .host = hosts[src],
                                .container_id = cids[src], .container = "c",
                                .image = "i", .offset = (uint64_t)i * 100,
                                .msg = "m", .msg_len = 1 };
            assert_int_equal(store_append(f->s, &r), 1);
            store_key_of(&r, &all[n++]);
        }
        if (i == 150)
            assert_int_equal(store_sync(f->s), 0);
        if (i % 10 == 0)
            assert_int_equal(store_commit(f->s), 0);
    }
    for (int i = 0; i < n; i += 37) {
        check_after(f->s, &all[i], 1, all, n);
        check_after(f->s, &all[i], 0, all, n);
        struct store_key k = all[i];
        k.offset += 1;                  /* a key between stored ones */
        check_after(f->s, &k, 1, all, n);
        check_after(f->s, &k, 0, all, n);
        k.host = "host";                /* sorts before host0 */
        check_after(f->s, &k, 1, all, n);
        check_after(f->s, &k, 0, all, n);
    }
    for (int i = 0; i < n; i++) {     /* every time, as a block's min/max */
        struct store_key k = all[i];
        k.host = "~";
        check_after(f->s, &k, 1, all, n);
        k.host = "";
        check_after(f->s, &k, 0, all, n);
    }
    struct store_key lo = { INT64_MIN, "", "", 0 };
    struct store_key hi = { INT64_MAX, "~", "~", UINT64_MAX };
    check_after(f->s, &lo, 1, all, n);  /* nothing before the start */
    check_after(f->s, &lo, 0, all, n);  /* everything */
    check_after(f->s, &hi, 1, all, n);
    check_after(f->s, &hi, 0, all, n);
}

/* Segment blocks a scan of at most limit records reads (from disk or
 * from the store's cache of the last few). */
static uint64_t
reads_of(struct store *s, int newest, int limit)
{
    struct store_filter fl = all_filter();
    struct store_cursor *c = store_cursor_new(s, &fl, newest);
    struct store_stats a, b;
    struct logrec r;

    store_get_stats(s, &a);
    for (int i = 0; i < limit && store_cursor_next(c, &r) == 1; i++)
        ;
    store_cursor_free(c);
    store_get_stats(s, &b);
    return b.n_cursor_reads + b.n_cursor_cache_hits -
           a.n_cursor_reads - a.n_cursor_cache_hits;
}

/* Records stamped at the ends of time are stored and found by an open
 * filter (until INT64_MAX is open, not "before INT64_MAX"), sealed or not,
 * in both directions. */
static void
test_store_time_extremes_found(void **state)
{
    struct fx *f = *state;
    struct store_filter fl = all_filter();
    static const int64_t ts[] = { INT64_MIN, INT64_MAX, T0 };
    struct store_stats st;

    f->opt.block_size = 4096;
    fx_open(f);
    for (int i = 0; i < 3; i++) {
        struct logrec r = { .time_ns = ts[i], .host = "host0",
                            .container_id = "cidE", .container = "ends",
                            .image = "x", .offset = (uint64_t)i + 1,
                            .msg = "edge", .msg_len = 4 };
        assert_int_equal(store_append(f->s, &r), 1);
    }
    assert_int_equal(store_commit(f->s), 0);
    for (int sealed = 0; sealed < 2; sealed++) {
        for (int newest = 0; newest < 2; newest++) {
            struct store_cursor *c = store_cursor_new(f->s, &fl, newest);
            struct logrec r;
            int64_t got[4];
            int n = 0;
            while (n < 4 && store_cursor_next(c, &r) == 1)
                got[n++] = r.time_ns;
            store_cursor_free(c);
            assert_int_equal(n, 3);
            assert_true(got[newest ? 2 : 0] == INT64_MIN);
            assert_true(got[newest ? 0 : 2] == INT64_MAX);
        }
        fx_open(f);         /* replayed, then sealed by the next commits */
        put_n(f, 0, 1, 2000);
        assert_int_equal(store_commit(f->s), 0);
        assert_int_equal(store_sync(f->s), 0);
        store_get_stats(f->s, &st);
        assert_true(st.n_blocks > 3);
        fl.container = "ends";
    }
}

/* A block a cursor has just read is taken from the store's cache by the
 * next cursor (context lines), not read from disk again; the answer is
 * the same. */
static void
test_store_cursor_block_cache(void **state)
{
    struct fx *f = *state;
    struct store_filter fl = all_filter();
    struct store_stats a, b;
    struct logrec r;
    int64_t first[2];

    fx_open(f);
    put_n(f, 0, 1, 2000);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    for (int k = 0; k < 2; k++) {
        struct store_cursor *c = store_cursor_new(f->s, &fl, 0);
        store_get_stats(f->s, &a);
        assert_int_equal(store_cursor_next(c, &r), 1);
        first[k] = r.time_ns;
        store_get_stats(f->s, &b);
        store_cursor_free(c);
        assert_int_equal(b.n_cursor_reads - a.n_cursor_reads, k == 0);
        assert_int_equal(b.n_cursor_cache_hits - a.n_cursor_cache_hits,
                         k == 1);
    }
    assert_true(first[0] == first[1]);
}

/* A newest-N (oldest-N) scan reads only the blocks whose time range
 * reaches its N-th answer, also when a late backlog overlaps them. */
static void
test_store_cursor_reads_few_blocks(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    fx_open(f);
    put_n(f, 0, 1, 2000);               /* ~15 blocks in time order */
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    assert_true(st.n_blocks > 10);
    assert_int_equal(reads_of(f->s, 1, 10), 1);
    assert_int_equal(reads_of(f->s, 0, 10), 1);
    assert_int_equal(reads_of(f->s, 1, 1 << 30), st.n_blocks);
    /* source 1's backlog over the same time, sealed after: the newest 10
     * need the last block of each, not all */
    put_n(f, 1, 1, 2000);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    assert_int_equal(reads_of(f->s, 1, 10), 2);
    assert_int_equal(reads_of(f->s, 0, 10), 2);
}

static void
test_store_cursor_snapshot(void **state)
{
    struct fx *f = *state;
    struct store_filter fl = all_filter();

    fx_open(f);
    put_n(f, 0, 1, 10);
    assert_int_equal(scan_all(f->s), 0);     /* not committed yet */
    assert_int_equal(store_commit(f->s), 0);
    struct store_cursor *c = store_cursor_new(f->s, &fl, 0);
    put_n(f, 0, 11, 2000);                   /* seals blocks meanwhile */
    assert_int_equal(store_commit(f->s), 0);
    struct logrec r;
    int n = 0;
    while (store_cursor_next(c, &r) == 1)
        n++;
    store_cursor_free(c);
    assert_int_equal(n, 10);
    assert_int_equal(scan_all(f->s), 2010);
}

static void
count_source(const struct store_source_info *si, void *arg)
{
    int *n = arg;

    (*n)++;
    if (strcmp(si->container_id, "cid2") == 0) {
        assert_string_equal(si->host, "host0");
        assert_string_equal(si->container, "web-2");
        assert_string_equal(si->image, "redis:7");
        assert_int_equal(si->n_lines, 6);
        assert_int_equal(si->first_ns, T0 + 1000 + 2);
        assert_int_equal(si->last_ns, T0 + 6000 + 2);
    }
}

static void
test_store_restart(void **state)
{
    struct fx *f = *state;
    struct store_stats a, b;
    int n_src = 0;

    f->opt.segment_size = 16 << 10;
    fx_open(f);
    for (int i = 0; i < 10; i++) {        /* several segments */
        put_n(f, 0, (uint64_t)i * 200 + 1, 200);
        assert_int_equal(store_commit(f->s), 0);
    }
    put_n(f, 1, 1, 7);
    assert_int_equal(store_commit(f->s), 0);
    put_n(f, 2, 1, 5);                    /* committed, in the WAL only */
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &a);
    assert_true(a.n_segments >= 2);
    fx_open(f);
    store_get_stats(f->s, &b);
    assert_int_equal(b.n_records, a.n_records);
    assert_int_equal(b.n_segments, a.n_segments);
    assert_int_equal(scan_all(f->s), 2012);
    assert_int_equal(store_source_offset(f->s, "host0", "cid0"), 2000);
    assert_int_equal(store_source_offset(f->s, "host0", "cid2"), 5);
    assert_int_equal(put_n(f, 0, 1, 2000), 0);
    assert_int_equal(put_n(f, 2, 1, 6), 1);
    /* close commits what is pending */
    fx_open(f);
    assert_int_equal(scan_all(f->s), 2013);
    store_foreach_source(f->s, count_source, &n_src);
    assert_int_equal(n_src, 3);
}


/* ------------------------------------------------------------------ */
/* Figures (printed, never asserted)                                   */

static double
secs_of(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
secs(void)
{
    return secs_of(CLOCK_MONOTONIC);
}

static void
test_store_throughput(void **state)
{
    struct fx *f = *state;
    uint64_t raw = 0;
    int n = 100000;
    struct logrec r = { .host = "node-1", .container = "api",
                        .image = "registry/api:1.4.2" };
    char cid[8][80];

    f->opt.block_size = 0;              /* defaults */
    f->opt.segment_size = 0;
    fx_open(f);
    for (int k = 0; k < 8; k++)
        snprintf(cid[k], sizeof(cid[k]), "%064d", k);
    /* Messages made up front so the figure is the store's alone; one
     * commit per ~200 KiB, about one shipper batch. */
    char (*msgs)[200] = xcalloc(1000, sizeof(*msgs));
    int lens[1000];
    for (int i = 0; i < 1000; i++)
        lens[i] = snprintf(msgs[i], sizeof(msgs[i]),
                           "2024-05-01T12:00:%02d.%06dZ INFO request id=%d "
                           "method=GET path=/api/v1/items/%d status=200 "
                           "dur_ms=%d user=u%d", i % 60, i * 7919 % 1000000,
                           i * 7, i % 997, i % 250, i % 31);
    double c0 = secs_of(CLOCK_PROCESS_CPUTIME_ID);
    double t0 = secs();
    for (int i = 0; i < n; i++) {
        r.time_ns = T0 + i;
        r.container_id = cid[i % 8];
        r.offset = (uint64_t)i + 1;
        r.msg = msgs[(i * 13) % 1000];
        r.msg_len = (size_t)lens[(i * 13) % 1000];
        raw += r.msg_len;
        assert_int_equal(store_append(f->s, &r), 1);
        if (i % 2000 == 1999)
            assert_int_equal(store_commit(f->s), 0);
    }
    assert_int_equal(store_commit(f->s), 0);
    double t1 = secs(), c1 = secs_of(CLOCK_PROCESS_CPUTIME_ID);
    struct store_filter fl = all_filter();
    struct store_cursor *c = store_cursor_new(f->s, &fl, 1);
    int got = 0;
    while (store_cursor_next(c, &r) == 1)
        got++;
    store_cursor_free(c);
    double t2 = secs(), c2 = secs_of(CLOCK_PROCESS_CPUTIME_ID);
    assert_int_equal(got, n);
    struct store_stats st;
    store_get_stats(f->s, &st);
    printf("store figures: %d records, %.1f MiB of messages, ratio %.1fx: "
           "append+commit %.1f MiB/s (CPU only %.1f), scan %.1f MiB/s "
           "(CPU only %.1f)\n", n,
           (double)raw / 1048576, (double)st.raw_bytes /
           (double)(st.stored_bytes ? st.stored_bytes : 1),
           (double)raw / 1048576 / (t1 - t0),
           (double)raw / 1048576 / (c1 - c0),
           (double)raw / 1048576 / (t2 - t1),
           (double)raw / 1048576 / (c2 - c1));
    free(msgs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_store_round_trip),
        T(test_store_dedup_by_offset),
        T(test_store_order),
        T(test_store_filters),
        T(test_store_key_cmp),
        T(test_store_filter_container_id),
        T(test_store_filter_after),
        T(test_store_time_extremes_found),
        T(test_store_cursor_block_cache),
        T(test_store_cursor_reads_few_blocks),
        T(test_store_cursor_snapshot),
        T(test_store_restart),
        T(test_store_throughput),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
