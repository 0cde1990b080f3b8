/* SPDX-License-Identifier: MIT */
/*
 * sender: see sender.h. The sender's life (new: copied config, timers,
 * compressor workers; start: resolver and first connect; free) and the
 * rest of sender.h's API. Parts, one job each (sender_internal.h holds
 * the state they share): sender_queue.c the retransmit queue (entries,
 * batch encoders, renumbering and re-encoding, the compressor's
 * callback); sender_batch.c records into BATCH frames and METRICS frames
 * into the queue; sender_conn.c the connection (connect, close, backoff,
 * events, frames read and dispatched); sender_hello.c the handshake
 * (HELLO, CHALLENGE and the collector's proof, AUTH, WELCOME, the codec);
 * sender_flow.c frames on a ready connection (writing in order, ACKs and
 * their timer, the keepalive PING).
 */
#include "shipper/sender.h"

#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "shipper/compressor.h"
#include "shipper/sender_internal.h"

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
    s->codec = sender_hello_codec(s, WIRE_CH_ZSTD);
    s->gen = 1;
    s->enc = sender_queue_enc_get(s);
    buf_init(&s->scratch, WIRE_MAX_INFLATED);
    wire_reader_init(&s->rd, WIRE_MAX_CONTROL);
    s->retry_ev = evtimer_new(base, sender_conn_retry_cb, s);
    s->flush_ev = evtimer_new(base, sender_batch_flush_cb, s);
    s->ack_ev = evtimer_new(base, sender_flow_ack_cb, s);
    s->ping_ev = evtimer_new(base, sender_flow_ping_cb, s);
    if (s->retry_ev == NULL || s->flush_ev == NULL || s->ack_ev == NULL ||
        s->ping_ev == NULL)
        goto fail;
    s->comp = compressor_new(base, cfg->compress_threads,
                             sender_queue_done_cb, s);
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
        sender_queue_entry_free(e);
    }
    sender_queue_enc_free(s->enc);
    for (size_t i = 0; i < s->n_spare; i++)
        sender_queue_enc_free(s->spare[i]);
    buf_fini(&s->scratch);
    wire_reader_fini(&s->rd);
    free(s->commits);
    free((void *)s->cfg.token);
    free((char *)s->cfg.hostname);
    free((char *)s->cfg.host);
    free(s);
}

int64_t
sender_now(const struct sender *s)
{
    return s->cfg.clock_ns != NULL ? s->cfg.clock_ns() : mono_ns();
}

int
sender_start(struct sender *s)
{
    s->dns = evdns_base_new(s->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                            EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (s->dns == NULL)
        log_warn("sender", "no async resolver, using getaddrinfo");
    sender_conn_connect(s);
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
