/* SPDX-License-Identifier: MIT */
/*
 * sealpool_test: a seal job's frames compressed on several threads
 * (sealpool.c, store_options.seal_threads 2 and 4) give the same store,
 * byte for byte, as the sealing thread alone (seal_threads 1, which
 * builds each block with block_frames_encode and writes each .lqi
 * itself): segments, .lqi files and quarantine files (and no temp file
 * left), on the same input, with failed segment writes
 * (ENOSPC: the job is retried whole), failed segment syncs (with the
 * .lqi a helper wrote while the segment was synced, segindex.c) and
 * blocks that fail to build
 * (quarantined), codecs 8, 7 and 6, small frames (many a block) and jobs of
 * several blocks. Every commit is followed by store_sync, so the jobs,
 * and with them which write fails, are the same in every run. Run under
 * MODE=tsan too (make tsan-unit).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "common/xmalloc.h"
#include "tests/support/storetest.h"

#define T0     STORETEST_T0
#define N_RECS 8000

/* Record i's message: words from a small and a large vocabulary, some
 * long lines (a frame of their own at small frame sizes). */
static void
msg_of(int i, char *out, size_t cap)
{
    static const char *const verbs[] = { "GET", "POST", "error", "retry",
                                         "timeout", "done" };
    unsigned v = (unsigned)i * 2654435761u;

    if (i % 97 == 0) {
        size_t n = 0;
        for (unsigned k = 0; n + 16 < cap && k < 60; k++)
            n += (size_t)snprintf(out + n, cap - n, "w%u ", (v >> (k % 16)) %
                                  7919);
        return;
    }
    if (i % 5 == 0)
        snprintf(out, cap, "{\"level\":\"%s\",\"user\":\"u%u\",\"n\":%d}",
                 verbs[v % 6], v % 997, i);
    else
        snprintf(out, cap, "%s /item/%u took %u ms tok%u", verbs[v % 6],
                 v % 100003, v % 500, (unsigned)i / 50);
}

/* The write hook: every 7th block write to a segment fails (ENOSPC; 6
 * at most), and the retry's first block then fails to build, as does
 * every 41st block built: each quarantined; of the first 60 segment
 * syncs every other one fails (EIO: a job that fills its segment then
 * drops the .lqi a helper wrote meanwhile, STORE.md "Threads"). Only
 * the sealing thread calls it for these steps, in the same order
 * whatever the helpers ("index" writes, which a helper may make, pass). */
static int n_writes, n_failed, n_builds, is_armed, n_syncs;
static int n_index;             /* .lqi writes (atomic: any thread) */

static int
fault_hook(const char *what, size_t len, void *arg)
{
    (void)arg;
    if (strcmp(what, "index") == 0) {
        __atomic_add_fetch(&n_index, 1, __ATOMIC_RELAXED);
        return 0;
    }
    if (strcmp(what, "segment-sync") == 0) {
        if (++n_syncs % 2 == 1 && n_syncs < 60) {
            errno = EIO;
            return -1;
        }
        return 0;
    }
    if (strcmp(what, "block") == 0) {
        if (is_armed || ++n_builds % 41 == 0) {
            is_armed = 0;
            errno = EINVAL;
            return -1;
        }
        return 0;
    }
    if (strcmp(what, "segment") != 0 || len <= 16)     /* not a header */
        return 0;
    if (++n_writes % 7 != 0 || n_failed >= 6)
        return 0;
    n_failed++;
    is_armed = 1;
    errno = ENOSPC;
    return -1;
}

/* Writes the test's records into a store at dir with seal_threads and
 * codec 8 (variant 0), 6 (1) or 7 (2); returns the threads the process
 * had while the store was open. */
static int
write_store(const char *dir, int seal_threads, int variant,
            struct store_stats *st)
{
    struct store_options opt = {
        .block_size = 8192, .segment_size = 96 << 10, .frame_size = 1024,
        .clock = storetest_clock_t0_2h, .write_hook = fault_hook,
        .seal_threads = seal_threads, .is_no_recv_range = variant == 1,
        .is_time_varint = variant == 2,
    };
    char msg[1024], host[16], cid[16];

    n_writes = n_failed = n_builds = is_armed = n_syncs = n_index = 0;
    struct store *s = storetest_open(dir, &opt);
    int n_threads = storetest_count_threads();
    for (int i = 0; i < N_RECS; i++) {
        int src = i % 3;
        snprintf(host, sizeof(host), "host%d", src);
        snprintf(cid, sizeof(cid), "cid%d", src);
        msg_of(i, msg, sizeof(msg));
        struct logrec r = {
            .time_ns = T0 + (int64_t)(i % 17) * 1000000 + i, .host = host,
            .container_id = cid, .container = "web", .image = "nginx:1",
            .stream = (uint8_t)(i % 2), .offset = (uint64_t)i + 1,
            .msg = msg, .msg_len = strlen(msg),
            .recv_ns = T0 + 3600000000000LL + i / 10,
        };
        assert_int_equal(store_append(s, &r), 1);
        /* commits of 40 records; every 1000 records one of ~60 KiB,
         * which the seal splits into several blocks of one job */
        if ((i % 1000 < 600 && i % 40 == 39) || i % 1000 == 999) {
            (void)store_commit(s);      /* fails while a write fails */
            (void)store_sync(s);
        }
    }
    for (int k = 0; k < 20 && (store_commit(s) != 0 || store_sync(s) != 0);
         k++)
        ;                               /* retried until it is written */
    assert_int_equal(store_sync(s), 0);
    store_get_stats(s, st);
    store_close(s);
    return n_threads;
}

static void
rm_dir(const char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);

    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* The store of 1 thread against that of 2, ..., max_threads. */
static void
same_bytes(int variant, int max_threads)
{
    char a[] = "/tmp/sealpool_test.XXXXXX";
    struct store_stats st, st1;
    int n[3];

    assert_non_null(mkdtemp(a));
    int n_serial = write_store(a, 1, variant, &st1);
    int n_index_serial = n_index;
    assert_true(st1.n_seal_errors >= 5);        /* the retries ran */
    assert_true(st1.n_quarantined_blocks >= 5);
    for (int threads = 2; threads <= max_threads; threads += 2) {
        char b[] = "/tmp/sealpool_test.XXXXXX";
        assert_non_null(mkdtemp(b));
        int n_pool = write_store(b, threads, variant, &st);
        /* helpers: threads - 1 compressing, one gathering token sets */
        assert_int_equal(n_pool, n_serial + threads);
        /* a .lqi written while its segment's sync failed, then again */
        assert_true(n_index > n_index_serial);
        assert_int_equal(st.n_seal_errors, st1.n_seal_errors);
        assert_int_equal(st.n_quarantined_blocks, st1.n_quarantined_blocks);
        assert_int_equal(st.n_quarantined_records,
                         st1.n_quarantined_records);
        storetest_same_dirs(a, b, n);
        assert_true(n[0] >= 3);         /* rolls, .lqi files, quarantine */
        assert_true(n[1] >= 2);
        assert_true(n[2] >= 5);
        rm_dir(b);
    }
    rm_dir(a);
}

static void
test_sealpool_same_bytes(void **state)
{
    (void)state;
    same_bytes(0, 4);
}

static void
test_sealpool_same_bytes_codec6(void **state)
{
    (void)state;
    same_bytes(1, 2);
}

static void
test_sealpool_same_bytes_codec7(void **state)
{
    (void)state;
    same_bytes(2, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealpool_same_bytes),
        cmocka_unit_test(test_sealpool_same_bytes_codec6),
        cmocka_unit_test(test_sealpool_same_bytes_codec7),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
