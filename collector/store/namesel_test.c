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
#include "common/labelset.h"

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
    assert_true(namesel_match(ns, "h", "c", "i", NULL));     /* empty: all */
    namesel_free(ns);

    ns = sel((const char *[]){ "n1", "n2", NULL },
             (const char *[]){ "!logq-*", NULL }, NULL);
    assert_true(namesel_match(ns, "n1", "web", "x", NULL));
    assert_true(namesel_match(ns, "n2", "web", "x", NULL));
    assert_false(namesel_match(ns, "n3", "web", "x", NULL));
    assert_false(namesel_match(ns, "n1", "logq-shipper", "x", NULL));
    namesel_free(ns);

    /* hosts are exact (no glob), containers globs, both negatable */
    ns = sel((const char *[]){ "n*", NULL },
             (const char *[]){ "web-*", "api", "!web-2", NULL },
             (const char *[]){ "!nginx:1", NULL });
    assert_false(namesel_match(ns, "n1", "web-1", "x", NULL));
    assert_true(namesel_match(ns, "n*", "web-1", "x", NULL));
    assert_false(namesel_match(ns, "n*", "web-2", "x", NULL));
    assert_true(namesel_match(ns, "n*", "api", "x", NULL));
    assert_false(namesel_match(ns, "n*", "api", "nginx:1", NULL));
    assert_false(namesel_match(ns, "n*", "db", "x", NULL));
    struct namesel *d = namesel_dup(ns);
    namesel_free(ns);
    assert_true(namesel_match(d, "n*", "web-1", "x", NULL));
    assert_false(namesel_match(d, "n*", "web-2", "x", NULL));
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
            assert_int_equal(namesel_match(ns, "h", names[k], "i", NULL),
                             want);
        }
        namesel_free(ns);
    }
}

static struct labelset *
ls_of(const char *json)
{
    char *err = NULL;
    struct labelset *ls = labelset_parse(json, strlen(json), NULL, &err);

    assert_non_null(ls);
    return ls;
}

/* --label KEY=GLOB / KEY, --service, --project: alternatives, '!' and
 * containers without the label. */
static void
test_namesel_labels(void **state)
{
    (void)state;
    struct labelset *web = ls_of("{\"com.docker.compose.service\":\"web\","
                                 "\"com.docker.compose.project\":\"shop\","
                                 "\"tier\":\"front-1\"}");
    struct labelset *db = ls_of("{\"com.docker.compose.service\":\"db\","
                                "\"com.docker.compose.project\":\"shop\","
                                "\"tier\":\"back\",\"empty\":\"\"}");
    struct labelset *none = ls_of("{}");
    struct namesel *ns = namesel_new();
    char *err = NULL;

    assert_false(namesel_has_labels(ns));
    assert_int_equal(namesel_add(ns, NAMESEL_LABEL, "tier=front*", &err), 0);
    assert_true(namesel_has_labels(ns));
    assert_true(namesel_match(ns, "h", "c", "i", web));
    assert_false(namesel_match(ns, "h", "c", "i", db));
    assert_false(namesel_match(ns, "h", "c", "i", none));
    assert_false(namesel_match(ns, "h", "c", "i", NULL));
    /* a second --label is an alternative */
    assert_int_equal(namesel_add(ns, NAMESEL_LABEL, "empty", &err), 0);
    assert_true(namesel_match(ns, "h", "c", "i", db));
    namesel_free(ns);

    ns = namesel_new();
    assert_int_equal(namesel_add(ns, NAMESEL_LABEL, "!tier=back", &err), 0);
    assert_true(namesel_match(ns, "h", "c", "i", web));
    assert_false(namesel_match(ns, "h", "c", "i", db));
    assert_true(namesel_match(ns, "h", "c", "i", none));     /* unlabelled */
    assert_int_equal(namesel_add(ns, NAMESEL_LABEL, "empty=", &err), 0);
    assert_false(namesel_match(ns, "h", "c", "i", web));
    assert_int_equal(namesel_add(ns, NAMESEL_LABEL, "a=b=c", &err), 0);
    struct namesel *d = namesel_dup(ns);
    namesel_free(ns);
    struct labelset *eq = ls_of("{\"a\":\"b=c\"}");
    assert_true(namesel_match(d, "h", "c", "i", eq));   /* '=' in a value */
    assert_false(namesel_match(d, "h", "c", "i", db));
    labelset_free(eq);
    namesel_free(d);

    ns = namesel_new();
    assert_int_equal(namesel_add(ns, NAMESEL_SERVICE, "w*", &err), 0);
    assert_int_equal(namesel_add(ns, NAMESEL_PROJECT, "shop", &err), 0);
    assert_true(namesel_match(ns, "h", "c", "i", web));
    assert_false(namesel_match(ns, "h", "c", "i", db));
    assert_false(namesel_match(ns, "h", "c", "i", NULL));
    assert_int_equal(namesel_add(ns, NAMESEL_SERVICE, "db", &err), 0);
    assert_true(namesel_match(ns, "h", "c", "i", db));
    /* ANDed with the names */
    assert_int_equal(namesel_add(ns, NAMESEL_HOST, "n1", &err), 0);
    assert_false(namesel_match(ns, "h", "c", "i", db));
    assert_true(namesel_match(ns, "n1", "c", "i", db));
    namesel_free(ns);

    ns = namesel_new();
    assert_int_equal(namesel_add(ns, NAMESEL_LABEL, "=x", &err), -1);
    assert_string_equal(err, "label '=x': empty key (KEY=VALUE)");
    free(err);
    assert_int_equal(namesel_add(ns, NAMESEL_SERVICE, "!", &err), -1);
    assert_string_equal(err, "empty service");
    free(err);
    namesel_free(ns);
    labelset_free(web);
    labelset_free(db);
    labelset_free(none);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_namesel_rules),
        cmocka_unit_test(test_namesel_errors),
        cmocka_unit_test(test_namesel_property),
        cmocka_unit_test(test_namesel_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
