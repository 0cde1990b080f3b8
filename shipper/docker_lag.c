/* SPDX-License-Identifier: MIT */
/*
 * docker_lag: what the shipper has not shipped: the bytes of each
 * container's live file not read yet (a lower bound while it reads a
 * rotated file), and the data lost for good per container (tail_loss),
 * forgotten containers' included.
 */
#include "shipper/docker_internal.h"

#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "shipper/tail.h"

/*
 * Bytes of c's live file not read yet. When the tailer is in the live file
 * (same dev+ino as its resume point) that is size - read position; while it
 * is still in a rotated file the whole live file counts (a lower bound: the
 * rest of the rotated file is not stat'ed).
 */
static uint64_t
docker_container_lag(const struct container *c)
{
    char path[PATH_MAX];
    struct stat st;

    int n = snprintf(path, sizeof(path), "%s/%s-json.log", c->dir, c->id);
    if (n < 0 || (size_t)n >= sizeof(path) || lstat(path, &st) < 0 ||
        !S_ISREG(st.st_mode) ||
        st.st_size <= 0)
        return 0;
    uint64_t size = (uint64_t)st.st_size;
    if (c->tail == NULL || !tail_is_open(c->tail))
        return size;
    struct tail_pos rp;
    tail_resume_get(c->tail, &rp);
    if (rp.dev != (uint64_t)st.st_dev || rp.ino != (uint64_t)st.st_ino ||
        rp.logical < rp.file_pos)
        return size;
    uint64_t base = rp.logical - rp.file_pos;   /* logical offset of byte 0 */
    uint64_t logical = tail_logical_get(c->tail);
    uint64_t read_pos = logical >= base ? logical - base : 0;
    return size > read_pos ? size - read_pos : 0;
}

void
docker_foreach_loss(const struct docker *d, docker_loss_fn fn, void *arg)
{
    struct tail_loss l;

    for (const struct container *c = d->list; c != NULL; c = c->next) {
        tail_loss_get(c->tail, &l);
        if (l.events > 0)
            fn(arg, c->id, c->src.name != NULL ? c->src.name : "", &l);
    }
    for (size_t i = 0; i < d->n_retired; i++)
        fn(arg, d->retired[i].id, d->retired[i].name, &d->retired[i].loss);
}

uint64_t
docker_lag_bytes(const struct docker *d)
{
    uint64_t sum = 0;

    for (const struct container *c = d->list; c != NULL; c = c->next)
        sum += docker_container_lag(c);
    return sum;
}
