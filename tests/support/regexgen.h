/* SPDX-License-Identifier: MIT */
/*
 * regexgen: random patterns and texts for the differential tests of the
 * regex readers (collector/search/query_regex_test.c, regex_must_test.c,
 * regex_syntax_test.c): a pattern joins pieces from the test's tables, a
 * text mixes a pattern's own bytes with random ones so that it often
 * matches, and a check that a text holds a word (whole, folded). One
 * xorshift64 stream per generator: a test gives the same patterns on
 * every run. Test-only, header-only.
 */
#ifndef TESTS_SUPPORT_REGEXGEN_H
#define TESTS_SUPPORT_REGEXGEN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tests/support/testrng.h"

struct regexgen {
    uint64_t           state;       /* the stream: any value but 0 */
    const char *const *pieces;      /* any construct */
    size_t             n_pieces;
    const char *const *lits;        /* pieces that make literals likely */
    size_t             n_lits;
    unsigned           max_pieces;  /* a pattern joins 1..max_pieces */
    unsigned           lit_one_in;  /* one piece in this many: a lit */
};

/* The next number of g's stream below n (n > 0). */
static inline unsigned
regexgen_rn(struct regexgen *g, unsigned n)
{
    return testrng_below(&g->state, n);
}

/* A pattern into p (NUL-terminated, cap bytes at most): pieces joined
 * while they fit. */
static inline void
regexgen_pattern(struct regexgen *g, char *p, size_t cap)
{
    size_t n = 1 + regexgen_rn(g, g->max_pieces), used = 0;

    p[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *s = regexgen_rn(g, g->lit_one_in)
                            ? g->pieces[regexgen_rn(g, (unsigned)g->n_pieces)]
                            : g->lits[regexgen_rn(g, (unsigned)g->n_lits)];
        size_t l = strlen(s);
        if (used + l + 1 > cap)
            break;
        memcpy(p + used, s, l + 1);
        used += l;
    }
}

/* A text of 1..cap-1 bytes into t (not NUL-terminated) that often
 * matches p: half the time p's bytes but its syntax ('\' ^ $ ? * + { } (
 * ) [ ] |), each kept 3 times in 4, then bytes of alpha (NUL-terminated)
 * at random. Returns its length. */
static inline size_t
regexgen_text(struct regexgen *g, const char *p, const char *alpha, char *t,
              size_t cap)
{
    size_t n = 0, len = 1 + regexgen_rn(g, (unsigned)cap - 1);

    if (regexgen_rn(g, 2) == 0)
        for (size_t i = 0; p[i] != '\0' && n < len; i++)
            if (regexgen_rn(g, 4) != 0 &&
                strchr("\\^$?*+{}()[]|", p[i]) == NULL)
                t[n++] = p[i];
    while (n < len)
        t[n++] = alpha[regexgen_rn(g, (unsigned)strlen(alpha))];
    return n;
}

static inline unsigned char
regexgen_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* The word rule (query.h): ASCII letters, digits, '_', bytes >= 0x80. */
static inline int
regexgen_is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/* Whether t[0..len) holds w (ASCII case folded when is_icase); is_whole:
 * with no word byte right before or after it (a token of the store's
 * index). */
static inline int
regexgen_holds(const char *t, size_t len, const char *w, size_t w_len,
               int is_icase, int is_whole)
{
    for (size_t i = 0; i + w_len <= len; i++) {
        size_t k = 0;
        while (k < w_len &&
               (is_icase ? regexgen_lower((unsigned char)t[i + k]) ==
                               regexgen_lower((unsigned char)w[k])
                         : t[i + k] == w[k]))
            k++;
        if (k < w_len)
            continue;
        if (!is_whole ||
            ((i == 0 || !regexgen_is_word((unsigned char)t[i - 1])) &&
             (i + w_len == len ||
              !regexgen_is_word((unsigned char)t[i + w_len]))))
            return 1;
    }
    return 0;
}

#endif
