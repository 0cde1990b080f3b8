/* SPDX-License-Identifier: MIT */
/*
 * sparkline_test: levels byte for byte (UTF-8 and ASCII), a flat series,
 * averaging into columns, skipped non-finite values, an empty series, a
 * full buffer left unchanged, locale detection and compact values.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/sparkline.h"

static void
expect_spark(const double *v, size_t n, size_t width, int utf8,
             const char *want)
{
    struct buf b;

    buf_init(&b, 1024);
    assert_int_equal(sparkline_format(&b, v, n, width, utf8), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data, want);
    buf_fini(&b);
}

static void
test_sparkline_levels(void **state)
{
    const double v[] = { 0, 1, 2, 3, 4, 5, 6, 7 };

    (void)state;
    expect_spark(v, 8, 60, 1, "▁▂▃▄▅▆▇█");
    expect_spark(v, 8, 60, 0, "_.,:-=+#");
    const double w[] = { 10, 20 };
    expect_spark(w, 2, 60, 1, "▁█");
    const double neg[] = { -5, 5, 0 };
    expect_spark(neg, 3, 60, 0, "_#-");     /* 0 is level 3.5: rounds up */
}

static void
test_sparkline_flat_empty_nan(void **state)
{
    const double flat[] = { 3, 3, 3 };
    const double gaps[] = { 0, NAN, 7, INFINITY };

    (void)state;
    expect_spark(flat, 3, 60, 1, "▁▁▁");
    expect_spark(flat, 0, 60, 1, "");
    expect_spark(gaps, 4, 60, 0, "_#");
}

static void
test_sparkline_columns(void **state)
{
    double v[120];

    (void)state;
    for (size_t i = 0; i < 120; i++)
        v[i] = i < 60 ? 0 : 10;      /* averaged in pairs: 30 low, 30 high */
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(sparkline_format(&b, v, 120, 60, 0), 0);
    assert_int_equal(b.len, 60);
    assert_int_equal(b.data[0], '_');
    assert_int_equal(b.data[29], '_');
    assert_int_equal(b.data[30], '#');
    assert_int_equal(b.data[59], '#');
    buf_reset(&b);
    assert_int_equal(sparkline_format(&b, v, 120, 4, 1), 0);
    assert_int_equal(b.len, 12);        /* four 3-byte characters */
    buf_reset(&b);
    /* Width 0 or too wide means the maximum. */
    assert_int_equal(sparkline_format(&b, v, 120, 0, 0), 0);
    assert_int_equal(b.len, SPARKLINE_MAX_WIDTH);
    buf_fini(&b);
}

static void
test_sparkline_full_buffer(void **state)
{
    const double v[] = { 0, 1, 2, 3 };
    struct buf b;

    (void)state;
    buf_init(&b, 5);
    assert_int_equal(buf_append(&b, "ab", 2), 0);
    assert_int_equal(sparkline_format(&b, v, 4, 60, 1), -1);
    assert_int_equal(b.len, 2);
    buf_fini(&b);
}

static void
test_sparkline_locale(void **state)
{
    (void)state;
    assert_true(sparkline_locale_is_utf8(NULL, NULL, "en_US.UTF-8"));
    assert_true(sparkline_locale_is_utf8("C.utf8", NULL, NULL));
    assert_false(sparkline_locale_is_utf8("C", NULL, "en_US.UTF-8"));
    assert_true(sparkline_locale_is_utf8("", "de_DE.UTF-8", "C"));
    assert_false(sparkline_locale_is_utf8(NULL, NULL, NULL));
    assert_false(sparkline_locale_is_utf8(NULL, NULL, "POSIX"));
    assert_false(sparkline_locale_is_utf8(NULL, NULL, "en_US.ISO-8859-1"));
}

static void
test_sparkline_values(void **state)
{
    static const struct {
        double      v;
        const char *want;
    } cases[] = {
        { 0, "0" }, { 3.14159, "3.14" }, { 12.54, "12.5" }, { 512, "512" },
        { 1500, "1.5k" }, { 3.4e6, "3.4M" }, { 2e9, "2.0G" },
        { 1.2e12, "1.2T" }, { -2500, "-2.5k" }, { 999999, "1.0M" },
        { NAN, "-" }, { INFINITY, "-" },
    };
    char out[32];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sparkline_value_format(cases[i].v, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparkline_levels),
        cmocka_unit_test(test_sparkline_flat_empty_nan),
        cmocka_unit_test(test_sparkline_columns),
        cmocka_unit_test(test_sparkline_full_buffer),
        cmocka_unit_test(test_sparkline_locale),
        cmocka_unit_test(test_sparkline_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
