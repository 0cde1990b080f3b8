/* SPDX-License-Identifier: MIT */
/*
 * lossfile: keeps the lost-data table (losses.h) in a file of the data
 * directory (<data-dir>/losses), so /health's `losses` and `logq health`
 * survive a collector restart. Read once at start; rewritten whole after a
 * change: a new file (mode 0600) in the same directory, fsync, rename over
 * the path, so a reader never sees half a file and a symlink planted at
 * the path is replaced, never followed. Bounded: a file larger than
 * losses_encoded_max is refused. Reports errors, never logs (ingest.c
 * decides).
 */
#ifndef COLLECTOR_INGEST_LOSSFILE_H
#define COLLECTOR_INGEST_LOSSFILE_H

#include <stddef.h>

struct losses;

/* The table in path (at most max_rows sources), or an empty one when the
 * file does not exist: 0 and *out (caller frees). -1 with *errstr (caller
 * frees) when it cannot be read, is too large or is not a losses file. */
int lossfile_load(const char *path, size_t max_rows, struct losses **out,
                  char **errstr);

/* Replaces path with l (max_rows: its cap). -1 with *errstr (caller frees);
 * the old file is then left as it was. */
int lossfile_save(const struct losses *l, size_t max_rows, const char *path,
                  char **errstr);

#endif
