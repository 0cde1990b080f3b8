/* SPDX-License-Identifier: MIT */
/*
 * docker_look: the safety net under inotify. Every rescan_ms the root is
 * listed (new containers added, missing ones marked gone) and the
 * containers whose look is due are looked at: new files noted
 * (tail_watch) and a poll. Looks at an idle container back off up to
 * 16 periods; activity brings them back, and writes inotify did not
 * report end the backoff for good (rescan_misses). docker_rescan (start,
 * queue overflow) looks at every container.
 */
#include "shipper/docker_internal.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "shipper/tail.h"

int64_t
docker_look_now(const struct docker *d)
{
    return d->cfg.clock_ns != NULL ? d->cfg.clock_ns() : mono_ns();
}

/* Lists the root: new containers added, missing ones marked gone, a
 * config that failed before tried again. */
static void
docker_scan_root(struct docker *d)
{
    DIR *dir = opendir(d->cfg.root);

    if (dir == NULL) {
        log_warn("docker", "cannot read docker root %s: %s", d->cfg.root,
                 strerror(errno));
        return;
    }
    for (struct container *c = d->list; c != NULL; c = c->next)
        c->is_seen = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!docker_is_id(de->d_name))
            continue;
        struct container *c = docker_list_find(d, de->d_name);
        if (c != NULL && !c->is_gone) {
            c->is_seen = 1;
            if (!c->has_meta)
                docker_meta_load(d, c);
        } else if (c == NULL &&
                   docker_list_dir_exists(d->cfg.root, de->d_name)) {
            docker_list_add(d, de->d_name);
        }
    }
    closedir(dir);
    for (struct container *c = d->list; c != NULL; c = c->next) {
        if (!c->is_seen && !c->is_gone)
            docker_list_mark_gone(d, c);
    }
    docker_list_gone_cap(d);
}

static int64_t
docker_look_period(const struct docker *d)
{
    return (int64_t)d->cfg.rescan_ms * 1000000;
}

/* c is active: its next look comes within one period. */
void
docker_look_soon(struct docker *d, struct container *c, int64_t now)
{
    c->look_shift = 0;
    if (c->look_due_ns > now + docker_look_period(d))
        c->look_due_ns = now + docker_look_period(d);
}

/*
 * A safety-net look at c: notes new files (tail_watch) and polls it. A look
 * that finds nothing read since the previous one, no inotify event and no
 * poll pending doubles the time to the next (up to DOCKER_LOOK_SHIFT); any
 * activity brings it back to rescan_ms (an inotify event at once,
 * docker_look_soon), so a busy container is looked at as often as before.
 * Bytes read since the previous look without an inotify event for c mean
 * inotify misses writes (a filesystem that does not report them): from
 * then on every container is looked at every rescan_ms (logged once; every
 * miss counted in rescan_misses). A forced look (start, queue overflow)
 * takes nothing for granted: its snapshot is not used.
 */
static void
docker_look(struct docker *d, struct container *c, int64_t now,
            int is_forced)
{
    uint64_t logical = tail_logical_get(c->tail);
    int is_moved = c->is_look_valid && logical != c->look_logical;

    if (is_moved && c->n_events == 0) {
        d->ctr->rescan_misses++;
        if (!d->is_inotify_unreliable) {
            log_warn("docker", "a rescan found writes inotify did not "
                     "report, rescanning every %d ms from now on "
                     "container=%.12s", d->cfg.rescan_ms, c->id);
            for (struct container *o = d->list; o != NULL; o = o->next)
                docker_look_soon(d, o, now);
        }
        d->is_inotify_unreliable = 1;
    }
    int is_idle = !is_forced && c->is_look_valid && !is_moved &&
                  c->n_events == 0 && !c->is_marked;
    int can_back_off = d->ifd >= 0 && c->wd >= 0 &&
                       !d->is_inotify_unreliable;
    if (is_idle && can_back_off && c->look_shift < DOCKER_LOOK_SHIFT)
        c->look_shift++;
    else if (!is_idle || !can_back_off)
        c->look_shift = 0;
    c->look_due_ns = now + (docker_look_period(d) << c->look_shift);
    c->is_look_valid = !is_forced && !c->is_marked;
    c->look_logical = logical;
    c->n_events = 0;
    c->is_marked = 1;
    tail_watch(c->tail);
}

void
docker_rescan(struct docker *d)
{
    int64_t now = docker_look_now(d);

    docker_scan_root(d);
    for (struct container *c = d->list; c != NULL; c = c->next)
        docker_look(d, c, now, 1);
}

size_t
docker_rescan_due(struct docker *d)
{
    int64_t now = docker_look_now(d);
    /* half a tick early still counts: timer jitter must not push a look
     * to the tick after */
    int64_t early = docker_look_period(d) / 2;
    size_t n = 0;

    docker_scan_root(d);
    for (struct container *c = d->list; c != NULL; c = c->next) {
        if (c->look_due_ns - early <= now) {
            docker_look(d, c, now, 0);
            n++;
        }
    }
    return n;
}

void
docker_look_rescan_cb(evutil_socket_t fd, short what, void *arg)
{
    struct docker *d = arg;

    (void)docker_rescan_due(d);
    docker_poll_schedule(d);
}
