/* SPDX-License-Identifier: MIT */
/*
 * apitest: HTTP clients for the cmocka tests of the collector's API
 * (collector/api/api_*_test.c), which serve on 127.0.0.1 from the test's
 * own event loop: an evhttp request run on that loop until its reply (10 s
 * at most), the same with the reply checked, the loop run for a while, and
 * a raw socket client (to leave mid-request). Test-only: fails the test
 * (cmocka) on a request that cannot be made or gets no reply.
 */
#ifndef TESTS_SUPPORT_APITEST_H
#define TESTS_SUPPORT_APITEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "common/xmalloc.h"

struct apitest_reply {
    struct event_base *base;
    int                code;
    char              *body;
    char              *retry_after;
};

static inline void
apitest_reply_cb(struct evhttp_request *req, void *arg)
{
    struct apitest_reply *r = arg;

    if (req != NULL) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        const char *ra = evhttp_find_header(
            evhttp_request_get_input_headers(req), "Retry-After");
        r->code = evhttp_request_get_response_code(req);
        r->body = xmalloc(len + 1);
        evbuffer_remove(in, r->body, len);
        r->body[len] = '\0';
        r->retry_after = ra != NULL ? xstrdup(ra) : NULL;
    }
    event_base_loopbreak(r->base);
}

static inline void
apitest_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* GET path (a POST of body when not NULL) from 127.0.0.1:port, run on
 * base until the reply (10 s at most: a timer of its own, gone after). Returns its body (caller frees), *code its status
 * and, when retry_after is not NULL, *retry_after a copy of that header
 * (NULL: none; caller frees). */
static inline char *
apitest_http(struct event_base *base, int port, const char *path,
             const char *body, int *code, char **retry_after)
{
    struct apitest_reply r = { .base = base, .code = -1 };
    struct evhttp_connection *c =
        evhttp_connection_base_new(base, NULL, "127.0.0.1", (uint16_t)port);
    struct evhttp_request *req = evhttp_request_new(apitest_reply_cb, &r);
    struct event *to = evtimer_new(base, apitest_timeout_cb, base);
    struct timeval tmo = { 10, 0 };

    assert_non_null(to);
    assert_non_null(c);
    assert_non_null(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
                      "127.0.0.1");
    if (body != NULL)
        evbuffer_add(evhttp_request_get_output_buffer(req), body,
                     strlen(body));
    assert_int_equal(evhttp_make_request(c, req, body != NULL
                                                 ? EVHTTP_REQ_POST
                                                 : EVHTTP_REQ_GET, path), 0);
    evtimer_add(to, &tmo);
    event_base_dispatch(base);
    event_free(to);
    evhttp_connection_free(c);
    if (r.body == NULL)
        fail_msg("%s: no reply in 10 s", path);
    *code = r.code;
    if (retry_after != NULL)
        *retry_after = r.retry_after;
    else
        free(r.retry_after);
    return r.body;
}

/* apitest_http expecting want_code and a body that holds want (both
 * printed when not). */
static inline void
apitest_expect(struct event_base *base, int port, const char *path,
               const char *post, int want_code, const char *want)
{
    int code;
    char *body = apitest_http(base, port, path, post, &code, NULL);
    int is_ok = code == want_code && strstr(body, want) != NULL;

    if (!is_ok)
        print_error("%s: %d %s (wanted %d with '%s')\n", path, code, body,
                    want_code, want);
    free(body);
    assert_true(is_ok);
}

/* Runs base for about ms milliseconds. */
static inline void
apitest_run_loop(struct event_base *base, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* A raw client of 127.0.0.1:port that sent GET path (a POST of body when
 * not NULL; nothing when path is NULL: the caller writes), its receive
 * buffer set to rcvbuf bytes before it connects, so that the kernel does
 * not grow it (0: the kernel's). Returns its socket. */
static inline int
apitest_raw_rcvbuf(int port, const char *path, const char *body, int rcvbuf)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    if (rcvbuf > 0)
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
                                    sizeof(rcvbuf)), 0);
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (path == NULL)
        return fd;
    char *req = body == NULL
        ? xasprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path)
        : xasprintf("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Length: %zu\r\n\r\n%s", path, strlen(body),
                    body);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    free(req);
    return fd;
}

/* apitest_raw_rcvbuf with the kernel's receive buffer. */
static inline int
apitest_raw(int port, const char *path, const char *body)
{
    return apitest_raw_rcvbuf(port, path, body, 0);
}

#endif
