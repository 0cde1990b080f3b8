/* SPDX-License-Identifier: MIT */
/*
 * query_match: the matcher, run once per candidate record, allocating
 * nothing: items found with memmem, or under icase with a scan that folds
 * the message unit by unit after a cheap first-byte test, then checked
 * against the word rule; field terms against the message's JSON or
 * logfmt fields, read once when first asked; the regexes on the message
 * bytes as they are; matchers with their own regex state for workers.
 */
#include "collector/search/query_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/search/query_regex.h"
#include "common/casefold.h"
#include "common/fields.h"
#include "common/xmalloc.h"

/* The word rule's word characters: ASCII letters, digits, '_' and every
 * byte >= 0x80 (so UTF-8 letters, and invalid bytes too). */
int
query_is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

int
query_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static unsigned char
query_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static unsigned char
query_upper(unsigned char c)
{
    return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c;
}

/* Bytes of h[0..h_len) whose fold is the folded needle n[0..n_len), or 0.
 * Unit by unit, so a fold that changes length (U+023A) lines up. */
static size_t
query_fold_prefix(const unsigned char *h, size_t h_len,
                  const unsigned char *n, size_t n_len)
{
    size_t i = 0, j = 0;

    while (j < n_len) {
        if (i == h_len)
            return 0;
        if (h[i] < 0x80) {
            if (query_lower(h[i]) != n[j])
                return 0;
            i++;
            j++;
            continue;
        }
        uint8_t f[4];
        size_t f_len;
        size_t used = casefold_next(h + i, h_len - i, f, &f_len);
        if (f_len > n_len - j || memcmp(f, n + j, f_len) != 0)
            return 0;
        i += used;
        j += f_len;
    }
    return i;
}

/* Next position in h[0..last] that may start a folded match of a needle
 * whose folded first byte is c: c or its upper case for ASCII (no
 * non-ASCII character folds to ASCII), any byte >= 0x80 otherwise. */
static const unsigned char *
query_ci_next(const unsigned char *p, const unsigned char *last,
              unsigned char c)
{
    unsigned char up = query_upper(c);

    if (c < 0x80 && c == up)
        return memchr(p, c, (size_t)(last - p) + 1);
    for (; p <= last; p++)
        if (*p == c || *p == up || (c >= 0x80 && *p >= 0x80))
            return p;
    return NULL;
}

/* First occurrence at or after h + from of the item in h[0..h_len): its
 * start, with *m_len the bytes it spans; NULL if none. */
const char *
query_find(const struct query *q, const char *h, size_t h_len, size_t from,
           const struct query_item *it, size_t *m_len)
{
    if (!q->is_icase) {
        const char *p = memmem(h + from, h_len - from, it->text, it->len);
        *m_len = it->len;
        return p;
    }
    const unsigned char *u = (const unsigned char *)h;
    const unsigned char *n = (const unsigned char *)it->text;
    const unsigned char *last = u + h_len - 1;

    for (const unsigned char *p = u + from; h_len > 0 && p <= last; p++) {
        p = query_ci_next(p, last, n[0]);
        if (p == NULL)
            return NULL;
        *m_len = query_fold_prefix(p, (size_t)(u + h_len - p), n, it->len);
        if (*m_len > 0)
            return (const char *)p;
    }
    return NULL;
}

static int
query_item_match(const struct query *q, const struct query_item *it,
                 const char *msg, size_t len)
{
    size_t pos = 0, m_len;

    while (pos < len) {
        const char *p = query_find(q, msg, len, pos, it, &m_len);
        if (p == NULL)
            return 0;
        size_t at = (size_t)(p - msg), end = at + m_len;
        int start_ok = !it->has_start_bound || at == 0 ||
                       !query_is_word((unsigned char)msg[at - 1]);
        int end_ok = !it->has_end_bound || end == len ||
                     !query_is_word((unsigned char)msg[end]);
        if (start_ok && end_ok)
            return 1;
        pos = at + 1;
    }
    return 0;
}

/* The JSON or logfmt fields of the message being matched: bit i of hit is
 * set once a field satisfies field term items[i]. */
struct query_fstate {
    const struct query *q;
    uint64_t            hit;
};

static int
query_value_eq(const struct query *q, const struct query_item *it,
               const struct fields_field *f)
{
    if (f->is_cut)
        return 0;
    if (!q->is_icase)
        return f->value_len == it->len &&
               memcmp(f->value, it->text, it->len) == 0;
    if (f->value_len == 0 || it->len == 0)
        return f->value_len == it->len;
    return query_fold_prefix((const unsigned char *)f->value, f->value_len,
                             (const unsigned char *)it->text,
                             it->len) == f->value_len;
}

int
query_field_test(const struct query *q, const struct query_item *it,
                 const struct fields_field *f)
{
    double d;

    if (f->name_len != it->name_len ||
        memcmp(f->name, it->name, it->name_len) != 0)
        return 0;
    if (it->op == QUERY_OP_EQ)
        return query_value_eq(q, it, f);
    if (f->is_cut || fields_number(f->value, f->value_len, &d) < 0)
        return 0;
    switch (it->op) {
    case QUERY_OP_LT: return d < it->num;
    case QUERY_OP_LE: return d <= it->num;
    case QUERY_OP_GT: return d > it->num;
    default:          return d >= it->num;
    }
}

static int
query_fields_cb(const struct fields_field *f, void *arg)
{
    struct query_fstate *st = arg;
    const struct query *q = st->q;

    for (size_t i = 0; i < q->n_items; i++) {
        uint64_t bit = (uint64_t)1 << i;
        if ((q->field_items & bit) && !(st->hit & bit) &&
            query_field_test(q, &q->items[i], f))
            st->hit |= bit;
    }
    return (q->field_items & ~st->hit) == 0;    /* all found: stop */
}

struct query_matcher {
    const struct query       *q;
    struct query_regex_state *re_st;       /* NULL: no regex */
    struct query_regex_state *not_st;      /* NULL: no not_regex */
};

/* query_match's answer, with the regexes run on the states re_st and
 * not_st (NULL: their own, counting a match out of budget there) or,
 * with states, such a match reported in *is_aborted instead. */
static int
query_match_in(const struct query *q, struct query_regex_state *re_st,
               struct query_regex_state *not_st, const char *msg,
               size_t len, int *is_aborted)
{
    struct query_fstate st = { q, 0 };
    int is_walked = 0;      /* the fields are read once, when first asked */

    for (size_t g = 0; g < q->n_groups; g++) {
        const struct query_group *gr = &q->groups[g];
        int ok = 0;
        for (size_t i = gr->first; i < gr->first + gr->n && !ok; i++) {
            const struct query_item *it = &q->items[i];
            int m;
            if (it->kind == QUERY_FIELD) {
                if (!is_walked)
                    fields_foreach(msg, len, query_fields_cb, &st);
                is_walked = 1;
                m = (int)((st.hit >> i) & 1);
            } else {
                m = query_item_match(q, it, msg, len);
            }
            ok = m != it->is_negated;
        }
        if (!ok)
            return 0;
    }
    if (q->re != NULL) {
        int rc = re_st ? query_regex_match_in(q->re, re_st, msg, len)
                       : query_regex_match(q->re, msg, len);
        *is_aborted = rc < 0;
        if (rc != 1)
            return 0;
    }
    if (q->not_re == NULL)
        return 1;
    int rc = not_st ? query_regex_match_in(q->not_re, not_st, msg, len)
                    : query_regex_match(q->not_re, msg, len);
    *is_aborted = rc < 0;
    return rc != 1;
}

int
query_match(const struct query *q, const char *msg, size_t len)
{
    int is_aborted = 0;

    return query_match_in(q, NULL, NULL, msg, len, &is_aborted);
}

void
query_add_aborted(const struct query *q, uint64_t n)
{
    if (q->re != NULL)
        query_regex_add_aborted(q->re, n);
    else if (q->not_re != NULL)
        query_regex_add_aborted(q->not_re, n);
}

struct query_matcher *
query_matcher_new(const struct query *q)
{
    struct query_matcher *m = xcalloc(1, sizeof(*m));

    m->q = q;
    if ((q->re != NULL &&
         (m->re_st = query_regex_state_new(q->re)) == NULL) ||
        (q->not_re != NULL &&
         (m->not_st = query_regex_state_new(q->not_re)) == NULL)) {
        query_matcher_free(m);
        return NULL;
    }
    return m;
}

void
query_matcher_free(struct query_matcher *m)
{
    if (m == NULL)
        return;
    query_regex_state_free(m->re_st);
    query_regex_state_free(m->not_st);
    free(m);
}

int
query_matcher_match(struct query_matcher *m, const char *msg, size_t len)
{
    int is_aborted = 0;
    int rc = query_match_in(m->q, m->re_st, m->not_st, msg, len,
                            &is_aborted);

    return rc | (is_aborted ? QUERY_MATCH_ABORTED : 0);
}

int
query_can_col(const struct query *q)
{
    return q->re != NULL && query_regex_can_col(q->re);
}

int
query_matcher_maybe_col(struct query_matcher *m, const char *text,
                        const uint32_t *ends, uint32_t n, uint8_t *maybe)
{
    if (!query_can_col(m->q))
        return -1;
    return query_regex_maybe_col(m->q->re, text, ends, n, maybe);
}

int
query_maybe_raw(const struct query *q, const char *text, size_t len)
{
    return !query_can_col(q) || query_regex_maybe_raw(q->re, text, len);
}

int
query_matcher_maybe_raw(struct query_matcher *m, const char *text,
                        size_t len)
{
    return query_maybe_raw(m->q, text, len);
}
