/* SPDX-License-Identifier: MIT */
/*
 * sender_test: the sender against an in-process fake collector on
 * 127.0.0.1 (same event_base): the version 2 handshake (the fake proves
 * the host's token, or fails to; the shipper must send nothing to a fake
 * that cannot), frame MACs both ways (the fake checks every frame's tag; a
 * forged, tampered or replayed ACK must close the connection), batch
 * numbering, ACK -> commit of resume points, the in-flight cap, a dropped
 * connection followed by reconnect and in-order resend with new seqs, an
 * ERROR frame, and the ACK timeout (it runs from a frame's sending, not
 * from the last byte read), PINGs on an idle connection and the reconnect
 * when one goes unanswered. The deadlines run on a fake clock
 * (cfg.clock_ns) that only the timeout tests move, to 1 ms before and at
 * each deadline (sender_check_timeouts), so they take no real time and no
 * other test can time out on a loaded machine; two tests check the same
 * on the real clock with short timeouts. The loop runs until a condition
 * holds (bounded). Each test runs with deflate inline (0 threads) and on
 * 1 and 3 compressor workers, where frames may finish out of order but
 * must leave in order.
 */
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

static void
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

static void
fake_ack(struct fake *f, uint64_t seq)
{
    struct buf p;

    buf_init(&p, 64);
    wire_u64_encode(&p, seq);
    fake_send(f, WIRE_ACK, &p);
    buf_fini(&p);
}

static void
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

static void
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

static void
fake_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct fake *f = arg;

    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        bufferevent_free(f->bev);
        f->bev = NULL;
    }
}

static void
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

static void
on_commit(void *arg, const char *id, const struct tail_pos *pos)
{
    struct fake *f = arg;

    snprintf(f->committed, sizeof(f->committed), "%s", id);
    f->committed_logical = pos->logical;
    f->n_commits++;
}

static void
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

static int64_t
fake_clock(void)
{
    return fake_now;
}

static int
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
static int
setup_big(void **state)
{
    max_inflight = 64u << 20;
    int rc = setup(state);
    max_inflight = 64 << 10;
    return rc;
}

/* For the ACK timeout tests: no PING due in the time they move. */
static int
setup_no_ping(void **state)
{
    ping_ms = 120000;
    int rc = setup(state);
    ping_ms = PING_MS;
    return rc;
}

/* The real clock (cfg.clock_ns NULL) with short timeouts. */
static int
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
static int
setup_zstd(void **state)
{
    use_zstd = 1;
    int rc = setup(state);
    use_zstd = 0;
    return rc;
}

static int
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

static void
tick(struct fake *f)
{
    struct timeval tv = { 0, 10000 };

    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
}

/* Runs the loop until cond holds (at most ~5 s). */
#define RUN_UNTIL(f, cond)                                  \
    do {                                                    \
        for (int i_ = 0; i_ < 500 && !(cond); i_++)         \
            tick(f);                                        \
        assert_true(cond);                                  \
    } while (0)

/* Moves the fake clock by ms and runs the sender's timeout checks. */
static void
advance(struct fake *f, int ms)
{
    fake_now += (int64_t)ms * 1000000;
    sender_check_timeouts(f->s);
}

/* Runs the loop for about ms milliseconds. */
static void
run_for(struct fake *f, int ms)
{
    int64_t end = mono_ns() + (int64_t)ms * 1000000;

    while (mono_ns() < end)
        tick(f);
}

static void
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

static void
test_sender_handshake_batch_ack_commit(void **state)
{
    struct fake *f = *state;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    assert_true(f->auth_ok);
    add_records(f, 100, 3, 10);         /* below batch_bytes: flush timer */
    RUN_UNTIL(f, f->n_commits > 0);
    assert_int_equal(f->n_batches, 1);
    assert_int_equal(f->seqs[0], 1);
    assert_int_equal(f->first_off[0], 100);
    assert_int_equal(f->first_start[0], 99);    /* the first record's */
    assert_string_equal(f->committed, "abc123");
    assert_int_equal(f->committed_logical, 102);
    assert_true(sender_is_drained(f->s));
    add_records(f, 200, 1, 5000);       /* over batch_bytes: sent at once */
    assert_false(sender_is_drained(f->s));
    RUN_UNTIL(f, f->n_batches == 2 && sender_is_drained(f->s));
    assert_int_equal(f->seqs[1], 2);
    assert_int_equal(f->ctr.batches_acked, 2);
}

static void
test_sender_backpressure_and_resend(void **state)
{
    struct fake *f = *state;

    f->auto_ack = 0;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    /* one frame per record, varied text, until the 64 KiB cap says stop
     * (a worker's queue of raw batches stops it for a moment too) */
    uint64_t off = 1;
    for (int i = 0; i < 10000; i++) {
        for (int k = 0; k < 50 && !sender_can_accept(f->s); k++)
            tick(f);
        if (!sender_can_accept(f->s))
            break;
        char text[2048];
        uint32_t x = (uint32_t)off * 2654435761u;
        for (size_t k = 0; k < sizeof(text); k++) {
            x = x * 1103515245u + 12345u;
            text[k] = (char)('a' + (x >> 16) % 26);
        }
        struct tail_record r = { .offset = off, .msg = text,
                                 .msg_len = sizeof(text) };
        r.resume.logical = off++;
        sender_add(f->s, &src, &r);
        sender_flush(f->s);
    }
    assert_false(sender_can_accept(f->s));
    assert_true(sender_inflight_bytes(f->s) >= 64u << 10);
    RUN_UNTIL(f, f->n_batches == (size_t)(off - 1));
    size_t sent = f->n_batches;
    assert_true(sent > 1 && sent < 512);
    /* the collector acks the first frame only, then dies */
    fake_ack(f, 1);
    RUN_UNTIL(f, f->n_commits == 1);
    bufferevent_free(f->bev);
    f->bev = NULL;
    f->n_batches = 0;
    f->auto_ack = 1;
    RUN_UNTIL(f, sender_is_drained(f->s));
    assert_int_equal(f->n_conns, 2);
    assert_int_equal(f->n_batches, sent - 1);
    for (size_t i = 0; i < sent - 1; i++) {
        assert_int_equal(f->seqs[i], i + 1);        /* renumbered */
        assert_int_equal(f->first_off[i], i + 2);   /* same order */
    }
    assert_int_equal(f->committed_logical, off - 1);
    assert_true(f->n_room >= 1);
    assert_true(f->ctr.batches_resent > 0);
    assert_int_equal(f->ctr.reconnects, 1);
}

static void
test_sender_error_frame_backs_off(void **state)
{
    struct fake *f = *state;

    f->reject = 1;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, f->n_conns >= 2);
    assert_false(sender_is_ready(f->s));
    assert_true(f->ctr.reconnects >= 1);
}

/* Batches of varied size (so workers finish out of order) leave in seq
 * order, each with its records in offset order, and all are committed. */
static void
test_sender_many_frames_leave_in_seq_order(void **state)
{
    struct fake *f = *state;

    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    uint64_t off = 1;
    int n = 0;
    for (int i = 0; i < 200; i++) {
        /* one 6000-byte record (over batch_bytes: flushed at once) or up
         * to five short ones: one batch per round either way */
        int k = i % 7 == 0 ? 1 : i % 5 + 1;
        add_records(f, off, k, (size_t)(i % 7 == 0 ? 6000 : 10 + i % 50));
        off += (uint64_t)k;
        sender_flush(f->s);
        n++;
        if (!sender_can_accept(f->s))
            RUN_UNTIL(f, sender_can_accept(f->s));
    }
    RUN_UNTIL(f, sender_is_drained(f->s));
    assert_int_equal(f->n_batches, (size_t)n);
    for (size_t i = 0; i < f->n_batches; i++) {
        assert_int_equal(f->seqs[i], i + 1);
        if (i > 0)
            assert_true(f->first_off[i] > f->first_off[i - 1]);
    }
    assert_int_equal(f->committed_logical, off - 1);
    assert_int_equal(f->ctr.batches_resent, 0);
}

/* Batches closed before the connection is up get seqs 1, 2, 3... and need
 * no re-encoding (the counter of resends stays 0). */
static void
test_sender_queued_while_down_numbered_from_one(void **state)
{
    struct fake *f = *state;

    for (int i = 0; i < 5; i++) {
        add_records(f, (uint64_t)(10 * i + 1), 2, 100);
        sender_flush(f->s);
    }
    assert_false(sender_is_drained(f->s));
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_drained(f->s));
    assert_int_equal(f->n_batches, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(f->seqs[i], i + 1);
        assert_int_equal(f->first_off[i], 10 * i + 1);
    }
    assert_int_equal(f->committed_logical, 42);
    assert_int_equal(f->ctr.batches_resent, 0);
}

/* PROTOCOL.md "Compression": a shipper that offers zstd to a collector
 * that takes it sends zstd (the fake checks every frame's codec against
 * what the connection negotiated); to one that does not (an older
 * collector, whose CHALLENGE is 0 or 1), zlib. */
static void
test_sender_zstd_negotiated(void **state)
{
    struct fake *f = *state;

    for (int takes = 1; takes >= 0; takes--) {
        f->takes_zstd = takes;
        if (takes == 0) {       /* the same shipper, another collector */
            bufferevent_free(f->bev);
            f->bev = NULL;
            RUN_UNTIL(f, f->n_conns == 2 && sender_is_ready(f->s));
        } else {
            assert_int_equal(sender_start(f->s), 0);
            RUN_UNTIL(f, sender_is_ready(f->s));
        }
        assert_true(f->was_offered);
        size_t before = f->n_batches;
        add_records(f, 1000 * (uint64_t)(2 - takes), 3, 3000);
        RUN_UNTIL(f, f->n_batches >= before + 2 && sender_is_drained(f->s));
        assert_int_equal(f->codec[f->n_batches - 1],
                         takes ? WIRE_F_ZSTD : WIRE_F_ZLIB);
    }
    assert_int_equal(f->ctr.batches_resent, 0);
}

/* Without the offer (--compression zlib) a collector that takes zstd sees
 * none: no offer in HELLO, zlib frames. */
static void
test_sender_zlib_only_makes_no_offer(void **state)
{
    struct fake *f = *state;

    f->takes_zstd = 1;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    assert_false(f->was_offered);
    add_records(f, 1, 2, 3000);
    RUN_UNTIL(f, f->n_batches >= 1 && sender_is_drained(f->s));
    assert_int_equal(f->codec[0], WIRE_F_ZLIB);
}

/* Frames made as zstd and not acknowledged when the connection drops go
 * to a collector that does not take zstd re-encoded as zlib, renumbered
 * from 1, in order; batches closed meanwhile too. */
static void
test_sender_resend_switches_codec(void **state)
{
    struct fake *f = *state;

    f->takes_zstd = 1;
    f->auto_ack = 0;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    for (int i = 0; i < 4; i++) {
        add_records(f, (uint64_t)(10 * i + 1), 2, 100);
        sender_flush(f->s);
    }
    RUN_UNTIL(f, f->n_batches == 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(f->codec[i], WIRE_F_ZSTD);
    f->takes_zstd = 0;          /* the collector was replaced by an older */
    bufferevent_free(f->bev);
    f->bev = NULL;
    add_records(f, 41, 2, 100);         /* closed while down: zstd still */
    sender_flush(f->s);
    f->n_batches = 0;
    f->auto_ack = 1;
    RUN_UNTIL(f, sender_is_drained(f->s));
    assert_int_equal(f->n_conns, 2);
    assert_int_equal(f->n_batches, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(f->seqs[i], i + 1);
        assert_int_equal(f->first_off[i], 10 * i + 1);
        assert_int_equal(f->codec[i], WIRE_F_ZLIB);
    }
    assert_int_equal(f->committed_logical, 42);
}

/* Teardown frees the sender with batches queued to the workers, done but
 * undelivered, and in the open batch: no leak, no use after free (ASan),
 * and nothing was committed. */
static void
test_sender_free_with_work_pending(void **state)
{
    struct fake *f = *state;

    for (int i = 0; i < 8; i++) {
        add_records(f, (uint64_t)(100 * i + 1), 20, 3000);
        sender_flush(f->s);
    }
    add_records(f, 5000, 1, 10);
    assert_false(sender_is_drained(f->s));
    assert_int_equal(f->n_commits, 0);
}

/* A closed batch counts its raw bytes until a worker compresses it; then
 * only the (much smaller) frame counts, and the room callback fires with
 * no ACK at all. Reading stops once one batch per worker waits behind the
 * one being compressed, far below max_inflight: raw batches take several
 * times the bytes they count (the shipper's peak RSS). */
static void
test_sender_cap_counts_batches_in_compression(void **state)
{
    struct fake *f = *state;

    f->auto_ack = 0;
    uint64_t off = 1;
    size_t raw = 0;
    while (sender_can_accept(f->s)) {
        add_records(f, off++, 1, 8000);   /* 'x' * 8000: compresses well */
        sender_flush(f->s);
        raw += 8000;
        assert_true(raw <= 2 * 8000);
    }
    assert_int_equal(raw, 2 * 8000);        /* 1 worker: 2 batches raw */
    assert_true(sender_inflight_bytes(f->s) < 64u << 10);
    assert_true(sender_inflight_bytes(f->s) >= raw);
    assert_int_equal(f->n_room, 0);
    RUN_UNTIL(f, f->n_room == 1);
    assert_true(sender_can_accept(f->s));
    assert_true(sender_inflight_bytes(f->s) < raw / 10);
    assert_int_equal(f->n_commits, 0);
    assert_int_equal(f->n_batches, 0);      /* never started: nothing sent */
}

/* The cap counts what a queued batch holds, not only its frame: a batch
 * keeps a resume point per source (an id of up to 128 bytes and a
 * position each), so 100 containers' lines that compress 80x (the live
 * tail bench's) made frames of ~7 KiB holding ~18 KiB of resume points,
 * and a 4 MiB window let ~600 batches and 45 MiB of peak RSS wait for a
 * slow collector. Here 100 sources a batch, one short line each: the
 * batches queued stop within the cap counting their resume points (it
 * took ~40 batches, 0.7 MiB, counting frames alone). */
static void
test_sender_cap_counts_resume_points(void **state)
{
    struct fake *f = *state;
    static struct sender_source srcs[100];
    static char ids[100][16];
    uint64_t off = 1;
    size_t n_batches = 0;

    f->auto_ack = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(ids[i], sizeof(ids[i]), "c%03d", i);
        srcs[i] = (struct sender_source){ .id = ids[i], .name = "web",
                                          .image = "img", .labels = "" };
    }
    for (int b = 0; b < 1000; b++) {
        for (int k = 0; k < 50 && !sender_can_accept(f->s); k++)
            tick(f);
        if (!sender_can_accept(f->s))
            break;
        for (int i = 0; i < 100; i++, off++) {
            struct tail_record r = { .offset = off, .msg = "xxxxxxxxxx",
                                     .msg_len = 10 };
            r.resume.logical = off;
            sender_add(f->s, &srcs[i], &r);
        }
        sender_flush(f->s);
        n_batches++;
    }
    assert_false(sender_can_accept(f->s));
    /* 100 resume points a batch, each over 128 bytes: at most 64 KiB of
     * them and one batch more */
    assert_true(n_batches <= (64u << 10) / (100 * 128) + 1);
    assert_true(sender_inflight_bytes(f->s) >= (n_batches - 1) * 100 * 128);
}

/* A collector that stops reading: frames wait in the retransmit queue, and
 * the connection's output buffer takes only up to 512 KiB plus one frame
 * (it used to take a second copy of the whole in-flight window). Once it
 * reads again, every batch arrives, in order, once: held back, not
 * dropped (the write callback refills the buffer as it drains). */
static void
test_sender_output_buffer_bounded(void **state)
{
    struct fake *f = *state;
    static char text[8000];
    uint32_t x = 1;

    f->auto_ack = 0;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    bufferevent_disable(f->bev, EV_READ);
    uint64_t off;
    for (off = 1; off <= 3000 && sender_can_accept(f->s); off++) {
        for (size_t k = 0; k < sizeof(text); k++) {
            x = x * 1103515245u + 12345u;
            text[k] = (char)(' ' + (x >> 16) % 95);     /* ~82% deflated */
        }
        struct tail_record r = { .offset = off, .msg = text,
                                 .msg_len = sizeof(text) };
        r.resume.logical = off;
        sender_add(f->s, &src, &r);
        sender_flush(f->s);
        if (off % 100 == 0)
            tick(f);
    }
    run_for(f, 200);
    /* far more than the kernel's socket buffers take on 127.0.0.1 */
    assert_true(sender_inflight_bytes(f->s) > (16u << 20));
    assert_true(sender_unwritten_bytes(f->s) <= (512u << 10) + 8192);
    assert_true(sender_unwritten_bytes(f->s) > 0);
    uint64_t n = off - 1;
    assert_true(n < FAKE_MAX_BATCHES);
    f->auto_ack = 1;
    for (size_t i = 0; i < f->n_batches; i++)
        fake_ack(f, f->seqs[i]);            /* the ones read before */
    bufferevent_enable(f->bev, EV_READ);
    for (int i = 0; i < 6000 && !sender_is_drained(f->s); i++)
        tick(f);                            /* at most ~60 s (ASan, load) */
    assert_true(sender_is_drained(f->s));
    assert_int_equal(f->n_batches, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(f->first_off[i], i + 1);
    assert_int_equal(f->committed_logical, n);
    assert_int_equal(f->ctr.reconnects, 0);
    assert_int_equal(f->ctr.batches_resent, 0);
}

/*
 * The ACK timeout runs from when a batch was sent, not from the last byte
 * read: after an idle stretch close to the timeout, a batch acked 1 ms
 * within the timeout of its sending keeps the connection (no reconnect,
 * no resend), though the connection was idle far longer.
 */
static void
test_sender_ack_timeout_counts_from_send(void **state)
{
    struct fake *f = *state;

    f->auto_ack = 0;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    advance(f, ACK_TIMEOUT_MS * 8 / 10);        /* idle, nothing to ack */
    tick(f);
    add_records(f, 1, 1, 10);
    sender_flush(f->s);
    RUN_UNTIL(f, f->n_batches == 1);
    advance(f, ACK_TIMEOUT_MS - 1);             /* idle + this > timeout */
    tick(f);
    assert_true(sender_is_ready(f->s));
    fake_ack(f, 1);
    RUN_UNTIL(f, f->n_commits == 1);
    assert_int_equal(f->n_conns, 1);
    assert_int_equal(f->ctr.reconnects, 0);
    assert_int_equal(f->ctr.batches_resent, 0);
}

/*
 * A batch never acked closes the connection exactly one timeout after it
 * was sent (not 1 ms earlier, though the connection was idle before), and
 * is resent on the next connection.
 */
static void
test_sender_ack_timeout_closes_and_resends(void **state)
{
    struct fake *f = *state;

    f->auto_ack = 0;
    f->ack_from_conn = 2;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    advance(f, ACK_TIMEOUT_MS * 6 / 10);
    add_records(f, 1, 1, 10);
    sender_flush(f->s);
    RUN_UNTIL(f, f->n_batches == 1);
    advance(f, ACK_TIMEOUT_MS - 1);
    tick(f);
    assert_true(sender_is_ready(f->s));
    assert_int_equal(f->n_conns, 1);
    advance(f, 1);
    assert_false(sender_is_ready(f->s));
    RUN_UNTIL(f, f->n_conns == 2 && sender_is_drained(f->s));
    assert_int_equal(f->n_batches, 2);
    assert_int_equal(f->first_off[1], 1);
    assert_int_equal(f->ctr.batches_resent, 1);
    assert_int_equal(f->ctr.reconnects, 1);
}

/* An idle connection carries a PING after each ping_ms without writing
 * (none 1 ms before), each answered, and stays up. */
static void
test_sender_idle_pings_keep_connection(void **state)
{
    struct fake *f = *state;

    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    for (int i = 0; i < 5; i++) {
        advance(f, PING_MS - 1);
        tick(f);
        assert_int_equal(f->n_pings, i);
        fake_now += 1000000;
        /* the next PING goes once the last PONG is read */
        for (int k = 0; k < 500 && f->n_pings == i; k++) {
            sender_check_timeouts(f->s);
            tick(f);
        }
        assert_int_equal(f->n_pings, i + 1);
    }
    assert_int_equal(f->n_conns, 1);
    assert_int_equal(f->ctr.reconnects, 0);
    add_records(f, 1, 1, 10);               /* and still carries batches */
    RUN_UNTIL(f, f->n_commits == 1);
}

/* A collector that answers no PING (gone, or the path to it) is left
 * exactly 1.5 ping_ms after the PING (not 1 ms before), with nothing
 * waiting for an ACK. */
static void
test_sender_ping_unanswered_reconnects(void **state)
{
    struct fake *f = *state;

    f->no_pong = 1;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    advance(f, PING_MS);
    RUN_UNTIL(f, f->n_pings == 1);
    advance(f, PING_MS * 3 / 2 - 1);
    tick(f);
    assert_true(sender_is_ready(f->s));
    advance(f, 1);
    assert_false(sender_is_ready(f->s));
    RUN_UNTIL(f, f->n_conns == 2);
    assert_int_equal(f->ctr.reconnects, 1);
}

/* The same two timeouts on the real clock (cfg.clock_ns NULL): the timers
 * fire by themselves, not before their time. */
static void
test_sender_ack_timeout_real_clock(void **state)
{
    struct fake *f = *state;

    f->auto_ack = 0;
    f->ack_from_conn = 2;   /* PINGs answered: only the ACK timer closes */
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    add_records(f, 1, 1, 10);
    sender_flush(f->s);
    RUN_UNTIL(f, f->n_batches == 1);
    int64_t sent = mono_ns();
    RUN_UNTIL(f, f->n_conns == 2);
    int64_t waited_ms = (mono_ns() - sent) / 1000000;
    assert_true(waited_ms >= REAL_ACK_TIMEOUT_MS - 20);
    RUN_UNTIL(f, sender_is_drained(f->s));
    assert_int_equal(f->first_off[1], 1);
    assert_int_equal(f->ctr.batches_resent, 1);
}

static void
test_sender_ping_real_clock(void **state)
{
    struct fake *f = *state;

    f->no_pong = 1;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    int64_t ready = mono_ns();
    RUN_UNTIL(f, f->n_conns == 2);
    int64_t waited_ms = (mono_ns() - ready) / 1000000;
    assert_true(waited_ms >= REAL_PING_MS * 5 / 2 - 20);
    assert_int_equal(f->n_pings, 1);
    assert_int_equal(f->ctr.reconnects, 1);
}

/* A collector that cannot prove it holds the host's token (it answers
 * with the shipper's own proof, reflected), or that asks for no token,
 * gets nothing: no AUTH, no batch, however often the shipper retries. */
static void
refused_collector(struct fake *f, enum fake_proof proof)
{
    f->proof = proof;
    add_records(f, 1, 3, 10);
    sender_flush(f->s);
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, f->ctr.collector_auth_failures >= 1);
    run_for(f, 300);
    assert_false(sender_is_ready(f->s));
    assert_int_equal(f->n_auth, 0);
    assert_int_equal(f->n_after_auth, 0);
    assert_int_equal(f->n_batches, 0);
    assert_int_equal(f->n_commits, 0);
    assert_int_equal(f->n_conns, 1);    /* the longest backoff: 5 s */
}

static void
test_sender_refuses_unproven_collector(void **state)
{
    refused_collector(*state, FAKE_PROOF_WRONG);
}

static void
test_sender_refuses_collector_without_auth(void **state)
{
    refused_collector(*state, FAKE_PROOF_NO_AUTH);
}

/* Every frame the shipper sent carried the right tag (the fake checks
 * each), then: an ACK replayed, an ACK with one bit changed, an ACK with
 * no tag. Each closes the connection, is counted, commits nothing, and
 * the batch is resent and acked on the next connection. */
static void
forged_ack(struct fake *f, int how)
{
    f->auto_ack = 0;
    f->ack_from_conn = 2;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    add_records(f, 1, 1, 10);
    sender_flush(f->s);
    RUN_UNTIL(f, f->n_batches == 1);
    fake_ack(f, 1);
    RUN_UNTIL(f, f->n_commits == 1);
    add_records(f, 2, 1, 10);
    sender_flush(f->s);
    RUN_UNTIL(f, f->n_batches == 2);
    struct buf fr;
    buf_init(&fr, 1024);
    if (how == 0) {                     /* the first ACK again */
        assert_int_equal(buf_append(&fr, f->last_ack.data, f->last_ack.len),
                         0);
    } else {
        struct buf p;
        buf_init(&p, 64);
        wire_u64_encode(&p, 2);
        if (how == 1) {
            assert_int_equal(wireauth_frame_encode(&f->auth, &fr, WIRE_ACK,
                                                   p.data, p.len, 0), 0);
            fr.data[WIRE_HEADER_LEN] ^= 0x02;   /* seq 2 -> 0 */
            le32_store(fr.data + 12, compress_crc32(0, fr.data +
                       WIRE_HEADER_LEN, fr.len - WIRE_HEADER_LEN));
        } else {
            assert_int_equal(wire_frame_encode(&fr, WIRE_ACK, p.data, p.len,
                                               0), 0);
        }
        buf_fini(&p);
    }
    bufferevent_write(f->bev, fr.data, fr.len);
    buf_fini(&fr);
    RUN_UNTIL(f, f->ctr.frames_bad_mac == 1);
    assert_int_equal(f->n_commits, 1);
    RUN_UNTIL(f, f->n_conns == 2 && sender_is_drained(f->s));
    assert_int_equal(f->n_commits, 2);
    assert_int_equal(f->n_bad_mac, 0);
    assert_int_equal(f->ctr.frames_bad_mac, 1);
}

static void
test_sender_replayed_ack_refused(void **state)
{
    forged_ack(*state, 0);
}

static void
test_sender_tampered_ack_refused(void **state)
{
    forged_ack(*state, 1);
}

static void
test_sender_untagged_ack_refused(void **state)
{
    forged_ack(*state, 2);
}

#define SENDER_TESTS(T)                                                  \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_handshake_batch_ack_commit, setup, teardown, T),      \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_backpressure_and_resend, setup, teardown, T),         \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_error_frame_backs_off, setup, teardown, T),           \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_many_frames_leave_in_seq_order, setup, teardown, T),  \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_queued_while_down_numbered_from_one, setup, teardown, \
        T),                                                               \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_free_with_work_pending, setup, teardown, T),          \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_ack_timeout_counts_from_send, setup_no_ping, teardown,\
        T),                                                               \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_ack_timeout_closes_and_resends, setup_no_ping,        \
        teardown, T),                                                     \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_idle_pings_keep_connection, setup, teardown, T),      \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_ping_unanswered_reconnects, setup, teardown, T)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        SENDER_TESTS(&n_threads[0]),
        SENDER_TESTS(&n_threads[1]),
        SENDER_TESTS(&n_threads[2]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_ack_timeout_real_clock, setup_real_clock, teardown,
            &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_ping_real_clock, setup_real_clock, teardown,
            &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_cap_counts_resume_points, setup, teardown,
            &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_cap_counts_resume_points, setup, teardown,
            &n_threads[1]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_cap_counts_batches_in_compression, setup, teardown,
            &n_threads[1]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_output_buffer_bounded, setup_big, teardown,
            &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_refuses_unproven_collector, setup, teardown,
            &n_threads[1]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_refuses_collector_without_auth, setup, teardown,
            &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_replayed_ack_refused, setup, teardown, &n_threads[1]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_tampered_ack_refused, setup, teardown, &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_untagged_ack_refused, setup, teardown, &n_threads[1]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_zstd_negotiated, setup_zstd, teardown, &n_threads[1]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_zlib_only_makes_no_offer, setup, teardown,
            &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_resend_switches_codec, setup_zstd, teardown,
            &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_resend_switches_codec, setup_zstd, teardown,
            &n_threads[3 - 1]),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
