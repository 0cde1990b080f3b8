/* SPDX-License-Identifier: MIT */
/*
 * client: see client.h. A blocking socket with poll() timeouts rather than
 * libevent's evhttp client: logq does one request at a time, and a direct
 * connect() gives the precise reason ("Connection refused") the user needs,
 * a connect timeout independent of the follow idle timeout, and a signal
 * check that cannot race (ppoll). HTTP framing lives in http.c.
 */
#include "query/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/reply.h"

struct client_call {
    const struct client_req *req;
    int          status;
    struct buf   error_body;    /* non-200 body, capped */
};

/* ------------------------------------------------------------ waiting */

/* Waits for events on fd: 1 ready, 0 timeout, -1 error (errno), -2 when
 * *req->stop is set. */
static int
client_wait(const struct client_req *req, int fd, short events, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = events, .revents = 0 };
    struct timespec ts, *tsp = NULL;

    if (ms > 0) {
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (long)(ms % 1000) * 1000000L;
        tsp = &ts;
    }
    for (;;) {
        if (req->stop != NULL && *req->stop)
            return -2;
        int rc = ppoll(&pfd, 1, tsp, req->wait_mask);
        if (rc >= 0)
            return rc;
        if (errno != EINTR)
            return -1;
    }
}

/* ------------------------------------------------------------ connecting */

static int
client_connect_one(const struct client_req *req, const struct addrinfo *ai,
                   int ms, const char **why)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
                    SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        *why = strerror(errno);
        goto fail;
    }
    int rc = client_wait(req, fd, POLLOUT, ms);
    if (rc == -2) {
        *why = "interrupted";
        goto fail;
    }
    if (rc <= 0) {
        *why = rc == 0 ? "connection timed out" : strerror(errno);
        goto fail;
    }
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr != 0) {
        *why = strerror(soerr);
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

static int
client_connect(const struct client_req *req, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char port[8];

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%u", (unsigned)req->url->port);
    int gai = getaddrinfo(req->url->host, port, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "%s", gai_strerror(gai));
        return -1;
    }
    int64_t deadline = mono_ns() + CLIENT_CONNECT_TIMEOUT_MS * 1000000LL;
    const char *why = "no address";
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        int64_t left_ms = (deadline - mono_ns()) / 1000000;
        if (left_ms <= 0) {
            why = "connection timed out";
            break;
        }
        fd = client_connect_one(req, ai, (int)left_ms, &why);
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "%s", why);
    return fd;
}

/* ------------------------------------------------------------ I/O */

static int
client_send_all(const struct client_req *req, int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (client_wait(req, fd, POLLOUT, CLIENT_CONNECT_TIMEOUT_MS) <= 0)
            return -1;
    }
    return 0;
}

static int
client_head_cb(int status, void *arg)
{
    struct client_call *call = arg;

    call->status = status;
    if (status != 200 || call->req->head_fn == NULL)
        return 0;
    return call->req->head_fn(status, call->req->arg);
}

static int
client_body_cb(const char *p, size_t n, void *arg)
{
    struct client_call *call = arg;

    if (call->status == 200)
        return call->req->body_fn(p, n, call->req->arg);
    size_t room = call->error_body.max - call->error_body.len;
    return buf_append(&call->error_body, p, n < room ? n : room) < 0 ? -1 : 0;
}

/* Reads until the response ends. */
static enum client_result
client_read_loop(const struct client_req *req, int fd, struct http_resp *resp,
                 char *err, size_t errlen)
{
    char data[65536];

    while (!http_resp_is_done(resp)) {
        int rc = client_wait(req, fd, POLLIN, req->idle_timeout_ms);
        if (rc == -2)
            return CLIENT_E_STOPPED;
        if (rc <= 0) {
            snprintf(err, errlen, "%s", rc == 0 ? "no data (read timed out)"
                     : strerror(errno));
            return CLIENT_E_LOST;
        }
        ssize_t r = recv(fd, data, sizeof(data), 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            return CLIENT_E_LOST;
        }
        int frc = r == 0 ? http_resp_eof(resp)
                         : http_resp_feed(resp, data, (size_t)r);
        if (frc < 0 && resp->errstr == NULL)
            return CLIENT_E_STOPPED;
        if (frc < 0) {
            snprintf(err, errlen, "%s", resp->errstr);
            return r == 0 ? CLIENT_E_LOST : CLIENT_E_PROTO;
        }
    }
    return CLIENT_OK;
}

static int
client_request_format(const struct client_req *req, struct buf *out)
{
    const struct url *u = req->url;
    const char *lb = strchr(u->host, ':') ? "[" : "";
    const char *rb = *lb ? "]" : "";
    /* the token was checked to be visible ASCII (cmd.c): no CR/LF */
    char *head = xasprintf(
                     "GET %s%s HTTP/1.1\r\nHost: %s%s%s:%u\r\n"
                     "User-Agent: logq/0.1\r\nAccept: application/json, "
                     "application/x-ndjson\r\n%s%s%sConnection: close\r\n"
                     "\r\n", u->prefix, req->target, lb, u->host, rb,
                     (unsigned)u->port,
                     u->token ? "Authorization: Bearer " : "",
                     u->token ? u->token : "", u->token ? "\r\n" : "");
    size_t len = strlen(head);
    int rc = buf_append(out, head, len);
    explicit_bzero(head, len);
    free(head);
    return rc;
}

/* A 401 says what to do about it. */
static void
client_unauthorized(const struct url *u, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s (401): %s", u->token
             ? "the collector refused the token"
             : "the collector asks for a token",
             u->token ? "check $LOGQ_TOKEN or --token-file"
                      : "set $LOGQ_TOKEN or use --token-file FILE");
}

/* ------------------------------------------------------------ public API */

enum client_result
client_get(const struct client_req *req, int *status, char *err,
           size_t errlen)
{
    struct client_call call = { .req = req, .status = 0 };
    struct http_resp resp;
    struct buf reqbuf;
    enum client_result res = CLIENT_E_CONNECT;

    buf_init(&call.error_body, CLIENT_ERROR_BODY_MAX);
    buf_init(&reqbuf, 16384);
    http_resp_init(&resp, client_head_cb, client_body_cb, &call);
    if (status != NULL)
        *status = 0;
    int fd = client_connect(req, err, errlen);
    if (fd < 0) {
        if (req->stop != NULL && *req->stop)
            res = CLIENT_E_STOPPED;
        goto done;
    }
    if (client_request_format(req, &reqbuf) < 0) {
        snprintf(err, errlen, "request too long");
        res = CLIENT_E_PROTO;
        goto done;
    }
    if (client_send_all(req, fd, (const char *)reqbuf.data, reqbuf.len) < 0) {
        snprintf(err, errlen, "sending request: %s", strerror(errno));
        res = CLIENT_E_LOST;
        goto done;
    }
    res = client_read_loop(req, fd, &resp, err, errlen);
    if (status != NULL)
        *status = call.status;
    if (res == CLIENT_OK && call.status != 200) {
        res = CLIENT_E_HTTP;
        reply_error_parse((const char *)call.error_body.data,
                          call.error_body.len, call.status, err, errlen);
        if (call.status == 401)
            client_unauthorized(req->url, err, errlen);
    }
done:
    if (fd >= 0)
        close(fd);
    http_resp_fini(&resp);
    if (reqbuf.data != NULL)        /* it held the token */
        explicit_bzero(reqbuf.data, reqbuf.len);
    buf_fini(&reqbuf);
    buf_fini(&call.error_body);
    return res;
}
