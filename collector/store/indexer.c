/* SPDX-License-Identifier: MIT */
/*
 * indexer: the sealing thread's tokenizing helper (STORE.md "Threads").
 * The sealing thread hands it each job as it starts on it; while the
 * sealing thread decodes, compresses, writes and syncs the job's blocks,
 * this thread decodes the same row bodies and gathers each block's token
 * set (seal_chunk.set); the sealing thread waits for it before it feeds
 * the sets to the segment's index (segindex_sealer_add), so both cores
 * work on a block. The thread reads the job's chunks (body, n_records,
 * n_labels: nobody changes them while the job runs) and writes only their
 * sets and its own record array. Without the thread (not started, or
 * store_options.is_index_inline) the sealing thread gathers the sets
 * itself: the same sets, so the same .lqi bytes.
 */
#include "collector/store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The token set of ch's messages into ch->set, each record's tokens in
 * its frame (frame_size: cut as block_frames_encode cuts the same
 * records; 0: one frame). A body that does not decode leaves the set
 * empty: the sealing thread's decode of the same bytes fails too, so the
 * block is quarantined, never indexed. */
static void
indexer_chunk(struct seal_chunk *ch, struct store_rec **recs, size_t *cap,
              size_t frame_size)
{
    uint32_t n = ch->n_records, n_frames = 1, f = 0, end = n;

    index_set_reset(&ch->set);
    if (block_body_decode(ch->body.data, ch->body.len, n, ch->n_labels, 1,
                          recs, cap) < 0)
        return;
    if (frame_size) {
        n_frames = 0;
        for (uint32_t i = 0; i < n; n_frames++)
            i = block_frame_end(*recs, i, n, frame_size);
        end = block_frame_end(*recs, 0, n, frame_size);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (i == end) {
            ch->set.frame = index_frame_bit(++f, n_frames);
            end = block_frame_end(*recs, i, n, frame_size);
        }
        index_set_add_text(&ch->set, (*recs)[i].msg, (*recs)[i].msg_len);
    }
}

static void
indexer_job(struct store_indexer *x, struct seal_job *job)
{
    for (size_t i = 0; i < job->n_ch; i++)
        indexer_chunk(&job->ch[i], &x->recs, &x->cap_recs, x->frame_size);
}

static void *
indexer_main(void *arg)
{
    struct store_indexer *x = arg;

    (void)pthread_setname_np(pthread_self(), "lq-index"); /* top -H */
    pthread_mutex_lock(&x->mu);
    for (;;) {
        while (!x->job_in && !x->is_stop)
            pthread_cond_wait(&x->cv, &x->mu);
        if (!x->job_in)
            break;
        struct seal_job *job = x->job_in;
        pthread_mutex_unlock(&x->mu);
        indexer_job(x, job);
        pthread_mutex_lock(&x->mu);
        x->job_in = NULL;
        pthread_cond_broadcast(&x->cv);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

int
indexer_start(struct store_indexer *x)
{
    if (pthread_mutex_init(&x->mu, NULL) != 0)
        return -1;
    if (pthread_cond_init(&x->cv, NULL) != 0) {
        pthread_mutex_destroy(&x->mu);
        return -1;
    }
    int rc = pthread_create(&x->th, NULL, indexer_main, x);
    if (rc != 0) {
        pthread_cond_destroy(&x->cv);
        pthread_mutex_destroy(&x->mu);
        errno = rc;
        return -1;
    }
    x->is_started = 1;
    return 0;
}

void
indexer_stop(struct store_indexer *x)
{
    if (x->is_started) {
        pthread_mutex_lock(&x->mu);
        x->is_stop = 1;
        pthread_cond_broadcast(&x->cv);
        pthread_mutex_unlock(&x->mu);
        pthread_join(x->th, NULL);
        pthread_cond_destroy(&x->cv);
        pthread_mutex_destroy(&x->mu);
        x->is_started = 0;
    }
    free(x->recs);
    x->recs = NULL;
    x->cap_recs = 0;
}

void
indexer_submit(struct store_indexer *x, struct seal_job *job)
{
    if (!x->is_started) {
        x->job_inline = job;
        return;
    }
    pthread_mutex_lock(&x->mu);
    x->job_in = job;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

void
indexer_wait(struct store_indexer *x)
{
    if (!x->is_started) {
        if (x->job_inline)
            indexer_job(x, x->job_inline);
        x->job_inline = NULL;
        return;
    }
    pthread_mutex_lock(&x->mu);
    while (x->job_in)
        pthread_cond_wait(&x->cv, &x->mu);
    pthread_mutex_unlock(&x->mu);
}
