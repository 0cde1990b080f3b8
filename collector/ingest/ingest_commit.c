/* SPDX-License-Identifier: MIT */
/*
 * ingest_commit: durability before acknowledgement. A stored frame makes
 * its seq pending and schedules one group commit INGEST_COMMIT_DELAY_US
 * later for every connection at once. The commit runs in two steps so
 * that the loop never waits for the disk: store_commit_begin writes the
 * WAL entry of everything stored so far and the store's syncing thread
 * fdatasyncs it, while the loop goes on reading and storing; when the
 * sync returned (store_commit_fd readable, store_commit_end 1) each
 * connection gets an ACK for the highest seq it had pending when the
 * commit began (sync_seq) and followers get the records staged before it
 * began (follow_commit_begin / _end). Frames stored meanwhile wait for
 * the next commit, started as soon as this one ends; at most
 * INGEST_MAX_UNSYNCED of them (ingest_is_holding: further decoded frames
 * wait in their jobs, connections stop reading, and the commit's end
 * resumes them). An ACK is never sent before the fdatasync that covers
 * its batch returned (ingest_commit_test).
 * A failing commit (disk full, a failed sync) acknowledges nothing, stops
 * reading on every connection (shippers keep their batches) and is
 * retried every INGEST_RETRY_S until it succeeds.
 */
#include "collector/ingest/ingest_internal.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "collector/search/follow.h"
#include "collector/store/store.h"
#include "common/log.h"
#include "common/timeutil.h"
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
        if (c->state != INGEST_READY || c->sync_seq <= c->acked_seq)
            continue;
        buf_reset(&ing->payload);
        if (wire_u64_encode(&ing->payload, c->sync_seq) == 0 &&
            ingest_conn_send(c, WIRE_ACK) == 0)
            c->acked_seq = c->sync_seq;
    }
}

static void
ingest_commit_failed(struct ingest *ing)
{
    struct timeval retry = { INGEST_RETRY_S, 0 };

    ing->stats->store_errors++;
    ing->has_pending = 1;           /* the records are still pending */
    ingest_log_limited(ing, "store commit failed, not acknowledging, "
                       "retrying error=\"%s\"", store_errstr(ing->store));
    if (!ing->is_store_failing) {
        ing->is_store_failing = 1;
        ingest_commit_set_reading(ing, 0);
    }
    evtimer_add(ing->retry_ev, &retry);
}

/* The commit begun last is durable: ACKs, then live followers. */
static void
ingest_commit_done(struct ingest *ing)
{
    ing->stats->commits++;
    ingest_send_acks(ing);
    follow_commit_end(ing->follow);
    if (ing->is_store_failing) {
        ing->is_store_failing = 0;
        log_info("ingest", "store commit succeeded again, resuming");
        if (!ing->is_shutdown)
            ingest_commit_set_reading(ing, 1);
    }
}

/* Begins one commit of everything pending (none if one is in flight:
 * its end begins the next). 0 begun or done, -1 failed. */
int
ingest_commit(struct ingest *ing)
{
    struct ingest_conn *c;

    if (ing->is_syncing || !ing->has_pending)
        return 0;
    int rc = store_commit_begin(ing->store);
    if (rc < 0) {
        ingest_commit_failed(ing);
        return -1;
    }
    ing->has_pending = 0;
    TAILQ_FOREACH(c, &ing->conns, entry)
        c->sync_seq = c->pending_seq;
    follow_commit_begin(ing->follow);
    if (rc == 0)                    /* nothing to sync: durable already */
        ingest_commit_done(ing);
    else
        ing->is_syncing = 1;
    return 0;
}

int
ingest_is_holding(struct ingest *ing)
{
    if (ing->is_store_failing)
        return 1;               /* ingest_commit_set_reading resumes */
    if (!ing->is_syncing ||
        store_unsynced_bytes(ing->store) < INGEST_MAX_UNSYNCED)
        return 0;
    if (!ing->is_held) {
        ing->is_held = 1;       /* the commit's end resumes */
        ing->held_ns = mono_ns();
        ing->stats->commit_holds++;
    }
    return 1;
}

/* After a commit: the frames held meanwhile go in, reading resumes. */
static void
ingest_commit_resume(struct ingest *ing)
{
    struct ingest_conn *c, *next;

    for (c = TAILQ_FIRST(&ing->conns); c != NULL; c = next) {
        next = TAILQ_NEXT(c, entry);
        if (c->state == INGEST_READY)
            ingest_conn_process(c);
    }
}

/* The commit in flight ended with rc (store_commit_end). */
static int
ingest_commit_end(struct ingest *ing, int rc)
{
    if (rc == 0)
        return 0;
    ing->is_syncing = 0;
    if (rc < 0) {
        ingest_commit_failed(ing);
        return -1;
    }
    ingest_commit_done(ing);
    if (ing->is_held && !ing->is_shutdown) {
        ing->is_held = 0;
        ing->stats->commit_hold_ms +=
            (uint64_t)((mono_ns() - ing->held_ns) / 1000000);
        ingest_commit_resume(ing);
    }
    if (ing->has_pending && !ing->is_shutdown)
        return ingest_commit(ing);  /* what was stored meanwhile */
    return 0;
}

void
ingest_commit_sync_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;

    if (ing->is_syncing)
        (void)ingest_commit_end(ing, store_commit_end(ing->store));
    else
        (void)store_commit_end(ing->store);     /* a stale wake-up or a seal
                                                   job's end (applied) */
}

int
ingest_commit_flush(struct ingest *ing)
{
    if (ing->is_syncing &&
        ingest_commit_end(ing, store_commit_wait(ing->store)) < 0)
        return -1;
    if (ingest_commit(ing) < 0)
        return -1;
    if (ing->is_syncing)
        return ingest_commit_end(ing, store_commit_wait(ing->store));
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
