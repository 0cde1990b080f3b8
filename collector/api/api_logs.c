/* SPDX-License-Identifier: MIT */
/*
 * api_logs: GET /api/v1/logs, a streamed search. The loop parses the
 * parameters; the first job on the query workers (api_pool.c) compiles
 * the query and creates the search, and its done callback replies the
 * 400/500 or starts the stream. The search then runs in slices on the
 * workers: each slice scans at most
 * API_SLICE_RECORDS records (or API_SLICE_NS of work) or produces about
 * API_SLICE_BYTES of JSON lines into s->out; back on the loop that is sent
 * as one chunk, and the next slice is queued only once the chunk has been
 * written, so neither memory nor loop time grows with the size of the
 * result, the cost of the query or the slowness of the client (one that
 * does not read holds no worker). A client that goes away triggers the
 * connection's close callback, which frees the search at once, or, with
 * a slice running, cancels it (checked every API_STEP_RECORDS records)
 * and leaves the freeing to the slice's done callback. What each record
 * means (match, context line, limit, scan cost cap) is decided by
 * collector/search/search.c; this file only turns its output into JSON
 * lines: with before/after every record gets "group":N (1, 2, ... in
 * output order), context lines also "context":true, and a {"break":true}
 * line precedes every group but the first. A cap reached mid-stream ends
 * it with {"error":...,"partial":true}; so do regex matches that ran out
 * of their backtracking budget (counted as no match: the answer may miss
 * lines), and a body about to pass --http-max-response (cut after a
 * whole line). Without until the search ends at the open end
 * (agg_open_end: the collector's clock + 10 minutes); when records of
 * the selected names are stamped past it, the stream ends with
 * {"ahead":{...}} saying how many (api_ahead_line), before any partial
 * line.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "collector/api/api_count.h"
#include "collector/api/api_internal.h"
#include "collector/api/api_pool.h"
#include "collector/api/api_xparams.h"
#include "collector/search/search.h"
#include "common/log.h"
#include "common/record.h"
#include "common/xmalloc.h"

struct api_logs {
    struct api               *api;
    struct evhttp_request    *req;
    struct evhttp_connection *evcon;
    struct api_params         p;
    struct api_xparams        x;
    struct query             *q;
    struct search            *search;
    uint64_t                  n_damaged;
    uint64_t                  n_aborted;    /* regex matches given up */
    struct evbuffer          *chunk;
    struct pool_job           job;          /* fills out on a worker */
    int                       is_busy;      /* job submitted, not done */
    int                       is_gone;      /* client left while busy */
    int                       is_entered;   /* counted in n_searches */
    struct api_create         cr;           /* by the first job */
    /* Written by the job while is_busy, read by the loop after: */
    struct buf                out;
    int                       rc;           /* search_step status */
    int                       is_full;      /* out holds a slice */
    uint64_t                  n_too_large;  /* records skipped */
    uint64_t                  n_sent;
    uint64_t                  n_bytes;      /* body bytes sent (loop) */
    int                       has_context;  /* before/after > 0 */
    uint64_t                  n_groups;     /* context groups sent */
};

static void
api_logs_free(struct api_logs *s)
{
    if (s->evcon != NULL)
        api_conn_set_closecb(s->api, s->evcon, NULL, NULL);
    if (s->chunk != NULL)
        evbuffer_free(s->chunk);
    if (s->is_entered)
        api_search_leave(s->api);
    search_free(s->search);
    query_free(s->q);
    api_params_fini(&s->p);
    buf_fini(&s->out);
    api_create_fini(&s->cr);
    free(s);
}

/* The client went away (or the server is shutting down). A slice being
 * filled on a worker is cancelled; its done callback frees the search. */
static void
api_logs_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct api_logs *s = arg;
    struct evhttp_request *req = s->req;

    s->evcon = NULL;
    s->req = NULL;
    if (s->is_busy) {           /* n_sent is the job's meanwhile */
        log_debug("api", "search client gone, cancelling its slice");
        s->is_gone = 1;
        pool_cancel(&s->job);
    } else {
        log_debug("api", "search client gone after %llu records",
                  (unsigned long long)s->n_sent);
        api_logs_free(s);
    }
    /* A request evhttp detached from its failed connection is ours to
     * free; an attached one is freed by evhttp with the connection. */
    if (evhttp_request_get_connection(req) == NULL)
        evhttp_request_free(req);
}

/* Replaces the closing "}\n" of the record just appended with the
 * context query's fields: ,"group":N and, for a context line,
 * ,"context":true. */
static int
api_logs_group_fields(struct api_logs *s, int is_context)
{
    char f[64];
    int n = snprintf(f, sizeof(f), ",\"group\":%llu%s}\n",
                     (unsigned long long)s->n_groups,
                     is_context ? ",\"context\":true" : "");

    s->out.len -= 2;                /* "}\n" */
    return buf_append(&s->out, f, (size_t)n);
}

/* search_emit_fn: one JSON line (after a break line for a new group). */
static int
api_logs_emit_cb(const struct logrec *r, int is_context, int is_group_start,
                 void *arg)
{
    struct api_logs *s = arg;
    size_t saved = s->out.len;
    static const char brk[] = "{\"break\":true}\n";

    if (is_group_start && buf_append(&s->out, brk, sizeof(brk) - 1) < 0)
        goto fail;
    if (record_json_append(&s->out, r) < 0)
        goto fail;
    if (s->p.has_spans && !is_context &&
        api_spans_append(&s->out, s->q, r) < 0)
        goto fail;
    if (s->has_context) {
        uint64_t n_groups = s->n_groups;
        if (s->n_groups == 0 || is_group_start)
            s->n_groups++;
        if (api_logs_group_fields(s, is_context) < 0) {
            s->n_groups = n_groups;
            goto fail;
        }
    }
    s->n_sent++;
    s->is_full = s->out.len >= API_SLICE_BYTES;
    return s->is_full;
fail:
    s->out.len = saved;
    s->n_too_large++;           /* counted and logged on the loop */
    s->is_full = 1;
    return 1;
}

/* Appends the last line {"error":why,"partial":true}: a cap reached
 * and/or regex matches given up (either way the answer may miss lines). */
static void
api_logs_partial_line(struct api_logs *s, const char *cap)
{
    static const char tail[] = ",\"partial\":true}\n";
    char why[320];
    int n = 0;

    if (s->n_aborted > 0)
        n = snprintf(why, sizeof(why), "%s%s%llu regex matches exceeded the "
                     "backtracking limit and were treated as no match",
                     cap != NULL ? cap : "", cap != NULL ? "; " : "",
                     (unsigned long long)s->n_aborted);
    else
        n = snprintf(why, sizeof(why), "%s", cap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(why))
        n = (int)sizeof(why) - 1;
    log_info("api", "search ended partial: %s", why);
    if (buf_append(&s->out, "{\"error\":", 9) < 0 ||
        json_str_append(&s->out, why, (size_t)n) < 0 ||
        buf_append(&s->out, tail, sizeof(tail) - 1) < 0)
        log_warn("api", "cannot append the search error line");
}

/* On a worker: the first job compiles the query and creates the search;
 * each later one fills s->out with the next slice. */
static void
api_logs_run(struct pool_job *j)
{
    struct api_logs *s = j->arg;

    if (api_create_run(&s->cr, s->api->store, &s->p, &s->q, &s->search))
        return;
    buf_reset(&s->out);
    s->is_full = 0;
    s->rc = api_search_slice(s->search, j, api_logs_emit_cb, s, &s->is_full);
}

static int api_logs_submit(struct api_logs *s);

/* On the loop: counts what the slice found and sends it. 1 when the
 * search is complete. */
static int
api_logs_fill_done(struct api_logs *s)
{
    int rc = s->rc;

    api_search_counts(s->api, s->search, s->q, &s->n_damaged,
                      &s->n_aborted);
    if (s->n_too_large > 0) {
        s->api->stats->http_errors += s->n_too_large;
        log_warn("api", "%llu records too large for a reply, skipped",
                 (unsigned long long)s->n_too_large);
        s->n_too_large = 0;
    }
    /* what the open end left out, before any partial line (the last) */
    if (rc != SEARCH_MORE && s->cr.n_ahead > 0 &&
        api_ahead_line(&s->out, s->cr.n_ahead, s->cr.is_ahead_bound,
                       s->p.open_end_ns) < 0)
        log_warn("api", "cannot append the ahead line");
    if (rc == SEARCH_ERROR || (rc == SEARCH_DONE && s->n_aborted > 0))
        api_logs_partial_line(s, rc == SEARCH_ERROR ? search_errstr(s->search)
                                                    : NULL);
    return rc != SEARCH_MORE;
}

/* Keeps the body within --http-max-response: when this slice would pass
 * it, the slice is cut after its last whole line within the bound and the
 * stream ends with an error line (not counted against the bound). 1 if
 * it did so. */
static int
api_logs_bound(struct api_logs *s)
{
    uint64_t room = s->api->max_response - s->n_bytes;
    char why[160];

    if (s->out.len <= room)
        return 0;
    size_t keep = (size_t)room;
    while (keep > 0 && s->out.data[keep - 1] != '\n')
        keep--;                     /* whole lines only */
    s->out.len = keep;
    int n = snprintf(why, sizeof(why), "response cut at %llu bytes "
                     "(--http-max-response): narrow the query or lower "
                     "the limit", (unsigned long long)s->api->max_response);
    s->api->stats->http_responses_cut++;
    log_info("api", "search response cut at %llu bytes",
             (unsigned long long)s->api->max_response);
    if (buf_append(&s->out, "{\"error\":", 9) < 0 ||
        json_str_append(&s->out, why, (size_t)n) < 0 ||
        buf_append(&s->out, ",\"partial\":true}\n", 17) < 0)
        log_warn("api", "cannot append the cut line");
    return 1;
}

static void api_logs_written_cb(struct evhttp_connection *evcon, void *arg);

static void
api_logs_free_cb(void *s)
{
    api_logs_free(s);
}

/* Before the stream has begun: frees s, replies code with why. */
static void
api_logs_fail(struct api_logs *s, int code, const char *why)
{
    api_reply_error_after(s->api, s->req, code, why, api_logs_free_cb, s);
}

/* On the loop, after the creation job: the error reply, or the stream's
 * start and its first slice. */
static void
api_logs_created(struct api_logs *s)
{
    if (s->cr.code != 0) {
        api_logs_fail(s, s->cr.code, s->cr.err);
        return;
    }
    if (api_logs_submit(s) < 0) {
        api_logs_fail(s, HTTP_INTERNAL, "cannot start search");
        return;
    }
    s->cr.is_started = 1;
    api_stream_start(s->req);
}

/* pool_done_fn: the search is created, or a slice is ready (or the client
 * left meanwhile). */
static void
api_logs_done(struct pool_job *j, int is_run)
{
    struct api_logs *s = j->arg;

    s->is_busy = 0;
    if (s->is_gone || !is_run) {
        if (!s->is_gone && !s->cr.is_started) {    /* the pool is stopping */
            api_logs_fail(s, HTTP_SERVUNAVAIL,
                          "the query workers are stopping");
            return;
        }
        if (!s->is_gone) {      /* the pool is stopping */
            struct evhttp_request *req = s->req;
            api_logs_free(s);
            evhttp_send_reply_end(req);
            return;
        }
        api_logs_free(s);
        return;
    }
    if (!s->cr.is_started) {
        api_logs_created(s);
        return;
    }
    int is_done = api_logs_fill_done(s);

    if (api_logs_bound(s))
        is_done = 1;
    s->n_bytes += s->out.len;
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
    if (!is_done && s->out.len == 0) {
        /* nothing to send, so evhttp cannot notice a client gone */
        if (s->evcon != NULL && api_peer_gone(s->evcon)) {
            evhttp_connection_free(s->evcon);   /* close_cb frees s */
            return;
        }
        if (api_logs_submit(s) < 0)
            is_done = 1;
    }
    if (is_done) {
        struct evhttp_request *req = s->req;
        api_logs_free(s);
        evhttp_send_reply_end(req);
    }
}

/* The next slice, once the last one has been written: a client that does
 * not read stops its search here (no job, no buffer growth). */
static int
api_logs_submit(struct api_logs *s)
{
    /* evhttp calls the written callback at every drain of the output (a
     * TLS bufferevent drains in several steps): one job at a time */
    if (s->is_busy)
        return 0;
    if (api_pool_submit(s->api, &s->job) < 0)
        return -1;
    s->is_busy = 1;
    return 0;
}

static void
api_logs_written_cb(struct evhttp_connection *evcon, void *arg)
{
    struct api_logs *s = arg;

    if (api_logs_submit(s) < 0) {
        struct evhttp_request *req = s->req;
        api_logs_free(s);
        evhttp_send_reply_end(req);
    }
}

/* Parses the parameters (replying 400 on failure) into the search's
 * spec; compiling and creating it is the first job's. -1 when a reply has
 * been sent. */
static int
api_logs_prepare(struct api_logs *s, const char *query)
{
    struct search_spec spec;
    char *rest = NULL, *err = NULL;

    if (api_xparams_split(query, API_XEP_LOGS, &s->x, &rest, &err) < 0) {
        api_reply_error(s->api, s->req, HTTP_BADREQUEST, err);
        free(err);
        return -1;
    }
    int rc = api_search_parse(s->api, s->req, rest, API_EP_LOGS, &s->p);
    free(rest);
    if (rc < 0)
        return -1;
    api_search_spec(&s->p, NULL, &spec);
    spec.limit = s->p.limit > 0 ? s->p.limit : UINT64_MAX;     /* 0: all */
    spec.is_tail = s->p.is_tail && s->p.limit > 0;
    spec.before = s->x.before;
    spec.after = s->x.after;
    s->has_context = spec.before > 0 || spec.after > 0;
    if (s->p.is_tail && s->has_context)
        s->cr.pre_err = xstrdup("order=tail cannot be used with "
                                "before/after");
    spec.max_scan_bytes = api_max_scan(s->api, &s->x);
    s->cr.spec = spec;
    return 0;
}

void
api_logs(struct api *a, struct evhttp_request *req, const char *query)
{
    if (api_search_enter(a, req) < 0)
        return;
    struct api_logs *s = xcalloc(1, sizeof(*s));

    s->api = a;
    s->req = req;
    s->is_entered = 1;
    s->job.run = api_logs_run;
    s->job.done = api_logs_done;
    s->job.arg = s;
    buf_init(&s->out, API_MAX_RECORD_JSON);
    if (api_logs_prepare(s, query) < 0) {
        api_logs_free(s);
        return;
    }
    s->chunk = evbuffer_new();
    if (s->chunk == NULL || api_logs_submit(s) < 0) {
        api_reply_error(a, req, HTTP_INTERNAL, "cannot start search");
        api_logs_free(s);
        return;
    }
    /* the creation job runs; a client leaving meanwhile cancels it */
    s->evcon = evhttp_request_get_connection(req);
    api_conn_set_closecb(s->api, s->evcon, api_logs_close_cb, s);
}
