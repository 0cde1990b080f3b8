/* SPDX-License-Identifier: MIT */
/*
 * reply_test: record lines from the collector (valid, defaults, trailing
 * newline, NUL inside the message, every missing/mistyped field, bad time
 * and stream, non-JSON), host/container arrays and their JSON re-emission,
 * and error bodies (JSON, plain text, empty, control bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/reply.h"

#define LINE(extra) "{\"time\":\"2026-11-27T13:50:40.123456789Z\"," \
    "\"host\":\"node1\",\"container\":\"web\",\"container_id\":\"c1\"," \
    "\"image\":\"busybox\",\"stream\":\"stderr\",\"message\":\"GET / 200\"" \
    extra "}"

static void
test_reply_record_ok(void **state)
{
    struct reply_record rr;
    char err[256];
    const char *l = LINE(",\"extra\":1");

    (void)state;
    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     0);
    assert_int_equal(rr.rec.time_ns, 1795787440LL * 1000000000LL + 123456789);
    assert_string_equal(rr.rec.host, "node1");
    assert_string_equal(rr.rec.container, "web");
    assert_string_equal(rr.rec.container_id, "c1");
    assert_string_equal(rr.rec.image, "busybox");
    assert_int_equal(rr.rec.stream, LOGREC_STDERR);
    assert_int_equal(rr.rec.msg_len, 9);
    assert_memory_equal(rr.rec.msg, "GET / 200", 9);
    reply_record_fini(&rr);
}

static void
test_reply_record_defaults_newline_nul(void **state)
{
    struct reply_record rr;
    char err[256];
    const char *l = "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"h\","
                    "\"container\":\"c\",\"stream\":\"stdout\","
                    "\"message\":\"a\\u0000b\\n\"}";

    (void)state;
    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     0);
    assert_string_equal(rr.rec.container_id, "");
    assert_string_equal(rr.rec.image, "");
    assert_int_equal(rr.rec.stream, LOGREC_STDOUT);
    assert_int_equal(rr.rec.msg_len, 3);
    assert_memory_equal(rr.rec.msg, "a\0b", 3);
    reply_record_fini(&rr);
}

static void
expect_bad_record(const char *l, const char *want)
{
    struct reply_record rr;
    char err[256] = "";

    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     -1);
    if (strstr(err, want) == NULL)
        fail_msg("'%s' does not contain '%s'", err, want);
}

static void
test_reply_record_bad(void **state)
{
    (void)state;
    expect_bad_record("", "invalid JSON");
    expect_bad_record("not json", "invalid JSON");
    expect_bad_record(LINE("") "x", "invalid JSON");
    expect_bad_record("[1]", "expected a JSON object");
    expect_bad_record("{\"host\":\"h\"}", "\"time\"");
    expect_bad_record("{\"time\":\"yesterday\",\"host\":\"h\",\"container\":"
                      "\"c\",\"stream\":\"stdout\",\"message\":\"m\"}",
                      "\"time\"");
    expect_bad_record("{\"time\":\"yesterday\",\"host\":\"h\",\"container\":"
                      "\"c\",\"container_id\":\"\",\"image\":\"\","
                      "\"stream\":\"stdout\",\"message\":\"m\"}", "\"time\"");
    expect_bad_record("{\"time\":\"2026-11-27T13:50:40Z\",\"host\":1,"
                      "\"container\":\"c\",\"stream\":\"stdout\","
                      "\"message\":\"m\"}", "\"host\"");
    expect_bad_record("{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"h\","
                      "\"container\":\"c\",\"stream\":\"both\","
                      "\"message\":\"m\"}", "\"stream\"");
    expect_bad_record("{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"h\","
                      "\"container\":\"c\",\"stream\":\"stdout\"}",
                      "\"message\"");
    expect_bad_record("{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"a\\u0000"
                      "b\",\"container\":\"c\",\"stream\":\"stdout\","
                      "\"message\":\"m\"}", "\"host\"");
    expect_bad_record("{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"h\","
                      "\"container\":\"c\",\"image\":null,\"stream\":"
                      "\"stdout\",\"message\":\"m\"}", "\"image\"");
}

static void
test_reply_record_bad_time(void **state)
{
    struct reply_record rr;
    char err[256] = "";
    const char *l = "{\"time\":\"2026-11-27 13:50:40\",\"host\":\"h\","
                    "\"container\":\"c\",\"stream\":\"stdout\","
                    "\"message\":\"m\"}";

    (void)state;
    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "bad or missing field \"time\"");
}

static void
test_reply_hosts(void **state)
{
    struct reply_list l;
    struct buf b;
    char err[256];
    const char *body = "[{\"host\":\"node1\",\"containers\":3,\"lines\":12345,"
                       "\"last_seen\":\"2026-11-27T13:50:40Z\"},"
                       "{\"host\":\"node2\",\"containers\":0,\"lines\":0,"
                       "\"last_seen\":\"garbage\"}]";

    (void)state;
    assert_int_equal(reply_list_parse(body, strlen(body), &l, err,
                                      sizeof(err)), 0);
    assert_int_equal(l.n_items, 2);
    assert_string_equal(l.items[0].host, "node1");
    assert_int_equal(l.items[0].n_containers, 3);
    assert_int_equal(l.items[0].n_lines, 12345);
    assert_int_equal(l.items[0].last_seen_ns, 1795787440LL * 1000000000LL);
    assert_string_equal(l.items[0].container, "");
    assert_int_equal(l.items[1].last_seen_ns, -1);
    buf_init(&b, 4096);
    assert_int_equal(reply_list_item_json(&l, 0, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
                        "{\"host\":\"node1\",\"containers\":3,\"lines\":12345,"
                        "\"last_seen\":\"2026-11-27T13:50:40Z\"}\n");
    assert_int_equal(reply_list_item_json(&l, 5, &b), -1);
    buf_fini(&b);
    reply_list_fini(&l);
    reply_list_fini(&l);    /* idempotent */
}

static void
test_reply_containers_and_bad_lists(void **state)
{
    struct reply_list l;
    char err[256] = "";
    const char *body = "[{\"host\":\"n\",\"container\":\"web\",\"container_id"
                       "\":\"0123456789abcdef\",\"image\":\"nginx\",\"lines\":"
                       "7,\"first_seen\":\"x\",\"last_seen\":\"y\"}]";

    (void)state;
    assert_int_equal(reply_list_parse(body, strlen(body), &l, err,
                                      sizeof(err)), 0);
    assert_string_equal(l.items[0].container, "web");
    assert_string_equal(l.items[0].image, "nginx");
    assert_int_equal(l.items[0].n_containers, -1);
    assert_int_equal(l.items[0].n_lines, 7);
    reply_list_fini(&l);
    assert_int_equal(reply_list_parse("[]", 2, &l, err, sizeof(err)), 0);
    assert_int_equal(l.n_items, 0);
    reply_list_fini(&l);
    assert_int_equal(reply_list_parse("{}", 2, &l, err, sizeof(err)), -1);
    assert_string_equal(err, "expected a JSON array");
    assert_int_equal(reply_list_parse("[1]", 3, &l, err, sizeof(err)), -1);
    assert_string_equal(err, "bad entry 0 in reply");
    assert_int_equal(reply_list_parse("[{\"lines\":1}]", 13, &l, err,
                                      sizeof(err)), -1);
    assert_int_equal(reply_list_parse("[", 1, &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid JSON"));
}

static void
test_reply_errors(void **state)
{
    char err[256];
    const char *j = "{\"error\":\"bad regex: unmatched (\"}";

    (void)state;
    reply_error_parse(j, strlen(j), 400, err, sizeof(err));
    assert_string_equal(err, "bad regex: unmatched (");
    reply_error_parse("Not Found\r\nmore", 16, 404, err, sizeof(err));
    assert_string_equal(err, "HTTP 404: Not Found");
    reply_error_parse("", 0, 500, err, sizeof(err));
    assert_string_equal(err, "HTTP 500");
    reply_error_parse(NULL, 0, 502, err, sizeof(err));
    assert_string_equal(err, "HTTP 502");
    reply_error_parse("{\"error\":5}", 11, 400, err, sizeof(err));
    assert_string_equal(err, "HTTP 400: {\"error\":5}");
    reply_error_parse("a\x1b[2Jb", 6, 503, err, sizeof(err));
    assert_string_equal(err, "HTTP 503: a?[2Jb");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_record_ok),
        cmocka_unit_test(test_reply_record_defaults_newline_nul),
        cmocka_unit_test(test_reply_record_bad),
        cmocka_unit_test(test_reply_record_bad_time),
        cmocka_unit_test(test_reply_hosts),
        cmocka_unit_test(test_reply_containers_and_bad_lists),
        cmocka_unit_test(test_reply_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
