/* SPDX-License-Identifier: MIT */
/*
 * cmd_complete: `logq __complete WHAT [options]`, the hidden command the
 * shell completion scripts (query/completion/) call, so that they hold no
 * list of their own: "commands" and "flags [COMMAND]" come from the
 * command and flag tables (usage.c, flags.c); "hosts", "containers" and
 * "images" are the live names at the collector (GET /api/v1/hosts,
 * /api/v1/containers; --server, --token-file, --tls-ca as for any
 * command), "labels" its containers' Docker labels as KEY=VALUE. One name per line, sorted, each once; a name with a control
 * byte or a space is left out (it could not be typed back as one word,
 * and a hostile collector must not reach the terminal through it).
 * Exit status: 0, or 2 on error (the scripts discard stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/xmalloc.h"
#include "query/cmd.h"
#include "query/usage.h"

static int
complete_is_plain(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return 0;
    return 1;
}

static const char *
complete_field(const struct reply_item *it, const char *what)
{
    return strcmp(what, "hosts") == 0 ? it->host
         : strcmp(what, "containers") == 0 ? it->container : it->image;
}

static int
complete_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted, unique, plain strings of v[0..n) to stdout; frees v. */
static void
complete_sorted_print(const char **v, size_t n)
{
    qsort(v, n, sizeof(*v), complete_cmp);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
            printf("%s\n", v[i]);
    free(v);
}

/* The names of what (hosts, containers or images) in l, sorted, once. */
static void
complete_names_print(const struct reply_list *l, const char *what)
{
    const char **v = xcalloc(l->n_items + 1, sizeof(*v));
    size_t n = 0;

    for (size_t i = 0; i < l->n_items; i++)
        if (complete_is_plain(complete_field(&l->items[i], what)))
            v[n++] = complete_field(&l->items[i], what);
    complete_sorted_print(v, n);
}

/* Every container's labels as KEY=VALUE (at most 64 Ki pairs). */
static void
complete_labels_print(const struct reply_list *l)
{
    size_t n = 0, cap = 1024, i;
    char **pairs = xcalloc(cap, sizeof(*pairs));
    json_t *c, *value;
    const char *key;

    json_array_foreach(l->root, i, c) {
        json_object_foreach(json_object_get(c, "labels"), key, value) {
            const char *v = json_string_value(value);
            if (v == NULL || n == 65536)
                continue;
            if (n == cap) {
                cap *= 2;
                pairs = xreallocarray(pairs, cap, sizeof(*pairs));
            }
            char *pair = xasprintf("%s=%s", key, v);
            if (complete_is_plain(pair))
                pairs[n++] = pair;
            else
                free(pair);
        }
    }
    const char **view = xcalloc(n + 1, sizeof(*view));
    for (i = 0; i < n; i++)
        view[i] = pairs[i];
    complete_sorted_print(view, n);
    for (i = 0; i < n; i++)
        free(pairs[i]);
    free(pairs);
}

static int
complete_live(const struct cmd_env *env, int argc, char **argv, int first)
{
    const char *what = argv[first];
    struct list_args a;
    struct reply_list l;
    int status;

    if (cmd_list_fetch(env, argc, argv, first + 1, FLAGS_CONTAINERS,
                       strcmp(what, "hosts") == 0 ? "/api/v1/hosts"
                       : "/api/v1/containers", &a, &l, &status) < 0)
        return status;
    if (strcmp(what, "labels") == 0)
        complete_labels_print(&l);
    else
        complete_names_print(&l, what);
    reply_list_fini(&l);
    return fflush(stdout) == 0 ? CMD_EXIT_OK : CMD_EXIT_ERROR;
}

int
cmd_complete_exec(const struct cmd_env *env, int argc, char **argv,
                  int first)
{
    const char *what = first < argc ? argv[first] : "";

    if (strcmp(what, "hosts") == 0 || strcmp(what, "containers") == 0 ||
        strcmp(what, "images") == 0 || strcmp(what, "labels") == 0)
        return complete_live(env, argc, argv, first);
    if (usage_complete_print(stdout, what, first + 1 < argc
                             ? argv[first + 1] : NULL) < 0)
        return cmd_usage_error("usage: logq __complete commands|flags "
                               "[COMMAND]|hosts|containers|images|labels");
    return fflush(stdout) == 0 ? CMD_EXIT_OK : CMD_EXIT_ERROR;
}
