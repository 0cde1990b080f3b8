/* SPDX-License-Identifier: MIT */
/*
 * api_xparams_test: extra parameters are taken out and decoded, the rest
 * is passed through untouched and in order; bad, repeated and refused
 * parameters fail with a message and no leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/agg.h"
#include "collector/api/api_xparams.h"
#include "collector/search/search.h"

static void
ok(const char *q, enum api_xep ep, struct api_xparams *x, const char *rest)
{
    char *r = NULL, *err = NULL;

    if (api_xparams_split(q, ep, x, &r, &err) != 0)
        fail_msg("'%s': %s", q, err);
    assert_string_equal(r, rest);
    free(r);
}

static void
bad(const char *q, enum api_xep ep, const char *why)
{
    struct api_xparams x;
    char *r = NULL, *err = NULL;

    assert_int_equal(api_xparams_split(q, ep, &x, &r, &err), -1);
    assert_null(r);
    assert_non_null(strstr(err, why));
    free(err);
}

static void
test_xparams_logs(void **state)
{
    struct api_xparams x;

    (void)state;
    ok("q=a+b&after=3&host=n1&before=%32&limit=5", API_XEP_LOGS, &x,
       "q=a+b&host=n1&limit=5");
    assert_int_equal(x.after, 3);
    assert_int_equal(x.before, 2);
    assert_int_equal(x.max_scan, 0);
    ok(NULL, API_XEP_LOGS, &x, "");
    assert_int_equal(x.after, 0);
    ok("&&max_scan=1000&", API_XEP_LOGS, &x, "");
    assert_int_equal(x.max_scan, 1000);
    ok("after=1000", API_XEP_LOGS, &x, "");
    /* Other endpoints' names pass through (api_params refuses them). */
    ok("by=host&step=1m", API_XEP_LOGS, &x, "by=host&step=1m");
}

static void
test_xparams_count_histogram(void **state)
{
    struct api_xparams x;

    (void)state;
    ok("by=container&q=x", API_XEP_COUNT, &x, "q=x");
    assert_int_equal(x.by, AGG_BY_CONTAINER);
    ok("q=x", API_XEP_COUNT, &x, "q=x");
    assert_int_equal(x.by, AGG_BY_NONE);
    ok("step=1m&since=5", API_XEP_HISTOGRAM, &x, "since=5");
    assert_int_equal(x.has_step, 1);
    assert_int_equal(x.step_ns, 60000000000LL);
    ok("step=250", API_XEP_HISTOGRAM, &x, "");
    assert_int_equal(x.step_ns, 250000000LL);
}

static void
test_xparams_errors(void **state)
{
    char big[20000];

    (void)state;
    bad("after=1001", API_XEP_LOGS, "bad after: want 0 to 1000");
    bad("before=-1", API_XEP_LOGS, "bad before");
    bad("before=", API_XEP_LOGS, "bad before");
    bad("after=1&after=2", API_XEP_LOGS, "repeated parameter 'after'");
    bad("max_scan=0", API_XEP_LOGS, "bad max_scan");
    bad("max_scan=99999999999999999999999", API_XEP_LOGS, "bad max_scan");
    bad("by=image", API_XEP_COUNT, "bad by");
    bad("limit=5", API_XEP_COUNT, "unknown parameter 'limit'");
    bad("order=asc", API_XEP_HISTOGRAM, "unknown parameter 'order'");
    bad("step=0", API_XEP_HISTOGRAM, "bad step");
    bad("step=1m&step=2m", API_XEP_HISTOGRAM, "repeated");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    bad(big, API_XEP_LOGS, "query string too long");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xparams_logs),
        cmocka_unit_test(test_xparams_count_histogram),
        cmocka_unit_test(test_xparams_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
