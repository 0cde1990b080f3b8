/* SPDX-License-Identifier: MIT */
/*
 * query_internal: a parsed query and the functions the query's parts
 * share (query.c, query_parse.c, query_match.c, query_spans.c; see
 * query.c). Not for use outside those files: search/, api/ and the tests
 * use query.h only.
 */
#ifndef COLLECTOR_SEARCH_QUERY_INTERNAL_H
#define COLLECTOR_SEARCH_QUERY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "collector/search/query.h"
#include "collector/search/query_regex.h"
#include "common/fields.h"

#define QUERY_MAX_TOKENS  (QUERY_MAX_ITEMS + QUERY_REGEX_MAX_WORDS)

enum query_kind { QUERY_TERM, QUERY_PHRASE, QUERY_FIXED, QUERY_FIELD };

/* A field term's test: its value's text equals, or numeric comparisons. */
enum query_op { QUERY_OP_EQ, QUERY_OP_LT, QUERY_OP_LE, QUERY_OP_GT,
                QUERY_OP_GE };

struct query_item {
    enum query_kind kind;
    int             is_negated;
    int             has_start_bound;  /* starts with a word character */
    int             has_end_bound;    /* ends with a word character */
    char           *text;             /* case folded when icase */
    size_t          len;
    char           *name;             /* QUERY_FIELD: the field's name */
    size_t          name_len;
    enum query_op   op;
    double          num;              /* the operand of LT .. GE */
};

struct query_group {            /* items[first .. first + n) are ORed */
    size_t first;
    size_t n;
};

struct query {
    struct query_item  items[QUERY_MAX_ITEMS];
    size_t             n_items;
    struct query_group groups[QUERY_MAX_ITEMS];
    size_t             n_groups;
    int                is_icase;
    struct query_regex *re;         /* NULL: none; mutable match state */
    struct query_regex *not_re;     /* -v: NULL: none; a match drops */
    char              *tokens[QUERY_MAX_TOKENS];
    size_t             n_tokens;
    char              *bwords[QUERY_REGEX_MAX_WORDS]; /* query_bwords */
    size_t             n_bwords;
    char              *field_tokens[QUERY_MAX_ITEMS];
    size_t             n_field_tokens;
    uint64_t           field_items;     /* bit i: items[i] is a field term */
};

/* ---- query_parse.c: the text of a query into items and tokens ---- */

/* The query text's groups and items into q: 0, or -1 with *errstr
 * (caller frees). */
int query_parse_text(struct query *q, const char *s, size_t len,
                     char **errstr);
/* The regexes (alternatives) compiled into q->re: 0, or -1 with *errstr. */
int query_compile_regex(struct query *q, const char *const *regex,
                        size_t n_regex, char **errstr);
/* One more item (text copied, folded when icase), ORed with the next
 * when is_or: 0, or -1 with *errstr (caller frees). */
int query_add_item(struct query *q, enum query_kind kind, int is_negated,
                   const char *text, size_t len, int is_or, char **errstr);
/* The whole words every match of the item contains, as required index
 * tokens: its word runs, for a fixed string only those that touch
 * neither of its ends. */
void query_add_tokens(struct query *q, const struct query_item *it);

/* ---- query_match.c: matching a message ---- */

/* The word rule's word characters, and the white space of the grammar. */
int query_is_word(unsigned char c);
int query_is_space(unsigned char c);
/* First occurrence at or after h + from of the item in h[0..h_len): its
 * start, with *m_len the bytes it spans; NULL if none. */
const char *query_find(const struct query *q, const char *h, size_t h_len,
                       size_t from, const struct query_item *it,
                       size_t *m_len);
/* 1 if field f satisfies the field term it. */
int query_field_test(const struct query *q, const struct query_item *it,
                     const struct fields_field *f);

#endif
