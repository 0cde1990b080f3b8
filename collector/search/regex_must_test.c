/* SPDX-License-Identifier: MIT */
/*
 * regex_must_test: the required literals of a pattern (regex_must.c) and
 * the search of many messages at once that uses them
 * (query_regex_maybe_col), against the reference, one PCRE2 search per
 * message (query_regex_match_in). A table pins the literal found in each
 * construct; a differential test compiles random patterns (anchors,
 * boundaries, look-arounds, quantifiers, groups, alternatives, escapes,
 * newlines, case folding) and, for each one with literals, lays random
 * messages back to back (empty ones, newlines, CR, bytes 0x01-0xff, never
 * NUL) and checks that no message with a match is ruled out, so the
 * answer per message (ruled out: 0, else its own search) is the
 * reference's. The scan's vector loops (SSE2, and AVX2 where the CPU has
 * it) against a byte loop on long columns: test_col_scan_paths; the
 * search of a whole block's bytes (regex_must_find): test_find_whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/query_regex.h"
#include "collector/search/regex_must.h"
#include "tests/support/regexgen.h"

struct must_case {
    const char *pattern;
    const char *must;           /* "" : none */
};

static const struct must_case must_cases[] = {
    { "[0-9]{3}\\.[0-9]{3}\\.[0-9]{3}\\.9[0-9]", ".9" },
    { "error", "error" },
    { "err(or)?", "err" },
    { "a.p", "a" },
    { "time=[0-9]+ms", "time=" },
    { "ab+c", "a" },            /* b repeats: "a" and "c" are runs */
    { "abc?d", "ab" },
    { "ab*cd", "cd" },
    { "a{2}bc", "bc" },         /* the brace's digits are no literal */
    { "x{,3}yz", "yz" },
    { "\\$[0-9]+\\.[0-9]{2}", "$" },
    { "GET /api/v[0-9]", "GET /api/v" },
    { "^ERROR: ", "ERROR: " },
    { "foo$", "foo" },
    { "\\bdb01\\b", "db01" },
    { "\\<db01\\>", "db01" },   /* GNU anchors are no bytes */
    { "(?:abc)def", "def" },
    { "[abc]de", "de" },
    { "[]x]yz", "yz" },
    { "a\\d\\.b", ".b" },
    { "get|warn", "" },         /* alternatives: none required */
    { "(?i)abc", "abc" },       /* a leading (?i): folded (below) */
    { "(?-i)abc", "abc" },
    { "(?im)^abc", "abc" },
    { "(?x)abc", "" },          /* options that change the parsing */
    { "(?i:a)bc", "" },
    { "ab(?i)c", "" },          /* later: from there on */
    { "(?=ab)abc", "" },
    { "(*UTF)ab", "" },
    { "\\Qa.b\\E", "" },
    { "\\x41BC", "" },
    { "(a)\\1bc", "" },
    { "\\cAbc", "" },
    { "a?", "" },
    /* "[:" without ":]" before a ']' is no POSIX name: the class ends at
     * the first ']', and the '|' after it is at the top level */
    { "[[:a]|b:]]xy", "" },
    { "[[:a]x:]]yz", "x:]]yz" },
    { "[[:alpha:]x]yz", "yz" },
};

static void
test_must_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(must_cases) / sizeof(must_cases[0]);
         i++) {
        const struct must_case *c = &must_cases[i];
        struct regex_must m;
        size_t len = regex_must_parse(c->pattern, 0, &m);
        if (len != strlen(c->must) || memcmp(m.lit, c->must, len) != 0)
            fail_msg("regex_must_parse(%s) = [%.*s], want [%s]",
                     c->pattern, (int)len, (const char *)m.lit, c->must);
        /* folded when a leading setting turns caseless on */
        assert_int_equal(m.is_icase, strncmp(c->pattern, "(?i", 3) == 0 &&
                                     len > 0);
    }
    struct regex_must m;
    assert_int_equal(regex_must_parse("(?-i)abc", 1, &m), 3);
    assert_int_equal(m.is_icase, 1);    /* a superset: still folded */
}

/* A pattern without a literal of 2 bytes gets no column search. */
static void
test_col_refuses_without_literal(void **state)
{
    (void)state;
    char *err = NULL;
    const char *pats[] = { "abc", "x+" };
    struct query_regex *re = query_regex_new_any(pats, 2, 0, &err);
    uint8_t maybe[2] = { 7, 7 };
    uint32_t ends[2] = { 1, 2 };

    assert_non_null(re);
    assert_int_equal(query_regex_can_col(re), 0);
    assert_int_equal(query_regex_maybe_col(re, "ab", ends, 2, maybe), -1);
    assert_int_equal(maybe[0], 7);
    query_regex_free(re);
}

/* A '[' that opens no POSIX name does not hide a top-level '|': the
 * first alternative matches "a" with no "xy" in it (ruled out before). */
static void
test_col_posix_lookalike(void **state)
{
    (void)state;
    char *err = NULL;
    struct query_regex *re = query_regex_new("[[:a]|b:]]xy", 0, &err);
    uint8_t maybe[1] = { 7 };
    uint32_t ends[1] = { 1 };

    assert_non_null(re);
    assert_int_equal(query_regex_match(re, "a", 1), 1);
    if (query_regex_can_col(re)) {
        assert_int_equal(query_regex_maybe_col(re, "a", ends, 1, maybe), 0);
        assert_int_equal(maybe[0], 1);
    }
    query_regex_free(re);
}

/* Lays msgs back to back into text, ends set; returns their count. */
static uint32_t
lay(const char *const *msgs, uint32_t n, char *text, uint32_t *ends)
{
    uint32_t end = 0;

    for (uint32_t i = 0; i < n; i++) {
        memcpy(text + end, msgs[i], strlen(msgs[i]));
        end += (uint32_t)strlen(msgs[i]);
        ends[i] = end;
    }
    return n;
}

/* The literal must lie inside one message (".9" split over two is not
 * one); it is found in the 16-byte steps and in the tail after them;
 * icase folds letters, not other bytes. */
static void
test_col_scan_edges(void **state)
{
    (void)state;
    char *err = NULL;
    const char *msgs[] = {
        "ab.", "9", "", "0123456789abcdef0123.9", "xyz.9", ".",
        "0123456789abcdefOK", "0123456789abcdef0123456789Ok",
        "0123456789abcdef0123456789o\x0b",
    };
    char text[256];
    uint32_t ends[9];
    uint8_t maybe[9];
    uint32_t n = lay(msgs, 9, text, ends);
    struct query_regex *re = query_regex_new("[0-9]\\.9", 0, &err);

    assert_non_null(re);
    assert_int_equal(query_regex_can_col(re), 1);
    assert_int_equal(query_regex_maybe_col(re, text, ends, n, maybe), 0);
    assert_int_equal(maybe[0], 0);
    assert_int_equal(maybe[1], 0);
    assert_int_equal(maybe[2], 0);
    assert_int_equal(maybe[3], 1);      /* in the tail past 16 bytes */
    assert_int_equal(maybe[4], 1);
    assert_int_equal(maybe[5], 0);
    query_regex_free(re);
    re = query_regex_new("ok", 1, &err);
    assert_non_null(re);
    assert_int_equal(query_regex_maybe_col(re, text, ends, n, maybe), 0);
    assert_int_equal(maybe[6], 1);      /* "OK" folded */
    assert_int_equal(maybe[7], 1);      /* "Ok" */
    assert_int_equal(maybe[8], 0);      /* 'o' then 0x0b ('K' | 0x20 is
                                           'k', 0x0b | 0x20 is '+') */
    assert_int_equal(maybe[0] + maybe[3] + maybe[4], 0);
    query_regex_free(re);
}

/* ---- differential ---- */

static const char *const pieces[] = {
    "a", "b", "ab", "A", "1", " ", ".", "\\.", "\n", "\\n", "\r", "\\s",
    "\\S", "\\w", "\\W", "\\d", "\\D", "\\N", "a?", "b*", "a+", "b{2}",
    "a{1,3}", "[ab]", "[^a]", "[ \\n]", "(a|b)", "(?:a )", "(a)?", "|",
    "(", ")", ".*", ".+", ".?", "a*?", "(a)\\1", "(?i)a", "(?-i:B)",
    "[[:alpha:]]", "\\x01", "\\xff", "[\\x80-\\xff]", "(?|(a)|(b))\\1",
    "^", "$", "\\b", "\\B", "\\A", "\\z", "\\Z", "\\G", "(?=a)", "(?!a)",
    "(?<=a)", "(?<!b)", "(?>a+)", "a++", "b*+", "a?+", "(b*+)\\1", "\\R",
    "\\X", "\\K", "\\<", "\\>", "ab", "ba", "a.", ".b", "\\.a", "{2}",
    "{", "}", "]", "a{2,}", "\\$", "\\\\", "\\-", "\\ ",
};
#define N_PIECES (sizeof(pieces) / sizeof(pieces[0]))

/* Pieces that make literals likely. */
static const char *const lit_pieces[] = {
    "ab", "ba", "aB", "1.", "\\.a", " a", "b\n", "\\-b", "a\r",
};
#define N_LIT_PIECES (sizeof(lit_pieces) / sizeof(lit_pieces[0]))

static const char text_alpha[] = "aaabbbAB1 .\n\r\x01\x7f\x80\xff";

static struct regexgen gen = {
    .state = 0x2545f4914f6cdd1dull,
    .pieces = pieces, .n_pieces = N_PIECES,
    .lits = lit_pieces, .n_lits = N_LIT_PIECES,
    .max_pieces = 6, .lit_one_in = 3,
};

static unsigned
rn(unsigned n)
{
    return regexgen_rn(&gen, n);
}

/* n messages back to back into text (at most cap bytes), ends set: half
 * of them from the bytes of pattern p (so they often match), the others
 * random. */
static void
gen_column(const char *p, char *text, size_t cap, uint32_t *ends,
           uint32_t n)
{
    uint32_t end = 0;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = rn(4) == 0 ? 0 : rn(12);
        int is_own = rn(2);
        size_t k = 0;
        for (uint32_t j = 0; j < len && end < cap; j++) {
            while (is_own && p[k] != '\0' &&
                   strchr("\\^$?*+{}()[]|", p[k]) != NULL)
                k++;
            if (is_own && p[k] != '\0' && rn(5) != 0)
                text[end++] = p[k++];
            else
                text[end++] = text_alpha[rn(sizeof(text_alpha) - 1)];
        }
        ends[i] = end;
    }
}

struct col_stats {
    size_t n_col, n_refused, n_msgs, n_matched, n_ruled_out;
};

/* One pattern set against random columns. */
static void
check_patterns(const char *const *pats, size_t n_pats, int icase,
               struct col_stats *cs)
{
    char *err = NULL;
    struct query_regex *re = query_regex_new_any(pats, n_pats, icase, &err);

    if (re == NULL) {
        free(err);
        return;
    }
    if (!query_regex_can_col(re)) {
        cs->n_refused++;
        query_regex_free(re);
        return;
    }
    cs->n_col++;
    struct query_regex_state *one = query_regex_state_new(re);
    assert_non_null(one);
    for (int k = 0; k < 8; k++) {
        char text[16 * 12];
        uint32_t ends[16];
        uint8_t maybe[16];
        uint32_t n = 1 + rn(16);
        gen_column(pats[rn((unsigned)n_pats)], text, sizeof(text), ends, n);
        assert_int_equal(query_regex_maybe_col(re, text, ends, n, maybe),
                         0);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t start = i > 0 ? ends[i - 1] : 0;
            int ref = query_regex_match_in(re, one, text + start,
                                           ends[i] - start);
            int got = maybe[i] ? query_regex_match_in(re, one, text + start,
                                                      ends[i] - start)
                               : 0;
            cs->n_msgs++;
            cs->n_matched += ref == 1;
            cs->n_ruled_out += maybe[i] == 0;
            if (got != ref)
                fail_msg("patterns [%s]%s%s%s icase %d: message %u [%.*s] "
                         "of %u: column %d, alone %d", pats[0],
                         n_pats > 1 ? " [" : "", n_pats > 1 ? pats[1] : "",
                         n_pats > 1 ? "]" : "", icase, i,
                         (int)(ends[i] - start), text + start, n, got, ref);
        }
    }
    query_regex_state_free(one);
    query_regex_free(re);
}

static void
test_col_differential(void **state)
{
    (void)state;
    struct col_stats cs = { 0 };

    for (int iter = 0; iter < 30000; iter++) {
        char p[2][96];
        const char *pats[2] = { p[0], p[1] };
        size_t n_pats = 1 + (rn(4) == 0);
        for (size_t i = 0; i < n_pats; i++)
            regexgen_pattern(&gen, p[i], sizeof(p[i]));
        check_patterns(pats, n_pats, (int)rn(2), &cs);
    }
    print_message("%zu pattern sets with literals, %zu without; %zu "
                  "messages, %zu matched, %zu ruled out\n", cs.n_col,
                  cs.n_refused, cs.n_msgs, cs.n_matched, cs.n_ruled_out);
    /* The test must have exercised both answers, not skipped them. */
    assert_true(cs.n_col > 8000);
    assert_true(cs.n_refused > 3000);
    assert_true(cs.n_matched > 20000);
    assert_true(cs.n_ruled_out > 20000);
}

/* 1 if msg[0..len) holds m's literal (folded when is_icase): the
 * reference for regex_must_scan. */
static int
holds(const struct regex_must *m, const uint8_t *msg, size_t len)
{
    for (size_t s = 0; s + m->len <= len; s++) {
        size_t k = 0;
        for (; k < m->len; k++) {
            uint8_t a = msg[s + k], b = m->lit[k];
            if (m->is_icase && a >= 'A' && a <= 'Z')
                a = (uint8_t)(a | 0x20);
            if (m->is_icase && b >= 'A' && b <= 'Z')
                b = (uint8_t)(b | 0x20);
            if (a != b)
                break;
        }
        if (k == m->len)
            return 1;
    }
    return 0;
}

/* regex_must_scan's vector loops (16 bytes a step, and 32 where the CPU
 * has AVX2) on long columns: literals of 1 to 6 bytes planted at every
 * offset around the 16- and 32-byte steps, across message ends (which
 * must not count) and folded; each message's answer must be exactly
 * whether it holds the literal, on both loops. */
static void
test_col_scan_paths(void **state)
{
    (void)state;
    static const char *const lits[] = { ".9", "x", "ab.9", "Err", "q9z.k",
                                        "aB1.\n" };
    char text[8192];
    uint32_t ends[256];
    uint8_t maybe[256];
    size_t n_held = 0, n_not = 0;

    for (int iter = 0; iter < 400; iter++) {
        struct regex_must m = { .is_icase = (int)rn(2) };
        const char *lit = lits[rn(sizeof(lits) / sizeof(lits[0]))];
        m.len = strlen(lit);
        memcpy(m.lit, lit, m.len);
        uint32_t n = 1 + rn(256), end = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t len = rn(3) == 0 ? rn(4) : rn(60);
            if (end + len > sizeof(text))
                len = (uint32_t)sizeof(text) - end;
            for (uint32_t j = 0; j < len; j++)
                text[end + j] = text_alpha[rn(sizeof(text_alpha) - 1)];
            /* the literal, or a piece of it, somewhere in it: at any
             * offset of the column, so also across the vector steps
             * and the message's end */
            if (len > 0 && rn(3) == 0) {
                uint32_t at = rn(len);
                for (size_t k = 0; k < m.len && at + k < len; k++) {
                    char c = lit[k];
                    if (m.is_icase && rn(2) && c >= 'a' && c <= 'z')
                        c = (char)(c - 'a' + 'A');
                    text[end + at + k] = c;
                }
            }
            end += len;
            ends[i] = end;
        }
        for (int is_sse2 = 0; is_sse2 < 2; is_sse2++) {
            regex_must_force_sse2(is_sse2);
            memset(maybe, 0, n);
            regex_must_scan(&m, text, ends, n, maybe);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t start = i > 0 ? ends[i - 1] : 0;
                int ref = holds(&m, (const uint8_t *)text + start,
                                ends[i] - start);
                if (maybe[i] != ref)
                    fail_msg("literal [%s] icase %d, message %u of %u "
                             "[%.*s] (at %u), sse2 only %d: got %d",
                             lit, m.is_icase, i, n, (int)(ends[i] - start),
                             text + start, start, is_sse2, maybe[i]);
                n_held += ref;
                n_not += !ref;
            }
        }
    }
    regex_must_force_sse2(0);
    assert_true(n_held > 5000);
    assert_true(n_not > 5000);
}

/* regex_must_find over a whole buffer (a block's raw bytes: columns,
 * NUL bytes, messages) against a byte loop, the literal or a piece of it
 * put at any offset, the first and last byte included, on both vector
 * paths: a miss would leave a block holding a match undecoded. */
static void
test_find_whole(void **state)
{
    (void)state;
    static const char *const lits[] = { ".9", "zebracorn id=", "Err",
                                        "a\0b", "q9z.k", "aB1.\n" };
    static const char alpha[] = "aaabbbzAB1 .=\n\r\0\x01\x7f\x80\xff";
    uint8_t text[3000];
    size_t n_held = 0, n_not = 0;

    for (int iter = 0; iter < 3000; iter++) {
        struct regex_must m = { .is_icase = (int)rn(2) };
        const char *lit = lits[rn(sizeof(lits) / sizeof(lits[0]))];
        m.len = strcmp(lit, "a\0b") == 0 ? 3 : strlen(lit);
        memcpy(m.lit, lit, m.len);
        size_t len = rn(4) == 0 ? rn(40) : rn(sizeof(text) + 1);
        for (size_t j = 0; j < len; j++)
            text[j] = (uint8_t)alpha[rn(sizeof(alpha) - 1)];
        if (len > 0 && rn(2) == 0) {
            /* whole or cut short, at the start, the end or anywhere */
            size_t k = rn(3) ? m.len : rn((unsigned)m.len);
            size_t at = rn(3) == 0 ? 0 : rn(3) == 0 && len >= k
                                       ? len - k : rn((unsigned)len);
            for (size_t i = 0; i < k && at + i < len; i++) {
                uint8_t c = m.lit[i];
                if (m.is_icase && rn(2) && c >= 'a' && c <= 'z')
                    c = (uint8_t)(c - 'a' + 'A');
                text[at + i] = c;
            }
        }
        int ref = holds(&m, text, len);
        for (int is_sse2 = 0; is_sse2 < 2; is_sse2++) {
            regex_must_force_sse2(is_sse2);
            if (regex_must_find(&m, (const char *)text, len) != ref)
                fail_msg("literal [%s] icase %d, %zu bytes, sse2 only %d: "
                         "want %d", lit, m.is_icase, len, is_sse2, ref);
        }
        n_held += ref;
        n_not += !ref;
    }
    regex_must_force_sse2(0);
    assert_true(n_held > 500);
    assert_true(n_not > 500);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_must_table),
        cmocka_unit_test(test_col_refuses_without_literal),
        cmocka_unit_test(test_col_posix_lookalike),
        cmocka_unit_test(test_col_scan_edges),
        cmocka_unit_test(test_col_differential),
        cmocka_unit_test(test_col_scan_paths),
        cmocka_unit_test(test_find_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
