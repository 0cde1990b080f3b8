/* SPDX-License-Identifier: MIT */
/*
 * fuzz_utf8: libFuzzer target for common/utf8.c and common/casefold.c.
 * Walks the input as UTF-8 and as a JSON string body, checking each step
 * against an independent model: a decoded sequence is exactly the model
 * encoding of its code point (so no overlong form, surrogate or value past
 * U+10FFFF gets through), an invalid one reports a subpart of 1..3 bytes
 * none of which completes a valid sequence, and an escape yields a scalar
 * value; then folding the input twice equals folding it once and keeps
 * every ASCII byte that is not a letter.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/casefold.h"
#include "common/utf8.h"
#include "tests/support/utf8_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_decode_walk(const uint8_t *p, size_t size)
{
    for (size_t i = 0; i < size;) {
        uint32_t cp = 0;
        size_t bad = 0;
        size_t n = utf8_decode(p + i, size - i, &cp, &bad);
        if (n > 0) {
            uint8_t e[4], e2[4];
            assert(utf8_model_is_scalar(cp));
            assert(utf8_model_encode(cp, e) == n && memcmp(e, p + i, n) == 0);
            assert(utf8_encode(cp, e2) == n && memcmp(e2, e, n) == 0);
            i += n;
            continue;
        }
        assert(bad >= 1 && bad <= 3 && bad <= size - i);
        assert(p[i] >= 0x80);
        for (size_t k = 1; k < bad; k++)
            assert((p[i + k] & 0xc0) == 0x80);
        i += bad;
    }
}

static void
fuzz_escape_walk(const uint8_t *p, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (p[i] != '\\')
            continue;
        uint32_t cp = 0;
        unsigned flags = 0;
        size_t n = utf8_json_escape(p + i + 1, size - i - 1, &cp, &flags);
        if (n == 0)
            continue;
        assert(n <= size - i - 1);
        assert(utf8_model_is_scalar(cp));
        assert(n == 1 || n == 5 || n == 11);
        assert((n == 11) == ((flags & UTF8_ESC_PAIR) != 0));
        assert(!(flags & UTF8_ESC_LONE) || cp == UTF8_REPLACEMENT);
        assert(!(flags & UTF8_ESC_PAIR) || cp >= 0x10000);
        assert((n > 1) == ((flags & UTF8_ESC_U) != 0));
    }
}

static void
fuzz_fold(const uint8_t *p, size_t size)
{
    static uint8_t f1[4 << 12], f2[4 << 12];

    if (size > (1u << 12))
        size = 1u << 12;
    size_t n1 = casefold_str(p, size, f1, sizeof(f1));
    assert(n1 <= sizeof(f1) && n1 <= 2 * size);
    size_t n2 = casefold_str(f1, n1, f2, sizeof(f2));
    assert(n2 == n1 && memcmp(f1, f2, n1) == 0);
    /* ASCII non-letters survive, in order, with their neighbours' kind */
    size_t j = 0;
    for (size_t i = 0; i < size; i++) {
        uint8_t c = p[i];
        if (c >= 0x80 || (unsigned)((c | 0x20) - 'a') < 26u)
            continue;
        while (j < n1 && f1[j] != c)
            j++;
        assert(j < n1);
        j++;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decode_walk(data, size);
    fuzz_escape_walk(data, size);
    fuzz_fold(data, size);
    return 0;
}
