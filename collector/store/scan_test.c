/* SPDX-License-Identifier: MIT */
/*
 * scan_test: the token search of the cursor prefilter against a brute
 * force case-folding substring search, on random messages (mixed case,
 * bytes >= 0x80, empty messages, tokens at message edges and spanning two
 * messages), for every first and last byte kind (letter, digit, high
 * byte), and over whole buffers longer than the 16-byte steps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/store/store_internal.h"
#include "common/xmalloc.h"

static uint32_t rng_state = 7;

static uint32_t
rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

static uint8_t
lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static int
brute_has(const uint8_t *tok, size_t tl, const uint8_t *m, size_t ml)
{
    for (size_t i = 0; i + tl <= ml; i++) {
        size_t j = 0;
        while (j < tl && lower(m[i + j]) == tok[j])
            j++;
        if (j == tl)
            return 1;
    }
    return 0;
}

static void
test_scan_random(void **state)
{
    static const char alpha[] = "aAbBzZqQ09x. \xc3\xa9";
    uint8_t col[4096], keep[64];
    struct store_rec recs[64];

    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        uint32_t n = 1 + rng() % 40, pos = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t len = rng() % 5 == 0 ? 0 : rng() % 60;
            recs[i].msg = col + pos;
            recs[i].msg_len = len;
            for (uint32_t j = 0; j < len; j++)
                col[pos++] = (uint8_t)alpha[rng() % (sizeof(alpha) - 1)];
        }
        /* a token: folded bytes taken from the column (may span) */
        uint8_t tok[16];
        size_t tl = 1 + rng() % (iter % 2 ? 4 : 12);
        if (pos < tl)
            continue;
        uint32_t at = rng() % (pos - tl + 1);
        for (size_t j = 0; j < tl; j++)
            tok[j] = lower(col[at + j]);
        struct scan_tok t;
        scan_tok_init(&t, tok, tl);
        memset(keep, 0, sizeof(keep));
        scan_column(&t, recs, n, keep);
        int is_ascii = 1;
        for (size_t j = 0; j < tl; j++)
            is_ascii &= tok[j] < 0x80;
        for (uint32_t i = 0; i < n; i++) {
            int want = brute_has(tok, tl, recs[i].msg, recs[i].msg_len);
            int has = scan_has(&t, recs[i].msg, recs[i].msg_len);
            /* exact for ASCII tokens; else never drops a holder */
            if (is_ascii || want) {
                assert_int_equal(keep[i], want || !is_ascii);
                assert_int_equal(has, want || !is_ascii);
            }
            assert_int_equal(keep[i], has);
        }
    }
}

/* scan_may_hold over a whole buffer (a block's bytes) against the brute
 * search: the token, whole or cut, in either case, at every offset of
 * buffers longer than the 16-byte steps, the first and last byte too. */
static void
test_scan_whole_buffer(void **state)
{
    static const char alpha[] = "etaoinETAOIN09=. \x00\xff";
    static const char *const toks[] = { "id", "cart", "e", "options",
                                        "zebracorn", "a.b", "0", "x-9" };
    uint8_t buf[700];
    size_t n_held = 0, n_not = 0;

    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        const char *tk = toks[rng() % (sizeof(toks) / sizeof(toks[0]))];
        size_t tl = strlen(tk), len = rng() % 4 == 0 ? rng() % 20
                                                      : rng() % sizeof(buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)alpha[rng() % (sizeof(alpha) - 1)];
        if (len >= tl && rng() % 2) {
            size_t k = rng() % 3 ? tl : rng() % tl;     /* cut short */
            size_t at = rng() % 3 == 0 ? 0 : rng() % 3 == 0
                                        ? len - tl : rng() % (len - tl + 1);
            for (size_t i = 0; i < k; i++)
                buf[at + i] = (uint8_t)(rng() % 2 && tk[i] >= 'a' &&
                                        tk[i] <= 'z' ? tk[i] - 32 : tk[i]);
        }
        struct scan_tok t;
        scan_tok_init(&t, (const uint8_t *)tk, tl);
        int want = brute_has((const uint8_t *)tk, tl, buf, len);
        if (scan_may_hold(&t, 1, buf, len) != want)
            fail_msg("token [%s] in %zu bytes: want %d", tk, len, want);
        n_held += want;
        n_not += !want;
    }
    assert_true(n_held > 2000);
    assert_true(n_not > 2000);
}

static void
test_scan_edges(void **state)
{
    const char *text = "xxCARTyyCaRtcart";
    struct store_rec recs[3] = {
        { .msg = (const uint8_t *)text, .msg_len = 4 },        /* xxCA */
        { .msg = (const uint8_t *)text + 4, .msg_len = 8 },    /* RTyyCaRt */
        { .msg = (const uint8_t *)text + 12, .msg_len = 4 },   /* cart */
    };
    uint8_t keep[3] = { 0 };
    struct scan_tok t;

    (void)state;
    scan_tok_init(&t, (const uint8_t *)"cart", 4);
    scan_column(&t, recs, 3, keep);
    assert_int_equal(keep[0], 0);   /* only across the boundary */
    assert_int_equal(keep[1], 1);
    assert_int_equal(keep[2], 1);
    assert_int_equal(scan_has(&t, (const uint8_t *)"car", 3), 0);
}

/* Non-ASCII tokens: searched by their longest ASCII part, so a text in
 * another case ("CAFÉ") or with a fold of another length still passes. */
static void
test_scan_non_ascii(void **state)
{
    struct scan_tok t;

    (void)state;
    scan_tok_init(&t, (const uint8_t *)"caf\xc3\xa9", 5);
    assert_int_equal(scan_has(&t, (const uint8_t *)"UN CAF\xc3\x89", 9), 1);
    assert_int_equal(scan_has(&t, (const uint8_t *)"un ca\xc3\xa9", 8), 0);
    scan_tok_init(&t, (const uint8_t *)"\xe2\xb1\xa5" "bc\xc3\xa9x", 8);
    assert_int_equal(scan_has(&t, (const uint8_t *)"\xc8\xba" "BC\xc3\x89X",
                              7), 1);
    assert_int_equal(scan_has(&t, (const uint8_t *)"\xc8\xba" "B", 3), 0);
    /* no ASCII part: every message is kept */
    scan_tok_init(&t, (const uint8_t *)"\xd0\xbf\xd1\x80", 4);
    assert_int_equal(scan_has(&t, (const uint8_t *)"x", 1), 1);
    assert_int_equal(scan_has(&t, (const uint8_t *)"", 0), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_random),
        cmocka_unit_test(test_scan_edges),
        cmocka_unit_test(test_scan_whole_buffer),
        cmocka_unit_test(test_scan_non_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
