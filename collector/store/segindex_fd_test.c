/* SPDX-License-Identifier: MIT */
/*
 * segindex_fd_test: the .lqi files a store holds open for lookups across
 * queries (store_options.index_fds, segindex.c segindex_fd): at most
 * that many, the newest segments' ones, the same answers as with one;
 * none left open on a file that retention deleted or that was dropped
 * as damaged, none after store_close (each counted from /proc/self/fd).
 */
#include <dirent.h>
#include <fcntl.h>
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
#include "tests/support/testdir.h"

#define T0 1700000000000000000LL

static void
rm_dir(char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(dir);
}

/* The .lqi files of dir this process holds open: how many, how many of
 * them deleted, and the highest and lowest segment number open. */
struct fds {
    int      n, n_deleted;
    uint64_t min_seq, max_seq;
};

static struct fds
count_fds(const char *dir)
{
    struct fds r = { 0, 0, UINT64_MAX, 0 };
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char link[300], target[512];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        const char *seg = strstr(target, "/seg-");
        if (strncmp(target, dir, strlen(dir)) != 0 || !seg ||
            !strstr(seg, ".lqi"))
            continue;
        uint64_t seq = strtoull(seg + 5, NULL, 16);
        r.n++;
        r.n_deleted += strstr(seg, "(deleted)") != NULL;
        r.min_seq = seq < r.min_seq ? seq : r.min_seq;
        r.max_seq = seq > r.max_seq ? seq : r.max_seq;
    }
    closedir(d);
    return r;
}

static struct store *
open_store(const char *dir, size_t index_fds, uint64_t retention_bytes)
{
    struct store_options o = { .block_size = 4 << 10,
                               .segment_size = 16 << 10,
                               .index_fds = index_fds,
                               .retention_bytes = retention_bytes };

    return storetest_open(dir, &o);
}

/* Records i0.. of the test: "word<i % 50>" in each, "rare" in every
 * 97th. */
static void
put_range(struct store *s, int i0, int n)
{
    for (int i = i0; i < i0 + n; i++) {
        char msg[96];
        struct logrec r = { 0 };
        snprintf(msg, sizeof(msg), "line %d word%d%s of the fds test", i,
                 i % 50, i % 97 == 0 ? " rare" : "");
        r.time_ns = T0 + (int64_t)i * 1000;
        r.host = "h1";
        r.container_id = "cid";
        r.container = "web";
        r.image = "img";
        r.offset = (uint64_t)i + 1;
        r.msg = msg;
        r.msg_len = strlen(msg);
        assert_int_equal(store_append(s, &r), 1);
        if (i % 100 == 99)
            assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(store_sync(s), 0);
}

/* Records of a query for tok (required), and, with a count word, the
 * index's count path too. */
static int
query(struct store *s, const char *tok)
{
    const char *toks[1] = { tok };
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1, .tokens = toks, .n_tokens = 1,
                               .is_tokens_required = 1 };
    struct store_cursor *c = store_cursor_new(s, &fl, 1);
    struct logrec r;
    int n = 0, rc;

    while ((rc = store_cursor_next(c, &r)) != 0) {
        assert_int_equal(rc, 1);
        n++;
    }
    store_cursor_free(c);
    return n;
}

/* At most index_fds files open, the newest segments', across queries,
 * with the answers of a store that holds one; none after close. */
static void
test_fds_bounded(void **state)
{
    char *dir = testdir_make("logq-segfd-test");
    struct store_stats st;

    (void)state;
    struct store *s = open_store(dir, 3, 0);
    put_range(s, 0, 6000);
    store_get_stats(s, &st);
    assert_true(st.n_segments >= 8);
    assert_int_equal(count_fds(dir).n, 0);      /* none before a query */
    int want = query(s, "rare");
    assert_int_equal(want, (6000 + 96) / 97);
    for (int q = 0; q < 5; q++) {
        struct fds f = count_fds(dir);
        assert_int_equal(f.n, 3);
        assert_int_equal(f.n_deleted, 0);
        /* the newest full segments (the last one has no .lqi yet) */
        assert_int_equal(f.max_seq - f.min_seq, 2);
        assert_true(f.max_seq >= st.n_segments - 1);
        assert_int_equal(query(s, "rare"), want);
        assert_int_equal(query(s, "word7"), 6000 / 50);
    }
    store_close(s);
    assert_int_equal(count_fds(dir).n, 0);
    /* one file at a time: the same answers */
    s = open_store(dir, 1, 0);
    assert_int_equal(query(s, "rare"), want);
    assert_int_equal(count_fds(dir).n, 1);
    store_close(s);
    assert_int_equal(count_fds(dir).n, 0);
    rm_dir(dir);
}

/* Retention deletes the oldest segments while their files are held
 * open: they are closed with them (none open on a deleted file). */
static void
test_fds_retention(void **state)
{
    char *dir = testdir_make("logq-segfd-test");
    struct store_stats st;

    (void)state;
    /* 12,000 records make 21 segments here (what is deleted depends on
     * the sealing thread's jobs): 48 KiB of retention deletes 10-13 of
     * them (80 KiB deleted 2-5 with .lqi version 9's smaller files:
     * under 3 one run in seven under load, as in CI) */
    struct store *s = open_store(dir, 64, 48 << 10);
    for (int round = 0; round < 12; round++) {
        put_range(s, round * 1000, 1000);
        (void)query(s, "rare");
        struct fds f = count_fds(dir);
        assert_int_equal(f.n_deleted, 0);
        store_get_stats(s, &st);
        assert_true((uint64_t)f.n <= st.n_segments);
    }
    assert_true(st.n_segments_deleted >= 3);    /* retention did delete */
    store_close(s);
    assert_int_equal(count_fds(dir).n, 0);
    rm_dir(dir);
}

/* A damaged page drops its file (unlinked, scanned until the next open
 * rebuilds it): the file held open for it is closed, the answer stays
 * exact. */
static void
test_fds_dropped(void **state)
{
    char *dir = testdir_make("logq-segfd-test");

    (void)state;
    struct store *s = open_store(dir, 64, 0);
    put_range(s, 0, 3000);
    int want = query(s, "rare");
    struct fds before = count_fds(dir);
    assert_true(before.n >= 2);
    /* every byte past the head of the first .lqi: its pages fail */
    char *path = xasprintf("%s/seg-%016llx.lqi", dir, 1ull);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t end = lseek(fd, 0, SEEK_END);
    uint8_t *junk = xcalloc(1, (size_t)end);
    assert_true(pread(fd, junk, (size_t)end, 0) == end);
    for (off_t i = end / 2; i < end; i++)
        junk[i] ^= 0x5a;
    assert_true(pwrite(fd, junk + end / 2, (size_t)(end - end / 2),
                       end / 2) == end - end / 2);
    close(fd);
    free(junk);
    assert_int_equal(query(s, "rare"), want);
    assert_int_equal(query(s, "word7"), 3000 / 50);
    struct fds after = count_fds(dir);
    assert_int_equal(after.n_deleted, 0);
    assert_true(after.min_seq > 1);
    assert_int_equal(access(path, F_OK), -1);   /* dropped: unlinked */
    free(path);
    store_close(s);
    assert_int_equal(count_fds(dir).n, 0);
    rm_dir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fds_bounded),
        cmocka_unit_test(test_fds_retention),
        cmocka_unit_test(test_fds_dropped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
