/* SPDX-License-Identifier: MIT */
/*
 * wire_reader: the frame reader (wire.h): bytes in as they arrive, whole
 * frames out, every header field checked as soon as the header is there
 * (a too-large length refused before its payload is buffered), so a peer
 * can make the owner hold at most one frame under the maximum it sets.
 * The one place a byte stream becomes frames, for ingest and the sender.
 */
#include "common/wire.h"

#include <stdlib.h>
#include <string.h>

#include "common/wire_internal.h"

/* A reader's buffer larger than this is freed whenever it runs empty, so
 * an idle connection keeps no large allocation after a large frame. */
#define WIRE_READER_KEEP    (64u << 10)

int
wire_reader_bad_version(const struct wire_reader *r)
{
    if (r->err != WIRE_RD_BAD_VERSION || r->in.len - r->pos < 3)
        return -1;
    return r->in.data[r->pos + 2];
}

void
wire_reader_init(struct wire_reader *r, size_t max_payload)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->in, 0);
    wire_reader_set_max(r, max_payload);
}

void
wire_reader_fini(struct wire_reader *r)
{
    buf_fini(&r->in);
    r->pos = 0;
}

void
wire_reader_set_max(struct wire_reader *r, size_t max_payload)
{
    if (max_payload > WIRE_MAX_PAYLOAD)
        max_payload = WIRE_MAX_PAYLOAD;
    r->max_payload = max_payload;
    r->in.max = WIRE_HEADER_LEN + max_payload;
}

size_t
wire_reader_buffered(const struct wire_reader *r)
{
    return r->in.len - r->pos;
}

size_t
wire_reader_room(const struct wire_reader *r)
{
    size_t have = wire_reader_buffered(r);

    if (r->err != WIRE_RD_OK || have >= r->in.max)
        return 0;
    return r->in.max - have;
}

enum wire_rd
wire_reader_feed(struct wire_reader *r, const void *p, size_t len)
{
    if (r->err != WIRE_RD_OK)
        return r->err;
    if (len == 0)
        return WIRE_RD_OK;
    if (len > wire_reader_room(r))
        return r->err = WIRE_RD_OVERFLOW;
    if (r->pos > 0) {           /* move the unread tail to the front */
        buf_consume(&r->in, r->pos);
        r->pos = 0;
    }
    /* room() was checked against max, so this append cannot fail */
    if (buf_append(&r->in, p, len) < 0)
        return r->err = WIRE_RD_OVERFLOW;
    return WIRE_RD_OK;
}

enum wire_rd
wire_reader_next(struct wire_reader *r, struct wire_frame *f)
{
    if (r->err != WIRE_RD_OK)
        return r->err;
    if (r->pos == r->in.len) {
        if (r->in.cap > WIRE_READER_KEEP) {
            size_t max = r->in.max;
            buf_fini(&r->in);
            buf_init(&r->in, max);
        }
        r->in.len = 0;
        r->pos = 0;
        return WIRE_RD_NEED_MORE;
    }
    enum wire_rd rc = wire_frame_check(r->in.data + r->pos,
                                       r->in.len - r->pos, r->max_payload, f);
    if (rc == WIRE_RD_OK)
        r->pos += WIRE_HEADER_LEN + f->len;
    else if (rc != WIRE_RD_NEED_MORE)
        r->err = rc;
    return rc;
}
