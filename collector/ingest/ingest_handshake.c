/* SPDX-License-Identifier: MIT */
/*
 * ingest_handshake: HELLO to WELCOME (PROTOCOL.md "Identity and
 * handshake"). HELLO names the host (checked, and with --tls-client-ca
 * against the client certificate); our CHALLENGE proves we hold the
 * host's token (hostkeys.c; a random proof for a host not enrolled); the
 * shipper's AUTH must prove it holds it too (compared in constant time).
 * Then the session's frame MACs start (common/wireauth.c), the host is
 * admitted under --max-hosts (hostcap.c) and WELCOME makes the
 * connection READY: larger frames, idle timeout. Any failure is counted
 * and closes the connection.
 */
#include "collector/ingest/ingest_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "collector/ingest/hostcap.h"
#include "collector/ingest/hostkeys.h"
#include "common/hmac.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/tls.h"
#include "common/wireauth.h"
#include "common/xmalloc.h"

/* The handshake's inputs for c's host (token and both nonces). */
static struct wireauth_hello
ingest_conn_hello_args(const struct ingest_conn *c)
{
    return (struct wireauth_hello){
        .token = c->token, .token_len = c->token_len, .ns = c->nonce_s,
        .nc = c->nonce, .host = c->host, .host_len = strlen(c->host),
    };
}

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
 * learns nothing from it; its AUTH is refused. zstd is accepted only in
 * answer to an offer (PROTOCOL.md "Compression"): an older shipper
 * refuses the bit. */
static int
ingest_conn_challenge(struct ingest_conn *c, int offers_zstd)
{
    struct ingest *ing = c->ing;
    uint8_t proof[WIRE_MAC_LEN] = { 0 };
    int is_auth = ing->host_keys != NULL;
    unsigned flags = (is_auth ? WIRE_CH_AUTH : 0) |
                     (offers_zstd ? WIRE_CH_ZSTD : 0);

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
    if (wire_challenge_encode(&ing->payload, flags, c->nonce, proof) < 0 ||
        ingest_conn_send(c, WIRE_CHALLENGE) < 0)
        return -1;
    return 0;
}

int
ingest_handshake_hello(struct ingest_conn *c, const uint8_t *p, size_t len)
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
    if (ingest_conn_challenge(c, wire_hello_offers_zstd(&sw)) < 0) {
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

int
ingest_handshake_auth(struct ingest_conn *c, const uint8_t *p, size_t len)
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
