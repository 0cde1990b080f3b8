/* SPDX-License-Identifier: MIT */
/*
 * store_append: the appending half of the store (see store.h): the
 * unsealed tail block, store_append (exactly-once by each source's high
 * water), the hand-off of full tails to the sealing thread (pending tails,
 * WAL files rebuilt) and the group commit (WAL write on the caller's
 * thread, fdatasync on the syncing thread) and the records not yet
 * durable read back for a new live tail. Open/close, labels, sources
 * and stats are in store.c. Never logs: errors go to errstr.
 */
#include "collector/store/store_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"

/* ------------------------------------------------------------------ */
/* Appending                                                           */

size_t
store_tail_fill(const struct store_tail *t, size_t block_size)
{
    if (t->meta_bytes >= STORE_TAIL_META_FULL)
        return block_size;
    return t->body.len + t->meta_bytes;
}

static void
tail_add_label(struct store_tail *t, struct store_label *l, uint32_t *idx)
{
    if (l->tail_gen == t->gen && l->tail_idx < t->n_labels &&
        t->labels[l->tail_idx].id == l->id) {
        *idx = l->tail_idx;
        return;
    }
    if (t->n_labels == t->cap_labels) {
        t->cap_labels = t->cap_labels ? t->cap_labels * 2 : 8;
        t->labels = xreallocarray(t->labels, t->cap_labels,
                                  sizeof(*t->labels));
    }
    struct store_tail_label *tl = &t->labels[t->n_labels];
    memset(tl, 0, sizeof(*tl));
    tl->id = l->id;
    tl->at_epoch = t->at.epoch;     /* past the mark: cut, not restored */
    t->meta_bytes += l->host_len + l->cid_len + l->name_len + l->image_len +
                     48;    /* 4 lengths, 4 varints, at most 10 bytes each */
    tl->min_ns = INT64_MAX;
    tl->max_ns = INT64_MIN;
    l->tail_gen = t->gen;
    l->tail_idx = t->n_labels;
    *idx = t->n_labels++;
}

void
store_tail_init(struct store *s, struct store_tail *t, size_t max)
{
    memset(t, 0, sizeof(*t));
    buf_init(&t->body, max);
    t->min_ns = INT64_MAX;
    t->max_ns = INT64_MIN;
    t->gen = ++s->gen_next;
}

void
store_tail_fini(struct store_tail *t)
{
    buf_fini(&t->body);
    free(t->labels);
    free(t->at.undo);
}

void
store_tail_mark(struct store_tail *t)
{
    struct store_tail_at *at = &t->at;

    at->epoch++;
    at->len = t->body.len;
    at->n = t->n_records;
    at->prev_ns[0] = t->prev_ns[0];
    at->prev_ns[1] = t->prev_ns[1];
    at->min_ns = t->min_ns;
    at->max_ns = t->max_ns;
    at->stream_mask = t->stream_mask;
    at->n_labels = t->n_labels;
    at->n_undo = 0;
}

/* tl (label idx of t) as it was at the mark, before its first change
 * since (bounded: once per label and mark). */
static void
tail_save_label(struct store_tail *t, uint32_t idx,
                struct store_tail_label *tl)
{
    struct store_tail_at *at = &t->at;

    if (at->n_undo == at->cap_undo) {
        at->cap_undo = at->cap_undo ? at->cap_undo * 2 : 8;
        at->undo = xreallocarray(at->undo, at->cap_undo, sizeof(*at->undo));
    }
    at->undo[at->n_undo].idx = idx;
    at->undo[at->n_undo++].l = *tl;
    tl->at_epoch = at->epoch;
}

int
store_tail_add(struct store_tail *t, struct store_label *l,
               const struct store_rec *r)
{
    uint32_t idx;

    /* A label left in the table by a failed add is harmless: it is
     * written in the meta with n_lines 0. */
    tail_add_label(t, l, &idx);
    if (block_rec_encode(&t->body, idx, t->prev_ns, r) < 0)
        return -1;
    store_tail_note(t, idx, r);
    return 0;
}

uint32_t
store_tail_count(struct store_tail *t, struct store_label *l,
                 const struct store_rec *r)
{
    uint32_t idx;

    tail_add_label(t, l, &idx);
    store_tail_note(t, idx, r);
    return idx;
}

void
store_tail_note(struct store_tail *t, uint32_t idx, const struct store_rec *r)
{
    int64_t time_ns = r->time_ns;
    uint64_t offset = r->offset;
    struct store_tail_label *tl = &t->labels[idx];

    if (tl->at_epoch != t->at.epoch)
        tail_save_label(t, idx, tl);
    tl->n_lines++;
    if (offset > tl->max_off)
        tl->max_off = offset;
    if (time_ns < tl->min_ns)
        tl->min_ns = time_ns;
    if (time_ns > tl->max_ns)
        tl->max_ns = time_ns;
    if (time_ns < t->min_ns)
        t->min_ns = time_ns;
    if (time_ns > t->max_ns)
        t->max_ns = time_ns;
    t->stream_mask |= (uint8_t)(1u << (r->stream & 1));
    t->n_records++;
}

/* Puts l, label idx of the tail, in the pending WAL entry's table (once
 * an entry). -1 if the table is full (a label left there without a
 * record, like one in the tail's, is harmless). */
static int
wal_add_label(struct store *s, struct store_label *l, uint32_t idx)
{
    struct store_tail_label *tl = &s->tail.labels[idx];

    if (tl->wal_gen == s->wal_gen)
        return 0;
    size_t mark = s->wal_labels.len;
    if (buf_put_varint(&s->wal_labels, idx) < 0 ||
        block_put_str(&s->wal_labels, l->host, l->host_len) < 0 ||
        block_put_str(&s->wal_labels, l->cid, l->cid_len) < 0 ||
        block_put_str(&s->wal_labels, l->name, l->name_len) < 0 ||
        block_put_str(&s->wal_labels, l->image, l->image_len) < 0) {
        s->wal_labels.len = mark;
        return -1;
    }
    tl->wal_gen = s->wal_gen;
    s->wal_n_labels++;
    return 0;
}

/* The pending WAL entry made again: the tail's records from its byte from
 * (prev: the times of the record before it; n_recs of them) and every
 * label of the tail in its table (a superset: those without a record
 * there are harmless). After a failed sync (from its committed prefix)
 * and a seal (the records carried into the new tail, from 0). */
static void
wal_pending_retail(struct store *s, size_t from, const int64_t prev[2],
                   uint32_t n_recs)
{
    const struct store_tail *t = &s->tail;

    wal_pending_clear(s);
    s->wal_from = from;
    s->wal_from_prev[0] = prev[0];
    s->wal_from_prev[1] = prev[1];
    s->wal_n_recs = n_recs;
    for (uint32_t k = 0; k < t->n_labels; k++) {
        int rc = wal_add_label(s, s->labels[t->labels[k].id], k);
        assert(rc == 0);        /* they fitted before */
        (void)rc;
    }
}

/* Adds one record to the tail block and, if to_wal, to the pending WAL
 * entry (its label; the entry's rows are the tail's bytes). -1 leaves the
 * store unchanged but for a label in the tables (harmless). */
static int
store_add(struct store *s, struct store_label *l, const struct store_rec *r,
          int to_wal)
{
    struct store_tail *t = &s->tail;
    uint32_t idx;
    int64_t time_ns = r->time_ns;

    /* A label left in the table by a failed add is harmless: it is
     * written in the meta with n_lines 0. */
    tail_add_label(t, l, &idx);
    if ((to_wal && wal_add_label(s, l, idx) < 0) ||
        block_rec_encode(&t->body, idx, t->prev_ns, r) < 0)
        goto fail;
    store_tail_note(t, idx, r);
    if (to_wal)
        s->wal_n_recs++;
    struct store_source *src = l->src;
    src->hw = r->offset;
    src->latest = l;
    src->n_lines++;
    if (time_ns < src->first_ns)
        src->first_ns = time_ns;
    if (time_ns > src->last_ns)
        src->last_ns = time_ns;
    return 0;
fail:
    store_set_err(s, "too much uncommitted data (cap %u bytes)",
                  STORE_MAX_PENDING);
    return -1;
}

int
store_replay_record(struct store *s, struct store_label *l,
                    const struct store_rec *r)
{
    if (r->offset <= l->src->hw)
        return 0;
    if (store_add(s, l, r, 0) < 0)
        return -1;
    return 1;
}

void
store_lock(struct store *s)
{
    pthread_mutex_lock(&s->mu);
}

void
store_unlock(struct store *s)
{
    pthread_mutex_unlock(&s->mu);
}

static int store_append_locked(struct store *s, const struct logrec *r,
                               struct store_label **lab);

/* Under mu: cursors on other threads read the tail and the labels. */
int
store_append(struct store *s, const struct logrec *r)
{
    store_lock(s);
    int rc = store_append_locked(s, r, NULL);
    store_unlock(s);
    return rc;
}

int
store_append_cached(struct store *s, const struct logrec *r,
                    struct store_label **lab)
{
    store_lock(s);
    int rc = store_append_locked(s, r, lab);
    store_unlock(s);
    return rc;
}

void
store_append_hold(struct store *s)
{
    store_lock(s);
}

void
store_append_release(struct store *s)
{
    store_unlock(s);
}

int
store_append_held(struct store *s, const struct logrec *r,
                  struct store_label **lab)
{
    return store_append_locked(s, r, lab);
}

/* r appended under l, the label store_label_find gives its four strings
 * (so l->src is its source): 1, 0 (a duplicate) or -1. */
static int
store_append_label(struct store *s, struct store_label *l,
                   const struct logrec *r)
{
    if (r->offset <= l->src->hw)
        return 0;
    struct store_rec sr = {
        .time_ns = r->time_ns, .recv_ns = r->recv_ns, .offset = r->offset,
        .msg = (const uint8_t *)r->msg, .msg_len = (uint32_t)r->msg_len,
        .stream = r->stream, .flags = r->flags & LOGREC_F_MASK,
    };
    if (store_add(s, l, &sr, 1) < 0)
        return -1;
    return 1;
}

/* lab (store_append_cached): *lab, when set, is r's label (the caller's
 * promise: set by a call for a record with the same four strings), so
 * neither strlen nor lookup; else the label found or interned is left
 * there, never the latest label a capped source's record is stored
 * under (that record's own label stays unknown: each of its records is
 * capped and counted again, as without a cache). */
static int
store_append_locked(struct store *s, const struct logrec *r,
                    struct store_label **lab)
{
    if (!r->msg && r->msg_len) {
        store_set_err(s, "record without host or container id");
        return -1;
    }
    if (lab && *lab)
        return store_append_label(s, *lab, r);
    const uint8_t *str[4] = {
        (const uint8_t *)r->host, (const uint8_t *)r->container_id,
        (const uint8_t *)(r->container ? r->container : ""),
        (const uint8_t *)(r->image ? r->image : ""),
    };
    size_t len[4];

    if (!r->host || !r->container_id) {
        store_set_err(s, "record without host or container id");
        return -1;
    }
    for (int k = 0; k < 4; k++)
        len[k] = strlen((const char *)str[k]);
    /* The label first: most records repeat the previous record's label
     * (store_label_find's one-entry cache, four memcmp), whose source is
     * the one the (host, container id) hash would find. */
    struct store_label *l = store_label_find(s, str, len);
    if (l) {
        if (lab)
            *lab = l;
        return store_append_label(s, l, r);
    }
    struct store_source *src = store_source_get(s, r->host, len[0],
                                                r->container_id, len[1], 0);
    if (src && r->offset <= src->hw)
        return 0;
    if (!src && r->offset == 0)
        return 0;
    if (src && src->latest && src->n_labels >= STORE_MAX_SOURCE_LABELS) {
        s->n_labels_capped++;   /* a sender renaming without end */
        return store_append_label(s, src->latest, r);
    }
    l = store_label_intern(s, str, len);
    if (lab)
        *lab = l;
    return store_append_label(s, l, r);
}

/* Whether no tail is closed (the tail alone is sealed, as before). */
static int
store_closed_none(const struct store *s)
{
    return !s->closed || s->closed->n_ch == 0;
}

/* Whether the tail's records are all in entries not synced yet, and
 * so are the closed tails' that are not synced whole: none of them was
 * acknowledged, so the WAL files they are in may be released once the
 * synced ones are sealed, they being written again into the next file
 * (store_detach_tail). */
static int
store_unsynced_rest(const struct store *s)
{
    size_t i = 0, n = s->closed ? s->closed->n_ch : 0;

    if (s->tail.committed_n > 0)
        return 0;
    while (i < n && store_chunk_is_synced(s, &s->closed->ch[i]))
        i++;                    /* the job's */
    for (; i < n; i++)
        if (s->closed->ch[i].wal_first <= s->wal_synced)
            return 0;
    return 1;
}

/* wal_write_upto for the tail's pending entry, noting the tail's first. */
static int
store_wal_write_tail(struct store *s, size_t to)
{
    if (wal_write_upto(s, to) < 0)
        return -1;
    if (s->tail_wal_first == UINT64_MAX)
        s->tail_wal_first = s->n_wal_writes;
    return 0;
}

/* Whether a closed tail's entry must be written again. */
static int
store_closed_unwritten(const struct store *s)
{
    for (size_t i = 0; s->closed && i < s->closed->n_ch; i++)
        if (s->closed->ch[i].is_unwritten)
            return 1;
    return 0;
}

/* Writes the entries of the closed tails that have none (in order, and
 * before any of the tail's: replay keeps the first copy of a record by
 * high water, so an older record after a newer one would be lost). -1 at
 * the first that fails (the error set; it and those after it stay
 * unwritten). */
static int
store_closed_write(struct store *s)
{
    for (size_t i = 0; s->closed && i < s->closed->n_ch; i++) {
        struct seal_chunk *ch = &s->closed->ch[i];
        if (!ch->is_unwritten)
            continue;
        if (wal_write_chunk(s, ch) < 0)
            return -1;
        ch->is_unwritten = 0;
        if (ch->wal_first > s->wal_synced)     /* none of it synced */
            ch->wal_first = s->n_wal_writes;
        ch->wal_last = s->n_wal_writes;
    }
    return 0;
}

static int  store_close_now(const struct store *s, int is_begin);
static void store_close_if(struct store *s, int is_begin);

/* The pending WAL entry again from the tail's uncommitted records, after
 * the sync of a commit failed (its records were cleared from the pending
 * entry when they were written) or commits moved to another file. */
static void
store_wal_rebuild(struct store *s)
{
    const struct store_tail *t = &s->tail;

    wal_pending_retail(s, t->committed_len, t->committed_prev,
                       t->n_records - t->committed_n);
}

/* A WAL file for commits after a detach (wal_detach takes a clean file
 * or opens a new one): without one a tail is not detached. */
static int
store_wal_has_spare(const struct store *s)
{
    for (size_t k = 0; k < STORE_WAL_MAX_FILES; k++)
        if (k >= s->n_wals || s->wals[k].fd < 0 ||
            (!s->wals[k].is_owned && !s->wals[k].is_dirty))
            return 1;
    return 0;
}

/* Detaches what is sealable into s->pend (the next job): the closed
 * tails whose entries are synced, or, when none is closed, the full
 * committed tail (segment_job_new), with the WAL files they are in. The
 * files go with the job only when every record not in it is in no synced
 * entry (store_unsynced_rest): those records were never acknowledged, so
 * they may be written again into the next file, as the tail's
 * uncommitted records always were. Otherwise an acknowledged record
 * would be durable only in that copy until the next sync: the job takes
 * no file, commits stay in the current one (replay skips the sealed
 * records there by high water), and after STORE_SEAL_NOWAL_MAX such jobs
 * in a row the next commit closes the tail where it begins, which makes
 * the one after sealable with its files (store_close_now). 0, or -1
 * (counted): the records stay durable in the WAL and in the tail, and
 * sealing is tried again at the next commit. */
static int
store_detach_tail(struct store *s)
{
    uint32_t mask = 0;
    size_t old = s->wal_cur;
    int is_ahead = s->cm.wend > s->wals[old].len;   /* entries past the
                                                       durable end */
    int is_closed = !store_closed_none(s);
    int is_wal = !is_closed || store_unsynced_rest(s);

    if (is_wal && wal_detach(s, &mask) < 0) {
        s->n_seal_errors++;
        return -1;
    }
    store_lock(s);              /* cursors read the tail and s->pend */
    struct seal_job *job = segment_job_new(s);
    if (job && is_closed && is_wal) {
        /* The tails still closed are in no synced entry: written into the
         * new file below, before the tail's records. */
        for (size_t i = 0; i < s->closed->n_ch; i++)
            s->closed->ch[i].is_unwritten = 1;
    }
    if (job) {
        job->wal_mask = mask;
        for (size_t k = 0; k < s->n_wals; k++) {
            job->wal_fd[k] = s->wals[k].fd;
            job->wal_hdr_len[k] = s->wals[k].hdr_len;
            if (s->wals[k].version >= 5)
                job->wal_keep |= mask & (1u << k);
        }
        if (s->pend)
            segment_job_merge(s->pend, job);
        else
            s->pend = job;
    }
    store_unlock(s);
    if (!is_wal) {
        if (!job) {
            s->n_seal_errors++;
            return -1;
        }
        s->n_seal_nowal++;
        s->n_seal_nowal_run++;
        return 0;
    }
    s->n_seal_nowal_run = 0;
    /* Commits go to another file now: the entries written past the old
     * one's durable end (ahead of the sync that just ended) stay there,
     * not synced, and their records are written again into the new one
     * (below; replay, in generation order, takes the older copy while the
     * old file keeps it and skips the newer by high water). */
    s->cm.wend = 0;
    s->tail_wal_first = UINT64_MAX;
    if (!job) {
        wal_release(s, mask, 0, 0);
        s->n_seal_errors++;
        store_wal_rebuild(s);
        return -1;
    }
    /* The records past the committed prefix (appended since the commit
     * that filled the tail began: written ahead of its sync or not) are
     * now the new tail's, renumbered, those visible still visible
     * (segment_job_new). The visible ones are written into the new file
     * at once (not synced: the next commit's sync covers them), so that
     * they are in a live entry when the sealed job empties the old file;
     * the others stay pending. The closed tails left (none synced) are
     * written first, in their order. */
    static const int64_t zero[2];
    const struct store_tail *t = &s->tail;
    int is_written = store_closed_write(s) == 0;
    if (is_written && t->visible_n > 0) {
        wal_pending_retail(s, 0, zero, t->visible_n);
        is_written = store_wal_write_tail(s, t->visible_len) == 0;
    }
    if (!is_written || t->visible_n == 0) {
        /* the error set: the next commit writes them (after the closed
         * tails still unwritten) */
        wal_pending_retail(s, 0, zero, t->n_records);
        if (!is_written)
            return 0;
    } else {
        wal_pending_retail(s, t->visible_len, t->visible_prev,
                           t->n_records - t->visible_n);
    }
    /* Their first copy, past the old file's durable end, is never synced
     * and no longer needed, but its pages stay dirty: the old file's next
     * generation (reused once the job is sealed) would write them at its
     * first fdatasync, which writes every dirty page of the file; at full
     * ingest nearly every sync ends in a seal, so later syncs carried up
     * to 4 MiB of dead bytes each (BENCHMARKS.md "The end-to-end gap").
     * The sealing thread cuts it off once the job's blocks are synced
     * (seal_job_cut_wal: an ftruncate here took 1.3 ms a seal, up to 210
     * ms under the 30 s writeback); its pages are dropped unwritten. */
    if (is_ahead && (mask & (1u << old))) {
        s->pend->wal_ahead |= 1u << old;
        s->pend->wal_ahead_end[old] = s->wals[old].len;
    }
    return 0;
}

void
store_seal_pend(struct store *s)
{
    if (!s->pend || s->job || !sealer_poll(s, 0) || s->job)
        return;
    const struct store_seg *g = s->n_segs ? s->segs[s->n_segs - 1] : NULL;
    store_lock(s);
    s->job = s->pend;
    s->pend = NULL;
    store_unlock(s);
    s->job->is_roll = !g || g->is_full || g->raw_bytes >= s->opt.segment_size;
    s->job->seq = s->job->is_roll ? s->next_seq++ : g->seq;
    sealer_submit(s);
}

/* Whether the full tail may wait in s->pend while s->job is sealed: the
 * pending job has room, a WAL file is free for the commits after it, and
 * its blocks all go to the segment one job per tail would have written
 * them to (the segment is full once it holds segment_size raw bytes: no
 * pending job crosses that line, so segments end where they did). */
static int
store_pend_fits(const struct store *s, int *why)
{
    const struct seal_job *job = s->job;
    const struct store_seg *g = s->n_segs ? s->segs[s->n_segs - 1] : NULL;

    *why = STORE_SEAL_WAIT_WAL;
    if (!store_wal_has_spare(s))
        return 0;
    if (!s->pend)
        return 1;
    uint64_t raw = (job->is_roll || !g ? 0 : g->raw_bytes) + job->raw_bytes;
    if (raw >= s->opt.segment_size)
        raw = 0;                /* s->pend starts the next segment */
    *why = STORE_SEAL_WAIT_TAILS;
    if (s->pend->n_ch >= STORE_PEND_MAX_CH)
        return 0;
    *why = STORE_SEAL_WAIT_SEGMENT;
    return raw + s->pend->raw_bytes < s->opt.segment_size;
}

/* Hands the full, committed tail to the sealing thread. While it seals
 * the previous job, up to STORE_PEND_MAX_CH full tails wait in s->pend
 * and go to it together as its next job (one segment write, fdatasync
 * and indexing hand-off for all of them), so the store's thread goes on
 * storing; otherwise it waits for the job (backpressure). A failed
 * previous job is retried instead and the tail keeps growing (bounded by
 * STORE_MAX_PENDING). */
static void
store_seal(struct store *s)
{
    assert(!s->cm.is_busy);     /* the current WAL file is being synced */
    for (;;) {
        (void)sealer_poll(s, 0);
        if (s->sealer.is_busy) {
            int why;
            if (store_pend_fits(s, &why)) {
                if (store_detach_tail(s) == 0)
                    tailset_queue(s, s->pend);  /* its token set, ahead */
                return;
            }
            int64_t t0 = mono_ns();
            (void)sealer_poll(s, 1);
            s->n_seal_waits++;
            s->n_seal_waits_for[why]++;
            s->seal_wait_ns += mono_ns() - t0;
            continue;
        }
        if (s->job) {
            sealer_submit(s);   /* retry of a failed job */
            return;
        }
        if (s->pend) {          /* to another segment than the tail */
            store_seal_pend(s);
            continue;
        }
        if (store_detach_tail(s) == 0)
            store_seal_pend(s);
        return;
    }
}

/* After a commit: hands the closed tails it synced to the sealing
 * thread (a full tail every record of which is written is closed first:
 * one filled by the records replayed at the open, or one a write did not
 * close, the closed tails' cap being reached), or with closing off a
 * full committed tail (its uncommitted rest stays the tail); or retries
 * a failed seal. A full tail with records not written yet is closed by
 * the next write (the caller's next commit). */
static void
store_commit_seal(struct store *s, int is_begin)
{
    (void)sealer_poll(s, 0);
    store_close_if(s, is_begin);
    if (segment_closed_ready(s) ||
        (s->opt.is_close_off && s->tail.committed_n > 0 &&
         (s->tail.committed_len >= s->opt.block_size ||
          store_tail_fill(&s->tail, s->opt.block_size) >=
              s->opt.block_size)))
        store_seal(s);
    else if (s->job && sealer_poll(s, 0) && s->job)
        sealer_submit(s);       /* retry of a failed job */
    else
        store_seal_pend(s);
}

/* Whether the tail, every record of it just written, is closed now
 * (STORE.md "Closed tails"): when full, so that the records appended
 * next start a new tail and a seal neither carries nor splits them.
 * After STORE_SEAL_NOWAL_MAX jobs in a row sealed without their WAL files
 * (store_detach_tail) also where a commit begins (is_begin) once the
 * tail holds half a block, and after twice as many whatever it holds:
 * every record after it is then unsynced when that commit ends, so the
 * seal then takes the WAL files (a run of jobs without them, and the
 * current WAL file, stay bounded: store_close_test). So does store_close's
 * last commit after any such job. These two closes where a commit
 * begins are made past STORE_CLOSED_MAX_CH too (one more chunk), so that
 * the bound holds while closed tails wait for a slow sync. */
static int
store_close_now(const struct store *s, int is_begin)
{
    size_t bs = s->opt.block_size;

    if (s->opt.is_close_off || s->tail.n_records == 0)
        return 0;
    if (is_begin && s->n_seal_nowal_run > 0 &&
        (s->is_closing || s->n_seal_nowal_run >= 2 * STORE_SEAL_NOWAL_MAX))
        return 1;
    if (s->closed && s->closed->n_ch >= STORE_CLOSED_MAX_CH)
        return 0;
    size_t fill = store_tail_fill(&s->tail, bs);
    return fill >= bs || (is_begin && fill >= bs / 2 &&
                          s->n_seal_nowal_run >= STORE_SEAL_NOWAL_MAX);
}

/* Closes the tail if store_close_now says so and every record of it is in
 * a WAL entry written. */
static void
store_close_if(struct store *s, int is_begin)
{
    if (s->tail.visible_n != s->tail.n_records || s->wal_n_recs != 0 ||
        !store_close_now(s, is_begin))
        return;
    store_lock(s);
    int rc = segment_tail_close(s);
    if (rc == 0) {
        /* The sync in flight (if any) covers none of the new tail. */
        s->cm.len = 0;
        s->cm.n = 0;
        s->cm.prev_ns[0] = 0;
        s->cm.prev_ns[1] = 0;
    }
    store_unlock(s);
    if (rc == 0)
        wal_pending_clear(s);   /* the next entry from the new tail's start */
}

/* Writes the pending entry (at the current file's written end) and makes
 * everything appended visible to cursors: the kernel holds the entry, so
 * a collector crash keeps these records (replay reads them) and a reader
 * never sees one vanish; only a power loss or kernel crash before a sync
 * covers them can take them back, and their shippers, not acknowledged,
 * send them again (STORE.md "Crash safety"). -1: nothing written, the
 * records stay pending and out of sight. */
static int
store_commit_write(struct store *s)
{
    if (store_closed_write(s) < 0)
        return -1;
    if (s->wal_n_recs > 0) {
        if (store_wal_write_tail(s, s->tail.body.len) < 0)
            return -1;
        wal_pending_clear(s);
    }
    store_lock(s);
    s->tail.visible_len = s->tail.body.len;
    s->tail.visible_n = s->tail.n_records;
    s->tail.visible_prev[0] = s->tail.prev_ns[0];
    s->tail.visible_prev[1] = s->tail.prev_ns[1];
    store_unlock(s);
    return 0;
}

int
store_commit_begin(struct store *s)
{
    assert(!s->cm.is_busy);     /* the caller waits for store_commit_end */
    /* labels before the records that came with them */
    if (srclabels_commit(s) < 0)
        return -1;
    if ((s->wal_n_recs > 0 || store_closed_unwritten(s)) &&
        store_commit_write(s) < 0)
        return -1;
    store_close_if(s, 1);
    if (s->cm.wend == 0) {      /* every entry written is synced */
        store_commit_seal(s, 1);
        return 0;
    }
    /* One sync for the entry just written and those written ahead of the
     * previous sync (store_commit_ahead): from the file's durable end. */
    s->cm.wal = s->wal_cur;
    s->cm.off = s->wals[s->wal_cur].len;
    s->cm.end = s->cm.wend;
    store_tail_mark(&s->tail);
    s->cm.len = s->tail.body.len;
    s->cm.n = s->tail.n_records;
    s->cm.prev_ns[0] = s->tail.prev_ns[0];
    s->cm.prev_ns[1] = s->tail.prev_ns[1];
    s->cm.n_writes = s->n_wal_writes;
    s->cm.is_busy = 1;
    syncer_submit(s, s->wals[s->cm.wal].fd);
    return 1;
}

/* The labels and an entry written past the sync in flight (if any),
 * then the tail closed if full: store_commit_ahead, store_commit_full. */
static int
store_commit_write_ahead(struct store *s)
{
    if (srclabels_commit(s) < 0 || store_commit_write(s) < 0)
        return -1;
    store_close_if(s, 0);
    return 1;
}

int
store_commit_ahead(struct store *s)
{
    if (!s->cm.is_busy || (s->wal_n_recs == 0 && !store_closed_unwritten(s)))
        return 0;
    return store_commit_write_ahead(s);
}

int
store_commit_full(struct store *s)
{
    if (!store_close_now(s, 0))
        return 0;
    return store_commit_write_ahead(s);
}

int
store_commit_fd(const struct store *s)
{
    return s->syncer.pipe[0];
}

/* The sealing thread's wake-up (its byte on the same pipe): a finished
 * job applied and the waiting tails handed to the thread at once, not at
 * the next commit. A failed job is retried at a commit
 * (store_commit_seal), not here: a disk that keeps failing would wake
 * the loop again and again. */
static void
store_seal_poll(struct store *s)
{
    if (sealer_poll(s, 0))
        store_seal_pend(s);
}

/* The sync of the commit in flight returned err (0 or an errno). */
static int
store_commit_finish(struct store *s, int err)
{
    s->cm.is_busy = 0;
    s->wal_sync_bytes += s->cm.end - s->cm.off;
    wal_write_done(s, err == 0);
    if (err != 0) {
        /* The file cut back to the sync's start: the closed tails past
         * it are written again, first, by the next commit. */
        for (size_t i = 0; s->closed && i < s->closed->n_ch; i++)
            if (s->closed->ch[i].wal_last > s->wal_synced)
                s->closed->ch[i].is_unwritten = 1;
        if (s->tail_wal_first != UINT64_MAX &&
            s->tail_wal_first > s->wal_synced)
            s->tail_wal_first = UINT64_MAX;     /* its entries cut too */
        store_wal_rebuild(s);
        store_seal_poll(s);     /* its wake-up may have been drained */
        store_set_err(s, "wal sync: %s", strerror(err));
        return -1;
    }
    store_lock(s);
    s->tail.committed_len = s->cm.len;
    s->tail.committed_n = s->cm.n;
    s->tail.committed_prev[0] = s->cm.prev_ns[0];
    s->tail.committed_prev[1] = s->cm.prev_ns[1];
    s->wal_synced = s->cm.n_writes;
    store_unlock(s);
    store_commit_seal(s, 0);
    return 1;
}

int
store_commit_end(struct store *s)
{
    int err;

    if (!s->cm.is_busy) {
        (void)syncer_poll(s, 0, &err);  /* drains a stale wake-up */
        store_seal_poll(s);
        return 1;
    }
    if (syncer_poll(s, 0, &err) == 0) {
        store_seal_poll(s);
        return 0;
    }
    return store_commit_finish(s, err);
}

size_t
store_unsynced_bytes(const struct store *s)
{
    size_t n = s->tail.body.len - s->tail.committed_len;

    for (size_t i = 0; s->closed && i < s->closed->n_ch; i++)
        if (!store_chunk_is_synced(s, &s->closed->ch[i]))
            n += s->closed->ch[i].body.len;
    return n;
}

size_t
store_foreach_unwritten(struct store *s, store_rec_fn fn, void *arg)
{
    const struct store_tail *t = &s->tail;
    struct store_rec *recs = NULL;
    size_t cap = 0;

    if (t->visible_n == t->n_records)
        return 0;
    if (block_body_decode(t->body.data, t->body.len, t->n_records,
                          t->n_labels, 1, &recs, &cap) < 0) {
        free(recs);
        return 0;               /* cannot happen: we encoded it */
    }
    for (uint32_t i = t->visible_n; i < t->n_records; i++) {
        const struct store_rec *r = &recs[i];
        const struct store_label *l = s->labels[t->labels[r->label].id];
        struct logrec lr = {
            .time_ns = r->time_ns, .recv_ns = r->recv_ns,
            .host = l->host, .container_id = l->cid,
            .container = l->name, .image = l->image,
            .labels = store_source_labels(l->src),
            .stream = r->stream, .flags = r->flags, .offset = r->offset,
            .msg = (const char *)r->msg, .msg_len = r->msg_len,
        };
        fn(&lr, arg);
    }
    free(recs);
    return t->n_records - t->visible_n;
}

int
store_commit_wait(struct store *s)
{
    int err;

    if (!s->cm.is_busy)
        return 1;
    (void)syncer_poll(s, 1, &err);
    return store_commit_finish(s, err);
}

int
store_commit(struct store *s)
{
    if (s->cm.is_busy)
        (void)store_commit_wait(s);     /* a failure is retried below */
    int rc = store_commit_begin(s);
    if (rc <= 0)
        return rc;
    return store_commit_wait(s) < 0 ? -1 : 0;
}

int
store_sync(struct store *s)
{
    (void)sealer_poll(s, 1);
    store_seal_pend(s);
    (void)sealer_poll(s, 1);
    return s->job || s->pend ? -1 : 0;
}
