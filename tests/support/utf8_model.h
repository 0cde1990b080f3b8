/* SPDX-License-Identifier: MIT */
/*
 * utf8_model: the brute-force model utf8_test.c and fuzz_utf8.c check
 * common/utf8.c against, written independently of it. A byte sequence is
 * valid UTF-8 iff it is utf8_model_encode() of a scalar value.
 */
#ifndef TESTS_SUPPORT_UTF8_MODEL_H
#define TESTS_SUPPORT_UTF8_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* The shortest encoding of cp (< 0x110000) into o[0..3]; its length. */
static inline size_t
utf8_model_encode(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (size_t i = n - 1; i > 0; i--) {
        o[i] = (uint8_t)(0x80 | (cp & 0x3f));
        cp >>= 6;
    }
    o[0] = (uint8_t)((n == 2 ? 0xc0 : n == 3 ? 0xe0 : 0xf0) | cp);
    return n;
}

/* A Unicode scalar value: a code point that is not a surrogate. */
static inline int
utf8_model_is_scalar(uint32_t cp)
{
    return cp < 0x110000 && (cp < 0xd800 || cp > 0xdfff);
}

#endif
