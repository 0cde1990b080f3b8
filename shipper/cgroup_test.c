/* SPDX-License-Identifier: MIT */
/*
 * cgroup_test: single-value and cpu.stat parsing ("max", v1's huge "no
 * limit", garbage, overflow, truncation), path formatting (placeholders,
 * slash collapsing, path escapes refused, buffer too small) and version
 * detection on the fixture trees of tests/data/metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "shipper/cgroup.h"

#define S(x) x, strlen(x)

static void
test_cgroup_value(void **state)
{
    uint64_t v = 1;

    assert_int_equal(cgroup_value_parse(S("104857600\n"), &v), 0);
    assert_true(v == 104857600);
    assert_int_equal(cgroup_value_parse(S("0"), &v), 0);
    assert_true(v == 0);
    assert_int_equal(cgroup_value_parse(S("max\n"), &v), 0);
    assert_true(v == CGROUP_UNLIMITED);
    v = 0;
    assert_int_equal(cgroup_value_parse(S("9223372036854771712\n"), &v), 0);
    assert_true(v == CGROUP_UNLIMITED);
    assert_int_equal(cgroup_value_parse(S("1152921504606846975\n"), &v), 0);
    assert_true(v == CGROUP_HUGE - 1);
}

static void
test_cgroup_value_bad(void **state)
{
    uint64_t v = 5;

    assert_int_equal(cgroup_value_parse(S(""), &v), -1);
    assert_int_equal(cgroup_value_parse(S("\n"), &v), -1);
    assert_int_equal(cgroup_value_parse(S("12abc\n"), &v), -1);
    assert_int_equal(cgroup_value_parse(S("-1\n"), &v), -1);
    assert_int_equal(cgroup_value_parse(S("maximum\n"), &v), -1);
    assert_int_equal(cgroup_value_parse(S("1 2\n"), &v), -1);
    assert_int_equal(cgroup_value_parse(S("99999999999999999999999\n"), &v),
                     -1);
    assert_true(v == 5);
}

static void
test_cgroup_cpu_stat(void **state)
{
    uint64_t u = 0;

    assert_int_equal(cgroup_cpu_stat_parse(
                         S("usage_usec 3500000\nuser_usec 1\n"), &u), 0);
    assert_true(u == 3500000);
    assert_int_equal(cgroup_cpu_stat_parse(
                         S("user_usec 1\nusage_usec 42"), &u), 0);
    assert_true(u == 42);
    u = 9;
    assert_int_equal(cgroup_cpu_stat_parse(S("user_usec 1\n"), &u), -1);
    assert_int_equal(cgroup_cpu_stat_parse(S("usage_usec \n"), &u), -1);
    assert_int_equal(cgroup_cpu_stat_parse(S("usage_usec x1\n"), &u), -1);
    assert_int_equal(cgroup_cpu_stat_parse(S("usage_usec"), &u), -1);
    assert_int_equal(cgroup_cpu_stat_parse(S("xusage_usec 5\n"), &u), -1);
    assert_true(u == 9);
}

static void
test_cgroup_path_format(void **state)
{
    char p[256];

    assert_int_equal(cgroup_path_format("/sys", "{controller}/docker/{id}",
                                        "abc", "memory", "memory.limit_in_bytes",
                                        p, sizeof(p)), 0);
    assert_string_equal(p, "/sys/fs/cgroup/memory/docker/abc/"
                           "memory.limit_in_bytes");
    /* v2: empty controller, the doubled slash collapses. */
    assert_int_equal(cgroup_path_format("/host/sys/", "{controller}/"
                                        "system.slice/docker-{id}.scope",
                                        "abc", "", "cpu.stat", p, sizeof(p)),
                     0);
    assert_string_equal(p, "/host/sys/fs/cgroup/system.slice/"
                           "docker-abc.scope/cpu.stat");
    assert_int_equal(cgroup_path_format("/s", "a/{id}", "x", "", NULL, p,
                                        sizeof(p)), 0);
    assert_string_equal(p, "/s/fs/cgroup/a/x");
}

static void
test_cgroup_path_format_refused(void **state)
{
    char p[32];

    /* No {id}: every container would share one path. */
    assert_int_equal(cgroup_path_format("/sys", "docker", "abc", "", NULL, p,
                                        sizeof(p)), -1);
    assert_int_equal(cgroup_path_format("/sys", "docker/{id}", "../x", "",
                                        NULL, p, sizeof(p)), -1);
    assert_int_equal(cgroup_path_format("/sys", "docker/{id}", "..", "",
                                        NULL, p, sizeof(p)), -1);
    assert_int_equal(cgroup_path_format("/sys", "{controller}/{id}", "a",
                                        "m/../..", NULL, p, sizeof(p)), -1);
    /* Too long for the buffer. */
    assert_int_equal(cgroup_path_format("/sys", "docker/{id}",
                                        "0123456789012345678901234567", "",
                                        NULL, p, sizeof(p)), -1);
    assert_int_equal(cgroup_path_format("/sys", "docker/{id}", "a", "",
                                        NULL, p, 0), -1);
}

static void
test_cgroup_detect(void **state)
{
    assert_int_equal(cgroup_detect("tests/data/metrics/v1/t0/sys"), CGROUP_V1);
    assert_int_equal(cgroup_detect("tests/data/metrics/v2/t0/sys"), CGROUP_V2);
    assert_int_equal(cgroup_detect("tests/data/metrics/nonexistent"),
                     CGROUP_NONE);
    assert_string_equal(cgroup_version_name(CGROUP_V2), "v2");
    assert_null(cgroup_default_patterns(CGROUP_NONE)[0]);
    assert_string_equal(cgroup_default_patterns(CGROUP_V1)[1],
                        "{controller}/system.slice/docker-{id}.scope");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cgroup_value),
        cmocka_unit_test(test_cgroup_value_bad),
        cmocka_unit_test(test_cgroup_cpu_stat),
        cmocka_unit_test(test_cgroup_path_format),
        cmocka_unit_test(test_cgroup_path_format_refused),
        cmocka_unit_test(test_cgroup_detect),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
