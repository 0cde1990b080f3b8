/* SPDX-License-Identifier: MIT */
/*
 * sender_batch: records into the open BATCH (each source once per batch,
 * with the resume point its last record leaves), closed at batch_bytes or
 * flush_ms after its first record and handed to the compressor as a queue
 * entry; METRICS frames made here and queued ready. Talks to
 * sender_queue.c (entries, seqs) and sender_flow.c (writing).
 */
#include "shipper/sender_internal.h"

#include <string.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "shipper/compressor.h"

/* Adds src to the open batch if needed; -1 when the batch is full. */
static int
sender_add_source(struct sender *s, struct sender_source *src,
                  uint64_t start)
{
    if (src->batch_gen == s->gen)
        return 0;
    struct wire_source ws = {
        .id = { src->id, strlen(src->id) },
        .name = { src->name, strlen(src->name) },
        .image = { src->image, strlen(src->image) },
        .labels = { src->labels, strlen(src->labels) },
        .start = start,
    };
    if (ws.labels.len > WIRE_MAX_LABELS_LEN)
        ws.labels.len = 0;   /* docker_meta.c caps it; never send a bad frame */
    int idx = wire_batch_enc_add_source(s->enc, &ws);
    if (idx < 0)
        return -1;
    if ((size_t)idx >= s->commits_cap) {
        s->commits_cap = s->commits_cap ? s->commits_cap * 2 : 16;
        s->commits = xreallocarray(s->commits, s->commits_cap,
                                   sizeof(*s->commits));
    }
    struct sender_commit *c = &s->commits[idx];
    size_t n = ws.id.len < WIRE_MAX_ID_LEN ? ws.id.len : WIRE_MAX_ID_LEN;
    memcpy(c->id, src->id, n);
    c->id[n] = '\0';
    src->batch_gen = s->gen;
    src->batch_idx = (uint32_t)idx;
    return 0;
}

static int
sender_try_add(struct sender *s, struct sender_source *src,
               const struct tail_record *r)
{
    if (sender_add_source(s, src, r->start) < 0)
        return -1;
    struct wire_record wr = {
        .source = src->batch_idx, .stream = r->stream, .flags = r->flags,
        .time_ns = r->time_ns, .offset = r->offset,
        .msg = { r->msg, r->msg_len },
    };
    if (wire_batch_enc_add_record(s->enc, &wr) < 0)
        return -1;
    s->commits[src->batch_idx].pos = r->resume;
    return 0;
}

void
sender_add(struct sender *s, struct sender_source *src,
           const struct tail_record *r)
{
    if (sender_try_add(s, src, r) < 0) {
        sender_flush(s);
        /* An empty batch holds any source and record tail can produce
         * (max_record is capped far below SENDER_RAW_MAX by config.c). */
        if (sender_try_add(s, src, r) < 0)
            fatalx("sender", "record does not fit an empty batch len=%zu",
                   r->msg_len);
    }
    if (wire_batch_enc_raw_len(s->enc) >= s->cfg.batch_bytes) {
        sender_flush(s);
    } else if (!s->is_flush_armed) {
        struct timeval tv = { s->cfg.flush_ms / 1000,
                              (s->cfg.flush_ms % 1000) * 1000 };
        if (evtimer_add(s->flush_ev, &tv) == 0)
            s->is_flush_armed = 1;
    }
}

void
sender_flush(struct sender *s)
{
    if (s->is_flush_armed) {
        evtimer_del(s->flush_ev);
        s->is_flush_armed = 0;
    }
    if (s->enc->n_records == 0)
        return;
    struct sender_entry *e = xcalloc(1, sizeof(*e));
    e->type = WIRE_BATCH;
    e->seq = sender_queue_next_seq(s);
    buf_init(&e->frame, SENDER_FRAME_MAX);
    buf_init(&e->reframe, SENDER_FRAME_MAX);
    e->enc = s->enc;
    e->n_commits = e->enc->n_sources;
    e->commits = xmemdup(s->commits, e->n_commits * sizeof(*e->commits));
    e->cost = sender_queue_entry_cost(e);
    s->enc = sender_queue_enc_get(s);
    s->gen++;
    sender_queue_append(s, e);
    s->n_raw++;
    sender_queue_note_full(s);
    e->job = (struct compressor_job){
        .kind = COMPRESSOR_BATCH, .enc = e->enc, .seq = e->seq,
        .codec = s->codec, .out = &e->frame, .arg = e,
    };
    compressor_submit(s->comp, &e->job);   /* done: sender_queue_done_cb */
}

void
sender_batch_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sender *s = arg;

    s->is_flush_armed = 0;
    sender_flush(s);
}

int
sender_send_metrics(struct sender *s, struct wire_metrics_enc *m,
                    int64_t time_ns)
{
    if (!sender_can_accept(s) || m->n_samples == 0) {
        s->ctr->metrics_dropped++;
        return -1;
    }
    struct sender_entry *e = xcalloc(1, sizeof(*e));
    e->type = WIRE_METRICS;
    e->seq = sender_queue_next_seq(s);
    buf_init(&e->frame, SENDER_FRAME_MAX);
    buf_init(&e->reframe, SENDER_FRAME_MAX);
    if (wire_metrics_enc_finish_codec(m, e->seq, time_ns, &e->frame,
                                      &s->codec) < 0) {
        sender_queue_entry_free(e);
        s->ctr->metrics_dropped++;
        return -1;
    }
    e->is_ready = 1;
    e->cost = sender_queue_entry_cost(e);
    sender_queue_append(s, e);
    sender_queue_note_full(s);
    sender_flow_write_pending(s);
    return 0;
}
