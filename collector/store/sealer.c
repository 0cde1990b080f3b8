/* SPDX-License-Identifier: MIT */
/*
 * sealer: the store's one sealing thread. The store's thread hands it one
 * job at a time (a detached tail: segment_seal.c builds, runs and applies jobs)
 * and goes on committing to a fresh WAL file; the thread compresses,
 * writes and fdatasyncs the blocks while its indexing thread (indexer.c)
 * gathers their token sets and adds those to the open segment's token
 * index (kept once the write succeeded, rolled back if it failed); it
 * writes the segment's .lqi when the segment is full (segindex.c), and
 * the store's thread applies the result (block directory, WAL release)
 * when the thread's byte on the syncing thread's pipe wakes it
 * (store_commit_end) or at a commit, whichever comes first. The queue holds one
 * job; tails that fill meanwhile wait in s->pend to be its next one
 * (store_append.c store_seal; past STORE_PEND_MAX_CH of them store_commit waits:
 * backpressure). A job's frames are compressed by the thread and its
 * helpers (sealpool.c, seal_threads). The
 * thread touches only the job, its own buffers, the segment fd it owns
 * (w* fields) and the open segment's in-memory index (w->wimem, which
 * the indexing thread feeds under w->ix_mu); everything else stays with
 * the store's thread.
 */
#include "collector/store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"

static void *
sealer_main(void *arg)
{
    struct store *s = arg;
    struct store_sealer *w = &s->sealer;

    (void)pthread_setname_np(pthread_self(), "lq-seal"); /* top -H */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->job_in && !w->is_stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->job_in)
            break;
        struct seal_job *job = w->job_in;
        w->job_in = NULL;
        pthread_mutex_unlock(&w->mu);
        segment_job_run(s, w, job);
        pthread_mutex_lock(&w->mu);
        w->is_done = 1;
        pthread_cond_broadcast(&w->cv);
        /* After is_done: the store's thread that reads the byte sees the
         * job done (store_commit_end). A full pipe already holds a
         * wake-up. */
        if (w->wake_fd >= 0) {
            ssize_t n = write(w->wake_fd, "j", 1);
            (void)n;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int
sealer_start(struct store *s)
{
    struct store_sealer *w = &s->sealer;

    w->wfd = s->seg_fd;                 /* the thread owns it from now */
    s->seg_fd = -1;
    w->wseq = s->n_segs ? s->segs[s->n_segs - 1]->seq : 0;
    w->wpos = s->n_segs ? s->segs[s->n_segs - 1]->file_size : 0;
    segindex_sealer_init(s);
    buf_init(&w->cols, STORE_MAX_RAW);
    buf_init(&w->frames, STORE_MAX_RAW + 65536);
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&w->cv, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        goto fail;
    }
    /* The indexing thread numbers the frames of codec 6 blocks as
     * chunk_encode (segment_seal.c) cuts them. */
    w->ix.frame_size = s->opt.compress_codec != STORE_COMPRESS_ZLIB &&
                       s->opt.frame_size != STORE_NO_FRAMES
                       ? s->opt.frame_size : 0;
    /* Without the indexing thread the sealing thread indexes. */
    w->ix.ix_mu = &w->ix_mu;
    if (!s->opt.is_index_inline)
        (void)indexer_start(&w->ix, s->opt.seal_threads > 1);
    /* Helpers compress frames only: none for blocks of one zstd or zlib
     * stream. Without them (none could be started) the thread works
     * alone, as with seal_threads 1. */
    (void)sealpool_start(&w->pool, w->ix.frame_size ? s->opt.seal_threads
                                                    : 1);
    int rc = pthread_create(&w->th, NULL, sealer_main, s);
    if (rc != 0) {
        sealpool_stop(&w->pool);
        indexer_stop(&w->ix);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        errno = rc;
        goto fail;
    }
    w->is_started = 1;
    return 0;
fail:
    store_set_err(s, "sealing thread: %s", strerror(errno));
    return -1;
}

void
sealer_stop(struct store *s)
{
    struct store_sealer *w = &s->sealer;

    if (w->is_started) {
        (void)sealer_poll(s, 1);
        pthread_mutex_lock(&w->mu);
        w->is_stop = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        w->is_started = 0;
    }
    indexer_stop(&w->ix);
    sealpool_stop(&w->pool);
    if (w->wfd >= 0)
        close(w->wfd);
    w->wfd = -1;
    dwrite_fini(&w->dw);
    buf_fini(&w->cols);
    buf_fini(&w->frames);
    free(w->recs);
    w->recs = NULL;
    free(w->wrefs);
    w->wrefs = NULL;
    w->wimem = NULL;            /* the segment's, freed with it */
}

void
sealer_submit(struct store *s)
{
    struct store_sealer *w = &s->sealer;

    pthread_mutex_lock(&w->mu);
    w->job_in = s->job;
    w->wake_fd = s->syncer.pipe[1];     /* open until sealer_stop */
    w->is_busy = 1;
    w->is_done = 0;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Applies the finished s->job: blocks that could not be built into
 * quarantine files, the others into the directory, WAL files released; a
 * failed write keeps the job for a retry. */
static void
sealer_finish(struct store *s)
{
    struct seal_job *job = s->job;
    struct seal_times *t = &s->seal_t;

    t->n_jobs++;
    t->run_ns += job->t.run_ns;
    t->build_ns += job->t.build_ns;
    t->write_ns += job->t.write_ns;
    t->sync_ns += job->t.sync_ns;
    t->ix_wait_ns += job->t.ix_wait_ns;
    t->wal_cut_ns += job->t.wal_cut_ns;
    t->lag_ns += mono_ns() - job->end_ns;
    job->t = (struct seal_times){ 0 };  /* a retry counts its own */
    if (job->rc < 0) {
        s->n_seal_errors++;
        store_set_err(s, "%s", job->err);
        return;                 /* records stay durable in the WAL */
    }
    for (size_t i = 0; i < job->n_ch; i++)
        if (job->ch[i].is_bad)
            store_quarantine(s, &job->ch[i]);
        else
            t->n_blocks++;
    store_lock(s);              /* cursors read the directory and job */
    segment_job_apply(s, job);
    s->job = NULL;
    store_unlock(s);
    wal_release(s, job->wal_mask, job->wal_cut, 1);
    segment_job_spare(s, job);
    segment_job_free(job);
    (void)retention_run(s);     /* not store_apply_retention: s->pend is
                                   submitted by the store's callers, so
                                   s->job after a poll is NULL or failed */
}

int
sealer_poll(struct store *s, int is_wait)
{
    struct store_sealer *w = &s->sealer;

    if (!w->is_started || !w->is_busy)
        return 1;
    pthread_mutex_lock(&w->mu);
    while (is_wait && !w->is_done)
        pthread_cond_wait(&w->cv, &w->mu);
    int is_done = w->is_done;
    pthread_mutex_unlock(&w->mu);
    if (!is_done)
        return 0;
    w->is_busy = 0;
    sealer_finish(s);
    return 1;
}
