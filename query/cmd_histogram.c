/* SPDX-License-Identifier: MIT */
/*
 * cmd_histogram: `logq histogram [TERMS...] [--step S] [filters]`:
 * GET /api/v1/histogram, one row per bucket (zeros included): bucket start
 * (UTC), count, and a bar of '#' scaled to the largest bucket; --json
 * prints the collector's object as is. Exit status: 0 when something
 * matched, 1 when nothing did, 2 on error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/cmd_count.h"
#include "query/output.h"
#include "query/xreply.h"

#define CMD_HIST_BODY_MAX (16u << 20)
#define CMD_HIST_BAR      50

static int
cmd_histogram_print(const struct xreply_hist *h, struct buf *out)
{
    uint64_t max = 0;
    char n[24];

    for (size_t i = 0; i < h->n; i++)
        if (h->counts[i] > max)
            max = h->counts[i];
    size_t width = (size_t)snprintf(n, sizeof(n), "%" PRIu64, max);
    for (size_t i = 0; i < h->n; i++)
        if (output_hist_row(out, h->t_ms[i], h->counts[i], max, width,
                            CMD_HIST_BAR) < 0)
            return -1;
    return 0;
}

int
cmd_histogram_exec(const struct cmd_env *env, int argc, char **argv,
                   int first)
{
    struct search_args a;
    struct buf body, out;
    struct xreply_hist h;
    char err[512];
    uint64_t total = 0;
    int status;

    memset(&a, 0, sizeof(a));
    buf_init(&body, CMD_HIST_BODY_MAX);
    buf_init(&out, CMD_HIST_BODY_MAX * 2);
    if (cmd_agg_fetch(env, argc, argv, first, args_histogram_parse,
                      ARGS_TARGET_HISTOGRAM, &a, &body, &status) < 0)
        goto done;
    if (xreply_hist_parse((const char *)body.data, body.len, &h, err,
                          sizeof(err)) < 0) {
        status = cmd_error("bad reply from collector: %s", err);
        goto done;
    }
    for (size_t i = 0; i < h.n; i++)
        total += h.counts[i];
    int rc = a.common.is_json ? buf_append(&out, body.data, body.len)
                              : cmd_histogram_print(&h, &out);
    status = total > 0 ? CMD_EXIT_OK : CMD_EXIT_NOMATCH;
    if (rc < 0 || cmd_write_out(&out) < 0)
        status = cmd_error("cannot write output");
    if (h.ahead[0] != '\0')        /* a note, on stderr */
        cmd_error("%s", h.ahead);
    xreply_hist_fini(&h);
done:
    args_search_fini(&a);
    buf_fini(&body);
    buf_fini(&out);
    return status;
}
