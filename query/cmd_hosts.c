/* SPDX-License-Identifier: MIT */
/*
 * cmd_hosts: `logq hosts [--host H] [--json]`: the hosts the collector has
 * heard from (GET /api/v1/hosts) as an aligned table sorted by host (HOST,
 * STATUS: connected / down since AGE / down, CONTAINERS, LINES, LAST
 * CONTACT: the last frame from its shipper, LAST LINE: the newest stored
 * line's time), or JSON lines.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/timeutil.h"
#include "query/cmd.h"
#include "query/output.h"

/* "connected", "down since 5m ago" or "down" (not seen connected since
 * the collector started). */
static void
hosts_status(int64_t now, const struct reply_item *it, char *out,
             size_t outlen)
{
    char age[48];

    if (it->is_connected) {
        snprintf(out, outlen, "connected");
    } else if (it->down_since_ns < 0) {
        snprintf(out, outlen, "down");
    } else {
        output_age_format(now, it->down_since_ns, age, sizeof(age));
        snprintf(out, outlen, "down since %s", age);
    }
}

static int
hosts_print(const struct cmd_env *env, const struct list_args *a,
            const struct reply_list *l, struct buf *out)
{
    struct output_table t;
    static const char *const head[] = { "HOST", "STATUS", "CONTAINERS",
                                        "LINES", "LAST CONTACT",
                                        "LAST LINE" };

    output_table_init(&t, 6, 0xc);
    output_table_add(&t, head);
    size_t *order = reply_list_sorted(l);
    for (size_t k = 0; k < l->n_items; k++) {
        size_t i = order[k];
        const struct reply_item *it = &l->items[i];
        char n_ctr[24], n_lines[24], age[48], contact[48], status[64];
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
        output_age_format(env->now, it->last_contact_ns, contact,
                          sizeof(contact));
        hosts_status(env->now, it, status, sizeof(status));
        const char *row[] = { it->host, status, n_ctr, n_lines, contact,
                              age };
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

    if (cmd_list_fetch(env, argc, argv, first, FLAGS_HOSTS,
                       "/api/v1/hosts", &a, &l, &status) < 0)
        return status;
    buf_init(&out, CMD_LIST_BODY_MAX * 2);
    status = CMD_EXIT_OK;
    if (hosts_print(env, &a, &l, &out) < 0 || cmd_write_out(&out) < 0)
        status = cmd_error("cannot write the host list");
    buf_fini(&out);
    reply_list_fini(&l);
    return status;
}
