/* SPDX-License-Identifier: MIT */
/*
 * compressor: finishes BATCH frames (wire_batch_enc_finish_codec: payload
 * assembly, zstd or zlib, crc) on a small pool of worker threads, so the
 * event loop goes on reading and parsing while they run (deflate at level
 * 1 was ~75% of the shipper's cycles, all on the loop thread). Workers take jobs
 * in submission order; with more than one they may finish out of order:
 * putting frames back in order is the owner's job (sender_flow.c sends by seq).
 * Renumbering a frame already made, or re-encoding it with the other codec
 * (a resend after a reconnect: decompress, patch the seq, compress) is a
 * job too, so it does not stall the loop.
 * Finished jobs come back on the loop thread through a pipe watched by a
 * libevent event, so the done callback runs like any other callback. With
 * 0 threads a job runs inside compressor_submit. Workers touch only their
 * job (its encoder and output buf) and the compressor's lists, under its
 * mutex: never libevent, never the sender.
 */
#ifndef SHIPPER_COMPRESSOR_H
#define SHIPPER_COMPRESSOR_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/wire.h"

#define COMPRESSOR_MAX_THREADS 16

enum compressor_kind {
    COMPRESSOR_BATCH,               /* enc -> a BATCH frame */
    COMPRESSOR_RESEQ,               /* frame -> the same frame with seq,
                                     * compressed as codec says */
};

/* One frame to make. The owner fills the fields up to arg and keeps the
 * job, enc or frame, and out alive and untouched until the done callback. */
struct compressor_job {
    enum compressor_kind   kind;
    struct wire_batch_enc *enc;     /* BATCH: records to send; not reset */
    const struct buf      *frame;   /* RESEQ: a BATCH or METRICS frame */
    uint64_t               seq;
    struct wire_codec      codec;
    struct buf            *out;     /* the frame is appended */
    void                  *arg;     /* the owner's */
    int                    rc;      /* set before done: 0, or -1 (encode) */
    struct compressor_job *next;    /* compressor-private */
};

/* Called on the loop thread with each finished job (it may submit more). */
typedef void (*compressor_done_fn)(void *arg, struct compressor_job *job);

/* n_threads 0..COMPRESSOR_MAX_THREADS; NULL if a thread, the pipe or the
 * event cannot be created. */
struct compressor *compressor_new(struct event_base *base, int n_threads,
                                  compressor_done_fn done, void *arg);
/* Stops and joins the workers: a job being compressed is finished, queued
 * and finished-but-undelivered ones are dropped without a callback (their
 * memory stays the owner's). NULL is a no-op. */
void compressor_free(struct compressor *c);
/* Queues job; with 0 threads runs it and calls done before returning. */
void compressor_submit(struct compressor *c, struct compressor_job *job);
/* Jobs submitted whose done callback has not run yet. */
size_t compressor_pending(const struct compressor *c);

/*
 * Appends to out the frame[0..len) (one whole frame whose plain payload
 * starts with its u64 seq) re-encoded to carry seq, compressed as codec
 * says (whatever it was before); the plain payload goes through scratch.
 * -1 if it does not decode (not one of ours) or out is full; *errstr is
 * then set. What a RESEQ job runs.
 */
int compressor_reseq(const uint8_t *frame, size_t len, uint64_t seq,
                     const struct wire_codec *codec, struct buf *scratch,
                     struct buf *out, const char **errstr);

#endif
