/* SPDX-License-Identifier: MIT */
/*
 * args_test: every search flag (short, long, --x=v, -n50), terms with
 * leading '-', "--", combos, every error (unknown flag, missing value,
 * bad stream/count/time/regex, until <= since, -f with --until), time
 * expressions against a fixed "now", the list-command parser, and the
 * exact request targets built for search, history, catch-up and follow.
 * Context flags, the count/histogram parsers and the other commands'
 * flags: args_cmd_test.c (tests/support/argstest.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/args.h"
#include "tests/support/argstest.h"

static void
test_args_defaults(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "error");
    assert_string_equal(a.query, "error");
    assert_int_equal(a.n_regex, 0);
    assert_false(a.is_icase || a.is_follow || a.is_asc || a.has_since ||
                 a.has_until || a.has_limit || a.common.is_json ||
                 a.common.color_mode != ARGS_COLOR_AUTO ||
                 a.common.want_help || a.is_count || a.is_list ||
                 a.n_not_regex > 0);
    assert_int_equal(a.limit, ARGS_LIMIT_DEFAULT);
    assert_null(a.common.server);
    args_search_fini(&a);
    PARSE_OK(&a, "--json");
    assert_null(a.query);
    args_search_fini(&a);
}

static void
test_args_every_flag(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "-e", "err(or)?", "-i", "--host", "node1", "--container",
             "web*", "--image", "nginx:1", "--stream", "stderr", "--since",
             "15m", "--until", "now", "-n", "50", "--json", "--server",
             "http://c:1", "--asc", "--no-color", "--token-file", "/t",
             "word");
    assert_int_equal(a.n_regex, 1);
    assert_string_equal(a.regex[0], "err(or)?");
    assert_true(a.is_icase);
    assert_int_equal(a.hosts.n, 1);
    assert_string_equal(a.hosts.v[0], "node1");
    assert_string_equal(a.containers.v[0], "web*");
    assert_string_equal(a.images.v[0], "nginx:1");
    assert_string_equal(a.stream, "stderr");
    assert_true(a.has_since);
    assert_int_equal(a.since_ns, NOW - 15 * 60 * SEC);
    assert_true(a.has_until);
    assert_int_equal(a.until_ns, NOW);
    assert_true(a.has_limit);
    assert_int_equal(a.limit, 50);
    assert_true(a.common.is_json && a.is_asc);
    assert_int_equal(a.common.color_mode, ARGS_COLOR_NEVER);
    assert_string_equal(a.common.server, "http://c:1");
    assert_string_equal(a.common.token_file, "/t");
    assert_string_equal(a.query, "word");
    args_search_fini(&a);
}

static void
test_args_long_forms(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "--regex=a b", "--ignore-case", "--lines=7", "--follow",
             "--host=h", "--since=2026-11-27T13:00:00Z", "--help");
    assert_int_equal(a.n_regex, 1);
    assert_string_equal(a.regex[0], "a b");
    assert_true(a.is_icase && a.is_follow && a.common.want_help);
    assert_int_equal(a.limit, 7);
    assert_string_equal(a.hosts.v[0], "h");
    assert_int_equal(a.since_ns, NOW - 50 * 60 * SEC - 40 * SEC);
    args_search_fini(&a);
    PARSE_OK(&a, "--limit", "1000000", "-h", "-f");
    assert_int_equal(a.limit, 1000000);
    assert_true(a.common.want_help && a.is_follow);
    args_search_fini(&a);
    PARSE_OK(&a, "-n5", "x");
    assert_int_equal(a.limit, 5);
    assert_string_equal(a.query, "x");
    args_search_fini(&a);
}

static void
test_args_terms_joined_with_dash_terms(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "\"connection reset\"", "-timeout", "error", "-n", "3",
             "OR", "warn", "-", "");
    assert_string_equal(a.query,
                        "\"connection reset\" -timeout error OR warn -");
    assert_int_equal(a.limit, 3);
    args_search_fini(&a);
    /* "-if" and "-nope" are words, not flag clusters */
    PARSE_OK(&a, "-if", "-nope");
    assert_string_equal(a.query, "-if -nope");
    assert_false(a.is_icase || a.is_follow);
    args_search_fini(&a);
}

static void
test_args_double_dash(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "-i", "--", "-f", "--json", "-n");
    assert_true(a.is_icase);
    assert_false(a.is_follow || a.common.is_json);
    assert_string_equal(a.query, "-f --json -n");
    args_search_fini(&a);
}

static void
test_args_errors(void **state)
{
    (void)state;
    expect_err("unknown option '--bogus'", "--bogus", NULL);
    expect_err("-F given twice (one fixed string per search)", "-F", "a",
               "-F", "b", NULL);
    expect_err("empty -F string", "-F", "", NULL);
    expect_err("unknown option '--bogus'", "--bogus=1", NULL);
    expect_err("unknown option '-x'", "-x", NULL);
    expect_err("option '--host' needs a value", "--host", NULL);
    expect_err("option '-n' needs a value", "error", "-n", NULL);
    expect_err("option '-e' needs a value", "-e", NULL);
    expect_err("option '--json' takes no value", "--json=1", NULL);
    expect_err("bad --stream 'both'", "--stream", "both", NULL);
    expect_err("bad line count '-1'", "-n", "-1", NULL);
    expect_err("bad line count '1000001' (0-1000000; 0: all)", "-n",
               "1000001", NULL);
    expect_err("bad line count '1000001'", "-n", "1000001", NULL);
    expect_err("bad line count '-5'", "-n", "-5", NULL);
    expect_err("bad line count '5x'", "-n5x", NULL);
    expect_err("bad line count ''", "--lines=", NULL);
    expect_err("bad line count '99999999999999999999'", "-n",
               "99999999999999999999", NULL);
    expect_err("bad time 'yesterday' for --since", "--since", "yesterday",
               NULL);
    expect_err("bad time '15x' for --until", "--until", "15x", NULL);
    expect_err("bad time '2026-13-01T00:00:00Z'", "--since",
               "2026-13-01T00:00:00Z", NULL);
    expect_err("--until must be later than --since", "--since", "1h",
               "--until", "2h", NULL);
    expect_err("--until must be later than --since", "--since", "now",
               "--until", "now", NULL);
    expect_err("--until cannot be used with -f", "-f", "--until", "1h",
               NULL);
}

static void
test_args_time_expressions(void **state)
{
    int64_t t = 0;

    (void)state;
    assert_int_equal(args_time_parse("now", NOW, &t), 0);
    assert_int_equal(t, NOW);
    assert_int_equal(args_time_parse("15m", NOW, &t), 0);
    assert_int_equal(t, NOW - 900 * SEC);
    assert_int_equal(args_time_parse("2h", NOW, &t), 0);
    assert_int_equal(t, NOW - 7200 * SEC);
    assert_int_equal(args_time_parse("7d", NOW, &t), 0);
    assert_int_equal(t, NOW - 7 * 86400 * SEC);
    assert_int_equal(args_time_parse("1h30m", NOW, &t), 0);
    assert_int_equal(t, NOW - 5400 * SEC);
    assert_int_equal(args_time_parse("2026-11-27T13:50:40.5Z", NOW, &t), 0);
    assert_int_equal(t, NOW + SEC / 2);
    assert_int_equal(args_time_parse("2026-11-27T14:50:40+01:00", NOW, &t),
                     0);
    assert_int_equal(t, NOW);
    /* more than "now" ago clamps to the epoch */
    assert_int_equal(args_time_parse("100000d", NOW, &t), 0);
    assert_int_equal(t, 0);
    t = 42;
    assert_int_equal(args_time_parse("", NOW, &t), -1);
    assert_int_equal(args_time_parse("15x", NOW, &t), -1);
    assert_int_equal(args_time_parse("m15", NOW, &t), -1);
    assert_int_equal(args_time_parse("Now", NOW, &t), -1);
    assert_int_equal(args_time_parse("2026-11-27T", NOW, &t), -1);
    assert_int_equal(t, 42);
    /* the forms of timeexpr.h (timeexpr_test.c has them all) */
    assert_int_equal(args_time_parse("15", NOW, &t), 0);
    assert_int_equal(t, 15 * SEC);
    assert_int_equal(args_time_parse("now-2h", NOW, &t), 0);
    assert_int_equal(t, NOW - 7200 * SEC);
}

/* --timeout: a duration up to 24 h, or 0 for no limit; every command. */
static void
test_args_timeout(void **state)
{
    struct search_args a;
    struct list_args l;
    char err[256] = "";
    char *hosts[] = { "logq", "hosts", "--timeout", "90s", NULL };

    (void)state;
    PARSE_OK(&a, "error");
    assert_false(a.common.has_timeout);
    args_search_fini(&a);
    PARSE_OK(&a, "--timeout", "10m", "error");
    assert_true(a.common.has_timeout);
    assert_int_equal(a.common.timeout_ms, 600000);
    args_search_fini(&a);
    PARSE_OK(&a, "--timeout=250ms", "error");
    assert_int_equal(a.common.timeout_ms, 250);
    args_search_fini(&a);
    PARSE_OK(&a, "--timeout", "0", "error");
    assert_true(a.common.has_timeout);
    assert_int_equal(a.common.timeout_ms, 0);
    args_search_fini(&a);
    PARSE_OK(&a, "--timeout", "24h", "error");
    assert_int_equal(a.common.timeout_ms, 86400000);
    args_search_fini(&a);
    expect_err("bad --timeout '25h'", "--timeout", "25h", NULL);
    expect_err("bad --timeout 'soon'", "--timeout", "soon", NULL);
    expect_err("bad --timeout '-1s'", "--timeout", "-1s", NULL);
    expect_err("bad --timeout ''", "--timeout=", NULL);
    expect_err("option '--timeout' needs a value", "--timeout", NULL);
    assert_int_equal(args_list_parse(4, hosts, 2, FLAGS_HOSTS, &l, err,
                                     sizeof(err)), 0);
    assert_int_equal(l.common.timeout_ms, 90000);
}

static void
test_args_list(void **state)
{
    struct list_args a;
    char err[256] = "";
    char *ok[] = { "logq", "hosts", "--json", "--server", "http://x:1",
                   "--host", "n1", "--no-color", NULL };
    char *bad_word[] = { "logq", "hosts", "extra", NULL };
    char *bad_flag[] = { "logq", "hosts", "-f", NULL };

    (void)state;
    assert_int_equal(args_list_parse(8, ok, 2, FLAGS_HOSTS, &a, err, sizeof(err)), 0);
    assert_true(a.common.is_json);
    assert_int_equal(a.common.color_mode, ARGS_COLOR_NEVER);
    assert_string_equal(a.common.server, "http://x:1");
    assert_string_equal(a.hosts.v[0], "n1");
    assert_int_equal(args_list_parse(3, bad_word, 2, FLAGS_HOSTS, &a, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "unexpected argument 'extra'");
    assert_int_equal(args_list_parse(3, bad_flag, 2, FLAGS_HOSTS, &a, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "option '-f' does not apply to this command "
                        "(see its --help)");
}

static void
test_args_targets(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "a b", "-e", "x|y", "-i", "--host", "h", "--container",
             "w*", "--image", "i", "--stream", "stdout", "--since",
             "1970-01-01T00:00:01Z", "--until", "1970-01-01T00:00:02Z",
             "-n", "10", "--asc");
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?q=a%20b&regex=x%7Cy&icase=1&host=h"
                  "&container=w%2A&image=i&stream=stdout&since=1000000000"
                  "&until=2000000000&limit=11&order=asc");
    expect_target(&a, ARGS_TARGET_HISTORY, 0,
                  "/api/v1/follow?q=a%20b&regex=x%7Cy&icase=1&host=h"
                  "&container=w%2A&image=i&stream=stdout&since=1000000000"
                  "&limit=10&resume=1");
    expect_target(&a, ARGS_TARGET_RESUME, 77,
                  "/api/v1/follow?q=a%20b&regex=x%7Cy&icase=1&host=h"
                  "&container=w%2A&image=i&stream=stdout&since=1000000000"
                  "&received_since=77&resume=1");
    expect_target(&a, ARGS_TARGET_FOLLOW, 0,
                  "/api/v1/follow?q=a%20b&regex=x%7Cy&icase=1&host=h"
                  "&container=w%2A&image=i&stream=stdout&resume=1");
    args_search_fini(&a);

    PARSE_OK(&a, "--json");
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?limit=1001&order=desc");
    args_search_fini(&a);

    /* -F: a fixed string, sent as is (no query syntax) */
    PARSE_OK(&a, "err", "-F", "a \"b -c", "-i");
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?q=err&fixed=a%20%22b%20-c&icase=1"
                  "&limit=1001&order=desc");
    args_search_fini(&a);
    PARSE_OK(&a, "--fixed=x.y");
    expect_target(&a, ARGS_TARGET_FOLLOW, 0,
                  "/api/v1/follow?fixed=x.y&resume=1");
    args_search_fini(&a);

    PARSE_OK(&a, "-n", "1000000");     /* the API's maximum: no extra */
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?limit=1000000&order=desc");
    expect_target(&a, ARGS_TARGET_HISTORY, 0,
                  "/api/v1/follow?limit=1000000&resume=1");
    expect_target(&a, ARGS_TARGET_FOLLOW, 0, "/api/v1/follow?resume=1");
    a.no_resume = 1;                    /* an older collector */
    expect_target(&a, ARGS_TARGET_HISTORY, 0,
                  "/api/v1/follow?limit=1000000");
    expect_target(&a, ARGS_TARGET_FOLLOW, 0, "/api/v1/follow");
    args_search_fini(&a);

    /* -n 0 and --all: every match, no extra record asked for. */
    PARSE_OK(&a, "-n", "0");
    assert_true(a.has_limit && a.limit == 0);
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?limit=0&order=desc");
    args_search_fini(&a);
    PARSE_OK(&a, "--all", "--asc", "-f");
    assert_true(a.has_limit && a.limit == 0);
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?limit=0&order=asc");
    expect_target(&a, ARGS_TARGET_HISTORY, 0,
                  "/api/v1/follow?limit=0&resume=1");
    args_search_fini(&a);
}

/* Several -e are alternatives, as in grep: each is sent, in order. The
 * server's PCRE2 judges the syntax, so PCRE2-only patterns pass. */
static void
test_args_several_regex(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "-e", "disk", "--regex", "(?i)cpu", "-e", "a&b");
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?regex=disk&regex=%28%3Fi%29cpu"
                  "&regex=a%26b&limit=1001&order=desc");
    expect_target(&a, ARGS_TARGET_COUNT, 0,
                  "/api/v1/count?regex=disk&regex=%28%3Fi%29cpu"
                  "&regex=a%26b");
    expect_target(&a, ARGS_TARGET_FOLLOW, 0,
                  "/api/v1/follow?regex=disk&regex=%28%3Fi%29cpu"
                  "&regex=a%26b&resume=1");
    args_search_fini(&a);
    PARSE_OK(&a, "-e", "(?:a|b)(?=c)(?<=x)\\<w\\>");
    args_search_fini(&a);
    PARSE_OK(&a, "-e", "(");        /* the server says why, not the CLI */
    args_search_fini(&a);
    PARSE_OK(&a, "-e", "");
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?regex=&limit=1001&order=desc");
    args_search_fini(&a);
    expect_err("too many -e (at most 16)", "--regex=1", "--regex=2",
               "--regex=3", "--regex=4", "--regex=5", "--regex=6",
               "--regex=7", "--regex=8", "--regex=9", "--regex=10",
               "--regex=11", "--regex=12", "--regex=13", "--regex=14",
               "--regex=15", "--regex=16", "--regex=17", NULL);
}

static void
test_args_target_cap(void **state)
{
    struct search_args a;
    struct buf b;

    (void)state;
    PARSE_OK(&a, "a-long-enough-term");
    buf_init(&b, 20);
    assert_int_equal(args_target_format(&a, ARGS_TARGET_SEARCH, 0, &b), -1);
    assert_int_equal(b.len, 0);
    buf_fini(&b);
    args_search_fini(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_defaults),
        cmocka_unit_test(test_args_every_flag),
        cmocka_unit_test(test_args_long_forms),
        cmocka_unit_test(test_args_terms_joined_with_dash_terms),
        cmocka_unit_test(test_args_double_dash),
        cmocka_unit_test(test_args_errors),
        cmocka_unit_test(test_args_time_expressions),
        cmocka_unit_test(test_args_list),
        cmocka_unit_test(test_args_timeout),
        cmocka_unit_test(test_args_targets),
        cmocka_unit_test(test_args_several_regex),
        cmocka_unit_test(test_args_target_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
