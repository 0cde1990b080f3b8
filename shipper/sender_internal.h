/* SPDX-License-Identifier: MIT */
/*
 * sender_internal: the sender's state and the functions its parts share
 * (sender.c, sender_queue.c, sender_batch.c, sender_conn.c,
 * sender_hello.c, sender_flow.c; see sender.c). Not for use outside those
 * files: main.c, docker.c and the tests use sender.h only. All of it runs
 * on the shipper's event loop thread (the compressor's workers touch only
 * the job they were given).
 */
#ifndef SHIPPER_SENDER_INTERNAL_H
#define SHIPPER_SENDER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "common/buf.h"
#include "common/wire.h"
#include "common/wireauth.h"
#include "shipper/compressor.h"
#include "shipper/counters.h"
#include "shipper/sender.h"
#include "shipper/tail.h"

#define SENDER_SOFTWARE      "logq-shipper/0.3"
/* zstd level of batches: level 1 took 0.47x libdeflate-1's CPU for a
 * smaller output, faster levels were larger and hardly cheaper
 * (BENCHMARKS.md "zstd on the wire"); common/wire.c sets a smaller hash
 * table and shorter matches over it (BENCHMARKS.md "The shipper's CPU"). */
#define SENDER_ZSTD_LEVEL    1
#define SENDER_RAW_MAX       (WIRE_MAX_PAYLOAD - (64u << 10))
#define SENDER_FRAME_MAX     (WIRE_HEADER_LEN + WIRE_MAX_PAYLOAD)
#define SENDER_BACKOFF_MIN   100        /* ms */
#define SENDER_BACKOFF_MAX   5000
#define SENDER_HANDSHAKE_S   10
/* PROTOCOL.md "Keepalive": a collector that stops answering is given up
 * within 30 s, busy (the ACK timeout) or idle (a PING after 5-7.5 s
 * without writing, 7.5-10 s for its PONG). */
#define SENDER_ACK_TIMEOUT_S 20
#define SENDER_PING_S        5
#define SENDER_SPARE_ENCS    2          /* idle batch encoders kept */
/* The collector sends control frames only (PROTOCOL.md): the reader takes
 * frames up to WIRE_MAX_CONTROL and the socket input is staged up to this. */
#define SENDER_MAX_INPUT     (64u << 10)
/* Frames are copied into the connection's output buffer only while it
 * holds less than this: the retransmit queue keeps every frame anyway, and
 * a collector slower than the shipper used to leave a second copy of the
 * whole in-flight window there. Refilled from the write callback once it
 * drains to half (the kernel's socket buffer keeps the link busy). */
#define SENDER_OUT_MAX       (512u << 10)

enum sender_state {
    SENDER_IDLE,            /* waiting for the reconnect timer */
    SENDER_CONNECTING,
    SENDER_HELLO_SENT,
    SENDER_AUTH_SENT,
    SENDER_READY,
};

struct sender_commit {
    char            id[WIRE_MAX_ID_LEN + 1];
    struct tail_pos pos;
};

struct sender_entry {
    struct sender_entry   *next;
    uint16_t               type;
    uint64_t               seq;         /* seq encoded in frame */
    int                    is_ready;    /* frame is encoded */
    int                    is_sent;     /* on the current connection */
    int                    was_sent;    /* on some connection */
    int64_t                sent_ns;     /* mono time written, this conn */
    size_t                 cost;        /* bytes counted in inflight */
    struct buf             frame;
    struct buf             reframe;     /* RESEQ job output */
    struct wire_batch_enc *enc;         /* raw batch until is_ready */
    struct compressor_job  job;
    struct sender_commit  *commits;
    size_t                 n_commits;
};

struct sender {
    struct event_base       *base;
    struct evdns_base       *dns;
    struct sender_config     cfg;
    struct shipper_counters *ctr;
    sender_commit_fn         commit_cb;
    sender_room_fn           room_cb;
    void                    *cb_arg;

    enum sender_state        state;
    struct bufferevent      *bev;
    struct wire_reader       rd;            /* frames from bev */
    struct event            *retry_ev;
    struct event            *ack_ev;        /* oldest un-acked frame */
    struct event            *ping_ev;       /* every ping_ms / 2, READY */
    int64_t                  last_write_ns; /* mono: last frame written */
    int64_t                  ping_sent_ns;  /* mono: PING waiting, or 0 */
    int64_t                  last_ack_ns;   /* mono time of the last ACK */
    int                      backoff_ms;
    int                      n_connects;
    uint64_t                 conn_seq;      /* last seq sent */
    uint8_t                  nonce_s[WIRE_NONCE_LEN];   /* ours */
    struct wire_codec        codec;         /* the last connection's */
    struct wireauth          auth;          /* frame MACs, on from AUTH */

    struct sender_entry     *head;
    struct sender_entry     *tail;
    size_t                   inflight;      /* entry costs queued */
    size_t                   n_raw;         /* batches in compression */
    size_t                   n_unsent;      /* entries not sent on conn */
    int64_t                  full_since_ns; /* mono: reading paused, or 0 */
    int                      is_acking;     /* in sender_flow_on_ack */

    struct compressor       *comp;
    struct wire_batch_enc   *enc;           /* the open batch */
    struct wire_batch_enc   *spare[SENDER_SPARE_ENCS];
    size_t                   n_spare;
    uint64_t                 gen;           /* current batch's generation */
    struct sender_commit    *commits;       /* one per batch source */
    size_t                   commits_cap;
    struct event            *flush_ev;
    int                      is_flush_armed;
    struct buf               scratch;
};

/* ---- sender.c ---- */

/* Now on the deadlines' clock (cfg.clock_ns, else mono_ns), in ns. */
int64_t sender_now(const struct sender *s);

/* ---- sender_queue.c: the retransmit queue and its frames ---- */

/* Frees an idle or used batch encoder; NULL is a no-op. */
void sender_queue_enc_free(struct wire_batch_enc *enc);
/* An empty batch encoder (a spare one if any); never NULL. */
struct wire_batch_enc *sender_queue_enc_get(struct sender *s);
/* What e holds, as the in-flight cap counts it: its raw batch (until
 * compressed) or its frame, and its resume points (one per source:
 * with lines that compress well they outweigh the frame). */
size_t sender_queue_entry_cost(const struct sender_entry *e);
/* Frees e (its frames, encoder and commits); e must be off the queue. */
void sender_queue_entry_free(struct sender_entry *e);
/* e at the queue's tail: counted in inflight and n_unsent. */
void sender_queue_append(struct sender *s, struct sender_entry *e);
/* The seq the next queued frame will carry if the connection holds. */
uint64_t sender_queue_next_seq(const struct sender *s);
/* After an append: the time the queue turned full, if it did. */
void sender_queue_note_full(struct sender *s);
/* The room callback, if the queue was full and no longer is (the pause
 * counted: window_waits if s->is_acking, else compress_waits). */
void sender_queue_check_room(struct sender *s, int was_full);
/* The codec flag of a ready entry's frame. */
uint8_t sender_queue_entry_codec(const struct sender_entry *e);
/* e's frame renumbered to seq with the connection's codec: 1 on a
 * worker (e not ready until done), 0 done here, -1 on failure. */
int sender_queue_entry_reseq(struct sender *s, struct sender_entry *e,
                             uint64_t seq);
/* The compressor's callback (loop thread): a job of e is done. */
void sender_queue_done_cb(void *arg, struct compressor_job *job);

/* ---- sender_batch.c: records into batches ---- */

/* flush_ev: the open batch is flush_ms old. */
void sender_batch_flush_cb(evutil_socket_t fd, short what, void *arg);

/* ---- sender_conn.c: the connection ---- */

/* Connects (TLS if configured) and starts the handshake; on failure the
 * reconnect timer is armed. */
void sender_conn_connect(struct sender *s);
/* Drops the connection (logging why), marks every queued frame unsent
 * and arms the reconnect timer with the current backoff. */
void sender_conn_close(struct sender *s, const char *why);
/* Writes one frame (tagged once MACs are on); 0, or -1 (caller closes). */
int sender_conn_write_frame(struct sender *s, uint16_t type,
                            struct buf *payload);
/* The connection's read timeout in ms; 0: none. */
void sender_conn_set_timeout(struct sender *s, int ms);
/* retry_ev: reconnect. */
void sender_conn_retry_cb(evutil_socket_t fd, short what, void *arg);

/* ---- sender_hello.c: the handshake ---- */

/* The codec for a connection whose CHALLENGE had these flags. */
struct wire_codec sender_hello_codec(const struct sender *s,
                                     unsigned challenge_flags);
/* Sends HELLO with a fresh nonce; on failure the connection is closed. */
void sender_hello_send(struct sender *s);
/* CHALLENGE and WELCOME payloads; -1 when the connection was closed. */
int sender_hello_on_challenge(struct sender *s, const uint8_t *p,
                              size_t len);
int sender_hello_on_welcome(struct sender *s, const uint8_t *p, size_t len);

/* ---- sender_flow.c: frames on a ready connection ---- */

/* Writes the queued frames not sent on this connection, in order, up to
 * the first not compressed yet; may close the connection. */
void sender_flow_write_pending(struct sender *s);
/* An ACK payload; -1 when the connection was closed. */
int sender_flow_on_ack(struct sender *s, const uint8_t *p, size_t len);
/* ack_ev: the oldest un-acked frame's time is up; ping_ev: keepalive. */
void sender_flow_ack_cb(evutil_socket_t fd, short what, void *arg);
void sender_flow_ping_cb(evutil_socket_t fd, short what, void *arg);

#endif
