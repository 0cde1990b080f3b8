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
 */
#include "collector/api/api_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "collector/api/api_internal.h"
#include "collector/api/api_pool.h"
#include "collector/metrics/downsample.h"
#include "collector/search/query.h"
#include "collector/metrics/redis_metrics.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define AM_ERR_QUERY   "error OR fatal OR panic OR exception OR critical"
#define AM_ERR_WINDOW_MS (15 * 60 * 1000LL)
#define AM_HOUR_MS     (3600 * 1000LL)
#define AM_MISSED      3           /* intervals before a host is down */

/* One api per process (struct api has no metrics field yet). */
static const struct api *am_api;
static struct rmetrics *am_rm;

struct am_ctr {                     /* a container of a host, /health */
    char   *name;
    double  state, restarts, restarts_1h, cpu_pct, mem_bytes, mem_limit;
    int     has_state;
};

struct am_latest {                  /* a latest value, /health */
    char           *name;
    char           *container;
    char            point[RMETRICS_POINT_MAX];  /* as Redis holds it */
    size_t          point_len;
    struct rm_point pt;             /* parsed by the job */
    int             is_bad;
};

struct am_host {
    char          *host;
    int64_t        last_seen_ms;
    int64_t        interval_ms;
    int64_t        newest_ms;       /* newest latest-value time */
    double         cpu_pct, mem_pct, fs_max_pct;
    int            has_cpu, has_mem, has_fs;
    struct am_ctr *ctrs;
    size_t         n_ctrs;
    struct am_latest     *latest;   /* copied on the loop, parsed by the */
    size_t                n_latest; /* job with restarts */
    struct rm_series_set *restarts; /* container.restarts, last hour */
};

struct am_call {
    struct api                 *a;
    struct evhttp_request      *req;
    struct evhttp_connection   *evcon;
    int                         is_gone;    /* client hung up */
    int                         n_wait;
    int                         err;
    char                        errstr[256];
    int64_t                     now_ms;
    struct api_metrics_params   p;
    struct am_host             *hosts;
    size_t                      n_hosts;
    int                         is_all_ctrs;    /* health: containers=all */
    struct pool_job             job;        /* /query: the downsampling;
                                             * /health: the error count */
    int                         is_sampling;    /* job submitted, not done */
    struct rm_series_set       *series;     /* /query: taken from Redis */
    uint64_t                    n_bad_points;   /* by the job */
    json_t                     *reply;      /* by the job */
};

/* ---- call lifetime ---- */

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

static struct am_call *
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

static void
am_call_set_err(struct am_call *c, const char *errstr)
{
    if (c->err)
        return;
    c->err = 1;
    snprintf(c->errstr, sizeof(c->errstr), "%s", errstr ? errstr : "error");
}

/* Sends v (taken) or the call's error unless the client left; frees c. */
static void
am_call_reply(struct am_call *c, json_t *v)
{
    if (!c->is_gone) {
        if (c->evcon != NULL)
            api_conn_set_closecb(c->a, c->evcon, NULL, NULL);
        if (c->err) {
            api_reply_error(c->a, c->req, 503, c->errstr);
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

static json_t *
am_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *
am_time_json(int64_t ms)
{
    char t[40];

    if (ms <= 0)
        return json_null();
    size_t n = time_ns_format(ms * 1000000, t);
    return json_stringn(t, n);
}

/* ---- public: attach ---- */

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

static int
am_require(struct api *a, struct evhttp_request *req)
{
    if (api_metrics_rmetrics(a) != NULL)
        return 0;
    api_reply_error(a, req, 503, "metrics disabled: no --redis");
    return -1;
}

/* ---- GET /api/v1/metrics ---- */

static void
am_names_cb(int err, const char *errstr, const char *const *names, size_t n,
            void *arg)
{
    struct am_call *c = arg;

    if (err) {
        am_call_set_err(c, errstr);
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

/* ---- GET /api/v1/metrics/query ---- */

static json_t *
am_series_json(const struct am_call *c, const struct rm_series *s,
               struct rm_point *buf)
{
    const struct api_metrics_params *p = &c->p;
    int64_t step = p->step_ms;
    size_t n = downsample_avg(s->points, s->n_points, p->from_ms, p->to_ms,
                              p->step_ms, buf, p->max_points, &step);
    struct series_summary sum;

    series_summarize(s->points, s->n_points, &sum);
    json_t *pts = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(pts, json_pack("[I,o]", (json_int_t)buf[i].ts_ms,
                                             am_num(buf[i].value)));
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o}",
                     "name", s->name, "host", s->host,
                     "container", s->container, "label", s->label,
                     "step_ms", (json_int_t)step, "min", am_num(sum.min),
                     "avg", am_num(sum.avg), "max", am_num(sum.max),
                     "last", am_num(sum.last), "points", pts);
}

/* On a worker: the taken series parsed and into c->reply (the loop
 * leaves c alone while the job runs; a cancelled job leaves no reply). A
 * series without a valid point is left out, as Redis had none. */
static void
am_series_run(struct pool_job *j)
{
    struct am_call *c = j->arg;
    struct rm_point *buf = xcalloc(c->p.max_points, sizeof(*buf));
    json_t *arr = json_array();

    for (size_t i = 0; i < c->series->n && !pool_is_cancelled(j); i++) {
        struct rm_series *s = &c->series->series[i];
        c->n_bad_points += rm_series_parse(s);
        json_t *o = s->n_points > 0 ? am_series_json(c, s, buf) : NULL;
        if (o != NULL)
            json_array_append_new(arr, o);
    }
    free(buf);
    if (pool_is_cancelled(j))
        json_decref(arr);
    else
        c->reply = json_pack("{s:o}", "series", arr);
}

/* pool_done_fn: the reply is ready (or the workers are stopping). */
static void
am_series_done(struct pool_job *j, int is_run)
{
    struct am_call *c = j->arg;
    json_t *v = c->reply;

    c->is_sampling = 0;
    c->reply = NULL;
    api_search_leave(c->a);
    rmetrics_count_bad_points(api_metrics_rmetrics(c->a), c->n_bad_points);
    if (!is_run || v == NULL)
        am_call_set_err(c, "the query workers are stopping");
    am_call_reply(c, v);
}

/* Once Redis has answered: c's job on a worker, admitted as a search
 * under --max-searches (a 503 over it), or c answered. evhttp does not
 * read while a request is in progress, so a client gone meanwhile (Redis
 * slow or reconnecting) is seen by a peek: no search slot, no job for it
 * (am_close_cb marks c gone). */
static void
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

static void
am_series_cb(int err, const char *errstr, const struct rm_series *s,
             size_t n, void *arg)
{
    struct am_call *c = arg;

    if (err) {
        am_call_set_err(c, errstr);
        am_call_reply(c, NULL);
        return;
    }
    c->series = rmetrics_series_take(api_metrics_rmetrics(c->a));
    am_job_start(c, am_series_run, am_series_done);
}

void
api_metrics_query(struct api *a, struct evhttp_request *req,
                  const char *query)
{
    char *err = NULL;

    struct api_metrics_params p;

    if (am_require(a, req) < 0)
        return;
    if (api_metrics_params_parse(query, now_ns() / 1000000, &p, &err) < 0) {
        api_reply_error(a, req, HTTP_BADREQUEST, err);
        free(err);
        return;
    }
    struct am_call *c = am_call_new(a, req);
    c->p = p;
    struct rm_query q = {
        .name = c->p.name, .host = c->p.host, .container = c->p.container,
        .label = c->p.label, .from_ms = c->p.from_ms, .to_ms = c->p.to_ms,
    };
    if (rmetrics_query(api_metrics_rmetrics(a), &q, am_series_cb, c) < 0) {
        am_call_set_err(c, "metrics query failed");
        am_call_reply(c, NULL);
    }
}

/* ---- GET /api/v1/health ---- */

/* Records the calling thread has matched against AM_ERR_QUERY. */
static _Thread_local uint64_t am_n_err_scanned;

uint64_t
api_metrics_n_err_scanned_here(void)
{
    return am_n_err_scanned;
}

static struct am_ctr *
am_ctr_get(struct am_host *h, const char *name)
{
    for (size_t i = 0; i < h->n_ctrs; i++)
        if (strcmp(h->ctrs[i].name, name) == 0)
            return &h->ctrs[i];
    h->ctrs = xreallocarray(h->ctrs, h->n_ctrs + 1, sizeof(*h->ctrs));
    struct am_ctr *ct = &h->ctrs[h->n_ctrs++];
    memset(ct, 0, sizeof(*ct));
    ct->name = xstrdup(name);
    return ct;
}

static void
am_latest_host(struct am_host *h, const struct am_latest *l)
{
    const char *n = l->name;
    double v = l->pt.value;

    if (strcmp(n, "host.cpu.user_pct") == 0 ||
        strcmp(n, "host.cpu.system_pct") == 0 ||
        strcmp(n, "host.cpu.iowait_pct") == 0 ||
        strcmp(n, "host.cpu.steal_pct") == 0) {
        h->cpu_pct += v;
        h->has_cpu = 1;
    } else if (strcmp(n, "host.mem.used_pct") == 0) {
        h->mem_pct = v;
        h->has_mem = 1;
    } else if (strcmp(n, "host.fs.used_pct") == 0) {
        if (!h->has_fs || v > h->fs_max_pct)
            h->fs_max_pct = v;
        h->has_fs = 1;
    }
}

static void
am_latest_ctr(struct am_host *h, const struct am_latest *l)
{
    const char *n = l->name;
    double v = l->pt.value;

    if (strncmp(n, "container.", 10) != 0 || l->container[0] == '\0')
        return;
    struct am_ctr *ct = am_ctr_get(h, l->container);
    if (strcmp(n, "container.state") == 0) {
        ct->state = v;
        ct->has_state = 1;
    } else if (strcmp(n, "container.restarts") == 0) {
        ct->restarts = v;
    } else if (strcmp(n, "container.cpu_pct") == 0) {
        ct->cpu_pct = v;
    } else if (strcmp(n, "container.mem.bytes") == 0) {
        ct->mem_bytes = v;
    } else if (strcmp(n, "container.mem.limit_bytes") == 0) {
        ct->mem_limit = v;
    }
}

static void am_health_step(struct am_call *c);

struct am_host_arg {                /* which host a callback is for */
    struct am_call *c;
    size_t          idx;
};

/* On the loop: the host's latest values copied as text, parsed by the
 * job (am_host_apply). */
static void
am_latest_cb(int err, const char *errstr, const struct rm_latest *l,
             size_t n, void *arg)
{
    struct am_host_arg *ha = arg;
    struct am_call *c = ha->c;
    struct am_host *h = &c->hosts[ha->idx];

    free(ha);
    if (err)
        am_call_set_err(c, errstr);
    if (!err && n > 0)
        h->latest = xcalloc(n, sizeof(*h->latest));
    for (size_t i = 0; !err && i < n; i++) {
        struct am_latest *o = &h->latest[h->n_latest++];
        o->name = xstrdup(l[i].name);
        o->container = xstrdup(l[i].container);
        o->point_len = l[i].point_len < sizeof(o->point) ? l[i].point_len :
                       sizeof(o->point);
        memcpy(o->point, l[i].point, o->point_len);
    }
    am_health_step(c);
}

/* On the loop: the host's restart counters taken unparsed. */
static void
am_restarts_cb(int err, const char *errstr, const struct rm_series *s,
               size_t n, void *arg)
{
    struct am_host_arg *ha = arg;
    struct am_call *c = ha->c;

    if (err)
        am_call_set_err(c, errstr);
    else
        c->hosts[ha->idx].restarts = rmetrics_series_take(
            api_metrics_rmetrics(c->a));
    free(ha);
    am_health_step(c);
}

/* On the worker: the latest values and restart counters of h parsed and
 * applied; the points that are not are counted in *n_bad. */
static void
am_host_apply(struct am_host *h, uint64_t *n_bad)
{
    for (size_t i = 0; i < h->n_latest; i++) {
        struct am_latest *l = &h->latest[i];
        l->is_bad = rm_latest_parse(l->point, l->point_len, &l->pt) < 0;
        *n_bad += l->is_bad;
        if (!l->is_bad && l->pt.ts_ms > h->newest_ms)
            h->newest_ms = l->pt.ts_ms;
    }
    /* values older than the host's last frame by 3 intervals are gone
     * (a removed container, an unmounted filesystem) */
    for (size_t i = 0; i < h->n_latest; i++) {
        struct am_latest *l = &h->latest[i];
        if (l->is_bad ||
            l->pt.ts_ms < h->newest_ms - AM_MISSED * h->interval_ms)
            continue;
        am_latest_host(h, l);
        am_latest_ctr(h, l);
    }
    for (size_t i = 0; h->restarts != NULL && i < h->restarts->n; i++) {
        struct rm_series *si = &h->restarts->series[i];
        if (si->container[0] == '\0')
            continue;
        *n_bad += rm_series_parse(si);
        if (si->n_points == 0)
            continue;
        double first = si->points[0].value;
        double last = si->points[si->n_points - 1].value;
        /* a counter that went back (container recreated) counts from 0 */
        struct am_ctr *ct = am_ctr_get(h, si->container);
        ct->restarts_1h = last >= first ? last - first : last;
    }
}

/* On the worker: matching log lines of host in the last 15 minutes;
 * *is_capped when the scan stopped at API_METRICS_ERR_SCAN_MAX records (a
 * lower bound). Stops early, with any count, when j is cancelled. */
static int64_t
am_error_lines(struct am_call *c, const struct pool_job *j,
               const struct query *q, const char *host, int *is_capped)
{
    struct store_filter f = {
        .since_ns = (c->now_ms - AM_ERR_WINDOW_MS) * 1000000,
        .until_ns = INT64_MAX, .host = host, .stream = -1,
    };
    struct store_cursor *cur = store_cursor_new(c->a->store, &f, 1);
    struct logrec r;
    int64_t n = 0;
    uint64_t scanned = 0;
    int rc;

    *is_capped = 0;
    if (cur == NULL)
        return 0;
    while ((rc = store_cursor_next(cur, &r)) != 0) {
        if (rc < 0)
            continue;
        if (++scanned > API_METRICS_ERR_SCAN_MAX) {
            *is_capped = 1;
            break;
        }
        if (scanned % API_STEP_RECORDS == 0 && pool_is_cancelled(j))
            break;
        am_n_err_scanned++;
        n += query_match(q, r.msg, r.msg_len);
    }
    store_cursor_free(cur);
    return n;
}

static const char *
am_state_name(double st)
{
    switch ((int)st) {
    case 1: return "running";
    case 2: return "paused";
    case 3: return "restarting";
    default: return "stopped";
    }
}

/* NULL when healthy, else the reason. */
static const char *
am_ctr_unhealthy(const struct am_ctr *ct, char *buf, size_t len)
{
    if (ct->has_state && (int)ct->state == 3)
        return "restarting";
    if (ct->has_state && (int)ct->state == 0 && ct->restarts_1h > 0)
        return "stopped after restarts";
    if (ct->restarts_1h > 0) {
        snprintf(buf, len, "%.0f restarts in the last hour", ct->restarts_1h);
        return buf;
    }
    return NULL;
}

/* On the worker. q NULL: containers=all (logq containers), which wants
 * no error count. */
static json_t *
am_health_host_json(struct am_call *c, const struct pool_job *j,
                    struct am_host *h, json_t *bad, int *all_ok,
                    const struct query *q)
{
    int is_up = c->now_ms - h->last_seen_ms <= AM_MISSED * h->interval_ms;
    int running = 0, capped = 0;
    double restarts_1h = 0;
    char why[64];

    if (!is_up)
        *all_ok = 0;
    for (size_t i = 0; i < h->n_ctrs; i++) {
        struct am_ctr *ct = &h->ctrs[i];
        running += ct->has_state && (int)ct->state == 1;
        restarts_1h += ct->restarts_1h;
        const char *reason = am_ctr_unhealthy(ct, why, sizeof(why));
        if (reason == NULL && !c->is_all_ctrs)
            continue;
        if (reason != NULL)
            *all_ok = 0;
        json_array_append_new(bad, json_pack(
            "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o}",
            "host", h->host, "container", ct->name,
            "state", ct->has_state ? json_string(am_state_name(ct->state))
                                   : json_null(),
            "restarts", am_num(ct->restarts),
            "restarts_1h", am_num(ct->restarts_1h),
            "cpu_pct", am_num(ct->cpu_pct), "mem_bytes", am_num(ct->mem_bytes),
            "mem_limit_bytes", am_num(ct->mem_limit), "healthy",
            reason == NULL,
            "reason", reason ? json_string(reason) : json_null()));
    }
    int64_t errs = q != NULL ? am_error_lines(c, j, q, h->host, &capped) : 0;
    return json_pack("{s:s, s:b, s:o, s:f, s:o, s:o, s:o, s:i, s:I, s:o, "
                     "s:o, s:b}",
                     "host", h->host, "up", is_up,
                     "last_seen", am_time_json(h->last_seen_ms),
                     "interval_s", (double)h->interval_ms / 1000.0,
                     "cpu_pct", h->has_cpu ? am_num(h->cpu_pct) : json_null(),
                     "mem_pct", h->has_mem ? am_num(h->mem_pct) : json_null(),
                     "fs_max_pct", h->has_fs ? am_num(h->fs_max_pct) :
                                   json_null(),
                     "containers_running", running,
                     "containers_total", (json_int_t)h->n_ctrs,
                     "restarts_1h", am_num(restarts_1h),
                     "error_lines_15m", q == NULL ? json_null() :
                                        json_integer((json_int_t)errs),
                     "error_lines_capped", capped);
}

static json_t *
am_redis_json(struct api *a)
{
    struct rmetrics_counters k;

    rmetrics_get_counters(api_metrics_rmetrics(a), &k);
    return json_pack("{s:b, s:I, s:I, s:I, s:I}",
                     "connected", k.is_connected,
                     "samples_written", (json_int_t)k.samples_written,
                     "samples_dropped", (json_int_t)k.samples_dropped,
                     "errors", (json_int_t)k.redis_errors,
                     "reconnects", (json_int_t)k.reconnects);
}

/* On a worker: parses every host's values and counts its error lines
 * into c->reply (hosts, containers, all_ok; the loop adds its own
 * counters). A cancelled job leaves no reply. */
static void
am_health_run(struct pool_job *j)
{
    struct am_call *c = j->arg;
    struct query *q = NULL;

    if (!c->is_all_ctrs) {
        char *qerr = NULL;
        q = query_parse(AM_ERR_QUERY, strlen(AM_ERR_QUERY), NULL, 1, &qerr);
        free(qerr);
        if (q == NULL)
            return;                 /* a constant: cannot happen */
    }
    json_t *hosts = json_array(), *bad = json_array();
    int all_ok = 1;
    for (size_t i = 0; i < c->n_hosts && !pool_is_cancelled(j); i++) {
        am_host_apply(&c->hosts[i], &c->n_bad_points);
        json_array_append_new(hosts, am_health_host_json(c, j, &c->hosts[i],
                                                         bad, &all_ok, q));
    }
    query_free(q);
    if (pool_is_cancelled(j)) {
        json_decref(hosts);
        json_decref(bad);
        return;
    }
    c->reply = json_pack("{s:o, s:o, s:b}", "hosts", hosts, "containers",
                         bad, "all_ok", all_ok);
}

/* pool_done_fn: the loop's counters added, the reply sent. */
static void
am_health_done(struct pool_job *j, int is_run)
{
    struct am_call *c = j->arg;
    json_t *v = c->reply;

    c->is_sampling = 0;
    c->reply = NULL;
    api_search_leave(c->a);
    rmetrics_count_bad_points(api_metrics_rmetrics(c->a), c->n_bad_points);
    if (!is_run || v == NULL) {
        json_decref(v);
        am_call_set_err(c, "the query workers are stopping");
        am_call_reply(c, NULL);
        return;
    }
    json_t *losses = api_losses_json(c->a);
    json_object_set_new(v, "redis", am_redis_json(c->a));
    json_object_set_new(v, "losses", losses ? losses : json_null());
    am_call_reply(c, v);
}

static void
am_health_finish(struct am_call *c)
{
    if (c->err || c->is_gone)
        am_call_reply(c, NULL);
    else
        am_job_start(c, am_health_run, am_health_done);
}

static void
am_health_step(struct am_call *c)
{
    if (--c->n_wait == 0)
        am_health_finish(c);
}

static void
am_health_start_host(struct am_call *c, struct rmetrics *rm, size_t i)
{
    struct am_host_arg *la = xmalloc(sizeof(*la));
    struct am_host_arg *ra = xmalloc(sizeof(*ra));
    struct rm_query q = {
        .name = "container.restarts", .host = c->hosts[i].host,
        .from_ms = c->now_ms - AM_HOUR_MS, .to_ms = c->now_ms,
    };

    *la = (struct am_host_arg){ c, i };
    *ra = (struct am_host_arg){ c, i };
    c->n_wait += 2;
    if (rmetrics_latest(rm, c->hosts[i].host, am_latest_cb, la) < 0) {
        free(la);
        am_call_set_err(c, "metrics query failed");
        c->n_wait--;
    }
    if (rmetrics_query(rm, &q, am_restarts_cb, ra) < 0) {
        free(ra);
        am_call_set_err(c, "metrics query failed");
        c->n_wait--;
    }
}

static void
am_hosts_cb(int err, const char *errstr, const struct rm_host *h, size_t n,
            void *arg)
{
    struct am_call *c = arg;

    if (err) {
        am_call_set_err(c, errstr);
        am_call_reply(c, NULL);
        return;
    }
    c->hosts = xcalloc(n + 1, sizeof(*c->hosts));
    for (size_t i = 0; i < n; i++) {
        c->hosts[i].host = xstrdup(h[i].host);
        c->hosts[i].last_seen_ms = h[i].last_seen_ms;
        c->hosts[i].interval_ms = h[i].interval_ms > 0 ? h[i].interval_ms :
                                  10000;
    }
    c->n_hosts = n;
    c->n_wait = 1;                  /* held until every host is started */
    for (size_t i = 0; i < n; i++)
        am_health_start_host(c, api_metrics_rmetrics(c->a), i);
    am_health_step(c);
}

void
api_metrics_health(struct api *a, struct evhttp_request *req,
                   const char *query)
{
    int is_all = query != NULL && strcmp(query, "containers=all") == 0;

    if (am_require(a, req) < 0)
        return;
    if (query != NULL && query[0] != '\0' && !is_all) {
        api_reply_error(a, req, HTTP_BADREQUEST, "unknown parameters: only "
                        "containers=all is accepted");
        return;
    }
    struct am_call *c = am_call_new(a, req);
    c->is_all_ctrs = is_all;
    if (rmetrics_hosts(api_metrics_rmetrics(a), am_hosts_cb, c) < 0) {
        am_call_set_err(c, "metrics query failed");
        am_call_reply(c, NULL);
    }
}
