/* SPDX-License-Identifier: MIT */
/*
 * memtune_test: the thresholds memtune_apply sets (collector/memtune.c),
 * and, with glibc's malloc (not under ASan, whose allocator replaces it),
 * that they stay where it set them: a mapped chunk freed no longer lifts
 * the mmap threshold, so the next large buffer is mapped (returned to the
 * system when freed) instead of carved from a heap that keeps it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/memtune.h"
#include "common/xmalloc.h"

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#include <malloc.h>
#define HAS_GLIBC_MALLOC 1
#endif

static void
test_memtune_threshold_sizes(void **state)
{
    (void)state;
    assert_int_equal(memtune_threshold(1024), MEMTUNE_MIN_THRESHOLD);
    assert_int_equal(memtune_threshold(1u << 20), (size_t)4 << 20);
    assert_int_equal(memtune_threshold(2u << 20), (size_t)8 << 20);
    assert_int_equal(memtune_threshold(128u << 20), (size_t)32 << 20);
}

#ifdef HAS_GLIBC_MALLOC
/* A buffer of n bytes, every page written (so the compiler keeps it). */
static volatile unsigned char *
touched(size_t n)
{
    volatile unsigned char *p = xmalloc(n);
    for (size_t i = 0; i < n; i += 4096)
        p[i] = (unsigned char)i;
    return p;
}
#endif

static void
test_memtune_large_freed_stays_mapped(void **state)
{
    (void)state;
    assert_int_equal(memtune_apply(1u << 20), 0);
#ifdef HAS_GLIBC_MALLOC
    /* glibc's default would now raise the threshold to 16 MiB... */
    free((void *)touched((size_t)16 << 20));
    size_t before = mallinfo2().hblks;
    /* ...and serve this one from a heap; fixed at 4 MiB, it is mapped */
    volatile unsigned char *p = touched((size_t)6 << 20);
    assert_int_equal(mallinfo2().hblks, before + 1);
    free((void *)p);
    assert_int_equal(mallinfo2().hblks, before);
    /* a block's row body (1-2 MiB) still comes from a heap */
    p = touched((size_t)2 << 20);
    assert_int_equal(mallinfo2().hblks, before);
    free((void *)p);
#else
    skip();                     /* ASan's allocator: no glibc thresholds */
#endif
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memtune_threshold_sizes),
        cmocka_unit_test(test_memtune_large_freed_stays_mapped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
