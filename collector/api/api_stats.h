/* SPDX-License-Identifier: MIT */
/*
 * api_stats: GET /api/v1/stats (collector/API.md): the store's size per
 * segment (store_foreach_segment), the unsealed tail and WAL
 * (store_get_tail_info) and the totals (store_get_stats, the figures
 * /health shows). No parameters. Not for use outside collector/api/.
 */
#ifndef COLLECTOR_API_API_STATS_H
#define COLLECTOR_API_API_STATS_H

#include <event2/http.h>

struct api;

void api_stats(struct api *a, struct evhttp_request *req, const char *query);

#endif
