/* SPDX-License-Identifier: MIT */
/*
 * cmd_health: `logq health [--json] [--server URL] [--no-color]`: one row
 * per host and the unhealthy containers from GET /api/v1/health (parsing
 * and layout in health.c). Exit status for cron: 0 all well, 1 a host down
 * or a container unhealthy, 2 error (collector unreachable, metrics
 * disabled, bad reply).
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "query/cmd.h"
#include "query/health.h"
#include "query/output.h"

/* Prints the reply; returns the exit status. */
static int
health_show(const struct cmd_env *env, const struct args_common *c,
            struct buf *body, const char *server)
{
    struct health_reply h;
    struct buf out;
    char err[512];

    if (health_reply_parse((const char *)body->data, body->len, &h, err,
                           sizeof(err)) < 0)
        return cmd_client_error(CLIENT_E_PROTO, server, err);
    int status = health_exit_status(&h);
    int color = output_color_enabled(env->stdout_is_tty, c->color_mode,
                                     env->env_no_color);
    buf_init(&out, CMD_LIST_BODY_MAX * 2);
    int rc = c->is_json ? buf_append(&out, body->data, body->len)
                        : health_render(&out, &h, env->now, color);
    if (rc == 0 && c->is_json && (body->len == 0 ||
                                  body->data[body->len - 1] != '\n'))
        rc = buf_append(&out, "\n", 1);
    if (rc < 0 || cmd_write_out(&out) < 0)
        status = cmd_error("cannot write the health report");
    buf_fini(&out);
    health_reply_fini(&h);
    return status;
}

int
cmd_health_exec(const struct cmd_env *env, int argc, char **argv, int first)
{
    return cmd_get_exec(env, argc, argv, first, FLAGS_HEALTH, "/api/v1/health",
                        health_show);
}
