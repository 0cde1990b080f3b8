/* SPDX-License-Identifier: MIT */
/*
 * testrng: the xorshift64 generator (shifts 13, 7, 17) the randomized
 * unit tests draw their data from, on a state each test owns and seeds.
 * The same sequence as the copies the tests had of it, so a test's seeds
 * give the data they gave (and the figures in its comments hold). Not a
 * generator for anything but tests. Test-only, header-only.
 */
#ifndef TESTS_SUPPORT_TESTRNG_H
#define TESTS_SUPPORT_TESTRNG_H

#include <stdint.h>

/* Steps *state (a non-zero state never becomes 0) and returns it. */
static inline uint64_t
testrng_next(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* A number in [0, n), n > 0 (the modulo's bias is of no matter here). */
static inline unsigned
testrng_below(uint64_t *state, unsigned n)
{
    return (unsigned)(testrng_next(state) % n);
}

#endif
