/* SPDX-License-Identifier: MIT */
/*
 * api_follow: GET /api/v1/follow, a live tail. Each client subscribes to
 * follow.c; matching records are formatted into the client's own buffer
 * during a publish round and sent as one chunk when the round ends.
 *
 * History (limit given): in the same loop turn as the subscription a
 * search (collector/search/search.c, tail mode: the limit newest matches,
 * oldest first; limit 0: every match, oldest first) is created, so its
 * cursor sees exactly what was committed before and the subscription
 * everything committed after (follow.h). The history is sent in slices
 * like /logs; live records meanwhile wait in a capped buffer. The tail's
 * second pass opens a new cursor, which may also see records committed
 * during the first: their identities (follow_keys) are held with the live
 * buffer and the history skips them, so each record is sent exactly once
 * whatever its time (a late record older than the history's newest is
 * sent, as a live line). Live lines follow in commit order. Output
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

#include "collector/api/api_count.h"
#include "collector/api/api_internal.h"
#include "collector/api/api_pool.h"
#include "collector/search/search.h"
#include "common/log.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define API_FOLLOW_MAX_ROUND   ((size_t)8 << 20)
#define API_FOLLOW_MAX_QUEUED  ((size_t)4 << 20)
#define API_FOLLOW_KEEPALIVE_S 15
#define API_FOLLOW_TICK_S      5
#define API_FOLLOW_MAX_HELD    ((size_t)8 << 20)   /* live during history */
#define API_FOLLOW_MAX_KEYS    65536

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
    /* history only */
    struct search            *hist;         /* NULL: live */
    struct event             *slice_ev;
    struct buf                held;         /* live lines meanwhile */
    struct follow_keys       *held_keys;
    struct buf                hist_out;
    int                       is_entered;   /* counted in n_followers */
};

static void
api_follow_free(struct api_follow *s)
{
    if (s->evcon != NULL)
        api_conn_set_closecb(s->api, s->evcon, NULL, NULL);
    if (s->is_entered)
        api_follower_leave(s->api);
    follow_unsubscribe(s->api->follow, s->sub);
    if (s->keepalive_ev != NULL)
        event_free(s->keepalive_ev);
    if (s->drop_ev != NULL)
        event_free(s->drop_ev);
    if (s->chunk != NULL)
        evbuffer_free(s->chunk);
    if (s->slice_ev != NULL)
        event_free(s->slice_ev);
    search_free(s->hist);
    follow_keys_free(s->held_keys);
    buf_fini(&s->held);
    buf_fini(&s->hist_out);
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
    if (s->hist == NULL) {
        if (record_json_append(&s->out, r) < 0)
            api_follow_drop(s, "round buffer full");
        return;
    }
    if (record_json_append(&s->held, r) < 0 ||
        follow_keys_add(s->held_keys, r) < 0)
        api_follow_drop(s, "too many live lines while sending history");
}

static void
api_follow_flush_cb(void *arg)
{
    struct api_follow *s = arg;

    if (!s->is_dropping && s->out.len > 0)
        api_follow_send(s, s->out.data, s->out.len);
    buf_reset(&s->out);
}

/* ---- history ---- */

/* search_emit_fn: one history line, unless the record also came live. */
static int
api_follow_hist_emit_cb(const struct logrec *r, int is_context,
                        int is_group_start, void *arg)
{
    struct api_follow *s = arg;

    if (follow_keys_has(s->held_keys, r))
        return 0;                   /* sent with the live lines */
    if (record_json_append(&s->hist_out, r) < 0) {
        s->api->stats->http_errors++;
        log_warn("api", "record too large for a reply, skipped host=%s "
                 "container=%s", r->host, r->container);
        return 1;
    }
    return s->hist_out.len >= API_SLICE_BYTES;
}

/* The history is over: what came live meanwhile goes next. */
static void
api_follow_hist_end(struct api_follow *s, int rc)
{
    if (rc == SEARCH_ERROR) {
        static const char tail[] = ",\"partial\":true}\n";
        const char *why = search_errstr(s->hist);
        if (buf_append(&s->hist_out, "{\"error\":", 9) < 0 ||
            json_str_append(&s->hist_out, why, strlen(why)) < 0 ||
            buf_append(&s->hist_out, tail, sizeof(tail) - 1) < 0)
            log_warn("api", "cannot append the history error line");
    }
    s->api->stats->search_damaged_blocks += search_n_damaged(s->hist);
    search_free(s->hist);
    s->hist = NULL;
    follow_keys_free(s->held_keys);
    s->held_keys = NULL;
    if (buf_append(&s->hist_out, s->held.data, s->held.len) < 0)
        api_follow_drop(s, "live lines after history over the cap");
    buf_fini(&s->held);
}

static void api_follow_written_cb(struct evhttp_connection *evcon,
                                  void *arg);

/* One slice of history; the next runs once this one is written. */
static void
api_follow_slice_cb(evutil_socket_t fd, short what, void *arg)
{
    struct api_follow *s = arg;

    if (s->is_dropping || s->hist == NULL)
        return;
    buf_reset(&s->hist_out);
    int rc = search_step(s->hist, API_SLICE_RECORDS,
                         api_follow_hist_emit_cb, s);
    if (rc != SEARCH_MORE)
        api_follow_hist_end(s, rc);
    if (s->hist_out.len == 0) {
        if (s->hist != NULL)
            event_active(s->slice_ev, EV_TIMEOUT, 0);
        return;
    }
    if (evbuffer_add(s->chunk, s->hist_out.data, s->hist_out.len) < 0) {
        api_follow_drop(s, "out of buffer space");
        return;
    }
    evhttp_send_reply_chunk_with_cb(s->req, s->chunk,
                                    s->hist ? api_follow_written_cb : NULL,
                                    s);
    evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
    s->last_write_ns = mono_ns();
    buf_reset(&s->hist_out);
}

static void
api_follow_written_cb(struct evhttp_connection *evcon, void *arg)
{
    struct api_follow *s = arg;

    /* Not inline: evhttp is still inside its write callback. */
    event_active(s->slice_ev, EV_TIMEOUT, 0);
}

/* Creates the history search (limit given). -1 when it cannot. */
static int
api_follow_hist_start(struct api_follow *s)
{
    struct search_spec spec;
    char *err = NULL;

    if (!s->p.has_limit)
        return 0;
    api_search_spec(&s->p, s->q, &spec);
    spec.limit = s->p.limit > 0 ? s->p.limit : UINT64_MAX;
    spec.is_tail = s->p.limit > 0;
    spec.is_newest_first = 0;
    spec.max_scan_bytes = s->api->max_scan_bytes;
    s->hist = search_new(s->api->store, &spec, &err);
    if (s->hist == NULL) {
        log_warn("api", "cannot start follow history: %s", err);
        free(err);
        return -1;
    }
    buf_init(&s->held, API_FOLLOW_MAX_HELD);
    buf_init(&s->hist_out, API_MAX_RECORD_JSON);
    s->held_keys = follow_keys_new(API_FOLLOW_MAX_KEYS);
    s->slice_ev = event_new(s->api->base, -1, 0, api_follow_slice_cb, s);
    return s->slice_ev != NULL ? 0 : -1;
}

static void
api_follow_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    struct api_follow *s = arg;
    int64_t idle = mono_ns() - s->last_write_ns;

    /* Not during the history: its slices wait for their write callback,
     * which another chunk would replace. */
    if (!s->is_dropping && s->hist == NULL &&
        idle >= (int64_t)API_FOLLOW_KEEPALIVE_S * 1000000000 - 100000000)
        api_follow_send(s, "\n", 1);
}

void
api_follow(struct api *a, struct evhttp_request *req, const char *query)
{
    if (api_follower_enter(a, req) < 0)
        return;
    struct api_follow *s = xcalloc(1, sizeof(*s));
    struct timeval tv = { API_FOLLOW_TICK_S, 0 };

    s->api = a;
    s->req = req;
    buf_init(&s->out, API_FOLLOW_MAX_ROUND);
    if (api_search_prepare(a, req, query, API_EP_FOLLOW, &s->p, &s->q) < 0) {
        api_follower_leave(a);
        buf_fini(&s->out);
        free(s);
        return;
    }
    s->is_entered = 1;
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
    /* Subscribe and open the history's cursor in the same loop turn:
     * together they see every record exactly once. */
    s->sub = follow_subscribe(a->follow, api_follow_record_cb,
                              api_follow_flush_cb, s);
    if (api_follow_hist_start(s) < 0) {
        api_reply_error(a, req, HTTP_INTERNAL, "cannot start follow");
        api_follow_free(s);
        return;
    }
    a->stats->follow_clients++;
    s->evcon = evhttp_request_get_connection(req);
    api_conn_set_closecb(s->api, s->evcon, api_follow_close_cb, s);
    api_stream_start(req);
    s->last_write_ns = mono_ns();
    if (s->hist != NULL)
        event_active(s->slice_ev, EV_TIMEOUT, 0);
}
