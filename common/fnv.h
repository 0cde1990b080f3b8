/* SPDX-License-Identifier: MIT */
/*
 * fnv: FNV-1a 64 (Fowler/Noll/Vo), the non-cryptographic hash the
 * collector uses for its in-memory tables and the store's token hashes.
 * Header-only (inline): the constants live here once. Not for anything a
 * sender could exploit by choosing collisions unless the caller compares
 * the keys too.
 */
#ifndef COMMON_FNV_H
#define COMMON_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_OFFSET UINT64_C(14695981039346656037)   /* 0xcbf29ce484222325 */
#define FNV1A64_PRIME  UINT64_C(1099511628211)          /* 0x100000001b3 */

/* h with one more byte. */
static inline uint64_t
fnv1a64_byte(uint64_t h, uint8_t b)
{
    return (h ^ b) * FNV1A64_PRIME;
}

/* h with p[0..n) more. */
static inline uint64_t
fnv1a64_more(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        h = fnv1a64_byte(h, b[i]);
    return h;
}

/* The hash of p[0..n). */
static inline uint64_t
fnv1a64(const void *p, size_t n)
{
    return fnv1a64_more(FNV1A64_OFFSET, p, n);
}

#endif
