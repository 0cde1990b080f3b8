/* SPDX-License-Identifier: MIT */
/*
 * api_xparams: splits the raw query string on '&', percent-decodes each key
 * (and the values it keeps) with evhttp_uridecode, '+' as a space, like
 * api_params.c. Values are checked against fixed caps before use.
 */
#include "collector/api/api_xparams.h"

#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "collector/search/agg.h"
#include "collector/api/api_params.h"
#include "collector/search/search.h"
#include "common/buf.h"
#include "common/xmalloc.h"

/* Decimal digits only, at most 20 of them, value <= max. */
static int
api_xparams_uint(const char *v, uint64_t max, uint64_t *out)
{
    uint64_t n = 0;
    size_t len = strlen(v);

    if (len == 0 || len > 20 || strspn(v, "0123456789") != len)
        return -1;
    for (const char *p = v; *p; p++) {
        if (n > (max - (uint64_t)(*p - '0')) / 10)
            return -1;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    *out = n;
    return 0;
}

static int
api_xparams_context(const char *name, const char *v, unsigned *out,
                    char **errstr)
{
    uint64_t n;

    if (api_xparams_uint(v, SEARCH_MAX_CONTEXT, &n) < 0) {
        *errstr = xasprintf("bad %s: want 0 to %d context lines", name,
                            SEARCH_MAX_CONTEXT);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

/* Applies one known parameter; 0 if name is not one of ep's, 1 if
 * applied, -1 on a bad value or a refused name. */
static int
api_xparams_apply(struct api_xparams *x, enum api_xep ep, const char *name,
                  const char *v, char **errstr)
{
    uint64_t n;

    if (strcmp(name, "max_scan") == 0) {
        if (api_xparams_uint(v, SEARCH_DEFAULT_MAX_SCAN, &n) < 0 || n == 0) {
            *errstr = xasprintf("bad max_scan: want 1 to %llu bytes",
                                (unsigned long long)SEARCH_DEFAULT_MAX_SCAN);
            return -1;
        }
        x->max_scan = n;
        return 1;
    }
    if (ep == API_XEP_LOGS && strcmp(name, "before") == 0)
        return api_xparams_context(name, v, &x->before, errstr) < 0 ? -1 : 1;
    if (ep == API_XEP_LOGS && strcmp(name, "after") == 0)
        return api_xparams_context(name, v, &x->after, errstr) < 0 ? -1 : 1;
    if (ep == API_XEP_COUNT && strcmp(name, "by") == 0) {
        enum agg_by by;
        if (agg_by_parse(v, &by, x->by_name) < 0) {
            *errstr = xstrdup("bad by: want host, container, stream, "
                              "field:NAME or label:KEY");
            return -1;
        }
        x->by = by;
        return 1;
    }
    if (ep == API_XEP_HISTOGRAM && strcmp(name, "step") == 0) {
        if (agg_step_parse(v, &x->step_ns) < 0) {
            *errstr = xstrdup("bad step: want milliseconds or a duration "
                              "(10s, 1m, 1h) from 1ms to 366d");
            return -1;
        }
        x->has_step = 1;
        return 1;
    }
    if (ep != API_XEP_LOGS &&
        (strcmp(name, "limit") == 0 || strcmp(name, "order") == 0 ||
         strcmp(name, "spans") == 0)) {
        *errstr = xasprintf("unknown parameter '%s'", name);
        return -1;
    }
    return 0;
}

static char *
api_xparams_decode(const char *s, size_t n)
{
    char *raw = xstrndup(s, n);
    char *dec = evhttp_uridecode(raw, 1, NULL);
    char *out = dec != NULL ? xstrdup(dec) : NULL;

    free(dec);      /* libevent's allocation */
    free(raw);
    return out;
}

/* One "name=value" pair of n bytes: applied to x or copied to rest. */
static int
api_xparams_pair(struct api_xparams *x, enum api_xep ep, const char *pair,
                 size_t n, unsigned *seen, struct buf *rest, char **errstr)
{
    static const char *const names[] = {
        "max_scan", "before", "after", "by", "step",
    };
    const char *eq = memchr(pair, '=', n);
    size_t klen = eq ? (size_t)(eq - pair) : n;
    char *key = api_xparams_decode(pair, klen);
    char *val = api_xparams_decode(eq ? eq + 1 : "", eq ? n - klen - 1 : 0);
    int rc = -1;

    if (key == NULL || val == NULL) {
        *errstr = xstrdup("malformed query string");
        goto done;
    }
    rc = api_xparams_apply(x, ep, key, val, errstr);
    if (rc == 1) {
        for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (strcmp(key, names[i]) != 0)
                continue;
            if (*seen & (1u << i)) {
                *errstr = xasprintf("repeated parameter '%s'", key);
                rc = -1;
            }
            *seen |= 1u << i;
        }
    } else if (rc == 0) {
        if ((rest->len > 0 && buf_append(rest, "&", 1) < 0) ||
            buf_append(rest, pair, n) < 0) {
            *errstr = xstrdup("query string too long");
            rc = -1;
        }
    }
done:
    free(key);
    free(val);
    return rc < 0 ? -1 : 0;
}

int
api_xparams_split(const char *query, enum api_xep ep, struct api_xparams *x,
                  char **rest, char **errstr)
{
    struct api_xparams tmp;
    struct buf out;
    unsigned seen = 0;

    memset(&tmp, 0, sizeof(tmp));
    tmp.by = AGG_BY_NONE;
    if (query != NULL && strlen(query) > API_PARAMS_MAX_QUERY) {
        *errstr = xasprintf("query string too long (at most %d bytes)",
                            API_PARAMS_MAX_QUERY);
        return -1;
    }
    buf_init(&out, API_PARAMS_MAX_QUERY + 1);
    for (const char *p = query ? query : ""; *p != '\0';) {
        size_t n = strcspn(p, "&");
        if (n > 0 && api_xparams_pair(&tmp, ep, p, n, &seen, &out,
                                      errstr) < 0) {
            buf_fini(&out);
            return -1;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    *rest = xstrndup(out.len ? (const char *)out.data : "", out.len);
    buf_fini(&out);
    *x = tmp;
    return 0;
}
