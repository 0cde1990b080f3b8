/* SPDX-License-Identifier: MIT */
/*
 * search_scan: a search's scan (search_step): each record read, charged
 * against the cost cap and dispatched by pass (match cursor, context
 * cursors, rank, tail); positions within a container, the selection and
 * the rank's bound, the text match (the cursor's loaders or the query's
 * matcher), records handed to the caller.
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

int
search_pos_cmp(const struct search_pos *a, const struct search_pos *b)
{
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns ? -1 : 1;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

struct search_pos
search_pos_of(const struct logrec *r)
{
    return (struct search_pos){ r->time_ns, r->offset };
}

int
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
           (f->recv_since_ns == 0 || r->recv_ns >= f->recv_since_ns) &&
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
const struct store_key *
search_rank_lo(const struct search *s)
{
    return s->is_desc ? &s->rank_last.k : &s->rank_first.k;
}

const struct store_key *
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
int
search_text_match(const struct search *s, const struct logrec *r)
{
    int m = store_cursor_match(s->cur);

    if (m < 0)
        return query_match(s->q, r->msg, r->msg_len);
    if (m & QUERY_MATCH_ABORTED)
        query_add_aborted(s->q, 1);
    return m & 1;
}

int
search_is_match(const struct search *s, const struct logrec *r)
{
    return search_is_selected(s, r) && search_in_bound(s, r) &&
           query_match(s->q, r->msg, r->msg_len);
}

int
search_can_merge(const struct search *s)
{
    return s->n_matches < s->limit &&
           s->g.n_probed < SEARCH_GROUP_MAX_RECORDS;
}

void
search_fail(struct search *s, char *errstr)
{
    if (s->errstr == NULL)
        s->errstr = errstr;
    else
        free(errstr);
    s->state = SEARCH_S_ERROR;
}

uint64_t
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

    if (s->max_scan > 0 && done + len > s->max_scan && s->cur != NULL) {
        /* the match cursor counted at once what it dropped past its last
         * record: before failing, count only what a serial scan had read
         * by now (store_cursor_exact; it drops nothing more) */
        store_cursor_exact(s->cur);
        done = search_cost(s);
    }
    if (s->max_scan > 0 && done + len > s->max_scan) {
        search_fail(s, xasprintf("query cost limit reached: scanned %"
                                 PRIu64 " bytes", done));
        return -1;
    }
    s->read_bytes += len;
    return 0;
}

/* Next record of cursor c: 1 (in *r, charged), 0 at its end or on a cap
 * error (state set), 2 when the cursor dropped many records unseen and has
 * none yet (store_cursor_next). Damaged blocks are counted and passed
 * over. The records the store's prefilter dropped count too: a cursor
 * that stopped on the cap (store_filter.max_skipped_bytes) or ended past
 * it fails the search, whether or not it returned a record. */
static int
search_next(struct search *s, struct store_cursor *c, struct logrec *r)
{
    int rc;

    /* what the cap counts besides c: c drops records only while the cap
     * cannot be reached (store_cursor_set_others) */
    store_cursor_set_others(c, search_cost(s) -
                               store_cursor_skipped_bytes(c) -
                               store_cursor_returned_bytes(c));
    while ((rc = store_cursor_next(c, r)) < 0)
        s->n_damaged++;
    if (rc == 0 || rc == 2) {
        if (search_charge_len(s, 0) < 0)
            return 0;
        return rc;
    }
    return search_charge_len(s, r->msg_len) == 0;
}

void
search_emit(struct search *s, const struct logrec *r, int is_context,
            int is_group_start)
{
    if (s->emit(r, is_context, is_group_start, s->emit_arg) != 0)
        s->is_paused = 1;
}

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
        int rc = search_next(s, c, &r);
        uint64_t dropped = store_cursor_take_dropped(c);
        s->n_seen += dropped + (rc == 1);
        s->n_dropped += dropped;
        n += dropped < max_records ? dropped : max_records;
        if (rc == 1)
            search_line(s, &r);
        else if (rc == 0 && s->state != SEARCH_S_ERROR)
            search_cursor_end(s);
    }
    /* stopped before the cursor's end (a limit): the bytes it dropped
     * past the last record read are not counted (search_scanned_bytes is
     * that of the serial path) */
    if (s->state == SEARCH_S_DONE && s->cur != NULL)
        store_cursor_exact(s->cur);
    return search_status(s);
}
