/* SPDX-License-Identifier: MIT */
/*
 * downsample: averages an ascending time series into step-aligned buckets
 * and summarizes it (min/avg/max/last). Pure functions, no allocation: the
 * caller owns both arrays. Used by the metrics and Grafana API handlers;
 * knows nothing about Redis beyond the rm_point type.
 */
#include "collector/metrics/downsample.h"

#include <assert.h>

static _Thread_local uint64_t ds_n_points;

uint64_t
downsample_n_points_here(void)
{
    return ds_n_points;
}

/* b - a for a <= b, exact even when the signed difference would overflow. */
static uint64_t
span_u(int64_t a, int64_t b)
{
    return (uint64_t)b - (uint64_t)a;
}

/*
 * The step actually used: at least 1, and wide enough that the buckets of
 * [from_ms, to_ms] number at most out_cap (out_cap > 0). Unsigned: a
 * range wider than INT64_MAX gets a step that only uint64_t can hold.
 */
static uint64_t
downsample_step(int64_t from_ms, int64_t to_ms, int64_t step_ms,
                size_t out_cap)
{
    uint64_t step = step_ms > 0 ? (uint64_t)step_ms : 1;

    if (to_ms < from_ms)
        return step;
    uint64_t span = span_u(from_ms, to_ms);
    /* buckets: span / step + 1 (to_ms inclusive), compared without the
     * + 1, which wraps for the whole int64_t range (span UINT64_MAX).
     * floor(span / step) < out_cap holds for step = floor(span/cap) + 1;
     * that wraps only for cap 1 over the whole range, where the largest
     * step leaves the last instant in a second bucket: the caller clamps. */
    if (span / step >= (uint64_t)out_cap)
        step = span / (uint64_t)out_cap + 1;
    return step != 0 ? step : UINT64_MAX;
}

static void
downsample_emit(struct rm_point *out, size_t *n_out, int64_t from_ms,
                uint64_t k, uint64_t step, double sum, size_t count)
{
    out[*n_out].ts_ms = (int64_t)((uint64_t)from_ms + k * step);
    out[*n_out].value = sum / (double)count;
    (*n_out)++;
}

size_t
downsample_avg(const struct rm_point *in, size_t n, int64_t from_ms,
               int64_t to_ms, int64_t step_ms, struct rm_point *out,
               size_t out_cap, int64_t *step_used)
{
    if (out_cap == 0) {
        if (step_used != NULL)
            *step_used = step_ms > 0 ? step_ms : 1;
        return 0;
    }
    ds_n_points += n;
    uint64_t step = downsample_step(from_ms, to_ms, step_ms, out_cap);
    if (step_used != NULL)
        *step_used = step > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)step;

    size_t n_out = 0;
    uint64_t cur = 0;            /* bucket index being accumulated */
    double sum = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i].ts_ms < from_ms || in[i].ts_ms > to_ms)
            continue;
        uint64_t k = span_u(from_ms, in[i].ts_ms) / step;
        if (k >= (uint64_t)out_cap)
            k = out_cap - 1;        /* only at INT64_MAX, see above */
        if (k != cur && count > 0) {
            assert(n_out < out_cap);
            downsample_emit(out, &n_out, from_ms, cur, step, sum, count);
            sum = 0;
            count = 0;
        }
        cur = k;
        sum += in[i].value;
        count++;
    }
    if (count > 0) {
        assert(n_out < out_cap);
        downsample_emit(out, &n_out, from_ms, cur, step, sum, count);
    }
    return n_out;
}

void
series_summarize(const struct rm_point *in, size_t n,
                 struct series_summary *out)
{
    ds_n_points += n;
    out->min = out->avg = out->max = out->last = 0;
    if (n == 0)
        return;
    double sum = 0;
    out->min = out->max = in[0].value;
    for (size_t i = 0; i < n; i++) {
        if (in[i].value < out->min)
            out->min = in[i].value;
        if (in[i].value > out->max)
            out->max = in[i].value;
        sum += in[i].value;
    }
    out->avg = sum / (double)n;
    out->last = in[n - 1].value;
}
