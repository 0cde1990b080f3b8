/* SPDX-License-Identifier: MIT */
/*
 * stats_view: `logq stats`'s pure parts: parsing the collector's
 * GET /api/v1/stats reply (collector/API.md), human byte sizes
 * ("12.3 MiB") and the table: one row per segment, a WAL row for what is
 * not in a segment yet, and a TOTAL row. Untrusted input: a malformed
 * reply is an error with a reason, never a crash. No I/O.
 */
#ifndef QUERY_STATS_VIEW_H
#define QUERY_STATS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct json_t;

/* One row's figures; time 0 means no records. */
struct stats_view_row {
    const char *name;           /* borrowed from the parsed reply */
    uint64_t    raw_bytes;
    uint64_t    stored_bytes;   /* segment: file; wal: WAL files;
                                   total: everything incl. indexes */
    uint64_t    index_bytes;
    uint64_t    n_records;
    uint64_t    n_blocks;
    uint64_t    n_corrupt_blocks;
    int64_t     first_ns;
    int64_t     last_ns;
    int         is_sealed;
    int         is_current;
};

struct stats_view {
    struct stats_view_row *segs;
    size_t                 n_segs;
    struct stats_view_row  wal;
    struct stats_view_row  total;
    uint64_t               n_segments;  /* total.segments */
    struct json_t         *root;
};

/* -1 with a reason in err; on success free with stats_view_fini(). */
int  stats_view_parse(const char *body, size_t len, struct stats_view *out,
                      char *err, size_t errlen);
void stats_view_fini(struct stats_view *v);

/* "0 B", "512 B", "1.0 KiB", "12.3 MiB" ... "EiB" (binary units, one
 * decimal). Always NUL-terminated within len. */
void stats_view_size_format(uint64_t bytes, char *out, size_t len);
/* "16.7%" for part/whole, "-" when whole is 0. */
void stats_view_ratio_format(uint64_t part, uint64_t whole, char *out,
                             size_t len);

/* Appends the table (SEGMENT STATE RAW STORED INDEX RATIO LINES BLOCKS
 * FIRST LAST, times to the second in UTC, "2026-11-27T13:50:40Z", or
 * with is_local in the local zone of TZ, "2026-11-27T14:50:40+01:00").
 * RATIO is (stored + index) / raw. The TOTAL row's STORED leaves out the
 * indexes (shown under INDEX), so each column adds up. -1 when out's cap
 * is reached. */
int  stats_view_render(struct buf *out, const struct stats_view *v,
                       int is_local);

#endif
