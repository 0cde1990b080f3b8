/* SPDX-License-Identifier: MIT */
/*
 * ingest: shipper connections (protocol in common/PROTOCOL.md).
 *
 * Each connection is a bufferevent whose input is capped by a read high
 * watermark and moved into the connection's frame reader (common/wire.c
 * via wire_ev.c), which holds at most one maximum frame: WIRE_MAX_CONTROL
 * (4 KiB) before WELCOME, WIRE_MAX_PAYLOAD after, so a peer that has not
 * authenticated costs a few KiB and a shipper at most one frame; whole
 * frames go to the pure payload decoders. Handshake (PROTOCOL.md "Identity
 * and handshake"): HELLO names the host, whose token (hostkeys.c) the
 * CHALLENGE proves we hold and the AUTH must prove the shipper holds; then
 * WELCOME, under a timeout; anything else before WELCOME closes the
 * connection. From WELCOME on, with tokens, every frame both ways carries
 * a MAC under the session's keys (common/wireauth.c): a frame that fails
 * it is counted (frames_bad_mac) and closes the connection.
 *
 * Durability and acks: BATCH records are store_append()ed as they arrive
 * and the frame's seq is remembered as pending. A short timer (group
 * commit, INGEST_COMMIT_DELAY_US) then runs one store_commit() for every
 * connection at once and only afterwards sends each connection an ACK for
 * its highest pending seq. If the commit fails (disk full), nothing is
 * acknowledged, reading stops on every connection (backpressure: shippers
 * keep their batches) and the commit is retried on a timer. After each
 * successful commit the records staged in follow.c are published.
 *
 * Decoding off the loop: a data frame (BATCH, METRICS) whose MAC checks
 * out is copied into one of INGEST_DEC_JOBS decode jobs (ingest_dec.c)
 * and inflated and decoded on the ingest's decoding thread; the loop
 * then stores its records. Each connection delivers its jobs in the
 * order its frames arrived (a FIFO per connection: the seq check, the
 * store's order and the ACK rule above are exactly as if the loop had
 * decoded inline), holds at most INGEST_CONN_JOBS of them and takes no
 * further frame off its input while it is at that bound or no job is
 * free (then it waits in a FIFO of connections, so every shipper gets
 * its turn): it stops reading its socket and TCP pushes back. Memory is the jobs'
 * buffers, not one per shipper. Jobs still decoding when their
 * connection goes keep the connection's struct (is_gone) until they come
 * back; frames decoded but not yet stored are dropped with the
 * connection, never acknowledged (the shipper sends them again).
 *
 * The source-string scratch buffer is shared by all connections (storing
 * is synchronous on the loop thread). Protocol errors are logged with the
 * peer (rate-limited), counted and close only that connection.
 */
#include "collector/ingest/ingest.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "collector/ingest/hostcap.h"
#include "collector/ingest/ingest_dec.h"
#include "collector/ingest/hostkeys.h"
#include "collector/ingest/labelcache.h"
#include "collector/ingest/listen.h"
#include "collector/ingest/lossfile.h"
#include "collector/ingest/losses.h"
#include "collector/ingest/losssave.h"
#include "collector/ingest/poscheck.h"
#include "collector/ingest/srccheck.h"
#include "common/fnv.h"
#include "common/hmac.h"
#include "common/labelset.h"
#include "common/log.h"
#include "common/secret.h"
#include "common/timeutil.h"
#include "common/tls.h"
#include "common/wire_ev.h"
#include "common/wireauth.h"
#include "common/xmalloc.h"

/* Socket input staged before it moves into the connection's frame reader,
 * which holds at most one frame itself: before WELCOME one control frame
 * (PROTOCOL.md "Before the handshake"), so an unauthenticated peer costs
 * a few KiB; afterwards a bit of slack for reading ahead. */
#define INGEST_PREAUTH_INPUT    (WIRE_HEADER_LEN + WIRE_MAX_CONTROL)
#define INGEST_MAX_INPUT        (64u << 10)
#define INGEST_COMMIT_DELAY_US  2000
#define INGEST_RETRY_S          1
#define INGEST_CLOSE_GRACE_S    2
#define INGEST_MAX_HOST         HOSTKEYS_MAX_HOST
#define INGEST_MAX_SOFTWARE     128
#define INGEST_CTRL_MAX         4096    /* control frames we send */
#define INGEST_LOG_WINDOW_NS    INT64_C(10000000000)
#define INGEST_LOG_PER_WINDOW   20
#define INGEST_LABELS_LOG_PER_WINDOW 5  /* label sets refused, own budget */
/* Decoding off the loop (see above): one thread keeps the decoder's CPU
 * at one core next to the loop and the sealer on the 2-core hosts this is
 * measured on; jobs bound the buffers (each up to WIRE_MAX_PAYLOAD in and
 * WIRE_MAX_INFLATED out, grown only as far as the frames need). */
#define INGEST_DEC_THREADS      1
#define INGEST_DEC_JOBS         4
#define INGEST_CONN_JOBS        2
#define INGEST_LOSSES_MAX       4096    /* sources with lost data shown */
/* The lost-data file is rewritten (whole, fsync) on the loop at most this
 * often: a full table is ~0.75 MiB, 13-35 ms a write on the shared 2-core
 * VM, and every shipper's METRICS frame may change it. */
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
    uint64_t             acked_seq;
    uint64_t             n_batches;
    uint64_t             n_records;
};

struct ingest_src {
    size_t id, name, image;     /* offsets into ing->srcbuf */
    const struct labelset *labels;  /* the store's set (lives until it
                                       closes), NULL: none */
    struct poscheck pos;        /* PROTOCOL.md "Plausible positions" */
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
    struct event            *losses_ev; /* pending save of the losses */
    struct store            *store;
    struct follow           *follow;
    struct collector_stats  *stats;
    struct ingest_options    opt;
    const struct hostkeys   *host_keys;
    TAILQ_HEAD(, ingest_conn) conns;
    int                      n_conns;
    int                      has_pending;
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
    struct losssave         *saver;      /* writes the file, off the loop */
    int                      is_lossfile_failing; /* warned once */
    struct hostcap          *hostcap;
};

static void ingest_conn_process(struct ingest_conn *c);
static void ingest_schedule_commit(struct ingest *ing);

/* ---- helpers ---- */

/* Warn-level log line with a per-window budget so a reconnect loop of a
 * broken shipper, or anyone before authentication, cannot flood the log;
 * the counters still see everything, and the lines left out are counted
 * (log_lines_suppressed) and summed up once the next window starts. Peer
 * strings in fmt's arguments are passed through log_esc() by the caller. */
static void __attribute__((format(printf, 2, 3)))
ingest_log_limited(struct ingest *ing, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    uint64_t n_ended;
    int is_ok = log_limit_allow(&ing->log_budget, mono_ns(), &n_ended);

    if (n_ended > 0)
        log_warn("ingest", "suppressed %" PRIu64 " similar messages",
                 n_ended);
    if (!is_ok) {
        ing->stats->log_lines_suppressed++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_warn("ingest", "%s", line);
}

/* The handshake's inputs for c's host (token and both nonces). */
static struct wireauth_hello
ingest_conn_hello_args(const struct ingest_conn *c)
{
    return (struct wireauth_hello){
        .token = c->token, .token_len = c->token_len, .ns = c->nonce_s,
        .nc = c->nonce, .host = c->host, .host_len = strlen(c->host),
    };
}

/* ---- connection lifetime ---- */

/* Back on the free list; a connection waiting for it is resumed from the
 * loop (kick_ev), never from inside another connection's processing. */
static void
ingest_job_put(struct ingest *ing, struct ingest_job *j)
{
    struct ingest_conn *c = j->c;

    TAILQ_REMOVE(&c->jobs, j, entry);
    c->n_jobs--;
    ingest_dec_release(&j->d);
    j->c = NULL;
    TAILQ_INSERT_TAIL(&ing->free_jobs, j, entry);
    if (!TAILQ_EMPTY(&ing->waiting) && !ing->is_freeing)
        event_active(ing->kick_ev, 0, 0);
}

static void
ingest_conn_free(struct ingest_conn *c)
{
    struct ingest *ing = c->ing;
    struct ingest_job *j, *next;

    TAILQ_REMOVE(&ing->conns, c, entry);
    ing->n_conns--;
    if (c->is_waiting)
        TAILQ_REMOVE(&ing->waiting, c, wait_entry);
    c->is_waiting = 0;
    hostcap_release(ing->hostcap, c->hc_host, now_ns());
    c->hc_host = NULL;
    if (c->timer != NULL)
        event_free(c->timer);
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    c->timer = NULL;
    c->bev = NULL;
    wire_reader_fini(&c->rd);
    wireauth_clear(&c->auth);
    if (c->token != NULL)
        secret_free(c->token, c->token_len);
    c->token = NULL;
    for (j = TAILQ_FIRST(&c->jobs); j != NULL; j = next) {
        next = TAILQ_NEXT(j, entry);
        if (j->is_done)
            ingest_job_put(ing, j);
    }
    if (c->n_jobs > 0) {
        c->is_gone = 1;         /* the pool hands the rest back */
        return;
    }
    free(c);
}

/* Arms c's timer ns from now. */
static void
ingest_conn_arm(struct ingest_conn *c, int64_t ns)
{
    struct timeval tv = { (time_t)(ns / 1000000000),
                          (suseconds_t)(ns % 1000000000 / 1000) };

    evtimer_add(c->timer, &tv);
}

/* Queues a control frame (tagged once the session's MACs are on); the
 * payload is already in ing->payload. */
static int
ingest_conn_send(struct ingest_conn *c, uint16_t type)
{
    struct ingest *ing = c->ing;

    buf_reset(&ing->frame);
    if (wireauth_frame_encode(&c->auth, &ing->frame, type, ing->payload.data,
                              ing->payload.len, 0) < 0 ||
        bufferevent_write(c->bev, ing->frame.data, ing->frame.len) < 0) {
        ingest_log_limited(ing, "cannot queue frame type=%u peer=%s",
                           (unsigned)type, c->peer);
        return -1;
    }
    return 0;
}

/* Sends ERROR (best effort) and closes once it is written, or after a grace
 * period. Never frees c: callers may be inside c's own processing loop. */
static void
ingest_conn_closing(struct ingest_conn *c)
{
    struct timeval grace = { INGEST_CLOSE_GRACE_S, 0 };

    c->state = INGEST_CLOSING;
    bufferevent_disable(c->bev, EV_READ);
    evtimer_del(c->timer);
    evtimer_add(c->timer, &grace);
}

static void
ingest_conn_close(struct ingest_conn *c, uint16_t code, const char *msg)
{
    if (c->state == INGEST_CLOSING)
        return;
    buf_reset(&c->ing->payload);
    if (wire_error_encode(&c->ing->payload, code, msg) == 0)
        (void)ingest_conn_send(c, WIRE_ERROR);
    ingest_conn_closing(c);
}

static void
ingest_conn_reject(struct ingest_conn *c, uint16_t code, const char *why,
                   const char *detail)
{
    c->ing->stats->frames_rejected++;
    ingest_log_limited(c->ing, "protocol error, closing peer=%s host=%s "
                       "error=\"%s%s%s\"", c->peer,
                       c->host[0] ? c->host_log : "-", why, detail ? ": " : "",
                       detail ? detail : "");
    ingest_conn_close(c, code, why);
}

/* A peer speaking another protocol version: an ERROR it can read (in its
 * own version's header when older, PROTOCOL.md "Versions"), then close. */
static void
ingest_conn_reject_version(struct ingest_conn *c, int version)
{
    struct ingest *ing = c->ing;
    char msg[200];

    snprintf(msg, sizeof(msg), "protocol version %d is not accepted: this "
             "collector speaks version %d only (per-host tokens, frame "
             "MACs); upgrade the %s", version, WIRE_VERSION,
             version < WIRE_VERSION ? "shipper" : "collector");
    ing->stats->frames_rejected++;
    ingest_log_limited(ing, "protocol version %d refused, closing peer=%s",
                       version, c->peer);
    buf_reset(&ing->frame);
    if (version > 0 && version < WIRE_VERSION &&
        wire_version_error_encode(&ing->frame, (uint8_t)version, msg) == 0 &&
        bufferevent_write(c->bev, ing->frame.data, ing->frame.len) == 0) {
        ingest_conn_closing(c);
        return;
    }
    ingest_conn_close(c, WIRE_ERR_VERSION, msg);
}

/* ---- handshake ---- */

/* With --tls-client-ca the verified client certificate must name the host
 * of the HELLO (common/tls.h: CN or DNS SAN, exact): a shipper enrolled
 * for one host cannot send as another. */
static int
ingest_conn_cert_check(struct ingest_conn *c)
{
    struct ingest *ing = c->ing;

    if (ing->opt.tls == NULL || !tls_ctx_has_client_ca(ing->opt.tls) ||
        tls_bev_peer_is(c->bev, c->host))
        return 0;
    ing->stats->auth_failures++;
    ingest_log_limited(ing, "client certificate does not name the host "
                       "peer=%s host=%s", c->peer, c->host_log);
    ingest_conn_close(c, WIRE_ERR_AUTH, "client certificate does not name "
                      "this host");
    return -1;
}

/* Our CHALLENGE: the nonce, and the proof that we hold the host's token.
 * For a host that is not enrolled the proof is random, so a stranger
 * learns nothing from it; its AUTH is refused. */
static int
ingest_conn_challenge(struct ingest_conn *c)
{
    struct ingest *ing = c->ing;
    uint8_t proof[WIRE_MAC_LEN] = { 0 };
    int is_auth = ing->host_keys != NULL;

    if (getrandom(c->nonce, sizeof(c->nonce), 0) != (ssize_t)sizeof(c->nonce) ||
        (is_auth && c->token == NULL &&
         getrandom(proof, sizeof(proof), 0) != (ssize_t)sizeof(proof))) {
        log_error("ingest", "getrandom failed: %s", strerror(errno));
        return -1;
    }
    if (c->token != NULL) {
        struct wireauth_hello h = ingest_conn_hello_args(c);
        wireauth_proof(&h, WIREAUTH_COLLECTOR, proof);
    }
    buf_reset(&ing->payload);
    if (wire_challenge_encode(&ing->payload, is_auth, c->nonce, proof) < 0 ||
        ingest_conn_send(c, WIRE_CHALLENGE) < 0)
        return -1;
    return 0;
}

static int
ingest_conn_hello(struct ingest_conn *c, const uint8_t *p, size_t len)
{
    struct ingest *ing = c->ing;
    struct wire_str host, sw;
    const char *err = NULL;

    if (wire_hello_decode(p, len, &host, &sw, c->nonce_s, &err) < 0) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad HELLO", err);
        return -1;
    }
    if (!hostkeys_is_host(host.p, host.len)) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad hostname in HELLO",
                           NULL);
        return -1;
    }
    memcpy(c->host, host.p, host.len);
    c->host[host.len] = '\0';
    log_esc(c->host_log, sizeof(c->host_log), c->host, host.len);
    if (ingest_conn_cert_check(c) < 0)
        return -1;
    size_t sl = sw.len < INGEST_MAX_SOFTWARE ? sw.len : INGEST_MAX_SOFTWARE;
    memcpy(c->software, sw.p, sl);
    c->software[sl] = '\0';
    const char *tok = ing->host_keys == NULL ? NULL
                      : hostkeys_get(ing->host_keys, host.p, host.len,
                                     &c->token_len);
    if (tok != NULL) {
        c->token = xmalloc(c->token_len + 1);
        memcpy(c->token, tok, c->token_len);
        c->token[c->token_len] = '\0';
    }
    if (ingest_conn_challenge(c) < 0) {
        ingest_conn_close(c, WIRE_ERR_BUSY, "collector error");
        return -1;
    }
    c->state = INGEST_AUTH_WAIT;
    return 0;
}

/* 1 if mac proves the host's token (always 0 for a host not enrolled). */
static int
ingest_conn_is_proven(const struct ingest_conn *c, const uint8_t *mac)
{
    uint8_t want[WIRE_MAC_LEN];

    if (c->token == NULL)
        return 0;
    struct wireauth_hello h = ingest_conn_hello_args(c);
    wireauth_proof(&h, WIREAUTH_SHIPPER, want);
    int is_ok = hmac_equal(mac, want, WIRE_MAC_LEN);
    explicit_bzero(want, sizeof(want));
    return is_ok;
}

static int
ingest_conn_auth(struct ingest_conn *c, const uint8_t *p, size_t len)
{
    struct ingest *ing = c->ing;
    uint8_t mac[WIRE_MAC_LEN];
    const char *err = NULL;

    if (wire_auth_decode(p, len, mac, &err) < 0) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad AUTH", err);
        return -1;
    }
    if (ing->host_keys != NULL) {
        if (!ingest_conn_is_proven(c, mac)) {
            ing->stats->auth_failures++;
            ingest_log_limited(ing, "authentication failed peer=%s host=%s "
                               "reason=\"%s\"", c->peer, c->host_log,
                               c->token ? "wrong token for this host"
                                        : "host not enrolled");
            ingest_conn_close(c, WIRE_ERR_AUTH, "authentication failed");
            return -1;
        }
        struct wireauth_hello h = ingest_conn_hello_args(c);
        wireauth_start(&c->auth, &h, WIREAUTH_COLLECTOR);
    }
    c->hc_host = hostcap_acquire(ing->hostcap, c->host);
    if (c->hc_host == NULL) {
        ing->stats->hosts_refused++;
        ingest_log_limited(ing, "host refused: %zu hosts known (--max-hosts) "
                           "peer=%s host=%s", hostcap_n_hosts(ing->hostcap),
                           c->peer, c->host_log);
        ingest_conn_close(c, WIRE_ERR_BUSY, "too many hosts");
        return -1;
    }
    buf_reset(&ing->payload);
    if (wire_u64_encode(&ing->payload, ++ing->next_session) < 0 ||
        ingest_conn_send(c, WIRE_WELCOME) < 0) {
        ingest_conn_close(c, WIRE_ERR_BUSY, "collector error");
        return -1;
    }
    c->state = INGEST_READY;
    c->last_frame_ns = mono_ns();
    evtimer_del(c->timer);
    ingest_conn_arm(c, ing->opt.idle_timeout_ns);
    wire_reader_set_max(&c->rd, WIRE_MAX_PAYLOAD);
    bufferevent_setwatermark(c->bev, EV_READ, 0, INGEST_MAX_INPUT);
    char sw[LOG_ESC_SIZE];
    log_info("ingest", "shipper connected host=%s peer=%s software=\"%s\"",
             c->host_log, c->peer,
             log_esc(sw, sizeof(sw), c->software, strlen(c->software)));
    return 0;
}

/* ---- batches and metrics ---- */

/* A source the store does not hold yet must fit under its host's cap
 * (PROTOCOL.md "Caps on hosts and sources"); s->id is NUL-terminated in
 * srcbuf by now. */
static void
ingest_source_cap(struct ingest_conn *c, struct ingest_src *d)
{
    struct ingest *ing = c->ing;
    const char *id = (const char *)ing->srcbuf.data + d->id;

    if (d->refused != NULL || store_has_source(ing->store, c->host, id))
        return;
    if (hostcap_add_source(ing->hostcap, c->hc_host) < 0) {
        d->refused = "too many sources for this host "
                     "(--max-sources-per-host)";
        d->refused_ctr = &ing->stats->records_refused_source_cap;
    }
}

/* Copies the batch's source strings NUL-terminated into ing->srcbuf and
 * decides which sources' records are refused. */
static int
ingest_copy_sources(struct ingest_conn *c, const struct wire_batch *b)
{
    struct ingest *ing = c->ing;

    buf_reset(&ing->srcbuf);
    for (uint32_t i = 0; i < b->n_sources; i++) {
        const struct wire_source *s = &b->sources[i];
        struct ingest_src *d = &ing->src[i];
        d->refused = srccheck_source(s);
        d->refused_ctr = &ing->stats->records_refused;
        d->is_refusal_logged = 0;
        d->id = ing->srcbuf.len;
        if (buf_append(&ing->srcbuf, s->id.p, s->id.len) < 0 ||
            buf_put_u8(&ing->srcbuf, 0) < 0)
            return -1;
        d->name = ing->srcbuf.len;
        if (buf_append(&ing->srcbuf, s->name.p, s->name.len) < 0 ||
            buf_put_u8(&ing->srcbuf, 0) < 0)
            return -1;
        d->image = ing->srcbuf.len;
        if (buf_append(&ing->srcbuf, s->image.p, s->image.len) < 0 ||
            buf_put_u8(&ing->srcbuf, 0) < 0)
            return -1;
        ingest_source_cap(c, d);
    }
    return 0;
}

/* FNV-1a 64 of the sender's labels text: the same text as last time
 * (the usual case: every batch carries it) is not even looked up, one
 * seen before (labelcache.c) not parsed again. */
static uint64_t
ingest_labels_hash(const struct wire_str *t)
{
    return fnv1a64(t->p, t->len);
}

/* A changed label set refused at the store's cap (counted there, in
 * labelsets_capped): logged on a budget of its own, so other ingest noise
 * cannot hide it nor it flood the log. */
static void
ingest_labels_capped_log(struct ingest_conn *c, const char *id)
{
    struct ingest *ing = c->ing;
    uint64_t n_ended;
    int is_ok = log_limit_allow(&ing->labels_log, mono_ns(), &n_ended);

    if (n_ended > 0)
        log_warn("ingest", "suppressed %" PRIu64 " similar messages "
                 "(label sets refused)", n_ended);
    if (!is_ok) {
        ing->stats->log_lines_suppressed++;
        return;
    }
    log_warn("ingest", "labels refused: container=%.12s was given %d label "
             "sets since the collector started (the limit); it keeps its "
             "current ones host=%s peer=%s", id, STORE_MAX_LABEL_SETS,
             c->host_log, c->peer);
}

/* The source's Docker labels (PROTOCOL.md "Source metadata"): checked,
 * stored per source (last wins, STORE.md "Source labels"), and kept in d
 * for its records' followers. After the position check has seen whether
 * the store knew the source. */
static void
ingest_source_labels(struct ingest_conn *c, struct ingest_src *d,
                     const struct wire_str *t)
{
    struct ingest *ing = c->ing;
    const char *id = (const char *)ing->srcbuf.data + d->id;
    uint64_t h = ingest_labels_hash(t);

    d->labels = NULL;
    if (d->refused != NULL || t->len == 0)    /* "": not known, keep */
        return;
    if ((d->labels = store_labels_known(ing->store, c->host, id, h)) != NULL)
        return;
    /* parsed once per text while cached; counted and logged as before */
    struct labelcache_entry e = labelcache_get(ing->labelcache, t->p, t->len,
                                               h);
    if (e.ls == NULL) {
        ing->stats->labels_invalid++;
        ingest_log_limited(ing, "labels ignored: %s host=%s peer=%s "
                           "container=%.12s", e.err, c->host_log, c->peer,
                           id);
        return;
    }
    if (e.n_dropped > 0) {
        ing->stats->labels_refused += e.n_dropped;
        ingest_log_limited(ing, "labels left out: %zu over the limits (64 "
                           "labels, 256 bytes, printable UTF-8) host=%s "
                           "peer=%s container=%.12s", e.n_dropped,
                           c->host_log, c->peer, id);
    }
    if (store_set_labels(ing->store, c->host, id, e.ls, h, &d->labels) < 0)
        ingest_labels_capped_log(c, id);
}

/* Starts each source's position check with its high water before the
 * batch and the batch's start for it, and takes its labels. */
static void
ingest_positions_begin(struct ingest_conn *c, const struct wire_batch *b)
{
    struct ingest *ing = c->ing;
    const char *base = (const char *)ing->srcbuf.data;

    for (uint32_t i = 0; i < b->n_sources; i++) {
        struct ingest_src *d = &ing->src[i];
        const char *id = base + d->id;
        poscheck_begin(&d->pos, store_has_source(ing->store, c->host, id),
                       store_source_offset(ing->store, c->host, id),
                       b->sources[i].start);
        ingest_source_labels(c, d, &b->sources[i].labels);
    }
}

/* 0 ok, -1 store error (the connection is closed, nothing acknowledged).
 * recv_ns: when its batch arrived (our wall clock, STORE.md). */
static int
ingest_store_record(struct ingest_conn *c, const struct wire_record *wr,
                    int64_t recv_ns)
{
    struct ingest *ing = c->ing;
    const char *base = (const char *)ing->srcbuf.data;
    struct ingest_src *s = &ing->src[wr->source];
    if (s->refused != NULL) {
        (*s->refused_ctr)++;
        if (!s->is_refusal_logged) {    /* once per source and batch */
            s->is_refusal_logged = 1;
            ingest_log_limited(ing, "records dropped: %s host=%s peer=%s "
                               "source=%" PRIu32, s->refused, c->host,
                               c->peer, wr->source);
        }
        return 0;
    }
    if (poscheck_record(&s->pos, wr->offset) < 0) {
        ing->stats->records_implausible++;
        if (!s->is_refusal_logged) {    /* once per source and batch */
            s->is_refusal_logged = 1;
            ingest_log_limited(ing, "records dropped: %s host=%s peer=%s "
                               "container=%.12s start=%" PRIu64 " offset=%"
                               PRIu64 " stored=%" PRIu64, s->pos.refused,
                               c->host_log, c->peer, base + s->id,
                               s->pos.start, wr->offset, s->pos.high);
        }
        return 0;
    }
    struct logrec r = {
        .time_ns = wr->time_ns, .host = c->host,
        .container_id = base + s->id, .container = base + s->name,
        .image = base + s->image, .stream = wr->stream, .flags = wr->flags,
        .offset = wr->offset, .msg = wr->msg.p, .msg_len = wr->msg.len,
        .recv_ns = recv_ns, .labels = s->labels,
    };
    int rc = store_append(ing->store, &r);

    if (rc == 1) {
        ing->stats->records_stored++;
        c->n_records++;
        if (follow_stage(ing->follow, &r) < 0)
            ing->stats->follow_records_dropped++;
        return 0;
    }
    if (rc == 0) {
        ing->stats->records_duplicate++;
        return 0;
    }
    ing->stats->store_errors++;
    ingest_log_limited(ing, "store append failed host=%s peer=%s error=\"%s\"",
                       c->host_log, c->peer, store_errstr(ing->store));
    ingest_conn_close(c, WIRE_ERR_BUSY, "store error");
    return -1;
}

static int
ingest_check_seq(struct ingest_conn *c, uint64_t seq)
{
    char detail[64];

    if (seq == c->last_seq + 1)
        return 0;
    snprintf(detail, sizeof(detail), "got %" PRIu64 " after %" PRIu64, seq,
             c->last_seq);
    ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "out of order seq", detail);
    return -1;
}

static void
ingest_mark_pending(struct ingest_conn *c, uint64_t seq)
{
    c->last_seq = seq;
    c->pending_seq = seq;
    c->ing->has_pending = 1;
    ingest_schedule_commit(c->ing);
}

/* b: decoded (and validated) by ingest_dec_run; the caller frees it. */
static int
ingest_conn_batch(struct ingest_conn *c, struct wire_batch *b)
{
    struct ingest *ing = c->ing;
    struct wire_record wr;

    if (ingest_check_seq(c, b->seq) < 0)
        return -1;
    if (ingest_copy_sources(c, b) < 0) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "BATCH sources too large",
                           NULL);
        return -1;
    }
    ingest_positions_begin(c, b);
    /* above every earlier stamp: receive order is commit order (follow.h) */
    int64_t recv_ns = follow_recv_next(ing->follow, now_ns());
    while (wire_batch_next(b, &wr) == 1) {
        if (wr.source >= b->n_sources || wr.stream > LOGREC_STDERR) {
            ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad record", NULL);
            return -1;
        }
        if (ingest_store_record(c, &wr, recv_ns) < 0)
            return -1;
    }
    ing->stats->batches++;
    c->n_batches++;
    ingest_mark_pending(c, b->seq);
    return 0;
}

/* What the saver's thread did since the last look: a failure is counted
 * and logged once per streak (the next change tries again). */
static void
ingest_losses_collect(struct ingest *ing, int *is_busy)
{
    struct losssave_result r;

    losssave_poll(ing->saver, &r);
    *is_busy = r.is_busy;
    if (r.has_saved) {
        ing->is_lossfile_failing = 0;
        ing->losses_saved = r.saved;
    }
    if (r.n_failed > 0) {
        ing->stats->losses_file_errors += r.n_failed;
        if (!ing->is_lossfile_failing)
            log_warn("ingest", "cannot save lost-data figures: %s", r.err);
        ing->is_lossfile_failing = 1;
    }
    free(r.err);
}

/* Hands the table, if changed since it was last handed over, to the
 * saver's thread (rare: a shipper's first report, a restart, a loss): the
 * loop only encodes it (bounded by INGEST_LOSSES_MAX rows), never writes
 * or waits for a disk. */
static void
ingest_losses_put(struct ingest *ing)
{
    struct buf b;

    if (losses_version(ing->losses) == ing->losses_put)
        return;
    buf_init(&b, losses_encoded_max(INGEST_LOSSES_MAX));
    if (losses_encode(ing->losses, &b) < 0) {  /* cannot happen: bounded */
        ing->stats->losses_file_errors++;
        buf_fini(&b);
        return;
    }
    ing->losses_put = losses_version(ing->losses);
    char *text = b.data != NULL ? (char *)b.data : xstrdup("");
    losssave_put(ing->saver, text, b.len, ing->losses_put);
}

/* The save timer: results first, then the newest table; again a second
 * later while the saver has work (so its result is seen). */
static void
ingest_losses_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;
    struct timeval tv = { INGEST_LOSSES_SAVE_S, 0 };
    int is_busy;

    (void)fd;
    (void)what;
    ingest_losses_collect(ing, &is_busy);
    uint64_t put = ing->losses_put;
    ingest_losses_put(ing);
    if (is_busy || ing->losses_put != put)
        evtimer_add(ing->losses_ev, &tv);
}

/* A change is handed to the saver INGEST_LOSSES_SAVE_S later, with
 * whatever else changed meanwhile; ingest_free saves what is left. */
static void
ingest_losses_schedule(struct ingest *ing)
{
    struct timeval tv = { INGEST_LOSSES_SAVE_S, 0 };

    if (ing->saver == NULL ||
        losses_version(ing->losses) == ing->losses_saved ||
        evtimer_pending(ing->losses_ev, NULL))
        return;
    evtimer_add(ing->losses_ev, &tv);
}

/* The lost-data table from its file. A bad file is logged, counted, kept
 * aside as <file>.bad and replaced by an empty table: never fatal. */
static struct losses *
ingest_losses_load(struct ingest *ing)
{
    struct losses *l = NULL;
    char *err = NULL;

    if (ing->opt.losses_path == NULL)
        return losses_new(INGEST_LOSSES_MAX);
    if (lossfile_load(ing->opt.losses_path, INGEST_LOSSES_MAX, &l,
                      &err) == 0)
        return l;
    ing->stats->losses_file_errors++;
    char *bad = NULL, *why = NULL;
    if (lossfile_set_aside(ing->opt.losses_path, &bad, &why) == 0)
        log_warn("ingest", "lost-data file unusable, starting empty: %s; "
                 "kept as %s", err, bad);
    else
        log_warn("ingest", "lost-data file unusable, starting empty: %s; "
                 "%s", err, why);
    free(bad);
    free(why);
    free(err);
    return losses_new(INGEST_LOSSES_MAX);
}

static int
ingest_conn_metrics(struct ingest_conn *c, const uint8_t *p, size_t len)
{
    struct ingest *ing = c->ing;
    struct wire_metrics m;
    const char *err = NULL;

    if (wire_metrics_decode(p, len, &m, &err) < 0) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad METRICS payload", err);
        return -1;
    }
    if (ingest_check_seq(c, m.seq) < 0)
        return -1;
    ing->stats->metrics_frames++;
    ing->stats->metric_samples += m.n_samples;
    struct wire_metrics lm = m;
    losses_feed(ing->losses, c->host, &lm);
    ingest_losses_schedule(ing);
    if (ing->metrics_fn != NULL) {
        struct wire_metrics copy = m;
        ing->metrics_fn(c->host, &copy, ing->metrics_arg);
    }
    ingest_mark_pending(c, m.seq);
    return 0;
}

/* ---- decoding off the loop ---- */

/* On the decoding thread. */
static void
ingest_job_run(struct pool_job *pj)
{
    struct ingest_job *j = pj->arg;

    ingest_dec_run(&j->d);
}

/* A decoded frame, in its connection's frame order. */
static int
ingest_job_store(struct ingest_conn *c, struct ingest_job *j)
{
    struct ingest_dec *d = &j->d;

    if (d->rc == INGEST_DEC_BAD_PAYLOAD) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad payload", d->err);
        return -1;
    }
    if (d->rc == INGEST_DEC_BAD_BATCH) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad BATCH payload", d->err);
        return -1;
    }
    if (d->type == WIRE_BATCH)
        return ingest_conn_batch(c, &d->batch);
    return ingest_conn_metrics(c, d->p, d->len);
}

/* Stores c's decoded frames from the head of its FIFO; drops them once c
 * is closing or the collector is shutting down. Held while the store is
 * failing: they go in when reading resumes. */
static void
ingest_conn_deliver(struct ingest_conn *c)
{
    struct ingest *ing = c->ing;
    struct ingest_job *j;

    while ((j = TAILQ_FIRST(&c->jobs)) != NULL && j->is_done) {
        if (c->state == INGEST_READY && j->is_run && !ing->is_shutdown) {
            if (ing->is_store_failing)
                return;
            (void)ingest_job_store(c, j);
        }
        ingest_job_put(ing, j);
    }
}

/* On the loop, from pool_drain (or pool_free at the end). */
static void
ingest_job_done(struct pool_job *pj, int is_run)
{
    struct ingest_job *j = pj->arg;
    struct ingest_conn *c = j->c;

    j->is_done = 1;
    j->is_run = is_run;
    if (c->is_gone) {
        ingest_job_put(c->ing, j);
        if (c->n_jobs == 0)
            free(c);
        return;
    }
    if (!c->ing->is_freeing)
        ingest_conn_process(c);
}

static void
ingest_dec_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;

    pool_drain(ing->dec);
}

/* Connections that waited for a free job, in the order they began to. */
static void
ingest_kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;
    struct ingest_conn *c;

    while (!TAILQ_EMPTY(&ing->free_jobs) &&
           (c = TAILQ_FIRST(&ing->waiting)) != NULL) {
        TAILQ_REMOVE(&ing->waiting, c, wait_entry);
        c->is_waiting = 0;
        ingest_conn_process(c);
    }
}

/* 1 if c may take another frame off its input now. */
static int
ingest_conn_may_take(struct ingest_conn *c)
{
    struct ingest *ing = c->ing;

    if (c->state != INGEST_READY)
        return 1;               /* handshake frames: no job */
    if (ing->is_store_failing || c->n_jobs >= INGEST_CONN_JOBS)
        return 0;               /* resumed by reading / its own jobs */
    if (!TAILQ_EMPTY(&ing->free_jobs))
        return 1;
    if (!c->is_waiting) {
        c->is_waiting = 1;
        TAILQ_INSERT_TAIL(&ing->waiting, c, wait_entry);
    }
    return 0;
}

/* Stops reading c's socket while it may not take a frame: libevent would
 * otherwise call the read callback again and again for the bytes it
 * holds (millions of times a second on the bench). Not while the store
 * is failing: ingest_set_reading owns reading then. */
static void
ingest_conn_pause(struct ingest_conn *c, int is_on)
{
    if (c->is_paused == is_on || c->state != INGEST_READY ||
        c->ing->is_store_failing)
        return;
    c->is_paused = is_on;
    if (is_on)
        bufferevent_disable(c->bev, EV_READ);
    else
        bufferevent_enable(c->bev, EV_READ);
}

/* Hands the frame to the decoding thread (a free job is there:
 * ingest_conn_may_take). */
static int
ingest_conn_data_frame(struct ingest_conn *c, const struct wire_frame *f)
{
    struct ingest *ing = c->ing;
    struct ingest_job *j = TAILQ_FIRST(&ing->free_jobs);

    if (j == NULL || ingest_dec_set(&j->d, f) < 0) {
        ingest_conn_close(c, WIRE_ERR_BUSY, "collector error");
        return -1;
    }
    TAILQ_REMOVE(&ing->free_jobs, j, entry);
    j->c = c;
    j->is_done = 0;
    j->is_run = 0;
    j->d.pj.run = ingest_job_run;
    j->d.pj.done = ingest_job_done;
    j->d.pj.arg = j;
    TAILQ_INSERT_TAIL(&c->jobs, j, entry);
    c->n_jobs++;
    if (pool_submit(ing->dec, &j->d.pj) < 0) {
        /* cannot happen (the pool queues INGEST_DEC_JOBS): inline */
        ingest_dec_run(&j->d);
        j->is_done = 1;
        j->is_run = 1;
        ingest_conn_deliver(c);
    }
    return 0;
}

/* PING: answered with PONG carrying the same u64. */
static int
ingest_conn_ping(struct ingest_conn *c, const struct wire_frame *f)
{
    uint64_t v;
    const char *err = NULL;

    if (f->flags != 0 || wire_u64_decode(f->payload, f->len, &v, &err) < 0) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad PING", err);
        return -1;
    }
    buf_reset(&c->ing->payload);
    if (wire_u64_encode(&c->ing->payload, v) < 0 ||
        ingest_conn_send(c, WIRE_PONG) < 0) {
        ingest_conn_close(c, WIRE_ERR_BUSY, "collector error");
        return -1;
    }
    return 0;
}

/* Checks and strips the frame's MAC (PROTOCOL.md "Frame MACs"). */
static int
ingest_conn_open(struct ingest_conn *c, struct wire_frame *f)
{
    const char *err = NULL;

    if (wireauth_open(&c->auth, f, &err) == 0)
        return 0;
    if (c->auth.is_on)
        c->ing->stats->frames_bad_mac++;
    ingest_conn_reject(c, WIRE_ERR_PROTOCOL, err, NULL);
    return -1;
}

static int
ingest_conn_frame(struct ingest_conn *c, struct wire_frame *f)
{
    char detail[32];

    if (ingest_conn_open(c, f) < 0)
        return -1;
    if (c->state == INGEST_HELLO_WAIT && f->type == WIRE_HELLO)
        return ingest_conn_hello(c, f->payload, f->len);
    if (c->state == INGEST_AUTH_WAIT && f->type == WIRE_AUTH)
        return ingest_conn_auth(c, f->payload, f->len);
    if (c->state == INGEST_READY) {
        c->last_frame_ns = mono_ns();
        hostcap_touch(c->hc_host, now_ns());
    }
    if (c->state == INGEST_READY &&
        (f->type == WIRE_BATCH || f->type == WIRE_METRICS))
        return ingest_conn_data_frame(c, f);
    if (c->state == INGEST_READY && f->type == WIRE_PING)
        return ingest_conn_ping(c, f);
    if (f->type == WIRE_ERROR) {
        uint16_t code = 0;
        struct wire_str msg = { "", 0 };
        const char *err = NULL;
        (void)wire_error_decode(f->payload, f->len, &code, &msg, &err);
        char m[LOG_ESC_SIZE];
        log_esc(m, sizeof(m), msg.p, msg.len);
        if (c->state == INGEST_READY)
            log_info("ingest", "shipper sent error, closing peer=%s host=%s "
                     "code=%u message=\"%s\"", c->peer, c->host_log,
                     (unsigned)code, m);
        else                    /* before authentication: anyone */
            ingest_log_limited(c->ing, "error frame before the handshake "
                               "completed, closing peer=%s host=%s code=%u "
                               "message=\"%s\"", c->peer,
                               c->host[0] ? c->host_log : "-",
                               (unsigned)code, m);
        ingest_conn_close(c, WIRE_ERR_PROTOCOL, "closing");
        return -1;
    }
    snprintf(detail, sizeof(detail), "type %u", (unsigned)f->type);
    ingest_conn_reject(c, WIRE_ERR_PROTOCOL,
                       c->state == INGEST_READY ? "unexpected frame"
                                                : "unexpected frame before "
                                                  "WELCOME", detail);
    return -1;
}

/* ---- reading ---- */

/* Takes whole frames off the input while the connection is open. */
static void
ingest_conn_process(struct ingest_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);

    for (;;) {
        struct wire_frame f;
        ingest_conn_deliver(c);
        if (c->state == INGEST_CLOSING)
            return;
        if (!ingest_conn_may_take(c)) {
            ingest_conn_pause(c, 1);
            return;
        }
        ingest_conn_pause(c, 0);
        enum wire_rd rc = wire_ev_next(&c->rd, in, &f);
        if (rc == WIRE_RD_NEED_MORE)
            return;
        if (rc == WIRE_RD_OK) {
            (void)ingest_conn_frame(c, &f);
            continue;
        }
        if (rc == WIRE_RD_BAD_VERSION)
            ingest_conn_reject_version(c, wire_reader_bad_version(&c->rd));
        else
            ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad frame",
                               wire_rd_str(rc));
        return;
    }
}

static void
ingest_conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct ingest_conn *c = arg;

    if (c->ing->is_store_failing && c->state == INGEST_READY) {
        bufferevent_disable(bev, EV_READ);
        return;
    }
    ingest_conn_process(c);
}

static void
ingest_conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct ingest_conn *c = arg;

    if (c->state == INGEST_CLOSING &&
        evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        ingest_conn_free(c);
}

static void
ingest_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct ingest_conn *c = arg;

    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        return;
    if (c->state == INGEST_AUTH_WAIT && c->ing->host_keys != NULL) {
        /* a shipper stops here when our proof does not check out */
        c->ing->stats->auth_failures++;
        ingest_log_limited(c->ing, "authentication failed peer=%s host=%s "
                           "reason=\"%s\"", c->peer, c->host_log,
                           c->token ? "closed before AUTH: the shipper did "
                                      "not accept our proof (its token for "
                                      "this host differs)"
                                    : "host not enrolled");
    }
    if (c->state == INGEST_READY)
        log_info("ingest", "shipper disconnected host=%s peer=%s acked=%"
                 PRIu64 "%s%s", c->host_log, c->peer, c->acked_seq,
                 (what & BEV_EVENT_ERROR) ? " error=" : "",
                 (what & BEV_EVENT_ERROR) ? strerror(errno) : "");
    ingest_conn_free(c);
}

/*
 * After WELCOME a connection must complete a frame every idle_timeout (an
 * idle shipper sends PING): a dead peer, a silent one and one trickling a
 * frame byte by byte are all closed. Not while the store is failing: then
 * no connection is read, so no frame can complete.
 */
static void
ingest_conn_idle_check(struct ingest_conn *c)
{
    struct ingest *ing = c->ing;
    int64_t idle = mono_ns() - c->last_frame_ns;

    if (ing->is_store_failing)
        c->last_frame_ns = mono_ns();
    else if (idle >= ing->opt.idle_timeout_ns) {
        ing->stats->idle_timeouts++;
        ingest_log_limited(ing, "no frame for %" PRId64 " s, closing "
                           "peer=%s host=%s", idle / 1000000000, c->peer,
                           c->host_log);
        ingest_conn_close(c, WIRE_ERR_PROTOCOL, "idle timeout");
        return;
    }
    ingest_conn_arm(c, ing->opt.idle_timeout_ns -
                           (mono_ns() - c->last_frame_ns));
}

static void
ingest_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ingest_conn *c = arg;

    if (c->state == INGEST_CLOSING) {
        ingest_conn_free(c);
        return;
    }
    if (c->state != INGEST_READY) {
        c->ing->stats->handshake_timeouts++;
        ingest_log_limited(c->ing, "handshake timeout peer=%s", c->peer);
        ingest_conn_close(c, WIRE_ERR_PROTOCOL, "handshake timeout");
        return;
    }
    ingest_conn_idle_check(c);
}

/* ---- accepting ---- */

/* Open connections (c included) from c's IP address. O(connections), at
 * most --max-connections, once per accept. */
static int
ingest_conns_from(struct ingest *ing, const struct ingest_conn *c)
{
    const struct ingest_conn *o;
    int n = 0;

    TAILQ_FOREACH(o, &ing->conns, entry) {
        if (o->state != INGEST_CLOSING && o->addr_len == c->addr_len &&
            memcmp(o->peer, c->peer, c->addr_len) == 0)
            n++;
    }
    return n;
}

static void
ingest_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                 struct sockaddr *sa, int socklen, void *arg)
{
    struct ingest *ing = arg;
    struct ingest_conn *c = xcalloc(1, sizeof(*c));

    c->ing = ing;
    TAILQ_INIT(&c->jobs);
    wire_reader_init(&c->rd, WIRE_MAX_CONTROL);   /* until WELCOME */
    listen_format_peer(sa, c->peer, sizeof(c->peer));
    const char *colon = strrchr(c->peer, ':');
    c->addr_len = colon != NULL ? (size_t)(colon - c->peer) : strlen(c->peer);
    c->connected_ns = now_ns();
    TAILQ_INSERT_TAIL(&ing->conns, c, entry);
    ing->n_conns++;
    c->bev = ing->opt.tls != NULL
             ? tls_bev_accept(ing->opt.tls, ing->base, fd)
             : bufferevent_socket_new(ing->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(ing->base, ingest_conn_timer_cb, c);
    if (c->bev == NULL || c->timer == NULL) {
        if (c->bev == NULL)
            evutil_closesocket(fd);
        log_error("ingest", "cannot set up connection peer=%s", c->peer);
        ingest_conn_free(c);
        return;
    }
    bufferevent_setcb(c->bev, ingest_conn_read_cb, ingest_conn_write_cb,
                      ingest_conn_event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, INGEST_PREAUTH_INPUT);
    if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
        ingest_conn_free(c);
        return;
    }
    if (ing->n_conns > ing->opt.max_connections || ing->is_shutdown) {
        ing->stats->connections_rejected++;
        ingest_log_limited(ing, "connection refused peer=%s conns=%d",
                           c->peer, ing->n_conns - 1);
        ingest_conn_close(c, WIRE_ERR_BUSY, "too many connections");
        return;
    }
    int n_addr = ingest_conns_from(ing, c);
    if (n_addr > ing->opt.max_conns_per_addr) {
        ing->stats->connections_rejected_per_address++;
        ingest_log_limited(ing, "connection refused: %d from this address "
                           "(--max-connections-per-address) peer=%s",
                           n_addr - 1, c->peer);
        ingest_conn_close(c, WIRE_ERR_BUSY,
                          "too many connections from this address");
        return;
    }
    ing->stats->connections++;
    ingest_conn_arm(c, ing->opt.handshake_timeout_ns);
    log_debug("ingest", "connection peer=%s", c->peer);
}

static void
ingest_accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;

    if (ing->listener != NULL)
        evconnlistener_enable(ing->listener);
}

/* A failed TLS handshake (plaintext shipper, no or a foreign client
 * certificate): counted and logged within the budget; the bufferevent
 * reports the error and the connection is freed there. */
static void
ingest_tls_fail_cb(void *arg, int fd, const char *why)
{
    struct ingest *ing = arg;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char peer[64] = "unknown";

    ing->stats->tls_failures++;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        listen_format_peer((struct sockaddr *)&ss, peer, sizeof(peer));
    ingest_log_limited(ing, "TLS handshake failed peer=%s error=\"%s\"",
                       peer, why);
}

/* accept() failing (EMFILE) would make the listener spin: pause it. */
static void
ingest_accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct ingest *ing = arg;
    struct timeval tv = { 1, 0 };

    ingest_log_limited(ing, "accept failed, pausing 1s: %s",
                       evutil_socket_error_to_string(
                           EVUTIL_SOCKET_ERROR()));
    evconnlistener_disable(l);
    evtimer_add(ing->accept_retry, &tv);
}

/* ---- group commit ---- */

static void
ingest_set_reading(struct ingest *ing, int is_on)
{
    struct ingest_conn *c, *next;

    for (c = TAILQ_FIRST(&ing->conns); c != NULL; c = next) {
        next = TAILQ_NEXT(c, entry);
        if (c->state != INGEST_READY)
            continue;
        if (!is_on) {
            bufferevent_disable(c->bev, EV_READ);
            continue;
        }
        bufferevent_enable(c->bev, EV_READ);
        c->is_paused = 0;           /* process pauses it again if need be */
        ingest_conn_process(c);     /* frames already buffered */
    }
}

static void
ingest_send_acks(struct ingest *ing)
{
    struct ingest_conn *c;

    TAILQ_FOREACH(c, &ing->conns, entry) {
        if (c->state != INGEST_READY || c->pending_seq <= c->acked_seq)
            continue;
        buf_reset(&ing->payload);
        if (wire_u64_encode(&ing->payload, c->pending_seq) == 0 &&
            ingest_conn_send(c, WIRE_ACK) == 0)
            c->acked_seq = c->pending_seq;
    }
}

/* One store_commit for everything pending, then ACKs and live followers. */
static int
ingest_commit(struct ingest *ing)
{
    struct timeval retry = { INGEST_RETRY_S, 0 };

    if (!ing->has_pending)
        return 0;
    if (store_commit(ing->store) < 0) {
        ing->stats->store_errors++;
        ingest_log_limited(ing, "store commit failed, not acknowledging, "
                           "retrying error=\"%s\"", store_errstr(ing->store));
        if (!ing->is_store_failing) {
            ing->is_store_failing = 1;
            ingest_set_reading(ing, 0);
        }
        evtimer_add(ing->retry_ev, &retry);
        return -1;
    }
    ing->stats->commits++;
    ing->has_pending = 0;
    ingest_send_acks(ing);
    follow_publish(ing->follow);
    if (ing->is_store_failing) {
        ing->is_store_failing = 0;
        log_info("ingest", "store commit succeeded again, resuming");
        if (!ing->is_shutdown)
            ingest_set_reading(ing, 1);
    }
    return 0;
}

static void
ingest_commit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)ingest_commit(arg);
}

static void
ingest_schedule_commit(struct ingest *ing)
{
    struct timeval tv = { 0, INGEST_COMMIT_DELAY_US };

    if (ing->is_store_failing || evtimer_pending(ing->commit_ev, NULL))
        return;
    evtimer_add(ing->commit_ev, &tv);
}

/* ---- public API ---- */

static void
ingest_load_source(const struct store_source_info *si, void *arg)
{
    hostcap_load_source(arg, si->host);
}

struct ingest *
ingest_new(struct event_base *base, struct store *store,
           struct follow *follow, struct collector_stats *stats,
           const struct ingest_options *opt, char **errstr)
{
    struct ingest *ing = xcalloc(1, sizeof(*ing));

    ing->base = base;
    ing->store = store;
    ing->follow = follow;
    ing->stats = stats;
    ing->log_budget.window_ns = INGEST_LOG_WINDOW_NS;
    ing->log_budget.per_window = INGEST_LOG_PER_WINDOW;
    ing->labels_log.window_ns = INGEST_LOG_WINDOW_NS;
    ing->labels_log.per_window = INGEST_LABELS_LOG_PER_WINDOW;
    ing->labelcache = labelcache_new();
    ing->opt = *opt;
    ing->opt.listen = NULL;
    ing->host_keys = opt->host_keys;
    TAILQ_INIT(&ing->conns);
    TAILQ_INIT(&ing->waiting);
    TAILQ_INIT(&ing->free_jobs);
    for (int i = 0; i < INGEST_DEC_JOBS; i++) {
        ingest_dec_init(&ing->jobs[i].d);
        TAILQ_INSERT_TAIL(&ing->free_jobs, &ing->jobs[i], entry);
    }
    ing->hostcap = hostcap_new(opt->max_hosts, opt->max_sources_per_host);
    ing->losses = ingest_losses_load(ing);
    ing->losses_saved = losses_version(ing->losses);
    ing->losses_put = ing->losses_saved;
    if (opt->losses_path != NULL &&
        (ing->saver = losssave_new(opt->losses_path, errstr)) == NULL)
        goto fail;
    store_foreach_source(store, ingest_load_source, ing->hostcap);
    buf_init(&ing->srcbuf, WIRE_MAX_INFLATED + 3 * WIRE_MAX_SOURCES);
    buf_init(&ing->payload, INGEST_CTRL_MAX);
    buf_init(&ing->frame, INGEST_CTRL_MAX + WIRE_HEADER_LEN + WIRE_MAC_LEN);
    ing->next_session = (uint64_t)now_ns();
    ing->commit_ev = evtimer_new(base, ingest_commit_cb, ing);
    ing->retry_ev = evtimer_new(base, ingest_commit_cb, ing);
    ing->accept_retry = evtimer_new(base, ingest_accept_retry_cb, ing);
    ing->losses_ev = evtimer_new(base, ingest_losses_cb, ing);
    ing->kick_ev = event_new(base, -1, 0, ingest_kick_cb, ing);
    if (ing->commit_ev == NULL || ing->retry_ev == NULL ||
        ing->accept_retry == NULL || ing->losses_ev == NULL ||
        ing->kick_ev == NULL) {
        *errstr = xstrdup("cannot create ingest timers");
        goto fail;
    }
    ing->dec = pool_new(INGEST_DEC_THREADS, INGEST_DEC_JOBS, errstr);
    if (ing->dec == NULL)
        goto fail;
    ing->dec_ev = event_new(base, pool_fd(ing->dec), EV_READ | EV_PERSIST,
                            ingest_dec_cb, ing);
    if (ing->dec_ev == NULL || event_add(ing->dec_ev, NULL) < 0) {
        *errstr = xstrdup("cannot watch the decoding thread");
        goto fail;
    }
    ing->listener = listen_bind(base, opt->listen, ingest_accept_cb, ing,
                                errstr);
    if (ing->listener == NULL)
        goto fail;
    evconnlistener_set_error_cb(ing->listener, ingest_accept_error_cb);
    if (ing->opt.tls != NULL)
        tls_ctx_set_fail_cb(ing->opt.tls, ingest_tls_fail_cb, ing);
    return ing;
fail:
    ingest_free(ing);
    return NULL;
}

int
ingest_port(const struct ingest *ing)
{
    return ing->listener ? listen_port(ing->listener) : -1;
}

void
ingest_set_metrics_hook(struct ingest *ing, ingest_metrics_fn fn, void *arg)
{
    ing->metrics_fn = fn;
    ing->metrics_arg = arg;
}

void
ingest_set_host_keys(struct ingest *ing, const struct hostkeys *hk)
{
    assert((ing->host_keys == NULL) == (hk == NULL));
    ing->host_keys = hk;
}

void
ingest_foreach_loss(struct ingest *ing, losses_fn fn, void *arg)
{
    losses_foreach(ing->losses, fn, arg);
}

uint64_t
ingest_losses_dropped(const struct ingest *ing)
{
    return losses_dropped(ing->losses);
}

void
ingest_foreach_peer(struct ingest *ing, ingest_peer_fn fn, void *arg)
{
    struct ingest_conn *c;

    TAILQ_FOREACH(c, &ing->conns, entry) {
        if (c->state == INGEST_CLOSING)
            continue;
        struct ingest_peer_info pi = {
            .host = c->host, .peer = c->peer, .software = c->software,
            .is_ready = c->state == INGEST_READY,
            .connected_ns = c->connected_ns, .n_batches = c->n_batches,
            .n_records = c->n_records, .acked_seq = c->acked_seq,
        };
        fn(&pi, arg);
    }
}

void
ingest_foreach_host(struct ingest *ing, hostcap_host_fn fn, void *arg)
{
    hostcap_foreach(ing->hostcap, fn, arg);
}

int
ingest_shutdown(struct ingest *ing)
{
    ing->is_shutdown = 1;
    if (ing->listener != NULL) {
        evconnlistener_free(ing->listener);
        ing->listener = NULL;
    }
    ingest_set_reading(ing, 0);
    evtimer_del(ing->commit_ev);
    evtimer_del(ing->retry_ev);
    return ingest_commit(ing);
}

void
ingest_free(struct ingest *ing)
{
    struct ingest_conn *c;

    if (ing == NULL)
        return;
    if (ing->opt.tls != NULL)
        tls_ctx_set_fail_cb(ing->opt.tls, NULL, NULL);
    ing->is_freeing = 1;
    pool_free(ing->dec);        /* every job done: conns can go */
    while ((c = TAILQ_FIRST(&ing->conns)) != NULL)
        ingest_conn_free(c);
    for (int i = 0; i < INGEST_DEC_JOBS; i++)
        ingest_dec_fini(&ing->jobs[i].d);
    if (ing->dec_ev != NULL)
        event_free(ing->dec_ev);
    if (ing->kick_ev != NULL)
        event_free(ing->kick_ev);
    if (ing->listener != NULL)
        evconnlistener_free(ing->listener);
    if (ing->commit_ev != NULL)
        event_free(ing->commit_ev);
    if (ing->retry_ev != NULL)
        event_free(ing->retry_ev);
    if (ing->accept_retry != NULL)
        event_free(ing->accept_retry);
    if (ing->losses_ev != NULL)
        event_free(ing->losses_ev);
    if (ing->saver != NULL) {       /* what is not saved yet, or failed */
        int is_busy;
        losssave_drain(ing->saver);
        ingest_losses_collect(ing, &is_busy);
        ing->losses_put = ing->losses_saved;
        ingest_losses_put(ing);
        losssave_drain(ing->saver);
        ingest_losses_collect(ing, &is_busy);
    }
    losssave_free(ing->saver);
    hostcap_free(ing->hostcap);
    labelcache_free(ing->labelcache);
    losses_free(ing->losses);
    buf_fini(&ing->srcbuf);
    buf_fini(&ing->payload);
    buf_fini(&ing->frame);
    free(ing);
}
