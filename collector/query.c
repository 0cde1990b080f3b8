/* SPDX-License-Identifier: MIT */
/*
 * query: parser and matcher for the search language (grammar in query.h).
 * A parsed query is a conjunction of groups, each a disjunction of items
 * (term or phrase, possibly negated), plus an optional POSIX regex. The
 * matcher runs once per candidate record, so it allocates nothing: terms
 * and phrases are found with memmem (or an ASCII case-folding scan whose
 * first-byte test skips most positions), and the regex gets the message
 * copied into one reusable NUL-terminated buffer because regexec needs a C
 * string. Knows nothing of the store or HTTP; api/ calls it.
 */
#include "collector/query.h"

#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"

#define QUERY_MAX_TOKENS  QUERY_MAX_ITEMS
#define QUERY_REGEX_BUF   ((size_t)64 << 20)
#define QUERY_MAX_REGEX_COST   4096  /* see query_regex_is_costly */

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
    int                has_regex;
    regex_t            re;
    struct buf        *re_buf;      /* mutable scratch behind a const query */
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

static int
query_regex_match(const struct query *q, const char *msg, size_t len)
{
    struct buf *b = q->re_buf;

    buf_reset(b);
    if (buf_append(b, msg, len) < 0 || buf_put_u8(b, 0) < 0)
        return 0;
    return regexec(&q->re, (const char *)b->data, 0, NULL, 0) == 0;
}

/* ---- parsing ---- */

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
        if (i == start || q->n_tokens == QUERY_MAX_TOKENS)
            continue;
        char *t = xstrndup(it->text + start, i - start);
        for (char *c = t; *c; c++)
            *c = (char)query_lower((unsigned char)*c);
        for (size_t k = 0; k < q->n_tokens && t != NULL; k++)
            if (strcmp(q->tokens[k], t) == 0) {
                free(t);
                t = NULL;
            }
        if (t != NULL)
            q->tokens[q->n_tokens++] = t;
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

/*
 * glibc's regcomp builds x+ as xx* and x{n,m} as m copies of x, so nested
 * or stacked repetitions multiply: "((a+)+)+..." or "a++++..." grow the
 * parse tree exponentially (a fuzzer found 25 '+' taking gigabytes). A
 * request must not be able to do that, so the product of the expansion
 * factors of all repetitions ('+' counts 2, {n,m} counts m+1, {n,} n+1)
 * is capped. This over-estimates sequences like a+b+c+ (which cost only
 * their sum), a fair price for a check this simple.
 */
static const char *
query_regex_skip_bracket(const char *p)
{
    p++;                                /* past '[' */
    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    while (*p != '\0' && *p != ']')
        p++;
    return *p ? p : p - 1;
}

/* Largest number inside a {...} bound starting at p ('{'); *end at '}'. */
static long
query_regex_bound(const char *p, const char **end)
{
    long max = 0, v = 0;

    for (p++; *p != '\0' && *p != '}'; p++) {
        if (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            if (v > QUERY_MAX_REGEX_COST)
                v = QUERY_MAX_REGEX_COST;
        } else {
            v = 0;
        }
        if (v > max)
            max = v;
    }
    *end = *p ? p : p - 1;
    return max + 1;
}

static int
query_regex_is_costly(const char *re)
{
    long cost = 1;

    for (const char *p = re; *p; p++) {
        long f = 1;
        if (*p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '[')
            p = query_regex_skip_bracket(p);
        else if (*p == '+')
            f = 2;
        else if (*p == '{' && p[1] >= '0' && p[1] <= '9')
            f = query_regex_bound(p, &p);
        cost *= f;
        if (cost > QUERY_MAX_REGEX_COST)
            return 1;
    }
    return 0;
}

static int
query_compile_regex(struct query *q, const char *regex, char **errstr)
{
    if (strlen(regex) > QUERY_MAX_REGEX) {
        *errstr = xasprintf("regex too long (at most %d bytes)",
                            QUERY_MAX_REGEX);
        return -1;
    }
    if (query_regex_is_costly(regex)) {
        *errstr = xasprintf("regex too costly: its repetitions ('+', "
                            "{n,m}) multiply past %d", QUERY_MAX_REGEX_COST);
        return -1;
    }
    int flags = REG_EXTENDED | REG_NOSUB | (q->is_icase ? REG_ICASE : 0);
    int rc = regcomp(&q->re, regex, flags);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &q->re, msg, sizeof(msg));
        *errstr = xasprintf("bad regex: %s", msg);
        return -1;
    }
    q->has_regex = 1;
    q->re_buf = xmalloc(sizeof(*q->re_buf));
    buf_init(q->re_buf, QUERY_REGEX_BUF);
    return 0;
}

/* ---- public API ---- */

struct query *
query_parse(const char *text, size_t text_len, const char *regex, int icase,
            char **errstr)
{
    struct query *q = xcalloc(1, sizeof(*q));

    q->is_icase = icase != 0;
    if (query_parse_text(q, text, text_len, errstr) < 0)
        goto fail;
    if (regex != NULL && regex[0] != '\0' &&
        query_compile_regex(q, regex, errstr) < 0)
        goto fail;
    return q;
fail:
    query_free(q);
    return NULL;
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
    if (q->has_regex) {
        regfree(&q->re);
        buf_fini(q->re_buf);
        free(q->re_buf);
    }
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
    return !q->has_regex || query_regex_match(q, msg, len);
}

size_t
query_tokens(const struct query *q, const char *const **tokens)
{
    *tokens = (const char *const *)q->tokens;
    return q->n_tokens;
}
