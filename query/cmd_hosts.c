/* SPDX-License-Identifier: MIT */
/*
 * cmd_hosts: `logq hosts [--host H] [--json]`: the hosts the collector has
 * heard from (GET /api/v1/hosts) as an aligned table, or JSON lines.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/timeutil.h"
#include "query/cmd.h"
#include "query/output.h"

static int
hosts_print(const struct cmd_env *env, const struct list_args *a,
            const struct reply_list *l, struct buf *out)
{
    struct output_table t;
    static const char *const head[] = { "HOST", "CONTAINERS", "LINES",
                                        "LAST SEEN" };

    output_table_init(&t, 4, 0x6);
    output_table_add(&t, head);
    size_t *order = reply_list_sorted(l);
    for (size_t k = 0; k < l->n_items; k++) {
        size_t i = order[k];
        const struct reply_item *it = &l->items[i];
        char n_ctr[24], n_lines[24], age[48];
        if (!args_names_match(&a->hosts, it->host, 0))
            continue;
        if (a->common.is_json) {
            if (reply_list_item_json(l, i, out) < 0)
                goto fail;
            continue;
        }
        snprintf(n_ctr, sizeof(n_ctr), "%" PRId64, it->n_containers);
        snprintf(n_lines, sizeof(n_lines), "%" PRId64, it->n_lines);
        output_age_format(env->now, it->last_seen_ns, age, sizeof(age));
        const char *row[] = { it->host, n_ctr, n_lines, age };
        output_table_add(&t, row);
    }
    if (!a->common.is_json && output_table_format(&t, out) < 0)
        goto fail;
    output_table_fini(&t);
    free(order);
    return 0;
fail:
    output_table_fini(&t);
    free(order);
    return -1;
}

int
cmd_hosts_exec(const struct cmd_env *env, int argc, char **argv, int first)
{
    struct list_args a;
    struct reply_list l;
    struct buf out;
    int status;

    if (cmd_list_fetch(env, argc, argv, first, "/api/v1/hosts", &a, &l,
                       &status) < 0)
        return status;
    buf_init(&out, CMD_LIST_BODY_MAX * 2);
    status = CMD_EXIT_OK;
    if (hosts_print(env, &a, &l, &out) < 0 || cmd_write_out(&out) < 0)
        status = cmd_error("cannot write the host list");
    buf_fini(&out);
    reply_list_fini(&l);
    return status;
}
