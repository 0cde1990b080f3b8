/* SPDX-License-Identifier: MIT */
/*
 * utf8_test: the decoder against a brute-force model over every 1- to
 * 4-byte input pattern class, the maximal-subpart lengths, the encoder
 * round trip, the JSON escapes (pairs, lone surrogates, cut input) and
 * the printable-text check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/utf8.h"
#include "tests/support/utf8_model.h"

static void
test_utf8_every_scalar_round_trips(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        uint8_t want[4], got[4];
        size_t n = utf8_model_encode(cp, want);
        assert_int_equal(utf8_encode(cp, got), n);
        assert_memory_equal(got, want, n);
        uint32_t v = 0;
        size_t bad = 0;
        assert_int_equal(utf8_decode(want, n, &v, &bad), n);
        assert_int_equal(v, cp);
        if (n > 1)      /* cut short: invalid, subpart is what is there */
            assert_int_equal(utf8_decode(want, n - 1, &v, &bad), 0);
    }
}

/* Every 2-byte prefix class: a sequence decodes iff the model encodes the
 * same bytes; invalid ones report a subpart of 1..3 bytes that is itself
 * a prefix of no valid sequence beyond its length. */
static void
test_utf8_invalid_forms(void **state)
{
    (void)state;
    for (unsigned a = 0x80; a < 0x100; a++) {
        for (unsigned b = 0; b < 0x100; b++) {
            uint8_t s[4] = { (uint8_t)a, (uint8_t)b, 0x80, 0x80 };
            uint32_t cp = 0;
            size_t bad = 0;
            size_t n = utf8_decode(s, 4, &cp, &bad);
            if (n > 0) {
                uint8_t re[4];
                assert_int_equal(utf8_model_encode(cp, re), n);
                assert_memory_equal(re, s, n);
                assert_false(cp >= 0xd800 && cp <= 0xdfff);
            } else {
                assert_true(bad >= 1 && bad <= 3);
            }
        }
    }
    uint32_t cp;
    size_t bad;
    /* overlong, surrogate, too big, stray continuation, bad lead */
    const char *cases[] = { "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                            "\xf4\x90\x80\x80", "\x80", "\xf5\x80\x80\x80",
                            "\xff" };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(utf8_decode((const uint8_t *)cases[i],
                                     strlen(cases[i]), &cp, &bad), 0);
        assert_int_equal(bad, 1);
    }
    /* maximal subparts: a valid start cut by a bad byte or the end */
    assert_int_equal(utf8_decode((const uint8_t *)"\xe6\x97" "A", 3, &cp,
                                 &bad), 0);
    assert_int_equal(bad, 2);
    assert_int_equal(utf8_decode((const uint8_t *)"\xf0\x9f\x98", 3, &cp,
                                 &bad), 0);
    assert_int_equal(bad, 3);
    assert_int_equal(utf8_decode((const uint8_t *)"\xf0\x9f", 2, &cp, &bad),
                     0);
    assert_int_equal(bad, 2);
    assert_int_equal(utf8_decode((const uint8_t *)"\xc3", 1, &cp, &bad), 0);
    assert_int_equal(bad, 1);
}

static size_t
esc(const char *s, uint32_t *cp, unsigned *flags)
{
    return utf8_json_escape((const uint8_t *)s, strlen(s), cp, flags);
}

static void
test_utf8_json_escapes(void **state)
{
    uint32_t cp;
    unsigned f;

    (void)state;
    const char *simple = "\"\\/bfnrt";
    const uint32_t want[] = { '"', '\\', '/', '\b', '\f', '\n', '\r', '\t' };
    for (size_t i = 0; i < 8; i++) {
        char s[2] = { simple[i], 0 };
        assert_int_equal(esc(s, &cp, &f), 1);
        assert_int_equal(cp, want[i]);
        assert_int_equal(f, 0);
    }
    assert_int_equal(esc("u00e9rest", &cp, &f), 5);
    assert_int_equal(cp, 0xe9);
    assert_int_equal(f, UTF8_ESC_U);
    assert_int_equal(esc("u00E9", &cp, &f), 5);
    assert_int_equal(f, UTF8_ESC_U | UTF8_ESC_UPPER_HEX);
    assert_int_equal(esc("ud83d\\ude00x", &cp, &f), 11);
    assert_int_equal(cp, 0x1f600);
    assert_int_equal(f, UTF8_ESC_U | UTF8_ESC_PAIR);
    /* lone high, high + non-low, lone low: U+FFFD, one escape used */
    assert_int_equal(esc("ud83d", &cp, &f), 5);
    assert_int_equal(cp, UTF8_REPLACEMENT);
    assert_int_equal(f, UTF8_ESC_U | UTF8_ESC_LONE);
    assert_int_equal(esc("ud83d\\u0041", &cp, &f), 5);
    assert_int_equal(cp, UTF8_REPLACEMENT);
    assert_int_equal(esc("ude00\\ude00", &cp, &f), 5);
    assert_int_equal(f, UTF8_ESC_U | UTF8_ESC_LONE);
    assert_int_equal(esc("ud83d\\ude0", &cp, &f), 5);   /* pair cut short */
    /* malformed */
    assert_int_equal(esc("", &cp, &f), 0);
    assert_int_equal(esc("x", &cp, &f), 0);
    assert_int_equal(esc("u12", &cp, &f), 0);
    assert_int_equal(esc("u12g4", &cp, &f), 0);
    assert_int_equal(esc("U1234", &cp, &f), 0);
}

static void
test_utf8_cut_boundaries(void **state)
{
    (void)state;
    /* "a" + U+00E9 (2 bytes) + U+20AC (3 bytes) + U+1F600 (4 bytes) + "z" */
    const uint8_t s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
    static const size_t want[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11 };

    for (size_t n = 0; n < sizeof(want) / sizeof(want[0]); n++)
        assert_int_equal(utf8_cut(s, n), want[n]);
    /* Not UTF-8: four continuation bytes in a row are cut where asked. */
    const uint8_t bad[] = "\x80\x80\x80\x80\x80";
    assert_int_equal(utf8_cut(bad, 4), 4);
}

/* A continuation byte at n that belongs to no well-formed sequence is not
 * a reason to cut further back: the whole sequence or the valid byte
 * before it is kept (each was cut off before, found by fuzz_utf8). */
static void
test_utf8_cut_stray_continuation(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n, want;
    } c[] = {
        { "\xc3\xa9\x80", 2, 2 },          /* whole U+00E9, then stray */
        { "xa\x80", 2, 2 },                 /* ASCII, then stray */
        { "\x80\x80", 1, 1 },               /* strays from the start */
        { "\xe0\x80\x80", 2, 2 },           /* overlong lead */
        { "\xf4\x90\x80\x80", 3, 3 },       /* past U+10FFFF */
        { "\xff\x80", 1, 1 },               /* never a lead byte */
        /* still cut: a sequence p[n] is part of, whole or begun */
        { "a\xc3\xa9", 2, 1 },
        { "\xe2\x82\xac", 2, 0 },
        { "\xf0\x9f\x98\x80", 2, 0 },
        { "\xf0\x9f\x98\x80", 3, 0 },
    };

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        assert_int_equal(utf8_cut((const uint8_t *)c[i].s, c[i].n),
                         c[i].want);
}

/* Every scalar alone and after printable text: printable unless C0, DEL
 * or C1; invalid or cut-short UTF-8 never is. */
static void
test_utf8_is_printable(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        uint8_t b[8] = "ab";
        size_t n = utf8_model_encode(cp, b + 2);
        int want = !(cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f));
        assert_int_equal(utf8_is_printable(b + 2, n), want);
        assert_int_equal(utf8_is_printable(b, n + 2), want);
        if (n > 1)
            assert_int_equal(utf8_is_printable(b, n + 1), 0);
    }
    assert_int_equal(utf8_is_printable((const uint8_t *)"", 0), 1);
    assert_int_equal(utf8_is_printable((const uint8_t *)"\xc0\xaf", 2), 0);
    assert_int_equal(utf8_is_printable((const uint8_t *)"\xed\xa0\x80", 3),
                     0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_every_scalar_round_trips),
        cmocka_unit_test(test_utf8_invalid_forms),
        cmocka_unit_test(test_utf8_json_escapes),
        cmocka_unit_test(test_utf8_cut_boundaries),
        cmocka_unit_test(test_utf8_cut_stray_continuation),
        cmocka_unit_test(test_utf8_is_printable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
