/* SPDX-License-Identifier: MIT */
/*
 * lossfile: keeps the lost-data table (losses.h) in a file of the data
 * directory (<data-dir>/losses), so /health's `losses` and `logq health`
 * survive a collector restart. Read once at start; rewritten whole after a
 * change: a new file (mode 0600) in the same directory, fsync, rename over
 * the path, fsync of the directory, so a reader never sees half a file,
 * a crash leaves the old or the new one, and a symlink planted at the
 * path is replaced, never followed. Bounded: a file larger than
 * losses_encoded_max is refused. An unusable file is set aside without
 * overwriting an earlier one (at most LOSSFILE_MAX_BAD + 1 kept).
 * Reports errors, never logs (ingest_losses.c decides). The writes are
 * blocking: the collector calls them from common/filesave.c's thread,
 * never its loop.
 */
#ifndef COLLECTOR_INGEST_LOSSFILE_H
#define COLLECTOR_INGEST_LOSSFILE_H

#include <stddef.h>
#include <stdint.h>

#define LOSSFILE_MAX_BAD 3          /* <path>.bad, then .bad.1 to .bad.3 */

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
/* Replaces path with data[0..len) (an encoded table) the same way. -1
 * with *errstr (caller frees): the old file is left as it was, or, when
 * only the directory fsync failed, the new one is in place. */
int lossfile_write(const char *path, const char *data, size_t len,
                   char **errstr);
/* How many times the calling thread has written the file (thread-local):
 * lets tests prove the event loop writes none. */
uint64_t lossfile_n_written_here(void);

/* Moves an unusable path aside to the first of <path>.bad, <path>.bad.1
 * ... .bad.LOSSFILE_MAX_BAD that does not exist: 0 and *kept (the name,
 * caller frees). -1 with *errstr (caller frees) when all exist (path is
 * left, to be replaced by the next save) or the rename failed. */
int lossfile_set_aside(const char *path, char **kept, char **errstr);

#endif
