/* SPDX-License-Identifier: MIT */
/*
 * docker: the container watcher's life (new, start: inotify, the rescan,
 * work and expiry timers, the first rescan, saved positions of containers
 * gone meanwhile dropped; stop, free) and the rest of docker.h's API.
 * Parts, one job each (docker_internal.h holds the state they share):
 * docker_meta.c config.v2.json (name, image, labels) and each container's
 * multi-line rule; docker_list.c the list of containers (found, gone,
 * forgotten, the cap on deleted ones still open); docker_poll.c reading
 * them (the work timer, the multi-line expiry timer); docker_look.c the
 * root rescan and the safety-net looks with their idle backoff;
 * docker_inotify.c inotify events; docker_lag.c bytes not read yet and
 * the losses reported.
 */
#include "shipper/docker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "shipper/docker_internal.h"
#include "shipper/state.h"

struct docker *
docker_new(struct event_base *base, const struct docker_config *cfg,
           const struct docker_ops *ops, struct state_store *st,
           struct shipper_counters *ctr)
{
    struct docker *d = xcalloc(1, sizeof(*d));

    d->base = base;
    d->cfg = *cfg;
    d->cfg.root = xstrdup(cfg->root);
    d->ops = *ops;
    d->st = st;
    d->ctr = ctr;
    d->ifd = -1;
    d->root_wd = -1;
    return d;
}

void
docker_free(struct docker *d)
{
    if (d == NULL)
        return;
    while (d->list != NULL) {
        struct container *c = d->list;
        d->list = c->next;
        docker_list_container_free(d, c);
    }
    if (d->inotify_ev != NULL)
        event_free(d->inotify_ev);
    if (d->rescan_ev != NULL)
        event_free(d->rescan_ev);
    if (d->work_ev != NULL)
        event_free(d->work_ev);
    if (d->expire_ev != NULL)
        event_free(d->expire_ev);
    if (d->ifd >= 0)
        close(d->ifd);
    for (size_t i = 0; i < d->n_retired; i++)
        free(d->retired[i].name);
    free((char *)d->cfg.root);
    free(d);
}

int
docker_start(struct docker *d)
{
    struct stat st;

    if (stat(d->cfg.root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        log_error("docker", "docker root unusable %s: %s", d->cfg.root,
                  strerror(errno ? errno : ENOTDIR));
        return -1;
    }
    if (docker_inotify_start(d) < 0) {
        log_warn("docker", "inotify unavailable, relying on rescans: %s",
                 strerror(errno));
        if (d->ifd >= 0)
            close(d->ifd);
        d->ifd = -1;
    }
    d->work_ev = evtimer_new(d->base, docker_poll_work_cb, d);
    d->rescan_ev = event_new(d->base, -1, EV_PERSIST, docker_look_rescan_cb, d);
    d->expire_ev = event_new(d->base, -1, EV_PERSIST, docker_poll_expire_cb, d);
    struct timeval tv = { d->cfg.rescan_ms / 1000,
                          (d->cfg.rescan_ms % 1000) * 1000 };
    struct timeval etv = { 0, DOCKER_EXPIRE_MS * 1000 };
    if (d->work_ev == NULL || d->rescan_ev == NULL || d->expire_ev == NULL ||
        event_add(d->rescan_ev, &tv) < 0 ||
        event_add(d->expire_ev, &etv) < 0) {
        log_error("docker", "cannot create timers");
        return -1;
    }
    docker_rescan(d);
    /* Positions of containers that no longer exist are useless. */
    for (size_t i = 0; d->st != NULL && i < state_count(d->st);) {
        if (docker_list_find(d, state_id_get(d->st, i)) == NULL)
            state_remove(d->st, state_id_get(d->st, i));
        else
            i++;
    }
    docker_poll_schedule(d);
    return 0;
}

void
docker_stop(struct docker *d)
{
    d->is_stopped = 1;
    if (d->work_ev != NULL)
        evtimer_del(d->work_ev);
}

void
docker_kick(struct docker *d)
{
    docker_poll_schedule(d);
}

size_t
docker_count(const struct docker *d)
{
    return d->n;
}

void
docker_commit(struct docker *d, const char *id, const struct tail_pos *pos)
{
    if (d->st == NULL || docker_list_find(d, id) == NULL)
        return;
    if (state_set(d->st, id, pos) < 0)
        log_warn("docker", "position store full container=%.12s", id);
}
