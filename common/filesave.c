/* SPDX-License-Identifier: MIT */
/*
 * filesave: see filesave.h. One mutex guards the queued text and the
 * results; the thread sleeps on a condition variable until a text is
 * queued or it is asked to stop, and writes outside the lock.
 */
#include "common/filesave.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct filesave {
    char           *path;
    char            name[16];
    filesave_write_fn write;
    pthread_t       thread;
    pthread_mutex_t mu;
    pthread_cond_t  cv;         /* work queued, or stop */
    pthread_cond_t  idle_cv;    /* a write finished */
    /* under mu */
    char           *text;       /* queued, not started */
    size_t          len;
    uint64_t        version;
    int             is_writing;
    int             is_stop;
    struct filesave_result res;
};

/* The thread: writes each queued text, newest first, until stopped with
 * nothing queued. */
static void *
filesave_main(void *arg)
{
    struct filesave *s = arg;

    (void)pthread_setname_np(pthread_self(), s->name);  /* top -H */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->text == NULL && !s->is_stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->text == NULL)
            break;                  /* stopping, nothing left */
        char *text = s->text;
        size_t len = s->len;
        uint64_t version = s->version;
        s->text = NULL;
        s->is_writing = 1;
        pthread_mutex_unlock(&s->mu);
        char *err = NULL;
        int rc = s->write(s->path, text, len, &err);
        free(text);
        pthread_mutex_lock(&s->mu);
        s->is_writing = 0;
        if (rc == 0) {
            s->res.has_saved = 1;
            s->res.saved = version;
        } else if (s->res.n_failed++ == 0) {
            s->res.err = err;
            err = NULL;
        }
        free(err);
        pthread_cond_broadcast(&s->idle_cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* The thread blocks every signal: the caller's event loop handles them. */
static int
filesave_start(struct filesave *s)
{
    sigset_t all, old;

    sigfillset(&all);
    if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
        return -1;
    int e = pthread_create(&s->thread, NULL, filesave_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return e;
}

struct filesave *
filesave_new(const char *path, const char *name, filesave_write_fn fn,
             char **errstr)
{
    struct filesave *s = xcalloc(1, sizeof(*s));

    s->path = xstrdup(path);
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->write = fn;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_cond_init(&s->idle_cv, NULL);
    int e = filesave_start(s);
    if (e != 0) {
        *errstr = xasprintf("cannot start the writer of %s: %s", path,
                            e > 0 ? strerror(e) : "signal mask");
        pthread_cond_destroy(&s->idle_cv);
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s->path);
        free(s);
        return NULL;
    }
    return s;
}

void
filesave_put(struct filesave *s, char *text, size_t len, uint64_t version)
{
    pthread_mutex_lock(&s->mu);
    free(s->text);
    s->text = text;
    s->len = len;
    s->version = version;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void
filesave_poll(struct filesave *s, struct filesave_result *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->res;
    out->is_busy = s->text != NULL || s->is_writing;
    memset(&s->res, 0, sizeof(s->res));
    pthread_mutex_unlock(&s->mu);
}

void
filesave_drain(struct filesave *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->text != NULL || s->is_writing)
        pthread_cond_wait(&s->idle_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void
filesave_free(struct filesave *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->is_stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);  /* it writes what is queued first */
    free(s->text);
    free(s->res.err);
    pthread_cond_destroy(&s->idle_cv);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}
