/* SPDX-License-Identifier: MIT */
/*
 * storetest: what the store's cmocka tests that hold its threads share
 * (store_commit_test, store_pend_test, indexer_test; store_recv_test,
 * frames_test and segindex_fd_test open their stores with it): a gate a
 * store hook waits at on the store's thread while the test looks (its
 * entries counted; every wait at most 20 s, so a broken store fails a test
 * and never hangs it), a store opened or the test failed, files compared
 * byte for byte across two store directories, the process's threads
 * counted (sealpool_test, indexer_test), fixed clocks (sealpool_test,
 * indexer_test, store_carry_test, store_pend_test, wal_test), a sync
 * hook that fails on request, two stores' records and files compared
 * (store_carry_test, store_cached_test, follow_source_test) and a commit
 * fd polled (store_commit_test, store_pend_test, store_close_test).
 * Test-only, header-only.
 */
#ifndef TESTS_SUPPORT_STORETEST_H
#define TESTS_SUPPORT_STORETEST_H

#include <dirent.h>
#include <errno.h>
#include <poll.h>
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
#include "common/xmalloc.h"

/* Whether fd turns readable within timeout_ms (a store's commit fd:
 * store_commit_test, store_pend_test, store_close_test). */
static inline int
storetest_fd_is_readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, timeout_ms) == 1;
}

/* The time the tests' records are stamped from (T0 in each test). */
#define STORETEST_T0 1700000000000000000LL

/* store_options.clock at STORETEST_T0 always. */
static inline int64_t
storetest_clock_t0(void *arg)
{
    (void)arg;
    return STORETEST_T0;
}

/* store_options.clock two hours after STORETEST_T0 always. */
static inline int64_t
storetest_clock_t0_2h(void *arg)
{
    (void)arg;
    return STORETEST_T0 + 7200000000000LL;
}

/* store_options.sync_hook whose sync_hook_arg is an int: every sync
 * fails (EIO) while it is set. */
static inline int
storetest_sync_fail_if(const char *what, void *arg)
{
    (void)what;
    if (*(const int *)arg) {
        errno = EIO;
        return -1;
    }
    return 0;
}

struct storetest_gate {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int             is_blocking;    /* entries wait for is_released */
    int             is_released;
    int             n_entered;
};

static inline void
storetest_gate_init(struct storetest_gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
}

static inline void
storetest_gate_fini(struct storetest_gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* In a hook, g->mu held: counts the entry, wakes the test, and while g
 * blocks waits until it is released (20 s at most). */
static inline void
storetest_gate_enter_locked(struct storetest_gate *g)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    g->n_entered++;
    pthread_cond_broadcast(&g->cv);
    while (g->is_blocking && !g->is_released)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &until) != 0)
            break;
}

/* storetest_gate_enter_locked with g->mu taken and given back. */
static inline void
storetest_gate_enter(struct storetest_gate *g)
{
    pthread_mutex_lock(&g->mu);
    storetest_gate_enter_locked(g);
    pthread_mutex_unlock(&g->mu);
}

/* Lets every entry through, now and later. */
static inline void
storetest_gate_release(struct storetest_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->is_released = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Waits until g has seen n entries (20 s at most); returns how many it
 * has seen. */
static inline int
storetest_gate_wait(struct storetest_gate *g, int n)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&g->mu);
    while (g->n_entered < n)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &until) != 0)
            break;
    int n_entered = g->n_entered;
    pthread_mutex_unlock(&g->mu);
    return n_entered;
}

/* The store at dir opened with opt, or the test failed with the reason. */
static inline struct store *
storetest_open(const char *dir, const struct store_options *opt)
{
    char *err = NULL;
    struct store *s = store_open(dir, opt, &err);

    if (!s)
        fail_msg("store_open: %s", err);
    return s;
}

/* The bytes of dir/name (caller frees), *len their count. */
static inline uint8_t *
storetest_slurp(const char *dir, const char *name, size_t *len)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");

    free(path);
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    uint8_t *p = xmalloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return p;
}

/* a/name and b/name hold the same bytes, or the test fails naming it. */
static inline void
storetest_same_file(const char *a, const char *b, const char *name)
{
    size_t la, lb;
    uint8_t *pa = storetest_slurp(a, name, &la);
    uint8_t *pb = storetest_slurp(b, name, &lb);

    if (la != lb || memcmp(pa, pb, la) != 0)
        fail_msg("%s differs (%zu / %zu bytes)", name, la, lb);
    free(pa);
    free(pb);
}

/* Whether the WAL file's bytes p[0..len) hold no entry to replay: a bare
 * 16-byte header, or (version 5 on: files are reused, not cut) a header
 * followed by the end mark (8 zero bytes) or by a whole entry of an
 * earlier generation than the header's (collector/STORE.md "Write-ahead
 * log"). */
static inline int
storetest_wal_bytes_empty(const uint8_t *p, size_t len)
{
    uint32_t v, n;
    uint64_t gen, egen;

    if (len == 16)
        return 1;
    if (len < 24)
        return 0;
    memcpy(&v, p + 4, 4);
    memcpy(&gen, p + 8, 8);
    memcpy(&n, p + 16, 4);
    if (v < 5)
        return 0;
    if (n == 0)
        return memcmp(p + 16, "\0\0\0\0\0\0\0\0", 8) == 0;
    if (n < 8 || len - 24 < n)
        return 0;
    memcpy(&egen, p + 24, 8);
    return egen != gen;
}

/* A WAL file, which store-equality checks only require to be empty
 * (storetest_wal_bytes_empty) after the close: how many there are and
 * their generations depend on how many full tails waited for the sealing
 * thread (STORE.md "Threads"). 0 for any other file. */
static inline int
storetest_is_wal_empty(const char *dir, const char *name)
{
    size_t len;
    uint8_t *p;

    if (strncmp(name, "wal", 3) != 0)
        return 0;
    p = storetest_slurp(dir, name, &len);
    int is_empty = storetest_wal_bytes_empty(p, len);
    free(p);
    if (!is_empty)
        fail_msg("%s/%s holds WAL entries (%zu bytes)", dir, name, len);
    return 1;
}

/* Threads of this process now (Linux: /proc/self/task): the store's
 * threads are counted by the difference. */
static inline int
storetest_count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Every file of store a but the WAL's is in b with the same bytes, and b
 * has as many; n[0..2] get a's counts of segments (.lqs), .lqi and
 * quarantine (.lqq) files. No segment is only its 16-byte header (one a
 * failed rolling job left). Needs <dirent.h>. */
static inline void
storetest_same_dirs(const char *a, const char *b, int n[3])
{
    DIR *d = opendir(a);
    struct dirent *de;
    int n_a = 0, n_b = 0;

    assert_non_null(d);
    n[0] = n[1] = n[2] = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || storetest_is_wal_empty(a, de->d_name))
            continue;
        storetest_same_file(a, b, de->d_name);
        if (strstr(de->d_name, ".lqs") != NULL) {
            size_t len;
            free(storetest_slurp(a, de->d_name, &len));
            if (len <= 16)
                fail_msg("%s/%s: an empty segment", a, de->d_name);
        }
        n[0] += strstr(de->d_name, ".lqs") != NULL;
        n[1] += strstr(de->d_name, ".lqi") != NULL;
        n[2] += strstr(de->d_name, ".lqq") != NULL;
        n_a++;
    }
    closedir(d);
    d = opendir(b);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n_b += de->d_name[0] != '.' &&
               !storetest_is_wal_empty(b, de->d_name);
    closedir(d);
    assert_int_equal(n_a, n_b);
}

/* Every file of store directory a but the WAL's is in b with the same
 * bytes (the WAL files hold the last tail, unsealed, and their number
 * depends on how many tails waited for the sealing thread: compared by
 * their replay); *n_seg: a's segments. */
static inline void
storetest_same_files_but_wal(const char *a, const char *b, int *n_seg)
{
    DIR *d = opendir(a);
    struct dirent *de;

    assert_non_null(d);
    *n_seg = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strncmp(de->d_name, "wal", 3) == 0)
            continue;
        storetest_same_file(a, b, de->d_name);
        *n_seg += strstr(de->d_name, ".lqs") != NULL;
    }
    closedir(d);
}

/* Both stores give the same records, every field, in the same order (the
 * unsealed tail's included), at least min_n of them. */
static inline void
storetest_same_records(struct store *a, struct store *b, int min_n)
{
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1 };
    struct store_cursor *ca = store_cursor_new(a, &fl, 0);
    struct store_cursor *cb = store_cursor_new(b, &fl, 0);
    struct logrec ra, rb;
    int rc, n = 0;

    while ((rc = store_cursor_next(ca, &ra)) == 1) {
        assert_int_equal(store_cursor_next(cb, &rb), 1);
        assert_true(ra.time_ns == rb.time_ns && ra.recv_ns == rb.recv_ns);
        assert_true(ra.offset == rb.offset && ra.stream == rb.stream &&
                    ra.flags == rb.flags);
        assert_string_equal(ra.host, rb.host);
        assert_string_equal(ra.container_id, rb.container_id);
        assert_string_equal(ra.container, rb.container);
        assert_string_equal(ra.image, rb.image);
        assert_int_equal(ra.msg_len, rb.msg_len);
        assert_memory_equal(ra.msg, rb.msg, ra.msg_len);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(store_cursor_next(cb, &rb), 0);
    assert_true(n >= min_n);
    store_cursor_free(ca);
    store_cursor_free(cb);
}

#endif
