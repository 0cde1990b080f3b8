/* SPDX-License-Identifier: MIT */
/*
 * cmd_stats: `logq stats [--json] [--local|--utc] [--server URL]`: the
 * collector's store per segment (GET /api/v1/stats): raw, stored and
 * index bytes, ratio, lines, blocks and time range (UTC, or local as the
 * other commands: --local, or TZ set on a terminal), a WAL row for what is not sealed yet and
 * a TOTAL row (parsing and layout in stats_view.c). --json prints the
 * collector's reply as is. Exit status: 0, or 2 on error (unreachable
 * collector, HTTP error, bad reply).
 */
#include "query/cmd_stats.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "query/stats_view.h"

/* Prints the reply; returns the exit status. The reply is parsed even
 * with --json so that a foreign or broken reply is an error either way. */
static int
stats_show(const struct cmd_env *env, const struct args_common *c,
           struct buf *body, const char *server)
{
    struct stats_view v;
    struct buf out;
    char err[512];

    if (stats_view_parse((const char *)body->data, body->len, &v, err,
                         sizeof(err)) < 0)
        return cmd_client_error(CLIENT_E_PROTO, server, err);
    buf_init(&out, CMD_LIST_BODY_MAX * 2);
    int rc = c->is_json ? buf_append(&out, body->data, body->len)
                        : stats_view_render(&out, &v, args_is_local_time(
                                                c, env->stdout_is_tty,
                                                env->env_tz));
    if (rc == 0 && c->is_json && (body->len == 0 ||
                                  body->data[body->len - 1] != '\n'))
        rc = buf_append(&out, "\n", 1);
    int status = CMD_EXIT_OK;
    if (rc < 0 || cmd_write_out(&out) < 0)
        status = cmd_error("cannot write the store statistics");
    buf_fini(&out);
    stats_view_fini(&v);
    return status;
}

int
cmd_stats_exec(const struct cmd_env *env, int argc, char **argv, int first)
{
    return cmd_get_exec(env, argc, argv, first, FLAGS_STATS, "/api/v1/stats",
                        stats_show);
}
