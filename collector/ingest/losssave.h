/* SPDX-License-Identifier: MIT */
/*
 * losssave: writes the lost-data file (lossfile_write: temp file, fsync,
 * rename, directory fsync) on a thread of its own, so the collector's
 * event loop never waits for a disk (SECURITY.md "Lost data"). The loop
 * encodes the table and hands the text over; one text waits at most (a
 * newer one replaces it), so memory is bounded by two encoded tables.
 * Results are picked up by polling (the loop's save timer). Owns the
 * thread; knows nothing about the table beyond its text and version.
 */
#ifndef COLLECTOR_INGEST_LOSSSAVE_H
#define COLLECTOR_INGEST_LOSSSAVE_H

#include <stddef.h>
#include <stdint.h>

struct losssave;

/* Starts the writer thread for path (copied). NULL with *errstr (caller
 * frees) when the thread cannot start. */
struct losssave *losssave_new(const char *path, char **errstr);

/* Queues text[0..len) (taken, freed with free()) as the file's next
 * content, for the table's version; a text queued and not yet started is
 * replaced. Never blocks on the disk. */
void losssave_put(struct losssave *s, char *text, size_t len,
                  uint64_t version);

struct losssave_result {
    uint64_t n_failed;        /* writes failed since the last poll */
    char    *err;             /* the first one's error (caller frees) */
    int      has_saved;       /* a write succeeded since the last poll */
    uint64_t saved;           /* then: the newest version written */
    int      is_busy;         /* a text is queued or being written */
};

/* What happened since the last poll. */
void losssave_poll(struct losssave *s, struct losssave_result *out);

/* Waits until what is queued is written (or failed). */
void losssave_drain(struct losssave *s);

/* Drains, stops the thread, frees (results not polled are lost). NULL is
 * a no-op. */
void losssave_free(struct losssave *s);

#endif
