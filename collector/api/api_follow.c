/* SPDX-License-Identifier: MIT */
/*
 * api_follow: GET /api/v1/follow, a live tail. Each client subscribes to
 * follow.c; matching records are formatted into the client's own buffer
 * during a publish round and sent as one chunk when the round ends. Output
 * is bounded twice: the per-round buffer (API_FOLLOW_MAX_ROUND) and the
 * bytes queued on the socket (API_FOLLOW_MAX_QUEUED). A client over either
 * cap is dropped (logged, counted) instead of being buffered without limit;
 * it can reconnect and fill the gap with /logs?since=. A blank line is sent
 * after API_FOLLOW_KEEPALIVE_S of silence. The drop happens from a deferred
 * event, outside follow.c's publish loop.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "collector/api/api_internal.h"
#include "common/log.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define API_FOLLOW_MAX_ROUND   ((size_t)8 << 20)
#define API_FOLLOW_MAX_QUEUED  ((size_t)4 << 20)
#define API_FOLLOW_KEEPALIVE_S 15
#define API_FOLLOW_TICK_S      5

struct api_follow {
    struct api               *api;
    struct evhttp_request    *req;
    struct evhttp_connection *evcon;
    struct api_params         p;
    struct query             *q;
    struct follow_sub        *sub;
    struct event             *keepalive_ev;
    struct event             *drop_ev;
    struct evbuffer          *chunk;
    struct buf                out;
    int64_t                   last_write_ns;
    int                       is_dropping;
};

static void
api_follow_free(struct api_follow *s)
{
    if (s->evcon != NULL)
        evhttp_connection_set_closecb(s->evcon, NULL, NULL);
    follow_unsubscribe(s->api->follow, s->sub);
    if (s->keepalive_ev != NULL)
        event_free(s->keepalive_ev);
    if (s->drop_ev != NULL)
        event_free(s->drop_ev);
    if (s->chunk != NULL)
        evbuffer_free(s->chunk);
    query_free(s->q);
    api_params_fini(&s->p);
    buf_fini(&s->out);
    free(s);
}

static void
api_follow_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct api_follow *s = arg;
    struct evhttp_request *req = s->req;

    s->evcon = NULL;
    api_follow_free(s);
    if (evhttp_request_get_connection(req) == NULL)
        evhttp_request_free(req);
}

/* Marks the client for dropping; the connection is closed next turn. */
static void
api_follow_drop(struct api_follow *s, const char *why)
{
    if (s->is_dropping)
        return;
    s->is_dropping = 1;
    s->api->stats->follow_clients_dropped++;
    log_warn("api", "dropping slow follow client reason=\"%s\"", why);
    follow_unsubscribe(s->api->follow, s->sub);
    s->sub = NULL;
    event_active(s->drop_ev, EV_TIMEOUT, 0);
}

static void
api_follow_drop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct api_follow *s = arg;

    /* Frees the connection; its close callback frees s. */
    evhttp_connection_free(s->evcon);
}

static size_t
api_follow_queued(const struct api_follow *s)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);

    return evbuffer_get_length(bufferevent_get_output(bev));
}

static void
api_follow_send(struct api_follow *s, const void *p, size_t len)
{
    if (api_follow_queued(s) + len > API_FOLLOW_MAX_QUEUED) {
        api_follow_drop(s, "output queue full");
        return;
    }
    if (evbuffer_add(s->chunk, p, len) < 0) {
        api_follow_drop(s, "out of buffer space");
        return;
    }
    evhttp_send_reply_chunk(s->req, s->chunk);
    evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
    s->last_write_ns = mono_ns();
}

/* The cheap checks the store does for a cursor. */
static int
api_follow_wants(const struct api_params *p, const struct logrec *r)
{
    if (r->time_ns < p->since_ns)
        return 0;
    if (p->stream >= 0 && r->stream != p->stream)
        return 0;
    if (p->host != NULL && strcmp(p->host, r->host) != 0)
        return 0;
    if (p->image != NULL && strcmp(p->image, r->image) != 0)
        return 0;
    if (p->container != NULL && fnmatch(p->container, r->container, 0) != 0)
        return 0;
    return 1;
}

static void
api_follow_record_cb(const struct logrec *r, void *arg)
{
    struct api_follow *s = arg;

    if (s->is_dropping || !api_follow_wants(&s->p, r) ||
        !query_match(s->q, r->msg, r->msg_len))
        return;
    if (record_json_append(&s->out, r) < 0)
        api_follow_drop(s, "round buffer full");
}

static void
api_follow_flush_cb(void *arg)
{
    struct api_follow *s = arg;

    if (!s->is_dropping && s->out.len > 0)
        api_follow_send(s, s->out.data, s->out.len);
    buf_reset(&s->out);
}

static void
api_follow_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    struct api_follow *s = arg;
    int64_t idle = mono_ns() - s->last_write_ns;

    if (!s->is_dropping &&
        idle >= (int64_t)API_FOLLOW_KEEPALIVE_S * 1000000000 - 100000000)
        api_follow_send(s, "\n", 1);
}

void
api_follow(struct api *a, struct evhttp_request *req, const char *query)
{
    struct api_follow *s = xcalloc(1, sizeof(*s));
    struct timeval tv = { API_FOLLOW_TICK_S, 0 };

    s->api = a;
    s->req = req;
    buf_init(&s->out, API_FOLLOW_MAX_ROUND);
    if (api_search_prepare(a, req, query, API_EP_FOLLOW, &s->p, &s->q) < 0) {
        buf_fini(&s->out);
        free(s);
        return;
    }
    s->keepalive_ev = event_new(a->base, -1, EV_PERSIST,
                                api_follow_keepalive_cb, s);
    s->drop_ev = event_new(a->base, -1, 0, api_follow_drop_cb, s);
    s->chunk = evbuffer_new();
    if (s->keepalive_ev == NULL || s->drop_ev == NULL || s->chunk == NULL ||
        event_add(s->keepalive_ev, &tv) < 0) {
        api_reply_error(a, req, HTTP_INTERNAL, "cannot start follow");
        api_follow_free(s);
        return;
    }
    a->stats->follow_clients++;
    s->evcon = evhttp_request_get_connection(req);
    evhttp_connection_set_closecb(s->evcon, api_follow_close_cb, s);
    api_stream_start(req);
    s->last_write_ns = mono_ns();
    s->sub = follow_subscribe(a->follow, api_follow_record_cb,
                              api_follow_flush_cb, s);
}
