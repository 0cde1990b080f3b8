/* SPDX-License-Identifier: MIT */
/*
 * ingest_commit: durability before acknowledgement, visibility before
 * durability. A stored frame makes its seq pending and schedules one
 * group commit INGEST_COMMIT_DELAY_US later for every connection at
 * once. The commit runs in two steps so that the loop never waits for
 * the disk: store_commit_begin writes the WAL entry of everything stored
 * so far and the store's syncing thread fdatasyncs it, while the loop
 * goes on reading and storing. Once an entry is written (the kernel has
 * it: a collector crash keeps it) its records are visible to searches
 * and followers get them at once (follow_commit_begin / _end right
 * after the write). Commits are pipelined past the sync in flight: the
 * group commits scheduled while it runs still write their entries
 * (store_commit_ahead: visible at once, ~every INGEST_COMMIT_DELAY_US),
 * and the commit begun when it ends syncs them all; so a slow sync (a
 * disk busy writing back other files' dirty pages, 100-500 ms:
 * BENCHMARKS.md "Live tail: commits pipelined past the sync") delays
 * only the ACKs, not what searches and followers see. When a sync
 * returned (store_commit_fd readable, store_commit_end 1) each
 * connection gets an ACK for the highest seq it had pending when that
 * commit began (sync_seq). At most INGEST_MAX_UNSYNCED is stored past
 * the last sync (ingest_is_holding: further decoded frames wait in their
 * jobs, connections stop reading, and the commit's end resumes them). An
 * ACK is never sent before the fdatasync that covers its batch returned
 * (ingest_commit_test), so a shipper's exactly-once does not depend on
 * the page cache: a power loss before the sync loses only records no
 * shipper was told are stored.
 * A failing commit (disk full, a failed sync) acknowledges nothing, stops
 * reading on every connection (shippers keep their batches) and is
 * retried every INGEST_RETRY_S until it succeeds; records already shown
 * stay shown (written again by the retry).
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

/* The commit begun last is durable: ACKs. */
static void
ingest_commit_done(struct ingest *ing)
{
    ing->stats->commits++;
    ingest_send_acks(ing);
    if (ing->is_store_failing) {
        ing->is_store_failing = 0;
        log_info("ingest", "store commit succeeded again, resuming");
        if (!ing->is_shutdown)
            ingest_commit_set_reading(ing, 1);
    }
}

/* Begins one commit of everything pending; while one is in flight,
 * writes what is pending ahead of it (visible now; the next commit,
 * begun at this one's end, syncs it; a failed write is left to that
 * commit). 0 begun, written or done, -1 failed. */
int
ingest_commit(struct ingest *ing)
{
    struct ingest_conn *c;

    if (!ing->has_pending)
        return 0;
    if (ing->is_syncing) {
        if (store_commit_ahead(ing->store) > 0) {
            follow_commit_begin(ing->follow);
            follow_commit_end(ing->follow);
        }
        return 0;
    }
    int rc = store_commit_begin(ing->store);
    if (rc < 0) {
        ingest_commit_failed(ing);
        return -1;
    }
    ing->has_pending = 0;
    TAILQ_FOREACH(c, &ing->conns, entry)
        c->sync_seq = c->pending_seq;
    /* Written, so visible to cursors (store_commit_begin): live now too,
     * in the same turn, so a follower's history and live lines meet. */
    follow_commit_begin(ing->follow);
    follow_commit_end(ing->follow);
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
