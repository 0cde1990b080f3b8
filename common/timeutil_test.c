/* SPDX-License-Identifier: MIT */
/*
 * timeutil_test: RFC 3339 parsing (fractions, offsets, leap days, every
 * malformed form, overflow), formatting (negative times, round trips
 * against the parser across day and second boundaries, so the per-thread
 * caches are exercised, and times of several series in turn against
 * gmtime_r, so the formatter's two cached seconds are hit, missed and
 * replaced), durations, and that the clocks move.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/timeutil.h"

static int
parse(const char *s, int64_t *out)
{
    return rfc3339_parse_ns(s, strlen(s), out);
}

static void
test_rfc3339_valid(void **state)
{
    int64_t t;

    (void)state;
    assert_int_equal(parse("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(parse("2026-11-27T13:50:40Z", &t), 0);
    assert_int_equal(t, 1795787440ll * 1000000000);
    assert_int_equal(parse("2026-11-27T13:50:40.123456789Z", &t), 0);
    assert_int_equal(t, 1795787440123456789ll);
    assert_int_equal(parse("2026-11-27T13:50:40.5Z", &t), 0);
    assert_int_equal(t, 1795787440500000000ll);
    assert_int_equal(parse("2026-11-27t13:50:40.000001z", &t), 0);
    assert_int_equal(t, 1795787440000001000ll);
    assert_int_equal(parse("2026-11-27T15:50:40+02:00", &t), 0);
    assert_int_equal(t, 1795787440ll * 1000000000);
    assert_int_equal(parse("2026-11-27T08:20:40-05:30", &t), 0);
    assert_int_equal(t, 1795787440ll * 1000000000);
    assert_int_equal(parse("2024-02-29T00:00:00Z", &t), 0);
    assert_int_equal(t, 1709164800ll * 1000000000);
    assert_int_equal(parse("1969-12-31T23:59:59.5Z", &t), 0);
    assert_int_equal(t, -500000000);
}

static void
test_rfc3339_malformed(void **state)
{
    static const char *bad[] = {
        "", "2026", "2026-11-27", "2026-11-27T13:50", "2026-11-27T13:50:40",
        "2026-11-27 13:50:40Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-11-27T24:00:00Z", "2026-11-27T13:60:00Z", "2026-11-27T13:50:61Z",
        "2026-11-27T13:50:40.Z", "2026-11-27T13:50:40.1234567891Z",
        "2026-11-27T13:50:40+0200", "2026-11-27T13:50:40+24:00",
        "2026-11-27T13:50:40+02:60", "2026-11-27T13:50:40Zjunk",
        "2026-11-27T13:50:40Z ", "+026-11-27T13:50:40Z", "2026/11/27T13:50:40Z",
        "2026-1a-27T13:50:40Z", "9999-12-31T23:59:59Z", "1000-01-01T00:00:00Z",
    };
    int64_t t = 77;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &t) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(t, 77);
    /* the length bounds the parse: no reading past it, no NUL needed */
    assert_int_equal(rfc3339_parse_ns("2026-11-27T13:50:40ZZZ", 20, &t), 0);
    assert_int_equal(rfc3339_parse_ns("2026-11-27T13:50:40Z", 19, &t), -1);
}

static void
test_time_format(void **state)
{
    char out[40];

    (void)state;
    assert_int_equal(time_ns_format(1795787440123456789ll, out), 30);
    assert_string_equal(out, "2026-11-27T13:50:40.123456789Z");
    assert_int_equal(time_ns_format(0, out), 30);
    assert_string_equal(out, "1970-01-01T00:00:00.000000000Z");
    time_ns_format(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999999999Z");
    time_ns_format(1795787440000000007ll, out);
    assert_string_equal(out, "2026-11-27T13:50:40.000000007Z");
}

static void
test_format_parse_roundtrip(void **state)
{
    char out[40];
    int64_t t = 1600000000000000000ll, back;

    (void)state;
    /* steps of ~3.7 hours and odd nanoseconds cross days and seconds */
    for (int i = 0; i < 5000; i++) {
        t += 13337123456789ll + i;
        size_t n = time_ns_format(t, out);
        assert_int_equal(rfc3339_parse_ns(out, n, &back), 0);
        assert_int_equal(back, t);
        /* and again within the same second, hitting the caches */
        n = time_ns_format(t + 1, out);
        assert_int_equal(rfc3339_parse_ns(out, n, &back), 0);
        assert_int_equal(back, t + 1);
    }
}

/* The reference form of t: gmtime_r and strftime, no cache. */
static void
format_ref(int64_t t, char out[40])
{
    int64_t sec = t / 1000000000ll, frac = t % 1000000000ll;
    struct tm tm;

    if (frac < 0) {
        frac += 1000000000ll;
        sec--;
    }
    time_t tt = (time_t)sec;
    assert_non_null(gmtime_r(&tt, &tm));
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%09lldZ", (long long)frac);
}

/*
 * The formatter's cache holds two seconds (a record's time and its receive
 * time, formatted in turn): times taken in turn from two, three and four
 * series in different seconds, each moving on now and then, so that each
 * entry is hit, missed and replaced in every order. Every one is compared
 * with the reference form.
 */
static void
test_format_interleaved(void **state)
{
    char out[40], want[40];
    int64_t t[4] = { 1795787440123456789ll, 1600000000000000001ll,
                     -86400000000001ll, 1795787441999999999ll };
    uint32_t seed = 7;

    (void)state;
    for (int k = 2; k <= 4; k++) {
        for (int i = 0; i < 20000; i++) {
            seed = seed * 1664525u + 1013904223u;
            int j = (int)((seed >> 8) % (uint32_t)k);
            if ((seed >> 28) == 0)          /* the series moves on */
                t[j] += (int64_t)(seed >> 4) * 1009;
            else
                t[j] += seed & 0xff;        /* the same second, mostly */
            size_t n = time_ns_format(t[j], out);
            format_ref(t[j], want);
            assert_int_equal(n, strlen(want));
            assert_string_equal(out, want);
        }
    }
}

/*
 * Every int64 a sender may stamp a record with is formatted by the
 * collector and parsed back by logq: the ends of the range too. INT64_MIN
 * is 1677-09-21T00:12:43.145224192Z, whose whole seconds times 1e9 are
 * below INT64_MIN (logq skipped that record as "bad field time"); one ns
 * less than it, or one more than INT64_MAX, is still refused.
 */
static void
test_format_parse_int64_ends(void **state)
{
    static const int64_t ends[] = { INT64_MIN, INT64_MIN + 1,
        INT64_MIN + 999999999, -1000000001, -1000000000, -999999999, -1,
        0, 1, INT64_MAX - 1, INT64_MAX };
    char out[40];
    int64_t back;

    (void)state;
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        size_t n = time_ns_format(ends[i], out);
        if (rfc3339_parse_ns(out, n, &back) != 0 || back != ends[i])
            fail_msg("%s: not %lld back", out, (long long)ends[i]);
    }
    time_ns_format(INT64_MIN, out);
    assert_string_equal(out, "1677-09-21T00:12:43.145224192Z");
    assert_int_equal(parse("1677-09-21T00:12:43.145224191Z", &back), -1);
    assert_int_equal(parse("1677-09-21T00:12:42Z", &back), -1);
    assert_int_equal(parse("2262-04-11T23:47:16.854775808Z", &back), -1);
    assert_int_equal(parse("1677-09-21T01:12:43.145224192+01:00", &back), 0);
    assert_int_equal(back, INT64_MIN);
}

static void
test_duration(void **state)
{
    int64_t d = 5;
    const int64_t s = 1000000000;

    (void)state;
    assert_int_equal(duration_parse_ns("90s", &d), 0);
    assert_int_equal(d, 90 * s);
    assert_int_equal(duration_parse_ns("15m", &d), 0);
    assert_int_equal(d, 900 * s);
    assert_int_equal(duration_parse_ns("2h", &d), 0);
    assert_int_equal(d, 7200 * s);
    assert_int_equal(duration_parse_ns("7d", &d), 0);
    assert_int_equal(d, 7 * 86400 * s);
    assert_int_equal(duration_parse_ns("1w", &d), 0);
    assert_int_equal(d, 7 * 86400 * s);
    assert_int_equal(duration_parse_ns("500ms", &d), 0);
    assert_int_equal(d, 500000000);
    assert_int_equal(duration_parse_ns("1h30m", &d), 0);
    assert_int_equal(d, 5400 * s);
    assert_int_equal(duration_parse_ns("1m1ms1us1ns", &d), 0);
    assert_int_equal(d, 60 * s + 1000000 + 1000 + 1);
    d = 5;
    static const char *bad[] = { "", "s", "10", "10x", "-5m", "1.5h", "1h ",
                                 " 1h", "1hh", "99999999999999999999s",
                                 "300000w" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (duration_parse_ns(bad[i], &d) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(d, 5);
}

static void
test_clocks(void **state)
{
    (void)state;
    int64_t a = mono_ns(), b = mono_ns();
    assert_true(b >= a);
    assert_true(a > 0);
    /* after 2020-01-01 */
    assert_true(now_ns() > 1577836800ll * 1000000000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_valid),
        cmocka_unit_test(test_rfc3339_malformed),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_format_parse_roundtrip),
        cmocka_unit_test(test_format_interleaved),
        cmocka_unit_test(test_format_parse_int64_ends),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests_name("timeutil", tests, NULL, NULL);
}
