/* SPDX-License-Identifier: MIT */
/*
 * api_grafana: the Grafana JSON datasource API (simpod-json-datasource and
 * the older simple-json) under /grafana; targets and payloads are in
 * collector/GRAFANA.md. Bodies are validated by the pure grafana_req.c;
 * this file only acts on them. Metric targets read Redis asynchronously
 * through redis_metrics.c (callbacks on the loop); log targets run the same
 * search as /api/v1/logs (collector/search/search.c, with the collector's
 * --max-scan-bytes cap) in slices of API_SLICE_RECORDS per loop turn, so no
 * request blocks the loop for long, and count into agg.c histograms. A cap
 * reached is an error reply (422), never a silent partial answer. Every
 * reply is JSON written into one struct buf capped at GRAFANA_MAX_REPLY
 * (jansson would cost ~50 bytes per point). A client that goes away marks
 * the call gone: work stops, and the call is freed once no Redis reply is
 * outstanding (hiredis callbacks cannot be cancelled).
 */
#include "collector/api/api_grafana.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "collector/api/api_internal.h"
#include "collector/api/api_metrics.h"
#include "collector/metrics/downsample.h"
#include "collector/metrics/redis_metrics.h"
#include "collector/search/agg.h"
#include "collector/search/search.h"
#include "common/log.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define GRAFANA_MAX_REPLY   ((size_t)64 << 20)
#define GRAFANA_MAX_HOSTS   1000        /* hosts counted, hosts fanned out */
#define GRAFANA_UNPROCESSABLE 422       /* a cost cap was reached */
#define GRAFANA_MAX_MSG     16384       /* message bytes in a table row */

enum gset_fmt {
    GSET_VARIABLE,      /* [{"__text":x,"__value":x}] */
    GSET_TAG_VALUES,    /* [{"text":x}] */
    GSET_OPTIONS,       /* [{"label":x,"value":x}] */
};

/* What a name set collects: a matcher key, or a metric's labels. */
enum gwant {
    GW_HOST = GRAFANA_K_HOST,
    GW_CONTAINER = GRAFANA_K_CONTAINER,
    GW_IMAGE = GRAFANA_K_IMAGE,
    GW_STREAM = GRAFANA_K_STREAM,
    GW_LABEL,
};

/* One log scan: a table (search, annotations) or counts per bucket and
 * host. Matchers are borrowed from the request: the target's payload and
 * the ad-hoc filters. */
struct gscan {
    struct search              *search;
    struct query               *q;
    const struct grafana_match *tm;
    size_t                      n_tm;
    size_t                      n_rows;
    size_t                      limit;
    int                         is_count;
    int                         is_annotation;
    int                         is_full;        /* limit reached */
    int                         is_failed;      /* error sent */
    int64_t                     from_ms;
    int64_t                     until_ms;       /* exclusive */
    int64_t                     step_ms;
    char                      **hosts;          /* logs:count, n_hosts */
    struct agg_hist            *hists;          /* per host */
    size_t                      n_hosts;
    uint64_t                    n_damaged;
};

struct gcall {
    struct api               *api;
    struct evhttp_request    *req;
    struct evhttp_connection *evcon;
    struct grafana_req        r;
    struct event             *ev;       /* gcall_step_cb, next loop turn */
    int                       n_pending;    /* Redis replies awaited */
    int                       is_gone;      /* client left */
    int                       is_done;      /* reply sent */
    int                       is_oflow;     /* out hit its cap */
    size_t                    at;           /* /query: next target */
    size_t                    n_items;
    struct buf                out;
    struct gscan             *scan;
    json_t                   *set;          /* names collected */
    enum gset_fmt             fmt;
    enum gwant                want;
    const char               *want_metric;  /* borrowed from r, or NULL */
    const struct grafana_match *nm;         /* narrowing matchers, from r */
    size_t                    n_nm;
};

static void gcall_step_cb(evutil_socket_t fd, short what, void *arg);

/* The Redis metrics reader, NULL without --redis. */
static struct rmetrics *
grm(const struct gcall *c)
{
    return api_metrics_rmetrics(c->api);
}

/* ---- output helpers ---- */

static void
gput(struct gcall *c, const char *s)
{
    if (!c->is_oflow && buf_append(&c->out, s, strlen(s)) < 0)
        c->is_oflow = 1;
}

static void
gput_str(struct gcall *c, const char *s, size_t n)
{
    if (!c->is_oflow && json_str_append(&c->out, s, n) < 0)
        c->is_oflow = 1;
}

static void
gput_cstr(struct gcall *c, const char *s)
{
    gput_str(c, s, strlen(s));
}

/* Starts an array item: a comma after the first. */
static void
gitem(struct gcall *c)
{
    if (c->n_items++ > 0)
        gput(c, ",");
}

static void
gput_point(struct gcall *c, double v, int64_t ms, int is_first)
{
    char t[80];

    if (isfinite(v))
        snprintf(t, sizeof(t), "%s[%.10g,%lld]", is_first ? "" : ",", v,
                 (long long)ms);
    else
        snprintf(t, sizeof(t), "%s[null,%lld]", is_first ? "" : ",",
                 (long long)ms);
    gput(c, t);
}

/* ---- call lifetime ---- */

static void
gscan_free(struct gscan *s)
{
    if (s == NULL)
        return;
    search_free(s->search);
    query_free(s->q);
    for (size_t i = 0; i < s->n_hosts; i++) {
        free(s->hosts[i]);
        agg_hist_fini(&s->hists[i]);
    }
    free(s->hosts);
    free(s->hists);
    free(s);
}

static void
gcall_free(struct gcall *c)
{
    if (c->evcon != NULL)
        evhttp_connection_set_closecb(c->evcon, NULL, NULL);
    if (c->ev != NULL)
        event_free(c->ev);
    gscan_free(c->scan);
    json_decref(c->set);
    grafana_req_fini(&c->r);
    buf_fini(&c->out);
    free(c);
}

/* Frees c once it has answered (or lost its client) and no Redis reply is
 * still to come. */
static void
gcall_maybe_free(struct gcall *c)
{
    if ((c->is_done || c->is_gone) && c->n_pending == 0)
        gcall_free(c);
}

static void
gcall_detach(struct gcall *c)
{
    if (c->evcon != NULL)
        evhttp_connection_set_closecb(c->evcon, NULL, NULL);
    c->evcon = NULL;
    c->is_done = 1;
}

static void
gcall_fail(struct gcall *c, int code, const char *msg)
{
    if (c->is_done || c->is_gone)
        return;
    gcall_detach(c);
    api_reply_error(c->api, c->req, code, msg);
}

/* Sends out as the reply (closing the array or object first). */
static void
gcall_reply(struct gcall *c, const char *close)
{
    if (c->is_done || c->is_gone)
        return;
    gput(c, close);
    if (c->is_oflow) {
        gcall_fail(c, HTTP_BADREQUEST, "reply too large: narrow the time "
                   "range, the targets or maxDataPoints");
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
    if (evhttp_request_get_connection(req) == NULL)
        evhttp_request_free(req);
    log_debug("api", "grafana client gone, %d redis replies pending",
              c->n_pending);
    gcall_maybe_free(c);
}

/* Called first in every Redis callback: 1 if c is finished with. */
static int
gcall_redis_back(struct gcall *c, int err, const char *errstr)
{
    char msg[300];

    c->n_pending--;
    if (c->is_done || c->is_gone) {
        gcall_maybe_free(c);
        return 1;
    }
    if (err) {
        snprintf(msg, sizeof(msg), "metrics unavailable: %s",
                 errstr ? errstr : "redis error");
        gcall_fail(c, HTTP_SERVUNAVAIL, msg);
        gcall_maybe_free(c);
        return 1;
    }
    return 0;
}

static int
gcall_has_redis(struct gcall *c)
{
    if (grm(c) != NULL)
        return 1;
    gcall_fail(c, HTTP_SERVUNAVAIL, "metrics disabled: no --redis");
    return 0;
}

/* A Redis request could not be queued. */
static void
gcall_queue_failed(struct gcall *c)
{
    c->n_pending--;
    gcall_fail(c, HTTP_SERVUNAVAIL, "metrics unavailable: redis queue full");
}

/* ---- name sets (/variable, /tag-values, /metric-payload-options) ---- */

static void
gset_add(struct gcall *c, const char *name)
{
    if (name != NULL && name[0] != '\0' &&
        json_object_size(c->set) < RMETRICS_MAX_HOSTS * 10)
        json_object_set_new(c->set, name, json_true());
}

static int
gset_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
gset_reply(struct gcall *c)
{
    size_t n = json_object_size(c->set), i = 0;
    const char **names = xcalloc(n + 1, sizeof(*names));
    const char *key;
    json_t *v;

    json_object_foreach(c->set, key, v)
        names[i++] = key;
    qsort(names, n, sizeof(*names), gset_cmp);
    gput(c, "[");
    for (i = 0; i < n; i++) {
        gitem(c);
        gput(c, c->fmt == GSET_VARIABLE ? "{\"__text\":" :
                c->fmt == GSET_TAG_VALUES ? "{\"text\":" : "{\"label\":");
        gput_cstr(c, names[i]);
        if (c->fmt != GSET_TAG_VALUES) {
            gput(c, c->fmt == GSET_VARIABLE ? ",\"__value\":" : ",\"value\":");
            gput_cstr(c, names[i]);
        }
        gput(c, "}");
    }
    free(names);
    gcall_reply(c, "]");
}

/* 1 if (host, container, image) passes the narrowing matchers (NULL:
 * unknown, not checked) and those of the request's ad-hoc filters, except
 * the ones on the key being listed (they would hide its other values). */
static int
gset_passes(const struct gcall *c, const char *host, const char *container,
            const char *image)
{
    const char *v[GRAFANA_K_N] = { host, container, image, NULL };
    const struct grafana_match *lists[2] = { c->nm, c->r.filters };
    size_t ns[2] = { c->n_nm, c->r.n_filters };

    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < ns[l]; i++)
            if ((int)lists[l][i].key != (int)c->want &&
                !grafana_match_value(&lists[l][i], v[lists[l][i].key]))
                return 0;
    return 1;
}

static void
gset_store_cb(const struct store_source_info *si, void *arg)
{
    struct gcall *c = arg;

    if (!gset_passes(c, si->host, si->container, si->image))
        return;
    if (c->want == GW_HOST)
        gset_add(c, si->host);
    else if (c->want == GW_CONTAINER)
        gset_add(c, si->container);
    else if (c->want == GW_IMAGE)
        gset_add(c, si->image);
}

static void
gset_latest_cb(int err, const char *errstr, const struct rm_latest *l,
               size_t n, void *arg)
{
    struct gcall *c = arg;

    if (gcall_redis_back(c, err, errstr))
        return;
    for (size_t i = 0; i < n; i++) {
        if (c->want_metric != NULL && strcmp(l[i].name, c->want_metric) != 0)
            continue;
        /* The host was checked before its values were asked for. */
        if (!gset_passes(c, NULL, l[i].container, NULL))
            continue;
        gset_add(c, c->want == GW_LABEL ? l[i].label : l[i].container);
    }
    if (c->n_pending == 0)
        gset_reply(c);
    gcall_maybe_free(c);
}

static void
gset_latest_of(struct gcall *c, const char *host)
{
    c->n_pending++;
    if (rmetrics_latest(grm(c), host, gset_latest_cb, c) < 0)
        gcall_queue_failed(c);
}

/* Hosts known to Redis: added to the set, or (want != HOST) each one's
 * latest values are asked for. */
static void
gset_hosts_cb(int err, const char *errstr, const struct rm_host *h, size_t n,
              void *arg)
{
    struct gcall *c = arg;

    if (gcall_redis_back(c, err, errstr))
        return;
    for (size_t i = 0; i < n && i < GRAFANA_MAX_HOSTS && !c->is_done; i++) {
        if (!gset_passes(c, h[i].host, NULL, NULL))
            continue;
        if (c->want == GW_HOST)
            gset_add(c, h[i].host);
        else
            gset_latest_of(c, h[i].host);
    }
    if (c->n_pending == 0)
        gset_reply(c);
    gcall_maybe_free(c);
}

/* Collects c->want names that pass c->nm and the ad-hoc filters: from the
 * store when use_store, and from Redis (when there and use_redis) for
 * hosts, containers and labels. */
static void
gset_collect(struct gcall *c, int use_store, int use_redis)
{
    c->set = json_object();
    if (c->want == GW_STREAM) {
        gset_add(c, "stdout");
        gset_add(c, "stderr");
    } else if (use_store && c->want != GW_LABEL)
        store_foreach_source(c->api->store, gset_store_cb, c);
    if (!use_redis || grm(c) == NULL || c->want == GW_IMAGE ||
        c->want == GW_STREAM) {
        gset_reply(c);
        return;
    }
    const char *host = grafana_match_exact(c->nm, c->n_nm, GRAFANA_K_HOST);
    if (c->want != GW_HOST && host != NULL &&
        gset_passes(c, host, NULL, NULL)) {
        gset_latest_of(c, host);
        return;
    }
    c->n_pending++;
    if (rmetrics_hosts(grm(c), gset_hosts_cb, c) < 0)
        gcall_queue_failed(c);
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
    gcall_reply(c, "]");
}

static void
gmetrics_names_cb(int err, const char *errstr, const char *const *names,
                  size_t n, void *arg)
{
    struct gcall *c = arg;

    if (gcall_redis_back(c, err, errstr))
        return;
    gmetrics_write(c, names, n);
    gcall_maybe_free(c);
}

static void
gmetrics(struct gcall *c)
{
    if (grm(c) == NULL) {
        if (c->r.ep == GRAFANA_EP_VARIABLE)
            gcall_fail(c, HTTP_SERVUNAVAIL, "metrics disabled: no --redis");
        else
            gmetrics_write(c, NULL, 0);
        return;
    }
    c->n_pending++;
    if (rmetrics_names(grm(c), gmetrics_names_cb, c) < 0)
        gcall_queue_failed(c);
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
 * (a series has no image or stream: those are not applied). */
static int
gseries_passes(const struct gcall *c, const struct grafana_target *t,
               const struct rm_series *s)
{
    const char *v[GRAFANA_K_N] = { s->host, s->container, NULL, NULL };
    const struct grafana_match *lists[2] = { t->matches, c->r.filters };
    size_t ns[2] = { t->n_matches, c->r.n_filters };

    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < ns[l]; i++)
            if (!grafana_match_value(&lists[l][i], v[lists[l][i].key]))
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

static void
gquery_series_cb(int err, const char *errstr, const struct rm_series *s,
                 size_t n, void *arg)
{
    struct gcall *c = arg;

    if (gcall_redis_back(c, err, errstr))
        return;
    const struct grafana_target *t = &c->r.targets[c->at];
    struct rm_point *tmp = xcalloc(c->r.max_points, sizeof(*tmp));
    for (size_t i = 0; i < n && !c->is_oflow; i++)
        if (gseries_passes(c, t, &s[i]))
            gseries_write(c, t, &s[i], tmp);
    free(tmp);
    c->at++;
    event_active(c->ev, EV_TIMEOUT, 0);
}

/* The one value key k may have for target t, when pinned, else NULL. */
static const char *
gexact(const struct gcall *c, const struct grafana_target *t,
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
        .name = t->target, .host = gexact(c, t, GRAFANA_K_HOST),
        .container = gexact(c, t, GRAFANA_K_CONTAINER),
        .label = t->label, .from_ms = c->r.from_ms, .to_ms = c->r.to_ms,
    };

    if (!gcall_has_redis(c))
        return;
    c->n_pending++;
    if (rmetrics_query(grm(c), &q, gquery_series_cb, c) < 0)
        gcall_queue_failed(c);
}

/* ---- log scans (logs:count, logs, /annotations) ---- */

#define GRAFANA_MAX_CELLS ((size_t)4 << 20)     /* hosts x buckets counted */

/* The store filter narrows by what the matchers pin to one value (the
 * emit callback still checks every matcher). */
static void
gscan_filter(const struct gcall *c, const struct grafana_target *t,
             const char *host, struct store_filter *f)
{
    static const struct grafana_target none;
    const char *v;
    uint8_t stream;

    if (t == NULL)
        t = &none;
    f->since_ns = c->r.from_ms * 1000000;
    f->until_ns = (c->r.to_ms + 1) * 1000000;   /* to is inclusive */
    f->host = host != NULL ? host : gexact(c, t, GRAFANA_K_HOST);
    v = gexact(c, t, GRAFANA_K_CONTAINER);
    /* The store's container filter is a glob: only plain names here. */
    if (v != NULL && v[0] != '\0' && strpbrk(v, "*?[\\") == NULL)
        f->container = v;
    f->image = gexact(c, t, GRAFANA_K_IMAGE);
    v = gexact(c, t, GRAFANA_K_STREAM);
    f->stream = v != NULL && logrec_stream_parse(v, &stream) == 0 ? stream
                                                                  : -1;
}

/* Starts a scan of target t (NULL for /annotations, narrowed to host);
 * -1 after replying 400 on a bad query. */
static int
gscan_start(struct gcall *c, const struct grafana_target *t, const char *q,
            int icase, const char *host, int is_count)
{
    struct gscan *s = xcalloc(1, sizeof(*s));
    struct search_spec spec;
    char *err = NULL;

    s->q = query_parse(q, strlen(q), NULL, icase, &err);
    if (s->q == NULL) {
        gcall_fail(c, HTTP_BADREQUEST, err ? err : "bad log query");
        goto fail;
    }
    memset(&spec, 0, sizeof(spec));
    gscan_filter(c, t, host, &spec.filter);
    spec.q = s->q;
    spec.limit = UINT64_MAX;    /* rows are counted after the matchers */
    spec.is_newest_first = !is_count;
    spec.max_scan_bytes = c->api->max_scan_bytes;
    s->search = search_new(c->api->store, &spec, &err);
    if (s->search == NULL) {
        gcall_fail(c, HTTP_INTERNAL, err ? err : "cannot start log scan");
        goto fail;
    }
    if (t != NULL) {
        s->tm = t->matches;
        s->n_tm = t->n_matches;
        s->limit = t->limit;
    }
    s->is_count = is_count;
    s->from_ms = c->r.from_ms;
    s->until_ms = c->r.to_ms + 1;
    s->step_ms = grafana_step(c->r.from_ms, c->r.to_ms, c->r.interval_ms,
                              c->r.max_points);
    if (is_count) {
        s->hosts = xcalloc(GRAFANA_MAX_HOSTS, sizeof(*s->hosts));
        s->hists = xcalloc(GRAFANA_MAX_HOSTS, sizeof(*s->hists));
    }
    c->scan = s;
    event_active(c->ev, EV_TIMEOUT, 0);
    return 0;
fail:
    free(err);
    gscan_free(s);
    return -1;
}

/* Ends the scan with an error reply. */
static void
gscan_fail(struct gcall *c, int code, const char *why)
{
    char msg[512];
    const char *ref = c->r.ep == GRAFANA_EP_QUERY && c->at < c->r.n_targets
                      ? c->r.targets[c->at].ref_id : "";

    snprintf(msg, sizeof(msg), "%s%s%s", ref, ref[0] ? ": " : "", why);
    c->scan->is_failed = 1;
    gcall_fail(c, code, msg);
}

/* The host's histogram, created on first sight; NULL (after failing the
 * call) past GRAFANA_MAX_HOSTS or GRAFANA_MAX_CELLS. */
static struct agg_hist *
gscan_hist(struct gcall *c, const char *host)
{
    struct gscan *s = c->scan;
    char *err = NULL;
    size_t h;

    for (h = 0; h < s->n_hosts; h++)
        if (strcmp(s->hosts[h], host) == 0)
            return &s->hists[h];
    if (agg_hist_init(&s->hists[h], s->from_ms * 1000000,
                      s->until_ms * 1000000, s->step_ms * 1000000,
                      &err) < 0) {
        gscan_fail(c, HTTP_BADREQUEST, err);
        free(err);
        return NULL;
    }
    if (h >= GRAFANA_MAX_HOSTS ||
        (h + 1) * s->hists[h].n_buckets > GRAFANA_MAX_CELLS) {
        agg_hist_fini(&s->hists[h]);
        gscan_fail(c, GRAFANA_UNPROCESSABLE, "logs:count: too many hosts "
                   "for this many buckets: narrow the hosts or widen "
                   "intervalMs");
        return NULL;
    }
    s->hosts[h] = xstrdup(host);
    s->n_hosts++;
    return &s->hists[h];
}

static void
grow_write(struct gcall *c, const struct logrec *r)
{
    char t[40];
    size_t len = r->msg_len < GRAFANA_MAX_MSG ? r->msg_len : GRAFANA_MAX_MSG;

    /* A trailing newline is part of the line, not of what to show. */
    if (len > 0 && r->msg[len - 1] == '\n')
        len--;
    if (c->scan->n_rows > 0)
        gput(c, ",");
    if (c->scan->is_annotation) {
        gput(c, "{\"annotation\":");
        gput(c, c->r.annotation_json);
        snprintf(t, sizeof(t), ",\"time\":%lld,\"title\":",
                 (long long)(r->time_ns / 1000000));
        gput(c, t);
        gput_cstr(c, r->container);
        gput(c, ",\"text\":");
        gput_str(c, r->msg, len);
        gput(c, ",\"tags\":[");
        gput_cstr(c, r->host);
        gput(c, ",");
        gput_cstr(c, r->container);
        gput(c, "]}");
        return;
    }
    snprintf(t, sizeof(t), "[%lld,", (long long)(r->time_ns / 1000000));
    gput(c, t);
    gput_str(c, r->msg, len);
    gput(c, ",");
    gput_cstr(c, r->host);
    gput(c, ",");
    gput_cstr(c, r->container);
    gput(c, ",");
    gput_cstr(c, logrec_stream_name(r->stream));
    gput(c, "]");
}

/* search_emit_fn: a match of the query; kept if it passes the matchers.
 * Returns 1 (end the step) once the scan is full or has failed. */
static int
gscan_emit_cb(const struct logrec *r, int is_context, int is_group_start,
              void *arg)
{
    struct gcall *c = arg;
    struct gscan *s = c->scan;

    if (!grafana_match_record(s->tm, s->n_tm, r) ||
        !grafana_match_record(c->r.filters, c->r.n_filters, r))
        return 0;
    if (s->is_count) {
        struct agg_hist *h = gscan_hist(c, r->host);
        if (h == NULL)
            return 1;
        agg_hist_add(h, r->time_ns);
        return 0;
    }
    grow_write(c, r);
    s->n_rows++;
    s->is_full = s->n_rows >= s->limit || c->is_oflow;
    return s->is_full;
}

/* One slice; 1 when the scan is over (done, full or failed). */
static int
gscan_slice(struct gcall *c)
{
    struct gscan *s = c->scan;
    int rc = search_step(s->search, API_SLICE_RECORDS, gscan_emit_cb, c);
    uint64_t damaged = search_n_damaged(s->search);

    c->api->stats->search_damaged_blocks += damaged - s->n_damaged;
    s->n_damaged = damaged;
    if (s->is_failed || s->is_full)
        return 1;
    if (rc == SEARCH_ERROR) {
        /* A cost cap: an error Grafana shows, never a partial answer. */
        gscan_fail(c, GRAFANA_UNPROCESSABLE, search_errstr(s->search));
        return 1;
    }
    return rc != SEARCH_MORE;
}

static int
gscan_host_cmp(const void *a, const void *b, void *arg)
{
    const struct gscan *s = arg;

    return strcmp(s->hosts[*(const size_t *)a], s->hosts[*(const size_t *)b]);
}

/* logs:count: one series per host, every bucket, lines per minute. */
static void
gscan_count_write(struct gcall *c)
{
    struct gscan *s = c->scan;
    size_t *order = xcalloc(s->n_hosts + 1, sizeof(*order));
    double per_min = 60000.0 / (double)s->step_ms;

    for (size_t i = 0; i < s->n_hosts; i++)
        order[i] = i;
    qsort_r(order, s->n_hosts, sizeof(*order), gscan_host_cmp, s);
    for (size_t i = 0; i < s->n_hosts && !c->is_oflow; i++) {
        const struct agg_hist *h = &s->hists[order[i]];
        gitem(c);
        gput(c, "{\"target\":");
        gput_cstr(c, s->hosts[order[i]]);
        gput(c, ",\"datapoints\":[");
        for (size_t k = 0; k < h->n_buckets && !c->is_oflow; k++)
            gput_point(c, (double)h->counts[k] * per_min,
                       h->first_ms + (int64_t)k * h->step_ms, k == 0);
        gput(c, "]}");
    }
    free(order);
}

/* The message first: Grafana's logs panel takes the first string field
 * as the line (and standard annotations as the text). */
static const char gtable_head[] =
    "{\"type\":\"table\",\"columns\":[{\"text\":\"time\",\"type\":\"time\"},"
    "{\"text\":\"message\",\"type\":\"string\"},"
    "{\"text\":\"host\",\"type\":\"string\"},"
    "{\"text\":\"container\",\"type\":\"string\"},"
    "{\"text\":\"stream\",\"type\":\"string\"}],\"rows\":[";

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
        int is_count = t->kind == GRAFANA_T_LOG_COUNT;
        if (gscan_start(c, t, t->q, t->is_icase, NULL, is_count) < 0)
            return;
        if (!is_count) {
            gitem(c);
            gput(c, gtable_head);
        }
        return;
    }
    if (!c->is_done)
        gcall_reply(c, "]");
}

/* The current scan is over: close its output. */
static void
gscan_finish(struct gcall *c)
{
    struct gscan *s = c->scan;

    if (s->is_failed || c->is_done) {
        /* already answered */
    } else if (s->is_annotation) {
        gcall_reply(c, "]");
    } else if (s->is_count) {
        gscan_count_write(c);
    } else {
        /* The rows were items of their own; the table is one item. */
        gput(c, "]}");
    }
    c->scan = NULL;
    gscan_free(s);
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
    } else if (gscan_slice(c)) {
        gscan_finish(c);
    } else {
        event_active(c->ev, EV_TIMEOUT, 0);
        return;
    }
    gcall_maybe_free(c);
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
    if (gscan_start(c, NULL, c->r.anno_q, c->r.anno_is_icase,
                    c->r.anno_host, 0) < 0)
        return;
    c->scan->limit = c->r.anno_limit;
    c->scan->is_annotation = 1;
}

static void
gpayload_options(struct gcall *c)
{
    static const enum gwant wants[] = {
        [GRAFANA_F_HOST] = GW_HOST,
        [GRAFANA_F_CONTAINER] = GW_CONTAINER,
        [GRAFANA_F_LABEL] = GW_LABEL,
    };
    int is_logs = grafana_kind_of(c->r.metric) != GRAFANA_T_METRIC;

    c->fmt = GSET_OPTIONS;
    c->want = wants[c->r.field];
    c->want_metric = c->r.metric;
    c->nm = c->r.payload_m;
    c->n_nm = c->r.n_payload_m;
    if (!is_logs && !gcall_has_redis(c))
        return;
    gset_collect(c, is_logs, !is_logs);
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
        gset_collect(c, 1, 1);
        return;
    case GRAFANA_VAR_CONTAINERS:
        c->want = GW_CONTAINER;
        gset_collect(c, 1, 1);
        return;
    }
}

static void
gdispatch(struct gcall *c)
{
    switch (c->r.ep) {
    case GRAFANA_EP_ROOT:
        gput(c, "{\"status\":\"ok\",\"datasource\":\"logq\"");
        gcall_reply(c, "}");
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
        gput(c, "[{\"type\":\"string\",\"text\":\"host\"},"
                "{\"type\":\"string\",\"text\":\"container\"},"
                "{\"type\":\"string\",\"text\":\"image\"},"
                "{\"type\":\"string\",\"text\":\"stream\"}");
        gcall_reply(c, "]");
        return;
    case GRAFANA_EP_TAG_VALUES:
        c->fmt = GSET_TAG_VALUES;
        c->want = (enum gwant)c->r.tag_key;
        gset_collect(c, 1, 1);
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

void
api_grafana(struct api *a, struct evhttp_request *req, const char *path)
{
    enum grafana_ep ep;
    char *err = NULL;

    if (grafana_ep_from_path(path + 8, &ep) < 0) {
        api_reply_error(a, req, HTTP_NOTFOUND, "no such grafana endpoint");
        return;
    }
    if (gmethod_ok(a, req, ep) < 0)
        return;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    struct gcall *c = xcalloc(1, sizeof(*c));
    c->api = a;
    c->req = req;
    buf_init(&c->out, GRAFANA_MAX_REPLY);
    if (body == NULL || grafana_req_parse(ep, body, len, now_ns() / 1000000,
                                          &c->r, &err) < 0) {
        api_reply_error(a, req, HTTP_BADREQUEST, err ? err : "bad body");
        free(err);
        buf_fini(&c->out);
        free(c);
        return;
    }
    c->ev = event_new(a->base, -1, 0, gcall_step_cb, c);
    if (c->ev == NULL) {
        api_reply_error(a, req, HTTP_INTERNAL, "cannot start request");
        gcall_free(c);
        return;
    }
    c->evcon = evhttp_request_get_connection(req);
    evhttp_connection_set_closecb(c->evcon, gcall_close_cb, c);
    gdispatch(c);
    gcall_maybe_free(c);
}
