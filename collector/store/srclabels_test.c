/* SPDX-License-Identifier: MIT */
/*
 * srclabels_test: a source's Docker labels in the store (STORE.md "Source
 * labels"): on records from cursors and in store_foreach_source, durable
 * at commit and back after a reopen (also after the WAL's records were
 * sealed), last wins, the 64-set cap, a torn or damaged labels.lql (a
 * damaged entry amid good ones costing that entry only; one shorter than
 * its header), a failed append that cannot be cut back at first, a
 * failed write keeping the commit failing, a store written before labels
 * (no labels.lql) opening, and compaction of a mostly stale file.
 */
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
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "common/labelset.h"
#include "common/xmalloc.h"

#define T0  1700000000000000000LL
#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fx {
    char                 dir[64];
    struct store        *s;
    struct store_options opt;
    int                  fail_labels;
    int                  fail_cut;      /* cutting a failed append fails */
};

static int
hook(const char *what, size_t len, void *arg)
{
    struct fx *f = arg;

    (void)len;
    if ((f->fail_labels && strcmp(what, "labels") == 0) ||
        (f->fail_cut && strcmp(what, "labels-cut") == 0)) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/srclabels_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->opt.block_size = 4096;
    f->opt.write_hook = hook;
    f->opt.write_hook_arg = f;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd = xasprintf("rm -rf '%s'", f->dir);

    store_close(f->s);
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
    if (f->s == NULL)
        fail_msg("store_open: %s", err);
}

static struct labelset *
ls_of(const char *json)
{
    char *err = NULL;
    struct labelset *ls = labelset_parse(json, strlen(json), NULL, &err);

    assert_non_null(ls);
    return ls;
}

static void
put(struct fx *f, const char *cid, uint64_t off)
{
    struct logrec r = {
        .time_ns = T0 + (int64_t)off, .host = "node1", .container_id = cid,
        .container = "web-1", .image = "nginx", .offset = off,
        .msg = "hello", .msg_len = 5,
    };
    assert_int_equal(store_append(f->s, &r), 1);
}

/* Sets json as cid's labels; the store's rc. */
static int
set(struct fx *f, const char *cid, const char *json)
{
    struct labelset *ls = ls_of(json);
    const struct labelset *cur = NULL;
    int rc = store_set_labels(f->s, "node1", cid, ls, strlen(json), &cur);

    if (rc >= 0)
        assert_true(labelset_is_equal(cur, ls));
    labelset_free(ls);
    return rc;
}

/* The canonical labels of cid's newest record ("-" if none). */
static char *
record_labels(struct fx *f, const char *cid)
{
    static char out[4096];
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1, .container_id = cid };
    struct store_cursor *c = store_cursor_new(f->s, &fl, 1);
    struct logrec r;

    snprintf(out, sizeof(out), "none");
    if (store_cursor_next(c, &r) == 1)
        snprintf(out, sizeof(out), "%s",
                 r.labels != NULL ? r.labels->json : "-");
    store_cursor_free(c);
    return out;
}

struct src_find {
    const char *cid;
    const struct labelset *ls;
    int found;
};

static void
src_cb(const struct store_source_info *si, void *arg)
{
    struct src_find *sf = arg;

    if (strcmp(si->container_id, sf->cid) == 0) {
        sf->found = 1;
        sf->ls = si->labels;
    }
}

static const char *
source_labels(struct fx *f, const char *cid)
{
    struct src_find sf = { .cid = cid };

    store_foreach_source(f->s, src_cb, &sf);
    assert_true(sf.found);
    return sf.ls != NULL ? sf.ls->json : "-";
}

static void
test_srclabels_on_records_and_restart(void **state)
{
    struct fx *f = *state;
    const char *j = "{\"com.docker.compose.service\":\"web\","
                    "\"com.docker.compose.project\":\"shop\"}";
    const char *canon = "{\"com.docker.compose.project\":\"shop\","
                        "\"com.docker.compose.service\":\"web\"}";

    fx_open(f);
    put(f, CID, 10);
    assert_int_equal(set(f, CID, j), 1);
    assert_int_equal(set(f, CID, j), 0);          /* the same: no change */
    assert_int_equal(store_commit(f->s), 0);
    assert_string_equal(record_labels(f, CID), canon);
    assert_string_equal(source_labels(f, CID), canon);
    assert_non_null(store_labels_known(f->s, "node1", CID, strlen(j)));
    assert_null(store_labels_known(f->s, "node1", CID, strlen(j) + 1));
    /* kill -9 after the commit: nothing closes the store */
    fx_open(f);
    assert_string_equal(record_labels(f, CID), canon);
    assert_string_equal(source_labels(f, CID), canon);
    /* the text hash is not kept: the first batch after a restart parses */
    assert_null(store_labels_known(f->s, "node1", CID, strlen(j)));
    /* sealed records still carry them */
    for (uint64_t off = 11; off < 200; off++)
        put(f, CID, off);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    fx_open(f);
    assert_string_equal(record_labels(f, CID), canon);
}

static void
test_srclabels_last_wins(void **state)
{
    struct fx *f = *state;
    char cid2[65];

    memcpy(cid2, CID, 65);
    cid2[0] = 'f';
    fx_open(f);
    put(f, CID, 1);
    put(f, cid2, 1);
    assert_int_equal(set(f, CID, "{\"a\":\"1\"}"), 1);
    assert_int_equal(set(f, cid2, "{\"b\":\"2\"}"), 1);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(set(f, CID, "{\"a\":\"3\"}"), 1);
    assert_int_equal(store_commit(f->s), 0);
    assert_string_equal(record_labels(f, CID), "{\"a\":\"3\"}");
    fx_open(f);
    assert_string_equal(record_labels(f, CID), "{\"a\":\"3\"}");
    assert_string_equal(record_labels(f, cid2), "{\"b\":\"2\"}");
    /* an empty set replaces too (the container's labels are gone) */
    assert_int_equal(set(f, CID, "{}"), 1);
    assert_int_equal(store_commit(f->s), 0);
    fx_open(f);
    assert_string_equal(record_labels(f, CID), "{}");
}

static void
test_srclabels_cap(void **state)
{
    struct fx *f = *state;
    char j[64];
    struct store_stats st;

    fx_open(f);
    put(f, CID, 1);
    for (int i = 0; i < 64; i++) {
        snprintf(j, sizeof(j), "{\"v\":\"%d\"}", i);
        assert_int_equal(set(f, CID, j), 1);
    }
    /* a refused text, sent with every batch as ingest does (parsed and
     * set only when store_labels_known does not know its hash): refused
     * and counted once, the source keeping its set */
    struct labelset *x = ls_of("{\"v\":\"x\"}");
    for (int batch = 0; batch < 3; batch++) {
        const struct labelset *cur =
            store_labels_known(f->s, "node1", CID, 1000);
        if (cur == NULL)
            assert_int_equal(store_set_labels(f->s, "node1", CID, x, 1000,
                                              &cur), -1);
        assert_string_equal(cur->json, "{\"v\":\"63\"}");
    }
    labelset_free(x);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_labelsets_capped, 1);
    assert_int_equal(set(f, CID, "{\"v\":\"63\"}"), 0);  /* unchanged: ok */
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_labelsets_capped, 1);
    assert_int_equal(store_commit(f->s), 0);
    assert_string_equal(record_labels(f, CID), "{\"v\":\"63\"}");
    fx_open(f);
    assert_string_equal(record_labels(f, CID), "{\"v\":\"63\"}");
}

static off_t
file_size(struct fx *f)
{
    char *p = xasprintf("%s/labels.lql", f->dir);
    struct stat st;

    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(p);
    return st.st_size;
}

static void
test_srclabels_torn_and_damaged(void **state)
{
    struct fx *f = *state;
    char *p = xasprintf("%s/labels.lql", f->dir);

    fx_open(f);
    put(f, CID, 1);
    assert_int_equal(set(f, CID, "{\"a\":\"1\"}"), 1);
    assert_int_equal(store_commit(f->s), 0);
    off_t good = file_size(f);
    assert_int_equal(set(f, CID, "{\"a\":\"2\"}"), 1);
    assert_int_equal(store_commit(f->s), 0);
    off_t whole = file_size(f);
    store_close(f->s);
    f->s = NULL;
    /* every cut inside the second entry: the first one's set, and the
     * file cut back to it */
    for (off_t cut = good; cut < whole; cut++) {
        assert_int_equal(truncate(p, whole), 0);
        assert_int_equal(truncate(p, cut), 0);
        fx_open(f);
        assert_string_equal(record_labels(f, CID), "{\"a\":\"1\"}");
        store_close(f->s);
        f->s = NULL;
        /* the cut was compacted to one entry again */
        assert_int_equal(file_size(f), good);
        /* restore the second entry for the next cut */
        fx_open(f);
        assert_int_equal(set(f, CID, "{\"a\":\"2\"}"), 1);
        assert_int_equal(store_commit(f->s), 0);
        assert_int_equal(file_size(f), whole);
        store_close(f->s);
        f->s = NULL;
    }
    /* a damaged header: the store opens, the labels come with the next
     * batch */
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
    close(fd);
    fx_open(f);
    assert_string_equal(record_labels(f, CID), "-");
    assert_int_equal(set(f, CID, "{\"a\":\"2\"}"), 1);
    assert_int_equal(store_commit(f->s), 0);
    fx_open(f);
    assert_string_equal(record_labels(f, CID), "{\"a\":\"2\"}");
    free(p);
}

/* A damaged entry amid good ones (a flipped byte, not a torn append)
 * loses that entry's set only: the sets after it are replayed, and the
 * damage is counted as a corrupt entry, not as a torn tail. */
static void
test_srclabels_damaged_entry_midway(void **state)
{
    struct fx *f = *state;
    static const char *const cids[3] = {
        CID,
        "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "2123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    };
    char *p = xasprintf("%s/labels.lql", f->dir);
    off_t ends[3];

    fx_open(f);
    for (int i = 0; i < 3; i++) {
        put(f, cids[i], 1);
        char *json = xasprintf("{\"n\":\"%d\"}", i);
        assert_int_equal(set(f, cids[i], json), 1);
        free(json);
        assert_int_equal(store_commit(f->s), 0);
        ends[i] = file_size(f);
    }
    store_close(f->s);
    f->s = NULL;
    int fd = open(p, O_RDWR);
    uint8_t c;
    assert_true(fd >= 0);
    off_t at = ends[0] + (ends[1] - ends[0]) / 2;  /* in entry 2's payload */
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
    fx_open(f);
    struct store_stats st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_torn_cuts, 0);
    assert_int_equal(st.n_corrupt_blocks, 1);
    assert_string_equal(record_labels(f, cids[0]), "{\"n\":\"0\"}");
    assert_string_equal(record_labels(f, cids[1]), "-");
    assert_string_equal(record_labels(f, cids[2]), "{\"n\":\"2\"}");
    /* rewritten without the damaged entry: the next open finds none */
    fx_open(f);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_corrupt_blocks, 0);
    assert_string_equal(record_labels(f, cids[2]), "{\"n\":\"2\"}");
    free(p);
}

/* A labels.lql shorter than its header (damage): rewritten at open, not
 * appended to without a header (which lost every later set at the next
 * open); counted as a corrupt file. */
static void
test_srclabels_short_file(void **state)
{
    struct fx *f = *state;
    char *p = xasprintf("%s/labels.lql", f->dir);
    struct store_stats st;

    fx_open(f);
    put(f, CID, 1);
    assert_int_equal(store_commit(f->s), 0);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(truncate(p, 4), 0);
    fx_open(f);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_corrupt_blocks, 1);
    assert_int_equal(set(f, CID, "{\"a\":\"1\"}"), 1);
    assert_int_equal(store_commit(f->s), 0);
    fx_open(f);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_corrupt_blocks, 0);
    assert_string_equal(record_labels(f, CID), "{\"a\":\"1\"}");
    free(p);
}

static void
test_srclabels_write_fails(void **state)
{
    struct fx *f = *state;

    fx_open(f);
    put(f, CID, 1);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(set(f, CID, "{\"a\":\"1\"}"), 1);
    put(f, CID, 2);
    f->fail_labels = 1;
    assert_int_equal(store_commit(f->s), -1);   /* nothing acknowledged */
    assert_non_null(strstr(store_errstr(f->s), "labels.lql"));
    f->fail_labels = 0;
    assert_int_equal(store_commit(f->s), 0);     /* retried */
    fx_open(f);
    assert_string_equal(record_labels(f, CID), "{\"a\":\"1\"}");
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1 };
    struct store_cursor *c = store_cursor_new(f->s, &fl, 1);
    struct logrec r;
    int n = 0;
    while (store_cursor_next(c, &r) == 1)
        n++;
    store_cursor_free(c);
    assert_int_equal(n, 2);
}

/* A failed append that cannot be cut back either: commits fail while the
 * cut keeps failing (appending after torn bytes would hide the entries at
 * the next open), and succeed once it works, instead of failing until a
 * restart. */
static void
test_srclabels_cut_fails(void **state)
{
    struct fx *f = *state;

    fx_open(f);
    put(f, CID, 1);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(set(f, CID, "{\"a\":\"1\"}"), 1);
    put(f, CID, 2);
    f->fail_labels = 1;
    f->fail_cut = 1;
    assert_int_equal(store_commit(f->s), -1);
    f->fail_labels = 0;
    assert_int_equal(store_commit(f->s), -1);   /* still cannot cut */
    assert_non_null(strstr(store_errstr(f->s), "labels.lql"));
    f->fail_cut = 0;
    assert_int_equal(store_commit(f->s), 0);
    fx_open(f);
    assert_string_equal(record_labels(f, CID), "{\"a\":\"1\"}");
}

static void
test_srclabels_old_store_and_compaction(void **state)
{
    struct fx *f = *state;
    char *p = xasprintf("%s/labels.lql", f->dir);

    fx_open(f);
    put(f, CID, 1);
    assert_int_equal(store_commit(f->s), 0);
    store_close(f->s);
    f->s = NULL;
    /* a store from before labels: no labels.lql */
    assert_int_equal(unlink(p), 0);
    fx_open(f);
    assert_string_equal(record_labels(f, CID), "-");
    assert_string_equal(source_labels(f, CID), "-");
    assert_int_equal(file_size(f), 8);      /* created, header only */
    /* 60 changes, then a reopen compacts them into one entry */
    char j[32];
    for (int i = 0; i < 60; i++) {
        snprintf(j, sizeof(j), "{\"v\":\"%d\"}", i);
        assert_int_equal(set(f, CID, j), 1);
        assert_int_equal(store_commit(f->s), 0);
    }
    off_t before = file_size(f);
    fx_open(f);
    assert_string_equal(record_labels(f, CID), "{\"v\":\"59\"}");
    fx_open(f);     /* under the threshold: kept as it is */
    assert_int_equal(file_size(f), before);
    for (int i = 0; i < 64; i++) {
        snprintf(j, sizeof(j), "{\"w\":\"%d\"}", i);
        assert_int_equal(set(f, CID, j), 1);
        assert_int_equal(store_commit(f->s), 0);
    }
    fx_open(f);     /* 125 entries for one source: compacted */
    assert_true(file_size(f) < before / 10);
    assert_string_equal(record_labels(f, CID), "{\"w\":\"63\"}");
    free(p);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_srclabels_on_records_and_restart),
        T(test_srclabels_last_wins),
        T(test_srclabels_cap),
        T(test_srclabels_torn_and_damaged),
        T(test_srclabels_damaged_entry_midway),
        T(test_srclabels_short_file),
        T(test_srclabels_write_fails),
        T(test_srclabels_cut_fails),
        T(test_srclabels_old_store_and_compaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
