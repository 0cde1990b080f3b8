/* SPDX-License-Identifier: MIT */
/*
 * fuzz_mparams: libFuzzer target for the query string of
 * /api/v1/metrics/query (collector/api/api_metrics_params.c), untrusted
 * HTTP input, then the handler's arithmetic on what it accepted: a few
 * points spanning the range are downsampled into max_points buckets, as
 * am_series_json does. (The other routes' parsers have their own targets:
 * /logs and /follow fuzz_query, /count and /histogram fuzz_xparams,
 * /grafana fuzz_grafana; /health, /hosts, /containers, /stats,
 * /metrics and /api/v1/health take no parameters.) Invariants checked with
 * assert: a failure gives an error text and leaves the struct zeroed; a
 * success has a name, bounded strings, from <= to, step >= 1, max_points
 * within [1, API_METRICS_MAX_POINTS], and the downsampled series has at
 * most max_points ascending points inside [from, to].
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/api/api_metrics.h"
#include "collector/api/api_params.h"
#include "collector/metrics/downsample.h"
#include "common/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW_MS 1795787440123LL

static void
fuzz_check_str(const char *s, int may_be_null)
{
    assert(may_be_null || s != NULL);
    assert(s == NULL || strlen(s) <= API_PARAMS_MAX_NAME);
}

/* Points at both ends of the range, one either side and the middle. */
static void
fuzz_downsample(const struct api_metrics_params *p)
{
    static struct rm_point out[API_METRICS_MAX_POINTS];
    struct rm_point in[5];
    size_t n = 0;
    int64_t mid = p->from_ms / 2 + p->to_ms / 2;

    if (p->from_ms > INT64_MIN)
        in[n++] = (struct rm_point){ p->from_ms - 1, 1.0 };
    in[n++] = (struct rm_point){ p->from_ms, 2.0 };
    in[n++] = (struct rm_point){ mid, 3.0 };
    in[n++] = (struct rm_point){ p->to_ms, 4.0 };
    if (p->to_ms < INT64_MAX)
        in[n++] = (struct rm_point){ p->to_ms + 1, 5.0 };
    int64_t step = 0;
    size_t k = downsample_avg(in, n, p->from_ms, p->to_ms, p->step_ms, out,
                              p->max_points, &step);
    assert(k >= 1 && k <= 3 && k <= p->max_points);
    assert(step >= p->step_ms);
    for (size_t i = 0; i < k; i++) {
        assert(out[i].ts_ms >= p->from_ms && out[i].ts_ms <= p->to_ms);
        assert(i == 0 || out[i].ts_ms > out[i - 1].ts_ms);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);
    struct api_metrics_params p;
    char *err = NULL;

    if (api_metrics_params_parse(s, FUZZ_NOW_MS, &p, &err) < 0) {
        assert(err != NULL);
        assert(p.name == NULL && p.host == NULL && p.container == NULL &&
               p.label == NULL);
        free(err);
        free(s);
        return 0;
    }
    assert(err == NULL);
    fuzz_check_str(p.name, 0);
    assert(p.name[0] != '\0');
    fuzz_check_str(p.host, 1);
    fuzz_check_str(p.container, 1);
    fuzz_check_str(p.label, 1);
    assert(p.from_ms <= p.to_ms);
    assert(p.step_ms >= 1);
    assert(p.max_points >= 1 && p.max_points <= API_METRICS_MAX_POINTS);
    fuzz_downsample(&p);
    api_metrics_params_fini(&p);
    free(s);
    return 0;
}
