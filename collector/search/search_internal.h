/* SPDX-License-Identifier: MIT */
/*
 * search_internal: a search's state and the functions its parts share
 * (search.c, search_scan.c, search_group.c, search_rank.c; see search.c).
 * Not for use outside those files: api/ and the tests use search.h only.
 */
#ifndef COLLECTOR_SEARCH_SEARCH_INTERNAL_H
#define COLLECTOR_SEARCH_SEARCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "collector/search/query.h"
#include "collector/search/search.h"
#include "collector/store/store.h"

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
    uint64_t             n_seen;        /* records read, dropped ones too */
    uint64_t             n_dropped;     /* of them, dropped unseen */
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

/* ---- search_scan.c: the scan and each record's dispatch ---- */

/* store_key order of two positions in one container; r against p. */
int search_pos_cmp(const struct search_pos *a, const struct search_pos *b);
struct search_pos search_pos_of(const struct logrec *r);
int search_rec_cmp(const struct logrec *r, const struct search_pos *p);
/* The oldest and the newest of the ranked matches. */
const struct store_key *search_rank_lo(const struct search *s);
const struct store_key *search_rank_hi(const struct search *s);
/* The text query's answer for r, the record s->cur returned last. */
int search_text_match(const struct search *s, const struct logrec *r);
/* r is a match: selected, within the bound, the text matching. */
int search_is_match(const struct search *s, const struct logrec *r);
/* 1 when groups may merge (see search_scan.c). */
int search_can_merge(const struct search *s);
/* The search ends with errstr (taken). */
void search_fail(struct search *s, char *errstr);
/* Bytes charged against the cost cap so far. */
uint64_t search_cost(const struct search *s);
/* r to the caller's emit callback (a pause request kept). */
void search_emit(struct search *s, const struct logrec *r, int is_context,
                 int is_group_start);

/* ---- search_group.c: context groups ---- */

/* The group's PRINT and FWD passes begin. */
void search_state_print(struct search *s);
void search_state_fwd(struct search *s);
/* A match the match cursor returned starts a group, unless printed. */
void search_group_start(struct search *s, const struct logrec *r);
/* One line of the BACK, FWD and PRINT passes. */
void search_back_line(struct search *s, const struct logrec *r);
void search_fwd_line(struct search *s, const struct logrec *r);
void search_print_line(struct search *s, const struct logrec *r);
/* The group's cursor ended: the next pass, or the match cursor again. */
void search_group_end(struct search *s);

/* ---- search_rank.c: the rank pass and tail mode ---- */

void search_fkey_fini(struct search_fkey *f);
/* The rank pass ended: the second pass begins. */
void search_rank_end(struct search *s);
/* One line of the rank pass, and of tail mode's second pass. */
void search_rank_line(struct search *s, const struct logrec *r);
void search_tail_line(struct search *s, const struct logrec *r);

#endif
