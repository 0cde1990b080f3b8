/* SPDX-License-Identifier: MIT */
/*
 * tail_wb_test: the pages of a json-file the tailer has read do not stay
 * dirty for the kernel's 30 s expiry (tail_wb.c; shipper/README.md
 * "Writeback of what was read"). Docker's writes are reproduced on a
 * disk-backed directory (statfs: not tmpfs or ramfs, whose pages are
 * never written back), unsynced; the file's page-cache state is read
 * with cachestat(2) (Linux 6.5+, called through syscall(): glibc may lack
 * the wrapper): after the tailer read them, the whole pages read are no
 * longer dirty within 2 s, the last partial page may be. A kernel without
 * cachestat (ENOSYS) or a directory that is all tmpfs skips the check,
 * with the reason printed; so does a kernel that already wrote the pages
 * back before the tailer read them (nothing left to tell). Also: the
 * calls come in steps (a container writing slowly adds none until a step
 * is read), none at all with the step 0 (--writeback-step 0), none for
 * a file deleted while it is read, and a rotated file read to its end
 * gets the rest, its last page too; a failing call (through
 * tail_wb_test_call) is counted, stops the calls on that file (EINVAL)
 * or on every file (ENOSYS), and every line is still read.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xmalloc.h"
#include "shipper/tail.h"

#define ID        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
#define LINE      1024u             /* bytes of each json-file line */
#define MIB       (1u << 20)
#define PAGE      ((uint64_t)sysconf(_SC_PAGESIZE))
#define WAIT_MS   2000
#define TMPFS     0x01021994L
#define RAMFS     0x858458f6L

#ifndef SYS_cachestat
#define SYS_cachestat 451           /* x86_64, arm64 (asm-generic) */
#endif

struct wb_cachestat_range {
    uint64_t off;
    uint64_t len;
};

struct wb_cachestat {
    uint64_t nr_cache;
    uint64_t nr_dirty;
    uint64_t nr_writeback;
    uint64_t nr_evicted;
    uint64_t nr_recently_evicted;
};

struct fx {
    char                    *dir;
    char                    *live;
    struct shipper_counters  ctr;
    struct tail_config       cfg;
    struct tailer           *t;
    uint64_t                 n_recs;
};

/* ---- helpers ---- */

static int
is_disk(const char *dir)
{
    struct statfs sf;

    return statfs(dir, &sf) == 0 && sf.f_type != TMPFS && sf.f_type != RAMFS;
}

/* A new directory on a disk: under /tmp, else beside the test binary
 * (the build directory); NULL if both are tmpfs. */
static char *
disk_dir(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const char *bases[2] = { "/tmp", NULL };

    if (n > 0) {
        exe[n] = '\0';
        bases[1] = dirname(exe);
    }
    for (int i = 0; i < 2; i++) {
        if (bases[i] == NULL || !is_disk(bases[i]))
            continue;
        char *dir = xasprintf("%s/tail_wb_test.XXXXXX", bases[i]);
        if (mkdtemp(dir) != NULL)
            return dir;
        free(dir);
    }
    return NULL;
}

/* Page-cache state of fd's [off, off + len): 0, or -1 with errno. */
static int
cachestat(int fd, uint64_t off, uint64_t len, struct wb_cachestat *out)
{
    struct wb_cachestat_range r = { off, len };

    return (int)syscall(SYS_cachestat, fd, &r, out, 0);
}

static void
count_cb(void *arg, const struct tail_record *r)
{
    struct fx *f = arg;

    (void)r;
    f->n_recs++;
}

/* Appends n json-file lines of exactly LINE bytes to path, then tail_len
 * more bytes (one shorter line; 0: none). Not synced. */
static void
write_lines(const char *path, size_t n, size_t tail_len)
{
    static const char head[] = "{\"log\":\"";
    static const char end[] = "\\n\",\"stream\":\"stdout\",\"time\":"
                              "\"2026-12-06T06:00:00.000000000Z\"}\n";
    char line[LINE];
    FILE *fp = fopen(path, "a");

    assert_non_null(fp);
    assert_true(tail_len == 0 ||
                tail_len >= sizeof(head) + sizeof(end) - 1);
    for (size_t i = 0; i <= n; i++) {
        size_t len = i < n ? LINE : tail_len;
        if (len == 0)
            break;
        size_t pad = len - (sizeof(head) - 1) - (sizeof(end) - 1);
        memcpy(line, head, sizeof(head) - 1);
        memset(line + sizeof(head) - 1, 'a' + (char)(i % 26), pad);
        memcpy(line + sizeof(head) - 1 + pad, end, sizeof(end) - 1);
        assert_int_equal(fwrite(line, 1, len, fp), len);
    }
    assert_int_equal(fclose(fp), 0);
}

static void
drain(struct fx *f)
{
    int steps = 0;

    if (f->t == NULL)
        f->t = tail_new(f->dir, ID, &f->cfg, &f->ctr);
    while (tail_step(f->t, count_cb, f) == TAIL_DATA)
        assert_true(++steps < 1000000);
}

/* Dirty pages of path's [off, off + len) once they fell to at most
 * `most` (polled every 20 ms), or after WAIT_MS. */
static uint64_t
dirty_within(const char *path, uint64_t off, uint64_t len, uint64_t most)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct wb_cachestat cs = { 0 };

    assert_true(fd >= 0);
    for (int ms = 0;; ms += 20) {
        assert_int_equal(cachestat(fd, off, len, &cs), 0);
        if (cs.nr_dirty <= most || ms >= WAIT_MS)
            break;
        usleep(20 * 1000);
    }
    close(fd);
    return cs.nr_dirty;
}

/* Skips (1) when cachestat cannot tell: no such call, or path's pages in
 * [0, len) already mostly written back. */
static int
cannot_tell(const char *path, uint64_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct wb_cachestat cs;

    assert_true(fd >= 0);
    int rc = cachestat(fd, 0, len, &cs);
    int err = errno;
    close(fd);
    if (rc < 0 && err == ENOSYS) {
        printf("skipped: no cachestat(2) in this kernel (Linux 6.5+)\n");
        return 1;
    }
    assert_int_equal(rc, 0);
    if (cs.nr_dirty < len / PAGE / 2) {
        printf("skipped: the kernel already wrote back %llu of %llu pages "
               "before the tailer read them\n",
               (unsigned long long)(len / PAGE - cs.nr_dirty),
               (unsigned long long)(len / PAGE));
        return 1;
    }
    return 0;
}

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    f->dir = disk_dir();
    if (f->dir != NULL)
        f->live = xasprintf("%s/%s-json.log", f->dir, ID);
    f->cfg.max_record = MIB;
    f->cfg.chunk = TAIL_CHUNK;
    f->cfg.wb_step = TAIL_WB_STEP;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    tail_wb_test_call(NULL);    /* a failed test left its fake call set */
    tail_free(f->t);
    if (f->dir != NULL) {
        char *cmd = xasprintf("rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(cmd);
    }
    free(f->live);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- tests ---- */

/* 8 MiB of lines and 100 bytes more, read as a backlog: the 8 MiB of
 * whole pages are asked in 8 steps and no longer dirty within 2 s (the
 * kernel alone keeps them dirty for 30 s); the last page is partial. */
static void
test_read_pages_not_left_dirty(void **state)
{
    struct fx *f = *state;
    const uint64_t whole = 8 * (uint64_t)MIB;

    if (f->dir == NULL) {
        printf("skipped: /tmp and the build directory are tmpfs\n");
        skip();
    }
    write_lines(f->live, whole / LINE, 100);
    if (cannot_tell(f->live, whole))
        skip();
    drain(f);
    assert_int_equal(f->n_recs, whole / LINE + 1);
    assert_int_equal(f->ctr.wb_calls, 8);
    assert_int_equal(f->ctr.wb_bytes, whole);
    assert_int_equal(f->ctr.wb_errors, 0);
    uint64_t dirty = dirty_within(f->live, 0, whole, 4);
    if (dirty > 4)
        fail_msg("%llu of the %llu pages read still dirty after %d ms",
                 (unsigned long long)dirty,
                 (unsigned long long)(whole / PAGE), WAIT_MS);
}

/* A container writing slowly: no call until a step of whole pages was
 * read, then one. */
static void
test_calls_in_steps(void **state)
{
    struct fx *f = *state;

    if (f->dir == NULL)
        skip();
    write_lines(f->live, 900, 0);           /* 900 KiB */
    drain(f);
    assert_int_equal(f->ctr.wb_calls, 0);
    write_lines(f->live, 100, 0);           /* 1000 KiB */
    drain(f);
    assert_int_equal(f->ctr.wb_calls, 0);
    write_lines(f->live, 100, 0);           /* 1100 KiB */
    drain(f);
    assert_int_equal(f->ctr.wb_calls, 1);
    /* the whole pages read when the step was reached: a chunk may end
     * past it */
    assert_in_range(f->ctr.wb_bytes, MIB, MIB + TAIL_CHUNK);
    assert_int_equal(f->ctr.wb_bytes % PAGE, 0);
    assert_int_equal(f->n_recs, 1100);
}

/* --writeback-step 0: no call at all. */
static void
test_off_no_calls(void **state)
{
    struct fx *f = *state;

    if (f->dir == NULL)
        skip();
    f->cfg.wb_step = 0;
    write_lines(f->live, 4096, 0);
    drain(f);
    assert_int_equal(f->n_recs, 4096);
    assert_int_equal(f->ctr.wb_calls, 0);
    assert_int_equal(f->ctr.wb_bytes, 0);
}

/* A file rotated and read to its end: after its 1 MiB step, the rest
 * (half a MiB and a partial page) is asked too: nothing of it dirty. */
static void
test_rotated_rest(void **state)
{
    struct fx *f = *state;
    const uint64_t size = 1536 * (uint64_t)LINE + 200;

    if (f->dir == NULL)
        skip();
    write_lines(f->live, 1536, 200);
    if (cannot_tell(f->live, size))
        skip();
    drain(f);
    assert_int_equal(f->ctr.wb_calls, 1);
    char *rotated = xasprintf("%s.1", f->live);
    assert_int_equal(rename(f->live, rotated), 0);
    write_lines(f->live, 1, 0);
    drain(f);
    assert_int_equal(f->ctr.rotations, 1);
    assert_int_equal(f->n_recs, 1536 + 1 + 1);
    assert_int_equal(f->ctr.wb_calls, 2);
    assert_int_equal(f->ctr.wb_bytes, size);
    uint64_t dirty = dirty_within(rotated, 0, size, 0);
    free(rotated);
    assert_int_equal(dirty, 0);
}

/* A file Docker deleted while it is read (held open): its pages go with
 * the last close, none is asked. */
static void
test_deleted_no_calls(void **state)
{
    struct fx *f = *state;

    if (f->dir == NULL)
        skip();
    write_lines(f->live, 3072, 0);          /* 3 MiB */
    f->t = tail_new(f->dir, ID, &f->cfg, &f->ctr);
    assert_int_equal(tail_step(f->t, count_cb, f), TAIL_DATA);
    assert_int_equal(unlink(f->live), 0);
    drain(f);
    assert_int_equal(f->n_recs, 3072);
    assert_int_equal(f->ctr.wb_calls, 0);
    assert_int_equal(f->ctr.wb_bytes, 0);
}

/* The call failing (tail_wb_test_call): counted and never fatal, every
 * line still read. EINVAL stops the calls on that file only: the next
 * one after a rotation is asked again; ENOSYS stops them on every file. */
static int fail_errno;

static int
failing_call(int fd, off64_t off, off64_t len, unsigned flags)
{
    (void)fd;
    (void)off;
    (void)len;
    (void)flags;
    errno = fail_errno;
    return -1;
}

static void
fail_then_rotate(struct fx *f, int err)
{
    fail_errno = err;
    tail_wb_test_call(failing_call);
    write_lines(f->live, 3072, 0);          /* 3 steps */
    drain(f);
    assert_int_equal(f->n_recs, 3072);
    assert_int_equal(f->ctr.wb_calls, 1);   /* no more on this file */
    assert_int_equal(f->ctr.wb_errors, 1);
    assert_int_equal(f->ctr.wb_bytes, 0);
    if (err != ENOSYS)          /* the next file's calls work (ENOSYS:
                                   none is made, kept as the call found) */
        tail_wb_test_call(NULL);
    char *rotated = xasprintf("%s.1", f->live);
    assert_int_equal(rename(f->live, rotated), 0);
    free(rotated);
    write_lines(f->live, 2048, 0);
    drain(f);
    assert_int_equal(f->ctr.rotations, 1);
    assert_int_equal(f->n_recs, 3072 + 2048);
}

static void
test_failure_einval_one_file(void **state)
{
    struct fx *f = *state;

    if (f->dir == NULL)
        skip();
    fail_then_rotate(f, EINVAL);
    assert_int_equal(f->ctr.wb_errors, 1);
    assert_true(f->ctr.wb_calls >= 2);      /* the new file asked again */
    assert_true(f->ctr.wb_bytes >= MIB);
    tail_wb_test_call(NULL);
}

static void
test_failure_enosys_every_file(void **state)
{
    struct fx *f = *state;

    if (f->dir == NULL)
        skip();
    fail_then_rotate(f, ENOSYS);
    tail_wb_test_call(NULL);
    assert_int_equal(f->ctr.wb_calls, 1);   /* none on the new file */
    assert_int_equal(f->ctr.wb_errors, 1);
    assert_int_equal(f->ctr.wb_bytes, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_pages_not_left_dirty,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_calls_in_steps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_off_no_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotated_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_no_calls, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failure_einval_one_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failure_enosys_every_file,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
