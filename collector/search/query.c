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
 *
 * Parts, one job each (query_internal.h holds the parsed query): this
 * file the public API (parse, free, the fixed strings and not_regex added
 * after parsing, the tokens the index uses, count's single word);
 * query_parse.c the text of a query into items and tokens; query_match.c
 * the matcher; query_spans.c the spans that --color highlights.
 */
#include "collector/search/query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/search/query_internal.h"
#include "collector/search/query_regex.h"
#include "collector/store/tokenize.h"
#include "common/xmalloc.h"

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
    for (size_t i = 0; i < q->n_bwords; i++)
        free(q->bwords[i]);
    query_regex_free(q->re);
    query_regex_free(q->not_re);
    free(q);
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
query_bwords(const struct query *q, const char *const **words)
{
    *words = (const char *const *)q->bwords;
    return q->n_bwords;
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
