/* SPDX-License-Identifier: MIT */
/*
 * nearest_test: prefix, substring and edit-distance candidates in their
 * order, glob characters, duplicates, the max, nothing near; and the
 * distance against a brute-force recursive definition on short strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "query/nearest.h"

static void
expect(const char *want, const char *const *names, size_t n,
       const char *joined)
{
    const char *out[8];
    char got[256] = "";
    size_t m = nearest_names(want, names, n, out, 4);

    for (size_t i = 0, at = 0; i < m; i++)
        at += (size_t)snprintf(got + at, sizeof(got) - at, "%s%s",
                               i ? "," : "", out[i]);
    assert_string_equal(got, joined);
}

static void
test_nearest_order(void **state)
{
    (void)state;
    const char *const names[] = {
        "web-2", "api", "web-1", "my-web", "wbe", "db", "web-1", "webby",
        "worker",
    };
    size_t n = sizeof(names) / sizeof(names[0]);

    /* prefix first, then substring, then distance; at most 4; once */
    expect("web", names, n, "web-1,web-2,webby,my-web");
    expect("web*", names, n, "web-1,web-2,webby,my-web");
    expect("apj", names, n, "api");
    expect("zzzzzz", names, n, "");
    expect("", names, n, "");
    expect("wbe-1", names, n, "wbe,web-1");
}

/* Levenshtein by its recursive definition, for short strings. */
static size_t
lev(const char *a, const char *b)
{
    if (*a == '\0')
        return strlen(b);
    if (*b == '\0')
        return strlen(a);
    size_t s = lev(a + 1, b + 1) + (*a != *b);
    size_t d = lev(a + 1, b) + 1, i = lev(a, b + 1) + 1;
    return s < d ? (s < i ? s : i) : (d < i ? d : i);
}

/* Every pair of short strings over "ab": near exactly when the rule of
 * nearest.h says so. */
static void
test_nearest_property(void **state)
{
    (void)state;
    char s[64][6];
    size_t n = 0;

    for (int len = 1; len <= 4; len++)
        for (int bits = 0; bits < (1 << len); bits++, n++) {
            for (int i = 0; i < len; i++)
                s[n][i] = (bits >> i) & 1 ? 'b' : 'a';
            s[n][len] = '\0';
        }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            const char *name = s[j], *out[1];
            size_t wl = strlen(s[i]);
            int want = strstr(name, s[i]) != NULL ||
                       lev(s[i], name) <= 1 + wl / 4;
            assert_int_equal(nearest_names(s[i], &name, 1, out, 1),
                             (size_t)want);
        }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nearest_order),
        cmocka_unit_test(test_nearest_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
