/* SPDX-License-Identifier: MIT */
/*
 * seen: see seen.h. A linear scan of 4096 hashes (32 KiB, one pass of
 * sequential compares, about a microsecond) per followed line is well below
 * the cost of parsing the line's JSON, so no hash table.
 */
#include "query/seen.h"

#include <string.h>

void
seen_init(struct seen *s)
{
    memset(s, 0, sizeof(*s));
}

static uint64_t
seen_mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    /* Length as a delimiter between fields. */
    for (int i = 0; i < 8; i++)
        h = (h ^ ((n >> (8 * i)) & 0xff)) * 1099511628211ULL;
    return h;
}

uint64_t
seen_record_hash(const struct logrec *r)
{
    uint64_t h = 14695981039346656037ULL;
    unsigned char t[9];

    for (int i = 0; i < 8; i++)
        t[i] = (unsigned char)((uint64_t)r->time_ns >> (8 * i));
    t[8] = r->stream;
    h = seen_mix(h, t, sizeof(t));
    h = seen_mix(h, r->host, strlen(r->host));
    h = seen_mix(h, r->container, strlen(r->container));
    h = seen_mix(h, r->container_id, strlen(r->container_id));
    return seen_mix(h, r->msg, r->msg_len);
}

int
seen_has(const struct seen *s, uint64_t h)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ring[i] == h)
            return 1;
    return 0;
}

void
seen_add(struct seen *s, uint64_t h)
{
    s->ring[s->next] = h;
    s->next = (s->next + 1) % SEEN_CAP;
    if (s->n < SEEN_CAP)
        s->n++;
}
