/* SPDX-License-Identifier: MIT */
/*
 * grafana_req: see grafana_req.h. The body is decoded with jansson
 * (duplicate keys rejected), then walked field by field. Unknown keys are
 * ignored everywhere, payloads included: the plugin's API calls a payload
 * free-form, and Grafana adds keys of its own (panelId, scopedVars,
 * variables, datasource...); a known key of the wrong type is a 400. Error
 * texts name the field as a path, e.g. "targets[2].payload.label: must be
 * a string".
 */
#include "collector/api/grafana_req.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"

/* What a payload may hold; all optional. Strings owned. m[] holds the
 * host and container matchers, n_m of them. */
struct gr_payload {
    struct grafana_match m[2];
    size_t n_m;
    int   is_log;           /* container "" is "any", not "host only" */
    char *label;
    char *alias;
    char *q;
    char *target;           /* /variable only */
    int   has_icase;
    int   is_icase;
    long  limit;            /* 0 when absent */
};

/* ---- helpers ---- */

/* A string of at most max bytes without NUL; *out gets a copy. */
static int
gr_string(json_t *v, const char *path, size_t max, char **out,
          char **errstr)
{
    if (!json_is_string(v))
        return grafana_fail(errstr, "%s: must be a string", path);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > max)
        return grafana_fail(errstr, "%s: longer than %zu bytes", path, max);
    if (strlen(s) != n)
        return grafana_fail(errstr, "%s: contains a NUL byte", path);
    free(*out);
    *out = xstrndup(s, n);
    return 0;
}

/* A non-empty name (metric, host...). */
static int
gr_name(json_t *v, const char *path, char **out, char **errstr)
{
    if (gr_string(v, path, GRAFANA_MAX_NAME, out, errstr) < 0)
        return -1;
    if ((*out)[0] == '\0') {
        free(*out);
        *out = NULL;
        return grafana_fail(errstr, "%s: must not be empty", path);
    }
    return 0;
}

/* An integer in [min, max]; reals are accepted when whole. */
static int
gr_int(json_t *v, const char *path, int64_t min, int64_t max, int64_t *out,
       char **errstr)
{
    double d;

    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < min || i > max)
            goto range;
        *out = (int64_t)i;
        return 0;
    }
    if (!json_is_real(v))
        return grafana_fail(errstr, "%s: must be a number", path);
    d = json_real_value(v);
    if (!(d >= (double)min && d <= (double)max))
        goto range;
    *out = (int64_t)d;
    return 0;
range:
    return grafana_fail(errstr, "%s: out of range [%lld, %lld]", path,
                        (long long)min, (long long)max);
}

/* A number, or (the plugin's builder mode sends every payload value as
 * text) a string of decimal digits. */
static int
gr_int_text(json_t *v, const char *path, int64_t min, int64_t max,
            int64_t *out, char **errstr)
{
    if (!json_is_string(v))
        return gr_int(v, path, min, max, out, errstr);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
        return grafana_fail(errstr, "%s: must be a number", path);
    int64_t i = (int64_t)strtoll(s, NULL, 10);
    if (i < min || i > max)
        return grafana_fail(errstr, "%s: out of range [%lld, %lld]", path,
                            (long long)min, (long long)max);
    *out = i;
    return 0;
}

/* true/false, or their text (builder mode). */
static int
gr_bool(json_t *v, const char *path, int *out, int *has, char **errstr)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;

    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0))
        *out = s[0] == 't';
    else
        return grafana_fail(errstr, "%s: must be true or false", path);
    *has = 1;
    return 0;
}

/* RFC 3339 text or a number of unix milliseconds. */
static int
gr_time(json_t *v, const char *path, int64_t *out_ms, char **errstr)
{
    int64_t ns;

    if (json_is_number(v))
        return gr_int(v, path, 0, GRAFANA_MAX_TIME_MS, out_ms, errstr);
    if (!json_is_string(v))
        return grafana_fail(errstr, "%s: must be an RFC 3339 time or unix ms",
                            path);
    if (rfc3339_parse_ns(json_string_value(v), json_string_length(v),
                         &ns) < 0)
        return grafana_fail(errstr, "%s: not an RFC 3339 time", path);
    if (ns < 0)
        return grafana_fail(errstr, "%s: before 1970", path);
    if (ns / 1000000 > GRAFANA_MAX_TIME_MS)
        return grafana_fail(errstr, "%s: after %lld ms", path,
                            (long long)GRAFANA_MAX_TIME_MS);
    *out_ms = ns / 1000000;
    return 0;
}

static int
gr_object(json_t *root, const char *key, json_t **out, char **errstr)
{
    json_t *v = json_object_get(root, key);

    if (v != NULL && !json_is_object(v) && !json_is_null(v))
        return grafana_fail(errstr, "%s: must be an object", key);
    *out = json_is_object(v) ? v : NULL;
    return 0;
}

static void
gr_payload_fini(struct gr_payload *p)
{
    for (size_t i = 0; i < p->n_m; i++)
        grafana_match_fini(&p->m[i]);
    free(p->label);
    free(p->alias);
    free(p->q);
    free(p->target);
    memset(p, 0, sizeof(*p));
}

/* payload.host or payload.container: a name, a set of names ("{a,b}" or
 * an array). A log target's container "" means any container. */
static int
gr_payload_names(enum grafana_key k, json_t *v, const char *path,
                 struct gr_payload *p, char **errstr)
{
    int allow_empty = k == GRAFANA_K_CONTAINER;

    if (allow_empty && p->is_log && json_is_string(v) &&
        json_string_length(v) == 0)
        return 0;
    if (grafana_match_parse(k, NULL, "=", v, NULL, path, allow_empty,
                            &p->m[p->n_m], errstr) < 0)
        return -1;
    p->n_m++;
    return 0;
}

/* One payload key; keys it does not know are ignored. */
static int
gr_payload_key(const char *key, json_t *v, const char *path,
               struct gr_payload *p, char **errstr)
{
    int64_t n;

    if (strcmp(key, "host") == 0)
        return gr_payload_names(GRAFANA_K_HOST, v, path, p, errstr);
    if (strcmp(key, "container") == 0)  /* "": host metrics only */
        return gr_payload_names(GRAFANA_K_CONTAINER, v, path, p, errstr);
    if (strcmp(key, "label") == 0)
        return gr_name(v, path, &p->label, errstr);
    if (strcmp(key, "alias") == 0)
        return gr_string(v, path, GRAFANA_MAX_NAME, &p->alias, errstr);
    if (strcmp(key, "q") == 0)
        return gr_string(v, path, GRAFANA_MAX_QUERY_TEXT, &p->q, errstr);
    if (strcmp(key, "target") == 0)
        return gr_name(v, path, &p->target, errstr);
    if (strcmp(key, "icase") == 0)
        return gr_bool(v, path, &p->is_icase, &p->has_icase, errstr);
    if (strcmp(key, "limit") == 0) {
        if (gr_int_text(v, path, 1, GRAFANA_MAX_LOG_LIMIT, &n, errstr) < 0)
            return -1;
        p->limit = (long)n;
        return 0;
    }
    return 0;
}

/* The payload: an object, a string holding one (what the plugin's editor
 * sends), "" or null for none. */
static int
gr_payload_parse(json_t *v, const char *path, int is_log,
                 struct gr_payload *p, char **errstr)
{
    json_t *owned = NULL;
    const char *key;
    json_t *val;
    char sub[128];
    int rc = 0;

    memset(p, 0, sizeof(*p));
    p->is_log = is_log;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        if (json_string_length(v) == 0)
            return 0;
        owned = json_loadb(json_string_value(v), json_string_length(v),
                           JSON_REJECT_DUPLICATES, NULL);
        if (owned == NULL)
            return grafana_fail(errstr, "%s: not valid JSON", path);
        v = owned;
    }
    if (!json_is_object(v)) {
        json_decref(owned);
        return grafana_fail(errstr, "%s: must be an object", path);
    }
    json_object_foreach(v, key, val) {
        snprintf(sub, sizeof(sub), "%s.%.64s", path, key);
        if (json_is_null(val))
            continue;
        rc = gr_payload_key(key, val, sub, p, errstr);
        if (rc < 0)
            break;
    }
    json_decref(owned);
    if (rc < 0)
        gr_payload_fini(p);
    return rc;
}

/* ---- range, filters ---- */

static int
gr_range(json_t *root, int64_t now_ms, struct grafana_req *r, char **errstr)
{
    json_t *range = NULL, *v = NULL;

    r->to_ms = now_ms;
    r->from_ms = now_ms - GRAFANA_DEFAULT_RANGE_MS;
    if (gr_object(root, "range", &range, errstr) < 0)
        return -1;
    if (range == NULL)
        return 0;
    if ((v = json_object_get(range, "from")) == NULL)
        return grafana_fail(errstr, "range.from: missing");
    if (gr_time(v, "range.from", &r->from_ms, errstr) < 0)
        return -1;
    if ((v = json_object_get(range, "to")) == NULL)
        return grafana_fail(errstr, "range.to: missing");
    if (gr_time(v, "range.to", &r->to_ms, errstr) < 0)
        return -1;
    if (r->from_ms > r->to_ms)
        return grafana_fail(errstr, "range: from is after to");
    return 0;
}

/* One ad-hoc filter {"key","operator","value"} (or "values" for =| and
 * !=|); other keys (condition, keyLabel...) are ignored. */
static int
gr_filter_one(json_t *f, const char *path, struct grafana_req *r,
              char **errstr)
{
    char sub[96];
    char *key = NULL, *op = NULL, *label_key = NULL;
    enum grafana_key k;
    int rc = -1;

    if (!json_is_object(f))
        return grafana_fail(errstr, "%s: must be an object", path);
    snprintf(sub, sizeof(sub), "%s.key", path);
    if (gr_name(json_object_get(f, "key"), sub, &key, errstr) < 0)
        goto out;
    if (grafana_key_parse(key, &k, &label_key) < 0) {
        grafana_fail(errstr, "%s: unknown key '%.64s' (host, container, "
                     "image, stream, label.KEY)", sub, key);
        goto out;
    }
    snprintf(sub, sizeof(sub), "%s.operator", path);
    if (gr_name(json_object_get(f, "operator"), sub, &op, errstr) < 0)
        goto out;
    json_t *v = json_object_get(f, "value");
    json_t *vs = json_object_get(f, "values");
    snprintf(sub, sizeof(sub), "%s.%s", path,
             vs != NULL && v == NULL ? "values" : "value");
    if (v == NULL && vs == NULL) {
        grafana_fail(errstr, "%s: missing", sub);
        goto out;
    }
    /* label.KEY = "": the label is missing (Prometheus's rule) */
    rc = grafana_match_parse(k, label_key, op, v != NULL ? v : vs, vs, sub,
                             k == GRAFANA_K_LABEL,
                             &r->filters[r->n_filters], errstr);
    if (rc == 0)
        r->n_filters++;
out:
    free(key);
    free(op);
    free(label_key);
    return rc;
}

static int
gr_filters(json_t *root, struct grafana_req *r, char **errstr)
{
    static const char *const names[] = { "filters", "adhocFilters" };
    char path[64];

    r->filters = xcalloc(2 * GRAFANA_MAX_FILTERS, sizeof(*r->filters));
    for (size_t k = 0; k < 2; k++) {
        json_t *a = json_object_get(root, names[k]);
        if (a == NULL || json_is_null(a))
            continue;
        if (!json_is_array(a))
            return grafana_fail(errstr, "%s: must be an array", names[k]);
        if (json_array_size(a) > GRAFANA_MAX_FILTERS)
            return grafana_fail(errstr, "%s: more than %d filters", names[k],
                                GRAFANA_MAX_FILTERS);
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(path, sizeof(path), "%s[%zu]", names[k], i);
            if (gr_filter_one(json_array_get(a, i), path, r, errstr) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---- /query targets ---- */

enum grafana_kind
grafana_kind_of(const char *target)
{
    if (strcmp(target, "logs:count") == 0)
        return GRAFANA_T_LOG_COUNT;
    if (strcmp(target, "logs") == 0 || strcmp(target, "logs:search") == 0)
        return GRAFANA_T_LOG_SEARCH;
    return GRAFANA_T_METRIC;
}

static void
gr_target_fill(struct grafana_target *t, struct gr_payload *p)
{
    t->matches = xcalloc(p->n_m + 1, sizeof(*t->matches));
    for (size_t i = 0; i < p->n_m; i++)
        t->matches[i] = p->m[i];
    t->n_matches = p->n_m;
    p->n_m = 0;
    t->label = p->label;
    p->label = NULL;
    t->alias = p->alias;
    p->alias = NULL;
    t->q = p->q != NULL ? p->q : xstrdup("");
    p->q = NULL;
    t->is_icase = p->has_icase ? p->is_icase : 0;
    t->limit = p->limit > 0 ? (size_t)p->limit : GRAFANA_DEFAULT_LOG_LIMIT;
}

static void
gr_target_fini(struct grafana_target *t)
{
    for (size_t i = 0; i < t->n_matches; i++)
        grafana_match_fini(&t->matches[i]);
    free(t->matches);
    free(t->target);
    free(t->ref_id);
    free(t->label);
    free(t->alias);
    free(t->q);
}

/* Parses targets[i] into r->targets[r->n_targets]; hidden ones skipped. */
static int
gr_target(json_t *t, size_t i, struct grafana_req *r, char **errstr)
{
    char path[64];
    struct grafana_target *out = &r->targets[r->n_targets];
    struct gr_payload p;

    if (!json_is_object(t))
        return grafana_fail(errstr, "targets[%zu]: must be an object", i);
    json_t *hide = json_object_get(t, "hide");
    if (hide != NULL && !json_is_boolean(hide) && !json_is_null(hide))
        return grafana_fail(errstr, "targets[%zu].hide: must be true or false",
                            i);
    if (json_is_true(hide))
        return 0;
    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "targets[%zu].target", i);
    if (gr_name(json_object_get(t, "target"), path, &out->target,
                errstr) < 0)
        return -1;
    json_t *ref = json_object_get(t, "refId");
    snprintf(path, sizeof(path), "targets[%zu].refId", i);
    if (ref != NULL && !json_is_null(ref)) {
        if (gr_string(ref, path, GRAFANA_MAX_NAME, &out->ref_id, errstr) < 0)
            goto fail;
    } else {
        out->ref_id = xstrdup("");
    }
    json_t *pv = json_object_get(t, "payload");
    if (pv == NULL)
        pv = json_object_get(t, "data");    /* older plugin versions */
    snprintf(path, sizeof(path), "targets[%zu].payload", i);
    out->kind = grafana_kind_of(out->target);
    if (gr_payload_parse(pv, path, out->kind != GRAFANA_T_METRIC, &p,
                         errstr) < 0)
        goto fail;
    gr_target_fill(out, &p);
    gr_payload_fini(&p);
    r->n_targets++;
    return 0;
fail:
    gr_target_fini(out);
    memset(out, 0, sizeof(*out));
    return -1;
}

static int
gr_query(json_t *root, struct grafana_req *r, char **errstr)
{
    json_t *v;
    int64_t n;

    if ((v = json_object_get(root, "intervalMs")) != NULL &&
        !json_is_null(v)) {
        if (gr_int(v, "intervalMs", 0, GRAFANA_MAX_INTERVAL_MS, &n,
                   errstr) < 0)
            return -1;
        r->interval_ms = n;
    }
    if ((v = json_object_get(root, "maxDataPoints")) != NULL &&
        !json_is_null(v)) {
        if (gr_int(v, "maxDataPoints", 1, GRAFANA_MAX_POINTS, &n,
                   errstr) < 0)
            return -1;
        r->max_points = (size_t)n;
    }
    v = json_object_get(root, "targets");
    if (v == NULL)
        return grafana_fail(errstr, "targets: missing");
    if (!json_is_array(v))
        return grafana_fail(errstr, "targets: must be an array");
    if (json_array_size(v) > GRAFANA_MAX_TARGETS)
        return grafana_fail(errstr, "targets: more than %d",
                            GRAFANA_MAX_TARGETS);
    r->targets = xcalloc(json_array_size(v) + 1, sizeof(*r->targets));
    for (size_t i = 0; i < json_array_size(v); i++)
        if (gr_target(json_array_get(v, i), i, r, errstr) < 0)
            return -1;
    return 0;
}

/* ---- the other endpoints ---- */

/* Moves the payload's matchers into r. */
static void
gr_payload_take(struct grafana_req *r, struct gr_payload *p)
{
    r->payload_m = xcalloc(p->n_m + 1, sizeof(*r->payload_m));
    for (size_t i = 0; i < p->n_m; i++)
        r->payload_m[i] = p->m[i];
    r->n_payload_m = p->n_m;
    p->n_m = 0;
    gr_payload_fini(p);
}

static int
gr_metrics(json_t *root, struct grafana_req *r, int need_field,
           char **errstr)
{
    json_t *v = json_object_get(root, "metric");
    struct gr_payload p;
    char *name = NULL;

    if (v != NULL && !json_is_null(v) &&
        gr_name(v, "metric", &r->metric, errstr) < 0)
        return -1;
    if (need_field && r->metric == NULL)
        return grafana_fail(errstr, "metric: missing");
    int is_log = r->metric != NULL &&
                 grafana_kind_of(r->metric) != GRAFANA_T_METRIC;
    if (gr_payload_parse(json_object_get(root, "payload"), "payload", is_log,
                         &p, errstr) < 0)
        return -1;
    gr_payload_take(r, &p);
    if (!need_field)
        return 0;
    if (gr_name(json_object_get(root, "name"), "name", &name, errstr) < 0)
        return -1;
    int rc = 0;
    if (strcmp(name, "host") == 0)
        r->field = GRAFANA_F_HOST;
    else if (strcmp(name, "container") == 0)
        r->field = GRAFANA_F_CONTAINER;
    else if (strcmp(name, "label") == 0)
        r->field = GRAFANA_F_LABEL;
    else
        rc = grafana_fail(errstr, "name: no options for '%.64s' "
                          "(host, container, label)", name);
    free(name);
    return rc;
}

/* /variable: {"payload": P, "range": ..., "variables": ...}; P is an
 * object {"target": T, "host": H, ...}, a string holding one, or the bare
 * word T. Keys other than target, host and container are ignored. */
static int
gr_variable(json_t *root, struct grafana_req *r, char **errstr)
{
    json_t *v = json_object_get(root, "payload");
    struct gr_payload p;
    const char *what;

    if (json_is_string(v) && json_string_length(v) > 0 &&
        json_string_value(v)[0] != '{') {
        memset(&p, 0, sizeof(p));
        if (gr_name(v, "payload", &p.target, errstr) < 0)
            return -1;
    } else if (gr_payload_parse(v, "payload", 1, &p, errstr) < 0) {
        return -1;
    }
    int rc = 0;
    what = p.target;
    if (what == NULL)
        rc = grafana_fail(errstr, "payload.target: missing "
                          "(hosts, containers, metrics)");
    else if (strcmp(what, "hosts") == 0 || strcmp(what, "host") == 0)
        r->var = GRAFANA_VAR_HOSTS;
    else if (strcmp(what, "containers") == 0 ||
             strcmp(what, "container") == 0)
        r->var = GRAFANA_VAR_CONTAINERS;
    else if (strcmp(what, "metrics") == 0)
        r->var = GRAFANA_VAR_METRICS;
    else
        rc = grafana_fail(errstr, "payload.target: unknown '%.64s' "
                          "(hosts, containers, metrics)", what);
    gr_payload_take(r, &p);
    return rc;
}

static int
gr_tag_values(json_t *root, struct grafana_req *r, char **errstr)
{
    char *key = NULL;
    int rc = 0;

    if (gr_name(json_object_get(root, "key"), "key", &key, errstr) < 0)
        return -1;
    if (grafana_key_parse(key, &r->tag_key, &r->tag_label_key) < 0)
        rc = grafana_fail(errstr, "key: unknown '%.64s' (host, container, "
                          "image, stream, label.KEY)", key);
    free(key);
    return rc;
}

static int
gr_annotations(json_t *root, struct grafana_req *r, char **errstr)
{
    json_t *a = NULL, *v = NULL;

    if (gr_object(root, "annotation", &a, errstr) < 0)
        return -1;
    r->anno_limit = GRAFANA_DEFAULT_LOG_LIMIT;
    r->anno_is_icase = 1;
    if (a == NULL) {
        r->annotation_json = xstrdup("{}");
        r->anno_q = xstrdup(GRAFANA_ERROR_QUERY);
        return 0;
    }
    v = json_object_get(a, "query");
    if (v != NULL && !json_is_null(v) &&
        gr_string(v, "annotation.query", GRAFANA_MAX_QUERY_TEXT, &r->anno_q,
                  errstr) < 0)
        return -1;
    if (r->anno_q == NULL || r->anno_q[0] == '\0') {
        free(r->anno_q);
        r->anno_q = xstrdup(GRAFANA_ERROR_QUERY);
    }
    v = json_object_get(a, "host");
    if (v != NULL && !json_is_null(v) &&
        gr_name(v, "annotation.host", &r->anno_host, errstr) < 0)
        return -1;
    char *text = json_dumps(a, JSON_COMPACT);
    if (text == NULL)
        return grafana_fail(errstr, "annotation: cannot be re-encoded");
    r->annotation_json = xstrdup(text);
    free(text);
    return 0;
}

/* ---- public API ---- */

int
grafana_ep_from_path(const char *path, enum grafana_ep *out)
{
    static const struct {
        const char     *path;
        enum grafana_ep ep;
    } eps[] = {
        { "", GRAFANA_EP_ROOT },
        { "/", GRAFANA_EP_ROOT },
        { "/metrics", GRAFANA_EP_METRICS },
        { "/metric-payload-options", GRAFANA_EP_PAYLOAD_OPTIONS },
        { "/query", GRAFANA_EP_QUERY },
        { "/variable", GRAFANA_EP_VARIABLE },
        { "/tag-keys", GRAFANA_EP_TAG_KEYS },
        { "/tag-values", GRAFANA_EP_TAG_VALUES },
        { "/search", GRAFANA_EP_SEARCH },
        { "/annotations", GRAFANA_EP_ANNOTATIONS },
    };

    for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
        if (strcmp(path, eps[i].path) == 0) {
            *out = eps[i].ep;
            return 0;
        }
    }
    return -1;
}

static int
gr_dispatch(json_t *root, struct grafana_req *r, char **errstr)
{
    switch (r->ep) {
    case GRAFANA_EP_ROOT:
    case GRAFANA_EP_TAG_KEYS:
    case GRAFANA_EP_SEARCH:
        return 0;
    case GRAFANA_EP_METRICS:
        return gr_metrics(root, r, 0, errstr);
    case GRAFANA_EP_PAYLOAD_OPTIONS:
        return gr_metrics(root, r, 1, errstr);
    case GRAFANA_EP_QUERY:
        return gr_query(root, r, errstr);
    case GRAFANA_EP_VARIABLE:
        return gr_variable(root, r, errstr);
    case GRAFANA_EP_TAG_VALUES:
        return gr_tag_values(root, r, errstr);
    case GRAFANA_EP_ANNOTATIONS:
        return gr_annotations(root, r, errstr);
    }
    return grafana_fail(errstr, "unknown endpoint");
}

int
grafana_req_parse(enum grafana_ep ep, const char *body, size_t len,
                  int64_t now_ms, struct grafana_req *r, char **errstr)
{
    json_error_t jerr;
    json_t *root;

    memset(r, 0, sizeof(*r));
    if (len > GRAFANA_MAX_BODY)
        return grafana_fail(errstr, "request body larger than %zu bytes",
                            GRAFANA_MAX_BODY);
    if (len == 0) {
        root = json_object();
    } else {
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL)
            return grafana_fail(errstr, "bad JSON at line %d column %d: %s",
                                jerr.line, jerr.column, jerr.text);
    }
    r->ep = ep;
    r->max_points = GRAFANA_DEFAULT_POINTS;
    int rc = -1;
    if (!json_is_object(root))
        grafana_fail(errstr, "request body must be a JSON object");
    else if (gr_range(root, now_ms, r, errstr) == 0 &&
             gr_filters(root, r, errstr) == 0)
        rc = gr_dispatch(root, r, errstr);
    json_decref(root);
    if (rc < 0)
        grafana_req_fini(r);
    return rc;
}

void
grafana_req_fini(struct grafana_req *r)
{
    for (size_t i = 0; i < r->n_targets; i++)
        gr_target_fini(&r->targets[i]);
    free(r->targets);
    for (size_t i = 0; i < r->n_filters; i++)
        grafana_match_fini(&r->filters[i]);
    free(r->filters);
    for (size_t i = 0; i < r->n_payload_m; i++)
        grafana_match_fini(&r->payload_m[i]);
    free(r->payload_m);
    free(r->metric);
    free(r->tag_label_key);
    free(r->annotation_json);
    free(r->anno_q);
    free(r->anno_host);
    memset(r, 0, sizeof(*r));
}

/* Buckets of step aligned to its multiples that [from, to] touches. */
static uint64_t
gr_n_buckets(int64_t from_ms, int64_t to_ms, int64_t step)
{
    return (uint64_t)(to_ms / step - from_ms / step) + 1;
}

int64_t
grafana_step(int64_t from_ms, int64_t to_ms, int64_t interval_ms,
             size_t max_points)
{
    static const int64_t nice[] = {
        1, 2, 5, 10, 20, 50, 100, 200, 500,
        1000, 2000, 5000, 10000, 15000, 30000,
        60000, 120000, 300000, 600000, 900000, 1800000,
        3600000, 7200000, 10800000, 21600000, 43200000,
        86400000, 172800000, 604800000, 2592000000,
    };
    int64_t step = interval_ms > 0 ? interval_ms : 1;

    if (from_ms < 0 || to_ms < from_ms || max_points == 0 ||
        gr_n_buckets(from_ms, to_ms, step) <= max_points)
        return step;
    for (size_t i = 0; i < sizeof(nice) / sizeof(nice[0]); i++)
        if (nice[i] > step && gr_n_buckets(from_ms, to_ms, nice[i]) <=
                              max_points)
            return nice[i];
    /* Past 30 days: whole multiples of 30 days, doubling; a step over
     * to_ms puts the whole range in one bucket, so this ends. */
    if (step < nice[sizeof(nice) / sizeof(nice[0]) - 1])
        step = nice[sizeof(nice) / sizeof(nice[0]) - 1];
    while (gr_n_buckets(from_ms, to_ms, step) > max_points)
        step = step > to_ms / 2 ? to_ms + 1 : step * 2;
    return step;
}

int64_t
grafana_first_bucket(int64_t from_ms, int64_t step_ms)
{
    return from_ms >= 0 ? from_ms - from_ms % step_ms
                        : from_ms - (step_ms + from_ms % step_ms) % step_ms;
}
