/* SPDX-License-Identifier: MIT */
/*
 * wal_test: a WAL entry goes out with one pwritev of its pieces (header,
 * label table, record count, records: wal.c); store_iov_skip resumes
 * after a short write. Checked against a model: for pieces of many
 * lengths (empty ones too) and every short-write length, the bytes left
 * are exactly the tail of the concatenation. (Entries replaying after a
 * restart, torn ones cut: store_test.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <cmocka.h>

#include "collector/store/store_internal.h"

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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iov_skip_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
