/* SPDX-License-Identifier: MIT */
/*
 * cursor: scans of the store, part one (cursor_merge.c does the reading).
 * At creation the cursor picks the candidate blocks (block directory +
 * filter: time range, after-key, stream mask, labels; with filter tokens,
 * a segment's token index, segindex.c, narrows them to blocks that may
 * hold every token) and copies the committed part of the unsealed tail
 * and the blocks being sealed, then sorts the candidates by their bound
 * (newest-first: max time descending; oldest-first: min time ascending)
 * for cursor_merge.c's k-way merge, which returns records in the exact
 * order of store_key (STORE.md "Order"). Also the record filter and
 * store_key. Text matching is the caller's.
 */
#include "collector/store/cursor_internal.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "collector/store/index.h"
#include "collector/store/namesel.h"
#include "collector/store/tokenize.h"
#include "common/xmalloc.h"

/* ------------------------------------------------------------------ */
/* Filter                                                              */

int
cursor_label_sel(struct store_cursor *c, uint32_t id)
{
    if (id < c->n_label_ok && c->label_ok[id])
        return c->label_ok[id] == 1;
    const struct store_label *l = c->labels[id];
    int ok = (!c->host || strcmp(c->host, l->host) == 0) &&
             (!c->cid || strcmp(c->cid, l->cid) == 0) &&
             (!c->image || strcmp(c->image, l->image) == 0) &&
             (!c->container || fnmatch(c->container, l->name, 0) == 0) &&
             (!c->sel || namesel_match(c->sel, l->host, l->name, l->image,
                                       store_source_labels(l->src)));
    if (id < c->n_label_ok)
        c->label_ok[id] = ok ? 1 : 2;
    return ok;
}

static int
cursor_time_overlaps(const struct store_cursor *c, int64_t mn, int64_t mx)
{
    if (c->has_after && (c->newest_first ? mn > c->after.time_ns
                                         : mx < c->after.time_ns))
        return 0;
    return mx >= c->since && (c->until == INT64_MAX || mn < c->until);
}

/* 1 if the record (time t, label l, offset) lies past c->after in the
 * cursor's direction. */
static int
cursor_is_after(const struct store_cursor *c, int64_t t,
                const struct store_label *l, uint64_t offset)
{
    struct store_key k = { t, l->host, l->cid, offset };
    int cmp = store_key_cmp(&k, &c->after);

    return c->newest_first ? cmp < 0 : cmp > 0;
}

/* Block-level pruning from the directory alone (the token index is applied
 * per segment in cursor_pick): 1 if the block may hold a selected record,
 * with mn and mx the time range of the lines of its selected labels (each
 * label's own range from the block's meta, tighter than the block's when
 * the filter names a host or container). */
static int
cursor_block_may_match(struct store_cursor *c, const struct store_blk *b,
                       int64_t *mn, int64_t *mx)
{
    int any = 0;

    if (!cursor_time_overlaps(c, b->min_ns, b->max_ns))
        return 0;
    if (c->stream >= 0 && !(b->stream_mask & (1u << c->stream)))
        return 0;
    /* received before the point (0, 0: no record has a receive time) */
    if (c->recv_since != 0 && b->has_recv_range &&
        b->recv_max < c->recv_since)
        return 0;
    *mn = INT64_MAX;
    *mx = INT64_MIN;
    for (uint32_t i = 0; i < b->n_labels; i++) {
        const struct store_blk_label *bl = &b->labels[i];
        if (!bl->n_lines || !cursor_label_sel(c, bl->id))
            continue;
        any = 1;
        if (bl->min_ns < *mn)
            *mn = bl->min_ns;
        if (bl->max_ns > *mx)
            *mx = bl->max_ns;
    }
    return any && cursor_time_overlaps(c, *mn, *mx);
}

/* A candidate's bound (its key in the candidate order): the newest time a
 * selected record in it can have (newest first), or the oldest (oldest
 * first), from its time range clamped to the filter's range and after-key
 * (a tighter bound opens fewer blocks early: collector/STORE.md). */
static int64_t
cursor_bound(const struct store_cursor *c, int64_t mn, int64_t mx)
{
    if (c->newest_first) {
        if (c->until != INT64_MIN && c->until != INT64_MAX &&
            mx > c->until - 1)
            mx = c->until - 1;
        if (c->has_after && mx > c->after.time_ns)
            mx = c->after.time_ns;
        return mx;
    }
    if (mn < c->since)
        mn = c->since;
    if (c->has_after && mn < c->after.time_ns)
        mn = c->after.time_ns;
    return mn;
}

int
cursor_rec_ok(struct store_cursor *c, const struct store_rec *r,
              const uint32_t *ids)
{
    if (r->time_ns < c->since ||
        (c->until != INT64_MAX && r->time_ns >= c->until) ||
        (c->recv_since != 0 && r->recv_ns < c->recv_since) ||
        (c->stream >= 0 && r->stream != c->stream) ||
        !cursor_label_sel(c, ids[r->label]))
        return 0;
    return !c->has_after ||
           cursor_is_after(c, r->time_ns, c->labels[ids[r->label]],
                           r->offset);
}

/* ------------------------------------------------------------------ */
/* Candidates                                                          */

static void
cursor_add_cand(struct store_cursor *c, size_t *cap, uint64_t seq,
                uint32_t blk, uint32_t frame, int64_t mn, int64_t mx,
                uint64_t raw_len)
{
    if (c->n_cands == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        c->cands = xreallocarray(c->cands, *cap, sizeof(*c->cands));
    }
    struct cur_cand *k = &c->cands[c->n_cands++];
    k->seq = seq;
    k->blk = blk;
    k->frame = frame;
    k->bound = cursor_bound(c, mn, mx);
    k->raw_len = raw_len;
}

static int
cand_cmp_asc(const void *a, const void *b)
{
    const struct cur_cand *x = a, *y = b;

    if (x->bound != y->bound)
        return x->bound < y->bound ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    if (x->blk != y->blk)
        return x->blk < y->blk ? -1 : 1;
    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static int
cand_cmp_desc(const void *a, const void *b)
{
    return cand_cmp_asc(b, a);
}

/* Copies an in-memory block (n records, len bytes of body) if it may
 * match. */
static void
cursor_add_mem(struct store_cursor *c, size_t *cap, const struct buf *body,
               size_t len, uint32_t n, const uint32_t *ids, uint32_t n_labels,
               int64_t mn, int64_t mx, uint8_t stream_mask)
{
    if (n == 0 || !cursor_time_overlaps(c, mn, mx))
        return;
    if (c->stream >= 0 && !(stream_mask & (1u << c->stream)))
        return;
    int any = 0;
    for (uint32_t i = 0; i < n_labels && !any; i++)
        any = cursor_label_sel(c, ids[i]);
    if (!any)
        return;
    c->mems = xreallocarray(c->mems, c->n_mems + 1, sizeof(*c->mems));
    struct cur_mem *m = &c->mems[c->n_mems];
    buf_init(&m->body, len);
    if (buf_append(&m->body, body->data, len) < 0) {
        buf_fini(&m->body);
        return;
    }
    c->s->n_cursor_mem_reads++;
    m->n = n;
    m->n_labels = n_labels;
    m->ids = xcalloc(n_labels ? n_labels : 1, sizeof(uint32_t));
    memcpy(m->ids, ids, n_labels * sizeof(uint32_t));
    cursor_add_cand(c, cap, CUR_MEM, (uint32_t)c->n_mems++, BLK_WHOLE, mn,
                    mx, m->body.len);
}

/* The blocks being sealed, those waiting for the sealing thread, the
 * closed tails (each whole in WAL entries written) and the visible part
 * of the tail (its WAL entries written: store_commit_begin; in that
 * order: the order they came in).
 * A block whose token set is published (tailset.c) and lacks a filter
 * token is left out, as the segment index leaves out a sealed one. */
static void
cursor_snapshot_mem(struct store_cursor *c, size_t *cap)
{
    const struct store_tail *t = &c->s->tail;
    const struct seal_job *jobs[3] = { c->s->job, c->s->pend, c->s->closed };

    for (size_t j = 0; j < 3; j++)
        for (size_t i = 0; jobs[j] && i < jobs[j]->n_ch; i++) {
            const struct seal_chunk *ch = &jobs[j]->ch[i];
            if (tailset_lacks(ch, c->hashes, c->n_hashes, c->fhashes,
                              c->n_fhashes, c->bhashes, c->shashes,
                              c->n_bhashes)) {
                c->s->n_cursor_mem_skips++;     /* as the index skips */
                continue;
            }
            cursor_add_mem(c, cap, &ch->body, ch->body.len, ch->n_records,
                           ch->ids, ch->n_labels, ch->min_ns, ch->max_ns,
                           ch->stream_mask);
        }
    if (t->visible_n == 0)
        return;
    uint32_t *ids = xcalloc(t->n_labels ? t->n_labels : 1, sizeof(*ids));
    for (uint32_t i = 0; i < t->n_labels; i++)
        ids[i] = t->labels[i].id;
    cursor_add_mem(c, cap, &t->body, t->visible_len, t->visible_n, ids,
                   t->n_labels, t->min_ns, t->max_ns, t->stream_mask);
    free(ids);
}

static int
cursor_hash_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct store_cursor *c = arg;

    for (size_t i = 0; i < c->n_hashes; i++)
        if (c->hashes[i] == hash)
            return 0;
    if (c->n_hashes < CUR_MAX_HASHES) { /* fewer tokens: a wider scan */
        c->checks[c->n_hashes] = tokenize_check(tok, len);
        c->hashes[c->n_hashes++] = hash;
    }
    if (c->n_toks < CUR_MAX_HASHES)
        scan_tok_init(&c->toks[c->n_toks++], tok, len);
    return 0;
}

/* Hashes and checks of a bounded word (store_filter.bwords: ASCII word
 * bytes, one token: folded and cut as the tokenizer does) and of its
 * sub-word token. */
static void
cursor_add_bword(struct store_cursor *c, const char *w)
{
    uint8_t tok[TOKENIZE_MAX_LEN];
    size_t len = strlen(w), n = 0;

    if (c->n_bhashes == CUR_MAX_HASHES || len == 0)
        return;
    for (; n < len && n < TOKENIZE_MAX_LEN; n++)
        tok[n] = w[n] >= 'A' && w[n] <= 'Z' ? (uint8_t)(w[n] + 32)
                                             : (uint8_t)w[n];
    c->bhashes[c->n_bhashes] = tokenize_hash(tok, n);
    c->bchecks[c->n_bhashes] = tokenize_check(tok, n);
    n = tokenize_subword(w, len, tok);
    c->shashes[c->n_bhashes] = tokenize_hash(tok, n);
    c->schecks[c->n_bhashes++] = tokenize_check(tok, n);
}

/* Token hashes of the filter's words, cut as the index cuts text, of its
 * field tokens (already cut) and of its bounded words. */
static void
cursor_set_tokens(struct store_cursor *c, const struct store_filter *f)
{
    for (size_t i = 0; f && f->field_tokens && i < f->n_field_tokens &&
                       c->n_fhashes < CUR_MAX_HASHES; i++) {
        const uint8_t *t = (const uint8_t *)f->field_tokens[i];
        c->fchecks[c->n_fhashes] = tokenize_check(t, strlen((const char *)t));
        c->fhashes[c->n_fhashes++] = tokenize_hash(t, strlen((const char *)t));
    }
    for (size_t i = 0; f && f->bwords && i < f->n_bwords; i++)
        if (f->bwords[i])
            cursor_add_bword(c, f->bwords[i]);
    if (!f || !f->tokens)
        return;
    c->is_tok_req = f->is_tokens_required != 0;
    for (size_t i = 0; i < f->n_tokens; i++)
        if (f->tokens[i])
            tokenize_foreach(f->tokens[i], strlen(f->tokens[i]), 0,
                             cursor_hash_cb, c);
}

/* The segment's blocks that may hold every token into *bits and the
 * frames of each into (*fm)[k] (both grown); 0 if the index cannot tell
 * (all blocks and frames are candidates). Bounded words (store_filter.
 * bwords) narrow only where the index has sub-word tokens: each as a
 * token or as a sub-word (collector/STORE.md "Sub-word tokens"). */
static int
cursor_seg_bits(struct store_cursor *c, struct store_seg *g,
                uint64_t **bits, uint32_t **fm, size_t *cap)
{
    size_t words = (g->n_blks + 63) / 64, n = c->n_hashes;
    uint32_t all[2 * CUR_MAX_HASHES], checks[2 * CUR_MAX_HASHES];

    /* Field tokens only where the index has them: the segment being
     * written (indexed by this code) or a version 4 .lqi. */
    memcpy(all, c->hashes, n * sizeof(*all));
    memcpy(checks, c->checks, n * sizeof(*checks));
    if (c->n_fhashes > 0 &&
        (g->imem != NULL ||
         (g->ifile != NULL && index_file_has_fields(g->ifile)))) {
        memcpy(all + n, c->fhashes, c->n_fhashes * sizeof(*all));
        memcpy(checks + n, c->fchecks, c->n_fhashes * sizeof(*checks));
        n += c->n_fhashes;
    }
    size_t n_b = (g->imem != NULL && index_sets_have_subwords()) ||
                 (g->ifile != NULL && index_file_has_subwords(g->ifile))
                 ? c->n_bhashes : 0;
    if (n + n_b == 0 || words == 0)
        return 0;
    if (*cap < words) {
        *bits = xreallocarray(*bits, words, sizeof(**bits));
        *fm = xreallocarray(*fm, words * 64, sizeof(**fm));
        *cap = words;
    }
    memset(*bits, 0, words * sizeof(**bits));
    if (n > 0 &&
        segindex_candidates(c->s, g, all, checks, n, *bits, *fm) < 0)
        return 0;
    if (n_b == 0)
        return 1;
    if (n == 0)                         /* no token: every block so far */
        for (size_t k = 0; k < g->n_blks; k++) {
            (*bits)[k / 64] |= 1ull << (k % 64);
            (*fm)[k] = INDEX_FRAMES_ALL;
        }
    /* each bounded word: the blocks (frames) with it as a token or as a
     * sub-word */
    uint64_t *wb = xcalloc(words, sizeof(*wb));
    uint64_t *sb = xcalloc(words, sizeof(*sb));
    uint32_t *wm = xcalloc(words * 64, sizeof(*wm));
    uint32_t *sm = xcalloc(words * 64, sizeof(*sm));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n_b; i++) {
        rc = segindex_candidates(c->s, g, &c->bhashes[i], &c->bchecks[i], 1,
                                 wb, wm);
        if (rc == 0)
            rc = segindex_candidates(c->s, g, &c->shashes[i],
                                     &c->schecks[i], 1, sb, sm);
        for (size_t w = 0; rc == 0 && w < words; w++) {
            for (uint64_t x = (*bits)[w]; x; x &= x - 1) {
                size_t k = w * 64 + (size_t)__builtin_ctzll(x);
                uint32_t m = (((wb[w] >> (k % 64)) & 1) ? wm[k] : 0) |
                             (((sb[w] >> (k % 64)) & 1) ? sm[k] : 0);
                (*fm)[k] &= m;
            }
            (*bits)[w] &= wb[w] | sb[w];
        }
    }
    free(wb);
    free(sb);
    free(wm);
    free(sm);
    return rc == 0;
}

/* 1 if the filter selects every record of b (count_fn may take it). */
static int
cursor_block_whole(struct store_cursor *c, const struct store_blk *b,
                   struct store_blk_count *bc)
{
    if (c->has_after || c->recv_since != 0 || b->min_ns < c->since ||
        (c->until != INT64_MAX && b->max_ns >= c->until) ||
        (c->stream >= 0 && b->stream_mask != (1u << c->stream)))
        return 0;
    const char *host = NULL, *name = NULL;
    int is_one_host = 1, is_one_name = 1;
    for (uint32_t i = 0; i < b->n_labels; i++) {
        const struct store_blk_label *bl = &b->labels[i];
        if (!bl->n_lines)
            continue;
        if (!cursor_label_sel(c, bl->id))
            return 0;
        const struct store_label *l = c->labels[bl->id];
        if (!host) {
            host = l->host;
            name = l->name;
            continue;
        }
        is_one_host &= strcmp(host, l->host) == 0;
        is_one_name &= strcmp(name, l->name) == 0;
    }
    if (!host)
        return 0;
    bc->host = is_one_host ? host : NULL;
    bc->container = is_one_host && is_one_name ? name : NULL;
    bc->min_ns = b->min_ns;
    bc->max_ns = b->max_ns;
    bc->stream_mask = b->stream_mask;
    return 1;
}

/* With store_filter.count_word: 1 if count_fn took block k of g (cw: the
 * segment's count words, UINT32_MAX unknown). */
static int
cursor_counted(struct store_cursor *c, const struct store_blk *b,
               const uint32_t *cw, size_t k)
{
    struct store_blk_count bc;

    if (cw[k] == UINT32_MAX ||
        (c->count_forms && !(cw[k] & c->count_forms)) ||
        !cursor_block_whole(c, b, &bc))
        return 0;
    bc.n = cw[k] >> 3;
    if (!c->count_fn(&bc, c->count_arg))
        return 0;
    c->n_counted_blks++;
    c->n_counted_recs += bc.n;
    return 1;
}

/* Adds segment block k as a candidate (mn, mx: the time range of its
 * selected lines), or each of its frames (codec 6) that may hold one of
 * them, bounded by that range narrowed to the frame's: those of fm
 * (index_frame_bit), the frames the index says may hold the filter's
 * tokens. */
static void
cursor_add_blk(struct store_cursor *c, size_t *cap, uint64_t seq,
               uint32_t k, const struct store_blk *b, int64_t mn, int64_t mx,
               uint32_t fm)
{
    c->n_seg_blks++;
    if (b->is_corrupt || b->frames == NULL) {
        cursor_add_cand(c, cap, seq, k, BLK_WHOLE, mn, mx, b->raw_len);
        c->n_seg_cands++;
        return;
    }
    size_t n0 = c->n_seg_cands;
    for (uint32_t f = 0; f < b->n_frames; f++) {
        const struct store_frame *fr = &b->frames[f];
        int64_t fmn = fr->min_ns > mn ? fr->min_ns : mn;
        int64_t fmx = fr->max_ns < mx ? fr->max_ns : mx;
        if (!((fm >> index_frame_bit(f, b->n_frames)) & 1) || fmn > fmx ||
            !cursor_time_overlaps(c, fmn, fmx))
            continue;
        cursor_add_cand(c, cap, seq, k, f, fmn, fmx, fr->raw_len);
        c->n_seg_cands++;
    }
    c->n_seg_blks -= c->n_seg_cands == n0;
}

static void
cursor_pick(struct store_cursor *c)
{
    struct store *s = c->s;
    size_t cap = 0, cap_bits = 0, cap_cw = 0;
    uint64_t *bits = NULL;
    uint32_t *cw = NULL, *fm = NULL;

    for (size_t i = 0; i < s->n_segs; i++) {
        struct store_seg *g = s->segs[i];
        int has_bits = cursor_seg_bits(c, g, &bits, &fm, &cap_bits);
        int has_cw = 0;
        if (c->has_count && has_bits && g->n_blks > 0) {
            if (cap_cw < g->n_blks) {
                cw = xreallocarray(cw, g->n_blks, sizeof(*cw));
                cap_cw = g->n_blks;
            }
            memset(cw, 0xff, g->n_blks * sizeof(*cw));
            has_cw = segindex_counts(s, g, c->count_hash, c->count_check,
                                     cw) == 1;
        }
        for (size_t k = 0; k < g->n_blks; k++) {
            const struct store_blk *b = &g->blks[k];
            int64_t mn = b->min_ns, mx = b->max_ns;
            if (b->is_corrupt ||
                ((!has_bits || (bits[k / 64] >> (k % 64)) & 1) &&
                 cursor_block_may_match(c, b, &mn, &mx) &&
                 !(has_cw && cursor_counted(c, b, cw, k))))
                cursor_add_blk(c, &cap, g->seq, (uint32_t)k, b, mn, mx,
                               has_bits && !b->is_corrupt
                               ? fm[k] : INDEX_FRAMES_ALL);
        }
    }
    free(bits);
    free(cw);
    free(fm);
    cursor_snapshot_mem(c, &cap);
    if (c->n_cands > 1 && !c->is_stored)   /* else as added: stored order */
        qsort(c->cands, c->n_cands, sizeof(*c->cands),
              c->newest_first ? cand_cmp_desc : cand_cmp_asc);
}

/* A block match_raw_fn rules out counts its message bytes at once, where
 * a decoded one counts those of its records the merge passed: the same
 * sum at the end of a scan, but not at a cost cap inside it. So the test
 * runs only when the cap cannot be reached: every candidate's raw bytes
 * (more than its messages) together within it. */
static void
cursor_raw_gate(struct store_cursor *c, const struct store_filter *f)
{
    uint64_t total = 0;

    if (c->lr.match_raw_fn == NULL || f->max_skipped_bytes == 0)
        return;
    for (size_t i = 0; i < c->n_cands; i++)
        total += c->cands[i].raw_len;
    if (total > f->max_skipped_bytes)
        c->lr.match_raw_fn = NULL;
}

struct store_cursor *
store_cursor_new(struct store *s, const struct store_filter *f,
                 int newest_first)
{
    struct store_cursor *c = xcalloc(1, sizeof(*c));

    c->s = s;
    c->newest_first = newest_first != 0;
    c->since = f ? f->since_ns : INT64_MIN;
    c->until = f ? f->until_ns : INT64_MAX;
    c->host = f && f->host ? xstrdup(f->host) : NULL;
    c->cid = f && f->container_id ? xstrdup(f->container_id) : NULL;
    if (f && f->after) {
        c->has_after = 1;
        c->after = *f->after;
        c->after.host = xstrdup(f->after->host ? f->after->host : "");
        c->after.container_id = xstrdup(f->after->container_id
                                        ? f->after->container_id : "");
    }
    c->container = f && f->container ? xstrdup(f->container) : NULL;
    c->image = f && f->image ? xstrdup(f->image) : NULL;
    c->sel = f ? namesel_dup(f->sel) : NULL;
    c->stream = f ? f->stream : -1;
    c->recv_since = f ? f->recv_since_ns : 0;
    c->is_stored = f && f->is_stored_order && !c->newest_first &&
                   !c->has_after;
    c->is_no_helper = f && f->is_few;
    c->is_no_cache = f && f->is_no_cache;
    c->max_skipped = f ? f->max_skipped_bytes : 0;
    if (c->stream > 1)
        c->stream = -1;
    cursor_set_tokens(c, f);
    if (f && f->count_word && f->count_fn) {
        const uint8_t *w = (const uint8_t *)f->count_word;
        size_t len = strlen(f->count_word);
        c->has_count = len > 0 && len < TOKENIZE_MAX_LEN;
        c->count_hash = tokenize_hash(w, len);
        c->count_check = tokenize_check(w, len);
        c->count_forms = f->count_forms & TOKENIZE_FORMS;
        c->count_fn = f->count_fn;
        c->count_arg = f->count_arg;
    }
    blkload_loader_init(&c->lr, s->dir, c->toks,
                        c->is_tok_req ? c->n_toks : 0);
    if (f && f->match_fn) {
        c->lr.match_fn = f->match_fn;
        c->lr.match_col_fn = f->match_col_fn;
        c->lr.match_raw_fn = f->is_tokens_required ? f->match_raw_fn : NULL;
        c->lr.match_arg = f->match_arg;
        c->lr.hmatch_arg = f->match_arg_helper;
        c->lr.since = c->since;
        c->lr.until = c->until;
        c->lr.recv_since = c->recv_since;
        c->lr.stream = c->stream;
        c->is_matches_only = f->is_matches_only != 0;
        c->is_dropping = c->is_matches_only;
        c->lr.is_matches_only = c->is_matches_only;
    }
    c->mem_max = s->opt.cursor_mem_max;
    store_lock(s);      /* the cursor may run on another thread */
    s->n_cursors_open++;    /* recompact.c swaps no segment meanwhile */
    c->labels = s->labels;
    c->n_label_ok = s->n_labels;
    c->label_ok = xcalloc(s->n_labels ? s->n_labels : 1, 1);
    cursor_pick(c);
    store_unlock(s);
    cursor_raw_gate(c, f);
    return c;
}

void
store_cursor_free(struct store_cursor *c)
{
    if (!c)
        return;
    cursor_merge_fini(c);               /* waits for a read ahead */
    store_lock(c->s);
    c->s->n_cursors_open--;
    if (c->mem_peak > c->s->cursor_mem_peak)
        c->s->cursor_mem_peak = c->mem_peak;
    store_unlock(c->s);
    free(c->host);
    free(c->cid);
    free((char *)c->after.host);
    free((char *)c->after.container_id);
    free(c->container);
    free(c->image);
    namesel_free(c->sel);
    free(c->label_ok);
    free(c->cands);
    for (size_t i = 0; i < c->n_mems; i++) {
        buf_fini(&c->mems[i].body);
        free(c->mems[i].ids);
    }
    free(c->mems);
    free(c);
}

struct store_blk *
cursor_blk(struct store_cursor *c, const struct cur_cand *k)
{
    struct store_seg *g = store_seg_find(c->s, k->seq);

    if (!g || k->blk >= g->n_blks)
        return NULL;
    return &g->blks[k->blk];
}

uint64_t
store_cursor_skipped_bytes(const struct store_cursor *c)
{
    return c->skipped_bytes + c->unmatched_bytes;
}

uint64_t
store_cursor_returned_bytes(const struct store_cursor *c)
{
    return c->ret_bytes;
}

void
store_cursor_set_others(struct store_cursor *c, uint64_t bytes)
{
    c->others = bytes;
}

uint64_t
store_cursor_take_dropped(struct store_cursor *c)
{
    uint64_t n = c->n_unselected;

    c->n_unselected = 0;
    return n;
}

uint64_t
store_cursor_counted_blocks(const struct store_cursor *c)
{
    return c->n_counted_blks;
}

uint64_t
store_cursor_counted_records(const struct store_cursor *c)
{
    return c->n_counted_recs;
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

int
store_key_cmp(const struct store_key *a, const struct store_key *b)
{
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns ? -1 : 1;
    int cmp = strcmp(a->host, b->host);
    if (cmp == 0)
        cmp = strcmp(a->container_id, b->container_id);
    if (cmp != 0)
        return cmp < 0 ? -1 : 1;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return 0;
}

void
store_key_of(const struct logrec *r, struct store_key *k)
{
    k->time_ns = r->time_ns;
    k->host = r->host;
    k->container_id = r->container_id;
    k->offset = r->offset;
}
