/* SPDX-License-Identifier: MIT */
/*
 * query: parser and matcher for the search language (grammar and the word
 * rule in query.h). A parsed query is a conjunction of groups, each a
 * disjunction of items (term, phrase or fixed string, possibly negated),
 * plus optional regexes, alternatives to each other (PCRE2, behind
 * collector/search/query_regex.c). The matcher runs once per candidate
 * record, so it allocates nothing: items are found with memmem, or under
 * icase with a scan that folds the message unit by unit (common/casefold.h)
 * after a cheap first-byte test, then checked against the word rule; the
 * regex runs on the message bytes as they are. The required tokens the
 * store's index uses are the whole words every match contains: the word
 * runs of ANDed terms and phrases, the inner runs of a fixed string, and
 * the words every regex requires, folded as the index folds them. Knows
 * nothing of the store or HTTP; api/ calls it.
 */
#include "collector/search/query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/search/query_regex.h"
#include "collector/store/tokenize.h"
#include "common/casefold.h"
#include "common/fields.h"
#include "common/xmalloc.h"

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
    char              *field_tokens[QUERY_MAX_ITEMS];
    size_t             n_field_tokens;
    uint64_t           field_items;     /* bit i: items[i] is a field term */
};

/* ---- helpers ---- */

/* The word rule's word characters: ASCII letters, digits, '_' and every
 * byte >= 0x80 (so UTF-8 letters, and invalid bytes too). */
static int
query_is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
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
static const char *
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

/* ---- fields ---- */

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

static int
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

/* ---- parsing ---- */

/* Adds the word w[0..len), folded as the index folds it, unless present
 * or the list is full (fewer tokens only make the store read more). */
static void
query_add_token(struct query *q, const char *w, size_t len)
{
    if (q->n_tokens == QUERY_MAX_TOKENS)
        return;
    size_t cap = 2 * len;       /* folding grows a unit by at most half */
    char *t = xmalloc(cap + 1);
    size_t n = casefold_str((const uint8_t *)w, len, (uint8_t *)t, cap);
    t[n < cap ? n : cap] = '\0';
    for (size_t k = 0; k < q->n_tokens; k++)
        if (strcmp(q->tokens[k], t) == 0) {
            free(t);
            return;
        }
    q->tokens[q->n_tokens++] = t;
}

/* The whole words every match of the item contains: its word runs, for
 * a fixed string only those that touch neither of its ends. */
static void
query_add_tokens(struct query *q, const struct query_item *it)
{
    size_t i = 0;

    /* A field's text in the message may be escaped ("\u0065rror"), so
     * its words are not required tokens. */
    if (it->kind == QUERY_FIELD)
        return;

    while (i < it->len) {
        while (i < it->len && !query_is_word((unsigned char)it->text[i]))
            i++;
        size_t start = i;
        while (i < it->len && query_is_word((unsigned char)it->text[i]))
            i++;
        if (i == start)
            continue;
        if (it->kind == QUERY_FIXED && (start == 0 || i == it->len))
            continue;
        query_add_token(q, it->text + start, i - start);
    }
}

/* The field token of an equality field term (the index's, of the name
 * and the value as the message decodes it; folding twice is folding
 * once, so a term folded under icase gives the same token). */
static void
query_add_field_token(struct query *q, const struct query_item *it)
{
    uint8_t tok[TOKENIZE_MAX_LEN];
    size_t n = tokenize_field(it->name, it->name_len, it->text, it->len, tok);

    q->field_tokens[q->n_field_tokens++] = xstrndup((const char *)tok, n);
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
    if (q->is_icase) {
        size_t cap = 2 * len;
        it->text = xmalloc(cap + 1);
        it->len = casefold_str((const uint8_t *)text, len,
                               (uint8_t *)it->text, cap);
        it->text[it->len] = '\0';
    } else {
        it->text = xstrndup(text, len);
        it->len = len;
    }
    int is_word = kind == QUERY_TERM || kind == QUERY_PHRASE;
    it->has_start_bound = is_word && query_is_word((unsigned char)text[0]);
    it->has_end_bound = is_word &&
                        query_is_word((unsigned char)text[len - 1]);
    it->name = NULL;
    it->op = QUERY_OP_EQ;
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

/* Length of the field name at s[0..len) up to a ':': an ASCII letter,
 * '_' or '@', then letters, digits, '_', '.', '-', '@'; 0 if none. */
static size_t
query_field_name_len(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len && i <= FIELDS_MAX_NAME; i++) {
        unsigned char c = (unsigned char)s[i];
        int is_alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       c == '_' || c == '@';
        if (!is_alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '.' ||
                                      c == '-')))
            break;
    }
    return i <= FIELDS_MAX_NAME && i < len && s[i] == ':' ? i : 0;
}

/* The comparison at the start of v[0..*len) (">=" ...): the operator, v
 * and *len advanced past it. */
static enum query_op
query_field_op(const char **v, size_t *len)
{
    static const struct { const char *s; enum query_op op; } ops[] = {
        { ">=", QUERY_OP_GE }, { "<=", QUERY_OP_LE },
        { ">", QUERY_OP_GT }, { "<", QUERY_OP_LT },
    };

    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        size_t n = strlen(ops[k].s);
        if (*len >= n && memcmp(*v, ops[k].s, n) == 0) {
            *v += n;
            *len -= n;
            return ops[k].op;
        }
    }
    return QUERY_OP_EQ;
}

/* A field term at s + i (rules in query.h): 1 added (*pos past it), 0
 * not a field term, -1 error. */
static int
query_next_field(struct query *q, const char *s, size_t len, size_t *pos,
                 size_t i, int is_negated, int is_or, char **errstr)
{
    size_t n = query_field_name_len(s + i, len - i), v = i + n + 1, end;
    const char *val = s + v;
    size_t val_len;
    enum query_op op = QUERY_OP_EQ;
    double num = 0;

    if (n == 0)
        return 0;
    if (v < len && s[v] == '"') {
        const char *close = memchr(s + v + 1, '"', len - v - 1);
        if (close == NULL) {
            *errstr = xasprintf("unterminated quote at offset %zu", v);
            return -1;
        }
        val = s + v + 1;
        val_len = (size_t)(close - val);
        end = (size_t)(close - s) + 1;
    } else {
        for (end = v; end < len && !query_is_space((unsigned char)s[end]);)
            end++;
        val_len = end - v;
        if (val_len == 0 || val[0] == '/' || memchr(val, ':', val_len))
            return 0;
        op = query_field_op(&val, &val_len);
        if (op != QUERY_OP_EQ && fields_number(val, val_len, &num) < 0) {
            *errstr = xasprintf("field comparison '%.*s' needs a number "
                                "(at offset %zu)", (int)(end - i), s + i,
                                i);
            return -1;
        }
    }
    if (query_add_item(q, QUERY_FIELD, is_negated, val, val_len, is_or,
                       errstr) < 0)
        return -1;
    struct query_item *it = &q->items[q->n_items - 1];
    it->name = xstrndup(s + i, n);
    it->name_len = n;
    it->op = op;
    it->num = num;
    q->field_items |= (uint64_t)1 << (q->n_items - 1);
    *pos = end;
    return 1;
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
    int r = query_next_field(q, s, len, pos, i, is_negated, is_or, errstr);
    if (r != 0)
        return r;
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
        if (q->groups[g].n == 1 && !it->is_negated)
            query_add_tokens(q, it);
        if (q->groups[g].n == 1 && !it->is_negated &&
            it->kind == QUERY_FIELD && it->op == QUERY_OP_EQ)
            query_add_field_token(q, it);
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
    for (size_t i = 0; i < q->n_items; i++) {
        free(q->items[i].text);
        free(q->items[i].name);
    }
    for (size_t i = 0; i < q->n_tokens; i++)
        free(q->tokens[i]);
    for (size_t i = 0; i < q->n_field_tokens; i++)
        free(q->field_tokens[i]);
    query_regex_free(q->re);
    query_regex_free(q->not_re);
    free(q);
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
query_add_not_regex(struct query *q, const char *const *regex, size_t n,
                    char **errstr)
{
    if (n > QUERY_REGEX_MAX_PATTERNS) {
        *errstr = xasprintf("too many not_regex (at most %d)",
                            QUERY_REGEX_MAX_PATTERNS);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (strlen(regex[i]) > QUERY_MAX_REGEX) {
            *errstr = xasprintf("not_regex too long (at most %d bytes)",
                                QUERY_MAX_REGEX);
            return -1;
        }
    if (n == 0 || q->not_re != NULL)
        return 0;
    q->not_re = query_regex_new_any(regex, n, q->is_icase, errstr);
    return q->not_re != NULL ? 0 : -1;
}

/* ---- spans ---- */

/* Appends every occurrence of the item in msg that passes the word rule. */
static size_t
query_item_spans(const struct query *q, const struct query_item *it,
                 const char *msg, size_t len, size_t *out, size_t n,
                 size_t max)
{
    size_t pos = 0, m_len;

    while (pos < len && n < max) {
        const char *p = query_find(q, msg, len, pos, it, &m_len);
        if (p == NULL)
            break;
        size_t at = (size_t)(p - msg), end = at + m_len;
        int start_ok = !it->has_start_bound || at == 0 ||
                       !query_is_word((unsigned char)msg[at - 1]);
        int end_ok = !it->has_end_bound || end == len ||
                     !query_is_word((unsigned char)msg[end]);
        if (start_ok && end_ok) {
            out[2 * n] = at;
            out[2 * n + 1] = end;
            n++;
            pos = end;
        } else {
            pos = at + 1;
        }
    }
    return n;
}

/* The field terms' spans: each field a (not negated) field term matches
 * gives its value's text in the message (fields_field.raw). */
struct query_sstate {
    const struct query *q;
    const char         *msg;
    size_t             *out;
    size_t              n;
    size_t              max;
};

static int
query_field_spans_cb(const struct fields_field *f, void *arg)
{
    struct query_sstate *st = arg;
    const struct query *q = st->q;

    for (size_t i = 0; i < q->n_items && f->raw_len > 0; i++) {
        const struct query_item *it = &q->items[i];
        if (it->kind != QUERY_FIELD || it->is_negated ||
            !query_field_test(q, it, f))
            continue;
        st->out[2 * st->n] = (size_t)(f->raw - st->msg);
        st->out[2 * st->n + 1] = st->out[2 * st->n] + f->raw_len;
        st->n++;
        break;
    }
    return st->n >= st->max;
}

static int
query_span_cmp(const void *a, const void *b)
{
    const size_t *x = a, *y = b;

    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

size_t
query_spans(const struct query *q, const char *msg, size_t len, size_t *out,
            size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < q->n_items && n < max; i++)
        if (!q->items[i].is_negated && q->items[i].kind != QUERY_FIELD)
            n = query_item_spans(q, &q->items[i], msg, len, out, n, max);
    if (q->field_items != 0 && n < max) {
        struct query_sstate st = { q, msg, out, n, max };
        fields_foreach(msg, len, query_field_spans_cb, &st);
        n = st.n;
    }
    if (q->re != NULL && n < max)
        n += query_regex_spans(q->re, msg, len, out + 2 * n, max - n);
    if (n == 0)
        return 0;
    qsort(out, n, 2 * sizeof(*out), query_span_cmp);
    size_t k = 0;           /* merge overlapping and touching spans */
    for (size_t i = 1; i < n; i++) {
        if (out[2 * i] <= out[2 * k + 1]) {
            if (out[2 * i + 1] > out[2 * k + 1])
                out[2 * k + 1] = out[2 * i + 1];
            continue;
        }
        k++;
        out[2 * k] = out[2 * i];
        out[2 * k + 1] = out[2 * i + 1];
    }
    return k + 1;
}

int
query_add_fixed(struct query *q, const char *s, size_t len, char **errstr)
{
    if (len == 0) {
        *errstr = xstrdup("empty fixed string");
        return -1;
    }
    if (len > QUERY_MAX_TEXT) {
        *errstr = xasprintf("fixed string too long (at most %d bytes)",
                            QUERY_MAX_TEXT);
        return -1;
    }
    if (memchr(s, '\0', len) != NULL) {
        *errstr = xstrdup("fixed string contains a NUL byte");
        return -1;
    }
    if (query_add_item(q, QUERY_FIXED, 0, s, len, 0, errstr) < 0)
        return -1;
    query_add_tokens(q, &q->items[q->n_items - 1]);
    return 0;
}

size_t
query_tokens(const struct query *q, const char *const **tokens)
{
    *tokens = (const char *const *)q->tokens;
    return q->n_tokens;
}

struct query_tok {
    char   *word;
    size_t  len, n;
};

static int
query_one_token_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct query_tok *t = arg;

    (void)hash;
    if (t->n++ == 0 && len < TOKENIZE_MAX_LEN) {
        memcpy(t->word, tok, len);
        t->word[len] = '\0';
        t->len = len;
    }
    return 0;
}

int
query_count_word(const struct query *q, char word[TOKENIZE_MAX_LEN + 1],
                 unsigned *forms)
{
    const struct query_item *it = &q->items[0];
    struct query_tok t = { word, 0, 0 };

    if (q->n_items != 1 || q->n_groups != 1 || q->re != NULL ||
        q->not_re != NULL || it->kind != QUERY_TERM || it->is_negated ||
        it->len == 0 || it->len >= TOKENIZE_MAX_LEN)
        return 0;
    for (size_t i = 0; i < it->len; i++)
        if (!query_is_word((unsigned char)it->text[i]))
            return 0;
    tokenize_foreach(it->text, it->len, 0, query_one_token_cb, &t);
    if (t.n != 1 || t.len == 0)
        return 0;
    if (q->is_icase) {      /* any spelling: the term is folded as tokens */
        *forms = 0;
        return t.len == it->len && memcmp(word, it->text, t.len) == 0;
    }
    *forms = t.len == it->len
             ? tokenize_forms((const uint8_t *)word,
                              (const uint8_t *)it->text, t.len)
             : 0;
    return *forms != 0;
}

size_t
query_field_tokens(const struct query *q, const char *const **tokens)
{
    *tokens = (const char *const *)q->field_tokens;
    return q->n_field_tokens;
}

uint64_t
query_n_regex_aborted(const struct query *q)
{
    return (q->re != NULL ? query_regex_n_aborted(q->re) : 0) +
           (q->not_re != NULL ? query_regex_n_aborted(q->not_re) : 0);
}
