/* SPDX-License-Identifier: MIT */
/*
 * segment_seal: the store's seal jobs (collector/STORE.md). On the store's
 * thread a job is built from the committed tail (split into blocks of
 * about block_size, header placeholders + meta) and, once run, applied
 * (block directory, new segments, spare bodies and token sets). On the
 * sealing thread a job is run: compress, append, fsync, then feed the new
 * blocks to the segment's token index (segindex.c), whose block numbers
 * are indexes of seg->blks (directory order is on-disk order). Segment
 * scans and block reads are in segment.c.
 */
#include "collector/store/store_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/store/index.h"
#include "common/compress.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

/* ------------------------------------------------------------------ */
/* Seal jobs: built and applied on the store's thread                  */

int
store_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Header placeholder + meta of t into ch->blk, its labels into ch. The
 * label ids and counts are set first: a chunk whose meta cannot be encoded
 * still needs them to be quarantined. */
static int
chunk_meta(struct store *s, const struct store_tail *t, struct seal_chunk *ch)
{
    struct buf *b = &ch->blk;
    uint8_t hb[STORE_BLK_HDR_LEN] = { 0 };

    buf_init(b, STORE_MAX_RAW + STORE_MAX_META);
    ch->ids = xcalloc(t->n_labels ? t->n_labels : 1, sizeof(*ch->ids));
    ch->labels = xcalloc(t->n_labels ? t->n_labels : 1, sizeof(*ch->labels));
    ch->max_off = xcalloc(t->n_labels ? t->n_labels : 1,
                          sizeof(*ch->max_off));
    ch->n_records = t->n_records;
    ch->n_labels = t->n_labels;
    ch->min_ns = t->min_ns;
    ch->max_ns = t->max_ns;
    ch->stream_mask = t->stream_mask;
    for (uint32_t i = 0; i < t->n_labels; i++) {
        const struct store_tail_label *tl = &t->labels[i];
        ch->ids[i] = tl->id;
        ch->labels[i].id = tl->id;
        ch->labels[i].n_lines = tl->n_lines;
        ch->labels[i].min_ns = tl->n_lines ? tl->min_ns : t->min_ns;
        ch->labels[i].max_ns = tl->n_lines ? tl->max_ns : t->min_ns;
        ch->max_off[i] = tl->max_off;
    }
    if (buf_append(b, hb, sizeof(hb)) < 0 ||
        buf_put_u8(b, t->stream_mask) < 0 ||
        buf_put_varint(b, t->n_labels) < 0)
        return -1;
    for (uint32_t i = 0; i < t->n_labels; i++) {
        const struct store_label *l = s->labels[ch->ids[i]];
        int64_t mn = ch->labels[i].min_ns, mx = ch->labels[i].max_ns;
        int64_t d = (int64_t)((uint64_t)mn - (uint64_t)t->min_ns);
        if (block_put_str(b, l->host, l->host_len) < 0 ||
            block_put_str(b, l->cid, l->cid_len) < 0 ||
            block_put_str(b, l->name, l->name_len) < 0 ||
            block_put_str(b, l->image, l->image_len) < 0 ||
            buf_put_varint(b, ch->labels[i].n_lines) < 0 ||
            buf_put_varint(b, ch->max_off[i]) < 0 ||
            buf_put_varint(b, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63)) < 0 ||
            buf_put_varint(b, (uint64_t)mx - (uint64_t)mn) < 0)
            return -1;
    }
    ch->meta_len = b->len - STORE_BLK_HDR_LEN;
    if (ch->meta_len > STORE_MAX_META)
        return -1;
    return 0;
}

/* A tail without a body (its body went to a job) takes the buffer of a
 * sealed job's block if one is spare, the largest: grown by doubling from
 * nothing, a body was copied by realloc about 13 times per block (1.25%
 * of the collector's instructions while ingesting), and a tail outgrows
 * a block while its commit syncs (a 2 MiB body realloc'ed to 4 MiB: the
 * copy and the fresh pages' faults were 3-4% of the collector's samples
 * while ingesting, with 2 spares of at most 2 blocks: BENCHMARKS.md
 * "Tail bodies kept for the next tails"). The later blocks of a split
 * take spares too. */
static void
tail_reserve(struct store *s, struct store_tail *t)
{
    if (t->body.data != NULL || s->n_spare_body == 0)
        return;
    size_t max = t->body.max, k = 0;
    for (size_t i = 1; i < s->n_spare_body; i++)
        if (s->spare_body[i].cap > s->spare_body[k].cap)
            k = i;
    t->body = s->spare_body[k];
    s->spare_body[k] = s->spare_body[--s->n_spare_body];
    t->body.max = max;
    buf_reset(&t->body);
}

/* A new chunk's token set: a sealed job's if one is spare (calloc'ed
 * and grown to a block's keys, each block again: 1.5% of the collector's
 * instructions in memset), else a new one. Its entries are cleared
 * where the indexer starts on it (indexer_chunk: index_set_reset). */
static void
chunk_set_init(struct store *s, struct index_set *set)
{
    if (s->n_spare_set == 0) {
        index_set_init(set);
        return;
    }
    *set = s->spare_set[--s->n_spare_set];
}

void
segment_job_spare(struct store *s, struct seal_job *job)
{
    for (size_t i = 0; i < job->n_ch; i++) {
        struct seal_chunk *ch = &job->ch[i];
        if (s->n_spare_body < STORE_SPARE_BODIES && ch->body.data != NULL &&
            ch->body.cap <= 4 * s->opt.block_size) {
            s->spare_body[s->n_spare_body++] = ch->body;
            buf_init(&ch->body, 0);
        }
        if (s->n_spare_set < STORE_SPARE_SETS && ch->set.tab != NULL &&
            ch->set.size <= STORE_SPARE_SET_MAX) {
            s->spare_set[s->n_spare_set++] = ch->set;
            ch->set.tab = NULL;
            ch->set.size = ch->set.n = 0;
        }
    }
}

void
segment_spare_trim(struct store *s)
{
    size_t n = 0;

    for (size_t i = 0; i < s->n_spare_body; i++) {
        if (n < STORE_SPARE_IDLE &&
            s->spare_body[i].cap <= 2 * s->opt.block_size)
            s->spare_body[n++] = s->spare_body[i];
        else
            buf_fini(&s->spare_body[i]);
    }
    s->n_spare_body = n;
}

static void
tail_reset(struct store *s, struct store_tail *t)
{
    buf_reset(&t->body);
    t->committed_len = 0;
    t->committed_n = 0;
    t->visible_len = 0;
    t->visible_n = 0;
    t->visible_prev[0] = 0;
    t->visible_prev[1] = 0;
    t->committed_prev[0] = 0;
    t->committed_prev[1] = 0;
    t->n_records = 0;
    t->prev_ns[0] = 0;
    t->prev_ns[1] = 0;
    t->min_ns = INT64_MAX;
    t->max_ns = INT64_MIN;
    t->stream_mask = 0;
    t->n_labels = 0;
    t->meta_bytes = 0;
    t->at.epoch = 0;
    t->at.n_undo = 0;
    t->gen = ++s->gen_next;
}

/* ch's fill (store_tail_fill) were its body len bytes long. */
static size_t
tail_fill_at(const struct store_tail *ch, size_t len, size_t block_size)
{
    if (ch->meta_bytes >= STORE_TAIL_META_FULL)
        return block_size;
    return len + ch->meta_bytes;
}

/* The first chunk of a split, ch (new): the tail's records from its
 * start while ch is not full, counted in ch but not encoded again, their
 * bytes being the tail's (a chunk numbers its labels in the order of
 * their first records, as the tail did, and its first record's times are
 * deltas from 0, as the tail's were); *len: the bytes they take. The
 * number of records taken, 0 if a record's label number is not the
 * chunk's (a label left in the tail's table without a record by a
 * failed add): then ch is made again by encoding. */
static uint32_t
tail_split_head(struct store *s, struct store_tail *ch,
                const struct store_rec *recs, size_t *len)
{
    const struct store_tail *t = &s->tail;
    size_t bs = s->opt.block_size;
    uint32_t i;

    *len = 0;
    for (i = 0; i < t->n_records; i++) {
        if (tail_fill_at(ch, *len, bs) >= bs)
            break;
        struct store_label *l = s->labels[t->labels[recs[i].label].id];
        if (store_tail_count(ch, l, &recs[i]) != recs[i].label)
            return 0;
        *len = (size_t)(recs[i].msg + recs[i].msg_len - t->body.data);
    }
    return i;
}

/* Splits the tail (one commit may add more than a block) into blocks of
 * about block_size: the first keeps the tail's bytes (tail_split_head),
 * the others' records are decoded and encoded again (their label
 * numbers and their first time deltas are their own); all of them
 * (store_options.is_split_encoded, the path before: the same bytes,
 * store_cached_test). */
static struct store_tail *
tail_split(struct store *s, size_t *n_out)
{
    struct store_tail *t = &s->tail, *ch = NULL;
    struct store_rec *recs = NULL;
    size_t cap = 0, n = 1, head_len = 0;
    uint32_t i = 0;

    if (block_body_decode(t->body.data, t->body.len, t->n_records,
                          t->n_labels, 1, &recs, &cap) < 0) {
        free(recs);
        return NULL;            /* cannot happen: we encoded it */
    }
    ch = xreallocarray(NULL, 1, sizeof(*ch));
    store_tail_init(s, &ch[0], STORE_MAX_RAW);
    if (!s->opt.is_split_encoded &&
        (i = tail_split_head(s, &ch[0], recs, &head_len)) == 0) {
        store_tail_fini(&ch[0]);
        store_tail_init(s, &ch[0], STORE_MAX_RAW);
    }
    if (i > 0) {                /* the tail's buffer, cut after the head */
        buf_fini(&ch[0].body);
        ch[0].body = t->body;
        ch[0].body.len = head_len;
        buf_init(&t->body, t->body.max);   /* recs still point there */
    }
    for (; i < t->n_records; i++) {
        const struct store_rec *r = &recs[i];
        if (store_tail_fill(&ch[n - 1], s->opt.block_size) >=
            s->opt.block_size) {
            ch = xreallocarray(ch, n + 1, sizeof(*ch));
            store_tail_init(s, &ch[n++], STORE_MAX_RAW);
            tail_reserve(s, &ch[n - 1]);
        }
        struct store_label *l = s->labels[t->labels[r->label].id];
        int rc = store_tail_add(&ch[n - 1], l, r);
        assert(rc == 0);        /* chunk cap STORE_MAX_RAW > tail cap */
        s->n_recs_split++;
        (void)rc;
    }
    free(recs);
    *n_out = n;
    return ch;
}

/* The records past the committed prefix (n of recs) re-encoded into
 * *rest, a new tail, with the tail's visible prefix: those among them
 * already in a WAL entry (written ahead of the sync that just ended,
 * shown to searches and followers) stay visible in the new tail, so that
 * no reader sees a record vanish at a seal. */
static void
tail_carry_rest(struct store *s, struct store_tail *rest,
                const struct store_rec *recs, uint32_t n)
{
    const struct store_tail *t = &s->tail;
    uint32_t n_vis = t->visible_n - t->committed_n;

    assert(t->visible_n >= t->committed_n && n_vis <= n);
    s->n_recs_carried += n;
    store_tail_init(s, rest, t->body.max);
    tail_reserve(s, rest);
    for (uint32_t i = 0; i < n; i++) {
        if (i == n_vis) {
            rest->visible_len = rest->body.len;
            rest->visible_n = i;
            rest->visible_prev[0] = rest->prev_ns[0];
            rest->visible_prev[1] = rest->prev_ns[1];
        }
        struct store_label *l = s->labels[t->labels[recs[i].label].id];
        int rc = store_tail_add(rest, l, &recs[i]);
        assert(rc == 0);        /* fewer records, same cap */
        (void)rc;
    }
    if (n_vis == n) {
        rest->visible_len = rest->body.len;
        rest->visible_n = n;
        rest->visible_prev[0] = rest->prev_ns[0];
        rest->visible_prev[1] = rest->prev_ns[1];
    }
}

/* The tail's label table cut to its first n_labels, and their meta bytes
 * counted again. */
static void
tail_cut_labels(struct store *s, struct store_tail *t, uint32_t n_labels)
{
    t->n_labels = n_labels;
    t->meta_bytes = 0;
    for (uint32_t k = 0; k < n_labels; k++) {
        const struct store_label *l = s->labels[t->labels[k].id];
        t->meta_bytes += l->host_len + l->cid_len + l->name_len +
                         l->image_len + 48;     /* as tail_add_label */
    }
}

/* tail_carry from the whole tail decoded: the prefix's stats counted
 * again from its records (store_options.is_carry_decoded, and a tail
 * without a mark of its committed prefix). */
static int
tail_carry_decoded(struct store *s, struct store_tail *rest)
{
    struct store_tail *t = &s->tail;
    struct store_rec *recs = NULL;
    size_t cap = 0;
    uint32_t n_labels = 0;

    if (block_body_decode(t->body.data, t->body.len, t->n_records,
                          t->n_labels, 1, &recs, &cap) < 0) {
        free(recs);
        return -1;
    }
    tail_carry_rest(s, rest, recs + t->committed_n,
                    t->n_records - t->committed_n);
    for (uint32_t i = 0; i < t->committed_n; i++)
        if (recs[i].label + 1 > n_labels)
            n_labels = recs[i].label + 1;
    t->body.len = t->committed_len;
    t->n_records = 0;
    t->min_ns = INT64_MAX;
    t->max_ns = INT64_MIN;
    t->stream_mask = 0;
    t->at.epoch = 0;            /* nothing to save for the notes below */
    tail_cut_labels(s, t, n_labels);
    for (uint32_t k = 0; k < n_labels; k++)
        t->labels[k] = (struct store_tail_label){
            .id = t->labels[k].id, .min_ns = INT64_MAX, .max_ns = INT64_MIN,
        };
    for (uint32_t i = 0; i < t->committed_n; i++)
        store_tail_note(t, recs[i].label, &recs[i]);
    free(recs);
    return 0;
}

/* The tail holds records past its committed prefix (appended while a
 * commit was being synced): those are re-encoded into *rest
 * (uncommitted); the prefix keeps its bytes in s->tail, its stats those
 * it had when its commit began (the mark, store_tail_at: the labels
 * changed since restored from their saved copies) and its label table
 * cut to the labels it uses (a label enters the table at its first
 * record, so the ones first used past the prefix are the table's last;
 * one left without a record by a failed add keeps n_lines 0). Only the
 * records past the prefix are decoded: the whole tail (about a block)
 * was decoded and counted again on the loop at every seal before,
 * BENCHMARKS.md "The event loop's own work". Without a mark of the
 * prefix, tail_carry_decoded. -1 if the tail does not decode (cannot
 * happen: we encoded it). */
static int
tail_carry(struct store *s, struct store_tail *rest)
{
    struct store_tail *t = &s->tail;
    struct store_tail_at *at = &t->at;
    struct store_rec *recs = NULL;
    size_t cap = 0;

    if (s->opt.is_carry_decoded || at->epoch == 0 ||
        at->n != t->committed_n || at->len != t->committed_len)
        return tail_carry_decoded(s, rest);
    uint32_t n = t->n_records - at->n;
    if (block_body_decode_at(t->body.data + at->len, t->body.len - at->len,
                             n, t->n_labels, at->prev_ns, &recs, &cap) < 0) {
        free(recs);
        return -1;
    }
    tail_carry_rest(s, rest, recs, n);
    free(recs);
    for (uint32_t u = 0; u < at->n_undo; u++)
        if (at->undo[u].idx < at->n_labels)
            t->labels[at->undo[u].idx] = at->undo[u].l;
    uint32_t n_labels = at->n_labels;
    while (n_labels > 0 && t->labels[n_labels - 1].n_lines == 0)
        n_labels--;
    t->body.len = t->committed_len;
    t->n_records = at->n;
    t->min_ns = at->min_ns;
    t->max_ns = at->max_ns;
    t->stream_mask = at->stream_mask;
    at->epoch = 0;
    tail_cut_labels(s, t, n_labels);
    return 0;
}

/* Moves body out of t into ch (t's buffer is replaced by an empty one). */
static void
chunk_take_body(struct seal_chunk *ch, struct store_tail *t)
{
    ch->body = t->body;
    buf_init(&t->body, t->body.max);
}

/* The tail's records appended to job as chunks of about block_size
 * (split when it grew past one and a half: tail_split), its body moved
 * into the first; the tail itself is left for the caller to reset. -1 if
 * it does not decode (cannot happen: we encoded it). */
static int
job_add_tail(struct store *s, struct seal_job *job)
{
    struct store_tail *ts = &s->tail;
    size_t n = 1;

    if (store_tail_fill(&s->tail, s->opt.block_size) >
            s->opt.block_size + s->opt.block_size / 2 ||
        s->tail.meta_bytes >= STORE_TAIL_META_FULL) {
        ts = tail_split(s, &n);
        if (!ts)
            return -1;
    }
    job->ch = xreallocarray(job->ch, job->n_ch + n, sizeof(*job->ch));
    memset(job->ch + job->n_ch, 0, n * sizeof(*job->ch));
    for (size_t i = 0; i < n; i++) {
        struct seal_chunk *ch = &job->ch[job->n_ch + i];
        chunk_set_init(s, &ch->set);
        if (chunk_meta(s, &ts[i], ch) < 0) {
            ch->is_bad = 1;
            store_set_err(s, "block too large to encode");
        }
        chunk_take_body(ch, &ts[i]);
        tailset_chunk_init(s, ch);
        job->raw_bytes += ch->body.len;
    }
    job->n_ch += n;
    if (ts != &s->tail) {
        for (size_t i = 0; i < n; i++)
            store_tail_fini(&ts[i]);
        free(ts);
    }
    return 0;
}

int
segment_closed_ready(const struct store *s)
{
    return s->closed && s->closed->n_ch > 0 &&
           store_chunk_is_synced(s, &s->closed->ch[0]);
}

int
segment_tail_close(struct store *s)
{
    uint64_t first = s->tail_wal_first;

    if (!s->closed)
        s->closed = xcalloc(1, sizeof(*s->closed));
    size_t n = s->closed->n_ch;
    if (job_add_tail(s, s->closed) < 0) {
        store_set_err(s, "tail block does not decode");
        return -1;              /* cannot happen; the tail stays */
    }
    for (size_t i = n; i < s->closed->n_ch; i++) {
        s->closed->ch[i].wal_first = first;
        s->closed->ch[i].wal_last = s->n_wal_writes;
    }
    tail_reset(s, &s->tail);
    tail_reserve(s, &s->tail);
    s->tail_wal_first = UINT64_MAX;
    s->n_tail_closes++;
    return 0;
}

/* The leading closed chunks whose entries are synced, moved into a new
 * job (the store's thread, under store.mu: cursors read s->closed). */
static struct seal_job *
job_take_closed(struct store *s)
{
    struct seal_job *c = s->closed, *job = xcalloc(1, sizeof(*job));
    size_t n = 0;

    while (n < c->n_ch && store_chunk_is_synced(s, &c->ch[n]))
        n++;
    if (n == 0) {               /* the caller checks segment_closed_ready */
        free(job);
        store_set_err(s, "no closed tail is synced");
        return NULL;
    }
    job->ch = xreallocarray(NULL, n, sizeof(*job->ch));
    memcpy(job->ch, c->ch, n * sizeof(*job->ch));
    job->n_ch = n;
    for (size_t i = 0; i < n; i++)
        job->raw_bytes += job->ch[i].body.len;
    memmove(c->ch, c->ch + n, (c->n_ch - n) * sizeof(*c->ch));
    c->n_ch -= n;
    c->raw_bytes -= job->raw_bytes;
    return job;
}

struct seal_job *
segment_job_new(struct store *s)
{
    struct store_tail rest;
    struct seal_job *job;
    int has_rest = s->tail.committed_n < s->tail.n_records;

    if (s->closed && s->closed->n_ch > 0)
        return job_take_closed(s);
    if (has_rest && tail_carry(s, &rest) < 0) {
        store_set_err(s, "tail block does not decode");
        return NULL;
    }
    job = xcalloc(1, sizeof(*job));
    if (job_add_tail(s, job) < 0) {
        free(job);
        if (has_rest)
            store_tail_fini(&rest);     /* cannot happen, as above */
        store_set_err(s, "tail block does not decode");
        return NULL;
    }
    tail_reset(s, &s->tail);
    if (has_rest) {
        store_tail_fini(&s->tail);
        s->tail = rest;
    } else {
        tail_reserve(s, &s->tail);
    }
    /* A chunk that cannot be encoded (is_bad) is quarantined when the job
     * is applied (sealer_finish); its records stay visible and durable
     * (WAL) until then. */
    return job;
}

void
segment_job_free(struct seal_job *job)
{
    if (!job)
        return;
    for (size_t i = 0; i < job->n_ch; i++) {
        tailset_chunk_fini(&job->ch[i]);    /* before its body and set */
        buf_fini(&job->ch[i].body);
        buf_fini(&job->ch[i].blk);
        index_set_fini(&job->ch[i].set);
        free(job->ch[i].ids);
        free(job->ch[i].labels);
        free(job->ch[i].max_off);
    }
    index_mem_free(job->imem_new);      /* a roll that was never applied */
    free(job->ch);
    free(job);
}

void
segment_job_merge(struct seal_job *dst, struct seal_job *src)
{
    dst->ch = xreallocarray(dst->ch, dst->n_ch + src->n_ch, sizeof(*dst->ch));
    memcpy(dst->ch + dst->n_ch, src->ch, src->n_ch * sizeof(*src->ch));
    dst->n_ch += src->n_ch;
    for (size_t k = 0; k < STORE_WAL_MAX_FILES; k++)
        if (src->wal_mask & (1u << k)) {
            dst->wal_fd[k] = src->wal_fd[k];
            dst->wal_hdr_len[k] = src->wal_hdr_len[k];
        }
    for (size_t k = 0; k < STORE_WAL_MAX_FILES; k++)
        if (src->wal_ahead & (1u << k))
            dst->wal_ahead_end[k] = src->wal_ahead_end[k];
    dst->wal_mask |= src->wal_mask;
    dst->wal_keep = (dst->wal_keep & ~src->wal_mask) | src->wal_keep;
    dst->wal_ahead = (dst->wal_ahead & ~src->wal_mask) | src->wal_ahead;
    dst->raw_bytes += src->raw_bytes;
    free(src->ch);
    free(src);
}

/* A new segment in the directory, with the index imem (taken). */
static struct store_seg *
seg_new_mem(struct store *s, uint64_t seq, struct index_mem *imem)
{
    struct store_seg *g = xcalloc(1, sizeof(*g));

    g->seq = seq;
    g->ifd = -1;
    g->file_size = STORE_SEG_HDR_LEN;
    g->min_ns = INT64_MAX;
    g->max_ns = INT64_MIN;
    g->imem = imem;
    if (s->n_segs == s->cap_segs) {
        s->cap_segs = s->cap_segs ? s->cap_segs * 2 : 16;
        s->segs = xreallocarray(s->segs, s->cap_segs, sizeof(*s->segs));
    }
    s->segs[s->n_segs++] = g;
    return g;
}

void
segment_job_apply(struct store *s, struct seal_job *job)
{
    size_t n_good = 0;

    for (size_t i = 0; i < job->n_ch; i++)
        n_good += !job->ch[i].is_bad;
    if (n_good == 0)
        return;                 /* all quarantined: nothing was written */
    struct store_seg *seg = job->is_roll ?
                            seg_new_mem(s, job->seq, job->imem_new) :
                            store_seg_find(s, job->seq);

    assert(seg != NULL);
    if (job->is_roll)
        job->imem_new = NULL;
    seg->write_ns = store_now(s);
    for (size_t i = 0; i < job->n_ch; i++) {
        struct seal_chunk *ch = &job->ch[i];
        struct store_blk_hdr h;
        if (ch->is_bad)
            continue;
        struct store_blk *b = seg_add_blk(seg);
        block_hdr_decode(ch->blk.data, &h);
        b->off = ch->pos;
        b->meta_len = h.meta_len;
        b->raw_len = h.raw_len;
        b->comp_len = h.comp_len;
        b->n_records = h.n_records;
        b->body_crc = h.body_crc;
        b->min_ns = h.min_ns;
        b->max_ns = h.max_ns;
        b->codec = (uint8_t)h.codec;
        b->stream_mask = ch->stream_mask;
        b->n_labels = ch->n_labels;
        b->labels = ch->labels;
        ch->labels = NULL;
        struct block_recv_range rr = { 0, 0 };
        b->has_recv_range = store_codec_has_recv_range(b->codec);
        if (store_codec_is_framed(b->codec) &&
            (block_frames_decode(ch->blk.data + STORE_BLK_HDR_LEN +
                                 ch->meta_len,
                                 ch->blk.data + STORE_BLK_HDR_LEN +
                                 h.meta_len, h.min_ns, h.n_records,
                                 h.comp_len, h.raw_len, &b->frames,
                                 &b->n_frames,
                                 b->has_recv_range ? &rr : NULL) < 0)) {
            b->frames = NULL;   /* cannot happen: we encoded it */
            b->n_frames = 0;
            b->is_corrupt = 1;
        }
        b->recv_min = rr.min;
        b->recv_max = rr.max;
        for (uint32_t k = 0; k < ch->n_labels; k++) {
            struct store_source *src = s->labels[ch->ids[k]]->src;
            if (ch->max_off[k] > src->sealed_hw)
                src->sealed_hw = ch->max_off[k];
        }
        seg->raw_bytes += ch->body.len;
        seg->n_records += b->n_records;
        if (b->min_ns < seg->min_ns)
            seg->min_ns = b->min_ns;
        if (b->max_ns > seg->max_ns)
            seg->max_ns = b->max_ns;
        seg->file_size = ch->pos + ch->blk.len;
    }
    /* The sealing thread fed the blocks to seg->imem before the job was
     * done, so a cursor that sees them in the directory finds them in the
     * index too. */
    if (job->is_seg_full)
        segindex_close_full(s, seg, job->is_ix_err);
}

/* ------------------------------------------------------------------ */
/* Seal jobs: run on the sealing thread (no store state but s->opt)    */

static int
seal_compress(const struct store *s, struct store_sealer *w, struct buf *b)
{
    if (s->opt.compress_codec == STORE_COMPRESS_ZLIB)
        return compress_deflate(b, w->cols.data, w->cols.len,
                                s->opt.compress_level);
    return compress_zstd(b, w->cols.data, w->cols.len, s->opt.compress_level);
}

/* Compresses ch's body after its meta, fills in the header (its token
 * set is the indexer's, indexer.c). */
/* The codec sealing writes with s's options. */
static uint32_t
seal_codec(const struct store *s)
{
    int is_zlib = s->opt.compress_codec == STORE_COMPRESS_ZLIB;
    int is_framed = !is_zlib && s->opt.frame_size != STORE_NO_FRAMES;

    return is_zlib ? STORE_CODEC_ZLIB_RECV :
           !is_framed ? STORE_CODEC_ZSTD_RECV :
           s->opt.is_no_recv_range ? STORE_CODEC_ZSTD_FRAMES :
           s->opt.is_time_varint ? STORE_CODEC_FRAMES_RECV :
           s->opt.is_msg_lengths ? STORE_CODEC_FRAMES_TIME :
           STORE_CODEC_FRAMES_NL;
}

static int
chunk_encode(const struct store *s, struct store_sealer *w,
             struct seal_chunk *ch)
{
    struct buf *b = &ch->blk;
    uint32_t codec = seal_codec(s);
    int is_framed = store_codec_is_framed(codec);
    size_t meta_len = ch->meta_len;
    uint32_t raw_len;

    b->len = STORE_BLK_HDR_LEN + ch->meta_len;   /* a retry starts over */
    buf_reset(&w->cols);
    if (!tailset_take_recs(ch, &w->recs, &w->cap_recs) &&   /* decoded */
        block_seal_decode(ch->body.data, ch->body.len, ch->n_records,
                          ch->n_labels, &w->recs, &w->cap_recs) < 0)
        return -1;
    if (is_framed) {
        /* the frame table ends the meta, the frames follow it */
        buf_reset(&w->frames);
        if (block_frames_encode(&w->frames, b, &w->cols, w->recs,
                                ch->n_records, ch->n_labels, ch->min_ns,
                                s->opt.frame_size, s->opt.compress_level,
                                codec, &raw_len) < 0 ||
            (store_codec_has_recv_range(codec) &&
             block_recv_encode(b, w->recs, ch->n_records) < 0) ||
            b->len - STORE_BLK_HDR_LEN > STORE_MAX_META ||
            buf_append(b, w->frames.data, w->frames.len) < 0)
            return -1;
        meta_len = b->len - STORE_BLK_HDR_LEN - w->frames.len;
    } else {
        if (block_cols_encode(&w->cols, codec, w->recs, ch->n_records,
                              ch->n_labels) < 0 ||
            seal_compress(s, w, b) < 0)
            return -1;
        raw_len = (uint32_t)w->cols.len;
    }
    seal_chunk_header(ch, codec, meta_len, raw_len);
    return 0;
}

void
seal_chunk_header(struct seal_chunk *ch, uint32_t codec, size_t meta_len,
                  uint32_t raw_len)
{
    struct buf *b = &ch->blk;
    uint8_t *h0 = b->data;
    struct store_blk_hdr h = {
        .magic = STORE_BLK_MAGIC, .meta_len = (uint32_t)meta_len,
        .raw_len = raw_len,
        .comp_len = (uint32_t)(b->len - STORE_BLK_HDR_LEN - meta_len),
        .n_records = ch->n_records, .codec = codec,
        .min_ns = ch->min_ns, .max_ns = ch->max_ns,
    };
    h.body_crc = compress_crc32(0, h0 + STORE_BLK_HDR_LEN + meta_len,
                                h.comp_len);
    block_hdr_encode(h0, &h);
    h.head_crc = compress_crc32(0, h0, 44);
    h.head_crc = compress_crc32(h.head_crc, h0 + STORE_BLK_HDR_LEN,
                                meta_len);
    block_hdr_encode(h0, &h);
}

/* Creates segment seq (header synced, directory synced) as w's file. */
static int
seal_roll(const struct store *s, struct store_sealer *w, uint64_t seq,
          struct seal_job *job)
{
    char *path = store_seg_path(s, seq);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                  STORE_FILE_MODE);
    uint8_t h[STORE_SEG_HDR_LEN];

    le32_store(h, STORE_SEG_MAGIC);
    le32_store(h + 4, STORE_VERSION);
    le64_store(h + 8, seq);
    if (fd < 0 || store_write_at(s, fd, "segment", h,
                                 sizeof(h), 0) < 0 ||
        fdatasync(fd) < 0 || store_fsync_dir(s->dir) < 0) {
        snprintf(job->err, sizeof(job->err), "create %s: %s", path,
                 strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        free(path);
        return -1;
    }
    free(path);
    if (w->wfd >= 0)
        close(w->wfd);
    dwrite_close(&w->dw);
    w->wfd = fd;
    w->wseq = seq;
    w->wpos = STORE_SEG_HDR_LEN;
    return 0;           /* its map: segindex_sealer_roll at the job's start */
}

/* After a rolling job's failed write: its new segment holds no block
 * (a segment is only written to after its first job succeeded), so the
 * file is removed and the retry creates it again, if it still has a
 * block to write (every one may fail to build, quarantined: then no
 * empty segment is left). */
static void
seal_unroll(const struct store *s, struct store_sealer *w)
{
    char *path = store_seg_path(s, w->wseq);

    close(w->wfd);
    dwrite_close(&w->dw);
    if (unlink(path) == 0)
        (void)store_fsync_dir(s->dir);
    free(path);
    w->wfd = -1;
    w->wseq = 0;
    w->wpos = 0;
}

/* Builds ch's block; the write hook's "block" fault point stands for a
 * block the sealer cannot build (tests). */
static int
chunk_build(const struct store *s, struct store_sealer *w,
            struct seal_chunk *ch)
{
    if (s->opt.write_hook &&
        s->opt.write_hook("block", ch->body.len, s->opt.write_hook_arg))
        return -1;
    return chunk_encode(s, w, ch);
}

/* Builds job's blocks not is_bad; one that cannot be built becomes is_bad
 * (quarantined by sealer_finish). Framed blocks with helper threads: their
 * frames compressed on all of them (sealpool.c), the same bytes. */
static void
seal_job_build(const struct store *s, struct store_sealer *w,
               struct seal_job *job)
{
    uint32_t codec = seal_codec(s);

    if (!store_codec_is_framed(codec) || !w->pool.is_sync) {
        for (size_t i = 0; i < job->n_ch; i++)
            if (!job->ch[i].is_bad && chunk_build(s, w, &job->ch[i]) < 0)
                job->ch[i].is_bad = 1;
        return;
    }
    for (size_t i = 0; i < job->n_ch; i++)
        if (!job->ch[i].is_bad && s->opt.write_hook &&
            s->opt.write_hook("block", job->ch[i].body.len,
                              s->opt.write_hook_arg))
            job->ch[i].is_bad = 1;
    sealpool_build(&w->pool, job, s->opt.frame_size, s->opt.compress_level,
                   codec);
}

/* After a block failed to build: the indexer's add numbered it, so it is
 * rolled back and the blocks built are added again under their numbers,
 * on this thread (the sets are gathered: indexer_wait). Returns whether
 * the map holds an add to keep or roll back. */
static int
seal_job_reindex(struct store_sealer *w, struct seal_job *job)
{
    uint32_t blk = (uint32_t)w->n_wrefs;

    if (!indexer_wait(&w->ix))
        return 0;
    pthread_mutex_lock(&w->ix_mu);
    index_mem_rollback(w->wimem);
    index_mem_mark(w->wimem);
    for (size_t i = 0; i < job->n_ch; i++)
        if (!job->ch[i].is_bad)
            index_mem_add_set(w->wimem, blk++, &job->ch[i].set);
    pthread_mutex_unlock(&w->ix_mu);
    return 1;
}

/* Once the job's blocks are synced: truncates its WAL files of versions
 * before 5 to their header (a version 5 file is reused as it is: its
 * entries carry their generation, wal_release), and cuts those of
 * wal_ahead back to their durable end (the first copy of records written
 * ahead of a sync and carried into the next tail at a seal: written
 * again into the next file, never synced, store_detach_tail), here rather than on the
 * store's thread (an ftruncate of a file
 * with written pages takes milliseconds), right after the segment's
 * fdatasync returned, so that it runs while the indexing thread and
 * the .lqi's helper finish (it was after them: 8% of a job's time at
 * 1 GiB, BENCHMARKS.md "The seal chain's steps"). Not when a block is to be
 * quarantined: its records must stay in the WAL until the quarantine
 * file is written (sealer_finish). The files are the job's meanwhile. */
static void
seal_job_cut_wal(struct seal_job *job)
{
    for (size_t i = 0; i < job->n_ch; i++)
        if (job->ch[i].is_bad)
            return;
    for (size_t k = 0; k < STORE_WAL_MAX_FILES; k++) {
        if ((job->wal_mask & ~job->wal_keep & (1u << k)) &&
            ftruncate(job->wal_fd[k], (off_t)job->wal_hdr_len[k]) == 0)
            job->wal_cut |= 1u << k;
        else if ((job->wal_mask & job->wal_keep & job->wal_ahead &
                  (1u << k)) &&
                 ftruncate(job->wal_fd[k],
                           (off_t)job->wal_ahead_end[k]) < 0) {
            /* ignored: the dead copy stays (replay skips it by high
             * water) and is written by the file's next fdatasync */
        }
    }
}

/* Builds, writes and syncs job's blocks, while the indexer gathers their
 * token sets and adds them to the segment's map (segment_job_run). A
 * failed write rolls that add back (the job is retried whole, maybe
 * with fewer blocks: one may fail to build then), a good one keeps it
 * and adds the blocks to the segment's table (segindex_sealer_add). */
static void
seal_job_write(const struct store *s, struct store_sealer *w,
               struct seal_job *job)
{
    size_t n_good = 0, n_ix = 0;
    int is_added = -1;          /* -1: the indexer's, ask indexer_wait */
    int64_t t0 = mono_ns(), t1;

    job->rc = -1;
    seal_job_build(s, w, job);
    t1 = mono_ns();
    job->t.build_ns += t1 - t0;
    for (size_t i = 0; i < job->n_ch; i++) {
        n_good += !job->ch[i].is_bad;
        n_ix += job->ch[i].is_ix;
    }
    if (n_good == 0) {
        if (job->imem_new)      /* rolled on a failed try: never applied */
            w->wimem = NULL;
        job->rc = 0;
        goto unindex;
    }
    if (n_ix && n_good != n_ix) /* a block failed to build just now */
        is_added = seal_job_reindex(w, job);
    if (job->is_roll && w->wseq != job->seq &&
        seal_roll(s, w, job->seq, job) < 0)
        goto unindex;
    if (w->wfd < 0 || w->wseq != job->seq) {
        snprintf(job->err, sizeof(job->err), "no segment to write");
        goto unindex;
    }
    uint64_t pos = w->wpos;
    for (size_t i = 0; i < job->n_ch; i++) {
        struct seal_chunk *ch = &job->ch[i];
        if (ch->is_bad)
            continue;
        ch->pos = pos;
        if (dwrite_at(s, &w->dw, w->wfd, w->wseq, ch->blk.data,
                      ch->blk.len, pos) < 0)
            goto fail;
        pos += ch->blk.len;
    }
    t0 = mono_ns();
    job->t.write_ns += t0 - t1;
    /* a job that fills the segment: its .lqi written meanwhile */
    segindex_sealer_early(s, w, job, &is_added);
    int rc = s->opt.write_hook &&
             s->opt.write_hook("segment-sync", 0, s->opt.write_hook_arg) < 0
             ? -1 : fdatasync(w->wfd);
    t1 = mono_ns();
    job->t.sync_ns += t1 - t0;
    if (rc == 0) {              /* durable: every way on, the job is done */
        seal_job_cut_wal(job);
        t0 = mono_ns();
        job->t.wal_cut_ns += t0 - t1;
        t1 = t0;
    }
    segindex_sealer_early_wait(w);
    t0 = mono_ns();
    job->t.sync_ns += t0 - t1;  /* the .lqi written beside the sync */
    t1 = t0;
    if (rc < 0)
        goto fail;
    w->wpos = pos;
    if (is_added < 0) {
        is_added = indexer_wait(&w->ix);
        job->t.ix_wait_ns += mono_ns() - t1;
    }
    if (is_added)
        index_mem_keep(w->wimem);   /* only this thread reads the mark */
    segindex_sealer_add(s, w, job);
    job->rc = 0;
    return;
fail:
    snprintf(job->err, sizeof(job->err), "segment write: %s",
             strerror(errno));
    segindex_sealer_unearly(s, w);
    if (job->is_roll && w->wpos == STORE_SEG_HDR_LEN)
        seal_unroll(s, w);
    else if (ftruncate(w->wfd, (off_t)w->wpos) < 0) {
        /* a partial block past wpos is overwritten next time */
    }
unindex:
    if (is_added < 0)
        is_added = indexer_wait(&w->ix);
    if (is_added && w->wimem) {
        pthread_mutex_lock(&w->ix_mu);
        index_mem_rollback(w->wimem);
        pthread_mutex_unlock(&w->ix_mu);
    }
}

void
segment_job_run(const struct store *s, struct store_sealer *w,
                struct seal_job *job)
{
    uint32_t n_ix = 0;
    int64_t t0 = mono_ns(), t1;

    /* A job that does not roll writes to the segment whose map and table
     * the sealer holds. A rolling job whose every block is quarantined
     * creates no file and leaves the old segment's fd (none after a
     * failed try: seal_unroll) with the empty table of a segment never
     * made; the next job rolls again, as the store's last segment, which
     * made this one roll, is unchanged (segment_job_apply adds none,
     * store_seal_pend). */
    assert(job->is_roll || w->ix_seq == job->seq);
    /* a new segment's map now, so that its blocks are indexed as they
     * are gathered (its file is created once they are built: seal_roll) */
    if (job->is_roll && w->wseq != job->seq && !job->imem_new)
        segindex_sealer_roll(w, job);
    for (size_t i = 0; i < job->n_ch; i++) {
        job->ch[i].is_ix = !job->ch[i].is_bad && w->wimem;
        n_ix += job->ch[i].is_ix;
    }
    indexer_submit(&w->ix, job, n_ix ? w->wimem : NULL,
                   (uint32_t)w->n_wrefs);
    seal_job_write(s, w, job);
    t1 = mono_ns();
    indexer_wait(&w->ix);       /* every way out: the job is not shared */
    job->end_ns = mono_ns();
    job->t.ix_wait_ns += job->end_ns - t1;
    job->t.run_ns += job->end_ns - t0;
}
