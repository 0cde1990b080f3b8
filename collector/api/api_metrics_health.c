/* SPDX-License-Identifier: MIT */
/*
 * api_metrics_health: GET /api/v1/health on the loop (API.md): the hosts
 * Redis knows, then per host its latest values and one hour of
 * container.restarts, kept as text; once all have answered, one job on a
 * worker (api_metrics_health_job.c) judges them, and the loop adds the
 * Redis writer's counters and the collector's losses to its reply.
 */
#include "collector/api/api_metrics_internal.h"

#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "collector/api/api_internal.h"
#include "collector/api/api_pool.h"
#include "collector/metrics/redis_metrics.h"
#include "common/xmalloc.h"

struct am_host_arg {                /* which host a callback is for */
    struct am_call *c;
    size_t          idx;
};

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

/* pool_done_fn: the loop's counters added, the reply sent. */
static void
am_health_done(struct pool_job *j, int is_run)
{
    struct am_call *c = j->arg;
    json_t *v = am_job_end(c, is_run);

    if (v == NULL) {
        am_call_reply(c, NULL);
        return;
    }
    json_t *losses = api_losses_json(c->a);
    json_object_set_new(v, "redis", am_redis_json(c->a));
    json_object_set_new(v, "losses", losses ? losses : json_null());
    json_t *ahead = api_clock_ahead_json(c->a);
    json_object_set_new(v, "clock_ahead", ahead ? ahead : json_null());
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
