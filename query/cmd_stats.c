/* SPDX-License-Identifier: MIT */
/*
 * cmd_stats: `logq stats [--json] [--server URL]`: the collector's store
 * per segment (GET /api/v1/stats): raw, stored and index bytes, ratio,
 * lines, blocks and time range, a WAL row for what is not sealed yet and
 * a TOTAL row (parsing and layout in stats_view.c). --json prints the
 * collector's reply as is. Exit status: 0, or 2 on error (unreachable
 * collector, HTTP error, bad reply).
 */
#include "query/cmd_stats.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "query/stats_view.h"

enum { STATS_O_SERVER = 1, STATS_O_JSON, STATS_O_NO_COLOR, STATS_O_HELP,
       STATS_O_TOKEN_FILE, STATS_O_TLS_CA,
       STATS_O_COLOR };

static const struct args_opt stats_opts[] = {
    { "server", 0, 1, STATS_O_SERVER },
    { "token-file", 0, 1, STATS_O_TOKEN_FILE },
    { "tls-ca", 0, 1, STATS_O_TLS_CA },
    { "json", 0, 0, STATS_O_JSON },
    { "no-color", 0, 0, STATS_O_NO_COLOR },
    { "color", 0, 1, STATS_O_COLOR },
    { "help", 'h', 0, STATS_O_HELP },
    { NULL, 0, 0, 0 },
};

static void
stats_usage(FILE *fp)
{
    fputs("usage: logq stats [--json] [--server URL] [--token-file F]\n"
          "                  [--tls-ca F]\n"
          "The collector's store: one row per segment (state, raw bytes,\n"
          "bytes on disk, index bytes, RATIO = (stored + index) / raw,\n"
          "lines, blocks, first and last record time in UTC), a WAL row\n"
          "for records not sealed into a segment yet, and a TOTAL row.\n"
          "Sizes in binary units (12.3 MiB). --json prints the collector's"
          "\nreply. Exit status: 0, or 2 on error.\n", fp);
}

/* 0, or the exit status of a usage error (already printed). */
static int
stats_args(int argc, char **argv, int first, struct args_common *c)
{
    struct args_iter it;
    char err[256];
    int id;

    memset(c, 0, sizeof(*c));
    args_iter_init(&it, argc, argv, first);
    while ((id = args_next(&it, stats_opts, err, sizeof(err))) != ARGS_END) {
        if (id == ARGS_ERROR)
            return cmd_usage_error(err);
        if (id == ARGS_WORD) {
            snprintf(err, sizeof(err), "unexpected argument '%s'", it.value);
            return cmd_usage_error(err);
        }
        if (id == STATS_O_SERVER)
            c->server = it.value;
        else if (id == STATS_O_TOKEN_FILE)
            c->token_file = it.value;
        else if (id == STATS_O_TLS_CA)
            c->tls_ca = it.value;
        else if (id == STATS_O_JSON)
            c->is_json = 1;
        else if (id == STATS_O_COLOR) {
            if (args_color_parse(it.value, &c->color_mode) < 0) {
                snprintf(err, sizeof(err), "bad --color '%s' (auto, always "
                         "or never)", it.value);
                return cmd_usage_error(err);
            }
        } else if (id == STATS_O_NO_COLOR)
            c->color_mode = ARGS_COLOR_NEVER;
        else
            c->want_help = 1;
    }
    return 0;
}

/* Prints the reply; returns the exit status. The reply is parsed even
 * with --json so that a foreign or broken reply is an error either way. */
static int
stats_show(const struct args_common *c, struct buf *body, const char *server)
{
    struct stats_view v;
    struct buf out;
    char err[512];

    if (stats_view_parse((const char *)body->data, body->len, &v, err,
                         sizeof(err)) < 0)
        return cmd_client_error(CLIENT_E_PROTO, server, err);
    buf_init(&out, CMD_LIST_BODY_MAX * 2);
    int rc = c->is_json ? buf_append(&out, body->data, body->len)
                        : stats_view_render(&out, &v);
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
    struct args_common c;
    struct url u;
    struct buf body;
    const char *server;
    char err[512];

    if (stats_args(argc, argv, first, &c) != 0)
        return CMD_EXIT_ERROR;
    if (c.want_help) {
        stats_usage(stdout);
        return CMD_EXIT_OK;
    }
    if (cmd_url_open(env, &c, &u, &server) < 0)
        return CMD_EXIT_ERROR;
    buf_init(&body, CMD_LIST_BODY_MAX);
    enum client_result res = cmd_fetch(&u, "/api/v1/stats", &body, err,
                                       sizeof(err));
    int status = res == CLIENT_OK ? stats_show(&c, &body, server)
                                  : cmd_client_error(res, server, err);
    buf_fini(&body);
    url_fini(&u);
    return status;
}
