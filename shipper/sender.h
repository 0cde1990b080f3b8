/* SPDX-License-Identifier: MIT */
/*
 * sender: the shipper's one TCP connection to the collector (bufferevent).
 * Does the handshake (HELLO, CHALLENGE, AUTH, WELCOME), packs records into
 * BATCH frames (flushed at batch_bytes or flush_ms after the first record),
 * numbers frames 1, 2, 3... per connection and keeps each one in a
 * retransmit queue until the collector ACKs it. An ACK hands each source's
 * resume point recorded in the acked batches to the commit callback (the
 * state store); un-acked frames are resent in order after a reconnect
 * (exponential backoff 100 ms .. 5 s with jitter), which also happens when
 * the oldest un-acked frame waits ack_timeout_ms from its sending (or from
 * the ACK before it, if later) with no ACK, or a PING (sent after ping_ms
 * without writing anything, so the collector's idle timeout spares an
 * idle connection) waits 1.5 ping_ms for its PONG. Memory is bounded by
 * max_inflight: once the queue holds that many bytes, or more than one
 * closed batch per worker waits for compression, sender_can_accept() says
 * no, the tailers stop reading, and the room callback fires when acks
 * (or finished compression) bring it back under. Closed batches are
 * deflated by compress_threads workers (compressor.c) while the loop goes
 * on; frames still leave strictly in seq order. Does not read files or know
 * about Docker.
 */
#ifndef SHIPPER_SENDER_H
#define SHIPPER_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/tls.h"
#include "common/wire.h"
#include "shipper/counters.h"
#include "shipper/tail.h"

/*
 * A source as the sender sees it: owned and updated by its container
 * (docker.c). Strings must stay valid while sender_add runs (they are
 * copied into the batch). After changing name/image/labels set batch_gen
 * to 0 so the next batch carries the new values.
 */
struct sender_source {
    char     *id;
    char     *name;
    char     *image;
    char     *labels;       /* compact JSON object text, may be "" */
    uint64_t  batch_gen;    /* sender-private */
    uint32_t  batch_idx;    /* sender-private */
};

/* Called for each source of an acknowledged batch with its resume point. */
typedef void (*sender_commit_fn)(void *arg, const char *id,
                                 const struct tail_pos *pos);
/* Called when the in-flight bytes drop back below the cap. */
typedef void (*sender_room_fn)(void *arg);

struct sender_config {
    const char *host;
    int         port;
    const char *hostname;       /* sent in HELLO */
    const void *token;          /* NULL: no token (all-zero MAC) */
    size_t      token_len;
    size_t      batch_bytes;
    int         flush_ms;
    size_t      max_inflight;       /* raw batches being compressed count
                                     * too, frames once compressed */
    int         zlevel;             /* zlib (libdeflate) level */
    int         use_zstd;           /* offer zstd, send it when accepted
                                     * (PROTOCOL.md "Compression") */
    int         compress_threads;   /* 0: compress on the loop thread */
    int         ack_timeout_ms;     /* 0: 20 s (tests set it shorter) */
    int         ping_ms;            /* idle keepalive; 0: 5 s (tests) */
    int64_t   (*clock_ns)(void);    /* the ACK and keepalive deadlines'
                                     * clock; NULL: mono_ns (tests: a fake
                                     * one, with sender_check_timeouts) */
    struct tls_ctx *tls;            /* NULL: plain TCP; borrowed */
};

/* Copies cfg (strings and token included) and starts the compression
 * workers; NULL if they cannot start. Nothing is sent until sender_start. */
struct sender *sender_new(struct event_base *base,
                          const struct sender_config *cfg,
                          struct shipper_counters *ctr,
                          sender_commit_fn commit, sender_room_fn room,
                          void *arg);
void sender_free(struct sender *s);
/* Starts connecting (and reconnecting forever). 0, or -1 on setup error. */
int sender_start(struct sender *s);

/* Bytes handed to the connection that the kernel has not taken yet: at
 * most 512 KiB plus one frame (the rest waits in the retransmit queue). */
size_t sender_unwritten_bytes(const struct sender *s);
/* 1 while the un-acked frames are below max_inflight and at most
 * compress_threads closed batches wait for a compressor worker. */
int sender_can_accept(const struct sender *s);
/* Adds a record (copied). Always accepted: the caller checks
 * sender_can_accept before reading more, so the cap is passed by at most
 * one read chunk's records. */
void sender_add(struct sender *s, struct sender_source *src,
                const struct tail_record *r);
/* Closes the open batch now (no-op when empty). */
void sender_flush(struct sender *s);
/*
 * Queues a METRICS frame made from m (which the caller resets and reuses)
 * with sample time time_ns; acknowledged like batches, not deduplicated.
 * -1 (counted as metrics_dropped) when the queue is full or m is empty.
 */
int sender_send_metrics(struct sender *s, struct wire_metrics_enc *m,
                        int64_t time_ns);
/* 1 when no record is waiting in a batch, in compression or for an ACK. */
int sender_is_drained(const struct sender *s);
/* The ACK timeout and keepalive checks their timers run, run now against
 * cfg.clock_ns: may send a PING or close the connection (reconnected as
 * for any close). For a test whose fake clock moved; needless otherwise. */
void sender_check_timeouts(struct sender *s);
/* 1 after WELCOME until the connection drops. */
int sender_is_ready(const struct sender *s);
size_t sender_inflight_bytes(const struct sender *s);

#endif
