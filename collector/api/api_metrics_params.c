/* SPDX-License-Identifier: MIT */
/*
 * api_metrics_params: the query string of /api/v1/metrics/query (name,
 * host, container, label, since, until, step, max_points; API.md). Pure:
 * unit-tested in api_metrics_params_test.c. Times are RFC 3339, unix
 * nanoseconds (as /logs) or a duration meaning that long ago ("15m").
 */
#include "collector/api/api_metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "collector/api/api_params.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define AMP_DEFAULT_RANGE_MS (3600 * 1000LL)
#define AMP_STEPS            120

static int
amp_is_integer(const char *v)
{
    const char *s = v[0] == '-' ? v + 1 : v;

    return *s != '\0' && strspn(s, "0123456789") == strlen(s) &&
           strlen(s) <= 19;
}

static int
amp_time(const char *v, int64_t now_ms, int64_t *out_ms)
{
    int64_t ns;

    if (amp_is_integer(v)) {
        errno = 0;
        long long n = strtoll(v, NULL, 10);
        if (errno != 0)
            return -1;
        *out_ms = (int64_t)(n / 1000000);
        return 0;
    }
    if (rfc3339_parse_ns(v, strlen(v), &ns) == 0) {
        *out_ms = ns / 1000000;
        return 0;
    }
    if (duration_parse_ns(v, &ns) == 0) {
        *out_ms = now_ms - ns / 1000000;
        return 0;
    }
    return -1;
}

/* "60000" (ms) or a duration ("1m", "10s"). */
static int
amp_step(const char *v, int64_t *out_ms)
{
    int64_t ns;

    if (amp_is_integer(v) && v[0] != '-') {
        errno = 0;
        long long n = strtoll(v, NULL, 10);
        if (errno != 0 || n < 1)
            return -1;
        *out_ms = n;
        return 0;
    }
    if (duration_parse_ns(v, &ns) < 0 || ns < 1000000)
        return -1;
    *out_ms = ns / 1000000;
    return 0;
}

static int
amp_set_str(char **dst, const char *v, int may_be_empty, size_t max)
{
    if ((!may_be_empty && v[0] == '\0') || strlen(v) > max)
        return -1;
    *dst = xstrdup(v);
    return 0;
}

/* One key=value; -1 with *errstr on a bad or repeated one. */
static int
amp_one(struct api_metrics_params *p, const char *k, const char *v,
        int64_t now_ms, unsigned *seen, char **errstr)
{
    static const char *const keys[] = { "name", "host", "container",
        "label", "since", "until", "step", "max_points" };
    size_t i;
    int rc = -1;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(k, keys[i]) == 0)
            break;
    if (i == sizeof(keys) / sizeof(keys[0])) {
        *errstr = xasprintf("unknown parameter '%.64s'", k);
        return -1;
    }
    if (*seen & (1u << i)) {
        *errstr = xasprintf("repeated parameter '%s'", k);
        return -1;
    }
    *seen |= 1u << i;
    switch (i) {
    case 0: rc = amp_set_str(&p->name, v, 0, API_PARAMS_MAX_NAME); break;
    case 1: rc = amp_set_str(&p->host, v, 0, API_PARAMS_MAX_NAME); break;
    case 2: rc = amp_set_str(&p->container, v, 1, API_PARAMS_MAX_NAME); break;
    case 3: rc = amp_set_str(&p->label, v, 1, API_PARAMS_MAX_NAME); break;
    case 4: rc = amp_time(v, now_ms, &p->from_ms); break;
    case 5: rc = amp_time(v, now_ms, &p->to_ms); break;
    case 6: rc = amp_step(v, &p->step_ms); break;
    case 7: {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        rc = (v[0] >= '0' && v[0] <= '9' && errno == 0 && *end == '\0' &&
              n >= 1 && n <= API_METRICS_MAX_POINTS) ? 0 : -1;
        if (rc == 0)
            p->max_points = (size_t)n;
        break;
    }
    }
    if (rc < 0)
        *errstr = xasprintf("bad %s", k);
    return rc;
}

int
api_metrics_params_parse(const char *query, int64_t now_ms,
                         struct api_metrics_params *p, char **errstr)
{
    struct evkeyvalq kv;
    struct evkeyval *e;
    unsigned seen = 0;

    memset(p, 0, sizeof(*p));
    p->to_ms = now_ms;
    p->from_ms = now_ms - AMP_DEFAULT_RANGE_MS;
    p->max_points = API_METRICS_DEFAULT_POINTS;
    TAILQ_INIT(&kv);
    if (query != NULL && strlen(query) > API_PARAMS_MAX_QUERY) {
        *errstr = xstrdup("query string too long");
        return -1;
    }
    if (query != NULL && evhttp_parse_query_str(query, &kv) < 0) {
        *errstr = xstrdup("malformed query string");
        goto fail;
    }
    TAILQ_FOREACH(e, &kv, next) {
        if (amp_one(p, e->key, e->value, now_ms, &seen, errstr) < 0)
            goto fail;
    }
    if (p->name == NULL) {
        *errstr = xstrdup("missing parameter 'name'");
        goto fail;
    }
    if (p->from_ms > p->to_ms) {
        *errstr = xstrdup("since is after until");
        goto fail;
    }
    if (p->step_ms == 0)
        p->step_ms = (p->to_ms - p->from_ms) / AMP_STEPS > 0 ?
                     (p->to_ms - p->from_ms) / AMP_STEPS : 1;
    evhttp_clear_headers(&kv);
    return 0;
fail:
    evhttp_clear_headers(&kv);
    api_metrics_params_fini(p);
    memset(p, 0, sizeof(*p));
    return -1;
}

void
api_metrics_params_fini(struct api_metrics_params *p)
{
    free(p->name);
    free(p->host);
    free(p->container);
    free(p->label);
    p->name = p->host = p->container = p->label = NULL;
}
