/* SPDX-License-Identifier: MIT */
/*
 * fuzz_utf8: libFuzzer target for common/utf8.c and common/casefold.c.
 * Walks the input as UTF-8 and as a JSON string body, checking each step
 * against an independent model: a decoded sequence is exactly the model
 * encoding of its code point (so no overlong form, surrogate or value past
 * U+10FFFF gets through), an invalid one reports a subpart of 1..3 bytes
 * none of which completes a valid sequence, and an escape yields a scalar
 * value; then folding the input twice equals folding it once and keeps
 * every ASCII byte that is not a letter. utf8_is_printable and utf8_cut
 * (every n) are checked against models built on the model encoder: text
 * is printable iff it is a run of model encodings of scalars none of
 * which is C0, DEL or C1; a cut at n moves back only to the start of a
 * whole sequence that n would split.
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

/* The length of the well-formed sequence at p[0..avail) (the model
 * encoding of a scalar), or 0; its value in *cp. */
static size_t
fuzz_model_seq(const uint8_t *p, size_t avail, uint32_t *cp)
{
    uint8_t e[4];
    size_t n = p[0] < 0x80 ? 1 : p[0] >= 0xc0 && p[0] < 0xe0 ? 2 :
               p[0] >= 0xe0 && p[0] < 0xf0 ? 3 :
               p[0] >= 0xf0 && p[0] < 0xf8 ? 4 : 0;
    if (n == 0 || n > avail)
        return 0;
    uint32_t v = n == 1 ? p[0] : (uint32_t)(p[0] & (0x7f >> n));
    for (size_t k = 1; k < n; k++)
        v = v << 6 | (p[k] & 0x3f);
    if (!utf8_model_is_scalar(v) || utf8_model_encode(v, e) != n ||
        memcmp(e, p, n) != 0)
        return 0;
    *cp = v;
    return n;
}

static void
fuzz_printable(const uint8_t *p, size_t size)
{
    int want = 1;
    for (size_t i = 0; i < size && want;) {
        uint32_t cp = 0;
        size_t n = fuzz_model_seq(p + i, size - i, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            want = 0;
        i += n;
    }
    assert(utf8_is_printable(p, size) == want);
}

/* Every cut n < size (p[n] readable, nothing after it: utf8_cut sees
 * p[0..n]): the model's is n unless a well-formed sequence, or the
 * beginning of one (completed with 0x80 bytes), starts in p[n-3..n) and
 * ends past n; then its start. */
static void
fuzz_cut(const uint8_t *p, size_t size)
{
    for (size_t n = 0; n < size; n++) {
        size_t want = n;
        for (size_t j = n > 3 ? n - 3 : 0; j < n; j++) {
            uint8_t seq[4] = { 0x80, 0x80, 0x80, 0x80 };
            uint32_t cp;
            memcpy(seq, p + j, n - j + 1);
            size_t len = fuzz_model_seq(seq, sizeof(seq), &cp);
            if (len > 0 && j + len > n) {
                want = j;
                break;
            }
        }
        assert(utf8_cut(p, n) == want);
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
    fuzz_printable(data, size);
    fuzz_cut(data, size);
    fuzz_fold(data, size);
    return 0;
}
