/* SPDX-License-Identifier: MIT */
/*
 * docker_inotify: one inotify fd, read through a libevent event, watching
 * the Docker root (containers created, moved, deleted) and each
 * container's directory (docker_list.c adds the watch): a write marks the
 * container for polling and brings its looks back to rescan_ms, a new
 * file is a rotation (tail_watch), a changed config.v2.json is read
 * again. A queue overflow is answered with a full rescan.
 */
#include "shipper/docker_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "shipper/tail.h"

static void
docker_root_event(struct docker *d, const struct inotify_event *ev)
{
    if (ev->len == 0 || !docker_is_id(ev->name))
        return;
    struct container *c = docker_list_find(d, ev->name);
    if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        if (c == NULL && docker_list_dir_exists(d->cfg.root, ev->name))
            docker_list_add(d, ev->name);
    } else if (c != NULL && (ev->mask & (IN_DELETE | IN_MOVED_FROM))) {
        docker_list_mark_gone(d, c);
        docker_list_gone_cap(d);
    }
}

static void
docker_handle_event(struct docker *d, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        log_warn("docker", "inotify queue overflow, rescanning");
        docker_rescan(d);
        return;
    }
    if (ev->wd == d->root_wd) {
        docker_root_event(d, ev);
        return;
    }
    struct container *c = docker_list_find_wd(d, ev->wd);
    if (c == NULL)
        return;
    if (ev->mask & IN_IGNORED) {
        c->wd = -1;     /* directory gone; the root event or rescan says so */
        return;
    }
    c->n_events++;
    if (c->look_shift > 0)
        docker_look_soon(d, c, docker_look_now(d));
    if (ev->len > 0 && strcmp(ev->name, DOCKER_CONFIG_FILE) == 0 &&
        (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MODIFY)))
        docker_meta_load(d, c);
    else if (ev->mask & (IN_CREATE | IN_MOVED_TO))
        tail_watch(c->tail);    /* a rotation: note the new files */
    c->is_marked = 1;
}

static void
docker_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
    struct docker *d = arg;
    char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (;;) {
        ssize_t n = read(d->ifd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            docker_handle_event(d, ev);
            p += sizeof(*ev) + ev->len;
        }
    }
    docker_poll_schedule(d);
}

int
docker_inotify_start(struct docker *d)
{
    d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (d->ifd < 0)
        return -1;
    d->root_wd = inotify_add_watch(d->ifd, d->cfg.root, IN_CREATE |
                                   IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                   IN_ONLYDIR);
    if (d->root_wd < 0)
        return -1;
    d->inotify_ev = event_new(d->base, d->ifd, EV_READ | EV_PERSIST,
                              docker_inotify_cb, d);
    if (d->inotify_ev == NULL || event_add(d->inotify_ev, NULL) < 0)
        return -1;
    return 0;
}
