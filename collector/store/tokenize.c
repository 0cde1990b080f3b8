/* SPDX-License-Identifier: MIT */
/*
 * tokenize: splits text into index tokens (rules in tokenize.h and
 * collector/STORE.md). Hand-written table-driven loop rather than ctype
 * calls because it runs over every stored byte at seal time: one table
 * load per byte, folding and hashing on the fly.
 */
#include "collector/store/tokenize.h"

#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

/* 0 for separators, else the folded byte. */
static const uint8_t tok_fold[256] = {
#define R8(a) a, a + 1, a + 2, a + 3, a + 4, a + 5, a + 6, a + 7
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
    ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
    ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
    ['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j',
    ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o',
    ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
    ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
    ['Z'] = 'z',
    ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
    ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
    ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o',
    ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't',
    ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y',
    ['z'] = 'z',
    [0x80] = R8(0x80), R8(0x88), R8(0x90), R8(0x98), R8(0xa0), R8(0xa8), R8(0xb0),
    R8(0xb8), R8(0xc0), R8(0xc8), R8(0xd0), R8(0xd8), R8(0xe0), R8(0xe8),
    R8(0xf0), R8(0xf8),
#undef R8
};

static inline uint32_t
tok_finish(uint64_t h)
{
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    uint32_t v = (uint32_t)h;
    return v ? v : 1;
}

uint32_t
tokenize_hash(const uint8_t *tok, size_t len)
{
    uint64_t h = FNV_OFFSET;

    for (size_t i = 0; i < len; i++)
        h = (h ^ tok[i]) * FNV_PRIME;
    return tok_finish(h);
}

/* Emits the ASCII alnum runs of the raw token run[0..len), which holds a
 * byte >= 0x80; each is folded and capped like any token. */
static int
tok_ascii_parts(const uint8_t *run, size_t len, tokenize_fn fn, void *arg)
{
    uint8_t tok[TOKENIZE_MAX_LEN];
    size_t i = 0;

    while (i < len) {
        while (i < len && run[i] >= 0x80)
            i++;
        size_t n = 0;
        while (i < len && run[i] < 0x80) {
            if (n < TOKENIZE_MAX_LEN)
                tok[n++] = tok_fold[run[i]];
            i++;
        }
        if (n > 0) {
            int rc = fn(tok, n, tokenize_hash(tok, n), arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int
tokenize_foreach(const void *text, size_t len, unsigned flags,
                 tokenize_fn fn, void *arg)
{
    const uint8_t *p = text, *end = p + len;
    uint8_t tok[TOKENIZE_MAX_LEN];

    while (p < end) {
        while (p < end && !tok_fold[*p])
            p++;
        if (p == end)
            break;
        const uint8_t *run = p;
        uint64_t h = FNV_OFFSET;
        size_t n = 0;
        uint8_t high = 0;
        uint8_t c;
        while (p < end && (c = tok_fold[*p]) != 0) {
            if (n < TOKENIZE_MAX_LEN) {
                tok[n++] = c;
                h = (h ^ c) * FNV_PRIME;
            }
            high |= c;
            p++;
        }
        int rc = fn(tok, n, tok_finish(h), arg);
        if (rc)
            return rc;
        if ((high & 0x80) && (flags & TOKENIZE_F_ASCII_PARTS)) {
            rc = tok_ascii_parts(run, (size_t)(p - run), fn, arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}
