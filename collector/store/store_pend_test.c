/* SPDX-License-Identifier: MIT */
/*
 * store_pend_test: full tails that wait for the sealing thread (s->pend,
 * STORE.md "Threads"). A write hook that blocks the sealing thread on its
 * first block holds a job in flight; the tails filled meanwhile must stay
 * visible to cursors in order and counted, survive a kill -9 (a copy of
 * the directory taken then opens with every committed record, once), and
 * once sealed give the same segment and index files, byte for byte, as
 * the reference: the same records committed and sealed one tail at a
 * time (store_sync after each commit; the sealing thread decodes each
 * tail itself there, where the waiting tails' records come decoded from
 * lq-tailset). With no room left for a pending
 * tail the store's thread waits for the job (backpressure).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "collector/store/store_internal.h"    /* STORE_PEND_MAX_CH */
#include "common/xmalloc.h"
#include "tests/support/storetest.h"

#define T0      STORETEST_T0
#define PER_TAIL 80             /* records per commit: ~4.6 KiB, one block */

struct fx {
    char            dir[64], ref[64];
    struct store_options opt;
    struct storetest_gate gate;     /* "block" writes: the first held */
    int             is_sync_failing;    /* "segment-sync" fails (EIO) */
};

/* On the sealing thread; waits at most 20 s (never hangs a test). */
static int
block_hook(const char *what, size_t len, void *arg)
{
    struct fx *f = arg;

    (void)len;
    if (strcmp(what, "block") == 0)
        storetest_gate_enter(&f->gate);
    if (strcmp(what, "segment-sync") == 0 &&
        __atomic_load_n(&f->is_sync_failing, __ATOMIC_RELAXED)) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static void
wait_blocks(struct fx *f, int n)
{
    assert_true(storetest_gate_wait(&f->gate, n) >= n);
}

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/store_pend_test.XXXXXX");
    snprintf(f->ref, sizeof(f->ref), "/tmp/store_pend_ref.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_non_null(mkdtemp(f->ref));
    f->opt.block_size = 4096;
    f->opt.segment_size = 20 << 10;     /* a roll every 5 tails */
    f->opt.clock = storetest_clock_t0;
    f->opt.write_hook = block_hook;
    f->opt.write_hook_arg = f;
    storetest_gate_init(&f->gate);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd = xasprintf("rm -rf '%s' '%s.copy' '%s'", f->dir, f->dir,
                          f->ref);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    storetest_gate_fini(&f->gate);
    free(f);
    return 0;
}

/* Commit number k: records k*PER_TAIL+1 .. (k+1)*PER_TAIL of cid1 (and
 * one of cid2 every other commit: two labels per block). */
static void
put_tail(struct store *s, int k)
{
    char msg[80];

    for (int i = 0; i < PER_TAIL; i++) {
        uint64_t off = (uint64_t)k * PER_TAIL + (uint64_t)i + 1;
        struct logrec r = {
            .time_ns = T0 + (int64_t)off * 1000, .host = "h1",
            .container_id = "cid1", .container = "web", .image = "nginx",
            .offset = off, .msg = msg, .recv_ns = T0,
        };
        snprintf(msg, sizeof(msg), "line %llu of tail %d token%d of the pending seal test",
                 (unsigned long long)off, k, (int)(off % 97));
        r.msg_len = strlen(msg);
        assert_int_equal(store_append(s, &r), 1);
    }
    if (k % 2 == 0) {
        struct logrec r = {
            .time_ns = T0 + 5, .host = "h1", .container_id = "cid2",
            .container = "db", .image = "pg", .offset = (uint64_t)k + 1,
            .msg = "other", .msg_len = 5, .recv_ns = T0,
        };
        assert_int_equal(store_append(s, &r), 1);
    }
}

/* cid1's records a cursor sees: 1, 2, ... in order, each message
 * intact; returns how many. */
static int
scan_all(struct store *s)
{
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1 };
    struct store_cursor *c = store_cursor_new(s, &fl, 0);
    struct logrec r;
    int n = 0;

    while (store_cursor_next(c, &r) == 1) {
        if (strcmp(r.container_id, "cid1") != 0)
            continue;
        n++;
        assert_int_equal(r.offset, (uint64_t)n);
        char want[80];
        snprintf(want, sizeof(want), "line %d of tail %d token%d of the pending seal test", n,
                 (n - 1) / PER_TAIL, n % 97);
        assert_int_equal(r.msg_len, strlen(want));
        assert_memory_equal(r.msg, want, r.msg_len);
    }
    store_cursor_free(c);
    return n;
}

/* The waiting tails' records the sealing thread took decoded from
 * lq-tailset instead of decoding their bodies (tailset_take_recs). */
static uint64_t
recs_taken(struct store *s)
{
    pthread_mutex_lock(&s->tailset.mu);
    uint64_t n = s->tailset.n_recs_taken;
    pthread_mutex_unlock(&s->tailset.mu);
    return n;
}

/* Every segment and index file of the reference is in dir with the same
 * bytes, and dir has no other; returns how many segments. */
static int
same_segments(const char *ref, const char *dir)
{
    DIR *d = opendir(ref);
    struct dirent *de;
    int n = 0, n_dir = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "seg-", 4) != 0)
            continue;
        storetest_same_file(ref, dir, de->d_name);
        n++;
    }
    closedir(d);
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n_dir += strncmp(de->d_name, "seg-", 4) == 0;
    closedir(d);
    assert_int_equal(n, n_dir);
    return n;
}

/* The reference: n tails, each committed and sealed before the next. */
static void
write_reference(struct fx *f, int n)
{
    struct store *s = storetest_open(f->ref, &f->opt);

    for (int k = 0; k < n; k++) {
        put_tail(s, k);
        assert_int_equal(store_commit(s), 0);
        assert_int_equal(store_sync(s), 0);
    }
    store_close(s);
    f->gate.n_entered = 0;            /* the hook's count from here is dir's */
}

struct late_release {
    struct fx *f;
    int        ms;
};

static void *
release_later(void *arg)
{
    struct late_release *lr = arg;
    struct timespec ts = { .tv_sec = 0, .tv_nsec = lr->ms * 1000000L };

    nanosleep(&ts, NULL);
    storetest_gate_release(&lr->f->gate);
    return NULL;
}

/* Waits (20 s at most) until lq-tailset has gathered the sets of the
 * STORE_PEND_MAX_CH waiting tails, however slow this machine. */
static void
wait_tail_sets(struct store *s)
{
    struct store_stats st;

    for (int i = 0; i < 20000; i++) {
        store_get_stats(s, &st);
        if (st.n_tail_sets >= STORE_PEND_MAX_CH)
            break;
        nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
    }
    assert_int_equal(st.n_tail_sets, STORE_PEND_MAX_CH);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_pend_same_segments(void **state)
{
    struct fx *f = *state;
    struct store_tail_info ti;
    struct store_stats st;
    const int n_tails = 16;

    f->opt.segment_size = 28 << 10;     /* a roll every 7 tails */
    write_reference(f, n_tails);
    f->gate.is_blocking = 1;
    const int n_in = 1 + STORE_PEND_MAX_CH;     /* the job + those waiting */
    assert_true(n_in <= 6);     /* all in the first segment (7 tails) */
    struct store *s = storetest_open(f->dir, &f->opt);
    put_tail(s, 0);
    assert_int_equal(store_commit(s), 0);   /* tail 0: the job, held */
    wait_blocks(f, 1);
    for (int k = 1; k < n_in; k++) {        /* these wait in pend */
        put_tail(s, k);
        assert_int_equal(store_commit(s), 0);
    }
    /* Held: the job's block only; every tail visible and counted. */
    assert_int_equal(f->gate.n_entered, 1);
    assert_int_equal(scan_all(s), n_in * PER_TAIL);
    store_get_tail_info(s, &ti);
    assert_int_equal(ti.n_records, n_in * PER_TAIL + (n_in + 1) / 2);
    assert_int_equal(ti.n_sealing_records, ti.n_records);

    /* As a kill -9 would leave it now: every committed record, once. */
    char *cmd = xasprintf("cp -a '%s' '%s.copy'", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    char *copy = xasprintf("%s.copy", f->dir);
    struct store *c = storetest_open(copy, &f->opt);
    assert_int_equal(scan_all(c), n_in * PER_TAIL);
    assert_int_equal(store_source_offset(c, "h1", "cid1"),
                     (uint64_t)n_in * PER_TAIL);
    store_close(c);
    free(copy);

    /* the waiting tails' sets (and records) gathered before the job is
     * released, however slow this machine: each is then sealed from the
     * records taken (counted below) */
    wait_tail_sets(s);

    /* No room for the next tail: its commit waits for the job, released
     * 200 ms later. */
    struct late_release lr = { .f = f, .ms = 200 };
    pthread_t th;
    put_tail(s, n_in);
    double t0 = now_s();
    assert_int_equal(pthread_create(&th, NULL, release_later, &lr), 0);
    assert_int_equal(store_commit(s), 0);
    assert_true(now_s() - t0 >= 0.15);
    pthread_join(th, NULL);
    for (int k = n_in + 1; k < n_tails; k++) {
        put_tail(s, k);
        assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(store_sync(s), 0);
    assert_int_equal(scan_all(s), n_tails * PER_TAIL);
    /* Every block this store sealed, in fewer jobs (tails waited); the
     * steps' times within the jobs'. */
    store_get_stats(s, &st);
    assert_int_equal(st.n_seal_blocks, st.n_blocks);
    assert_true(st.n_seal_jobs > 0 && st.n_seal_jobs < st.n_seal_blocks);
    assert_true(st.seal_build_ms + st.seal_write_ms + st.seal_sync_ms <=
                st.seal_run_ms + 3);        /* each rounded down */
    /* the tails that waited were sealed from the records decoded with
     * their token sets (the reference decoded each on the sealing
     * thread): the same bytes below */
    assert_true(recs_taken(s) >= STORE_PEND_MAX_CH);
    store_close(s);
    assert_true(same_segments(f->ref, f->dir) >= 3);
    s = storetest_open(f->dir, &f->opt);
    assert_int_equal(scan_all(s), n_tails * PER_TAIL);
    store_close(s);
}

/* A tail that would take the pending job past the segment's end waits for
 * the job even with room in s->pend: segments end where one job per tail
 * ends them (here after two tails). */
static void
test_pend_stops_at_segment_end(void **state)
{
    struct fx *f = *state;
    const int n_tails = 7;

    f->opt.segment_size = 9 << 10;
    write_reference(f, n_tails);
    f->gate.is_blocking = 1;
    struct store *s = storetest_open(f->dir, &f->opt);
    put_tail(s, 0);
    assert_int_equal(store_commit(s), 0);   /* the job, held */
    wait_blocks(f, 1);
    put_tail(s, 1);
    assert_int_equal(store_commit(s), 0);   /* waits in pend */
    assert_int_equal(f->gate.n_entered, 1);
    struct late_release lr = { .f = f, .ms = 200 };
    pthread_t th;
    put_tail(s, 2);                         /* the next segment's */
    double t0 = now_s();
    assert_int_equal(pthread_create(&th, NULL, release_later, &lr), 0);
    assert_int_equal(store_commit(s), 0);
    assert_true(now_s() - t0 >= 0.15);
    pthread_join(th, NULL);
    for (int k = 3; k < n_tails; k++) {
        put_tail(s, k);
        assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(store_sync(s), 0);
    store_close(s);
    assert_true(same_segments(f->ref, f->dir) >= 3);
}

/* A finished job wakes the store's thread (store_commit_fd) with no
 * commit to end: store_commit_end applies it and hands the waiting tails
 * to the sealing thread at once, not at the next commit (which may be
 * far off: 7.5 ms a job at 1 GiB, BENCHMARKS.md "The seal chain's
 * steps"). Its steps are counted (/health store.seal_steps). */
static void
test_pend_done_wakes_loop(void **state)
{
    struct fx *f = *state;
    struct store_tail_info ti;
    struct store_stats st;

    f->gate.is_blocking = 1;
    struct store *s = storetest_open(f->dir, &f->opt);
    for (int k = 0; k < 3; k++) {
        put_tail(s, k);
        assert_int_equal(store_commit(s), 0);
        if (k == 0)
            wait_blocks(f, 1);          /* the job, held */
    }
    assert_int_equal(store_commit_end(s), 1);   /* drains the commits' */
    assert_false(storetest_fd_is_readable(store_commit_fd(s), 0));
    storetest_gate_release(&f->gate);
    for (int n_jobs = 1; n_jobs <= 2; n_jobs++) {
        assert_true(storetest_fd_is_readable(store_commit_fd(s), 10000));
        assert_int_equal(store_commit_end(s), 1);   /* no commit busy */
        store_get_stats(s, &st);
        if (st.n_seal_jobs < (uint64_t)n_jobs) {
            n_jobs--;           /* woken before the job's end was seen */
            continue;
        }
        assert_int_equal(st.n_seal_jobs, n_jobs);
    }
    store_get_tail_info(s, &ti);
    assert_int_equal(ti.n_sealing_records, 0);
    store_get_stats(s, &st);
    assert_int_equal(st.n_seal_jobs, 2);        /* tail 0; tails 1 and 2 */
    assert_int_equal(st.n_seal_blocks, 3);
    assert_int_equal(st.n_blocks, 3);
    assert_false(storetest_fd_is_readable(store_commit_fd(s), 0));
    assert_int_equal(scan_all(s), 3 * PER_TAIL);
    store_close(s);
}

/* The sealing thread truncates a job's WAL files as soon as the
 * segment's fdatasync returned (beside the indexing thread): never after
 * a failed one, whose blocks are cut off the segment again. A copy of
 * the directory then (as a kill -9 would leave it) has every committed
 * record, from the WAL; once the sync works the retry seals them. */
static void
test_pend_failed_sync_keeps_wal(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    f->is_sync_failing = 1;
    struct store *s = storetest_open(f->dir, &f->opt);
    for (int k = 0; k < 3; k++) {
        put_tail(s, k);
        assert_int_equal(store_commit(s), 0);
    }
    (void)store_sync(s);                /* fails: the job is kept */
    store_get_stats(s, &st);
    assert_true(st.n_seal_errors > 0);
    assert_int_equal(st.n_blocks, 0);
    char *cmd = xasprintf("cp -a '%s' '%s.copy'", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    char *copy = xasprintf("%s.copy", f->dir);
    struct store *c = storetest_open(copy, &f->opt);
    assert_int_equal(scan_all(c), 3 * PER_TAIL);
    store_close(c);
    free(copy);
    __atomic_store_n(&f->is_sync_failing, 0, __ATOMIC_RELAXED);
    put_tail(s, 3);
    assert_int_equal(store_commit(s), 0);   /* retries the failed job */
    assert_int_equal(store_sync(s), 0);
    assert_int_equal(scan_all(s), 4 * PER_TAIL);
    store_close(s);
    s = storetest_open(f->dir, &f->opt);
    assert_int_equal(scan_all(s), 4 * PER_TAIL);
    store_get_stats(s, &st);
    assert_true(st.n_blocks > 0);
    store_close(s);
}

/* A clean close with tails waiting seals them: nothing is left to replay
 * and the files are the reference's. */
static void
test_pend_sealed_at_close(void **state)
{
    struct fx *f = *state;
    struct store_tail_info ti;

    write_reference(f, 3);
    f->gate.is_blocking = 1;
    struct store *s = storetest_open(f->dir, &f->opt);
    for (int k = 0; k < 3; k++) {
        put_tail(s, k);
        assert_int_equal(store_commit(s), 0);
        if (k == 0)
            wait_blocks(f, 1);
    }
    storetest_gate_release(&f->gate);
    store_close(s);
    assert_true(same_segments(f->ref, f->dir) >= 1);
    s = storetest_open(f->dir, &f->opt);
    store_get_tail_info(s, &ti);
    assert_int_equal(ti.n_records, 0);
    assert_int_equal(scan_all(s), 3 * PER_TAIL);
    store_close(s);
}

/* Records of cid1 and late a search for word finds (tokens required,
 * oldest first), checked against what holds it: messages holding word
 * as a token, in key order. Returns how many. */
static int
find_word(struct store *s, const char *word)
{
    const char *toks[1] = { word };
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1, .tokens = toks, .n_tokens = 1,
                               .is_tokens_required = 1 };
    struct store_cursor *c = store_cursor_new(s, &fl, 0);
    struct logrec r;
    int n = 0;
    int64_t last = INT64_MIN;

    while (store_cursor_next(c, &r) == 1) {
        char *m = xasprintf("%.*s", (int)r.msg_len, r.msg);
        if (strstr(m, word) != NULL) {      /* the prefilter may keep more */
            assert_true(r.time_ns >= last);
            last = r.time_ns;
            n++;
        }
        free(m);
    }
    store_cursor_free(c);
    return n;
}

static void
mem_stats(struct store *s, uint64_t *reads, uint64_t *skips)
{
    struct store_stats st;

    store_get_stats(s, &st);
    *reads = st.n_cursor_mem_reads;
    *skips = st.n_cursor_mem_skips;
}

/* Full tails waiting for a blocked sealing thread get their token sets
 * gathered ahead (tailset.c): a search for a word none of them holds
 * copies none of them, one for a word a single one holds copies that
 * one alone, and both answer exactly, a late record (older than every
 * other) included; once sealed the same. */
static void
test_pend_token_sets(void **state)
{
    struct fx *f = *state;
    struct store_tail_info ti;
    uint64_t r0, k0, r1, k1;

    f->opt.segment_size = 64 << 10;
    f->gate.is_blocking = 1;
    struct store *s = storetest_open(f->dir, &f->opt);
    put_tail(s, 0);
    assert_int_equal(store_commit(s), 0);   /* tail 0: the job, held */
    wait_blocks(f, 1);
    for (int k = 1; k <= STORE_PEND_MAX_CH; k++) {  /* these wait */
        put_tail(s, k);
        if (k == 2) {
            struct logrec r = {
                .time_ns = T0 + 1, .host = "h1", .container_id = "late",
                .container = "pay", .image = "pay", .offset = 1,
                .msg = "payment zebracorn declined", .msg_len = 26,
                .recv_ns = T0,
            };
            assert_int_equal(store_append(s, &r), 1);
        }
        assert_int_equal(store_commit(s), 0);
    }
    struct logrec live = {          /* the tail being filled: scanned */
        .time_ns = T0 + 2, .host = "h1", .container_id = "late",
        .container = "pay", .image = "pay", .offset = 2,
        .msg = "live line", .msg_len = 9, .recv_ns = T0,
    };
    assert_int_equal(store_append(s, &live), 1);
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(f->gate.n_entered, 1);
    wait_tail_sets(s);
    store_get_tail_info(s, &ti);
    const int n_in = 1 + STORE_PEND_MAX_CH;
    assert_int_equal(ti.n_sealing_records,      /* cid2's, the late one */
                     n_in * PER_TAIL + (n_in + 1) / 2 + 1);

    mem_stats(s, &r0, &k0);
    assert_int_equal(find_word(s, "nowhere"), 0);
    mem_stats(s, &r1, &k1);
    assert_true(k1 - k0 >= STORE_PEND_MAX_CH);  /* every waiting tail */
    assert_true(r1 - r0 <= 2);      /* the job's (if not yet indexed), the
                                       tail */
    assert_int_equal(find_word(s, "zebracorn"), 1);
    mem_stats(s, &r0, &k0);
    assert_true(k0 - k1 >= STORE_PEND_MAX_CH - 1);
    assert_true(r0 - r1 <= 3);
    /* a word of every tail: nothing skipped, every record */
    assert_int_equal(find_word(s, "pending"),
                     (1 + STORE_PEND_MAX_CH) * PER_TAIL);
    assert_int_equal(scan_all(s), (1 + STORE_PEND_MAX_CH) * PER_TAIL);

    storetest_gate_release(&f->gate);
    assert_int_equal(store_sync(s), 0);
    /* each waiting tail sealed from the records decoded with its set */
    assert_int_equal(recs_taken(s), STORE_PEND_MAX_CH);
    store_get_tail_info(s, &ti);
    assert_int_equal(ti.n_records, 1);      /* the live line */
    assert_int_equal(find_word(s, "zebracorn"), 1);
    assert_int_equal(find_word(s, "nowhere"), 0);
    store_close(s);
}

/* The bodies of a job's blocks and of the tails that waited with it are
 * kept for the next tails (up to STORE_SPARE_BODIES: a tail that starts
 * without one grows by realloc), and an idle store gives back all but
 * STORE_SPARE_IDLE of them (store_wal_trim). */
static void
test_pend_spare_bodies(void **state)
{
    struct fx *f = *state;

    f->opt.segment_size = 64 << 10;
    f->gate.is_blocking = 1;
    struct store *s = storetest_open(f->dir, &f->opt);
    put_tail(s, 0);
    assert_int_equal(store_commit(s), 0);   /* tail 0: the job, held */
    wait_blocks(f, 1);
    for (int k = 1; k <= STORE_PEND_MAX_CH; k++) {  /* these wait */
        put_tail(s, k);
        assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(s->n_spare_body, 0);
    storetest_gate_release(&f->gate);
    assert_int_equal(store_sync(s), 0);
    assert_int_equal(s->n_spare_body, 1 + STORE_PEND_MAX_CH);
    put_tail(s, 1 + STORE_PEND_MAX_CH);     /* the next tail takes one */
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(store_sync(s), 0);
    assert_int_equal(s->n_spare_body, 1 + STORE_PEND_MAX_CH);
    (void)store_wal_trim(s);                /* a commit since: not idle */
    assert_int_equal(s->n_spare_body, 1 + STORE_PEND_MAX_CH);
    (void)store_wal_trim(s);                /* idle */
    assert_int_equal(s->n_spare_body, STORE_SPARE_IDLE);
    assert_int_equal(scan_all(s), (2 + STORE_PEND_MAX_CH) * PER_TAIL);
    store_close(s);
}

/* The WAL files in dir, as a bit per file number (wal.lqw: bit 0). */
static unsigned
wal_file_bits(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    unsigned bits = 0, k;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, "wal.lqw") == 0)
            bits |= 1u;
        else if (sscanf(de->d_name, "wal-%u.lqw", &k) == 1 && k < 32)
            bits |= 1u << k;
    }
    closedir(d);
    return bits;
}

/* Every WAL file exists once the store is open: the commits that move
 * to a clean file while tails wait for the job (one for each tail) create
 * none, so the store's thread never creates one and fsyncs the data
 * directory (100-300 ms while the disk writes back other files:
 * BENCHMARKS.md "Live tail: WAL files made at open"). A crash copy
 * taken then, and the store reopened, hold every record once. */
static void
test_pend_wal_files_made_at_open(void **state)
{
    struct fx *f = *state;

    f->opt.segment_size = 64 << 10;
    f->gate.is_blocking = 1;
    struct store *s = storetest_open(f->dir, &f->opt);
    unsigned at_open = wal_file_bits(f->dir);
    assert_int_equal(at_open, (1u << STORE_WAL_MAX_FILES) - 1);
    put_tail(s, 0);
    assert_int_equal(store_commit(s), 0);   /* tail 0: the job, held */
    wait_blocks(f, 1);
    for (int k = 1; k <= STORE_PEND_MAX_CH; k++) {  /* these wait */
        put_tail(s, k);
        assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(wal_file_bits(f->dir), at_open);
    char *cmd = xasprintf("cp -a '%s' '%s.copy'", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    char *copy = xasprintf("%s.copy", f->dir);
    struct store *c = storetest_open(copy, &f->opt);
    assert_int_equal(scan_all(c), (1 + STORE_PEND_MAX_CH) * PER_TAIL);
    store_close(c);
    free(copy);
    storetest_gate_release(&f->gate);
    assert_int_equal(store_sync(s), 0);
    store_close(s);
    s = storetest_open(f->dir, &f->opt);
    assert_int_equal(scan_all(s), (1 + STORE_PEND_MAX_CH) * PER_TAIL);
    store_close(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pend_same_segments, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pend_stops_at_segment_end,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pend_done_wakes_loop, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pend_failed_sync_keeps_wal,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pend_sealed_at_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pend_token_sets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pend_spare_bodies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pend_wal_files_made_at_open,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
