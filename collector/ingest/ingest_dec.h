/* SPDX-License-Identifier: MIT */
/*
 * ingest_dec: one shipper data frame (BATCH or METRICS, common/PROTOCOL.md)
 * decoded off the event loop: ingest_jobs.c copies the frame's payload in
 * on the loop (ingest_dec_set), a worker of the ingest's decoding pool
 * inflates it and, for a BATCH, decodes and validates every record
 * (ingest_dec_run), and the loop then stores the records in frame order
 * (ingest_batch.c; ingest.c "Decoding off the loop"). The result is
 * exactly what the loop computed inline before: ingest_dec_test checks it
 * byte for byte against wire_frame_payload + wire_batch_decode on every
 * frame it builds.
 *
 * Threads: set and release on the owner thread, run on one worker at a
 * time; the struct is the owner's again once the pool hands it back.
 */
#ifndef COLLECTOR_INGEST_DEC_H
#define COLLECTOR_INGEST_DEC_H

#include <stddef.h>
#include <stdint.h>

#include "collector/search/pool.h"
#include "common/buf.h"
#include "common/wire.h"

enum ingest_dec_rc {
    INGEST_DEC_OK = 0,
    INGEST_DEC_BAD_PAYLOAD,     /* flags, zlib stream or zstd frame: err */
    INGEST_DEC_BAD_BATCH,       /* wire_batch_decode refused it: err */
};

struct ingest_dec {
    struct pool_job     pj;         /* pj.arg: the owner's */
    /* in (ingest_dec_set) */
    uint16_t            type;
    uint8_t             flags;
    struct buf          in;         /* the payload as received */
    /* out (ingest_dec_run) */
    struct buf          out;        /* decompressed (zlib or zstd) */
    const uint8_t      *p;          /* the payload: into in or out */
    size_t              len;
    enum ingest_dec_rc  rc;
    const char         *err;        /* static string */
    struct wire_batch   batch;      /* BATCH and rc OK: decoded */
    int                 has_batch;
};

void ingest_dec_init(struct ingest_dec *d);
void ingest_dec_fini(struct ingest_dec *d);
/* Copies f's type, flags and payload (f->len <= WIRE_MAX_PAYLOAD). */
int  ingest_dec_set(struct ingest_dec *d, const struct wire_frame *f);
/* Inflates and decodes: any thread, touches only d. */
void ingest_dec_run(struct ingest_dec *d);
/* Frees the decoded batch; d can be set again. Keeps the buffers. */
void ingest_dec_release(struct ingest_dec *d);

#endif
