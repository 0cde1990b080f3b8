/* SPDX-License-Identifier: MIT */
/*
 * logq: search and follow container logs stored by logq-collector. main()
 * only picks a command from the table below and hands it the process
 * environment; each command is one cmd_<name>.c. A first argument that is
 * not a command name starts a search (`logq error --host web1`); `logq --
 * hosts` searches for the word "hosts".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "query/cmd.h"

#define LOGQ_VERSION "0.1.0"

static const struct cmd_entry logq_cmds[] = {
    { "hosts", "list hosts: containers, lines, last seen", cmd_hosts_exec },
    { "containers", "list containers per host", cmd_containers_exec },
};

static void
logq_usage(FILE *fp)
{
    fputs("usage: logq [TERMS...] [-e REGEX] [-i] [--host H] "
          "[--container C] [--image I]\n"
          "            [--stream stdout|stderr] [--since T] [--until T] "
          "[-n N] [-f] [--asc]\n"
          "            [--json] [--no-color] [--server URL]\n"
          "       logq COMMAND [--json] [--server URL]\n\n"
          "Search: TERMS are joined by spaces and must all match as whole "
          "words;\n"
          "  '\"two words\"' is a phrase, -word excludes, OR between terms.\n"
          "  -e REGEX       POSIX extended regex on the message\n"
          "  -i             ignore case (terms, phrases, regex)\n"
          "  --host H, --image I     exact match; --container C: glob "
          "(web*)\n"
          "  --since T, --until T    15m, 2h, 7d, 1h30m (ago), now, or "
          "RFC 3339\n"
          "  -n N           at most N lines (default 1000); newest first\n"
          "  --asc          oldest first\n"
          "  -f             follow new lines (after the last N if -n/--since)"
          "\n"
          "  --json         JSON lines: time host container container_id "
          "image stream message\n"
          "  --server URL   http://host:port[/prefix]; else $LOGQ_SERVER, "
          "else http://127.0.0.1:7080\n"
          "Exit status: 0 lines found, 1 none, 2 error.\n\nCommands:\n", fp);
    for (size_t i = 0; i < sizeof(logq_cmds) / sizeof(logq_cmds[0]); i++)
        fprintf(fp, "  %-12s %s\n", logq_cmds[i].name, logq_cmds[i].summary);
}

int
main(int argc, char **argv)
{
    struct cmd_env env = {
        .stdout_is_tty = isatty(STDOUT_FILENO),
        .stderr_is_tty = isatty(STDERR_FILENO),
        .env_server = getenv("LOGQ_SERVER"),
        .env_no_color = getenv("NO_COLOR"),
        .now = now_ns(),
        .usage = logq_usage,
    };

    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("logq %s\n", LOGQ_VERSION);
        return CMD_EXIT_OK;
    }
    for (size_t i = 0; argc > 1 && i < sizeof(logq_cmds) / sizeof(logq_cmds[0]);
         i++)
        if (strcmp(argv[1], logq_cmds[i].name) == 0)
            return logq_cmds[i].exec(&env, argc, argv, 2);
    return cmd_search_exec(&env, argc, argv, 1);
}
