/* SPDX-License-Identifier: MIT */
/*
 * api_params_test: query-string parsing of /api/v1/logs and /follow
 * (collector/api/api_params.c): defaults, every parameter, URL decoding and
 * every rejection (unknown, repeated, empty, malformed, over a cap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/api/api_params.h"
#include "collector/store/namesel.h"
#include "common/labelset.h"
#include "common/record.h"
#include "common/xmalloc.h"

static void
test_api_params_defaults(void **state)
{
    (void)state;
    struct api_params p;
    char *err = NULL;

    assert_int_equal(api_params_parse(NULL, API_EP_LOGS, &p, &err), 0);
    assert_string_equal(p.q, "");
    assert_int_equal(p.n_regex, 0);
    assert_null(p.sel);
    assert_int_equal(p.stream, -1);
    assert_true(p.since_ns == INT64_MIN);
    assert_true(p.until_ns == INT64_MAX);
    assert_int_equal(p.limit, API_PARAMS_DEFAULT_LIMIT);
    assert_int_equal(p.is_newest_first, 1);
    assert_int_equal(p.is_icase, 0);
    api_params_fini(&p);
    assert_int_equal(api_params_parse("", API_EP_FOLLOW, &p, &err), 0);
    api_params_fini(&p);
}

static void
test_api_params_all(void **state)
{
    (void)state;
    struct api_params p;
    char *err = NULL;
    const char *qs = "q=error+%22disk%20full%22&regex=%5Ea.*b%24&icase=1"
                     "&host=node1&container=web*&image=busybox%3Alatest"
                     "&stream=stderr&since=2026-11-27T13:50:40Z"
                     "&until=1795795841000000000&limit=25&order=asc"
                     "&fixed=a%20%22b";

    assert_int_equal(api_params_parse(qs, API_EP_LOGS, &p, &err), 0);
    assert_string_equal(p.q, "error \"disk full\"");
    assert_int_equal(p.n_regex, 1);
    assert_string_equal(p.regex[0], "^a.*b$");
    assert_string_equal(p.fixed, "a \"b");
    assert_int_equal(p.is_icase, 1);
    assert_true(namesel_match(p.sel, "node1", "web-1", "busybox:latest", NULL));
    assert_false(namesel_match(p.sel, "node2", "web-1", "busybox:latest", NULL));
    assert_false(namesel_match(p.sel, "node1", "api", "busybox:latest", NULL));
    assert_false(namesel_match(p.sel, "node1", "web-1", "busybox", NULL));
    assert_int_equal(p.stream, LOGREC_STDERR);
    assert_true(p.since_ns == INT64_C(1795787440) * 1000000000);
    assert_true(p.until_ns == INT64_C(1795795841000000000));
    assert_int_equal(p.limit, 25);
    assert_int_equal(p.is_newest_first, 0);
    api_params_fini(&p);
}

static void
test_api_params_plus_is_space_encoded_plus_is_plus(void **state)
{
    (void)state;
    struct api_params p;
    char *err = NULL;

    assert_int_equal(api_params_parse("q=a+b%2Bc", API_EP_LOGS, &p, &err), 0);
    assert_string_equal(p.q, "a b+c");
    api_params_fini(&p);
}

static void
test_api_params_follow(void **state)
{
    (void)state;
    struct api_params p;
    char *err = NULL;

    assert_int_equal(api_params_parse("q=x&stream=stdout&since=5",
                                      API_EP_FOLLOW, &p, &err), 0);
    assert_int_equal(p.stream, LOGREC_STDOUT);
    assert_true(p.since_ns == 5);
    assert_false(p.has_limit);          /* no history */
    api_params_fini(&p);
    assert_int_equal(api_params_parse("limit=5", API_EP_FOLLOW, &p, &err),
                     0);
    assert_true(p.has_limit && p.limit == 5);     /* history of 5 */
    api_params_fini(&p);
    static const char *const bad[] = { "order=asc", "until=7" };
    for (size_t i = 0; i < 2; i++) {
        err = NULL;
        assert_int_equal(api_params_parse(bad[i], API_EP_FOLLOW, &p, &err),
                         -1);
        assert_non_null(strstr(err, "unknown parameter"));
        free(err);
    }
    /* resuming (API.md "Resuming a follow"): a history of every match
     * received since, and the resume line */
    assert_int_equal(api_params_parse("received_since=77&q=x",
                                      API_EP_FOLLOW, &p, &err), 0);
    assert_true(p.has_recv_since && p.recv_since_ns == 77 && p.is_resume);
    assert_true(p.has_limit && p.limit == 0);
    api_params_fini(&p);
    assert_int_equal(api_params_parse("resume=1&limit=3", API_EP_FOLLOW, &p,
                                      &err), 0);
    assert_true(p.is_resume && !p.has_recv_since && p.limit == 3);
    api_params_fini(&p);
    assert_int_equal(api_params_parse("resume=0&received_since=0",
                                      API_EP_FOLLOW, &p, &err), 0);
    assert_true(p.is_resume);       /* received_since implies it */
    api_params_fini(&p);
    static const char *const bad_resume[] = {
        "received_since=5&limit=2", "resume=2", "received_since=x",
        "received_since=1&received_since=2",
    };
    for (size_t i = 0; i < 4; i++) {
        err = NULL;
        assert_int_equal(api_params_parse(bad_resume[i], API_EP_FOLLOW, &p,
                                          &err), -1);
        assert_non_null(err);
        free(err);
    }
    for (size_t i = 0; i < 2; i++) {        /* /follow only */
        err = NULL;
        assert_int_equal(api_params_parse(i ? "resume=1" : "received_since=1",
                                          API_EP_LOGS, &p, &err), -1);
        assert_non_null(strstr(err, "unknown parameter"));
        free(err);
    }
}

static void
test_api_params_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "foo=1", "q=a&q=b", "limit=1000001", "limit=-1",
        "limit=abc", "limit=", "limit=99999999999999999999", "limit=5x",
        "stream=both", "stream=", "order=up", "icase=yes", "since=yesterday",
        "since=2026-13-01T00:00:00Z", "until=12abc", "since=",
        "since=99999999999999999999", "host=", "container=", "image=",
        "since=10&until=10", "since=11&until=10", "LIMIT=5", "host=!",
        "container=!",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct api_params p;
        char *err = NULL;
        if (api_params_parse(bad[i], API_EP_LOGS, &p, &err) != -1)
            fail_msg("case %zu [%s] accepted", i, bad[i]);
        assert_non_null(err);
        assert_null(p.q);           /* zeroed on failure */
        free(err);
    }
}

static void
test_api_params_caps(void **state)
{
    (void)state;
    struct api_params p;
    char *err = NULL;
    size_t n = API_PARAMS_MAX_QUERY + 10;
    char *big = xcalloc(1, n + 1);

    memcpy(big, "q=", 2);
    memset(big + 2, 'a', n - 2);
    assert_int_equal(api_params_parse(big, API_EP_LOGS, &p, &err), -1);
    free(err);

    /* host just over its cap */
    memcpy(big, "host=", 5);
    memset(big + 5, 'h', API_PARAMS_MAX_NAME + 1);
    big[5 + API_PARAMS_MAX_NAME + 1] = '\0';
    err = NULL;
    assert_int_equal(api_params_parse(big, API_EP_LOGS, &p, &err), -1);
    assert_non_null(strstr(err, "too long"));
    free(err);
    /* and at its cap */
    big[5 + API_PARAMS_MAX_NAME] = '\0';
    err = NULL;
    assert_int_equal(api_params_parse(big, API_EP_LOGS, &p, &err), 0);
    assert_true(namesel_match(p.sel, big + 5, "c", "i", NULL));
    api_params_fini(&p);
    /* label: '!', a key, '=' and a value: 2 * 256 + 2 bytes */
    size_t lab = 2 * API_PARAMS_MAX_NAME + 2;
    memcpy(big, "label=", 6);
    memset(big + 6, 'k', lab + 1);
    big[6 + 1] = '=';
    big[6 + lab + 1] = '\0';
    err = NULL;
    assert_int_equal(api_params_parse(big, API_EP_LOGS, &p, &err), -1);
    assert_non_null(strstr(err, "label too long (at most 514 bytes)"));
    free(err);
    big[6 + lab] = '\0';
    err = NULL;
    assert_int_equal(api_params_parse(big, API_EP_LOGS, &p, &err), 0);
    api_params_fini(&p);
    free(big);
}

static void
test_api_params_limit_bounds(void **state)
{
    (void)state;
    struct api_params p;
    char *err = NULL;

    assert_int_equal(api_params_parse("limit=1", API_EP_LOGS, &p, &err), 0);
    assert_int_equal(p.limit, 1);
    api_params_fini(&p);
    assert_int_equal(api_params_parse("limit=0", API_EP_LOGS, &p, &err), 0);
    assert_true(p.limit == 0 && p.has_limit);   /* every match */
    api_params_fini(&p);
    assert_int_equal(api_params_parse("limit=1000000", API_EP_LOGS, &p, &err),
                     0);
    assert_int_equal(p.limit, 1000000);
    api_params_fini(&p);
    assert_int_equal(api_params_parse("since=-5&icase=0&regex=",
                                      API_EP_LOGS, &p, &err), 0);
    assert_true(p.since_ns == -5);
    api_params_fini(&p);
}

/* Repeated regex parameters are alternatives (logq -e a -e b), kept in
 * order, at most API_PARAMS_MAX_REGEX. */
static void
test_api_params_several_regex(void **state)
{
    (void)state;
    struct api_params p;
    char *err = NULL;

    assert_int_equal(api_params_parse("regex=a&q=x&regex=%28%3Fi%29b",
                                      API_EP_LOGS, &p, &err), 0);
    assert_int_equal(p.n_regex, 2);
    assert_string_equal(p.regex[0], "a");
    assert_string_equal(p.regex[1], "(?i)b");
    api_params_fini(&p);
    assert_int_equal(api_params_parse("regex=a&regex=", API_EP_FOLLOW, &p,
                                      &err), 0);
    assert_int_equal(p.n_regex, 2);
    api_params_fini(&p);

    char qs[API_PARAMS_MAX_REGEX * 8 + 16];
    size_t used = 0;
    for (int i = 0; i <= API_PARAMS_MAX_REGEX; i++)
        used += (size_t)snprintf(qs + used, sizeof(qs) - used, "%sregex=%d",
                                 i ? "&" : "", i);
    assert_int_equal(api_params_parse(qs, API_EP_LOGS, &p, &err), -1);
    assert_string_equal(err, "too many regex parameters (at most 16)");
    free(err);
    *strrchr(qs, '&') = '\0';
    err = NULL;
    assert_int_equal(api_params_parse(qs, API_EP_LOGS, &p, &err), 0);
    assert_int_equal(p.n_regex, API_PARAMS_MAX_REGEX);
    assert_string_equal(p.regex[API_PARAMS_MAX_REGEX - 1], "15");
    api_params_fini(&p);
}

/* not_regex (logq -v) repeats like regex but may not be empty; spans is
 * 1 or 0, on /logs and /follow. */
static void
test_api_params_not_regex_spans(void **state)
{
    (void)state;
    struct api_params p;
    char *err = NULL;

    assert_int_equal(api_params_parse("not_regex=a&spans=1&not_regex=b",
                                      API_EP_FOLLOW, &p, &err), 0);
    assert_int_equal(p.n_not_regex, 2);
    assert_string_equal(p.not_regex[1], "b");
    assert_int_equal(p.has_spans, 1);
    api_params_fini(&p);
    assert_int_equal(api_params_parse("order=tail&limit=5", API_EP_LOGS, &p,
                                      &err), 0);
    assert_true(p.is_tail && !p.is_newest_first && p.limit == 5);
    api_params_fini(&p);
    assert_int_equal(api_params_parse("not_regex=", API_EP_LOGS, &p, &err),
                     -1);
    assert_string_equal(err, "empty not_regex");
    free(err);
    err = NULL;
    assert_int_equal(api_params_parse("spans=yes", API_EP_LOGS, &p, &err),
                     -1);
    assert_string_equal(err, "bad spans: want 1 or 0");
    free(err);
}

/* host, container and image repeat: alternatives, '!' excludes (logq
 * --container a --container '!b*'); at most 16 of each. */
static void
test_api_params_names(void **state)
{
    (void)state;
    struct api_params p;
    char *err = NULL;

    assert_int_equal(api_params_parse("host=n1&host=n2&container=%21logq-%2A"
                                      "&container=web*", API_EP_FOLLOW, &p,
                                      &err), 0);
    assert_true(namesel_match(p.sel, "n2", "web-1", "i", NULL));
    assert_false(namesel_match(p.sel, "n3", "web-1", "i", NULL));
    assert_false(namesel_match(p.sel, "n1", "api", "i", NULL));
    assert_false(namesel_match(p.sel, "n1", "logq-x", "i", NULL));
    api_params_fini(&p);

    /* label, service, project: repeatable like the names */
    char *e2 = NULL;
    const char *lj = "{\"com.docker.compose.service\":\"web\","
                     "\"com.docker.compose.project\":\"shop\","
                     "\"tier\":\"front\"}";
    struct labelset *ls = labelset_parse(lj, strlen(lj), NULL, &e2);
    assert_non_null(ls);
    assert_int_equal(api_params_parse("label=tier%3Dfr*&label=x&service=web"
                                      "&project=shop&project=other",
                                      API_EP_LOGS, &p, &err), 0);
    assert_true(namesel_match(p.sel, "n", "c", "i", ls));
    assert_false(namesel_match(p.sel, "n", "c", "i", NULL));
    api_params_fini(&p);
    assert_int_equal(api_params_parse("label=%21tier%3Dfront", API_EP_FOLLOW,
                                      &p, &err), 0);
    assert_false(namesel_match(p.sel, "n", "c", "i", ls));
    assert_true(namesel_match(p.sel, "n", "c", "i", NULL));
    api_params_fini(&p);
    labelset_free(ls);
    assert_int_equal(api_params_parse("label=%3Dv", API_EP_LOGS, &p, &err),
                     -1);
    assert_non_null(strstr(err, "empty key"));
    free(err);
    err = NULL;

    char qs[NAMESEL_MAX_PATTERNS * 8 + 16];
    size_t used = 0;
    for (int i = 0; i <= NAMESEL_MAX_PATTERNS; i++)
        used += (size_t)snprintf(qs + used, sizeof(qs) - used, "%simage=%d",
                                 i ? "&" : "", i);
    assert_int_equal(api_params_parse(qs, API_EP_LOGS, &p, &err), -1);
    assert_string_equal(err, "too many image parameters (at most 16)");
    free(err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_params_defaults),
        cmocka_unit_test(test_api_params_all),
        cmocka_unit_test(test_api_params_plus_is_space_encoded_plus_is_plus),
        cmocka_unit_test(test_api_params_follow),
        cmocka_unit_test(test_api_params_rejects),
        cmocka_unit_test(test_api_params_caps),
        cmocka_unit_test(test_api_params_limit_bounds),
        cmocka_unit_test(test_api_params_several_regex),
        cmocka_unit_test(test_api_params_not_regex_spans),
        cmocka_unit_test(test_api_params_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
