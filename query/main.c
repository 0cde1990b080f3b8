/* SPDX-License-Identifier: MIT */
/*
 * logq: search and follow container logs stored by logq-collector. main()
 * only picks a command from the table below and hands it the process
 * environment; each command is one cmd_<name>.c. A first argument that is
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
#include "query/cmd_count.h"
#include "query/cmd_stats.h"

#define LOGQ_VERSION "0.1.0"

static const struct cmd_entry logq_cmds[] = {
    { "hosts", "list hosts: status, containers, lines, last contact, last "
      "line", cmd_hosts_exec },
    { "containers", "list containers per host", cmd_containers_exec },
    { "health", "hosts up/down, load, unhealthy containers (exit 1 if "
      "not all well)", cmd_health_exec },
    { "metrics", "metric names, or series of one: min/avg/max/last, "
      "sparkline", cmd_metrics_exec },
    { "count", "count matching lines, --by host|container|stream",
      cmd_count_exec },
    { "histogram", "matching lines per time bucket (--step 1m)",
      cmd_histogram_exec },
    { "stats", "store size per segment: raw/stored/index bytes, lines, "
      "time range", cmd_stats_exec },
};

static void
logq_usage(FILE *fp)
{
    fputs("usage: logq [TERMS...] [-e REGEX] [-v REGEX] [-F STRING] [-i] "
          "[-c|-l] [--host H]\n"
          "            [--container C] [--image I] [--stream stdout|stderr] "
          "[--since T]\n"
          "            [--until T] [-n N|--all|--tail N] [-f] [--asc] "
          "[--json]\n"
          "            [-o text|raw|json] [--format T] [--local|--utc] "
          "[--color=WHEN]\n"
          "           "
 " [--server URL]\n"
          "       logq COMMAND [--json] [--server URL] [--token-file F] "
          "[--tls-ca F]\n\n"
          "Search: TERMS are joined by spaces and must all match as whole "
          "words: not\n"
          "  next to a letter, digit, _ or UTF-8 letter where the term has "
          "one at its\n"
          "  end (unix does not match pam_unix); '\"two words\"' is a "
          "phrase (same\n"
          "  rule), -word excludes, OR between terms.\n"
          "  -e REGEX       PCRE2 regex on the message; several -e are "
          "alternatives\n"
          "                 (-e a -e b: a or b); \\< \\> anchor words "
          "like terms\n"
          "  -v REGEX       drop lines REGEX matches (like grep -v; several: "
          "any)\n"
          "  -F STRING      the message contains STRING anywhere (like grep "
          "-F; one)\n"
          "  -c, -l         print the count, or the host/container pairs with "
          "matches\n"
          "  -i             ignore case (terms and phrases: UTF-8 letters "
          "too, simple\n"
          "                 Unicode folding; regex: ASCII)\n"
          "  --host H, --image I     exact match; --container C: glob "
          "(web*); repeat\n"
          "                 for alternatives, !NAME excludes ('!logq-*')\n"
          "  --since T, --until T    (also --from, --to) 15m, 2h, 7d (ago), "
          "now, now-1h,\n"
          "                 unix seconds, RFC 3339, or 2026-11-27[T13:50[:40]] "
          "in local\n"
          "                 time ($TZ)\n"
          "  -n N           the N newest lines (default 1000); -n 0, --all: "
          "every one\n"
          "  --asc          oldest first\n"
          "  --tail N       the N newest lines, oldest first (with -f: then "
          "live ones)\n"
          "  --local, --utc times in the local zone (default on a terminal "
          "with $TZ)\n"
          "                 or in UTC (--json: always UTC)\n"
          "  -A N, -B N, -C N        N lines after/before/around each match "
          "(same\n"
          "                 container, both streams; max 1000), \"--\" "
          "between groups\n"
          "  --max-scan B   stop after scanning B bytes (500M, 2G)\n"
          "  -f             follow new lines (after the N newest if "
          "-n/--since)\n"
          "  --json         JSON lines: time host container container_id "
          "image stream message\n"
          "  -o text|raw|json        raw: the message alone (as docker "
          "logs); json: --json\n"
          "  --format T     one line per record from T: {time} {host} "
          "{container}\n"
          "                 {container_id} {image} {stream} {message} "
          "{label.KEY}\n"
          "  --color=WHEN   auto (a terminal without $NO_COLOR), always or "
          "never;\n"
          "                 highlights what matched; --no-color: never\n"
          "  --server URL   http[s]://host:port[/prefix]; else $LOGQ_SERVER, "
          "else\n                 http://127.0.0.1:7080\n"
          "  --token-file F the collector's bearer token (a private file, "
          "32+ bytes);\n"
          "                 else $LOGQ_TOKEN; none if neither\n"
          "  --tls-ca F     for https://: the CA (PEM) that signed the "
          "collector's\n"
          "                 certificate; else $LOGQ_TLS_CA, else the system's "
          "CAs\n"
          "Exit status: 0 lines found, 1 none, 2 error.\n\nCommands:\n", fp);
    for (size_t i = 0; i < sizeof(logq_cmds) / sizeof(logq_cmds[0]); i++)
        fprintf(fp, "  %-12s %s\n", logq_cmds[i].name, logq_cmds[i].summary);
}

/* Index of the command word after any global options, or 0 if none. */
static int
logq_cmd_index(int argc, char **argv, const struct cmd_entry **cmd)
{
    int i = 1;

    while (i < argc) {
        if (strcmp(argv[i], "--server") == 0 ||
            strcmp(argv[i], "--token-file") == 0 ||
            strcmp(argv[i], "--tls-ca") == 0 ||
            strcmp(argv[i], "--color") == 0)
            i += 2;
        else if (strncmp(argv[i], "--server=", 9) == 0 ||
                 strncmp(argv[i], "--token-file=", 13) == 0 ||
                 strncmp(argv[i], "--tls-ca=", 9) == 0 ||
                 strncmp(argv[i], "--color=", 8) == 0 ||
                 strcmp(argv[i], "--json") == 0 ||
                 strcmp(argv[i], "--local") == 0 ||
                 strcmp(argv[i], "--utc") == 0 ||
                 strcmp(argv[i], "--no-color") == 0)
            i++;
        else
            break;
    }
    for (size_t k = 0; i < argc && k < sizeof(logq_cmds) / sizeof(logq_cmds[0]);
         k++) {
        if (strcmp(argv[i], logq_cmds[k].name) == 0) {
            *cmd = &logq_cmds[k];
            return i;
        }
    }
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
        .usage = logq_usage,
    };

    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("logq %s\n", LOGQ_VERSION);
        return CMD_EXIT_OK;
    }
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
