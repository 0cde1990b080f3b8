/* SPDX-License-Identifier: MIT */
/*
 * regex_syntax_test: the atoms regex_syntax.c reads, and what its two
 * readers find in generated patterns (pieces of every construct either
 * reads: bytes, braces that are and are not quantifiers, quantifiers
 * with their marks, every escape, classes and POSIX names and their
 * look-alikes, groups of every opener, anchors, runs longer than a
 * literal keeps) checked with PCRE2: every text a pattern matches holds
 * its required bytes (regex_must_parse) and each of its words as a whole
 * token (query_regex_words). The same generator showed the two readers
 * identical to the ones they replaced (on 300,000 patterns, in the commit
 * that added this file).
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
#include "collector/search/regex_syntax.h"
#include "tests/support/regexgen.h"

/* ---- atoms ---- */

struct atoms_case {
    const char *pattern;
    const char *kinds;  /* per atom: b byte, e escape, . dot, a anchor,
                         * c class, g group, q quantifier; then its number
                         * of quantifiers when it has any; "!" gives up */
};

static const struct atoms_case atoms_cases[] = {
    { "ab", "bb" },
    { "a+b*?c{2}d{2,}+", "b1b1b1b1" },
    { "a{,3}b{ 1, 3 }", "b1b1" },       /* some versions: quantifiers */
    { "a{}b{,}c{x", "bbbbbbbbbb" },     /* literal braces */
    { "{2}a", "qb" },
    { "*a", "qb" },
    { "\\.\\d+\\<", "ee1e" },
    { "^a.$", "ab.a" },
    { "[]a]b[[:alpha:]]", "cbc" },
    { "[[:a]|b:]]", "c!" },             /* the class ends at "[[:a]" */
    { "(?:a(b))*c", "g1b" },
    { "(?=a)(?<!b)", "gg" },
    { "a|b", "b!" },
    { "a)", "b!" },
    { "(?i)a", "!" },
    { "(*UTF)a", "!" },
    { "(a(?#x))", "!" },
    { "\\x41", "!" },
    { "\\1", "!" },
    { "[\\Q]", "!" },
    { "(a", "!" },
    { "a\\", "b!" },
};

static void
atoms_string(const char *p, char *out, size_t cap)
{
    size_t i = 0, n = 0;

    while (p[i] != '\0' && n + 3 < cap) {
        struct regex_atom a;
        if (regex_atom_next(p, &i, &a) < 0) {
            out[n++] = '!';
            break;
        }
        out[n++] = "be.acgq"[a.kind];
        if (a.n_quant > 0)
            out[n++] = (char)('0' + a.n_quant);
    }
    out[n] = '\0';
}

static void
test_atoms_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(atoms_cases) / sizeof(atoms_cases[0]);
         i++) {
        char got[64];
        atoms_string(atoms_cases[i].pattern, got, sizeof(got));
        if (strcmp(got, atoms_cases[i].kinds) != 0)
            fail_msg("atoms of [%s]: %s, want %s", atoms_cases[i].pattern,
                     got, atoms_cases[i].kinds);
    }
}

/* "(?" other than "(?:" anywhere in a group is marked; look-arounds are
 * told apart; a brace's least minimum is kept, -1 for "{,n}". */
static void
test_atoms_fields(void **state)
{
    (void)state;
    struct regex_atom a;
    size_t i = 0;

    assert_int_equal(regex_atom_next("(?:a(?>b))", &i, &a), 0);
    assert_true(a.has_ext);
    assert_false(a.is_lookaround);
    i = 0;
    assert_int_equal(regex_atom_next("(?:a(?:b))", &i, &a), 0);
    assert_false(a.has_ext);
    i = 0;
    assert_int_equal(regex_atom_next("(?<=a)", &i, &a), 0);
    assert_true(a.is_lookaround);
    i = 0;
    assert_int_equal(regex_atom_next("a{3}+{2,}", &i, &a), 0);
    assert_int_equal(a.n_quant, 2);
    assert_int_equal(a.min, 2);
    i = 0;
    assert_int_equal(regex_atom_next("a+{,3}", &i, &a), 0);
    assert_int_equal(a.min, -1);
    assert_int_equal(i, 6);
    i = 0;
    assert_int_equal(regex_atom_next("\\_x", &i, &a), 0);
    assert_int_equal(a.kind, REGEX_ATOM_ESCAPE);
    assert_int_equal(a.c, '_');
    assert_int_equal(i, 2);
}

/* ---- generated patterns ---- */

static const char *const pieces[] = {
    /* bytes */
    "a", "b", "ab", "ba", "A", "B", "1", "_", "-", " ", "=", "#", "]", "}",
    ",", ":", "\xc3", "\xa0", "\n", "\r",
    /* braces, quantifiers */
    "{", "{}", "{,}", "{ }", "{2}", "{1,3}", "{,3}", "{ 1, 3 }", "{1,2,3}",
    "{2,}", "{0}", "{2}?", "{2}+", "{x", "?", "*", "+", "*?", "+?", "??",
    "*+", "++",
    /* escapes */
    "\\.", "\\-", "\\\\", "\\ ", "\\_", "\\$", "\\{", "\\}", "\\<", "\\>",
    "\\b", "\\B", "\\G", "\\A", "\\z", "\\Z", "\\s", "\\S", "\\w", "\\W",
    "\\d", "\\D", "\\h", "\\H", "\\v", "\\V", "\\R", "\\N", "\\K", "\\X",
    "\\n", "\\t", "\\r", "\\f", "\\e", "\\a", "\\x41", "\\x{41}", "\\o{101}",
    "\\101", "\\1", "\\cA", "\\Q", "\\E", "\\Qa.b\\E", "\\p{L}", "\\g1",
    "\\k<n>", "\\\xc3",
    /* classes */
    "[ab]", "[^a]", "[]a]", "[^]a]", "[ .]", "[\\]]", "[[:alpha:]]",
    "[[:^digit:]]", "[[:a]", ":]]", "[[:alpha:]x]", "[a-z]", "[\\d-]", "[",
    /* groups */
    "(a|b)", "(?:a )", "(?:ab)", "(a)", "(a)?", "(", ")", "|", "(?=a)",
    "(?!a)", "(?<=a)", "(?<!b)", "(?>a+)", "(?|(a)|(b))", "(?<n>a)",
    "(?'n'a)", "(?P<n>a)", "(?i)", "(?i:a)", "(?-i:B)", "(*UTF)", "(?#c)",
    "(?1)", "(?(1)a|b)", "((?:a)b)", "(a(?=b))", "([)])",
    /* anchors */
    "^", "$", ".", ".*", ".+",
};
#define N_PIECES (sizeof(pieces) / sizeof(pieces[0]))

/* Pieces that make words and literals likely. */
static const char *const lit_pieces[] = {
    "ab", "ba", "aB", " a", "b ", "a-b", "1.", "\\.a", "\\b", "\\s+", " +",
    "^", "$", "\\<", "\\>",
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-=+",
};
#define N_LIT_PIECES (sizeof(lit_pieces) / sizeof(lit_pieces[0]))

static const char text_alpha[] = "aabbAB1 ._-=:\n\xc3\xa0\x85";

static struct regexgen gen = {
    .state = 0x853c49e6748fea9bull,
    .pieces = pieces, .n_pieces = N_PIECES,
    .lits = lit_pieces, .n_lits = N_LIT_PIECES,
    .max_pieces = 7, .lit_one_in = 2,
};

/* ---- the promise, checked with PCRE2 ---- */

struct model_stats {
    size_t n_compiled, n_words, n_must, n_checked;
};

static void
check_model(const char *p, int icase, struct model_stats *st)
{
    char *err = NULL;
    struct query_regex *re = query_regex_new(p, icase, &err);

    if (re == NULL) {
        free(err);
        return;
    }
    st->n_compiled++;
    struct query_regex_word w[QUERY_REGEX_MAX_WORDS];
    struct regex_must m;
    size_t nw = query_regex_words(p, w, QUERY_REGEX_MAX_WORDS);
    size_t nm = regex_must_parse(p, icase, &m);
    st->n_words += nw > 0;
    st->n_must += nm > 0;
    for (int k = 0; k < 30 && (nw > 0 || nm > 0); k++) {
        char t[96];
        size_t len = regexgen_text(&gen, p, text_alpha, t, sizeof(t));
        if (!query_regex_match(re, t, len))
            continue;
        st->n_checked++;
        if (nm > 0 && !regexgen_holds(t, len, (const char *)m.lit, nm,
                                      m.is_icase, 0))
            fail_msg("[%s] icase %d matches [%.*s] without [%.*s]", p,
                     icase, (int)len, t, (int)nm, (const char *)m.lit);
        for (size_t i = 0; i < nw; i++)
            if (!regexgen_holds(t, len, p + w[i].off, w[i].len, 1, 1))
                fail_msg("[%s] icase %d matches [%.*s] without whole token "
                         "[%.*s]", p, icase, (int)len, t, (int)w[i].len,
                         p + w[i].off);
    }
    query_regex_free(re);
}

static void
test_model(void **state)
{
    (void)state;
    struct model_stats st = { 0 };

    for (int iter = 0; iter < 30000; iter++) {
        char p[200];
        regexgen_pattern(&gen, p, sizeof(p));
        check_model(p, (int)regexgen_rn(&gen, 2), &st);
    }
    print_message("%zu patterns compiled, %zu with words, %zu with "
                  "literals, %zu matches checked\n", st.n_compiled,
                  st.n_words, st.n_must, st.n_checked);
    /* The test must have exercised the promise, not skipped it. */
    assert_true(st.n_words > 1000);
    assert_true(st.n_must > 3000);
    assert_true(st.n_checked > 5000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atoms_table),
        cmocka_unit_test(test_atoms_fields),
        cmocka_unit_test(test_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
