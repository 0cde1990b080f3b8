/* SPDX-License-Identifier: MIT */
/*
 * store_recv_test: the receive-time range of codec 7 blocks
 * (collector/STORE.md "Receive-time range"). A cursor given a receive
 * point (store_filter.recv_since_ns, what a resumed follow's history
 * asks for) returns exactly the records a cursor without it returns
 * whose receive time is at or past the point, in the same order, for
 * every point: at each batch's stamp (batches cross block boundaries),
 * one before and after it, before the first and after the last; over
 * a store whose first blocks were written without the range (codec 6,
 * version 3), with late backlogs (old event times received now), before
 * and after a reopen (the ranges read back from the segment files), and
 * with records still in the unsealed tail. It reads only the blocks
 * received since the point (store_stats.n_cursor_reads), and every
 * block without a range.
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
#include "collector/store/store_internal.h"
#include "common/buf.h"
#include "common/xmalloc.h"
#include "tests/support/storetest.h"

#define T0   1700000000000000000LL
#define HOUR 3600000000000LL
#define N_SRC 4

struct fx {
    char     dir[64];
    int64_t *stamps;            /* each batch's receive time */
    size_t   n_stamps;
    int      n_put;             /* records put so far */
};

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/store_recv_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd = xasprintf("rm -rf '%s'", f->dir);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f->stamps);
    free(f);
    return 0;
}

static struct store *
open_store(const char *dir, int is_no_recv_range)
{
    struct store_options o = { .block_size = 16 << 10,
                               .segment_size = 256 << 10,
                               .frame_size = 4096,
                               .is_no_recv_range = is_no_recv_range };

    return storetest_open(dir, &o);
}

/* n_batches batches of 1 to 80 records, each batch one receive stamp
 * (ingest stamps a shipper's batch: the records share it), the sources
 * in step; with is_backlog every 5th batch is one source's records of
 * hours ago arriving now. Committed every 16 batches. */
static void
put_batches(struct fx *f, struct store *s, int n_batches, int is_backlog)
{
    static uint64_t off[N_SRC];
    char msg[200], cid[16];

    for (int b = 0; b < n_batches; b++) {
        int64_t recv = T0 + (int64_t)(f->n_stamps + 1) * 1000003;
        int n = 1 + (int)((f->n_stamps * 37 + 11) % 80);
        int is_late = is_backlog && b % 5 == 4;
        f->stamps = xreallocarray(f->stamps, f->n_stamps + 1,
                                  sizeof(*f->stamps));
        f->stamps[f->n_stamps++] = recv;
        for (int k = 0; k < n; k++) {
            int i = f->n_put++;
            int src = is_late ? 3 : i % N_SRC;
            struct logrec r = { 0 };
            snprintf(cid, sizeof(cid), "cid%d", src);
            snprintf(msg, sizeof(msg), "line %d batch %zu%s padding padding "
                     "padding padding padding padding padding", i,
                     f->n_stamps, is_late ? " late" : "");
            r.time_ns = is_late ? T0 - 2 * HOUR + (int64_t)i * 1000
                                : T0 + (int64_t)i * 1000;
            r.recv_ns = recv;
            r.host = "h1";
            r.container_id = cid;
            r.container = "web";
            r.image = "img:1";
            r.stream = (uint8_t)(i & 1);
            r.offset = ++off[src];
            r.msg = msg;
            r.msg_len = strlen(msg);
            assert_int_equal(store_append(s, &r), 1);
        }
        if (b % 16 == 15 || b == n_batches - 1)
            assert_int_equal(store_commit(s), 0);
    }
}

/* One record as a line of text (with its receive time). */
static char *
rec_text(const struct logrec *r)
{
    return xasprintf("%lld %s %llu %lld %.*s", (long long)r->time_ns,
                     r->container_id, (unsigned long long)r->offset,
                     (long long)r->recv_ns, (int)r->msg_len, r->msg);
}

/* Every record in cursor order, as text, and its receive time. */
struct scan {
    char   **line;
    int64_t *recv;
    size_t   n;
};

static struct store_cursor *
cursor_since(struct store *s, int64_t recv_since, int newest)
{
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1, .recv_since_ns = recv_since };

    return store_cursor_new(s, &fl, newest);
}

static void
scan_all(struct store *s, int newest, struct scan *sc)
{
    struct store_cursor *c = cursor_since(s, 0, newest);
    struct logrec r;
    int rc;

    memset(sc, 0, sizeof(*sc));
    while ((rc = store_cursor_next(c, &r)) != 0) {
        assert_int_equal(rc, 1);
        sc->line = xreallocarray(sc->line, sc->n + 1, sizeof(*sc->line));
        sc->recv = xreallocarray(sc->recv, sc->n + 1, sizeof(*sc->recv));
        sc->line[sc->n] = rec_text(&r);
        sc->recv[sc->n++] = r.recv_ns;
    }
    store_cursor_free(c);
}

static void
scan_free(struct scan *sc)
{
    for (size_t i = 0; i < sc->n; i++)
        free(sc->line[i]);
    free(sc->line);
    free(sc->recv);
}

/* The cursor from point p returns the reference's records received at p
 * or later, in its order; returns how many. */
static size_t
check_point(struct store *s, const struct scan *ref, int64_t p, int newest)
{
    struct store_cursor *c = cursor_since(s, p, newest);
    struct logrec r;
    size_t i = 0, n = 0;
    int rc;

    while ((rc = store_cursor_next(c, &r)) != 0) {
        assert_int_equal(rc, 1);
        while (i < ref->n && ref->recv[i] < p)
            i++;
        char *t = rec_text(&r);
        if (i == ref->n || strcmp(t, ref->line[i]) != 0)
            fail_msg("point %lld (%s): record %zu is \"%s\", expected "
                     "\"%s\"", (long long)p,
                     newest ? "newest first" : "oldest first", n, t,
                     i < ref->n ? ref->line[i] : "(none)");
        free(t);
        i++;
        n++;
    }
    store_cursor_free(c);
    while (i < ref->n && ref->recv[i] < p)
        i++;
    if (i != ref->n)
        fail_msg("point %lld (%s): %zu records, \"%s\" missing",
                 (long long)p, newest ? "newest first" : "oldest first", n,
                 ref->line[i]);
    return n;
}

/* Every point: the ranged cursor gives the reference's records, in
 * both orders: at the edges of the blocks' ranges (the first stamp of a
 * block, its last and one past it: a batch cut by a block boundary), at
 * some other batches' stamps and one before them, before the first and
 * after the last. */
static void
check_points(struct fx *f, struct store *s)
{
    int64_t *pts = NULL;
    size_t n_pts = 0, k = 0;

    for (size_t i = 0; i < s->n_segs; i++)
        for (size_t j = 0; j < s->segs[i]->n_blks; j++, k++) {
            const struct store_blk *b = &s->segs[i]->blks[j];
            if (!b->has_recv_range || k % 5 != 0)
                continue;
            pts = xreallocarray(pts, n_pts + 3, sizeof(*pts));
            pts[n_pts++] = b->recv_min;
            pts[n_pts++] = b->recv_max;
            pts[n_pts++] = b->recv_max + 1;
        }
    assert_true(n_pts >= 6 || k < 10);
    for (size_t i = 7; i < f->n_stamps; i += 23) {
        pts = xreallocarray(pts, n_pts + 2, sizeof(*pts));
        pts[n_pts++] = f->stamps[i];
        pts[n_pts++] = f->stamps[i] - 1;
    }
    for (int newest = 0; newest < 2; newest++) {
        struct scan ref;
        scan_all(s, newest, &ref);
        assert_true(ref.n > 1000);
        assert_int_equal(check_point(s, &ref, T0 - 5, newest), ref.n);
        assert_int_equal(check_point(s, &ref,
                                     f->stamps[f->n_stamps - 1] + 1, newest),
                         0);
        for (size_t i = 0; i < n_pts; i++)
            check_point(s, &ref, pts[i], newest);
        scan_free(&ref);
    }
    free(pts);
}

/* Segment blocks whose records a point may select: those without a
 * range, and those whose range reaches it. */
static uint64_t
blocks_since(const struct store *s, int64_t p, uint64_t *n_all)
{
    uint64_t n = 0;

    *n_all = 0;
    for (size_t i = 0; i < s->n_segs; i++)
        for (size_t k = 0; k < s->segs[i]->n_blks; k++) {
            const struct store_blk *b = &s->segs[i]->blks[k];
            n += !b->has_recv_range || b->recv_max >= p;
            (*n_all)++;
        }
    return n;
}

static uint64_t
cursor_reads(struct store *s)
{
    struct store_stats st;

    store_get_stats(s, &st);
    return st.n_cursor_reads;
}

static void
test_recv_range_exact(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->dir, 1);   /* version 3: codec 6 */

    put_batches(f, s, 30, 0);
    assert_int_equal(store_sync(s), 0);
    store_close(s);
    s = open_store(f->dir, 0);                  /* codec 7 from here */
    put_batches(f, s, 100, 1);
    check_points(f, s);
    store_close(s);
    s = open_store(f->dir, 0);                  /* ranges from the files */
    check_points(f, s);
    put_batches(f, s, 20, 1);                   /* some stay in the tail */
    check_points(f, s);
    store_close(s);
}

/* A point a few batches back reads the blocks received since (and the
 * codec 6 ones, which have no range), not the store. */
static void
test_recv_range_reads_since(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->dir, 1);
    uint64_t n_all, n_old, n_since;

    put_batches(f, s, 20, 0);
    assert_int_equal(store_sync(s), 0);
    store_close(s);
    s = open_store(f->dir, 0);
    n_old = blocks_since(s, INT64_MAX, &n_all);
    assert_true(n_old > 0 && n_old == n_all);
    put_batches(f, s, 300, 1);
    assert_int_equal(store_sync(s), 0);
    int64_t p = f->stamps[f->n_stamps - 10];
    n_since = blocks_since(s, p, &n_all);
    assert_true(n_all > 8 * n_since);           /* the test means something */
    struct scan ref;
    scan_all(s, 0, &ref);
    uint64_t r0 = cursor_reads(s);
    assert_true(check_point(s, &ref, p, 0) > 0);
    uint64_t reads = cursor_reads(s) - r0;
    /* frames count as reads: at most every frame of those blocks */
    assert_true(reads >= n_since - n_old);
    assert_true(reads <= (n_since - n_old) * 8 + n_old * 8);
    /* without the point every block is read */
    r0 = cursor_reads(s);
    scan_free(&ref);
    scan_all(s, 0, &ref);
    assert_true(cursor_reads(s) - r0 >= n_all);
    scan_free(&ref);
    store_close(s);
}

/* The range in the meta: encoded, decoded, and a meta that ends early or
 * carries more is refused as damage. */
static void
test_recv_range_meta(void **state)
{
    struct store_rec recs[3] = {
        { .recv_ns = 0 }, { .recv_ns = T0 + 5 }, { .recv_ns = T0 + 2 },
    };
    struct buf m;
    struct block_recv_range rr;

    (void)state;
    buf_init(&m, 1 << 10);
    assert_int_equal(buf_put_varint(&m, 1), 0);     /* one frame */
    assert_int_equal(buf_put_varint(&m, 3), 0);     /* its records */
    assert_int_equal(buf_put_varint(&m, 10), 0);    /* comp_len */
    assert_int_equal(buf_put_varint(&m, 20), 0);    /* raw_len */
    assert_int_equal(buf_append(&m, "\0\0\0\0", 4), 0);
    assert_int_equal(buf_put_varint(&m, 0), 0);
    assert_int_equal(buf_put_varint(&m, 0), 0);
    size_t table_len = m.len;
    assert_int_equal(block_recv_encode(&m, recs, 3), 0);
    struct store_frame *fr = NULL;
    uint32_t n_fr = 0;
    assert_int_equal(block_frames_decode(m.data, m.data + m.len, T0, 3, 10,
                                         20, &fr, &n_fr, &rr), 0);
    free(fr);
    assert_int_equal(rr.min, T0 + 2);
    assert_int_equal(rr.max, T0 + 5);
    assert_int_equal(block_frames_decode(m.data, m.data + m.len - 1, T0, 3,
                                         10, 20, &fr, &n_fr, &rr), -1);
    assert_int_equal(block_frames_decode(m.data, m.data + m.len, T0, 3, 10,
                                         20, &fr, &n_fr, NULL), -1);
    assert_int_equal(block_frames_decode(m.data, m.data + table_len, T0, 3,
                                         10, 20, &fr, &n_fr, &rr), -1);
    /* no record with a receive time: 0, 0 */
    m.len = table_len;
    assert_int_equal(block_recv_encode(&m, recs, 1), 0);
    assert_int_equal(block_frames_decode(m.data, m.data + m.len, T0, 3, 10,
                                         20, &fr, &n_fr, &rr), 0);
    free(fr);
    assert_int_equal(rr.min, 0);
    assert_int_equal(rr.max, 0);
    buf_fini(&m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recv_range_meta),
        cmocka_unit_test_setup_teardown(test_recv_range_exact, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recv_range_reads_since, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
