/* SPDX-License-Identifier: MIT */
/*
 * query_regex_test: the PCRE2 wrapper (syntax choices, bad patterns, match
 * budget) and the required-word extractor (collector/search/query_regex.c): a
 * table of patterns with their exact word lists, then a differential test
 * that checks the extractor's promise against PCRE2 itself on random
 * patterns and texts: every text a pattern matches holds each word as a
 * whole token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/query_regex.h"
#include "common/xmalloc.h"

/* ---- wrapper ---- */

static int
match_str(const char *pattern, int icase, const char *msg)
{
    char *err = NULL;
    struct query_regex *re = query_regex_new(pattern, icase, &err);
    if (re == NULL)
        fail_msg("[%s]: %s", pattern, err);
    int m = query_regex_match(re, msg, strlen(msg));
    assert_int_equal(query_regex_n_aborted(re), 0);
    query_regex_free(re);
    return m;
}

static void
test_regex_syntax(void **state)
{
    (void)state;
    assert_true(match_str("^GET /[a-z]+ [0-9]{3}$", 0, "GET /index 200"));
    assert_false(match_str("^GET /[a-z]+ [0-9]{3}$", 0, "GET /index 2000"));
    assert_true(match_str("[[:alpha:]]+[[:digit:]]", 0, "--ab1"));
    assert_false(match_str("^[[:alpha:]]+$", 0, "ab1"));
    assert_true(match_str("\\bid=\\d+\\b", 0, "x id=42 y"));
    assert_false(match_str("\\bid=\\d+\\b", 0, "xid=42"));
    assert_true(match_str("TimeOut", 1, "a TIMEOUT"));
    assert_false(match_str("TimeOut", 0, "a TIMEOUT"));
    assert_false(match_str("\xc3\xa9t\xc3\xa9", 1, "\xc3\x89T\xc3\x89"));
    assert_true(match_str("\xc3\xa9t\xc3\xa9", 0, "un \xc3\xa9t\xc3\xa9"));
    /* DOTALL and DOLLAR_ENDONLY, as POSIX regexec without REG_NEWLINE */
    assert_true(match_str("a.b", 0, "a\nb"));
    assert_false(match_str("a$", 0, "a\n"));
    /* one byte per '.', invalid UTF-8 is fine */
    assert_true(match_str("^x..y$", 0, "x\xff\xfey"));
    assert_true(match_str("(?i)abc", 0, "ABC"));
    assert_true(match_str("(a)\\1", 0, "aa"));
}

static void
test_regex_not_nul_terminated(void **state)
{
    (void)state;
    char *err = NULL;
    struct query_regex *re = query_regex_new("c$", 0, &err);
    assert_non_null(re);
    const char msg[] = { 'a', 'b', 'c', 'd' };
    assert_int_equal(query_regex_match(re, msg, 3), 1);
    assert_int_equal(query_regex_match(re, msg, 4), 0);
    const char bin[] = { 'x', '\0', 'c' };
    assert_int_equal(query_regex_match(re, bin, sizeof(bin)), 1);
    assert_int_equal(query_regex_match(re, NULL, 0), 0);
    query_regex_free(re);
    re = query_regex_new("^$", 0, &err);
    assert_int_equal(query_regex_match(re, NULL, 0), 1);
    query_regex_free(re);
}

static void
test_regex_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "a(b", "[z-a]", "a+++", "*a", "x{99999999999999999999}",
        "((((a{100}){100}){100}){100})", "(*UTF)abc", "(*UCP)\\w",
        "[[:nope:]]", "a\\", "(?<n>a)(?<n>b)",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *err = NULL;
        struct query_regex *re = query_regex_new(bad[i], 0, &err);
        if (re != NULL)
            fail_msg("[%s] compiled", bad[i]);
        assert_non_null(err);
        if (strncmp(err, "bad regex at offset ", 20) != 0)
            fail_msg("[%s]: %s", bad[i], err);
        free(err);
    }
    char *err = NULL;
    query_regex_free(query_regex_new("a(b", 0, &err));
    assert_non_null(strstr(err, "offset 3: missing closing parenthesis"));
    free(err);
}

/* Catastrophic backtracking is cut by the budget, counted, and the regex
 * keeps working; an ordinary pattern over a long message is not cut. */
static void
test_regex_budget(void **state)
{
    (void)state;
    char *err = NULL;
    struct query_regex *re = query_regex_new("^(a|aa)+$", 0, &err);
    assert_non_null(re);
    char msg[64];
    memset(msg, 'a', sizeof(msg));
    msg[sizeof(msg) - 1] = 'b';
    assert_int_equal(query_regex_match(re, msg, sizeof(msg)), 0);
    assert_int_equal(query_regex_n_aborted(re), 1);
    assert_int_equal(query_regex_match(re, "aaaa", 4), 1);
    assert_int_equal(query_regex_n_aborted(re), 1);
    query_regex_free(re);

    size_t big = (size_t)1 << 20;
    char *text = xmalloc(big);
    for (size_t i = 0; i < big; i++)
        text[i] = "abcdefghij 0123456789"[i % 21];
    static const char *const ok[] = {
        ".*foo", "[0-9]{3}\\.[0-9]{3}", "(a|b)*c{5}", "\\w+ \\d+x",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        re = query_regex_new(ok[i], 0, &err);
        assert_non_null(re);
        assert_int_equal(query_regex_match(re, text, big), 0);
        if (query_regex_n_aborted(re) != 0)
            fail_msg("[%s] aborted on 1 MiB", ok[i]);
        query_regex_free(re);
    }
    free(text);
}

/* ---- required words ---- */

struct words_case {
    const char *pattern;
    const char *want;       /* words joined by ',' ("" for none) */
};

static const struct words_case words_cases[] = {
    /* unanchored ends are not bounds: "xzebracorn id=1" matches */
    { "zebracorn id=[0-3]", "id" },
    { "zebracorn", "" },
    { "^zebracorn$", "zebracorn" },
    { "\\bzebracorn id=[0-3]", "zebracorn,id" },
    { "\\bzebracorn\\b", "zebracorn" },
    { "\\Azebracorn\\z", "zebracorn" },
    { "^a b c$", "a,b,c" },
    { " disk full ", "disk,full" },
    { "user=alice,", "alice" },
    /* escapes */
    { "^10\\.0\\.0\\.1$", "10,0,0,1" },
    { "\\.foo\\.", "foo" },
    { "\\sfoo\\s", "foo" },
    { "\\Wfoo\\W", "foo" },
    { "\\tfoo\\n", "foo" },
    { "\\dfoo ", "" },
    { " foo\\d", "" },
    { "\\wfoo ", "" },
    { " foo\\B", "" },
    { " a\\Kb ", "" },
    { " \\x41bc ", "" },            /* \x takes arguments: give up */
    { " (x) ab \\1", "" },
    { " ab \\Qc\\E ", "" },
    { " ab \\p{L}", "" },
    { " ab \\cA", "" },
    /* quantifiers */
    { " foo? ", "" },
    { " foo+ ", "" },
    { " foo* ", "" },
    { " foo{2} ", "" },
    { " foo{0,} ", "" },
    { " fo{1}o ", "" },
    { " foo bar? ", "foo" },
    { " foo ?bar ", "" },           /* ' ?' may be empty */
    { " foo +bar ", "foo,bar" },    /* ' +' is at least one space */
    { " foo\\s*bar ", "" },
    { " foo\\s+bar ", "foo,bar" },
    { " foo\\s{0,3}bar ", "" },
    { " foo\\s{1,3}bar ", "foo,bar" },
    { " foo\\s{1,}?bar ", "foo,bar" },
    { " foo\\s++bar ", "foo,bar" },
    { " foo {,3}bar ", "" },        /* quantifier since PCRE2 10.43 */
    { " foo { 1}bar ", "" },
    { " foo {x}bar ", "foo,x,bar" }, /* not a quantifier: literal */
    { " foo{x} ", "foo,x" },
    { "^\\{ foo", "" },
    { "^\\{foo ", "foo" },
    /* classes: never bounds, and their contents are not literals */
    { "[ ]foo[ ]", "" },
    { " [a]foo ", "" },
    { " zebra[a-z]*corn ", "" },
    { " x[]a] y ", "y" },
    { " x[^]a] y ", "y" },
    { " x[[:alpha:]] y ", "y" },
    { " x[[:^alpha:]] y ", "y" },
    { " x[[:a] y ", "y" },
    { " x[\\]] y ", "y" },
    { " [\\Q]\\E] y ", "" },
    /* groups */
    { " (foo) ", "" },
    { " (?:foo) bar ", "bar" },
    { " (foo)? bar ", "bar" },
    { " foo(?= )", "" },
    { " foo (?<n>x) bar ", "foo,bar" },
    { " foo (?'n'x) bar ", "foo,bar" },
    { " foo (?P<n>x) bar ", "foo,bar" },
    { " foo (?<=x) bar ", "foo,bar" },
    { " foo (x|y) bar ", "foo,bar" },
    { " foo ([)]) bar ", "foo,bar" },
    { " foo (\\)) bar ", "foo,bar" },
    { "(?x) foo bar ", "" },        /* options change the parsing */
    { " foo (?x) bar ", "" },
    { " foo (?i) bar ", "" },
    { " foo (?#c) bar ", "" },
    { " foo (?:(*ACCEPT)) bar ", "" },
    { "(*CR) foo ", "" },
    { " foo (?R)? bar ", "" },
    { " (x) foo (?(1)a|b) bar ", "" },
    /* alternation */
    { " foo |bar ", "" },
    { "^a b$|^a c$", "" },
    /* anchors and odd bytes */
    { "^foo", "" },
    { "foo$", "" },
    { "^foo\\b", "foo" },
    { "^$", "" },
    { ".foo.", "" },
    { "\xc3\xa9t\xc3\xa9 ", "t" },
    { "#foo#", "foo" },
    { " FooBar ", "FooBar" },
    { " a\\ b ", "a,b" },
};

static void
check_words(const char *pattern, const char *want)
{
    struct query_regex_word w[QUERY_REGEX_MAX_WORDS];
    size_t n = query_regex_words(pattern, w, QUERY_REGEX_MAX_WORDS);
    char got[512];
    size_t used = 0;

    got[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(got + used, sizeof(got) - used, "%s%.*s",
                         i ? "," : "", (int)w[i].len, pattern + w[i].off);
        assert_true(k > 0 && (size_t)k < sizeof(got) - used);
        used += (size_t)k;
    }
    if (strcmp(got, want) != 0)
        fail_msg("[%s]: got [%s], want [%s]", pattern, got, want);
}

static void
test_regex_words_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(words_cases) / sizeof(words_cases[0]);
         i++) {
        const struct words_case *c = &words_cases[i];
        check_words(c->pattern, c->want);
        /* Every case compiles, so its words are about a real regex. */
        char *err = NULL;
        struct query_regex *re = query_regex_new(c->pattern, 0, &err);
        if (re == NULL)
            fail_msg("[%s]: %s", c->pattern, err);
        query_regex_free(re);
    }
}

static void
test_regex_words_limits(void **state)
{
    (void)state;
    struct query_regex_word w[2];
    assert_int_equal(query_regex_words("^a b c d$", w, 2), 2);
    assert_int_equal(w[0].off, 1);
    assert_int_equal(w[1].off, 3);
    /* A construct it gives up on drops the words before it too. */
    assert_int_equal(query_regex_words("^a b \\1", w, 2), 0);
    /* Unterminated syntax (not compilable) is read safely. */
    assert_int_equal(query_regex_words(" a [b", w, 2), 0);
    assert_int_equal(query_regex_words(" a (b", w, 2), 0);
    assert_int_equal(query_regex_words(" a \\", w, 2), 0);
    assert_int_equal(query_regex_words(" a [[:", w, 2), 0);
    assert_int_equal(query_regex_words(" a {1", w, 2), 1);
}

/* ---- differential: the promise, checked with PCRE2 ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static unsigned
rn(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static int
is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Whether text holds w (ASCII case folded) with no ASCII letter or digit
 * right before or after it: a whole token in the store's index. */
static int
has_whole_token(const char *text, size_t len, const char *w, size_t w_len)
{
    for (size_t i = 0; i + w_len <= len; i++) {
        size_t k = 0;
        while (k < w_len && lower((unsigned char)text[i + k]) ==
                                lower((unsigned char)w[k]))
            k++;
        if (k < w_len)
            continue;
        if ((i == 0 || !is_alnum((unsigned char)text[i - 1])) &&
            (i + w_len == len || !is_alnum((unsigned char)text[i + w_len])))
            return 1;
    }
    return 0;
}

static const char *const pieces[] = {
    "a", "b", "ab", "ba", "A", "1", " ", ".", "\\.", "\\b", "\\B", "^", "$",
    "\\s", "\\S", "\\w", "\\W", "\\d", "a?", "b*", " +", " ?", "a+", "b{2}",
    "b{0,1}", "{1}", "[ab]", "[^a]", "[ .]", "(a|b)", "(?:a )", "(a)?",
    "|", "(", ")", "\\", "_", "-", "\xc3", "\\n", "\n", "(?= )", "(?<=a)",
    "[[:alpha:]]", "[[:space:]]+", "(?i)", ".*", "\\Z", "\\A", "{,2}",
};
#define N_PIECES (sizeof(pieces) / sizeof(pieces[0]))
/* Pieces that make words likely: literals and what bounds them. */
static const char *const word_pieces[] = {
    "a", "b", "ab", " ", " ", "\\b", "^", "$", "\\s+", " +", "-", ".",
};
#define N_WORD_PIECES (sizeof(word_pieces) / sizeof(word_pieces[0]))
static const char text_alpha[] = "aabbAB1 ._-\n\xc3";

static void
gen_pattern(char *p, size_t cap)
{
    size_t n = 1 + rn(7), used = 0;

    p[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *s = rn(2) ? pieces[rn(N_PIECES)]
                              : word_pieces[rn(N_WORD_PIECES)];
        size_t l = strlen(s);
        if (used + l + 1 > cap)
            break;
        memcpy(p + used, s, l + 1);
        used += l;
    }
}

/* A text that often matches: the pattern's own bytes with random bytes
 * mixed in, or a random text. */
static size_t
gen_text(const char *p, char *t, size_t cap)
{
    size_t n = 0, len = 1 + rn((unsigned)cap - 1);

    if (rn(2) == 0)
        for (size_t i = 0; p[i] != '\0' && n < len; i++)
            if (rn(4) != 0 && strchr("\\^$?*+{}()[]|", p[i]) == NULL)
                t[n++] = p[i];
    while (n < len)
        t[n++] = text_alpha[rn(sizeof(text_alpha) - 1)];
    return n;
}

static void
test_regex_words_differential(void **state)
{
    (void)state;
    size_t n_patterns = 0, n_with_words = 0, n_checked = 0;

    for (int iter = 0; iter < 30000; iter++) {
        char p[128], t[24];
        gen_pattern(p, sizeof(p));
        int icase = (int)rn(2);
        char *err = NULL;
        struct query_regex *re = query_regex_new(p, icase, &err);
        if (re == NULL) {
            free(err);
            continue;
        }
        n_patterns++;
        struct query_regex_word w[QUERY_REGEX_MAX_WORDS];
        size_t nw = query_regex_words(p, w, QUERY_REGEX_MAX_WORDS);
        n_with_words += nw > 0;
        for (int k = 0; k < 40 && nw > 0; k++) {
            size_t len = gen_text(p, t, sizeof(t));
            if (!query_regex_match(re, t, len))
                continue;
            n_checked++;
            for (size_t i = 0; i < nw; i++)
                if (!has_whole_token(t, len, p + w[i].off, w[i].len))
                    fail_msg("pattern [%s] icase %d matches [%.*s] without "
                             "whole token [%.*s]", p, icase, (int)len, t,
                             (int)w[i].len, p + w[i].off);
        }
        query_regex_free(re);
    }
    /* The test must have exercised the promise, not skipped it. */
    print_message("%zu patterns compiled, %zu with words, %zu matches "
                  "checked\n", n_patterns, n_with_words, n_checked);
    assert_true(n_with_words > 2000);
    assert_true(n_checked > 1500);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_syntax),
        cmocka_unit_test(test_regex_not_nul_terminated),
        cmocka_unit_test(test_regex_bad),
        cmocka_unit_test(test_regex_budget),
        cmocka_unit_test(test_regex_words_table),
        cmocka_unit_test(test_regex_words_limits),
        cmocka_unit_test(test_regex_words_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
