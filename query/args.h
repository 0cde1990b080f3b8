/* SPDX-License-Identifier: MIT */
/*
 * args: command-line parsing for every logq command, time expressions
 * ("15m", "now", RFC 3339) and the request targets built from them. Pure:
 * no I/O, no environment, the current time is passed in.
 *
 * Not getopt_long: search terms may begin with '-' ("-timeout" excludes a
 * word), which getopt would take for a cluster of short flags. Rules: "--"
 * ends options; "--name" / "--name=value" are long options; "-x" (exactly
 * two bytes) is a short option; "-n50" attaches a number to an option that
 * takes a number (-n, -A, -B, -C; "-e5" is a term); any other word
 * starting with '-' is a term.
 */
#ifndef QUERY_ARGS_H
#define QUERY_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "query/flags.h"

#define ARGS_LIMIT_DEFAULT 1000L
#define ARGS_LIMIT_MAX     1000000L
#define ARGS_REGEX_MAX     16       /* -e: the collector's cap (API.md) */
#define ARGS_NAMES_MAX     16       /* --host/--container/--image each */

/* ---- generic option scanner, used by every command; the flags each
 * command takes come from the one table in query/flags.c */

#define ARGS_END   0
#define ARGS_WORD  (-1)         /* a positional word: it->value */
#define ARGS_ERROR (-2)         /* err filled */

struct args_iter {
    int          argc;
    char       **argv;
    int          i;
    int          is_after_dashdash;
    const char  *value;         /* option value or word */
    char         name[64];      /* the option (without value), for errors */
};

/* Starts at argv[first]. */
void args_iter_init(struct args_iter *it, int argc, char **argv, int first);
/* Returns a flag id (enum flags_id), ARGS_WORD, ARGS_END or ARGS_ERROR
 * (unknown option, missing or unexpected value). cmd: the command whose
 * flags count (one enum flags_cmd bit). */
int  args_next(struct args_iter *it, unsigned cmd, char *err,
               size_t errlen);


/* ---- options every command takes */

enum args_color {
    ARGS_COLOR_AUTO = 0,        /* on a terminal, unless $NO_COLOR */
    ARGS_COLOR_ALWAYS,          /* --color=always (beats $NO_COLOR) */
    ARGS_COLOR_NEVER,           /* --color=never, --no-color */
};

struct args_common {
    const char *server;         /* --server, NULL if not given */
    const char *token_file;     /* --token-file, NULL if not given */
    const char *tls_ca;         /* --tls-ca, NULL if not given */
    int         timeout_ms;     /* --timeout in ms, 0: no limit */
    int         has_timeout;    /* --timeout given */
    int         is_json;
    int         color_mode;     /* enum args_color */
    int         time_zone;      /* enum args_tz: --local, --utc */
    int         want_help;
};

enum args_tz {
    ARGS_TZ_AUTO = 0,           /* local on a terminal when TZ is set */
    ARGS_TZ_LOCAL,              /* --local */
    ARGS_TZ_UTC,                /* --utc */
};

/* Whether text output shows local time: --local, or ARGS_TZ_AUTO on a
 * terminal with TZ set and not empty; never with --utc or --json. */
int  args_is_local_time(const struct args_common *c, int is_tty,
                        const char *tz_env);

/* Applies the flags every command takes (--server, --json, --color, ...)
 * to c: 1 if id was one of them, 0 if not, -1 with err on a bad value. */
int  args_common_apply(struct args_common *c, int id, const char *value,
                       char *err, size_t errlen);

/* --color=WHEN: auto, always or never. -1 if none of those. */
int  args_color_parse(const char *s, int *mode);

/* Repeated --host/--container/--image values: alternatives; a leading
 * '!' excludes. Borrowed from argv. */
struct args_names {
    const char *v[ARGS_NAMES_MAX];
    size_t      n;
};

/* The collector's rule (collector/store/namesel.h), for the lists logq
 * filters itself: 1 if name is in one of the alternatives (or there are
 * none) and in no exclusion; is_glob: fnmatch patterns, else exact. */
int  args_names_match(const struct args_names *l, const char *name,
                      int is_glob);

/* ---- the search command: logq [TERMS...] [options] */

struct search_args {
    struct args_common common;
    char       *query;          /* terms joined by ' ', NULL if none; owned */
    const char *regex[ARGS_REGEX_MAX]; /* -e in order, alternatives; */
    size_t      n_regex;        /* borrowed from argv, like the rest */
    const char *not_regex[ARGS_REGEX_MAX]; /* -v: a match drops */
    size_t      n_not_regex;
    const char *fixed;          /* -F STRING */
    int         is_icase;
    /* --host, --container (glob), --image: repeated are alternatives, a
     * leading '!' excludes; borrowed from argv */
    struct args_names hosts, containers, images;
    /* --label K=V (V a glob; K alone: has it), --service, --project
     * (globs on Compose's labels): the same rule */
    struct args_names labels, services, projects;
    const char *stream;
    int         has_since;
    int64_t     since_ns;
    int         has_until;
    int64_t     until_ns;
    int         has_limit;
    long        limit;          /* ARGS_LIMIT_DEFAULT unless -n; 0: all
                                   (-n 0, --all) */
    int         is_follow;
    int         is_asc;
    int         is_tail;        /* --tail N: the N newest, oldest first */
    int         is_raw;         /* -o raw: the message alone */
    const char *format;         /* --format TEMPLATE (query/template.h) */
    unsigned    before;         /* -B/-C: context lines, 0..1000 */
    unsigned    after;          /* -A/-C */
    uint64_t    max_scan;       /* --max-scan bytes, 0 if not given */
    int         is_count;       /* -c: the count of matching lines */
    int         is_list;        /* -l: host/container pairs with matches */
    int         has_spans;      /* not a flag: the caller sets it to have
                                   /logs and /follow send "spans" (the
                                   matched bytes, for highlighting) */
    int         no_resume;      /* not a flag: the collector predates
                                   resume=1 (cmd_search.c); /follow
                                   targets go without it */
    const char *by;             /* count --by host|container|stream|label:KEY */
    const char *step;           /* histogram --step (validated text) */
};

#define ARGS_CONTEXT_MAX 1000

/* Parses argv[first..]. now is the current time for relative expressions.
 * -1 with a one-line message in err. Caller frees with args_search_fini(). */
int  args_search_parse(int argc, char **argv, int first, int64_t now,
                       struct search_args *out, char *err, size_t errlen);
void args_search_fini(struct search_args *a);

/* The config file's "since" (query/userconf.h) for a parsed search, count
 * or histogram: the since of one whose flags named neither --since nor
 * --until (a default must not clash with the user's --until). -1 if v is
 * not a time expression (a untouched). */
int  args_since_default(struct search_args *a, const char *v, int64_t now);

/* logq count [TERMS...] [--by host|container|stream|label:KEY] [filters]: the
 * search filters (no -n, -f, --asc, -A/-B/-C). -1 with err. Fini with
 * args_search_fini(). */
int  args_count_parse(int argc, char **argv, int first, int64_t now,
                      struct search_args *out, char *err, size_t errlen);
/* logq histogram [TERMS...] [--step S] [filters]: S is milliseconds or a
 * duration (10s, 1m, 1h). -1 with err. */
int  args_histogram_parse(int argc, char **argv, int first, int64_t now,
                          struct search_args *out, char *err,
                          size_t errlen);

/* ---- list commands: logq hosts|containers [--host H] [options] */

struct list_args {
    struct args_common common;
    struct args_names  hosts;   /* client-side filter (exact), none: all */
};

/* Parses argv[first..] into c with the flags of cmd, all of them common
 * ones (FLAGS_HEALTH, FLAGS_STATS); positional words are an error. -1
 * with err (c is then partly set). */
int  args_common_parse(int argc, char **argv, int first, unsigned cmd,
                       struct args_common *c, char *err, size_t errlen);
/* Parses argv[first..] with the flags of cmd (FLAGS_HOSTS or
 * FLAGS_CONTAINERS); positional words are an error. -1 with err. */
int  args_list_parse(int argc, char **argv, int first, unsigned cmd,
                     struct list_args *out, char *err, size_t errlen);

/* Parses a --since/--until expression: "now", a duration back from now
 * ("15m", "2h", "7d", "1h30m") or an RFC 3339 time. -1 if none of those. */
int  args_time_parse(const char *s, int64_t now, int64_t *out);

enum args_target {
    ARGS_TARGET_SEARCH,     /* /logs: the user's order, limit + 1 (to tell
                               whether more are left), since, until */
    ARGS_TARGET_HISTORY,    /* /follow with a history: filters, limit,
                               since (-f -n/--since, first connection) */
    ARGS_TARGET_RESUME,     /* /follow after a reconnect: filters, since,
                               received_since=since_ns (query/resume.h) */
    ARGS_TARGET_FOLLOW,     /* /follow: filters only */
    ARGS_TARGET_COUNT,      /* /count: filters, since, until, by */
    ARGS_TARGET_HISTOGRAM,  /* /histogram: filters, since, until, step */
};

/* Appends the request target ("/api/v1/logs?q=...") for a kind of request.
 * since_ns is used by ARGS_TARGET_RESUME only. With context (-A/-B/-C) a
 * search asks for exactly limit matches plus before/after. max_scan goes
 * to every kind but the /follow ones, which all carry resume=1 (unless
 * no_resume). -1 if out's cap is hit. */
int  args_target_format(const struct search_args *a, enum args_target kind,
                        int64_t since_ns, struct buf *out);

#endif
