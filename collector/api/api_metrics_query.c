/* SPDX-License-Identifier: MIT */
/*
 * api_metrics_query: GET /api/v1/metrics/query (API.md "Metrics"): the
 * series Redis returns are taken unparsed, then parsed, summarized and
 * downsampled into JSON on a query worker (admitted as a search under
 * --max-searches), never on the loop.
 */
#include "collector/api/api_metrics_internal.h"

#include <stdlib.h>

#include <event2/http.h>
#include <jansson.h>

#include "collector/api/api_internal.h"
#include "collector/api/api_pool.h"
#include "collector/metrics/downsample.h"
#include "collector/metrics/redis_metrics.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

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
    json_t *v = am_job_end(c, is_run);

    am_call_reply(c, v);
}

static void
am_series_cb(int err, const char *errstr, const struct rm_series *s,
             size_t n, void *arg)
{
    struct am_call *c = arg;

    if (err) {
        am_call_set_read_err(c, err, errstr);
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
