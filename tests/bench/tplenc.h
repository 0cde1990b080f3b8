/* SPDX-License-Identifier: MIT */
/* tplenc: the message column as templates + numbers + hex (tplenc.c). */
#ifndef TESTS_BENCH_TPLENC_H
#define TESTS_BENCH_TPLENC_H

#include <stddef.h>
#include <stdint.h>

#include "collector/store/store_internal.h"
#include "common/buf.h"

enum tplenc_nums { TPLENC_RAW, TPLENC_DELTA, TPLENC_ADAPT, TPLENC_N_MODES };

/* Appends to out the packed form of codec-5 raw body p[0..len) of n
 * records; -1 if p is malformed or out's cap is reached. */
int tplenc_pack(const uint8_t *p, size_t len, uint32_t n, int mode,
                struct buf *out);
/* Expands packed body p[0..len) of n records (packed with mode) into the
 * codec-5 body it came from, which must be exactly raw_len bytes at out.
 * -1 if malformed. */
int tplenc_expand(const uint8_t *p, size_t len, uint32_t n, int mode,
                  size_t raw_len, uint8_t *out);

#endif
