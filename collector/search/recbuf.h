/* SPDX-License-Identifier: MIT */
/*
 * recbuf: a bounded list of log record copies (follow.c's stage, a
 * follower's live lines in feed.c). Every field is copied into one capped
 * buf (strings NUL-terminated) with a small index array beside it: one
 * memcpy per field and no allocation per record in the steady state.
 * Knows nothing of who fills or reads it; not thread-safe (a recbuf is
 * used by one thread at a time, handed over by its owner).
 */
#ifndef COLLECTOR_SEARCH_RECBUF_H
#define COLLECTOR_SEARCH_RECBUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/record.h"

struct recbuf_entry;

struct recbuf {
    struct buf           data;
    struct recbuf_entry *v;
    size_t               n, cap, max_records;
};

/* At most max_bytes of copied fields and max_records records. */
void recbuf_init(struct recbuf *b, size_t max_bytes, size_t max_records);
void recbuf_fini(struct recbuf *b);
/* The bytes of data recbuf_add copies for r (its strings with their
 * NULs, its message). */
size_t recbuf_size(const struct logrec *r);
/* The memory r's copy takes: recbuf_size and its entry (offsets, time,
 * labels: about 90 bytes, more than many short lines' data). */
size_t recbuf_cost(const struct logrec *r);
/* Copies r: 0, or -1 when a cap would be passed (b unchanged). */
int  recbuf_add(struct recbuf *b, const struct logrec *r);
/* Record i (< b->n) into r; its labels pointer is the one given (the
 * store's, never copied); its strings are b's, valid until the next
 * recbuf_add, recbuf_reset or recbuf_fini. */
void recbuf_get(const struct recbuf *b, size_t i, struct logrec *r);
void recbuf_reset(struct recbuf *b);
/* Empties b, and frees its memory when it holds more than keep bytes (a
 * burst's buffers are not kept for good). */
void recbuf_empty(struct recbuf *b, size_t keep);
/* The bytes b has allocated (data and entries). */
size_t recbuf_mem(const struct recbuf *b);
/* Exchanges the contents of a and b. */
void recbuf_swap(struct recbuf *a, struct recbuf *b);

#endif
