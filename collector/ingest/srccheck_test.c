/* SPDX-License-Identifier: MIT */
/*
 * srccheck_test: container ids, names and images a BATCH may carry; what
 * the real shipper sends (Docker's ids, names and image references) passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "collector/ingest/srccheck.h"

#define ID "4f2c0c1e9a7b8d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e"

static struct wire_str
ws(const char *s)
{
    struct wire_str w = { s, strlen(s) };
    return w;
}

static void
test_srccheck_id(void **state)
{
    char buf[80];

    assert_true(srccheck_id(ID, strlen(ID)));
    assert_false(srccheck_id(ID, 63));
    assert_false(srccheck_id("", 0));
    memcpy(buf, ID, 64);
    buf[64] = '0';
    assert_false(srccheck_id(buf, 65));
    buf[10] = 'A';
    assert_false(srccheck_id(buf, 64));
    buf[10] = 'g';
    assert_false(srccheck_id(buf, 64));
    buf[10] = '\0';
    assert_false(srccheck_id(buf, 64));
}

static void
test_srccheck_text(void **state)
{
    char big[300];

    assert_true(srccheck_text("", 0));
    assert_true(srccheck_text("web-1", 5));
    assert_true(srccheck_text("caf\xc3\xa9", 5));
    assert_true(srccheck_text("registry.example:5000/team/app:1.2@sha256:"
                              ID, strlen("registry.example:5000/team/app:"
                                         "1.2@sha256:") + 64));
    memset(big, 'a', sizeof(big));
    assert_true(srccheck_text(big, 256));
    assert_false(srccheck_text(big, 257));
    assert_false(srccheck_text("a\nb", 3));
    assert_false(srccheck_text("a\x1b[31m", 6));
    assert_false(srccheck_text("a\x7f", 2));
    assert_false(srccheck_text("\xc2\x9b" "31m", 5));     /* C1 CSI */
    assert_false(srccheck_text("\xff", 1));
    assert_false(srccheck_text("\xc3", 1));
    assert_false(srccheck_text("\xed\xa0\x80", 3));       /* surrogate */
}

static void
test_srccheck_source(void **state)
{
    struct wire_source s = { ws(ID), ws("web"), ws("nginx:1.25"), ws("{}"),
                             0 };

    assert_null(srccheck_source(&s));
    s.id = ws("abc123");
    assert_non_null(srccheck_source(&s));
    s.id = ws(ID);
    s.name = ws("bad\tname");
    assert_non_null(srccheck_source(&s));
    s.name = ws("web");
    s.image = ws("img\x01");
    assert_non_null(srccheck_source(&s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_srccheck_id),
        cmocka_unit_test(test_srccheck_text),
        cmocka_unit_test(test_srccheck_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
