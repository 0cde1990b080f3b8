/* SPDX-License-Identifier: MIT */
/*
 * ingest_conn: one shipper connection's life after accept
 * (ingest_accept.c): control frames queued to it, the ERROR-then-close
 * of a refusal or protocol error (never freed from inside its own
 * processing: the close grace timer or the drained output frees it),
 * whole frames taken off its input (to ingest_frame.c) while the decode
 * jobs let it (ingest_jobs.c: reading pauses, TCP pushes back), and its
 * timer: handshake timeout, then the idle timeout, then the close grace.
 * Frees it, or leaves it to its jobs still in the pool (is_gone).
 */
#include "collector/ingest/ingest_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/secret.h"
#include "common/timeutil.h"
#include "common/wire_ev.h"

void
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
            ingest_jobs_put(ing, j);
    }
    if (c->n_jobs > 0) {
        c->is_gone = 1;         /* the pool hands the rest back */
        return;
    }
    free(c);
}

/* Arms c's timer ns from now. */
void
ingest_conn_arm(struct ingest_conn *c, int64_t ns)
{
    struct timeval tv = { (time_t)(ns / 1000000000),
                          (suseconds_t)(ns % 1000000000 / 1000) };

    evtimer_add(c->timer, &tv);
}

/* Queues a control frame (tagged once the session's MACs are on); the
 * payload is already in ing->payload. */
int
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

void
ingest_conn_close(struct ingest_conn *c, uint16_t code, const char *msg)
{
    if (c->state == INGEST_CLOSING)
        return;
    buf_reset(&c->ing->payload);
    if (wire_error_encode(&c->ing->payload, code, msg) == 0)
        (void)ingest_conn_send(c, WIRE_ERROR);
    ingest_conn_closing(c);
}

void
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

/* Stops reading c's socket while it may not take a frame: libevent would
 * otherwise call the read callback again and again for the bytes it
 * holds (millions of times a second on the bench). Not while the store
 * is failing: ingest_commit_set_reading owns reading then. */
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

/* Takes whole frames off the input while the connection is open. */
void
ingest_conn_process(struct ingest_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);

    for (;;) {
        struct wire_frame f;
        ingest_jobs_deliver(c);
        if (c->state == INGEST_CLOSING)
            return;
        if (!ingest_jobs_may_take(c)) {
            ingest_conn_pause(c, 1);
            return;
        }
        ingest_conn_pause(c, 0);
        enum wire_rd rc = wire_ev_next(&c->rd, in, &f);
        if (rc == WIRE_RD_NEED_MORE)
            return;
        if (rc == WIRE_RD_OK) {
            (void)ingest_frame_handle(c, &f);
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

void
ingest_conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct ingest_conn *c = arg;

    if (c->ing->is_store_failing && c->state == INGEST_READY) {
        bufferevent_disable(bev, EV_READ);
        return;
    }
    ingest_conn_process(c);
}

void
ingest_conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct ingest_conn *c = arg;

    if (c->state == INGEST_CLOSING &&
        evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        ingest_conn_free(c);
}

void
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

void
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
