/* SPDX-License-Identifier: MIT */
/*
 * ingest_batch: a decoded data frame stored, on the loop, in its
 * connection's frame order (ingest_jobs.c). BATCH: the seq must follow
 * the last one, the sources are taken (ingest_src.c), every record is
 * checked (refused source, implausible position: dropped and counted)
 * and store_append()ed with the batch's receive time, new records staged
 * for followers; METRICS: counted, fed to the lost-data table
 * (ingest_losses.c) and to the metrics hook. Either way the seq becomes
 * pending and the group commit is scheduled (ingest_commit.c), which
 * alone acknowledges.
 */
#include "collector/ingest/ingest_internal.h"

#include <inttypes.h>
#include <stdio.h>

#include "collector/ingest/losses.h"
#include "collector/ingest/poscheck.h"
#include "collector/search/agg.h"
#include "collector/search/follow.h"
#include "collector/store/store.h"
#include "common/timeutil.h"
#include "common/wire.h"

/* 0 ok, -1 store error (the store's hold released, the connection
 * closed, nothing acknowledged). recv_ns: when its batch arrived (our
 * wall clock, STORE.md). Called with the store held (store_append_hold):
 * nothing here but the append calls the store. */
static int
ingest_store_record(struct ingest_conn *c, const struct wire_record *wr,
                    int64_t recv_ns)
{
    struct ingest *ing = c->ing;
    const char *base = (const char *)ing->srcbuf.data;
    struct ingest_src *s = &ing->src[wr->source];
    if (s->refused != NULL) {
        (*s->refused_ctr)++;
        if (!s->is_refusal_logged) {    /* once per source and batch */
            s->is_refusal_logged = 1;
            ingest_log_limited(ing, "records dropped: %s host=%s peer=%s "
                               "source=%" PRIu32, s->refused, c->host,
                               c->peer, wr->source);
        }
        return 0;
    }
    if (poscheck_record(&s->pos, wr->offset) < 0) {
        ing->stats->records_implausible++;
        if (!s->is_refusal_logged) {    /* once per source and batch */
            s->is_refusal_logged = 1;
            ingest_log_limited(ing, "records dropped: %s host=%s peer=%s "
                               "container=%.12s start=%" PRIu64 " offset=%"
                               PRIu64 " stored=%" PRIu64, s->pos.refused,
                               c->host_log, c->peer, base + s->id,
                               s->pos.start, wr->offset, s->pos.high);
        }
        return 0;
    }
    struct logrec r = {
        .time_ns = wr->time_ns, .host = c->host,
        .container_id = base + s->id, .container = base + s->name,
        .image = base + s->image, .stream = wr->stream, .flags = wr->flags,
        .offset = wr->offset, .msg = wr->msg.p, .msg_len = wr->msg.len,
        .recv_ns = recv_ns, .labels = s->labels,
    };
    int rc = store_append_held(ing->store, &r, &s->label);

    if (rc == 1) {
        ing->stats->records_stored++;
        c->n_records++;
        hostcap_note_time(c->hc_host, wr->time_ns, recv_ns, AGG_FUTURE_NS);
        if (follow_stage(ing->follow, &r) < 0)
            ing->stats->follow_records_dropped++;
        return 0;
    }
    if (rc == 0) {
        ing->stats->records_duplicate++;
        return 0;
    }
    store_append_release(ing->store);
    ing->stats->store_errors++;
    ingest_log_limited(ing, "store append failed host=%s peer=%s error=\"%s\"",
                       c->host_log, c->peer, store_errstr(ing->store));
    ingest_conn_close(c, WIRE_ERR_BUSY, "store error");
    return -1;
}

/* A full tail closed between appends (store_commit_full): its entry
 * written, so its records are visible to cursors, and published to
 * followers in the same turn, as a commit's (ingest_commit.c). A failed
 * write leaves them pending: the next commit writes them, or fails and
 * says so. */
static void
ingest_close_full(struct ingest *ing)
{
    if (store_commit_full(ing->store) > 0) {
        follow_commit_begin(ing->follow);
        follow_commit_end(ing->follow);
    }
}

static int
ingest_check_seq(struct ingest_conn *c, uint64_t seq)
{
    char detail[64];

    if (seq == c->last_seq + 1)
        return 0;
    snprintf(detail, sizeof(detail), "got %" PRIu64 " after %" PRIu64, seq,
             c->last_seq);
    ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "out of order seq", detail);
    return -1;
}

static void
ingest_mark_pending(struct ingest_conn *c, uint64_t seq)
{
    c->last_seq = seq;
    c->pending_seq = seq;
    c->ing->has_pending = 1;
    ingest_commit_schedule(c->ing);
}

/* b: decoded (and validated) by ingest_dec_run; the caller frees it. */
int
ingest_batch_store(struct ingest_conn *c, struct wire_batch *b)
{
    struct ingest *ing = c->ing;
    struct wire_record wr;

    if (ingest_check_seq(c, b->seq) < 0)
        return -1;
    if (ingest_src_copy(c, b) < 0) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "BATCH sources too large",
                           NULL);
        return -1;
    }
    ingest_src_begin(c, b);
    /* above every earlier stamp: receive order is commit order (follow.h) */
    int64_t recv_ns = follow_recv_next(ing->follow, now_ns());
    /* the store's mutex taken once per INGEST_HOLD_RECORDS records, not
     * for each (cursors on query threads wait at most for that many) */
    unsigned n_held = 0;
    store_append_hold(ing->store);
    while (wire_batch_next(b, &wr) == 1) {
        if (++n_held > INGEST_HOLD_RECORDS) {
            store_append_release(ing->store);
            ingest_close_full(ing);
            store_append_hold(ing->store);
            n_held = 1;
        }
        if (wr.source >= b->n_sources || wr.stream > LOGREC_STDERR) {
            store_append_release(ing->store);
            ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad record", NULL);
            return -1;
        }
        if (ingest_store_record(c, &wr, recv_ns) < 0)
            return -1;
    }
    store_append_release(ing->store);
    ingest_close_full(ing);
    ing->stats->batches++;
    c->n_batches++;
    ingest_mark_pending(c, b->seq);
    return 0;
}

int
ingest_batch_metrics(struct ingest_conn *c, const uint8_t *p, size_t len)
{
    struct ingest *ing = c->ing;
    struct wire_metrics m;
    const char *err = NULL;

    if (wire_metrics_decode(p, len, &m, &err) < 0) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad METRICS payload", err);
        return -1;
    }
    if (ingest_check_seq(c, m.seq) < 0)
        return -1;
    ing->stats->metrics_frames++;
    ing->stats->metric_samples += m.n_samples;
    struct wire_metrics lm = m;
    losses_feed(ing->losses, c->host, &lm);
    ingest_losses_schedule(ing);
    if (ing->metrics_fn != NULL) {
        struct wire_metrics copy = m;
        ing->metrics_fn(c->host, &copy, ing->metrics_arg);
    }
    ingest_mark_pending(c, m.seq);
    return 0;
}
