/* SPDX-License-Identifier: MIT */
/*
 * blkload: reading one segment block for a cursor (pread, body CRC,
 * decompress, decode the records, mark those holding every required
 * token, run the caller's record test: blkload_hints, with a column
 * test first over the whole message column when the caller has one),
 * either on the caller's thread or ahead of time on a helper thread, so
 * that a long scan uses both cores. Up to BLK_AHEAD requests are queued in the
 * cursor's order; the helper takes the first queued one. When the caller
 * needs a block the helper is still loading, it loads the next queued
 * one itself rather than sleep (blkload_take), so the work of a scan
 * splits between the two threads whichever is slower. A request carries
 * a copy of the block's directory entry and the tokens are fixed at
 * creation, so the helper never touches the store; the cursor re-checks
 * the segment and marks damage on its own thread.
 */
#include "collector/store/store_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmalloc.h"

void
blkload_init(struct blk_load *ld)
{
    memset(ld, 0, sizeof(*ld));
    buf_init(&ld->comp, STORE_MAX_RAW + 65536);
    buf_init(&ld->raw, STORE_MAX_RAW);
}

void
blkload_fini(struct blk_load *ld)
{
    buf_fini(&ld->comp);
    buf_fini(&ld->raw);
    free(ld->recs);
    free(ld->keep);
    free(ld->lsel);
    free(ld->hint);
    free(ld->ends);
    free(ld->maybe);
    free(ld->cand);
    free(ld->nl);
}

void
blkload_set_lsel(struct blk_load *ld, const uint8_t *sel, size_t n)
{
    if (ld->cap_lsel < n) {
        ld->lsel = xreallocarray(ld->lsel, n, 1);
        ld->cap_lsel = n;
    }
    if (n > 0)
        memcpy(ld->lsel, sel, n);
    ld->n_lsel = n;
}

/* 1 if the filter's time range, stream and labels select record i (what
 * cursor_rec_ok tests but the after-key). */
static int
blkload_is_selected(const struct blk_loader *lr, const struct blk_load *ld,
                    uint32_t i)
{
    const struct store_rec *r = &ld->recs[i];

    return r->time_ns >= lr->since &&
           (lr->until == INT64_MAX || r->time_ns < lr->until) &&
           (lr->recv_since == 0 || r->recv_ns >= lr->recv_since) &&
           (lr->stream < 0 || r->stream == lr->stream) &&
           (r->label >= ld->n_lsel || ld->lsel[r->label]);
}

/* Room for n records' message ends and column-test answers. */
static void
blkload_grow_col(struct blk_load *ld, uint32_t n)
{
    if (ld->cap_ends < n) {
        ld->ends = xreallocarray(ld->ends, n, sizeof(*ld->ends));
        ld->maybe = xreallocarray(ld->maybe, n, 1);
        ld->cap_ends = n;
    }
}

/* With match_col_fn, over messages that lie back to back and records
 * of which at least half are wanted (ld->hint: 1 wanted, set by the
 * caller): clears the hints of the records it rules out and returns 1;
 * else 0 (hint untouched). */
static int
blkload_hints_col(const struct blk_loader *lr, struct blk_load *ld,
                  uint32_t n, uint32_t n_wanted, void *arg)
{
    if (lr->match_col_fn == NULL || n == 0 || n_wanted < n - n_wanted)
        return 0;
    blkload_grow_col(ld, n);
    const uint8_t *base = ld->recs[0].msg;
    uint32_t end = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct store_rec *r = &ld->recs[i];
        /* back to back, or a newline apart (codec 9): a record's span
         * then begins with the newline before it (a column test only
         * rules records out where their spans lack what it needs) */
        if (r->msg == base + end || (i > 0 && r->msg == base + end + 1))
            end = (uint32_t)(r->msg - base) + r->msg_len;
        else if (r->msg_len > 0)
            return 0;                   /* not one column */
        ld->ends[i] = end;
    }
    if (lr->match_col_fn(arg, (const char *)base, ld->ends, n,
                         ld->maybe) < 0)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        ld->hint[i] &= ld->maybe[i];
    return 1;
}

/* 1 if the filter selects every record of the block (ld->lsel set),
 * whose records' times lie in [lo, hi]: a time range holding [lo, hi]
 * (open-ended searches end at the collector's clock + 10 min, so nearly
 * every block lies inside theirs), no receive point, any stream, every
 * label, no tokens. */
static int
blkload_is_all(const struct blk_loader *lr, const struct blk_load *ld,
               int64_t lo, int64_t hi)
{
    if (lr->since > lo || (lr->until != INT64_MAX && hi >= lr->until) ||
        lr->recv_since != 0 || lr->stream >= 0 || lr->n_toks > 0)
        return 0;
    for (size_t i = 0; i < ld->n_lsel; i++)
        if (!ld->lsel[i])
            return 0;
    return 1;
}

/* Blocks (frames) blkload_is_void left undecoded, in every store. */
static uint64_t blkload_n_voids;

uint64_t
store_n_raw_skipped(void)
{
    return __atomic_load_n(&blkload_n_voids, __ATOMIC_RELAXED);
}

/* 1 if the filter selects every record of block (frame) b, with
 * match_raw_fn: so that their message bytes are what a decoded block
 * would count (the cost cap, STORE.md "Matches only") when it is left
 * undecoded. */
static int
blkload_can_void(const struct blk_loader *lr, const struct blk_load *ld,
                 const struct store_blk *b)
{
    if (lr->match_raw_fn == NULL || lr->recv_since != 0 ||
        lr->stream >= 0 || lr->since > b->min_ns ||
        (lr->until != INT64_MAX && b->max_ns >= lr->until))
        return 0;
    for (size_t i = 0; i < ld->n_lsel; i++)
        if (!ld->lsel[i])
            return 0;
    return 1;
}

/* Frames blkload_msgs_first left undecoded, in every store. */
static uint64_t blkload_n_msg_voids;

uint64_t
store_n_msgs_skipped(void)
{
    return __atomic_load_n(&blkload_n_msg_voids, __ATOMIC_RELAXED);
}

/* Leaves the block (frame) undecoded, its msg bytes counted as the
 * prefilter's; counted in *n. */
static void
blkload_set_void(struct blk_load *ld, uint64_t msg, uint64_t *n)
{
    ld->skip_raw = msg;
    __atomic_fetch_add(n, 1, __ATOMIC_RELAXED);
}

/* 1 if no record of the block (frame) in ld->raw can match, by
 * match_raw_fn over its bytes, and blkload_can_void; else 0. */
static int
blkload_is_void(const struct blk_loader *lr, struct blk_load *ld,
                const struct store_blk *b, uint32_t n, int is_helper)
{
    uint64_t msg = 0;

    if (!blkload_can_void(lr, ld, b) ||
        block_msg_bytes(b->codec, ld->raw.data, ld->raw.len, n, &msg) < 0 ||
        lr->match_raw_fn(is_helper ? lr->hmatch_arg : lr->match_arg,
                         (const char *)ld->raw.data, ld->raw.len))
        return 0;
    blkload_set_void(ld, msg, &blkload_n_voids);
    return 1;
}

/* blkload_hints; is_all_sel: the filter selects every record (the records'
 * times, streams and labels are not read), is_no_times: their times are
 * not set either (the dropped records' range is left to the caller). */
static void
blkload_hints_at(const struct blk_loader *lr, struct blk_load *ld,
                 uint32_t n, int is_all_sel, int is_no_times, int is_helper)
{
    void *arg = is_helper ? lr->hmatch_arg : lr->match_arg;
    uint32_t n_wanted = 0;
    uint64_t sel_bytes = 0;

    if (ld->cap_hint < n) {
        ld->hint = xreallocarray(ld->hint, n, 1);
        ld->cap_hint = n;
    }
    ld->tok_bytes = 0;
    if (is_all_sel && lr->n_toks == 0) {
        memset(ld->hint, 1, n);
        n_wanted = n;
        for (uint32_t i = 0; i < n; i++)
            sel_bytes += ld->recs[i].msg_len;
    } else if (is_all_sel) {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t len = ld->recs[i].msg_len;
            sel_bytes += len;
            ld->tok_bytes += ld->keep[i] ? 0 : len;
            ld->hint[i] = ld->keep[i];
            n_wanted += ld->hint[i];
        }
    } else {
        for (uint32_t i = 0; i < n; i++) {
            int is_sel = blkload_is_selected(lr, ld, i);
            int is_tok = lr->n_toks == 0 || ld->keep[i];
            sel_bytes += is_sel ? ld->recs[i].msg_len : 0;
            ld->tok_bytes += is_sel && !is_tok ? ld->recs[i].msg_len : 0;
            ld->hint[i] = (uint8_t)(is_sel && is_tok);
            n_wanted += ld->hint[i];
        }
    }
    blkload_hints_col(lr, ld, n, n_wanted, arg);
    /* the test; with is_matches_only, in the same pass, the records the
     * cursor keeps (hint not 0), the bytes of those it drops that the
     * filter selects (a record with a hint is selected), which a query's
     * cost cap counts as the token prefilter's (run_select), and the time
     * range of those it drops (any: wider is only looser) */
    int is_mo = lr->is_matches_only;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    uint64_t drop = sel_bytes;
    uint32_t k = 0;
    if (is_mo && ld->cap_cand < n) {
        ld->cand = xreallocarray(ld->cand, n, sizeof(*ld->cand));
        ld->cap_cand = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct store_rec *r = &ld->recs[i];
        uint8_t h = ld->hint[i];
        if (h)
            ld->hint[i] = h = (uint8_t)lr->match_fn(arg, (const char *)r->msg,
                                                    r->msg_len);
        if (!is_mo)
            continue;
        if (h) {
            ld->cand[k++] = i;
            drop -= r->msg_len;
        } else if (!is_no_times) {
            lo = r->time_ns < lo ? r->time_ns : lo;
            hi = r->time_ns > hi ? r->time_ns : hi;
        }
    }
    if (is_mo) {
        ld->n_cand = k;
        ld->sel_bytes = sel_bytes;
        ld->drop_bytes = drop;
        ld->drop_min_t = lo;
        ld->drop_max_t = hi;
    }
}

void
blkload_hints(const struct blk_loader *lr, struct blk_load *ld, uint32_t n,
              int64_t t_lo, int64_t t_hi, int is_helper)
{
    if (lr->match_fn != NULL)
        blkload_hints_at(lr, ld, n, blkload_is_all(lr, ld, t_lo, t_hi), 0,
                         is_helper);
}

/* blkload_hints_at for a frame whose filter selects every record and
 * requires no word, over its messages as block_frame_nl left them (message
 * i ends at nl[i], the spans the column test takes as they are): the same
 * column test and match_fn calls, without setting the records. */
static void
blkload_hints_nl(const struct blk_loader *lr, struct blk_load *ld,
                 const uint8_t *m, uint32_t n, int is_helper)
{
    void *arg = is_helper ? lr->hmatch_arg : lr->match_arg;
    const uint32_t *nl = ld->nl;
    int is_col = 0;

    if (ld->cap_hint < n) {
        ld->hint = xreallocarray(ld->hint, n, 1);
        ld->cap_hint = n;
    }
    if (ld->cap_cand < n) {
        ld->cand = xreallocarray(ld->cand, n, sizeof(*ld->cand));
        ld->cap_cand = n;
    }
    if (lr->match_col_fn != NULL) {
        blkload_grow_col(ld, n);
        is_col = lr->match_col_fn(arg, (const char *)m, nl, n,
                                  ld->maybe) == 0;
    }
    uint64_t sel = (uint64_t)nl[n - 1] + 1 - n, drop = sel;
    uint32_t k = 0;
    for (uint32_t i = 0, at = 0; i < n; at = nl[i] + 1, i++) {
        uint8_t h = 0;
        if (!is_col || ld->maybe[i])
            h = (uint8_t)lr->match_fn(arg, (const char *)m + at, nl[i] - at);
        ld->hint[i] = h;
        if (h) {
            ld->cand[k++] = i;
            drop -= nl[i] - at;
        }
    }
    ld->tok_bytes = 0;
    ld->n_cand = k;
    ld->sel_bytes = sel;
    ld->drop_bytes = drop;
}

/* A codec 9 frame a matches-only cursor reads whose records the filter
 * selects all (blkload_can_void): the test runs on the messages, found
 * from their newlines alone, before the columns are decoded (the same
 * token marks and match_fn calls as blkload_hints', so the same answers
 * and regex aborts). No record matching, the frame is left undecoded as
 * blkload_is_void leaves it (the same bytes counted); else its columns
 * are decoded too and the hints kept. 1 done (ld->rc set), 0 not such a
 * frame (decode as usual). What it saves: the columns of the frames
 * without a match (BENCHMARKS.md "Full scans: the read-ahead helper
 * kept busy, messages tested before columns"). */
static int
blkload_msgs_first(const struct blk_loader *lr, struct blk_load *ld,
                   const struct store_blk *b, uint32_t n, int is_helper)
{
    const uint8_t *m;

    if (!lr->is_matches_only || lr->match_fn == NULL ||
        !blkload_can_void(lr, ld, b) ||
        block_frame_nl(b->codec, ld->raw.data, ld->raw.len, n, &ld->nl,
                       &ld->cap_nl, &m) < 0)
        return 0;
    if (lr->n_toks > 0) {
        /* the word marks: over the records' messages */
        block_frame_recs(m, n, ld->nl, &ld->recs, &ld->cap_recs);
        blkload_keep(ld, b->codec, n, lr->toks, lr->n_toks);
        blkload_hints_at(lr, ld, n, 1, 1, is_helper);
    } else {
        blkload_hints_nl(lr, ld, m, n, is_helper);
    }
    if (ld->n_cand == 0) {
        uint64_t msg = ld->sel_bytes;
        ld->drop_bytes = ld->sel_bytes = ld->tok_bytes = 0;
        blkload_set_void(ld, msg, &blkload_n_msg_voids);
        return 1;
    }
    ld->skip_raw = 0;
    ld->rc = -1;
    if (block_frame_cols(b->codec, ld->raw.data, ld->raw.len, n,
                         b->n_labels, &ld->recs, &ld->cap_recs, ld->nl) < 0) {
        ld->n_cand = 0;
        return 1;
    }
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (uint32_t i = 0; i < n; i++) {
        int64_t t = ld->recs[i].time_ns;
        if (!ld->hint[i]) {
            lo = t < lo ? t : lo;
            hi = t > hi ? t : hi;
        }
    }
    ld->drop_min_t = lo;
    ld->drop_max_t = hi;
    ld->n = n;
    ld->rc = 1;
    return 1;
}

void
blkload_keep(struct blk_load *ld, uint32_t codec, uint32_t n,
             const struct scan_tok *toks, size_t n_toks)
{
    size_t k = 0;

    if (ld->cap_keep < n) {
        ld->keep = xreallocarray(ld->keep, n, 1);
        ld->cap_keep = n;
    }
    if (n == 0)
        return;
    memset(ld->keep, 0, n);
    if (store_codec_is_cols(codec)) {
        scan_column(&toks[0], ld->recs, n, ld->keep);
        k = 1;
    } else {
        memset(ld->keep, 1, n);
    }
    for (uint32_t i = 0; i < n; i++)
        for (size_t t = k; t < n_toks && ld->keep[i]; t++)
            ld->keep[i] = (uint8_t)scan_has(&toks[t], ld->recs[i].msg,
                                            ld->recs[i].msg_len);
}

/* Opens segment seq on *fd (cached by *fd_seq). */
static int
blkload_open(const char *dir, int *fd, uint64_t *fd_seq, uint64_t seq)
{
    if (*fd >= 0 && *fd_seq == seq)
        return 0;
    if (*fd >= 0)
        close(*fd);
    char *path = xasprintf("%s/seg-%016llx.lqs", dir,
                           (unsigned long long)seq);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    *fd_seq = seq;
    return *fd < 0 ? -1 : 0;
}

/* Loads rq into ld, on the helper's thread (is_helper) or the caller's:
 * each has its own fd cache and match_fn argument. */
static void
blkload_do(const struct blk_loader *lr, int is_helper,
           const struct blk_req *rq, struct blk_load *ld)
{
    const struct store_blk *b = &rq->b;
    struct blk_loader *lw = (struct blk_loader *)lr;   /* its fd cache */
    int *fd = is_helper ? &lw->hfd : &lw->fd;
    uint64_t *fd_seq = is_helper ? &lw->hfd_seq : &lw->fd_seq;

    ld->seq = rq->seq;
    ld->blk = rq->blk;
    ld->rc = 0;
    ld->is_by_helper = is_helper;
    if (blkload_open(lr->dir, fd, fd_seq, rq->seq) < 0)
        return;                 /* gone (retention) */
    ld->rc = -1;
    uint32_t n = rq->frame == BLK_WHOLE ? b->n_records : rq->fr.n_records;
    if (rq->frame == BLK_WHOLE
        ? segment_read_body(*fd, b, &ld->comp) < 0 ||
          segment_unpack(b, &ld->comp, &ld->raw) < 0
        : segment_read_frame(*fd, b, &rq->fr, &ld->comp, &ld->raw) < 0)
        return;
    blkload_decode(lr, is_helper, b, n, ld);
}

void
blkload_decode(const struct blk_loader *lr, int is_helper,
               const struct store_blk *b, uint32_t n, struct blk_load *ld)
{
    /* a block (frame) without a required token anywhere in its bytes
     * (the rare term's other frames, the unsealed tail), or without what
     * every match of the caller's regex holds (match_raw_fn), is not
     * decoded */
    ld->rc = 1;
    ld->n = 0;
    ld->n_cand = 0;
    ld->drop_bytes = ld->sel_bytes = ld->tok_bytes = 0;
    ld->drop_min_t = INT64_MAX;
    ld->drop_max_t = INT64_MIN;
    ld->skip_raw = ld->raw.len;
    if (!scan_may_hold(lr->toks, lr->n_toks, ld->raw.data, ld->raw.len))
        return;
    if (blkload_is_void(lr, ld, b, n, is_helper) ||
        blkload_msgs_first(lr, ld, b, n, is_helper))
        return;
    ld->skip_raw = 0;
    ld->rc = -1;
    if (block_decode(b->codec, ld->raw.data, ld->raw.len, n, b->n_labels,
                     &ld->recs, &ld->cap_recs) < 0)
        return;
    ld->n = n;
    if (lr->n_toks > 0)
        blkload_keep(ld, b->codec, n, lr->toks, lr->n_toks);
    blkload_hints(lr, ld, n, b->min_ns, b->max_ns, is_helper);
    ld->rc = 1;
}

void
blkload_run(struct blk_loader *lr, const struct blk_req *rq,
            struct blk_load *ld)
{
    blkload_do(lr, 0, rq, ld);
}

/* ------------------------------------------------------------------ */
/* The queue and the helper thread                                     */

/* The queued request with the lowest key (the cursor needs it first), or
 * NULL. Under mu. */
static struct blk_ahead *
blkload_first_queued(struct blk_loader *lr)
{
    struct blk_ahead *e = NULL;

    for (size_t i = 0; i < BLK_AHEAD; i++)
        if (lr->q[i].state == BLK_Q_QUEUED &&
            (e == NULL || lr->q[i].key < e->key))
            e = &lr->q[i];
    return e;
}

/* Runs queued request e (marked running by the caller, under mu, which
 * is released meanwhile), then marks it done. */
static void
blkload_run_entry(struct blk_loader *lr, struct blk_ahead *e, int is_helper)
{
    struct blk_req rq = e->rq;
    struct blk_load *out = e->out;

    pthread_mutex_unlock(&lr->mu);
    blkload_do(lr, is_helper, &rq, out);
    pthread_mutex_lock(&lr->mu);
    e->state = BLK_Q_DONE;
    pthread_cond_broadcast(&lr->cv);
}

static void *
blkload_main(void *arg)
{
    struct blk_loader *lr = arg;

    (void)pthread_setname_np(pthread_self(), "lq-blkload"); /* top -H */
    pthread_mutex_lock(&lr->mu);
    while (!lr->is_stop) {
        struct blk_ahead *e = blkload_first_queued(lr);
        if (e == NULL) {
            pthread_cond_wait(&lr->cv, &lr->mu);
            continue;
        }
        e->state = BLK_Q_RUNNING;
        blkload_run_entry(lr, e, 1);
    }
    pthread_mutex_unlock(&lr->mu);
    return NULL;
}

void
blkload_loader_init(struct blk_loader *lr, const char *dir,
                    const struct scan_tok *toks, size_t n_toks)
{
    memset(lr, 0, sizeof(*lr));
    lr->dir = dir;
    lr->toks = toks;
    lr->n_toks = n_toks;
    lr->since = INT64_MIN;
    lr->until = INT64_MAX;
    lr->recv_since = 0;
    lr->stream = -1;
    lr->fd = lr->hfd = -1;
}

int
blkload_start(struct blk_loader *lr)
{
    if (lr->is_started)
        return 0;
    if (pthread_mutex_init(&lr->mu, NULL) != 0)
        return -1;
    if (pthread_cond_init(&lr->cv, NULL) != 0) {
        pthread_mutex_destroy(&lr->mu);
        return -1;
    }
    if (pthread_create(&lr->th, NULL, blkload_main, lr) != 0) {
        pthread_cond_destroy(&lr->cv);
        pthread_mutex_destroy(&lr->mu);
        return -1;
    }
    lr->is_started = 1;
    return 0;
}

int
blkload_is_full(struct blk_loader *lr)
{
    int n = 0;

    if (!lr->is_started)
        return 0;
    pthread_mutex_lock(&lr->mu);
    for (size_t i = 0; i < BLK_AHEAD; i++)
        n += lr->q[i].state != BLK_Q_FREE;
    pthread_mutex_unlock(&lr->mu);
    return n == BLK_AHEAD;
}

int
blkload_submit(struct blk_loader *lr, const struct blk_req *rq,
               struct blk_load *out, size_t key, void *tag)
{
    int rc = -1;

    pthread_mutex_lock(&lr->mu);
    for (size_t i = 0; i < BLK_AHEAD && rc < 0; i++) {
        struct blk_ahead *e = &lr->q[i];
        if (e->state != BLK_Q_FREE)
            continue;
        *e = (struct blk_ahead){ *rq, out, tag, key, BLK_Q_QUEUED };
        rc = 0;
    }
    pthread_cond_broadcast(&lr->cv);
    pthread_mutex_unlock(&lr->mu);
    return rc;
}

/* The request for key, or NULL. Under mu. */
static struct blk_ahead *
blkload_find(struct blk_loader *lr, size_t key)
{
    for (size_t i = 0; i < BLK_AHEAD; i++)
        if (lr->q[i].state != BLK_Q_FREE && lr->q[i].key == key)
            return &lr->q[i];
    return NULL;
}

void *
blkload_take(struct blk_loader *lr, size_t key)
{
    if (!lr->is_started)
        return NULL;
    pthread_mutex_lock(&lr->mu);
    struct blk_ahead *e = blkload_find(lr, key), *o;
    if (e == NULL) {
        pthread_mutex_unlock(&lr->mu);
        return NULL;
    }
    if (e->state == BLK_Q_QUEUED) {
        e->state = BLK_Q_RUNNING;
        blkload_run_entry(lr, e, 0);
    }
    while (e->state != BLK_Q_DONE) {
        if ((o = blkload_first_queued(lr)) != NULL) {
            o->state = BLK_Q_RUNNING;       /* ours: load it meanwhile */
            blkload_run_entry(lr, o, 0);
        } else {
            pthread_cond_wait(&lr->cv, &lr->mu);
        }
    }
    void *tag = e->tag;
    e->state = BLK_Q_FREE;
    pthread_mutex_unlock(&lr->mu);
    return tag;
}

void
blkload_loader_fini(struct blk_loader *lr, void (*free_tag)(void *))
{
    if (lr->is_started) {
        pthread_mutex_lock(&lr->mu);
        lr->is_stop = 1;
        pthread_cond_broadcast(&lr->cv);
        pthread_mutex_unlock(&lr->mu);
        pthread_join(lr->th, NULL);     /* finishes what it runs */
        pthread_cond_destroy(&lr->cv);
        pthread_mutex_destroy(&lr->mu);
        lr->is_started = 0;
        for (size_t i = 0; i < BLK_AHEAD; i++) {
            if (lr->q[i].state != BLK_Q_FREE)
                free_tag(lr->q[i].tag);
            lr->q[i].state = BLK_Q_FREE;
        }
    }
    if (lr->fd >= 0)
        close(lr->fd);
    if (lr->hfd >= 0)
        close(lr->hfd);
    lr->fd = lr->hfd = -1;
}
