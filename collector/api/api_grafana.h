/* SPDX-License-Identifier: MIT */
/*
 * api_grafana: the Grafana JSON datasource endpoints under /grafana
 * (collector/GRAFANA.md), dispatched by api.c for every path under
 * /grafana. Not for use outside collector/api/.
 */
#ifndef COLLECTOR_API_API_GRAFANA_H
#define COLLECTOR_API_API_GRAFANA_H

#include <event2/http.h>

#include "collector/api/grafana_req.h"

struct api;

/* evhttp's body cap: bodies up to this size reach grafana_req_parse,
 * which answers 400 past GRAFANA_MAX_BODY; larger ones get evhttp's 413. */
#define API_GRAFANA_MAX_BODY (2 * GRAFANA_MAX_BODY)

/* True for "/grafana" and every path below it. */
int  api_grafana_is_path(const char *path);
/* Handles one request; path is the full request path. */
void api_grafana(struct api *a, struct evhttp_request *req, const char *path);

#endif
