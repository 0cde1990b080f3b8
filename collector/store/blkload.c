/* SPDX-License-Identifier: MIT */
/*
 * blkload: reading one segment block for a cursor (pread, body CRC,
 * decompress, decode the records, mark those holding every required
 * token), either on the caller's thread or ahead of time on a helper
 * thread, so that a long scan decompresses block k+1 on the second core
 * while the caller filters and prints block k. A request carries a copy
 * of the block's directory entry and the tokens are fixed at creation, so
 * the helper never touches the store; the cursor re-checks the segment
 * and marks damage on its own thread. One request in flight at a time.
 */
#include "collector/store/store_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmalloc.h"

void
blkload_init(struct blk_load *ld)
{
    memset(ld, 0, sizeof(*ld));
    buf_init(&ld->comp, STORE_MAX_RAW + 65536);
    buf_init(&ld->raw, STORE_MAX_RAW);
}

void
blkload_fini(struct blk_load *ld)
{
    buf_fini(&ld->comp);
    buf_fini(&ld->raw);
    free(ld->recs);
    free(ld->keep);
}

void
blkload_keep(struct blk_load *ld, uint32_t codec, uint32_t n,
             const struct scan_tok *toks, size_t n_toks)
{
    size_t k = 0;

    if (ld->cap_keep < n) {
        ld->keep = xreallocarray(ld->keep, n, 1);
        ld->cap_keep = n;
    }
    if (n == 0)
        return;
    memset(ld->keep, 0, n);
    if (store_codec_is_cols(codec)) {
        scan_column(&toks[0], ld->recs, n, ld->keep);
        k = 1;
    } else {
        memset(ld->keep, 1, n);
    }
    for (uint32_t i = 0; i < n; i++)
        for (size_t t = k; t < n_toks && ld->keep[i]; t++)
            ld->keep[i] = (uint8_t)scan_has(&toks[t], ld->recs[i].msg,
                                            ld->recs[i].msg_len);
}

/* Opens segment seq on *fd (cached by *fd_seq). */
static int
blkload_open(const char *dir, int *fd, uint64_t *fd_seq, uint64_t seq)
{
    if (*fd >= 0 && *fd_seq == seq)
        return 0;
    if (*fd >= 0)
        close(*fd);
    char *path = xasprintf("%s/seg-%016llx.lqs", dir,
                           (unsigned long long)seq);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    *fd_seq = seq;
    return *fd < 0 ? -1 : 0;
}

/* Loads rq into ld using the fd cache (*fd, *fd_seq). */
static void
blkload_do(const struct blk_loader *lr, int *fd, uint64_t *fd_seq,
           const struct blk_req *rq, struct blk_load *ld)
{
    const struct store_blk *b = &rq->b;

    ld->seq = rq->seq;
    ld->blk = rq->blk;
    ld->rc = 0;
    if (blkload_open(lr->dir, fd, fd_seq, rq->seq) < 0)
        return;                 /* gone (retention) */
    ld->rc = -1;
    if (segment_read_body(*fd, b, &ld->comp) < 0 ||
        segment_unpack(b, &ld->comp, &ld->raw) < 0 ||
        block_decode(b->codec, ld->raw.data, ld->raw.len, b->n_records,
                     b->n_labels, &ld->recs, &ld->cap_recs) < 0)
        return;
    if (lr->n_toks > 0)
        blkload_keep(ld, b->codec, b->n_records, lr->toks, lr->n_toks);
    ld->rc = 1;
}

void
blkload_run(struct blk_loader *lr, const struct blk_req *rq,
            struct blk_load *ld)
{
    blkload_do(lr, &lr->fd, &lr->fd_seq, rq, ld);
}

/* ------------------------------------------------------------------ */
/* The helper thread                                                   */

static void *
blkload_main(void *arg)
{
    struct blk_loader *lr = arg;

    pthread_mutex_lock(&lr->mu);
    for (;;) {
        while (!lr->has_req && !lr->is_stop)
            pthread_cond_wait(&lr->cv, &lr->mu);
        if (!lr->has_req)
            break;
        struct blk_req rq = lr->req;
        struct blk_load *out = lr->out;
        pthread_mutex_unlock(&lr->mu);
        blkload_do(lr, &lr->hfd, &lr->hfd_seq, &rq, out);
        pthread_mutex_lock(&lr->mu);
        lr->has_req = 0;
        lr->is_done = 1;
        pthread_cond_broadcast(&lr->cv);
    }
    pthread_mutex_unlock(&lr->mu);
    return NULL;
}

void
blkload_loader_init(struct blk_loader *lr, const char *dir,
                    const struct scan_tok *toks, size_t n_toks)
{
    memset(lr, 0, sizeof(*lr));
    lr->dir = dir;
    lr->toks = toks;
    lr->n_toks = n_toks;
    lr->fd = lr->hfd = -1;
}

int
blkload_start(struct blk_loader *lr)
{
    if (lr->is_started)
        return 0;
    if (pthread_mutex_init(&lr->mu, NULL) != 0)
        return -1;
    if (pthread_cond_init(&lr->cv, NULL) != 0) {
        pthread_mutex_destroy(&lr->mu);
        return -1;
    }
    if (pthread_create(&lr->th, NULL, blkload_main, lr) != 0) {
        pthread_cond_destroy(&lr->cv);
        pthread_mutex_destroy(&lr->mu);
        return -1;
    }
    lr->is_started = 1;
    return 0;
}

void
blkload_submit(struct blk_loader *lr, const struct blk_req *rq,
               struct blk_load *out)
{
    pthread_mutex_lock(&lr->mu);
    lr->req = *rq;
    lr->out = out;
    lr->has_req = 1;
    lr->is_done = 0;
    lr->is_busy = 1;
    pthread_cond_broadcast(&lr->cv);
    pthread_mutex_unlock(&lr->mu);
}

void
blkload_wait(struct blk_loader *lr)
{
    if (!lr->is_busy)
        return;
    pthread_mutex_lock(&lr->mu);
    while (!lr->is_done)
        pthread_cond_wait(&lr->cv, &lr->mu);
    pthread_mutex_unlock(&lr->mu);
    lr->is_busy = 0;
}

void
blkload_loader_fini(struct blk_loader *lr)
{
    if (lr->is_started) {
        blkload_wait(lr);
        pthread_mutex_lock(&lr->mu);
        lr->is_stop = 1;
        pthread_cond_broadcast(&lr->cv);
        pthread_mutex_unlock(&lr->mu);
        pthread_join(lr->th, NULL);
        pthread_cond_destroy(&lr->cv);
        pthread_mutex_destroy(&lr->mu);
        lr->is_started = 0;
    }
    if (lr->fd >= 0)
        close(lr->fd);
    if (lr->hfd >= 0)
        close(lr->hfd);
    lr->fd = lr->hfd = -1;
}
