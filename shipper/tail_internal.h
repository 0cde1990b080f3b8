/* SPDX-License-Identifier: MIT */
/*
 * tail_internal: the tailer's state and the functions its parts share
 * (tail.c, tail_fp.c, tail_dir.c, tail_read.c, tail_ahead.c, tail_loss.c,
 * tail_start.c; see tail.c). Not for use outside those files: docker.c and
 * the tests use tail.h only.
 */
#ifndef SHIPPER_TAIL_INTERNAL_H
#define SHIPPER_TAIL_INTERNAL_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/buf.h"
#include "shipper/counters.h"
#include "shipper/multiline.h"
#include "shipper/tail.h"

#define TAIL_LINE_SLACK  (64u << 10)   /* json overhead above max_record */
#define TAIL_MARKER_ROOM 64
#define TAIL_MAX_FILES   256
#define TAIL_DONE_MAX    64      /* files remembered as read (ring) */
#define TAIL_REFUSED_MAX 8       /* refused files remembered (ring) */
#define TAIL_KNOWN_MAX   64      /* newer files noted (sizes, pins) */
#define TAIL_PIN_TOTAL   256     /* files held open ahead, all tailers */
#define TAIL_COUNT_MAX   (64u << 20) /* bytes read only to count lines */
#define TAIL_HOLED_MAX   8       /* holed listings in a row taken as is */
#define TAIL_START_LOOKS 4       /* listings per start looking for the
                                    saved file */
#define TAIL_OPEN_FLAGS  (O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)

struct tail_join {
    struct buf      msg;
    int             is_active;
    struct tail_pos start;      /* first byte of its first line */
    uint64_t        last_end;   /* logical offset past its last line */
    int64_t         time_ns;
    uint8_t         flags;
    uint64_t        dropped;    /* bytes cut at max_record */
    uint8_t         last_byte;  /* last text byte appended (kept or cut) */
};

/* A file newer than ours seen by a watch: known[0] is the one right after
 * ours, each next one right after the previous (Docker's order). */
struct tail_known {
    uint64_t dev;
    uint64_t ino;
    uint64_t size;          /* at the last look */
    unsigned long suffix;   /* at the last look: 0 live, N for .N */
    int      fd;            /* held open (pinned), or -1 */
    int      is_final;      /* was rotated (.N) at the last look: its size
                               no longer grows */
    int      is_after_gap;  /* files may have come and gone unseen between
                               the one before it and this one */
    int      n_missing;     /* looks in a row that did not list it */
    uint32_t fp_len;        /* crc32 fp of its first fp_len bytes (0: */
    uint32_t fp;            /* empty when noted): its inode number may go
                               to a new file once it is deleted (ext4) */
    int      is_replaced;   /* its inode is another file's now: it is gone */
};

struct tailer {
    char                    *dir;
    char                    *id;
    char                    *live_name;  /* <id>-json.log */
    int                      dfd;        /* the container dir, or -1 */
    struct tail_config       cfg;
    size_t                   line_max;
    struct shipper_counters *ctr;

    int                      is_started;
    int                      has_want;
    struct tail_pos          want;

    int                      fd;
    uint64_t                 dev;
    uint64_t                 ino;
    uint64_t                 base;       /* logical offset of byte 0 */
    uint64_t                 read_pos;   /* file offset of next read */
    uint64_t                 line_fpos;  /* file offset of pending line */
    uint64_t                 last_offset;/* last emitted record offset */
    uint32_t                 fp_len;     /* fingerprint of the file: crc32 */
    uint32_t                 fp;         /* of its first fp_len bytes */

    uint8_t                 *rbuf;
    size_t                   rcap;
    size_t                   rlen;       /* pending bytes at rbuf[0] */
    int                      is_skipping;/* inside an over-long line */
    int                      is_open_failing; /* next file: warned once */
    uint64_t                 skipped;

    struct buf               msg;
    struct tail_join         join[2];
    const struct multiline_rule *rule;  /* NULL: one line, one record */
    struct multiline_group   group[2];  /* per stream */
    const struct tail_pos   *hold;      /* a line about to join a group:
                                           records emitted before it is
                                           added resume no later */

    /* Files (dev, ino) already read to their end, or older than the one we
     * resumed in: when our file vanishes from the listing, the next file is
     * the oldest one listed that is not here (never one already read). */
    struct tail_done {
        uint64_t dev, ino;
        uint32_t fp_len, fp;    /* 0: unknown, the inode alone decides */
    }                        done[TAIL_DONE_MAX];
    size_t                   n_done, done_next;

    /* Symlinks and other non-regular files refused (their own dev, ino),
     * so each is counted and logged once, not at every scan. */
    uint64_t                 refused_dev[TAIL_REFUSED_MAX];
    uint64_t                 refused_ino[TAIL_REFUSED_MAX];
    size_t                   n_refused, refused_next;
    int                      is_dir_refused;

    struct tail_known        known[TAIL_KNOWN_MAX];
    size_t                   n_known;
    size_t                   n_pinned;
    int                      n_missing;  /* looks in a row without ours */
    int                      is_gap_pending; /* the newest noted file went
                                                unread: next one after a gap */
    int                      is_holed;   /* the last listing had a hole */
    int                      n_holed;    /* listings in a row with one */
    int                      n_start_holed; /* starts whose listings agreed
                                               but lacked the live file */
    int                      is_start_unsure; /* saved file: logged once */
    int                      is_saved_replaced; /* logged once */
    uint64_t                 seen_size;  /* our file's largest size seen */
    uint64_t                 wb_pos;     /* file offset (a page's start)
                                            below which writeback was asked
                                            (tail_wb.c) */
    int                      is_wb_off;  /* the call failed on this file */
    struct tail_loss         loss;
};

struct tail_file {
    unsigned long n;            /* 0 = live file, else the .N suffix */
    uint64_t      dev;
    uint64_t      ino;
    uint64_t      size;
};

/* ---- tail.c ---- */

/* The position at file offset fpos of the current file. */
void tail_pos_at(const struct tailer *t, uint64_t fpos, struct tail_pos *out);
/* Makes fd (takes ownership; at file offset fpos, logical offset of byte 0
 * = base) the current file, closing the previous one. */
void tail_use(struct tailer *t, int fd, const struct stat *st, uint64_t base,
              uint64_t fpos);

/* ---- tail_fp.c: file identity ---- */

/* crc32 of fd's first len bytes into *crc; -1 if it has fewer. */
int tail_fp_read(int fd, uint32_t len, uint32_t *crc);
/* 1 when fd's first *len bytes still have crc32 *fp, then *len and *fp
 * cover the first TAIL_FP_LEN bytes it has now; 0 when they differ
 * (another file on the inode); -1 when it cannot be read. */
int tail_fp_match(int fd, uint32_t *len, uint32_t *fp);
/* tail_fp_match on f opened by name: -1 also when it cannot be opened. */
int tail_fp_match_name(struct tailer *t, const struct tail_file *f,
                       uint32_t *len, uint32_t *fp);
/* Extends the current file's fingerprint to the bytes read so far. */
void tail_fp_update(struct tailer *t);

/* ---- tail_dir.c: the rotation set ---- */

/* The container directory's fd (opened once, O_NOFOLLOW), or -1. */
int tail_dir_fd(struct tailer *t);
/* Index of (dev, ino) among files[0..n), or -1. */
ssize_t tail_dir_find(const struct tail_file *files, size_t n, uint64_t dev,
                      uint64_t ino);
/* Lists the live and rotated files (regular files only), oldest first,
 * at most max. Returns the count. */
size_t tail_dir_scan(struct tailer *t, struct tail_file *files, size_t max);
/* Opens f by name if it is still the regular file listed: an fd (caller
 * closes), or -1 with errno set (ESTALE: another file has the name). */
int tail_dir_open(struct tailer *t, const struct tail_file *f,
                  struct stat *st);
/* 1 when files[from..n) are .k ... .1 and the live file, nothing missing. */
int tail_dir_is_whole(const struct tail_file *files, size_t n, size_t from);
/* 1 when two listings name the same files (suffix, dev, ino). */
int tail_dir_same(const struct tail_file *a, size_t na,
                  const struct tail_file *b, size_t nb);

/* ---- tail_read.c: lines to records ---- */

/* Ends both streams' multi-line groups whose last line (Docker time, or
 * the clock when read) is before before_ns, the earlier one first. */
void tail_read_groups_emit(struct tailer *t, int64_t before_ns,
                           int is_docker_time, tail_emit_fn emit, void *arg);
/* A whole line (partials joined) of stream: a record, or a line of the
 * multi-line record being joined. text may be modified. */
void tail_read_whole_line(struct tailer *t, struct buf *text,
                          uint64_t dropped, uint8_t stream, uint8_t flags,
                          int64_t time_ns, const struct tail_pos *start,
                          uint64_t end, tail_emit_fn emit, void *arg);
/* Splits rbuf[0..rlen + n) into lines and emits them; keeps the
 * unfinished tail at rbuf[0]. */
void tail_read_process(struct tailer *t, size_t n, tail_emit_fn emit,
                       void *arg);
/* The file ends without '\n': what is pending is a line ending at
 * read_pos. */
void tail_read_flush_pending(struct tailer *t, tail_emit_fn emit, void *arg);

/* ---- tail_ahead.c: files noted ahead, files read ---- */

/* Notes a file as read (or counted lost) with its fingerprint (fp_len 0:
 * the inode alone decides). */
void tail_ahead_done_add(struct tailer *t, uint64_t dev, uint64_t ino,
                         uint32_t fp_len, uint32_t fp);
/* Index of noted file k in files[0..n) (the same file, not a new one on
 * its inode), or -1. */
ssize_t tail_ahead_find(const struct tail_known *k,
                        const struct tail_file *files, size_t n);
/* known[i] no longer held open by us (its fd closed or handed over). */
void tail_ahead_unpin(struct tailer *t, size_t i);
/* Drops known[0]; its fd, if any, now belongs to the caller. */
void tail_ahead_shift(struct tailer *t);
/* Notes the files of a listing newer than ours; counts noted files that
 * two looks in a row missed as lost. */
void tail_ahead_update(struct tailer *t, const struct tail_file *files,
                       size_t n);
/* Lists the directory and updates the files noted (twice when unsure).
 * Returns the listing's length. */
size_t tail_ahead_look(struct tailer *t, struct tail_file *files,
                       size_t max);

/* ---- tail_loss.c: lost data ---- */

/* Counts one loss (or possible loss) of bytes and lines. */
void tail_loss_add(struct tailer *t, uint64_t bytes, int is_bytes_bound,
                   uint64_t lines, int is_lines_bound);
/* '\n's in fd from pos to size, at most *budget bytes read (lowered);
 * *is_bound set when the budget ran out. */
uint64_t tail_loss_count_lines(struct tailer *t, int fd, uint64_t pos,
                               uint64_t size, uint64_t *budget,
                               int *is_bound);

/* ---- tail_wb.c: writeback of what was read ---- */

/* A (new or truncated) current file, read from fpos on. */
void tail_wb_use(struct tailer *t, uint64_t fpos);
/* After a read: asks the kernel to start writing back the whole pages of
 * the current file below read_pos not yet asked, once they reach
 * cfg.wb_step bytes. Counted in the counters; errors counted, logged
 * once, never fatal. */
void tail_wb_read(struct tailer *t);
/* The current file is left read to its end (rotated: it no longer grows):
 * asks for the rest of what was read, its last partial page too. */
void tail_wb_rest(struct tailer *t);

#endif
