/* SPDX-License-Identifier: MIT */
/*
 * buf: a growable byte buffer with a hard cap set at init. Appends that would
 * pass the cap fail (return -1) and leave the buffer unchanged, so callers
 * turn "full" into backpressure or a counted drop. Also little-endian and
 * varint put helpers used by the wire and store encoders.
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
    uint8_t *data;
    size_t   len;
    size_t   cap;      /* allocated */
    size_t   max;      /* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
void buf_fini(struct buf *b);
void buf_reset(struct buf *b);
/* Ensures room for n more bytes; -1 if len + n would pass max. */
int  buf_reserve(struct buf *b, size_t n);
int  buf_append(struct buf *b, const void *p, size_t n);
int  buf_put_u8(struct buf *b, uint8_t v);
int  buf_put_u16(struct buf *b, uint16_t v);
int  buf_put_u32(struct buf *b, uint32_t v);
int  buf_put_u64(struct buf *b, uint64_t v);
/* Unsigned LEB128 varint (at most 10 bytes). */
int  buf_put_varint(struct buf *b, uint64_t v);
/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Little-endian load/store on raw memory (no alignment assumed). */
static inline uint16_t
le16_load(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
le32_load(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t
le64_load(const uint8_t *p)
{
    return (uint64_t)le32_load(p) | ((uint64_t)le32_load(p + 4) << 32);
}

/* Stores as one memcpy of the value where the host is little-endian:
 * gcc kept the byte loops below as loops in places (40 instructions for
 * a u64; four stores a record in the shipper's batch encoder, BENCHMARKS.md
 * "The shipper's CPU"). The same bytes either way. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BUF_LE_HOST 1
#else
#define BUF_LE_HOST 0
#endif

static inline void
le16_store(uint8_t *p, uint16_t v)
{
    if (BUF_LE_HOST) {
        memcpy(p, &v, 2);
        return;
    }
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void
le32_store(uint8_t *p, uint32_t v)
{
    if (BUF_LE_HOST) {
        memcpy(p, &v, 4);
        return;
    }
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
le64_store(uint8_t *p, uint64_t v)
{
    if (BUF_LE_HOST) {
        memcpy(p, &v, 8);
        return;
    }
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * Bounds-checked reader over borrowed memory. Every get fails (returns -1)
 * once the input is exhausted, and stays failed: decoders check r.err once
 * at the end of a structure instead of after each field.
 */
struct reader {
    const uint8_t *p;
    size_t         len;
    size_t         pos;
    int            err;
};

void reader_init(struct reader *r, const void *p, size_t len);
int  reader_u8(struct reader *r, uint8_t *v);
int  reader_u16(struct reader *r, uint16_t *v);
int  reader_u32(struct reader *r, uint32_t *v);
int  reader_u64(struct reader *r, uint64_t *v);
int  reader_varint(struct reader *r, uint64_t *v);
/* Borrows n bytes: *out points into the input. */
int  reader_bytes(struct reader *r, size_t n, const uint8_t **out);
static inline size_t
reader_left(const struct reader *r)
{
    return r->len - r->pos;
}

#endif
