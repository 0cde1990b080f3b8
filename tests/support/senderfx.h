/* SPDX-License-Identifier: MIT */
/*
 * senderfx: the fixture of the sender's tests (shipper/sender_test.c,
 * sender_peer_test.c): an in-process fake collector on 127.0.0.1 (same
 * event_base) that answers the handshake (proving the host's token, or
 * failing to), checks every frame's tag, records each batch and ACKs on
 * request; the sender under test with its commit and room callbacks; the
 * fake deadline clock; setups (deflate inline or on 1 and 3 compressor
 * workers, a big in-flight cap, no PINGs, the real clock, zstd) and the
 * loop run until a condition holds (bounded). Test-only, header-only.
 */
#ifndef TESTS_SUPPORT_SENDERFX_H
#define TESTS_SUPPORT_SENDERFX_H

#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/compress.h"
#include "common/hmac.h"
#include "common/timeutil.h"
#include "common/wire.h"
#include "common/wireauth.h"
#include "common/xmalloc.h"
#include "shipper/sender.h"

#define TOKEN "node1-token-0123456789abcdef0123456789"

enum fake_proof {
    FAKE_PROOF_RIGHT,
    FAKE_PROOF_WRONG,       /* a fake collector without the token */
    FAKE_PROOF_NO_AUTH,     /* says auth_required 0 */
};
#define ACK_TIMEOUT_MS 1000     /* on the fake clock */
#define PING_MS 200
#define REAL_ACK_TIMEOUT_MS 300 /* on the real clock */
#define REAL_PING_MS 100

#define FAKE_MAX_BATCHES 4096    /* batches one test may receive */

struct fake {
    struct event_base        *base;
    struct evconnlistener    *lis;
    struct bufferevent       *bev;
    int                       port;
    uint8_t                   nonce[WIRE_NONCE_LEN];
    uint8_t                   nonce_s[WIRE_NONCE_LEN];
    enum fake_proof           proof;
    struct wireauth           auth;
    struct buf                last_ack;      /* the last ACK frame sent */
    int                       n_auth;       /* AUTH frames received */
    int                       n_bad_mac;    /* shipper frames failing it */
    int                       n_after_auth; /* frames received after AUTH */
    int                       auto_ack;
    int                       ack_from_conn; /* auto-ack from this conn */
    int                       reject;       /* answer AUTH with ERROR */
    int                       n_conns;
    int                       auth_ok;
    int                       no_pong;      /* leave PINGs unanswered */
    int                       n_pings;
    uint64_t                  seqs[FAKE_MAX_BATCHES];  /* seq of each batch */
    uint64_t                  first_off[FAKE_MAX_BATCHES];
    uint64_t                  first_start[FAKE_MAX_BATCHES]; /* source 0 */
    uint8_t                   codec[FAKE_MAX_BATCHES];  /* frame flag */
    size_t                    n_batches;
    int                       takes_zstd;   /* answer an offer with bit 1 */
    int                       was_offered;  /* the last HELLO offered zstd */
    struct buf                scratch;
    /* shipper side */
    struct sender            *s;
    struct shipper_counters   ctr;
    char                      committed[80];
    uint64_t                  committed_logical;
    int                       n_commits;
    int                       n_room;
};

static inline void
fake_send(struct fake *f, uint16_t type, struct buf *p)
{
    struct buf fr;

    buf_init(&fr, 1 << 20);
    assert_int_equal(wireauth_frame_encode(&f->auth, &fr, type, p->data,
                                           p->len, 0), 0);
    bufferevent_write(f->bev, fr.data, fr.len);
    if (type == WIRE_ACK) {
        buf_reset(&f->last_ack);
        assert_int_equal(buf_append(&f->last_ack, fr.data, fr.len), 0);
    }
    buf_fini(&fr);
}

static inline void
fake_ack(struct fake *f, uint64_t seq)
{
    struct buf p;

    buf_init(&p, 64);
    wire_u64_encode(&p, seq);
    fake_send(f, WIRE_ACK, &p);
    buf_fini(&p);
}

static inline void
fake_frame(struct fake *f, const struct wire_frame *fr)
{
    const uint8_t *p;
    size_t len;
    const char *err;
    struct buf out;

    assert_int_equal(wire_frame_payload(fr, &f->scratch, &p, &len, &err), 0);
    buf_init(&out, 1 << 16);
    struct wireauth_hello h = {
        .token = TOKEN, .token_len = strlen(TOKEN), .ns = f->nonce_s,
        .nc = f->nonce, .host = "node1", .host_len = 5,
    };
    if (f->n_auth > 0)
        f->n_after_auth++;
    if (fr->type == WIRE_HELLO) {
        struct wire_str host, sw;
        uint8_t proof[WIRE_MAC_LEN] = { 0 };
        assert_int_equal(wire_hello_decode(p, len, &host, &sw, f->nonce_s,
                                           &err), 0);
        f->was_offered = wire_hello_offers_zstd(&sw);
        memset(f->nonce, 0x5a, sizeof(f->nonce));
        if (f->proof == FAKE_PROOF_RIGHT)
            wireauth_proof(&h, WIREAUTH_COLLECTOR, proof);
        else if (f->proof == FAKE_PROOF_WRONG)  /* the shipper's, reflected */
            wireauth_proof(&h, WIREAUTH_SHIPPER, proof);
        wire_challenge_encode(&out, (f->proof != FAKE_PROOF_NO_AUTH
                                     ? WIRE_CH_AUTH : 0) |
                              (f->takes_zstd && f->was_offered
                               ? WIRE_CH_ZSTD : 0), f->nonce, proof);
        fake_send(f, WIRE_CHALLENGE, &out);
    } else if (fr->type == WIRE_AUTH) {
        uint8_t mac[WIRE_MAC_LEN], want[WIRE_MAC_LEN];
        f->n_auth++;
        assert_int_equal(wire_auth_decode(p, len, mac, &err), 0);
        wireauth_proof(&h, WIREAUTH_SHIPPER, want);
        f->auth_ok = memcmp(mac, want, sizeof(mac)) == 0;
        if (f->reject) {
            wire_error_encode(&out, WIRE_ERR_AUTH, "authentication failed");
            fake_send(f, WIRE_ERROR, &out);
        } else {
            wireauth_start(&f->auth, &h, WIREAUTH_COLLECTOR);
            wire_u64_encode(&out, 42);
            fake_send(f, WIRE_WELCOME, &out);
        }
    } else if (fr->type == WIRE_PING) {
        f->n_pings++;
        if (!f->no_pong) {
            assert_int_equal(len, 8);
            buf_append(&out, p, len);
            fake_send(f, WIRE_PONG, &out);
        }
    } else if (fr->type == WIRE_BATCH) {
        struct wire_batch b;
        struct wire_record r;
        assert_int_equal(wire_batch_decode(p, len, &b, &err), 0);
        assert_true(f->n_batches < FAKE_MAX_BATCHES);
        f->seqs[f->n_batches] = b.seq;
        f->codec[f->n_batches] = fr->flags & (WIRE_F_ZLIB | WIRE_F_ZSTD);
        /* only what this connection negotiated */
        assert_int_equal(f->codec[f->n_batches],
                         f->takes_zstd && f->was_offered ? WIRE_F_ZSTD
                                                         : WIRE_F_ZLIB);
        assert_int_equal(wire_batch_next(&b, &r), 1);
        f->first_start[f->n_batches] = b.sources[0].start;
        f->first_off[f->n_batches++] = r.offset;
        wire_batch_fini(&b);
        if (f->auto_ack || (f->ack_from_conn > 0 &&
                            f->n_conns >= f->ack_from_conn))
            fake_ack(f, f->seqs[f->n_batches - 1]);
    }
    buf_fini(&out);
}

static inline void
fake_read_cb(struct bufferevent *bev, void *arg)
{
    struct fake *f = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    for (;;) {
        size_t n = evbuffer_get_length(in);
        const uint8_t *d = evbuffer_pullup(in, (ssize_t)n);
        struct wire_frame fr;
        size_t used;
        const char *err;
        if (n == 0 || wire_frame_decode(d, n, &fr, &used, &err) != 1)
            return;
        if (wireauth_open(&f->auth, &fr, &err) < 0) {
            f->n_bad_mac++;
            bufferevent_free(f->bev);
            f->bev = NULL;
            return;
        }
        fake_frame(f, &fr);
        evbuffer_drain(in, used);
    }
}

static inline void
fake_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct fake *f = arg;

    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        bufferevent_free(f->bev);
        f->bev = NULL;
    }
}

static inline void
fake_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
               struct sockaddr *sa, int len, void *arg)
{
    struct fake *f = arg;

    if (f->bev != NULL)
        bufferevent_free(f->bev);
    f->n_conns++;
    wireauth_clear(&f->auth);
    f->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(f->bev, fake_read_cb, NULL, fake_event_cb, f);
    bufferevent_enable(f->bev, EV_READ | EV_WRITE);
}

static inline void
on_commit(void *arg, const char *id, const struct tail_pos *pos)
{
    struct fake *f = arg;

    snprintf(f->committed, sizeof(f->committed), "%s", id);
    f->committed_logical = pos->logical;
    f->n_commits++;
}

static inline void
on_room(void *arg)
{
    struct fake *f = arg;

    f->n_room++;
}

static int n_threads[] = { 0, 1, 3 };

static struct sender_source src = {
    .id = "abc123", .name = "web", .image = "img", .labels = "",
};

static size_t max_inflight = 64 << 10;
static int use_zstd;
static int ack_timeout_ms = ACK_TIMEOUT_MS;
static int ping_ms = PING_MS;
static int use_real_clock;

/* The sender's deadline clock: still unless a test moves it. */
static int64_t fake_now;

static inline int64_t
fake_clock(void)
{
    return fake_now;
}

static inline int
setup(void **state)
{
    int threads = *state != NULL ? *(int *)*state : 0;
    struct fake *f = xcalloc(1, sizeof(*f));
    struct sockaddr_in sin = { .sin_family = AF_INET };

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->base = event_base_new();
    f->lis = evconnlistener_new_bind(f->base, fake_accept_cb, f,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                     16, (struct sockaddr *)&sin, sizeof(sin));
    assert_non_null(f->lis);
    socklen_t sl = sizeof(sin);
    getsockname(evconnlistener_get_fd(f->lis), (struct sockaddr *)&sin, &sl);
    f->port = ntohs(sin.sin_port);
    f->auto_ack = 1;
    src.batch_gen = 0;      /* sender-private: stale from the last test */
    buf_init(&f->scratch, WIRE_MAX_INFLATED);
    buf_init(&f->last_ack, 1024);
    fake_now = 1000 * 1000000000LL;
    struct sender_config cfg = {
        .host = "127.0.0.1", .port = f->port, .hostname = "node1",
        .token = TOKEN, .token_len = strlen(TOKEN), .batch_bytes = 4096,
        .flush_ms = 5, .max_inflight = max_inflight, .zlevel = 1,
        .compress_threads = threads, .ack_timeout_ms = ack_timeout_ms,
        .ping_ms = ping_ms, .use_zstd = use_zstd,
        .clock_ns = use_real_clock ? NULL : fake_clock,
    };
    f->s = sender_new(f->base, &cfg, &f->ctr, on_commit, on_room, f);
    assert_non_null(f->s);
    *state = f;
    return 0;
}

/* Filling 16 MiB takes seconds under ASan on a busy machine, and the
 * collector here reads nothing: on the real clock with short timeouts
 * the PING or ACK timeout closed the connection first (seen in a
 * clean-clone CI); the fake clock stands still meanwhile. */
static inline int
setup_big(void **state)
{
    max_inflight = 64u << 20;
    int rc = setup(state);
    max_inflight = 64 << 10;
    return rc;
}

/* For the ACK timeout tests: no PING due in the time they move. */
static inline int
setup_no_ping(void **state)
{
    ping_ms = 120000;
    int rc = setup(state);
    ping_ms = PING_MS;
    return rc;
}

/* The real clock (cfg.clock_ns NULL) with short timeouts. */
static inline int
setup_real_clock(void **state)
{
    use_real_clock = 1;
    ack_timeout_ms = REAL_ACK_TIMEOUT_MS;
    ping_ms = REAL_PING_MS;
    int rc = setup(state);
    use_real_clock = 0;
    ack_timeout_ms = ACK_TIMEOUT_MS;
    ping_ms = PING_MS;
    return rc;
}

/* A shipper that offers zstd (--compression zstd, the default). */
static inline int
setup_zstd(void **state)
{
    use_zstd = 1;
    int rc = setup(state);
    use_zstd = 0;
    return rc;
}

static inline int
teardown(void **state)
{
    struct fake *f = *state;

    sender_free(f->s);
    if (f->bev != NULL)
        bufferevent_free(f->bev);
    evconnlistener_free(f->lis);
    buf_fini(&f->scratch);
    buf_fini(&f->last_ack);
    event_base_free(f->base);
    free(f);
    return 0;
}

static inline void
tick(struct fake *f)
{
    struct timeval tv = { 0, 10000 };

    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
}

/* Runs the loop until cond holds (at most ~30 s: a bound for a hung
 * test, not a budget a slow machine could pass; it was 5 s). */
#define RUN_UNTIL(f, cond)                                  \
    do {                                                    \
        for (int i_ = 0; i_ < 3000 && !(cond); i_++)        \
            tick(f);                                        \
        assert_true(cond);                                  \
    } while (0)

/* Moves the fake clock by ms and runs the sender's timeout checks. */
static inline void
advance(struct fake *f, int ms)
{
    fake_now += (int64_t)ms * 1000000;
    sender_check_timeouts(f->s);
}

/* Runs the loop for about ms milliseconds. */
static inline void
run_for(struct fake *f, int ms)
{
    int64_t end = mono_ns() + (int64_t)ms * 1000000;

    while (mono_ns() < end)
        tick(f);
}

static inline void
add_records(struct fake *f, uint64_t first, int n, size_t len)
{
    static char text[8192];

    memset(text, 'x', sizeof(text));
    for (int i = 0; i < n; i++) {
        struct tail_record r = {
            .stream = 0, .time_ns = 1, .start = first + (uint64_t)i - 1,
            .offset = first + (uint64_t)i, .msg = text, .msg_len = len,
        };
        r.resume.logical = first + (uint64_t)i;
        sender_add(f->s, &src, &r);
    }
}

#endif
