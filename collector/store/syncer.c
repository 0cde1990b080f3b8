/* SPDX-License-Identifier: MIT */
/*
 * syncer: the store's WAL syncing thread. The store's thread writes each
 * commit's WAL entry itself (a pwritev into the page cache) and hands the
 * file's fdatasync to this thread, so an event loop never blocks on the
 * disk; the thread writes one byte to a pipe when the sync returned, and
 * the store's thread collects the result (store_commit_end) before any
 * record of that commit counts as durable. One sync in flight at a time.
 * The thread touches only the request (fd, result) under mu and the
 * pipe's write end; everything else stays with the store's thread.
 */
#include "collector/store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"

static int
syncer_run(const struct store *s, int fd)
{
    if (s->opt.sync_hook != NULL &&
        s->opt.sync_hook("wal", s->opt.sync_hook_arg) < 0)
        return errno ? errno : EIO;
    return fdatasync(fd) < 0 ? errno : 0;
}

static void *
syncer_main(void *arg)
{
    struct store *s = arg;
    struct store_syncer *y = &s->syncer;

    (void)pthread_setname_np(pthread_self(), "lq-sync"); /* top -H */
    pthread_mutex_lock(&y->mu);
    for (;;) {
        while (y->fd < 0 && !y->is_stop)
            pthread_cond_wait(&y->cv, &y->mu);
        if (y->fd < 0)
            break;
        int fd = y->fd;
        pthread_mutex_unlock(&y->mu);
        int64_t t0 = mono_ns();
        int err = syncer_run(s, fd);
        int64_t took = mono_ns() - t0;
        pthread_mutex_lock(&y->mu);
        y->fd = -1;
        y->err = err;
        y->sync_ns = took;
        y->is_done = 1;
        pthread_cond_broadcast(&y->cv);
        /* A full pipe already holds a wake-up: nothing lost. */
        ssize_t n = write(y->pipe[1], "s", 1);
        (void)n;
    }
    pthread_mutex_unlock(&y->mu);
    return NULL;
}

int
syncer_start(struct store *s)
{
    struct store_syncer *y = &s->syncer;
    int rc;

    y->fd = -1;
    if (pipe2(y->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        y->pipe[0] = y->pipe[1] = -1;
        store_set_err(s, "syncing thread: pipe: %s", strerror(errno));
        return -1;
    }
    if (pthread_mutex_init(&y->mu, NULL) != 0 ||
        pthread_cond_init(&y->cv, NULL) != 0) {
        store_set_err(s, "syncing thread: mutex");
        return -1;
    }
    y->is_init = 1;
    rc = pthread_create(&y->th, NULL, syncer_main, s);
    if (rc != 0) {
        store_set_err(s, "syncing thread: %s", strerror(rc));
        return -1;
    }
    y->is_started = 1;
    return 0;
}

void
syncer_stop(struct store *s)
{
    struct store_syncer *y = &s->syncer;

    if (y->is_started) {
        pthread_mutex_lock(&y->mu);
        while (y->is_busy && !y->is_done)
            pthread_cond_wait(&y->cv, &y->mu);
        y->is_stop = 1;
        pthread_cond_broadcast(&y->cv);
        pthread_mutex_unlock(&y->mu);
        pthread_join(y->th, NULL);
        y->is_started = 0;
    }
    if (y->is_init) {
        pthread_cond_destroy(&y->cv);
        pthread_mutex_destroy(&y->mu);
        y->is_init = 0;
    }
    for (int i = 0; i < 2; i++)
        if (y->pipe[i] >= 0)
            close(y->pipe[i]);
    y->pipe[0] = y->pipe[1] = -1;
}

void
syncer_submit(struct store *s, int fd)
{
    struct store_syncer *y = &s->syncer;

    pthread_mutex_lock(&y->mu);
    y->fd = fd;
    y->is_busy = 1;
    y->is_done = 0;
    pthread_cond_broadcast(&y->cv);
    pthread_mutex_unlock(&y->mu);
}

int
syncer_poll(struct store *s, int is_wait, int *err)
{
    struct store_syncer *y = &s->syncer;
    char drain[64];

    pthread_mutex_lock(&y->mu);
    /* Under mu, as the thread writes its byte with is_done: a wake-up is
     * never drained without its result being seen (nor left behind to
     * wake the caller's loop again and again). */
    while (read(y->pipe[0], drain, sizeof(drain)) > 0)
        continue;
    if (!y->is_busy) {
        pthread_mutex_unlock(&y->mu);
        return -1;
    }
    while (is_wait && !y->is_done)
        pthread_cond_wait(&y->cv, &y->mu);
    int is_done = y->is_done;
    *err = y->err;
    int64_t took = y->sync_ns;
    pthread_mutex_unlock(&y->mu);
    if (is_done) {
        s->n_wal_syncs++;
        s->wal_sync_ns += took;
        s->n_wal_syncs_slow += took >= STORE_WAL_SYNC_SLOW_NS;
        if (took > s->wal_sync_max_ns)
            s->wal_sync_max_ns = took;
    }
    if (!is_done)
        return 0;
    y->is_busy = 0;
    return 1;
}
