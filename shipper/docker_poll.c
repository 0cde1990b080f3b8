/* SPDX-License-Identifier: MIT */
/*
 * docker_poll: reading the containers marked as having something to read,
 * DOCKER_SLICE bytes each per pass, while ops->can_read allows
 * (backpressure); records go to ops->emit with the container's source.
 * Polling runs from a zero-delay timer rather than event_active so the
 * loop polls sockets (ACKs) between slices of file reading. A gone
 * container read to its end is flushed and forgotten. Every
 * DOCKER_EXPIRE_MS the containers with a record being joined are read to
 * their end, then tail_expire ends records 1 s old.
 */
#include "shipper/docker_internal.h"

#include <event2/event.h>

#include "common/timeutil.h"
#include "shipper/tail.h"

struct docker_emit_ctx {
    struct docker    *d;
    struct container *c;
};

void
docker_poll_schedule(struct docker *d)
{
    static const struct timeval now = { 0, 0 };

    if (d->work_ev != NULL && !d->is_stopped &&
        !evtimer_pending(d->work_ev, NULL))
        evtimer_add(d->work_ev, &now);
}

static void
docker_emit_ctx_cb(void *arg, const struct tail_record *r)
{
    struct docker_emit_ctx *x = arg;
    struct container *c = x->c;

    /* A container found mid-creation: its config may have landed since.
     * Always retried before its first record, then at most every 200 ms. */
    if (!c->has_meta && (!c->has_emitted ||
                         mono_ns() - c->meta_tried_ns >= DOCKER_META_RETRY))
        docker_meta_load(x->d, c);
    c->has_emitted = 1;
    x->d->ops.emit(x->d->ops.arg, &c->src, r);
}

/* Polls one container; 1 if it has more to read, 0 if idle, -1 if it was
 * forgotten. */
static int
docker_poll_one(struct docker *d, struct container *c, size_t budget)
{
    struct docker_emit_ctx x = { d, c };
    uint64_t start = tail_logical_get(c->tail);
    enum tail_status rc = TAIL_DATA;

    while (d->ops.can_read(d->ops.arg)) {
        rc = tail_step(c->tail, docker_emit_ctx_cb, &x);
        if (rc != TAIL_DATA)
            break;
        if (budget > 0 && tail_logical_get(c->tail) - start >= budget)
            return 1;
    }
    if (rc == TAIL_DATA)
        return 1;   /* backpressure */
    if (c->is_gone) {
        tail_flush(c->tail, docker_emit_ctx_cb, &x);
        docker_list_forget(d, c);
        return -1;
    }
    return 0;
}

/* One pass over the containers, from where the last one stopped
 * (d->poll_next) round the list: when reading pauses (backpressure), the
 * next pass starts at the first container not read, so the containers
 * late in the list get their turn instead of waiting behind the ones
 * first in it, read again at every pass (docker_test
 * `backpressure_round_robin`). */
int
docker_poll(struct docker *d, size_t budget)
{
    int more = 0;
    struct container *c = d->poll_next != NULL ? d->poll_next : d->list;

    d->poll_next = NULL;
    for (size_t i = 0, n = d->n; i < n && c != NULL; i++) {
        /* c->next read before c may be forgotten; past the end: the head,
         * read after, as forgetting c may have changed it */
        struct container *next = c->next;
        int is_last = next == NULL;
        if (c->is_marked) {
            if (!d->ops.can_read(d->ops.arg)) {
                d->poll_next = c;
                return 1;
            }
            int rc = docker_poll_one(d, c, budget);
            if (rc == 0)
                c->is_marked = 0;
            else if (rc > 0)
                more = 1;
        }
        c = is_last ? d->list : next;
    }
    return more;
}

void
docker_poll_work_cb(evutil_socket_t fd, short what, void *arg)
{
    struct docker *d = arg;

    if (d->is_stopped)
        return;
    if (docker_poll(d, DOCKER_SLICE) && d->ops.can_read(d->ops.arg))
        docker_poll_schedule(d);
}

/* Containers with a record being joined: read to the end first (so the
 * split is the one a re-read makes), then end records 1 s old. */
void
docker_poll_expire_cb(evutil_socket_t fd, short what, void *arg)
{
    struct docker *d = arg;
    struct container *next;

    for (struct container *c = d->list; c != NULL && !d->is_stopped;
         c = next) {
        next = c->next;     /* docker_poll_one may forget c */
        if (!tail_is_joining(c->tail))
            continue;
        if (!d->ops.can_read(d->ops.arg))
            break;
        int rc = docker_poll_one(d, c, DOCKER_SLICE);
        if (rc > 0) {
            c->is_marked = 1;
            docker_poll_schedule(d);
        } else if (rc == 0) {
            struct docker_emit_ctx x = { d, c };
            (void)tail_expire(c->tail, docker_emit_ctx_cb, &x);
        }
    }
}
