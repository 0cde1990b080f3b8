/* SPDX-License-Identifier: MIT */
/*
 * state: the shipper's position store in --state-dir. Per container id it
 * keeps the acknowledged resume point (file dev+ino, position in that file,
 * logical offset) in one small text file, `positions`, rewritten atomically
 * (temp file, fsync, rename, fsync of the directory) so a crash leaves the
 * old or the new version, never a mix. Knows nothing about files being
 * tailed or the network: sender acks call state_set; a timer in main.c
 * encodes the entries when dirty (state_encode) and a thread of its own
 * (common/filesave.c) writes them (state_write_file), so the event loop
 * never waits for the disk; state_save does both at once (the exit).
 *
 * File format, one entry per line after a version line (version 1 files,
 * without fp_len fp, are still read):
 *   logq-shipper-state 2
 *   <container id> <dev> <ino> <file_pos> <logical> <fp_len> <fp>
 */
#ifndef SHIPPER_STATE_H
#define SHIPPER_STATE_H

#include <stddef.h>

#include "shipper/counters.h"
#include "shipper/tail.h"

#define STATE_MAX_ENTRIES 65536
#define STATE_MAX_ID_LEN  128

/*
 * Opens (creating the directory if needed) and loads the store. A missing
 * file is an empty store; a corrupt one is logged, counted (state_errors),
 * renamed to `positions.corrupt` and replaced by an empty store. NULL if
 * the directory cannot be created or is not writable.
 */
struct state_store *state_open(const char *dir, struct shipper_counters *ctr);
void state_free(struct state_store *st);

/* Replaces the entries with those in text[0..len). -1 (entries cleared) if
 * any line is malformed. */
int state_parse(struct state_store *st, const char *text, size_t len);

/* Borrowed; NULL when the id has no entry. */
const struct tail_pos *state_get(const struct state_store *st,
                                 const char *id);
/* Creates or updates; -1 for an invalid id or when the store is full. */
int state_set(struct state_store *st, const char *id,
              const struct tail_pos *pos);
void state_remove(struct state_store *st, const char *id);
size_t state_count(const struct state_store *st);
/* Id of entry i (i < state_count), borrowed. */
const char *state_id_get(const struct state_store *st, size_t i);
int state_is_dirty(const struct state_store *st);

/* Writes the file atomically and clears the dirty flag; -1 on failure
 * (logged, counted, store still dirty). Blocks on the disk. */
int state_save(struct state_store *st);

/* The file's text of the entries now (NUL-terminated, *len bytes before
 * the NUL; caller frees) and clears the dirty flag; NULL (flag kept) if
 * it would exceed the file's cap, which STATE_MAX_ENTRIES rules out. */
char *state_encode(struct state_store *st, size_t *len);
/* After a failed write of an encoded text: the entries are saved again. */
void state_mark_dirty(struct state_store *st);
/* The positions file's path, borrowed (fixed at state_open). */
const char *state_path(const struct state_store *st);
/* Replaces path (a state_path) with text[0..len) atomically: 0, or -1
 * with *errstr (caller frees), the old file left. Blocking; touches no
 * store, so it runs on a writer thread (a filesave_write_fn). */
int state_write_file(const char *path, const char *text, size_t len,
                     char **errstr);

#endif
