/* SPDX-License-Identifier: MIT */
/*
 * regex_anchors_test: the rewrite of \< and \> (collector/search/
 * regex_anchors.c), text in and text out: each anchor becomes its
 * look-around, and what PCRE2 reads as something else (escaped backslash,
 * \Q..\E, class members, comments, verb names) is left byte for byte.
 * Every case compiles (with its rewrite) through query_regex;
 * query_regex_test checks what the rewritten patterns match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/query_regex.h"
#include "collector/search/regex_anchors.h"

#define S "(?:(?<![A-Za-z0-9_\\x80-\\xff])(?=[A-Za-z0-9_\\x80-\\xff]))"
#define E "(?:(?<=[A-Za-z0-9_\\x80-\\xff])(?![A-Za-z0-9_\\x80-\\xff]))"

struct rw_case {
    const char *in;
    const char *want;       /* NULL: nothing to rewrite */
};

static const struct rw_case rw_cases[] = {
    { "\\<word\\>", S "word" E },
    { "a\\<", "a" S },
    { "\\>", E },
    { "\\<\\<", S S },
    { "(?i)\\<x", "(?i)" S "x" },
    { "(\\<a|b\\>)+", "(" S "a|b" E ")+" },
    { "(*pla:\\<a)", "(*pla:" S "a)" },             /* alpha assertion */
    { "(?<=\\<id=)1", "(?<=" S "id=)1" },
    /* left alone */
    { "", NULL },
    { "word", NULL },
    { "<word>", NULL },
    { "\\\\<a", NULL },                             /* \\ then < */
    { "\\\\\\<", "\\\\" S },                        /* \\ then \< */
    { "[\\<]", NULL },
    { "[\\<\\>]\\>", "[\\<\\>]" E },
    { "[]\\<]\\<", "[]\\<]" S },                    /* ] first is a member */
    { "[^]\\<]\\<", "[^]\\<]" S },
    { "[[:alpha:]\\<]\\>", "[[:alpha:]\\<]" E },
    { "[[:<:]]\\<", "[[:<:]]" S },
    { "[\\]\\<]\\<", "[\\]\\<]" S },
    { "[\\Q]\\<\\E]\\<", "[\\Q]\\<\\E]" S },
    { "\\Q\\<\\E\\<", "\\Q\\<\\E" S },
    { "\\Qa\\<", NULL },                            /* quoted to the end */
    { "\\c\\<", NULL },                             /* \c\ then < */
    { "\\c\\\\<", "\\c\\" S },                      /* \c\ then \< */
    { "\\x3c\\<", "\\x3c" S },
    { "(?#\\<)\\>", "(?#\\<)" E },
    { "(*MARK:\\<)\\<", "(*MARK:\\<)" S },
    { "(*:\\>)x", NULL },
    { "(?x)a b", NULL },                            /* x without anchors */
};

static void
test_anchors_rewrite_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rw_cases) / sizeof(rw_cases[0]); i++) {
        const struct rw_case *c = &rw_cases[i];
        char *out = (char *)1, *err = NULL;
        if (regex_anchors_rewrite(c->in, &out, &err) != 0)
            fail_msg("[%s]: %s", c->in, err);
        if (c->want == NULL && out != NULL)
            fail_msg("[%s]: rewritten to [%s]", c->in, out);
        if (c->want != NULL && (out == NULL || strcmp(out, c->want) != 0))
            fail_msg("[%s]: got [%s], want [%s]", c->in,
                     out ? out : "(none)", c->want);
        free(out);
        /* The contract is for patterns that compile, before and after. */
        struct query_regex *re = query_regex_new(c->in, 0, &err);
        if (re == NULL)
            fail_msg("[%s]: %s", c->in, err);
        query_regex_free(re);
    }
}

/* In extended mode '#' starts a comment this scan does not follow, so an
 * anchor there is refused rather than perhaps left as a literal. */
static void
test_anchors_extended_refused(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "(?x)\\<a", "(?x: \\<a)", "(?xx)\\>", "(?ix)\\<", "(?^x)\\<",
        "\\<a(?x)", "(?-x)\\<",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char *out = NULL, *err = NULL;
        if (regex_anchors_rewrite(refused[i], &out, &err) != -1)
            fail_msg("[%s] accepted", refused[i]);
        assert_null(out);
        assert_non_null(strstr(err, "x (extended) option"));
        free(err);
    }
    /* option-like groups without x */
    static const char *const fine[] = {
        "(?i)\\<", "(?P<x>a)\\<", "(?<x>a)\\<", "(?C1)\\<", "(?|a)\\<",
    };
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        char *out = NULL, *err = NULL;
        if (regex_anchors_rewrite(fine[i], &out, &err) != 0)
            fail_msg("[%s]: %s", fine[i], err);
        assert_non_null(out);
        free(out);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anchors_rewrite_table),
        cmocka_unit_test(test_anchors_extended_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
