/* SPDX-License-Identifier: MIT */
/*
 * tail: follows one container's json-file log exactly as Docker writes and
 * rotates it (live `<id>-json.log`, rotated `.1` ... `.N`, truncation),
 * splits it into lines, parses them with dockerline and rejoins Docker's
 * 16 KiB partial messages per stream (a CRLF cut by the split is removed
 * like a whole one). Each completed record is handed to an
 * emit callback with its logical offset (bytes over all of the container's
 * files, PROTOCOL.md "Exactly once") and the resume point that becomes safe
 * once that record is stored. Files are opened relative to the container
 * directory without following symlinks, regular files only (others are
 * refused and counted in files_refused). No event loop, no timers, no
 * allocation per line: the owner (docker.c) decides when to call
 * tail_step(), so the logic is driven step by step in tail_test.c.
 */
#ifndef SHIPPER_TAIL_H
#define SHIPPER_TAIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shipper/counters.h"

/* A position in one file, and the logical offset it stands for. */
struct tail_pos {
    uint64_t dev;
    uint64_t ino;
    uint64_t file_pos;
    uint64_t logical;
    uint32_t fp_len;    /* the file's first fp_len bytes (<= TAIL_FP_LEN; */
    uint32_t fp;        /* 0: unknown) have this crc32: a resume checks it,
                           so a new file on a reused inode is not taken for
                           the old one */
};

/* Enough for a whole first json-file line of most containers: Docker's
 * nanosecond "time" ends each line, so two files whose first messages
 * start alike (every line starts '{"log":"') still differ there. */
#define TAIL_FP_LEN 4096

struct tail_record {
    uint8_t         stream;     /* LOGREC_STDOUT / LOGREC_STDERR */
    uint8_t         flags;      /* LOGREC_F_* */
    int64_t         time_ns;
    uint64_t        start;      /* logical position it begins at: the
                                   previous record's offset, or where
                                   reading started (PROTOCOL.md
                                   "Plausible positions") */
    uint64_t        offset;     /* logical position past its last line */
    const char     *msg;        /* borrowed until the callback returns */
    size_t          msg_len;
    struct tail_pos resume;     /* safe restart point once this is stored */
};

/* Must accept the record (copy what it keeps); may not call back into t. */
typedef void (*tail_emit_fn)(void *arg, const struct tail_record *r);

struct multiline_rule;

struct tail_config {
    size_t max_record;          /* bytes of message text per record */
    size_t chunk;               /* bytes per read() */
    int64_t (*clock_ns)(void);  /* multi-line 1 s timer; NULL: mono_ns */
    size_t max_pinned;          /* newer files held open; 0: TAIL_PIN_MAX */
    size_t wb_step;             /* 0: off; else once this many bytes of
                                   whole pages read are not yet asked, the
                                   kernel is asked to start writing them
                                   back (tail_wb.c; TAIL_WB_STEP) */
};

#define TAIL_PIN_MAX 8

/* Bytes per read() of a container's file in the shipper (main.c): each
 * container's read buffer keeps the pages its largest read touched, so
 * with 100 containers that had to catch up once (reading paused), 256 KiB
 * reads held ~25 MiB for good (peak RSS 38-45 MiB in loaded live tail
 * runs, 13-16 quiet). tail_mem_test checks the bound. */
#define TAIL_CHUNK (64u << 10)

/* Bytes of whole pages read from a json-file after which the shipper asks
 * the kernel to start their writeback (--writeback-step's default;
 * tail_wb.c, shipper/README.md "Writeback of what was read"). */
#define TAIL_WB_STEP (1u << 20)
/* For tests: the writeback call (sync_file_range's signature) is fn
 * from now on, NULL: sync_file_range again; forgets an ENOSYS seen and
 * the failure logged. */
typedef int (*tail_wb_fn)(int fd, off64_t off, off64_t len, unsigned flags);
void tail_wb_test_call(tail_wb_fn fn);

/*
 * Data of this container that will never be shipped (tail_loss_get):
 * json-file bytes, and the lines ('\n'-ended json-file lines, each 16 KiB
 * piece of a long message counting one) among them. A count is exact
 * unless its is_*_bound flag says it is a lower bound ("at least"): bytes
 * Docker deleted that the tailer never saw, or written between its last
 * look and a truncation, cannot be known; lines of data never read are
 * not counted. events counts the losses (or possible losses, of unknown
 * size) one by one.
 */
struct tail_loss {
    uint64_t bytes;
    uint64_t lines;
    uint64_t events;
    int      is_bytes_bound;
    int      is_lines_bound;
};

enum tail_status {
    TAIL_DATA,                  /* read and processed some bytes */
    TAIL_IDLE,                  /* at the end of the live file, or the
                                 * next file cannot be opened (counted in
                                 * read_errors, retried by the next call) */
    TAIL_NOFILE,                /* no log file (yet, or mid-rotation) */
};

/* A tailer for <dir>/<id>-json.log; no file is opened until tail_start. */
struct tailer *tail_new(const char *dir, const char *id,
                        const struct tail_config *cfg,
                        struct shipper_counters *ctr);
void tail_free(struct tailer *t);

/*
 * Positions the tailer: at the saved resume point (the file whose dev+ino
 * match and whose first bytes are still the saved fingerprint's, live or
 * rotated; else a file with those first bytes on another inode) or, if
 * resume is NULL, at the start of the oldest existing file with logical
 * offset 0, once two listings in a row name the same files (with a full
 * rotation set, hostconfig.json's max-file - 1
 * rotated files, a possible loss of unknown size: Docker may have deleted
 * older files unseen). A saved file shown gone (two listings in a row that miss it,
 * name the same files and end with the live file: a listing taken
 * mid-rotation can miss a file that is there) counts a gap and starts at
 * the oldest file, continuing the saved logical offset. Returns 0, or -1
 * when no log file exists yet, one listed cannot be opened (counted in
 * read_errors), no two listings agreed (first start) or the listings do
 * not show the saved file gone (tail_step
 * retries; never a file read under another's offsets).
 */
int tail_start(struct tailer *t, const struct tail_pos *resume);

/*
 * Reads at most one chunk and emits the records it completes; at the end
 * of a rotated or truncated file moves on to the next one. TAIL_IDLE when
 * everything written so far has been read.
 */
enum tail_status tail_step(struct tailer *t, tail_emit_fn emit, void *arg);

/* The container is gone and its file read to the end: emits a last line
 * without '\n', unfinished partial messages as they are and the records
 * being joined. */
void tail_flush(struct tailer *t, tail_emit_fn emit, void *arg);

/*
 * The multi-line rule (multiline.h; borrowed, must outlive t or be replaced;
 * NULL: none). Records being joined keep joining under the new rule.
 */
void tail_multiline_set(struct tailer *t, const struct multiline_rule *rule);
/* Emits the records being joined whose last line came 1 s or more ago
 * (cfg.clock_ns); call when everything written so far has been read.
 * Returns 1 if records are still being joined. */
int tail_expire(struct tailer *t, tail_emit_fn emit, void *arg);

/* 1 while a multi-line record is being joined. */
int tail_is_joining(const struct tailer *t);

/*
 * Looks at the container directory (cheap: one listing): files newer than
 * the current one are noted, with their sizes, and up to max_pinned of
 * them held open, so that Docker deleting them before the tailer gets
 * there loses nothing (or, past the cap, an exactly counted loss). Call on
 * every change in the directory (docker_inotify.c, docker_look.c).
 */
void tail_watch(struct tailer *t);

/* The container will not be read further (closed at a cap): counts all
 * that is left unread as lost, reading it only to count its lines. */
void tail_abandon(struct tailer *t);

/* What was lost so far (see struct tail_loss). */
void tail_loss_get(const struct tailer *t, struct tail_loss *out);

/* Where a restart would begin now (never inside an unfinished message). */
void tail_resume_get(const struct tailer *t, struct tail_pos *out);
/* Logical offset of the next byte to read. */
uint64_t tail_logical_get(const struct tailer *t);
/* 1 while the tailer holds an open file. */
int tail_is_open(const struct tailer *t);

#endif
