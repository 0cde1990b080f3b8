/* SPDX-License-Identifier: MIT */
/*
 * tailset: the token set of each full tail that waits for the sealing
 * thread (s->pend), gathered ahead on a thread of its own (lq-tailset)
 * and published, so a cursor skips a waiting tail that lacks one of its
 * filter tokens the way the token index skips a sealed block (STORE.md
 * "Waiting tails' token sets"). The set is the block's own: the indexing
 * thread (indexer.c) takes it instead of gathering it again, so the
 * ingest does the work once, as before, only earlier. A chunk the
 * indexing thread reaches first (no tail waited: the job went to the
 * sealing thread at once, or this thread had not begun it) is gathered
 * there as before and published then, for the rest of its seal.
 *
 * Each seal_chunk has a tailset_pre (stable across segment_job_merge,
 * which moves chunks): its state, under ts->mu and atomic for cursors,
 * which read the published set under store.mu only:
 *   NONE    no set here; ch->set is the chunk's (the indexer gathers it)
 *   QUEUED  waiting for this thread; pre->set holds ch->set's storage
 *   RUNNING this thread gathers into pre->set
 *   READY   pre->set is the chunk's set, owned here (cursors read it)
 *   VIEW    ch->set owns it (the indexer took it, or gathered it and
 *           published it); pre->set is a copy of the struct, read only
 * A set is never written once READY or VIEW (the indexer does not gather
 * a chunk again on a retry), and freed only with its chunk, which the
 * store's thread frees after taking it out of s->job under store.mu.
 * The records this thread decoded for a set (block_seal_decode, the
 * order the seal builds the block in) are kept with it (pre->recs, under
 * ts->mu) for the sealing thread, which takes them instead of decoding
 * the same body again (tailset_take_recs; a chunk the sealing thread
 * reaches before they are ready, or a retry, it decodes itself).
 * This thread touches only the queued pre objects and the row bodies
 * they point to (never changed while the chunk lives).
 */
#include "collector/store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collector/store/index_internal.h"     /* ix_without_fields */
#include "collector/store/tokenize.h"
#include "common/xmalloc.h"

enum { PRE_NONE, PRE_QUEUED, PRE_RUNNING, PRE_READY, PRE_VIEW };

struct tailset_pre {
    struct store_tailset *ts;
    _Atomic int           state;
    uint8_t               is_whole;     /* the body decoded: the set is
                                           every token of its records */
    uint8_t               has_fields;   /* field tokens in it */
    uint8_t               has_subwords; /* sub-word tokens in it */
    struct index_set      set;
    struct store_rec     *recs;         /* its records decoded (READY or
                                           VIEW), until the sealing thread
                                           takes them */
    size_t                cap_recs;
    const uint8_t        *body;         /* the chunk's row body */
    size_t                len, frame_size;
    uint32_t              n_records, n_labels;
    struct tailset_pre   *next;         /* in the queue */
};

/* ------------------------------------------------------------------ */
/* Gathering                                                           */

int
tailset_gather(const uint8_t *body, size_t len, uint32_t n,
               uint32_t n_labels, struct index_set *set,
               struct store_rec **recs, size_t *cap, size_t frame_size)
{
    uint32_t n_frames = 1, f = 0, end = n;
    struct tokenize_memo memo;

    index_set_reset(set);
    if (block_seal_decode(body, len, n, n_labels, recs, cap) < 0)
        return -1;              /* the records as the seal orders them */
    /* each record's text stays in body while the set is gathered, the
     * records of a source in a row: their common starts are cut once */
    memo.prev = NULL;
    memo.n = 0;
    memo.with_subwords = !ix_without_subwords;  /* STORE.md "Sub-word tokens" */
    set->memo = &memo;
    if (frame_size) {
        n_frames = 0;
        for (uint32_t i = 0; i < n; n_frames++)
            i = block_frame_end(*recs, i, n, frame_size);
        end = block_frame_end(*recs, 0, n, frame_size);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (i == end) {
            set->frame = index_frame_bit(++f, n_frames);
            end = block_frame_end(*recs, i, n, frame_size);
        }
        index_set_add_text(set, (*recs)[i].msg, (*recs)[i].msg_len);
    }
    set->memo = NULL;
    return 0;
}

static void
tailset_unlink(struct store_tailset *ts, struct tailset_pre *p)
{
    struct tailset_pre **pp = &ts->q_head;

    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    if (ts->q_tail == p) {
        ts->q_tail = NULL;
        for (struct tailset_pre *q = ts->q_head; q; q = q->next)
            ts->q_tail = q;
    }
    p->next = NULL;
}

static void *
tailset_main(void *arg)
{
    struct store_tailset *ts = arg;

    (void)pthread_setname_np(pthread_self(), "lq-tailset"); /* top -H */
    pthread_mutex_lock(&ts->mu);
    for (;;) {
        while (!ts->q_head && !ts->is_stop)
            pthread_cond_wait(&ts->cv, &ts->mu);
        if (ts->is_stop)
            break;
        struct tailset_pre *p = ts->q_head;
        tailset_unlink(ts, p);
        atomic_store(&p->state, PRE_RUNNING);
        pthread_mutex_unlock(&ts->mu);
        int rc = tailset_gather(p->body, p->len, p->n_records, p->n_labels,
                                &p->set, &ts->recs, &ts->cap_recs,
                                p->frame_size);
        pthread_mutex_lock(&ts->mu);
        p->is_whole = rc == 0;
        if (rc == 0) {          /* the records, for the sealing thread */
            p->recs = ts->recs;
            p->cap_recs = ts->cap_recs;
            ts->recs = NULL;
            ts->cap_recs = 0;
        }
        p->has_fields = !ix_without_fields;
        p->has_subwords = !ix_without_subwords;
        ts->n_built++;
        atomic_store_explicit(&p->state, PRE_READY, memory_order_release);
        pthread_cond_broadcast(&ts->cv_done);
    }
    pthread_mutex_unlock(&ts->mu);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The store's thread                                                  */

void
tailset_init(struct store *s)
{
    struct store_tailset *ts = &s->tailset;

    pthread_mutex_init(&ts->mu, NULL);
    pthread_cond_init(&ts->cv, NULL);
    pthread_cond_init(&ts->cv_done, NULL);
    ts->is_init = 1;
}

void
tailset_stop(struct store *s)
{
    struct store_tailset *ts = &s->tailset;

    if (!ts->is_init)
        return;
    if (ts->is_started) {
        pthread_mutex_lock(&ts->mu);
        ts->is_stop = 1;
        pthread_cond_broadcast(&ts->cv);
        pthread_mutex_unlock(&ts->mu);
        pthread_join(ts->th, NULL);
        ts->is_started = 0;
    }
    pthread_cond_destroy(&ts->cv_done);
    pthread_cond_destroy(&ts->cv);
    pthread_mutex_destroy(&ts->mu);
    free(ts->recs);
    ts->recs = NULL;
    ts->cap_recs = 0;
    ts->is_init = 0;
}

void
tailset_chunk_init(struct store *s, struct seal_chunk *ch)
{
    if (!s->tailset.is_init)
        return;
    struct tailset_pre *p = xcalloc(1, sizeof(*p));

    p->ts = &s->tailset;
    atomic_init(&p->state, PRE_NONE);
    ch->pre = p;
}

void
tailset_queue(struct store *s, struct seal_job *job)
{
    struct store_tailset *ts = &s->tailset;

    if (!job || !ts->is_init || s->opt.is_index_inline)
        return;
    if (!ts->is_started && !ts->is_failed) {
        int rc = pthread_create(&ts->th, NULL, tailset_main, ts);
        ts->is_started = rc == 0;
        ts->is_failed = rc != 0;   /* then the indexer gathers, as before */
    }
    if (!ts->is_started)
        return;
    pthread_mutex_lock(&ts->mu);
    for (size_t i = 0; i < job->n_ch; i++) {
        struct seal_chunk *ch = &job->ch[i];
        struct tailset_pre *p = ch->pre;
        if (!p || atomic_load(&p->state) != PRE_NONE || ch->n_records == 0)
            continue;
        p->set = ch->set;       /* its storage (a spare or new) */
        memset(&ch->set, 0, sizeof(ch->set));
        p->body = ch->body.data;
        p->len = ch->body.len;
        p->n_records = ch->n_records;
        p->n_labels = ch->n_labels;
        p->frame_size = s->sealer.ix.frame_size;
        atomic_store(&p->state, PRE_QUEUED);
        if (ts->q_tail)
            ts->q_tail->next = p;
        else
            ts->q_head = p;
        ts->q_tail = p;
    }
    pthread_cond_broadcast(&ts->cv);
    pthread_mutex_unlock(&ts->mu);
}

void
tailset_chunk_fini(struct seal_chunk *ch)
{
    struct tailset_pre *p = ch->pre;

    if (!p)
        return;
    ch->pre = NULL;
    struct store_tailset *ts = p->ts;
    pthread_mutex_lock(&ts->mu);
    while (atomic_load(&p->state) == PRE_RUNNING)
        pthread_cond_wait(&ts->cv_done, &ts->mu);
    int state = atomic_load(&p->state);
    if (state == PRE_QUEUED)
        tailset_unlink(ts, p);
    pthread_mutex_unlock(&ts->mu);
    if (state == PRE_QUEUED || state == PRE_READY)
        index_set_fini(&p->set);        /* its own storage */
    free(p->recs);                      /* not taken */
    free(p);
}

/* ------------------------------------------------------------------ */
/* The indexing thread                                                 */

int
tailset_take(struct seal_chunk *ch)
{
    struct tailset_pre *p = ch->pre;
    int is_done = 0;

    if (!p)
        return 0;
    struct store_tailset *ts = p->ts;
    pthread_mutex_lock(&ts->mu);
    while (atomic_load(&p->state) == PRE_RUNNING)
        pthread_cond_wait(&ts->cv_done, &ts->mu);
    int state = atomic_load(&p->state);
    if (state == PRE_QUEUED || (state == PRE_READY && !p->is_whole)) {
        if (state == PRE_QUEUED)    /* not begun: the caller gathers */
            tailset_unlink(ts, p);
        ch->set = p->set;       /* the storage back (a failed decode: */
        memset(&p->set, 0, sizeof(p->set));    /* fails again there) */
        atomic_store(&p->state, PRE_NONE);
    } else if (state == PRE_READY) {
        ch->set = p->set;       /* the chunk owns it from now */
        atomic_store(&p->state, PRE_VIEW);
        is_done = 1;
    } else {
        is_done = state == PRE_VIEW;    /* a retry of the job */
    }
    pthread_mutex_unlock(&ts->mu);
    return is_done;
}

/* ------------------------------------------------------------------ */
/* The sealing thread                                                  */

int
tailset_take_recs(struct seal_chunk *ch, struct store_rec **recs,
                  size_t *cap)
{
    struct tailset_pre *p = ch->pre;
    int is_taken = 0;

    if (!p)
        return 0;
    struct store_tailset *ts = p->ts;
    pthread_mutex_lock(&ts->mu);
    int state = atomic_load(&p->state);
    if ((state == PRE_READY || state == PRE_VIEW) && p->recs) {
        free(*recs);
        *recs = p->recs;
        *cap = p->cap_recs;
        p->recs = NULL;
        p->cap_recs = 0;
        ts->n_recs_taken++;
        is_taken = 1;
    }
    pthread_mutex_unlock(&ts->mu);
    return is_taken;
}

void
tailset_publish(struct seal_chunk *ch, int is_whole)
{
    struct tailset_pre *p = ch->pre;

    if (!p || !is_whole)
        return;
    pthread_mutex_lock(&p->ts->mu);
    p->set = ch->set;
    p->is_whole = 1;
    p->has_fields = !ix_without_fields;
    p->has_subwords = !ix_without_subwords;
    atomic_store_explicit(&p->state, PRE_VIEW, memory_order_release);
    pthread_mutex_unlock(&p->ts->mu);
}

/* ------------------------------------------------------------------ */
/* Cursors                                                             */

int
tailset_lacks(const struct seal_chunk *ch, const uint32_t *hashes, size_t n,
              const uint32_t *fhashes, size_t n_f, const uint32_t *bhashes,
              const uint32_t *shashes, size_t n_b)
{
    const struct tailset_pre *p = ch->pre;
    const struct index_set_ent *e;

    if (!p || n + n_f + n_b == 0)
        return 0;
    int state = atomic_load_explicit(&p->state, memory_order_acquire);
    if ((state != PRE_READY && state != PRE_VIEW) || !p->is_whole)
        return 0;
    uint32_t fm = UINT32_MAX;           /* frames holding every token */
    for (size_t i = 0; i < n + n_f; i++) {
        if (i >= n && !p->has_fields)
            break;
        e = index_set_find(&p->set, i < n ? hashes[i] : fhashes[i - n]);
        if (!e)
            return 1;
        fm &= index_set_ent_fmask(e);
    }
    for (size_t i = 0; i < n_b && p->has_subwords; i++) {
        /* each bounded word as a token or a sub-word */
        uint32_t fb = 0;
        if ((e = index_set_find(&p->set, bhashes[i])) != NULL)
            fb |= index_set_ent_fmask(e);
        if ((e = index_set_find(&p->set, shashes[i])) != NULL)
            fb |= index_set_ent_fmask(e);
        fm &= fb;
    }
    return fm == 0;
}
