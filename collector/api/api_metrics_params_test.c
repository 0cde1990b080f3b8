/* SPDX-License-Identifier: MIT */
/*
 * api_metrics_params_test: the /api/v1/metrics/query parameter parser:
 * defaults, each time form, step forms, and the rejections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/api/api_metrics.h"

#define NOW 1700000000000LL

static void
test_amp_defaults_and_values(void **state)
{
    (void)state;
    struct api_metrics_params p;
    char *err = NULL;

    assert_int_equal(api_metrics_params_parse("name=host.load.1", NOW, &p,
                                              &err), 0);
    assert_string_equal(p.name, "host.load.1");
    assert_null(p.host);
    assert_null(p.container);
    assert_int_equal(p.to_ms, NOW);
    assert_int_equal(p.from_ms, NOW - 3600000);
    assert_int_equal(p.step_ms, 30000);          /* 1 h / 120 */
    assert_int_equal(p.max_points, API_METRICS_DEFAULT_POINTS);
    api_metrics_params_fini(&p);

    assert_int_equal(api_metrics_params_parse(
        "name=a&host=n1&container=&label=%2Fdata&since=15m&until="
        "1700000000000000000&step=1m&max_points=50", NOW, &p, &err), 0);
    assert_string_equal(p.container, "");        /* host metrics */
    assert_string_equal(p.label, "/data");
    assert_int_equal(p.from_ms, NOW - 900000);
    assert_int_equal(p.to_ms, 1700000000000LL);
    assert_int_equal(p.step_ms, 60000);
    assert_int_equal(p.max_points, 50);
    api_metrics_params_fini(&p);

    assert_int_equal(api_metrics_params_parse(
        "name=a&since=2023-11-14T22:00:00Z&step=500", NOW, &p, &err), 0);
    assert_int_equal(p.from_ms, 1699999200000LL);
    assert_int_equal(p.step_ms, 500);
    api_metrics_params_fini(&p);
}

static void
test_amp_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        NULL, "", "host=x", "name=", "name=a&name=b", "name=a&bogus=1",
        "name=a&since=yesterday", "name=a&step=0", "name=a&step=-5",
        "name=a&max_points=0", "name=a&max_points=100001",
        "name=a&since=1m&until=2m",              /* since after until */
    };
    struct api_metrics_params p;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *err = NULL;
        assert_int_equal(api_metrics_params_parse(bad[i], NOW, &p, &err), -1);
        assert_non_null(err);
        assert_null(p.name);
        free(err);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amp_defaults_and_values),
        cmocka_unit_test(test_amp_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
