/* SPDX-License-Identifier: MIT */
/*
 * cmd_metrics: `logq metrics` lists the metric names (GET /api/v1/metrics);
 * `logq metrics NAME [--host H] [--container C] [--label L] [--since T]
 * [--step D]` prints each matching series with min/avg/max/last and a
 * sparkline (GET /api/v1/metrics/query). The sparkline stays when output
 * is piped (it is plain text; --no-spark drops it) and falls back to ASCII
 * when the locale is not UTF-8. --json prints the collector's reply.
 * Exit status: 0 something listed, 1 nothing, 2 error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/escape.h"
#include "query/cmd.h"
#include "query/metrics_view.h"
#include "query/nearest.h"
#include "query/sparkline.h"

/* A name that found no series: if the collector has no data under that
 * name at all, says so with the nearest names it has. The collector knows
 * only the names it has received, so a name no shipper has sent yet (a
 * rate before its second sample) looks like a misspelling: the caller
 * keeps exit 1 (nothing found), as for a container that has no lines. */
static int
metrics_unknown_name(const struct url *u, const char *name)
{
    struct mview_reply r;
    struct buf body;
    char err[256];
    int is_unknown = 0;

    buf_init(&body, CMD_LIST_BODY_MAX);
    if (cmd_fetch(u, "/api/v1/metrics", &body, err, sizeof(err)) ==
        CLIENT_OK && mview_names_parse((const char *)body.data, body.len, &r,
                                       err, sizeof(err)) == 0) {
        is_unknown = 1;
        for (size_t i = 0; i < r.n_names && is_unknown; i++)
            is_unknown = strcmp(r.names[i], name) != 0;
        if (is_unknown) {
            const char *near[5];
            size_t n = nearest_names(name, r.names, r.n_names, near, 5);
            struct buf msg;
            buf_init(&msg, 4096);
            for (size_t i = 0; i < n; i++)
                if (buf_append(&msg, i ? ", " : "; did you mean ",
                               i ? 2 : 15) < 0 ||
                    escape_append(&msg, near[i], strlen(near[i]), 0) < 0)
                    break;
            cmd_error("no metric '%s' at the collector%.*s%s (logq "
                      "metrics lists the names it has)", name, (int)msg.len, (char *)msg.data,
                      n > 0 ? "?" : "");
            buf_fini(&msg);
        }
        mview_reply_fini(&r);
    }
    buf_fini(&body);
    return is_unknown;
}

static int
metrics_show(const struct metrics_args *a, struct buf *body,
             const char *server)
{
    struct mview_reply r;
    struct buf out;
    char err[512];
    int rc;

    rc = a->name ? mview_series_parse((const char *)body->data, body->len,
                                      &r, err, sizeof(err))
                 : mview_names_parse((const char *)body->data, body->len, &r,
                                     err, sizeof(err));
    if (rc < 0)
        return cmd_client_error(CLIENT_E_PROTO, server, err);
    int status = (a->name ? r.n_series : r.n_names) > 0 ? CMD_EXIT_OK
                                                        : CMD_EXIT_NOMATCH;
    int is_utf8 = sparkline_locale_is_utf8(getenv("LC_ALL"),
                                           getenv("LC_CTYPE"),
                                           getenv("LANG"));
    buf_init(&out, CMD_LIST_BODY_MAX * 2);
    if (a->common.is_json)
        rc = buf_append(&out, body->data, body->len);
    else if (a->name)
        rc = mview_series_render(&out, &r, !a->has_no_spark, is_utf8);
    else
        rc = mview_names_render(&out, &r);
    if (rc < 0 || cmd_write_out(&out) < 0)
        status = cmd_error("cannot write the metrics");
    buf_fini(&out);
    mview_reply_fini(&r);
    return status;
}

int
cmd_metrics_exec(const struct cmd_env *env, int argc, char **argv, int first)
{
    struct metrics_args a;
    struct url u;
    struct buf body, target;
    const char *server;
    char err[512];

    if (metrics_args_parse(argc, argv, first, env->now, &a, err,
                           sizeof(err)) < 0)
        return cmd_usage_error(err);
    if (a.common.want_help) {
        env->usage(stdout, FLAGS_METRICS);
        return CMD_EXIT_OK;
    }
    if (cmd_url_open(env, &a.common, &u, &server) < 0)
        return CMD_EXIT_ERROR;
    buf_init(&target, 16384);
    buf_init(&body, CMD_LIST_BODY_MAX);
    int status;
    if (metrics_target_format(&a, &target) < 0 ||
        buf_append(&target, "", 1) < 0) {
        status = cmd_usage_error("arguments too long");
    } else {
        enum client_result res = cmd_fetch(&u, (const char *)target.data,
                                           &body, err, sizeof(err));
        status = res == CLIENT_OK ? metrics_show(&a, &body, server)
                                  : cmd_client_error(res, server, err);
        if (status == CMD_EXIT_NOMATCH && a.name != NULL)
            metrics_unknown_name(&u, a.name);
    }
    buf_fini(&body);
    buf_fini(&target);
    url_fini(&u);
    return status;
}
