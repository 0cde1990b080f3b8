/* SPDX-License-Identifier: MIT */
/*
 * escape_test: fixed cases (ESC[2J, raw and UTF-8 C1, invalid UTF-8, tab
 * and quote flags), then random byte strings against a model of what may
 * come out: valid UTF-8, no C0/DEL/C1 code point, plain input unchanged,
 * and escape_str a cut prefix of escape_append's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/escape.h"
#include "common/utf8.h"

static char *
esc(const char *s, size_t n, unsigned flags)
{
    static char out[1024];
    struct buf b;

    buf_init(&b, 1 << 20);
    assert_int_equal(escape_append(&b, s, n, flags), 0);
    assert_true(b.len < sizeof(out));
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    buf_fini(&b);
    return out;
}

#define ESC(lit, flags) esc(lit, sizeof(lit) - 1, flags)

static void
test_escape_terminal_controls(void **state)
{
    (void)state;
    assert_string_equal(ESC("a\033[2Jb", 0), "a\\x1b[2Jb");
    assert_string_equal(ESC("\x9b" "31m", 0), "\\x9b31m");     /* raw C1 */
    assert_string_equal(ESC("\xc2\x9b" "31m", 0), "\\u009b31m");
    assert_string_equal(ESC("\xc2\x85", 0), "\\u0085");
    assert_string_equal(ESC("a\nb\rc\td\x7f", 0), "a\\nb\\rc\\td\\x7f");
    assert_string_equal(ESC("a\tb", ESCAPE_KEEP_TAB), "a\tb");
    assert_string_equal(ESC("\0x", 0), "\\x00x");
}

static void
test_escape_utf8(void **state)
{
    (void)state;
    /* valid text from U+00A0 on is kept */
    assert_string_equal(ESC("caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac "
                            "\xf0\x9f\x98\x80", 0),
                        "caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* invalid: lone continuation, overlong, surrogate, cut sequence */
    assert_string_equal(ESC("a\x80z", 0), "a\\x80z");
    assert_string_equal(ESC("\xc0\xaf", 0), "\\xc0\\xaf");
    assert_string_equal(ESC("\xed\xa0\x80", 0), "\\xed\\xa0\\x80");
    assert_string_equal(ESC("\xe2\x82", 0), "\\xe2\\x82");
    assert_string_equal(ESC("\xff\xfe", 0), "\\xff\\xfe");
}

static void
test_escape_quote(void **state)
{
    (void)state;
    assert_string_equal(ESC("a\"b\\c", 0), "a\"b\\c");
    assert_string_equal(ESC("a\"b\\c", ESCAPE_QUOTE), "a\\\"b\\\\c");
    assert_string_equal(ESC("x\" host=evil\n", ESCAPE_QUOTE),
                        "x\\\" host=evil\\n");
}

static void
test_escape_append_cap(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "ab", 2), 0);
    assert_int_equal(escape_append(&b, "\033\033", 2, 0), -1);
    assert_int_equal(b.len, 2);                 /* unchanged */
    assert_int_equal(escape_append(&b, "\033", 1, 0), 0);
    assert_int_equal(b.len, 6);
    buf_fini(&b);
}

static void
test_escape_str_cut(void **state)
{
    char d[16];

    (void)state;
    assert_string_equal(escape_str(d, sizeof(d), "short", 5, 0), "short");
    assert_string_equal(escape_str(d, sizeof(d), "0123456789abcdef", 16, 0),
                        "0123456789ab...");
    /* fits exactly: no dots */
    assert_string_equal(escape_str(d, sizeof(d), "0123456789abcde", 15, 0),
                        "0123456789abcde");
    /* never cut inside an escape */
    assert_string_equal(escape_str(d, sizeof(d), "0123456789\033\033", 12, 0),
                        "0123456789...");
    assert_string_equal(escape_str(d, 3, "abcdef", 6, 0), "..");
    assert_string_equal(escape_str(d, 1, "abcdef", 6, 0), "");
    d[0] = 'q';
    escape_str(d, 0, "abcdef", 6, 0);
    assert_int_equal(d[0], 'q');
}

/* The model: output is valid UTF-8 without control code points. */
static void
check_safe(const char *s, size_t n, unsigned flags)
{
    const uint8_t *p = (const uint8_t *)s;

    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t bad, k = utf8_decode(p + i, n - i, &cp, &bad);
        if (k == 0)
            fail_msg("invalid UTF-8 at %zu", i);
        if ((cp < 0x20 && !(cp == '\t' && (flags & ESCAPE_KEEP_TAB))) ||
            (cp >= 0x7f && cp < 0xa0))
            fail_msg("control U+%04x at %zu", (unsigned)cp, i);
        i += k;
    }
}

static void
test_escape_random_model(void **state)
{
    static const uint8_t pick[] = { 'a', ' ', '"', '\\', '\t', '\n', 0x1b,
                                    0x00, 0x7f, 0x80, 0x9b, 0xa0, 0xbf,
                                    0xc2, 0xc3, 0xe2, 0xed, 0xf0, 0xf4,
                                    0xff };
    uint32_t seed = 12345;

    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        char in[24], d[40];
        size_t n = (size_t)(iter % 24);
        unsigned flags = (unsigned)iter & 3u;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = (char)pick[(seed >> 16) % sizeof(pick)];
        }
        struct buf b;
        buf_init(&b, 1 << 16);
        assert_int_equal(escape_append(&b, in, n, flags), 0);
        check_safe((const char *)b.data, b.len, flags);
        assert_int_equal(escape_is_plain(in, n, flags),
                         b.len == n && (n == 0 || memcmp(b.data, in, n) == 0));
        escape_str(d, sizeof(d), in, n, flags);
        size_t dl = strlen(d);
        if (dl == b.len) {
            if (dl > 0)
                assert_memory_equal(d, b.data, dl);
        } else {                /* a cut prefix, then "..." */
            assert_true(dl >= 3 && dl < sizeof(d));
            assert_memory_equal(d + dl - 3, "...", 3);
            assert_memory_equal(d, b.data, dl - 3);
        }
        buf_fini(&b);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_terminal_controls),
        cmocka_unit_test(test_escape_utf8),
        cmocka_unit_test(test_escape_quote),
        cmocka_unit_test(test_escape_append_cap),
        cmocka_unit_test(test_escape_str_cut),
        cmocka_unit_test(test_escape_random_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
