/* SPDX-License-Identifier: MIT */
/*
 * cmd_containers: `logq containers [--host H] [--json]`: every container
 * the collector has stored lines for (GET /api/v1/containers), sorted by
 * host and name, with its state and restart count from the shipper's
 * metrics (GET /api/v1/health?containers=all; "-" without --redis), as an
 * aligned table or JSON lines (containers_view.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "query/cmd.h"
#include "query/containers_view.h"
#include "query/health.h"
#include "query/output.h"

/* The metrics' view of every container into *h: 0, or -1 (no metrics:
 * the collector runs without --redis, or the request failed; a failure
 * other than "metrics disabled" is named on stderr). */
static int
containers_health(const struct cmd_env *env, const struct list_args *a,
                  struct health_reply *h)
{
    struct url u;
    struct buf body;
    const char *server;
    char err[512];
    int rc = -1;

    if (cmd_url_open(env, &a->common, &u, &server) < 0)
        return -1;
    buf_init(&body, CMD_LIST_BODY_MAX);
    enum client_result res = cmd_fetch(&u, "/api/v1/health?containers=all",
                                       &body, err, sizeof(err));
    if (res == CLIENT_OK)
        rc = health_reply_parse((const char *)body.data, body.len, h, err,
                                sizeof(err));
    if (rc < 0 && strstr(err, "metrics disabled") == NULL)
        fprintf(stderr, "logq: no container states (%s)\n", err);
    buf_fini(&body);
    url_fini(&u);
    return rc;
}

int
cmd_containers_exec(const struct cmd_env *env, int argc, char **argv,
                    int first)
{
    struct list_args a;
    struct reply_list l;
    struct health_reply h;
    struct buf out;
    size_t n = 0;
    int status;

    if (cmd_list_fetch(env, argc, argv, first, FLAGS_CONTAINERS,
                       "/api/v1/containers", &a, &l, &status) < 0)
        return status;
    int has_metrics = containers_health(env, &a, &h) == 0;
    size_t *order = reply_list_sorted(&l);
    for (size_t k = 0; k < l.n_items; k++)
        if (args_names_match(&a.hosts, l.items[order[k]].host, 0))
            order[n++] = order[k];
    buf_init(&out, CMD_LIST_BODY_MAX * 2);
    status = CMD_EXIT_OK;
    if (containers_view_render(&out, &l, order, n, has_metrics ? &h : NULL,
                               env->now, a.common.is_json) < 0 ||
        cmd_write_out(&out) < 0)
        status = cmd_error("cannot write the container list");
    buf_fini(&out);
    free(order);
    if (has_metrics)
        health_reply_fini(&h);
    reply_list_fini(&l);
    return status;
}
