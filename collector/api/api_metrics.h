/* SPDX-License-Identifier: MIT */
/*
 * api_metrics: GET /api/v1/metrics, /api/v1/metrics/query and
 * /api/v1/health (collector/API.md, "Metrics"), answered asynchronously
 * from redis_metrics callbacks. Without a metrics reader they answer 503.
 * Not for use outside collector/api/ and main.c.
 */
#ifndef COLLECTOR_API_API_METRICS_H
#define COLLECTOR_API_API_METRICS_H

#include <stdint.h>

#include <event2/http.h>

struct api;
struct rmetrics;

#define API_METRICS_DEFAULT_POINTS 1000
#define API_METRICS_MAX_POINTS     100000
#define API_METRICS_ERR_SCAN_MAX   1000000   /* records per host, /health */

/* Records the calling thread has matched for /health's error-line count
 * (thread-local): lets tests prove the event loop scans none. */
uint64_t api_metrics_n_err_scanned_here(void);

/* Lends a the metrics reader (NULL: metrics off). rm must outlive a, or be
 * detached (NULL) before it is freed. One api per process. */
void api_metrics_attach(struct api *a, struct rmetrics *rm);
/* The reader attached to a, or NULL (no --redis): for api_grafana.c too. */
struct rmetrics *api_metrics_rmetrics(const struct api *a);

/* Parameters of /api/v1/metrics/query, parsed purely (api_metrics_params.c).
 * Strings owned (free with api_metrics_params_fini). */
struct api_metrics_params {
    char    *name;
    char    *host;          /* NULL: any */
    char    *container;     /* NULL: any, "": host metrics */
    char    *label;         /* NULL: any */
    int64_t  from_ms;
    int64_t  to_ms;
    int64_t  step_ms;       /* 0: (to - from) / 120 */
    size_t   max_points;
};
/* now_ms: for the defaults (the last hour). 0, or -1 with *errstr (free()). */
int  api_metrics_params_parse(const char *query, int64_t now_ms,
                              struct api_metrics_params *p, char **errstr);
void api_metrics_params_fini(struct api_metrics_params *p);

void api_metrics_list(struct api *a, struct evhttp_request *req,
                      const char *query);
void api_metrics_query(struct api *a, struct evhttp_request *req,
                       const char *query);
void api_metrics_health(struct api *a, struct evhttp_request *req,
                        const char *query);

#endif
