/* SPDX-License-Identifier: MIT */
/*
 * api_grafana: the Grafana JSON datasource API (simpod-json-datasource and
 * the older simple-json) under /grafana; targets and payloads are in
 * collector/GRAFANA.md. Bodies are validated by the pure grafana_req.c,
 * on the query workers (a call's first job: a body of up to 1 MiB with
 * its filter regexes never delays the loop); this file only acts on them.
 * Metric targets read Redis asynchronously through redis_metrics.c
 * (callbacks on the loop); the series a reply brings are taken and
 * filtered, downsampled and written on the query workers (one job per
 * target, admitted as a search under --max-searches); log targets and
 * annotations are api_grafana_logs.c (the search of /api/v1/logs, run in
 * slices on the query workers, queued from this file's step event); name
 * lists (/variable, /tag-keys, /tag-values, payload options) are
 * api_grafana_sets.c. Every
 * reply is JSON written into one struct buf capped at GRAFANA_MAX_REPLY
 * (jansson would cost ~50 bytes per point). A client that goes away marks
 * the call gone: work stops, and the call is freed once no Redis reply is
 * outstanding (hiredis callbacks cannot be cancelled).
 */
#include "collector/api/api_grafana.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "collector/api/api_grafana_internal.h"
#include "collector/api/api_metrics.h"
#include "collector/api/api_pool.h"
#include "collector/metrics/downsample.h"
#include "collector/metrics/redis_metrics.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

static void gcall_step_cb(evutil_socket_t fd, short what, void *arg);

struct rmetrics *
api_grafana_rm(const struct gcall *c)
{
    return api_metrics_rmetrics(c->api);
}

/* ---- call lifetime ---- */

static void
gcall_free(struct gcall *c)
{
    if (c->evcon != NULL)
        api_conn_set_closecb(c->api, c->evcon, NULL, NULL);
    if (c->ev != NULL)
        event_free(c->ev);
    api_grafana_scan_free(c->scan);
    rm_series_set_free(c->series);
    json_decref(c->set);
    grafana_req_fini(&c->r);
    buf_fini(&c->out);
    free(c->body);
    free(c->parse_err);
    free(c);
}

void
api_grafana_maybe_free(struct gcall *c)
{
    if ((c->is_done || c->is_gone) && c->n_pending == 0)
        gcall_free(c);
}

static void
gcall_detach(struct gcall *c)
{
    if (c->evcon != NULL)
        api_conn_set_closecb(c->api, c->evcon, NULL, NULL);
    c->evcon = NULL;
    c->is_done = 1;
}

void
api_grafana_fail(struct gcall *c, int code, const char *msg)
{
    if (c->is_done || c->is_gone)
        return;
    gcall_detach(c);
    api_reply_error(c->api, c->req, code, msg);
}

/* Sends out as the reply (closing the array or object first). */
void
api_grafana_reply(struct gcall *c, const char *close)
{
    if (c->is_done || c->is_gone)
        return;
    gput(c, close);
    if (c->is_oflow) {
        c->api->stats->http_responses_cut++;
        api_grafana_fail(c, HTTP_BADREQUEST, "reply too large "
                         "(--http-max-response): narrow the time range, the "
                         "targets or maxDataPoints");
        return;
    }
    gcall_detach(c);
    api_reply_json(c->req, (const char *)c->out.data, c->out.len);
}

static void
gcall_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct gcall *c = arg;
    struct evhttp_request *req = c->req;

    c->evcon = NULL;
    c->is_gone = 1;
    if (c->is_parsing || c->is_sampling)
        pool_cancel(&c->job);
    api_grafana_scan_cancel(c);
    if (evhttp_request_get_connection(req) == NULL)
        evhttp_request_free(req);
    log_debug("api", "grafana client gone, %d redis replies pending",
              c->n_pending);
    api_grafana_maybe_free(c);
}

int
api_grafana_redis_back(struct gcall *c, int err, const char *errstr)
{
    char msg[300];

    c->n_pending--;
    if (c->is_done || c->is_gone) {
        api_grafana_maybe_free(c);
        return 1;
    }
    if (err == RMETRICS_ERR_TOO_BIG) {     /* narrowing helps: not 503 */
        snprintf(msg, sizeof(msg), "metrics query too large: %s",
                 errstr ? errstr : "narrow it");
        api_grafana_fail(c, 422, msg);
        api_grafana_maybe_free(c);
        return 1;
    }
    if (err) {
        snprintf(msg, sizeof(msg), "metrics unavailable: %s",
                 errstr ? errstr : "redis error");
        api_grafana_fail(c, HTTP_SERVUNAVAIL, msg);
        api_grafana_maybe_free(c);
        return 1;
    }
    return 0;
}

static int
gcall_has_redis(struct gcall *c)
{
    if (api_grafana_rm(c) != NULL)
        return 1;
    api_grafana_fail(c, HTTP_SERVUNAVAIL, "metrics disabled: no --redis");
    return 0;
}

void
api_grafana_queue_failed(struct gcall *c)
{
    c->n_pending--;
    api_grafana_fail(c, HTTP_SERVUNAVAIL,
                     "metrics unavailable: redis queue full");
}

/* ---- /metrics, /search, /variable metrics ---- */

static const char gmetric_payloads[] =
    "[{\"name\":\"host\",\"label\":\"Host\",\"type\":\"multi-select\"},"
    "{\"name\":\"container\",\"label\":\"Container\","
    "\"type\":\"multi-select\"},"
    "{\"name\":\"label\",\"label\":\"Label\",\"type\":\"select\"},"
    "{\"name\":\"alias\",\"label\":\"Alias\",\"type\":\"input\"}]";
static const char glog_payloads[] =
    "[{\"name\":\"q\",\"label\":\"Query\",\"type\":\"input\"},"
    "{\"name\":\"host\",\"label\":\"Host\",\"type\":\"multi-select\"},"
    "{\"name\":\"container\",\"label\":\"Container\","
    "\"type\":\"multi-select\"},"
    "{\"name\":\"limit\",\"label\":\"Rows\",\"type\":\"input\"}]";
static const char gcount_payloads[] =
    "[{\"name\":\"q\",\"label\":\"Query\",\"type\":\"input\"},"
    "{\"name\":\"host\",\"label\":\"Host\",\"type\":\"multi-select\"},"
    "{\"name\":\"container\",\"label\":\"Container\","
    "\"type\":\"multi-select\"}]";

static void
gmetrics_one(struct gcall *c, const char *value, const char *label,
             const char *payloads)
{
    gitem(c);
    if (c->r.ep == GRAFANA_EP_SEARCH) {
        gput_cstr(c, value);
        return;
    }
    if (c->r.ep == GRAFANA_EP_VARIABLE) {
        gput(c, "{\"__text\":");
        gput_cstr(c, value);
        gput(c, ",\"__value\":");
        gput_cstr(c, value);
        gput(c, "}");
        return;
    }
    gput(c, "{\"label\":");
    gput_cstr(c, label);
    gput(c, ",\"value\":");
    gput_cstr(c, value);
    gput(c, ",\"payloads\":");
    gput(c, payloads);
    gput(c, "}");
}

static void
gmetrics_write(struct gcall *c, const char *const *names, size_t n)
{
    gput(c, "[");
    if (c->r.ep != GRAFANA_EP_VARIABLE) {
        gmetrics_one(c, "logs:count", "log lines per minute by host",
                     gcount_payloads);
        gmetrics_one(c, "logs", "log search (table)", glog_payloads);
    }
    for (size_t i = 0; i < n; i++)
        gmetrics_one(c, names[i], names[i], gmetric_payloads);
    api_grafana_reply(c, "]");
}

static void
gmetrics_names_cb(int err, const char *errstr, const char *const *names,
                  size_t n, void *arg)
{
    struct gcall *c = arg;

    if (api_grafana_redis_back(c, err, errstr))
        return;
    gmetrics_write(c, names, n);
    api_grafana_maybe_free(c);
}

static void
gmetrics(struct gcall *c)
{
    if (api_grafana_rm(c) == NULL) {
        if (c->r.ep == GRAFANA_EP_VARIABLE)
            api_grafana_fail(c, HTTP_SERVUNAVAIL,
                             "metrics disabled: no --redis");
        else
            gmetrics_write(c, NULL, 0);
        return;
    }
    c->n_pending++;
    if (rmetrics_names(api_grafana_rm(c), gmetrics_names_cb, c) < 0)
        api_grafana_queue_failed(c);
}

/* ---- /query: metric targets ---- */

static void
gseries_name(const struct grafana_target *t, const struct rm_series *s,
             char *out, size_t len)
{
    snprintf(out, len, "%s%s%s%s%s%s", t->alias ? t->alias : "",
             t->alias && t->alias[0] ? " " : "", s->host,
             s->container[0] ? "/" : "", s->container,
             s->label[0] ? " " : "");
    size_t n = strlen(out);
    if (s->label[0] && n < len)
        snprintf(out + n, len - n, "%s", s->label);
}

/* 1 if the series passes the target's matchers and the ad-hoc filters
 * (a series has no image, stream or Docker labels: those are not
 * applied). */
static int
gseries_passes(const struct gcall *c, const struct grafana_target *t,
               const struct rm_series *s)
{
    const struct grafana_subject sub = {
        .names = { s->host, s->container },
    };
    const struct grafana_match *lists[2] = { t->matches, c->r.filters };
    size_t ns[2] = { t->n_matches, c->r.n_filters };

    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < ns[l]; i++)
            if (!grafana_match_subject(&lists[l][i], &sub))
                return 0;
    return 1;
}

/* Buckets start at multiples of the step (grafana_step): the first one at
 * the range's start rounded down. */
static void
gseries_write(struct gcall *c, const struct grafana_target *t,
              const struct rm_series *s, struct rm_point *tmp)
{
    char name[4 * GRAFANA_MAX_NAME];
    int64_t step = grafana_step(c->r.from_ms, c->r.to_ms, c->r.interval_ms,
                                c->r.max_points);
    int64_t first = grafana_first_bucket(c->r.from_ms, step);
    size_t n = downsample_avg(s->points, s->n_points, first, c->r.to_ms,
                              step, tmp, c->r.max_points, NULL);

    gseries_name(t, s, name, sizeof(name));
    gitem(c);
    gput(c, "{\"target\":");
    gput_cstr(c, name);
    gput(c, ",\"datapoints\":[");
    for (size_t i = 0; i < n && !c->is_oflow; i++)
        gput_point(c, tmp[i].value, tmp[i].ts_ms, i == 0);
    gput(c, "]}");
}

/* On a worker: the taken series of target c->at, filtered, downsampled
 * and written to c->out (the loop touches neither while the job runs). */
static void
gseries_run(struct pool_job *j)
{
    struct gcall *c = j->arg;
    const struct grafana_target *t = &c->r.targets[c->at];
    struct rm_point *tmp = xcalloc(c->r.max_points, sizeof(*tmp));

    for (size_t i = 0; i < c->series->n && !c->is_oflow &&
         !pool_is_cancelled(j); i++) {
        struct rm_series *s = &c->series->series[i];
        if (!gseries_passes(c, t, s))
            continue;
        c->n_bad_points += rm_series_parse(s);
        if (s->n_points > 0)        /* none valid: as if Redis had none */
            gseries_write(c, t, s, tmp);
    }
    free(tmp);
}

/* pool_done_fn: the target is written: the next one, on the next turn. */
static void
gseries_done(struct pool_job *j, int is_run)
{
    struct gcall *c = j->arg;

    c->is_sampling = 0;
    c->n_pending--;
    api_search_leave(c->api);
    rmetrics_count_bad_points(api_grafana_rm(c), c->n_bad_points);
    c->n_bad_points = 0;
    rm_series_set_free(c->series);
    c->series = NULL;
    if (!is_run) {
        api_grafana_fail(c, HTTP_SERVUNAVAIL, "the query workers are "
                         "stopping");
    } else if (!c->is_done && !c->is_gone) {
        c->at++;
        event_active(c->ev, EV_TIMEOUT, 0);
    }
    api_grafana_maybe_free(c);
}

static void
gquery_series_cb(int err, const char *errstr, const struct rm_series *s,
                 size_t n, void *arg)
{
    struct gcall *c = arg;

    if (api_grafana_redis_back(c, err, errstr))
        return;
    /* a client gone while Redis answered (evhttp does not read meanwhile):
     * no slot, no job; gcall_close_cb marks c gone and may free it */
    if (c->evcon != NULL && api_peer_gone(c->evcon)) {
        evhttp_connection_free(c->evcon);
        return;
    }
    if (api_search_admit(c->api) < 0) {
        api_retry_after(c->req);
        api_grafana_fail(c, HTTP_SERVUNAVAIL, "too many searches in "
                         "progress: retry later");
        api_grafana_maybe_free(c);
        return;
    }
    c->series = rmetrics_series_take(api_grafana_rm(c));
    c->job.run = gseries_run;
    c->job.done = gseries_done;
    c->job.arg = c;
    if (api_pool_submit(c->api, &c->job) < 0) {
        api_search_leave(c->api);
        api_grafana_fail(c, HTTP_INTERNAL, "cannot start request");
        api_grafana_maybe_free(c);
        return;
    }
    c->n_pending++;
    c->is_sampling = 1;
}

/* The one value key k may have for target t, when pinned, else NULL. */
const char *
api_grafana_exact(const struct gcall *c, const struct grafana_target *t,
       enum grafana_key k)
{
    const char *v = grafana_match_exact(t->matches, t->n_matches, k);

    return v != NULL ? v : grafana_match_exact(c->r.filters, c->r.n_filters,
                                               k);
}

static void
gquery_metric(struct gcall *c, const struct grafana_target *t)
{
    struct rm_query q = {
        .name = t->target, .host = api_grafana_exact(c, t, GRAFANA_K_HOST),
        .container = api_grafana_exact(c, t, GRAFANA_K_CONTAINER),
        .label = t->label, .from_ms = c->r.from_ms, .to_ms = c->r.to_ms,
    };

    if (!gcall_has_redis(c))
        return;
    c->n_pending++;
    if (rmetrics_query(api_grafana_rm(c), &q, gquery_series_cb, c) < 0)
        api_grafana_queue_failed(c);
}

/* ---- /query driver ---- */

static void
gquery_next(struct gcall *c)
{
    while (c->at < c->r.n_targets && !c->is_done) {
        struct grafana_target *t = &c->r.targets[c->at];
        if (t->kind == GRAFANA_T_METRIC) {
            gquery_metric(c, t);
            return;
        }
        api_grafana_scan_start(c, t, t->q, t->is_icase, NULL,
                               t->kind == GRAFANA_T_LOG_COUNT ? GSCAN_COUNT
                                                              : GSCAN_TABLE,
                               t->limit);
        return;
    }
    if (!c->is_done)
        api_grafana_reply(c, "]");
}

/* The current scan is over: close its output, go on with the next. */
static void
gscan_finish(struct gcall *c)
{
    api_grafana_scan_close(c);
    if (!c->is_done) {
        c->at++;
        gquery_next(c);
    }
}

static void
gcall_step_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gcall *c = arg;

    if (c->is_done || c->is_gone)
        return;
    if (c->scan == NULL) {
        gquery_next(c);
    } else {
        api_grafana_scan_submit(c);     /* api_grafana_scan_after next */
        return;
    }
    api_grafana_maybe_free(c);
}

void
api_grafana_scan_after(struct gcall *c, int is_over)
{
    if (c->is_done || c->is_gone) {
        api_grafana_maybe_free(c);
        return;
    }
    if (is_over)
        gscan_finish(c);
    else
        event_active(c->ev, EV_TIMEOUT, 0);
    api_grafana_maybe_free(c);
}

/* ---- endpoints ---- */

static void
gquery(struct gcall *c)
{
    gput(c, "[");
    event_active(c->ev, EV_TIMEOUT, 0);
}

static void
gannotations(struct gcall *c)
{
    gput(c, "[");
    api_grafana_scan_start(c, NULL, c->r.anno_q, c->r.anno_is_icase,
                           c->r.anno_host, GSCAN_ANNOTATIONS,
                           c->r.anno_limit);
}

static void
gpayload_options(struct gcall *c)
{
    static const enum gwant wants[] = {
        [GRAFANA_F_HOST] = GW_HOST,
        [GRAFANA_F_CONTAINER] = GW_CONTAINER,
        [GRAFANA_F_LABEL] = GW_METRIC_LABEL,
    };
    int is_logs = grafana_kind_of(c->r.metric) != GRAFANA_T_METRIC;

    c->fmt = GSET_OPTIONS;
    c->want = wants[c->r.field];
    c->want_metric = c->r.metric;
    c->nm = c->r.payload_m;
    c->n_nm = c->r.n_payload_m;
    if (!is_logs && !gcall_has_redis(c))
        return;
    api_grafana_set_collect(c, is_logs, !is_logs);
}

static void
gvariable(struct gcall *c)
{
    c->fmt = GSET_VARIABLE;
    c->nm = c->r.payload_m;
    c->n_nm = c->r.n_payload_m;
    switch (c->r.var) {
    case GRAFANA_VAR_METRICS:
        gmetrics(c);
        return;
    case GRAFANA_VAR_HOSTS:
        c->want = GW_HOST;
        api_grafana_set_collect(c, 1, 1);
        return;
    case GRAFANA_VAR_CONTAINERS:
        c->want = GW_CONTAINER;
        api_grafana_set_collect(c, 1, 1);
        return;
    }
}

static void
gdispatch(struct gcall *c)
{
    switch (c->r.ep) {
    case GRAFANA_EP_ROOT:
        gput(c, "{\"status\":\"ok\",\"datasource\":\"logq\"");
        api_grafana_reply(c, "}");
        return;
    case GRAFANA_EP_METRICS:
    case GRAFANA_EP_SEARCH:
        gmetrics(c);
        return;
    case GRAFANA_EP_PAYLOAD_OPTIONS:
        gpayload_options(c);
        return;
    case GRAFANA_EP_QUERY:
        gquery(c);
        return;
    case GRAFANA_EP_VARIABLE:
        gvariable(c);
        return;
    case GRAFANA_EP_TAG_KEYS:
        c->fmt = GSET_TAG_KEYS;
        c->want = GW_TAG_KEYS;
        api_grafana_set_collect(c, 1, 0);
        return;
    case GRAFANA_EP_TAG_VALUES:
        c->fmt = GSET_TAG_VALUES;
        c->want = (enum gwant)c->r.tag_key;
        c->want_label_key = c->r.tag_label_key;
        api_grafana_set_collect(c, 1, 1);
        return;
    case GRAFANA_EP_ANNOTATIONS:
        gannotations(c);
        return;
    }
}

/* ---- public ---- */

int
api_grafana_is_path(const char *path)
{
    return strncmp(path, "/grafana", 8) == 0 &&
           (path[8] == '\0' || path[8] == '/');
}

/* Checks the method; -1 after replying (405, or 200 to a HEAD). */
static int
gmethod_ok(struct api *a, struct evhttp_request *req, enum grafana_ep ep)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);

    if (m == EVHTTP_REQ_POST || (ep == GRAFANA_EP_ROOT &&
                                 m == EVHTTP_REQ_GET))
        return 0;
    if (ep == GRAFANA_EP_ROOT && m == EVHTTP_REQ_HEAD) {
        api_reply_head(req, "application/json");
        return -1;
    }
    api_reply_method(a, req, ep == GRAFANA_EP_ROOT ? "GET, HEAD, POST"
                                                   : "POST");
    return -1;
}

/* On a worker: the call's body into c->r. */
static void
gcall_parse_run(struct pool_job *j)
{
    struct gcall *c = j->arg;

    c->parse_rc = grafana_req_parse(c->r.ep, c->body, c->body_len,
                                    c->now_ms, &c->r, &c->parse_err);
    if (c->parse_rc < 0)
        memset(&c->r, 0, sizeof(c->r));    /* fini'd by the parser */
}

/* pool_done_fn: the body is parsed: the 400, or the call goes on. */
static void
gcall_parsed(struct pool_job *j, int is_run)
{
    struct gcall *c = j->arg;

    c->is_parsing = 0;
    c->n_pending--;
    c->api->n_parsing--;
    free(c->body);
    c->body = NULL;
    if (!is_run)
        api_grafana_fail(c, HTTP_SERVUNAVAIL, "the query workers are "
                         "stopping");
    else if (c->parse_rc < 0)
        api_grafana_fail(c, HTTP_BADREQUEST,
                         c->parse_err ? c->parse_err : "bad body");
    else if (!c->is_done && !c->is_gone)
        gdispatch(c);
    api_grafana_maybe_free(c);
}

/* Queues the parse of the body (copied: the request may go first). -1
 * after replying 503 (too many bodies in parsing) or 500. */
static int
gcall_parse_submit(struct gcall *c, const char *body, size_t len)
{
    struct api *a = c->api;

    if (a->n_parsing >= a->max_parsing) {
        a->stats->searches_refused++;
        api_retry_after(c->req);
        api_reply_error(a, c->req, HTTP_SERVUNAVAIL, "too many requests "
                        "in progress: retry later");
        return -1;
    }
    c->body = xmalloc(len + 1);
    memcpy(c->body, body, len);
    c->body[len] = '\0';
    c->body_len = len;
    c->job.run = gcall_parse_run;
    c->job.done = gcall_parsed;
    c->job.arg = c;
    if (api_pool_submit(a, &c->job) < 0) {
        api_reply_error(a, c->req, HTTP_INTERNAL, "cannot start request");
        return -1;
    }
    a->n_parsing++;
    c->n_pending++;
    c->is_parsing = 1;
    return 0;
}

void
api_grafana(struct api *a, struct evhttp_request *req, const char *path)
{
    enum grafana_ep ep;

    if (grafana_ep_from_path(path + 8, &ep) < 0) {
        api_reply_error(a, req, HTTP_NOTFOUND, "no such grafana endpoint");
        return;
    }
    if (gmethod_ok(a, req, ep) < 0)
        return;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    if (body == NULL) {
        api_reply_error(a, req, HTTP_BADREQUEST, "bad body");
        return;
    }
    struct gcall *c = xcalloc(1, sizeof(*c));
    c->api = a;
    c->req = req;
    c->r.ep = ep;
    c->now_ms = now_ns() / 1000000;
    buf_init(&c->out, a->max_response < GRAFANA_MAX_REPLY
                      ? (size_t)a->max_response : GRAFANA_MAX_REPLY);
    c->ev = event_new(a->base, -1, 0, gcall_step_cb, c);
    if (c->ev == NULL) {
        api_reply_error(a, req, HTTP_INTERNAL, "cannot start request");
        gcall_free(c);
        return;
    }
    if (gcall_parse_submit(c, body, len) < 0) {
        gcall_free(c);
        return;
    }
    c->evcon = evhttp_request_get_connection(req);
    api_conn_set_closecb(c->api, c->evcon, gcall_close_cb, c);
}
