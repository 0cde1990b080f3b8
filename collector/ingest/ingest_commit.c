/* SPDX-License-Identifier: MIT */
/*
 * ingest_commit: durability before acknowledgement. A stored frame makes
 * its seq pending and schedules one group commit INGEST_COMMIT_DELAY_US
 * later for every connection at once; after store_commit() succeeds each
 * connection gets an ACK for its highest pending seq and followers get
 * the committed records (follow.c). A failing commit (disk full)
 * acknowledges nothing, stops reading on every connection (shippers keep
 * their batches) and is retried every INGEST_RETRY_S until it succeeds.
 */
#include "collector/ingest/ingest_internal.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "collector/search/follow.h"
#include "collector/store/store.h"
#include "common/log.h"
#include "common/wire.h"

void
ingest_commit_set_reading(struct ingest *ing, int is_on)
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
int
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
            ingest_commit_set_reading(ing, 0);
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
            ingest_commit_set_reading(ing, 1);
    }
    return 0;
}

void
ingest_commit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)ingest_commit(arg);
}

void
ingest_commit_schedule(struct ingest *ing)
{
    struct timeval tv = { 0, INGEST_COMMIT_DELAY_US };

    if (ing->is_store_failing || evtimer_pending(ing->commit_ev, NULL))
        return;
    evtimer_add(ing->commit_ev, &tv);
}
