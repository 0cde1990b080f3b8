/* SPDX-License-Identifier: MIT */
/* segrewrite: offline prototype of a cold segment's recompaction
 * (collector/STORE.md "Recompaction of cold segments"; segrewrite.c). */
#ifndef TESTS_BENCH_SEGREWRITE_H
#define TESTS_BENCH_SEGREWRITE_H

#include <stdint.h>

/* Rewrites the full segment seq of the closed store in dir (and its
 * .lqi) with its framed blocks' frames at zstd level: temp files,
 * fsync, rename, directory fsync. 0 with the old and new segment file
 * sizes, -1 (nothing renamed if the rewrite itself failed). */
int segrewrite(const char *dir, uint64_t seq, int level,
               uint64_t *old_bytes, uint64_t *new_bytes);

#endif
