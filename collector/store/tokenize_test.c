/* SPDX-License-Identifier: MIT */
/*
 * tokenize_test: the index tokenizer: splitting, ASCII folding, UTF-8
 * words, the length cap, ASCII parts of non-ASCII words, hashes, early stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "collector/store/tokenize.h"

struct toks {
    char     s[32][TOKENIZE_MAX_LEN + 1];
    uint32_t h[32];
    size_t   n;
    size_t   stop_at;       /* 0: never */
};

static int
collect_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct toks *t = arg;

    assert_true(len >= 1 && len <= TOKENIZE_MAX_LEN);
    assert_true(t->n < 32);
    memcpy(t->s[t->n], tok, len);
    t->s[t->n][len] = '\0';
    t->h[t->n++] = hash;
    return t->stop_at && t->n == t->stop_at ? 7 : 0;
}

static void
toks_of(struct toks *t, const char *text, unsigned flags)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(tokenize_foreach(text, strlen(text), flags, collect_cb,
                                      t), 0);
}

static void
test_tokenize_split_and_fold(void **state)
{
    struct toks t;

    (void)state;
    toks_of(&t, "GET /api/v1/Users?id=42 HTTP/1.1 ip=10.0.0.1", 0);
    const char *want[] = { "get", "api", "v1", "users", "id", "42", "http",
                           "1", "1", "ip", "10", "0", "0", "1" };
    assert_int_equal(t.n, 14);
    for (size_t i = 0; i < t.n; i++) {
        assert_string_equal(t.s[i], want[i]);
        assert_int_equal(t.h[i], tokenize_hash((const uint8_t *)want[i],
                                               strlen(want[i])));
    }
}

static void
test_tokenize_empty_and_separators(void **state)
{
    struct toks t;

    (void)state;
    toks_of(&t, "", 0);
    assert_int_equal(t.n, 0);
    toks_of(&t, " \t-./:[]{}\"'\x01\x7f", 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(tokenize_foreach(NULL, 0, 0, collect_cb, &t), 0);
}

static void
test_tokenize_utf8(void **state)
{
    struct toks t;

    (void)state;
    toks_of(&t, "Caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac", 0);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.s[0], "caf\xc3\xa9");
    assert_string_equal(t.s[1], "na\xc3\xafve");
    assert_string_equal(t.s[2], "\xe6\x97\xa5\xe6\x9c\xac");
    toks_of(&t, "Caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5", TOKENIZE_F_ASCII_PARTS);
    const char *want[] = { "caf\xc3\xa9", "caf", "na\xc3\xafve", "na", "ve",
                           "\xe6\x97\xa5" };
    assert_int_equal(t.n, 6);
    for (size_t i = 0; i < t.n; i++)
        assert_string_equal(t.s[i], want[i]);
}

static void
test_tokenize_cap(void **state)
{
    char text[300];
    struct toks t;

    (void)state;
    memset(text, 'A', 100);
    memcpy(text + 100, " b", 3);
    toks_of(&t, text, 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(strlen(t.s[0]), TOKENIZE_MAX_LEN);
    assert_int_equal(t.s[0][0], 'a');
    assert_string_equal(t.s[1], "b");
    /* ASCII parts come from the whole word, past the cap */
    memset(text, 0, sizeof(text));
    for (int i = 0; i < 40; i++)
        memcpy(text + 2 * i, "\xc3\xa9", 2);
    memcpy(text + 80, "Tail", 5);
    toks_of(&t, text, TOKENIZE_F_ASCII_PARTS);
    assert_int_equal(t.n, 2);
    assert_int_equal(strlen(t.s[0]), TOKENIZE_MAX_LEN);
    assert_string_equal(t.s[1], "tail");
}

static void
test_tokenize_stop(void **state)
{
    struct toks t;
    const char *text = "a b c d";

    (void)state;
    memset(&t, 0, sizeof(t));
    t.stop_at = 2;
    assert_int_equal(tokenize_foreach(text, strlen(text), 0, collect_cb, &t),
                     7);
    assert_int_equal(t.n, 2);
}

static void
test_tokenize_hash_stable(void **state)
{
    (void)state;
    /* Part of the on-disk format: a change here needs a new .lqi version. */
    assert_int_equal(tokenize_hash((const uint8_t *)"error", 5), 0x2c196eccu);
    assert_int_not_equal(tokenize_hash((const uint8_t *)"a", 1), 0);
    assert_int_not_equal(tokenize_hash((const uint8_t *)"a", 1),
                         tokenize_hash((const uint8_t *)"b", 1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenize_split_and_fold),
        cmocka_unit_test(test_tokenize_empty_and_separators),
        cmocka_unit_test(test_tokenize_utf8),
        cmocka_unit_test(test_tokenize_cap),
        cmocka_unit_test(test_tokenize_stop),
        cmocka_unit_test(test_tokenize_hash_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
