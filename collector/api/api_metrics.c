/* SPDX-License-Identifier: MIT */
/*
 * api_metrics: the metrics endpoints (API.md "Metrics"). Each request
 * becomes a struct am_call answered from redis_metrics callbacks; the
 * connection's close callback marks the call gone so a client that hangs
 * up meanwhile is never written to (the call itself lives until its last
 * callback). The series of /api/v1/metrics/query are taken from the
 * Redis reply, parsed and downsampled into JSON on a query worker
 * (admitted as a search under --max-searches), never on the loop.
 * /api/v1/health fans out per host (latest values + one hour of
 * container.restarts, kept as text), then one job on a worker (admitted
 * the same way) parses them and counts each host's error lines of the last
 * 15 minutes with a bounded scan of the log store. Output via jansson.
 * Parts, one job each (api_metrics_internal.h holds the call they
 * share): this file the call's life, /api/v1/metrics and the admission
 * of a call's worker job; api_metrics_query.c /api/v1/metrics/query;
 * api_metrics_health.c /api/v1/health on the loop (the fan-out per host,
 * the reply); api_metrics_health_job.c its job on a worker.
 */
#include "collector/api/api_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "collector/api/api_internal.h"
#include "collector/api/api_metrics_internal.h"
#include "collector/api/api_pool.h"
#include "collector/metrics/redis_metrics.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

/* One api per process (struct api has no metrics field yet). */
static const struct api *am_api;
static struct rmetrics *am_rm;

static void
am_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct am_call *c = arg;

    c->is_gone = 1;
    if (c->is_sampling)
        pool_cancel(&c->job);
    /* No reply is sent once gone, so a request evhttp detached from its
     * failed connection is ours to free (as in the other handlers). */
    if (evhttp_request_get_connection(c->req) == NULL)
        evhttp_request_free(c->req);
}

struct am_call *
am_call_new(struct api *a, struct evhttp_request *req)
{
    struct am_call *c = xcalloc(1, sizeof(*c));

    c->a = a;
    c->req = req;
    c->evcon = evhttp_request_get_connection(req);
    c->now_ms = now_ns() / 1000000;
    if (c->evcon != NULL)
        api_conn_set_closecb(c->a, c->evcon, am_close_cb, c);
    return c;
}

static void
am_call_free(struct am_call *c)
{
    for (size_t i = 0; i < c->n_hosts; i++) {
        struct am_host *h = &c->hosts[i];
        for (size_t j = 0; j < h->n_ctrs; j++)
            free(h->ctrs[j].name);
        free(h->ctrs);
        for (size_t j = 0; j < h->n_latest; j++) {
            free(h->latest[j].name);
            free(h->latest[j].container);
        }
        free(h->latest);
        rm_series_set_free(h->restarts);
        free(h->host);
    }
    free(c->hosts);
    rm_series_set_free(c->series);
    json_decref(c->reply);
    api_metrics_params_fini(&c->p);
    free(c);
}

void
am_call_set_err(struct am_call *c, const char *errstr)
{
    if (c->err)
        return;
    c->err = 1;
    snprintf(c->errstr, sizeof(c->errstr), "%s", errstr ? errstr : "error");
}

void
am_call_set_read_err(struct am_call *c, int err, const char *errstr)
{
    if (c->err)
        return;
    am_call_set_err(c, errstr);
    if (err == RMETRICS_ERR_TOO_BIG)
        c->err_status = 422;
}

/* Sends v (taken) or the call's error unless the client left; frees c. */
void
am_call_reply(struct am_call *c, json_t *v)
{
    if (!c->is_gone) {
        if (c->evcon != NULL)
            api_conn_set_closecb(c->a, c->evcon, NULL, NULL);
        if (c->err) {
            api_reply_error(c->a, c->req,
                            c->err_status ? c->err_status : 503, c->errstr);
        } else {
            char *text = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
            if (text == NULL)
                api_reply_error(c->a, c->req, HTTP_INTERNAL,
                                "cannot format reply");
            else
                api_reply_json(c->req, text, strlen(text));
            free(text);
        }
    }
    json_decref(v);
    am_call_free(c);
}

json_t *
am_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *
am_time_json(int64_t ms)
{
    char t[40];

    if (ms <= 0)
        return json_null();
    size_t n = time_ns_format(ms * 1000000, t);
    return json_stringn(t, n);
}

void
api_metrics_attach(struct api *a, struct rmetrics *rm)
{
    am_api = a;
    am_rm = rm;
}

struct rmetrics *
api_metrics_rmetrics(const struct api *a)
{
    return a == am_api ? am_rm : NULL;
}

int
am_require(struct api *a, struct evhttp_request *req)
{
    if (api_metrics_rmetrics(a) != NULL)
        return 0;
    api_reply_error(a, req, 503, "metrics disabled: no --redis");
    return -1;
}

/* Once Redis has answered: c's job on a worker, admitted as a search
 * under --max-searches (a 503 over it), or c answered. evhttp does not
 * read while a request is in progress, so a client gone meanwhile (Redis
 * slow or reconnecting) is seen by a peek: no search slot, no job for it
 * (am_close_cb marks c gone). */
void
am_job_start(struct am_call *c, pool_run_fn run, pool_done_fn done)
{
    if (!c->is_gone && c->evcon != NULL && api_peer_gone(c->evcon))
        evhttp_connection_free(c->evcon);
    if (c->is_gone) {
        am_call_reply(c, NULL);
        return;
    }
    if (api_search_admit(c->a) < 0) {
        api_retry_after(c->req);
        am_call_set_err(c, "too many searches in progress: retry later");
        am_call_reply(c, NULL);
        return;
    }
    c->job.run = run;
    c->job.done = done;
    c->job.arg = c;
    if (api_pool_submit(c->a, &c->job) < 0) {
        api_search_leave(c->a);
        am_call_set_err(c, "cannot start request");
        am_call_reply(c, NULL);
        return;
    }
    c->is_sampling = 1;
}

/* The first half of both pool_done_fns: the search slot given back and
 * the job's bad points counted. A job that did not run, or left no
 * reply, sets c's error. */
json_t *
am_job_end(struct am_call *c, int is_run)
{
    json_t *v = c->reply;

    c->is_sampling = 0;
    c->reply = NULL;
    api_search_leave(c->a);
    rmetrics_count_bad_points(api_metrics_rmetrics(c->a), c->n_bad_points);
    if (!is_run || v == NULL) {
        json_decref(v);
        am_call_set_err(c, "the query workers are stopping");
        return NULL;
    }
    return v;
}

static void
am_names_cb(int err, const char *errstr, const char *const *names, size_t n,
            void *arg)
{
    struct am_call *c = arg;

    if (err) {
        am_call_set_read_err(c, err, errstr);
        am_call_reply(c, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(names[i]));
    am_call_reply(c, json_pack("{s:o}", "names", arr));
}

void
api_metrics_list(struct api *a, struct evhttp_request *req,
                 const char *query)
{
    if (am_require(a, req) < 0)
        return;
    struct am_call *c = am_call_new(a, req);
    if (rmetrics_names(api_metrics_rmetrics(a), am_names_cb, c) < 0) {
        am_call_set_err(c, "metrics query failed");
        am_call_reply(c, NULL);
    }
}
