/* SPDX-License-Identifier: MIT */
/*
 * api_conn: see api_conn.h. Connections are found by their socket: an
 * array indexed by fd holds each adopted connection, so a lookup is O(1)
 * and an entry whose connection vanished without its close callback (not
 * seen with libevent 2.1.12, but then the count would drift) is reclaimed
 * when the kernel hands its fd to the next connection.
 */
#include "collector/api/api_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "collector/api/api_internal.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/tls.h"
#include "common/xmalloc.h"

#define API_CONN_LOG_WINDOW_NS  (INT64_C(10) * 1000000000)
#define API_CONN_DRAIN_MAX      16384   /* request bytes read before a 503 */

typedef void (*api_conn_close_fn)(struct evhttp_connection *, void *);

struct api_conn {
    struct api_conns         *cs;
    struct bufferevent       *bev;
    struct evhttp_connection *evcon;    /* NULL until adopted */
    int                       fd;
    struct event             *deadline_ev;
    api_conn_close_fn         close_fn;     /* the handler's */
    void                     *close_arg;
    struct api_conn          *next_new;     /* not yet adopted */
};

struct api_conns {
    struct api            *api;
    struct evconnlistener *lev;
    uint64_t               max_conns;
    struct timeval         deadline;
    struct api_conn      **by_fd;
    size_t                 by_fd_len;
    uint64_t               n_open;
    struct api_conn       *new_list;
    struct event          *adopt_ev;
    struct event          *resume_ev;
    struct log_limit       accept_log;
    struct api_conns      *next;        /* api_conns_all */
};

/* The listener error callback gets evhttp's argument, not ours: it finds
 * its api_conns by listener here (one per api; one loop thread). */
static struct api_conns *api_conns_all;

/* ---- the fd table ---- */

static struct api_conn *
api_conn_get(const struct api_conns *cs, struct evhttp_connection *evcon)
{
    int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));

    if (fd < 0 || (size_t)fd >= cs->by_fd_len || cs->by_fd[fd] == NULL ||
        cs->by_fd[fd]->evcon != evcon)
        return NULL;
    return cs->by_fd[fd];
}

static void
api_conn_forget(struct api_conn *c)
{
    struct api_conns *cs = c->cs;

    cs->by_fd[c->fd] = NULL;
    cs->n_open--;
    cs->api->stats->http_connections_open = cs->n_open;
    if (c->deadline_ev != NULL)
        event_free(c->deadline_ev);
    free(c);
}

static void
api_conn_remember(struct api_conns *cs, struct api_conn *c)
{
    if ((size_t)c->fd >= cs->by_fd_len) {
        size_t n = cs->by_fd_len ? cs->by_fd_len : 64;
        while (n <= (size_t)c->fd)
            n *= 2;
        cs->by_fd = xreallocarray(cs->by_fd, n, sizeof(*cs->by_fd));
        memset(cs->by_fd + cs->by_fd_len, 0,
               (n - cs->by_fd_len) * sizeof(*cs->by_fd));
        cs->by_fd_len = n;
    }
    if (cs->by_fd[c->fd] != NULL) {
        log_warn("api", "HTTP connection closed unseen, reclaimed fd=%d",
                 c->fd);
        api_conn_forget(cs->by_fd[c->fd]);
    }
    cs->by_fd[c->fd] = c;
    cs->n_open++;
    cs->api->stats->http_connections_open = cs->n_open;
    cs->api->stats->http_connections++;
}

/* ---- connection events ---- */

static void
api_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct api_conn *c = arg;

    if (c->close_fn != NULL)
        c->close_fn(evcon, c->close_arg);
    api_conn_forget(c);
}

static void
api_conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct api_conn *c = arg;

    c->cs->api->stats->http_request_timeouts++;
    log_debug("api", "HTTP request not complete in time, closing fd=%d",
              c->fd);
    evhttp_connection_free(c->evcon);   /* its close callback frees c */
}

static void
api_conn_arm(struct api_conn *c)
{
    if (event_add(c->deadline_ev, &c->cs->deadline) < 0)
        log_warn("api", "cannot arm the HTTP request deadline fd=%d", c->fd);
}

/* Over the cap: a canned 503 written straight to the socket (what the
 * client sent so far is read first, so that closing does not reset the
 * connection before the reply is read), then the connection is closed. */
static void
api_conn_refuse(struct api_conns *cs, struct evhttp_connection *evcon,
                int fd)
{
    static const char reply[] =
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 39\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n\r\n"
        "{\"error\":\"too many HTTP connections\"}\n";
    char sink[4096];

    cs->api->stats->http_connections_refused++;
    for (size_t got = 0; got < API_CONN_DRAIN_MAX;) {
        ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (send(fd, reply, sizeof(reply) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        log_debug("api", "cannot send 503 fd=%d: %s", fd, strerror(errno));
    evhttp_connection_free(evcon);
}

/* Takes over one new connection: its close callback, its deadline. */
static void
api_conn_adopt(struct api_conns *cs, struct api_conn *c)
{
    void *arg = NULL;

    bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
    struct evhttp_connection *evcon = arg;
    /* NULL: evhttp already freed it (bufferevent_free clears the
     * callbacks); otherwise evhttp set itself as the argument. */
    if (evcon == NULL || evhttp_connection_get_bufferevent(evcon) != c->bev) {
        if (evcon != NULL)      /* a libevent that works otherwise */
            log_warn("api", "HTTP connection not tracked: no cap or "
                     "deadline for it");
        bufferevent_decref(c->bev);
        free(c);
        return;
    }
    bufferevent_decref(c->bev);         /* evcon holds its own reference */
    c->fd = bufferevent_getfd(c->bev);
    if (c->fd < 0) {
        free(c);
        return;
    }
    if (cs->n_open >= cs->max_conns) {
        int fd = c->fd;
        free(c);
        api_conn_refuse(cs, evcon, fd);
        return;
    }
    c->evcon = evcon;
    c->deadline_ev = evtimer_new(cs->api->base, api_conn_deadline_cb, c);
    if (c->deadline_ev == NULL) {
        free(c);
        evhttp_connection_free(evcon);
        return;
    }
    api_conn_remember(cs, c);
    evhttp_connection_set_closecb(evcon, api_conn_close_cb, c);
    api_conn_arm(c);
}

static void
api_conn_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
    struct api_conns *cs = arg;
    struct api_conn *c = cs->new_list;

    cs->new_list = NULL;
    while (c != NULL) {
        struct api_conn *next = c->next_new;
        api_conn_adopt(cs, c);
        c = next;
    }
}

/* evhttp's bufferevent callback: a connection was accepted. */
static struct bufferevent *
api_conn_bev_cb(struct event_base *base, void *arg)
{
    struct api_conns *cs = arg;
    /* what evhttp makes when there is no callback; with --tls-cert a TLS
     * one whose handshake starts when evhttp sets the socket */
    struct bufferevent *bev = cs->api->tls != NULL
                              ? tls_bev_accept(cs->api->tls, base, -1)
                              : bufferevent_socket_new(base, -1, 0);

    if (bev == NULL)
        return NULL;
    struct api_conn *c = xcalloc(1, sizeof(*c));
    c->cs = cs;
    c->bev = bev;
    c->fd = -1;
    bufferevent_incref(bev);            /* until adopted */
    c->next_new = cs->new_list;
    cs->new_list = c;
    event_active(cs->adopt_ev, EV_TIMEOUT, 0);
    return bev;
}

/* ---- accept errors ---- */

static void
api_conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct api_conns *cs = arg;

    if (evconnlistener_enable(cs->lev) < 0)
        log_warn("api", "cannot resume accepting HTTP connections");
}

static void
api_conn_accept_error_cb(struct evconnlistener *lev, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = { 0, API_CONN_PAUSE_MS * 1000 };
    struct api_conns *cs = api_conns_all;
    uint64_t n_ended = 0;

    while (cs != NULL && cs->lev != lev)
        cs = cs->next;
    if (cs == NULL)
        return;
    cs->api->stats->http_accept_paused++;
    evconnlistener_disable(lev);
    if (evtimer_add(cs->resume_ev, &tv) < 0)
        evconnlistener_enable(lev);
    if (log_limit_allow(&cs->accept_log, mono_ns(), &n_ended))
        log_warn("api", "cannot accept HTTP connections, pausing %d ms "
                 "err=\"%s\" open=%llu suppressed=%llu", API_CONN_PAUSE_MS,
                 strerror(err), (unsigned long long)cs->n_open,
                 (unsigned long long)n_ended);
}

/* ---- public API ---- */

struct api_conns *
api_conns_new(struct api *a, struct evconnlistener *lev, uint64_t max_conns,
              int64_t deadline_ns, char **errstr)
{
    struct api_conns *cs = xcalloc(1, sizeof(*cs));

    cs->api = a;
    cs->lev = lev;
    cs->max_conns = max_conns;
    cs->deadline.tv_sec = (time_t)(deadline_ns / 1000000000);
    cs->deadline.tv_usec = (suseconds_t)(deadline_ns % 1000000000 / 1000);
    cs->accept_log.window_ns = API_CONN_LOG_WINDOW_NS;
    cs->accept_log.per_window = 1;
    cs->adopt_ev = event_new(a->base, -1, 0, api_conn_adopt_cb, cs);
    cs->resume_ev = evtimer_new(a->base, api_conn_resume_cb, cs);
    if (cs->adopt_ev == NULL || cs->resume_ev == NULL) {
        *errstr = xstrdup("cannot create HTTP connection events");
        api_conns_free(cs);
        return NULL;
    }
    evhttp_set_bevcb(a->http, api_conn_bev_cb, cs);
    evconnlistener_set_error_cb(lev, api_conn_accept_error_cb);
    cs->next = api_conns_all;
    api_conns_all = cs;
    return cs;
}

void
api_conns_free(struct api_conns *cs)
{
    if (cs == NULL)
        return;
    for (struct api_conns **p = &api_conns_all; *p != NULL; p = &(*p)->next)
        if (*p == cs) {
            *p = cs->next;
            break;
        }
    api_conn_adopt_cb(-1, 0, cs);       /* drops what evhttp freed */
    for (size_t i = 0; i < cs->by_fd_len; i++)
        if (cs->by_fd[i] != NULL)
            api_conn_forget(cs->by_fd[i]);
    free(cs->by_fd);
    if (cs->adopt_ev != NULL)
        event_free(cs->adopt_ev);
    if (cs->resume_ev != NULL)
        event_free(cs->resume_ev);
    free(cs);
}

uint64_t
api_conns_open(const struct api_conns *cs)
{
    return cs->n_open;
}

static void
api_conn_done_cb(struct evhttp_request *req, void *arg)
{
    struct api *a = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct api_conn *c = evcon ? api_conn_get(a->conns, evcon) : NULL;

    if (c != NULL)
        api_conn_arm(c);                /* for the next request */
}

void
api_conn_request_begin(struct api *a, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct api_conn *c = evcon ? api_conn_get(a->conns, evcon) : NULL;

    if (c == NULL)
        return;
    event_del(c->deadline_ev);
    evhttp_request_set_on_complete_cb(req, api_conn_done_cb, a);
}

void
api_conn_set_closecb(struct api *a, struct evhttp_connection *evcon,
                     void (*fn)(struct evhttp_connection *, void *),
                     void *arg)
{
    struct api_conn *c = api_conn_get(a->conns, evcon);

    if (c == NULL) {                    /* not tracked (cannot happen) */
        evhttp_connection_set_closecb(evcon, fn, arg);
        return;
    }
    c->close_fn = fn;
    c->close_arg = arg;
}
