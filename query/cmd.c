/* SPDX-License-Identifier: MIT */
/*
 * cmd: see cmd.h. Error wording lives here so every command says
 * "cannot reach collector at URL: reason" the same way.
 */
#include "query/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secret.h"
#include "common/tls.h"
#include "common/xmalloc.h"
#include "query/output.h"

int
cmd_usage_error(const char *msg)
{
    fprintf(stderr, "logq: %s\nTry 'logq --help' for usage.\n", msg);
    return CMD_EXIT_ERROR;
}

int
cmd_error(const char *fmt, ...)
{
    va_list ap;

    fputs("logq: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CMD_EXIT_ERROR;
}

/* The token: --token-file (common/secret.c rules), else $LOGQ_TOKEN. */
static int
cmd_token_open(const struct cmd_env *env, const struct args_common *c,
               struct url *u)
{
    char *tok = NULL, *err = NULL;
    size_t len = 0;

    if (c->token_file != NULL) {
        if (secret_token_file_read(c->token_file, "--token-file", &tok, &len,
                                   &err) < 0) {
            cmd_error("%s", err);
            free(err);
            return -1;
        }
    } else if (env->env_token != NULL && env->env_token[0] != '\0') {
        len = secret_trim(env->env_token, strlen(env->env_token));
        tok = xstrndup(env->env_token, len);
    } else {
        return 0;
    }
    if (!secret_is_bearer(tok, len)) {
        cmd_error("%s: a token is at least %d bytes of visible ASCII (no "
                  "spaces or control characters)",
                  c->token_file ? c->token_file : "$LOGQ_TOKEN",
                  SECRET_MIN_LEN);
        secret_free(tok, len);
        return -1;
    }
    u->token = tok;
    return 0;
}

/* For https: the CA from --tls-ca, else $LOGQ_TLS_CA, else the system's
 * trust store. */
static int
cmd_tls_open(const struct cmd_env *env, const struct args_common *c,
             struct url *u)
{
    const char *ca = c->tls_ca;
    char *err = NULL;

    if (!u->is_tls)
        return 0;
    if (ca == NULL && env->env_tls_ca != NULL && env->env_tls_ca[0] != '\0')
        ca = env->env_tls_ca;
    u->tls = tls_client_new(ca, NULL, NULL, &err);
    if (u->tls == NULL) {
        cmd_error("%s%s", err, c->tls_ca == NULL && ca != NULL
                  ? " (from $LOGQ_TLS_CA)" : "");
        free(err);
        return -1;
    }
    return 0;
}

int
cmd_url_open(const struct cmd_env *env, const struct args_common *c,
             struct url *u, const char **server)
{
    char err[512];

    *server = url_server_choose(c->server, env->env_server);
    if (url_parse(*server, u, err, sizeof(err)) < 0) {
        cmd_usage_error(err);
        return -1;
    }
    u->reply_timeout_ms = c->has_timeout ? c->timeout_ms
                                         : CMD_REPLY_TIMEOUT_MS;
    if (cmd_token_open(env, c, u) < 0 || cmd_tls_open(env, c, u) < 0) {
        url_fini(u);
        return -1;
    }
    return 0;
}

int
cmd_client_error(enum client_result res, const char *server, const char *err)
{
    switch (res) {
    case CLIENT_E_CONNECT:
        return cmd_error("cannot reach collector at %s: %s", server, err);
    case CLIENT_E_HTTP:
        return cmd_error("collector: %s%s", err,
                         strcmp(err, "metrics disabled: no --redis") == 0
                         ? " (start logq-collector with --redis HOST:PORT "
                           "to keep host and container metrics: "
                           "collector/REDIS.md)" : "");
    case CLIENT_E_LOST:
        return cmd_error("connection to collector at %s lost: %s%s", server,
                         err, strstr(err, "read timed out") != NULL
                         ? " (wait longer with --timeout D, or narrow the "
                           "query)" : "");
    case CLIENT_E_PROTO:
        return cmd_error("bad reply from collector at %s: %s", server, err);
    default:
        return cmd_error("%s", err);
    }
}

static int
cmd_collect_cb(const char *p, size_t n, void *arg)
{
    return buf_append(arg, p, n);
}

enum client_result
cmd_fetch(const struct url *u, const char *target, struct buf *body,
          char *err, size_t errlen)
{
    struct client_req req = {
        .url = u, .target = target, .idle_timeout_ms = u->reply_timeout_ms,
        .body_fn = cmd_collect_cb, .arg = body,
    };
    enum client_result res = client_get(&req, NULL, err, errlen);

    if (res == CLIENT_E_STOPPED)    /* only the cap can stop it */
        snprintf(err, errlen, "reply larger than %zu bytes", body->max);
    return res == CLIENT_E_STOPPED ? CLIENT_E_PROTO : res;
}

int
cmd_write_out(struct buf *b)
{
    if (b->len > 0 && fwrite(b->data, 1, b->len, stdout) != b->len) {
        buf_reset(b);
        return -1;
    }
    buf_reset(b);
    return fflush(stdout) == 0 ? 0 : -1;
}

int
cmd_list_fetch(const struct cmd_env *env, int argc, char **argv, int first,
               unsigned cmd, const char *path, struct list_args *a, struct reply_list *out,
               int *status)
{
    char err[512];
    struct url u;
    struct buf body;
    const char *server;

    if (args_list_parse(argc, argv, first, cmd, a, err, sizeof(err)) < 0) {
        *status = cmd_usage_error(err);
        return -1;
    }
    if (a->common.want_help) {
        env->usage(stdout, cmd);
        *status = CMD_EXIT_OK;
        return -1;
    }
    output_time_set_local(args_is_local_time(&a->common, env->stdout_is_tty,
                                             env->env_tz));
    *status = CMD_EXIT_ERROR;
    if (cmd_url_open(env, &a->common, &u, &server) < 0)
        return -1;
    buf_init(&body, CMD_LIST_BODY_MAX);
    enum client_result res = cmd_fetch(&u, path, &body, err, sizeof(err));
    int rc = -1;
    if (res != CLIENT_OK)
        cmd_client_error(res, server, err);
    else if (reply_list_parse((const char *)body.data, body.len, out, err,
                              sizeof(err)) < 0)
        cmd_client_error(CLIENT_E_PROTO, server, err);
    else
        rc = 0;
    buf_fini(&body);
    url_fini(&u);
    return rc;
}

int
cmd_get_exec(const struct cmd_env *env, int argc, char **argv, int first,
             unsigned cmd, const char *path, cmd_show_fn show)
{
    struct args_common c;
    struct url u;
    struct buf body;
    const char *server;
    char err[512];

    if (args_common_parse(argc, argv, first, cmd, &c, err, sizeof(err)) < 0)
        return cmd_usage_error(err);
    if (c.want_help) {
        env->usage(stdout, cmd);
        return CMD_EXIT_OK;
    }
    if (cmd_url_open(env, &c, &u, &server) < 0)
        return CMD_EXIT_ERROR;
    buf_init(&body, CMD_LIST_BODY_MAX);
    enum client_result res = cmd_fetch(&u, path, &body, err, sizeof(err));
    int status = res == CLIENT_OK ? show(env, &c, &body, server)
                                  : cmd_client_error(res, server, err);
    buf_fini(&body);
    url_fini(&u);
    return status;
}
