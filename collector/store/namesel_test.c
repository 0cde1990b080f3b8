/* SPDX-License-Identifier: MIT */
/*
 * namesel_test: alternatives, exclusions and globs per field, fields
 * ANDed, errors, copies; and a property check against a brute-force
 * reading of the rule over every combination of a few names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <fnmatch.h>
#include <string.h>

#include <cmocka.h>

#include "collector/store/namesel.h"

static struct namesel *
sel(const char *const *host, const char *const *ctr, const char *const *img)
{
    struct namesel *ns = namesel_new();
    char *err = NULL;

    for (; host && *host; host++)
        assert_int_equal(namesel_add(ns, NAMESEL_HOST, *host, &err), 0);
    for (; ctr && *ctr; ctr++)
        assert_int_equal(namesel_add(ns, NAMESEL_CONTAINER, *ctr, &err), 0);
    for (; img && *img; img++)
        assert_int_equal(namesel_add(ns, NAMESEL_IMAGE, *img, &err), 0);
    return ns;
}

static void
test_namesel_rules(void **state)
{
    (void)state;
    struct namesel *ns = namesel_new();
    assert_true(namesel_match(ns, "h", "c", "i"));     /* empty: all */
    namesel_free(ns);

    ns = sel((const char *[]){ "n1", "n2", NULL },
             (const char *[]){ "!logq-*", NULL }, NULL);
    assert_true(namesel_match(ns, "n1", "web", "x"));
    assert_true(namesel_match(ns, "n2", "web", "x"));
    assert_false(namesel_match(ns, "n3", "web", "x"));
    assert_false(namesel_match(ns, "n1", "logq-shipper", "x"));
    namesel_free(ns);

    /* hosts are exact (no glob), containers globs, both negatable */
    ns = sel((const char *[]){ "n*", NULL },
             (const char *[]){ "web-*", "api", "!web-2", NULL },
             (const char *[]){ "!nginx:1", NULL });
    assert_false(namesel_match(ns, "n1", "web-1", "x"));
    assert_true(namesel_match(ns, "n*", "web-1", "x"));
    assert_false(namesel_match(ns, "n*", "web-2", "x"));
    assert_true(namesel_match(ns, "n*", "api", "x"));
    assert_false(namesel_match(ns, "n*", "api", "nginx:1"));
    assert_false(namesel_match(ns, "n*", "db", "x"));
    struct namesel *d = namesel_dup(ns);
    namesel_free(ns);
    assert_true(namesel_match(d, "n*", "web-1", "x"));
    assert_false(namesel_match(d, "n*", "web-2", "x"));
    namesel_free(d);
    assert_null(namesel_dup(NULL));
}

static void
test_namesel_errors(void **state)
{
    (void)state;
    struct namesel *ns = namesel_new();
    char *err = NULL;

    assert_int_equal(namesel_add(ns, NAMESEL_HOST, "", &err), -1);
    assert_string_equal(err, "empty host");
    free(err);
    assert_int_equal(namesel_add(ns, NAMESEL_CONTAINER, "!", &err), -1);
    assert_string_equal(err, "empty container");
    free(err);
    for (int i = 0; i < NAMESEL_MAX_PATTERNS; i++)
        assert_int_equal(namesel_add(ns, NAMESEL_IMAGE, "i", &err), 0);
    assert_int_equal(namesel_add(ns, NAMESEL_IMAGE, "i", &err), -1);
    assert_string_equal(err, "too many image parameters (at most 16)");
    free(err);
    namesel_free(ns);
}

/* The rule read literally: keep a container name when (no positive
 * pattern, or one matches) and no negated pattern matches; every subset
 * of a few patterns over a few names. */
static void
test_namesel_property(void **state)
{
    (void)state;
    static const char *const pats[] = {
        "web-*", "!web-2", "api", "!*-1", "w*", "!api",
    };
    static const char *const names[] = {
        "web-1", "web-2", "api", "api-1", "db", "w",
    };
    size_t np = sizeof(pats) / sizeof(pats[0]);

    for (unsigned mask = 0; mask < (1u << np); mask++) {
        struct namesel *ns = namesel_new();
        char *err = NULL;
        for (size_t i = 0; i < np; i++)
            if (mask & (1u << i))
                assert_int_equal(namesel_add(ns, NAMESEL_CONTAINER, pats[i],
                                             &err), 0);
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            int has_pos = 0, pos = 0, neg = 0;
            for (size_t i = 0; i < np; i++) {
                if (!(mask & (1u << i)))
                    continue;
                int is_neg = pats[i][0] == '!';
                int m = fnmatch(pats[i] + is_neg, names[k], 0) == 0;
                if (is_neg)
                    neg |= m;
                else {
                    has_pos = 1;
                    pos |= m;
                }
            }
            int want = (!has_pos || pos) && !neg;
            assert_int_equal(namesel_match(ns, "h", names[k], "i"), want);
        }
        namesel_free(ns);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_namesel_rules),
        cmocka_unit_test(test_namesel_errors),
        cmocka_unit_test(test_namesel_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
