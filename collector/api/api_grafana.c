/* SPDX-License-Identifier: MIT */
/*
 * api_grafana: the Grafana JSON datasource API (simpod-json-datasource and
 * the older simple-json) under /grafana; targets and payloads are in
 * collector/GRAFANA.md. Bodies are validated by the pure grafana_req.c;
 * this file only acts on them. Metric targets read Redis asynchronously
 * through redis_metrics.c (callbacks on the loop); log targets walk the
 * store in slices of API_SLICE_RECORDS per loop turn, each bounded by
 * GRAFANA_SCAN_MAX records, so no request blocks the loop for long. Every
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
#include "common/log.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define GRAFANA_MAX_REPLY   ((size_t)64 << 20)
#define GRAFANA_SCAN_MAX    2000000     /* records examined per log target */
#define GRAFANA_MAX_HOSTS   1000        /* hosts counted, hosts fanned out */
#define GRAFANA_MAX_MSG     16384       /* message bytes in a table row */

enum gset_fmt {
    GSET_VARIABLE,      /* [{"__text":x,"__value":x}] */
    GSET_TAG_VALUES,    /* [{"text":x}] */
    GSET_OPTIONS,       /* [{"label":x,"value":x}] */
};

/* One log scan: a table (search, annotations) or counts per bucket. */
struct gscan {
    struct store_cursor *cur;
    struct query        *q;
    uint64_t             n_scanned;
    size_t               n_rows;
    size_t               limit;
    int                  is_count;
    int                  is_annotation;
    int64_t              from_ms;
    int64_t              step_ms;
    size_t               n_buckets;
    char               **hosts;         /* logs:count, n_hosts of them */
    uint32_t           **counts;        /* per host, n_buckets each */
    size_t               n_hosts;
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
    enum grafana_field        want;         /* from rmetrics_latest */
    const char               *want_metric;  /* borrowed from r, or NULL */
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
    store_cursor_free(s->cur);
    query_free(s->q);
    for (size_t i = 0; i < s->n_hosts; i++) {
        free(s->hosts[i]);
        free(s->counts[i]);
    }
    free(s->hosts);
    free(s->counts);
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

struct gset_store_arg {
    struct gcall *c;
    int           want_host;
    const char   *host;         /* containers of this host only */
};

static void
gset_store_cb(const struct store_source_info *si, void *arg)
{
    struct gset_store_arg *a = arg;

    if (a->want_host) {
        gset_add(a->c, si->host);
        return;
    }
    if (a->host == NULL || strcmp(a->host, si->host) == 0)
        gset_add(a->c, si->container);
}

static void
gset_from_store(struct gcall *c, int want_host, const char *host)
{
    struct gset_store_arg a = { c, want_host, host };

    store_foreach_source(c->api->store, gset_store_cb, &a);
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
        if (c->want == GRAFANA_F_LABEL) {
            if (c->r.payload_container == NULL ||
                strcmp(c->r.payload_container, l[i].container) == 0)
                gset_add(c, l[i].label);
        } else {
            gset_add(c, l[i].container);
        }
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
        if (c->want == GRAFANA_F_HOST)
            gset_add(c, h[i].host);
        else
            gset_latest_of(c, h[i].host);
    }
    if (c->n_pending == 0)
        gset_reply(c);
    gcall_maybe_free(c);
}

/* Collects c->want names: from the store (log names) when is_logs or
 * without Redis, and from Redis (when there) for metric names. */
static void
gset_collect(struct gcall *c, const char *host, int use_store,
             int use_redis)
{
    c->set = json_object();
    if (use_store && c->want != GRAFANA_F_LABEL)
        gset_from_store(c, c->want == GRAFANA_F_HOST, host);
    if (!use_redis || grm(c) == NULL) {
        gset_reply(c);
        return;
    }
    if (c->want != GRAFANA_F_HOST && host != NULL) {
        gset_latest_of(c, host);
        return;
    }
    c->n_pending++;
    if (rmetrics_hosts(grm(c), gset_hosts_cb, c) < 0)
        gcall_queue_failed(c);
}

/* ---- /metrics, /search, /variable metrics ---- */

static const char gmetric_payloads[] =
    "[{\"name\":\"host\",\"label\":\"Host\",\"type\":\"select\"},"
    "{\"name\":\"container\",\"label\":\"Container\",\"type\":\"select\"},"
    "{\"name\":\"label\",\"label\":\"Label\",\"type\":\"select\"},"
    "{\"name\":\"alias\",\"label\":\"Alias\",\"type\":\"input\"}]";
static const char glog_payloads[] =
    "[{\"name\":\"q\",\"label\":\"Query\",\"type\":\"input\"},"
    "{\"name\":\"host\",\"label\":\"Host\",\"type\":\"select\"},"
    "{\"name\":\"container\",\"label\":\"Container\",\"type\":\"select\"}]";
static const char gcount_payloads[] =
    "[{\"name\":\"host\",\"label\":\"Host\",\"type\":\"select\"},"
    "{\"name\":\"container\",\"label\":\"Container\",\"type\":\"select\"}]";

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

static void
gseries_write(struct gcall *c, const struct grafana_target *t,
              const struct rm_series *s, struct rm_point *tmp)
{
    char name[4 * GRAFANA_MAX_NAME];
    int64_t step = grafana_step(c->r.from_ms, c->r.to_ms, c->r.interval_ms,
                                c->r.max_points);
    size_t n = downsample_avg(s->points, s->n_points, c->r.from_ms,
                              c->r.to_ms, step, tmp, c->r.max_points, NULL);

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
        gseries_write(c, t, &s[i], tmp);
    free(tmp);
    c->at++;
    event_active(c->ev, EV_TIMEOUT, 0);
}

static void
gquery_metric(struct gcall *c, const struct grafana_target *t)
{
    struct rm_query q = {
        .name = t->target, .host = t->host, .container = t->container,
        .label = t->label, .from_ms = c->r.from_ms, .to_ms = c->r.to_ms,
    };

    if (!gcall_has_redis(c))
        return;
    c->n_pending++;
    if (rmetrics_query(grm(c), &q, gquery_series_cb, c) < 0)
        gcall_queue_failed(c);
}

/* ---- log scans (logs:count, logs, /annotations) ---- */

static int64_t
gms_to_ns(int64_t ms)
{
    return ms >= INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000;
}

/* Starts a scan; -1 (after replying 400) on a bad query. */
static int
gscan_start(struct gcall *c, const char *q, int icase, const char *host,
            const char *container, int is_count)
{
    struct gscan *s = xcalloc(1, sizeof(*s));
    struct store_filter f;
    const char *const *tokens;
    char *err = NULL;

    s->q = query_parse(q, strlen(q), NULL, icase, &err);
    if (s->q == NULL) {
        gcall_fail(c, HTTP_BADREQUEST, err ? err : "bad log query");
        free(err);
        gscan_free(s);
        return -1;
    }
    memset(&f, 0, sizeof(f));
    f.since_ns = gms_to_ns(c->r.from_ms);
    f.until_ns = gms_to_ns(c->r.to_ms + 1);
    f.host = host;
    f.container = container != NULL && container[0] != '\0' ? container
                                                            : NULL;
    f.stream = -1;
    f.n_tokens = query_tokens(s->q, &tokens);
    f.tokens = f.n_tokens ? tokens : NULL;
    f.is_tokens_required = 1;   /* no context lines here */
    s->is_count = is_count;
    s->cur = store_cursor_new(c->api->store, &f, !is_count);
    if (s->cur == NULL) {
        gcall_fail(c, HTTP_INTERNAL, "cannot start log scan");
        gscan_free(s);
        return -1;
    }
    if (is_count) {
        s->from_ms = c->r.from_ms;
        s->step_ms = grafana_step(c->r.from_ms, c->r.to_ms,
                                  c->r.interval_ms, c->r.max_points);
        s->n_buckets = (size_t)(((uint64_t)c->r.to_ms -
                                 (uint64_t)c->r.from_ms) /
                                (uint64_t)s->step_ms) + 1;
        s->hosts = xcalloc(GRAFANA_MAX_HOSTS, sizeof(*s->hosts));
        s->counts = xcalloc(GRAFANA_MAX_HOSTS, sizeof(*s->counts));
    }
    c->scan = s;
    event_active(c->ev, EV_TIMEOUT, 0);
    return 0;
}

static void
gscan_count(struct gscan *s, const struct logrec *r)
{
    int64_t ms = r->time_ns / 1000000;
    size_t h;

    if (ms < s->from_ms)
        return;
    uint64_t k = ((uint64_t)ms - (uint64_t)s->from_ms) / (uint64_t)s->step_ms;
    if (k >= s->n_buckets)
        return;
    for (h = 0; h < s->n_hosts; h++)
        if (strcmp(s->hosts[h], r->host) == 0)
            break;
    if (h == s->n_hosts) {
        if (h == GRAFANA_MAX_HOSTS)
            return;
        s->hosts[h] = xstrdup(r->host);
        s->counts[h] = xcalloc(s->n_buckets, sizeof(**s->counts));
        s->n_hosts++;
    }
    s->counts[h][k]++;
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
    gput_cstr(c, r->host);
    gput(c, ",");
    gput_cstr(c, r->container);
    gput(c, ",");
    gput_cstr(c, logrec_stream_name(r->stream));
    gput(c, ",");
    gput_str(c, r->msg, len);
    gput(c, "]");
}

/* One slice; 1 when the scan is over. */
static int
gscan_slice(struct gcall *c)
{
    struct gscan *s = c->scan;
    struct logrec r;

    for (size_t n = 0; n < API_SLICE_RECORDS; n++) {
        if (s->n_scanned >= GRAFANA_SCAN_MAX) {
            log_debug("api", "grafana log scan stopped at %d records",
                      GRAFANA_SCAN_MAX);
            return 1;
        }
        if (c->is_oflow || (!s->is_count && s->n_rows >= s->limit))
            return 1;
        int rc = store_cursor_next(s->cur, &r);
        if (rc == 0)
            return 1;
        s->n_scanned++;
        if (rc < 0) {
            c->api->stats->search_damaged_blocks++;
            continue;
        }
        if (!query_match(s->q, r.msg, r.msg_len))
            continue;
        if (s->is_count) {
            gscan_count(s, &r);
        } else {
            grow_write(c, &r);
            s->n_rows++;
        }
    }
    return 0;
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
        size_t h = order[i];
        gitem(c);
        gput(c, "{\"target\":");
        gput_cstr(c, s->hosts[h]);
        gput(c, ",\"datapoints\":[");
        for (size_t k = 0; k < s->n_buckets && !c->is_oflow; k++)
            gput_point(c, (double)s->counts[h][k] * per_min,
                       s->from_ms + (int64_t)k * s->step_ms, k == 0);
        gput(c, "]}");
    }
    free(order);
}

static const char gtable_head[] =
    "{\"type\":\"table\",\"columns\":[{\"text\":\"time\",\"type\":\"time\"},"
    "{\"text\":\"host\",\"type\":\"string\"},"
    "{\"text\":\"container\",\"type\":\"string\"},"
    "{\"text\":\"stream\",\"type\":\"string\"},"
    "{\"text\":\"message\",\"type\":\"string\"}],\"rows\":[";

/* ---- /query driver ---- */

static void
gquery_next(struct gcall *c)
{
    while (c->at < c->r.n_targets && !c->is_done) {
        struct grafana_target *t = &c->r.targets[c->at];
        if (t->is_excluded) {
            c->at++;
            continue;
        }
        if (t->kind == GRAFANA_T_METRIC) {
            gquery_metric(c, t);
            return;
        }
        int is_count = t->kind == GRAFANA_T_LOG_COUNT;
        if (gscan_start(c, is_count ? "" : t->q, t->is_icase, t->host,
                        t->container, is_count) < 0)
            return;
        c->scan->limit = t->limit;
        if (!is_count) {
            gitem(c);
            gput(c, gtable_head);
            c->scan->n_rows = 0;
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

    if (s->is_annotation) {
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
    if (gscan_start(c, c->r.anno_q, c->r.anno_is_icase, c->r.anno_host,
                    NULL, 0) < 0)
        return;
    c->scan->limit = c->r.anno_limit;
    c->scan->is_annotation = 1;
}

static void
gpayload_options(struct gcall *c)
{
    int is_logs = grafana_kind_of(c->r.metric) != GRAFANA_T_METRIC;

    c->fmt = GSET_OPTIONS;
    c->want = c->r.field;
    c->want_metric = c->r.metric;
    if (!is_logs && !gcall_has_redis(c))
        return;
    gset_collect(c, c->want == GRAFANA_F_HOST ? NULL : c->r.payload_host,
                 is_logs, !is_logs);
}

static void
gvariable(struct gcall *c)
{
    c->fmt = GSET_VARIABLE;
    switch (c->r.var) {
    case GRAFANA_VAR_METRICS:
        gmetrics(c);
        return;
    case GRAFANA_VAR_HOSTS:
        c->want = GRAFANA_F_HOST;
        gset_collect(c, NULL, 1, 1);
        return;
    case GRAFANA_VAR_CONTAINERS:
        c->want = GRAFANA_F_CONTAINER;
        gset_collect(c, c->r.var_host, 1, 1);
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
                "{\"type\":\"string\",\"text\":\"container\"}");
        gcall_reply(c, "]");
        return;
    case GRAFANA_EP_TAG_VALUES:
        c->fmt = GSET_TAG_VALUES;
        c->want = c->r.tag_key;
        gset_collect(c, NULL, 1, 1);
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

/* Checks the method; -1 after replying 405. */
static int
gmethod_ok(struct api *a, struct evhttp_request *req, enum grafana_ep ep)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);

    if (ep == GRAFANA_EP_ROOT && (m == EVHTTP_REQ_GET ||
                                  m == EVHTTP_REQ_HEAD ||
                                  m == EVHTTP_REQ_POST))
        return 0;
    if (ep != GRAFANA_EP_ROOT && m == EVHTTP_REQ_POST)
        return 0;
    api_reply_error(a, req, 405, ep == GRAFANA_EP_ROOT
                    ? "method not allowed: use GET"
                    : "method not allowed: use POST");
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
