/* SPDX-License-Identifier: MIT */
/*
 * store: the collector's durable log store (format in collector/STORE.md).
 * Append-only segments of compressed, checksummed blocks, plus a write-ahead
 * log for records not yet sealed into a block. Owns the per-source high
 * water marks that make delivery exactly once. Synchronous and single
 * threaded: the caller (ingest.c) decides when to commit. Knows nothing of
 * the network, HTTP or the query language: callers pass a filter (which the
 * store uses to skip whole blocks) and check each record themselves.
 * Reports errors through store_errstr(); never logs.
 */
#ifndef COLLECTOR_STORE_STORE_H
#define COLLECTOR_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/record.h"

struct store;
struct store_cursor;

struct store_options {
    size_t   block_size;        /* raw bytes per block, default 256 KiB */
    uint64_t segment_size;      /* raw bytes per segment, default 256 MiB */
    int64_t  retention_age_ns;  /* 0: keep forever */
    uint64_t retention_bytes;   /* 0: no size limit */
};

/* Opens (creating if needed) the store in dir: replays the write-ahead log,
 * cuts a torn tail, rebuilds high water marks. NULL with *errstr (caller
 * frees) on failure. opt may be NULL for defaults. */
struct store *store_open(const char *dir, const struct store_options *opt,
                         char **errstr);
/* Commits what is pending, then closes. NULL is a no-op. */
void store_close(struct store *s);
const char *store_errstr(const struct store *s);

/*
 * Appends one record (copied). Returns 1 if appended, 0 if it is a
 * duplicate (its offset is not above the source's high water mark, which
 * includes records appended but not yet committed), -1 on error. The record
 * is durable only after store_commit() returns 0.
 */
int store_append(struct store *s, const struct logrec *r);
/* Writes and fsyncs everything appended. -1 on error (e.g. ENOSPC): the
 * records stay pending and the caller must not acknowledge them. */
int store_commit(struct store *s);
/* Highest stored offset of (host, container_id); 0 when unknown. */
uint64_t store_source_offset(struct store *s, const char *host,
                             const char *container_id);

/* One entry per (host, container_id) ever stored. */
struct store_source_info {
    const char *host;
    const char *container_id;
    const char *container;
    const char *image;
    uint64_t    n_lines;
    int64_t     first_ns;
    int64_t     last_ns;
};
typedef void (*store_source_fn)(const struct store_source_info *si,
                                void *arg);
void store_foreach_source(struct store *s, store_source_fn fn, void *arg);

/*
 * Filter for a scan. The store skips blocks that cannot match and returns
 * every record of the remaining blocks that passes the cheap checks (time,
 * host, container glob, image, stream); text matching is the caller's.
 * tokens, when given, are lower-cased words every match must contain: an
 * indexed store may use them to skip blocks (never to decide a match).
 */
struct store_filter {
    int64_t             since_ns;   /* inclusive; INT64_MIN: open */
    int64_t             until_ns;   /* exclusive; INT64_MAX: open */
    const char         *host;       /* exact, NULL: any */
    const char         *container;  /* fnmatch glob on the name, NULL: any */
    const char         *image;      /* exact, NULL: any */
    int                 stream;     /* -1 any, else LOGREC_STDOUT/STDERR */
    const char *const  *tokens;
    size_t              n_tokens;
};

/* A cursor walks records newest-first or oldest-first (by time; ties by
 * store order). It sees what was committed when it was created. */
struct store_cursor *store_cursor_new(struct store *s,
                                      const struct store_filter *f,
                                      int newest_first);
/* 1: *r is the next record (valid until the next call or free); 0: the end;
 * -1: a damaged block was skipped and counted (call again to go on). */
int  store_cursor_next(struct store_cursor *c, struct logrec *r);
void store_cursor_free(struct store_cursor *c);

struct store_stats {
    uint64_t n_records;
    uint64_t raw_bytes;        /* message + metadata bytes appended */
    uint64_t stored_bytes;     /* bytes on disk */
    uint64_t n_blocks;
    uint64_t n_segments;
    uint64_t n_corrupt_blocks;
    int64_t  first_ns;
    int64_t  last_ns;
};
void store_get_stats(struct store *s, struct store_stats *st);

#endif
