/* SPDX-License-Identifier: MIT */
/*
 * indexer: the sealing thread's indexing helper (STORE.md "Threads").
 * The sealing thread hands it each job as it starts on it; while the
 * sealing thread decodes and compresses the job's blocks, this thread
 * decodes the same row bodies, gathers each block's token set
 * (seal_chunk.set) and feeds it to the open segment's map right away,
 * under the number the block will have in the segment if every block of
 * the job not already is_bad is built (indexer_submit), while the
 * sealing thread builds, writes and syncs them. That add is
 * speculative: the map is marked first (index_mem_mark), and the
 * sealing thread, once the write returned, keeps it or, after a failed
 * write, rolls it back, so a retry indexes each block once; a block that
 * fails to build (quarantined) makes it roll back and add again under
 * the right numbers (segment_seal.c seal_job_write). The thread reads the
 * job's chunks (body, n_records, n_labels and is_ix, set before
 * indexer_submit; never is_bad, which the sealing thread may set
 * meanwhile: a block that turns bad after it was added is the case
 * above) and writes only their sets, its own record array and the
 * map (under the sealer's ix_mu, which cursors take to look it up;
 * they see only blocks of the directory, never the ones being
 * written). Without the thread (not started, or
 * store_options.is_index_inline) the sealing thread does both itself at
 * indexer_wait: the same sets and adds, so the same .lqi bytes. With
 * seal_threads > 1 the thread has a helper (lq-index2) that gathers
 * the sets of the job's blocks not yet taken (h_next) while the thread
 * adds them in block order, taking the next block itself rather than
 * waiting; each block's set is written by the one thread that took it
 * (its own record array) and read once h_done says so (under mu): the
 * same sets, added in the same order (indexer_test, sealpool_test).
 */
#include "collector/store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

/* The token set of ch's messages into ch->set, each record's tokens in
 * its frame (frame_size: cut as block_frames_encode cuts the same
 * records, grouped by source as the seal orders them; 0: one frame),
 * unless it was gathered ahead while the chunk waited (tailset.c) or on
 * an earlier try; then published for cursors.
 * A body that does not decode leaves the set partial: the sealing
 * thread's decode of the same bytes fails too, so the block is
 * quarantined, never indexed. */
static void
indexer_chunk(struct seal_chunk *ch, struct store_rec **recs, size_t *cap,
              size_t frame_size)
{
    if (tailset_take(ch))
        return;
    int rc = tailset_gather(ch->body.data, ch->body.len, ch->n_records,
                            ch->n_labels, &ch->set, recs, cap, frame_size);
    tailset_publish(ch, rc == 0);
}

/* Until block i's set is gathered (with the helper): gathers the next
 * blocks not taken meanwhile, or waits for the helper's. */
static void
indexer_take(struct store_indexer *x, struct seal_job *job, size_t i)
{
    pthread_mutex_lock(&x->mu);
    while (!x->h_done[i]) {
        if (x->h_next < job->n_ch) {
            size_t k = x->h_next++;
            pthread_mutex_unlock(&x->mu);
            indexer_chunk(&job->ch[k], &x->recs, &x->cap_recs,
                          x->frame_size);
            pthread_mutex_lock(&x->mu);
            x->h_done[k] = 1;
            continue;
        }
        pthread_cond_wait(&x->hcv, &x->mu);
    }
    pthread_mutex_unlock(&x->mu);
}

static void *
indexer_helper_main(void *arg)
{
    struct store_indexer *x = arg;

    (void)pthread_setname_np(pthread_self(), "lq-index2"); /* top -H */
    pthread_mutex_lock(&x->mu);
    for (;;) {
        while (!x->h_stop && !(x->h_job && x->h_next < x->h_job->n_ch))
            pthread_cond_wait(&x->hcv, &x->mu);
        if (x->h_stop)
            break;
        struct seal_job *job = x->h_job;
        size_t k = x->h_next++;
        pthread_mutex_unlock(&x->mu);
        indexer_chunk(&job->ch[k], &x->hrecs, &x->cap_hrecs, x->frame_size);
        pthread_mutex_lock(&x->mu);
        x->h_done[k] = 1;
        pthread_cond_broadcast(&x->hcv);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

/* Gathers the token set of each of job's blocks and, with a map (m),
 * adds it to m right away, numbered from base over the blocks is_ix
 * (not is_bad when the job started), after marking m; one block at a
 * time under ix_mu, so a cursor's lookup waits for one block's keys at
 * most. */
static void
indexer_job(struct store_indexer *x, struct seal_job *job,
            struct index_mem *m, uint32_t base)
{
    uint32_t blk = base;
    int is_h = x->has_helper && job->n_ch > 1;

    if (m) {
        pthread_mutex_lock(x->ix_mu);
        index_mem_mark(m);
        pthread_mutex_unlock(x->ix_mu);
    }
    if (is_h) {                 /* the helper takes blocks from here on */
        pthread_mutex_lock(&x->mu);
        if (job->n_ch > x->cap_done) {
            x->h_done = xreallocarray(x->h_done, job->n_ch, 1);
            x->cap_done = job->n_ch;
        }
        memset(x->h_done, 0, job->n_ch);
        x->h_job = job;
        x->h_next = 0;
        pthread_cond_broadcast(&x->hcv);
        pthread_mutex_unlock(&x->mu);
    }
    for (size_t i = 0; i < job->n_ch; i++) {
        if (is_h)
            indexer_take(x, job, i);
        else
            indexer_chunk(&job->ch[i], &x->recs, &x->cap_recs,
                          x->frame_size);
        if (!m || !job->ch[i].is_ix)
            continue;
        pthread_mutex_lock(x->ix_mu);
        index_mem_add_set(m, blk++, &job->ch[i].set);
        pthread_mutex_unlock(x->ix_mu);
    }
    if (is_h) {                 /* every block's set is in: none taken */
        pthread_mutex_lock(&x->mu);
        x->h_job = NULL;
        pthread_mutex_unlock(&x->mu);
    }
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
        struct index_mem *m = x->add_m;
        uint32_t base = x->add_base;
        pthread_mutex_unlock(&x->mu);
        indexer_job(x, job, m, base);
        pthread_mutex_lock(&x->mu);
        x->is_added = m != NULL;
        x->job_in = NULL;
        pthread_cond_broadcast(&x->cv);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

int
indexer_start(struct store_indexer *x, int has_helper)
{
    if (pthread_mutex_init(&x->mu, NULL) != 0)
        return -1;
    if (pthread_cond_init(&x->cv, NULL) != 0) {
        pthread_mutex_destroy(&x->mu);
        return -1;
    }
    if (pthread_cond_init(&x->hcv, NULL) != 0) {
        pthread_cond_destroy(&x->cv);
        pthread_mutex_destroy(&x->mu);
        return -1;
    }
    int rc = pthread_create(&x->th, NULL, indexer_main, x);
    if (rc != 0) {
        pthread_cond_destroy(&x->hcv);
        pthread_cond_destroy(&x->cv);
        pthread_mutex_destroy(&x->mu);
        errno = rc;
        return -1;
    }
    x->is_started = 1;
    /* without the helper (none could be started) the thread works alone */
    if (has_helper &&
        pthread_create(&x->hth, NULL, indexer_helper_main, x) == 0)
        x->has_helper = 1;
    return 0;
}

void
indexer_stop(struct store_indexer *x)
{
    if (x->is_started) {
        pthread_mutex_lock(&x->mu);
        x->is_stop = 1;
        x->h_stop = 1;
        pthread_cond_broadcast(&x->cv);
        pthread_cond_broadcast(&x->hcv);
        pthread_mutex_unlock(&x->mu);
        pthread_join(x->th, NULL);
        if (x->has_helper)
            pthread_join(x->hth, NULL);
        x->has_helper = 0;
        pthread_cond_destroy(&x->hcv);
        pthread_cond_destroy(&x->cv);
        pthread_mutex_destroy(&x->mu);
        x->is_started = 0;
    }
    free(x->recs);
    x->recs = NULL;
    x->cap_recs = 0;
    free(x->hrecs);
    x->hrecs = NULL;
    x->cap_hrecs = 0;
    free(x->h_done);
    x->h_done = NULL;
    x->cap_done = 0;
}

void
indexer_submit(struct store_indexer *x, struct seal_job *job,
               struct index_mem *m, uint32_t base)
{
    if (!x->is_started) {
        x->job_inline = job;
        x->add_m = m;
        x->add_base = base;
        return;
    }
    pthread_mutex_lock(&x->mu);
    x->job_in = job;
    x->add_m = m;
    x->add_base = base;
    x->is_added = 0;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

int
indexer_wait(struct store_indexer *x)
{
    int is_added;

    if (!x->is_started) {
        struct seal_job *job = x->job_inline;
        is_added = job && x->add_m;
        if (job)
            indexer_job(x, job, x->add_m, x->add_base);
        x->job_inline = NULL;   /* a second wait adds nothing */
        x->add_m = NULL;
        return is_added;
    }
    pthread_mutex_lock(&x->mu);
    while (x->job_in)
        pthread_cond_wait(&x->cv, &x->mu);
    is_added = x->is_added;
    x->is_added = 0;            /* a second wait: nothing to keep */
    pthread_mutex_unlock(&x->mu);
    return is_added;
}
