/* SPDX-License-Identifier: MIT */
/*
 * search_group: context groups (search.h): per group the BACK, FWD and
 * PRINT cursors on the match's container, matches merged as the group
 * grows, and per container the last printed line nearest the search's
 * way ("reach", a chained hash table) so no line prints twice.
 */
#include <assert.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "collector/search/search_internal.h"
#include "collector/store/namesel.h"
#include "common/fnv.h"
#include "common/xmalloc.h"

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

void
search_state_print(struct search *s)
{
    search_ctx_close(s);
    s->g.n_after = 0;
    s->g.has_printed = 0;
    if (search_ctx_open(s, s->g.has_start ? &s->g.start : NULL, 0) == 0)
        s->state = SEARCH_S_PRINT;
}

void
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
void
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
void
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
void
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

void
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
void
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
