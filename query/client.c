/* SPDX-License-Identifier: MIT */
/*
 * client: see client.h. A blocking socket with poll() timeouts rather than
 * libevent's evhttp client: logq does one request at a time, and a direct
 * connect() gives the precise reason ("Connection refused") the user needs,
 * a connect timeout independent of the follow idle timeout, and a signal
 * check that cannot race (ppoll). HTTP framing lives in http.c. For
 * https:// the same socket carries a TLS connection (common/tls.c) whose
 * reads and writes report which poll event they wait for; the handshake
 * runs under the connect timeout.
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
#include "common/tls.h"
#include "common/xmalloc.h"
#include "query/reply.h"

struct client_call {
    const struct client_req *req;
    int          status;
    struct buf   error_body;    /* non-200 body, capped */
};

/* The socket, and the TLS connection over it for https. */
struct client_io {
    int              fd;
    struct tls_conn *tls;
};

/* I/O results besides a byte count: an error (err set), or wait for
 * POLLIN/POLLOUT and call again. */
#define CLIENT_IO_ERROR     (-1)
#define CLIENT_IO_WAIT_IN   (-2)
#define CLIENT_IO_WAIT_OUT  (-3)

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

static ssize_t
client_tls_result(struct client_io *io, ssize_t rc, char *err, size_t errlen)
{
    if (rc >= 0)
        return rc;
    if (rc == TLS_IO_WANT_READ)
        return CLIENT_IO_WAIT_IN;
    if (rc == TLS_IO_WANT_WRITE)
        return CLIENT_IO_WAIT_OUT;
    tls_conn_error(io->tls, err, errlen);
    return CLIENT_IO_ERROR;
}

/* Bytes sent (> 0) or a CLIENT_IO_ code. */
static ssize_t
client_io_send(struct client_io *io, const char *p, size_t n, char *err,
               size_t errlen)
{
    if (io->tls != NULL)
        return client_tls_result(io, tls_conn_write(io->tls, p, n), err,
                                 errlen);
    ssize_t w = send(io->fd, p, n, MSG_NOSIGNAL);
    if (w >= 0 || errno == EAGAIN || errno == EINTR)
        return w > 0 ? w : CLIENT_IO_WAIT_OUT;
    snprintf(err, errlen, "%s", strerror(errno));
    return CLIENT_IO_ERROR;
}

/* Bytes read (> 0), 0 at the end, or a CLIENT_IO_ code. */
static ssize_t
client_io_recv(struct client_io *io, char *p, size_t n, char *err,
               size_t errlen)
{
    if (io->tls != NULL)
        return client_tls_result(io, tls_conn_read(io->tls, p, n), err,
                                 errlen);
    ssize_t r = recv(io->fd, p, n, 0);
    if (r >= 0)
        return r;
    if (errno == EAGAIN || errno == EINTR)
        return CLIENT_IO_WAIT_IN;
    snprintf(err, errlen, "%s", strerror(errno));
    return CLIENT_IO_ERROR;
}

/* Waits as a CLIENT_IO_WAIT_ code asks: 1 ready, 0 timeout, -1 error,
 * -2 stopped (client_wait). */
static int
client_io_wait(const struct client_req *req, struct client_io *io,
               ssize_t code, int ms)
{
    return client_wait(req, io->fd, code == CLIENT_IO_WAIT_OUT ? POLLOUT
                       : POLLIN, ms);
}

static int
client_send_all(const struct client_req *req, struct client_io *io,
                const char *p, size_t n, char *err, size_t errlen)
{
    while (n > 0) {
        ssize_t w = client_io_send(io, p, n, err, errlen);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w == CLIENT_IO_ERROR)
            return -1;
        int rc = client_io_wait(req, io, w, CLIENT_CONNECT_TIMEOUT_MS);
        if (rc <= 0) {
            snprintf(err, errlen, "%s", rc == 0 ? "timed out"
                     : rc == -2 ? "interrupted" : strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* The TLS handshake under the connect timeout, with what a failure most
 * likely means. */
static int
client_tls_start(const struct client_req *req, struct client_io *io,
                 char *err, size_t errlen)
{
    char *why = NULL, reason[256];
    int64_t deadline = mono_ns() + CLIENT_CONNECT_TIMEOUT_MS * 1000000LL;

    if (req->url->tls == NULL) {
        snprintf(err, errlen, "https:// without a TLS context");
        return -1;
    }
    io->tls = tls_conn_new(req->url->tls, io->fd, req->url->host, &why);
    if (io->tls == NULL) {
        snprintf(err, errlen, "%s", why);
        free(why);
        return -1;
    }
    for (;;) {
        ssize_t rc = client_tls_result(io, tls_conn_handshake(io->tls),
                                       reason, sizeof(reason));
        if (rc == 0)
            return 0;
        if (rc == CLIENT_IO_ERROR)
            break;
        int64_t left_ms = (deadline - mono_ns()) / 1000000;
        int w = left_ms > 0 ? client_io_wait(req, io, rc, (int)left_ms) : 0;
        if (w == 1)
            continue;
        snprintf(reason, sizeof(reason), "%s", w == 0
                 ? "timed out (a plain http:// port?)" : w == -2
                 ? "interrupted" : strerror(errno));
        break;
    }
    snprintf(err, errlen, "TLS handshake failed: %s%s", reason,
             strncmp(reason, "certificate verify failed", 25) == 0
             ? " (check --tls-ca or $LOGQ_TLS_CA)"
             : strstr(reason, "does not speak TLS") != NULL
             ? "; is it a plain http:// port?" : "");
    return -1;
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
client_read_loop(const struct client_req *req, struct client_io *io,
                 struct http_resp *resp, char *err, size_t errlen)
{
    char data[65536];
    uint64_t n_read = 0;

    while (!http_resp_is_done(resp)) {
        if (req->stop != NULL && *req->stop)
            return CLIENT_E_STOPPED;
        ssize_t r = client_io_recv(io, data, sizeof(data), err, errlen);
        if (r == CLIENT_IO_ERROR)
            return CLIENT_E_LOST;
        if (r < 0) {
            int rc = client_io_wait(req, io, r, req->idle_timeout_ms);
            if (rc == -2)
                return CLIENT_E_STOPPED;
            if (rc == 0) {
                snprintf(err, errlen, "no data for %g s (read timed out)",
                         req->idle_timeout_ms / 1000.0);
                return CLIENT_E_LOST;
            }
            if (rc < 0) {
                snprintf(err, errlen, "%s", strerror(errno));
                return CLIENT_E_LOST;
            }
            continue;
        }
        if (r == 0 && n_read == 0 && io->tls == NULL) {
            snprintf(err, errlen, "closed without a reply (a TLS port? use "
                     "https://)");
            return CLIENT_E_LOST;
        }
        if (n_read == 0 && r >= 2 && data[0] == 'L' && data[1] == 'Q') {
            /* every frame of common/PROTOCOL.md starts so; HTTP never */
            snprintf(err, errlen, "port %u answers in the shipper protocol: "
                     "it is the collector's shipper port (--listen); logq "
                     "needs its HTTP API port (--http, default 7080)",
                     (unsigned)req->url->port);
            return CLIENT_E_PROTO;
        }
        n_read += (uint64_t)r;
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

/* A 404: the server's message, the status and the URL asked for (its
 * path without the query), so a wrong --server path shows. */
static void
client_not_found(const struct client_req *req, char *err, size_t errlen)
{
    const struct url *u = req->url;
    size_t plen = strcspn(req->target, "?");
    size_t n = strlen(err);
    const char *lb = strchr(u->host, ':') ? "[" : "";
    const char *rb = lb[0] ? "]" : "";

    snprintf(err + n, errlen - n, " (404 Not Found: %s://%s%s%s:%u%s%.*s; "
             "check the path of --server)", u->is_tls ? "https" : "http",
             lb, u->host, rb, (unsigned)u->port, u->prefix, (int)plen,
             req->target);
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
    struct client_io io = { -1, NULL };

    buf_init(&call.error_body, CLIENT_ERROR_BODY_MAX);
    buf_init(&reqbuf, 16384);
    http_resp_init(&resp, client_head_cb, client_body_cb, &call);
    if (status != NULL)
        *status = 0;
    io.fd = client_connect(req, err, errlen);
    if (io.fd < 0 ||
        (req->url->is_tls && client_tls_start(req, &io, err, errlen) < 0)) {
        if (req->stop != NULL && *req->stop)
            res = CLIENT_E_STOPPED;
        goto done;
    }
    if (client_request_format(req, &reqbuf) < 0) {
        snprintf(err, errlen, "request too long");
        res = CLIENT_E_PROTO;
        goto done;
    }
    char why[256] = "";
    if (client_send_all(req, &io, (const char *)reqbuf.data, reqbuf.len, why,
                        sizeof(why)) < 0) {
        snprintf(err, errlen, "sending request: %s", why);
        res = CLIENT_E_LOST;
        goto done;
    }
    res = client_read_loop(req, &io, &resp, err, errlen);
    if (status != NULL)
        *status = call.status;
    if (res == CLIENT_OK && call.status != 200) {
        res = CLIENT_E_HTTP;
        reply_error_parse((const char *)call.error_body.data,
                          call.error_body.len, call.status, err, errlen);
        if (call.status == 401)
            client_unauthorized(req->url, err, errlen);
        if (call.status == 404)
            client_not_found(req, err, errlen);
    }

done:
    tls_conn_free(io.tls);
    if (io.fd >= 0)
        close(io.fd);
    http_resp_fini(&resp);
    if (reqbuf.data != NULL)        /* it held the token */
        explicit_bzero(reqbuf.data, reqbuf.len);
    buf_fini(&reqbuf);
    buf_fini(&call.error_body);
    return res;
}
