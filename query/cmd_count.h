/* SPDX-License-Identifier: MIT */
/*
 * cmd_count: the aggregate commands `logq count` (cmd_count.c) and
 * `logq histogram` (cmd_histogram.c), for main.c's command table. Kept out
 * of cmd.h so that table rows can be added without touching it.
 */
#ifndef QUERY_CMD_COUNT_H
#define QUERY_CMD_COUNT_H

#include "query/cmd.h"

int cmd_count_exec(const struct cmd_env *env, int argc, char **argv,
                   int first);
int cmd_histogram_exec(const struct cmd_env *env, int argc, char **argv,
                       int first);

/* Shared by both: parses with parse_fn, fetches the target of kind and
 * leaves the 200 body in body. -1 when the command is over (*status is
 * its exit status: 0 after --help, 2 after a printed error). */
int  cmd_agg_fetch(const struct cmd_env *env, int argc, char **argv,
                   int first,
                   int (*parse_fn)(int, char **, int, int64_t,
                                   struct search_args *, char *, size_t),
                   enum args_target kind, struct search_args *a,
                   struct buf *body, int *status);
/* The fetch alone, for arguments already parsed. */
int  cmd_agg_request(const struct cmd_env *env, enum args_target kind,
                     const struct search_args *a, struct buf *body,
                     int *status);

/* The search's -c (prints the total; --json the collector's object) or
 * -l (a->is_list: "host/container" per line, sorted; --json one
 * {"host","container","count"} per line). Returns the exit status. */
int  cmd_count_grep(const struct cmd_env *env, struct search_args *a);

#endif
