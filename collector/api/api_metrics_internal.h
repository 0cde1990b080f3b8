/* SPDX-License-Identifier: MIT */
/*
 * api_metrics_internal: the metrics endpoints' call and the functions
 * their parts share (api_metrics.c, api_metrics_query.c,
 * api_metrics_health.c, api_metrics_health_job.c; see api_metrics.c). Not
 * for use outside those files: api.c and the tests use api_metrics.h. A
 * call is touched by the loop, or by its job on a query worker while the
 * job runs (is_sampling), never by both.
 */
#ifndef COLLECTOR_API_API_METRICS_INTERNAL_H
#define COLLECTOR_API_API_METRICS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>

#include "collector/api/api_metrics.h"
#include "collector/api/api_pool.h"
#include "collector/metrics/redis_metrics.h"

#define AM_ERR_QUERY   "error OR fatal OR panic OR exception OR critical"
#define AM_ERR_WINDOW_MS (15 * 60 * 1000LL)
#define AM_HOUR_MS     (3600 * 1000LL)
#define AM_MISSED      3           /* intervals before a host is down */

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
    int                         err_status; /* its HTTP status; 0: 503 */
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

/* ---- api_metrics.c: a call's life, shared helpers ---- */

/* A call for req (its time taken now), gone when the client hangs up. */
struct am_call *am_call_new(struct api *a, struct evhttp_request *req);
/* Keeps the first error of c (errstr NULL: "error"), answered 503. */
void am_call_set_err(struct am_call *c, const char *errstr);
/* The same for a read's error: 422 when the query asks for more than a
 * read may hold (RMETRICS_ERR_TOO_BIG: narrow it), else 503. */
void am_call_set_read_err(struct am_call *c, int err, const char *errstr);
/* Sends v (taken) or the call's error unless the client left; frees c. */
void am_call_reply(struct am_call *c, json_t *v);
/* v as a JSON number, null when not finite. */
json_t *am_num(double v);
/* ms as an RFC 3339 UTC string; null when not set (<= 0). */
json_t *am_time_json(int64_t ms);
/* 0 if metrics are on, else -1 with a 503 sent. */
int am_require(struct api *a, struct evhttp_request *req);
/* c's job on a worker (run there, done on the loop), admitted as a
 * search; else c is answered (and freed). */
void am_job_start(struct am_call *c, pool_run_fn run, pool_done_fn done);
/* In c's pool_done_fn, first: c's job is over (its search slot left, its
 * bad points counted). Returns its reply (taken), or NULL with c's error
 * set when the job did not run or left none (the workers are stopping). */
json_t *am_job_end(struct am_call *c, int is_run);

/* ---- api_metrics_health_job.c: /health on a worker ---- */

/* pool_run_fn: every host's values parsed, judged and its error lines
 * counted into c->reply; a cancelled job leaves none. */
void am_health_run(struct pool_job *j);

#endif
