/* SPDX-License-Identifier: MIT */
/*
 * cmd_containers: `logq containers [--host H] [--json]`: every container
 * the collector has stored lines for (GET /api/v1/containers) as an aligned
 * table, or JSON lines.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "query/cmd.h"
#include "query/output.h"

static int
containers_print(const struct cmd_env *env, const struct list_args *a,
                 const struct reply_list *l, struct buf *out)
{
    struct output_table t;
    static const char *const head[] = { "HOST", "CONTAINER", "ID", "IMAGE",
                                        "LINES", "LAST SEEN" };

    output_table_init(&t, 6, 0x10);
    output_table_add(&t, head);
    size_t *order = reply_list_sorted(l);
    for (size_t k = 0; k < l->n_items; k++) {
        size_t i = order[k];
        const struct reply_item *it = &l->items[i];
        char id[13], n_lines[24], age[48];
        if (!args_names_match(&a->hosts, it->host, 0))
            continue;
        if (a->common.is_json) {
            if (reply_list_item_json(l, i, out) < 0)
                goto fail;
            continue;
        }
        snprintf(id, sizeof(id), "%s", it->container_id);  /* short id */
        snprintf(n_lines, sizeof(n_lines), "%" PRId64, it->n_lines);
        output_age_format(env->now, it->last_seen_ns, age, sizeof(age));
        const char *row[] = { it->host, it->container, id, it->image,
                              n_lines, age };
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
cmd_containers_exec(const struct cmd_env *env, int argc, char **argv,
                    int first)
{
    struct list_args a;
    struct reply_list l;
    struct buf out;
    int status;

    if (cmd_list_fetch(env, argc, argv, first, FLAGS_CONTAINERS,
                       "/api/v1/containers", &a, &l, &status) < 0)
        return status;
    buf_init(&out, CMD_LIST_BODY_MAX * 2);
    status = CMD_EXIT_OK;
    if (containers_print(env, &a, &l, &out) < 0 || cmd_write_out(&out) < 0)
        status = cmd_error("cannot write the container list");
    buf_fini(&out);
    reply_list_fini(&l);
    return status;
}
