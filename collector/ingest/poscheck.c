/* SPDX-License-Identifier: MIT */
/*
 * poscheck: the position rule of a BATCH's records (poscheck.h), begun
 * per source and batch by ingest_src.c and applied to each record by
 * ingest_batch.c; the store keeps the high water and drops
 * duplicates, this module only says which records leave no hole.
 */
#include "collector/ingest/poscheck.h"

#include <stddef.h>

void
poscheck_begin(struct poscheck *p, int is_known, uint64_t high,
               uint64_t start)
{
    if (!is_known)
        high = 0;
    p->start = start;
    p->high = high;
    p->high0 = high;
    p->max = high > UINT64_MAX - POSCHECK_MAX_JUMP ? UINT64_MAX
                                                   : high + POSCHECK_MAX_JUMP;
    p->prev = start;
    p->refused = NULL;
}

static int
poscheck_refuse(struct poscheck *p, const char *why)
{
    p->refused = why;
    return -1;
}

int
poscheck_record(struct poscheck *p, uint64_t offset)
{
    if (p->refused != NULL)
        return -1;
    if (offset <= p->prev)
        return poscheck_refuse(p, "offset does not advance");
    if (offset > p->max)
        return poscheck_refuse(p, "offset jumps more than 2^36 past the "
                               "stored position");
    if (offset > p->high && p->prev > p->high)
        return poscheck_refuse(p, p->high0 == 0 && p->start > 0 ?
                               "a new source must start at 0" :
                               "batch starts past the stored position");
    p->prev = offset;
    if (offset > p->high)
        p->high = offset;
    return 0;
}
