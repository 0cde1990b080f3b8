/* SPDX-License-Identifier: MIT */
/*
 * store_build: a store built from the same input the same way every time,
 * so that two builds of the store code can be compared byte for byte
 * (segments, their .lqi, WAL, hw.lqh: `cmp` of every file) and under
 * callgrind. Each line of each FILE is one record of container i (the
 * file's number): event times 1 ms apart, receive times one per
 * --commit records (as a batch's), a commit every --commit records, the
 * store's clock fixed; 1 MiB blocks and 64 MiB segments as the
 * collector's defaults, written by the sealing and indexing threads.
 * Segments and their .lqi come out the same whatever the threads'
 * timing; the WAL files too with --sync (each commit waits for the
 * sealing thread, so the same files are in use at each commit; without
 * it, which file a commit goes to depends on how far the sealing thread
 * is). --cached appends through store_append_cached (ingest's path:
 * each file's label looked up at its first record, then taken from the
 * cache), which must give the same files as store_append. --async
 * commits as ingest does (store_commit_begin, appending on while the WAL
 * is synced, store_commit_end looked at every 256 records, after
 * store_commit_full closed a full tail, the next commit begun once it
 * ended, waited for past 16 MiB appended meanwhile; --commit is then
 * unused), so the sealing
 * chain, not the WAL syncs, sets the pace: its figures are printed
 * (jobs, blocks, built ahead, loop waits for the sealing thread).
 *   store-build [--commit N] [--sync] [--cached] [--async] DIR FILE...
 * Not part of make test (the differential tests of each fast path are).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/store/store.h"
#include "common/record.h"

static int64_t
fixed_clock(void *arg)
{
    (void)arg;
    return INT64_C(1764900000000000000);
}

static int is_sync, is_cached, is_async, is_in_flight;

/* --async: ends the commit in flight if its sync returned, and begins the
 * next one if none is in flight. */
static int
commit_async(struct store *s)
{
    if (is_in_flight) {
        /* past 16 MiB appended during the sync, wait for it (ingest holds
         * its reading so: /health commit_holds) */
        int rc = store_unsynced_bytes(s) >= (16u << 20) ? store_commit_wait(s)
                                                        : store_commit_end(s);
        if (rc < 0)
            return -1;
        is_in_flight = rc == 0;
    }
    if (!is_in_flight) {
        int rc = store_commit_begin(s);
        if (rc < 0)
            return -1;
        is_in_flight = rc == 1;
    }
    return 0;
}

static int
build(struct store *s, const char *path, unsigned idx, size_t every,
      uint64_t *n_total)
{
    FILE *f = fopen(path, "rb");
    char id[65], name[32], *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t i = 0;
    struct store_label *lab = NULL;

    if (!f) {
        fprintf(stderr, "store-build: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (size_t k = 0; k < 64; k++)
        id[k] = "0123456789abcdef"[(idx + k) % 16];
    id[64] = '\0';
    snprintf(name, sizeof(name), "app%u", idx);
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        struct logrec r = {
            .time_ns = INT64_C(1764800000000000000) + (int64_t)i * 1000000,
            .host = "bench1", .container_id = id, .container = name,
            .image = "shop/api:2.3", .stream = (uint8_t)(i % 7 == 0),
            .offset = i + 1, .msg = line, .msg_len = (size_t)n,
            .recv_ns = INT64_C(1764850000000000000) +
                       (int64_t)((*n_total + i) / every) * 1000,
        };
        if ((is_cached ? store_append_cached(s, &r, &lab)
                       : store_append(s, &r)) < 0) {
            fprintf(stderr, "store-build: append: %s\n", store_errstr(s));
            break;
        }
        i++;
        if (is_async) {
            if ((*n_total + i) % 256 == 0 &&
                (store_commit_full(s) < 0 || commit_async(s) < 0)) {
                fprintf(stderr, "store-build: commit: %s\n",
                        store_errstr(s));
                break;
            }
        } else if ((*n_total + i) % every == 0 &&
            (store_commit(s) < 0 || (is_sync && store_sync(s) < 0))) {
            fprintf(stderr, "store-build: commit: %s\n", store_errstr(s));
            break;
        }
    }
    free(line);
    fclose(f);
    *n_total += i;
    return 0;
}

int
main(int argc, char **argv)
{
    size_t every = 2000;
    int i = 1;
    uint64_t n_total = 0;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--sync") == 0)
            is_sync = 1;
        else if (strcmp(argv[i], "--cached") == 0)
            is_cached = 1;
        else if (strcmp(argv[i], "--async") == 0)
            is_async = 1;
        else if (strcmp(argv[i], "--commit") == 0 && i + 1 < argc)
            every = strtoul(argv[++i], NULL, 10);
        else
            break;
    }
    if (argc - i < 2 || every == 0) {
        fprintf(stderr, "usage: store-build [--commit N] [--sync] [--cached] "
                "[--async] DIR FILE...\n");
        return 2;
    }
    struct store_options opt = { .clock = fixed_clock };
    char *err = NULL;
    struct store *s = store_open(argv[i], &opt, &err);
    if (!s) {
        fprintf(stderr, "store-build: %s\n", err);
        free(err);
        return 1;
    }
    for (int k = i + 1; k < argc; k++)
        if (build(s, argv[k], (unsigned)(k - i), every, &n_total) < 0)
            break;
    if (is_in_flight)
        (void)store_commit_wait(s);
    int rc = store_commit(s) < 0 || store_sync(s) < 0;
    struct store_stats st;
    store_get_stats(s, &st);
    store_close(s);
    printf("%" PRIu64 " records\n", n_total);
    printf("%" PRIu64 " seal jobs, %" PRIu64 " blocks; in a job %.2f s:"
           " build %.2f, write %.2f, sync %.2f,"
           " index wait %.2f, WAL cut %.2f s; loop waited %" PRIu64
           " times, %.2f s\n", st.n_seal_jobs, st.n_seal_blocks,
           st.seal_run_ms / 1e3, st.seal_build_ms / 1e3,
           st.seal_write_ms / 1e3, st.seal_sync_ms / 1e3,
           st.seal_index_wait_ms / 1e3, st.seal_wal_cut_ms / 1e3,
           st.n_seal_waits, st.seal_wait_ms / 1e3);
    return rc;
}
