/* SPDX-License-Identifier: MIT */
/*
 * api_count: the aggregate endpoints GET /api/v1/count and
 * /api/v1/histogram (collector/API.md), and the helper that turns parsed
 * search parameters into a search_spec for them and for api_logs.c.
 * Not for use outside collector/api/.
 */
#ifndef COLLECTOR_API_API_COUNT_H
#define COLLECTOR_API_API_COUNT_H

#include <stdint.h>

#include <event2/http.h>

#include "collector/api/api_params.h"
#include "collector/search/query.h"
#include "collector/search/search.h"

struct api;

void api_count(struct api *a, struct evhttp_request *req, const char *query);
void api_histogram(struct api *a, struct evhttp_request *req,
                   const char *query);

/* Fills *spec from the filters of p and the compiled q (both borrowed):
 * no limit, no context, oldest first, the default scan cost cap. */
void api_search_spec(const struct api_params *p, const struct query *q,
                     struct search_spec *spec);

/* The scan cost cap of a request: --max-scan-bytes, or x's max_scan when
 * lower. */
struct api_xparams;
uint64_t api_max_scan(const struct api *a, const struct api_xparams *x);

#endif
