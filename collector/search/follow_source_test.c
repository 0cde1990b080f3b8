/* SPDX-License-Identifier: MIT */
/*
 * follow_source_test: a follow with the store as its source (nothing
 * copied while nobody is subscribed, the records read back from the
 * store when someone subscribes) against one that copies every record
 * (the path before), driven alike through random appends, commits begun
 * and ended, entries written ahead of the sync in flight, failed syncs,
 * seals that carry records appended during a sync (written ahead of it or
 * not) into the next tail, subscribers coming and going: every
 * subscription must see the same records, field by field, in the same
 * order, and every receive point must be the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/follow.h"
#include "collector/store/store.h"
#include "common/buf.h"
#include "common/xmalloc.h"
#include "tests/support/storetest.h"
#include "tests/support/testrng.h"

#define FS_SUBS   3
#define FS_ROUNDS 6000

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned
rn(unsigned n)
{
    return testrng_below(&rng, n);
}

/* What one subscription was sent, each record's fields as text. */
struct fs_sink {
    struct follow     *f;
    struct follow_sub *sub;
    struct buf         seen;
    size_t             n;
};

static void
fs_rec(const struct logrec *r, void *arg)
{
    struct fs_sink *k = arg;
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "%lld %lld %s %s %s %s %u %u %llu %p |",
                     (long long)r->time_ns, (long long)r->recv_ns, r->host,
                     r->container_id, r->container ? r->container : "",
                     r->image ? r->image : "", r->stream, r->flags,
                     (unsigned long long)r->offset, (const void *)r->labels);

    assert_true(n > 0 && (size_t)n < sizeof(line));
    assert_int_equal(buf_append(&k->seen, line, (size_t)n), 0);
    assert_int_equal(buf_append(&k->seen, r->msg, r->msg_len), 0);
    assert_int_equal(buf_append(&k->seen, "\n", 1), 0);
    k->n++;
}

static int fs_fail_sync;        /* storetest_sync_fail_if's */

struct fs {
    struct store  *st;
    struct follow *copy, *lazy;     /* the path before; with the source */
    struct fs_sink a[FS_SUBS], b[FS_SUBS];
    size_t         n_sessions;
    int            is_syncing;
    int            can_fail;        /* some syncs fail */
    uint64_t       off[4];
    int64_t        now;
};

static size_t
fs_source(void *arg, follow_record_fn rec, void *rec_arg)
{
    return store_foreach_unwritten(arg, rec, rec_arg);
}

static void
fs_append(struct fs *x)
{
    static const char *const hosts[] = { "h1", "h2" };
    static const char *const names[] = { "web", "db", "renamed" };
    char msg[300];
    int h = (int)rn(2), c = (int)rn(2);
    size_t len = (size_t)snprintf(msg, sizeof(msg), "line %llu of %d/%d ",
                                  (unsigned long long)x->off[h * 2 + c] + 1,
                                  h, c);
    size_t pad = rn(200);

    memset(msg + len, 'a' + (int)rn(26), pad);
    len += pad;
    struct logrec r = {
        .time_ns = 1000000 + (int64_t)rn(5000), .host = hosts[h],
        .container_id = c ? "c1" : "c0", .container = names[c + rn(2) * c],
        .image = rn(2) ? "img" : NULL, .stream = (uint8_t)rn(2),
        .flags = (uint8_t)rn(8), .offset = ++x->off[h * 2 + c],
        .msg = msg, .msg_len = len,
    };
    x->now += (int64_t)rn(3);
    r.recv_ns = follow_recv_next(x->copy, x->now);
    assert_true(follow_recv_next(x->lazy, x->now) == r.recv_ns);
    assert_int_equal(store_append(x->st, &r), 1);
    assert_int_equal(follow_stage(x->copy, &r), 0);
    assert_int_equal(follow_stage(x->lazy, &r), 0);
}

/* ingest_commit.c's order: the store's commit begun (its WAL entry
 * written: visible), then both published at once, before the sync
 * returns; while it syncs, entries written ahead of it
 * (store_commit_ahead), published alike; a failed sync takes nothing back
 * (its records stay visible and go into the next entry). */
static void
fs_commit_step(struct fs *x)
{
    if (!x->is_syncing) {
        fs_fail_sync = x->can_fail && rn(5) == 0;  /* the syncing thread's */
        int rc = store_commit_begin(x->st);
        assert_true(rc >= 0);
        follow_commit_begin(x->copy);
        follow_commit_begin(x->lazy);
        follow_commit_end(x->copy);
        follow_commit_end(x->lazy);
        x->is_syncing = rc == 1;
        return;
    }
    if (rn(2) == 0) {           /* pipelined: written ahead of the sync */
        int rc = store_commit_ahead(x->st);
        assert_true(rc >= 0);
        if (rc == 1) {
            follow_commit_begin(x->copy);
            follow_commit_begin(x->lazy);
            follow_commit_end(x->copy);
            follow_commit_end(x->lazy);
        }
        return;
    }
    (void)store_commit_wait(x->st);
    fs_fail_sync = 0;
    x->is_syncing = 0;
}

static void
fs_toggle(struct fs *x, int i)
{
    struct fs_sink *a = &x->a[i], *b = &x->b[i];

    if (a->sub != NULL) {
        follow_unsubscribe(x->copy, a->sub);
        follow_unsubscribe(x->lazy, b->sub);
        a->sub = b->sub = NULL;
        assert_int_equal(a->n, b->n);
        assert_int_equal(a->seen.len, b->seen.len);
        assert_memory_equal(a->seen.data, b->seen.data, a->seen.len);
        x->n_sessions += a->n > 0;
        buf_reset(&a->seen);
        buf_reset(&b->seen);
        a->n = b->n = 0;
        return;
    }
    /* api_follow.c: the receive point, then the subscription */
    x->now += (int64_t)rn(3);
    assert_true(follow_receive_point(x->copy, x->now) ==
                follow_receive_point(x->lazy, x->now));
    a->sub = follow_subscribe(x->copy, fs_rec, NULL, a);
    b->sub = follow_subscribe(x->lazy, fs_rec, NULL, b);
}

static void
test_follow_source_same_as_copies(void **state)
{
    (void)state;
    char dir[64], *err = NULL, cmd[96];
    struct store_options so = {
        .block_size = 16 << 10, .segment_size = 256 << 10,
        .sync_hook = storetest_sync_fail_if,
        .sync_hook_arg = &fs_fail_sync,
    };
    struct fs x;

    memset(&x, 0, sizeof(x));
    snprintf(dir, sizeof(dir), "/tmp/follow_source_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    x.st = store_open(dir, &so, &err);
    assert_non_null(x.st);
    x.copy = follow_new(1 << 20);
    x.lazy = follow_new(1 << 20);
    follow_set_source(x.lazy, fs_source, x.st);
    x.can_fail = 1;
    for (int i = 0; i < FS_SUBS; i++) {
        buf_init(&x.a[i].seen, 64 << 20);
        buf_init(&x.b[i].seen, 64 << 20);
    }
    for (int round = 0; round < FS_ROUNDS; round++) {
        unsigned op = rn(20);
        if (op < 12)
            fs_append(&x);
        else if (op < 18)
            fs_commit_step(&x);
        else
            fs_toggle(&x, (int)rn(FS_SUBS));
    }
    for (int i = 0; i < FS_SUBS; i++) {
        if (x.a[i].sub != NULL)
            fs_toggle(&x, i);
        buf_fini(&x.a[i].seen);
        buf_fini(&x.b[i].seen);
    }
    assert_true(x.n_sessions >= 10);    /* the draw did subscribe */
    assert_int_equal(follow_n_dropped(x.copy), 0);
    assert_int_equal(follow_n_dropped(x.lazy), 0);
    if (x.is_syncing)
        assert_int_equal(store_commit_wait(x.st), 1);
    struct store_stats st;
    store_get_stats(x.st, &st);
    assert_true(st.n_blocks >= 10);     /* tails were sealed meanwhile */
    follow_free(x.copy);
    follow_free(x.lazy);
    store_close(x.st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Nobody subscribed: nothing is copied, whatever is staged. */
static void
test_follow_source_copies_nothing(void **state)
{
    (void)state;
    char dir[64], *err = NULL, cmd[96];
    struct fs x;

    memset(&x, 0, sizeof(x));
    snprintf(dir, sizeof(dir), "/tmp/follow_source_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    x.st = store_open(dir, NULL, &err);
    assert_non_null(x.st);
    x.copy = follow_new(1 << 20);
    x.lazy = follow_new(1 << 20);
    follow_set_source(x.lazy, fs_source, x.st);
    for (int i = 0; i < 1000; i++)
        fs_append(&x);
    assert_int_equal(follow_mem(x.lazy), 0);
    assert_true(follow_mem(x.copy) > 50000);
    buf_init(&x.a[0].seen, 1 << 20);
    buf_init(&x.b[0].seen, 1 << 20);
    fs_toggle(&x, 0);                   /* subscribes: read back */
    assert_true(follow_mem(x.lazy) > 50000);
    fs_commit_step(&x);
    fs_commit_step(&x);
    assert_int_equal(x.b[0].n, 1000);
    fs_toggle(&x, 0);                   /* the same as the copies */
    buf_fini(&x.a[0].seen);
    buf_fini(&x.b[0].seen);
    follow_free(x.copy);
    follow_free(x.lazy);
    store_close(x.st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_source_same_as_copies),
        cmocka_unit_test(test_follow_source_copies_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
