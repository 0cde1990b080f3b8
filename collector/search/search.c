/* SPDX-License-Identifier: MIT */
/*
 * search: the per-record logic of the search endpoints (see search.h for
 * the context rules). Records held for context are copied into one
 * allocation each (logrec + strings + message) and counted against
 * max_held_bytes. Sources live in a chained hash table keyed by host,
 * container_id and stream; a source's state is a ring of lookbehind
 * records, a lookahead counter and its open group. Talks to the store
 * cursor and the query matcher only.
 */
#include "collector/search/search.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct search_rec {
    struct search_rec *next;
    int                is_context;
    size_t             size;
    struct logrec      r;
    char               data[];
};

struct search_src {
    struct search_src  *hnext;          /* hash chain */
    struct search_src  *all_next;       /* every source, for the flush */
    uint64_t            hash;
    char               *host;
    char               *container_id;
    int                 stream;
    struct search_rec **ring;           /* lookbehind, cap s->lb */
    size_t              ring_head;      /* oldest */
    size_t              ring_len;
    unsigned            pending;        /* lookahead records still due */
    uint64_t            gap;            /* records since the group's last */
    int                 has_group;
    struct search_rec  *g_head;
    struct search_rec  *g_tail;
    size_t              g_n;
    size_t              g_bytes;
};

enum {
    SEARCH_S_SCAN, SEARCH_S_FLUSH, SEARCH_S_DONE, SEARCH_S_ERROR,
};

struct search {
    struct store_cursor *cur;
    const struct query  *q;
    uint64_t             limit;
    uint64_t             n_matches;
    unsigned             lb;            /* scan-order lookbehind */
    unsigned             la;            /* scan-order lookahead */
    int                  has_context;
    uint64_t             max_scan;
    uint64_t             scanned;    /* fed + the store's skipped bytes */
    uint64_t             fed;        /* bytes of records fed to matching */
    size_t               max_held;
    size_t               held;
    uint64_t             n_damaged;
    int                  state;
    int                  has_error;     /* flush, then SEARCH_ERROR */
    char                *errstr;
    struct search_src  **tab;
    size_t               tab_size;      /* power of two */
    size_t               n_src;
    struct search_src   *all;
    struct search_src   *flush_at;
    uint64_t             n_pending;     /* sources with pending > 0 */
    int                  has_emitted_group;
    int                  is_paused;
    search_emit_fn       emit;
    void                *emit_arg;
};

/* ------------------------------------------------------------ records */

static struct search_rec *
search_rec_dup(const struct logrec *r)
{
    const char *strs[4] = { r->host, r->container_id, r->container,
                            r->image };
    size_t lens[4], n = r->msg_len;

    for (int i = 0; i < 4; i++) {
        lens[i] = strs[i] ? strlen(strs[i]) : 0;
        n += lens[i] + 1;
    }
    struct search_rec *c = xmalloc(sizeof(*c) + n);
    char *p = c->data;
    const char **dst[4] = { &c->r.host, &c->r.container_id, &c->r.container,
                            &c->r.image };

    c->next = NULL;
    c->is_context = 0;
    c->size = sizeof(*c) + n;
    c->r = *r;
    for (int i = 0; i < 4; i++) {
        if (lens[i] > 0)
            memcpy(p, strs[i], lens[i]);
        p[lens[i]] = '\0';
        *dst[i] = p;
        p += lens[i] + 1;
    }
    if (r->msg_len > 0)
        memcpy(p, r->msg, r->msg_len);
    c->r.msg = p;
    return c;
}

static void
search_rec_free(struct search *s, struct search_rec *c)
{
    if (c == NULL)
        return;
    assert(s->held >= c->size);
    s->held -= c->size;
    free(c);
}

/* ------------------------------------------------------------ sources */

static uint64_t
search_src_hash(const char *host, const char *cid, int stream)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *parts[2] = { host, cid };

    for (int i = 0; i < 2; i++) {
        for (const char *p = parts[i]; p && *p; p++)
            h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
        h = (h ^ 0xff) * 0x100000001b3ULL;
    }
    return (h ^ (uint64_t)stream) * 0x100000001b3ULL;
}

static void
search_tab_grow(struct search *s)
{
    size_t n = s->tab_size ? s->tab_size * 2 : 64;
    struct search_src **t = xcalloc(n, sizeof(*t));

    for (size_t i = 0; i < s->tab_size; i++) {
        struct search_src *e = s->tab[i], *next;
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

static struct search_src *
search_src_get(struct search *s, const struct logrec *r)
{
    const char *host = r->host ? r->host : "";
    const char *cid = r->container_id ? r->container_id : "";
    uint64_t h = search_src_hash(host, cid, r->stream);

    if (s->tab_size > 0) {
        struct search_src *e = s->tab[h & (s->tab_size - 1)];
        for (; e != NULL; e = e->hnext)
            if (e->hash == h && e->stream == r->stream &&
                strcmp(e->host, host) == 0 &&
                strcmp(e->container_id, cid) == 0)
                return e;
    }
    if (s->n_src >= s->tab_size)
        search_tab_grow(s);
    struct search_src *e = xcalloc(1, sizeof(*e));
    e->hash = h;
    e->host = xstrdup(host);
    e->container_id = xstrdup(cid);
    e->stream = r->stream;
    if (s->lb > 0)
        e->ring = xcalloc(s->lb, sizeof(*e->ring));
    e->hnext = s->tab[h & (s->tab_size - 1)];
    s->tab[h & (s->tab_size - 1)] = e;
    e->all_next = s->all;
    s->all = e;
    s->n_src++;
    return e;
}

static void
search_src_free(struct search *s, struct search_src *e)
{
    for (size_t i = 0; i < e->ring_len; i++)
        search_rec_free(s, e->ring[(e->ring_head + i) % s->lb]);
    for (struct search_rec *c = e->g_head, *next; c != NULL; c = next) {
        next = c->next;
        search_rec_free(s, c);
    }
    free(e->ring);
    free(e->host);
    free(e->container_id);
    free(e);
}

/* ------------------------------------------------------------ groups */

static void
search_emit(struct search *s, const struct logrec *r, int is_context,
            int is_group_start)
{
    if (s->emit(r, is_context, is_group_start, s->emit_arg) != 0)
        s->is_paused = 1;
}

/* Emits the open group (if it holds anything) and closes it. */
static void
search_group_close(struct search *s, struct search_src *e)
{
    struct search_rec *c = e->g_head, *next;
    int is_first = 1;

    for (; c != NULL; c = next) {
        next = c->next;
        search_emit(s, &c->r, c->is_context,
                    is_first && s->has_emitted_group);
        is_first = 0;
        s->has_emitted_group = 1;
        search_rec_free(s, c);
    }
    e->g_head = e->g_tail = NULL;
    e->g_n = 0;
    e->g_bytes = 0;
    e->has_group = 0;
}

static void
search_group_add(struct search *s, struct search_src *e,
                 struct search_rec *c, int is_context)
{
    c->is_context = is_context;
    c->next = NULL;
    if (e->g_tail != NULL)
        e->g_tail->next = c;
    else
        e->g_head = c;
    e->g_tail = c;
    e->g_n++;
    e->g_bytes += c->size;
    e->gap = 0;
}

/* A group past its size cap is emitted; what follows continues as a new
 * (still open) group. */
static void
search_group_check(struct search *s, struct search_src *e)
{
    if (e->g_n < SEARCH_GROUP_MAX_RECORDS &&
        e->g_bytes < SEARCH_GROUP_MAX_BYTES)
        return;
    search_group_close(s, e);
    e->has_group = 1;
}

static void
search_set_pending(struct search *s, struct search_src *e, unsigned n)
{
    if (e->pending > 0)
        s->n_pending--;
    e->pending = n;
    if (n > 0)
        s->n_pending++;
}

static void
search_fail(struct search *s, char *errstr)
{
    if (!s->has_error) {
        s->has_error = 1;
        s->errstr = errstr;
    } else {
        free(errstr);
    }
    s->state = SEARCH_S_FLUSH;
    s->flush_at = s->all;
}

/* ------------------------------------------------------------ feeding */

static void
search_feed_match(struct search *s, struct search_src *e,
                  struct search_rec *c)
{
    if (!e->has_group)
        e->has_group = 1;
    /* The ring holds exactly the records since the group's last one
     * (the group closes once more than lb have passed). */
    for (size_t i = 0; i < e->ring_len; i++) {
        search_group_add(s, e, e->ring[(e->ring_head + i) % s->lb], 1);
        search_group_check(s, e);
    }
    e->ring_len = 0;
    e->ring_head = 0;
    search_group_add(s, e, c, 0);
    search_set_pending(s, e, s->la);
    search_group_check(s, e);
}

static void
search_feed_other(struct search *s, struct search_src *e,
                  struct search_rec *c)
{
    if (e->has_group && ++e->gap > s->lb)
        search_group_close(s, e);
    if (s->lb == 0 || s->n_matches >= s->limit) {
        search_rec_free(s, c);      /* no group can start any more */
        return;
    }
    if (e->ring_len == s->lb) {
        search_rec_free(s, e->ring[e->ring_head]);
        e->ring_head = (e->ring_head + 1) % s->lb;
        e->ring_len--;
    }
    e->ring[(e->ring_head + e->ring_len) % s->lb] = c;
    e->ring_len++;
}

static void
search_feed_context(struct search *s, const struct logrec *r, int is_match)
{
    struct search_src *e = search_src_get(s, r);

    if (!is_match && e->pending == 0 && s->lb == 0 && !e->has_group)
        return;                     /* nothing would keep it */
    struct search_rec *c = search_rec_dup(r);
    s->held += c->size;
    if (is_match) {
        search_feed_match(s, e, c);
    } else if (e->pending > 0) {
        search_group_add(s, e, c, 1);
        search_set_pending(s, e, e->pending - 1);
        search_group_check(s, e);
    } else {
        search_feed_other(s, e, c);
    }
    if (s->held > s->max_held)
        search_fail(s, xasprintf("context lines need more than %zu MiB of "
                                 "memory: use fewer context lines or a "
                                 "narrower query", s->max_held >> 20));
}

static void
search_feed(struct search *s, const struct logrec *r)
{
    /* Cost: bytes of every record the filters let through, including
     * those the store's token prefilter dropped without returning them. */
    uint64_t done = s->fed + store_cursor_skipped_bytes(s->cur);
    if (s->max_scan > 0 && done + r->msg_len > s->max_scan) {
        s->scanned = done;
        search_fail(s, xasprintf("query cost limit reached: scanned %"
                                 PRIu64 " bytes", done));
        return;
    }
    s->fed += r->msg_len;
    s->scanned = done + r->msg_len;
    int is_match = s->n_matches < s->limit &&
                   query_match(s->q, r->msg, r->msg_len);
    if (is_match)
        s->n_matches++;
    if (!s->has_context) {
        if (is_match)
            search_emit(s, r, 0, 0);
        return;
    }
    search_feed_context(s, r, is_match);
}

/* One unit of the flush: closes the next source's group. 1 when done. */
static int
search_flush_one(struct search *s)
{
    while (s->flush_at != NULL && !s->flush_at->has_group)
        s->flush_at = s->flush_at->all_next;
    if (s->flush_at == NULL) {
        s->state = s->has_error ? SEARCH_S_ERROR : SEARCH_S_DONE;
        return 1;
    }
    search_group_close(s, s->flush_at);
    s->flush_at = s->flush_at->all_next;
    return 0;
}

/* ------------------------------------------------------------ public */

struct search *
search_new(struct store *st, const struct search_spec *spec, char **errstr)
{
    struct search *s = xcalloc(1, sizeof(*s));
    struct store_filter f = spec->filter;
    const char *const *tokens;

    s->q = spec->q;
    s->limit = spec->limit;
    s->lb = spec->is_newest_first ? spec->after : spec->before;
    s->la = spec->is_newest_first ? spec->before : spec->after;
    assert(s->lb <= SEARCH_MAX_CONTEXT && s->la <= SEARCH_MAX_CONTEXT);
    s->has_context = s->lb > 0 || s->la > 0;
    s->max_scan = spec->max_scan_bytes;
    s->max_held = spec->max_held_bytes ? spec->max_held_bytes
                                       : SEARCH_DEFAULT_HELD_BYTES;
    f.n_tokens = query_tokens(spec->q, &tokens);
    f.tokens = f.n_tokens > 0 ? tokens : NULL;
    /* Context lines need the records around a match: only then may the
     * store not drop records that lack the required words. */
    f.is_tokens_required = !s->has_context;
    s->cur = store_cursor_new(st, &f, spec->is_newest_first);
    if (s->cur == NULL) {
        *errstr = xstrdup("cannot create a store cursor");
        free(s);
        return NULL;
    }
    return s;
}

void
search_free(struct search *s)
{
    if (s == NULL)
        return;
    for (struct search_src *e = s->all, *next; e != NULL; e = next) {
        next = e->all_next;
        search_src_free(s, e);
    }
    assert(s->held == 0);
    free(s->tab);
    store_cursor_free(s->cur);
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
        if (s->state == SEARCH_S_FLUSH) {
            search_flush_one(s);
            continue;
        }
        if (s->n_matches >= s->limit && s->n_pending == 0) {
            s->state = SEARCH_S_FLUSH;
            s->flush_at = s->all;
            continue;
        }
        int rc = store_cursor_next(s->cur, &r);
        if (rc == 0) {
            s->state = SEARCH_S_FLUSH;
            s->flush_at = s->all;
        } else if (rc < 0) {
            s->n_damaged++;
        } else {
            search_feed(s, &r);
        }
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
    return s->scanned;
}

uint64_t
search_n_damaged(const struct search *s)
{
    return s->n_damaged;
}
