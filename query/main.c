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
#include "query/userconf.h"

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

/* The config file (query/userconf.h) into conf; -1 after printing its
 * error. Without one conf stays empty. */
static int
logq_conf_load(struct userconf *conf, char **path)
{
    int is_explicit;
    char err[600];

    memset(conf, 0, sizeof(*conf));
    *path = userconf_path(getenv("LOGQ_CONFIG"), getenv("XDG_CONFIG_HOME"),
                          getenv("HOME"), &is_explicit);
    if (*path == NULL ||
        userconf_load(*path, is_explicit, getenv("HOME"), conf, err,
                      sizeof(err)) >= 0)
        return 0;
    cmd_error("%s", err);
    return -1;
}

/* `logq @NAME ARGS...`: av is argv with argv[1] replaced by the saved
 * query's words (the array is new, the strings borrowed). -1 after
 * printing the error. */
static int
logq_saved_expand(const struct userconf *conf, const char *path, int argc,
                  char **argv, int *ac, char ***av)
{
    const struct userconf_query *q = userconf_query_get(conf, argv[1] + 1);

    if (q == NULL) {
        cmd_error("no saved query '%s' in %s (%zu saved)", argv[1],
                  path ? path : "the config file", conf->n_queries);
        return -1;
    }
    *av = xcalloc((size_t)(argc + q->n_words), sizeof(**av));
    (*av)[0] = argv[0];
    for (int i = 0; i < q->n_words; i++)
        (*av)[1 + i] = q->words[i];
    for (int i = 2; i < argc; i++)
        (*av)[q->n_words + i - 1] = argv[i];
    *ac = argc - 1 + q->n_words;
    return 0;
}

#define LOGQ_CONF_FLAGS_MAX 8

/* The config file's defaults as flags, put before the user's own (which
 * come later and so win); an environment variable beats its setting. Its
 * since goes in env->conf_since. Returns the number of words written to
 * v. */
static int
logq_conf_flags(const struct userconf *c, const struct cmd_env *env,
                char **v)
{
    static char *colors[] = { "--color=auto", "--color=always",
                              "--color=never" };
    int n = 0;

    if (c->server != NULL && (env->env_server == NULL ||
                              env->env_server[0] == '\0')) {
        v[n++] = "--server";
        v[n++] = c->server;
    }
    if (c->token_file != NULL && (env->env_token == NULL ||
                                  env->env_token[0] == '\0')) {
        v[n++] = "--token-file";
        v[n++] = c->token_file;
    }
    if (c->tls_ca != NULL && (env->env_tls_ca == NULL ||
                              env->env_tls_ca[0] == '\0')) {
        v[n++] = "--tls-ca";
        v[n++] = c->tls_ca;
    }
    if (c->has_color && (env->env_no_color == NULL ||
                         env->env_no_color[0] == '\0'))
        v[n++] = colors[c->color_mode];
    return n;
}

/* Runs the command (NULL: the search, or __complete when is_complete)
 * on av without the word at (0: none), the config's flags first; not for
 * __complete's static lists (commands, flags [COMMAND]): they take no
 * flags, and a --server there would stand where COMMAND is read. */
static int
logq_run(const struct cmd_env *env, const struct userconf *conf,
         const struct cmd_entry *cmd, int is_complete, int ac, char **av,
         int at)
{
    char **args = xcalloc((size_t)(ac + LOGQ_CONF_FLAGS_MAX + 1),
                          sizeof(*args));
    int n = 0, first = is_complete ? 3 : 1, rc;
    int is_static = is_complete && ac > 2 &&
                    (strcmp(av[2], "commands") == 0 ||
                     strcmp(av[2], "flags") == 0);

    for (int i = 0; i < first && i < ac; i++)
        args[n++] = av[i];
    if (!is_static)
        n += logq_conf_flags(conf, env, args + n);
    for (int i = first; i < ac; i++)
        if (i != at)
            args[n++] = av[i];
    if (is_complete)
        rc = cmd_complete_exec(env, n, args, 2);
    else if (cmd == NULL)
        rc = cmd_search_exec(env, n, args, 1);
    else
        rc = cmd->exec(env, n, args, 1);
    free(args);
    return rc;
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
    struct userconf conf;
    char *path, **av = argv;
    int ac = argc, rc = CMD_EXIT_ERROR;

    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("logq %s\n", LOGQ_VERSION);
        return CMD_EXIT_OK;
    }
    if (argc == 2 && strcmp(argv[1], "--man") == 0) {   /* make man */
        usage_man_print(stdout);
        return fflush(stdout) == 0 ? CMD_EXIT_OK : CMD_EXIT_ERROR;
    }
    if (logq_conf_load(&conf, &path) < 0)
        goto done;
    env.conf_since = conf.since;
    if (argc > 1 && argv[1][0] == '@' &&
        logq_saved_expand(&conf, path, argc, argv, &ac, &av) < 0)
        goto done;
    if (ac > 1 && strcmp(av[1], "__complete") == 0) {
        rc = logq_run(&env, &conf, NULL, 1, ac, av, 0);
        goto done;
    }
    /* A command sees its options, wherever they were, without its name. */
    const struct cmd_entry *cmd = NULL;
    int at = logq_cmd_index(ac, av, &cmd);
    rc = logq_run(&env, &conf, cmd, 0, ac, av, at);
done:
    if (av != argv)
        free(av);
    userconf_fini(&conf);
    free(path);
    return rc;
}
