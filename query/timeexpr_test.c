/* SPDX-License-Identifier: MIT */
/*
 * timeexpr_test: every form of timeexpr.h, in UTC and in two zones set
 * through TZ (one with DST: a day that does not exist, a time in the
 * spring gap), and what is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "query/timeexpr.h"

#define SEC 1000000000LL
/* 2026-11-27T13:50:40Z */
#define T0  (1795787440LL * SEC)
#define NOW (T0 + 3600 * SEC)

static void
set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static int64_t
parse(const char *s)
{
    int64_t v = -7;

    if (timeexpr_parse(s, NOW, &v) < 0)
        fail_msg("'%s' refused", s);
    return v;
}

static void
test_timeexpr_forms(void **state)
{
    (void)state;
    set_tz("UTC");
    assert_true(parse("now") == NOW);
    assert_true(parse("now-1h") == T0);
    assert_true(parse("1h") == T0);
    assert_true(parse("now-1h30m") == T0 - 1800 * SEC);
    assert_true(parse("1795787440") == T0);
    assert_true(parse("1795787440.25") == T0 + SEC / 4);
    assert_true(parse("0") == 0);
    assert_true(parse("2026-11-27T13:50:40Z") == T0);
    assert_true(parse("2026-11-27T14:50:40+01:00") == T0);
    assert_true(parse("2026-11-27T13:50:40") == T0);
    assert_true(parse("2026-11-27 13:50:40.5") == T0 + SEC / 2);
    assert_true(parse("2026-11-27T13:50") == T0 - 40 * SEC);
    assert_true(parse("2026-11-27") == T0 - (13 * 3600 + 50 * 60 + 40) * SEC);
    assert_true(parse("100000d") == 0);     /* before 1970: clamped */
    assert_true(parse("now-100000d") == 0);
}

static void
test_timeexpr_local_zones(void **state)
{
    (void)state;
    set_tz("Asia/Tokyo");                   /* +09:00, no DST */
    assert_true(parse("2026-11-27T22:50:40") == T0);
    /* 2026-11-28 00:00 in Tokyo is 2026-11-27T15:00:00Z */
    assert_true(parse("2026-11-28") == T0 + (3600 + 9 * 60 + 20) * SEC);
    assert_true(parse("2026-11-27T13:50:40Z") == T0);   /* offset wins */
    set_tz("Europe/Berlin");                /* +01:00 in winter */
    assert_true(parse("2026-11-27T14:50:40") == T0);
    int64_t v;
    /* 2026-03-29 02:30 does not exist in Berlin (clocks go 2 -> 3) */
    assert_int_equal(timeexpr_parse("2026-03-29T02:30", NOW, &v), -1);
    assert_int_equal(timeexpr_parse("2026-02-30", NOW, &v), -1);
    set_tz("UTC");
}

static void
test_timeexpr_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "yesterday", "now-", "now-x", "now+1h", "12345678901234",
        "1.", "1.1234567890", "2026-11-27T", "2026-11-27T25:00",
        "2026-13-01", "2026-11-27T13:5", "2026-11-27x", "2026-1-27",
        "2026-11-27T13:50:60", "-5",
    };
    int64_t v;

    set_tz("UTC");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (timeexpr_parse(bad[i], NOW, &v) == 0)
            fail_msg("'%s' accepted", bad[i]);
}

/* Times past what int64 nanoseconds hold (year 2262) are refused, and
 * local dates before 1677 clamped to 0 like every time before 1970,
 * without a signed overflow on the way (found by fuzz_config). */
static void
test_timeexpr_range(void **state)
{
    int64_t v;

    (void)state;
    set_tz("UTC");
    assert_true(parse("9223372036") == 9223372036LL * SEC);
    assert_true(parse("9223372036.854775807") == INT64_MAX);
    assert_int_equal(timeexpr_parse("9223372036.854775808", NOW, &v), -1);
    assert_int_equal(timeexpr_parse("9223372037", NOW, &v), -1);
    assert_int_equal(timeexpr_parse("99999999999", NOW, &v), -1);
    assert_int_equal(timeexpr_parse("99999999999.9", NOW, &v), -1);
    assert_int_equal(timeexpr_parse("9999-12-31", NOW, &v), -1);
    assert_int_equal(timeexpr_parse("2262-04-12", NOW, &v), -1);
    assert_true(parse("2262-04-11") == 9223286400LL * SEC);
    assert_true(parse("1014-01-01T00:00") == 0);
    assert_true(parse("0000-01-01") == 0);
    assert_true(parse("1677-09-21") == 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeexpr_forms),
        cmocka_unit_test(test_timeexpr_local_zones),
        cmocka_unit_test(test_timeexpr_refused),
        cmocka_unit_test(test_timeexpr_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
