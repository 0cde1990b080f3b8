/* SPDX-License-Identifier: MIT */
/*
 * fnv_test: FNV-1a 64 against the published test vectors (the empty
 * string, "a", "foobar"), and the incremental forms agree with the whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/fnv.h"

static void
test_fnv_vectors(void **state)
{
    assert_true(fnv1a64("", 0) == UINT64_C(0xcbf29ce484222325));
    assert_true(fnv1a64("a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
    assert_true(fnv1a64("foobar", 6) == UINT64_C(0x85944171f73967e8));
}

static void
test_fnv_incremental(void **state)
{
    uint64_t h = fnv1a64_more(FNV1A64_OFFSET, "foo", 3);

    h = fnv1a64_byte(h, 'b');
    h = fnv1a64_more(h, "ar", 2);
    assert_true(h == fnv1a64("foobar", 6));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv_vectors),
        cmocka_unit_test(test_fnv_incremental),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
