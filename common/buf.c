/* SPDX-License-Identifier: MIT */
/* buf: see buf.h. */
#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

void
buf_init(struct buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void
buf_fini(struct buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
}

int
buf_reserve(struct buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return -1;
    if (b->len + n <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + n)
        ncap = ncap > SIZE_MAX / 2 ? b->len + n : ncap * 2;
    if (ncap > b->max)
        ncap = b->max;
    b->data = xreallocarray(b->data, ncap, 1);
    b->cap = ncap;
    return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int
buf_put_u8(struct buf *b, uint8_t v)
{
    return buf_append(b, &v, 1);
}

int
buf_put_u16(struct buf *b, uint16_t v)
{
    uint8_t t[2];

    le16_store(t, v);
    return buf_append(b, t, 2);
}

int
buf_put_u32(struct buf *b, uint32_t v)
{
    uint8_t t[4];

    le32_store(t, v);
    return buf_append(b, t, 4);
}

int
buf_put_u64(struct buf *b, uint64_t v)
{
    uint8_t t[8];

    le64_store(t, v);
    return buf_append(b, t, 8);
}

int
buf_put_varint(struct buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;

    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    return buf_append(b, t, n);
}

void
buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void
reader_init(struct reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->err = 0;
}

static int
reader_take(struct reader *r, size_t n, const uint8_t **out)
{
    if (r->err || n > r->len - r->pos) {
        r->err = 1;
        return -1;
    }
    *out = r->p + r->pos;
    r->pos += n;
    return 0;
}

int
reader_u8(struct reader *r, uint8_t *v)
{
    const uint8_t *p;

    if (reader_take(r, 1, &p) < 0)
        return -1;
    *v = p[0];
    return 0;
}

int
reader_u16(struct reader *r, uint16_t *v)
{
    const uint8_t *p;

    if (reader_take(r, 2, &p) < 0)
        return -1;
    *v = le16_load(p);
    return 0;
}

int
reader_u32(struct reader *r, uint32_t *v)
{
    const uint8_t *p;

    if (reader_take(r, 4, &p) < 0)
        return -1;
    *v = le32_load(p);
    return 0;
}

int
reader_u64(struct reader *r, uint64_t *v)
{
    const uint8_t *p;

    if (reader_take(r, 8, &p) < 0)
        return -1;
    *v = le64_load(p);
    return 0;
}

int
reader_varint(struct reader *r, uint64_t *v)
{
    uint64_t x = 0;

    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t c;
        if (reader_u8(r, &c) < 0)
            return -1;
        if (shift == 63 && c > 1)
            break;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    r->err = 1;
    return -1;
}

int
reader_bytes(struct reader *r, size_t n, const uint8_t **out)
{
    return reader_take(r, n, out);
}
