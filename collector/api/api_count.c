/* SPDX-License-Identifier: MIT */
/*
 * api_count: GET /api/v1/count and /api/v1/histogram. Both run the same
 * search as /logs (collector/search/search.c, no limit, no context)
 * feeding every match into an aggregate (collector/search/agg.c), in
 * slices on the query workers (api_pool.c), so neither a scan over
 * gigabytes nor a slow regex delays the loop; the first job compiles the
 * query and creates the search (the loop only parses). Nothing is sent until the
 * scan is over: then 200 with the JSON, or 422 with {"error":...} when the
 * scan cost cap was reached. A client that goes away cancels the slice
 * running (its done callback frees the scan) or frees it at once.
 */
#include "collector/api/api_count.h"

#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "collector/search/agg.h"
#include "collector/api/api_internal.h"
#include "collector/api/api_pool.h"
#include "collector/api/api_xparams.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define API_AGG_MAX_REPLY ((size_t)64 << 20)
#define API_UNPROCESSABLE 422

struct api_agg {
    struct api               *api;
    struct evhttp_request    *req;
    struct evhttp_connection *evcon;
    struct api_params         p;
    struct api_xparams        x;
    struct query             *q;
    struct search            *search;
    struct pool_job           job;          /* scans on a worker */
    int                       is_busy;      /* job submitted, not done */
    int                       is_gone;      /* client left while busy */
    int                       is_entered;   /* counted in n_searches */
    int                       rc;           /* by the job */
    int                       is_hist;
    struct api_create         cr;           /* by the first job */
    struct agg_count         *count;
    struct agg_hist           hist;
    uint64_t                  n_damaged;
    uint64_t                  n_aborted;    /* regex matches given up */
};

uint64_t
api_max_scan(const struct api *a, const struct api_xparams *x)
{
    /* --max-scan-bytes bounds every search; a request may only lower it */
    return x->max_scan > 0 && x->max_scan < a->max_scan_bytes
           ? x->max_scan : a->max_scan_bytes;
}

void
api_search_spec(const struct api_params *p, const struct query *q,
                struct search_spec *spec)
{
    memset(spec, 0, sizeof(*spec));
    spec->filter.since_ns = p->since_ns;
    spec->filter.until_ns = p->until_ns;
    spec->filter.sel = p->sel;
    spec->filter.stream = p->stream;
    /* received_since (/follow): the store reads only the blocks received
     * since (collector/STORE.md "Receive-time range"); 0 or before: as
     * the emit check alone did, every record */
    if (p->has_recv_since && p->recv_since_ns > 0)
        spec->filter.recv_since_ns = p->recv_since_ns;
    spec->q = q;
    spec->limit = UINT64_MAX;
    spec->is_newest_first = p->is_newest_first;
    spec->max_scan_bytes = SEARCH_DEFAULT_MAX_SCAN;
}

static void
api_agg_free(struct api_agg *s)
{
    if (s->evcon != NULL)
        api_conn_set_closecb(s->api, s->evcon, NULL, NULL);
    if (s->is_entered)
        api_search_leave(s->api);
    search_free(s->search);
    query_free(s->q);
    api_params_fini(&s->p);
    agg_count_free(s->count);
    agg_hist_fini(&s->hist);
    api_create_fini(&s->cr);
    free(s);
}

static void
api_agg_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct api_agg *s = arg;
    struct evhttp_request *req = s->req;

    log_debug("api", "aggregate client gone");
    s->evcon = NULL;
    if (s->is_busy) {           /* the job's done callback frees it */
        s->is_gone = 1;
        pool_cancel(&s->job);
    } else {
        api_agg_free(s);
    }
    if (evhttp_request_get_connection(req) == NULL)
        evhttp_request_free(req);
}

static int
api_agg_emit_cb(const struct logrec *r, int is_context, int is_group_start,
                void *arg)
{
    struct api_agg *s = arg;

    if (s->is_hist)
        agg_hist_add(&s->hist, r->time_ns);
    else
        agg_count_add(s->count, r);
    return 0;
}

/* store_count_fn: a block's matches counted by the store's index. */
static int
api_agg_count_cb(const struct store_blk_count *bc, void *arg)
{
    struct api_agg *s = arg;

    if (s->is_hist)
        return agg_hist_add_block(&s->hist, bc->min_ns, bc->max_ns, bc->n);
    return agg_count_add_block(s->count, bc->n, bc->host, bc->container,
                               bc->stream_mask);
}

static void
api_agg_reply(struct api_agg *s)
{
    struct buf out;

    buf_init(&out, s->api->max_response < API_AGG_MAX_REPLY
                   ? (size_t)s->api->max_response : API_AGG_MAX_REPLY);
    int rc = s->is_hist ? agg_hist_format(&s->hist, &out)
                        : agg_count_format(s->count, &out);
    /* what the open end left out (collector/API.md "Records stamped
     * ahead"): the same count as /logs */
    if (rc == 0)
        rc = api_ahead_field(&out, &s->cr, s->p.open_end_ns);
    if (rc < 0) {
        s->api->stats->http_responses_cut++;
        api_reply_error(s->api, s->req, HTTP_INTERNAL, "reply too large "
                        "(--http-max-response): narrow the query or use "
                        "fewer buckets");
    } else
        api_reply_json(s->req, (const char *)out.data, out.len);
    buf_fini(&out);
}

/* On a worker: the first job compiles the query and creates the search,
 * each later one runs a slice of the scan into the aggregate. */
static void
api_agg_run(struct pool_job *j)
{
    struct api_agg *s = j->arg;

    if (api_create_run(&s->cr, s->api->store, &s->p, &s->q, &s->search))
        return;
    s->rc = api_search_slice(s->search, j, api_agg_emit_cb, s, NULL);
}

static void
api_agg_free_cb(void *s)
{
    api_agg_free(s);
}

/* Before the scan has begun: frees s, replies code with why. */
static void
api_agg_fail(struct api_agg *s, int code, const char *why)
{
    api_reply_error_after(s->api, s->req, code, why, api_agg_free_cb, s);
}

/* On the loop, after the creation job: the error reply, or the scan. */
static void
api_agg_created(struct api_agg *s)
{
    struct timeval wtv = { API_STREAM_WRITE_S, 0 };

    if (s->cr.code != 0) {
        api_agg_fail(s, s->cr.code, s->cr.err);
        return;
    }
    if (api_pool_submit(s->api, &s->job) < 0) {
        api_agg_fail(s, HTTP_INTERNAL, "cannot start the scan");
        return;
    }
    s->is_busy = 1;
    s->cr.is_started = 1;
    /* The scan may outlast the plain request timeout: no read timeout
     * (the reply is then sent with Connection: close). */
    bufferevent_set_timeouts(evhttp_connection_get_bufferevent(s->evcon),
                             NULL, &wtv);
}

/* pool_done_fn: the search is created; or counts, then the next slice or
 * the reply. */
static void
api_agg_done(struct pool_job *j, int is_run)
{
    struct api_agg *s = j->arg;
    int rc = s->rc;

    s->is_busy = 0;
    if (s->is_gone) {
        api_agg_free(s);
        return;
    }
    if (!s->cr.is_started) {
        if (is_run)
            api_agg_created(s);
        else
            api_agg_fail(s, HTTP_SERVUNAVAIL,
                         "the query workers are stopping");
        return;
    }
    api_search_counts(s->api, s->search, s->q, &s->n_damaged,
                      &s->n_aborted);
    if (is_run && rc == SEARCH_MORE && s->evcon != NULL &&
        api_peer_gone(s->evcon)) {
        log_debug("api", "aggregate client gone");
        evhttp_connection_free(s->evcon);   /* close_cb frees s */
        return;
    }
    if (is_run && rc == SEARCH_MORE) {
        if (api_pool_submit(s->api, &s->job) == 0) {
            s->is_busy = 1;
            return;
        }
        rc = SEARCH_ERROR;
    }
    if (s->evcon != NULL)
        api_conn_set_closecb(s->api, s->evcon, NULL, NULL);
    s->evcon = NULL;
    evhttp_add_header(evhttp_request_get_output_headers(s->req),
                      "Connection", "close");
    if (!is_run || rc == SEARCH_MORE) {
        api_reply_error(s->api, s->req, HTTP_SERVUNAVAIL,
                        "the query workers are stopping");
    } else if (rc == SEARCH_ERROR) {
        log_info("api", "aggregate ended early: %s",
                 search_errstr(s->search));
        api_reply_error(s->api, s->req, API_UNPROCESSABLE,
                        search_errstr(s->search));
    } else {
        api_agg_reply(s);
    }
    api_agg_free(s);
}

/* The histogram's range: the request's, else from the store's first
 * record (agg_hist_range) to the until api_agg_prepare resolved. */
static int
api_hist_setup(struct api_agg *s, const struct store_stats *st,
               char **errstr)
{
    int64_t since, until;
    int64_t span = agg_hist_range(s->p.since_ns, s->p.until_ns,
                                  st->n_records > 0, st->first_ns, &since,
                                  &until);
    int64_t step = s->x.has_step ? s->x.step_ns : agg_step_auto(span);
    return agg_hist_init(&s->hist, since, until, step, errstr);
}

static int
api_agg_prepare(struct api_agg *s, const char *query)
{
    struct search_spec spec;
    char *rest = NULL, *err = NULL;
    int code = HTTP_BADREQUEST;

    if (api_xparams_split(query, s->is_hist ? API_XEP_HISTOGRAM
                                            : API_XEP_COUNT,
                          &s->x, &rest, &err) < 0)
        goto fail;
    int rc = api_search_parse(s->api, s->req, rest, API_EP_LOGS, &s->p);
    free(rest);
    if (rc < 0)
        return -1;
    /* Without until both end at now, or just past the newest record if
     * that is later, at most AGG_FUTURE_NS ahead (agg_open_until): the
     * same records for /count and /histogram, and a record a sender
     * stamped in 2262 stretches neither. */
    struct store_stats st;
    store_get_stats(s->api->store, &st);
    if (!s->p.has_until)
        s->p.until_ns = agg_open_until(st.n_records > 0, st.last_ns,
                                       s->p.now_ns);
    /* its error is the reply only if the query compiles (as before) */
    if (s->is_hist && api_hist_setup(s, &st, &err) < 0) {
        s->cr.pre_err = err != NULL ? err : xstrdup("bad request");
        err = NULL;
    }
    if (!s->is_hist)
        s->count = agg_count_new((enum agg_by)s->x.by, s->x.by_name);
    api_search_spec(&s->p, NULL, &spec);
    spec.is_newest_first = 0;
    spec.max_scan_bytes = api_max_scan(s->api, &s->x);
    spec.count_fn = api_agg_count_cb;
    spec.count_arg = s;
    s->cr.spec = spec;
    return 0;
fail:
    api_reply_error(s->api, s->req, code, err ? err : "bad request");
    free(err);
    return -1;
}

static void
api_agg_start(struct api *a, struct evhttp_request *req, const char *query,
              int is_hist)
{
    if (api_search_enter(a, req) < 0)
        return;
    struct api_agg *s = xcalloc(1, sizeof(*s));

    s->api = a;
    s->req = req;
    s->is_hist = is_hist;
    s->is_entered = 1;
    s->job.run = api_agg_run;
    s->job.done = api_agg_done;
    s->job.arg = s;
    if (api_agg_prepare(s, query) < 0) {
        api_agg_free(s);
        return;
    }
    if (api_pool_submit(a, &s->job) < 0) {
        api_reply_error(a, req, HTTP_INTERNAL, "cannot start the scan");
        api_agg_free(s);
        return;
    }
    s->is_busy = 1;
    /* the creation job runs; a client leaving meanwhile cancels it */
    s->evcon = evhttp_request_get_connection(req);
    api_conn_set_closecb(s->api, s->evcon, api_agg_close_cb, s);
}

void
api_count(struct api *a, struct evhttp_request *req, const char *query)
{
    api_agg_start(a, req, query, 0);
}

void
api_histogram(struct api *a, struct evhttp_request *req, const char *query)
{
    api_agg_start(a, req, query, 1);
}
