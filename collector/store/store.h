/* SPDX-License-Identifier: MIT */
/*
 * store: the collector's durable log store (format in collector/STORE.md).
 * Append-only segments of compressed, checksummed blocks, plus a write-ahead
 * log for records not yet sealed into a block. Owns the per-source high
 * water marks that make delivery exactly once. The caller (ingest_commit.c)
 * decides when to commit. Knows nothing of
 * the network, HTTP or the query language: callers pass a filter (which the
 * store uses to skip whole blocks) and check each record themselves.
 * Not thread safe: one caller thread; the store runs threads of its own
 * that seal full blocks (compress, index, write, fsync) and fdatasync
 * the WAL (store_commit_begin / store_commit_end).
 * Reports errors through store_errstr(); never logs.
 */
#ifndef COLLECTOR_STORE_STORE_H
#define COLLECTOR_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/record.h"

struct labelset;
struct namesel;

struct store;
struct store_cursor;

/* Wall clock in unix nanoseconds (a seam for retention tests). */
typedef int64_t (*store_clock_fn)(void *arg);
/* Test seam called before each file write of len bytes; what is "wal",
 * "segment", "hw", "index", "quarantine", "labels", "labels-cut" (cutting
 * a failed labels append back), "block" (building a block) or
 * "segment-sync" (len 0: before a seal job's fdatasync of its segment).
 * Returning -1 with errno set (e.g. ENOSPC) makes that step fail as a
 * full disk would. Called on the thread doing the step: the store's, the
 * sealing thread ("segment", "block", "segment-sync", "index") or a
 * sealing helper ("index": a full segment's .lqi, STORE.md "Threads"). */
typedef int (*store_write_hook_fn)(const char *what, size_t len, void *arg);
/* Test seam called on the syncing thread before the WAL's fdatasync
 * (what: "wal"); it may block (the commit stays in flight), or return -1
 * with errno set to fail the sync. */
typedef int (*store_sync_hook_fn)(const char *what, void *arg);

#define STORE_COMPRESS_ZSTD 0
#define STORE_COMPRESS_ZLIB 1   /* what stores wrote before zstd; still read */
#define STORE_ZSTD_LEVEL    1   /* BENCHMARKS.md "zstd level of sealed blocks" */

/* Zero fields take the default. */
#define STORE_NO_FRAMES ((size_t)-1)
struct store_options {
    size_t   block_size;        /* raw bytes per block, default 1 MiB */
    uint64_t segment_size;      /* raw bytes per segment, default 64 MiB */
    int      compress_codec;    /* sealed blocks: STORE_COMPRESS_ZSTD
                                   (0, default) or STORE_COMPRESS_ZLIB */
    int      compress_level;    /* level of that codec: zstd 1..19,
                                   default STORE_ZSTD_LEVEL; zlib 1..9,
                                   default 6 (0 takes the default) */
    size_t   frame_size;        /* zstd blocks: raw bytes a frame holds
                                   (codec 6, STORE.md "Frames"), 0:
                                   default 256 KiB; STORE_NO_FRAMES: one
                                   frame a block (codec 5, as before) */
    int64_t  retention_age_ns;  /* 0: keep forever */
    size_t   cursor_mem_max;    /* bytes of decoded blocks all open
                                   cursors hold together before evicting
                                   (re-read later; a cursor takes what
                                   the others leave, at least an equal
                                   share), default 16 MiB; tests set it
                                   tiny */
    uint64_t retention_bytes;   /* 0: no size limit */
    store_clock_fn      clock;        /* NULL: CLOCK_REALTIME */
    void               *clock_arg;
    store_write_hook_fn write_hook;   /* NULL: none (production) */
    void               *write_hook_arg;
    store_sync_hook_fn  sync_hook;    /* NULL: none (production) */
    void               *sync_hook_arg;
    int      is_no_recv_range;  /* 1: framed blocks are written as codec
                                   6, without their receive-time range
                                   (as version 3 did; tests); 0: codec 9
                                   (default) */
    int      is_time_varint;    /* 1: framed blocks are written as codec
                                   7, their time deltas as varints (as
                                   version 4 did; tests); 0: codec 9
                                   (default) */
    int      is_msg_lengths;    /* 1: framed blocks are written as codec
                                   8, each message's length in a column
                                   (as version 5 did; tests); 0: codec 9
                                   (default), newline-ended messages */
    int      is_carry_decoded;  /* 1: a seal that carries the records
                                   appended during a sync into the next
                                   tail decodes the whole tail to count
                                   the committed prefix again (the path
                                   before its mark; tests: the same
                                   bytes); 0: default */
    int      is_split_encoded;  /* 1: a tail split into several blocks
                                   has every record encoded again (the
                                   path before the first block kept the
                                   tail's bytes; tests: the same bytes);
                                   0: default */
    int      is_close_off;      /* 1: a full tail is not closed at the
                                   WAL write that fills it (STORE.md
                                   "Closed tails"), but sealed at the
                                   end of the commit that synced it,
                                   the records appended meanwhile
                                   carried into the next tail (the path
                                   before; tests: the carry and the
                                   split); 0: default */
    int      is_index_inline;   /* 1: the sealing thread gathers each
                                   block's tokens itself, no indexing
                                   thread beside it (tests: the same
                                   bytes); 0: default */
    int      is_seal_buffered;  /* 1: segments' blocks and .lqi files
                                   written through the page cache; 0:
                                   default, past it where the file
                                   system takes O_DIRECT (dwrite.c: less
                                   CPU, a block's first read after its
                                   seal from the disk) */
    int      seal_threads;      /* threads that compress a seal job's
                                   frames, the sealing thread included
                                   (STORE.md "Threads"), 0: default 2;
                                   1: the sealing thread alone; at most 8;
                                   2 or more: the indexing thread has a
                                   helper too (the bytes written are the
                                   same) */
    int      recompact_level;   /* zstd level cold segments are
                                   compressed again at in the background
                                   (STORE.md "Recompaction of cold
                                   segments"); 0: off (default), 2..19 */
    int64_t  recompact_age_ns;  /* only segments last written longer ago
                                   than this; 0: any full one */
    size_t   index_fds;         /* .lqi files held open for lookups
                                   across queries (the newest segments'),
                                   default 64 (STORE.md "Index file") */
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
 * is durable only after store_commit() returns 0 (or store_commit_end 1).
 */
int store_append(struct store *s, const struct logrec *r);
/*
 * store_append for a caller that appends runs of records with the same
 * host, container id, name and image (a batch's source): *lab (NULL at
 * first) is where the store leaves the record's label, and a later call
 * finding it set takes it as the label of its record without looking
 * it up (no strlen, no hash). The caller must reset *lab to NULL when
 * one of the four strings may differ from the record it was set by. A
 * label lives as long as the store. The same records stored either way
 * (store_cached_test).
 */
struct store_label;
int store_append_cached(struct store *s, const struct logrec *r,
                        struct store_label **lab);
/*
 * A run of store_append_cached's without taking the store's mutex for
 * each: store_append_hold takes it (cursors on other threads wait to be
 * created or to open a block), store_append_held appends as
 * store_append_cached does, store_append_release gives it back. Between
 * them the caller calls no other store function (the mutex is not
 * recursive) and bounds the run (ingest: INGEST_HOLD_RECORDS records).
 */
void store_append_hold(struct store *s);
int  store_append_held(struct store *s, const struct logrec *r,
                       struct store_label **lab);
void store_append_release(struct store *s);
/* Writes and fsyncs everything appended (one WAL append + fdatasync),
 * waiting for the sync: store_commit_begin, then store_commit_end's work
 * (a commit already in flight is waited for first). 0, or -1 on error
 * (e.g. ENOSPC): the records stay pending and the caller must not
 * acknowledge them; a later commit retries. */
int store_commit(struct store *s);
/*
 * The same in two steps, for an event loop that must not wait for the
 * disk (collector/STORE.md "Crash safety"). store_commit_begin writes
 * the changed label sets (synced) and one WAL entry of everything
 * appended (not synced), makes those records visible to cursors (a
 * collector crash keeps them: the kernel holds the entry, replay reads
 * it) and hands the WAL's fdatasync to the store's
 * syncing thread, the sync covering also the entries written ahead of
 * the previous one (store_commit_ahead): 1 started, 0 nothing was
 * pending (everything appended is durable already: acknowledge at once),
 * -1 error (nothing started; records pending, retried by the next
 * commit). At most one commit is in flight: call it again only after
 * store_commit_end returned 1 or -1. While one is in flight,
 * store_commit_ahead writes the entry of what was appended since (after
 * the entry being synced) and makes it visible at once: 1 written, 0
 * nothing to write or no commit in flight, -1 error (nothing written:
 * the records stay pending for the next commit). Such records are
 * durable only once the next commit's sync returned: the commit begun
 * after this one ends covers them. store_commit_fd becomes readable when
 * the sync returned (and when a seal job ended); then store_commit_end:
 * 1 the commit is durable (every record appended before its
 * store_commit_begin: acknowledge them), or none was in flight; 0 still
 * syncing, -1 the sync failed (its records and those written ahead of
 * it stay pending, and visible, and go into the next commit; do not
 * acknowledge them). Records appended meanwhile belong to the next
 * commit. A write that finds the tail full closes it (the next records
 * begin a new one: collector/STORE.md "Closed tails"); a commit whose
 * sync covers a closed tail hands it to the store's sealing thread
 * (compress, index, segment write + fsync);
 * if the previous block is still being sealed, up to STORE_PEND_MAX_CH
 * (4) more wait for it and go to the sealing thread as its next job,
 * handed over when store_commit_end sees that job end; past that this
 * waits (backpressure: at most 5 blocks behind, collector/STORE.md
 * "Crash safety"). A failed seal keeps the records durable in the WAL and
 * visible to cursors, is counted (n_seal_errors), and is retried on
 * later commits.
 */
int store_commit_begin(struct store *s);
int store_commit_fd(const struct store *s);
int store_commit_ahead(struct store *s);
int store_commit_end(struct store *s);
/* When the tail holds a block (block_size bytes appended since the last
 * one), writes the entry of what was appended (as store_commit_ahead,
 * whether a commit is in flight or not: visible at once, durable with
 * the next commit's sync) and closes the tail, so that the next records
 * begin a new one and the seal of this one, once that sync returned,
 * encodes none of them again (collector/STORE.md "Closed tails"): 1
 * written, 0 the tail is not full (nothing written), -1 error (nothing
 * written: the records stay pending for the next commit). Called between
 * appends (not under store_append_hold), as often as a caller likes: a
 * block closed sooner after it fills is closer to block_size. */
int store_commit_full(struct store *s);
/* store_commit_end, waiting for the sync (1 or -1; 1 if none is in
 * flight): for a clean stop. */
int store_commit_wait(struct store *s);
/* Bytes of records appended and not yet durable (the commit in flight's
 * and those written ahead of it included): what a caller bounds to bound
 * the memory of unsynced data. */
size_t store_unsynced_bytes(const struct store *s);
/* A record borrowed for the call. */
typedef void (*store_rec_fn)(const struct logrec *r, void *arg);
/* Calls fn for each record appended and not yet written to the WAL (so
 * not yet visible to cursors: those appended since the last
 * store_commit_begin or store_commit_ahead wrote an entry), in append order, and returns how
 * many: what a live tail subscribing now is still to be shown
 * (collector/search/follow.h). Strings borrowed from the store, labels
 * the source's current set. Decodes the unsealed tail: for an occasional
 * call. */
size_t store_foreach_unwritten(struct store *s, store_rec_fn fn, void *arg);
/* Waits until the blocks being sealed in the background and those waiting
 * for the sealing thread (if any) are written and visible in the segment
 * directory. 0, or -1 if a seal failed (records stay durable in the WAL;
 * retried by later commits). */
int store_sync(struct store *s);
/* With opt.recompact_level: finishes a segment the recompacting thread
 * rewrote (swapped in under the lock when no cursor is open, else left
 * for the next call) and hands it the next eligible one. wait: first
 * waits for the rewrite in flight. Call it from a timer on the store's
 * thread. 1 work in flight, 0 nothing to do, -1 a swap failed (counted
 * in n_recompact_errors). */
int store_recompact_poll(struct store *s, int wait);
/* Cuts the WAL files to their live entries if no commit was written
 * since the previous call and none is in flight: an idle store keeps no
 * stale entries of reused files on disk (STORE.md "Write-ahead log"),
 * and frees the tail bodies kept for a burst (segment_spare_trim).
 * Call it from a timer on the store's thread. Returns the bytes cut. */
uint64_t store_wal_trim(struct store *s);
/* Deletes whole oldest segments past retention_age_ns / retention_bytes
 * (never the segment being written). Also run after each seal and at open;
 * call it from a timer so age-based retention works without traffic.
 * Returns the number of segments deleted, -1 on error. */
int store_apply_retention(struct store *s);
/* Highest stored offset of (host, container_id); 0 when unknown. */
uint64_t store_source_offset(struct store *s, const char *host,
                             const char *container_id);

/* 1 if (host, container_id) has a record in the store (or pending). */
int store_has_source(struct store *s, const char *host,
                     const char *container_id);

/*
 * Docker labels of a source (collector/STORE.md "Source labels"): one
 * current set per (host, container_id), the last one given wins, durable
 * at the next store_commit() (which fails, keeping them pending, if they
 * cannot be written). Sets are kept until store_close(), so the pointers
 * below stay valid that long; records from cursors carry their source's
 * current set in logrec.labels.
 */
/* Label sets one source may be given since open; past it a changed set is
 * refused and counted (n_dl_capped), so a sender changing labels with
 * every batch cannot grow memory or labels.lql without bound. */
#define STORE_MAX_LABEL_SETS 64

/* The source's current set if text_hash is the hash its sender's text had
 * at the last store_set_labels(); else NULL (parse the text and set it). */
const struct labelset *store_labels_known(struct store *s, const char *host,
                                          const char *container_id,
                                          uint64_t text_hash);
/* Makes ls (copied; validated by the caller, common/labelset.h) the
 * source's set, creating the source if it has no record yet (the caller
 * has checked its caps). 1 changed, 0 the same, -1 refused: the source
 * was given STORE_MAX_LABEL_SETS (64) sets since open (counted in
 * n_labelsets_capped; text_hash is remembered all the same, so the same
 * text in later batches is known, keeping the set, and counted once).
 * *cur (if not NULL): the source's set now (NULL: none). */
int store_set_labels(struct store *s, const char *host,
                     const char *container_id, const struct labelset *ls,
                     uint64_t text_hash, const struct labelset **cur);

/* One entry per (host, container_id) ever stored. */
struct store_source_info {
    const char *host;
    const char *container_id;
    const char *container;
    const char *image;
    const struct labelset *labels;  /* NULL: none known */
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
 * tokens, when given, are words every match must contain: the store cuts
 * each with tokenize_foreach() (collector/store/tokenize.h) and reads only
 * blocks whose index holds all the resulting tokens (never decides a
 * match). A word must be one the matcher requires as a whole word, with
 * ASCII letters/digits, or bytes >= 0x80, at neither end's outside.
 */
/* A record's place in the store's total order (STORE.md "Order"):
 * time_ns, then host, then container_id (bytewise, strcmp), then offset.
 * Strings are borrowed. */
struct store_key {
    int64_t     time_ns;
    const char *host;
    const char *container_id;
    uint64_t    offset;
};
/* <0, 0, >0 as a sorts before, with, after b. */
int  store_key_cmp(const struct store_key *a, const struct store_key *b);
/* The key of r (borrows r's strings). */
void store_key_of(const struct logrec *r, struct store_key *k);

/* A segment block whose records holding a token the index counted
 * (store_filter.count_word): passed to store_filter.count_fn. */
struct store_blk_count {
    uint64_t    n;                  /* records of the block holding it */
    int64_t     min_ns, max_ns;     /* the block's record times */
    uint8_t     stream_mask;        /* bit 0 stdout, bit 1 stderr */
    const char *host;               /* every record's host; NULL: several */
    const char *container;          /* every record's container name (of
                                       one host); NULL: several */
};
/* 1: the caller takes the count and the cursor does not read the block;
 * 0: the block is read as usual. Called under the store's lock (by
 * store_cursor_new): it must only add the count. */
typedef int (*store_count_fn)(const struct store_blk_count *bc, void *arg);

/* The caller's test of a record's message (its text query): its answer,
 * 0..255 (opaque to the store). See store_filter.match_fn. */
typedef int (*store_match_fn)(void *arg, const char *msg, size_t len);
/* A test of many messages at once, laid back to back in text (message i
 * is text[ends[i - 1] .. ends[i]), ends[-1] = 0): sets maybe[i] to 0 for
 * the messages whose match_fn answer is 0 for certain (the store takes 0
 * without asking match_fn) and to 1 for the others. Returns 0, or -1
 * (maybe untouched) to have match_fn test every message. */
typedef int (*store_match_col_fn)(void *arg, const char *text,
                                  const uint32_t *ends, uint32_t n,
                                  uint8_t *maybe);

/* A test of a whole block or frame as read, before it is decoded (its
 * raw body: columns and messages): 0 when no record inside can have a
 * match_fn answer other than 0 (what every match holds occurs nowhere in
 * the bytes), 1 maybe. */
typedef int (*store_match_raw_fn)(void *arg, const char *bytes, size_t len);

struct store_filter {
    int64_t             since_ns;   /* inclusive; INT64_MIN: open */
    int64_t             until_ns;   /* exclusive; INT64_MAX: open (a record
                                       stamped INT64_MAX is in it) */
    const char         *host;       /* exact, NULL: any */
    const char         *container_id; /* exact, NULL: any */
    const char         *container;  /* fnmatch glob on the name, NULL: any */
    const char         *image;      /* exact, NULL: any */
    /* NULL: any; else the repeated host/container/image alternatives and
     * '!' exclusions (namesel.h), ANDed with the three above. Copied at
     * cursor creation. */
    const struct namesel *sel;
    int                 stream;     /* -1 any, else LOGREC_STDOUT/STDERR */
    /* 0: any. Else only records received at or after it (recv_ns >= it;
     * records without a receive time are left out), and no block whose
     * receive-time range ends before it is read (collector/STORE.md
     * "Receive-time range"): a resumed follow's history. */
    int64_t             recv_since_ns;
    const char *const  *tokens;
    size_t              n_tokens;
    /* Field tokens every match has (tokenize_field: "name:value" folded
     * and cut; NUL-terminated): they narrow the blocks of segments indexed
     * with field tokens (.lqi version 4, and the segment being written);
     * a version 3 segment is narrowed by tokens alone (collector/STORE.md
     * "Field tokens"). The prefilter below does not use them. */
    const char *const  *field_tokens;
    size_t              n_field_tokens;
    /* Bounded words (ASCII word bytes, each one token): every match
     * holds each as a whole token or as a sub-word (a maximal ASCII run
     * inside a token holding a byte >= 0x80), as for a word a regex
     * bounds by \b, PCRE2's ASCII boundary (query_regex_bwords). They
     * narrow the blocks of segments whose index has sub-word tokens (.lqi
     * version 10, the segment being written, the unsealed tails:
     * collector/STORE.md "Sub-word tokens"). The prefilter below does not
     * use them. */
    const char *const  *bwords;
    size_t              n_bwords;
    /* Non-zero: the cursor may also skip records whose message does not
     * hold every token (cut as above) as an ASCII case-insensitive
     * substring, found by one scan of each block's message column. Leave
     * 0 when records around the matches are needed (context lines). */
    int                 is_tokens_required;
    /* Non-zero: the caller wants a few records (context lines), so the
     * cursor reads no block ahead on a helper thread (that block would
     * mostly be read for nothing). */
    int                 is_few;
    /* Non-zero: the blocks this cursor reads are not copied into the
     * store's cache of the last few blocks read (for context cursors,
     * which mostly re-read the block their match cursor just read): a
     * scan no context follows would only copy every block and evict
     * them. */
    int                 is_no_cache;
    /* 0: none. Else the cursor stops (store_cursor_next returns 0, the
     * end) before opening another block once the token prefilter has
     * dropped more than this many message bytes
     * (store_cursor_skipped_bytes): a query's cost cap, which records
     * never returned could otherwise not enforce. */
    uint64_t            max_skipped_bytes;
    /* NULL: from the start. Else only records strictly after this key in
     * the cursor's direction (newest-first: keys < *after; oldest-first:
     * keys > *after): resumes a scan where a previous one stopped.
     * Copied at cursor creation. */
    const struct store_key *after;
    /* Non-zero (oldest first only, without after): the records in the
     * order they were stored instead of store_key order: the segment
     * blocks (frames) as they lie in the segments, then the blocks being
     * sealed and the committed tail, each one's selected records by
     * store_key; a block is opened once the one before it is passed, so
     * each is read once (about receive order: a resumed follow's catch-up
     * round, which the key order made open every block of a second at
     * once and read each several times under cursor_mem_max:
     * collector/STORE.md "Stored order"). */
    int                 is_stored_order;
    /* Counting from the index (.lqi version 5, the segment being
     * written): NULL: none. Else a folded word (one whole token as
     * tokenize.h gives it, shorter than TOKENIZE_MAX_LEN) such that a
     * record the filter selects is wanted exactly when its message holds
     * that token (in a spelling of count_forms). A segment block every
     * record of which the filter selects (time range inside since/until,
     * one selected stream, every label selected, no after-key) and whose
     * index counts the token's records is offered to count_fn, and not
     * read if it takes it; with count_forms (TOKENIZE_FORM_* bits; 0: any
     * spelling, icase), only blocks where every occurrence of the token is
     * in one of those spellings (a case-sensitive term). Other blocks are
     * read as usual. */
    const char         *count_word;
    unsigned            count_forms;
    store_count_fn      count_fn;
    void               *count_arg;
    /* NULL: none. Else the caller's record test, run where a block is
     * loaded, on each record the time range, stream, labels and the token
     * prefilter select: on the cursor's thread with match_arg, on its
     * read-ahead thread with match_arg_helper (so the two may run at
     * once, each arg on one thread). Drops nothing: store_cursor_match()
     * gives its answer for the record returned last, so a scan's text
     * matching runs on both cores. Must answer the same on both args. */
    store_match_fn      match_fn;
    void               *match_arg;
    void               *match_arg_helper;
    /* NULL, or with match_fn: run first on a block whose messages lie
     * back to back (the column codecs) when the records it would test
     * are at least half of the block, with the same arg; match_fn then
     * tests only the messages it leaves set. */
    store_match_col_fn  match_col_fn;
    /* NULL, or with match_fn and is_tokens_required: run (same arg) on
     * each segment block or frame read whose records the filter selects
     * all (time, stream, labels), before it is decoded; one it answers 0
     * for is not decoded and its message bytes count at once as the
     * token prefilter's. Only while every candidate's raw bytes together
     * stay within max_skipped_bytes (else unused): at a cap inside the
     * scan a decoded block would count only what the merge passed. For
     * callers that read every match (no limit): the bytes then add up
     * the same (STORE.md "Regex literals in the raw bytes"). */
    store_match_raw_fn  match_raw_fn;
    /* Non-zero, with match_fn: the cursor returns only the records whose
     * match_fn answer is not 0. The others are dropped where their block
     * is loaded, never merged: their message bytes count in
     * store_cursor_skipped_bytes (and so against max_skipped_bytes) as
     * the token prefilter's do, and their number in
     * store_cursor_take_dropped; store_cursor_next may then return 2. For
     * callers that want the matches only (a search's match cursor). Near
     * max_skipped_bytes the cursor stops dropping: see
     * store_cursor_set_others. */
    int                 is_matches_only;
};

/* store_cursor_next returns 2 (no record yet) once it has dropped this
 * many records unseen (is_matches_only) in one call: a scan that matches
 * nothing for long still comes back to its caller (slices, cancelling). */
#define STORE_CURSOR_YIELD_RECORDS 4096

/* A cursor walks records newest-first or oldest-first, in the exact order
 * of store_key (oldest-first ascending, newest-first the exact reverse;
 * collector/STORE.md "Order"), whatever order they arrived in. It sees
 * what was committed when it was created (including the unsealed tail
 * block), and nothing appended later. It merges the blocks whose time
 * ranges overlap, holding at most its part of store_options.cursor_mem_max
 * (shared by every open cursor) of them (past that it re-reads:
 * n_cursor_rereads). The filter's strings
 * and after-key are copied. The store must outlive the cursor; segments
 * deleted by retention meanwhile are silently skipped. */
struct store_cursor *store_cursor_new(struct store *s,
                                      const struct store_filter *f,
                                      int newest_first);
/* 1: *r is the next record (valid until the next call or free); 0: the end;
 * -1: a damaged block was skipped and counted (call again to go on); 2
 * (is_matches_only only): no record yet, call again. */
int  store_cursor_next(struct store_cursor *c, struct logrec *r);
void store_cursor_free(struct store_cursor *c);
/* The filter's match_fn answer for the record store_cursor_next returned
 * last (0..255); -1 when there is none (no match_fn, no record). */
int  store_cursor_match(const struct store_cursor *c);
/* Message bytes of records that passed the time and label filters but were
 * dropped by the is_tokens_required prefilter: work a query's cost cap must
 * count although no record was returned for it. */
uint64_t store_cursor_skipped_bytes(const struct store_cursor *c);
/* Blocks and frames that store_filter.match_raw_fn ruled out (not
 * decoded), in every store of the process since it started (tests). */
uint64_t store_n_raw_skipped(void);
/* Frames whose records a matches-only cursor with match_raw_fn tested
 * from their messages alone and left undecoded, none matching (STORE.md
 * "Regex literals in the raw bytes"), in every store of the process
 * since it started (tests). */
uint64_t store_n_msgs_skipped(void);
/* Message bytes of the records returned so far. */
uint64_t store_cursor_returned_bytes(const struct store_cursor *c);
/* The bytes the caller's cost cap (max_skipped_bytes) counts besides this
 * cursor's own (skipped and returned): with is_matches_only the cursor
 * drops records only while the cap cannot be reached, and past that
 * returns every record again, so that the cap stops a scan at the very
 * record a cursor without is_matches_only would (the same bytes counted,
 * the same records returned before it). Set it before each
 * store_cursor_next. */
void store_cursor_set_others(struct store_cursor *c, uint64_t bytes);
/* From now on the cursor drops nothing (is_matches_only ends), and the
 * bytes of the records it dropped past the record it returned last are
 * no longer counted in store_cursor_skipped_bytes: its counts are then
 * those of a cursor without is_matches_only that returned the same
 * records. For a caller that stops reading before the end (a limit), so
 * that the bytes it reports do not depend on how far blocks were read. */
void store_cursor_exact(struct store_cursor *c);
/* Records passed over unseen (is_matches_only: of the blocks read, those
 * not returned: match_fn's 0, and those the filters or the token
 * prefilter reject) since the last call; resets the count. Work done that
 * a caller's per-record bounds should count. */
uint64_t store_cursor_take_dropped(struct store_cursor *c);
/* Segment blocks count_fn took (not read), and their records. */
uint64_t store_cursor_counted_blocks(const struct store_cursor *c);
uint64_t store_cursor_counted_records(const struct store_cursor *c);

/* Records whose names a filter selects (host, container_id, container,
 * image, sel; not its stream, tokens or text) stamped at or after from_ns
 * (or the filter's since_ns when later), from the block directory alone:
 * no block is read (collector/store/ahead.c). What a range ending at
 * from_ns leaves out: an open-ended search's "records stamped ahead"
 * (collector/API.md). Each block label (one source's name and image)
 * whose lines all lie there counts them all; one that straddles from_ns
 * counts 1 and sets *is_lower_bound (else 0). Costs one comparison per
 * segment whose newest record is older, plus the blocks of the others. */
void store_count_ahead(struct store *s, const struct store_filter *f,
                       int64_t from_ns, uint64_t *n, int *is_lower_bound);

struct store_stats {
    uint64_t n_records;
    uint64_t raw_bytes;        /* message + metadata bytes appended */
    uint64_t stored_bytes;     /* bytes on disk */
    uint64_t n_blocks;
    uint64_t n_segments;
    uint64_t n_corrupt_blocks; /* damaged blocks found (open or read) */
    int64_t  first_ns;
    int64_t  last_ns;
    uint64_t n_segments_deleted;  /* by retention, since open */
    uint64_t bytes_deleted;       /* by retention, since open */
    uint64_t n_torn_cuts;         /* torn segment tails / WAL tails cut at open */
    uint64_t n_wal_replayed;      /* records restored from the WAL at open */
    uint64_t n_seal_errors;       /* failed block writes (retried) */
    uint64_t n_wal_syncs;         /* commits' WAL fdatasyncs (syncer.c): */
    uint64_t wal_sync_ms;         /* their time in all, the longest one */
    uint64_t wal_sync_max_ms;     /* and the entries' bytes they made */
    uint64_t wal_sync_bytes;      /* durable; syncs of 100 ms or more */
    uint64_t n_wal_syncs_slow;
    uint64_t n_seal_waits;        /* commits that waited for the sealing
                                     thread (backpressure on ingest) */
    uint64_t seal_wait_ms;        /* how long they waited in all */
    uint64_t n_seal_waits_wal;    /* of them: no clean WAL file free, */
    uint64_t n_seal_waits_tails;  /* the waiting tails' cap reached, */
    uint64_t n_seal_waits_segment; /* the segment's end reached */
    uint64_t n_tail_closes;       /* tails closed full at a WAL write
                                     (STORE.md "Closed tails"), */
    uint64_t n_seal_nowal;        /* jobs sealed without their WAL files,
                                     and records encoded a second time
                                     on the store's thread: */
    uint64_t n_recs_carried;      /* carried into the next tail (a seal
                                     of a tail not closed), */
    uint64_t n_recs_split;        /* a tail split into blocks */
    uint64_t n_seal_jobs;         /* seal jobs applied (each one segment
                                     write and fdatasync) and their */
    uint64_t n_seal_blocks;       /* blocks; the jobs' time on the sealing
                                     thread, in all and per step (ms): */
    uint64_t seal_run_ms, seal_build_ms, seal_write_ms, seal_sync_ms;
    uint64_t seal_index_wait_ms, seal_wal_cut_ms;
    uint64_t seal_apply_lag_ms;   /* job done until the store's thread
                                     applied it */
    uint64_t n_quarantined_blocks;   /* blocks that could not be built,
                                        moved to quarantine files */
    uint64_t n_quarantined_records;  /* their records (not searchable) */
    uint64_t n_quarantine_unsaved;   /* of those, records whose quarantine
                                        file could not be written */
    uint64_t n_labels;            /* distinct (host, container id, name,
                                     image) labels held in memory */
    uint64_t n_labelsets_capped;  /* Docker label sets refused: the
                                     source had STORE_MAX_LABEL_SETS */
    uint64_t n_labels_capped;     /* records stored under their source's
                                     latest label: it had
                                     STORE_MAX_SOURCE_LABELS (64) already */
    uint64_t pending_records;     /* appended, not yet committed */
    uint64_t index_bytes;         /* .lqi files (part of stored_bytes) */
    uint64_t n_index_rebuilds;    /* missing/damaged .lqi rebuilt at open */
    uint64_t n_recompacted;       /* segments recompacted since open */
    uint64_t n_recompact_errors;  /* rewrites or swaps that failed */
    uint64_t recompact_saved_bytes; /* segment bytes they saved */
    uint64_t n_index_errors;      /* index writes/reads that failed (the
                                     segment is then scanned instead) */
    uint64_t n_cursor_reads;      /* segment blocks cursors read (the
                                     cost of a query; re-reads included) */
    uint64_t n_cursor_rereads;    /* blocks cursors read again after
                                     evicting them (cursor_mem_max) */
    uint64_t n_cursor_cache_hits; /* blocks a cursor took from the last
                                     few read (no disk read: not in
                                     n_cursor_reads) */
    uint64_t n_cursor_ahead_reads;  /* of n_cursor_reads, blocks read on a
                                       cursor's read-ahead thread */
    uint64_t n_cursor_mem_reads;  /* in-memory blocks (those unsealed)
                                     cursors copied to scan */
    uint64_t n_cursor_mem_skips;  /* unsealed full blocks cursors left out
                                     by their token set (tailset.c) */
    uint64_t cursor_mem_peak;     /* most bytes of open blocks one closed
                                     cursor held at once (cursor_mem_max,
                                     shared, bounds it; STORE.md
                                     "Reading") */
    uint64_t n_tail_sets;         /* token sets of waiting tails gathered
                                     ahead of their seal */
};
void store_get_stats(struct store *s, struct store_stats *st);

/* One entry per segment file, in seq order (store_info.c). Figures as in
 * store_stats, for that segment alone; first/last_ns are 0 when the
 * segment holds no records. */
struct store_segment_info {
    uint64_t seq;
    char     name[32];          /* "seg-<16 hex seq>.lqs" */
    uint64_t raw_bytes;         /* block bodies before compression */
    uint64_t stored_bytes;      /* segment file size (valid blocks) */
    uint64_t index_bytes;       /* its .lqi file; 0 if none yet */
    uint64_t n_records;
    uint64_t n_blocks;          /* including damaged ones */
    uint64_t n_corrupt_blocks;
    int64_t  first_ns;
    int64_t  last_ns;
    int      is_sealed;         /* full: no more blocks go here */
    int      is_current;        /* the next sealed block goes here */
};
typedef void (*store_segment_fn)(const struct store_segment_info *si,
                                 void *arg);
/* Calls fn for each segment, oldest first. fn must not call into the
 * store except for its getters (no append, commit or retention). */
void store_foreach_segment(struct store *s, store_segment_fn fn, void *arg);

/* What is not (yet) in a segment: the block being sealed in the
 * background and the unsealed tail, whose records are durable in the
 * WAL once committed. Segments + this = store_get_stats() totals. */
struct store_tail_info {
    uint64_t n_records;         /* sealing + tail (pending included) */
    uint64_t raw_bytes;
    uint64_t n_sealing_records; /* in the blocks being sealed or waiting
                                   for the sealing thread, and in the
                                   closed tails */
    uint64_t pending_records;   /* appended, not yet committed */
    uint64_t wal_bytes;         /* WAL files on disk */
    uint64_t n_wal_files;
    int64_t  first_ns;          /* 0 when there are no records */
    int64_t  last_ns;
};
void store_get_tail_info(struct store *s, struct store_tail_info *ti);

#endif
