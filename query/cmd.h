/* SPDX-License-Identifier: MIT */
/*
 * cmd: what every logq command shares: the table entry type main.c uses,
 * the process environment passed in (so commands stay testable), exit
 * statuses, and helpers to report errors the same way everywhere. Each
 * command lives in its own cmd_<name>.c.
 */
#ifndef QUERY_CMD_H
#define QUERY_CMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "query/args.h"
#include "query/client.h"
#include "query/reply.h"
#include "query/url.h"

/* Like grep: 0 something found, 1 nothing found, 2 error. */
#define CMD_EXIT_OK      0
#define CMD_EXIT_NOMATCH 1
#define CMD_EXIT_ERROR   2

/* How long a reply may pause before logq gives up (--timeout's default):
 * a count or a rare regex over a big store sends nothing until it is
 * done, and its scan is bounded by the collector's --max-scan-bytes. */
#define CMD_REPLY_TIMEOUT_MS (5 * 60 * 1000)

#define CMD_LIST_BODY_MAX (64u * 1024 * 1024)

struct cmd_env {
    int         stdout_is_tty;
    int         stderr_is_tty;
    const char *env_server;     /* $LOGQ_SERVER */
    const char *env_token;      /* $LOGQ_TOKEN */
    const char *env_tls_ca;     /* $LOGQ_TLS_CA */
    const char *env_no_color;   /* $NO_COLOR */
    const char *env_tz;         /* $TZ (local time on a terminal) */
    int64_t     now;            /* wall clock at start, unix ns */
    const char *conf_since;     /* the config file's since: the search's,
                                   count's and histogram's unless they name
                                   --since or --until; NULL if none */
    /* prints the --help of a command (an enum flags_cmd bit) */
    void      (*usage)(FILE *fp, unsigned cmd);
};

/* Runs a command on argv[first..]; returns the exit status. */
typedef int (*cmd_exec_fn)(const struct cmd_env *env, int argc, char **argv,
                           int first);

/* A row of the command table (query/usage.c): --help, the man page and
 * completion are printed from it and the flag table (query/flags.c). */
struct cmd_entry {
    const char  *name;
    unsigned     cmd;           /* its enum flags_cmd bit */
    const char  *synopsis;      /* after "logq NAME " in usage lines */
    const char  *summary;       /* one line for the command list */
    const char  *text;          /* what it prints, exit status; "" if none */
    cmd_exec_fn  exec;
};

int cmd_search_exec(const struct cmd_env *env, int argc, char **argv,
                    int first);
int cmd_hosts_exec(const struct cmd_env *env, int argc, char **argv,
                   int first);
int cmd_containers_exec(const struct cmd_env *env, int argc, char **argv,
                        int first);
int cmd_health_exec(const struct cmd_env *env, int argc, char **argv,
                    int first);
int cmd_metrics_exec(const struct cmd_env *env, int argc, char **argv,
                     int first);
/* logq __complete WHAT (hidden; shell completion): cmd_complete.c. */
int cmd_complete_exec(const struct cmd_env *env, int argc, char **argv,
                      int first);

/* Prints "logq: msg" and the usage hint; returns CMD_EXIT_ERROR. */
int  cmd_usage_error(const char *msg);
/* Prints "logq: " + the formatted message; returns CMD_EXIT_ERROR. */
int  cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Picks the server (flag, env, default) and parses it into u, with the
 * bearer token from --token-file, else $LOGQ_TOKEN (none if neither) and,
 * for https, the TLS context (CA from --tls-ca, else $LOGQ_TLS_CA, else the
 * system's). -1
 * after printing the error. */
int  cmd_url_open(const struct cmd_env *env, const struct args_common *c,
                  struct url *u, const char **server);
/* Prints the message for a failed client_get; returns CMD_EXIT_ERROR. */
int  cmd_client_error(enum client_result res, const char *server,
                      const char *err);
/* GETs target and collects the whole 200 body (capped) into body. */
enum client_result cmd_fetch(const struct url *u, const char *target,
                             struct buf *body, char *err, size_t errlen);
/* For list commands: parses the options, fetches path (e.g.
 * "/api/v1/hosts") and parses the array. -1 when the command is over:
 * *status is then its exit status (0 after --help). */
int  cmd_list_fetch(const struct cmd_env *env, int argc, char **argv,
                    int first, unsigned cmd, const char *path, struct list_args *a,
                    struct reply_list *out, int *status);
/* Prints a fetched body (borrowed) for a command of cmd_get_exec;
 * returns the exit status. */
typedef int (*cmd_show_fn)(const struct cmd_env *env,
                           const struct args_common *c, struct buf *body,
                           const char *server);
/* A command with only common flags (cmd: FLAGS_HEALTH, FLAGS_STATS) that
 * GETs path and has show print the reply: usage errors, --help and a
 * failed fetch are answered here. Returns the exit status. */
int  cmd_get_exec(const struct cmd_env *env, int argc, char **argv,
                  int first, unsigned cmd, const char *path,
                  cmd_show_fn show);
/* Writes b to stdout and flushes; resets b. -1 on a write error. */
int  cmd_write_out(struct buf *b);

#endif
