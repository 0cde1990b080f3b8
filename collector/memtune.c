/* SPDX-License-Identifier: MIT */
/*
 * memtune: glibc's malloc thresholds fixed at start (memtune.h).
 *
 * Why: glibc maps an allocation of at least M_MMAP_THRESHOLD (128 KiB at
 * start) on its own, but when such a mapped chunk is freed it raises the
 * threshold to that chunk's size (up to 32 MiB) and the trim threshold to
 * twice that. The collector's store tail grows by doubling to 2-8 MiB
 * under load (a block plus what arrives while a commit syncs), and the
 * open segment's index doubles an 8 MiB table: after the first such free,
 * every later body, carry and job buffer comes from the heaps, which then
 * keep up to twice that free at their tops and fragment between. Fixed
 * at 4 block sizes (4 MiB by default), the big, short-lived buffers are
 * returned when freed and the heaps trim down to 4 MiB: peak RSS at 1 GiB
 * 95-111 MiB -> 79-87 MiB (BENCHMARKS.md). Smaller buffers (decoded
 * frames, row bodies of a block, spare bodies of 2 block sizes) stay in
 * the heaps: mapping each of them would cost a page fault per 4 KiB
 * written, every time.
 *
 * Not set: M_ARENA_MAX (one arena per thread stays; query workers would
 * otherwise share a lock with ingest, unmeasured).
 */
#include "collector/memtune.h"

#include <stdlib.h>             /* defines __GLIBC__ */

#ifdef __GLIBC__
#include <malloc.h>
#endif

size_t
memtune_threshold(size_t block_size)
{
    size_t t = block_size > MEMTUNE_MIN_THRESHOLD / 4 ? 4 * block_size
                                                       : MEMTUNE_MIN_THRESHOLD;
    /* glibc caps the mmap threshold at 32 MiB (64-bit HEAP_MAX / 2) */
    return t > ((size_t)32 << 20) ? (size_t)32 << 20 : t;
}

int
memtune_apply(size_t block_size)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    int t = (int)memtune_threshold(block_size);

    /* either call turns off the moving thresholds for both */
    if (mallopt(M_MMAP_THRESHOLD, t) != 1 || mallopt(M_TRIM_THRESHOLD, t) != 1)
        return -1;
    return 0;
#else
    (void)block_size;           /* another allocator: nothing to fix */
    return 0;
#endif
}
