/* SPDX-License-Identifier: MIT */
/*
 * query_parse: the text of a query (grammar in query.h) into a struct
 * query: terms, phrases, fixed strings and field terms, negation, OR
 * groups, icase folding; the required tokens of the store's index taken
 * from them; the regexes compiled (query_regex.c) with the words they
 * require.
 */
#include "collector/search/query_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/search/query_regex.h"
#include "collector/store/tokenize.h"
#include "common/casefold.h"
#include "common/xmalloc.h"

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
void
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

int
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

int
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

int
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
    n = query_regex_bwords_all(regex, n_regex, w, QUERY_REGEX_MAX_WORDS);
    for (size_t i = 0; i < n && q->n_bwords < QUERY_REGEX_MAX_WORDS; i++)
        q->bwords[q->n_bwords++] = xstrndup(regex[0] + w[i].off, w[i].len);
    return 0;
}
