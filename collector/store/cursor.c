/* SPDX-License-Identifier: MIT */
/*
 * cursor: scans of the store. At creation the cursor picks the candidate
 * blocks (block directory + filter: time range, stream mask, labels) and a
 * snapshot of the committed part of the unsealed tail block, and orders
 * them by time (see store.h). It then holds one inflated block at a time,
 * filters its records and sorts the survivors by time. Memory: one block
 * plus a small entry per candidate block. Damaged blocks are reported once
 * (-1) and skipped. With filter tokens, a segment's token index
 * (segindex.c) narrows its candidate blocks to those that may hold every
 * token; the unsealed tail block is always read. Text matching is the
 * caller's.
 */
#include "collector/store/store_internal.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/store/tokenize.h"
#include "common/compress.h"
#include "common/xmalloc.h"

#define CUR_MEM        UINT64_MAX      /* blk indexes c->mems */
#define CUR_MAX_HASHES 64

struct cur_cand {
    uint64_t seq;                       /* segment, or CUR_TAIL */
    uint32_t blk;
    int64_t  key;
};

/* An in-memory block copied at creation: the committed tail, or a block
 * being sealed. Row bodies (codec 1). */
struct cur_mem {
    struct buf  body;
    uint32_t    n, n_labels;
    uint32_t   *ids;                    /* block label -> global label */
};

struct cur_sort {
    int64_t  t;
    uint32_t i;
};

struct store_cursor {
    struct store      *s;
    int                newest_first;
    int                is_tok_req;
    int64_t            since, until;
    char              *host, *cid, *container, *image;
    int                stream;
    int                has_after;
    struct store_key   after;           /* strings owned */
    uint32_t           hashes[CUR_MAX_HASHES];
    size_t             n_hashes;
    struct scan_tok    toks[CUR_MAX_HASHES];  /* is_tokens_required */
    size_t             n_toks;
    uint8_t           *label_ok;        /* per label id: 0 ?, 1 yes, 2 no */
    size_t             n_label_ok;

    struct cur_cand   *cands;
    size_t             n_cands, pos;

    struct cur_mem    *mems;
    size_t             n_mems;

    struct blk_loader  lr;
    struct blk_load    ld[2];           /* ld[ld_cur]: the block read */
    int                ld_cur;
    int                is_ahead;        /* ld[1 - ld_cur] being loaded */
    size_t             ahead_pos;       /* ... for cands[ahead_pos] */
    int                is_no_helper;
    size_t             n_seg_cands;
    struct blk_load    mem_ld;          /* decoded in-memory block */
    const struct store_rec *recs;       /* of the current block */
    const uint8_t     *keep;            /* NULL: keep all */
    struct cur_sort   *sel;
    size_t             n_sel, sel_pos, cap_sel;
    const uint32_t    *ids;             /* block label -> global label */
    uint32_t          *blk_ids;
    size_t             cap_blk_ids;
    uint64_t           skipped_bytes;   /* message bytes the token
                                           prefilter dropped */
};

/* ------------------------------------------------------------------ */
/* Filter                                                              */

static int
cursor_label_ok(struct store_cursor *c, uint32_t id)
{
    if (id < c->n_label_ok && c->label_ok[id])
        return c->label_ok[id] == 1;
    const struct store_label *l = c->s->labels[id];
    int ok = (!c->host || strcmp(c->host, l->host) == 0) &&
             (!c->cid || strcmp(c->cid, l->cid) == 0) &&
             (!c->image || strcmp(c->image, l->image) == 0) &&
             (!c->container || fnmatch(c->container, l->name, 0) == 0);
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
    return mx >= c->since && mn < c->until;
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
 * per segment in cursor_pick). */
static int
cursor_block_may_match(struct store_cursor *c, const struct store_blk *b)
{
    if (!cursor_time_overlaps(c, b->min_ns, b->max_ns))
        return 0;
    if (c->stream >= 0 && !(b->stream_mask & (1u << c->stream)))
        return 0;
    for (uint32_t i = 0; i < b->n_labels; i++)
        if (b->labels[i].n_lines && cursor_label_ok(c, b->labels[i].id))
            return 1;
    return 0;
}

static int
cursor_rec_ok(struct store_cursor *c, const struct store_rec *r)
{
    if (r->time_ns < c->since || r->time_ns >= c->until ||
        (c->stream >= 0 && r->stream != c->stream) ||
        !cursor_label_ok(c, c->ids[r->label]))
        return 0;
    return !c->has_after ||
           cursor_is_after(c, r->time_ns, c->s->labels[c->ids[r->label]],
                           r->offset);
}

/* ------------------------------------------------------------------ */
/* Candidates                                                          */

static void
cursor_add_cand(struct store_cursor *c, size_t *cap, uint64_t seq,
                uint32_t blk, int64_t mn, int64_t mx)
{
    if (c->n_cands == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        c->cands = xreallocarray(c->cands, *cap, sizeof(*c->cands));
    }
    struct cur_cand *k = &c->cands[c->n_cands++];
    k->seq = seq;
    k->blk = blk;
    k->key = c->newest_first ? mx : mn;
}

static int
cand_cmp_asc(const void *a, const void *b)
{
    const struct cur_cand *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->blk < y->blk ? -1 : x->blk > y->blk;
}

static int
cand_cmp_desc(const void *a, const void *b)
{
    return cand_cmp_asc(b, a);
}

/* Copies an in-memory block (n records, committed_len bytes of body) if
 * it may match. */
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
        any = cursor_label_ok(c, ids[i]);
    if (!any)
        return;
    c->mems = xreallocarray(c->mems, c->n_mems + 1, sizeof(*c->mems));
    struct cur_mem *m = &c->mems[c->n_mems];
    buf_init(&m->body, len);
    if (buf_append(&m->body, body->data, len) < 0) {
        buf_fini(&m->body);
        return;
    }
    m->n = n;
    m->n_labels = n_labels;
    m->ids = xcalloc(n_labels ? n_labels : 1, sizeof(uint32_t));
    memcpy(m->ids, ids, n_labels * sizeof(uint32_t));
    cursor_add_cand(c, cap, CUR_MEM, (uint32_t)c->n_mems++, mn, mx);
}

/* The blocks being sealed and the committed part of the tail. */
static void
cursor_snapshot_mem(struct store_cursor *c, size_t *cap)
{
    const struct store_tail *t = &c->s->tail;
    const struct seal_job *job = c->s->job;

    for (size_t i = 0; job && i < job->n_ch; i++) {
        const struct seal_chunk *ch = &job->ch[i];
        cursor_add_mem(c, cap, &ch->body, ch->body.len, ch->n_records,
                       ch->ids, ch->n_labels, ch->min_ns, ch->max_ns,
                       ch->stream_mask);
    }
    if (t->committed_n == 0)
        return;
    uint32_t *ids = xcalloc(t->n_labels ? t->n_labels : 1, sizeof(*ids));
    for (uint32_t i = 0; i < t->n_labels; i++)
        ids[i] = t->labels[i].id;
    cursor_add_mem(c, cap, &t->body, t->committed_len, t->committed_n, ids,
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
    if (c->n_hashes < CUR_MAX_HASHES)   /* fewer tokens: a wider scan */
        c->hashes[c->n_hashes++] = hash;
    if (c->n_toks < CUR_MAX_HASHES)
        scan_tok_init(&c->toks[c->n_toks++], tok, len);
    return 0;
}

/* Token hashes of the filter's words, cut as the index cuts text. */
static void
cursor_set_tokens(struct store_cursor *c, const struct store_filter *f)
{
    if (!f || !f->tokens)
        return;
    c->is_tok_req = f->is_tokens_required != 0;
    for (size_t i = 0; i < f->n_tokens; i++)
        if (f->tokens[i])
            tokenize_foreach(f->tokens[i], strlen(f->tokens[i]), 0,
                             cursor_hash_cb, c);
}

/* The segment's blocks that may hold every token into *bits (grown);
 * 0 if the index cannot tell (all blocks are candidates). */
static int
cursor_seg_bits(struct store_cursor *c, const struct store_seg *g,
                uint64_t **bits, size_t *cap)
{
    size_t words = (g->n_blks + 63) / 64;

    if (c->n_hashes == 0 || words == 0)
        return 0;
    if (*cap < words) {
        *bits = xreallocarray(*bits, words, sizeof(**bits));
        *cap = words;
    }
    memset(*bits, 0, words * sizeof(**bits));
    return segindex_candidates(c->s, g, c->hashes, c->n_hashes, *bits) == 0;
}

static void
cursor_pick(struct store_cursor *c)
{
    struct store *s = c->s;
    size_t cap = 0, cap_bits = 0;
    uint64_t *bits = NULL;

    for (size_t i = 0; i < s->n_segs; i++) {
        const struct store_seg *g = s->segs[i];
        int has_bits = cursor_seg_bits(c, g, &bits, &cap_bits);
        for (size_t k = 0; k < g->n_blks; k++) {
            const struct store_blk *b = &g->blks[k];
            if (b->is_corrupt ||
                ((!has_bits || (bits[k / 64] >> (k % 64)) & 1) &&
                 cursor_block_may_match(c, b))) {
                cursor_add_cand(c, &cap, g->seq, (uint32_t)k, b->min_ns,
                                b->max_ns);
                c->n_seg_cands++;
            }
        }
    }
    free(bits);
    cursor_snapshot_mem(c, &cap);
    if (c->n_cands > 1)
        qsort(c->cands, c->n_cands, sizeof(*c->cands),
              c->newest_first ? cand_cmp_desc : cand_cmp_asc);
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
    c->stream = f ? f->stream : -1;
    if (c->stream > 1)
        c->stream = -1;
    c->n_label_ok = s->n_labels;
    c->label_ok = xcalloc(s->n_labels ? s->n_labels : 1, 1);
    cursor_set_tokens(c, f);
    blkload_loader_init(&c->lr, s->dir, c->toks,
                        c->is_tok_req ? c->n_toks : 0);
    blkload_init(&c->ld[0]);
    blkload_init(&c->ld[1]);
    blkload_init(&c->mem_ld);
    cursor_pick(c);
    return c;
}

void
store_cursor_free(struct store_cursor *c)
{
    if (!c)
        return;
    blkload_loader_fini(&c->lr);        /* waits for a read ahead */
    blkload_fini(&c->ld[0]);
    blkload_fini(&c->ld[1]);
    blkload_fini(&c->mem_ld);
    free(c->host);
    free(c->cid);
    free((char *)c->after.host);
    free((char *)c->after.container_id);
    free(c->container);
    free(c->image);
    free(c->label_ok);
    free(c->cands);
    for (size_t i = 0; i < c->n_mems; i++) {
        buf_fini(&c->mems[i].body);
        free(c->mems[i].ids);
    }
    free(c->mems);
    free(c->sel);
    free(c->blk_ids);
    free(c);
}

/* ------------------------------------------------------------------ */
/* Reading blocks                                                      */

static int
sort_cmp(const void *a, const void *b)
{
    const struct cur_sort *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Selects the records of the current block (c->recs, n) that pass the
 * filter, sorted by time. */
static void
cursor_select(struct store_cursor *c, uint32_t n)
{
    int is_sorted = 1;

    if (c->cap_sel < n) {
        c->sel = xreallocarray(c->sel, n, sizeof(*c->sel));
        c->cap_sel = n;
    }
    c->n_sel = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct store_rec *r = &c->recs[i];
        if (!cursor_rec_ok(c, r))
            continue;
        if (c->keep && !c->keep[i]) {
            c->skipped_bytes += r->msg_len;
            continue;
        }
        if (c->n_sel && r->time_ns < c->sel[c->n_sel - 1].t)
            is_sorted = 0;
        c->sel[c->n_sel].t = r->time_ns;
        c->sel[c->n_sel++].i = i;
    }
    if (!is_sorted && c->n_sel > 1)
        qsort(c->sel, c->n_sel, sizeof(*c->sel), sort_cmp);
    c->sel_pos = 0;
}

/* An in-memory block (row body). */
static int
cursor_load_mem(struct store_cursor *c, const struct cur_mem *m)
{
    struct blk_load *ld = &c->mem_ld;

    if (block_decode(STORE_CODEC_ZLIB, m->body.data, m->body.len, m->n,
                     m->n_labels, &ld->recs, &ld->cap_recs) < 0)
        return -1;              /* cannot happen: we encoded it */
    c->keep = NULL;
    if (c->lr.n_toks > 0) {
        blkload_keep(ld, STORE_CODEC_ZLIB, m->n, c->lr.toks, c->lr.n_toks);
        c->keep = ld->keep;
    }
    c->ids = m->ids;
    c->recs = ld->recs;
    cursor_select(c, m->n);
    return 0;
}

/* The directory entry of a candidate; NULL if retention deleted it. */
static struct store_blk *
cursor_blk(struct store_cursor *c, const struct cur_cand *k)
{
    struct store_seg *g = store_seg_find(c->s, k->seq);

    if (!g || k->blk >= g->n_blks)
        return NULL;
    return &g->blks[k->blk];
}

/* Starts reading the next segment candidate (after c->pos) on the helper
 * thread, into the buffer not in use. Only for scans of a few blocks or
 * more: a thread costs more than it saves on one or two. */
static void
cursor_read_ahead(struct store_cursor *c)
{
    size_t j = c->pos;

    if (c->is_ahead || c->is_no_helper || c->n_seg_cands < 3)
        return;
    while (j < c->n_cands && c->cands[j].seq == CUR_MEM)
        j++;
    if (j == c->n_cands)
        return;
    const struct store_blk *b = cursor_blk(c, &c->cands[j]);
    if (!b || b->is_corrupt)
        return;
    if (blkload_start(&c->lr) < 0) {
        c->is_no_helper = 1;
        return;
    }
    struct blk_req rq = { .seq = c->cands[j].seq, .blk = c->cands[j].blk,
                          .b = *b };
    blkload_submit(&c->lr, &rq, &c->ld[1 - c->ld_cur]);
    c->is_ahead = 1;
    c->ahead_pos = j;
}

/* Loads candidate c->cands[at] (a segment block): 1 loaded, 0 gone
 * (retention), -1 damaged. */
static int
cursor_load_blk(struct store_cursor *c, size_t at)
{
    const struct cur_cand *k = &c->cands[at];
    struct store_blk *b = cursor_blk(c, k);
    int is_mine = c->is_ahead && c->ahead_pos == at;

    if (c->is_ahead) {
        blkload_wait(&c->lr);
        c->is_ahead = 0;
        if (is_mine)
            c->ld_cur = 1 - c->ld_cur;
    }
    if (!b)
        return 0;
    if (b->is_corrupt)
        return -1;
    struct blk_load *ld = &c->ld[c->ld_cur];
    if (!is_mine) {
        struct blk_req rq = { .seq = k->seq, .blk = k->blk, .b = *b };
        blkload_run(&c->lr, &rq, ld);
    }
    cursor_read_ahead(c);
    if (ld->rc == 0)
        return 0;
    if (ld->rc < 0) {
        b->is_corrupt = 1;
        c->s->n_corrupt++;
        return -1;
    }
    if (c->cap_blk_ids < b->n_labels) {
        c->blk_ids = xreallocarray(c->blk_ids, b->n_labels, sizeof(uint32_t));
        c->cap_blk_ids = b->n_labels;
    }
    for (uint32_t i = 0; i < b->n_labels; i++)
        c->blk_ids[i] = b->labels[i].id;
    c->ids = c->blk_ids;
    c->recs = ld->recs;
    c->keep = c->lr.n_toks > 0 ? ld->keep : NULL;
    cursor_select(c, b->n_records);
    return 1;
}

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

uint64_t
store_cursor_skipped_bytes(const struct store_cursor *c)
{
    return c->skipped_bytes;
}

int
store_cursor_next(struct store_cursor *c, struct logrec *out)
{
    while (c->sel_pos >= c->n_sel) {
        c->n_sel = c->sel_pos = 0;
        if (c->pos >= c->n_cands)
            return 0;
        size_t at = c->pos++;
        const struct cur_cand *k = &c->cands[at];
        if (k->seq == CUR_MEM) {
            if (cursor_load_mem(c, &c->mems[k->blk]) < 0)
                return -1;
            continue;
        }
        if (cursor_load_blk(c, at) < 0)
            return -1;
    }
    size_t j = c->newest_first ? c->n_sel - 1 - c->sel_pos : c->sel_pos;
    const struct store_rec *r = &c->recs[c->sel[j].i];
    const struct store_label *l = c->s->labels[c->ids[r->label]];
    c->sel_pos++;
    out->time_ns = r->time_ns;
    out->host = l->host;
    out->container_id = l->cid;
    out->container = l->name;
    out->image = l->image;
    out->stream = r->stream;
    out->flags = r->flags;
    out->offset = r->offset;
    out->msg = (const char *)r->msg;
    out->msg_len = r->msg_len;
    return 1;
}
