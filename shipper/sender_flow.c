/* SPDX-License-Identifier: MIT */
/*
 * sender_flow: frames on a ready connection: queued frames written in seq
 * order (tagged per connection, at most SENDER_OUT_MAX in the output
 * buffer, renumbered or re-encoded first when they must be), ACKs
 * releasing them and committing their resume points, the ACK timer of the
 * oldest un-acked frame and the keepalive PING (PROTOCOL.md "Keepalive").
 */
#include "shipper/sender_internal.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/wireauth.h"

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
                   sender_now(s);
    if (left < 0)
        left = 0;
    struct timeval tv = { (time_t)(left / 1000000000),
                          (suseconds_t)(left % 1000000000 / 1000) };
    if (evtimer_add(s->ack_ev, &tv) < 0)
        log_error("sender", "cannot arm ack timer");
}

/*
 * Writes the queued frames not yet sent on this connection, in order, up to
 * the first one still being compressed. Ready frames further on that carry
 * the wrong seq are sent to be renumbered meanwhile (one job each; a frame
 * still being compressed is checked when it is done).
 */
void
sender_flow_write_pending(struct sender *s)
{
    if (s->state != SENDER_READY)
        return;
    int is_blocked = 0;
    uint64_t seq = s->conn_seq;
    int64_t now = sender_now(s);
    for (struct sender_entry *e = s->head; e != NULL; e = e->next) {
        if (e->is_sent)
            continue;
        seq++;
        if (e->is_ready &&
            (e->seq != seq || sender_queue_entry_codec(e) != s->codec.flag) &&
            sender_queue_entry_reseq(s, e, seq) < 0) {
            sender_conn_close(s, "re-encode failed");
            return;
        }
        if (!e->is_ready ||
            evbuffer_get_length(bufferevent_get_output(s->bev)) >=
            SENDER_OUT_MAX)
            is_blocked = 1;
        if (is_blocked)
            continue;
        if (sender_write_entry(s, e) < 0) {
            sender_conn_close(s, "write failed");
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

int
sender_flow_on_ack(struct sender *s, const uint8_t *p, size_t len)
{
    uint64_t seq;
    const char *err;
    int was_full = !sender_can_accept(s);

    if (wire_u64_decode(p, len, &seq, &err) < 0) {
        sender_conn_close(s, err);
        return -1;
    }
    if (seq > s->conn_seq) {
        sender_conn_close(s, "ack for a frame never sent");
        return -1;
    }
    while (s->head != NULL && s->head->is_sent && s->head->seq <= seq) {
        struct sender_entry *e = s->head;
        s->last_ack_ns = sender_now(s);
        s->head = e->next;
        if (s->head == NULL)
            s->tail = NULL;
        s->inflight -= e->cost;
        s->ctr->batches_acked++;
        for (size_t i = 0; i < e->n_commits; i++)
            s->commit_cb(s->cb_arg, e->commits[i].id, &e->commits[i].pos);
        sender_queue_entry_free(e);
    }
    sender_ack_timer_arm(s);
    s->is_acking = 1;
    sender_queue_check_room(s, was_full);
    s->is_acking = 0;
    return 0;
}

/* The oldest un-acked frame's time is up (checked again: an ACK may have
 * moved the deadline since the timer was armed). */
void
sender_flow_ack_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sender *s = arg;
    const struct sender_entry *e = s->head;

    if (e == NULL || !e->is_sent || s->state != SENDER_READY)
        return;
    int64_t since = e->sent_ns > s->last_ack_ns ? e->sent_ns : s->last_ack_ns;
    if (sender_now(s) - since < (int64_t)s->cfg.ack_timeout_ms * 1000000) {
        sender_ack_timer_arm(s);
        return;
    }
    sender_conn_close(s, "ack timeout");
}

/*
 * Keepalive (PROTOCOL.md): when nothing was written for ping_ms, a PING,
 * so the collector's idle timeout spares an idle but healthy shipper; a
 * PING left without PONG for 1.5 ping_ms means the collector is gone (or
 * the path to it): reconnect, so a dead collector is noticed within about
 * 3 ping_ms even when no batch waits for an ACK.
 */
void
sender_flow_ping_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sender *s = arg;
    int64_t now = sender_now(s), ping_ns = (int64_t)s->cfg.ping_ms * 1000000;

    if (s->state != SENDER_READY)
        return;
    if (s->ping_sent_ns != 0 && now - s->ping_sent_ns >= ping_ns * 3 / 2) {
        sender_conn_close(s, "ping timeout");
        return;
    }
    if (s->ping_sent_ns == 0 && now - s->last_write_ns >= ping_ns) {
        struct buf p;
        buf_init(&p, 16);
        int rc = wire_u64_encode(&p, (uint64_t)now);
        if (rc == 0)
            rc = sender_conn_write_frame(s, WIRE_PING, &p);
        buf_fini(&p);
        if (rc < 0) {
            sender_conn_close(s, "cannot send ping");
            return;
        }
        s->ping_sent_ns = now;
    }
    struct timeval tv = { s->cfg.ping_ms / 2000,
                          (s->cfg.ping_ms / 2 % 1000) * 1000 };
    if (evtimer_add(s->ping_ev, &tv) < 0)
        log_error("sender", "cannot arm ping timer");
}

void
sender_check_timeouts(struct sender *s)
{
    sender_flow_ack_cb(-1, EV_TIMEOUT, s);
    sender_flow_ping_cb(-1, EV_TIMEOUT, s);
}
