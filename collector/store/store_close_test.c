/* SPDX-License-Identifier: MIT */
/*
 * store_close_test: tails closed at the WAL write that fills them
 * (collector/STORE.md "Closed tails") against a model of what a store
 * must hold, under adversarial schedules. Each draw appends records of
 * three sources (each one's offsets 1, 2, ...; messages of 20-700 bytes,
 * so 4 KiB blocks fill every few to few dozen records) and, in a random
 * order, closes full tails between appends (store_commit_full), begins
 * commits, writes ahead of the sync in flight, lets that sync succeed or
 * fail (a hook holds each one until the test decides), fails WAL writes
 * (ENOSPC) and seals, so that closed tails wait for syncs, straddle
 * them, are written again after a failure and are sealed with and
 * without their WAL files. A quarter of the records come late (their times
 * up to 200 records behind, one in 50 up to 5000: across blocks and
 * segments). At every step the model knows each source's records written
 * (visible) and acknowledged (their commit's sync returned):
 * - a cursor on the store shows exactly the visible records, each once,
 *   in time order, every byte;
 * - a copy of the directory as a power loss would leave it (each WAL file
 *   cut to its synced end; the segments as they are) opens with a prefix
 *   of each source's visible records that holds every acknowledged one,
 *   each once, in order: none lost, none twice; so does a copy as a kill
 *   -9 leaves it (the WAL files whole);
 * - closed, the store opens again with every record.
 * One draw runs with closing off (the path before: carried, split) as
 * the reference the same model holds for.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "collector/store/store_internal.h"    /* wals[].len: synced ends */
#include "tests/support/storetest.h"
#include "tests/support/testdir.h"
#include "tests/support/testrng.h"

#define T0     STORETEST_T0
#define N_SRC  3

/* The sync hook's controller: each sync waits until the test gives its
 * verdict (at most 20 s: a broken store fails the test, never hangs it),
 * unless is_auto. WAL writes fail (ENOSPC) while n_fail_writes > 0. */
struct ctl {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int             n_in;           /* syncs entered */
    int             verdict;        /* 0 none yet, 1 ok, 2 fail */
    int             is_auto;        /* every sync ok at once */
    int             n_fail_writes;
};

static int
sync_hook(const char *what, void *arg)
{
    struct ctl *c = arg;
    struct timespec until;
    int v = 1;

    (void)what;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&c->mu);
    c->n_in++;
    pthread_cond_broadcast(&c->cv);
    while (!c->is_auto && c->verdict == 0)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) != 0)
            break;
    if (!c->is_auto && c->verdict != 0)
        v = c->verdict;
    c->verdict = 0;
    pthread_mutex_unlock(&c->mu);
    if (v == 2) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static int
write_hook(const char *what, size_t len, void *arg)
{
    struct ctl *c = arg;
    int rc = 0;

    (void)len;
    if (strcmp(what, "wal") != 0)
        return 0;
    pthread_mutex_lock(&c->mu);
    if (c->n_fail_writes > 0) {
        c->n_fail_writes--;
        rc = -1;
    }
    pthread_mutex_unlock(&c->mu);
    if (rc < 0)
        errno = ENOSPC;
    return rc;
}

struct model {
    uint64_t  rng;
    char     *dir, *copy;           /* testdir_make: removed at exit too */
    struct store *s;
    struct store_options opt;
    struct ctl ctl;
    int64_t   t;                    /* the next record's time */
    uint64_t  appended[N_SRC];      /* each source's highest offset */
    uint64_t  visible[N_SRC];       /* of them, in a WAL entry written */
    uint64_t  acked[N_SRC];         /* of them, synced (acknowledged) */
    uint64_t  at_begin[N_SRC];      /* appended when the commit began */
    int       is_busy;              /* a commit is in flight */
    int       n_syncs;              /* syncs the hook was asked for */
    int       n_crash_checks;
};

static unsigned
rn(struct model *m, unsigned n)
{
    return testrng_below(&m->rng, n);
}

/* Source k's record at offset off: its message (the same every time). */
static size_t
msg_of(unsigned k, uint64_t off, char *buf, size_t cap)
{
    uint64_t h = (off * 0x9e3779b97f4a7c15ULL) ^ (k * 0xbf58476d1ce4e5b9ULL);
    int n = snprintf(buf, cap, "src %u off %llu ", k,
                     (unsigned long long)off);
    size_t len = (size_t)n + 20 + (size_t)(h % 681);

    assert_true(len < cap);
    for (size_t i = (size_t)n; i < len; i++)
        buf[i] = "abcdefgh ijklmnop qrstuvwxyz0123456789"[(h >> (i % 40)) %
                                                          38];
    return len;
}

static void
append_some(struct model *m, unsigned n)
{
    static const char *const cids[N_SRC] = { "cid0", "cid1", "cid2" };
    char msg[1024];

    for (unsigned i = 0; i < n; i++) {
        unsigned k = rn(m, N_SRC);
        uint64_t off = m->appended[k] + 1;
        /* late data: a quarter of the records up to 200 records' time
         * behind (across blocks), one in 50 up to 5000 behind (across
         * segments): blocks' time ranges overlap, the cursor merges */
        int64_t late = rn(m, 4) == 0 ? (int64_t)rn(m, 200) * 1000 :
                       rn(m, 50) == 0 ? (int64_t)rn(m, 5000) * 1000 : 0;
        struct logrec r = {
            .time_ns = m->t - late, .recv_ns = T0, .host = "h1",
            .container_id = cids[k], .container = cids[k], .image = "img",
            .offset = off, .msg = msg,
        };
        m->t += 1000;
        r.msg_len = msg_of(k, off, msg, sizeof(msg));
        assert_int_equal(store_append(m->s, &r), 1);
        m->appended[k] = off;
    }
}

/* What a cursor over s shows, oldest first: in time order (the records
 * arrive late, out of it), each source's records exactly its offsets 1,
 * 2, ... n[k], each once, with their messages: how many of each. */
#define SCAN_MAX_OFF 8192
static void
scan(struct store *s, uint64_t n[N_SRC])
{
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1 };
    struct store_cursor *c = store_cursor_new(s, &fl, 0);
    struct logrec r;
    char want[1024];
    uint8_t *seen = xcalloc(N_SRC * SCAN_MAX_OFF, 1);
    uint64_t max[N_SRC] = { 0 };
    int64_t prev = INT64_MIN;

    assert_non_null(c);
    memset(n, 0, N_SRC * sizeof(*n));
    while (store_cursor_next(c, &r) == 1) {
        unsigned k = (unsigned)(r.container_id[3] - '0');
        assert_true(k < N_SRC);
        assert_true(r.time_ns >= prev);
        prev = r.time_ns;
        assert_true(r.offset >= 1 && r.offset < SCAN_MAX_OFF);
        assert_int_equal(seen[k * SCAN_MAX_OFF + r.offset], 0);  /* once */
        seen[k * SCAN_MAX_OFF + r.offset] = 1;
        n[k]++;
        if (r.offset > max[k])
            max[k] = r.offset;
        size_t len = msg_of(k, r.offset, want, sizeof(want));
        assert_int_equal(r.msg_len, len);
        assert_memory_equal(r.msg, want, len);
    }
    store_cursor_free(c);
    free(seen);
    for (unsigned k = 0; k < N_SRC; k++)
        assert_int_equal(max[k], n[k]);     /* no gap: 1 .. n[k] */
}

static void
check_live(struct model *m)
{
    uint64_t n[N_SRC];

    scan(m->s, n);
    for (unsigned k = 0; k < N_SRC; k++)
        assert_int_equal(n[k], m->visible[k]);
    /* jobs sealed without their WAL files: a bounded run (the tail is
     * closed where a commit begins after STORE_SEAL_NOWAL_MAX of them) */
    assert_true(m->s->n_seal_nowal_run <= 2 * STORE_SEAL_NOWAL_MAX);
}

/* A copy of the directory as a crash leaves it now: with is_power each
 * WAL file cut to its synced end (what the disk surely holds; the
 * entries past it, written and not synced, and a released file's new
 * header are lost), else whole (kill -9: the kernel keeps what was
 * written). It must open with every acknowledged record and only
 * visible ones, each once, in order. */
static void
check_crash(struct model *m, int is_power)
{
    const char *copy = m->copy;
    uint64_t n[N_SRC];

    /* The sealing thread runs on (a .lqi.tmp it renames may vanish under
     * cp: a file left out is one a crash then would not have left); the
     * WAL files change only on this thread. */
    char *cmd = xasprintf("rm -rf '%s' && { cp -a '%s' '%s' 2>/dev/null; "
                          "test -d '%s'; }", copy, m->dir, copy, copy);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    for (size_t k = 0; is_power && k < m->s->n_wals; k++) {
        const struct store_wal_file *w = &m->s->wals[k];
        if (w->fd < 0)
            continue;
        char *path = k == 0 ? xasprintf("%s/wal.lqw", copy)
                            : xasprintf("%s/wal-%zu.lqw", copy, k);
        assert_int_equal(truncate(path, (off_t)w->len), 0);
        free(path);
    }
    struct store_options o = { .block_size = m->opt.block_size,
                               .segment_size = m->opt.segment_size,
                               .clock = storetest_clock_t0_2h };
    struct store *c = storetest_open(copy, &o);
    scan(c, n);
    for (unsigned k = 0; k < N_SRC; k++) {
        if (n[k] < m->acked[k] || n[k] > m->visible[k])
            print_error("draw crash check %d (%s): source %u has %llu, "
                        "acknowledged %llu, visible %llu\n",
                        m->n_crash_checks, is_power ? "power" : "kill",
                        k, (unsigned long long)n[k],
                        (unsigned long long)m->acked[k],
                        (unsigned long long)m->visible[k]);
        assert_true(n[k] >= m->acked[k]);
        assert_true(n[k] <= m->visible[k]);
    }
    store_close(c);
    m->n_crash_checks++;
}

static void
all_visible(struct model *m)
{
    memcpy(m->visible, m->appended, sizeof(m->visible));
}

/* The sync in flight given its verdict (ok or failed), then ended. */
static void
finish_sync(struct model *m, int is_ok)
{
    struct timespec until;
    int rc;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&m->ctl.mu);
    while (m->ctl.n_in < m->n_syncs)
        if (pthread_cond_timedwait(&m->ctl.cv, &m->ctl.mu, &until) != 0)
            break;
    assert_int_equal(m->ctl.n_in, m->n_syncs);
    m->ctl.verdict = is_ok ? 1 : 2;
    pthread_cond_broadcast(&m->ctl.cv);
    pthread_mutex_unlock(&m->ctl.mu);
    do
        assert_true(storetest_fd_is_readable(store_commit_fd(m->s), 20000));
    while ((rc = store_commit_end(m->s)) == 0);
    m->is_busy = 0;
    if (rc == 1)
        memcpy(m->acked, m->at_begin, sizeof(m->acked));
    else
        assert_int_equal(rc, -1);
    assert_int_equal(rc == 1, is_ok);
}

static void
fail_writes(struct model *m, int n)
{
    pthread_mutex_lock(&m->ctl.mu);
    m->ctl.n_fail_writes = n;
    pthread_mutex_unlock(&m->ctl.mu);
}

/* A commit begun, or written ahead of the one in flight (as ingest
 * calls them); with is_fail its WAL write fails (nothing more visible:
 * the entries a call wrote before the failing one were visible
 * already). */
static void
one_commit(struct model *m, int is_fail)
{
    uint64_t appended[N_SRC];
    int rc;

    memcpy(appended, m->appended, sizeof(appended));
    fail_writes(m, is_fail);
    if (m->is_busy) {
        if (store_commit_ahead(m->s) == 1)
            all_visible(m);
    } else {
        rc = store_commit_begin(m->s);
        if (rc == 1) {
            m->is_busy = 1;
            m->n_syncs++;
            memcpy(m->at_begin, appended, sizeof(appended));
        } else if (rc == 0) {
            memcpy(m->acked, appended, sizeof(appended));
        }
        if (rc >= 0)
            all_visible(m);
    }
    fail_writes(m, 0);
}

/* A full tail closed between appends, as ingest does after each batch
 * (store_commit_full), its write failing with is_fail. */
static void
one_close(struct model *m, int is_fail)
{
    fail_writes(m, is_fail);
    if (store_commit_full(m->s) == 1)
        all_visible(m);
    fail_writes(m, 0);
}

static struct model *
model_new(uint64_t seed, int is_close_off)
{
    struct model *m = xcalloc(1, sizeof(*m));

    m->rng = seed;
    m->t = T0;
    pthread_mutex_init(&m->ctl.mu, NULL);
    pthread_cond_init(&m->ctl.cv, NULL);
    m->dir = testdir_make("store_close_test");
    m->copy = testdir_make("store_close_test");
    assert_non_null(m->dir);
    assert_non_null(m->copy);
    m->opt = (struct store_options){
        .block_size = 4096, .segment_size = 48 << 10,
        .clock = storetest_clock_t0_2h,
        .sync_hook = sync_hook, .sync_hook_arg = &m->ctl,
        .write_hook = write_hook, .write_hook_arg = &m->ctl,
        .is_close_off = is_close_off,
    };
    m->s = storetest_open(m->dir, &m->opt);
    return m;
}

/* The sync in flight let through, the rest committed and sealed, each
 * step checked; then the store closed, opened again (every record) and
 * removed. */
static void
model_end(struct model *m)
{
    if (m->is_busy)
        finish_sync(m, 1);
    check_live(m);
    check_crash(m, 1);
    m->ctl.is_auto = 1;
    assert_int_equal(store_commit(m->s), 0);
    memcpy(m->acked, m->appended, sizeof(m->acked));
    all_visible(m);
    check_crash(m, 1);
    assert_int_equal(store_sync(m->s), 0);
    check_live(m);
    store_close(m->s);
    m->s = storetest_open(m->dir, &m->opt);
    check_live(m);
    store_close(m->s);
    char *cmd = xasprintf("rm -rf '%s' '%s'", m->dir, m->copy);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(m->dir);
    free(m->copy);
    pthread_cond_destroy(&m->ctl.cv);
    pthread_mutex_destroy(&m->ctl.mu);
    free(m);
}

static void
run_draw(uint64_t seed, int is_close_off, int n_steps)
{
    struct model *m = model_new(seed, is_close_off);
    struct store_stats st;

    for (int step = 0; step < n_steps; step++) {
        unsigned op = rn(m, 100);
        if (op < 40)
            append_some(m, 1 + rn(m, rn(m, 4) == 0 ? 60 : 12));
        else if (op < 55)
            one_close(m, rn(m, 12) == 0);
        else if (op < 67)
            one_commit(m, rn(m, 12) == 0);
        else if (op < 85 && m->is_busy) {
            finish_sync(m, rn(m, 7) != 0);
            if (rn(m, 2) == 0)  /* just acknowledged: all there? */
                check_crash(m, 1);
        }
        else if (op < 88)
            (void)store_sync(m->s);     /* may fail: a job waits */
        else if (op < 94)
            check_live(m);
        else
            check_crash(m, op < 97);
    }
    if (m->is_busy)
        finish_sync(m, 1);
    store_get_stats(m->s, &st);
    if (is_close_off) {
        assert_int_equal(st.n_tail_closes, 0);
        assert_true(st.n_recs_carried > 0);     /* the path before ran */
    } else {
        /* tails were closed, sealed with and without their WAL files, and
         * none was carried (a split is left for a tail filled past one
         * and a half blocks by one append, not here) */
        assert_true(st.n_tail_closes > 20);
        assert_true(st.n_seal_nowal > 0);
        assert_int_equal(st.n_recs_carried, 0);
    }
    assert_true(st.n_blocks > 20);
    model_end(m);
}

static void
test_close_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++)
        run_draw(seed * 0x9e3779b97f4a7c15ULL, 0, 500);
}

static void
test_close_off_model(void **state)
{
    (void)state;
    run_draw(0x2545f4914f6cdd1dULL, 1, 500);
}

static uint64_t
n_closes(struct model *m)
{
    struct store_stats st;

    store_get_stats(m->s, &st);
    return st.n_tail_closes;
}

/* A tail closed while a sync is in flight, then the next sync fails: the
 * new tail's records written ahead (cut off with the failed sync) are
 * written again from its start, none of them having been synced by the
 * first (its commit covered none of the new tail). */
static void
test_close_in_sync_then_sync_fails(void **state)
{
    struct model *m = model_new(0x853c49e6748fea9bULL, 0);

    (void)state;
    append_some(m, 6);                  /* half a block or so */
    one_commit(m, 0);
    assert_true(m->is_busy);
    for (int i = 0; i < 60 && n_closes(m) == 0; i++) {
        append_some(m, 1);
        one_close(m, 0);
    }
    assert_int_equal(n_closes(m), 1);   /* closed while it syncs */
    append_some(m, 2);
    one_commit(m, 0);                   /* written ahead of the sync */
    check_live(m);
    finish_sync(m, 1);
    check_crash(m, 1);
    append_some(m, 2);
    one_commit(m, 0);
    assert_true(m->is_busy);
    finish_sync(m, 0);                  /* fails: its entries cut off */
    check_live(m);
    check_crash(m, 1);
    one_commit(m, 0);                   /* all of them written again */
    assert_true(m->is_busy);
    finish_sync(m, 1);
    check_crash(m, 1);
    check_live(m);
    model_end(m);
}

/* Every commit begins with a small tail, which fills and is closed while
 * its sync runs (a closed tail partly synced then, so the seal at the
 * next commit's end cannot take the WAL files: the records after its
 * job's are partly acknowledged). Such jobs stop after at most
 * 2 * STORE_SEAL_NOWAL_MAX in a row: a commit then begins by closing the
 * tail, whatever it holds, and the seal at its end takes the files. */
static void
test_nowal_run_bounded(void **state)
{
    struct model *m = model_new(0x5851f42d4c957f2dULL, 0);
    struct store_stats st;
    uint64_t max_run = 0;

    (void)state;
    append_some(m, 1);
    for (int round = 0; round < 40 || m->s->n_seal_nowal_run == 0; round++) {
        assert_true(round < 80);
        one_commit(m, 0);
        assert_true(m->is_busy);
        uint64_t n0 = n_closes(m);
        for (int i = 0; i < 80 && n_closes(m) == n0; i++) {
            append_some(m, 1);
            one_close(m, 0);
        }
        assert_int_equal(n_closes(m), n0 + 1);
        append_some(m, 1);
        one_commit(m, 0);               /* written ahead */
        finish_sync(m, 1);
        if (m->s->n_seal_nowal_run > max_run)
            max_run = m->s->n_seal_nowal_run;
        check_live(m);
    }
    store_get_stats(m->s, &st);
    assert_true(st.n_seal_nowal >= 2 * STORE_SEAL_NOWAL_MAX);
    assert_int_equal(max_run, 2 * STORE_SEAL_NOWAL_MAX);
    check_crash(m, 1);
    /* closed after such a job, the store keeps no WAL entry: its last
     * commit closed the tail, and that seal took the files */
    assert_true(m->s->n_seal_nowal_run > 0);
    m->ctl.is_auto = 1;
    store_close(m->s);
    int n_wal = 0;
    for (size_t k = 0; k < STORE_WAL_MAX_FILES; k++) {
        char *name = k == 0 ? xasprintf("wal.lqw") : xasprintf("wal-%zu.lqw", k);
        assert_true(storetest_is_wal_empty(m->dir, name));
        n_wal++;
        free(name);
    }
    assert_int_equal(n_wal, STORE_WAL_MAX_FILES);
    memcpy(m->acked, m->appended, sizeof(m->acked));
    all_visible(m);
    m->s = storetest_open(m->dir, &m->opt);
    check_live(m);
    model_end(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_model),
        cmocka_unit_test(test_close_off_model),
        cmocka_unit_test(test_close_in_sync_then_sync_fails),
        cmocka_unit_test(test_nowal_run_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
