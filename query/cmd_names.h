/* SPDX-License-Identifier: MIT */
/*
 * cmd_names: the "no container 'web'; did you mean web-1, web-2?" check
 * run when a search, count or histogram found nothing (cmd_names.c).
 */
#ifndef QUERY_CMD_NAMES_H
#define QUERY_CMD_NAMES_H

#include "query/cmd.h"
#include "query/output.h"

/* For each --host/--container/--image pattern (not '!') that no known
 * host or container matches, prints one line on stderr with the nearest
 * names. Quiet when the lists cannot be read. */
void cmd_names_check(const struct cmd_env *env, const struct search_args *a);

/* The widest host and container name (terminal columns, escaped, at most
 * 32) among the containers the selection of a takes (/containers); 0 and
 * 0 when the list cannot be read. */
void cmd_names_widths(const struct cmd_env *env, const struct search_args *a,
                      struct output_widths *w);

#endif
