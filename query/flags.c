/* SPDX-License-Identifier: MIT */
/*
 * flags: see flags.h. The table reads top to bottom as --help prints it:
 * what to match, where, when, how many, how to print, then the options
 * every command takes.
 */
#include "query/flags.h"

#include <string.h>

#include "common/manfmt.h"

#define S   FLAGS_SEARCH
#define CNT FLAGS_COUNT
#define HIS FLAGS_HISTOGRAM
#define HO  FLAGS_HOSTS
#define CO  FLAGS_CONTAINERS
#define MET FLAGS_METRICS
#define FILTER (S | CNT | HIS)          /* search, count, histogram */
#define LISTS  (FILTER | HO | CO)       /* listings by host, with times */
#define TIMES  (LISTS | FLAGS_STATS)    /* commands that print times */
#define ALL    FLAGS_ALL
#define PRE    FLAGS_BEFORE_CMD

const struct flags_def flags_defs[] = {
    /* what to match */
    { "regex", 'e', 1, FLAGS_O_REGEX, FILTER, "REGEX",
      "PCRE2 regex on the message; several -e are alternatives (-e a -e b: "
      "a or b; at most 16); \\< \\> anchor words like terms" },
    { "invert-regex", 'v', 1, FLAGS_O_NOT_REGEX, FILTER, "REGEX",
      "drop lines REGEX matches (like grep -v; several: any)" },
    { "fixed", 'F', 1, FLAGS_O_FIXED, FILTER, "STRING",
      "the message contains STRING anywhere (like grep -F; one)" },
    { "ignore-case", 'i', 0, FLAGS_O_ICASE, FILTER, NULL,
      "ignore case (terms and phrases: UTF-8 letters too, simple Unicode "
      "folding; regex: ASCII)" },
    { "count", 'c', 0, FLAGS_O_COUNT, S, NULL,
      "print the number of matching lines (like grep -c)" },
    { "list", 'l', 0, FLAGS_O_LIST, S, NULL,
      "print the host/container pairs with matches (like grep -l)" },
    /* where */
    { "host", 0, 1, FLAGS_O_HOST, LISTS, "H",
      "only host H (exact); repeat for alternatives, !H excludes" },
    { "container", 0, 1, FLAGS_O_CONTAINER, FILTER, "C",
      "only containers matching the glob C (web*); repeat for "
      "alternatives, !C excludes ('!logq-*')" },
    { "image", 0, 1, FLAGS_O_IMAGE, FILTER, "I",
      "only image I (exact); repeat for alternatives, !I excludes" },
    { "label", 0, 1, FLAGS_O_DLABEL, FILTER, "K=V",
      "only containers whose Docker label K matches the glob V (K alone: "
      "has label K); repeat for alternatives, !K=V excludes" },
    { "service", 0, 1, FLAGS_O_SERVICE, FILTER, "S",
      "only the Compose service S (label com.docker.compose.service, "
      "glob); repeat for alternatives, !S excludes" },
    { "project", 0, 1, FLAGS_O_PROJECT, FILTER, "P",
      "only the Compose project P (label com.docker.compose.project, "
      "glob); repeat for alternatives, !P excludes" },
    { "stream", 0, 1, FLAGS_O_STREAM, FILTER, "stdout|stderr",
      "only that stream" },
    { "host", 0, 1, FLAGS_O_HOST, MET, "H", "series of host H" },
    { "container", 0, 1, FLAGS_O_CONTAINER, MET, "C",
      "series of container C ('': host metrics only)" },
    { "label", 0, 1, FLAGS_O_LABEL, MET, "L", "series with label L" },
    /* when */
    { "since", 0, 1, FLAGS_O_SINCE, FILTER, "T",
      "from time T: 15m, 2h, 7d (ago), now, now-1h, unix seconds, RFC "
      "3339, or 2026-11-27[T13:50[:40]] in local time ($TZ)" },
    { "from", 0, 1, FLAGS_O_SINCE, FILTER, "T", NULL },
    { "until", 0, 1, FLAGS_O_UNTIL, FILTER, "T",
      "up to time T (as --since); default: the collector's clock + 10m "
      "(lines stamped later are left out, with a note on stderr)" },
    { "to", 0, 1, FLAGS_O_UNTIL, FILTER, "T", NULL },
    { "since", 0, 1, FLAGS_O_SINCE, MET, "T",
      "from time T: 15m, 2h, RFC 3339 (default 1h)" },
    { "step", 0, 1, FLAGS_O_STEP, MET, "D",
      "bucket width: 10s, 1m (default: range/120)" },
    /* how many, in which order */
    { "lines", 'n', FLAGS_ARG_NUM, FLAGS_O_LIMIT, S, "N",
      "the N newest lines (default 1000); -n 0: every one" },
    { "limit", 0, 1, FLAGS_O_LIMIT, S, "N", NULL },
    { "all", 0, 0, FLAGS_O_ALL, S, NULL, "every matching line (-n 0)" },
    { "tail", 0, 1, FLAGS_O_TAIL, S, "N",
      "the N newest lines (or all), oldest first (with -f: then live ones)" },
    { "asc", 0, 0, FLAGS_O_ASC, S, NULL, "oldest first" },
    { "follow", 'f', 0, FLAGS_O_FOLLOW, S, NULL,
      "follow new lines (after the N newest if -n/--since)" },
    { "after-context", 'A', FLAGS_ARG_NUM, FLAGS_O_AFTER, S, "N",
      "N lines after each match (same container, both streams; max 1000)" },
    { "before-context", 'B', FLAGS_ARG_NUM, FLAGS_O_BEFORE, S, "N",
      "N lines before each match" },
    { "context", 'C', FLAGS_ARG_NUM, FLAGS_O_CONTEXT, S, "N",
      "N lines around each match; \"--\" between groups" },
    { "max-scan", 0, 1, FLAGS_O_MAX_SCAN, FILTER, "B",
      "stop after scanning B bytes (500M, 2G)" },
    { "by", 0, 1, FLAGS_O_BY, CNT,
      "host|container|stream|field:NAME|label:KEY",
      "one count per host, container, stream, value of a JSON/logfmt "
      "field or value of the Docker label KEY "
      "(label:com.docker.compose.service)" },
    { "step", 0, 1, FLAGS_O_STEP, HIS, "S",
      "bucket width: milliseconds or 10s, 1m, 1h (1ms to 366d)" },
    /* how to print */
    { "output", 'o', 1, FLAGS_O_OUTPUT, S, "text|raw|json",
      "raw: the message alone (as docker logs); json: as --json" },
    { "format", 0, 1, FLAGS_O_FORMAT, S, "T",
      "one line per record from template T: {time} {host} {container} "
      "{container_id} {image} {stream} {message} {label.KEY} "
      "{field.NAME}" },
    { "no-spark", 0, 0, FLAGS_O_NO_SPARK, MET, NULL, "no sparkline column" },
    { "json", 0, 0, FLAGS_O_JSON, ALL | PRE, NULL,
      "JSON output (a search: one object per line: time host container "
      "container_id image stream message)" },
    { "local", 0, 0, FLAGS_O_LOCAL, TIMES | PRE, NULL,
      "times in the local zone (default on a terminal with $TZ)" },
    { "utc", 0, 0, FLAGS_O_UTC, TIMES | PRE, NULL,
      "times in UTC (--json: always UTC)" },
    { "color", 0, 1, FLAGS_O_COLOR, ALL | PRE, "auto|always|never",
      "auto: on a terminal without $NO_COLOR (the default); highlights "
      "what matched" },
    { "no-color", 0, 0, FLAGS_O_NO_COLOR, ALL | PRE, NULL,
      "the same as --color=never" },
    /* which collector */
    { "server", 0, 1, FLAGS_O_SERVER, ALL | PRE, "URL",
      "http[s]://host:port[/prefix]; else $LOGQ_SERVER, else "
      "http://127.0.0.1:7080" },
    { "token-file", 0, 1, FLAGS_O_TOKEN_FILE, ALL | PRE, "FILE",
      "the collector's bearer token (a private file, 32+ bytes); else "
      "$LOGQ_TOKEN; none if neither" },
    { "tls-ca", 0, 1, FLAGS_O_TLS_CA, ALL | PRE, "FILE",
      "for https://: the CA (PEM) that signed the collector's "
      "certificate; else $LOGQ_TLS_CA, else the system's CAs" },
    { "timeout", 0, 1, FLAGS_O_TIMEOUT, ALL | PRE, "D",
      "wait at most D (30s, 10m; 0: no limit) for the collector's next "
      "bytes of a reply (default 5m; -f detects a dead collector by its "
      "keep-alives instead)" },
    { "help", 'h', 0, FLAGS_O_HELP, ALL, NULL, "print this help and exit" },
    { NULL, 0, 0, 0, 0, NULL, NULL },
};

/* ------------------------------------------------------------ lookups */

const struct flags_def *
flags_find_long(unsigned cmd, const char *name, size_t n)
{
    for (const struct flags_def *d = flags_defs; d->id != 0; d++)
        if ((d->cmds & cmd) != 0 && strlen(d->long_name) == n &&
            memcmp(d->long_name, name, n) == 0)
            return d;
    return NULL;
}

const struct flags_def *
flags_find_short(unsigned cmd, char c)
{
    for (const struct flags_def *d = flags_defs; d->id != 0; d++)
        if ((d->cmds & cmd) != 0 && d->short_name != 0 &&
            d->short_name == c)
            return d;
    return NULL;
}

/* ------------------------------------------------------------ help */

#define FLAGS_HELP_COL   24
#define FLAGS_HELP_WIDTH 79

static int
flags_is_shown(const struct flags_def *d, unsigned cmd, unsigned skip)
{
    return (d->cmds & cmd) != 0 &&
           (skip == 0 || (d->cmds & ~FLAGS_BEFORE_CMD) != skip);
}

/* "-e, --regex REGEX" into fp; returns the columns written. */
static int
flags_names_print(FILE *fp, const struct flags_def *d)
{
    int n = 0;

    if (d->short_name != 0)
        n += fprintf(fp, "-%c, ", d->short_name);
    n += fprintf(fp, "--%s", d->long_name);
    if (d->arg != NULL)
        n += fprintf(fp, " %s", d->arg);
    return n;
}

void
flags_help_print(FILE *fp, unsigned cmd, unsigned skip_cmds)
{
    for (const struct flags_def *d = flags_defs; d->id != 0; d++) {
        if (d->help == NULL || !flags_is_shown(d, cmd, skip_cmds))
            continue;
        int col = fprintf(fp, "  ");
        col += flags_names_print(fp, d);
        for (const struct flags_def *a = d + 1; a->id != 0 &&
             a->help == NULL; a++) {
            col += fprintf(fp, ", ");
            col += flags_names_print(fp, a);
        }
        if (col + 2 > FLAGS_HELP_COL)
            fprintf(fp, "\n%*s", FLAGS_HELP_COL, "");
        else
            fprintf(fp, "%*s", FLAGS_HELP_COL - col, "");
        manfmt_wrap(fp, d->help, FLAGS_HELP_COL, FLAGS_HELP_COL,
                    FLAGS_HELP_WIDTH);
    }
}

/* ------------------------------------------------------------ man */

static void
flags_man_names(FILE *fp, const struct flags_def *d)
{
    if (d->short_name != 0)
        fprintf(fp, "\\fB\\-%c\\fR, ", d->short_name);
    fputs("\\fB\\-\\-", fp);
    manfmt_roff(fp, d->long_name);
    fputs("\\fR", fp);
    if (d->arg != NULL) {
        fputs(" \\fI", fp);
        manfmt_roff(fp, d->arg);
        fputs("\\fR", fp);
    }
}

void
flags_man_print(FILE *fp, unsigned cmd, unsigned skip_cmds)
{
    for (const struct flags_def *d = flags_defs; d->id != 0; d++) {
        if (d->help == NULL || !flags_is_shown(d, cmd, skip_cmds))
            continue;
        fputs(".TP\n", fp);
        flags_man_names(fp, d);
        for (const struct flags_def *a = d + 1; a->id != 0 &&
             a->help == NULL; a++) {
            fputs(", ", fp);
            flags_man_names(fp, a);
        }
        fputc('\n', fp);
        manfmt_roff(fp, d->help);
        fputc('\n', fp);
    }
}

/* ------------------------------------------------------------ completion */

void
flags_list_print(FILE *fp, unsigned cmd)
{
    for (const struct flags_def *d = flags_defs; d->id != 0; d++)
        if ((d->cmds & cmd) != 0)
            fprintf(fp, "--%s%s%s\n", d->long_name, d->arg ? "\t" : "",
                    d->arg ? d->arg : "");
    for (const struct flags_def *d = flags_defs; d->id != 0; d++)
        if ((d->cmds & cmd) != 0 && d->short_name != 0)
            fprintf(fp, "-%c%s%s\n", d->short_name, d->arg ? "\t" : "",
                    d->arg ? d->arg : "");
}
