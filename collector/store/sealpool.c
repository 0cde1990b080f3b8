/* SPDX-License-Identifier: MIT */
/*
 * sealpool: the sealing thread's compression helpers (STORE.md "Threads").
 * A codec 6 to 8 block is a run of zstd frames of about frame_size raw bytes,
 * each of which decodes without any other (STORE.md "Frames"), so the
 * frames of a seal job are compressed by the sealing thread and up to
 * STORE_SEAL_MAX_THREADS - 1 helpers (`lq-zstd`) at once: the sealing
 * thread decodes the job's blocks, their records grouped by source
 * (block_seal_decode, as chunk_encode and the token sets order them),
 * and cuts them into frames where block_frames_encode cuts them
 * (block_frame_end), then every thread
 * takes the next frame in order, encodes its columns and compresses it
 * into its own arena (its own ZSTD_CCtx: common/compress.c keeps one per
 * thread), and the sealing thread, once every frame is done, puts each
 * block together in frame order: the frame table, the receive-time range,
 * the frames and the header. A frame's bytes depend on its records and the
 * level only, so each block is byte for byte the one block_frames_encode
 * builds on one thread (sealpool_test, with failed writes and quarantined
 * blocks). Bounded: the helpers take frames of the one job in flight; a
 * job's frames, its decoded records and the arenas (about the job's
 * compressed bytes in all) are held until the next job reuses them.
 *
 * The helpers also run one other task at a time for the sealing thread
 * (sealpool_bg_submit: a full segment's .lqi written while the sealing
 * thread syncs the segment, segindex.c), once no frame is left to take.
 *
 * Shared state is under pool.mu: the published task count n_t, next,
 * n_done, is_stop and the bg_* fields (the task array is written by the sealing thread
 * only while no task is published and undone);
 * a task's fields and an arena are written by the thread that took the
 * task (arena k: thread k only) and read by the sealing thread once
 * n_done says every task is done; the job's records are written by the
 * sealing thread before it publishes the tasks and only read meanwhile.
 */
#include "collector/store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/compress.h"
#include "common/xmalloc.h"

/* A compressed frame is at most this much longer than its raw bytes (at
 * least ZSTD_compressBound's margin, so block_frame_compress writes straight into
 * the arena). */
#define SEALPOOL_SLACK(n) ((n) / 128 + 1024)
#define SEALPOOL_ARENA_MAX ((size_t)1 << 31)

/* Compresses task t's records into arena a (arena index ai). */
static void
sealpool_run(const struct seal_pool *p, struct seal_arena *a, uint32_t ai,
             struct seal_ftask *t)
{
    const struct store_rec *r = p->recs[t->ch] + t->i;
    uint32_t n = t->j - t->i;
    int64_t mn = INT64_MAX, mx = INT64_MIN;

    for (uint32_t k = 0; k < n; k++) {
        if (r[k].time_ns < mn)
            mn = r[k].time_ns;
        if (r[k].time_ns > mx)
            mx = r[k].time_ns;
    }
    t->rc = -1;
    t->arena = ai;
    t->off = a->out.len;
    buf_reset(&a->cols);
    if (buf_put_varint(&a->cols, n) < 0 ||
        block_cols_encode(&a->cols, store_codec_frame_body(p->codec), r, n,
                          p->n_labels[t->ch]) < 0 ||
        buf_reserve(&a->out, a->cols.len + SEALPOOL_SLACK(a->cols.len)) < 0 ||
        block_frame_compress(&a->out, a->cols.data, a->cols.len, p->codec,
                             p->level) < 0)
        return;
    t->len = a->out.len - t->off;
    t->raw_len = (uint32_t)a->cols.len;
    t->crc = compress_crc32(0, a->out.data + t->off, t->len);
    t->min_ns = mn;
    t->max_ns = mx;
    t->rc = 0;
}

/* Takes and runs tasks until none is left to take; returns with mu held.
 * The sealing thread is arena 0, helper k arena k. */
static void
sealpool_take(struct seal_pool *p, uint32_t ai)
{
    while (p->next < p->n_t) {
        struct seal_ftask *t = &p->t[p->next++];
        pthread_mutex_unlock(&p->mu);
        sealpool_run(p, &p->ar[ai], ai, t);
        pthread_mutex_lock(&p->mu);
        if (++p->n_done == p->n_t)
            pthread_cond_broadcast(&p->cv_done);
    }
}

struct sealpool_arg {
    struct seal_pool *p;
    uint32_t          ai;
};

static void *
sealpool_main(void *arg)
{
    struct seal_pool *p = ((struct sealpool_arg *)arg)->p;
    uint32_t ai = ((struct sealpool_arg *)arg)->ai;

    free(arg);
    (void)pthread_setname_np(pthread_self(), "lq-zstd"); /* top -H */
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->is_stop && p->next == p->n_t &&
               p->bg_state != SEALPOOL_BG_QUEUED)
            pthread_cond_wait(&p->cv_work, &p->mu);
        if (p->is_stop)
            break;
        sealpool_take(p, ai);
        if (p->bg_state == SEALPOOL_BG_QUEUED) {
            p->bg_state = SEALPOOL_BG_RUNNING;
            pthread_mutex_unlock(&p->mu);
            int rc = p->bg_fn(p->bg_arg);
            pthread_mutex_lock(&p->mu);
            p->bg_rc = rc;
            p->bg_state = SEALPOOL_BG_DONE;
            pthread_cond_broadcast(&p->cv_done);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int
sealpool_start(struct seal_pool *p, int n_threads)
{
    if (n_threads > STORE_SEAL_MAX_THREADS)
        n_threads = STORE_SEAL_MAX_THREADS;
    for (int k = 0; k < STORE_SEAL_MAX_THREADS; k++) {
        buf_init(&p->ar[k].out, SEALPOOL_ARENA_MAX);
        buf_init(&p->ar[k].cols, STORE_MAX_RAW + 65536);
    }
    buf_init(&p->table, STORE_MAX_META);
    p->is_init = 1;
    if (n_threads <= 1)
        return 0;               /* the sealing thread alone: serial */
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        return -1;
    if (pthread_cond_init(&p->cv_work, NULL) != 0 ||
        pthread_cond_init(&p->cv_done, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return -1;
    }
    p->is_sync = 1;
    for (int k = 1; k < n_threads; k++) {
        struct sealpool_arg *a = xmalloc(sizeof(*a));
        a->p = p;
        a->ai = (uint32_t)k;
        int rc = pthread_create(&p->th[p->n_threads], NULL, sealpool_main, a);
        if (rc != 0) {
            free(a);
            errno = rc;
            return p->n_threads > 0 ? 0 : -1;   /* fewer helpers */
        }
        p->n_threads++;
    }
    return 0;
}

void
sealpool_stop(struct seal_pool *p)
{
    if (p->is_sync) {
        pthread_mutex_lock(&p->mu);
        p->is_stop = 1;
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
        for (int k = 0; k < p->n_threads; k++)
            pthread_join(p->th[k], NULL);
        pthread_cond_destroy(&p->cv_work);
        pthread_cond_destroy(&p->cv_done);
        pthread_mutex_destroy(&p->mu);
        p->is_sync = 0;
        p->n_threads = 0;
    }
    if (p->is_init) {
        for (int k = 0; k < STORE_SEAL_MAX_THREADS; k++) {
            buf_fini(&p->ar[k].out);
            buf_fini(&p->ar[k].cols);
        }
        buf_fini(&p->table);
        p->is_init = 0;
    }
    for (size_t i = 0; i < p->cap_ch; i++)
        free(p->recs[i]);
    free(p->recs);
    free(p->cap_recs);
    free(p->n_labels);
    free(p->t);
    free(p->first);
    memset(p, 0, sizeof(*p));
}

static void
sealpool_add_task(struct seal_pool *p, uint32_t ch, uint32_t i, uint32_t j)
{
    if (p->n_plan == p->cap_t) {
        p->cap_t = p->cap_t ? p->cap_t * 2 : 64;
        p->t = xreallocarray(p->t, p->cap_t, sizeof(*p->t));
    }
    p->t[p->n_plan++] = (struct seal_ftask){ .ch = ch, .i = i, .j = j };
}

/* Decodes job's blocks not is_bad (or takes the records lq-tailset
 * decoded while the block waited: tailset_take_recs) and cuts them into
 * tasks (a block that does not decode becomes is_bad, as chunk_encode
 * makes it). */
static void
sealpool_plan(struct seal_pool *p, struct seal_job *job, size_t frame_size)
{
    if (job->n_ch > p->cap_ch) {
        p->recs = xreallocarray(p->recs, job->n_ch, sizeof(*p->recs));
        p->cap_recs = xreallocarray(p->cap_recs, job->n_ch,
                                    sizeof(*p->cap_recs));
        for (size_t i = p->cap_ch; i < job->n_ch; i++) {
            p->recs[i] = NULL;
            p->cap_recs[i] = 0;
        }
        p->n_labels = xreallocarray(p->n_labels, job->n_ch,
                                    sizeof(*p->n_labels));
        p->first = xreallocarray(p->first, job->n_ch + 1, sizeof(*p->first));
        p->cap_ch = job->n_ch;
    }
    p->n_plan = 0;
    for (size_t c = 0; c < job->n_ch; c++) {
        struct seal_chunk *ch = &job->ch[c];
        uint32_t n = ch->n_records;
        p->first[c] = p->n_plan;
        p->n_labels[c] = ch->n_labels;
        if (ch->is_bad)
            continue;
        if (!tailset_take_recs(ch, &p->recs[c], &p->cap_recs[c]) &&
            block_seal_decode(ch->body.data, ch->body.len, n, ch->n_labels,
                              &p->recs[c], &p->cap_recs[c]) < 0) {
            ch->is_bad = 1;
            continue;
        }
        for (uint32_t i = 0; i < n;) {
            uint32_t j = block_frame_end(p->recs[c], i, n, frame_size);
            sealpool_add_task(p, (uint32_t)c, i, j);
            i = j;
        }
    }
    p->first[job->n_ch] = p->n_plan;
}

/* Puts block c of job together from its tasks [t0, t1) (what
 * chunk_encode does with block_frames_encode's output); -1 where that
 * fails. */
static int
sealpool_assemble(struct seal_pool *p, struct seal_chunk *ch, uint32_t c,
                  size_t t0, size_t t1, uint32_t codec)
{
    struct buf *b = &ch->blk;
    uint64_t raw = 0, comp = 0;

    b->len = STORE_BLK_HDR_LEN + ch->meta_len;  /* a retry starts over */
    buf_reset(&p->table);
    for (size_t k = t0; k < t1; k++) {
        const struct seal_ftask *t = &p->t[k];
        uint8_t c4[4];
        int64_t d = (int64_t)((uint64_t)t->min_ns - (uint64_t)ch->min_ns);
        if (t->rc < 0)
            return -1;
        le32_store(c4, t->crc);
        if (buf_put_varint(&p->table, t->j - t->i) < 0 ||
            buf_put_varint(&p->table, t->len) < 0 ||
            buf_put_varint(&p->table, t->raw_len) < 0 ||
            buf_append(&p->table, c4, 4) < 0 ||
            buf_put_varint(&p->table, ((uint64_t)d << 1) ^
                                      (uint64_t)(d >> 63)) < 0 ||
            buf_put_varint(&p->table, (uint64_t)t->max_ns -
                                      (uint64_t)t->min_ns) < 0)
            return -1;
        raw += t->raw_len;
        comp += t->len;
    }
    if (raw > STORE_MAX_RAW || comp > STORE_MAX_RAW + 65536 ||
        buf_put_varint(b, t1 - t0) < 0 ||
        buf_append(b, p->table.data, p->table.len) < 0 ||
        (store_codec_has_recv_range(codec) &&
         block_recv_encode(b, p->recs[c], ch->n_records) < 0) ||
        b->len - STORE_BLK_HDR_LEN > STORE_MAX_META)
        return -1;
    size_t meta_len = b->len - STORE_BLK_HDR_LEN;
    if (buf_reserve(b, (size_t)comp) < 0)      /* once, not by doubling */
        return -1;
    for (size_t k = t0; k < t1; k++) {
        const struct seal_ftask *t = &p->t[k];
        if (buf_append(b, p->ar[t->arena].out.data + t->off, t->len) < 0)
            return -1;
    }
    seal_chunk_header(ch, codec, meta_len, (uint32_t)raw);
    return 0;
}

void
sealpool_build(struct seal_pool *p, struct seal_job *job, size_t frame_size,
               int level, uint32_t codec)
{
    for (int k = 0; k < STORE_SEAL_MAX_THREADS; k++)
        buf_reset(&p->ar[k].out);       /* the helpers are idle */
    p->level = level;
    p->codec = codec;
    sealpool_plan(p, job, frame_size);
    if (p->is_sync) {
        pthread_mutex_lock(&p->mu);
        p->n_t = p->n_plan;     /* published: the helpers take from it */
        p->next = 0;
        p->n_done = 0;
        pthread_cond_broadcast(&p->cv_work);
        sealpool_take(p, 0);
        while (p->n_done < p->n_t)
            pthread_cond_wait(&p->cv_done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    } else {
        for (size_t k = 0; k < p->n_plan; k++)
            sealpool_run(p, &p->ar[0], 0, &p->t[k]);
    }
    for (size_t c = 0; c < job->n_ch; c++) {
        struct seal_chunk *ch = &job->ch[c];
        if (!ch->is_bad &&
            sealpool_assemble(p, ch, (uint32_t)c, p->first[c],
                              p->first[c + 1], codec) < 0)
            ch->is_bad = 1;             /* quarantined by sealer_finish */
    }
}

void
sealpool_bg_submit(struct seal_pool *p, int (*fn)(void *), void *arg)
{
    if (!p->is_sync) {
        p->bg_rc = fn(arg);     /* no helper: here and now */
        p->bg_state = SEALPOOL_BG_DONE;
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->bg_fn = fn;
    p->bg_arg = arg;
    p->bg_state = SEALPOOL_BG_QUEUED;
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
}

int
sealpool_bg_wait(struct seal_pool *p)
{
    int rc;

    if (!p->is_sync) {
        p->bg_state = SEALPOOL_BG_NONE;
        return p->bg_rc;
    }
    pthread_mutex_lock(&p->mu);
    while (p->bg_state != SEALPOOL_BG_DONE)
        pthread_cond_wait(&p->cv_done, &p->mu);
    rc = p->bg_rc;
    p->bg_state = SEALPOOL_BG_NONE;
    pthread_mutex_unlock(&p->mu);
    return rc;
}
