/* SPDX-License-Identifier: MIT */
/*
 * args_cmd_test: context flags (-A/-B/-C), --max-scan, the count and
 * histogram parsers (--by, --step, refused search-only flags) with their
 * targets, grep habits, names, time and output flags, the default since,
 * a flag of another command, stats flags (split from args_test.c;
 * tests/support/argstest.h).
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
