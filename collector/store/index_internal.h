/* SPDX-License-Identifier: MIT */
/*
 * index_internal: what index.c (the map and the .lqi writer) and
 * index_file.c (the .lqi reader) share of the file format
 * (collector/STORE.md "Index file").
 */
#ifndef COLLECTOR_STORE_INDEX_INTERNAL_H
#define COLLECTOR_STORE_INDEX_INTERNAL_H

#define IX_COUNT_MIN_BLKS 4u            /* keys in fewer blocks: no counts
                                           (and, version 6, frames) */
/* A block's frame code (version 6, index.c ix_fcode): the frame when one
 * frame below IX_FCODE_MASK holds the key, else IX_FCODE_MASK and the
 * mask follows as a varint. */
#define IX_FCODE_MASK 7u

#endif
