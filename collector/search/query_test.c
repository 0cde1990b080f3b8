/* SPDX-License-Identifier: MIT */
/*
 * query_test: the search language, parser and matcher (collector/search/query.c).
 * Table-driven: each case is a query (q, regex, icase), a message and the
 * expected verdict (the word rule at ASCII, '_', UTF-8 and invalid-byte
 * neighbours, phrases, UTF-8 case folding), plus -F (query_add_fixed),
 * parse errors and the required-token list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
    { "error", NULL, 0, "my_error_x", 0 },          /* _ is a word char */
    { "error", NULL, 0, "error_", 0 },
    { "_error", NULL, 0, "x _error y", 1 },
    { "_error", NULL, 0, "x__error y", 0 },
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
    { "\"isk fu\"", NULL, 0, "the disk full error", 0 },   /* no parts */
    { "\"disk full\"", NULL, 0, "disk full", 1 },
    { "\"disk full\"", NULL, 0, "the disk fuller", 0 },
    { "\"disk full\"", NULL, 0, "hardisk full", 0 },
    { "\"disk full\"", NULL, 0, "(disk full)", 1 },
    { "\" disk full \"", NULL, 0, "hardisk full", 0 },
    { "\": disk\"", NULL, 0, "err: disk", 1 },
    { "\": disk\"", NULL, 0, "err: disks", 0 },
    { "\"a b\" c", NULL, 0, "c xa by", 0 },
    { "\"a b\" c", NULL, 0, "c a b", 1 },
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
    { "ÉTÉ", NULL, 1, "été", 1 },                   /* UTF-8 folding */
    { "été", NULL, 0, "un été chaud", 1 },
    { "été", NULL, 0, "un ÉTÉ chaud", 0 },
    { "CAFÉ", NULL, 1, "un café", 1 },
    { "café", NULL, 1, "UN CAFÉ", 1 },
    { "привет", NULL, 1, "Привет, мир", 1 },
    { "ПРИВЕТ", NULL, 1, "ну привет", 1 },
    { "привет", NULL, 1, "приветствую", 0 },
    { "σοφία", NULL, 1, "ΣΟΦΊΑ", 1 },
    { "ΟΔΟΣ", NULL, 1, "οδος οδός", 1 },          /* final sigma */
    { "Ⱥb", NULL, 1, "x ⱥB y", 1 },           /* 2-byte folds to 3 */
    { "ⱥb", NULL, 1, "x ȺB y", 1 },
    { "ⱥb", NULL, 1, "x ȺBc y", 0 },
    { "straße", NULL, 1, "STRASSE", 0 },          /* simple folding */
    { "ԱՐԵՎ", NULL, 1, "արեվ", 1 },              /* Armenian */
    { "x", NULL, 1, "\xc3x", 0 },                  /* invalid UTF-8 */
    { "\xc3", NULL, 1, "a \xc3 b", 1 },
    { "\xc3", NULL, 1, "a \xc3\xa9 b", 0 },
    /* the word rule at UTF-8 neighbours, start and end of message */
    { "caf", NULL, 0, "café", 0 },
    { "caf", NULL, 0, "un caf", 1 },
    { "café", NULL, 0, "café", 1 },
    { "unix", NULL, 0, "pam_unix(sshd:session)", 0 },
    { "pam_unix", NULL, 0, "pam_unix(sshd:session)", 1 },
    { "/log/Core", NULL, 0, "/var/log/Core dump", 1 },
    { "/log/Core", NULL, 0, "/var/log/Cores", 0 },
    { "/log/Core", NULL, 0, "/log/Core", 1 },
    { "error", NULL, 0, "éerror", 0 },
    { "error", NULL, 0, "error日本", 0 },
    { "error", NULL, 0, "日本 error", 1 },
    { "error", NULL, 0, "\xff" "error", 0 },          /* invalid: a word byte */
    { "error", NULL, 0, "error\x80", 0 },
    { "日本", NULL, 0, "日本語", 0 },
    { "日本", NULL, 0, "(日本)", 1 },
    { ":80", NULL, 0, "host:8080", 0 },
    { ":80", NULL, 0, "host:80", 1 },
    { ":80", NULL, 0, "host:80/x", 1 },
    { "v1/", NULL, 0, "apiv1/x", 0 },
    { "v1/", NULL, 0, "api/v1/x", 1 },
    { "==>", NULL, 0, "a==>b", 1 },                /* no word char at all */
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
    /* -i folds a regex's ASCII only (PCRE2 without UTF mode), terms by
     * simple Unicode folding: the rule query/README.md states */
    { "", "CAFÉ", 1, "cafÉ", 1 },
    { "", "CAFÉ", 1, "café", 0 },
    { "", "(?:É|é)t(?:É|é)", 0, "ÉTé", 0 },
    { "", "(?:É|é)t(?:É|é)", 1, "ÉTé", 1 },
    { "", "(?i)привет", 0, "ПРИВЕТ", 0 },
    { "", "(?i)error", 0, "ERROR", 1 },
    { "CAFÉ", "^un", 1, "UN café", 1 },           /* the term folds É */
    { "CAFÉ", "café", 1, "un CAFÉ", 0 },          /* the regex does not */
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
    static const char *const t3[] = { "api", "v1", "a", "phrase" };
    check_tokens("/api/v1 -debug \"a phrase\" x OR y", 0, t3, 4);
    static const char *const t5[] = { "pam_unix", "sshd", "café", "привет" };
    check_tokens("pam_unix(sshd) CAFÉ Привет", 0, t5, 4);
    check_tokens("pam_unix(sshd) CAFÉ Привет", 1, t5, 4);
    static const char *const t6[] = { "ⱥ" };
    check_tokens("Ⱥ", 0, t6, 1);
    check_tokens("-\"a b\" x OR \"c d\"", 0, NULL, 0);
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
    check_regex_tokens("", "^ZebraCorn id=[0-3]", 1, t2, 2);
    check_regex_tokens("zebracorn", "\\bzebracorn id=[0-3]", 0, t2, 2);
    static const char *const t4[] = { "id" };
    check_regex_tokens("", "\\bZebraCorn id=[0-3]", 1, t4, 1);
    static const char *const t5[] = { "café" };
    check_regex_tokens("", "^CAFÉ$", 0, t5, 1);
    static const char *const t3[] = { "error", "disk", "full" };
    check_regex_tokens("error", "^disk full$", 0, t3, 3);
    check_regex_tokens("a OR b", "x|y", 0, NULL, 0);
    check_regex_tokens("", "zebra[a-z]*corn", 0, NULL, 0);
    check_regex_tokens("", "", 0, NULL, 0);
}

/* -F: anywhere, no word rule; tokens only from runs inside the string. */
static void
test_query_fixed(void **state)
{
    static const struct {
        const char *q, *fixed;
        int icase;
        const char *msg;
        int want;
    } cases[] = {
        { "", "caf", 0, "café", 1 },
        { "", "unix", 0, "pam_unix(sshd)", 1 },
        { "", "rror", 0, "errors", 1 },
        { "", "rror", 0, "ERRORS", 0 },
        { "", "rror", 1, "ERRORS", 1 },
        { "", "RIVE", 1, "привет ПРИВЕТ", 0 },
        { "", "РИВЕ", 1, "привет", 1 },
        { "", "a b", 0, "xa by", 1 },
        { "", "a  b", 0, "a b", 0 },
        { "error", "disk", 0, "error: disk", 1 },
        { "error", "disk", 0, "errors: disk", 0 },
        { "-debug", "x.y", 0, "ax.yb", 1 },
        { "-debug", "x.y", 0, "ax.yb debug", 0 },
        { "", "\"", 0, "say \"hi\"", 1 },
        { "", "OR", 0, "for", 0 },
        { "", "OR", 1, "for", 1 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *err = NULL;
        struct query *q = query_parse(cases[i].q, strlen(cases[i].q), NULL,
                                      cases[i].icase, &err);
        assert_non_null(q);
        assert_int_equal(query_add_fixed(q, cases[i].fixed,
                                         strlen(cases[i].fixed), &err), 0);
        int got = query_match(q, cases[i].msg, strlen(cases[i].msg));
        if (got != cases[i].want)
            fail_msg("case %zu: -F [%s] msg [%s]: got %d", i,
                     cases[i].fixed, cases[i].msg, got);
        query_free(q);
    }
    /* tokens: "bar" is bounded by the string's own '.' on both sides */
    char *err = NULL;
    struct query *q = query_parse("x", 1, NULL, 1, &err);
    assert_int_equal(query_add_fixed(q, "foo.BAR.baz", 11, &err), 0);
    assert_int_equal(query_add_fixed(q, "unix", 4, &err), 0);
    assert_int_equal(query_add_fixed(q, ".Qux.", 5, &err), 0);
    const char *const *tok;
    assert_int_equal(query_tokens(q, &tok), 3);
    assert_string_equal(tok[0], "x");
    assert_string_equal(tok[1], "bar");
    assert_string_equal(tok[2], "qux");
    /* errors */
    assert_int_equal(query_add_fixed(q, "", 0, &err), -1);
    assert_non_null(strstr(err, "empty"));
    free(err);
    assert_int_equal(query_add_fixed(q, "a\0b", 3, &err), -1);
    assert_non_null(strstr(err, "NUL"));
    free(err);
    char big[QUERY_MAX_TEXT + 1];
    memset(big, 'a', sizeof(big));
    assert_int_equal(query_add_fixed(q, big, sizeof(big), &err), -1);
    free(err);
    query_free(q);
}


/* not_regex (logq -v): a match of any drops the message; ANDed with the
 * rest; icase applies; a bad one is an error naming it. */
static void
test_query_not_regex(void **state)
{
    (void)state;
    char *err = NULL;
    const char *nre[] = { "^DEBUG", "health" };
    struct query *q = query_parse("error", 5, NULL, 0, &err);

    assert_non_null(q);
    assert_int_equal(query_add_not_regex(q, nre, 2, &err), 0);
    assert_int_equal(query_match(q, "error x", 7), 1);
    assert_int_equal(query_match(q, "DEBUG error", 11), 0);
    assert_int_equal(query_match(q, "error health", 12), 0);
    assert_int_equal(query_match(q, "debug error", 11), 1);
    assert_int_equal(query_match(q, "warn x", 6), 0);
    query_free(q);

    q = query_parse("", 0, NULL, 1, &err);
    assert_int_equal(query_add_not_regex(q, nre, 1, &err), 0);
    assert_int_equal(query_match(q, "debug x", 7), 0);
    assert_int_equal(query_match(q, "x debug", 7), 1);
    query_free(q);

    const char *bad[] = { "b(" };
    q = query_parse("", 0, NULL, 0, &err);
    assert_int_equal(query_add_not_regex(q, bad, 1, &err), -1);
    assert_non_null(strstr(err, "bad regex 'b('"));
    free(err);
    query_free(q);
}

struct span_case {
    const char *q;
    const char *regex;
    int         icase;
    const char *msg;
    const char *want;       /* "s-e s-e" */
};

static const struct span_case span_cases[] = {
    /* every occurrence that passes the word rule, none that does not */
    { "unix", NULL, 0, "pam_unix unix x unix", "9-13 16-20" },
    { "error", NULL, 0, "errors error", "7-12" },
    { "10.0.0.1", NULL, 0, "10.0.0.12 10.0.0.1", "10-18" },
    /* excluded terms are not marked; OR branches are */
    { "a -b", NULL, 0, "a b a", "0-1 4-5" },
    { "x OR y", NULL, 0, "y x y", "0-1 2-3 4-5" },
    /* phrases, icase with UTF-8 folding: the message's bytes */
    { "\"disk full\"", NULL, 0, "the disk full now", "4-13" },
    { "café", NULL, 1, "CAFÉ au café", "0-5 9-14" },
    /* regex spans, merged with terms when they overlap or touch */
    { "", "b+", 0, "abbbcb", "1-4 5-6" },
    { "db", "\\d+", 0, "db 42 db7", "0-2 3-5 8-9" },
    { "ab", "b c", 0, "ab cd", "0-4" },
    /* field terms mark the matching value as written, not the name nor
     * the same word elsewhere; a string's text between its quotes */
    { "level:error", NULL, 0, "{\"level\":\"error\",\"msg\":\"error x\"}",
      "10-15" },
    { "level:error", NULL, 0, "level=error msg=\"error\"", "6-11" },
    { "level:ERROR", NULL, 1, "level=Error", "6-11" },
    { "status:>=500", NULL, 0, "{\"status\":503,\"n\":600}", "10-13" },
    { "m:abc", NULL, 0, "{\"m\":\"a\\u0062c\"}", "6-14" },
    { "tags:b", NULL, 0, "{\"tags\":[\"a\",\"b\",\"b\"]}", "14-15 18-19" },
    { "ok:true x", NULL, 0, "{\"ok\":true,\"x\":\"x\"}", "6-10 12-13 16-17" },
    { "-level:debug", NULL, 0, "level=info", "" },
    { "level:error", NULL, 0, "level:error plain", "" },
    /* empty regex matches mark nothing and still end */
    { "", "x*", 0, "aaa", "" },
    { "zzz", NULL, 0, "aaa", "" },
};

static void
test_query_spans(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(span_cases) / sizeof(span_cases[0]); i++) {
        const struct span_case *c = &span_cases[i];
        char *err = NULL;
        struct query *q = query_parse(c->q, strlen(c->q), c->regex,
                                      c->icase, &err);
        size_t sp[2 * 16];
        char got[256] = "";

        assert_non_null(q);
        size_t n = query_spans(q, c->msg, strlen(c->msg), sp, 16);
        for (size_t k = 0; k < n; k++) {
            size_t at = strlen(got);
            snprintf(got + at, sizeof(got) - at, "%s%zu-%zu",
                     k > 0 ? " " : "", sp[2 * k], sp[2 * k + 1]);
        }
        if (strcmp(got, c->want) != 0)
            fail_msg("case %zu: q '%s' re '%s' msg '%s': got '%s' want "
                     "'%s'", i, c->q, c->regex ? c->regex : "", c->msg,
                     got, c->want);
        query_free(q);
    }
}

/* A bound on spans: a message with many matches stops at max. */
static void
test_query_spans_bounded(void **state)
{
    (void)state;
    char msg[400], *err = NULL;
    size_t sp[2 * 8];

    for (size_t i = 0; i < 200; i++) {
        msg[2 * i] = 'a';
        msg[2 * i + 1] = ' ';
    }
    struct query *q = query_parse("a", 1, "a", 0, &err);
    assert_int_equal(query_spans(q, msg, 400, sp, 8), 8);
    assert_int_equal(sp[14], 14);
    query_free(q);
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
        cmocka_unit_test(test_query_fixed),
        cmocka_unit_test(test_query_not_regex),
        cmocka_unit_test(test_query_spans),
        cmocka_unit_test(test_query_spans_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
