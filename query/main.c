/* SPDX-License-Identifier: MIT */
/*
 * logq: search and follow container logs stored by logq-collector. main()
 * only picks a command from the table below and hands it the process
 * environment; each command is one cmd_<name>.c, its row in query/usage.c
 * and its flags in query/flags.c. A first argument that is
 * not a command name starts a search (`logq error --host web1`); `logq --
 * hosts` searches for the word "hosts". Options every command takes
 * (--server URL, --json, --no-color, --color WHEN) may come before the
 * command name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/cmd.h"
#include "query/flags.h"
#include "query/usage.h"

#define LOGQ_VERSION "0.1.0"

/* The flags that may come before the command name (FLAGS_BEFORE_CMD in
 * query/flags.c): 1, or 2 when the value is the next word; 0 if argv[i]
 * is not one. */
static int
logq_global_len(char **argv, int i)
{
    const char *a = argv[i];

    if (strncmp(a, "--", 2) != 0)
        return 0;
    const char *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    const struct flags_def *d = flags_find_long(FLAGS_BEFORE_CMD, a + 2, n);
    if (d == NULL)
        return 0;
    return d->has_arg && eq == NULL ? 2 : 1;
}

/* Index of the command word after any global options, or 0 if none. */
static int
logq_cmd_index(int argc, char **argv, const struct cmd_entry **cmd)
{
    int i = 1, n;

    while (i < argc && (n = logq_global_len(argv, i)) > 0)
        i += n;
    if (i < argc && (*cmd = usage_cmd_find(argv[i])) != NULL)
        return i;
    return 0;
}

int
main(int argc, char **argv)
{
    struct cmd_env env = {
        .stdout_is_tty = isatty(STDOUT_FILENO),
        .stderr_is_tty = isatty(STDERR_FILENO),
        .env_server = getenv("LOGQ_SERVER"),
        .env_token = getenv("LOGQ_TOKEN"),
        .env_tls_ca = getenv("LOGQ_TLS_CA"),
        .env_no_color = getenv("NO_COLOR"),
        .env_tz = getenv("TZ"),
        .now = now_ns(),
        .usage = usage_print,
    };

    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("logq %s\n", LOGQ_VERSION);
        return CMD_EXIT_OK;
    }
    if (argc == 2 && strcmp(argv[1], "--man") == 0) {   /* make man */
        usage_man_print(stdout);
        return fflush(stdout) == 0 ? CMD_EXIT_OK : CMD_EXIT_ERROR;
    }
    if (argc > 1 && strcmp(argv[1], "__complete") == 0)
        return cmd_complete_exec(&env, argc, argv, 2);
    const struct cmd_entry *cmd = NULL;
    int at = logq_cmd_index(argc, argv, &cmd);
    if (cmd == NULL)
        return cmd_search_exec(&env, argc, argv, 1);
    /* The command sees its options, wherever they were, without its name. */
    char **args = xcalloc((size_t)argc, sizeof(*args));
    int n = 0;
    for (int i = 0; i < argc; i++)
        if (i != at)
            args[n++] = argv[i];
    int rc = cmd->exec(&env, n, args, 1);
    free(args);
    return rc;
}
