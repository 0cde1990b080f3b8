/* SPDX-License-Identifier: MIT */
/*
 * metrics_view: `logq metrics`'s pure parts: parsing the collector's
 * GET /api/v1/metrics and /api/v1/metrics/query replies (collector/API.md)
 * and rendering them: one name per line, or one row per series with
 * min/avg/max/last and a sparkline. Untrusted input: a malformed reply is
 * an error with a reason, never a crash. No I/O.
 */
#ifndef QUERY_METRICS_VIEW_H
#define QUERY_METRICS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "query/args.h"

struct json_t;

/* logq metrics [NAME] [--host H] [--container C] [--label L] [--since T]
 * [--step D] [--no-spark] [--json] [--server URL] [--no-color] */
struct metrics_args {
    struct args_common common;
    const char *name;           /* NULL: list the names */
    const char *host;
    const char *container;      /* "" (given empty): host metrics only */
    const char *label;
    int64_t     since_ns;       /* default now - 1 h */
    int64_t     step_ms;        /* 0: the server's default */
    int         has_no_spark;
};

/* Parses argv[first..] (borrowed); now is unix ns. -1 with err. */
int  metrics_args_parse(int argc, char **argv, int first, int64_t now,
                        struct metrics_args *out, char *err, size_t errlen);
/* Appends the request target: "/api/v1/metrics" without a name, else
 * "/api/v1/metrics/query?name=...". -1 when out's cap is hit. */
int  metrics_target_format(const struct metrics_args *a, struct buf *out);

/* Strings borrowed from the parsed reply; values NAN when null. */
struct mview_series {
    const char *name;
    const char *host;
    const char *container;      /* "" for host metrics */
    const char *label;          /* "" when none */
    int64_t     step_ms;
    double      min, avg, max, last;
    double     *values;         /* n_points, owned */
    size_t      n_points;
};

struct mview_reply {
    struct mview_series *series;
    size_t               n_series;
    const char         **names;     /* /metrics */
    size_t               n_names;
    struct json_t       *root;
};

/* Parses {"names":[...]}. -1 with a reason in err. */
int  mview_names_parse(const char *body, size_t len, struct mview_reply *out,
                       char *err, size_t errlen);
/* Parses {"series":[...]}. -1 with a reason in err. */
int  mview_series_parse(const char *body, size_t len,
                        struct mview_reply *out, char *err, size_t errlen);
void mview_reply_fini(struct mview_reply *r);

/* One name per line. */
int  mview_names_render(struct buf *out, const struct mview_reply *r);

/* A header naming the metric, then an aligned table SERIES MIN AVG MAX
 * LAST [TREND]; the sparkline column only when is_spark. */
int  mview_series_render(struct buf *out, const struct mview_reply *r,
                         int is_spark, int is_utf8);

#endif
