/* SPDX-License-Identifier: MIT */
/*
 * client_test: client_get against a scripted one-connection server thread
 * on 127.0.0.1: the request line and Host header (with URL prefix), a
 * chunked 200 body written in small pieces, a 4xx with the server's error
 * text, connection refused, a peer that closes mid-body, malformed HTTP, a
 * read idle timeout, a callback that stops, and a pre-set stop flag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/client.h"
#include "query/url.h"
#include "tests/support/loopsrv.h"

struct fake {
    struct loopsrv srv;
    const char  *pieces[8];     /* written one send() each */
    int          hold_ms;       /* then wait for the client to close (at
                                   most hold_ms) before closing */
    char         request[2048];
};

/* Reads (and drops) what comes on fd until the peer closes it, ms at
 * most between two reads. */
static void
wait_hangup(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char tmp[256];

    while (poll(&p, 1, ms) == 1 && recv(fd, tmp, sizeof(tmp), 0) > 0)
        ;
}

static void *
fake_run(void *arg)
{
    struct fake *f = arg;
    int fd = accept(f->srv.lfd, NULL, NULL);
    size_t n = 0;

    if (fd < 0)
        return NULL;
    while (n + 1 < sizeof(f->request) && !strstr(f->request, "\r\n\r\n")) {
        ssize_t r = recv(fd, f->request + n, sizeof(f->request) - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        f->request[n] = '\0';
    }
    for (int i = 0; i < 8 && f->pieces[i] != NULL; i++) {
        if (send(fd, f->pieces[i], strlen(f->pieces[i]), MSG_NOSIGNAL) < 0)
            break;
        usleep(2000);   /* separate reads on the client side */
    }
    if (f->hold_ms > 0)
        wait_hangup(fd, f->hold_ms);
    close(fd);
    return NULL;
}

struct sink {
    struct buf body;
    int        n_calls;
    int        stop_at_call;    /* 0: never */
    int        head_status;
};

static int
sink_body(const char *p, size_t n, void *arg)
{
    struct sink *s = arg;

    assert_int_equal(buf_append(&s->body, p, n), 0);
    return ++s->n_calls == s->stop_at_call ? -1 : 0;
}

static int
sink_head(int status, void *arg)
{
    ((struct sink *)arg)->head_status = status;
    return 0;
}

static enum client_result
run(struct fake *f, const char *prefix, int idle_ms, struct sink *s,
    volatile sig_atomic_t *stop, int *status, char *err, size_t errlen)
{
    char server[64];
    struct url u;

    if (f != NULL)
        loopsrv_start(&f->srv, fake_run, f);
    snprintf(server, sizeof(server), "http://127.0.0.1:%u%s",
             f ? f->srv.port : 1u, prefix);
    assert_int_equal(url_parse(server, &u, err, errlen), 0);
    struct client_req req = {
        .url = &u, .target = "/api/v1/logs?q=a%20b",
        .idle_timeout_ms = idle_ms, .head_fn = sink_head,
        .body_fn = sink_body, .arg = s, .stop = stop,
    };
    buf_init(&s->body, 1 << 20);
    enum client_result res = client_get(&req, status, err, errlen);
    if (f != NULL)
        loopsrv_stop(&f->srv);
    url_fini(&u);
    return res;
}

#define HEAD_CHUNKED "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson" \
                     "\r\nTransfer-Encoding: chunked\r\n\r\n"

static void
test_client_chunked_stream(void **state)
{
    struct fake f = { .pieces = { HEAD_CHUNKED "4\r\n{\"a\"", "\r\n3\r\n:1}",
                                  "\r\n1\r\n\n\r\n", "0\r\n\r\n" } };
    struct sink s = { .n_calls = 0 };
    char err[256] = "";
    int status = -1;

    (void)state;
    assert_int_equal(run(&f, "/pfx", 5000, &s, NULL, &status, err,
                         sizeof(err)), CLIENT_OK);
    assert_int_equal(status, 200);
    assert_int_equal(s.head_status, 200);
    assert_int_equal(s.body.len, 8);
    assert_memory_equal(s.body.data, "{\"a\":1}\n", 8);
    assert_true(s.n_calls >= 2);        /* delivered as it arrived */
    assert_non_null(strstr(f.request,
                           "GET /pfx/api/v1/logs?q=a%20b HTTP/1.1\r\n"));
    char host[64];
    snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%u\r\n", f.srv.port);
    assert_non_null(strstr(f.request, host));
    buf_fini(&s.body);
}

static void
test_client_http_error(void **state)
{
    struct fake f = { .pieces = { "HTTP/1.1 400 Bad Request\r\nContent-Length:"
                                  " 30\r\n\r\n{\"error\":",
                                  "\"unknown parameter\"}",
                                  "\n" } };
    struct sink s = { .n_calls = 0 };
    char err[256] = "";
    int status = -1;

    (void)state;
    assert_int_equal(run(&f, "", 5000, &s, NULL, &status, err, sizeof(err)),
                     CLIENT_E_HTTP);
    assert_int_equal(status, 400);
    assert_string_equal(err, "unknown parameter");
    assert_int_equal(s.n_calls, 0);     /* error bodies are not passed on */
    assert_int_equal(s.head_status, 0);
    buf_fini(&s.body);
}

static void
test_client_connection_refused(void **state)
{
    struct fake f;
    struct sink s = { .n_calls = 0 };
    char err[256] = "";
    char server[64];
    struct url u;

    (void)state;
    /* a port that was free a moment ago and has no listener now */
    loopsrv_start(&f.srv, fake_run, &f);
    pthread_cancel(f.srv.thread);
    loopsrv_stop(&f.srv);
    snprintf(server, sizeof(server), "http://127.0.0.1:%u", f.srv.port);
    assert_int_equal(url_parse(server, &u, err, sizeof(err)), 0);
    struct client_req req = { .url = &u, .target = "/health",
                              .body_fn = sink_body, .arg = &s };
    assert_int_equal(client_get(&req, NULL, err, sizeof(err)),
                     CLIENT_E_CONNECT);
    assert_string_equal(err, "Connection refused");
    url_fini(&u);
}

static void
test_client_unresolvable(void **state)
{
    struct sink s = { .n_calls = 0 };
    char err[256] = "";
    struct url u;

    (void)state;
    assert_int_equal(url_parse("http://no-such-host.invalid:1", &u, err,
                               sizeof(err)), 0);
    struct client_req req = { .url = &u, .target = "/health",
                              .body_fn = sink_body, .arg = &s };
    assert_int_equal(client_get(&req, NULL, err, sizeof(err)),
                     CLIENT_E_CONNECT);
    assert_true(err[0] != '\0');
    url_fini(&u);
}

static void
test_client_closed_mid_body(void **state)
{
    struct fake f = { .pieces = { HEAD_CHUNKED "10\r\nonly-part" } };
    struct sink s = { .n_calls = 0 };
    char err[256] = "";

    (void)state;
    assert_int_equal(run(&f, "", 5000, &s, NULL, NULL, err, sizeof(err)),
                     CLIENT_E_LOST);
    assert_string_equal(err, "connection closed in the middle of the "
                        "response");
    assert_int_equal(s.body.len, 9);
    buf_fini(&s.body);
}

/* A 404 names the status and the URL (prefix and path, not the query);
 * a reply in the shipper protocol ("LQ") names the shipper port. */
static void
test_client_not_found_and_shipper_port(void **state)
{
    struct fake f = { .pieces = { "HTTP/1.1 404 Not Found\r\nContent-Length:"
                                  " 28\r\n\r\n{\"error\":\"no such resource\"}" } };
    struct fake g = { .pieces = { "LQ\001\002garbage" } };
    struct sink s = { .n_calls = 0 };
    char err[512] = "", want[512];

    (void)state;
    assert_int_equal(run(&f, "/logs", 5000, &s, NULL, NULL, err,
                         sizeof(err)), CLIENT_E_HTTP);
    snprintf(want, sizeof(want), "no such resource (404 Not Found: "
             "http://127.0.0.1:%u/logs/api/v1/logs; check the path of "
             "--server)", f.srv.port);
    assert_string_equal(err, want);
    buf_fini(&s.body);
    assert_int_equal(run(&g, "", 5000, &s, NULL, NULL, err, sizeof(err)),
                     CLIENT_E_PROTO);
    snprintf(want, sizeof(want), "port %u answers in the shipper protocol: "
             "it is the collector's shipper port (--listen); logq needs its "
             "HTTP API port (--http, default 7080)", g.srv.port);
    assert_string_equal(err, want);
    buf_fini(&s.body);
}

static void
test_client_malformed(void **state)
{
    struct fake f = { .pieces = { "SSH-2.0-OpenSSH\r\n\r\n" } };
    struct sink s = { .n_calls = 0 };
    char err[256] = "";

    (void)state;
    assert_int_equal(run(&f, "", 5000, &s, NULL, NULL, err, sizeof(err)),
                     CLIENT_E_PROTO);
    assert_string_equal(err, "bad status line");
    buf_fini(&s.body);
}

static void
test_client_idle_timeout(void **state)
{
    /* the server closes only after the client gave up (30 s at most),
     * however late the client's thread runs: no close can come first */
    struct fake f = { .pieces = { HEAD_CHUNKED "2\r\nok\r\n" },
                      .hold_ms = 30000 };
    struct sink s = { .n_calls = 0 };
    char err[256] = "";

    (void)state;
    assert_int_equal(run(&f, "", 100, &s, NULL, NULL, err, sizeof(err)),
                     CLIENT_E_LOST);
    assert_string_equal(err, "no data for 0.1 s (read timed out)");
    assert_int_equal(s.body.len, 2);
    buf_fini(&s.body);
}

static void
test_client_callback_stops(void **state)
{
    struct fake f = { .pieces = { HEAD_CHUNKED "2\r\nok\r\n", "2\r\nno\r\n",
                                  "0\r\n\r\n" } };
    struct sink s = { .stop_at_call = 1 };
    char err[256] = "";

    (void)state;
    assert_int_equal(run(&f, "", 5000, &s, NULL, NULL, err, sizeof(err)),
                     CLIENT_E_STOPPED);
    assert_int_equal(s.body.len, 2);
    buf_fini(&s.body);
}

static void
test_client_stop_flag(void **state)
{
    struct fake f = { .pieces = { HEAD_CHUNKED } };
    struct sink s = { .n_calls = 0 };
    volatile sig_atomic_t stop = 1;
    char err[256] = "";

    (void)state;
    assert_int_equal(run(&f, "", 5000, &s, &stop, NULL, err, sizeof(err)),
                     CLIENT_E_STOPPED);
    assert_int_equal(s.n_calls, 0);
    buf_fini(&s.body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_chunked_stream),
        cmocka_unit_test(test_client_http_error),
        cmocka_unit_test(test_client_connection_refused),
        cmocka_unit_test(test_client_unresolvable),
        cmocka_unit_test(test_client_closed_mid_body),
        cmocka_unit_test(test_client_malformed),
        cmocka_unit_test(test_client_not_found_and_shipper_port),
        cmocka_unit_test(test_client_idle_timeout),
        cmocka_unit_test(test_client_callback_stops),
        cmocka_unit_test(test_client_stop_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
