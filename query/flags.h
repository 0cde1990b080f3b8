/* SPDX-License-Identifier: MIT */
/*
 * flags: logq's one flag table: for every flag its long and short name,
 * whether it takes a value, the commands that accept it, the value's name
 * and its help text. The parser (args.c's scanner), --help, the man page
 * and shell completion all read it, so none can drift from another. Add a
 * flag here (one row), then handle its id where the command applies it.
 * Pure: formatting goes to a FILE given by the caller.
 */
#ifndef QUERY_FLAGS_H
#define QUERY_FLAGS_H

#include <stddef.h>
#include <stdio.h>

/* Commands, as bits of flags_def.cmds. */
enum flags_cmd {
    FLAGS_SEARCH     = 1u << 0,
    FLAGS_COUNT      = 1u << 1,
    FLAGS_HISTOGRAM  = 1u << 2,
    FLAGS_HOSTS      = 1u << 3,
    FLAGS_CONTAINERS = 1u << 4,
    FLAGS_HEALTH     = 1u << 5,
    FLAGS_STATS      = 1u << 6,
    FLAGS_METRICS    = 1u << 7,
    FLAGS_ALL        = 0xffu,
    /* not a command: the flag may come before the command name */
    FLAGS_BEFORE_CMD = 1u << 15,
};

#define FLAGS_ARG_NUM 2         /* has_arg: a number, "-n50" attaches it */

/* Flag ids: what the commands switch on. Two rows may share an id when
 * a flag means a different thing to different commands (--step). */
enum flags_id {
    FLAGS_O_SERVER = 1, FLAGS_O_TOKEN_FILE, FLAGS_O_TLS_CA, FLAGS_O_JSON,
    FLAGS_O_NO_COLOR, FLAGS_O_COLOR, FLAGS_O_LOCAL, FLAGS_O_UTC,
    FLAGS_O_HELP, FLAGS_O_REGEX, FLAGS_O_NOT_REGEX, FLAGS_O_FIXED,
    FLAGS_O_ICASE, FLAGS_O_COUNT, FLAGS_O_LIST, FLAGS_O_HOST,
    FLAGS_O_CONTAINER, FLAGS_O_IMAGE, FLAGS_O_STREAM, FLAGS_O_SINCE,
    FLAGS_O_UNTIL, FLAGS_O_LIMIT, FLAGS_O_ALL, FLAGS_O_TAIL,
    FLAGS_O_FOLLOW, FLAGS_O_ASC, FLAGS_O_AFTER, FLAGS_O_BEFORE,
    FLAGS_O_CONTEXT, FLAGS_O_MAX_SCAN, FLAGS_O_OUTPUT, FLAGS_O_FORMAT,
    FLAGS_O_BY, FLAGS_O_STEP, FLAGS_O_LABEL, FLAGS_O_NO_SPARK,
    FLAGS_O_DLABEL, FLAGS_O_SERVICE, FLAGS_O_PROJECT, FLAGS_O_TIMEOUT,
};

struct flags_def {
    const char *long_name;
    char        short_name;     /* 0 if none */
    int         has_arg;        /* 0, 1 or FLAGS_ARG_NUM */
    int         id;             /* enum flags_id */
    unsigned    cmds;           /* enum flags_cmd bits */
    const char *arg;            /* the value's name in help ("REGEX") */
    const char *help;           /* one paragraph; NULL: an alias, shown
                                   with the row before it */
};

/* The table; ends with a row whose id is 0. */
extern const struct flags_def flags_defs[];

/* The row for "--name" (name not NUL-terminated, n bytes) or "-c" that
 * command cmd accepts; NULL if it takes none. */
const struct flags_def *flags_find_long(unsigned cmd, const char *name,
                                        size_t n);
const struct flags_def *flags_find_short(unsigned cmd, char c);

/* The option lines of --help for cmd: "  -e, --regex REGEX" then the help
 * wrapped to 79 columns, aliases on the line of their flag. Rows whose
 * cmds equal skip_cmds exactly are left out (0: none). */
void flags_help_print(FILE *fp, unsigned cmd, unsigned skip_cmds);
/* The same as a roff .TP list for a man page (skip_cmds as above). */
void flags_man_print(FILE *fp, unsigned cmd, unsigned skip_cmds);
/* For shell completion: one flag per line, long names ("--regex") then
 * short ones ("-e"); a flag that takes a value is followed by a tab and
 * its value's name ("--regex\tREGEX"). */
void flags_list_print(FILE *fp, unsigned cmd);

#endif
