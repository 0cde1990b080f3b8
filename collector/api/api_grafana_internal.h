/* SPDX-License-Identifier: MIT */
/*
 * api_grafana_internal: what api_grafana.c (the calls, name sets, metric
 * targets, dispatch) and api_grafana_logs.c (log targets and annotations)
 * share: the call state, its output helpers (JSON appended to one capped
 * buf; a full buf sets is_oflow and the reply becomes an error) and the
 * log scan's entry points. Not for use outside collector/api/.
 */
#ifndef COLLECTOR_API_API_GRAFANA_INTERNAL_H
#define COLLECTOR_API_API_GRAFANA_INTERNAL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "collector/api/api_internal.h"
#include "collector/api/grafana_req.h"
#include "collector/metrics/redis_metrics.h"
#include "collector/search/pool.h"
#include "common/buf.h"
#include "common/record.h"

#define GRAFANA_MAX_REPLY   ((size_t)64 << 20)
#define GRAFANA_MAX_HOSTS   1000        /* hosts counted, hosts fanned out */
#define GRAFANA_UNPROCESSABLE 422       /* a cost cap was reached */
#define GRAFANA_MAX_MSG     16384       /* message bytes in a table row */

enum gset_fmt {
    GSET_VARIABLE,      /* [{"__text":x,"__value":x}] */
    GSET_TAG_VALUES,    /* [{"text":x}] */
    GSET_OPTIONS,       /* [{"label":x,"value":x}] */
    GSET_TAG_KEYS,      /* [{"type":"string","text":x}], fixed keys first */
};

/* What a name set collects: a matcher key's values (GW_DLABEL: those of
 * the Docker label want_label_key), a metric's labels, or the label.KEY
 * tag keys. */
enum gwant {
    GW_HOST = GRAFANA_K_HOST,
    GW_CONTAINER = GRAFANA_K_CONTAINER,
    GW_IMAGE = GRAFANA_K_IMAGE,
    GW_STREAM = GRAFANA_K_STREAM,
    GW_DLABEL = GRAFANA_K_LABEL,
    GW_METRIC_LABEL,
    GW_TAG_KEYS,
};

struct gscan;

struct gcall {
    struct api               *api;
    struct evhttp_request    *req;
    struct evhttp_connection *evcon;
    struct grafana_req        r;        /* parsed by the first job */
    struct pool_job           job;      /* the body's parse, then each
                                         * metric target's downsampling */
    int                       is_parsing;   /* job submitted, not done */
    int                       is_sampling;  /* job submitted, not done */
    struct rm_series_set     *series;   /* the metric target's, taken */
    uint64_t                  n_bad_points; /* its job's, not yet counted */
    char                     *body;     /* a copy, until parsed */
    size_t                    body_len;
    int64_t                   now_ms;   /* at acceptance */
    int                       parse_rc;     /* by the job */
    char                     *parse_err;
    struct event             *ev;       /* gcall_step_cb, next loop turn */
    int                       n_pending;    /* Redis replies, jobs awaited */
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
    const char               *want_label_key;   /* GW_DLABEL, from r */
    const char               *want_metric;  /* borrowed from r, or NULL */
    const struct grafana_match *nm;         /* narrowing matchers, from r */
    size_t                    n_nm;
};

/* One log scan's output: a table, counts per host, or annotations. */
enum gscan_kind {
    GSCAN_TABLE,
    GSCAN_COUNT,
    GSCAN_ANNOTATIONS,
};

static inline void
gput(struct gcall *c, const char *s)
{
    if (!c->is_oflow && buf_append(&c->out, s, strlen(s)) < 0)
        c->is_oflow = 1;
}

static inline void
gput_str(struct gcall *c, const char *s, size_t n)
{
    if (!c->is_oflow && json_str_append(&c->out, s, n) < 0)
        c->is_oflow = 1;
}

static inline void
gput_cstr(struct gcall *c, const char *s)
{
    gput_str(c, s, strlen(s));
}

/* Starts an array item: a comma after the first. */
static inline void
gitem(struct gcall *c)
{
    if (c->n_items++ > 0)
        gput(c, ",");
}

static inline void
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


/* Answers code {"error": msg} unless the call has answered or lost its
 * client; the call is done after it. */
void api_grafana_fail(struct gcall *c, int code, const char *msg);
/* Appends close and sends out as the 200 reply (or a 400 when out
 * overflowed). */
void api_grafana_reply(struct gcall *c, const char *close);
/* The Redis metrics reader, NULL without --redis. */
struct rmetrics *api_grafana_rm(const struct gcall *c);
/* Frees c once it has answered (or lost its client) and no Redis reply
 * is still to come. */
void api_grafana_maybe_free(struct gcall *c);
/* Called first in every Redis callback (lowers n_pending): 1 if c is
 * finished with (answered, gone, or the error answered now). */
int  api_grafana_redis_back(struct gcall *c, int err, const char *errstr);
/* A Redis request could not be queued: lowers n_pending, answers 503. */
void api_grafana_queue_failed(struct gcall *c);
/* api_grafana_sets.c: collects c->want names that pass c->nm and the
 * ad-hoc filters, from the store when use_store and from Redis (when
 * there and use_redis) for hosts, containers and metric labels (Redis
 * knows no image, stream or Docker label), and replies (c->fmt). */
void api_grafana_set_collect(struct gcall *c, int use_store, int use_redis);
/* The one value key k may have for target t (NULL: none), when its
 * payload or the ad-hoc filters pin it; borrowed from c->r. */
const char *api_grafana_exact(const struct gcall *c,
                              const struct grafana_target *t,
                              enum grafana_key k);

/* api_grafana_logs.c. Starts c->scan over target t (NULL for
 * /annotations, then narrowed to host) for query q, writing a table head
 * first for GSCAN_TABLE; limit bounds table and annotation rows. The
 * first slice is queued from c->ev. Counts as a search under
 * --max-searches (over it: 503 + Retry-After). -1 when it failed (an
 * error reply was sent). */
int  api_grafana_scan_start(struct gcall *c, const struct grafana_target *t,
                            const char *q, int icase, const char *host,
                            enum gscan_kind kind, size_t limit);
/* Queues the next slice of c->scan on the query workers (counted in
 * c->n_pending until its done callback, which calls
 * api_grafana_scan_after). */
void api_grafana_scan_submit(struct gcall *c);
/* Cancels the slice running for c->scan, if any (the client left). */
void api_grafana_scan_cancel(struct gcall *c);
/* api_grafana.c: a slice is back (n_pending already lowered): with
 * is_over (whole, full or failed with its error reply sent) the scan is
 * closed and the call goes on, else the next slice is queued. */
void api_grafana_scan_after(struct gcall *c, int is_over);
/* Writes the finished scan's output (nothing if it failed), frees it and
 * clears c->scan. */
void api_grafana_scan_close(struct gcall *c);
/* Frees a scan (NULL is a no-op). */
void api_grafana_scan_free(struct gscan *s);

#endif
