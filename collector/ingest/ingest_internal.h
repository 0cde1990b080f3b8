/* SPDX-License-Identifier: MIT */
/*
 * ingest_internal: the ingest's state and the functions its parts share
 * (ingest.c, ingest_accept.c, ingest_conn.c, ingest_handshake.c,
 * ingest_frame.c, ingest_jobs.c, ingest_src.c, ingest_batch.c,
 * ingest_losses.c, ingest_commit.c; see ingest.c for the whole picture).
 * Not for use outside those files: main.c, api/ and the tests use
 * ingest.h only. Everything here runs on the event loop thread, but for
 * the decode jobs' run (ingest_dec.h "Threads").
 */
#ifndef COLLECTOR_INGEST_INGEST_INTERNAL_H
#define COLLECTOR_INGEST_INGEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "collector/ingest/hostcap.h"
#include "collector/ingest/hostkeys.h"
#include "collector/ingest/ingest.h"
#include "collector/ingest/ingest_dec.h"
#include "collector/ingest/poscheck.h"
#include "common/buf.h"
#include "common/labelset.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/wireauth.h"

/* Socket input staged before it moves into the connection's frame reader,
 * which holds at most one frame itself: before WELCOME one control frame
 * (PROTOCOL.md "Before the handshake"), so an unauthenticated peer costs
 * a few KiB; afterwards a bit of slack for reading ahead. */
#define INGEST_PREAUTH_INPUT    (WIRE_HEADER_LEN + WIRE_MAX_CONTROL)
#define INGEST_MAX_INPUT        (64u << 10)
#define INGEST_COMMIT_DELAY_US  2000    /* group commit after a frame */
#define INGEST_HOLD_RECORDS     256     /* a batch's records appended under
                                           one hold of the store's mutex */
#define INGEST_RETRY_S          1       /* a failed commit tried again */
#define INGEST_CLOSE_GRACE_S    2       /* for our ERROR to go out */
#define INGEST_MAX_HOST         HOSTKEYS_MAX_HOST
#define INGEST_MAX_SOFTWARE     128
#define INGEST_CTRL_MAX         4096    /* control frames we send */
#define INGEST_LOG_WINDOW_NS    INT64_C(10000000000)
#define INGEST_LOG_PER_WINDOW   20
#define INGEST_LABELS_LOG_PER_WINDOW 5  /* label sets refused, own budget */
/* Decoding off the loop (ingest.c): one thread keeps the decoder's CPU
 * at one core next to the loop and the sealer on the 2-core hosts this is
 * measured on; jobs bound the buffers (each up to WIRE_MAX_PAYLOAD in and
 * WIRE_MAX_INFLATED out, grown only as far as the frames need). */
#define INGEST_DEC_THREADS      1
#define INGEST_DEC_JOBS         4
#define INGEST_CONN_JOBS        2
/* Raw bytes stored but not yet durable past which, while a commit is in
 * flight, decoded frames wait (held in their jobs, so connections stop
 * reading and TCP pushes back) until it ends: the tail holds these bytes
 * (the pending WAL entry is written from them, the follow stage is
 * published at each entry written), so without a bound a slow fdatasync
 * let the shippers' whole windows pile up decoded in memory (peak RSS
 * 117-147 MiB against 81-85 on the bench). 4 MiB a commit still carries
 * 200 MiB/s at 20 ms a sync. With commits pipelined past the sync, 16
 * MiB measured worse than 4 in the live tail bench at 25 MiB/s (p99
 * 1243-1408 against 738-918 ms: each sync then covers more, and its
 * seal job more blocks at once) and more RSS at 50 MiB/s (BENCHMARKS.md
 * "Live tail: commits pipelined past the sync"). */
#define INGEST_MAX_UNSYNCED     ((size_t)4 << 20)
#define INGEST_LOSSES_MAX       4096    /* sources with lost data shown */
/* The lost-data file is rewritten (whole, fsync, rename) by the saver's
 * thread (common/filesave.c), handed a new table at most this often: a full
 * table is ~0.75 MiB, 13-35 ms a write on the shared 2-core VM, and
 * every shipper's METRICS frame may change it. */
#define INGEST_LOSSES_SAVE_S    1

enum ingest_state {
    INGEST_HELLO_WAIT,
    INGEST_AUTH_WAIT,
    INGEST_READY,
    INGEST_CLOSING,
};

struct ingest_job {
    struct ingest_dec        d;
    struct ingest_conn      *c;         /* NULL: on the free list */
    TAILQ_ENTRY(ingest_job)  entry;     /* c->jobs or ing->free_jobs */
    int                      is_done;   /* back from the pool */
    int                      is_run;    /* ... and decoded */
};
TAILQ_HEAD(ingest_jobq, ingest_job);

struct ingest_conn {
    TAILQ_ENTRY(ingest_conn) entry;
    TAILQ_ENTRY(ingest_conn) wait_entry;    /* ing->waiting */
    struct ingest_jobq   jobs;          /* in frame order */
    int                  n_jobs;
    int                  is_waiting;    /* for a free job */
    int                  is_gone;       /* freed but for jobs in the pool */
    int                  is_paused;     /* reading off: no job to take */
    struct ingest       *ing;
    struct bufferevent  *bev;
    struct event        *timer;     /* handshake timeout, then close grace */
    struct wire_reader   rd;
    enum ingest_state    state;
    char                 peer[64];
    size_t               addr_len;      /* peer[0..addr_len): no port */
    int64_t              last_frame_ns; /* mono: last whole frame, READY */
    char                 host[INGEST_MAX_HOST + 1];
    char                 host_log[LOG_ESC_SIZE];    /* log_esc(host) */
    char                 software[INGEST_MAX_SOFTWARE + 1];
    struct hostcap_host *hc_host;       /* from WELCOME on */
    uint8_t              nonce_s[WIRE_NONCE_LEN];   /* the shipper's */
    uint8_t              nonce[WIRE_NONCE_LEN];     /* ours */
    char                *token;     /* the host's (a copy: the set may be
                                       replaced on SIGHUP), NULL: none */
    size_t               token_len;
    struct wireauth      auth;      /* frame MACs, on from WELCOME */
    int64_t              connected_ns;
    uint64_t             last_seq;      /* last BATCH/METRICS seq processed */
    uint64_t             pending_seq;   /* processed, waiting for a commit */
    uint64_t             sync_seq;      /* pending when the commit in
                                           flight began: ACKed at its end */
    uint64_t             acked_seq;
    uint64_t             n_batches;
    uint64_t             n_records;
};

struct ingest_src {
    size_t id, name, image;     /* offsets into ing->srcbuf */
    const struct labelset *labels;  /* the store's set (lives until it
                                       closes), NULL: none */
    struct poscheck pos;        /* PROTOCOL.md "Plausible positions" */
    struct store_label *label;  /* its records' label in the store, once
                                   the first one was stored or found a
                                   duplicate (store_append_cached) */
    const char *refused;        /* why its records are dropped, or NULL */
    uint64_t   *refused_ctr;    /* the counter its dropped records bump */
    int is_refusal_logged;
};

struct ingest {
    struct event_base       *base;
    struct evconnlistener   *listener;
    struct event            *accept_retry;
    struct event            *commit_ev;
    struct event            *retry_ev;
    struct event            *sync_ev;   /* the store's commit fd */
    struct event            *losses_ev; /* pending save of the losses */
    struct store            *store;
    struct follow           *follow;
    struct collector_stats  *stats;
    struct ingest_options    opt;
    const struct hostkeys   *host_keys;
    TAILQ_HEAD(, ingest_conn) conns;
    int                      n_conns;
    int                      has_pending;
    int                      is_syncing;    /* a commit in flight */
    int                      is_held;       /* frames held for it */
    int64_t                  held_ns;       /* mono: since then */
    int                      is_store_failing;
    int                      is_shutdown;
    uint64_t                 next_session;
    ingest_metrics_fn        metrics_fn;
    void                    *metrics_arg;
    struct pool             *dec;           /* decoding thread */
    struct event            *dec_ev;        /* its done jobs */
    struct event            *kick_ev;       /* a job was freed */
    struct ingest_job        jobs[INGEST_DEC_JOBS];
    struct ingest_jobq       free_jobs;
    TAILQ_HEAD(, ingest_conn) waiting;      /* for a free job, FIFO */
    int                      is_freeing;
    struct buf               srcbuf;
    struct ingest_src        src[WIRE_MAX_SOURCES];
    struct buf               payload;       /* control frame encoding */
    struct buf               frame;
    struct log_limit         log_budget;
    struct log_limit         labels_log; /* label sets refused at the cap */
    struct labelcache       *labelcache; /* label texts parsed, per text */
    struct losses           *losses;     /* lost data per source */
    uint64_t                 losses_saved; /* losses_version in its file */
    uint64_t                 losses_put;   /* the version handed to saver */
    struct filesave         *saver;      /* writes the file, off the loop */
    int                      is_lossfile_failing; /* warned once */
    struct hostcap          *hostcap;
};

/* ---- ingest.c: life and public API ---- */

/* Warn-level log line under the ingest's per-window budget (lines left
 * out are counted in log_lines_suppressed); peer strings in the
 * arguments are passed through log_esc() by the caller. */
void ingest_log_limited(struct ingest *ing, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- ingest_accept.c: the listener ---- */

/* A new connection: set up, checked against the connection caps (closed
 * with an ERROR over them), handshake timer armed. */
void ingest_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int socklen, void *arg);
/* accept_retry: listening again after a pause (ingest_accept_error_cb). */
void ingest_accept_retry_cb(evutil_socket_t fd, short what, void *arg);
/* A failed TLS handshake: counted and logged (common/tls.h fail_cb). */
void ingest_accept_tls_fail_cb(void *arg, int fd, const char *why);
/* accept() failed (EMFILE): the listener pauses for a second. */
void ingest_accept_error_cb(struct evconnlistener *l, void *arg);

/* ---- ingest_conn.c: a connection's life ---- */

/* Unlinks c and frees it, or only marks it gone while jobs of it are in
 * the pool (ingest_jobs.c frees it when the last comes back). */
void ingest_conn_free(struct ingest_conn *c);
/* Arms c's timer ns from now. */
void ingest_conn_arm(struct ingest_conn *c, int64_t ns);
/* Queues the control frame in ing->payload (MAC'd once the session's
 * MACs are on). 0, or -1 (logged). */
int  ingest_conn_send(struct ingest_conn *c, uint16_t type);
/* Sends ERROR (best effort) and closes once written or after a grace
 * period; never frees c. A no-op once closing. */
void ingest_conn_close(struct ingest_conn *c, uint16_t code, const char *msg);
/* A protocol error: counted (frames_rejected), logged, closed. */
void ingest_conn_reject(struct ingest_conn *c, uint16_t code, const char *why,
                        const char *detail);
/* Takes whole frames off c's input while c is open and may take them. */
void ingest_conn_process(struct ingest_conn *c);
/* The bufferevent's callbacks, and c->timer's (handshake timeout, idle
 * timeout, close grace). */
void ingest_conn_read_cb(struct bufferevent *bev, void *arg);
void ingest_conn_write_cb(struct bufferevent *bev, void *arg);
void ingest_conn_event_cb(struct bufferevent *bev, short what, void *arg);
void ingest_conn_timer_cb(evutil_socket_t fd, short what, void *arg);

/* ---- ingest_handshake.c: HELLO, CHALLENGE, AUTH, WELCOME ---- */

/* HELLO's payload: host checked (and its client certificate), CHALLENGE
 * sent. 0, or -1 with c closing. */
int  ingest_handshake_hello(struct ingest_conn *c, const uint8_t *p,
                            size_t len);
/* AUTH's payload: the proof checked, the host admitted under its cap,
 * WELCOME sent, c READY. 0, or -1 with c closing. */
int  ingest_handshake_auth(struct ingest_conn *c, const uint8_t *p,
                           size_t len);

/* ---- ingest_frame.c: a whole frame, by state and type ---- */

/* MAC checked and stripped, then the frame goes to the handshake, the
 * decode jobs or PONG. 0, or -1 with c closing. */
int  ingest_frame_handle(struct ingest_conn *c, struct wire_frame *f);

/* ---- ingest_jobs.c: data frames decoded off the loop ---- */

/* Job j of j->c back on the free list (decoded batch released). */
void ingest_jobs_put(struct ingest *ing, struct ingest_job *j);
/* Stores c's decoded frames from the head of its FIFO, in frame order. */
void ingest_jobs_deliver(struct ingest_conn *c);
/* dec_ev (the pool's done jobs) and kick_ev (a job was freed). */
void ingest_jobs_drain_cb(evutil_socket_t fd, short what, void *arg);
void ingest_jobs_kick_cb(evutil_socket_t fd, short what, void *arg);
/* 1 if c may take another frame off its input now; 0 (c may be queued
 * to wait for a free job). */
int  ingest_jobs_may_take(struct ingest_conn *c);
/* Hands a BATCH or METRICS frame to the decoding thread. 0, or -1 with
 * c closing. */
int  ingest_jobs_submit(struct ingest_conn *c, const struct wire_frame *f);

/* ---- ingest_src.c: a batch's sources ---- */

/* The batch's source strings into ing->srcbuf and ing->src[], with the
 * sources whose records are refused. 0, or -1 (too large). */
int  ingest_src_copy(struct ingest_conn *c, const struct wire_batch *b);
/* Each source's position check started, its labels taken. */
void ingest_src_begin(struct ingest_conn *c, const struct wire_batch *b);

/* ---- ingest_batch.c: decoded frames stored ---- */

/* A decoded BATCH (the caller frees b): seq checked, records stored,
 * seq pending for the next commit. 0, or -1 with c closing. */
int  ingest_batch_store(struct ingest_conn *c, struct wire_batch *b);
/* A METRICS payload: seq checked, counted, losses fed, metrics hook
 * called, seq pending. 0, or -1 with c closing. */
int  ingest_batch_metrics(struct ingest_conn *c, const uint8_t *p,
                          size_t len);

/* ---- ingest_losses.c: the lost-data table and its file ---- */

/* The saver's results since the last look (failures counted, logged
 * once per streak); *is_busy: it still has work. */
void ingest_losses_collect(struct ingest *ing, int *is_busy);
/* The table, if changed since last handed over, to the saver's thread. */
void ingest_losses_put(struct ingest *ing);
/* losses_ev: results collected, the newest table handed over. */
void ingest_losses_cb(evutil_socket_t fd, short what, void *arg);
/* A change: handed to the saver INGEST_LOSSES_SAVE_S later. */
void ingest_losses_schedule(struct ingest *ing);
/* The table from its file (an empty one if none, or a bad file set
 * aside): never NULL. */
struct losses *ingest_losses_load(struct ingest *ing);

/* ---- ingest_commit.c: group commit and ACKs ---- */

/* Reading on (frames already buffered processed) or off on every READY
 * connection. */
void ingest_commit_set_reading(struct ingest *ing, int is_on);
/* Begins one commit of everything pending (store_commit_begin), unless
 * one is in flight (its end begins the next); ACKs and followers when it
 * ends. 0, or -1: nothing acknowledged, reading off, retried on a timer. */
int  ingest_commit(struct ingest *ing);
/* Ends the commit in flight and commits the rest, waiting for the disk
 * (shutdown). 0, or -1 as ingest_commit. */
int  ingest_commit_flush(struct ingest *ing);
/* commit_ev and retry_ev. */
void ingest_commit_cb(evutil_socket_t fd, short what, void *arg);
/* sync_ev: the commit in flight may have ended. */
void ingest_commit_sync_cb(evutil_socket_t fd, short what, void *arg);
/* 1 while decoded frames must not be stored: the store is failing, or a
 * commit is in flight with INGEST_MAX_UNSYNCED bytes not yet durable. */
int  ingest_is_holding(struct ingest *ing);
/* The group commit INGEST_COMMIT_DELAY_US from now, unless pending or
 * the store is failing. */
void ingest_commit_schedule(struct ingest *ing);

#endif
