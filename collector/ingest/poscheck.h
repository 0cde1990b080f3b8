/* SPDX-License-Identifier: MIT */
/*
 * poscheck: whether a source's records in one BATCH advance its position
 * plausibly (common/PROTOCOL.md "Plausible positions"). Records tile a
 * source's positions: each covers (previous record's offset, its offset],
 * the first from the batch's start for that source. A record may end at or
 * below the stored high water (a duplicate, for the store to drop), or past
 * it if it begins at or before it; it may not leave a hole, go backwards, or
 * move the position more than POSCHECK_MAX_JUMP past the high water the
 * source had before the batch. Once a record is refused, the source's later
 * records in the batch are too. Pure: no store, no logging.
 */
#ifndef COLLECTOR_INGEST_POSCHECK_H
#define COLLECTOR_INGEST_POSCHECK_H

#include <stdint.h>

#define POSCHECK_MAX_JUMP   (UINT64_C(1) << 36)

struct poscheck {
    uint64_t    start;      /* the batch's start for the source */
    uint64_t    high;       /* stored high water, as the batch goes */
    uint64_t    high0;      /* ... and before the batch */
    uint64_t    max;        /* high0 + POSCHECK_MAX_JUMP, saturating */
    uint64_t    prev;       /* where the next record begins */
    const char *refused;    /* why, once refused (a static string) */
};

/* Starts a batch's records of one source: is_known says whether the store
 * holds the source (then high is its high water; a new source must start
 * at 0), start is the batch's start for it. */
void poscheck_begin(struct poscheck *p, int is_known, uint64_t high,
                    uint64_t start);
/* 0: the record ending at offset may go to the store (which drops it as a
 * duplicate if it ends at or below the high water); -1: refused, the
 * reason in p->refused. */
int poscheck_record(struct poscheck *p, uint64_t offset);

#endif
