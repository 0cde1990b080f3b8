/* SPDX-License-Identifier: MIT */
/*
 * args_test: every search flag (short, long, --x=v, -n50), terms with
 * leading '-', "--", combos, every error (unknown flag, missing value,
 * bad stream/count/time/regex, until <= since, -f with --until), time
 * expressions against a fixed "now", the list-command parser, and the
 * exact request targets built for search, history, catch-up and follow;
 * context flags (-A/-B/-C), --max-scan, and the count/histogram parsers
 * (--by, --step, refused search-only flags) with their targets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/args.h"

/* 2026-11-27T13:50:40Z */
#define NOW  (1795787440LL * 1000000000LL)
#define SEC  1000000000LL

static int
parse(struct search_args *a, char *err, size_t errlen, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;

    argv[argc++] = "logq";
    va_start(ap, errlen);
    for (char *s; (s = va_arg(ap, char *)) != NULL;)
        argv[argc++] = s;
    va_end(ap);
    argv[argc] = NULL;
    return args_search_parse(argc, argv, 1, NOW, a, err, errlen);
}

#define PARSE_OK(a, ...) do {                                           \
        char err_[256] = "";                                            \
        int rc_ = parse(a, err_, sizeof(err_), __VA_ARGS__, NULL);      \
        if (rc_ != 0)                                                   \
            fail_msg("unexpected error: %s", err_);                     \
    } while (0)

static void
expect_err(const char *want, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    struct search_args a;
    char err[256] = "";

    argv[argc++] = "logq";
    va_start(ap, want);
    for (char *s; (s = va_arg(ap, char *)) != NULL;)
        argv[argc++] = s;
    va_end(ap);
    argv[argc] = NULL;
    assert_int_equal(args_search_parse(argc, argv, 1, NOW, &a, err,
                                       sizeof(err)), -1);
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' does not contain '%s'", err, want);
}

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
expect_target(const struct search_args *a, enum args_target kind,
              int64_t since, const char *want)
{
    struct buf b;

    buf_init(&b, 4096);
    assert_int_equal(args_target_format(a, kind, since, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data, want);
    buf_fini(&b);
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

static int
parse_with(int (*fn)(int, char **, int, int64_t, struct search_args *,
                     char *, size_t), struct search_args *a, char *err,
           size_t errlen, char **words)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = "logq";
    for (; *words != NULL; words++)
        argv[argc++] = *words;
    argv[argc] = NULL;
    return fn(argc, argv, 1, NOW, a, err, errlen);
}

static void
test_args_context(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "-C", "3", "error");
    assert_int_equal(a.before, 3);
    assert_int_equal(a.after, 3);
    assert_string_equal(a.query, "error");
    /* With context the limit is exact (it counts matches). */
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?q=error&limit=1000&order=desc&before=3"
                  "&after=3");
    args_search_fini(&a);
    PARSE_OK(&a, "-A2", "-B", "0", "--max-scan", "2K", "--asc");
    assert_int_equal(a.after, 2);
    assert_int_equal(a.before, 0);
    assert_int_equal(a.max_scan, 2048);
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?limit=1000&order=asc&after=2&max_scan=2048");
    /* Follow gets neither context nor the cap. */
    expect_target(&a, ARGS_TARGET_FOLLOW, 0, "/api/v1/follow?resume=1");
    args_search_fini(&a);
    PARSE_OK(&a, "--context=1000", "--after-context", "5");
    assert_int_equal(a.before, 1000);
    assert_int_equal(a.after, 5);
    args_search_fini(&a);
    PARSE_OK(&a, "--max-scan", "3G");
    assert_int_equal(a.max_scan, 3ULL << 30);
    args_search_fini(&a);
    expect_err("bad context line count '1001' (0-1000)", "-C", "1001", NULL);
    expect_err("bad context line count '-1'", "-A", "-1", NULL);
    expect_err("bad context line count 'x'", "-B", "x", NULL);
    expect_err("-A/-B/-C cannot be used with -f", "-f", "-C", "1", NULL);
    expect_err("bad --max-scan '0'", "--max-scan", "0", NULL);
    expect_err("bad --max-scan '5X'", "--max-scan", "5X", NULL);
    expect_err("bad --max-scan", "--max-scan", "99999999999999999999T",
               NULL);
}

static void
test_args_count_histogram(void **state)
{
    struct search_args a;
    char err[256] = "";
    char *c1[] = { "error", "--by", "container", "--host", "h", "--since",
                   "1970-01-01T00:00:01Z", "--max-scan", "10", NULL };
    char *h1[] = { "--step", "1m", "-i", "x", NULL };
    char *h2[] = { "--step", "250", NULL };
    char *bad_by[] = { "--by", "image", NULL };
    char *by_field[] = { "--by", "field:user.id", NULL };
    char *bad_field[] = { "--by", "field:", NULL };
    char *by_label[] = { "--by", "label:com.docker.compose.service", NULL };
    char *bad_label[] = { "--by", "label:", NULL };
    char *bad_step[] = { "--step", "0s", NULL };
    char *no_limit[] = { "-n", "5", NULL };
    char *no_ctx[] = { "-C", "1", NULL };
    char *no_step[] = { "--step", "1m", NULL };

    (void)state;
    assert_int_equal(parse_with(args_count_parse, &a, err, sizeof(err), c1),
                     0);
    expect_target(&a, ARGS_TARGET_COUNT, 0,
                  "/api/v1/count?q=error&host=h&since=1000000000"
                  "&by=container&max_scan=10");
    args_search_fini(&a);
    assert_int_equal(parse_with(args_histogram_parse, &a, err, sizeof(err),
                                h1), 0);
    expect_target(&a, ARGS_TARGET_HISTOGRAM, 0,
                  "/api/v1/histogram?q=x&icase=1&step=1m");
    args_search_fini(&a);
    assert_int_equal(parse_with(args_histogram_parse, &a, err, sizeof(err),
                                h2), 0);
    assert_string_equal(a.step, "250");
    args_search_fini(&a);
    assert_int_equal(parse_with(args_count_parse, &a, err, sizeof(err),
                                bad_by), -1);
    assert_non_null(strstr(err, "bad --by 'image'"));
    assert_non_null(strstr(err, "field:NAME"));
    assert_int_equal(parse_with(args_count_parse, &a, err, sizeof(err),
                                by_field), 0);
    expect_target(&a, ARGS_TARGET_COUNT, 0,
                  "/api/v1/count?by=field%3Auser.id");
    args_search_fini(&a);
    assert_int_equal(parse_with(args_count_parse, &a, err, sizeof(err),
                                bad_field), -1);
    assert_int_equal(parse_with(args_count_parse, &a, err, sizeof(err),
                                by_label), 0);
    expect_target(&a, ARGS_TARGET_COUNT, 0, "/api/v1/count?by=label%3A"
                  "com.docker.compose.service");
    args_search_fini(&a);
    assert_int_equal(parse_with(args_count_parse, &a, err, sizeof(err),
                                bad_label), -1);
    assert_non_null(strstr(err, "bad --by 'label:' (host, container, "
                               "stream, field:NAME or label:KEY)"));
    assert_int_equal(parse_with(args_histogram_parse, &a, err, sizeof(err),
                                bad_step), -1);
    assert_non_null(strstr(err, "bad --step '0s'"));
    assert_int_equal(parse_with(args_count_parse, &a, err, sizeof(err),
                                no_limit), -1);
    assert_non_null(strstr(err, "option '-n' does not apply"));
    assert_int_equal(parse_with(args_count_parse, &a, err, sizeof(err),
                                no_ctx), -1);
    assert_int_equal(parse_with(args_count_parse, &a, err, sizeof(err),
                                no_step), -1);
    assert_non_null(strstr(err, "option '--step' does not apply"));
}

/* grep habits: -v (repeatable, sent as not_regex, also by count), -c,
 * -l, --color=WHEN; what they cannot be combined with. */
static void
test_args_grep_habits(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "error", "-v", "^DEBUG", "-v", "health", "-c");
    assert_int_equal(a.n_not_regex, 2);
    assert_string_equal(a.not_regex[1], "health");
    assert_true(a.is_count && !a.is_list);
    expect_target(&a, ARGS_TARGET_COUNT, 0,
                  "/api/v1/count?q=error&not_regex=%5EDEBUG"
                  "&not_regex=health");
    args_search_fini(&a);
    PARSE_OK(&a, "-l", "--color=always", "--invert-regex=x");
    assert_true(a.is_list);
    assert_int_equal(a.common.color_mode, ARGS_COLOR_ALWAYS);
    assert_int_equal(a.n_not_regex, 1);
    args_search_fini(&a);
    PARSE_OK(&a, "--color", "never", "--color=auto", "x");
    assert_int_equal(a.common.color_mode, ARGS_COLOR_AUTO);
    a.has_spans = 1;        /* highlighting asks /logs and /follow only */
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?q=x&limit=1001&order=desc&spans=1");
    expect_target(&a, ARGS_TARGET_FOLLOW, 0,
                  "/api/v1/follow?q=x&spans=1&resume=1");
    expect_target(&a, ARGS_TARGET_COUNT, 0, "/api/v1/count?q=x");
    args_search_fini(&a);
    /* -e5 and -v5 are terms (only -n/-A/-B/-C attach a number) */
    PARSE_OK(&a, "-e5", "-v5", "-n5");
    assert_string_equal(a.query, "-e5 -v5");
    assert_int_equal(a.limit, 5);
    args_search_fini(&a);

    expect_err("bad --color 'yes' (auto, always or never)", "--color=yes",
               NULL);
    expect_err("-c and -l cannot be used together", "-c", "-l", NULL);
    expect_err("-c cannot be used with -f", "-c", "-f", NULL);
    expect_err("-l cannot be used with -f, -n", "-l", "-n", "5", NULL);
    expect_err("empty -v regex", "-v", "", NULL);

    char err[256];
    char *cv[] = { "logq", "count", "-v", "x", "--color=never", NULL };
    assert_int_equal(args_count_parse(5, cv, 2, NOW, &a, err, sizeof(err)),
                     0);
    assert_int_equal(a.n_not_regex, 1);
    args_search_fini(&a);
    char *lv[] = { "logq", "hosts", "--color=always", NULL };
    struct list_args l;
    assert_int_equal(args_list_parse(3, lv, 2, FLAGS_HOSTS, &l, err, sizeof(err)), 0);
    assert_int_equal(l.common.color_mode, ARGS_COLOR_ALWAYS);
}

/* Repeated --host/--container/--image are alternatives (each sent, in
 * order), '!' excludes; an empty one is an error. */
static void
test_args_names(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "--container", "web-*", "--container=!web-2", "--host",
             "n1", "--host", "n2", "--image", "!nginx:1");
    assert_int_equal(a.containers.n, 2);
    assert_int_equal(a.hosts.n, 2);
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?host=n1&host=n2&container=web-%2A"
                  "&container=%21web-2&image=%21nginx%3A1&limit=1001"
                  "&order=desc");
    args_search_fini(&a);
    expect_err("empty --container", "--container", "!", NULL);

    /* the same rule logq applies to hosts/containers lists itself */
    struct args_names l = { { "web-*", "!web-2", "api" }, 3 };
    assert_true(args_names_match(&l, "web-1", 1));
    assert_false(args_names_match(&l, "web-2", 1));
    assert_true(args_names_match(&l, "api", 1));
    assert_false(args_names_match(&l, "db", 1));
    assert_false(args_names_match(&l, "web-1", 0));     /* exact */
    struct args_names none = { { "!db" }, 1 };
    assert_true(args_names_match(&none, "x", 0));
    assert_false(args_names_match(&none, "db", 0));
    expect_err("empty --host", "--host=", NULL);

    /* --label K=V / K, --service, --project: the same rule, sent as
     * label=, service=, project= */
    PARSE_OK(&a, "--label", "tier=front*", "--label=!canary",
             "--service", "web", "--project", "shop", "--service", "api");
    assert_int_equal(a.labels.n, 2);
    assert_int_equal(a.services.n, 2);
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?label=tier%3Dfront%2A&label=%21canary"
                  "&service=web&service=api&project=shop&limit=1001"
                  "&order=desc");
    args_search_fini(&a);
    expect_err("bad --label '=x' (KEY=VALUE or KEY)", "--label", "=x", NULL);
    expect_err("bad --label '!=x'", "--label", "!=x", NULL);
    expect_err("empty --service", "--service", "!", NULL);
    expect_err("empty --project", "--project=", NULL);
}

/* --tail N|all (docker logs), --from/--to, --local/--utc. */
static void
test_args_time_flags(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "--tail", "20", "--from", "now-1h", "--to=now");
    assert_true(a.is_tail && a.has_limit && a.limit == 20);
    assert_true(a.has_since && a.since_ns == NOW - 3600 * SEC);
    assert_true(a.has_until && a.until_ns == NOW);
    /* exactly N, oldest first: no extra record asked for */
    expect_target(&a, ARGS_TARGET_SEARCH, 0,
                  "/api/v1/logs?since=" "1795783840000000000"
                  "&until=1795787440000000000&limit=20&order=tail");
    args_search_fini(&a);
    PARSE_OK(&a, "--tail=all", "-f");
    assert_true(a.is_tail && a.limit == 0);
    expect_target(&a, ARGS_TARGET_HISTORY, 0,
                  "/api/v1/follow?limit=0&resume=1");
    args_search_fini(&a);
    PARSE_OK(&a, "-f", "--tail", "5");      /* -f goes on after them */
    expect_target(&a, ARGS_TARGET_HISTORY, 0,
                  "/api/v1/follow?limit=5&resume=1");
    args_search_fini(&a);
    expect_err("bad --tail '0' (1-1000000 or all)", "--tail", "0", NULL);
    expect_err("bad --tail 'x'", "--tail", "x", NULL);
    expect_err("--tail cannot be used with --asc", "--tail", "3", "--asc",
               NULL);
    expect_err("-c cannot be used with -f, -n, --all, --tail", "-c",
               "--tail", "3", NULL);

    PARSE_OK(&a, "--local");
    assert_int_equal(a.common.time_zone, ARGS_TZ_LOCAL);
    assert_true(args_is_local_time(&a.common, 0, NULL));
    a.common.is_json = 1;               /* --json stays UTC */
    assert_false(args_is_local_time(&a.common, 1, "Europe/Berlin"));
    args_search_fini(&a);
    PARSE_OK(&a, "--utc");
    assert_false(args_is_local_time(&a.common, 1, "Europe/Berlin"));
    args_search_fini(&a);
    PARSE_OK(&a, "x");
    assert_true(args_is_local_time(&a.common, 1, "Europe/Berlin"));
    assert_false(args_is_local_time(&a.common, 0, "Europe/Berlin"));
    assert_false(args_is_local_time(&a.common, 1, NULL));
    assert_false(args_is_local_time(&a.common, 1, ""));
    args_search_fini(&a);
}

/* -o text|raw|json and --format, and what they exclude. */
static void
test_args_output(void **state)
{
    struct search_args a;

    (void)state;
    PARSE_OK(&a, "-o", "raw");
    assert_true(a.is_raw && !a.common.is_json);
    args_search_fini(&a);
    PARSE_OK(&a, "--output=json");
    assert_true(!a.is_raw && a.common.is_json);
    args_search_fini(&a);
    PARSE_OK(&a, "--json", "-o", "text");
    assert_true(!a.is_raw && !a.common.is_json);
    args_search_fini(&a);
    PARSE_OK(&a, "--format", "{host} {message}");
    assert_string_equal(a.format, "{host} {message}");
    args_search_fini(&a);
    expect_err("bad -o 'yaml' (text, raw or json)", "-o", "yaml", NULL);
    expect_err("--format cannot be used with --json", "--format", "{host}",
               "--json", NULL);
    expect_err("-c and -l cannot be used with -o raw", "-c", "-o", "raw",
               NULL);
}

/* The config file's since is a default: the user's --since or --until
 * (an --until before it: "--until 2h" with "since = 1h") keeps it out. */
static void
test_args_since_default(void **state)
{
    struct search_args a;
    char err[256];

    (void)state;
    assert_int_equal(parse(&a, err, sizeof(err), "x", NULL), 0);
    assert_int_equal(args_since_default(&a, "1h", NOW), 0);
    assert_true(a.has_since);
    assert_int_equal(a.since_ns, NOW - 3600 * SEC);
    args_search_fini(&a);

    assert_int_equal(parse(&a, err, sizeof(err), "--since", "2h", "x",
                           NULL), 0);
    assert_int_equal(args_since_default(&a, "1h", NOW), 0);
    assert_int_equal(a.since_ns, NOW - 7200 * SEC);
    args_search_fini(&a);

    assert_int_equal(parse(&a, err, sizeof(err), "--until", "2h", "x",
                           NULL), 0);
    assert_int_equal(args_since_default(&a, "1h", NOW), 0);
    assert_false(a.has_since);
    assert_int_equal(a.until_ns, NOW - 7200 * SEC);
    args_search_fini(&a);

    assert_int_equal(parse(&a, err, sizeof(err), "x", NULL), 0);
    assert_int_equal(args_since_default(&a, "yesterdayish", NOW), -1);
    assert_false(a.has_since);
    args_search_fini(&a);
}

/* A flag of another command is named as such, not as unknown: `logq
 * --local health` (--local may come before a command name, health takes
 * none), --local=1 too; a flag of none is unknown. */
static void
test_args_flag_of_other_command(void **state)
{
    char *argv[] = { "logq", "--local", "--local=1", "--bogus", "-A", NULL };
    struct args_iter it;
    char err[256];

    (void)state;
    args_iter_init(&it, 5, argv, 1);
    assert_int_equal(args_next(&it, FLAGS_HEALTH, err, sizeof(err)),
                     ARGS_ERROR);
    assert_string_equal(err, "option '--local' does not apply to this "
                        "command (see its --help)");
    assert_int_equal(args_next(&it, FLAGS_HEALTH, err, sizeof(err)),
                     ARGS_ERROR);
    assert_string_equal(err, "option '--local' does not apply to this "
                        "command (see its --help)");
    assert_int_equal(args_next(&it, FLAGS_HEALTH, err, sizeof(err)),
                     ARGS_ERROR);
    assert_string_equal(err, "unknown option '--bogus'");
    assert_int_equal(args_next(&it, FLAGS_STATS, err, sizeof(err)),
                     ARGS_ERROR);
    assert_string_equal(err, "option '-A' does not apply to this command "
                        "(see its --help)");
    assert_int_equal(args_next(&it, FLAGS_SEARCH, err, sizeof(err)),
                     ARGS_END);
}

/* logq stats takes --local and --utc (its times), not the --host of the
 * commands that share them: stats has no per-host view, so --host would
 * be accepted and do nothing (and its --help and man page offered it). */
static void
test_args_stats_flags(void **state)
{
    char *argv[] = { "logq", "--local", "--utc", "--host", "h", NULL };
    struct args_iter it;
    char err[256];

    (void)state;
    args_iter_init(&it, 5, argv, 1);
    assert_int_equal(args_next(&it, FLAGS_STATS, err, sizeof(err)),
                     FLAGS_O_LOCAL);
    assert_int_equal(args_next(&it, FLAGS_STATS, err, sizeof(err)),
                     FLAGS_O_UTC);
    assert_int_equal(args_next(&it, FLAGS_STATS, err, sizeof(err)),
                     ARGS_ERROR);
    assert_string_equal(err, "option '--host' does not apply to this "
                        "command (see its --help)");
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
        cmocka_unit_test(test_args_context),
        cmocka_unit_test(test_args_count_histogram),
        cmocka_unit_test(test_args_grep_habits),
        cmocka_unit_test(test_args_names),
        cmocka_unit_test(test_args_time_flags),
        cmocka_unit_test(test_args_output),
        cmocka_unit_test(test_args_since_default),
        cmocka_unit_test(test_args_flag_of_other_command),
        cmocka_unit_test(test_args_stats_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
