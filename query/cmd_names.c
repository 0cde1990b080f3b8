/* SPDX-License-Identifier: MIT */
/*
 * cmd_names: after a search, count or histogram found nothing, says which
 * --host, --container or --image names no host or container has, with
 * the nearest known ones (nearest.c): "no container 'web'; did you mean
 * web-1, web-2?"; the same for --label K=V (nearest among the known
 * K=V pairs; K alone: among the keys), --service and --project (among
 * the values of Compose's labels). Reads /api/v1/hosts and
 * /api/v1/containers (with each container's labels); only the
 * patterns without '!' are checked (an exclusion of nothing is harmless).
 * Never changes the exit status: nothing found stays 1. Also the column
 * widths of a text search (cmd_names_widths): the longest host and
 * container name among the selected containers, so messages line up.
 */
#include "query/cmd_names.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/escape.h"
#include "common/xmalloc.h"
#include "query/nearest.h"

#define NAMES_SHOWN 5
#define NAMES_MAX_WIDTH 32  /* a longer name is printed whole, unpadded */

/* One field's known names (borrowed from the lists). */
struct names_known {
    const char **v;
    size_t       n;
};

static int
names_fetch(const struct url *u, const char *path, struct reply_list *l)
{
    struct buf body;
    char err[256];

    buf_init(&body, CMD_LIST_BODY_MAX);
    int rc = cmd_fetch(u, path, &body, err, sizeof(err)) == CLIENT_OK &&
             reply_list_parse((const char *)body.data, body.len, l, err,
                              sizeof(err)) == 0 ? 0 : -1;
    buf_fini(&body);
    return rc;
}

static int
names_has(const struct names_known *k, const char *pat, int is_glob)
{
    for (size_t i = 0; i < k->n; i++)
        if (is_glob ? fnmatch(pat, k->v[i], 0) == 0
                    : strcmp(pat, k->v[i]) == 0)
            return 1;
    return 0;
}

/* "no container 'web'; did you mean web-1, web-2?" on stderr. */
static void
names_say(const char *what, const char *pat, const struct names_known *k)
{
    const char *near[NAMES_SHOWN];
    size_t n = nearest_names(pat, k->v, k->n, near, NAMES_SHOWN);
    struct buf b;

    buf_init(&b, 64 * 1024);
    escape_append(&b, pat, strlen(pat), 0);
    fprintf(stderr, "logq: no %s '%.*s'", what, (int)b.len, (char *)b.data);
    for (size_t i = 0; i < n; i++) {
        buf_reset(&b);
        escape_append(&b, near[i], strlen(near[i]), 0);
        fprintf(stderr, "%s%.*s", i == 0 ? "; did you mean " : ", ",
                (int)b.len, (char *)b.data);
    }
    fputs(n > 0 ? "?\n" : "\n", stderr);
    buf_fini(&b);
}

static void
names_check_field(const char *what, const struct args_names *l,
                  const struct names_known *k, int is_glob)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i][0] != '!' && !names_has(k, l->v[i], is_glob))
            names_say(what, l->v[i], k);
}

/* Every container's labels: "K=V" pairs, keys, and the values of the
 * Compose service and project labels; strings owned (names_known_fini). */
struct names_labels {
    struct names_known pairs, keys, services, projects;
};

static void
names_push(struct names_known *k, const char *s)
{
    if ((k->n & 63) == 0)
        k->v = xreallocarray(k->v, k->n + 64, sizeof(char *));
    k->v[k->n++] = xstrdup(s);
}

static void
names_labels_init(struct names_labels *nl, const struct reply_list *l)
{
    memset(nl, 0, sizeof(*nl));
    for (size_t i = 0; i < l->n_items; i++) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)l->items[i].labels, key, v) {
            const char *s = json_string_value(v);
            if (s == NULL)
                continue;
            char *pair = xasprintf("%s=%s", key, s);
            names_push(&nl->pairs, pair);
            free(pair);
            names_push(&nl->keys, key);
            if (strcmp(key, "com.docker.compose.service") == 0)
                names_push(&nl->services, s);
            if (strcmp(key, "com.docker.compose.project") == 0)
                names_push(&nl->projects, s);
        }
    }
}

static void
names_known_fini(struct names_known *k)
{
    for (size_t i = 0; i < k->n; i++)
        free((char *)k->v[i]);
    free(k->v);
}

/* --label K=V (or K) without '!' that no container's labels match. */
static void
names_check_labels(const struct args_names *l, const struct names_labels *nl)
{
    for (size_t i = 0; i < l->n; i++) {
        const char *p = l->v[i];
        if (p[0] == '!')
            continue;
        const char *eq = strchr(p, '=');
        int has = 0;
        for (size_t k = 0; !has && k < nl->pairs.n; k++) {
            const char *pair = nl->pairs.v[k];
            const char *peq = strchr(pair, '=');
            size_t klen = eq != NULL ? (size_t)(eq - p) : strlen(p);
            has = (size_t)(peq - pair) == klen &&
                  memcmp(pair, p, klen) == 0 &&
                  (eq == NULL || fnmatch(eq + 1, peq + 1, 0) == 0);
        }
        if (!has)
            names_say("label", p, eq != NULL ? &nl->pairs : &nl->keys);
    }
}

void
cmd_names_check(const struct cmd_env *env, const struct search_args *a)
{
    struct reply_list hosts, ctrs;
    struct url u;
    const char *server;

    if (a->hosts.n + a->containers.n + a->images.n + a->labels.n +
            a->services.n + a->projects.n == 0 ||
        cmd_url_open(env, &a->common, &u, &server) < 0)
        return;
    if (names_fetch(&u, "/api/v1/hosts", &hosts) < 0) {
        url_fini(&u);
        return;
    }
    if (names_fetch(&u, "/api/v1/containers", &ctrs) == 0) {
        size_t nh = hosts.n_items, nc = ctrs.n_items;
        struct names_known h = { xcalloc(nh + 1, sizeof(char *)), nh };
        struct names_known c = { xcalloc(nc + 1, sizeof(char *)), nc };
        struct names_known im = { xcalloc(nc + 1, sizeof(char *)), nc };
        for (size_t i = 0; i < nh; i++)
            h.v[i] = hosts.items[i].host;
        for (size_t i = 0; i < nc; i++) {
            c.v[i] = ctrs.items[i].container;
            im.v[i] = ctrs.items[i].image != NULL ? ctrs.items[i].image : "";
        }
        names_check_field("host", &a->hosts, &h, 0);
        names_check_field("container", &a->containers, &c, 1);
        names_check_field("image", &a->images, &im, 0);
        struct names_labels nl;
        names_labels_init(&nl, &ctrs);
        names_check_labels(&a->labels, &nl);
        names_check_field("service", &a->services, &nl.services, 1);
        names_check_field("project", &a->projects, &nl.projects, 1);
        names_known_fini(&nl.pairs);
        names_known_fini(&nl.keys);
        names_known_fini(&nl.services);
        names_known_fini(&nl.projects);
        free(h.v);
        free(c.v);
        free(im.v);
        reply_list_fini(&ctrs);
    }
    reply_list_fini(&hosts);
    url_fini(&u);
}

/* Terminal columns of name as the text output prints it (escaped). */
static size_t
names_columns(const char *name)
{
    struct buf b;
    size_t cols = 0;

    buf_init(&b, 64 * 1024);
    if (escape_append(&b, name, strlen(name), ESCAPE_KEEP_TAB) == 0)
        for (size_t i = 0; i < b.len; i++)
            cols += (b.data[i] & 0xC0) != 0x80;
    buf_fini(&b);
    return cols;
}

void
cmd_names_widths(const struct cmd_env *env, const struct search_args *a,
                 struct output_widths *w)
{
    struct reply_list l;
    struct url u;
    const char *server;

    w->host = w->container = 0;
    if (cmd_url_open(env, &a->common, &u, &server) < 0)
        return;
    if (names_fetch(&u, "/api/v1/containers", &l) == 0) {
        for (size_t i = 0; i < l.n_items; i++) {
            const struct reply_item *it = &l.items[i];
            if (!args_names_match(&a->hosts, it->host, 0) ||
                !args_names_match(&a->containers, it->container, 1) ||
                !args_names_match(&a->images, it->image, 0))
                continue;
            size_t hw = names_columns(it->host);
            size_t cw = names_columns(it->container);
            w->host = hw > w->host ? hw : w->host;
            w->container = cw > w->container ? cw : w->container;
        }
        reply_list_fini(&l);
    }
    w->host = w->host > NAMES_MAX_WIDTH ? NAMES_MAX_WIDTH : w->host;
    w->container = w->container > NAMES_MAX_WIDTH ? NAMES_MAX_WIDTH
                                                  : w->container;
    url_fini(&u);
}
