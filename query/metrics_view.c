/* SPDX-License-Identifier: MIT */
/*
 * metrics_view: see metrics_view.h. Series rows go through output_table
 * (the sparkline is the last column, which is never padded, so its
 * multi-byte characters do not upset the alignment).
 */
#include "query/metrics_view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/escape.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/output.h"
#include "query/reply.h"
#include "query/sparkline.h"
#include "query/url.h"

#define MVIEW_MAX_SERIES 100000
#define MVIEW_MAX_POINTS 1000000

static json_t *
mview_load(const char *body, size_t len, const char *key, char *err,
           size_t errlen, json_t **arr)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);

    if (root == NULL) {
        snprintf(err, errlen, "invalid JSON in metrics reply: %s",
                 jerr.text);
        return NULL;
    }
    *arr = json_object_get(root, key);
    if (!json_is_array(*arr)) {
        snprintf(err, errlen, "metrics reply lacks the '%s' array", key);
        json_decref(root);
        return NULL;
    }
    return root;
}

int
mview_names_parse(const char *body, size_t len, struct mview_reply *out,
                  char *err, size_t errlen)
{
    struct mview_reply r;
    json_t *arr;

    memset(&r, 0, sizeof(r));
    if ((r.root = mview_load(body, len, "names", err, errlen, &arr)) == NULL)
        return -1;
    r.names = xcalloc(json_array_size(arr) + 1, sizeof(*r.names));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            snprintf(err, errlen, "metric name %zu is not a string", i);
            mview_reply_fini(&r);
            return -1;
        }
        r.names[r.n_names++] = json_string_value(v);
    }
    *out = r;
    return 0;
}

/* points: [[unix_ms, value], ...]; a null value stays NAN. */
static int
mview_points_parse(json_t *pts, struct mview_series *s, char *err,
                   size_t errlen)
{
    if (!json_is_array(pts) || json_array_size(pts) > MVIEW_MAX_POINTS) {
        snprintf(err, errlen, "series points missing or too many");
        return -1;
    }
    s->values = xcalloc(json_array_size(pts) + 1, sizeof(*s->values));
    for (size_t i = 0; i < json_array_size(pts); i++) {
        json_t *p = json_array_get(pts, i);
        if (!json_is_array(p) || json_array_size(p) != 2 ||
            !json_is_number(json_array_get(p, 0))) {
            snprintf(err, errlen, "series point %zu is not [ms, value]", i);
            return -1;
        }
        json_t *v = json_array_get(p, 1);
        s->values[s->n_points++] = json_is_number(v) ? json_number_value(v)
                                                     : NAN;
    }
    return 0;
}

static int
mview_series_one(json_t *o, struct mview_series *s, char *err, size_t errlen)
{
    if (!json_is_object(o) || (s->name = reply_member_str(o, "name", NULL)) == NULL
        || (s->host = reply_member_str(o, "host", NULL)) == NULL) {
        snprintf(err, errlen, "series without name or host");
        return -1;
    }
    s->container = reply_member_str(o, "container", "");
    s->label = reply_member_str(o, "label", "");
    json_t *step = json_object_get(o, "step_ms");
    s->step_ms = json_is_integer(step) ? (int64_t)json_integer_value(step)
                                       : 0;
    s->min = reply_member_num(o, "min");
    s->avg = reply_member_num(o, "avg");
    s->max = reply_member_num(o, "max");
    s->last = reply_member_num(o, "last");
    return mview_points_parse(json_object_get(o, "points"), s, err, errlen);
}

int
mview_series_parse(const char *body, size_t len, struct mview_reply *out,
                   char *err, size_t errlen)
{
    struct mview_reply r;
    json_t *arr;

    memset(&r, 0, sizeof(r));
    if ((r.root = mview_load(body, len, "series", err, errlen, &arr)) == NULL)
        return -1;
    if (json_array_size(arr) > MVIEW_MAX_SERIES) {
        snprintf(err, errlen, "too many series in reply");
        mview_reply_fini(&r);
        return -1;
    }
    r.series = xcalloc(json_array_size(arr) + 1, sizeof(*r.series));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        /* Counted first so that fini frees a half-parsed series. */
        r.n_series++;
        if (mview_series_one(json_array_get(arr, i), &r.series[i], err,
                             errlen) < 0) {
            mview_reply_fini(&r);
            return -1;
        }
    }
    *out = r;
    return 0;
}

void
mview_reply_fini(struct mview_reply *r)
{
    for (size_t i = 0; i < r->n_series; i++)
        free(r->series[i].values);
    free(r->series);
    free(r->names);
    json_decref(r->root);
    memset(r, 0, sizeof(*r));
}

int
mview_names_render(struct buf *out, const struct mview_reply *r)
{
    for (size_t i = 0; i < r->n_names; i++)     /* server text: escaped */
        if (escape_append(out, r->names[i], strlen(r->names[i]), 0) < 0 ||
            buf_append(out, "\n", 1) < 0)
            return -1;
    return 0;
}

static void
mview_series_row(struct output_table *t, const struct mview_series *s,
                 int is_spark, int is_utf8)
{
    char id[1024], v[4][32];
    struct buf spark;

    snprintf(id, sizeof(id), "%s%s%s%s%s", s->host, s->container[0] ? "/" : "",
             s->container, s->label[0] ? " " : "", s->label);
    sparkline_value_format(s->min, v[0], sizeof(v[0]));
    sparkline_value_format(s->avg, v[1], sizeof(v[1]));
    sparkline_value_format(s->max, v[2], sizeof(v[2]));
    sparkline_value_format(s->last, v[3], sizeof(v[3]));
    buf_init(&spark, 4 * SPARKLINE_MAX_WIDTH + 1);
    if (is_spark)
        sparkline_format(&spark, s->values, s->n_points,
                         SPARKLINE_MAX_WIDTH, is_utf8);
    buf_append(&spark, "", 1);
    const char *row[] = { id, v[0], v[1], v[2], v[3],
                          (const char *)spark.data };
    output_table_add(t, row);
    buf_fini(&spark);
}

static void
mview_step_format(int64_t ms, char *out, size_t len)
{
    if (ms <= 0)
        snprintf(out, len, "?");
    else if (ms % 3600000 == 0)
        snprintf(out, len, "%lldh", (long long)(ms / 3600000));
    else if (ms % 60000 == 0)
        snprintf(out, len, "%lldm", (long long)(ms / 60000));
    else if (ms % 1000 == 0)
        snprintf(out, len, "%llds", (long long)(ms / 1000));
    else
        snprintf(out, len, "%lldms", (long long)ms);
}

int
mview_series_render(struct buf *out, const struct mview_reply *r,
                    int is_spark, int is_utf8)
{
    static const char *const head[] = { "SERIES", "MIN", "AVG", "MAX",
                                        "LAST", "TREND" };
    struct output_table t;
    char line[64], step[32];
    const char *prev = NULL;
    int rc = 0;

    output_table_init(&t, is_spark ? 6 : 5, 0x1e);
    for (size_t i = 0; i < r->n_series && rc == 0; i++) {
        const struct mview_series *s = &r->series[i];
        if (prev == NULL || strcmp(prev, s->name) != 0) {
            /* A new metric: flush the table so far under its header. */
            if (t.n_rows > 0 && (rc = output_table_format(&t, out)) < 0)
                break;
            output_table_fini(&t);
            output_table_init(&t, is_spark ? 6 : 5, 0x1e);
            mview_step_format(s->step_ms, step, sizeof(step));
            snprintf(line, sizeof(line), " (step %s)\n", step);
            if ((prev != NULL && buf_append(out, "\n", 1) < 0) ||
                escape_append(out, s->name, strlen(s->name), 0) < 0 ||
                buf_append(out, line, strlen(line)) < 0)
                rc = -1;
            output_table_add(&t, head);
            prev = s->name;
        }
        mview_series_row(&t, s, is_spark, is_utf8);
    }
    if (rc == 0 && t.n_rows > 0)
        rc = output_table_format(&t, out);
    output_table_fini(&t);
    return rc;
}

/* ---- arguments ---- */

static int
mview_opt_apply(struct metrics_args *a, int id, const char *v, int64_t now,
                char *err, size_t errlen)
{
    int64_t ns;

    switch (id) {
    case FLAGS_O_HOST: a->host = v; break;
    case FLAGS_O_CONTAINER: a->container = v; break;
    case FLAGS_O_LABEL: a->label = v; break;
    case FLAGS_O_NO_SPARK: a->has_no_spark = 1; break;
    case FLAGS_O_SINCE:
        if (args_time_parse(v, now, &a->since_ns) < 0 || a->since_ns > now) {
            snprintf(err, errlen, "bad --since '%s' (15m, 2h, RFC 3339)", v);
            return -1;
        }
        break;
    case FLAGS_O_STEP:
        if (duration_parse_ns(v, &ns) < 0 || ns < 1000000) {
            snprintf(err, errlen, "bad --step '%s' (10s, 1m, 1h)", v);
            return -1;
        }
        a->step_ms = ns / 1000000;
        break;
    default:
        return args_common_apply(&a->common, id, v, err, errlen) < 0 ? -1
                                                                     : 0;
    }
    return 0;
}

int
metrics_args_parse(int argc, char **argv, int first, int64_t now,
                   struct metrics_args *out, char *err, size_t errlen)
{
    struct metrics_args a;
    struct args_iter it;
    int id;

    memset(&a, 0, sizeof(a));
    a.since_ns = now - 3600 * 1000000000LL;
    args_iter_init(&it, argc, argv, first);
    while ((id = args_next(&it, FLAGS_METRICS, err, errlen)) != ARGS_END) {
        if (id == ARGS_ERROR)
            return -1;
        if (id == ARGS_WORD) {
            if (a.name != NULL) {
                snprintf(err, errlen, "one metric name at a time ('%s')",
                         it.value);
                return -1;
            }
            a.name = it.value;
            continue;
        }
        if (mview_opt_apply(&a, id, it.value, now, err, errlen) < 0)
            return -1;
    }
    if (a.name == NULL && (a.host || a.container || a.label || a.step_ms)) {
        snprintf(err, errlen, "--host, --container, --label and --step "
                 "need a metric name");
        return -1;
    }
    *out = a;
    return 0;
}

int
metrics_target_format(const struct metrics_args *a, struct buf *out)
{
    char v[24];
    int n = 0;

    if (a->name == NULL)
        return buf_append(out, "/api/v1/metrics", 15);
    if (buf_append(out, "/api/v1/metrics/query", 21) < 0 ||
        url_param_append(out, &n, "name", a->name) < 0 ||
        (a->host && url_param_append(out, &n, "host", a->host) < 0) ||
        (a->container &&
         url_param_append(out, &n, "container", a->container) < 0) ||
        (a->label && url_param_append(out, &n, "label", a->label) < 0))
        return -1;
    snprintf(v, sizeof(v), "%lld", (long long)a->since_ns);
    if (url_param_append(out, &n, "since", v) < 0)
        return -1;
    if (a->step_ms > 0) {
        snprintf(v, sizeof(v), "%lld", (long long)a->step_ms);
        if (url_param_append(out, &n, "step", v) < 0)
            return -1;
    }
    return 0;
}
