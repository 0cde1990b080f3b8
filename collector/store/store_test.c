/* SPDX-License-Identifier: MIT */
/*
 * store_test: unit tests of the store through its public API: round trip,
 * exactly-once by offset, cursor order and filters (store_key, container
 * id, after-key), restart, crash simulation (torn WAL and segment tails at
 * every byte), a damaged middle block (also one damaged between a
 * cursor's eviction and re-read), retention by age and size, a full disk (write hook), and printed
 * (never asserted) throughput figures.
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

#define T0 1700000000000000000LL

struct fx {
    char            dir[64];
    struct store   *s;
    struct store_options opt;
    int64_t         now;
    int             fail_what;  /* 0 none, 1 wal, 2 segment, 3 the next
                                   block built (once) */
};

static int64_t
fake_clock(void *arg)
{
    return ((struct fx *)arg)->now;
}

static int
fake_write_hook(const char *what, size_t len, void *arg)
{
    struct fx *f = arg;

    (void)len;
    if ((f->fail_what == 1 && strcmp(what, "wal") == 0) ||
        (f->fail_what == 2 && strcmp(what, "segment") == 0)) {
        errno = ENOSPC;
        return -1;
    }
    if (f->fail_what == 3 && strcmp(what, "block") == 0) {
        f->fail_what = 0;
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/store_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->opt.block_size = 4096;
    f->opt.segment_size = 64 << 10;
    f->opt.clock = fake_clock;
    f->opt.clock_arg = f;
    f->opt.write_hook = fake_write_hook;
    f->opt.write_hook_arg = f;
    f->now = T0;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd;

    store_close(f->s);
    cmd = xasprintf("rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

static void
fx_open(struct fx *f)
{
    char *err = NULL;

    store_close(f->s);
    f->s = store_open(f->dir, &f->opt, &err);
    if (!f->s)
        fail_msg("store_open: %s", err);
}

/* The receive time put() gives a record: several records share one, as
 * the records of one batch do (STORE.md "Block", codecs 4 and 5). */
static int64_t
recv_of(int src, uint64_t off)
{
    return T0 + 3600000000000LL + (int64_t)(off / 7) * 1000000 + src;
}

/* Record i of source src: fields derived from i so checks can recompute. */
static int
put(struct fx *f, int src, uint64_t off, int64_t t, const char *msg)
{
    char host[16], cid[16], name[16];
    struct logrec r = { 0 };

    snprintf(host, sizeof(host), "host%d", src % 2);
    snprintf(cid, sizeof(cid), "cid%d", src);
    snprintf(name, sizeof(name), "web-%d", src);
    r.time_ns = t;
    r.host = host;
    r.container_id = cid;
    r.container = name;
    r.image = src == 2 ? "redis:7" : "nginx:1";
    r.stream = (uint8_t)(off % 2);
    r.offset = off;
    r.msg = msg;
    r.msg_len = strlen(msg);
    r.recv_ns = recv_of(src, off);
    return store_append(f->s, &r);
}

static int
put_n(struct fx *f, int src, uint64_t off0, int n)
{
    char msg[64];
    int added = 0;

    for (int i = 0; i < n; i++) {
        uint64_t off = off0 + (uint64_t)i;
        snprintf(msg, sizeof(msg), "line %d/%llu of the test", src,
                 (unsigned long long)off);
        added += put(f, src, off, T0 + (int64_t)off * 1000 + src, msg);
    }
    return added;
}

static struct store_filter
all_filter(void)
{
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1 };
    return fl;
}

/* Counts records (and -1 reports) of a scan; checks message integrity. */
static int
scan_count(struct store *s, const struct store_filter *fl, int newest,
           int *n_bad)
{
    struct store_cursor *c = store_cursor_new(s, fl, newest);
    struct logrec r;
    int n = 0, rc;
    char want[64];

    if (n_bad)
        *n_bad = 0;
    while ((rc = store_cursor_next(c, &r)) != 0) {
        if (rc < 0) {
            assert_non_null(n_bad);
            (*n_bad)++;
            continue;
        }
        int src = r.container_id[3] - '0';
        snprintf(want, sizeof(want), "line %d/%llu of the test", src,
                 (unsigned long long)r.offset);
        assert_int_equal(r.msg_len, strlen(want));
        assert_memory_equal(r.msg, want, r.msg_len);
        assert_int_equal(r.time_ns, T0 + (int64_t)r.offset * 1000 + src);
        assert_int_equal(r.recv_ns, recv_of(src, r.offset));
        n++;
    }
    store_cursor_free(c);
    return n;
}

static int
scan_all(struct store *s)
{
    struct store_filter fl = all_filter();

    return scan_count(s, &fl, 1, NULL);
}

/* ------------------------------------------------------------------ */

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
/* Crash simulation                                                    */

static uint8_t *
file_read(const char *dir, const char *name, size_t *len)
{
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *p = xmalloc((size_t)st.st_size + 1);
    assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
    close(fd);
    free(path);
    *len = (size_t)st.st_size;
    return p;
}

static void
file_write(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    close(fd);
    free(path);
}

static void
test_store_torn_wal(void **state)
{
    struct fx *f = *state;
    size_t len_a, len_b;

    f->opt.block_size = 1 << 20;          /* everything stays in the WAL */
    fx_open(f);
    put_n(f, 0, 1, 20);
    assert_int_equal(store_commit(f->s), 0);
    store_close(f->s);
    f->s = NULL;
    free(file_read(f->dir, "wal.lqw", &len_a));
    fx_open(f);
    put_n(f, 1, 1, 3);
    assert_int_equal(store_commit(f->s), 0);
    store_close(f->s);
    f->s = NULL;
    uint8_t *wal = file_read(f->dir, "wal.lqw", &len_b);
    assert_true(len_b > len_a);
    for (size_t cut = 0; cut <= len_b; cut++) {
        struct store_stats st;
        file_write(f->dir, "wal.lqw", wal, cut);
        fx_open(f);
        int want = cut >= len_b ? 23 : cut >= len_a ? 20 : 0;
        assert_int_equal(scan_all(f->s), want);
        store_get_stats(f->s, &st);
        assert_int_equal(st.n_torn_cuts, cut == len_a || cut == len_b ||
                                         cut == 0 || cut == 16 ? 0 : 1);
        /* the store keeps working after the cut */
        assert_int_equal(put_n(f, 1, 1, 3), want == 23 ? 0 : 3);
        assert_int_equal(store_commit(f->s), 0);
        fx_open(f);
        assert_int_equal(scan_all(f->s), want == 0 ? 3 : 23);
        store_close(f->s);
        f->s = NULL;
    }
    free(wal);
}

static void
test_store_torn_segment(void **state)
{
    struct fx *f = *state;
    size_t wal_len, wal1_len, seg0_len, seg_len;

    /* First one sealed block, then records in the WAL only. */
    fx_open(f);
    put_n(f, 0, 1, 150);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    struct store_stats st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_blocks, 1);
    store_close(f->s);
    f->s = NULL;
    free(file_read(f->dir, "seg-0000000000000001.lqs", &seg0_len));
    f->opt.block_size = 1 << 20;
    fx_open(f);
    put_n(f, 1, 1, 60);
    assert_int_equal(store_commit(f->s), 0);
    store_close(f->s);
    f->s = NULL;
    /* The WAL files (commits move to a fresh one at each seal). */
    uint8_t *wal = file_read(f->dir, "wal.lqw", &wal_len);
    uint8_t *wal1 = file_read(f->dir, "wal-1.lqw", &wal1_len);
    assert_true(wal_len > 16 || wal1_len > 16);
    /* Seal: the block is appended, then the WAL emptied. */
    f->opt.block_size = 1024;
    fx_open(f);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    uint64_t n_full = st.n_blocks;        /* split into 1 KiB blocks */
    assert_true(n_full >= 3);
    store_close(f->s);
    f->s = NULL;
    uint8_t *seg = file_read(f->dir, "seg-0000000000000001.lqs", &seg_len);
    assert_true(seg_len > seg0_len);
    /* A crash anywhere while the block was written (WAL still full), or
     * after it (records in both): everything once. */
    for (size_t cut = seg0_len; cut <= seg_len; cut++) {
        file_write(f->dir, "seg-0000000000000001.lqs", seg, cut);
        file_write(f->dir, "wal.lqw", wal, wal_len);
        file_write(f->dir, "wal-1.lqw", wal1, wal1_len);
        fx_open(f);
        assert_int_equal(scan_all(f->s), 210);
        store_get_stats(f->s, &st);
        assert_int_equal(st.n_corrupt_blocks, 0);
        assert_true(st.n_blocks >= 1 && st.n_blocks <= n_full);
        if (cut == seg_len)
            assert_int_equal(st.n_blocks, n_full);
        store_close(f->s);
        f->s = NULL;
    }
    free(seg);
    free(wal);
    free(wal1);
}

/* Offsets of the blocks in a segment image (test-side format reader). */
static size_t
find_blocks(const uint8_t *p, size_t len, size_t *offs, size_t max)
{
    size_t n = 0, pos = 16;

    while (pos + 48 <= len && n < max) {
        uint32_t meta = (uint32_t)p[pos + 4] | (uint32_t)p[pos + 5] << 8 |
                        (uint32_t)p[pos + 6] << 16 | (uint32_t)p[pos + 7] << 24;
        uint32_t comp = (uint32_t)p[pos + 12] | (uint32_t)p[pos + 13] << 8 |
                        (uint32_t)p[pos + 14] << 16 |
                        (uint32_t)p[pos + 15] << 24;
        offs[n++] = pos;
        pos += 48 + meta + comp;
    }
    return n;
}

static void
corrupt_middle(void **state, int in_header)
{
    struct fx *f = *state;
    size_t len, offs[64];
    struct store_stats st;
    int bad;

    f->opt.segment_size = 1 << 20;
    fx_open(f);
    put_n(f, 0, 1, 1000);
    assert_int_equal(store_commit(f->s), 0);
    store_get_stats(f->s, &st);
    int total = (int)st.n_records;
    store_close(f->s);
    f->s = NULL;
    uint8_t *seg = file_read(f->dir, "seg-0000000000000001.lqs", &len);
    size_t n = find_blocks(seg, len, offs, 64);
    assert_true(n >= 4);
    size_t victim = offs[2] + (in_header ? 30 : len - len + 48 + 40);
    if (!in_header)
        victim = offs[3] - 10;           /* inside block 2's body */
    seg[victim] ^= 0x5a;
    file_write(f->dir, "seg-0000000000000001.lqs", seg, len);
    free(seg);
    fx_open(f);
    struct store_filter fl = all_filter();
    int got = scan_count(f->s, &fl, 1, &bad);
    assert_int_equal(bad, 1);
    assert_true(got < total && got > total - 200);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_corrupt_blocks, 1);
    /* a second scan reports it again, the count stays */
    got = scan_count(f->s, &fl, 0, &bad);
    assert_int_equal(bad, 1);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_corrupt_blocks, 1);
    /* appending still works and the high water mark survived */
    assert_int_equal(put_n(f, 0, 1, 1001), 1);
    assert_int_equal(store_commit(f->s), 0);
}

/* A block damaged on disk after a cursor read it and evicted it (a tiny
 * cursor_mem_max): re-reading it reports -1 once, the scan goes on and
 * ends. */
static void
test_store_cursor_reread_damaged(void **state)
{
    struct fx *f = *state;
    struct store_filter fl = all_filter();
    struct store_stats st;
    struct logrec r;
    size_t len, offs[64];
    int got = 0, bad = 0, rc;

    f->opt.segment_size = 1 << 20;
    f->opt.cursor_mem_max = 1;
    fx_open(f);
    put_n(f, 0, 1, 300);                 /* blocks of source 0, then */
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    put_n(f, 1, 1, 300);                 /* overlapping ones of source 1 */
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    struct store_cursor *c = store_cursor_new(f->s, &fl, 1);
    for (int i = 0; i < 20; i++)
        assert_int_equal(store_cursor_next(c, &r), 1);
    store_get_stats(f->s, &st);
    assert_true(st.n_cursor_rereads > 0);
    uint8_t *seg = file_read(f->dir, "seg-0000000000000001.lqs", &len);
    size_t n = find_blocks(seg, len, offs, 64);
    assert_true(n >= 4);
    for (size_t i = 0; i < n; i++)      /* every body: last byte */
        seg[(i + 1 < n ? offs[i + 1] : len) - 1] ^= 0x5a;
    file_write(f->dir, "seg-0000000000000001.lqs", seg, len);
    free(seg);
    for (int i = 0; i < 1000 && (rc = store_cursor_next(c, &r)) != 0; i++) {
        if (rc < 0)
            bad++;
        else
            got++;
    }
    assert_int_equal(store_cursor_next(c, &r), 0);
    store_cursor_free(c);
    assert_true(bad >= 1);
    assert_true(got < 600 - 20);
    store_get_stats(f->s, &st);
    assert_true(st.n_corrupt_blocks >= 1);
}

static void
test_store_corrupt_middle_body(void **state)
{
    corrupt_middle(state, 0);
}

static void
test_store_corrupt_middle_header(void **state)
{
    corrupt_middle(state, 1);
}

/* A block of a codec this build does not know, intact by its head CRC (a
 * newer logq wrote it), or a segment header of a newer version: the store
 * is not opened, and the file is left as it was. Before, such a block was
 * taken for damage, and at the end of the last segment cut off as a torn
 * write. */
static void
test_store_newer_format_refused(void **state)
{
    struct fx *f = *state;
    const char *name = "seg-0000000000000001.lqs";
    size_t len, len2;
    char *err = NULL;

    fx_open(f);
    put_n(f, 0, 1, 150);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_close(f->s);
    f->s = NULL;
    uint8_t *seg = file_read(f->dir, name, &len);
    uint8_t *orig = xmemdup(seg, len);
    for (int what = 0; what < 2; what++) {
        memcpy(seg, orig, len);
        if (what == 0) {
            uint8_t *h = seg + STORE_SEG_HDR_LEN;
            uint32_t crc;
            le32_store(h + 20, STORE_CODEC_MAX + 1);
            crc = compress_crc32(0, h, 44);
            crc = compress_crc32(crc, h + STORE_BLK_HDR_LEN, le32_load(h + 4));
            le32_store(h + 44, crc);
        } else {
            le32_store(seg + 4, STORE_VERSION + 1);
        }
        file_write(f->dir, name, seg, len);
        struct store *s = store_open(f->dir, &f->opt, &err);
        assert_null(s);
        assert_non_null(err);
        if (strstr(err, "newer than this logq-collector reads") == NULL)
            fail_msg("store_open: %s", err);
        free(err);
        err = NULL;
        uint8_t *after = file_read(f->dir, name, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(after, seg, len);
        free(after);
    }
    file_write(f->dir, name, orig, len);
    fx_open(f);
    assert_int_equal(scan_all(f->s), 150);
    free(seg);
    free(orig);
}

static void
test_store_garbage_files(void **state)
{
    struct fx *f = *state;
    uint8_t junk[3000];
    struct store_stats st;

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    file_write(f->dir, "seg-0000000000000001.lqs", junk, sizeof(junk));
    file_write(f->dir, "seg-0000000000000002.lqs", junk, 5);
    file_write(f->dir, "wal.lqw", junk, sizeof(junk));
    file_write(f->dir, "hw.lqh", junk, 100);
    fx_open(f);
    int bad;
    struct store_filter fl = all_filter();
    assert_int_equal(scan_count(f->s, &fl, 1, &bad), 0);
    store_get_stats(f->s, &st);
    assert_true(st.n_corrupt_blocks >= 1);
    assert_true(st.n_torn_cuts >= 1);
    assert_int_equal(put_n(f, 0, 1, 500), 500);
    assert_int_equal(store_commit(f->s), 0);
    fx_open(f);
    assert_int_equal(scan_count(f->s, &fl, 1, &bad), 500);
}

/* Blocks sealed with zlib (what stores wrote before zstd) stay readable
 * next to zstd blocks, indexed or not. */
static void
test_store_mixed_codecs(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    f->opt.compress_codec = STORE_COMPRESS_ZLIB;
    fx_open(f);
    put_n(f, 0, 1, 500);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    f->opt.compress_codec = STORE_COMPRESS_ZSTD;
    fx_open(f);
    put_n(f, 0, 501, 500);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    assert_true(st.n_blocks >= 4);
    assert_int_equal(scan_all(f->s), 1000);
    fx_open(f);
    assert_int_equal(scan_all(f->s), 1000);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_corrupt_blocks, 0);
    assert_int_equal(st.n_records, 1000);
}

/* Every block codec decodes what it encodes; only 4 and 5 (and the
 * in-memory rows) keep receive times, blocks of older codecs read as 0. */
static void
test_store_codecs_receive_time(void **state)
{
    struct store_rec in[3] = {
        { .time_ns = T0, .recv_ns = T0 + 5, .offset = 10,
          .msg = (const uint8_t *)"ab", .msg_len = 2, .label = 0 },
        { .time_ns = T0 - 3600000000000LL, .recv_ns = T0 + 5, .offset = 20,
          .msg = (const uint8_t *)"cde", .msg_len = 3, .label = 1,
          .stream = 1 },
        { .time_ns = T0 + 1, .recv_ns = T0 + 1000, .offset = 30,
          .msg = (const uint8_t *)"", .msg_len = 0, .label = 0 },
    };
    struct store_rec *out = NULL;
    size_t cap = 0;
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    for (uint32_t codec = STORE_CODEC_ROW_RECV; codec <= STORE_CODEC_ZSTD_RECV;
         codec++) {
        buf_reset(&b);
        if (codec == STORE_CODEC_ZLIB)
            continue;       /* old rows: see test_store_wal_v2_replayed */
        if (codec == STORE_CODEC_ROW_RECV) {
            int64_t prev[2] = { 0, 0 };
            for (int i = 0; i < 3; i++)
                assert_int_equal(block_rec_encode(&b, in[i].label, prev,
                                                  &in[i]), 0);
        } else {
            assert_int_equal(block_cols_encode(&b, codec, in, 3, 2), 0);
        }
        assert_int_equal(block_decode(codec, b.data, b.len, 3, 2, &out,
                                      &cap), 0);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(out[i].time_ns, in[i].time_ns);
            assert_int_equal(out[i].offset, in[i].offset);
            assert_int_equal(out[i].msg_len, in[i].msg_len);
            assert_int_equal(out[i].label, in[i].label);
            assert_int_equal(out[i].recv_ns, store_codec_has_recv(codec) ?
                                             in[i].recv_ns : 0);
        }
        /* a codec 4/5 body is not a valid body of the codec before it */
        if (codec >= STORE_CODEC_ZLIB_RECV)
            assert_int_equal(block_decode(codec - 2, b.data, b.len, 3, 2,
                                          &out, &cap), -1);
    }
    free(out);
    buf_fini(&b);
}

/* A WAL file of version 2 (rows without receive times), as a store left
 * it before receive times were kept: replayed (receive time unknown: 0),
 * and new commits do not go after its entries. */
static void
test_store_wal_v2_replayed(void **state)
{
    struct fx *f = *state;
    struct buf e, file;
    const char *strs[4] = { "host0", "cid0", "web-0", "nginx:1" };
    char msg[64];

    buf_init(&e, 1 << 20);
    buf_init(&file, 1 << 20);
    buf_put_varint(&e, 1);
    for (int k = 0; k < 4; k++)
        block_put_str(&e, strs[k], strlen(strs[k]));
    buf_put_varint(&e, 2);
    int64_t prev = 0;
    for (uint64_t off = 1; off <= 2; off++) {
        int64_t t = T0 + (int64_t)off * 1000;
        int64_t dt = t - prev;
        prev = t;
        snprintf(msg, sizeof(msg), "line 0/%llu of the test",
                 (unsigned long long)off);
        buf_put_varint(&e, 0);
        buf_put_varint(&e, ((uint64_t)dt << 1) ^ (uint64_t)(dt >> 63));
        buf_put_u8(&e, (uint8_t)(off % 2));
        buf_put_varint(&e, off);
        block_put_str(&e, msg, strlen(msg));
    }
    buf_put_u32(&file, STORE_WAL_MAGIC);
    buf_put_u32(&file, 2);
    buf_put_u64(&file, 1);
    buf_put_u32(&file, (uint32_t)e.len);
    buf_put_u32(&file, compress_crc32(0, e.data, e.len));
    buf_append(&file, e.data, e.len);
    file_write(f->dir, "wal.lqw", file.data, file.len);
    fx_open(f);
    struct store_cursor *c;
    struct store_filter fl = all_filter();
    struct logrec r;
    int n = 0;
    c = store_cursor_new(f->s, &fl, 0);
    while (store_cursor_next(c, &r) == 1) {
        assert_int_equal(r.recv_ns, 0);
        assert_int_equal(r.offset, (uint64_t)++n);
    }
    store_cursor_free(c);
    assert_int_equal(n, 2);
    /* new records (with receive times) survive a restart next to them */
    assert_int_equal(put_n(f, 0, 3, 5), 5);
    assert_int_equal(store_commit(f->s), 0);
    fx_open(f);
    c = store_cursor_new(f->s, &fl, 0);
    n = 0;
    while (store_cursor_next(c, &r) == 1) {
        n++;
        assert_int_equal(r.recv_ns, r.offset <= 2 ? 0 :
                                    recv_of(0, r.offset));
    }
    store_cursor_free(c);
    assert_int_equal(n, 7);
    buf_fini(&e);
    buf_fini(&file);
}

/* ------------------------------------------------------------------ */
/* Retention and full disk                                             */

static void
test_store_retention_size(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    f->opt.segment_size = 16 << 10;
    f->opt.retention_bytes = 8 << 10;
    fx_open(f);
    for (int i = 0; i < 20; i++) {
        put_n(f, 0, (uint64_t)i * 200 + 1, 200);
        assert_int_equal(store_commit(f->s), 0);
    }
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    assert_true(st.n_segments_deleted > 0);
    /* over the limit by at most the segment being written + the WAL */
    assert_true(st.stored_bytes <= (8 << 10) + (16 << 10) + 8192);
    assert_int_equal(scan_all(f->s), (int)st.n_records);
    assert_true(st.n_records < 4000);
    /* the high water mark outlives the deleted data, also across restart */
    fx_open(f);
    assert_int_equal(put_n(f, 0, 1, 10), 0);
    assert_int_equal(store_source_offset(f->s, "host0", "cid0"), 4000);
}

/* Every file and the directory the store creates are its user's alone,
 * whatever the umask (logs hold secrets; SECURITY.md). */
static void
test_store_file_modes(void **state)
{
    struct fx *f = *state;
    struct stat st;
    struct dirent *de;
    mode_t old = umask(022);
    int n_files = 0;

    assert_int_equal(rmdir(f->dir), 0);     /* the store creates it */
    f->opt.segment_size = 16 << 10;
    f->opt.retention_bytes = 8 << 10;       /* + the retention state file */
    fx_open(f);
    for (int i = 0; i < 10; i++) {
        put_n(f, 0, (uint64_t)i * 200 + 1, 200);
        assert_int_equal(store_commit(f->s), 0);
    }
    assert_int_equal(store_sync(f->s), 0);
    fx_open(f);
    umask(old);
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *path = xasprintf("%s/%s", f->dir, de->d_name);
        assert_int_equal(stat(path, &st), 0);
        if ((st.st_mode & 077) != 0)
            fail_msg("%s has mode %03o", path, (unsigned)(st.st_mode & 0777));
        free(path);
        n_files++;
    }
    closedir(d);
    assert_true(n_files >= 3);              /* segments, WAL, index */
}

static void
test_store_retention_age(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    f->opt.segment_size = 8 << 10;
    f->opt.retention_age_ns = 3600LL * 1000000000;
    f->now = T0;
    fx_open(f);
    for (int i = 0; i < 10; i++) {        /* times T0 .. T0 + 1 ms */
        put_n(f, 0, (uint64_t)i * 100 + 1, 100);
        assert_int_equal(store_commit(f->s), 0);
    }
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    uint64_t segs = st.n_segments;
    assert_true(segs >= 3);
    assert_int_equal(store_apply_retention(f->s), 0);
    f->now = T0 + 2 * 3600LL * 1000000000;
    assert_int_equal(store_apply_retention(f->s), (int)segs - 1);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_segments, 1);
    assert_int_equal(st.n_segments_deleted, segs - 1);
    assert_int_equal(scan_all(f->s), (int)st.n_records);
    fx_open(f);
    assert_int_equal(put_n(f, 0, 1, 1000), 0);
}

/* A sender controls event times: one record stamped near INT64_MAX (the
 * year 292277026596) in the oldest segment must not switch age retention
 * off. Age is judged by min(newest event time, time the segment was last
 * written), here the fake clock at seal; after a restart its mtime. */
static void
test_store_retention_age_future_record(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    f->opt.segment_size = 8 << 10;
    f->opt.retention_age_ns = 3600LL * 1000000000;
    f->now = T0;
    fx_open(f);
    struct logrec r = { .time_ns = INT64_MAX - 1, .host = "host0",
                        .container_id = "cidF", .container = "evil",
                        .image = "x", .offset = 1, .msg = "future",
                        .msg_len = 6 };
    assert_int_equal(store_append(f->s, &r), 1);
    r.time_ns = INT64_MIN + 1;
    r.offset = 2;
    assert_int_equal(store_append(f->s, &r), 1);
    for (int i = 0; i < 10; i++) {
        put_n(f, 0, (uint64_t)i * 100 + 1, 100);
        assert_int_equal(store_commit(f->s), 0);
    }
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    uint64_t segs = st.n_segments;
    assert_true(segs >= 3);
    assert_int_equal(store_apply_retention(f->s), 0);
    f->now = T0 + 2 * 3600LL * 1000000000;
    assert_int_equal(store_apply_retention(f->s), (int)segs - 1);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_segments, 1);
    /* after a restart the segment's mtime (now) stands for the write
     * time: a far-future record in it keeps it until now + age */
    r.time_ns = INT64_MAX;
    r.offset = 3;
    assert_int_equal(store_append(f->s, &r), 1);
    put_n(f, 0, 2001, 400);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    put_n(f, 0, 3001, 400);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    fx_open(f);
    store_get_stats(f->s, &st);
    assert_true(st.n_segments >= 2);
    f->now = time(NULL) * 1000000000LL + 2 * 3600LL * 1000000000;
    assert_true(store_apply_retention(f->s) >= 1);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_segments, 1);
}

/* Metadata bomb: every record carries a new 64 KiB container name (as
 * 120 sources renamed each batch did), so the labels of one block's meta
 * pass STORE_MAX_META long before its body fills. Sealing must still
 * succeed (a block is full by body + meta bytes), nothing is lost, and a
 * restart serves the same. */
static void
test_store_label_bomb(void **state)
{
    struct fx *f = *state;
    struct store_stats st;
    size_t nlen = 64 << 10;
    char *name = xmalloc(nlen + 1);
    int n = 0;

    fx_open(f);
    memset(name, 'n', nlen);
    name[nlen] = '\0';
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 150; i++) {
            char cid[16];
            struct logrec r = { .time_ns = T0 + n, .host = "bomber",
                                .container_id = cid, .container = name,
                                .image = "img", .offset = (uint64_t)n + 1,
                                .msg = "x", .msg_len = 1 };
            snprintf(cid, sizeof(cid), "c%d", i);
            snprintf(name, 16, "%08d", n);
            name[8] = 'n';
            assert_int_equal(store_append(f->s, &r), 1);
            n++;
        }
        assert_int_equal(store_commit(f->s), 0);
    }
    put_n(f, 0, 1, 200);        /* the block fills by its body too */
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    put_n(f, 0, 201, 10);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_seal_errors, 0);
    assert_true(st.n_blocks >= 2);
    assert_int_equal(st.n_records, (uint64_t)n + 210);
    struct store_filter fl = all_filter();
    fl.host = "host0";
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 210);
    fx_open(f);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_records, (uint64_t)n + 210);
    assert_int_equal(scan_count(f->s, &fl, 0, NULL), 210);
    free(name);
}

/* A sender that renames a container with every record must not make the
 * store keep a label (4 strings) per record in memory forever: past
 * STORE_MAX_SOURCE_LABELS names a source's records are stored under its
 * latest label and counted (n_labels_capped); none is lost. */
static void
test_store_labels_per_source_capped(void **state)
{
    struct fx *f = *state;
    struct store_stats st;
    char name[32];
    int n = 5000;

    fx_open(f);
    for (int i = 0; i < n; i++) {
        struct logrec r = { .time_ns = T0 + i, .host = "renamer",
                            .container_id = "c1", .container = name,
                            .image = "img", .offset = (uint64_t)i + 1,
                            .msg = "x", .msg_len = 1 };
        snprintf(name, sizeof(name), "name-%d", i);
        assert_int_equal(store_append(f->s, &r), 1);
    }
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_records, (uint64_t)n);
    assert_int_equal(st.n_labels, 64);
    assert_int_equal(st.n_labels_capped, (uint64_t)n - 64);
    /* a known name is still used, also once capped */
    struct logrec r = { .time_ns = T0 + n, .host = "renamer",
                        .container_id = "c1", .container = "name-3",
                        .image = "img", .offset = (uint64_t)n + 1,
                        .msg = "x", .msg_len = 1 };
    assert_int_equal(store_append(f->s, &r), 1);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_labels_capped, (uint64_t)n - 64);
    assert_int_equal(store_commit(f->s), 0);
    fx_open(f);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_records, (uint64_t)n + 1);
    assert_true(st.n_labels <= 64);
}

/* hw.lqh keeps sealed high water marks only: records committed to the
 * WAL when retention runs survive a restart (and their resend is a dup). */
static void
test_store_retention_keeps_wal(void **state)
{
    struct fx *f = *state;

    f->opt.segment_size = 8 << 10;
    f->opt.retention_age_ns = 3600LL * 1000000000;
    fx_open(f);
    for (int i = 0; i < 10; i++) {
        put_n(f, 0, (uint64_t)i * 100 + 1, 100);
        assert_int_equal(store_commit(f->s), 0);
    }
    assert_int_equal(store_sync(f->s), 0);
    assert_int_equal(put_n(f, 0, 1001, 5), 5);    /* WAL only */
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    int before = scan_all(f->s);
    f->now = T0 + 2 * 3600LL * 1000000000;
    assert_true(store_apply_retention(f->s) > 0);
    int kept = scan_all(f->s);
    assert_true(kept < before);
    fx_open(f);
    assert_int_equal(scan_all(f->s), kept);
    assert_int_equal(store_source_offset(f->s, "host0", "cid0"), 1005);
    assert_int_equal(put_n(f, 0, 1001, 5), 0);
}

/* Finds the one quarantine file in dir; returns its size (0: none). */
static uint64_t
quarantine_file_size(const char *dir, int *n_files)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    uint64_t size = 0;

    assert_non_null(d);
    *n_files = 0;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "quarantine-", 11) != 0)
            continue;
        char *p = xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        size += (uint64_t)st.st_size;
        (*n_files)++;
        free(p);
    }
    closedir(d);
    return size;
}

/* A block that cannot be sealed (its one label's strings alone pass
 * STORE_MAX_META, so its meta cannot be encoded) must not stop the store:
 * it is quarantined (its records written to a quarantine file, counted,
 * its WAL released) and sealing, appends and searches go on. It failed on
 * the old code: the job was retried for ever, store_sync stayed -1 and
 * the tail grew until every append was refused. */
static void
test_store_quarantine_unsealable(void **state)
{
    struct fx *f = *state;
    struct store_stats st;
    size_t nlen = (16u << 20) + 1;       /* STORE_MAX_META + 1 */
    char *name = xmalloc(nlen + 1);
    struct store_filter fl = all_filter();
    int n_files;

    fx_open(f);
    memset(name, 'n', nlen);
    name[nlen] = '\0';
    assert_int_equal(put_n(f, 0, 1, 20), 20);
    assert_int_equal(store_commit(f->s), 0);
    struct logrec r = { .time_ns = T0, .host = "bomber",
                        .container_id = "cbad", .container = name,
                        .image = "img", .offset = 1, .msg = "x",
                        .msg_len = 1 };
    assert_int_equal(store_append(f->s, &r), 1);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    /* the store keeps sealing, accepting and serving */
    assert_int_equal(put_n(f, 1, 1, 300), 300);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_quarantined_blocks, 1);
    assert_int_equal(st.n_quarantined_records, 21);
    assert_int_equal(st.n_quarantine_unsaved, 0);
    assert_true(st.n_blocks >= 2);
    assert_int_equal(st.n_records, 300);
    fl.host = "host1";
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 300);
    fl.host = "host0";
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 0);
    assert_true(quarantine_file_size(f->dir, &n_files) > nlen);
    assert_int_equal(n_files, 1);
    /* resent lines of the quarantined block stay duplicates */
    r.container = "short";
    assert_int_equal(store_append(f->s, &r), 0);
    assert_int_equal(put_n(f, 0, 21, 5), 5);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    fx_open(f);                 /* the WAL no longer holds the block */
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_records, 305);
    assert_int_equal(st.n_quarantined_blocks, 0);
    assert_int_equal(scan_count(f->s, &fl, 1, NULL), 5);
    assert_int_equal(put_n(f, 1, 301, 500), 500);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_seal_errors, 0);
    assert_int_equal(st.n_records, 805);
    free(name);
}

/* The sealer fails to build one block (fault hook "block"): that block is
 * quarantined, the job's other blocks are written, nothing else lost. */
static void
test_store_quarantine_build_failure(void **state)
{
    struct fx *f = *state;
    struct store_stats st;
    int n_files;

    fx_open(f);
    f->fail_what = 3;
    assert_int_equal(put_n(f, 0, 1, 500), 500);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    assert_int_equal(f->fail_what, 0);          /* the hook ran */
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_quarantined_blocks, 1);
    assert_true(st.n_quarantined_records >= 1);
    assert_int_equal(st.n_records + st.n_quarantined_records, 500);
    assert_int_equal(scan_all(f->s), (int)st.n_records);
    assert_true(quarantine_file_size(f->dir, &n_files) > 0);
    assert_int_equal(n_files, 1);
    uint64_t kept = st.n_records;
    assert_int_equal(put_n(f, 0, 501, 500), 500);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    fx_open(f);
    assert_int_equal(scan_all(f->s), (int)kept + 500);
}

static void
test_store_disk_full(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    fx_open(f);
    put_n(f, 0, 1, 20);
    f->fail_what = 1;
    assert_int_equal(store_commit(f->s), -1);
    assert_non_null(strstr(store_errstr(f->s), "No space"));
    assert_int_equal(scan_all(f->s), 0);
    store_get_stats(f->s, &st);
    assert_int_equal(st.pending_records, 20);
    assert_int_equal(put_n(f, 0, 1, 20), 0);   /* still pending: dups */
    put_n(f, 0, 21, 5);
    f->fail_what = 0;
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(scan_all(f->s), 25);
    /* a failing seal: records are durable in the WAL, retried later */
    f->fail_what = 2;
    put_n(f, 0, 26, 500);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), -1);
    store_get_stats(f->s, &st);
    assert_true(st.n_seal_errors >= 1);
    assert_int_equal(st.n_blocks, 0);
    assert_int_equal(scan_all(f->s), 525);
    fx_open(f);                         /* still failing: replay from WAL */
    assert_int_equal(scan_all(f->s), 525);
    f->fail_what = 0;
    put_n(f, 0, 526, 1);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    assert_true(st.n_blocks >= 1);
    fx_open(f);
    assert_int_equal(scan_all(f->s), 526);
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
        T(test_store_torn_wal),
        T(test_store_torn_segment),
        T(test_store_corrupt_middle_body),
        T(test_store_cursor_reread_damaged),
        T(test_store_corrupt_middle_header),
        T(test_store_garbage_files),
        T(test_store_newer_format_refused),
        T(test_store_retention_size),
        T(test_store_retention_age),
        T(test_store_file_modes),
        T(test_store_mixed_codecs),
        T(test_store_codecs_receive_time),
        T(test_store_wal_v2_replayed),
        T(test_store_retention_keeps_wal),
        T(test_store_retention_age_future_record),
        T(test_store_label_bomb),
        T(test_store_labels_per_source_capped),
        T(test_store_disk_full),
        T(test_store_quarantine_unsealable),
        T(test_store_quarantine_build_failure),
        T(test_store_throughput),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
