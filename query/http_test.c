/* SPDX-License-Identifier: MIT */
/*
 * http_test: response framing: chunked (with extensions, trailers, split at
 * every byte), Content-Length, read-until-close, 1xx interim heads, status
 * handling, and every malformed case: bad status line, bad chunk size, a
 * missing CRLF after chunk data, oversized head and framing lines, a
 * connection closed in the head or mid-body, callbacks that stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/http.h"

struct got {
    struct buf body;
    int        status;
    int        n_heads;
    int        stop_head;
    size_t     stop_body_after;     /* 0: never */
};

static int
head_cb(int status, void *arg)
{
    struct got *g = arg;

    g->status = status;
    g->n_heads++;
    return g->stop_head ? -1 : 0;
}

static int
body_cb(const char *p, size_t n, void *arg)
{
    struct got *g = arg;

    assert_int_equal(buf_append(&g->body, p, n), 0);
    if (g->stop_body_after && g->body.len >= g->stop_body_after)
        return -1;
    return 0;
}

/* Feeds in pieces of step bytes; returns the feed result. */
static int
feed_steps(struct http_resp *r, const char *in, size_t n, size_t step)
{
    for (size_t i = 0; i < n; i += step) {
        size_t k = n - i < step ? n - i : step;
        if (http_resp_feed(r, in + i, k) < 0)
            return -1;
    }
    return 0;
}

static void
run_ok(const char *in, int status, const char *body, int is_eof_needed)
{
    for (size_t step = 1; step <= strlen(in); step++) {
        struct http_resp r;
        struct got g;
        memset(&g, 0, sizeof(g));
        buf_init(&g.body, 1 << 20);
        http_resp_init(&r, head_cb, body_cb, &g);
        assert_int_equal(feed_steps(&r, in, strlen(in), step), 0);
        assert_int_equal(http_resp_is_done(&r), !is_eof_needed);
        assert_int_equal(http_resp_eof(&r), 0);
        assert_true(http_resp_is_done(&r));
        assert_int_equal(g.status, status);
        assert_int_equal(g.n_heads, 1);
        assert_int_equal(g.body.len, strlen(body));
        assert_memory_equal(g.body.data, body, g.body.len);
        http_resp_fini(&r);
        buf_fini(&g.body);
    }
}

static const char *
run_bad(const char *in, int use_eof)
{
    static char why[128];
    struct http_resp r;
    struct got g;

    memset(&g, 0, sizeof(g));
    buf_init(&g.body, 1 << 20);
    http_resp_init(&r, head_cb, body_cb, &g);
    int rc = http_resp_feed(&r, in, strlen(in));
    if (rc == 0 && use_eof)
        rc = http_resp_eof(&r);
    assert_int_equal(rc, -1);
    assert_non_null(r.errstr);
    snprintf(why, sizeof(why), "%s", r.errstr);
    /* refuses further work */
    assert_int_equal(http_resp_feed(&r, "x", 1), -1);
    http_resp_fini(&r);
    buf_fini(&g.body);
    return why;
}

static void
test_http_chunked(void **state)
{
    (void)state;
    run_ok("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
           "Transfer-Encoding: chunked\r\n\r\n"
           "5\r\n{\"a\":\r\n3;ext=1\r\n1}\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
           200, "{\"a\":1}\n0123456789", 0);
}

static void
test_http_chunked_trailers_and_lf_only(void **state)
{
    (void)state;
    run_ok("HTTP/1.1 200 OK\ntransfer-encoding: Chunked\n\n"
           "2\nhi\n0\nX-Trailer: 1\n\n", 200, "hi", 0);
}

static void
test_http_content_length(void **state)
{
    (void)state;
    run_ok("HTTP/1.0 404 Not Found\r\nContent-Length: 22\r\n\r\n"
           "{\"error\":\"not found\"}\n", 404,
           "{\"error\":\"not found\"}\n", 0);
    run_ok("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, "", 0);
    run_ok("HTTP/1.1 204 No Content\r\n\r\n", 204, "", 0);
}

static void
test_http_until_close(void **state)
{
    (void)state;
    run_ok("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nline1\nline2\n",
           200, "line1\nline2\n", 1);
}

static void
test_http_interim_100(void **state)
{
    (void)state;
    run_ok("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
           "Content-Length: 2\r\n\r\nok", 200, "ok", 0);
}

static void
test_http_bytes_after_end_ignored(void **state)
{
    (void)state;
    run_ok("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", 200, "ok",
           0);
}

static void
test_http_bad_status(void **state)
{
    (void)state;
    assert_string_equal(run_bad("FTP/1.1 200 OK\r\n\r\n", 0),
                        "bad status line");
    assert_string_equal(run_bad("HTTP/1.1 2x0 OK\r\n\r\n", 0),
                        "bad status code");
    assert_string_equal(run_bad("HTTP/1.1 2000 OK\r\n\r\n", 0),
                        "bad status code");
    assert_string_equal(run_bad("HTTP/1.1 099 X\r\n\r\n", 0),
                        "bad status code");
    assert_string_equal(run_bad("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", 0),
                        "bad header line");
    assert_string_equal(run_bad("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n"
                                "\r\n", 0), "bad Content-Length");
    assert_string_equal(run_bad("HTTP/1.1 200 OK\r\nContent-Length: "
                                "99999999999999999999999\r\n\r\n", 0),
                        "bad Content-Length");
    assert_string_equal(run_bad("\r\n\r\n", 0), "empty response head");
}

static void
test_http_bad_chunks(void **state)
{
    const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    char in[512];

    (void)state;
    snprintf(in, sizeof(in), "%szz\r\n", h);
    assert_string_equal(run_bad(in, 0), "bad chunk size");
    snprintf(in, sizeof(in), "%s\r\n", h);
    assert_string_equal(run_bad(in, 0), "bad chunk size");
    snprintf(in, sizeof(in), "%s3x\r\n", h);
    assert_string_equal(run_bad(in, 0), "bad chunk size");
    snprintf(in, sizeof(in), "%s2\r\nabc\r\n", h);
    assert_string_equal(run_bad(in, 0), "missing CRLF after chunk");
    snprintf(in, sizeof(in), "%s11111111111111111\r\n", h);
    assert_string_equal(run_bad(in, 0), "chunk size too large");
}

static void
test_http_framing_line_cap(void **state)
{
    struct buf in;

    (void)state;
    buf_init(&in, 1 << 20);
    const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1";
    assert_int_equal(buf_append(&in, h, strlen(h)), 0);
    for (unsigned i = 0; i < HTTP_MAX_LINE; i++)
        assert_int_equal(buf_append(&in, ";", 1), 0);
    assert_int_equal(buf_append(&in, "", 1), 0);
    assert_string_equal(run_bad((const char *)in.data, 0),
                        "chunk framing line too long");
    buf_fini(&in);
}

static void
test_http_head_cap(void **state)
{
    struct buf in;

    (void)state;
    buf_init(&in, 1 << 20);
    const char *h = "HTTP/1.1 200 OK\r\n";
    assert_int_equal(buf_append(&in, h, strlen(h)), 0);
    while (in.len < HTTP_MAX_HEAD + 10)
        assert_int_equal(buf_append(&in, "X-A: b\r\n", 8), 0);
    assert_int_equal(buf_append(&in, "", 1), 0);
    assert_string_equal(run_bad((const char *)in.data, 0),
                        "response head too large");
    buf_fini(&in);
}

static void
test_http_eof_early(void **state)
{
    (void)state;
    assert_string_equal(run_bad("HTTP/1.1 200 OK\r\nContent-", 1),
                        "connection closed before the response head");
    assert_string_equal(run_bad("", 1),
                        "connection closed before the response head");
    assert_string_equal(run_bad("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
                                "abc", 1),
                        "connection closed in the middle of the response");
    assert_string_equal(run_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                "chunked\r\n\r\n5\r\nab", 1),
                        "connection closed in the middle of the response");
    assert_string_equal(run_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                "chunked\r\n\r\n2\r\nab\r\n", 1),
                        "connection closed in the middle of the response");
}

static void
test_http_callbacks_stop(void **state)
{
    struct http_resp r;
    struct got g;
    const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";

    (void)state;
    memset(&g, 0, sizeof(g));
    buf_init(&g.body, 1 << 20);
    g.stop_head = 1;
    http_resp_init(&r, head_cb, body_cb, &g);
    assert_int_equal(http_resp_feed(&r, in, strlen(in)), -1);
    assert_null(r.errstr);
    assert_int_equal(g.body.len, 0);
    http_resp_fini(&r);

    g.stop_head = 0;
    g.stop_body_after = 1;
    http_resp_init(&r, NULL, body_cb, &g);
    assert_int_equal(http_resp_feed(&r, in, strlen(in)), -1);
    assert_null(r.errstr);
    assert_int_equal(g.body.len, 10);
    http_resp_fini(&r);
    buf_fini(&g.body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_chunked),
        cmocka_unit_test(test_http_chunked_trailers_and_lf_only),
        cmocka_unit_test(test_http_content_length),
        cmocka_unit_test(test_http_until_close),
        cmocka_unit_test(test_http_interim_100),
        cmocka_unit_test(test_http_bytes_after_end_ignored),
        cmocka_unit_test(test_http_bad_status),
        cmocka_unit_test(test_http_bad_chunks),
        cmocka_unit_test(test_http_framing_line_cap),
        cmocka_unit_test(test_http_head_cap),
        cmocka_unit_test(test_http_eof_early),
        cmocka_unit_test(test_http_callbacks_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
