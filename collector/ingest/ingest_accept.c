/* SPDX-License-Identifier: MIT */
/*
 * ingest_accept: the shipper port's listener. Each accepted socket becomes
 * a connection (plain or TLS bufferevent, frame reader capped at one
 * control frame until WELCOME, handshake timer) unless a cap refuses it:
 * --max-connections in all, --max-connections-per-address from one IP
 * address (refused with an ERROR, counted). accept() failing (EMFILE)
 * pauses the listener for a second instead of spinning; a failed TLS
 * handshake is counted and logged. Connections live on in ingest_conn.c.
 */
#include "collector/ingest/ingest_internal.h"

#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "collector/ingest/listen.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/tls.h"
#include "common/xmalloc.h"

/* Open connections (c included) from c's IP address. O(connections), at
 * most --max-connections, once per accept. */
static int
ingest_conns_from(struct ingest *ing, const struct ingest_conn *c)
{
    const struct ingest_conn *o;
    int n = 0;

    TAILQ_FOREACH(o, &ing->conns, entry) {
        if (o->state != INGEST_CLOSING && o->addr_len == c->addr_len &&
            memcmp(o->peer, c->peer, c->addr_len) == 0)
            n++;
    }
    return n;
}

void
ingest_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                 struct sockaddr *sa, int socklen, void *arg)
{
    struct ingest *ing = arg;
    struct ingest_conn *c = xcalloc(1, sizeof(*c));

    c->ing = ing;
    TAILQ_INIT(&c->jobs);
    wire_reader_init(&c->rd, WIRE_MAX_CONTROL);   /* until WELCOME */
    listen_format_peer(sa, c->peer, sizeof(c->peer));
    const char *colon = strrchr(c->peer, ':');
    c->addr_len = colon != NULL ? (size_t)(colon - c->peer) : strlen(c->peer);
    c->connected_ns = now_ns();
    TAILQ_INSERT_TAIL(&ing->conns, c, entry);
    ing->n_conns++;
    c->bev = ing->opt.tls != NULL
             ? tls_bev_accept(ing->opt.tls, ing->base, fd)
             : bufferevent_socket_new(ing->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(ing->base, ingest_conn_timer_cb, c);
    if (c->bev == NULL || c->timer == NULL) {
        if (c->bev == NULL)
            evutil_closesocket(fd);
        log_error("ingest", "cannot set up connection peer=%s", c->peer);
        ingest_conn_free(c);
        return;
    }
    bufferevent_setcb(c->bev, ingest_conn_read_cb, ingest_conn_write_cb,
                      ingest_conn_event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, INGEST_PREAUTH_INPUT);
    if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
        ingest_conn_free(c);
        return;
    }
    if (ing->n_conns > ing->opt.max_connections || ing->is_shutdown) {
        ing->stats->connections_rejected++;
        ingest_log_limited(ing, "connection refused peer=%s conns=%d",
                           c->peer, ing->n_conns - 1);
        ingest_conn_close(c, WIRE_ERR_BUSY, "too many connections");
        return;
    }
    int n_addr = ingest_conns_from(ing, c);
    if (n_addr > ing->opt.max_conns_per_addr) {
        ing->stats->connections_rejected_per_address++;
        ingest_log_limited(ing, "connection refused: %d from this address "
                           "(--max-connections-per-address) peer=%s",
                           n_addr - 1, c->peer);
        ingest_conn_close(c, WIRE_ERR_BUSY,
                          "too many connections from this address");
        return;
    }
    ing->stats->connections++;
    ingest_conn_arm(c, ing->opt.handshake_timeout_ns);
    log_debug("ingest", "connection peer=%s", c->peer);
}

void
ingest_accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;

    if (ing->listener != NULL)
        evconnlistener_enable(ing->listener);
}

/* A failed TLS handshake (plaintext shipper, no or a foreign client
 * certificate): counted and logged within the budget; the bufferevent
 * reports the error and the connection is freed there. */
void
ingest_accept_tls_fail_cb(void *arg, int fd, const char *why)
{
    struct ingest *ing = arg;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char peer[64] = "unknown";

    ing->stats->tls_failures++;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        listen_format_peer((struct sockaddr *)&ss, peer, sizeof(peer));
    ingest_log_limited(ing, "TLS handshake failed peer=%s error=\"%s\"",
                       peer, why);
}

/* accept() failing (EMFILE) would make the listener spin: pause it. */
void
ingest_accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct ingest *ing = arg;
    struct timeval tv = { 1, 0 };

    ingest_log_limited(ing, "accept failed, pausing 1s: %s",
                       evutil_socket_error_to_string(
                           EVUTIL_SOCKET_ERROR()));
    evconnlistener_disable(l);
    evtimer_add(ing->accept_retry, &tv);
}
