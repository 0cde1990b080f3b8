/* SPDX-License-Identifier: MIT */
/*
 * cmd_names: the "no container 'web'; did you mean web-1, web-2?" check
 * run when a search, count or histogram found nothing (cmd_names.c).
 */
#ifndef QUERY_CMD_NAMES_H
#define QUERY_CMD_NAMES_H

#include "query/cmd.h"

/* For each --host/--container/--image pattern (not '!') that no known
 * host or container matches, prints one line on stderr with the nearest
 * names. Quiet when the lists cannot be read. */
void cmd_names_check(const struct cmd_env *env, const struct search_args *a);

#endif
