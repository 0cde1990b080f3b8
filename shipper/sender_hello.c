/* SPDX-License-Identifier: MIT */
/*
 * sender_hello: the handshake (PROTOCOL.md): HELLO with our nonce (and
 * the zstd offer), the collector's CHALLENGE checked for its proof of the
 * host's token (a collector that cannot prove it, or asks for no token,
 * gets nothing and the longest backoff), AUTH with ours and frame MACs
 * from then on, WELCOME: ready, the codec chosen, the keepalive armed and
 * the queue written.
 */
#include "shipper/sender_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/hmac.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/wireauth.h"

/* The codec for a connection whose CHALLENGE had these flags. */
struct wire_codec
sender_hello_codec(const struct sender *s, unsigned challenge_flags)
{
    if (s->cfg.use_zstd && (challenge_flags & WIRE_CH_ZSTD))
        return (struct wire_codec){ WIRE_F_ZSTD, SENDER_ZSTD_LEVEL };
    return (struct wire_codec){ WIRE_F_ZLIB, s->cfg.zlevel };
}

void
sender_hello_send(struct sender *s)
{
    struct buf p;

    buf_init(&p, 1024);
    if (getrandom(s->nonce_s, sizeof(s->nonce_s), 0) !=
        (ssize_t)sizeof(s->nonce_s)) {
        buf_fini(&p);
        log_error("sender", "getrandom failed: %s", strerror(errno));
        sender_conn_close(s, "no random nonce");
        return;
    }
    if (wire_hello_encode(&p, s->cfg.hostname, s->cfg.use_zstd
                          ? SENDER_SOFTWARE " " WIRE_SOFTWARE_ZSTD
                          : SENDER_SOFTWARE, s->nonce_s) < 0 ||
        sender_conn_write_frame(s, WIRE_HELLO, &p) < 0) {
        buf_fini(&p);
        sender_conn_close(s, "cannot send hello");
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
    sender_conn_close(s, "collector not proven");
}

/* Returns -1 when the connection was closed. */
int
sender_hello_on_challenge(struct sender *s, const uint8_t *p, size_t len)
{
    uint8_t nonce_c[WIRE_NONCE_LEN], proof[WIRE_MAC_LEN];
    uint8_t mac[WIRE_MAC_LEN] = { 0 };
    unsigned flags;
    const char *err;

    if (wire_challenge_decode(p, len, &flags, nonce_c, proof, &err) < 0) {
        sender_conn_close(s, err);
        return -1;
    }
    int auth_required = (flags & WIRE_CH_AUTH) != 0;
    if (s->cfg.token == NULL && auth_required) {
        log_warn("sender", "collector requires a token, none configured "
                 "(--token-file)");
        sender_conn_close(s, "no token");
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
        rc = sender_conn_write_frame(s, WIRE_AUTH, &b);
    buf_fini(&b);
    if (rc < 0) {
        sender_conn_close(s, "cannot send auth");
        return -1;
    }
    if (s->cfg.token != NULL) {     /* every frame from now on is tagged */
        struct wireauth_hello h = sender_hello_args(s, nonce_c);
        wireauth_start(&s->auth, &h, WIREAUTH_SHIPPER);
    }
    s->codec = sender_hello_codec(s, flags);
    s->state = SENDER_AUTH_SENT;
    return 0;
}

int
sender_hello_on_welcome(struct sender *s, const uint8_t *p, size_t len)
{
    uint64_t session;
    const char *err;

    if (wire_u64_decode(p, len, &session, &err) < 0) {
        sender_conn_close(s, err);
        return -1;
    }
    log_info("sender", "connected peer=%s:%d session=%llu queued=%zu "
             "compression=%s", s->cfg.host, s->cfg.port,
             (unsigned long long)session, s->inflight,
             s->codec.flag == WIRE_F_ZSTD ? "zstd" : "zlib");
    s->state = SENDER_READY;
    s->backoff_ms = SENDER_BACKOFF_MIN;
    sender_conn_set_timeout(s, 0);
    s->last_write_ns = sender_now(s);
    s->ping_sent_ns = 0;
    struct timeval tv = { s->cfg.ping_ms / 2000,
                          (s->cfg.ping_ms / 2 % 1000) * 1000 };
    if (evtimer_add(s->ping_ev, &tv) < 0)
        log_error("sender", "cannot arm ping timer");
    sender_flow_write_pending(s);
    return s->bev != NULL ? 0 : -1;
}
