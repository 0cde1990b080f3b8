/* SPDX-License-Identifier: MIT */
/*
 * casefold: simple Unicode case folding of UTF-8 text, the one folding of
 * search terms (-i), the token index and its prefilter. Simple means one
 * code point to one code point (Unicode CaseFolding.txt status C and S):
 * "CAFÉ" folds to "café", "ПРИВЕТ" to "привет", "Σ" and "ς" to "σ", but
 * "ß" stays "ß" (no full folding to "ss") and "İ" stays "İ". The table
 * covers all of Unicode (casefold_table.h, generated), except the two
 * mappings onto ASCII (U+017F long s, U+212A Kelvin sign), which stay as
 * they are: ASCII folds only to ASCII and the rest only to non-ASCII, so
 * folding keeps which bytes are ASCII word characters. Invalid UTF-8 is
 * left byte for byte. Folding is idempotent. Pure: no allocation.
 */
#ifndef COMMON_CASEFOLD_H
#define COMMON_CASEFOLD_H

#include <stddef.h>
#include <stdint.h>

/* The simple case fold of code point cp (itself if it has none). */
uint32_t casefold_cp(uint32_t cp);

/*
 * Folds the unit at p[0..left) (left >= 1): a valid UTF-8 sequence, or
 * one byte of an invalid one, which is copied as is. Writes the folded
 * bytes to out (1..4, count in *out_len) and returns the input bytes used.
 */
size_t casefold_next(const uint8_t *p, size_t left, uint8_t out[4],
                     size_t *out_len);

/*
 * Folds src[0..len) into dst, writing at most cap bytes (a unit that does
 * not fit whole is cut). Returns the full folded length, which may be more
 * than cap and differ from len (U+023A folds to the 3-byte U+2C65).
 */
size_t casefold_str(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

#endif
