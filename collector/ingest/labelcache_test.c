/* SPDX-License-Identifier: MIT */
/*
 * labelcache_test: a host alternating between two label texts is parsed
 * twice, not once per batch; every answer equals a fresh labelset_parse
 * of the same text (a model) over a random walk of 600 texts, some
 * invalid, through more texts than slots; texts with the same hash are
 * never confused; texts past the byte bound are answered right, not kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/ingest/labelcache.h"
#include "common/fnv.h"
#include "common/labelset.h"
#include "common/xmalloc.h"

static uint64_t
fnv(const char *s, size_t n)
{
    return fnv1a64(s, n);
}

/* The entry must be what labelset_parse says of text. */
static void
expect_model(struct labelcache_entry e, const char *text)
{
    size_t n_dropped = 0;
    char *err = NULL;
    struct labelset *ls = labelset_parse(text, strlen(text), &n_dropped,
                                         &err);

    if (ls == NULL) {
        assert_null(e.ls);
        assert_string_equal(e.err, err);
    } else {
        assert_non_null(e.ls);
        assert_true(labelset_is_equal(e.ls, ls));
        assert_int_equal(e.n_dropped, n_dropped);
    }
    labelset_free(ls);
    free(err);
}

static void
test_alternating_parsed_once_each(void **state)
{
    struct labelcache *c = labelcache_new();
    const char *a = "{\"app\":\"web\",\"tier\":\"front\"}";
    const char *b = "{\"app\":\"web\",\"tier\":\"back\"}";

    for (int i = 0; i < 100; i++) {
        const char *t = i % 2 ? b : a;
        expect_model(labelcache_get(c, t, strlen(t), fnv(t, strlen(t))), t);
    }
    assert_int_equal(labelcache_n_parsed(c), 2);
    labelcache_free(c);
}

/* Every text hashed to slot 0: each lookup must give its own text's
 * parse, never the other's. */
static void
test_same_hash_never_confused(void **state)
{
    struct labelcache *c = labelcache_new();
    const char *t[3] = { "{\"x\":\"1\"}", "{\"x\":\"2\"}", "[1]" };

    for (int i = 0; i < 30; i++)
        expect_model(labelcache_get(c, t[i % 3], strlen(t[i % 3]), 0),
                     t[i % 3]);
    assert_int_equal(labelcache_n_parsed(c), 30);
    labelcache_free(c);
}

/* A random walk over 600 texts (a fifth invalid, some with dropped
 * pairs), twice the slots: every answer equals the model's. */
static void
test_random_walk_against_model(void **state)
{
    struct labelcache *c = labelcache_new();
    char *texts[600];

    srand(12345);
    for (int i = 0; i < 600; i++) {
        if (i % 5 == 0)
            texts[i] = xasprintf("[%d]", i);
        else if (i % 7 == 0)
            texts[i] = xasprintf("{\"k%d\":\"v\",\"bad\\u0001\":\"x\"}", i);
        else
            texts[i] = xasprintf("{\"k\":\"%d\",\"z\":\"%d\"}", i, i * 3);
    }
    for (int n = 0; n < 20000; n++) {
        int i = n % 3 == 0 ? rand() % 600 : rand() % 20;   /* hot set */
        size_t len = strlen(texts[i]);
        expect_model(labelcache_get(c, texts[i], len, fnv(texts[i], len)),
                     texts[i]);
    }
    assert_true(labelcache_n_parsed(c) < 20000);
    for (int i = 0; i < 600; i++)
        free(texts[i]);
    labelcache_free(c);
}

/* Texts that together pass the byte bound: still answered right. */
static void
test_byte_bound(void **state)
{
    struct labelcache *c = labelcache_new();
    size_t big = LABELCACHE_MAX_BYTES * 2 / 5;
    char *t = xmalloc(big + 1);

    for (int k = 0; k < 5; k++) {
        memset(t, ' ', big);
        int n = snprintf(t, big, "{\"n\":\"%d\"}", k);
        t[n] = ' ';                 /* JSON with trailing spaces */
        t[big] = '\0';
        expect_model(labelcache_get(c, t, big, (uint64_t)k), t);
        expect_model(labelcache_get(c, t, big, (uint64_t)k), t);
    }
    /* 2 fit (kept, found again), the other 3 are parsed each time */
    assert_int_equal(labelcache_n_parsed(c), 2 + 3 * 2);
    free(t);
    labelcache_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alternating_parsed_once_each),
        cmocka_unit_test(test_same_hash_never_confused),
        cmocka_unit_test(test_random_walk_against_model),
        cmocka_unit_test(test_byte_bound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
