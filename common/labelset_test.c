/* SPDX-License-Identifier: MIT */
/*
 * labelset_test: the limits of issue 9 (printable UTF-8, 256 bytes, 64
 * labels) each dropping exactly the offending pairs, canonical JSON in key
 * order, last value of a repeated key, lookups, equality, and parse errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/labelset.h"

static void
test_labelset_parse_canonical(void **state)
{
    (void)state;
    const char *t = "{\"com.docker.compose.service\":\"web\","
                    "\"app\":\"shop\", \"tier\" : \"a\\\"b\"}";
    size_t dropped = 99;
    char *err = NULL;
    struct labelset *ls = labelset_parse(t, strlen(t), &dropped, &err);

    assert_non_null(ls);
    assert_int_equal(dropped, 0);
    assert_int_equal(ls->n, 3);
    assert_string_equal(ls->json, "{\"app\":\"shop\",\"com.docker.compose."
                        "service\":\"web\",\"tier\":\"a\\\"b\"}");
    assert_int_equal(ls->json_len, strlen(ls->json));
    assert_string_equal(labelset_get(ls, "app"), "shop");
    assert_string_equal(labelset_get(ls, "tier"), "a\"b");
    assert_string_equal(labelset_get(ls, "com.docker.compose.service"),
                        "web");
    assert_null(labelset_get(ls, "ap"));
    assert_null(labelset_get(ls, "zzz"));
    assert_null(labelset_get(NULL, "app"));
    struct labelset *d = labelset_dup(ls);
    assert_true(labelset_is_equal(ls, d));
    labelset_free(d);
    labelset_free(ls);
}

static void
test_labelset_limits(void **state)
{
    (void)state;
    char long_val[300], ok_val[257];
    memset(long_val, 'x', 257);
    long_val[257] = '\0';
    memset(ok_val, 'y', 256);
    ok_val[256] = '\0';
    const char *keys[] = { "a", "", "b", "c\x01", "d", "e", "f", "g" };
    const char *vals[] = { "1", "2", long_val, "3", ok_val, "\xc2\x85",
                           "\xff", "caf\xc3\xa9" };
    size_t dropped = 0;
    struct labelset *ls = labelset_new(keys, vals, 8, &dropped);

    /* empty key, 257 bytes, C0 in a key, C1 (U+0085), invalid UTF-8 */
    assert_int_equal(dropped, 5);
    assert_int_equal(ls->n, 3);
    assert_string_equal(labelset_get(ls, "d"), ok_val);
    assert_string_equal(labelset_get(ls, "g"), "caf\xc3\xa9");
    assert_null(labelset_get(ls, "b"));
    labelset_free(ls);
}

static void
test_labelset_max_labels(void **state)
{
    (void)state;
    char kbuf[100][16];
    const char *keys[100], *vals[100];
    for (int i = 0; i < 100; i++) {
        snprintf(kbuf[99 - i], sizeof(kbuf[0]), "k%03d", i);
        keys[99 - i] = kbuf[99 - i];
        vals[99 - i] = "v";
    }
    size_t dropped = 0;
    struct labelset *ls = labelset_new(keys, vals, 100, &dropped);

    assert_int_equal(ls->n, LABELSET_MAX_LABELS);
    assert_int_equal(dropped, 100 - LABELSET_MAX_LABELS);
    assert_string_equal(ls->keys[0], "k000");
    assert_string_equal(ls->keys[63], "k063");
    assert_null(labelset_get(ls, "k064"));
    labelset_free(ls);
}

static void
test_labelset_repeated_key(void **state)
{
    (void)state;
    const char *keys[] = { "a", "b", "a" };
    const char *vals[] = { "first", "x", "last" };
    size_t dropped = 0;
    struct labelset *ls = labelset_new(keys, vals, 3, &dropped);

    assert_int_equal(ls->n, 2);
    assert_int_equal(dropped, 1);
    assert_string_equal(labelset_get(ls, "a"), "last");
    labelset_free(ls);
}

static void
test_labelset_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = { "[1]", "\"s\"", "{", "{\"a\":}", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *err = NULL;
        assert_null(labelset_parse(bad[i], strlen(bad[i]), NULL, &err));
        assert_non_null(err);
        free(err);
    }
    size_t dropped = 0;
    char *err = NULL;
    const char *t = "{\"n\":1,\"o\":{},\"z\":\"a\\u0000b\",\"s\":\"ok\"}";
    struct labelset *ls = labelset_parse(t, strlen(t), &dropped, &err);
    assert_non_null(ls);
    assert_int_equal(dropped, 3);
    assert_int_equal(ls->n, 1);
    labelset_free(ls);
    ls = labelset_parse("null", 4, &dropped, &err);
    assert_non_null(ls);
    assert_int_equal(ls->n, 0);
    assert_string_equal(ls->json, "{}");
    assert_true(labelset_is_equal(ls, NULL));
    labelset_free(ls);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labelset_parse_canonical),
        cmocka_unit_test(test_labelset_limits),
        cmocka_unit_test(test_labelset_max_labels),
        cmocka_unit_test(test_labelset_repeated_key),
        cmocka_unit_test(test_labelset_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
