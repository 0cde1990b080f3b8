/* SPDX-License-Identifier: MIT */
/*
 * downsample_test: bucketing, range clipping, step widening to the output
 * cap, degenerate inputs and summaries of collector/metrics/downsample.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "collector/metrics/downsample.h"

static void
test_downsample_buckets_by_average(void **state)
{
    (void)state;
    struct rm_point in[] = {
        { 1000, 1 }, { 1500, 3 }, { 2000, 10 }, { 4100, 7 }, { 4900, 9 },
    };
    struct rm_point out[8];
    int64_t step = 0;
    size_t n = downsample_avg(in, 5, 1000, 5999, 1000, out, 8, &step);
    assert_int_equal(step, 1000);
    assert_int_equal(n, 3);                  /* bucket 3000 is empty */
    assert_int_equal(out[0].ts_ms, 1000);
    assert_true(out[0].value == 2.0);
    assert_int_equal(out[1].ts_ms, 2000);
    assert_true(out[1].value == 10.0);
    assert_int_equal(out[2].ts_ms, 4000);
    assert_true(out[2].value == 8.0);
}

static void
test_downsample_clips_to_range(void **state)
{
    (void)state;
    struct rm_point in[] = {
        { 10, 100 }, { 1000, 1 }, { 2000, 2 }, { 2001, 50 },
    };
    struct rm_point out[4];
    int64_t step = 0;
    /* to_ms is inclusive: 2000 counts, 2001 does not, 10 is before from */
    size_t n = downsample_avg(in, 4, 1000, 2000, 500, out, 4, &step);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].ts_ms, 1000);
    assert_true(out[0].value == 1.0);
    assert_int_equal(out[1].ts_ms, 2000);
    assert_true(out[1].value == 2.0);
}

static void
test_downsample_widens_step_to_cap(void **state)
{
    (void)state;
    struct rm_point in[100];
    for (int i = 0; i < 100; i++) {
        in[i].ts_ms = i * 1000;
        in[i].value = i;
    }
    struct rm_point out[10];
    int64_t step = 0;
    /* 100 s at 1 s steps = 100 buckets, cap 10: step becomes 10 s */
    size_t n = downsample_avg(in, 100, 0, 99999, 1000, out, 10, &step);
    assert_int_equal(step, 10000);
    assert_int_equal(n, 10);
    assert_int_equal(out[9].ts_ms, 90000);
    assert_true(out[0].value == 4.5);         /* avg of 0..9 */
    assert_true(out[9].value == 94.5);
    /* span not a multiple of the cap: never more than cap buckets */
    n = downsample_avg(in, 100, 0, 99999, 1, out, 7, &step);
    assert_true(n <= 7);
    assert_true(step * 7 >= 100000);
}

static void
test_downsample_degenerate(void **state)
{
    (void)state;
    struct rm_point in[] = { { 5, 1 } };
    struct rm_point out[2];
    int64_t step = 0;
    assert_int_equal(downsample_avg(NULL, 0, 0, 100, 10, out, 2, &step), 0);
    assert_int_equal(downsample_avg(in, 1, 0, 100, 10, out, 0, &step), 0);
    /* step 0 or negative: treated as at least 1, then widened */
    assert_int_equal(downsample_avg(in, 1, 0, 100, 0, out, 2, &step), 1);
    assert_int_equal(step, 51);
    assert_int_equal(out[0].ts_ms, 0);
    /* from > to: nothing in range */
    assert_int_equal(downsample_avg(in, 1, 100, 0, 10, out, 2, &step), 0);
    /* a single instant */
    assert_int_equal(downsample_avg(in, 1, 5, 5, 10, out, 2, &step), 1);
    assert_int_equal(out[0].ts_ms, 5);
    /* huge range with cap 1: one bucket, no overflow */
    struct rm_point far[] = { { INT64_MIN / 2, 1 }, { INT64_MAX / 2, 3 } };
    assert_int_equal(downsample_avg(far, 2, INT64_MIN / 2, INT64_MAX / 2, 1,
                                    out, 1, &step), 1);
    assert_true(out[0].value == 2.0);
}

/* The whole int64_t range: its span is UINT64_MAX, where span / step + 1
 * wrapped to 0 buckets (so the step was never widened), and a single
 * bucket would need a step of 2^64 (found by fuzz_redis). */
static void
test_downsample_full_range(void **state)
{
    (void)state;
    struct rm_point in[] = {
        { INT64_MIN, 1 }, { -1, 2 }, { 0, 3 }, { INT64_MAX, 4 },
    };
    struct rm_point out[3];
    int64_t step = 0;

    for (size_t cap = 1; cap <= 3; cap++) {
        size_t n = downsample_avg(in, 4, INT64_MIN, INT64_MAX, 1, out, cap,
                                  &step);
        assert_true(n >= 1 && n <= cap);
        assert_true(step > 1);
        assert_int_equal(out[0].ts_ms, INT64_MIN);
    }
    /* one bucket holds all four */
    assert_int_equal(downsample_avg(in, 4, INT64_MIN, INT64_MAX, 1, out, 1,
                                    &step), 1);
    assert_true(out[0].value == 2.5);
}

static void
test_series_summarize(void **state)
{
    (void)state;
    struct rm_point in[] = { { 1, 4 }, { 2, -2 }, { 3, 10 }, { 4, 0 } };
    struct series_summary s;
    series_summarize(in, 4, &s);
    assert_true(s.min == -2);
    assert_true(s.max == 10);
    assert_true(s.avg == 3);
    assert_true(s.last == 0);
    series_summarize(NULL, 0, &s);
    assert_true(s.min == 0 && s.avg == 0 && s.max == 0 && s.last == 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_downsample_buckets_by_average),
        cmocka_unit_test(test_downsample_clips_to_range),
        cmocka_unit_test(test_downsample_widens_step_to_cap),
        cmocka_unit_test(test_downsample_degenerate),
        cmocka_unit_test(test_downsample_full_range),
        cmocka_unit_test(test_series_summarize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
