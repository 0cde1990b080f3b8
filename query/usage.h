/* SPDX-License-Identifier: MIT */
/*
 * usage: logq's command table (name, flag-table bit, synopsis, summary,
 * description, entry point) and everything printed from it and the flag
 * table (query/flags.c): --help for the search and each command, the
 * logq(1) man page (`logq --man`) and the lists shell completion asks for
 * (`logq __complete`). Nothing here is written twice, so --help, the man
 * page and completion cannot drift apart.
 */
#ifndef QUERY_USAGE_H
#define QUERY_USAGE_H

#include <stdio.h>

#include "query/cmd.h"

/* The search (no name on the command line: `logq TERMS`). */
extern const struct cmd_entry usage_search;

/* The named commands, NULL-name terminated. */
extern const struct cmd_entry usage_cmds[];

/* The command named name; NULL if none. */
const struct cmd_entry *usage_cmd_find(const char *name);

/* --help of the command whose bit is cmd; FLAGS_SEARCH: logq's usage, with
 * the list of commands. */
void usage_print(FILE *fp, unsigned cmd);

/* The logq(1) man page in roff. */
void usage_man_print(FILE *fp);

/* Shell completion's static lists: "commands" (one per line with a tab
 * and its summary), "flags CMD" (flags.h flags_list_print; CMD "" or
 * "search": the search's). 0, or -1 for an unknown list or command. */
int  usage_complete_print(FILE *fp, const char *what, const char *cmd);

#endif
