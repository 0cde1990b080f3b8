/* SPDX-License-Identifier: MIT */
/*
 * docker_list: the containers, in a singly linked list (a host has
 * hundreds at most; lookups by id or inotify watch are linear). A
 * container found gets its directory watched, a tailer started at its
 * saved position and its config read; one whose directory is gone is
 * marked, read to its end and forgotten (position dropped, losses kept
 * in a ring of DOCKER_RETIRED_MAX for docker_foreach_loss); past
 * cfg.max_gone deleted containers still open, the oldest is closed and
 * what it had left counted as lost.
 */
#include "shipper/docker_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "shipper/multiline.h"
#include "shipper/state.h"
#include "shipper/tail.h"

struct container *
docker_list_find(const struct docker *d, const char *id)
{
    for (struct container *c = d->list; c != NULL; c = c->next) {
        if (strcmp(c->id, id) == 0)
            return c;
    }
    return NULL;
}

struct container *
docker_list_find_wd(const struct docker *d, int wd)
{
    for (struct container *c = d->list; c != NULL; c = c->next) {
        if (c->wd == wd)
            return c;
    }
    return NULL;
}

void
docker_list_container_free(struct docker *d, struct container *c)
{
    if (c->wd >= 0 && d->ifd >= 0)
        inotify_rm_watch(d->ifd, c->wd);
    tail_free(c->tail);
    if (c->has_rule)
        multiline_rule_fini(&c->rule);
    free(c->src.name);
    free(c->src.image);
    free(c->src.labels);
    free(c->src.id);
    free(c->dir);
    free(c);
}

void
docker_list_add(struct docker *d, const char *id)
{
    struct container *c = xcalloc(1, sizeof(*c));

    memcpy(c->id, id, DOCKER_ID_LEN + 1);
    c->dir = xasprintf("%s/%s", d->cfg.root, id);
    c->src.id = xstrdup(id);
    c->wd = -1;
    if (d->ifd >= 0) {
        c->wd = inotify_add_watch(d->ifd, c->dir, IN_MODIFY | IN_CREATE |
                                  IN_MOVED_TO | IN_DELETE | IN_ONLYDIR);
        if (c->wd < 0)
            log_warn("docker", "cannot watch container=%.12s: %s", id,
                     strerror(errno));
    }
    c->tail = tail_new(c->dir, id, &d->cfg.tail, d->ctr);
    docker_meta_rule_apply(d, c, NULL);
    const struct tail_pos *pos = d->st != NULL ? state_get(d->st, id) : NULL;
    (void)tail_start(c->tail, pos);   /* no file yet: tail_step retries */
    /* After opening the log: Docker writes the config before the log, so a
     * log that exists implies its config does (unless it is broken). */
    docker_meta_load(d, c);
    c->is_marked = 1;
    c->is_seen = 1;
    c->next = d->list;
    d->list = c;
    d->n++;
    log_info("docker", "container found container=%.12s name=%s resume=%s",
             id, c->src.name, pos != NULL ? "saved" : "oldest");
}

/* Keeps c's losses, if any, for docker_foreach_loss (the oldest of
 * DOCKER_RETIRED_MAX goes: by then metrics frames have carried it). */
static void
docker_retire(struct docker *d, struct container *c)
{
    struct tail_loss l;

    tail_loss_get(c->tail, &l);
    if (l.events == 0)
        return;
    struct docker_retired *r = &d->retired[d->retired_next];
    d->retired_next = (d->retired_next + 1) % DOCKER_RETIRED_MAX;
    if (d->n_retired < DOCKER_RETIRED_MAX)
        d->n_retired++;
    free(r->name);
    memcpy(r->id, c->id, sizeof(r->id));
    r->name = xstrdup(c->src.name != NULL ? c->src.name : "");
    r->loss = l;
}

void
docker_list_forget(struct docker *d, struct container *c)
{
    struct container **pp = &d->list;

    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    if (d->poll_next == c)
        d->poll_next = c->next;
    d->n--;
    if (c->is_gone)
        d->n_gone--;
    if (d->st != NULL)
        state_remove(d->st, c->id);
    log_info("docker", "container forgotten container=%.12s name=%s", c->id,
             c->src.name);
    docker_retire(d, c);
    docker_list_container_free(d, c);
}

/* Keeps at most max_gone deleted containers open: closes the oldest. */
void
docker_list_gone_cap(struct docker *d)
{
    while (d->n_gone > d->cfg.max_gone) {
        struct container *old = NULL;
        for (struct container *c = d->list; c != NULL; c = c->next) {
            if (c->is_gone && (old == NULL || c->gone_order < old->gone_order))
                old = c;
        }
        if (old == NULL)
            return;
        d->ctr->deleted_open_dropped++;
        tail_abandon(old->tail);
        log_warn("docker", "too many deleted containers still open, closing "
                 "container=%.12s cap=%zu", old->id, d->cfg.max_gone);
        docker_list_forget(d, old);
    }
}

void
docker_list_mark_gone(struct docker *d, struct container *c)
{
    if (c->is_gone)
        return;
    c->is_gone = 1;
    c->is_marked = 1;
    c->gone_order = ++d->gone_seq;
    d->n_gone++;
    log_debug("docker", "container removed container=%.12s", c->id);
}

int
docker_list_dir_exists(const char *root, const char *id)
{
    struct stat st;
    char *path = xasprintf("%s/%s", root, id);
    int rc = stat(path, &st) == 0 && S_ISDIR(st.st_mode);

    free(path);
    return rc;
}
