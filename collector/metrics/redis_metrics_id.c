/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_id: the series-id codec of redis_metrics (REDIS.md
 * "Identifiers": parts escaped and joined by '|', split back) and the
 * parsers of points as Redis holds them ("<ts_ms>:<value>": one, a
 * latest value, or a range reply's raw points taken from the loop), with
 * the per-thread count of points parsed that lets tests prove the loop
 * parses none. Pure functions, any thread.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/metrics/redis_metrics.h"
#include "collector/metrics/redis_metrics_internal.h"
#include "common/buf.h"
#include "common/xmalloc.h"

int
rm_escape_append(struct buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((s[i] == '\\' || s[i] == '|') && buf_append(b, "\\", 1) < 0)
            return -1;
        if (buf_append(b, &s[i], 1) < 0)
            return -1;
    }
    return 0;
}

int
rm_split(const char *s, size_t len, size_t n_parts, char **out)
{
    char *parts[8];
    size_t n = 0;
    char *cur = xmalloc(len + 1);
    size_t cur_len = 0;

    if (n_parts == 0 || n_parts > 8)
        goto fail;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '|') {
            if (n == n_parts)
                goto fail;
            parts[n++] = xstrndup(cur, cur_len);
            cur_len = 0;
            continue;
        }
        if (s[i] == '\\') {
            if (++i == len)
                goto fail;
        }
        cur[cur_len++] = s[i];
    }
    if (n != n_parts)
        goto fail;
    free(cur);
    memcpy(out, parts, n * sizeof(parts[0]));
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
    free(cur);
    return -1;
}

static _Thread_local uint64_t rm_n_parsed;

uint64_t
rm_n_points_parsed_here(void)
{
    return rm_n_parsed;
}

int
rm_point_parse(const char *s, size_t len, struct rm_point *out)
{
    char tmp[RM_POINT_MAX];
    char *end;

    rm_n_parsed++;
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    long long ts = strtoll(tmp, &end, 10);
    if (errno != 0 || end == tmp || *end != ':')
        return -1;
    const char *v = end + 1;
    double val = strtod(v, &end);
    if (end == v || *end != '\0')
        return -1;
    out->ts_ms = ts;
    out->value = val;
    return 0;
}

void
rm_raw_free(struct rm_raw *raw)
{
    if (raw == NULL)
        return;
    free(raw->text);
    free(raw->lens);
    free(raw);
}

size_t
rm_series_parse(struct rm_series *s)
{
    struct rm_raw *raw = s->raw;
    size_t n_bad = 0, k = 0, off = 0;

    if (raw == NULL)
        return 0;                   /* parsed already */
    for (size_t i = 0; i < raw->n; i++)
        off += raw->lens[i];
    struct rm_point *pts = xcalloc(raw->n + 1, sizeof(*pts));
    for (size_t i = raw->n; i-- > 0;) {     /* newest first: reverse */
        off -= raw->lens[i];
        /* out of time order: downsample_avg relies on ascending points */
        if (rm_point_parse(raw->text + off, raw->lens[i], &pts[k]) < 0 ||
            (k > 0 && pts[k].ts_ms < pts[k - 1].ts_ms)) {
            n_bad++;
            continue;
        }
        k++;
    }
    free((struct rm_point *)s->points);
    s->points = pts;
    s->n_points = k;
    s->raw = NULL;
    rm_raw_free(raw);
    return n_bad;
}

int
rm_latest_parse(const char *point, size_t point_len, struct rm_point *out)
{
    return rm_point_parse(point, point_len, out);
}
