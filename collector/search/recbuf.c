/* SPDX-License-Identifier: MIT */
/*
 * recbuf: bounded record copies (contract in recbuf.h).
 */
#include "collector/search/recbuf.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct recbuf_entry {
    int64_t  time_ns;
    int64_t  recv_ns;
    uint64_t offset;
    uint8_t  stream;
    uint8_t  flags;
    size_t   host, cid, name, image, msg;   /* offsets into data */
    size_t   msg_len;
    const struct labelset *labels;  /* not copied: the store's sets live
                                       until it closes (store.h) */
};

void
recbuf_init(struct recbuf *b, size_t max_bytes, size_t max_records)
{
    memset(b, 0, sizeof(*b));
    buf_init(&b->data, max_bytes);
    b->max_records = max_records;
}

void
recbuf_fini(struct recbuf *b)
{
    buf_fini(&b->data);
    free(b->v);
    memset(b, 0, sizeof(*b));
}

static int
recbuf_put_str(struct recbuf *b, const char *s, size_t *off)
{
    *off = b->data.len;
    return buf_append(&b->data, s ? s : "", strlen(s ? s : "") + 1);
}

static size_t
recbuf_str_size(const char *s)
{
    return strlen(s ? s : "") + 1;
}

size_t
recbuf_size(const struct logrec *r)
{
    return recbuf_str_size(r->host) + recbuf_str_size(r->container_id) +
           recbuf_str_size(r->container) + recbuf_str_size(r->image) +
           r->msg_len;
}

size_t
recbuf_cost(const struct logrec *r)
{
    return recbuf_size(r) + sizeof(struct recbuf_entry);
}

int
recbuf_add(struct recbuf *b, const struct logrec *r)
{
    size_t mark = b->data.len;
    struct recbuf_entry e = {
        .time_ns = r->time_ns, .recv_ns = r->recv_ns, .offset = r->offset,
        .stream = r->stream, .flags = r->flags, .msg_len = r->msg_len,
        .labels = r->labels,
    };

    if (b->n == b->max_records)
        return -1;
    if (recbuf_put_str(b, r->host, &e.host) < 0 ||
        recbuf_put_str(b, r->container_id, &e.cid) < 0 ||
        recbuf_put_str(b, r->container, &e.name) < 0 ||
        recbuf_put_str(b, r->image, &e.image) < 0)
        goto full;
    e.msg = b->data.len;
    if (buf_append(&b->data, r->msg, r->msg_len) < 0)
        goto full;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
    }
    b->v[b->n++] = e;
    return 0;
full:
    b->data.len = mark;
    return -1;
}

void
recbuf_get(const struct recbuf *b, size_t i, struct logrec *r)
{
    const struct recbuf_entry *e = &b->v[i];
    const char *base = (const char *)b->data.data;

    *r = (struct logrec){
        .time_ns = e->time_ns, .host = base + e->host,
        .container_id = base + e->cid, .container = base + e->name,
        .image = base + e->image, .stream = e->stream, .flags = e->flags,
        .offset = e->offset, .msg = base + e->msg, .msg_len = e->msg_len,
        .recv_ns = e->recv_ns, .labels = e->labels,
    };
}

void
recbuf_reset(struct recbuf *b)
{
    b->n = 0;
    buf_reset(&b->data);
}

size_t
recbuf_mem(const struct recbuf *b)
{
    return b->data.cap + b->cap * sizeof(struct recbuf_entry);
}

void
recbuf_empty(struct recbuf *b, size_t keep)
{
    if (recbuf_mem(b) <= keep) {
        recbuf_reset(b);
        return;
    }
    size_t max_bytes = b->data.max, max_records = b->max_records;
    recbuf_fini(b);
    recbuf_init(b, max_bytes, max_records);
}

void
recbuf_swap(struct recbuf *a, struct recbuf *b)
{
    struct recbuf t = *a;

    *a = *b;
    *b = t;
}
