/* SPDX-License-Identifier: MIT */
/*
 * ingest_dec: a data frame's inflate and batch decode, for a worker thread
 * (see ingest_dec.h).
 */
#include "collector/ingest/ingest_dec.h"

#include <string.h>

void
ingest_dec_init(struct ingest_dec *d)
{
    memset(d, 0, sizeof(*d));
    buf_init(&d->in, WIRE_MAX_PAYLOAD);
    buf_init(&d->out, WIRE_MAX_INFLATED);
}

void
ingest_dec_fini(struct ingest_dec *d)
{
    ingest_dec_release(d);
    buf_fini(&d->in);
    buf_fini(&d->out);
}

int
ingest_dec_set(struct ingest_dec *d, const struct wire_frame *f)
{
    ingest_dec_release(d);
    buf_reset(&d->in);
    d->type = f->type;
    d->flags = f->flags;
    return buf_append(&d->in, f->payload, f->len);
}

void
ingest_dec_run(struct ingest_dec *d)
{
    struct wire_frame f = {
        .version = WIRE_VERSION, .flags = d->flags, .type = d->type,
        .payload = d->in.data, .len = d->in.len,
    };

    d->err = NULL;
    d->rc = INGEST_DEC_OK;
    if (wire_frame_payload(&f, &d->out, &d->p, &d->len, &d->err) < 0) {
        d->rc = INGEST_DEC_BAD_PAYLOAD;
        return;
    }
    if (d->type != WIRE_BATCH)
        return;
    if (wire_batch_decode(d->p, d->len, &d->batch, &d->err) < 0) {
        d->rc = INGEST_DEC_BAD_BATCH;
        return;
    }
    d->has_batch = 1;
}

void
ingest_dec_release(struct ingest_dec *d)
{
    if (d->has_batch)
        wire_batch_fini(&d->batch);
    d->has_batch = 0;
    d->p = NULL;
    d->len = 0;
}
