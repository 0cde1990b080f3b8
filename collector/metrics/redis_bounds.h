/* SPDX-License-Identifier: MIT */
/*
 * redis_bounds: what one Redis reply may make the collector allocate
 * (collector/REDIS.md "Bounds"). hiredis 0.14's reader allocates an array
 * from the element count the server announces, before any element came,
 * and buffers a bulk string of whatever length it announces; a broken or
 * hostile Redis (or someone between it and the collector) could make the
 * collector allocate without bound. rm_bounds_attach is hiredis's
 * libevent adapter (redisLibeventAttach) with both bounds: the object
 * functions of rm_bounds_install on the reader, and the check of
 * rm_bounds_buffer_over before each read. rm_bounds_install gives a reader
 * object functions that count each reply's elements (at every level) and
 * string bytes and refuse the one over a cap before allocating it: the
 * reader then fails (hiredis's "Out of memory" error) and the connection
 * is closed and made again. rm_bounds_buffer_over says whether the bytes
 * a reader holds unparsed (one bulk string in progress) passed the byte
 * cap, for the caller to close the connection before the next read.
 * Each refusal calls the refuse callback with the reason (counted as a
 * Redis error by redis_metrics).
 */
#ifndef COLLECTOR_REDIS_BOUNDS_H
#define COLLECTOR_REDIS_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/read.h>

typedef void (*rm_bounds_refuse_fn)(void *arg, const char *why);

struct rm_bounds {
    size_t              max_elements;   /* per reply, all levels */
    size_t              max_bytes;      /* string bytes per reply; and
                                         * unparsed bytes of a reader */
    rm_bounds_refuse_fn refuse;         /* may be NULL */
    void               *arg;
    uint64_t            n_refused;
    char                why[128];       /* the last refusal, "redis: ..."
                                         * (the caller clears it) */
    /* the reply being read */
    size_t              n_elements;
    size_t              n_bytes;
    const redisReplyObjectFunctions *dflt;  /* hiredis's own */
};

struct event_base;
struct redisAsyncContext;

/* Attaches ac to base (hiredis's libevent adapter) with b's bounds on
 * its reader: a reply over them fails (hiredis closes the connection and
 * fails every pending callback) with b->why set. b must outlive ac. 0, or
 * -1 (the caller frees ac). */
int rm_bounds_attach(struct redisAsyncContext *ac, struct event_base *base,
                     struct rm_bounds *b);

/* Sets rd's object functions to the counting ones (keeping rd's own
 * functions, hiredis's defaults, for the objects themselves) and its
 * privdata to b, which must outlive rd. b's caps and callback are the
 * caller's to set. */
void rm_bounds_install(redisReader *rd, struct rm_bounds *b);

/* 1 (and the refuse callback called) if rd holds more than b->max_bytes
 * unparsed; 0 otherwise. */
int rm_bounds_buffer_over(const redisReader *rd, struct rm_bounds *b);

#endif
