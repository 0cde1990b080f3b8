/* SPDX-License-Identifier: MIT */
/*
 * dwrite_test: the sealing thread's segment writes past the page cache
 * (dwrite.c). Blocks of every size class (under a page, whole pages,
 * page-aligned or not, larger than the staging buffer) written one after
 * another as seal jobs write them give the file a buffered write gives,
 * read back after each write through another descriptor, also after a
 * failed write cut back and written again, across two segments, a
 * segment removed and made again, a .lqi's order (its pages from past
 * the file's end, then its head), and with O_DIRECT refused; a store
 * writes its segment so unless store_options.is_seal_buffered; on a disk file system with O_DIRECT the whole
 * pages are not left in the page cache (mincore), which buffered writes
 * do (on tmpfs they are the file).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <cmocka.h>

#include "collector/store/store_internal.h"
#include "tests/support/storetest.h"
#include "tests/support/testdir.h"
#include "tests/support/testrng.h"

#define HDR 16                          /* a segment's header */

struct fixture {
    struct store        s;
    struct store_dwrite d;
    char               *dir;
    int                 fd;             /* segment 1, buffered (O_RDWR) */
    int                 n_fail;         /* the write hook fails these */
};

static int
t_hook(const char *what, size_t len, void *arg)
{
    struct fixture *f = arg;

    (void)len;
    assert_string_equal(what, "segment");
    if (f->n_fail > 0) {
        f->n_fail--;
        errno = EIO;
        return -1;
    }
    return 0;
}

static int
t_open_seg(struct fixture *f, uint64_t seq)
{
    char *path = store_seg_path(&f->s, seq);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    free(path);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "lqs header 16 b.", HDR, 0), HDR);
    return fd;
}

static void
t_init(struct fixture *f, char *dir)
{
    memset(f, 0, sizeof(*f));
    f->dir = dir;
    assert_non_null(f->dir);
    f->s.dir = f->dir;
    f->s.opt.write_hook = t_hook;
    f->s.opt.write_hook_arg = f;
    dwrite_init(&f->d, "segment", store_seg_path, (size_t)1 << 20);
    f->fd = t_open_seg(f, 1);
}

static void
t_fini(struct fixture *f)
{
    dwrite_fini(&f->d);
    close(f->fd);
}

/* The file of segment seq, read through a descriptor of its own, is
 * want[0..n). */
static void
t_check(struct fixture *f, uint64_t seq, const uint8_t *want, size_t n)
{
    char *path = store_seg_path(&f->s, seq);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t *got = xmalloc(n + 1);

    free(path);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal((size_t)st.st_size, n);
    assert_int_equal(pread(fd, got, n + 1, 0), (ssize_t)n);
    assert_memory_equal(got, want, n);
    free(got);
    close(fd);
}

/* Block sizes as the sealing thread meets them, and a few that stress
 * the page edges: under a page, whole pages, a page and a byte, more
 * than the 1 MiB staging buffer. */
static size_t
t_size(uint64_t *r, int i)
{
    static const size_t fixed[] = {
        1, 4095, 4096, 4097, 8192 - HDR, 65536, (1u << 20) + 4096 * 3 + 7,
        (1u << 20), 3u << 20, 12345,
    };

    if (i < (int)(sizeof(fixed) / sizeof(fixed[0])))
        return fixed[i];
    return 1 + testrng_next(r) % (300u << 10);
}

/* Writes n_blocks blocks after the header of segment 1 (and, is_two,
 * segment 2 from the middle on), checking both files after each. */
static void
t_run(struct fixture *f, int n_blocks, int is_two, uint64_t seed)
{
    uint64_t r = seed;
    size_t cap = 64u << 20, len[2] = { HDR, HDR };
    uint8_t *want[2] = { xmalloc(cap), xmalloc(cap) };
    int fd2 = -1;

    memcpy(want[0], "lqs header 16 b.", HDR);
    memcpy(want[1], "lqs header 16 b.", HDR);
    for (int i = 0; i < n_blocks; i++) {
        int k = is_two && i >= n_blocks / 2;
        if (k && fd2 < 0) {
            fd2 = t_open_seg(f, 2);
            dwrite_close(&f->d);        /* as seal_roll */
        }
        size_t n = t_size(&r, i);
        assert_true(len[k] + n <= cap);
        for (size_t j = 0; j < n; j++)
            want[k][len[k] + j] = (uint8_t)testrng_next(&r);
        if (i % 7 == 3) {               /* a failed write, as a seal */
            f->n_fail = 1;              /* job's: cut back, again */
            assert_int_equal(dwrite_at(&f->s, &f->d, k ? fd2 : f->fd, k + 1,
                                       want[k] + len[k], n, len[k]), -1);
            assert_int_equal(dwrite_at(&f->s, &f->d, k ? fd2 : f->fd, k + 1,
                                       want[k] + len[k], n / 2, len[k]), 0);
            assert_int_equal(ftruncate(k ? fd2 : f->fd, (off_t)len[k]), 0);
        }
        assert_int_equal(dwrite_at(&f->s, &f->d, k ? fd2 : f->fd, k + 1,
                                   want[k] + len[k], n, len[k]), 0);
        len[k] += n;
        t_check(f, 1, want[0], len[0]);
        if (fd2 >= 0)
            t_check(f, 2, want[1], len[1]);
    }
    assert_int_equal(fdatasync(f->fd), 0);
    t_check(f, 1, want[0], len[0]);
    if (fd2 >= 0)
        close(fd2);
    free(want[0]);
    free(want[1]);
}

/* Pages of fd's file in the page cache (mincore over its whole size),
 * -1 if it cannot be told: a tmpfs file's pages are the file. */
static long
t_fd_cached(int fd)
{
    struct stat st;
    struct statfs sf;
    long n = 0;

    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(fstatfs(fd, &sf), 0);
    if (sf.f_type == TMPFS_MAGIC || st.st_size == 0)
        return -1;
    size_t pages = ((size_t)st.st_size + 4095) / 4096;
    unsigned char *vec = xmalloc(pages);
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mincore(m, (size_t)st.st_size, vec), 0);
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    munmap(m, (size_t)st.st_size);
    free(vec);
    return n;
}

/* The same for path. */
static long
t_cached(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    assert_true(fd >= 0);
    long n = t_fd_cached(fd);
    close(fd);
    return n;
}

/* dwrite went buffered (d->is_off) only where the file system refuses
 * O_DIRECT: a check of the pages cached is skipped only there, never
 * because dwrite gave up on a file system that takes it. */
static void
t_assert_off_only_if_refused(const struct store_dwrite *d, const char *dir)
{
    if (!d->is_off)
        return;
    char *path = xasprintf("%s/odirect-probe", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    free(path);
    assert_true(fd < 0);
}

static void
test_dwrite_same_bytes(void **state)
{
    (void)state;
    struct testdir_file *tf = testdir_file_new("dwrite_test", "x");
    struct fixture f;

    assert_non_null(tf);
    t_init(&f, tf->dir);
    t_run(&f, 40, 1, 11);
    print_message("dwrite: %llu direct writes%s\n",
                  (unsigned long long)f.d.n_direct,
                  f.d.is_off ? " (O_DIRECT refused here)" : "");
    t_fini(&f);
    testdir_file_free(tf);
}

/* O_DIRECT refused (as on a file system without it): buffered, the
 * same bytes. */
static void
test_dwrite_refused(void **state)
{
    (void)state;
    struct testdir_file *tf = testdir_file_new("dwrite_test", "x");
    struct fixture f;

    assert_non_null(tf);
    t_init(&f, tf->dir);
    f.d.is_off = 1;
    t_run(&f, 20, 1, 12);
    assert_int_equal(f.d.n_direct, 0);
    t_fini(&f);
    testdir_file_free(tf);
}

/* The test's tmpfs directory (testdir_make), O_DIRECT or not. */
static void
test_dwrite_testdir(void **state)
{
    (void)state;
    struct fixture f;

    t_init(&f, testdir_make("dwrite_test"));
    t_run(&f, 20, 0, 13);
    t_fini(&f);
    free(f.dir);
}

/* The pages written whole are not in the page cache after the writes
 * (a buffered write leaves every page there): the point of dwrite. */
static void
test_dwrite_not_cached(void **state)
{
    (void)state;
    struct testdir_file *tf = testdir_file_new("dwrite_test", "x");
    struct fixture f;
    size_t n = 1u << 20, total = HDR;
    uint8_t *b = xmalloc(n);

    assert_non_null(tf);
    t_init(&f, tf->dir);
    memset(b, 'x', n);
    for (int i = 0; i < 8; i++) {       /* 8 blocks, 8 MiB: 2048 pages */
        assert_int_equal(dwrite_at(&f.s, &f.d, f.fd, 1, b, n - 100, total),
                         0);
        total += n - 100;
    }
    t_assert_off_only_if_refused(&f.d, tf->dir);
    long resident = f.d.is_off ? -1 : t_fd_cached(f.fd);
    size_t pages = (total + 4095) / 4096;
    if (resident < 0) {     /* tmpfs (its pages are the file), or a file */
        print_message(      /* system refusing O_DIRECT */
            "dwrite: /tmp without O_DIRECT: not checked\n");
    } else {
        /* the file's last page only (the partial page a write ends in
         * is written buffered, and directly by the next write) */
        print_message("dwrite: %ld of %zu pages cached\n", resident, pages);
        assert_true(resident <= 1);
        assert_int_equal(f.d.n_direct, 8);
    }
    free(b);
    t_fini(&f);
    testdir_file_free(tf);
}

/* A segment removed and made again under its number (seal_unroll, then
 * the retry's seal_roll): the page kept from the old file is not taken
 * for the new one's head. */
static void
test_dwrite_unroll(void **state)
{
    (void)state;
    struct testdir_file *tf = testdir_file_new("dwrite_test", "x");
    struct fixture f;
    uint8_t b[10000], want[HDR + sizeof(b)];

    assert_non_null(tf);
    t_init(&f, tf->dir);
    memset(b, 'a', sizeof(b));
    assert_int_equal(dwrite_at(&f.s, &f.d, f.fd, 1, b, 100, HDR), 0);
    close(f.fd);
    dwrite_close(&f.d);                 /* as seal_unroll */
    char *path = store_seg_path(&f.s, 1);
    assert_int_equal(unlink(path), 0);
    f.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    free(path);
    assert_true(f.fd >= 0);
    assert_int_equal(pwrite(f.fd, "another header..", HDR, 0), HDR);
    memset(b, 'b', sizeof(b));
    assert_int_equal(dwrite_at(&f.s, &f.d, f.fd, 1, b, sizeof(b), HDR), 0);
    memcpy(want, "another header..", HDR);
    memcpy(want + HDR, b, sizeof(b));
    t_check(&f, 1, want, sizeof(want));
    t_fini(&f);
    testdir_file_free(tf);
}

/* A .lqi's order (segindex.c): its pages first, from an offset past the
 * file's end (the bytes before read as zeros), then its head at 0, which
 * ends inside the first page the pages were written to. */
static void
test_dwrite_head_last(void **state)
{
    (void)state;
    struct testdir_file *tf = testdir_file_new("dwrite_test", "x");
    struct fixture f;
    size_t head = 5000, n[3] = { 300000, 300000, 10000 }, total = head;
    uint8_t *want = xmalloc(head + n[0] + n[1] + n[2]);
    uint64_t r = 21;

    assert_non_null(tf);
    t_init(&f, tf->dir);
    close(f.fd);
    char *path = store_seg_path(&f.s, 3);
    f.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    free(path);
    assert_true(f.fd >= 0);
    for (size_t i = 0; i < head + n[0] + n[1] + n[2]; i++)
        want[i] = (uint8_t)testrng_next(&r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dwrite_at(&f.s, &f.d, f.fd, 3, want + total, n[i],
                                   total), 0);
        total += n[i];
    }
    assert_int_equal(dwrite_at(&f.s, &f.d, f.fd, 3, want, head, 0), 0);
    assert_int_equal(fsync(f.fd), 0);
    t_assert_off_only_if_refused(&f.d, tf->dir);
    long resident = f.d.is_off ? -1 : t_fd_cached(f.fd);
    if (resident >= 0) {
        /* the head's last page (read to be written in part) and the
         * file's last page */
        print_message("dwrite: %ld of %zu pages cached\n", resident,
                      (total + 4095) / 4096);
        assert_true(resident <= 2);
    }
    t_check(&f, 3, want, total);        /* (reads it into the cache) */
    free(want);
    t_fini(&f);
    testdir_file_free(tf);
}


/* A store's segment through the sealing thread: past the page cache by
 * default, through it with store_options.is_seal_buffered (the
 * collector's --seal-direct-io 0). */
static void
test_dwrite_store_option(void **state)
{
    (void)state;
    long cached[2];
    char msg[200];

    for (int k = 0; k < 2; k++) {
        struct testdir_file *tf = testdir_file_new("dwrite_test", "x");
        assert_non_null(tf);
        struct store_options opt = {
            .block_size = 64 << 10, .clock = storetest_clock_t0,
            .is_seal_buffered = k,
        };
        struct store *s = storetest_open(tf->dir, &opt);
        uint64_t r = 31;
        for (int i = 0; i < 20000; i++) {
            for (size_t j = 0; j < sizeof(msg); j++)
                msg[j] = (char)('a' + testrng_next(&r) % 26);
            struct logrec rec = {
                .time_ns = STORETEST_T0 + i, .host = "h", .container_id = "c",
                .container = "web", .image = "i", .offset = (uint64_t)i + 1,
                .msg = msg, .msg_len = sizeof(msg),
            };
            assert_int_equal(store_append(s, &rec), 1);
            if (i % 500 == 499) {
                assert_int_equal(store_commit(s), 0);
                assert_int_equal(store_sync(s), 0);
            }
        }
        store_close(s);
        char *path = xasprintf("%s/seg-%016llx.lqs", tf->dir, 1ULL);
        cached[k] = t_cached(path);
        free(path);
        testdir_file_free(tf);
    }
    print_message("dwrite: segment pages cached %ld direct, %ld buffered\n",
                  cached[0], cached[1]);
    if (cached[0] >= 0) {               /* not on tmpfs */
        assert_true(cached[1] > 400);   /* ~2.4 MB stored */
        assert_true(cached[0] < cached[1] / 10);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dwrite_same_bytes),
        cmocka_unit_test(test_dwrite_refused),
        cmocka_unit_test(test_dwrite_testdir),
        cmocka_unit_test(test_dwrite_not_cached),
        cmocka_unit_test(test_dwrite_unroll),
        cmocka_unit_test(test_dwrite_head_last),
        cmocka_unit_test(test_dwrite_store_option),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
