/* SPDX-License-Identifier: MIT */
/*
 * downsample: buckets a time series into fixed steps by average (pure).
 * Used by /api/v1/metrics/query and the Grafana /query endpoint
 * (intervalMs, maxDataPoints).
 */
#ifndef COLLECTOR_DOWNSAMPLE_H
#define COLLECTOR_DOWNSAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "collector/metrics/redis_metrics.h"

/*
 * Writes at most out_cap points to out: one per step-aligned bucket
 * [from_ms + k*step_ms, +step_ms) that holds at least one input point, with
 * the bucket's start time and the average value. Input must be ascending.
 * If the buckets would pass out_cap, step is widened to fit. Returns the
 * number written; *step_used gets the step actually used.
 */
size_t downsample_avg(const struct rm_point *in, size_t n, int64_t from_ms,
                      int64_t to_ms, int64_t step_ms, struct rm_point *out,
                      size_t out_cap, int64_t *step_used);

/* min/avg/max/last over in[0..n); all 0 when n == 0. */
struct series_summary {
    double min, avg, max, last;
};
void series_summarize(const struct rm_point *in, size_t n,
                      struct series_summary *out);

/* How many input points the calling thread has passed to downsample_avg
 * and series_summarize (thread-local): lets tests prove that the
 * collector's event loop downsamples none (collector/README.md "Queries
 * off the loop"). */
uint64_t downsample_n_points_here(void);

#endif
