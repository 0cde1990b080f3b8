/* SPDX-License-Identifier: MIT */
/*
 * api_logs_test: regex matches that run out of their backtracking budget,
 * through the real HTTP API (api_new on 127.0.0.1, an evhttp client on the
 * same loop): /api/v1/logs ends with {"error":"N regex matches exceeded
 * ...","partial":true}, /api/v1/count counts them too, /health shows the
 * regex_aborted counter; a regex that never aborts adds no line and does
 * not move the counter. Also: every connection is counted (api_conn.c),
 * and /count and /histogram of one term counted from the index answer as
 * a scan does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "collector/api/api.h"
#include "collector/stats.h"
#include "collector/store/store.h"
#include "common/record.h"
#include "common/xmalloc.h"
#include "tests/support/apiserver.h"
#include "tests/support/apitest.h"

/* ^(a|aa)+$ and (a+)+$: catastrophic on "aaa...ab" */
#define RE_BAD1 "%5E%28a%7Caa%29%2B%24"
#define RE_BAD2 "%28a%2B%29%2B%24"

static void
store_put(struct store *s, uint64_t off, const char *msg)
{
    struct logrec r = {
        .time_ns = 1700000000000000000LL + (int64_t)off, .host = "h1",
        .container_id = "c1", .container = "web", .image = "img",
        .stream = 0, .offset = off, .msg = msg, .msg_len = strlen(msg),
    };

    assert_int_equal(store_append(s, &r), 1);
}

static int
setup(void **state)
{
    struct apitest_server *f = apitest_server_new("api_logs_test", NULL);
    char bad[64];

    memset(bad, 'a', sizeof(bad) - 2);
    bad[sizeof(bad) - 2] = 'b';
    bad[sizeof(bad) - 1] = '\0';
    store_put(f->store, 10, "hello world");
    store_put(f->store, 20, bad);
    store_put(f->store, 30, bad);
    store_put(f->store, 40, "aaaa");
    assert_int_equal(store_commit(f->store), 0);
    apitest_server_start(f, 1 << 20, (struct api_options){ 0 });
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    apitest_server_close(*state);
    return 0;
}

/* GET path; returns the body (caller frees), *code the status. */
static char *
http_get(struct apitest_server *f, const char *path, int *code)
{
    return apitest_http(f->base, api_port(f->api), path, NULL, code, NULL);
}

static uint64_t
health_counter(struct apitest_server *f, const char *name)
{
    int code;
    char *body = http_get(f, "/health", &code);
    json_error_t jerr;
    json_t *root = json_loads(body, 0, &jerr);

    assert_int_equal(code, 200);
    assert_non_null(root);
    json_t *v = json_object_get(json_object_get(root, "counters"), name);
    assert_true(json_is_integer(v));
    uint64_t n = (uint64_t)json_integer_value(v);
    json_decref(root);
    free(body);
    return n;
}

/* The last line of body (without its newline), NUL-terminated in place. */
static const char *
last_line(char *body)
{
    size_t len = strlen(body);

    assert_true(len > 0 && body[len - 1] == '\n');
    body[len - 1] = '\0';
    char *nl = strrchr(body, '\n');
    return nl != NULL ? nl + 1 : body;
}

static size_t
n_lines(const char *body)
{
    size_t n = 0;

    for (const char *p = body; *p != '\0'; p++)
        n += *p == '\n';
    return n;
}

static void
test_logs_regex_aborted(void **state)
{
    struct apitest_server *f = *state;
    int code;

    assert_int_equal(health_counter(f, "regex_aborted"), 0);
    char *body = http_get(f, "/api/v1/logs?regex=" RE_BAD1, &code);
    assert_int_equal(code, 200);
    /* "aaaa" matches; the two "aaa...ab" lines abort */
    assert_int_equal(n_lines(body), 2);
    assert_non_null(strstr(body, "\"message\":\"aaaa\""));
    assert_string_equal(last_line(body),
                        "{\"error\":\"2 regex matches exceeded the "
                        "backtracking limit and were treated as no match\","
                        "\"partial\":true}");
    free(body);
    assert_int_equal(f->stats.regex_aborted, 2);
    assert_int_equal(health_counter(f, "regex_aborted"), 2);

    body = http_get(f, "/api/v1/logs?order=asc&regex=" RE_BAD2, &code);
    assert_int_equal(code, 200);
    assert_non_null(strstr(last_line(body), "regex matches exceeded the "
                                            "backtracking limit"));
    free(body);
    assert_int_equal(health_counter(f, "regex_aborted"), 4);
}

static void
test_logs_regex_fine(void **state)
{
    struct apitest_server *f = *state;
    int code;

    char *body = http_get(f, "/api/v1/logs?regex=%5Ehel%2Bo", &code);
    assert_int_equal(code, 200);
    assert_int_equal(n_lines(body), 1);
    assert_non_null(strstr(body, "\"message\":\"hello world\""));
    assert_null(strstr(body, "\"error\""));
    free(body);
    body = http_get(f, "/api/v1/logs?q=hello", &code);
    assert_int_equal(n_lines(body), 1);
    free(body);
    assert_int_equal(health_counter(f, "regex_aborted"), 0);
}

/* fixed= (logq -F): anywhere, ANDed with q; a bad one is a 400. */
static void
test_logs_fixed(void **state)
{
    struct apitest_server *f = *state;
    int code;

    char *body = http_get(f, "/api/v1/logs?fixed=llo%20wor", &code);
    assert_int_equal(code, 200);
    assert_int_equal(n_lines(body), 1);
    assert_non_null(strstr(body, "\"message\":\"hello world\""));
    free(body);
    body = http_get(f, "/api/v1/logs?q=hello&fixed=LLO&icase=1", &code);
    assert_int_equal(n_lines(body), 1);
    free(body);
    body = http_get(f, "/api/v1/logs?q=aaaa&fixed=llo", &code);
    assert_int_equal(code, 200);
    assert_int_equal(n_lines(body), 0);
    free(body);
    body = http_get(f, "/api/v1/count?fixed=llo", &code);
    assert_int_equal(code, 200);
    assert_non_null(strstr(body, "\"total\":1"));
    free(body);
    body = http_get(f, "/api/v1/logs?fixed=", &code);
    assert_int_equal(code, 400);
    free(body);
    body = http_get(f, "/api/v1/logs?fixed=a&fixed=b", &code);
    assert_int_equal(code, 400);
    free(body);
}

static void
test_logs_regex_aborted_with_cap(void **state)
{
    struct apitest_server *f = *state;
    int code;

    /* oldest first: "hello world" (11 bytes) and the two 63-byte bad
     * lines fit in max_scan=137, "aaaa" does not: one last line with the
     * cap and the aborted matches */
    char *body = http_get(f, "/api/v1/logs?order=asc&max_scan=137&regex="
                          RE_BAD1, &code);
    assert_int_equal(code, 200);
    assert_int_equal(n_lines(body), 1);
    assert_string_equal(last_line(body),
                        "{\"error\":\"query cost limit reached: scanned "
                        "137 bytes; 2 regex matches exceeded the "
                        "backtracking limit and were treated as no match\","
                        "\"partial\":true}");
    assert_int_equal(f->stats.regex_aborted, 2);
    free(body);
}

static void
test_count_regex_aborted(void **state)
{
    struct apitest_server *f = *state;
    int code;

    char *body = http_get(f, "/api/v1/count?regex=" RE_BAD1, &code);
    assert_int_equal(code, 200);
    free(body);
    assert_int_equal(health_counter(f, "regex_aborted"), 2);
}

/* Counts from the index (api_count.c's store_count_fn) through the API:
 * a store of small blocks and segments, each run of lines from one of 6
 * sources (3 hosts, 2 streams), so that many blocks are counted whole.
 * /count (each by) and /histogram of one term must answer as the same
 * term written twice, which the index cannot count (every block read). */
static int
setup_counted(void **state)
{
    struct apitest_server *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/api_logs_test.XXXXXX";
    static const char *const hosts[] = { "h1", "h2", "h3" };
    static const char *const words[] = { "error", "Error", "ok", "ERROR" };
    struct store_options so = { .block_size = 256, .segment_size = 4096 };
    char *err = NULL;
    char msg[64];

    assert_non_null(mkdtemp(tmpl));
    f->dir = xstrdup(tmpl);
    f->store = store_open(f->dir, &so, &err);
    assert_non_null(f->store);
    uint64_t off[6] = { 0 };
    for (int i = 0; i < 600; i++) {
        int src = (i / 25) % 6;
        snprintf(msg, sizeof(msg), "line %d %s x", i, words[i % 7 % 4]);
        struct logrec r = {
            .time_ns = 1700000000000000000LL + (int64_t)i * 1000000,
            .host = hosts[src % 3], .container_id = src < 3 ? "c1" : "c2",
            .container = src < 3 ? "web" : "db", .image = "img",
            .stream = (uint8_t)(src % 2), .offset = off[src] += 10,
            .msg = msg, .msg_len = strlen(msg),
        };
        assert_int_equal(store_append(f->store, &r), 1);
        if (i % 10 == 9)
            assert_int_equal(store_commit(f->store), 0);
    }
    assert_int_equal(store_commit(f->store), 0);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->follow = follow_new(1 << 20);
    struct api_options opt = {
        .listen = "127.0.0.1:0", .store = f->store, .follow = f->follow,
        .stats = &f->stats,
    };
    f->api = api_new(f->base, &opt, &err);
    assert_non_null(f->api);
    *state = f;
    return 0;
}

static void
test_count_from_index(void **state)
{
    static const char *const queries[] = {
        "/api/v1/count?q=", "/api/v1/count?by=host&q=",
        "/api/v1/count?by=container&q=", "/api/v1/count?by=stream&q=",
        "/api/v1/count?by=host&icase=1&q=",
        "/api/v1/count?by=container&stream=stderr&q=",
        "/api/v1/histogram?step=40ms&since=1700000000000000000"
        "&until=1700000000600000000&q=",
        "/api/v1/histogram?step=1s&since=1700000000000000000"
        "&until=1700000001000000000&icase=1&q=",
    };
    static const char *const terms[] = { "error", "Error", "ERROR", "ok" };
    struct apitest_server *f = *state;
    char one[256], two[256], term2[32];
    int code;

    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        for (size_t t = 0; t < sizeof(terms) / sizeof(terms[0]); t++) {
            snprintf(term2, sizeof(term2), "%s%%20%s", terms[t], terms[t]);
            snprintf(one, sizeof(one), "%s%s", queries[i], terms[t]);
            snprintf(two, sizeof(two), "%s%s", queries[i], term2);
            char *got = http_get(f, one, &code);
            assert_int_equal(code, 200);
            char *want = http_get(f, two, &code);
            assert_int_equal(code, 200);
            if (strcmp(got, want) != 0)
                print_error("%s: %s, scanned: %s\n", one, got, want);
            assert_string_equal(got, want);
            assert_null(strstr(want, "\"total\":0"));
            free(got);
            free(want);
        }
    }
}

/* api_conn.c tracks every connection (it relies on evhttp making the
 * connection its bufferevent's callback argument): each is counted when
 * accepted and the open gauge returns to 0 once the clients hang up. */
static void
test_connections_tracked(void **state)
{
    struct apitest_server *f = *state;
    struct timeval tv = { 0, 200000 };
    int code;

    for (int i = 0; i < 3; i++) {
        free(http_get(f, "/health", &code));
        assert_int_equal(code, 200);
    }
    assert_int_equal(f->stats.http_connections, 3);
    event_base_loopexit(f->base, &tv);      /* the server sees the EOFs */
    event_base_dispatch(f->base);
    assert_int_equal(f->stats.http_connections_open, 0);
    assert_int_equal(f->stats.http_connections_refused, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logs_regex_aborted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_logs_fixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logs_regex_fine, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_logs_regex_aborted_with_cap,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_regex_aborted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connections_tracked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_count_from_index, setup_counted,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
