/* SPDX-License-Identifier: MIT */
/*
 * filesave: writes a small file's next content on a thread of its own, so
 * an event loop never waits for a disk (temp file, fsync, rename and the
 * directory's fsync take 5-50 ms on a busy disk). The caller encodes the
 * text and hands it over; one text waits at most (a newer one replaces
 * it), so memory is bounded by two texts. Results are picked up by
 * polling (the caller's save timer). Owns the thread; knows nothing about
 * the file beyond its path, its text and a version number: the write
 * itself is the caller's function (the collector's lost-data file,
 * collector/ingest/lossfile.c; the shipper's positions, shipper/state.c).
 */
#ifndef COMMON_FILESAVE_H
#define COMMON_FILESAVE_H

#include <stddef.h>
#include <stdint.h>

struct filesave;

/* Replaces path with text[0..len): 0, or -1 with *errstr (caller frees).
 * Runs on the saver's thread: it must touch nothing the caller's thread
 * changes. */
typedef int (*filesave_write_fn)(const char *path, const char *text,
                                 size_t len, char **errstr);

/* Starts the writer thread (named name, at most 15 bytes, for top -H) for
 * path (copied), writing with fn. NULL with *errstr (caller frees) when
 * the thread cannot start. */
struct filesave *filesave_new(const char *path, const char *name,
                              filesave_write_fn fn, char **errstr);

/* Queues text[0..len) (taken, freed with free()) as the file's next
 * content, for the caller's version; a text queued and not yet started is
 * replaced. Never blocks on the disk. */
void filesave_put(struct filesave *s, char *text, size_t len,
                  uint64_t version);

struct filesave_result {
    uint64_t n_failed;        /* writes failed since the last poll */
    char    *err;             /* the first one's error (caller frees) */
    int      has_saved;       /* a write succeeded since the last poll */
    uint64_t saved;           /* then: the newest version written */
    int      is_busy;         /* a text is queued or being written */
};

/* What happened since the last poll. */
void filesave_poll(struct filesave *s, struct filesave_result *out);

/* Waits until what is queued is written (or failed). */
void filesave_drain(struct filesave *s);

/* Drains, stops the thread, frees (results not polled are lost). NULL is
 * a no-op. */
void filesave_free(struct filesave *s);

#endif
