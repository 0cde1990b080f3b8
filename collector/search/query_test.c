/* SPDX-License-Identifier: MIT */
/*
 * query_test: the search language, parser and matcher (collector/search/query.c).
 * Table-driven: each case is a query (q, regex, icase), a message and the
 * expected verdict, plus parse errors and the required-token list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/query.h"

struct match_case {
    const char *q;
    const char *regex;
    int         icase;
    const char *msg;
    int         want;
};

static const struct match_case match_cases[] = {
    /* empty query matches everything */
    { "", NULL, 0, "anything", 1 },
    { "   ", NULL, 0, "", 1 },
    /* whole words */
    { "error", NULL, 0, "an error occurred", 1 },
    { "error", NULL, 0, "error", 1 },
    { "error", NULL, 0, "errors occurred", 0 },
    { "error", NULL, 0, "suberror", 0 },
    { "error", NULL, 0, "error:", 1 },
    { "error", NULL, 0, "[error]", 1 },
    { "error", NULL, 0, "my_error_x", 1 },          /* _ is not alnum */
    { "error", NULL, 0, "errors then error", 1 },   /* second occurrence */
    { "error", NULL, 0, "Error", 0 },
    { "error", NULL, 0, "", 0 },
    { "err", NULL, 0, "er", 0 },
    /* terms with punctuation: substring bounded at the alnum ends */
    { "10.0.0.1", NULL, 0, "from 10.0.0.1:80", 1 },
    { "10.0.0.1", NULL, 0, "from 10.0.0.12", 0 },
    { "10.0.0.1", NULL, 0, "from 110.0.0.1", 0 },
    { "10.0.0.1", NULL, 0, "10.0.0.1", 1 },
    { "/api/v1", NULL, 0, "GET /api/v1/logs", 1 },
    { "/api/v1", NULL, 0, "GET x/api/v1 ok", 1 },    /* '/' start: no bound */
    { "/api/v1", NULL, 0, "GET /api/v12", 0 },
    { "...", NULL, 0, "wait...", 1 },
    { "key=value", NULL, 0, "akey=value", 0 },
    /* AND */
    { "a b", NULL, 0, "b a", 1 },
    { "a b", NULL, 0, "a c", 0 },
    { "a  \t b", NULL, 0, "x a y b z", 1 },
    /* phrases */
    { "\"disk full\"", NULL, 0, "the disk full error", 1 },
    { "\"disk full\"", NULL, 0, "the disk is full", 0 },
    { "\"isk fu\"", NULL, 0, "the disk full error", 1 },   /* substring */
    { "\"a b\" c", NULL, 0, "c xa by", 1 },
    { "\"a b\" c", NULL, 0, "xa by", 0 },
    /* exclusions */
    { "-debug", NULL, 0, "info line", 1 },
    { "-debug", NULL, 0, "debug line", 0 },
    { "-debug", NULL, 0, "debugging line", 1 },
    { "error -\"not really\"", NULL, 0, "error, not really", 0 },
    { "error -\"not really\"", NULL, 0, "error, really", 1 },
    { "x-y", NULL, 0, "a x-y b", 1 },               /* inner '-' is literal */
    /* OR binds tighter than AND */
    { "a OR b", NULL, 0, "b", 1 },
    { "a OR b", NULL, 0, "a", 1 },
    { "a OR b", NULL, 0, "c", 0 },
    { "a b OR c", NULL, 0, "a c", 1 },
    { "a b OR c", NULL, 0, "a b", 1 },
    { "a b OR c", NULL, 0, "b c", 0 },
    { "a OR b c", NULL, 0, "b c", 1 },
    { "a OR b c", NULL, 0, "a b", 0 },
    { "a OR b OR c", NULL, 0, "c", 1 },
    { "a OR -b", NULL, 0, "c", 1 },
    { "a OR -b", NULL, 0, "b", 0 },
    { "\"x y\" OR z", NULL, 0, "x y", 1 },
    { "a or b", NULL, 0, "a b or", 1 },             /* lower-case or: a term */
    { "a or b", NULL, 0, "a b", 0 },
    { "-OR", NULL, 0, "OR", 0 },                    /* negated: a term */
    /* icase */
    { "error", NULL, 1, "ERROR here", 1 },
    { "ERROR", NULL, 1, "an Error", 1 },
    { "ERROR", NULL, 1, "an Errors", 0 },
    { "\"Disk FULL\"", NULL, 1, "DISK full", 1 },
    { "-debug", NULL, 1, "DEBUG x", 0 },
    { "10.0.0.1", NULL, 1, "10.0.0.1", 1 },
    { "ÉTÉ", NULL, 1, "été", 0 },                   /* ASCII folding only */
    { "été", NULL, 0, "un été chaud", 1 },
    /* regex */
    { "", "^GET /[a-z]+ [0-9]{3}$", 0, "GET /index 200", 1 },
    { "", "^GET /[a-z]+ [0-9]{3}$", 0, "GET /index 20", 0 },
    { "", "timeout", 1, "TIMEOUT", 1 },
    { "", "timeout", 0, "TIMEOUT", 0 },
    { "get", "200$", 0, "get 200", 1 },
    { "get", "200$", 0, "put 200", 0 },
    { "get", "200$", 0, "get 2000", 0 },
    { "", "\\bid=\\d+\\b", 0, "x id=42 y", 1 },
    { "", "\\bid=\\d+\\b", 0, "xid=42", 0 },
    { "", "[[:upper:]]{3}", 0, "an ERR", 1 },
    { "", "[[:upper:]]{3}", 0, "an Err", 0 },
    { "-debug", "^disk", 1, "DISK full", 1 },
    { "-debug", "^disk", 1, "DISK debug", 0 },
};

static void
test_query_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]);
         i++) {
        const struct match_case *c = &match_cases[i];
        char *err = NULL;
        struct query *q = query_parse(c->q, strlen(c->q), c->regex, c->icase,
                                      &err);
        if (q == NULL)
            fail_msg("case %zu: parse failed: %s", i, err);
        int got = query_match(q, c->msg, strlen(c->msg));
        if (got != c->want)
            fail_msg("case %zu: q=[%s] msg=[%s] got %d want %d", i, c->q,
                     c->msg, got, c->want);
        query_free(q);
    }
}

static void
test_query_match_not_nul_terminated(void **state)
{
    (void)state;
    char *err = NULL;
    struct query *q = query_parse("abc", 3, "c$", 0, &err);
    assert_non_null(q);
    /* Only the first 3 bytes are the message: "abcd" must not count. */
    const char msg[] = { 'a', 'b', 'c', 'd' };
    assert_int_equal(query_match(q, msg, 3), 1);
    assert_int_equal(query_match(q, msg, 4), 0);
    query_free(q);

    q = query_parse("abc", 3, NULL, 0, &err);
    assert_non_null(q);
    const char msg2[] = { 'x', ' ', 'a', 'b', 'c', 'd' };
    assert_int_equal(query_match(q, msg2, 5), 1);   /* ends at len */
    assert_int_equal(query_match(q, msg2, 6), 0);
    assert_int_equal(query_match(q, msg2, 4), 0);   /* cut term */
    query_free(q);
}

static void
test_query_match_binary_message(void **state)
{
    (void)state;
    char *err = NULL;
    struct query *q = query_parse("tail", 4, NULL, 0, &err);
    assert_non_null(q);
    const char msg[] = { 'h', '\0', 't', 'a', 'i', 'l' };
    assert_int_equal(query_match(q, msg, sizeof(msg)), 1);
    query_free(q);
}

static void
test_query_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\"unterminated", "a \"b", "OR a", "a OR", "a OR OR b", "OR",
        "- a", "a -", "\"\"", "-\"\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *err = NULL;
        struct query *q = query_parse(bad[i], strlen(bad[i]), NULL, 0, &err);
        if (q != NULL)
            fail_msg("case %zu [%s] parsed", i, bad[i]);
        assert_non_null(err);
        assert_true(strlen(err) > 0);
        free(err);
    }
}

static void
test_query_parse_bad_regex(void **state)
{
    (void)state;
    char *err = NULL;
    struct query *q = query_parse("", 0, "a(b", 0, &err);
    assert_null(q);
    assert_non_null(err);
    assert_non_null(strstr(err, "bad regex"));
    free(err);
    err = NULL;
    q = query_parse("x", 1, "[z-a]", 1, &err);
    assert_null(q);
    free(err);
    /* PCRE2's message and offset; its size and nesting limits refuse
     * what the old POSIX cost guard refused (or compile it compactly). */
    err = NULL;
    assert_null(query_parse("", 0, "ab)", 0, &err));
    assert_non_null(strstr(err, "bad regex 'ab)' at offset 2: "));
    free(err);
    static const char *const refused[] = {
        "x{99999999999999999999}", "a+++++++++++++++++++++++++",
        "((((a{100}){100}){100}){100})", "(*UTF)x",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        err = NULL;
        assert_null(query_parse("", 0, refused[i], 0, &err));
        assert_non_null(strstr(err, "bad regex"));
        free(err);
    }
    static const struct { const char *re; int want; } compact[] = {
        { "(a{4096})", 0 }, { "(a{1,9999})b", 1 },
        { "((a{20}){20}){20}", 0 },
        { "^((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+b", 1 },
        { "^((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+$", 0 },
    };
    for (size_t i = 0; i < sizeof(compact) / sizeof(compact[0]); i++) {
        err = NULL;
        q = query_parse("", 0, compact[i].re, 0, &err);
        assert_non_null(q);
        if (query_match(q, "aaaaaaaaaaaaaaaaaaaaaaaaab", 26) != compact[i].want)
            fail_msg("[%s] on a{25}b", compact[i].re);
        query_free(q);
    }
    /* Catastrophic backtracking: no match, counted. */
    q = query_parse("", 0, "^(a|aa)+$", 0, &err);
    assert_non_null(q);
    assert_int_equal(query_n_regex_aborted(q), 0);
    assert_int_equal(query_match(q, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
                                 41), 0);
    assert_int_equal(query_n_regex_aborted(q), 1);
    query_free(q);
    err = NULL;
    char long_re[QUERY_MAX_REGEX + 2];
    memset(long_re, 'a', sizeof(long_re) - 1);
    long_re[sizeof(long_re) - 1] = '\0';
    assert_null(query_parse("", 0, long_re, 0, &err));
    assert_non_null(strstr(err, "regex too long"));
    free(err);
    /* ...reasonable ones, escaped or bracketed '+' and '{' are fine. */
    q = query_parse("", 0, "^[+]+\\+[0-9]+ x{1,3} [a-z]+\\{9999}$", 0, &err);
    assert_non_null(q);
    assert_int_equal(query_match(q, "++5 xx ab{9999}", 15), 1);
    query_free(q);
    q = query_parse("", 0, "^[0-9]{1,3}(\\.[0-9]{1,3}){3}$", 0, &err);
    assert_non_null(q);
    assert_int_equal(query_match(q, "10.0.0.1", 8), 1);
    assert_int_equal(query_match(q, "10.0.0", 6), 0);
    query_free(q);
    q = query_parse("", 0, "json \\{", 0, &err);
    assert_non_null(q);
    assert_int_equal(query_match(q, "json {", 6), 1);
    query_free(q);
}

static void
test_query_parse_limits(void **state)
{
    (void)state;
    char big[QUERY_MAX_TEXT + 2];
    memset(big, 'a', sizeof(big));
    char *err = NULL;
    assert_null(query_parse(big, sizeof(big), NULL, 0, &err));
    free(err);

    /* QUERY_MAX_ITEMS terms parse, one more does not. */
    char many[QUERY_MAX_ITEMS * 2 + 4];
    size_t n = 0;
    for (int i = 0; i < QUERY_MAX_ITEMS; i++) {
        many[n++] = 'x';
        many[n++] = ' ';
    }
    struct query *q = query_parse(many, n, NULL, 0, &err);
    assert_non_null(q);
    query_free(q);
    many[n++] = 'y';
    err = NULL;
    assert_null(query_parse(many, n, NULL, 0, &err));
    assert_non_null(err);
    free(err);

    const char nul[] = { 'a', '\0', 'b' };
    err = NULL;
    assert_null(query_parse(nul, sizeof(nul), NULL, 0, &err));
    free(err);
}

static void
check_tokens(const char *text, int icase, const char *const *want,
             size_t n_want)
{
    char *err = NULL;
    struct query *q = query_parse(text, strlen(text), NULL, icase, &err);
    assert_non_null(q);
    const char *const *tok;
    size_t n = query_tokens(q, &tok);
    if (n != n_want)
        fail_msg("[%s]: %zu tokens, want %zu", text, n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(tok[i], want[i]);
    query_free(q);
}

static void
test_query_tokens(void **state)
{
    (void)state;
    static const char *const t1[] = { "error", "disk" };
    check_tokens("Error DISK", 0, t1, 2);
    static const char *const t2[] = { "10", "0", "1" };
    check_tokens("10.0.0.1", 0, t2, 3);
    static const char *const t3[] = { "api", "v1" };
    check_tokens("/api/v1 -debug \"a phrase\" x OR y", 0, t3, 2);
    check_tokens("", 0, NULL, 0);
    check_tokens("a OR b", 1, NULL, 0);
    check_tokens("... -c", 0, NULL, 0);
    static const char *const t4[] = { "k" };
    check_tokens("k k", 0, t4, 1);
}

static void
check_regex_tokens(const char *text, const char *regex, int icase,
                   const char *const *want, size_t n_want)
{
    char *err = NULL;
    struct query *q = query_parse(text, strlen(text), regex, icase, &err);
    if (q == NULL)
        fail_msg("[%s] [%s]: %s", text, regex, err);
    const char *const *tok;
    size_t n = query_tokens(q, &tok);
    if (n != n_want)
        fail_msg("[%s] [%s]: %zu tokens, want %zu", text, regex, n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(tok[i], want[i]);
    query_free(q);
}

/* The regex's required words join the terms' tokens, lower-cased and
 * without duplicates; words that are only parts of tokens do not. */
static void
test_query_regex_tokens(void **state)
{
    (void)state;
    static const char *const t1[] = { "id" };
    check_regex_tokens("", "zebracorn id=[0-3]", 0, t1, 1);
    static const char *const t2[] = { "zebracorn", "id" };
    check_regex_tokens("", "\\bZebraCorn id=[0-3]", 1, t2, 2);
    check_regex_tokens("zebracorn", "\\bzebracorn id=[0-3]", 0, t2, 2);
    static const char *const t3[] = { "error", "disk", "full" };
    check_regex_tokens("error", "^disk full$", 0, t3, 3);
    check_regex_tokens("a OR b", "x|y", 0, NULL, 0);
    check_regex_tokens("", "zebra[a-z]*corn", 0, NULL, 0);
    check_regex_tokens("", "", 0, NULL, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_match_table),
        cmocka_unit_test(test_query_match_not_nul_terminated),
        cmocka_unit_test(test_query_match_binary_message),
        cmocka_unit_test(test_query_parse_errors),
        cmocka_unit_test(test_query_parse_bad_regex),
        cmocka_unit_test(test_query_parse_limits),
        cmocka_unit_test(test_query_tokens),
        cmocka_unit_test(test_query_regex_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
