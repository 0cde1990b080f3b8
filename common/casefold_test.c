/* SPDX-License-Identifier: MIT */
/*
 * casefold_test: the folds the docs promise (Latin-1, Latin Extended-A/B,
 * Greek, Cyrillic, Armenian), the exclusions (ß, long s, Kelvin sign, İ),
 * idempotence over all of Unicode and over random bytes, invalid UTF-8
 * kept byte for byte, and length-changing folds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/casefold.h"
#include "common/utf8.h"

static void
fold_eq(const char *in, const char *want)
{
    uint8_t out[256];
    size_t n = casefold_str((const uint8_t *)in, strlen(in), out,
                            sizeof(out));

    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
}

static void
test_casefold_scripts(void **state)
{
    (void)state;
    fold_eq("ERROR Error", "error error");
    fold_eq("CAF\xc3\x89", "caf\xc3\xa9");                      /* CAFÉ */
    fold_eq("\xc3\x80\xc3\x9e\xc3\x98", "\xc3\xa0\xc3\xbe\xc3\xb8");/* ÀÞØ */
    fold_eq("\xc5\x81\xc3\x93" "D\xc5\xb9", "\xc5\x82\xc3\xb3" "d\xc5\xba");
    fold_eq("\xc7\x84\xc7\x85", "\xc7\x86\xc7\x86");   /* Ǆ ǅ -> ǆ ǆ */
    fold_eq("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
            "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"); /* Привет */
    fold_eq("\xd0\x81\xd2\x90", "\xd1\x91\xd2\x91");          /* Ё Ґ */
    fold_eq("\xce\xa3\xcf\x82\xcf\x83", "\xcf\x83\xcf\x83\xcf\x83"); /* Σςσ */
    fold_eq("\xce\x86\xce\xa9", "\xce\xac\xcf\x89");          /* Ά Ω */
    fold_eq("\xd4\xb1\xd5\x96", "\xd5\xa1\xd6\x86");          /* Ա Ֆ */
    fold_eq("\xc2\xb5", "\xce\xbc");                          /* micro */
    fold_eq("\xe1\xba\x9e", "\xc3\x9f");                      /* ẞ -> ß */
    fold_eq("\xef\xbc\xa1", "\xef\xbd\x81");                  /* fullwidth A */
}

static void
test_casefold_simple_only(void **state)
{
    (void)state;
    fold_eq("STRA\xc3\x9f" "E", "stra\xc3\x9f" "e");   /* ß stays */
    fold_eq("\xc5\xbf", "\xc5\xbf");                   /* long s: not s */
    fold_eq("\xe2\x84\xaa", "\xe2\x84\xaa");           /* Kelvin: not k */
    fold_eq("\xc4\xb0", "\xc4\xb0");                   /* İ stays */
    fold_eq("\xc8\xba", "\xe2\xb1\xa5");               /* Ⱥ: 2 -> 3 bytes */
    fold_eq("123 _-./\xe6\x97\xa5", "123 _-./\xe6\x97\xa5");
}

static void
test_casefold_invalid_kept(void **state)
{
    (void)state;
    fold_eq("A\xc3(\xff\x80\xed\xa0\x80Z", "a\xc3(\xff\x80\xed\xa0\x80z");
    fold_eq("\xe6\x97" "B", "\xe6\x97" "b");
}

static void
test_casefold_idempotent_all(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        uint32_t f = casefold_cp(cp);
        assert_int_equal(casefold_cp(f), f);
        assert_int_equal(cp < 0x80, f < 0x80);
        assert_false(f >= 0xd800 && f <= 0xdfff);
        assert_true(f < 0x110000);
    }
}

/* Random bytes (biased to UTF-8 lead and continuation bytes): folding
 * twice equals folding once, and the ASCII bytes that are not letters
 * are where they were relative to the word runs. */
static void
test_casefold_idempotent_random(void **state)
{
    static const uint8_t pick[] = { 'a', 'Z', ' ', '_', 0x80, 0x9f, 0xa9,
                                    0xbf, 0xc3, 0xce, 0xd0, 0xe2, 0xe6,
                                    0xed, 0xf0, 0xf4, 0xff, 0xc8, 0xba };
    uint8_t s[32], f1[160], f2[160];

    (void)state;
    srand(7);
    for (int iter = 0; iter < 200000; iter++) {
        size_t len = (size_t)(rand() % 12);
        for (size_t i = 0; i < len; i++)
            s[i] = pick[rand() % (int)sizeof(pick)];
        size_t n1 = casefold_str(s, len, f1, sizeof(f1));
        size_t n2 = casefold_str(f1, n1, f2, sizeof(f2));
        assert_true(n1 <= sizeof(f1));
        assert_int_equal(n1, n2);
        assert_memory_equal(f1, f2, n1);
    }
}

/* casefold_next (with its two-byte fast path) agrees with decoding,
 * casefold_cp and encoding, for every code point. */
static void
test_casefold_next_every_cp(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        uint8_t in[4], want[4], got[4];
        size_t n = utf8_encode(cp, in), wl = utf8_encode(casefold_cp(cp),
                                                         want), gl = 0;
        assert_int_equal(casefold_next(in, n, got, &gl), n);
        assert_int_equal(gl, wl);
        assert_memory_equal(got, want, wl);
    }
}

static void
test_casefold_cap(void **state)
{
    uint8_t out[4];

    (void)state;
    memset(out, 'x', sizeof(out));
    assert_int_equal(casefold_str((const uint8_t *)"AB\xc3\x89", 4, out, 3),
                     4);
    assert_memory_equal(out, "ab\xc3" "x", 4);
    assert_int_equal(casefold_str((const uint8_t *)"", 0, out, 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_casefold_scripts),
        cmocka_unit_test(test_casefold_simple_only),
        cmocka_unit_test(test_casefold_invalid_kept),
        cmocka_unit_test(test_casefold_idempotent_all),
        cmocka_unit_test(test_casefold_idempotent_random),
        cmocka_unit_test(test_casefold_next_every_cp),
        cmocka_unit_test(test_casefold_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
