/* SPDX-License-Identifier: MIT */
/*
 * cmd_count: `logq count [TERMS...]
 * [--by host|container|stream|field:NAME|label:KEY] [filters]`: GET /api/v1/count, printed as an aligned table (KEY, COUNT,
 * then TOTAL) or, without --by, the total alone; --json prints the
 * collector's object as is. Also the fetch helper cmd_histogram.c shares.
 * The search's -c (the total, like grep -c) and -l (the host/container
 * pairs with matches, like grep -l) run here too (cmd_count_grep).
 * Exit status: 0 when something matched, 1 when nothing did, 2 on error.
 */
#include "query/cmd_count.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"
#include "common/record.h"
#include "query/cmd_names.h"
#include "query/output.h"
#include "query/xreply.h"

#define CMD_COUNT_BODY_MAX (64u << 20)

int
cmd_agg_fetch(const struct cmd_env *env, int argc, char **argv, int first,
              int (*parse_fn)(int, char **, int, int64_t,
                              struct search_args *, char *, size_t),
              enum args_target kind, struct search_args *a,
              struct buf *body, int *status)
{
    char err[512];

    if (parse_fn(argc, argv, first, env->now, a, err, sizeof(err)) < 0) {
        *status = cmd_usage_error(err);
        return -1;
    }
    if (env->conf_since != NULL &&
        args_since_default(a, env->conf_since, env->now) < 0) {
        *status = cmd_error("bad since '%s' in the config file",
                            env->conf_since);
        return -1;
    }
    if (a->common.want_help) {
        env->usage(stdout, kind == ARGS_TARGET_COUNT ? FLAGS_COUNT
                                                      : FLAGS_HISTOGRAM);
        *status = CMD_EXIT_OK;
        return -1;
    }
    output_time_set_local(args_is_local_time(&a->common, env->stdout_is_tty,
                                             env->env_tz));
    return cmd_agg_request(env, kind, a, body, status);
}

int
cmd_agg_request(const struct cmd_env *env, enum args_target kind,
                const struct search_args *a, struct buf *body, int *status)
{
    char err[512];
    struct url u;
    struct buf t;
    const char *server;

    *status = CMD_EXIT_ERROR;
    if (cmd_url_open(env, &a->common, &u, &server) < 0)
        return -1;
    buf_init(&t, 1u << 20);
    int rc = -1;
    if (args_target_format(a, kind, 0, &t) < 0 || buf_append(&t, "", 1) < 0) {
        cmd_error("query too long");
    } else {
        enum client_result res = cmd_fetch(&u, (const char *)t.data, body,
                                           err, sizeof(err));
        if (res != CLIENT_OK)
            cmd_client_error(res, server, err);
        else
            rc = 0;
    }
    buf_fini(&t);
    url_fini(&u);
    return rc;
}

static int
cmd_count_print(const struct search_args *a, const struct xreply_count *c,
                struct buf *out)
{
    struct output_table t;
    char n[24];

    if (a->by == NULL) {
        int len = snprintf(n, sizeof(n), "%" PRIu64 "\n", c->total);
        return buf_append(out, n, (size_t)len);
    }
    output_table_init(&t, 2, 1u << 1);
    const char *head[2] = { a->by[0] == 'h' ? "HOST"
                            : a->by[0] == 'c' ? "HOST/CONTAINER"
                            : a->by[0] == 's' ? "STREAM" : a->by + 6,
                            "COUNT" };
    output_table_add(&t, head);
    for (size_t i = 0; i < c->n_groups; i++) {
        snprintf(n, sizeof(n), "%" PRIu64, c->groups[i].count);
        const char *key = c->groups[i].key;
        const char *row[2] = { key[0] != '\0' ? key : "\"\"", n };
        output_table_add(&t, row);
    }
    if (c->other > 0) {     /* field values past the collector's cap */
        snprintf(n, sizeof(n), "%" PRIu64, c->other);
        const char *other[2] = { "(other)", n };
        output_table_add(&t, other);
    }
    snprintf(n, sizeof(n), "%" PRIu64, c->total);
    const char *total[2] = { "TOTAL", n };
    output_table_add(&t, total);
    int rc = output_table_format(&t, out);
    output_table_fini(&t);
    return rc;
}

/* -l: "host/container" keys, one per line, sorted (the collector sorts
 * by count); --json: {"host","container","count"} lines. */
static int
cmd_count_list_cmp(const void *a, const void *b)
{
    const struct xreply_group *x = a, *y = b;

    return strcmp(x->key, y->key);
}

static int
cmd_count_list_print(const struct search_args *a, struct xreply_count *c,
                     struct buf *out)
{
    qsort(c->groups, c->n_groups, sizeof(*c->groups), cmd_count_list_cmp);
    for (size_t i = 0; i < c->n_groups; i++) {
        const char *k = c->groups[i].key, *slash = strchr(k, '/');
        size_t hlen = slash != NULL ? (size_t)(slash - k) : strlen(k);
        int rc;
        if (a->common.is_json) {
            char n[24];
            snprintf(n, sizeof(n), "%" PRIu64, c->groups[i].count);
            rc = buf_append(out, "{\"host\":", 8) < 0 ||
                 json_str_append(out, k, hlen) < 0 ||
                 buf_append(out, ",\"container\":", 13) < 0 ||
                 json_str_append(out, slash ? slash + 1 : "",
                                 slash ? strlen(slash + 1) : 0) < 0 ||
                 buf_append(out, ",\"count\":", 9) < 0 ||
                 buf_append(out, n, strlen(n)) < 0 ||
                 buf_append(out, "}\n", 2) < 0 ? -1 : 0;
        } else {
            rc = escape_append(out, k, strlen(k), 0) < 0 ||
                 buf_append(out, "\n", 1) < 0 ? -1 : 0;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

int
cmd_count_grep(const struct cmd_env *env, struct search_args *a)
{
    struct buf body, out;
    struct xreply_count c;
    char err[512];
    int status;

    if (a->is_list)
        a->by = "container";
    buf_init(&body, CMD_COUNT_BODY_MAX);
    buf_init(&out, CMD_COUNT_BODY_MAX * 2);
    if (cmd_agg_request(env, ARGS_TARGET_COUNT, a, &body, &status) < 0)
        goto done;
    if (xreply_count_parse((const char *)body.data, body.len, &c, err,
                           sizeof(err)) < 0) {
        status = cmd_error("bad reply from collector: %s", err);
        goto done;
    }
    int rc = a->is_list ? cmd_count_list_print(a, &c, &out)
             : a->common.is_json ? buf_append(&out, body.data, body.len)
             : cmd_count_print(a, &c, &out);
    status = c.total > 0 ? CMD_EXIT_OK : CMD_EXIT_NOMATCH;
    if (rc < 0 || cmd_write_out(&out) < 0)
        status = cmd_error("cannot write output");
    else if (c.total == 0)
        cmd_names_check(env, a);
    if (c.ahead[0] != '\0')        /* a note, on stderr */
        cmd_error("%s", c.ahead);
    xreply_count_fini(&c);
done:
    buf_fini(&body);
    buf_fini(&out);
    return status;
}

int
cmd_count_exec(const struct cmd_env *env, int argc, char **argv, int first)
{
    struct search_args a;
    struct buf body, out;
    struct xreply_count c;
    char err[512];
    int status;

    memset(&a, 0, sizeof(a));
    buf_init(&body, CMD_COUNT_BODY_MAX);
    buf_init(&out, CMD_COUNT_BODY_MAX * 2);
    if (cmd_agg_fetch(env, argc, argv, first, args_count_parse,
                      ARGS_TARGET_COUNT, &a, &body, &status) < 0)
        goto done;
    if (xreply_count_parse((const char *)body.data, body.len, &c, err,
                           sizeof(err)) < 0) {
        status = cmd_error("bad reply from collector: %s", err);
        goto done;
    }
    int rc = a.common.is_json ? buf_append(&out, body.data, body.len)
                              : cmd_count_print(&a, &c, &out);
    status = c.total > 0 ? CMD_EXIT_OK : CMD_EXIT_NOMATCH;
    if (rc < 0 || cmd_write_out(&out) < 0)
        status = cmd_error("cannot write output");
    else if (c.total == 0)
        cmd_names_check(env, &a);
    if (c.ahead[0] != '\0')        /* a note, on stderr */
        cmd_error("%s", c.ahead);
    xreply_count_fini(&c);
done:
    args_search_fini(&a);
    buf_fini(&body);
    buf_fini(&out);
    return status;
}
