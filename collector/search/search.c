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
 * Parts, one job each (search_internal.h holds a search's state): this
 * file the public API but search_step (new: the filter, the matchers of
 * the cursors; free; the accessors); search_scan.c the scan
 * (search_step, each record dispatched by pass, selection, bound, match,
 * cost cap, emit: the per-record path in one file, inlined as before);
 * search_group.c the context groups and the printed reach per container;
 * search_rank.c the rank pass and tail mode.
 */
#include "collector/search/search.h"

#include <assert.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "collector/search/search_internal.h"
#include "collector/store/namesel.h"
#include "common/fnv.h"
#include "common/xmalloc.h"

static int
search_match_cb(void *arg, const char *msg, size_t len)
{
    return query_matcher_match(arg, msg, len);
}

static int
search_match_raw_cb(void *arg, const char *bytes, size_t len)
{
    return query_matcher_maybe_raw(arg, bytes, len);
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
    /* A block without what every match holds is not decoded: only for a
     * scan that reads every match and nothing else (no limit, context or
     * tail), where its bytes counted at once add up as a decoded block's
     * would (store_filter.match_raw_fn) */
    if (query_can_col(spec->q) && spec->limit == UINT64_MAX &&
        spec->before == 0 && spec->after == 0 && !spec->is_tail)
        s->filter.match_raw_fn = search_match_raw_cb;
    /* Context lines come from their own cursors (search_group.c): the
     * match cursor's records that do not match are never needed, so they
     * are dropped where their block is loaded instead of going one by one
     * through the merge and search_step (their bytes still count against
     * the cost cap). */
    s->filter.is_matches_only = 1;
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
    s->filter.bwords = NULL;
    s->filter.n_bwords = 0;
    s->filter.count_word = NULL;        /* search_new's cursor only */
    s->filter.count_fn = NULL;
    s->filter.match_fn = NULL;          /* search_set_match */
    s->filter.match_col_fn = NULL;
    s->filter.match_raw_fn = NULL;
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
    /* Stored order: the matches alone, oldest first (the context and
     * the rank passes walk store_key order). */
    if (s->has_context || s->is_tail || s->is_desc)
        s->filter.is_stored_order = 0;
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
    f.n_bwords = query_bwords(spec->q, &tokens);
    f.bwords = f.n_bwords > 0 ? tokens : NULL;
    s->filter.bwords = f.bwords;
    s->filter.n_bwords = f.n_bwords;
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
search_n_seen(const struct search *s)
{
    return s->n_seen;
}

uint64_t
search_n_dropped(const struct search *s)
{
    return s->n_dropped;
}

uint64_t
search_n_damaged(const struct search *s)
{
    return s->n_damaged;
}
