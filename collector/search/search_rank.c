/* SPDX-License-Identifier: MIT */
/*
 * search_rank: the rank pass and tail mode.
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

void
search_fkey_fini(struct search_fkey *f)
{
    free(f->host);
    free(f->container_id);
}

/* The rank pass ended: the second pass reads the ranked time range, oldest
 * first for tail mode, in the search's direction for a bound. */
void
search_rank_end(struct search *s)
{
    struct store_filter f = s->filter;
    int64_t lo = search_rank_lo(s)->time_ns, hi = search_rank_hi(s)->time_ns;

    s->is_ranking = 0;
    if (!s->has_rank) {
        s->state = SEARCH_S_DONE;
        return;
    }
    store_cursor_exact(s->cur);     /* bytes up to the last match only */
    s->ctx_skipped += store_cursor_skipped_bytes(s->cur);
    store_cursor_free(s->cur);
    if (f.since_ns < lo)
        f.since_ns = lo;
    if (hi < INT64_MAX && f.until_ns > hi + 1)
        f.until_ns = hi + 1;
    /* tail mode stops at the first record past the newest match, which a
     * cursor dropping non-matches would not return (the range is the
     * limit's matches: little to drop) */
    if (s->is_tail)
        f.is_matches_only = 0;
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

void
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

void
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
