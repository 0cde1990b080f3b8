/* SPDX-License-Identifier: MIT */
/*
 * grafana_req: parsing and validation of the JSON request bodies of the
 * Grafana JSON datasource endpoints under /grafana (collector/GRAFANA.md).
 * A pure function over the raw body (jansson, no I/O, no store, no Redis):
 * every type, bound and required field is checked here so that the
 * handlers in api/api_grafana.c only act. Unit-tested and fuzzed
 * (tests/fuzz/fuzz_grafana.c).
 */
#ifndef COLLECTOR_GRAFANA_REQ_H
#define COLLECTOR_GRAFANA_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "collector/api/grafana_match.h"

#define GRAFANA_MAX_BODY          ((size_t)1 << 20)   /* bytes */
#define GRAFANA_MAX_TARGETS       100
#define GRAFANA_MAX_POINTS        10000   /* maxDataPoints */
#define GRAFANA_DEFAULT_POINTS    1000
#define GRAFANA_MAX_NAME          256     /* metric, host, container, label */
#define GRAFANA_MAX_FILTERS       16      /* ad-hoc filters */
#define GRAFANA_MAX_LOG_LIMIT     1000
#define GRAFANA_DEFAULT_LOG_LIMIT 100
#define GRAFANA_MAX_QUERY_TEXT    4096    /* bytes of a log query "q" */
#define GRAFANA_DEFAULT_RANGE_MS  (3600 * 1000LL)
#define GRAFANA_MAX_INTERVAL_MS   (366 * 86400 * 1000LL)
/* Latest range time: (to + 1) ms, and any step up to it, fit in int64 ns. */
#define GRAFANA_MAX_TIME_MS       (INT64_MAX / 1000000 - 1)
/* Used when a log query or annotation names none. */
#define GRAFANA_ERROR_QUERY "error OR fatal OR panic OR exception OR critical"

enum grafana_ep {
    GRAFANA_EP_ROOT,            /* GET /grafana/ (no body) */
    GRAFANA_EP_METRICS,
    GRAFANA_EP_PAYLOAD_OPTIONS,
    GRAFANA_EP_QUERY,
    GRAFANA_EP_VARIABLE,
    GRAFANA_EP_TAG_KEYS,
    GRAFANA_EP_TAG_VALUES,
    GRAFANA_EP_SEARCH,          /* simple-json: same list as /metrics */
    GRAFANA_EP_ANNOTATIONS,     /* simple-json: error lines */
};

enum grafana_kind {
    GRAFANA_T_METRIC,           /* a metric name: series from Redis */
    GRAFANA_T_LOG_COUNT,        /* "logs:count": lines per minute by host */
    GRAFANA_T_LOG_SEARCH,       /* "logs" or "logs:search": a table */
};

/* Payload keys a select box can offer options for. */
enum grafana_field {
    GRAFANA_F_HOST,
    GRAFANA_F_CONTAINER,
    GRAFANA_F_LABEL,
};

enum grafana_var {
    GRAFANA_VAR_HOSTS,
    GRAFANA_VAR_CONTAINERS,     /* of var_host when given, else all */
    GRAFANA_VAR_METRICS,
};

/* One /query target. Strings owned. Its payload's host and container are
 * matchers (EQ, a set) that apply with the request's ad-hoc filters. */
struct grafana_target {
    enum grafana_kind kind;
    char    *target;        /* as sent */
    char    *ref_id;        /* "" when absent */
    struct grafana_match *matches;  /* payload host, container */
    size_t   n_matches;
    char    *label;         /* exact; NULL: any */
    char    *alias;         /* prefix of the series names; NULL: none */
    char    *q;             /* log query text; "" matches every line */
    int      is_icase;
    size_t   limit;         /* log rows */
};

struct grafana_req {
    enum grafana_ep ep;
    int64_t  from_ms;       /* range.from; default to_ms - 1 h */
    int64_t  to_ms;         /* range.to; default now */
    int64_t  interval_ms;   /* intervalMs; 0 when absent */
    size_t   max_points;    /* maxDataPoints, default GRAFANA_DEFAULT_POINTS */
    struct grafana_target *targets;     /* /query (hidden ones dropped) */
    size_t   n_targets;
    /* Ad-hoc filters ("filters" and "adhocFilters"), any endpoint. */
    struct grafana_match *filters;
    size_t   n_filters;
    /* /metrics, /metric-payload-options, /variable: the current metric
     * (NULL) and the payload's host and container as matchers. */
    char    *metric;
    struct grafana_match *payload_m;
    size_t   n_payload_m;
    enum grafana_field field;           /* /metric-payload-options */
    enum grafana_var var;               /* /variable */
    enum grafana_key tag_key;           /* /tag-values */
    char    *tag_label_key;             /* its KEY for label.KEY */
    /* /annotations: the request's annotation object as compact JSON text
     * (echoed in each reply item), and the log query it asks for. */
    char    *annotation_json;
    char    *anno_q;
    int      anno_is_icase;
    char    *anno_host;
    size_t   anno_limit;
};

/* Maps the path after "/grafana" ("", "/", "/query", ...) to the endpoint.
 * -1 for an unknown path. */
int  grafana_ep_from_path(const char *path, enum grafana_ep *out);

/*
 * Parses the body (len bytes, not NUL-terminated; an empty body is "{}")
 * of endpoint ep. now_ms is the wall clock for the default range. 0 on
 * success (*r filled; free with grafana_req_fini); -1 with *errstr (caller
 * frees with free()) naming the offending field, on malformed JSON, a
 * body over GRAFANA_MAX_BODY, a wrong type, a missing required field or a
 * value out of bounds. *r is left zeroed on failure.
 */
int  grafana_req_parse(enum grafana_ep ep, const char *body, size_t len,
                       int64_t now_ms, struct grafana_req *r, char **errstr);
void grafana_req_fini(struct grafana_req *r);

/* "logs:count", "logs"/"logs:search" or (anything else) a metric. */
enum grafana_kind grafana_kind_of(const char *target);

/* The bucket width for [from_ms, to_ms] (both >= 0): interval_ms (at
 * least 1 ms) if the buckets aligned to multiples of it since the epoch,
 * floor(to/step) - floor(from/step) + 1 of them, are at most max_points;
 * else the smallest wider step of 1-2-5 ms, 1 2 5 10 15 30 s, 1 2 5 10 15
 * 30 min, 1 2 3 6 12 h, 1 2 7 30 days that fits, else a wider one. */
int64_t grafana_step(int64_t from_ms, int64_t to_ms, int64_t interval_ms,
                     size_t max_points);
/* The start of the first bucket: from_ms rounded down to a step multiple. */
int64_t grafana_first_bucket(int64_t from_ms, int64_t step_ms);

#endif
