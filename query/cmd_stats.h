/* SPDX-License-Identifier: MIT */
/*
 * cmd_stats: `logq stats` (cmd_stats.c) for main.c's command table. Kept
 * out of cmd.h so that the table row can be added without touching it.
 */
#ifndef QUERY_CMD_STATS_H
#define QUERY_CMD_STATS_H

#include "query/cmd.h"

int cmd_stats_exec(const struct cmd_env *env, int argc, char **argv,
                   int first);

#endif
