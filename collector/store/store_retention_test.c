/* SPDX-License-Identifier: MIT */
/*
 * store_retention_test: the store through its public API at its limits:
 * retention by size and age (judged by the receive time, the WAL kept),
 * file modes, metadata bombs (a new container name per record, a source
 * renamed with every record), blocks that cannot be sealed quarantined
 * (also every block of a job that starts a segment, and of its retry
 * after a failed write), a full disk (write hook). The fixture:
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

/* 1 when the store's last segment is full (the next job rolls). */
static int
is_last_full(struct store *s)
{
    store_lock(s);
    int is_full = s->n_segs > 0 && (s->segs[s->n_segs - 1]->is_full ||
                                    s->segs[s->n_segs - 1]->raw_bytes >=
                                    s->opt.segment_size);
    store_unlock(s);
    return is_full;
}

static uint64_t
last_seq(struct store *s)
{
    store_lock(s);
    uint64_t seq = s->n_segs > 0 ? s->segs[s->n_segs - 1]->seq : 0;
    store_unlock(s);
    return seq;
}

/* Opens the store and appends source 0's records, 40 a commit, until
 * its last segment is full (the next job rolls); returns the next
 * offset. */
static uint64_t
fill_segment(struct fx *f)
{
    uint64_t off = 1;

    fx_open(f);
    while (!is_last_full(f->s)) {
        assert_int_equal(put_n(f, 0, off, 40), 40);
        off += 40;
        assert_int_equal(store_commit(f->s), 0);
        assert_int_equal(store_sync(f->s), 0);
        assert_true(off < 100000);
    }
    return off;
}

/* A rolling job (its segment would be new) whose every block fails to
 * build writes nothing and creates no segment; the next job rolls again
 * and its segment is indexed (the sealing thread asserts it: segment_seal.c
 * segment_job_run). Every record but the quarantined ones is read back,
 * also after a reopen, and no index is rebuilt. */
static void
test_store_quarantine_rolling_job(void **state)
{
    struct fx *f = *state;
    struct store_stats st;
    uint64_t off = fill_segment(f);

    store_get_stats(f->s, &st);
    uint64_t n_segs = st.n_segments, seq = last_seq(f->s);
    /* a record a commit: the tail goes to the sealing thread once it
     * holds a block, as one block, which fails to build */
    f->fail_what = 3;
    for (uint64_t i = 1; f->fail_what != 0; i++) {
        assert_int_equal(put_n(f, 1, i, 1), 1);
        off++;
        assert_int_equal(store_commit(f->s), 0);
        assert_int_equal(store_sync(f->s), 0);
        assert_true(i < 1000);
    }
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_quarantined_blocks, 1);
    assert_int_equal(st.n_segments, n_segs);    /* none created */
    uint64_t n_q = st.n_quarantined_records;
    assert_int_equal(put_n(f, 2, 1, 300), 300);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_segments, n_segs + 1);
    assert_int_equal(last_seq(f->s), seq + 2);  /* seq + 1: never made */
    int want = (int)(off - 1 + 300 - n_q);
    assert_int_equal(scan_all(f->s), want);
    fx_open(f);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_index_rebuilds, 0);
    assert_int_equal(scan_all(f->s), want);
}

/* A rolling job whose block write fails (its segment's header written)
 * and whose retry's every block fails to build leaves no segment file:
 * the failed write removes the segment it created (it held no block),
 * the retry writes nothing and creates none. Before, an empty segment
 * (its 16-byte header) was left behind, and counted after a reopen. */
static void
test_store_quarantine_rolling_retry(void **state)
{
    struct fx *f = *state;
    struct store_stats st;
    struct stat sb;
    uint64_t off = fill_segment(f);

    store_get_stats(f->s, &st);
    uint64_t n_segs = st.n_segments, seq = last_seq(f->s);
    char *path = store_seg_path(f->s, seq + 1);
    /* a record a commit until the tail, one block, goes to the sealing
     * thread, which creates segment seq + 1 and fails to write it */
    f->fail_what = 4;
    uint64_t i = 1;
    for (; st.n_seal_errors == 0; i++) {
        assert_int_equal(put_n(f, 1, i, 1), 1);
        off++;
        assert_int_equal(store_commit(f->s), 0);
        (void)store_sync(f->s);
        store_get_stats(f->s, &st);
        assert_true(i < 1000);
    }
    /* the retry, at the next commit: its one block fails to build
     * (quarantined) */
    f->fail_what = 3;
    assert_int_equal(put_n(f, 1, i, 1), 1);
    off++;
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    assert_int_equal(f->fail_what, 0);          /* the hook ran */
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_quarantined_blocks, 1);
    assert_int_equal(st.n_segments, n_segs);
    if (stat(path, &sb) == 0)
        fail_msg("%s left behind (%lld bytes)", path, (long long)sb.st_size);
    uint64_t n_q = st.n_quarantined_records;
    assert_true(n_q > 0);
    assert_int_equal(put_n(f, 2, 1, 300), 300);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    int want = (int)(off - 1 + 300 - n_q);
    assert_int_equal(scan_all(f->s), want);
    fx_open(f);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_segments, n_segs + 1);
    assert_int_equal(st.n_index_rebuilds, 0);
    assert_int_equal(scan_all(f->s), want);
    free(path);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_store_retention_size),
        T(test_store_retention_age),
        T(test_store_file_modes),
        T(test_store_retention_keeps_wal),
        T(test_store_retention_age_future_record),
        T(test_store_label_bomb),
        T(test_store_labels_per_source_capped),
        T(test_store_disk_full),
        T(test_store_quarantine_unsealable),
        T(test_store_quarantine_build_failure),
        T(test_store_quarantine_rolling_job),
        T(test_store_quarantine_rolling_retry),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
