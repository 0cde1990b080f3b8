/* SPDX-License-Identifier: MIT */
/*
 * api_logs: GET /api/v1/logs, a streamed search. The store cursor is walked
 * in slices: each loop turn scans at most API_SLICE_RECORDS records or
 * produces about API_SLICE_BYTES of JSON lines, sends that as one chunk and
 * waits until the chunk has been written before the next slice, so neither
 * memory nor loop time grows with the size of the result or the slowness of
 * the client. A slice with nothing to send continues from a deferred event.
 * A client that goes away triggers the connection's close callback, which
 * frees the cursor and query at once.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "collector/api/api_internal.h"
#include "common/log.h"
#include "common/record.h"
#include "common/xmalloc.h"

struct api_logs {
    struct api               *api;
    struct evhttp_request    *req;
    struct evhttp_connection *evcon;
    struct api_params         p;
    struct query             *q;
    struct store_cursor      *cur;
    struct event             *slice_ev;
    struct evbuffer          *chunk;
    struct buf                out;
    uint64_t                  n_sent;
};

static void
api_logs_free(struct api_logs *s)
{
    if (s->evcon != NULL)
        evhttp_connection_set_closecb(s->evcon, NULL, NULL);
    if (s->slice_ev != NULL)
        event_free(s->slice_ev);
    if (s->chunk != NULL)
        evbuffer_free(s->chunk);
    store_cursor_free(s->cur);
    query_free(s->q);
    api_params_fini(&s->p);
    buf_fini(&s->out);
    free(s);
}

/* The client went away (or the server is shutting down). */
static void
api_logs_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct api_logs *s = arg;
    struct evhttp_request *req = s->req;

    log_debug("api", "search client gone after %llu records",
              (unsigned long long)s->n_sent);
    s->evcon = NULL;
    api_logs_free(s);
    /* A request evhttp detached from its failed connection is ours to
     * free; an attached one is freed by evhttp with the connection. */
    if (evhttp_request_get_connection(req) == NULL)
        evhttp_request_free(req);
}

/* Fills s->out with the next slice. 1 when the search is complete. */
static int
api_logs_fill(struct api_logs *s)
{
    struct logrec r;
    size_t scanned = 0;

    buf_reset(&s->out);
    while (s->out.len < API_SLICE_BYTES && scanned < API_SLICE_RECORDS) {
        if (s->n_sent >= s->p.limit)
            return 1;
        int rc = store_cursor_next(s->cur, &r);
        if (rc == 0)
            return 1;
        scanned++;
        if (rc < 0) {
            s->api->stats->search_damaged_blocks++;
            continue;
        }
        if (!query_match(s->q, r.msg, r.msg_len))
            continue;
        if (record_json_append(&s->out, &r) < 0) {
            s->api->stats->http_errors++;
            log_warn("api", "record too large for a reply, skipped host=%s "
                     "container=%s", r.host, r.container);
            continue;
        }
        s->n_sent++;
    }
    return 0;
}

static void api_logs_written_cb(struct evhttp_connection *evcon, void *arg);

static void
api_logs_slice(struct api_logs *s)
{
    int is_done = api_logs_fill(s);

    if (s->out.len > 0) {
        if (evbuffer_add(s->chunk, s->out.data, s->out.len) < 0) {
            is_done = 1;
        } else {
            evhttp_send_reply_chunk_with_cb(s->req, s->chunk,
                                            is_done ? NULL
                                                    : api_logs_written_cb,
                                            s);
            evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
        }
    }
    if (is_done) {
        struct evhttp_request *req = s->req;
        api_logs_free(s);
        evhttp_send_reply_end(req);
        return;
    }
    if (s->out.len == 0)
        event_active(s->slice_ev, EV_TIMEOUT, 0);
}

static void
api_logs_written_cb(struct evhttp_connection *evcon, void *arg)
{
    struct api_logs *s = arg;

    /* Not inline: evhttp is still inside its write callback. */
    event_active(s->slice_ev, EV_TIMEOUT, 0);
}

static void
api_logs_slice_cb(evutil_socket_t fd, short what, void *arg)
{
    api_logs_slice(arg);
}

static void
api_logs_filter(const struct api_logs *s, struct store_filter *f)
{
    const char *const *tokens;

    memset(f, 0, sizeof(*f));
    f->since_ns = s->p.since_ns;
    f->until_ns = s->p.until_ns;
    f->host = s->p.host;
    f->container = s->p.container;
    f->image = s->p.image;
    f->stream = s->p.stream;
    f->n_tokens = query_tokens(s->q, &tokens);
    f->tokens = f->n_tokens ? tokens : NULL;
}

void
api_logs(struct api *a, struct evhttp_request *req, const char *query)
{
    struct api_logs *s = xcalloc(1, sizeof(*s));
    struct store_filter f;

    s->api = a;
    s->req = req;
    buf_init(&s->out, API_MAX_RECORD_JSON);
    if (api_search_prepare(a, req, query, API_EP_LOGS, &s->p, &s->q) < 0) {
        buf_fini(&s->out);
        free(s);
        return;
    }
    api_logs_filter(s, &f);
    s->cur = store_cursor_new(a->store, &f, s->p.is_newest_first);
    s->slice_ev = event_new(a->base, -1, 0, api_logs_slice_cb, s);
    s->chunk = evbuffer_new();
    if (s->cur == NULL || s->slice_ev == NULL || s->chunk == NULL) {
        api_reply_error(a, req, HTTP_INTERNAL, "cannot start search");
        api_logs_free(s);
        return;
    }
    s->evcon = evhttp_request_get_connection(req);
    evhttp_connection_set_closecb(s->evcon, api_logs_close_cb, s);
    api_stream_start(req);
    event_active(s->slice_ev, EV_TIMEOUT, 0);
}
