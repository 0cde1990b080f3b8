/* SPDX-License-Identifier: MIT */
/*
 * store_cached_test: store_append_cached (a batch source's label looked
 * up once, then taken from the caller's cache: ingest's path; most
 * batches in one hold of the store's mutex, store_append_held) against
 * store_append (every record's four strings measured and looked up: the
 * reference). Two stores get the same records, one way each, in random
 * batches: many sources (3 hosts x 70 containers), a batch naming a
 * container twice under two names with its records alternating (the
 * label changes with every record), containers renamed between batches,
 * one renamed in every batch past the 64 labels a source may have
 * (STORE_MAX_SOURCE_LABELS: capped, stored under its latest label and
 * counted), times out of order, duplicates (single records and whole
 * batches sent again), a new source's record at offset 0, a record
 * without its message bytes (an error), commits and seals on the way.
 * Every call must answer the same, the counters must agree, both stores
 * must give the same records, and after close write the same files,
 * byte for byte.
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
#include "tests/support/storetest.h"
#include "tests/support/testdir.h"
#include "tests/support/testrng.h"

#define T0       STORETEST_T0
#define N_HOSTS  3
#define N_CIDS   70
#define N_SRC    (N_HOSTS * N_CIDS)
#define MAX_BSRC 8

static uint64_t rng;

static unsigned
rn(unsigned n)
{
    return testrng_below(&rng, n);
}

/* A batch's source: its container's four strings for this batch. */
struct bsrc {
    unsigned src;               /* index into the offsets */
    char     host[8], cid[16], name[24], image[16];
    struct store_label *lab;    /* the cached side's cache */
};

struct draw {
    struct store *s[2];         /* 0: store_append, 1: cached */
    char         *dir[2];       /* testdir_make: removed at exit too */
    uint64_t      off[N_SRC];   /* last offset sent per source */
    unsigned      gen[N_SRC];   /* each source's current name */
    unsigned      n_renamed;    /* the source renamed in every batch */
    int64_t       t;
    int           n_stored;
    int           is_held;      /* the cached store's mutex held */
};

static void
bsrc_make(struct draw *d, struct bsrc *b, unsigned src, int is_alias)
{
    unsigned name = is_alias ? d->gen[src] + 1000 : d->gen[src];

    b->src = src;
    b->lab = NULL;
    snprintf(b->host, sizeof(b->host), "h%u", src % N_HOSTS);
    snprintf(b->cid, sizeof(b->cid), "c%02u", src / N_HOSTS);
    snprintf(b->name, sizeof(b->name), "n%u-%u", src, name);
    snprintf(b->image, sizeof(b->image), "%s", src % 5 == 0 ? "" : "img:1");
}

/* One record of b into both stores: the same answer from each. */
static void
append_both(struct draw *d, struct bsrc *b, uint64_t offset)
{
    char msg[300];
    size_t len = (size_t)snprintf(msg, sizeof(msg), "rec %llu of %s/%s ",
                                  (unsigned long long)offset, b->host,
                                  b->name);
    size_t pad = rn(200);

    memset(msg + len, 'a' + (int)rn(26), pad);
    len += pad;
    d->t += (int64_t)rn(2000000) - 700000;   /* out of order at times */
    struct logrec r = {
        .time_ns = d->t, .recv_ns = T0 + (int64_t)rn(1000),
        .host = b->host, .container_id = b->cid,
        .container = b->name, .image = b->image[0] ? b->image : NULL,
        .stream = (uint8_t)rn(2), .flags = (uint8_t)rn(8),
        .offset = offset, .msg = msg, .msg_len = len,
    };
    if (rn(500) == 0)
        r.msg = NULL;           /* bytes missing: an error either way */
    int ra = store_append(d->s[0], &r);
    /* in runs under one hold of the mutex (ingest's), or one by one */
    int rb = d->is_held ? store_append_held(d->s[1], &r, &b->lab)
                        : store_append_cached(d->s[1], &r, &b->lab);
    assert_int_equal(ra, rb);
    d->n_stored += ra == 1;
}

static void
one_batch(struct draw *d, int round)
{
    struct bsrc b[MAX_BSRC];
    unsigned n_b = 1 + rn(MAX_BSRC - 2);
    uint64_t resend[MAX_BSRC];

    for (unsigned i = 0; i < n_b; i++)
        bsrc_make(d, &b[i], rn(N_SRC), 0);
    /* one source renamed with every batch: past its cap soon */
    d->gen[d->n_renamed]++;
    bsrc_make(d, &b[n_b++], d->n_renamed, 0);
    if (rn(2) == 0)             /* a container under two names at once */
        bsrc_make(d, &b[n_b++], b[0].src, 1);
    int is_resend = round > 0 && rn(8) == 0;
    for (unsigned i = 0; i < n_b; i++)
        resend[i] = d->off[b[i].src] > 5 ? d->off[b[i].src] - 5 : 0;
    unsigned n_rec = rn(3) == 0 ? 1 + rn(5) : 20 + rn(120);
    d->is_held = rn(4) != 0;
    if (d->is_held)
        store_append_hold(d->s[1]);
    for (unsigned k = 0; k < n_rec; k++) {
        /* alternating two labels, else any of the batch's sources */
        unsigned i = k % 4 != 3 && n_b > 1 ? (k & 1) * (n_b - 1) : rn(n_b);
        struct bsrc *x = &b[i];
        uint64_t *off = &d->off[x->src];
        if (is_resend && resend[i] < *off)
            append_both(d, x, ++resend[i]);     /* all duplicates */
        else if (rn(20) == 0 && *off > 0)
            append_both(d, x, *off - rn((unsigned)*off));  /* duplicate */
        else if (*off == 0 && rn(10) == 0)
            append_both(d, x, 0);       /* a new source at 0: dropped */
        else
            append_both(d, x, ++*off);
    }
    if (d->is_held)
        store_append_release(d->s[1]);
    d->is_held = 0;
    /* containers renamed now and then between batches */
    if (rn(4) == 0)
        d->gen[rn(N_SRC)]++;
}

static void
same_stats(struct store *a, struct store *b)
{
    struct store_stats sa, sb;

    store_get_stats(a, &sa);
    store_get_stats(b, &sb);
    assert_int_equal(sa.n_records, sb.n_records);
    assert_int_equal(sa.raw_bytes, sb.raw_bytes);
    assert_int_equal(sa.n_labels, sb.n_labels);
    assert_int_equal(sa.n_labels_capped, sb.n_labels_capped);
    assert_int_equal(sa.pending_records, sb.pending_records);
}

static void
run_draw(uint64_t seed)
{
    struct draw *d = xcalloc(1, sizeof(*d));
    struct store_stats st;
    int n[2];
    struct store_options opt = { .block_size = 8 << 10,
                                 .segment_size = 64 << 10,
                                 .clock = storetest_clock_t0_2h };

    rng = seed;
    d->t = T0;
    d->n_renamed = rn(N_SRC);
    for (int k = 0; k < 2; k++) {
        opt.is_split_encoded = k == 0;  /* and a split's first block */
        d->dir[k] = testdir_make("store_cached_test");
        assert_non_null(d->dir[k]);
        d->s[k] = storetest_open(d->dir[k], &opt);
    }
    for (int round = 0; round < 300; round++) {
        one_batch(d, round);
        if (rn(3) == 0)
            for (int k = 0; k < 2; k++)
                assert_int_equal(store_commit(d->s[k]), 0);
        if (round % 100 == 50) {
            same_stats(d->s[0], d->s[1]);
            storetest_same_records(d->s[0], d->s[1], 0);
        }
    }
    for (int k = 0; k < 2; k++) {
        assert_int_equal(store_commit(d->s[k]), 0);
        assert_int_equal(store_sync(d->s[k]), 0);
    }
    same_stats(d->s[0], d->s[1]);
    store_get_stats(d->s[0], &st);
    assert_true(st.n_labels_capped > 0);        /* the cap was reached */
    assert_true(st.n_labels > 300);    /* 405 with seed 1 */
    storetest_same_records(d->s[0], d->s[1], d->n_stored);
    for (int k = 0; k < 2; k++)
        store_close(d->s[k]);
    storetest_same_files_but_wal(d->dir[0], d->dir[1], &n[0]);
    storetest_same_files_but_wal(d->dir[1], d->dir[0], &n[1]);
    assert_true(n[0] >= 4);             /* several segments were sealed */
    assert_true(st.n_recs_split > 0);   /* the split's paths compared ran */
    /* the WALs (the unsealed tail) replay to the same records */
    for (int k = 0; k < 2; k++)
        d->s[k] = storetest_open(d->dir[k], &opt);
    storetest_same_records(d->s[0], d->s[1], d->n_stored);
    for (int k = 0; k < 2; k++)
        store_close(d->s[k]);
    for (int k = 0; k < 2; k++) {
        char *cmd = xasprintf("rm -rf %s", d->dir[k]);
        assert_int_equal(system(cmd), 0);
        free(cmd);
        free(d->dir[k]);
    }
    free(d);
}

static void
test_store_cached_same_bytes(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_draw(seed * 0x9e3779b97f4a7c15ULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_cached_same_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
