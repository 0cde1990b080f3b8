/* SPDX-License-Identifier: MIT */
/*
 * metrics_view_test: the metrics command's arguments (defaults, every
 * option, rejections) and request targets, parsing of the names and series
 * replies (including malformed ones), and the rendering byte for byte with
 * and without the sparkline.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/metrics_view.h"

#define SEC 1000000000LL
#define NOW (1795787440LL * SEC)

static int
parse(struct metrics_args *a, char *err, ...)
{
    char *argv[16] = { "logq" };
    int argc = 1;
    va_list ap;

    va_start(ap, err);
    for (char *s; (s = va_arg(ap, char *)) != NULL && argc < 15;)
        argv[argc++] = s;
    va_end(ap);
    return metrics_args_parse(argc, argv, 1, NOW, a, err, 256);
}

static void
expect_target(const struct metrics_args *a, const char *want)
{
    struct buf b;

    buf_init(&b, 4096);
    assert_int_equal(metrics_target_format(a, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data, want);
    buf_fini(&b);
}

static void
test_mview_args(void **state)
{
    struct metrics_args a;
    char err[256];

    (void)state;
    assert_int_equal(parse(&a, err, NULL), 0);
    assert_null(a.name);
    expect_target(&a, "/api/v1/metrics");
    assert_int_equal(parse(&a, err, "host.cpu.user_pct", NULL), 0);
    assert_true(a.since_ns == NOW - 3600 * SEC);
    expect_target(&a, "/api/v1/metrics/query?name=host.cpu.user_pct"
                  "&since=1795783840000000000");
    assert_int_equal(parse(&a, err, "--host", "node 1", "host.fs.used_pct",
                           "--container=", "--label", "/data dir",
                           "--since", "15m", "--step", "1m", "--no-spark",
                           "--json", NULL), 0);
    assert_int_equal(a.has_no_spark, 1);
    assert_int_equal(a.common.is_json, 1);
    assert_true(a.step_ms == 60000);
    expect_target(&a, "/api/v1/metrics/query?name=host.fs.used_pct"
                  "&host=node%201&container=&label=%2Fdata%20dir"
                  "&since=1795786540000000000&step=60000");
}

static void
test_mview_args_bad(void **state)
{
    struct metrics_args a;
    char err[256];

    (void)state;
    assert_int_equal(parse(&a, err, "a", "b", NULL), -1);
    assert_non_null(strstr(err, "one metric name"));
    assert_int_equal(parse(&a, err, "--host", "x", NULL), -1);
    assert_non_null(strstr(err, "need a metric name"));
    assert_int_equal(parse(&a, err, "m", "--step", "0s", NULL), -1);
    assert_int_equal(parse(&a, err, "m", "--step", "fast", NULL), -1);
    assert_int_equal(parse(&a, err, "m", "--since", "soon", NULL), -1);
    assert_int_equal(parse(&a, err, "m", "--bogus", NULL), -1);
    assert_int_equal(parse(&a, err, "m", "--host", NULL), -1);
}

static const char series_body[] =
    "{\"series\":[{\"name\":\"host.net.rx_bps\",\"host\":\"node1\","
    "\"container\":\"\",\"label\":\"eth0\",\"step_ms\":60000,\"min\":0,"
    "\"avg\":1500,\"max\":3000,\"last\":3000,"
    "\"points\":[[1000,0],[61000,1500],[121000,3000]]},"
    "{\"name\":\"host.net.rx_bps\",\"host\":\"node2\",\"container\":\"web\","
    "\"label\":\"\",\"step_ms\":60000,\"min\":2.5,\"avg\":2.5,\"max\":2.5,"
    "\"last\":2.5,\"points\":[[1000,2.5],[2000,null]]}]}";

static void
test_mview_series(void **state)
{
    struct mview_reply r;
    struct buf b;
    char err[256];

    (void)state;
    assert_int_equal(mview_series_parse(series_body, strlen(series_body), &r,
                                        err, sizeof(err)), 0);
    assert_int_equal(r.n_series, 2);
    assert_int_equal(r.series[0].n_points, 3);
    assert_true(r.series[0].values[2] == 3000);
    assert_true(isnan(r.series[1].values[1]));
    buf_init(&b, 1 << 16);
    assert_int_equal(mview_series_render(&b, &r, 1, 1), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
        "host.net.rx_bps (step 1m)\n"
        "SERIES       MIN   AVG   MAX  LAST  TREND\n"
        "node1 eth0     0  1.5k  3.0k  3.0k  ▁▅█\n"
        "node2/web   2.50  2.50  2.50  2.50  ▁\n");
    buf_reset(&b);
    assert_int_equal(mview_series_render(&b, &r, 0, 1), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
        "host.net.rx_bps (step 1m)\n"
        "SERIES       MIN   AVG   MAX  LAST\n"
        "node1 eth0     0  1.5k  3.0k  3.0k\n"
        "node2/web   2.50  2.50  2.50  2.50\n");
    buf_fini(&b);
    mview_reply_fini(&r);
}

static void
test_mview_names(void **state)
{
    static const char body[] = "{\"names\":[\"a.b\",\"c\"]}";
    struct mview_reply r;
    struct buf b;
    char err[256];

    (void)state;
    assert_int_equal(mview_names_parse(body, strlen(body), &r, err,
                                       sizeof(err)), 0);
    buf_init(&b, 1024);
    assert_int_equal(mview_names_render(&b, &r), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data, "a.b\nc\n");
    buf_fini(&b);
    mview_reply_fini(&r);
}

/* Metric names, hosts and containers from the server: ESC, C1 (JSON
 * \u001b, \u009b) and tabs are shown escaped in every view. */
static void
test_mview_escapes_server_names(void **state)
{
    static const char names[] =
        "{\"names\":[\"a\\u001b[2J\",\"b\\u009bc\\td\"]}";
    static const char series[] =
        "{\"series\":[{\"name\":\"m\\u001b]0;x\\u0007\",\"host\":"
        "\"h\\u009b1\",\"container\":\"w\\u001b[2J\",\"label\":\"\","
        "\"step_ms\":60000,\"min\":1,\"avg\":1,\"max\":1,\"last\":1,"
        "\"points\":[[1000,1]]}]}";
    struct mview_reply r;
    struct buf b;
    char err[256];

    (void)state;
    assert_int_equal(mview_names_parse(names, strlen(names), &r, err,
                                       sizeof(err)), 0);
    buf_init(&b, 4096);
    assert_int_equal(mview_names_render(&b, &r), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data, "a\\x1b[2J\nb\\u009bc\\td\n");
    mview_reply_fini(&r);
    buf_reset(&b);
    assert_int_equal(mview_series_parse(series, strlen(series), &r, err,
                                        sizeof(err)), 0);
    assert_int_equal(mview_series_render(&b, &r, 0, 1), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
        "m\\x1b]0;x\\x07 (step 1m)\n"
        "SERIES             MIN  AVG  MAX  LAST\n"
        "h\\u009b1/w\\x1b[2J    1    1    1     1\n");
    buf_fini(&b);
    mview_reply_fini(&r);
}

static void
test_mview_parse_bad(void **state)
{
    static const char *const bad_series[] = {
        "", "{}", "{\"series\":{}}", "{\"series\":[1]}",
        "{\"series\":[{\"host\":\"a\",\"points\":[]}]}",
        "{\"series\":[{\"name\":\"m\",\"host\":\"a\"}]}",
        "{\"series\":[{\"name\":\"m\",\"host\":\"a\",\"points\":[[1]]}]}",
        "{\"series\":[{\"name\":\"m\",\"host\":\"a\",\"points\":[1,2]}]}",
        "{\"series\":[{\"name\":\"m\",\"host\":\"a\","
        "\"points\":[[\"t\",2]]}]}",
    };
    static const char *const bad_names[] = {
        "{\"names\":[1]}", "{\"names\":\"a\"}", "[]", "{\"names\":[\"a\"",
    };
    struct mview_reply r;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad_series) / sizeof(bad_series[0]); i++)
        assert_int_equal(mview_series_parse(bad_series[i],
                                            strlen(bad_series[i]), &r, err,
                                            sizeof(err)), -1);
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
        assert_int_equal(mview_names_parse(bad_names[i],
                                           strlen(bad_names[i]), &r, err,
                                           sizeof(err)), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mview_args),
        cmocka_unit_test(test_mview_args_bad),
        cmocka_unit_test(test_mview_series),
        cmocka_unit_test(test_mview_names),
        cmocka_unit_test(test_mview_escapes_server_names),
        cmocka_unit_test(test_mview_parse_bad),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
