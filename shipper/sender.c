/* SPDX-License-Identifier: MIT */
/*
 * sender: see sender.h. The retransmit queue holds each frame as sent
 * (compressed), so in-flight memory is counted in wire bytes; a closed
 * batch waiting for its compressor worker sits in the queue as its raw
 * encoder and counts its raw bytes. Frames leave in queue order: writing
 * stops at the first one not compressed yet. Each batch is encoded with
 * the seq it will carry if the connection holds (last seq sent + frames
 * queued but unsent + 1; a new connection starts at 1, so batches closed
 * while disconnected are numbered right too). A frame whose seq no longer
 * matches (it was in flight when the connection dropped) is re-encoded:
 * decompress, patch the leading u64 seq, compress; on a worker too (a
 * RESEQ job; the frames behind it wait), or inline with 0 threads. So is
 * a frame made with the other codec than the connection negotiated (zstd
 * or zlib, PROTOCOL.md "Compression"): batches closed while disconnected
 * use the codec of the last connection. Both only happen after a
 * reconnect, so the steady state compresses each batch once.
 */
#include "shipper/sender.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>

#include "common/buf.h"
#include "common/hmac.h"
#include "common/log.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/wire_ev.h"
#include "common/wireauth.h"
#include "common/xmalloc.h"
#include "shipper/compressor.h"

#define SENDER_SOFTWARE      "logq-shipper/0.3"
/* zstd level of batches: level 1 took 0.47x libdeflate-1's CPU for a
 * smaller output, faster levels were larger and hardly cheaper
 * (BENCHMARKS.md "zstd on the wire"). */
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

static void sender_connect(struct sender *s);
static void sender_ack_timer_arm(struct sender *s);
static void sender_write_pending(struct sender *s);
static void sender_close_error(struct sender *s, struct bufferevent *bev);
static int sender_is_tls_refusal(const struct sender *s);

/* ---- queue ---- */

static void
sender_enc_free(struct wire_batch_enc *enc)
{
    if (enc == NULL)
        return;
    wire_batch_enc_fini(enc);
    free(enc);
}

/* An empty batch encoder, reused when one is idle. */
static struct wire_batch_enc *
sender_enc_get(struct sender *s)
{
    if (s->n_spare > 0)
        return s->spare[--s->n_spare];
    struct wire_batch_enc *enc = xmalloc(sizeof(*enc));
    wire_batch_enc_init(enc, SENDER_RAW_MAX);
    return enc;
}

static void
sender_enc_put(struct sender *s, struct wire_batch_enc *enc)
{
    if (s->n_spare == SENDER_SPARE_ENCS) {
        sender_enc_free(enc);
        return;
    }
    wire_batch_enc_reset(enc);
    s->spare[s->n_spare++] = enc;
}

static void
sender_entry_free(struct sender_entry *e)
{
    sender_enc_free(e->enc);
    buf_fini(&e->frame);
    buf_fini(&e->reframe);
    free(e->commits);
    free(e);
}

static void
sender_enqueue(struct sender *s, struct sender_entry *e)
{
    if (s->tail != NULL)
        s->tail->next = e;
    else
        s->head = e;
    s->tail = e;
    s->inflight += e->cost;
    s->n_unsent++;
}

/* The seq the next queued frame will carry unless the connection drops:
 * every unsent frame ahead of it is sent first, one seq each. */
static uint64_t
sender_next_seq(const struct sender *s)
{
    return s->conn_seq + s->n_unsent + 1;
}

/* Runs the room callback if in-flight bytes went under the cap. */
static void
sender_check_room(struct sender *s, int was_full)
{
    if (was_full && sender_can_accept(s) && s->room_cb != NULL)
        s->room_cb(s->cb_arg);
}

/* e's frame is replaced by e->reframe, which carries seq. */
static void
sender_entry_reframed(struct sender *s, struct sender_entry *e, uint64_t seq)
{
    s->inflight = s->inflight - e->cost + e->reframe.len;
    e->cost = e->reframe.len;
    buf_fini(&e->frame);
    e->frame = e->reframe;
    buf_init(&e->reframe, SENDER_FRAME_MAX);
    e->seq = seq;
}

/* The codec a ready entry's frame was made with (its header's flag). */
static uint8_t
sender_entry_codec(const struct sender_entry *e)
{
    return e->frame.data[3] & (WIRE_F_ZLIB | WIRE_F_ZSTD);
}

/* The codec for a connection whose CHALLENGE had these flags. */
static struct wire_codec
sender_codec(const struct sender *s, unsigned challenge_flags)
{
    if (s->cfg.use_zstd && (challenge_flags & WIRE_CH_ZSTD))
        return (struct wire_codec){ WIRE_F_ZSTD, SENDER_ZSTD_LEVEL };
    return (struct wire_codec){ WIRE_F_ZLIB, s->cfg.zlevel };
}

/*
 * Makes e's frame carry seq, compressed with the connection's codec: on a
 * worker (e is not ready until the job is done; returns 1) or, with no
 * workers, here (returns 0). -1 if our own frame does not decode (cannot
 * happen short of memory corruption).
 */
static int
sender_entry_reseq(struct sender *s, struct sender_entry *e, uint64_t seq)
{
    if (s->cfg.compress_threads > 0) {
        e->is_ready = 0;
        e->job = (struct compressor_job){
            .kind = COMPRESSOR_RESEQ, .frame = &e->frame, .seq = seq,
            .codec = s->codec, .out = &e->reframe, .arg = e,
        };
        compressor_submit(s->comp, &e->job);
        return 1;
    }
    const char *err;
    if (compressor_reseq(e->frame.data, e->frame.len, seq, &s->codec,
                         &s->scratch, &e->reframe, &err) < 0) {
        log_error("sender", "cannot re-encode queued frame: %s", err);
        return -1;
    }
    sender_entry_reframed(s, e, seq);
    return 0;
}

/* ---- connection ---- */

static void
sender_schedule_retry(struct sender *s)
{
    int d = s->backoff_ms;
    int jitter = d / 2 > 0 ? (int)((unsigned)random() % (unsigned)(d / 2)) : 0;
    struct timeval tv = { (d - jitter) / 1000, ((d - jitter) % 1000) * 1000 };

    s->state = SENDER_IDLE;
    if (evtimer_add(s->retry_ev, &tv) < 0)
        log_error("sender", "cannot arm reconnect timer");
    s->backoff_ms = d * 2 > SENDER_BACKOFF_MAX ? SENDER_BACKOFF_MAX : d * 2;
}

static void
sender_close(struct sender *s, const char *why)
{
    if (s->bev != NULL) {
        log_warn("sender", "connection closed peer=%s:%d reason=%s",
                 s->cfg.host, s->cfg.port, why);
        bufferevent_free(s->bev);
        s->bev = NULL;
    }
    wire_reader_fini(&s->rd);
    wire_reader_init(&s->rd, WIRE_MAX_CONTROL);
    s->n_unsent = 0;
    for (struct sender_entry *e = s->head; e != NULL; e = e->next) {
        e->is_sent = 0;
        s->n_unsent++;
    }
    s->conn_seq = 0;
    s->last_ack_ns = 0;
    s->ping_sent_ns = 0;
    wireauth_clear(&s->auth);
    evtimer_del(s->ack_ev);
    evtimer_del(s->ping_ev);
    sender_schedule_retry(s);
}

static int
sender_write_frame(struct sender *s, uint16_t type, struct buf *payload)
{
    struct buf f;
    int rc = -1;

    buf_init(&f, SENDER_FRAME_MAX);
    if (wireauth_frame_encode(&s->auth, &f, type, payload->data,
                              payload->len, 0) == 0 &&
        bufferevent_write(s->bev, f.data, f.len) == 0) {
        s->last_write_ns = mono_ns();
        rc = 0;
    }
    buf_fini(&f);
    return rc;
}

static void
sender_send_hello(struct sender *s)
{
    struct buf p;

    buf_init(&p, 1024);
    if (getrandom(s->nonce_s, sizeof(s->nonce_s), 0) !=
        (ssize_t)sizeof(s->nonce_s)) {
        buf_fini(&p);
        log_error("sender", "getrandom failed: %s", strerror(errno));
        sender_close(s, "no random nonce");
        return;
    }
    if (wire_hello_encode(&p, s->cfg.hostname, s->cfg.use_zstd
                          ? SENDER_SOFTWARE " " WIRE_SOFTWARE_ZSTD
                          : SENDER_SOFTWARE, s->nonce_s) < 0 ||
        sender_write_frame(s, WIRE_HELLO, &p) < 0) {
        buf_fini(&p);
        sender_close(s, "cannot send hello");
        return;
    }
    buf_fini(&p);
    s->state = SENDER_HELLO_SENT;
}

/* The handshake's inputs: our token and host, both nonces. */
static struct wireauth_hello
sender_hello_args(const struct sender *s, const uint8_t *nonce_c)
{
    return (struct wireauth_hello){
        .token = s->cfg.token, .token_len = s->cfg.token_len,
        .ns = s->nonce_s, .nc = nonce_c, .host = s->cfg.hostname,
        .host_len = strlen(s->cfg.hostname),
    };
}

/* NULL if the collector proved it holds our token, else why not. */
static const char *
sender_check_collector(const struct sender *s, int auth_required,
                       const uint8_t *nonce_c, const uint8_t *proof)
{
    uint8_t want[WIRE_MAC_LEN];

    if (!auth_required)
        return "the collector asks for no token, so it cannot prove itself "
               "(a collector without --token-file, or not the collector)";
    struct wireauth_hello h = sender_hello_args(s, nonce_c);
    wireauth_proof(&h, WIREAUTH_COLLECTOR, want);
    int is_ok = hmac_equal(want, proof, WIRE_MAC_LEN);
    explicit_bzero(want, sizeof(want));
    return is_ok ? NULL
                 : "the collector did not prove it holds this host's token "
                   "(not the collector, or this host is not enrolled there "
                   "with this token)";
}

/* Nothing more is sent to a collector that could not prove itself; the
 * next try waits the longest backoff. */
static void
sender_refuse_collector(struct sender *s, const char *why)
{
    s->ctr->collector_auth_failures++;
    log_error("sender", "refusing to send logs peer=%s:%d host=%s: %s",
              s->cfg.host, s->cfg.port, s->cfg.hostname, why);
    s->backoff_ms = SENDER_BACKOFF_MAX;
    sender_close(s, "collector not proven");
}

/* Returns -1 when the connection was closed. */
static int
sender_on_challenge(struct sender *s, const uint8_t *p, size_t len)
{
    uint8_t nonce_c[WIRE_NONCE_LEN], proof[WIRE_MAC_LEN];
    uint8_t mac[WIRE_MAC_LEN] = { 0 };
    unsigned flags;
    const char *err;

    if (wire_challenge_decode(p, len, &flags, nonce_c, proof, &err) < 0) {
        sender_close(s, err);
        return -1;
    }
    int auth_required = (flags & WIRE_CH_AUTH) != 0;
    if (s->cfg.token == NULL && auth_required) {
        log_warn("sender", "collector requires a token, none configured "
                 "(--token-file)");
        sender_close(s, "no token");
        return -1;
    }
    if (s->cfg.token != NULL) {
        const char *why = sender_check_collector(s, auth_required, nonce_c,
                                                 proof);
        if (why != NULL) {
            sender_refuse_collector(s, why);
            return -1;
        }
        struct wireauth_hello h = sender_hello_args(s, nonce_c);
        wireauth_proof(&h, WIREAUTH_SHIPPER, mac);
    }
    struct buf b;
    buf_init(&b, 64);
    int rc = wire_auth_encode(&b, mac);
    if (rc == 0)
        rc = sender_write_frame(s, WIRE_AUTH, &b);
    buf_fini(&b);
    if (rc < 0) {
        sender_close(s, "cannot send auth");
        return -1;
    }
    if (s->cfg.token != NULL) {     /* every frame from now on is tagged */
        struct wireauth_hello h = sender_hello_args(s, nonce_c);
        wireauth_start(&s->auth, &h, WIREAUTH_SHIPPER);
    }
    s->codec = sender_codec(s, flags);
    s->state = SENDER_AUTH_SENT;
    return 0;
}

/* The bufferevent's read timeout: the handshake's; 0 (none) once READY,
 * where sender_ack_timer_arm times each frame instead. */
static void
sender_set_timeout(struct sender *s, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    bufferevent_set_timeouts(s->bev, ms > 0 ? &tv : NULL, NULL);
}

static int
sender_on_welcome(struct sender *s, const uint8_t *p, size_t len)
{
    uint64_t session;
    const char *err;

    if (wire_u64_decode(p, len, &session, &err) < 0) {
        sender_close(s, err);
        return -1;
    }
    log_info("sender", "connected peer=%s:%d session=%llu queued=%zu "
             "compression=%s", s->cfg.host, s->cfg.port,
             (unsigned long long)session, s->inflight,
             s->codec.flag == WIRE_F_ZSTD ? "zstd" : "zlib");
    s->state = SENDER_READY;
    s->backoff_ms = SENDER_BACKOFF_MIN;
    sender_set_timeout(s, 0);
    s->last_write_ns = mono_ns();
    s->ping_sent_ns = 0;
    struct timeval tv = { s->cfg.ping_ms / 2000,
                          (s->cfg.ping_ms / 2 % 1000) * 1000 };
    if (evtimer_add(s->ping_ev, &tv) < 0)
        log_error("sender", "cannot arm ping timer");
    sender_write_pending(s);
    return s->bev != NULL ? 0 : -1;
}

static int
sender_on_ack(struct sender *s, const uint8_t *p, size_t len)
{
    uint64_t seq;
    const char *err;
    int was_full = !sender_can_accept(s);

    if (wire_u64_decode(p, len, &seq, &err) < 0) {
        sender_close(s, err);
        return -1;
    }
    if (seq > s->conn_seq) {
        sender_close(s, "ack for a frame never sent");
        return -1;
    }
    while (s->head != NULL && s->head->is_sent && s->head->seq <= seq) {
        struct sender_entry *e = s->head;
        s->last_ack_ns = mono_ns();
        s->head = e->next;
        if (s->head == NULL)
            s->tail = NULL;
        s->inflight -= e->cost;
        s->ctr->batches_acked++;
        for (size_t i = 0; i < e->n_commits; i++)
            s->commit_cb(s->cb_arg, e->commits[i].id, &e->commits[i].pos);
        sender_entry_free(e);
    }
    sender_ack_timer_arm(s);
    sender_check_room(s, was_full);
    return 0;
}

/* Checks and strips the frame's MAC (PROTOCOL.md "Frame MACs"); -1 when
 * the connection was closed. */
static int
sender_open_frame(struct sender *s, struct wire_frame *f)
{
    const char *err = NULL;

    if (wireauth_open(&s->auth, f, &err) == 0)
        return 0;
    if (s->auth.is_on) {
        s->ctr->frames_bad_mac++;
        log_error("sender", "frame from the collector refused peer=%s:%d "
                  "type=%u: %s", s->cfg.host, s->cfg.port,
                  (unsigned)f->type, err);
    }
    sender_close(s, err);
    return -1;
}

/* Handles one frame; -1 when the connection was closed. */
static int
sender_on_frame(struct sender *s, struct wire_frame *f)
{
    const uint8_t *p;
    size_t len;
    const char *err;

    if (sender_open_frame(s, f) < 0)
        return -1;
    if (wire_frame_payload(f, &s->scratch, &p, &len, &err) < 0) {
        sender_close(s, err);
        return -1;
    }
    if (f->type == WIRE_ERROR) {
        uint16_t code = 0;
        struct wire_str msg = { "", 0 };
        if (wire_error_decode(p, len, &code, &msg, &err) < 0)
            msg.p = err, msg.len = strlen(err);
        log_error("sender", "collector error peer=%s:%d code=%u: %.*s",
                  s->cfg.host, s->cfg.port, code, (int)msg.len, msg.p);
        sender_close(s, "error frame");
        return -1;
    }
    if (f->type == WIRE_CHALLENGE && s->state == SENDER_HELLO_SENT)
        return sender_on_challenge(s, p, len);
    if (f->type == WIRE_WELCOME && s->state == SENDER_AUTH_SENT)
        return sender_on_welcome(s, p, len);
    if (f->type == WIRE_ACK && s->state == SENDER_READY)
        return sender_on_ack(s, p, len);
    if (f->type == WIRE_PONG && s->state == SENDER_READY) {
        s->ping_sent_ns = 0;
        return 0;
    }
    sender_close(s, "unexpected frame");
    return -1;
}

/* Writes one queued frame, tagged when the session's MACs are on (the
 * queue keeps frames untagged: the tag depends on the connection). */
static int
sender_write_entry(struct sender *s, const struct sender_entry *e)
{
    uint8_t hdr[WIRE_HEADER_LEN], tag[WIRE_MAC_LEN];

    if (!s->auth.is_on)
        return bufferevent_write(s->bev, e->frame.data, e->frame.len);
    if (wireauth_seal(&s->auth, e->frame.data, e->frame.len, hdr, tag) < 0)
        return -1;
    if (bufferevent_write(s->bev, hdr, sizeof(hdr)) < 0 ||
        bufferevent_write(s->bev, e->frame.data + WIRE_HEADER_LEN,
                          e->frame.len - WIRE_HEADER_LEN) < 0 ||
        bufferevent_write(s->bev, tag, sizeof(tag)) < 0)
        return -1;
    return 0;
}

/*
 * Writes the queued frames not yet sent on this connection, in order, up to
 * the first one still being compressed. Ready frames further on that carry
 * the wrong seq are sent to be renumbered meanwhile (one job each; a frame
 * still being compressed is checked when it is done).
 */
static void
sender_write_pending(struct sender *s)
{
    if (s->state != SENDER_READY)
        return;
    int is_blocked = 0;
    uint64_t seq = s->conn_seq;
    int64_t now = mono_ns();
    for (struct sender_entry *e = s->head; e != NULL; e = e->next) {
        if (e->is_sent)
            continue;
        seq++;
        if (e->is_ready &&
            (e->seq != seq || sender_entry_codec(e) != s->codec.flag) &&
            sender_entry_reseq(s, e, seq) < 0) {
            sender_close(s, "re-encode failed");
            return;
        }
        if (!e->is_ready ||
            evbuffer_get_length(bufferevent_get_output(s->bev)) >=
            SENDER_OUT_MAX)
            is_blocked = 1;
        if (is_blocked)
            continue;
        if (sender_write_entry(s, e) < 0) {
            sender_close(s, "write failed");
            return;
        }
        if (e->was_sent)
            s->ctr->batches_resent++;
        e->is_sent = 1;
        e->was_sent = 1;
        e->sent_ns = now;
        s->last_write_ns = now;
        s->n_unsent--;
        s->conn_seq = seq;
        s->ctr->batches_sent++;
    }
    sender_ack_timer_arm(s);
}

/*
 * Arms the ACK timer for the oldest frame sent and not acknowledged: its
 * ACK is due ack_timeout after it was sent, or after the ACK of the frame
 * before it if that came later (frames written back to back after a
 * reconnect are acked one by one: each gets the whole timeout). Runs only
 * while a frame waits, so an idle connection never times out and a frame
 * sent late in an idle stretch gets its full time (it used to be the read
 * timeout, running since the last byte read). No frame waiting: disarmed.
 */
static void
sender_ack_timer_arm(struct sender *s)
{
    const struct sender_entry *e = s->head;

    if (e == NULL || !e->is_sent || s->state != SENDER_READY) {
        evtimer_del(s->ack_ev);
        return;
    }
    int64_t since = e->sent_ns > s->last_ack_ns ? e->sent_ns : s->last_ack_ns;
    int64_t left = since + (int64_t)s->cfg.ack_timeout_ms * 1000000 -
                   mono_ns();
    if (left < 0)
        left = 0;
    struct timeval tv = { (time_t)(left / 1000000000),
                          (suseconds_t)(left % 1000000000 / 1000) };
    if (evtimer_add(s->ack_ev, &tv) < 0)
        log_error("sender", "cannot arm ack timer");
}

/* ---- event callbacks ---- */

/* A collector speaking another protocol version (PROTOCOL.md "Versions"):
 * say which side to upgrade, and retry slowly. */
static void
sender_wrong_version(struct sender *s, int version)
{
    log_error("sender", "collector speaks protocol version %d, this shipper "
              "%d: upgrade the %s peer=%s:%d", version, WIRE_VERSION,
              version < WIRE_VERSION ? "collector" : "shipper",
              s->cfg.host, s->cfg.port);
    s->backoff_ms = SENDER_BACKOFF_MAX;
    sender_close(s, "protocol version");
}

/* The output buffer drained to SENDER_OUT_MAX / 2: write what waits. */
static void
sender_write_cb(struct bufferevent *bev, void *arg)
{
    sender_write_pending(arg);
}

static void
sender_read_cb(struct bufferevent *bev, void *arg)
{
    struct sender *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct wire_frame f;
    enum wire_rd rc;

    while ((rc = wire_ev_next(&s->rd, in, &f)) == WIRE_RD_OK) {
        if (sender_on_frame(s, &f) < 0)
            return;
    }
    if (rc == WIRE_RD_BAD_VERSION)
        sender_wrong_version(s, wire_reader_bad_version(&s->rd));
    else if (rc != WIRE_RD_NEED_MORE)
        sender_close(s, wire_rd_str(rc));
}

static void
sender_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct sender *s = arg;

    if (what & BEV_EVENT_CONNECTED) {
        sender_set_timeout(s, SENDER_HANDSHAKE_S * 1000);
        sender_send_hello(s);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT)   /* only set before READY */
        sender_close(s, "handshake timeout");
    else if (what & BEV_EVENT_EOF)
        sender_close(s, sender_is_tls_refusal(s)
                     ? "peer closed after HELLO (a TLS port? give --tls-ca)"
                     : "peer closed");
    else if (what & BEV_EVENT_ERROR)
        sender_close_error(s, bev);
}

/* A plaintext HELLO that a TLS port closes on (reset, as it was unread). */
static int
sender_is_tls_refusal(const struct sender *s)
{
    return s->cfg.tls == NULL && s->state == SENDER_HELLO_SENT;
}

/* The reason of a failed connection: DNS, TLS (a certificate the CA did
 * not sign or that names another host, a peer that does not speak TLS) or
 * the socket's. */
static void
sender_close_error(struct sender *s, struct bufferevent *bev)
{
    int dns = bufferevent_socket_get_dns_error(bev);
    char why[300], tls[256] = "";
    int err = EVUTIL_SOCKET_ERROR();

    if (s->cfg.tls != NULL)
        tls_bev_error(bev, tls, sizeof(tls));
    if (dns != 0)
        snprintf(why, sizeof(why), "%s", evutil_gai_strerror(dns));
    else if (tls[0] != '\0')
        snprintf(why, sizeof(why), "TLS: %s", tls);
    else
        snprintf(why, sizeof(why), "%s%s", evutil_socket_error_to_string(err),
                 sender_is_tls_refusal(s) ? " after HELLO (a TLS port? give "
                 "--tls-ca)" : "");
    sender_close(s, why);
}

static void
sender_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    sender_connect(arg);
}

/* The oldest un-acked frame's time is up (checked again: an ACK may have
 * moved the deadline since the timer was armed). */
static void
sender_ack_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sender *s = arg;
    const struct sender_entry *e = s->head;

    if (e == NULL || !e->is_sent || s->state != SENDER_READY)
        return;
    int64_t since = e->sent_ns > s->last_ack_ns ? e->sent_ns : s->last_ack_ns;
    if (mono_ns() - since < (int64_t)s->cfg.ack_timeout_ms * 1000000) {
        sender_ack_timer_arm(s);
        return;
    }
    sender_close(s, "ack timeout");
}

/*
 * Keepalive (PROTOCOL.md): when nothing was written for ping_ms, a PING,
 * so the collector's idle timeout spares an idle but healthy shipper; a
 * PING left without PONG for 1.5 ping_ms means the collector is gone (or
 * the path to it): reconnect, so a dead collector is noticed within about
 * 3 ping_ms even when no batch waits for an ACK.
 */
static void
sender_ping_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sender *s = arg;
    int64_t now = mono_ns(), ping_ns = (int64_t)s->cfg.ping_ms * 1000000;

    if (s->state != SENDER_READY)
        return;
    if (s->ping_sent_ns != 0 && now - s->ping_sent_ns >= ping_ns * 3 / 2) {
        sender_close(s, "ping timeout");
        return;
    }
    if (s->ping_sent_ns == 0 && now - s->last_write_ns >= ping_ns) {
        struct buf p;
        buf_init(&p, 16);
        int rc = wire_u64_encode(&p, (uint64_t)now);
        if (rc == 0)
            rc = sender_write_frame(s, WIRE_PING, &p);
        buf_fini(&p);
        if (rc < 0) {
            sender_close(s, "cannot send ping");
            return;
        }
        s->ping_sent_ns = now;
    }
    struct timeval tv = { s->cfg.ping_ms / 2000,
                          (s->cfg.ping_ms / 2 % 1000) * 1000 };
    if (evtimer_add(s->ping_ev, &tv) < 0)
        log_error("sender", "cannot arm ping timer");
}

static void
sender_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sender *s = arg;

    s->is_flush_armed = 0;
    sender_flush(s);
}

/* A worker finished e's frame (compressor.c, on the loop thread). */
static void
sender_compressed_cb(void *arg, struct compressor_job *job)
{
    struct sender *s = arg;
    struct sender_entry *e = job->arg;
    int was_full = !sender_can_accept(s);

    /* Sizes are capped (config.c, SENDER_RAW_MAX) and a RESEQ input is a
     * frame we made: neither can fail short of memory corruption. */
    if (job->rc < 0)
        fatalx("sender", "cannot encode frame seq=%llu",
               (unsigned long long)job->seq);
    if (job->kind == COMPRESSOR_RESEQ) {
        sender_entry_reframed(s, e, job->seq);
    } else {
        sender_enc_put(s, e->enc);
        e->enc = NULL;
        s->n_raw--;
        s->inflight = s->inflight - e->cost + e->frame.len;
        e->cost = e->frame.len;
    }
    e->is_ready = 1;
    sender_write_pending(s);
    sender_check_room(s, was_full);
}

static void
sender_connect(struct sender *s)
{
    if (s->n_connects++ > 0)
        s->ctr->reconnects++;
    /* over TLS, BEV_EVENT_CONNECTED means the collector's certificate and
     * name were verified: nothing is sent before that */
    s->bev = s->cfg.tls != NULL
             ? tls_bev_connect(s->cfg.tls, s->base, s->cfg.host)
             : bufferevent_socket_new(s->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (s->bev == NULL) {
        log_error("sender", "cannot create bufferevent");
        sender_schedule_retry(s);
        return;
    }
    bufferevent_setcb(s->bev, sender_read_cb, sender_write_cb,
                      sender_event_cb, s);
    bufferevent_setwatermark(s->bev, EV_READ, 0, SENDER_MAX_INPUT);
    bufferevent_setwatermark(s->bev, EV_WRITE, SENDER_OUT_MAX / 2, 0);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    s->state = SENDER_CONNECTING;
    sender_set_timeout(s, SENDER_HANDSHAKE_S * 1000);
    if (bufferevent_socket_connect_hostname(s->bev, s->dns, AF_UNSPEC,
                                            s->cfg.host, s->cfg.port) < 0) {
        /* the event callback may already have closed it */
        if (s->bev != NULL)
            sender_close(s, "connect failed");
    }
}

/* ---- public API ---- */

struct sender *
sender_new(struct event_base *base, const struct sender_config *cfg,
           struct shipper_counters *ctr, sender_commit_fn commit,
           sender_room_fn room, void *arg)
{
    struct sender *s = xcalloc(1, sizeof(*s));

    s->base = base;
    s->cfg = *cfg;
    s->cfg.host = xstrdup(cfg->host);
    s->cfg.hostname = xstrdup(cfg->hostname);
    if (cfg->token != NULL)
        s->cfg.token = xmemdup(cfg->token, cfg->token_len);
    s->ctr = ctr;
    s->commit_cb = commit;
    s->room_cb = room;
    s->cb_arg = arg;
    if (s->cfg.ack_timeout_ms <= 0)
        s->cfg.ack_timeout_ms = SENDER_ACK_TIMEOUT_S * 1000;
    if (s->cfg.ping_ms <= 1)
        s->cfg.ping_ms = SENDER_PING_S * 1000;
    s->backoff_ms = SENDER_BACKOFF_MIN;
    /* until a collector answers, assume it takes what we offer */
    s->codec = sender_codec(s, WIRE_CH_ZSTD);
    s->gen = 1;
    s->enc = sender_enc_get(s);
    buf_init(&s->scratch, WIRE_MAX_INFLATED);
    wire_reader_init(&s->rd, WIRE_MAX_CONTROL);
    s->retry_ev = evtimer_new(base, sender_retry_cb, s);
    s->flush_ev = evtimer_new(base, sender_flush_cb, s);
    s->ack_ev = evtimer_new(base, sender_ack_cb, s);
    s->ping_ev = evtimer_new(base, sender_ping_cb, s);
    if (s->retry_ev == NULL || s->flush_ev == NULL || s->ack_ev == NULL ||
        s->ping_ev == NULL)
        goto fail;
    s->comp = compressor_new(base, cfg->compress_threads,
                             sender_compressed_cb, s);
    if (s->comp == NULL) {
        log_error("sender", "cannot start compression threads=%d",
                  cfg->compress_threads);
        goto fail;
    }
    return s;
fail:
    sender_free(s);
    return NULL;
}

void
sender_free(struct sender *s)
{
    if (s == NULL)
        return;
    compressor_free(s->comp);   /* joined: no worker touches entries now */
    if (s->bev != NULL)
        bufferevent_free(s->bev);
    if (s->dns != NULL)
        evdns_base_free(s->dns, 0);
    if (s->retry_ev != NULL)
        event_free(s->retry_ev);
    if (s->flush_ev != NULL)
        event_free(s->flush_ev);
    if (s->ack_ev != NULL)
        event_free(s->ack_ev);
    if (s->ping_ev != NULL)
        event_free(s->ping_ev);
    while (s->head != NULL) {
        struct sender_entry *e = s->head;
        s->head = e->next;
        sender_entry_free(e);
    }
    sender_enc_free(s->enc);
    for (size_t i = 0; i < s->n_spare; i++)
        sender_enc_free(s->spare[i]);
    buf_fini(&s->scratch);
    wire_reader_fini(&s->rd);
    free(s->commits);
    free((void *)s->cfg.token);
    free((char *)s->cfg.hostname);
    free((char *)s->cfg.host);
    free(s);
}

int
sender_start(struct sender *s)
{
    s->dns = evdns_base_new(s->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                            EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (s->dns == NULL)
        log_warn("sender", "no async resolver, using getaddrinfo");
    sender_connect(s);
    return 0;
}

/*
 * Raw batches take 2-4x their counted bytes (the encoder's records and
 * the contiguous payload, each grown by doubling), so past one waiting
 * batch per worker (a worker always has the next one ready) reading
 * stops: files are the buffer, and the shipper's peak RSS no longer grows
 * with max_inflight when the reader outruns deflate.
 */
int
sender_can_accept(const struct sender *s)
{
    return s->inflight < s->cfg.max_inflight &&
           s->n_raw <= (size_t)s->cfg.compress_threads;
}

/* Adds src to the open batch if needed; -1 when the batch is full. */
static int
sender_add_source(struct sender *s, struct sender_source *src,
                  uint64_t start)
{
    if (src->batch_gen == s->gen)
        return 0;
    struct wire_source ws = {
        .id = { src->id, strlen(src->id) },
        .name = { src->name, strlen(src->name) },
        .image = { src->image, strlen(src->image) },
        .labels = { src->labels, strlen(src->labels) },
        .start = start,
    };
    if (ws.labels.len > WIRE_MAX_LABELS_LEN)
        ws.labels.len = 0;   /* docker.c caps it; never send a bad frame */
    int idx = wire_batch_enc_add_source(s->enc, &ws);
    if (idx < 0)
        return -1;
    if ((size_t)idx >= s->commits_cap) {
        s->commits_cap = s->commits_cap ? s->commits_cap * 2 : 16;
        s->commits = xreallocarray(s->commits, s->commits_cap,
                                   sizeof(*s->commits));
    }
    struct sender_commit *c = &s->commits[idx];
    size_t n = ws.id.len < WIRE_MAX_ID_LEN ? ws.id.len : WIRE_MAX_ID_LEN;
    memcpy(c->id, src->id, n);
    c->id[n] = '\0';
    src->batch_gen = s->gen;
    src->batch_idx = (uint32_t)idx;
    return 0;
}

static int
sender_try_add(struct sender *s, struct sender_source *src,
               const struct tail_record *r)
{
    if (sender_add_source(s, src, r->start) < 0)
        return -1;
    struct wire_record wr = {
        .source = src->batch_idx, .stream = r->stream, .flags = r->flags,
        .time_ns = r->time_ns, .offset = r->offset,
        .msg = { r->msg, r->msg_len },
    };
    if (wire_batch_enc_add_record(s->enc, &wr) < 0)
        return -1;
    s->commits[src->batch_idx].pos = r->resume;
    return 0;
}

void
sender_add(struct sender *s, struct sender_source *src,
           const struct tail_record *r)
{
    if (sender_try_add(s, src, r) < 0) {
        sender_flush(s);
        /* An empty batch holds any source and record tail can produce
         * (max_record is capped far below SENDER_RAW_MAX by config.c). */
        if (sender_try_add(s, src, r) < 0)
            fatalx("sender", "record does not fit an empty batch len=%zu",
                   r->msg_len);
    }
    if (wire_batch_enc_raw_len(s->enc) >= s->cfg.batch_bytes) {
        sender_flush(s);
    } else if (!s->is_flush_armed) {
        struct timeval tv = { s->cfg.flush_ms / 1000,
                              (s->cfg.flush_ms % 1000) * 1000 };
        if (evtimer_add(s->flush_ev, &tv) == 0)
            s->is_flush_armed = 1;
    }
}

void
sender_flush(struct sender *s)
{
    if (s->is_flush_armed) {
        evtimer_del(s->flush_ev);
        s->is_flush_armed = 0;
    }
    if (s->enc->n_records == 0)
        return;
    struct sender_entry *e = xcalloc(1, sizeof(*e));
    e->type = WIRE_BATCH;
    e->seq = sender_next_seq(s);
    buf_init(&e->frame, SENDER_FRAME_MAX);
    buf_init(&e->reframe, SENDER_FRAME_MAX);
    e->enc = s->enc;
    e->cost = wire_batch_enc_raw_len(e->enc);
    e->n_commits = e->enc->n_sources;
    e->commits = xmemdup(s->commits, e->n_commits * sizeof(*e->commits));
    s->enc = sender_enc_get(s);
    s->gen++;
    sender_enqueue(s, e);
    s->n_raw++;
    e->job = (struct compressor_job){
        .kind = COMPRESSOR_BATCH, .enc = e->enc, .seq = e->seq,
        .codec = s->codec, .out = &e->frame, .arg = e,
    };
    compressor_submit(s->comp, &e->job);   /* done: sender_compressed_cb */
}

int
sender_send_metrics(struct sender *s, struct wire_metrics_enc *m,
                    int64_t time_ns)
{
    if (!sender_can_accept(s) || m->n_samples == 0) {
        s->ctr->metrics_dropped++;
        return -1;
    }
    struct sender_entry *e = xcalloc(1, sizeof(*e));
    e->type = WIRE_METRICS;
    e->seq = sender_next_seq(s);
    buf_init(&e->frame, SENDER_FRAME_MAX);
    buf_init(&e->reframe, SENDER_FRAME_MAX);
    if (wire_metrics_enc_finish_codec(m, e->seq, time_ns, &e->frame,
                                      &s->codec) < 0) {
        sender_entry_free(e);
        s->ctr->metrics_dropped++;
        return -1;
    }
    e->is_ready = 1;
    e->cost = e->frame.len;
    sender_enqueue(s, e);
    sender_write_pending(s);
    return 0;
}

size_t
sender_unwritten_bytes(const struct sender *s)
{
    return s->bev != NULL
           ? evbuffer_get_length(bufferevent_get_output(s->bev)) : 0;
}

int
sender_is_drained(const struct sender *s)
{
    return s->head == NULL && s->enc->n_records == 0;
}

int
sender_is_ready(const struct sender *s)
{
    return s->state == SENDER_READY;
}

size_t
sender_inflight_bytes(const struct sender *s)
{
    return s->inflight;
}
