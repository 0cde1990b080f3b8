/* SPDX-License-Identifier: MIT */
/*
 * store_commit_test: the two-step commit (store_commit_begin / _end) with
 * the WAL's fdatasync on the store's syncing thread. A sync hook that
 * blocks holds the commit in flight: its records must not be committed
 * (store_commit_end 1, the fd readable) before the sync returned, but
 * are visible to cursors once their WAL entry is written (those appended
 * meanwhile are not); a failed sync leaves them pending for the next
 * commit, and visible; while a sync is in flight store_commit_ahead
 * writes the records appended since (visible at once, durable with the
 * next commit), a seal carrying those into the next tail still visible
 * (their first copy cut off the old WAL file) and each record once after
 * a kill -9 (a copy of the directory); a
 * seal after a commit takes only the committed records, the ones appended
 * while it synced stay in the tail (and out of the segment files: a copy
 * of the directory taken then, as a kill -9 would leave it, opens without
 * them).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "collector/store/store_internal.h"    /* STORE_WAL_MAX_FILES */
#include "common/xmalloc.h"
#include "tests/support/storetest.h"

#define T0 1700000000000000000LL

struct fx {
    char            dir[64];
    struct store   *s;
    struct store_options opt;
    struct storetest_gate gate;     /* syncs */
    int             n_fail;         /* syncs still to fail (EIO); gate.mu */
    int             n_bad_what;     /* hook calls not for "wal"; gate.mu */
};

/* Runs on the syncing thread. Waits at most 20 s (never hangs a test). */
static int
sync_hook(const char *what, void *arg)
{
    struct fx *f = arg;
    int rc = 0;

    pthread_mutex_lock(&f->gate.mu);
    f->n_bad_what += strcmp(what, "wal") != 0;  /* no cmocka off main */
    storetest_gate_enter_locked(&f->gate);
    if (f->n_fail > 0) {
        f->n_fail--;
        errno = EIO;
        rc = -1;
    }
    pthread_mutex_unlock(&f->gate.mu);
    return rc;
}

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/store_commit_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->opt.block_size = 4096;
    f->opt.segment_size = 64 << 10;
    f->opt.sync_hook = sync_hook;
    f->opt.sync_hook_arg = f;
    storetest_gate_init(&f->gate);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    storetest_gate_release(&f->gate);
    store_close(f->s);
    assert_int_equal(f->n_bad_what, 0);
    char *cmd = xasprintf("rm -rf '%s' '%s.copy'", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    storetest_gate_fini(&f->gate);
    free(f);
    return 0;
}

/* Records off0 .. off0+n-1 of source cid, ~60 bytes each. */
static void
put_cid(struct store *s, const char *cid, uint64_t off0, int n)
{
    char msg[64];

    for (int i = 0; i < n; i++) {
        uint64_t off = off0 + (uint64_t)i;
        struct logrec r = {
            .time_ns = T0 + (int64_t)off * 1000, .host = "h1",
            .container_id = cid, .container = "web", .image = "nginx",
            .offset = off, .msg = msg, .recv_ns = T0,
        };
        snprintf(msg, sizeof(msg), "line %llu of the commit test",
                 (unsigned long long)off);
        r.msg_len = strlen(msg);
        assert_int_equal(store_append(s, &r), 1);
    }
}

static void
put_n(struct store *s, uint64_t off0, int n)
{
    put_cid(s, "cid1", off0, n);
}

/* Every record of cid1 a cursor sees: offsets 1, 2, ... in order, each
 * message intact; returns how many (those of other sources are not
 * counted). */
static int
scan_all(struct store *s)
{
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1 };
    struct store_cursor *c = store_cursor_new(s, &fl, 0);
    struct logrec r;
    char want[64];
    int n = 0;

    while (store_cursor_next(c, &r) == 1) {
        if (strcmp(r.container_id, "cid1") != 0)
            continue;
        n++;
        assert_int_equal(r.offset, (uint64_t)n);
        snprintf(want, sizeof(want), "line %d of the commit test", n);
        assert_int_equal(r.msg_len, strlen(want));
        assert_memory_equal(r.msg, want, r.msg_len);
    }
    store_cursor_free(c);
    return n;
}

/* The WAL files of dir: how many, the largest one's bytes (*max) and
 * all of theirs (*sum); with is_empty each is checked to hold no entry
 * to replay (emptied once their records are sealed:
 * storetest_is_wal_empty). */
static int
wal_files(const char *dir, int is_empty, off_t *max, off_t *sum)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    *max = *sum = 0;
    while ((de = readdir(d)) != NULL) {
        if (is_empty ? !storetest_is_wal_empty(dir, de->d_name)
                     : strncmp(de->d_name, "wal", 3) != 0)
            continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        if (st.st_size > *max)
            *max = st.st_size;
        *sum += st.st_size;
        free(path);
        n++;
    }
    closedir(d);
    return n;
}

static void
wait_entered(struct fx *f, int n)
{
    assert_int_equal(storetest_gate_wait(&f->gate, n), n);
}

/* Ends the commit in flight: its fd must turn readable (20 s bound);
 * store_commit_end 0 after a wake-up of the sealing thread's (a seal job
 * ended, the commit still syncing) waits for the next one. */
static int
end_commit(struct store *s)
{
    int rc;

    do
        assert_true(storetest_fd_is_readable(store_commit_fd(s), 20000));
    while ((rc = store_commit_end(s)) == 0);
    return rc;
}

static void
test_commit_not_done_while_sync_blocked(void **state)
{
    struct fx *f = *state;

    f->s = storetest_open(f->dir, &f->opt);
    f->gate.is_blocking = 1;
    put_n(f->s, 1, 30);
    assert_int_equal(store_commit_begin(f->s), 1);
    wait_entered(f, 1);
    /* In flight: nothing committed, nothing to wake the loop; written,
     * so visible. */
    for (int i = 0; i < 3; i++) {
        assert_false(storetest_fd_is_readable(store_commit_fd(f->s), 10));
        assert_int_equal(store_commit_end(f->s), 0);
        assert_int_equal(scan_all(f->s), 30);
    }
    put_n(f->s, 31, 10);        /* belongs to the next commit */
    assert_int_equal(scan_all(f->s), 30);   /* in no entry yet */
    storetest_gate_release(&f->gate);
    assert_int_equal(end_commit(f->s), 1);
    assert_int_equal(scan_all(f->s), 30);
    pthread_mutex_lock(&f->gate.mu);        /* the next sync blocks too */
    f->gate.is_released = 0;
    pthread_mutex_unlock(&f->gate.mu);
    assert_int_equal(store_commit_begin(f->s), 1);
    wait_entered(f, 2);
    assert_int_equal(store_commit_end(f->s), 0);
    assert_int_equal(scan_all(f->s), 40);   /* before its sync returned */
    storetest_gate_release(&f->gate);
    assert_int_equal(end_commit(f->s), 1);
    assert_int_equal(scan_all(f->s), 40);
    assert_int_equal(store_commit_begin(f->s), 0);  /* nothing pending */
    /* No wake-up left behind to spin the caller's loop. */
    assert_false(storetest_fd_is_readable(store_commit_fd(f->s), 0));
    assert_int_equal(store_commit_end(f->s), 1);
    store_close(f->s);
    f->s = storetest_open(f->dir, &f->opt);
    assert_int_equal(scan_all(f->s), 40);
}

static void
test_commit_sync_failure_retried(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    f->s = storetest_open(f->dir, &f->opt);
    f->n_fail = 1;
    put_n(f->s, 1, 25);
    assert_int_equal(store_commit_begin(f->s), 1);
    assert_int_equal(end_commit(f->s), -1);
    assert_non_null(strstr(store_errstr(f->s), "wal sync"));
    assert_int_equal(scan_all(f->s), 25);   /* stays visible, pending */
    put_n(f->s, 26, 5);
    assert_int_equal(scan_all(f->s), 25);
    /* The next commit writes the failed commit's records again. */
    assert_int_equal(store_commit_begin(f->s), 1);
    assert_int_equal(end_commit(f->s), 1);
    assert_int_equal(scan_all(f->s), 30);
    store_close(f->s);
    f->s = storetest_open(f->dir, &f->opt);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_torn_cuts, 0);    /* the failed entry was cut */
    assert_int_equal(st.n_wal_replayed, 30);
    assert_int_equal(scan_all(f->s), 30);
}

/* dir copied to dir.suffix as a kill -9 would leave it now (the page
 * cache's bytes), opened without the blocking hook: the records of cid1
 * it holds (scan_all: each once, in order). */
static int
scan_copy(struct fx *f, const char *suffix)
{
    struct store_options o = f->opt;
    char *cmd = xasprintf("rm -rf '%s.%s' && cp -a '%s' '%s.%s'", f->dir,
                          suffix, f->dir, f->dir, suffix);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    o.sync_hook = NULL;
    char *copy = xasprintf("%s.%s", f->dir, suffix);
    struct store *c = storetest_open(copy, &o);
    int n = scan_all(c);
    store_close(c);
    cmd = xasprintf("rm -rf '%s'", copy);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(copy);
    return n;
}

/* Commits pipelined past the sync in flight: while it blocks,
 * store_commit_ahead writes what was appended since (after the entry
 * being synced) and makes it visible at once, again and again; the
 * sync's end commits only its own records (the rest still unsynced: not
 * to be acknowledged), and the next commit syncs the entries written
 * ahead though nothing is pending. A kill -9 during the sync keeps every
 * record written (the page cache holds the entries), each once. */
static void
test_commit_ahead_visible_before_sync(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    f->s = storetest_open(f->dir, &f->opt);
    f->gate.is_blocking = 1;
    assert_int_equal(store_commit_ahead(f->s), 0);  /* none in flight */
    put_n(f->s, 1, 30);
    assert_int_equal(store_commit_begin(f->s), 1);
    wait_entered(f, 1);
    put_n(f->s, 31, 10);
    assert_int_equal(scan_all(f->s), 30);
    assert_int_equal(store_commit_ahead(f->s), 1);
    assert_int_equal(scan_all(f->s), 40);   /* the sync still blocked */
    put_n(f->s, 41, 5);
    assert_int_equal(store_commit_ahead(f->s), 1);
    assert_int_equal(store_commit_ahead(f->s), 0);  /* nothing new */
    assert_int_equal(scan_all(f->s), 45);
    assert_int_equal(store_commit_end(f->s), 0);
    assert_int_equal(scan_copy(f, "copy"), 45);
    storetest_gate_release(&f->gate);
    assert_int_equal(end_commit(f->s), 1);
    assert_int_equal(scan_all(f->s), 45);
    assert_true(store_unsynced_bytes(f->s) > 0);    /* 31..45 */
    assert_int_equal(store_commit_begin(f->s), 1);  /* syncs them */
    assert_int_equal(end_commit(f->s), 1);
    assert_int_equal(store_unsynced_bytes(f->s), 0);
    assert_int_equal(store_commit_begin(f->s), 0);  /* nothing left */
    store_close(f->s);
    f->s = storetest_open(f->dir, &f->opt);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_torn_cuts, 0);
    assert_int_equal(st.n_wal_replayed, 45);
    assert_int_equal(scan_all(f->s), 45);
}

/* A failed sync cuts the file back to its durable end, the entries
 * written ahead of it too: their records stay visible and pending, the
 * next commit writes and syncs them all once. */
static void
test_commit_ahead_sync_failure(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    f->s = storetest_open(f->dir, &f->opt);
    put_n(f->s, 1, 10);
    assert_int_equal(store_commit(f->s), 0);
    f->gate.is_blocking = 1;
    f->n_fail = 1;
    put_n(f->s, 11, 20);
    assert_int_equal(store_commit_begin(f->s), 1);
    wait_entered(f, 2);
    put_n(f->s, 31, 10);
    assert_int_equal(store_commit_ahead(f->s), 1);
    assert_int_equal(scan_all(f->s), 40);
    storetest_gate_release(&f->gate);
    assert_int_equal(end_commit(f->s), -1);
    assert_int_equal(scan_all(f->s), 40);   /* shown: not taken back */
    assert_int_equal(scan_copy(f, "copy"), 10);     /* cut to the synced */
    put_n(f->s, 41, 5);
    assert_int_equal(store_commit_begin(f->s), 1);
    assert_int_equal(end_commit(f->s), 1);
    assert_int_equal(store_unsynced_bytes(f->s), 0);
    assert_int_equal(scan_all(f->s), 45);
    store_close(f->s);
    f->s = storetest_open(f->dir, &f->opt);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_torn_cuts, 0);
    assert_int_equal(st.n_wal_replayed, 45);
    assert_int_equal(scan_all(f->s), 45);
}

/* n records synced while 100 more (and one of a new source) are written
 * ahead of the sync and 5 more appended, unwritten: the tail is full at
 * the sync's end, the committed n are sealed and the rest carried into
 * the new tail with its visibility (the 100 stay visible, the 5 not), the
 * visible ones written into the new WAL file at once. A kill -9 before
 * the sealed job emptied the old file finds them in both files (replay
 * keeps the older copy, skips the newer by high water), after it in the
 * new one only: each once either way. */
static void
seal_carries_visible(struct fx *f, int n)
{
    f->s = storetest_open(f->dir, &f->opt);
    f->gate.is_blocking = 1;
    put_n(f->s, 1, n);
    assert_int_equal(store_commit_begin(f->s), 1);
    wait_entered(f, 1);
    put_n(f->s, (uint64_t)n + 1, 100);
    put_cid(f->s, "cid2", 1, 1);            /* a source new in them */
    assert_int_equal(store_commit_ahead(f->s), 1);
    put_n(f->s, (uint64_t)n + 101, 5);      /* in no entry yet */
    assert_int_equal(scan_all(f->s), n + 100);
    size_t old = f->s->wal_cur;
    storetest_gate_release(&f->gate);
    assert_int_equal(end_commit(f->s), 1);  /* seals the first n */
    assert_true(f->s->wal_cur != old);
    uint64_t durable = f->s->wals[old].len;
    struct stat st;
    assert_int_equal(fstat(f->s->wals[old].fd, &st), 0);
    assert_true((uint64_t)st.st_size > durable);    /* written ahead */
    assert_int_equal(scan_all(f->s), n + 100);
    assert_int_equal(scan_copy(f, "copy"), n + 100);
    assert_int_equal(store_sync(f->s), 0);  /* the old file emptied */
    /* the entries written ahead, copied into the new file, were cut off
     * the old one by the sealing thread (never synced: else the file's
     * next fdatasync writes them) */
    assert_int_equal(fstat(f->s->wals[old].fd, &st), 0);
    assert_int_equal((uint64_t)st.st_size, durable);
    assert_int_equal(scan_all(f->s), n + 100);
    assert_int_equal(scan_copy(f, "copy"), n + 100);
    assert_int_equal(store_source_offset(f->s, "h1", "cid2"), 1);
    assert_int_equal(store_commit_begin(f->s), 1);
    assert_int_equal(end_commit(f->s), 1);
    assert_int_equal(store_unsynced_bytes(f->s), 0);
    assert_int_equal(scan_all(f->s), n + 105);
    assert_int_equal(scan_copy(f, "copy"), n + 105);
    store_close(f->s);
    f->s = storetest_open(f->dir, &f->opt);
    assert_int_equal(scan_all(f->s), n + 105);
    assert_int_equal(store_source_offset(f->s, "h1", "cid2"), 1);
}

static void
test_commit_ahead_seal_carries_visible(void **state)
{
    seal_carries_visible(*state, 140);
}

static void
test_commit_ahead_seal_split_carries_visible(void **state)
{
    seal_carries_visible(*state, 200);
}

/* n records, then 100 more and one of a new source while their commit
 * syncs; the tail is full when it ends. */
static void
seal_keeps_uncommitted(struct fx *f, int n)
{
    f->s = storetest_open(f->dir, &f->opt);
    f->gate.is_blocking = 1;
    put_n(f->s, 1, n);
    assert_int_equal(store_commit_begin(f->s), 1);
    wait_entered(f, 1);
    put_n(f->s, (uint64_t)n + 1, 100);      /* appended while it syncs */
    put_cid(f->s, "cid2", 1, 1);            /* a source new in them */
    storetest_gate_release(&f->gate);
    assert_int_equal(end_commit(f->s), 1);  /* seals the first n */
    assert_int_equal(store_sync(f->s), 0);
    assert_int_equal(scan_all(f->s), n);
    /* Sealed: their WAL file emptied; the next one not written yet (every
     * file exists from the open on, empty). The sealed one is not cut (version 5: reused as it is, so that the
     * commits written into it again overwrite its blocks). */
    off_t max, sum;
    assert_int_equal(wal_files(f->dir, 1, &max, &sum), STORE_WAL_MAX_FILES);
    assert_true(max > 16 + 8 * (off_t)n);
    /* As a kill -9 would leave it now: the n only. */
    char *cmd = xasprintf("cp -a '%s' '%s.copy'", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    char *copy = xasprintf("%s.copy", f->dir);
    struct store *c = storetest_open(copy, &f->opt);
    assert_int_equal(scan_all(c), n);
    /* The sealed block's meta: cid1 up to n, nothing of cid2. */
    assert_int_equal(store_source_offset(c, "h1", "cid1"), (uint64_t)n);
    assert_false(store_has_source(c, "h1", "cid2"));
    store_close(c);
    free(copy);
    assert_int_equal(store_commit_begin(f->s), 1);
    assert_int_equal(end_commit(f->s), 1);
    assert_int_equal(scan_all(f->s), n + 100);
    put_n(f->s, (uint64_t)n + 101, 100);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    assert_int_equal(scan_all(f->s), n + 200);
    store_close(f->s);
    f->s = NULL;
    /* All sealed: the close cut the reused files' stale entries (each a
     * bare header), and the records are all there after the reopen. */
    assert_true(wal_files(f->dir, 1, &max, &sum) > 0);
    assert_int_equal(max, 16);
    f->s = storetest_open(f->dir, &f->opt);
    assert_int_equal(scan_all(f->s), n + 200);
    assert_int_equal(store_source_offset(f->s, "h1", "cid2"), 1);
}

/* ~5 KiB committed: sealed as one block, the tail's own stats. */
static void
test_commit_seal_keeps_uncommitted(void **state)
{
    seal_keeps_uncommitted(*state, 140);
}

/* ~7 KiB committed: split into blocks of ~4 KiB. */
static void
test_commit_seal_split_keeps_uncommitted(void **state)
{
    seal_keeps_uncommitted(*state, 200);
}

/* store_commit (one step) while a commit is in flight ends that one
 * first, then commits the rest. */
static void
test_commit_sync_after_begin(void **state)
{
    struct fx *f = *state;

    f->s = storetest_open(f->dir, &f->opt);
    put_n(f->s, 1, 10);
    assert_int_equal(store_commit_begin(f->s), 1);
    put_n(f->s, 11, 10);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(scan_all(f->s), 20);
    assert_int_equal(store_commit_end(f->s), 1);    /* none in flight */
}

/* Version 5 files are reused with the entries of their earlier
 * generations left past the live ones (so that commits overwrite
 * allocated blocks): store_wal_trim cuts them once the store is idle
 * (the first call after commits only notes them, a commit between two
 * calls defers the cut), leaving the live entries alone: on disk then
 * exactly the tail info's wal_bytes, and every record there after more
 * commits and a reopen. Before, the stale entries stayed until the
 * close (30 MiB after the 1 GiB bench). */
static void
test_wal_trim_when_idle(void **state)
{
    struct fx *f = *state;
    struct store_tail_info ti;
    off_t max, sum, sum0;

    f->s = storetest_open(f->dir, &f->opt);
    for (int i = 0; i < 60; i++) {      /* ~9 blocks sealed */
        put_n(f->s, (uint64_t)i * 10 + 1, 10);
        assert_int_equal(store_commit(f->s), 0);
    }
    assert_int_equal(store_sync(f->s), 0);
    assert_int_equal(store_wal_trim(f->s), 0);  /* commits since the last
                                                   call: only noted */
    put_n(f->s, 601, 10);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_wal_trim(f->s), 0);  /* one since: not idle */
    store_get_tail_info(f->s, &ti);
    assert_true(wal_files(f->dir, 0, &max, &sum0) >= 2);
    print_message("wal files: %lld bytes on disk, %llu live\n",
                  (long long)sum0, (unsigned long long)ti.wal_bytes);
    assert_true(sum0 > (off_t)ti.wal_bytes);
    uint64_t cut = store_wal_trim(f->s);         /* idle */
    wal_files(f->dir, 0, &max, &sum);
    assert_int_equal(sum, (off_t)ti.wal_bytes);
    assert_int_equal(cut, (uint64_t)(sum0 - sum));
    assert_int_equal(store_wal_trim(f->s), 0);  /* nothing left */
    assert_int_equal(scan_all(f->s), 610);
    put_n(f->s, 611, 50);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(scan_all(f->s), 660);
    store_close(f->s);
    f->s = storetest_open(f->dir, &f->opt);
    assert_int_equal(scan_all(f->s), 660);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_commit_not_done_while_sync_blocked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_sync_failure_retried,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_commit_ahead_visible_before_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_ahead_sync_failure,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_commit_ahead_seal_carries_visible, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_commit_ahead_seal_split_carries_visible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_seal_keeps_uncommitted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_commit_seal_split_keeps_uncommitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_sync_after_begin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wal_trim_when_idle, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
