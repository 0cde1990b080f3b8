/* SPDX-License-Identifier: MIT */
/*
 * wal_test: a WAL entry goes out with one pwritev of its pieces (header,
 * label table, record count, records: wal.c); store_iov_skip resumes
 * after a short write. Checked against a model: for pieces of many
 * lengths (empty ones too) and every short-write length, the bytes left
 * are exactly the tail of the concatenation. Then whole commits through
 * a pwritev that writes a few bytes at a time and fails with EINTR every
 * third call replay as committed, and one that makes no progress fails
 * the commit (EIO) instead of looping. (Entries replaying after a
 * restart, torn ones cut: store_test.)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "collector/store/store_internal.h"
#include "common/xmalloc.h"
#include "tests/support/storetest.h"

#define MAX_PIECES 5

/* The bytes the n pieces at v still hold, back to back, into out. */
static size_t
iov_flatten(const struct iovec *v, int n, uint8_t *out)
{
    size_t len = 0;

    for (int i = 0; i < n; i++) {
        memcpy(out + len, v[i].iov_base, v[i].iov_len);
        len += v[i].iov_len;
    }
    return len;
}

static void
test_iov_skip_model(void **state)
{
    static const size_t lens[][MAX_PIECES] = {
        { 9, 0, 3, 0, 17 }, { 0, 0, 0, 0, 1 }, { 1, 1, 1, 1, 1 },
        { 18, 40, 1, 0, 0 }, { 0, 5, 0, 5, 0 },
    };
    uint8_t src[128], want[128], got[128];

    (void)state;
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 1);
    for (size_t c = 0; c < sizeof(lens) / sizeof(lens[0]); c++) {
        struct iovec base[MAX_PIECES];
        size_t total = 0;
        for (int i = 0; i < MAX_PIECES; i++) {
            base[i].iov_base = src + total;
            base[i].iov_len = lens[c][i];
            total += lens[c][i];
        }
        for (size_t n = 0; n <= total; n++) {
            struct iovec v[MAX_PIECES];
            memcpy(v, base, sizeof(v));
            struct iovec *p = v;
            int left = store_iov_skip(&p, MAX_PIECES, n);
            size_t got_len = iov_flatten(p, left, got);
            memcpy(want, src + n, total - n);
            assert_int_equal(got_len, total - n);
            assert_memory_equal(got, want, got_len);
            /* never stops on a piece with nothing left but a later one */
            if (left > 0 && n < total)
                assert_true(p->iov_len > 0 || left > 1);
            assert_true(left >= 0 && left <= MAX_PIECES);
        }
    }
}

/* How this program's pwritev behaves: PW_PASS writes everything, PW_SHORT
 * at most the next of a few short lengths (every third call fails with
 * EINTR instead), PW_STUCK writes nothing and returns 0 (ENOSPC past 100
 * calls, so a writer that loops on it fails the test, not hangs it). */
enum { PW_PASS, PW_SHORT, PW_STUCK };
static int      pw_mode;
static unsigned pw_calls, pw_eintr, pw_stuck;

/* Takes the place of libc's pwritev in this program (the executable's
 * definition is the one every call finds): a regular file never writes
 * short, so the store's resume after a short write is driven here. */
ssize_t
pwritev(int fd, const struct iovec *iov, int n_iov, off_t off)
{
    static const size_t caps[] = { 1, 2, 3, 5, 8, 13, 700 };
    size_t cap = SIZE_MAX, done = 0;

    if (pw_mode == PW_STUCK) {
        if (++pw_stuck > 100) {
            errno = ENOSPC;
            return -1;
        }
        return 0;
    }
    if (pw_mode == PW_SHORT) {
        pw_calls++;
        if (pw_calls % 3 == 0) {
            pw_eintr++;
            errno = EINTR;
            return -1;
        }
        cap = caps[pw_calls % (sizeof(caps) / sizeof(caps[0]))];
    }
    for (int i = 0; i < n_iov && done < cap; i++) {
        size_t n = iov[i].iov_len < cap - done ? iov[i].iov_len : cap - done;
        ssize_t w = pwrite(fd, iov[i].iov_base, n, off + (off_t)done);
        if (w < 0)
            return done > 0 ? (ssize_t)done : -1;
        done += (size_t)w;
        if ((size_t)w < n)
            break;
    }
    return (ssize_t)done;
}

static struct store *
wal_store_open(const char *dir)
{
    struct store_options opt = { .clock = storetest_clock_t0 };
    char *err = NULL;
    struct store *s = store_open(dir, &opt, &err);

    if (!s)
        fail_msg("store_open: %s", err);
    return s;
}

/* Record i: its message's length varies, so entries end anywhere. */
static void
put(struct store *s, int i)
{
    char msg[160], host[16];

    snprintf(host, sizeof(host), "h%d", i % 3);
    snprintf(msg, sizeof(msg), "record %d %.*s", i, i % 120,
             "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
             "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
             "abcdefghijklmnopqrstuvwxyz");
    struct logrec r = {
        .time_ns = 1700000000000000000LL + i, .host = host,
        .container_id = "c1", .container = "web", .image = "nginx:1",
        .offset = (uint64_t)i + 1, .msg = msg, .msg_len = strlen(msg),
    };
    assert_int_equal(store_append(s, &r), 1);
}

/* The store holds records 0..n-1 exactly (oldest first). */
static void
check_records(struct store *s, int n)
{
    struct store_filter f = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                              .stream = -1 };
    struct store_cursor *c = store_cursor_new(s, &f, 0);
    struct logrec r;
    char want[160];
    int i = 0;

    while (store_cursor_next(c, &r) == 1) {
        assert_true(i < n);
        snprintf(want, sizeof(want), "record %d ", i);
        assert_int_equal(r.offset, (uint64_t)i + 1);
        assert_true(r.msg_len == strlen(want) + (size_t)(i % 120));
        assert_memory_equal(r.msg, want, strlen(want));
        i++;
    }
    store_cursor_free(c);
    assert_int_equal(i, n);
}

static void
test_commit_short_writes(void **state)
{
    char dir[] = "/tmp/wal_test.XXXXXX";

    (void)state;
    assert_non_null(mkdtemp(dir));
    struct store *s = wal_store_open(dir);
    pw_mode = PW_SHORT;
    for (int i = 0; i < 300; i++) {
        put(s, i);
        if (i % 37 == 36)
            assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(store_commit(s), 0);
    pw_mode = PW_PASS;
    assert_true(pw_eintr > 100);        /* the faults were met */
    store_close(s);
    s = wal_store_open(dir);            /* the WAL replayed */
    check_records(s, 300);
    store_close(s);
    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void
test_commit_no_progress(void **state)
{
    char dir[] = "/tmp/wal_test.XXXXXX";

    (void)state;
    assert_non_null(mkdtemp(dir));
    struct store *s = wal_store_open(dir);
    for (int i = 0; i < 10; i++)
        put(s, i);
    pw_mode = PW_STUCK;
    assert_int_equal(store_commit(s), -1);
    assert_non_null(strstr(store_errstr(s), "wal write"));
    assert_int_equal(pw_stuck, 1);          /* given up at once */
    pw_mode = PW_PASS;
    assert_int_equal(store_commit(s), 0);   /* the same entry again */
    store_close(s);
    s = wal_store_open(dir);
    check_records(s, 10);
    store_close(s);
    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iov_skip_model),
        cmocka_unit_test(test_commit_short_writes),
        cmocka_unit_test(test_commit_no_progress),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
