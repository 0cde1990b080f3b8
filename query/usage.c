/* SPDX-License-Identifier: MIT */
/*
 * usage: see usage.h. The command descriptions below are the only copy:
 * --help wraps them to 79 columns, the man page lets roff fill them.
 */
#include "query/usage.h"

#include <string.h>

#include "common/manfmt.h"
#include "query/cmd_count.h"
#include "query/cmd_stats.h"
#include "query/flags.h"

#define USAGE_WIDTH 79

const struct cmd_entry usage_search = {
    "", FLAGS_SEARCH, "[TERMS...] [options]",
    "search (and follow) the stored lines",
    "TERMS are joined by spaces and must all match as whole words: not next "
    "to a letter, digit, _ or UTF-8 letter where the term has one at its "
    "end (unix does not match pam_unix); '\"two words\"' is a phrase (same "
    "rule), -word excludes, OR between terms. JSON and logfmt messages have "
    "fields: level:error, user.id:42, status:>=500, msg:\"a b\" (never "
    "on plain text; '\"host:80\"' quoted searches the text). A word "
    "starting with - is a "
    "term unless it is one of the flags; after -- every word is a term "
    "(logq -- hosts searches for the word hosts).\n"
    "Config file: $XDG_CONFIG_HOME/logq/config (else "
    "~/.config/logq/config, or $LOGQ_CONFIG; not writable by group or "
    "others): KEY = VALUE lines for server, token-file, tls-ca, color, "
    "since (for search, count, histogram without --since or --until), "
    "and @NAME = WORDS, a saved "
    "query run as logq @NAME [more flags] (a first word starting with @ "
    "is one; logq -- @word searches for the word). Flags beat the "
    "environment, which beats the file.\n"
    "Exit status: 0 lines found, 1 none, 2 error.",
    cmd_search_exec,
};

const struct cmd_entry usage_cmds[] = {
    { "hosts", FLAGS_HOSTS, "[--host H] [options]",
      "list hosts: status, containers, lines, last contact, last line",
      "One row per host, by name: STATUS (connected, or down since when), "
      "CONTAINERS, LINES, LAST CONTACT and LAST LINE (the newest stored "
      "line's time). --json: one object per host.",
      cmd_hosts_exec },
    { "containers", FLAGS_CONTAINERS, "[--host H] [options]",
      "list containers per host, with state and restarts",
      "One row per container, by host, then name: ID, IMAGE, STATE "
      "(running, exited, paused, restarting) and RESTARTS (Docker's restart "
      "count) from the shipper's metrics, \"-\" when the collector runs "
      "without --redis or has no fresh state of the container (removed, or "
      "its host down), LINES, LAST SEEN. --json: one object per container, "
      "with \"state\" and \"restarts\" (null when unknown).",
      cmd_containers_exec },
    { "health", FLAGS_HEALTH, "[options]",
      "hosts up/down, load, unhealthy containers (exit 1 if not all well)",
      "One row per host (up/down, last seen, CPU %, memory %, fullest "
      "filesystem %, containers running/total, restarts in the last hour, "
      "error lines in the last 15 minutes), then the unhealthy containers. "
      "--json prints the collector's reply.\n"
      "Exit status: 0 all well, 1 a host down or a container unhealthy, 2 "
      "error (collector unreachable, metrics disabled).",
      cmd_health_exec },
    { "metrics", FLAGS_METRICS, "[NAME] [options]",
      "metric names, or series of one: min/avg/max/last, sparkline",
      "Without NAME: the metric names. With NAME: each series (host, "
      "container, label) with min, avg, max, last and a sparkline. --json "
      "prints the collector's reply.\n"
      "Exit status: 0 found, 1 nothing, 2 error.",
      cmd_metrics_exec },
    { "count", FLAGS_COUNT, "[TERMS...] [options]",
      "count matching lines, --by host|container|stream|field:NAME|"
      "label:KEY",
      "The number of lines the search's TERMS and filters match: with --by "
      "an aligned table (KEY, COUNT, then TOTAL), else the total alone. "
      "Without --until the range ends now, or just after the newest line "
      "if that is later but at most 10 minutes ahead (clock skew): lines "
      "stamped further in the future are counted only with --until. "
      "--json prints the collector's object.\n"
      "Exit status: 0 something matched, 1 nothing, 2 error.",
      cmd_count_exec },
    { "histogram", FLAGS_HISTOGRAM, "[TERMS...] [options]",
      "matching lines per time bucket (--step 1m)",
      "One row per time bucket, zeros included: its start, the count of "
      "matching lines and a bar of '#'. The range runs from --since (else "
      "the oldest stored line) to --until (else now, or just after the "
      "newest line if that is later but at most 10 minutes ahead: as for "
      "count). Without --step, a step of 1s to 7d (or whole weeks) for about "
      "120 rows. --json "
      "prints the collector's object.\n"
      "Exit status: 0 something matched, 1 nothing, 2 error.",
      cmd_histogram_exec },
    { "stats", FLAGS_STATS, "[options]",
      "store size per segment: raw/stored/index bytes, lines, time range",
      "The collector's store: one row per segment (state, raw bytes, bytes "
      "on disk, index bytes, RATIO = (stored + index) / raw, lines, "
      "blocks, first and last record time: UTC, or local with --local), "
      "a WAL row for records not sealed into a segment yet, and a TOTAL "
      "row. Sizes in binary "
      "units (12.3 MiB). --json prints the collector's reply.\n"
      "Exit status: 0, or 2 on error.",
      cmd_stats_exec },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

const struct cmd_entry *
usage_cmd_find(const char *name)
{
    for (const struct cmd_entry *c = usage_cmds; c->name != NULL; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static const struct cmd_entry *
usage_cmd_of(unsigned cmd)
{
    for (const struct cmd_entry *c = usage_cmds; c->name != NULL; c++)
        if (c->cmd == cmd)
            return c;
    return &usage_search;
}

/* ------------------------------------------------------------ --help */

void
usage_print(FILE *fp, unsigned cmd)
{
    const struct cmd_entry *c = usage_cmd_of(cmd);

    if (c == &usage_search)
        fprintf(fp, "usage: logq %s\n       logq COMMAND [options]   "
                "(logq COMMAND --help: its options)\n\n", c->synopsis);
    else
        fprintf(fp, "usage: logq %s %s\n\n", c->name, c->synopsis);
    manfmt_wrap(fp, c->text, 0, 0, USAGE_WIDTH);
    fputs("\nOptions:\n", fp);
    flags_help_print(fp, cmd, 0);
    if (c != &usage_search)
        return;
    fputs("\nCommands:\n", fp);
    for (c = usage_cmds; c->name != NULL; c++)
        fprintf(fp, "  %-12s %s\n", c->name, c->summary);
}

/* ------------------------------------------------------------ logq(1) */

static void
usage_man_cmd(FILE *fp, const struct cmd_entry *c)
{
    fputs(".SS \"\\fBlogq ", fp);
    manfmt_roff(fp, c->name);
    fputs("\\fR ", fp);
    manfmt_roff(fp, c->synopsis);
    fputs("\"\n", fp);
    manfmt_roff(fp, c->text);
    fputc('\n', fp);
    flags_man_print(fp, c->cmd, FLAGS_ALL);
}

void
usage_man_print(FILE *fp)
{
    manfmt_man_head(fp, "logq", "1", "search and follow container logs "
                    "stored by logq-collector");
    fputs(".SH SYNOPSIS\n\\fBlogq\\fR [\\fITERMS\\fR...] [\\fIoptions\\fR]"
          "\n.br\n\\fBlogq\\fR \\fICOMMAND\\fR [\\fIoptions\\fR]\n"
          ".SH DESCRIPTION\n", fp);
    manfmt_roff(fp, usage_search.text);
    fputs("\n.SH OPTIONS\n", fp);
    flags_man_print(fp, FLAGS_SEARCH, 0);
    fputs(".SH COMMANDS\nEach command takes \\fB\\-\\-server\\fR, "
          "\\fB\\-\\-token\\-file\\fR, \\fB\\-\\-tls\\-ca\\fR, "
          "\\fB\\-\\-json\\fR, \\fB\\-\\-color\\fR, "
          "\\fB\\-\\-no\\-color\\fR and \\fB\\-\\-help\\fR as above, "
          "and the options listed under it.\n", fp);
    for (const struct cmd_entry *c = usage_cmds; c->name != NULL; c++)
        usage_man_cmd(fp, c);
    fputs(".SH ENVIRONMENT\n"
          ".TP\n\\fBLOGQ_SERVER\\fR\nthe collector's URL when "
          "\\fB\\-\\-server\\fR is not given\n"
          ".TP\n\\fBLOGQ_TOKEN\\fR\nthe bearer token when "
          "\\fB\\-\\-token\\-file\\fR is not given\n"
          ".TP\n\\fBLOGQ_TLS_CA\\fR\nthe CA file when \\fB\\-\\-tls\\-ca\\fR "
          "is not given\n"
          ".TP\n\\fBNO_COLOR\\fR\nset and not empty: no color with "
          "\\fB\\-\\-color=auto\\fR\n"
          ".TP\n\\fBTZ\\fR\nthe zone of times without an offset, and of "
          "the output on a terminal\n"
          ".TP\n\\fBLOGQ_CONFIG\\fR\nthe config file to read instead "
          "(empty: none)\n"
          ".SH FILES\n.TP\n\\fI$XDG_CONFIG_HOME/logq/config\\fR, "
          "\\fI~/.config/logq/config\\fR\nthe config file (see "
          "DESCRIPTION)\n"
          ".SH EXIT STATUS\n0 something found, 1 nothing found, 2 error.\n"
          ".SH SEE ALSO\n\\fBlogq\\-collector\\fR(8), "
          "\\fBlogq\\-shipper\\fR(8)\n", fp);
}

/* ------------------------------------------------------------ completion */

int
usage_complete_print(FILE *fp, const char *what, const char *cmd)
{
    if (strcmp(what, "commands") == 0) {
        for (const struct cmd_entry *c = usage_cmds; c->name != NULL; c++)
            fprintf(fp, "%s\t%s\n", c->name, c->summary);
        return 0;
    }
    if (strcmp(what, "flags") != 0)
        return -1;
    if (cmd == NULL || cmd[0] == '\0' || strcmp(cmd, "search") == 0) {
        flags_list_print(fp, FLAGS_SEARCH);
        return 0;
    }
    const struct cmd_entry *c = usage_cmd_find(cmd);
    if (c == NULL)
        return -1;
    flags_list_print(fp, c->cmd);
    return 0;
}
