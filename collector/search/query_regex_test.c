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
#include "collector/search/regex_syntax.h"
#include "tests/support/regexgen.h"
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
        char *want = xasprintf("bad regex '%s' at offset ", bad[i]);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("[%s]: %s", bad[i], err);
        free(want);
        free(err);
    }
    char *err = NULL;
    query_regex_free(query_regex_new("a(b", 0, &err));
    assert_string_equal(err, "bad regex 'a(b' at offset 3: missing closing "
                        "parenthesis");
    free(err);
}

/* What the server's PCRE2 accepts is what -e means (no POSIX subset). */
static void
test_regex_pcre2_features(void **state)
{
    (void)state;
    assert_true(match_str("(?i)error", 0, "disk ERROR"));
    assert_false(match_str("(?-i)error", 1, "disk ERROR"));
    assert_true(match_str("(?:disk|cpu) full", 0, "cpu full"));
    assert_false(match_str("(?:disk|cpu) full", 0, "mem full"));
    assert_true(match_str("user=(?=admin)\\w+", 0, "user=admin1"));
    assert_false(match_str("user=(?=admin)\\w+", 0, "user=bob"));
    assert_true(match_str("user=(?!admin)\\w+", 0, "user=bob"));
    assert_false(match_str("user=(?!admin)\\w+", 0, "user=admin"));
    assert_true(match_str("(?<=id=)42", 0, "id=42"));
    assert_false(match_str("(?<=id=)42", 0, "pid 42"));
    assert_true(match_str("(?<!p)id=42", 0, "id=42"));
    assert_false(match_str("(?<!p)id=42", 0, "pid=42"));
    assert_true(match_str("a++b", 0, "aab"));            /* possessive */
    assert_true(match_str("(?>a+)b", 0, "aab"));         /* atomic */
    assert_true(match_str("\\d{3}-\\d{4}", 0, "call 555-1234"));
}

/* Several patterns are alternatives, each compiled on its own: matches
 * of either count, and one's options, groups and \Q never reach the
 * other (they would in a joined "(?:a)|(?:b)"). */
static int
match_any(const char *a, const char *b, const char *msg)
{
    const char *pats[2] = { a, b };
    char *err = NULL;
    struct query_regex *re = query_regex_new_any(pats, 2, 0, &err);
    if (re == NULL)
        fail_msg("[%s] [%s]: %s", a, b, err);
    int m = query_regex_match(re, msg, strlen(msg));
    query_regex_free(re);
    return m;
}

static void
test_regex_alternatives(void **state)
{
    (void)state;
    assert_true(match_any("disk", "cpu", "cpu high"));
    assert_true(match_any("disk", "cpu", "disk full"));
    assert_false(match_any("disk", "cpu", "mem low"));
    /* (?i) stays in its own pattern, in either position */
    assert_true(match_any("(?i)alpha", "beta", "ALPHA"));
    assert_false(match_any("(?i)alpha", "beta", "BETA"));
    assert_true(match_any("(?i)alpha", "beta", "beta"));
    assert_false(match_any("beta", "(?i)alpha", "BETA"));
    assert_true(match_any("beta", "(?i)alpha", "Alpha"));
    /* back-references number within their own pattern */
    assert_true(match_any("(a)\\1", "(b)\\1", "bb"));
    assert_false(match_any("(a)\\1", "(b)\\1", "ab"));
    /* a \Q without \E ends with its own pattern */
    assert_true(match_any("x\\Qa|", "y", "y"));
    assert_true(match_any("x\\Qa|", "y", "xa|"));
    assert_false(match_any("x\\Qa|", "y", "xa"));
    /* an empty pattern matches everything, as grep -e '' does */
    assert_true(match_any("zzz", "", "anything"));
    /* the same named group in both is fine */
    assert_true(match_any("(?<n>a)x", "(?<n>b)y", "by"));
}

static void
test_regex_alternatives_errors(void **state)
{
    (void)state;
    const char *pats[QUERY_REGEX_MAX_PATTERNS + 1];
    char *err = NULL;

    pats[0] = "ok";
    pats[1] = "b(";
    assert_null(query_regex_new_any(pats, 2, 0, &err));
    assert_string_equal(err, "bad regex 'b(' at offset 2: missing closing "
                        "parenthesis");
    free(err);
    for (size_t i = 0; i <= QUERY_REGEX_MAX_PATTERNS; i++)
        pats[i] = "a";
    err = NULL;
    assert_null(query_regex_new_any(pats, QUERY_REGEX_MAX_PATTERNS + 1, 0,
                                    &err));
    assert_non_null(strstr(err, "regexes"));
    free(err);
    err = NULL;
    assert_null(query_regex_new_any(pats, 0, 0, &err));
    free(err);
    struct query_regex *re = query_regex_new_any(pats,
                                                 QUERY_REGEX_MAX_PATTERNS, 0,
                                                 &err);
    assert_non_null(re);
    assert_int_equal(query_regex_match(re, "xa", 2), 1);
    query_regex_free(re);
}

/* A match given up for its budget only counts when no other pattern
 * matched: then the answer may have missed the text. */
static void
test_regex_alternatives_budget(void **state)
{
    (void)state;
    const char *pats[2] = { "^(a|aa)+$", "b$" };
    char *err = NULL;
    struct query_regex *re = query_regex_new_any(pats, 2, 0, &err);
    char msg[64];

    assert_non_null(re);
    memset(msg, 'a', sizeof(msg));
    msg[sizeof(msg) - 1] = 'b';
    assert_int_equal(query_regex_match(re, msg, sizeof(msg)), 1);
    assert_int_equal(query_regex_n_aborted(re), 0);
    msg[sizeof(msg) - 1] = 'c';
    assert_int_equal(query_regex_match(re, msg, sizeof(msg)), 0);
    assert_int_equal(query_regex_n_aborted(re), 1);
    query_regex_free(re);
}

/* A message without the bytes every match of a pattern holds (its
 * required literal, regex_must.h) is not searched by PCRE2 on any path,
 * so it never runs out of budget there: the same whether or not a
 * block's column search (or its raw bytes) ruled it out first. With the
 * literal present the budget applies as before. */
static void
test_regex_budget_needs_literal(void **state)
{
    (void)state;
    const char *pats[2] = { "(a|aa)+xyz", "(b|bb)+qq" };
    char *err = NULL;
    struct query_regex *re = query_regex_new_any(pats, 2, 0, &err);
    char msg[64];

    assert_non_null(re);
    assert_true(query_regex_can_col(re));
    /* 'a's, then every byte of "xyz" but not "xyz": PCRE2's own checks
     * (first and last byte) pass, its search would run out of budget */
    memset(msg, 'a', sizeof(msg));
    memcpy(msg + sizeof(msg) - 4, "zyxq", 4);
    assert_int_equal(query_regex_match(re, msg, sizeof(msg)), 0);
    assert_int_equal(query_regex_n_aborted(re), 0);
    memcpy(msg + sizeof(msg) - 4, "!xyz", 4);   /* present, no match */
    assert_int_equal(query_regex_match(re, msg, sizeof(msg)), 0);
    assert_int_equal(query_regex_n_aborted(re), 1);
    memcpy(msg + sizeof(msg) - 4, "axyz", 4);   /* a match */
    assert_int_equal(query_regex_match(re, msg, sizeof(msg)), 1);
    assert_int_equal(query_regex_n_aborted(re), 1);
    query_regex_free(re);
}

/* \< and \> are word anchors by the term rule: ASCII letters, digits,
 * '_' and bytes >= 0x80 are word characters. \b and \w stay PCRE2's
 * ASCII ones. */
static void
test_regex_word_anchors(void **state)
{
    (void)state;
    assert_true(match_str("\\<unix\\>", 0, "unix: ok"));
    assert_true(match_str("\\<unix\\>", 0, "unix"));
    assert_false(match_str("\\<unix\\>", 0, "pam_unix"));
    assert_false(match_str("\\<unix\\>", 0, "unix_chkpwd"));
    assert_false(match_str("\\<unix\\>", 0, "unix2"));
    assert_false(match_str("\\<caf\\>", 0, "un caf\xc3\xa9"));
    assert_false(match_str("\\<t\\>", 0, "\xc3\xa9t\xc3\xa9"));
    assert_true(match_str("\\<caf\\>", 0, "caf\xc3\xa9 caf."));
    assert_true(match_str("\\<ERROR\\>", 1, "an error."));
    assert_false(match_str("\\<-x", 0, "-x"));    /* - starts no word */
    assert_false(match_str("\\<", 0, "-- --"));
    assert_true(match_str("x\\>", 0, "ax-"));
    assert_true(match_str("(?<=\\<id=)\\d+", 0, "id=42"));
    assert_false(match_str("(?<=\\<id=)\\d+", 0, "pid=42"));
    assert_true(match_str("\\<a\\>+", 0, "a b"));  /* a quantified anchor */
    /* what PCRE2 reads otherwise stays as it is */
    assert_true(match_str("\\\\<a", 0, "\\<a"));     /* \\ then < */
    assert_false(match_str("\\\\<a", 0, "a"));
    assert_true(match_str("[\\<]a", 0, "<a"));
    assert_false(match_str("[\\<]a", 0, "a"));
    assert_true(match_str("\\Q\\<\\E", 0, "\\<"));
    assert_false(match_str("\\Q\\<\\E", 0, "x"));
    assert_true(match_str("(?#\\<)x", 0, "x"));
    assert_true(match_str("(*MARK:\\<)x", 0, "x"));
    /* PCRE2's own \b and \w are ASCII: a byte >= 0x80 is not a word
     * character for them (documented; use \< \> for the term rule) */
    assert_true(match_str("\\bcaf\\b", 0, "caf\xc3\xa9"));
    assert_false(match_str("^\\w+$", 0, "caf\xc3\xa9"));
    assert_false(match_str("\\bunix\\b", 0, "pam_unix"));
}

static void
test_regex_word_anchors_x_refused(void **state)
{
    (void)state;
    char *err = NULL;
    assert_null(query_regex_new("(?x) \\<foo", 0, &err));
    assert_string_equal(err, "bad regex '(?x) \\<foo': \\< and \\> cannot be "
                        "used with the x (extended) option");
    free(err);
    err = NULL;
    struct query_regex *re = query_regex_new("(?x) foo \\b", 0, &err);
    assert_non_null(re);
    query_regex_free(re);
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
    /* \b is ASCII (\w is [A-Za-z0-9_]): "\xc3\xa9zebracorn" matches */
    { "\\bzebracorn id=[0-3]", "id" },
    { "\\bzebracorn\\b", "" },
    /* \b is zero width: transparent, the neighbours decide */
    { " \\bzebracorn\\b ", "zebracorn" },
    { "^\\bzebracorn\\b$", "zebracorn" },
    { "=\\bdb01\\b,", "db01" },
    { "\\s\\bdb01\\b\\s", "db01" },
    { "\\.\\b\\bdb01\\b\\b\\.", "db01" },
    { "^db01\\b", "" },             /* "db01\xc3\xa9" matches */
    { "\\bdb01\\b ", "" },           /* "\xc3\xa9db01 " matches */
    { " \\bdb01\\b", "" },
    { " db\\B01 ", "" },            /* one token, not one slice */
    { " db\\B\\B ", "db" },
    { " \\Gdb01 ", "db01" },
    { " db01(?= ) ", "db01" },
    { " db01(?! )(?<!x) x", "db01" },
    { " (?<=\\s)db01(?=\\s) ", "db01" },
    { "\\Azebracorn\\z", "zebracorn" },
    { "^a b c$", "a,b,c" },
    { " disk full ", "disk,full" },
    { "user=alice,", "alice" },
    /* escapes */
    { "^10\\.0\\.0\\.1$", "10,0,0,1" },
    { "\\.foo\\.", "foo" },
    { "\\sfoo\\s", "foo" },
    { "\\Wfoo\\W", "" },              /* \W matches bytes >= 0x80 */
    { "\\hfoo\\h", "" },              /* \h matches \xa0 */
    { "\\vfoo\\v", "" },              /* \v matches \x85 */
    { " foo\\Rbar ", "" },
    { " a\\_b ", "" },                 /* \_ is a word byte, not copied */
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
    { "(?i) foo bar ", "foo,bar" },   /* a leading one that changes no word */
    { "(?im)^foo bar$", "foo,bar" },
    { "(?-s)(?i) foo ", "" },         /* the first only */
    { "(?ix) foo bar ", "" },
    { "(?i:a) foo ", "" },
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
    { "^foo\\b", "" },
    { "^$", "" },
    { ".foo.", "" },
    { "\xc3\xa9t\xc3\xa9 ", "" },      /* one word, unanchored start */
    { "^caf\xc3\xa9 ", "caf\xc3\xa9" },
    { " pam_unix ", "pam_unix" },
    { "^_foo_$", "_foo_" },
    { " foo_? ", "" },
    { "#foo#", "foo" },
    { " FooBar ", "FooBar" },
    { " a\\ b ", "a,b" },
};

/* want: the words (or with is_bounded the bounded words) of pattern,
 * joined by ','. */
static void
check_words_of(const char *pattern, const char *want, int is_bounded)
{
    struct query_regex_word w[QUERY_REGEX_MAX_WORDS];
    size_t n = is_bounded
               ? query_regex_bwords(pattern, w, QUERY_REGEX_MAX_WORDS)
               : query_regex_words(pattern, w, QUERY_REGEX_MAX_WORDS);
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
        fail_msg("[%s]: %s [%s], want [%s]", pattern,
                 is_bounded ? "bounded words" : "words", got, want);
}

static void
check_words(const char *pattern, const char *want)
{
    check_words_of(pattern, want, 0);
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
    assert_int_equal(query_regex_words("(?i", w, 2), 0);
    assert_int_equal(query_regex_words("(?) a ", w, 2), 0);
    assert_int_equal(query_regex_words("(?i) a ", w, 2), 1);
    assert_int_equal(w[0].off, 5);
}

/* \< and \> are zero width with no word character on their far side:
 * bounds for the words next to them. */
static void
test_regex_words_anchors(void **state)
{
    (void)state;
    check_words("\\<zebracorn\\>", "zebracorn");
    check_words("\\<disk full\\>", "disk,full");
    check_words("\\<disk\\>+ x", "");           /* quantified: unknown */
    check_words("\\\\<disk ", "disk");            /* \\ then '<' */
    check_words("[\\<]disk ", "");
}

static void
check_words_all(const char *const *pats, size_t n, const char *want)
{
    struct query_regex_word w[QUERY_REGEX_MAX_WORDS];
    size_t nw = query_regex_words_all(pats, n, w, QUERY_REGEX_MAX_WORDS);
    char got[512];
    size_t used = 0;

    got[0] = '\0';
    for (size_t i = 0; i < nw; i++) {
        int k = snprintf(got + used, sizeof(got) - used, "%s%.*s",
                         i ? "," : "", (int)w[i].len, pats[0] + w[i].off);
        assert_true(k > 0 && (size_t)k < sizeof(got) - used);
        used += (size_t)k;
    }
    if (strcmp(got, want) != 0)
        fail_msg("[%s] +%zu: got [%s], want [%s]", pats[0], n - 1, got,
                 want);
}

/* A word is required of alternatives only when every one requires it. */
static void
test_regex_words_all(void **state)
{
    (void)state;
    const char *a[] = { " foo bar ", " bar foo " };
    check_words_all(a, 2, "foo,bar");
    const char *b[] = { " foo bar ", " bar " };
    check_words_all(b, 2, "bar");
    const char *c[] = { " Foo ", " fOO " };         /* the index folds */
    check_words_all(c, 2, "Foo");
    const char *d[] = { " foo ", "x" };
    check_words_all(d, 2, "");
    const char *e[] = { " foo ", "" };              /* "" matches all */
    check_words_all(e, 2, "");
    const char *f[] = { " foo ", " foo ", " a|foo " };
    check_words_all(f, 3, "");
    const char *g[] = { " foo " };
    check_words_all(g, 1, "foo");
    check_words_all(g, 0, "");
}

/* Bounded words: a \b (ASCII) at an end that no separator or anchor
 * bounds, and an ASCII byte there. */
static const struct words_case bwords_cases[] = {
    { "\\bdb01\\b", "db01" },
    { "\\bdb01", "" },                        /* the end: unbounded */
    { "db01\\b", "" },
    { "=\\bdb01\\b,", "" },                   /* a word: not bounded */
    { "\\bdb01=", "db01" },
    { "x=db01\\b", "db01" },
    { "^db01\\b", "db01" },
    { "\\bdb01$", "db01" },
    { "\\<db01\\b", "db01" },
    { "\\bdb\\b01", "" },
    { "\\bdb01\\B", "" },
    { "\\B\\bdb01\\b", "db01" },              /* \B beside: still a \b */
    { "\\b(?=d)db01\\b", "db01" },
    { "\\bdb01+\\b", "" },
    { "\\bcaf\xc3\xa9\\b", "" },              /* a byte >= 0x80: none */
    { "\\b\xc3\xa9" "db01 ", "" },
    { " caf\xc3\xa9\\b", "" },
    { "\\b\xc3\xa9t\xc3\xa9 ", "" },
    { " \xc3\xa9t\xc3\xa9 ", "" },              /* a word (query_regex_words) */
    { "\\bz\xc3\xa9z\\b", "" },
    { "\\bdb01\\b \\bx\\b", "db01,x" },
    { "\\bdb01\\b.*\\bleft\\b", "db01,left" },
    { "\\bdb01\\b|x", "" },                   /* one branch: nothing */
    { "(?i)\\bdb01\\b", "db01" },             /* a leading (?i) */
    { "(?x)\\bdb01\\b", "" },                 /* (?x): given up */
    { "\\b\\bdb01\\b\\b", "db01" },
};

static void
test_regex_bwords_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bwords_cases) / sizeof(bwords_cases[0]);
         i++) {
        check_words_of(bwords_cases[i].pattern, bwords_cases[i].want, 1);
        char *err = NULL;
        struct query_regex *re = query_regex_new(bwords_cases[i].pattern, 0,
                                                 &err);
        if (re == NULL)
            fail_msg("[%s]: %s", bwords_cases[i].pattern, err);
        query_regex_free(re);
    }
    /* alternatives: bounded in one, a word or bounded in the others */
    const char *a[] = { "\\bdb01\\b", "=db01 " };
    const char *b[] = { "=db01 ", ":db01," };
    const char *c[] = { "\\bdb01\\b", "x" };
    const char *d[] = { "=db01 ", "\\bDB01\\b" };
    struct query_regex_word w[QUERY_REGEX_MAX_WORDS];
    assert_int_equal(query_regex_bwords_all(a, 2, w, QUERY_REGEX_MAX_WORDS),
                     1);
    assert_int_equal(query_regex_bwords_all(b, 2, w, QUERY_REGEX_MAX_WORDS),
                     0);                        /* both words: tokens */
    assert_int_equal(query_regex_bwords_all(c, 2, w, QUERY_REGEX_MAX_WORDS),
                     0);
    assert_int_equal(query_regex_bwords_all(d, 2, w, QUERY_REGEX_MAX_WORDS),
                     1);
    assert_int_equal(w[0].off, 1);
}

/* ---- differential: the promise, checked with PCRE2 ---- */

static const char *const pieces[] = {
    "a", "b", "ab", "ba", "A", "1", " ", ".", "\\.", "\\b", "\\B", "^", "$",
    "\\s", "\\S", "\\w", "\\W", "\\d", "a?", "b*", " +", " ?", "a+", "b{2}",
    "b{0,1}", "{1}", "[ab]", "[^a]", "[ .]", "(a|b)", "(?:a )", "(a)?",
    "|", "(", ")", "\\", "_", "-", "\xc3", "\\n", "\n", "(?= )", "(?<=a)",
    "[[:alpha:]]", "[[:space:]]+", "(?i)", ".*", "\\Z", "\\A", "{,2}",
    "\\<", "\\>",
    "\\h", "\\v", "\\R", "\\_", "\xa0", "a_", "(?! )", "(?<!a)",
    "\\G", "\\b\\b", "(?<=b)", "=",
};
#define N_PIECES (sizeof(pieces) / sizeof(pieces[0]))
/* Pieces that make words likely: literals and what bounds them. */
static const char *const word_pieces[] = {
    "a", "b", "ab", " ", " ", "\\b", "^", "$", "\\s+", " +", "-", ".",
    "\\<", "\\>", "\\b",
};
#define N_WORD_PIECES (sizeof(word_pieces) / sizeof(word_pieces[0]))
static const char text_alpha[] = "aabbAB1 ._-\n\xc3\xa0\x85";

static struct regexgen gen = {
    .state = 0x9e3779b97f4a7c15ull,
    .pieces = pieces, .n_pieces = N_PIECES,
    .lits = word_pieces, .n_lits = N_WORD_PIECES,
    .max_pieces = 7, .lit_one_in = 2,
};

static unsigned
rn(unsigned n)
{
    return regexgen_rn(&gen, n);
}

/* Whether text holds w as a whole token, ASCII case folded (as the
 * index folds it). */
static int
has_whole_token(const char *text, size_t len, const char *w, size_t w_len)
{
    return regexgen_holds(text, len, w, w_len, 1, 1);
}

static void
test_regex_words_differential(void **state)
{
    (void)state;
    size_t n_patterns = 0, n_with_words = 0, n_checked = 0;

    for (int iter = 0; iter < 40000; iter++) {
        char p[128], t[24];
        regexgen_pattern(&gen, p, sizeof(p));
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
            size_t len = regexgen_text(&gen, p, text_alpha, t, sizeof(t));
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

/* Alternatives: every text either pattern matches holds each word of
 * query_regex_words_all as a whole token. */
static void
test_regex_words_all_differential(void **state)
{
    (void)state;
    size_t n_with_words = 0, n_checked = 0;

    for (int iter = 0; iter < 26000; iter++) {
        char p[2][128], t[24];
        regexgen_pattern(&gen, p[0], sizeof(p[0]));
        if (rn(3) == 0)
            memcpy(p[1], p[0], sizeof(p[1]));   /* shares its words */
        else
            regexgen_pattern(&gen, p[1], sizeof(p[1]));
        const char *pats[2] = { p[0], p[1] };
        char *err = NULL;
        struct query_regex *re = query_regex_new_any(pats, 2, (int)rn(2),
                                                     &err);
        if (re == NULL) {
            free(err);
            continue;
        }
        struct query_regex_word w[QUERY_REGEX_MAX_WORDS];
        size_t nw = query_regex_words_all(pats, 2, w, QUERY_REGEX_MAX_WORDS);
        n_with_words += nw > 0;
        for (int k = 0; k < 40 && nw > 0; k++) {
            size_t len = regexgen_text(&gen, p[rn(2)], text_alpha, t,
                                       sizeof(t));
            if (!query_regex_match(re, t, len))
                continue;
            n_checked++;
            for (size_t i = 0; i < nw; i++)
                if (!has_whole_token(t, len, p[0] + w[i].off, w[i].len))
                    fail_msg("[%s] or [%s] matches [%.*s] without whole "
                             "token [%.*s]", p[0], p[1], (int)len, t,
                             (int)w[i].len, p[0] + w[i].off);
        }
        query_regex_free(re);
    }
    print_message("alternatives: %zu with words, %zu matches checked\n",
                  n_with_words, n_checked);
    assert_true(n_with_words > 300);
    assert_true(n_checked > 300);
}

/* Whether t[0..len) holds w (ASCII) as a sub-word: a maximal run of
 * ASCII word bytes inside a token holding a byte >= 0x80, ASCII case
 * folded (as the index folds it). */
static int
has_subword(const char *t, size_t len, const char *w, size_t w_len)
{
    size_t i = 0;

    while (i < len) {
        while (i < len && !regex_is_word((unsigned char)t[i]))
            i++;
        size_t start = i;
        int high = 0;
        while (i < len && regex_is_word((unsigned char)t[i]))
            high |= (unsigned char)t[i++] >= 0x80;
        for (size_t q = start; high && q < i;) {
            while (q < i && (unsigned char)t[q] >= 0x80)
                q++;
            size_t s = q;
            while (q < i && (unsigned char)t[q] < 0x80)
                q++;
            if (q - s == w_len && regexgen_holds(t + s, w_len, w, w_len, 1, 0))
                return 1;
        }
    }
    return 0;
}

/* Every text a pattern (or either of two alternatives) matches holds each
 * bounded word as a whole token or as a sub-word; half the texts are
 * ASCII, where only the token will do. */
static const char *const bword_pieces[] = {
    "a", "b", "ab", "A", "1", "_", "\\b", "\\b", "\\b", " ", "=", "^", "$",
    "\xc3\xa9", "\xa0", "(?=a)", "\\B", ".", "\\<", "\\>", "a?", "\\w",
};

static struct regexgen gen_b = {
    .state = 0x2545f4914f6cdd1dull,
    .pieces = pieces, .n_pieces = N_PIECES,
    .lits = bword_pieces,
    .n_lits = sizeof(bword_pieces) / sizeof(bword_pieces[0]),
    .max_pieces = 7, .lit_one_in = 1,
};

static void
test_regex_bwords_differential(void **state)
{
    static const char text_ascii[] = "aabbAB1 ._-=\n";
    size_t n_with = 0, n_checked = 0, n_subs = 0;

    (void)state;
    for (int iter = 0; iter < 40000; iter++) {
        char p[2][128], t[24];
        size_t n_pats = 1 + (iter % 3 == 2);
        regexgen_pattern(&gen_b, p[0], sizeof(p[0]));
        if (n_pats == 1 || regexgen_rn(&gen_b, 3) == 0)
            memcpy(p[1], p[0], sizeof(p[1]));
        else
            regexgen_pattern(&gen_b, p[1], sizeof(p[1]));
        const char *pats[2] = { p[0], p[1] };
        int icase = (int)regexgen_rn(&gen_b, 2);
        char *err = NULL;
        struct query_regex *re = query_regex_new_any(pats, n_pats, icase,
                                                     &err);
        if (re == NULL) {
            free(err);
            continue;
        }
        struct query_regex_word w[QUERY_REGEX_MAX_WORDS];
        size_t nw = query_regex_bwords_all(pats, n_pats, w,
                                           QUERY_REGEX_MAX_WORDS);
        n_with += nw > 0;
        for (int k = 0; k < 100 && nw > 0; k++) {
            size_t len = regexgen_text(&gen_b, p[regexgen_rn(&gen_b, (unsigned)n_pats)],
                                       k % 2 ? text_alpha : text_ascii, t,
                                       sizeof(t));
            if (!query_regex_match(re, t, len))
                continue;
            n_checked++;
            int n_sub = 0;
            for (size_t i = 0; i < nw; i++) {
                if (has_whole_token(t, len, p[0] + w[i].off, w[i].len))
                    continue;
                if (!has_subword(t, len, p[0] + w[i].off, w[i].len))
                    fail_msg("[%s] or [%s] icase %d matches [%.*s] without "
                             "[%.*s] as a token or sub-word", p[0], p[1],
                             icase, (int)len, t, (int)w[i].len,
                             p[0] + w[i].off);
                n_sub++;
            }
            n_subs += n_sub > 0;
        }
        query_regex_free(re);
    }
    print_message("bounded words: %zu patterns with them, %zu matches "
                  "checked, %zu by a sub-word\n", n_with, n_checked, n_subs);
    assert_true(n_with > 1000);
    assert_true(n_checked > 2000);
    assert_true(n_subs > 50);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_syntax),
        cmocka_unit_test(test_regex_not_nul_terminated),
        cmocka_unit_test(test_regex_bad),
        cmocka_unit_test(test_regex_budget),
        cmocka_unit_test(test_regex_pcre2_features),
        cmocka_unit_test(test_regex_alternatives),
        cmocka_unit_test(test_regex_alternatives_errors),
        cmocka_unit_test(test_regex_alternatives_budget),
        cmocka_unit_test(test_regex_budget_needs_literal),
        cmocka_unit_test(test_regex_word_anchors),
        cmocka_unit_test(test_regex_word_anchors_x_refused),
        cmocka_unit_test(test_regex_words_table),
        cmocka_unit_test(test_regex_words_limits),
        cmocka_unit_test(test_regex_words_differential),
        cmocka_unit_test(test_regex_words_anchors),
        cmocka_unit_test(test_regex_words_all),
        cmocka_unit_test(test_regex_words_all_differential),
        cmocka_unit_test(test_regex_bwords_table),
        cmocka_unit_test(test_regex_bwords_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
