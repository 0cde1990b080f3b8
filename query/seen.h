/* SPDX-License-Identifier: MIT */
/*
 * seen: remembers the last SEEN_CAP records printed (as 64-bit hashes) so
 * that `logq -f` prints a record once when the history query, a catch-up
 * after a reconnect and the live stream overlap. Two genuinely identical
 * records (same nanosecond, host, container, stream and message) within
 * that window are printed once: accepted, and documented in README.md.
 */
#ifndef QUERY_SEEN_H
#define QUERY_SEEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/record.h"

#define SEEN_CAP 4096

struct seen {
    uint64_t ring[SEEN_CAP];
    size_t   n;         /* valid entries, <= SEEN_CAP */
    size_t   next;      /* slot the next add overwrites */
};

void     seen_init(struct seen *s);
/* FNV-1a over every field of the record (fields delimited, so "ab"+"c"
 * and "a"+"bc" differ). */
uint64_t seen_record_hash(const struct logrec *r);
int      seen_has(const struct seen *s, uint64_t h);
/* Adds h, forgetting the oldest entry once SEEN_CAP are held. */
void     seen_add(struct seen *s, uint64_t h);

#endif
