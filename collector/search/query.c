/* SPDX-License-Identifier: MIT */
/*
 * query: parser and matcher for the search language (grammar in query.h).
 * A parsed query is a conjunction of groups, each a disjunction of items
 * (term or phrase, possibly negated), plus optional regexes, alternatives
 * to each other (PCRE2, behind collector/search/query_regex.c). The
 * matcher runs once per candidate record, so it allocates nothing: terms
 * and phrases are found with memmem (or an ASCII case-folding scan whose
 * first-byte test skips most positions), and the regexes run on the
 * message bytes as they are. The required tokens the store's index uses
 * come from ANDed terms and from the whole words every regex requires.
 * Knows nothing of the store or HTTP; api/ calls it.
 */
#include "collector/search/query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/search/query_regex.h"
#include "common/xmalloc.h"

#define QUERY_MAX_TOKENS  (QUERY_MAX_ITEMS + QUERY_REGEX_MAX_WORDS)

enum query_kind { QUERY_TERM, QUERY_PHRASE };

struct query_item {
    enum query_kind kind;
    int             is_negated;
    int             has_start_bound;  /* term starts with an alnum byte */
    int             has_end_bound;    /* term ends with an alnum byte */
    char           *text;             /* lower-cased when icase */
    size_t          len;
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
    char              *tokens[QUERY_MAX_TOKENS];
    size_t             n_tokens;
};

/* ---- helpers ---- */

static int
query_is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

static int
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

/* n is already lower-cased. */
static int
query_ci_equal(const char *h, const char *n, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (query_lower((unsigned char)h[i]) != (unsigned char)n[i])
            return 0;
    return 1;
}

/* First occurrence of the lower-cased needle in h, folding ASCII case. */
static const char *
query_ci_find(const char *h, size_t h_len, const char *n, size_t n_len)
{
    if (n_len > h_len)
        return NULL;
    unsigned char lo = (unsigned char)n[0], up = query_upper(lo);
    const char *last = h + (h_len - n_len);

    for (const char *p = h; p <= last; p++) {
        if (lo == up) {
            p = memchr(p, lo, (size_t)(last - p) + 1);
            if (p == NULL)
                return NULL;
        } else if ((unsigned char)*p != lo && (unsigned char)*p != up) {
            continue;
        }
        if (query_ci_equal(p + 1, n + 1, n_len - 1))
            return p;
    }
    return NULL;
}

static const char *
query_find(const struct query *q, const char *h, size_t h_len,
           const struct query_item *it)
{
    if (q->is_icase)
        return query_ci_find(h, h_len, it->text, it->len);
    return memmem(h, h_len, it->text, it->len);
}

static int
query_item_match(const struct query *q, const struct query_item *it,
                 const char *msg, size_t len)
{
    size_t pos = 0;

    while (pos < len && it->len <= len - pos) {
        const char *p = query_find(q, msg + pos, len - pos, it);
        if (p == NULL)
            return 0;
        size_t at = (size_t)(p - msg), end = at + it->len;
        if (it->kind == QUERY_PHRASE)
            return 1;
        int start_ok = !it->has_start_bound || at == 0 ||
                       !query_is_alnum((unsigned char)msg[at - 1]);
        int end_ok = !it->has_end_bound || end == len ||
                     !query_is_alnum((unsigned char)msg[end]);
        if (start_ok && end_ok)
            return 1;
        pos = at + 1;
    }
    return 0;
}

/* ---- parsing ---- */

/* Adds the lower-cased word w[0..len) unless present or the list is full
 * (fewer tokens only make the store read more blocks). */
static void
query_add_token(struct query *q, const char *w, size_t len)
{
    if (q->n_tokens == QUERY_MAX_TOKENS)
        return;
    char *t = xstrndup(w, len);
    for (char *c = t; *c; c++)
        *c = (char)query_lower((unsigned char)*c);
    for (size_t k = 0; k < q->n_tokens; k++)
        if (strcmp(q->tokens[k], t) == 0) {
            free(t);
            return;
        }
    q->tokens[q->n_tokens++] = t;
}

static void
query_add_tokens(struct query *q, const struct query_item *it)
{
    size_t i = 0;

    while (i < it->len) {
        while (i < it->len && !query_is_alnum((unsigned char)it->text[i]))
            i++;
        size_t start = i;
        while (i < it->len && query_is_alnum((unsigned char)it->text[i]))
            i++;
        if (i > start)
            query_add_token(q, it->text + start, i - start);
    }
}

static int
query_add_item(struct query *q, enum query_kind kind, int is_negated,
               const char *text, size_t len, int is_or, char **errstr)
{
    if (q->n_items == QUERY_MAX_ITEMS) {
        *errstr = xasprintf("too many terms (at most %d)", QUERY_MAX_ITEMS);
        return -1;
    }
    struct query_item *it = &q->items[q->n_items];
    it->kind = kind;
    it->is_negated = is_negated;
    it->text = xstrndup(text, len);
    it->len = len;
    if (q->is_icase)
        for (size_t i = 0; i < len; i++)
            it->text[i] = (char)query_lower((unsigned char)it->text[i]);
    it->has_start_bound = query_is_alnum((unsigned char)text[0]);
    it->has_end_bound = query_is_alnum((unsigned char)text[len - 1]);
    if (is_or) {
        q->groups[q->n_groups - 1].n++;
    } else {
        q->groups[q->n_groups].first = q->n_items;
        q->groups[q->n_groups].n = 1;
        q->n_groups++;
    }
    q->n_items++;
    return 0;
}

/* Reads one item at *pos (not at a space). 1 item, 0 "OR", -1 error. */
static int
query_next_item(struct query *q, const char *s, size_t len, size_t *pos,
                int is_or, char **errstr)
{
    size_t i = *pos;
    int is_negated = 0;

    if (s[i] == '-') {
        if (i + 1 == len || query_is_space((unsigned char)s[i + 1])) {
            *errstr = xasprintf("empty exclusion at offset %zu", i);
            return -1;
        }
        is_negated = 1;
        i++;
    }
    if (s[i] == '"') {
        const char *close = memchr(s + i + 1, '"', len - i - 1);
        if (close == NULL) {
            *errstr = xasprintf("unterminated quote at offset %zu", i);
            return -1;
        }
        size_t plen = (size_t)(close - (s + i + 1));
        if (plen == 0) {
            *errstr = xasprintf("empty phrase at offset %zu", i);
            return -1;
        }
        *pos = (size_t)(close - s) + 1;
        return query_add_item(q, QUERY_PHRASE, is_negated, s + i + 1, plen,
                              is_or, errstr) < 0 ? -1 : 1;
    }
    size_t start = i;
    while (i < len && !query_is_space((unsigned char)s[i]))
        i++;
    *pos = i;
    if (!is_negated && i - start == 2 && memcmp(s + start, "OR", 2) == 0)
        return 0;
    return query_add_item(q, QUERY_TERM, is_negated, s + start, i - start,
                          is_or, errstr) < 0 ? -1 : 1;
}

static int
query_parse_text(struct query *q, const char *s, size_t len, char **errstr)
{
    size_t pos = 0;
    int want_or = 0;        /* an OR was read: the next item joins a group */

    if (len > QUERY_MAX_TEXT) {
        *errstr = xasprintf("query too long (at most %d bytes)",
                            QUERY_MAX_TEXT);
        return -1;
    }
    if (memchr(s, '\0', len) != NULL) {
        *errstr = xstrdup("query contains a NUL byte");
        return -1;
    }
    for (;;) {
        while (pos < len && query_is_space((unsigned char)s[pos]))
            pos++;
        if (pos == len)
            break;
        size_t at = pos;
        int r = query_next_item(q, s, len, &pos, want_or, errstr);
        if (r < 0)
            return -1;
        if (r == 0 && (want_or || q->n_items == 0)) {
            *errstr = xasprintf("OR without a term before it at offset %zu",
                                at);
            return -1;
        }
        want_or = r == 0;
    }
    if (want_or) {
        *errstr = xstrdup("OR without a term after it");
        return -1;
    }
    for (size_t g = 0; g < q->n_groups; g++) {
        const struct query_item *it = &q->items[q->groups[g].first];
        if (q->groups[g].n == 1 && it->kind == QUERY_TERM && !it->is_negated)
            query_add_tokens(q, it);
    }
    return 0;
}

static int
query_compile_regex(struct query *q, const char *const *regex, size_t n_regex,
                    char **errstr)
{
    if (n_regex > QUERY_REGEX_MAX_PATTERNS) {
        *errstr = xasprintf("too many regexes (at most %d)",
                            QUERY_REGEX_MAX_PATTERNS);
        return -1;
    }
    for (size_t i = 0; i < n_regex; i++)
        if (strlen(regex[i]) > QUERY_MAX_REGEX) {
            *errstr = xasprintf("regex too long (at most %d bytes)",
                                QUERY_MAX_REGEX);
            return -1;
        }
    q->re = query_regex_new_any(regex, n_regex, q->is_icase, errstr);
    if (q->re == NULL)
        return -1;
    struct query_regex_word w[QUERY_REGEX_MAX_WORDS];
    size_t n = query_regex_words_all(regex, n_regex, w,
                                     QUERY_REGEX_MAX_WORDS);
    for (size_t i = 0; i < n; i++)
        query_add_token(q, regex[0] + w[i].off, w[i].len);
    return 0;
}

/* ---- public API ---- */

struct query *
query_parse_any(const char *text, size_t text_len, const char *const *regex,
                size_t n_regex, int icase, char **errstr)
{
    struct query *q = xcalloc(1, sizeof(*q));

    q->is_icase = icase != 0;
    if (query_parse_text(q, text, text_len, errstr) < 0)
        goto fail;
    /* A lone "" matches everything: no regex to run. */
    if (n_regex > 0 && !(n_regex == 1 && regex[0][0] == '\0') &&
        query_compile_regex(q, regex, n_regex, errstr) < 0)
        goto fail;
    return q;
fail:
    query_free(q);
    return NULL;
}

struct query *
query_parse(const char *text, size_t text_len, const char *regex, int icase,
            char **errstr)
{
    return query_parse_any(text, text_len, &regex, regex != NULL ? 1 : 0,
                           icase, errstr);
}

void
query_free(struct query *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->n_items; i++)
        free(q->items[i].text);
    for (size_t i = 0; i < q->n_tokens; i++)
        free(q->tokens[i]);
    query_regex_free(q->re);
    free(q);
}

int
query_match(const struct query *q, const char *msg, size_t len)
{
    for (size_t g = 0; g < q->n_groups; g++) {
        const struct query_group *gr = &q->groups[g];
        int ok = 0;
        for (size_t i = gr->first; i < gr->first + gr->n && !ok; i++) {
            const struct query_item *it = &q->items[i];
            ok = query_item_match(q, it, msg, len) != it->is_negated;
        }
        if (!ok)
            return 0;
    }
    return q->re == NULL || query_regex_match(q->re, msg, len);
}

size_t
query_tokens(const struct query *q, const char *const **tokens)
{
    *tokens = (const char *const *)q->tokens;
    return q->n_tokens;
}

uint64_t
query_n_regex_aborted(const struct query *q)
{
    return q->re != NULL ? query_regex_n_aborted(q->re) : 0;
}
