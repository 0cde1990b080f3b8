/* SPDX-License-Identifier: MIT */
/*
 * sender_conn: the one connection to the collector: connect (plain or
 * TLS), the handshake's read timeout, close (every queued frame unsent
 * again) and the reconnect backoff with jitter, the bufferevent's
 * callbacks with the reason of a failure (DNS, TLS, socket, a TLS port
 * spoken to in plaintext, another protocol version), frames read through
 * the common frame reader, their MACs checked and dispatched by type and
 * state to sender_hello.c and sender_flow.c.
 */
#include "shipper/sender_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/wire.h"
#include "common/wire_ev.h"
#include "common/wireauth.h"

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

void
sender_conn_close(struct sender *s, const char *why)
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

int
sender_conn_write_frame(struct sender *s, uint16_t type, struct buf *payload)
{
    struct buf f;
    int rc = -1;

    buf_init(&f, SENDER_FRAME_MAX);
    if (wireauth_frame_encode(&s->auth, &f, type, payload->data,
                              payload->len, 0) == 0 &&
        bufferevent_write(s->bev, f.data, f.len) == 0) {
        s->last_write_ns = sender_now(s);
        rc = 0;
    }
    buf_fini(&f);
    return rc;
}

/* The bufferevent's read timeout: the handshake's; 0 (none) once READY,
 * where sender_ack_timer_arm times each frame instead. */
void
sender_conn_set_timeout(struct sender *s, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    bufferevent_set_timeouts(s->bev, ms > 0 ? &tv : NULL, NULL);
}

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
    sender_conn_close(s, "protocol version");
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
    sender_conn_close(s, why);
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
    sender_conn_close(s, err);
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
        sender_conn_close(s, err);
        return -1;
    }
    if (f->type == WIRE_ERROR) {
        uint16_t code = 0;
        struct wire_str msg = { "", 0 };
        if (wire_error_decode(p, len, &code, &msg, &err) < 0)
            msg.p = err, msg.len = strlen(err);
        log_error("sender", "collector error peer=%s:%d code=%u: %.*s",
                  s->cfg.host, s->cfg.port, code, (int)msg.len, msg.p);
        sender_conn_close(s, "error frame");
        return -1;
    }
    if (f->type == WIRE_CHALLENGE && s->state == SENDER_HELLO_SENT)
        return sender_hello_on_challenge(s, p, len);
    if (f->type == WIRE_WELCOME && s->state == SENDER_AUTH_SENT)
        return sender_hello_on_welcome(s, p, len);
    if (f->type == WIRE_ACK && s->state == SENDER_READY)
        return sender_flow_on_ack(s, p, len);
    if (f->type == WIRE_PONG && s->state == SENDER_READY) {
        s->ping_sent_ns = 0;
        return 0;
    }
    sender_conn_close(s, "unexpected frame");
    return -1;
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
        sender_conn_close(s, wire_rd_str(rc));
}

/* The output buffer drained to SENDER_OUT_MAX / 2: write what waits. */
static void
sender_write_cb(struct bufferevent *bev, void *arg)
{
    sender_flow_write_pending(arg);
}

static void
sender_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct sender *s = arg;

    if (what & BEV_EVENT_CONNECTED) {
        sender_conn_set_timeout(s, SENDER_HANDSHAKE_S * 1000);
        sender_hello_send(s);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT)   /* only set before READY */
        sender_conn_close(s, "handshake timeout");
    else if (what & BEV_EVENT_EOF)
        sender_conn_close(s, sender_is_tls_refusal(s)
                     ? "peer closed after HELLO (a TLS port? give --tls-ca)"
                     : "peer closed");
    else if (what & BEV_EVENT_ERROR)
        sender_close_error(s, bev);
}

void
sender_conn_connect(struct sender *s)
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
    sender_conn_set_timeout(s, SENDER_HANDSHAKE_S * 1000);
    if (bufferevent_socket_connect_hostname(s->bev, s->dns, AF_UNSPEC,
                                            s->cfg.host, s->cfg.port) < 0) {
        /* the event callback may already have closed it */
        if (s->bev != NULL)
            sender_conn_close(s, "connect failed");
    }
}

void
sender_conn_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    sender_conn_connect(arg);
}
