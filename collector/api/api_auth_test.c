/* SPDX-License-Identifier: MIT */
/*
 * api_auth_test: the --http-token-file format (comments, blank lines,
 * tabs, CRLF, every refusal with its line number) and the Authorization
 * check (roles, names, wrong/short/prefixed tokens, other schemes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/api/api_auth.h"
#include "common/xmalloc.h"

#define T1 "0123456789abcdef0123456789abcdef"
#define T2 "fedcba9876543210fedcba9876543210-x"

static struct api_auth *
parse(const char *text, char **err)
{
    *err = NULL;
    return api_auth_parse(text, strlen(text), "tokens", err);
}

static void
test_parse_and_check(void **state)
{
    const char *text = "# people and grafana\n"
                       "\n"
                       "alice read " T1 "\r\n"
                       "  \t# indented comment\n"
                       "ops\tadmin\t" T2 "  \n";
    char *err;
    const char *name = NULL;
    struct api_auth *au = parse(text, &err);

    (void)state;
    assert_non_null(au);
    assert_int_equal(api_auth_count(au), 2);
    assert_int_equal(api_auth_check(au, "Bearer " T1, &name), API_ROLE_READ);
    assert_string_equal(name, "alice");
    assert_int_equal(api_auth_check(au, "bearer  " T2, &name),
                     API_ROLE_ADMIN);
    assert_string_equal(name, "ops");
    assert_int_equal(api_auth_check(au, "Bearer " T1 " ", NULL),
                     API_ROLE_READ);
    /* wrong, prefix, extension, other schemes, nothing */
    assert_int_equal(api_auth_check(au, "Bearer " T1 "x", NULL),
                     API_ROLE_NONE);
    assert_int_equal(api_auth_check(au, "Bearer 0123456789abcdef", NULL),
                     API_ROLE_NONE);
    assert_int_equal(api_auth_check(au, "Bearer ", NULL), API_ROLE_NONE);
    assert_int_equal(api_auth_check(au, "Basic " T1, NULL), API_ROLE_NONE);
    assert_int_equal(api_auth_check(au, T1, NULL), API_ROLE_NONE);
    assert_int_equal(api_auth_check(au, NULL, NULL), API_ROLE_NONE);
    assert_int_equal(api_auth_check(au, "Bearer alice", NULL),
                     API_ROLE_NONE);
    api_auth_free(au);
}

static void
test_refusals(void **state)
{
    static const struct { const char *text, *want; } cases[] = {
        { "", "tokens: no token" },
        { "# only a comment\n\n", "tokens: no token" },
        { "alice read\n", "tokens:1: want NAME ROLE TOKEN" },
        { "alice read " T1 " extra\n", "tokens:1: want NAME ROLE TOKEN" },
        { "\nalice write " T1 "\n", "tokens:2: bad role" },
        { "alice Read " T1 "\n", "tokens:1: bad role" },
        { "al/ice read " T1 "\n", "tokens:1: bad name" },
        { "alice read 0123456789abcdef0123456789abcde\n",
          "tokens:1: bad token" },
        { "alice read " T1 "\x01\n", "tokens:1: bad token" },
        { "a read " T1 "\na admin " T2 "\n", "tokens:2: duplicate name" },
        { "a read " T1 "\nb admin " T1 "\n", "tokens:2: duplicate token" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *err;
        struct api_auth *au = parse(cases[i].text, &err);
        assert_null(au);
        assert_non_null(err);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
        free(err);
    }
}

static void
test_many(void **state)
{
    char line[128];
    size_t cap = 64 * (API_AUTH_MAX_TOKENS + 1), len = 0;
    char *text = xmalloc(cap);
    char *err;

    (void)state;
    for (int i = 0; i < API_AUTH_MAX_TOKENS; i++) {
        int n = snprintf(line, sizeof(line), "n%d read tok-%032d\n", i, i);
        memcpy(text + len, line, (size_t)n);
        len += (size_t)n;
    }
    struct api_auth *au = api_auth_parse(text, len, "tokens", &err);
    assert_non_null(au);
    const char *name;
    snprintf(line, sizeof(line), "Bearer tok-%032d", 777);
    assert_int_equal(api_auth_check(au, line, &name), API_ROLE_READ);
    assert_string_equal(name, "n777");
    api_auth_free(au);
    int n = snprintf(line, sizeof(line), "x read tok-%032d\n", 99999);
    memcpy(text + len, line, (size_t)n);
    assert_null(api_auth_parse(text, len + (size_t)n, "tokens", &err));
    assert_non_null(strstr(err, "too many tokens"));
    free(err);
    free(text);
}

/* A token of exactly API_AUTH_MAX_TOKEN bytes: "Bearer TOKEN junk" must
 * not pass for "Bearer TOKEN" (the length bound cut the header just past
 * the space, which was then trimmed as trailing whitespace). */
static void
test_max_token_then_junk(void **state)
{
    char tok[API_AUTH_MAX_TOKEN + 1], text[API_AUTH_MAX_TOKEN + 32];
    char hdr[API_AUTH_MAX_TOKEN + 32];
    char *err;

    (void)state;
    memset(tok, 'k', API_AUTH_MAX_TOKEN);
    tok[API_AUTH_MAX_TOKEN] = '\0';
    snprintf(text, sizeof(text), "big read %s\n", tok);
    struct api_auth *au = parse(text, &err);
    assert_non_null(au);
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    assert_int_equal(api_auth_check(au, hdr, NULL), API_ROLE_READ);
    snprintf(hdr, sizeof(hdr), "Bearer %s  ", tok);
    assert_int_equal(api_auth_check(au, hdr, NULL), API_ROLE_READ);
    snprintf(hdr, sizeof(hdr), "Bearer %s junk", tok);
    assert_int_equal(api_auth_check(au, hdr, NULL), API_ROLE_NONE);
    snprintf(hdr, sizeof(hdr), "Bearer %sk", tok);
    assert_int_equal(api_auth_check(au, hdr, NULL), API_ROLE_NONE);
    api_auth_free(au);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_check),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_max_token_then_junk),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests_name("api_auth", tests, NULL, NULL);
}
