/* SPDX-License-Identifier: MIT */
/*
 * sender_queue: the retransmit queue (see sender.c) holds each frame as
 * sent (compressed), so in-flight memory is counted in wire bytes; a closed
 * batch waiting for its compressor worker sits in the queue as its raw
 * encoder and counts its raw bytes. Frames leave in queue order: writing
 * stops at the first one not compressed yet. Each batch is encoded with
 * the seq it will carry if the connection holds (last seq sent + frames
 * queued but unsent + 1; a new connection starts at 1, so batches closed
 * while disconnected are numbered right too). A frame whose seq no longer
 * matches (it was in flight when the connection dropped) is re-encoded:
 * decompress, patch the leading u64 seq, compress; on a worker too (a
 * RESEQ job; the frames behind it wait), or inline with 0 threads. So is
 * a frame made with the other codec than the connection negotiated (zstd
 * or zlib, PROTOCOL.md "Compression"): batches closed while disconnected
 * use the codec of the last connection. Both only happen after a
 * reconnect, so the steady state compresses each batch once.
 */
#include "shipper/sender_internal.h"

#include <stdlib.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "shipper/compressor.h"

void
sender_queue_enc_free(struct wire_batch_enc *enc)
{
    if (enc == NULL)
        return;
    wire_batch_enc_fini(enc);
    free(enc);
}

/* An empty batch encoder, reused when one is idle. */
struct wire_batch_enc *
sender_queue_enc_get(struct sender *s)
{
    if (s->n_spare > 0)
        return s->spare[--s->n_spare];
    struct wire_batch_enc *enc = xmalloc(sizeof(*enc));
    wire_batch_enc_init(enc, SENDER_RAW_MAX);
    return enc;
}

static void
sender_enc_put(struct sender *s, struct wire_batch_enc *enc)
{
    if (s->n_spare == SENDER_SPARE_ENCS) {
        sender_queue_enc_free(enc);
        return;
    }
    wire_batch_enc_reset(enc);
    s->spare[s->n_spare++] = enc;
}

size_t
sender_queue_entry_cost(const struct sender_entry *e)
{
    size_t body = e->enc != NULL ? wire_batch_enc_raw_len(e->enc)
                                 : e->frame.len;

    return body + e->n_commits * sizeof(*e->commits);
}

void
sender_queue_entry_free(struct sender_entry *e)
{
    sender_queue_enc_free(e->enc);
    buf_fini(&e->frame);
    buf_fini(&e->reframe);
    free(e->commits);
    free(e);
}

void
sender_queue_append(struct sender *s, struct sender_entry *e)
{
    if (s->tail != NULL)
        s->tail->next = e;
    else
        s->head = e;
    s->tail = e;
    s->inflight += e->cost;
    s->n_unsent++;
}

/* The seq the next queued frame will carry unless the connection drops:
 * every unsent frame ahead of it is sent first, one seq each. */
uint64_t
sender_queue_next_seq(const struct sender *s)
{
    return s->conn_seq + s->n_unsent + 1;
}

/* Notes when the queue turns full (reading pauses): after an append. */
void
sender_queue_note_full(struct sender *s)
{
    if (s->full_since_ns == 0 && !sender_can_accept(s))
        s->full_since_ns = mono_ns();
}

/* Runs the room callback if in-flight bytes went under the cap; the
 * pause is counted by what ended it (an ACK or a compressed batch). */
void
sender_queue_check_room(struct sender *s, int was_full)
{
    if (!sender_can_accept(s))
        return;
    if (s->full_since_ns != 0) {
        uint64_t ms = (uint64_t)((mono_ns() - s->full_since_ns) / 1000000);
        if (s->is_acking) {
            s->ctr->window_waits++;
            s->ctr->window_wait_ms += ms;
        } else {
            s->ctr->compress_waits++;
            s->ctr->compress_wait_ms += ms;
        }
        s->full_since_ns = 0;
    }
    if (was_full && s->room_cb != NULL)
        s->room_cb(s->cb_arg);
}

/* e's frame is replaced by e->reframe, which carries seq. */
static void
sender_entry_reframed(struct sender *s, struct sender_entry *e, uint64_t seq)
{
    buf_fini(&e->frame);
    e->frame = e->reframe;
    buf_init(&e->reframe, SENDER_FRAME_MAX);
    s->inflight -= e->cost;
    e->cost = sender_queue_entry_cost(e);
    s->inflight += e->cost;
    e->seq = seq;
}

/* The codec a ready entry's frame was made with (its header's flag). */
uint8_t
sender_queue_entry_codec(const struct sender_entry *e)
{
    return e->frame.data[3] & (WIRE_F_ZLIB | WIRE_F_ZSTD);
}

/*
 * Makes e's frame carry seq, compressed with the connection's codec: on a
 * worker (e is not ready until the job is done; returns 1) or, with no
 * workers, here (returns 0). -1 if our own frame does not decode (cannot
 * happen short of memory corruption).
 */
int
sender_queue_entry_reseq(struct sender *s, struct sender_entry *e, uint64_t seq)
{
    if (s->cfg.compress_threads > 0) {
        e->is_ready = 0;
        e->job = (struct compressor_job){
            .kind = COMPRESSOR_RESEQ, .frame = &e->frame, .seq = seq,
            .codec = s->codec, .out = &e->reframe, .arg = e,
        };
        compressor_submit(s->comp, &e->job);
        return 1;
    }
    const char *err;
    if (compressor_reseq(e->frame.data, e->frame.len, seq, &s->codec,
                         &s->scratch, &e->reframe, &err) < 0) {
        log_error("sender", "cannot re-encode queued frame: %s", err);
        return -1;
    }
    sender_entry_reframed(s, e, seq);
    return 0;
}

/* A worker finished e's frame (compressor.c, on the loop thread). */
void
sender_queue_done_cb(void *arg, struct compressor_job *job)
{
    struct sender *s = arg;
    struct sender_entry *e = job->arg;
    int was_full = !sender_can_accept(s);

    /* Sizes are capped (config.c, SENDER_RAW_MAX) and a RESEQ input is a
     * frame we made: neither can fail short of memory corruption. */
    if (job->rc < 0)
        fatalx("sender", "cannot encode frame seq=%llu",
               (unsigned long long)job->seq);
    if (job->kind == COMPRESSOR_RESEQ) {
        sender_entry_reframed(s, e, job->seq);
    } else {
        sender_enc_put(s, e->enc);
        e->enc = NULL;
        s->n_raw--;
        s->inflight -= e->cost;
        e->cost = sender_queue_entry_cost(e);
        s->inflight += e->cost;
    }
    e->is_ready = 1;
    sender_flow_write_pending(s);
    sender_queue_check_room(s, was_full);
}
