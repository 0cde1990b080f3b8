/* SPDX-License-Identifier: MIT */
/*
 * memtune: how the collector's malloc (glibc) gives memory back, set once
 * at start (BENCHMARKS.md "Collector peak RSS: glibc's moving threshold").
 */
#ifndef COLLECTOR_MEMTUNE_H
#define COLLECTOR_MEMTUNE_H

#include <stddef.h>

/* The fixed threshold memtune_apply sets for a store of this block size:
 * max(MEMTUNE_MIN_THRESHOLD, 4 * block_size). */
#define MEMTUNE_MIN_THRESHOLD ((size_t)4 << 20)
size_t memtune_threshold(size_t block_size);

/* Fixes glibc's mmap and trim thresholds at memtune_threshold(block_size):
 * allocations at least that large are mapped and unmapped on their own,
 * and no heap keeps more than that free at its top. 0 (also where malloc
 * is not glibc's, e.g. under ASan: nothing to set), or -1 if glibc
 * refused (the thresholds keep moving then; the caller may log). */
int memtune_apply(size_t block_size);

#endif
