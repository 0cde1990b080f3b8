/* SPDX-License-Identifier: MIT */
/*
 * search: the per-record logic of the search endpoints (contract and the
 * context rules in search.h). One match cursor over the filter; for
 * context, per group a short sequence of context cursors on the match's
 * container: BACK (newest first from the match), FWD (oldest first from
 * the match, oldest-first searches only) and PRINT (oldest first from the
 * line before the group). Within one container store_key order is
 * (time_ns, offset), so group positions are kept as such pairs. Per
 * container the key of the last printed line nearest the search's way
 * ("reach") is kept in a chained hash table so no line prints twice.
 * Talks to the store cursor and the query matcher only.
 */
#include "collector/search/search.h"

#include <assert.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "collector/store/namesel.h"
#include "common/fnv.h"
#include "common/xmalloc.h"

/* A position inside one container (store_key order there). */
struct search_pos {
    int64_t  time_ns;
    uint64_t offset;
};

struct search_ctr {
    struct search_ctr *hnext;
    uint64_t           hash;
    char              *host;
    char              *container_id;
    int                has_reach;
    struct search_pos  reach;   /* newest first: oldest printed line;
                                   oldest first: newest printed line */
};

enum {
    SEARCH_S_MAIN,      /* reading the match cursor */
    SEARCH_S_BACK,      /* group: newest first from its first match */
    SEARCH_S_FWD,       /* group: oldest first from its first match */
    SEARCH_S_PRINT,     /* group: emitting it oldest first */
    SEARCH_S_TAIL,      /* tail: emitting the newest matches */
    SEARCH_S_DONE,
    SEARCH_S_ERROR,
};

/* The group being built. lo/hi: its oldest/newest match. */
struct search_group {
    struct search_ctr *ctr;
    struct search_pos  lo, hi;
    int                has_start;   /* start: the line before the group */
    struct search_pos  start;
    uint64_t           gap;         /* lines read since the last match */
    uint64_t           n_probed;    /* lines read away from the first */
    uint64_t           n_after;     /* PRINT: lines emitted after hi */
    int                has_printed;
    struct search_pos  printed_lo, printed_hi;
};

/* A full store key with owned strings (tail mode). */
struct search_fkey {
    struct store_key k;
    char            *host;
    char            *container_id;
};

struct search {
    struct store        *st;
    struct store_filter  filter;        /* borrowed strings: see below */
    char                *host;          /* copies for the filter above */
    char                *container;
    char                *image;
    struct namesel      *sel;
    char                 count_word[TOKENIZE_MAX_LEN + 1];  /* filter's */
    struct store_cursor *cur;           /* the match cursor */
    struct store_cursor *ctx;           /* the group's context cursor */
    const struct query  *q;
    uint64_t             limit;
    uint64_t             n_matches;
    int                  is_desc;
    unsigned             before;
    unsigned             after;
    int                  has_context;
    uint64_t             max_scan;
    uint64_t             read_bytes;    /* messages of records read */
    uint64_t             ctx_skipped;   /* skipped bytes of closed cursors */
    uint64_t             n_damaged;
    int                  state;
    char                *errstr;
    struct search_ctr  **tab;
    size_t               tab_size;      /* power of two */
    size_t               n_ctr;
    struct search_group  g;
    int                  has_emitted_group;
    int                  is_paused;
    int                  is_tail;
    int                  is_ranking;    /* first pass of tail or bound */
    int                  has_rank;      /* rank_first/last are set */
    int                  has_bound;     /* matches only within the rank */
    struct search_fkey   rank_first;    /* first and last of the `limit` */
    struct search_fkey   rank_last;     /*   first matches (search order) */
    search_emit_fn       emit;
    void                *emit_arg;
    /* the match cursors' record test (store_filter.match_fn): one matcher
     * for the search's thread, one for the cursor's read-ahead thread */
    struct query_matcher *mt[2];
};

/* ------------------------------------------------------------ helpers */

static int
search_pos_cmp(const struct search_pos *a, const struct search_pos *b)
{
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns ? -1 : 1;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

static struct search_pos
search_pos_of(const struct logrec *r)
{
    return (struct search_pos){ r->time_ns, r->offset };
}

static int
search_rec_cmp(const struct logrec *r, const struct search_pos *p)
{
    struct search_pos rp = search_pos_of(r);

    return search_pos_cmp(&rp, p);
}

/* The cheap checks of the match cursor, for context lines: a line of a
 * group is a match only if the match cursor could have returned it. */
static int
search_is_selected(const struct search *s, const struct logrec *r)
{
    const struct store_filter *f = &s->filter;

    return r->time_ns >= f->since_ns &&
           (f->until_ns == INT64_MAX || r->time_ns < f->until_ns) &&
           (f->stream < 0 || r->stream == f->stream) &&
           (f->host == NULL || strcmp(f->host, r->host) == 0) &&
           (f->image == NULL || strcmp(f->image, r->image) == 0) &&
           (f->container == NULL ||
            fnmatch(f->container, r->container, 0) == 0) &&
           (f->sel == NULL ||
            namesel_match(f->sel, r->host, r->container, r->image,
                          r->labels));
}

/* The oldest and the newest of the ranked matches. */
static const struct store_key *
search_rank_lo(const struct search *s)
{
    return s->is_desc ? &s->rank_last.k : &s->rank_first.k;
}

static const struct store_key *
search_rank_hi(const struct search *s)
{
    return s->is_desc ? &s->rank_first.k : &s->rank_last.k;
}

/* With a bound (context with a limit), only the `limit` first matches of
 * the rank pass are matches: r's key must lie between them. */
static int
search_in_bound(const struct search *s, const struct logrec *r)
{
    struct store_key k;

    if (!s->has_bound)
        return 1;
    store_key_of(r, &k);
    return store_key_cmp(&k, search_rank_lo(s)) >= 0 &&
           store_key_cmp(&k, search_rank_hi(s)) <= 0;
}

/* The text query's answer for r, the record s->cur returned last: the
 * cursor's (its loaders ran the test) or query_match's. */
static int
search_text_match(const struct search *s, const struct logrec *r)
{
    int m = store_cursor_match(s->cur);

    if (m < 0)
        return query_match(s->q, r->msg, r->msg_len);
    if (m & QUERY_MATCH_ABORTED)
        query_add_aborted(s->q, 1);
    return m & 1;
}

static int
search_is_match(const struct search *s, const struct logrec *r)
{
    return search_is_selected(s, r) && search_in_bound(s, r) &&
           query_match(s->q, r->msg, r->msg_len);
}

static int
search_can_merge(const struct search *s)
{
    return s->n_matches < s->limit &&
           s->g.n_probed < SEARCH_GROUP_MAX_RECORDS;
}

static void
search_fail(struct search *s, char *errstr)
{
    if (s->errstr == NULL)
        s->errstr = errstr;
    else
        free(errstr);
    s->state = SEARCH_S_ERROR;
}

static uint64_t
search_cost(const struct search *s)
{
    uint64_t n = s->read_bytes + s->ctx_skipped +
                 store_cursor_skipped_bytes(s->cur);

    return s->ctx ? n + store_cursor_skipped_bytes(s->ctx) : n;
}

/* 0 when reading len more bytes stays within the cost cap, else fails
 * the search. */
static int
search_charge_len(struct search *s, uint64_t len)
{
    uint64_t done = search_cost(s);

    if (s->max_scan > 0 && done + len > s->max_scan) {
        search_fail(s, xasprintf("query cost limit reached: scanned %"
                                 PRIu64 " bytes", done));
        return -1;
    }
    s->read_bytes += len;
    return 0;
}

/* Next record of cursor c: 1 (in *r, charged), 0 at its end or on a cap
 * error (state set). Damaged blocks are counted and passed over. The
 * records the store's prefilter dropped count too: a cursor that stopped
 * on the cap (store_filter.max_skipped_bytes) or ended past it fails the
 * search, whether or not it returned a record. */
static int
search_next(struct search *s, struct store_cursor *c, struct logrec *r)
{
    int rc;

    while ((rc = store_cursor_next(c, r)) < 0)
        s->n_damaged++;
    if (rc == 0) {
        search_charge_len(s, 0);
        return 0;
    }
    return search_charge_len(s, r->msg_len) == 0;
}

static void
search_emit(struct search *s, const struct logrec *r, int is_context,
            int is_group_start)
{
    if (s->emit(r, is_context, is_group_start, s->emit_arg) != 0)
        s->is_paused = 1;
}

/* ------------------------------------------------------------ containers */

static uint64_t
search_ctr_hash(const char *host, const char *cid)
{
    uint64_t h = FNV1A64_OFFSET;
    const char *parts[2] = { host, cid };

    for (int i = 0; i < 2; i++) {
        h = fnv1a64_more(h, parts[i], strlen(parts[i]));
        h = fnv1a64_byte(h, 0xff);
    }
    return h;
}

static void
search_tab_grow(struct search *s)
{
    size_t n = s->tab_size ? s->tab_size * 2 : 64;
    struct search_ctr **t = xcalloc(n, sizeof(*t));

    for (size_t i = 0; i < s->tab_size; i++) {
        struct search_ctr *e = s->tab[i], *next;
        for (; e != NULL; e = next) {
            next = e->hnext;
            e->hnext = t[e->hash & (n - 1)];
            t[e->hash & (n - 1)] = e;
        }
    }
    free(s->tab);
    s->tab = t;
    s->tab_size = n;
}

static struct search_ctr *
search_ctr_get(struct search *s, const struct logrec *r)
{
    const char *host = r->host ? r->host : "";
    const char *cid = r->container_id ? r->container_id : "";
    uint64_t h = search_ctr_hash(host, cid);

    if (s->tab_size > 0) {
        struct search_ctr *e = s->tab[h & (s->tab_size - 1)];
        for (; e != NULL; e = e->hnext)
            if (e->hash == h && strcmp(e->host, host) == 0 &&
                strcmp(e->container_id, cid) == 0)
                return e;
    }
    if (s->n_ctr >= s->tab_size)
        search_tab_grow(s);
    struct search_ctr *e = xcalloc(1, sizeof(*e));
    e->hash = h;
    e->host = xstrdup(host);
    e->container_id = xstrdup(cid);
    e->hnext = s->tab[h & (s->tab_size - 1)];
    s->tab[h & (s->tab_size - 1)] = e;
    s->n_ctr++;
    return e;
}

/* 1 when the container's groups already printed the line at p. */
static int
search_ctr_has_printed(const struct search *s, const struct search_ctr *e,
                       const struct search_pos *p)
{
    if (!e->has_reach)
        return 0;
    int c = search_pos_cmp(p, &e->reach);
    return s->is_desc ? c >= 0 : c <= 0;
}

/* ------------------------------------------------------------ groups */

/* A cursor on the group's container from the line after (in the
 * cursor's direction) position p, or from its first line when p is NULL. */
static int
search_ctx_open(struct search *s, const struct search_pos *p, int is_desc)
{
    struct store_filter f;
    struct store_key k;

    memset(&f, 0, sizeof(f));
    f.since_ns = INT64_MIN;
    f.until_ns = INT64_MAX;
    f.host = s->g.ctr->host;
    f.container_id = s->g.ctr->container_id;
    f.stream = s->filter.stream;
    f.is_few = 1;
    if (p != NULL) {
        k = (struct store_key){ p->time_ns, s->g.ctr->host,
                                s->g.ctr->container_id, p->offset };
        f.after = &k;
    }
    store_cursor_free(s->ctx);
    s->ctx = store_cursor_new(s->st, &f, is_desc);
    if (s->ctx == NULL) {
        search_fail(s, xstrdup("cannot create a store cursor"));
        return -1;
    }
    return 0;
}

static void
search_ctx_close(struct search *s)
{
    if (s->ctx == NULL)
        return;
    s->ctx_skipped += store_cursor_skipped_bytes(s->ctx);
    store_cursor_free(s->ctx);
    s->ctx = NULL;
}

static void
search_state_print(struct search *s)
{
    search_ctx_close(s);
    s->g.n_after = 0;
    s->g.has_printed = 0;
    if (search_ctx_open(s, s->g.has_start ? &s->g.start : NULL, 0) == 0)
        s->state = SEARCH_S_PRINT;
}

static void
search_state_fwd(struct search *s)
{
    search_ctx_close(s);
    s->g.gap = 0;
    s->g.n_probed = 0;
    if (!search_can_merge(s)) {
        search_state_print(s);
        return;
    }
    if (search_ctx_open(s, &s->g.hi, 0) == 0)
        s->state = SEARCH_S_FWD;
}

/* A match the match cursor returned starts a group, unless printed. */
static void
search_group_start(struct search *s, const struct logrec *r)
{
    struct search_ctr *e = search_ctr_get(s, r);
    struct search_pos p = search_pos_of(r);

    if (search_ctr_has_printed(s, e, &p))
        return;
    s->n_matches++;
    memset(&s->g, 0, sizeof(s->g));
    s->g.ctr = e;
    s->g.lo = s->g.hi = p;
    if (search_ctx_open(s, &p, 1) == 0)
        s->state = SEARCH_S_BACK;
}

/* BACK, one line older than the last: newest first it also merges the
 * matches the group grows to; oldest first it only finds the start. */
static void
search_back_line(struct search *s, const struct logrec *r)
{
    struct search_group *g = &s->g;
    int may_merge = s->is_desc && search_can_merge(s);
    uint64_t reach_end = may_merge ? (uint64_t)s->before + s->after + 1
                                   : (uint64_t)s->before + 1;

    g->n_probed++;
    if (!s->is_desc && g->ctr->has_reach &&
        search_rec_cmp(r, &g->ctr->reach) <= 0) {
        g->start = g->ctr->reach;   /* the last group ends there */
        g->has_start = 1;
        search_state_fwd(s);
        return;
    }
    g->gap++;
    if (may_merge && g->gap <= reach_end && search_is_match(s, r)) {
        s->n_matches++;
        g->lo = search_pos_of(r);
        g->gap = 0;
        g->has_start = 0;
        return;
    }
    if (g->gap == (uint64_t)s->before + 1) {
        g->start = search_pos_of(r);
        g->has_start = 1;
    }
    if (g->gap >= reach_end) {
        if (s->is_desc)
            search_state_print(s);
        else
            search_state_fwd(s);
    }
}

/* FWD (oldest first), one line newer than the last: merges matches. */
static void
search_fwd_line(struct search *s, const struct logrec *r)
{
    struct search_group *g = &s->g;

    g->n_probed++;
    g->gap++;
    if (search_is_match(s, r)) {
        s->n_matches++;
        g->hi = search_pos_of(r);
        g->gap = 0;
    }
    if (!search_can_merge(s) ||
        g->gap >= (uint64_t)s->before + s->after + 1)
        search_state_print(s);
}

static void
search_group_end(struct search *s)
{
    struct search_group *g = &s->g;

    search_ctx_close(s);
    if (g->has_printed) {
        g->ctr->reach = s->is_desc ? g->printed_lo : g->printed_hi;
        g->ctr->has_reach = 1;
        s->has_emitted_group = 1;
    }
    s->state = s->n_matches >= s->limit ? SEARCH_S_DONE : SEARCH_S_MAIN;
}

/* PRINT, the next line oldest first. */
static void
search_print_line(struct search *s, const struct logrec *r)
{
    struct search_group *g = &s->g;

    if (s->is_desc && g->ctr->has_reach &&
        search_rec_cmp(r, &g->ctr->reach) >= 0) {
        search_group_end(s);        /* the previous group starts here */
        return;
    }
    int c_lo = search_rec_cmp(r, &g->lo), c_hi = search_rec_cmp(r, &g->hi);
    int is_match = c_lo >= 0 && c_hi <= 0 && search_is_match(s, r);
    search_emit(s, r, !is_match, !g->has_printed && s->has_emitted_group);
    if (!g->has_printed)
        g->printed_lo = search_pos_of(r);
    g->printed_hi = search_pos_of(r);
    g->has_printed = 1;
    if (c_hi > 0)
        g->n_after++;
    if (c_hi >= 0 && g->n_after >= s->after)
        search_group_end(s);
}

/* ------------------------------------------------------------ rank */

/*
 * The rank pass reads the match cursor for the first `limit` matches and
 * keeps only the first and the last of them. Tail mode then emits the
 * matches between them oldest first; a context search with a limit runs
 * again with them as its bound, so its matches are exactly the `limit`
 * newest (oldest) whatever groups their windows form.
 */

static void
search_fkey_set(struct search_fkey *f, const struct logrec *r)
{
    free(f->host);
    free(f->container_id);
    f->host = xstrdup(r->host ? r->host : "");
    f->container_id = xstrdup(r->container_id ? r->container_id : "");
    f->k = (struct store_key){ r->time_ns, f->host, f->container_id,
                               r->offset };
}

static void
search_fkey_fini(struct search_fkey *f)
{
    free(f->host);
    free(f->container_id);
}

/* The rank pass ended: the second pass reads the ranked time range, oldest
 * first for tail mode, in the search's direction for a bound. */
static void
search_rank_end(struct search *s)
{
    struct store_filter f = s->filter;
    int64_t lo = search_rank_lo(s)->time_ns, hi = search_rank_hi(s)->time_ns;

    s->is_ranking = 0;
    if (!s->has_rank) {
        s->state = SEARCH_S_DONE;
        return;
    }
    s->ctx_skipped += store_cursor_skipped_bytes(s->cur);
    store_cursor_free(s->cur);
    if (f.since_ns < lo)
        f.since_ns = lo;
    if (hi < INT64_MAX && f.until_ns > hi + 1)
        f.until_ns = hi + 1;
    s->cur = store_cursor_new(s->st, &f, s->is_tail ? 0 : s->is_desc);
    if (s->cur == NULL) {
        search_fail(s, xstrdup("cannot create a store cursor"));
        return;
    }
    if (s->is_tail) {
        s->state = SEARCH_S_TAIL;
        return;
    }
    s->has_bound = 1;
    s->n_matches = 0;
    s->state = SEARCH_S_MAIN;
}

static void
search_rank_line(struct search *s, const struct logrec *r)
{
    if (!search_text_match(s, r))
        return;
    if (!s->has_rank)
        search_fkey_set(&s->rank_first, r);
    search_fkey_set(&s->rank_last, r);
    s->has_rank = 1;
    if (++s->n_matches >= s->limit)
        search_rank_end(s);
}

static void
search_tail_line(struct search *s, const struct logrec *r)
{
    struct store_key k;

    store_key_of(r, &k);
    if (store_key_cmp(&k, search_rank_lo(s)) < 0)
        return;
    if (store_key_cmp(&k, search_rank_hi(s)) > 0) {
        s->state = SEARCH_S_DONE;
        return;
    }
    if (search_text_match(s, r))
        search_emit(s, r, 0, 0);
}

/* ------------------------------------------------------------ dispatch */

static void
search_main_line(struct search *s, const struct logrec *r)
{
    if (s->is_ranking) {
        search_rank_line(s, r);
        return;
    }
    if (!search_text_match(s, r) || !search_in_bound(s, r))
        return;
    if (!s->has_context) {
        s->n_matches++;
        search_emit(s, r, 0, 0);
        if (s->n_matches >= s->limit)
            s->state = SEARCH_S_DONE;
        return;
    }
    search_group_start(s, r);
}

/* The cursor of the current state ended. */
static void
search_cursor_end(struct search *s)
{
    switch (s->state) {
    case SEARCH_S_MAIN:
        if (s->is_ranking)
            search_rank_end(s);
        else
            s->state = SEARCH_S_DONE;
        break;
    case SEARCH_S_BACK:
        /* Fewer than before + 1 lines since the last match: the group
         * starts at the container's first line (has_start is 0). */
        if (s->is_desc)
            search_state_print(s);
        else
            search_state_fwd(s);
        break;
    case SEARCH_S_FWD:
        search_state_print(s);
        break;
    case SEARCH_S_PRINT:
        search_group_end(s);
        break;
    default:
        s->state = SEARCH_S_DONE;
        break;
    }
}

static void
search_line(struct search *s, const struct logrec *r)
{
    switch (s->state) {
    case SEARCH_S_MAIN: search_main_line(s, r); break;
    case SEARCH_S_BACK: search_back_line(s, r); break;
    case SEARCH_S_FWD: search_fwd_line(s, r); break;
    case SEARCH_S_PRINT: search_print_line(s, r); break;
    case SEARCH_S_TAIL: search_tail_line(s, r); break;
    default: break;
    }
}

/* ------------------------------------------------------------ public */

static int
search_match_cb(void *arg, const char *msg, size_t len)
{
    return query_matcher_match(arg, msg, len);
}

static int
search_match_col_cb(void *arg, const char *text, const uint32_t *ends,
                    uint32_t n, uint8_t *maybe)
{
    return query_matcher_maybe_col(arg, text, ends, n, maybe);
}

/* The match cursors test records where their blocks are loaded, on both
 * cores (store_filter.match_fn); a regex with required literals first
 * over each block's whole message column (match_col_fn: PCRE2 then runs
 * only on the records holding them); is_serial: on the search's thread,
 * one record at a time, and no read-ahead thread (the reference path). */
static void
search_set_match(struct search *s, const struct search_spec *spec)
{
    if (spec->is_serial) {
        s->filter.is_few = 1;
        return;
    }
    s->mt[0] = query_matcher_new(spec->q);
    s->mt[1] = query_matcher_new(spec->q);
    if (s->mt[0] == NULL || s->mt[1] == NULL)
        return;                 /* query_match on this thread, as before */
    s->filter.match_fn = search_match_cb;
    s->filter.match_arg = s->mt[0];
    s->filter.match_arg_helper = s->mt[1];
    if (query_can_col(spec->q))
        s->filter.match_col_fn = search_match_col_cb;
}

static void
search_filter_copy(struct search *s, const struct store_filter *f)
{
    s->filter = *f;
    s->host = f->host ? xstrdup(f->host) : NULL;
    s->container = f->container ? xstrdup(f->container) : NULL;
    s->image = f->image ? xstrdup(f->image) : NULL;
    s->filter.host = s->host;
    s->filter.container = s->container;
    s->filter.image = s->image;
    s->sel = namesel_dup(f->sel);
    s->filter.sel = s->sel;
    s->filter.container_id = NULL;
    s->filter.after = NULL;
    s->filter.tokens = NULL;
    s->filter.n_tokens = 0;
    s->filter.field_tokens = NULL;
    s->filter.n_field_tokens = 0;
    s->filter.count_word = NULL;        /* search_new's cursor only */
    s->filter.count_fn = NULL;
    s->filter.match_fn = NULL;          /* search_set_match */
    s->filter.match_col_fn = NULL;
    s->filter.match_arg = s->filter.match_arg_helper = NULL;
}

struct search *
search_new(struct store *st, const struct search_spec *spec, char **errstr)
{
    if (spec->before > SEARCH_MAX_CONTEXT || spec->after > SEARCH_MAX_CONTEXT ||
        (spec->is_tail && (spec->before > 0 || spec->after > 0))) {
        *errstr = xstrdup("bad search: context out of range or with tail");
        return NULL;
    }
    struct search *s = xcalloc(1, sizeof(*s));
    const char *const *tokens;

    s->st = st;
    search_filter_copy(s, &spec->filter);
    s->q = spec->q;
    s->limit = spec->limit;
    s->is_tail = spec->is_tail;
    s->is_desc = spec->is_newest_first || spec->is_tail;
    s->before = spec->before;
    s->after = spec->after;
    s->has_context = s->before > 0 || s->after > 0;
    s->max_scan = spec->max_scan_bytes;
    search_set_match(s, spec);
    /* no context cursor will want the blocks the match cursors read */
    s->filter.is_no_cache = !s->has_context;
    /* every cursor's prefilter stops past the cap (a later cursor's
     * bound is loose: the cap counts what earlier ones read too) */
    s->filter.max_skipped_bytes = s->max_scan;
    struct store_filter f = s->filter;
    f.n_tokens = query_tokens(spec->q, &tokens);
    f.tokens = f.n_tokens > 0 ? tokens : NULL;
    f.n_field_tokens = query_field_tokens(spec->q, &tokens);
    f.field_tokens = f.n_field_tokens > 0 ? tokens : NULL;
    s->filter.field_tokens = f.field_tokens;
    s->filter.n_field_tokens = f.n_field_tokens;
    /* Context lines come from their own cursors: the match cursor may
     * always drop records that lack the required words. */
    f.is_tokens_required = 1;
    if (spec->count_fn != NULL && s->limit == UINT64_MAX &&
        !s->has_context && !s->is_tail) {
        if (query_count_word(spec->q, s->count_word, &f.count_forms))
            f.count_word = s->count_word;
        f.count_fn = spec->count_fn;
        f.count_arg = spec->count_arg;
    }
    s->filter.tokens = f.tokens;
    s->filter.n_tokens = f.n_tokens;
    s->filter.is_tokens_required = 1;
    s->cur = store_cursor_new(st, &f, s->is_desc);
    if (s->cur == NULL) {
        *errstr = xstrdup("cannot create a store cursor");
        search_free(s);
        return NULL;
    }
    s->n_matches = store_cursor_counted_records(s->cur);
    s->state = s->limit == 0 ? SEARCH_S_DONE : SEARCH_S_MAIN;
    s->is_ranking = s->is_tail ||
                    (s->has_context && s->limit != UINT64_MAX);
    return s;
}

void
search_free(struct search *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->tab_size; i++) {
        for (struct search_ctr *e = s->tab[i], *next; e != NULL; e = next) {
            next = e->hnext;
            free(e->host);
            free(e->container_id);
            free(e);
        }
    }
    free(s->tab);
    store_cursor_free(s->ctx);
    store_cursor_free(s->cur);          /* before the matchers it uses */
    query_matcher_free(s->mt[0]);
    query_matcher_free(s->mt[1]);
    search_fkey_fini(&s->rank_first);
    search_fkey_fini(&s->rank_last);
    free(s->host);
    free(s->container);
    free(s->image);
    namesel_free(s->sel);
    free(s->errstr);
    free(s);
}

static int
search_status(const struct search *s)
{
    return s->state == SEARCH_S_DONE ? SEARCH_DONE
         : s->state == SEARCH_S_ERROR ? SEARCH_ERROR : SEARCH_MORE;
}

int
search_step(struct search *s, size_t max_records, search_emit_fn emit,
            void *arg)
{
    struct logrec r;

    s->emit = emit;
    s->emit_arg = arg;
    s->is_paused = 0;
    for (size_t n = 0; n < max_records && !s->is_paused; n++) {
        if (s->state == SEARCH_S_DONE || s->state == SEARCH_S_ERROR)
            break;
        int is_main = s->state == SEARCH_S_MAIN || s->state == SEARCH_S_TAIL;
        struct store_cursor *c = is_main ? s->cur : s->ctx;
        if (search_next(s, c, &r))
            search_line(s, &r);
        else if (s->state != SEARCH_S_ERROR)
            search_cursor_end(s);
    }
    return search_status(s);
}

const char *
search_errstr(const struct search *s)
{
    return s->errstr ? s->errstr : "";
}

uint64_t
search_n_matches(const struct search *s)
{
    return s->n_matches;
}

uint64_t
search_scanned_bytes(const struct search *s)
{
    return search_cost(s);
}

uint64_t
search_n_damaged(const struct search *s)
{
    return s->n_damaged;
}
