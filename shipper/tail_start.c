/* SPDX-License-Identifier: MIT */
/*
 * tail_start: positions a tailer at a saved resume point, or at the start
 * of the oldest file once two listings agree. The saved file is found by inode and first bytes, or
 * by its first bytes alone on another inode; it is taken for gone only on
 * listings that prove it (tail_saved_locate), so no file is ever read
 * under another file's offsets. A gone file is a loss of unknown size.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/compress.h"
#include "common/log.h"
#include "shipper/hostconfig.h"
#include "shipper/tail_internal.h"

enum tail_saved {
    TAIL_SAVED_FOUND,       /* files[at] is the saved file */
    TAIL_SAVED_GONE,        /* deleted: every file listed is newer */
    TAIL_SAVED_UNSURE,      /* not listed, but the listings prove nothing:
                               look again at the next step */
};

/* tail_dir_open for a start: a file listed that cannot be opened (EACCES,
 * renamed since the listing) counts read_errors at each try, logged once
 * while it lasts, as a next file does (tail.c); tail_step retries. */
static int
tail_start_open(struct tailer *t, const struct tail_file *f, struct stat *st)
{
    int fd = tail_dir_open(t, f, st);

    if (fd >= 0) {
        t->is_open_failing = 0;
        return fd;
    }
    if (!t->is_open_failing)
        log_warn("tail", "cannot open log file to start container=%.12s: %s",
                 t->id, strerror(errno));
    t->is_open_failing = 1;
    t->ctr->read_errors++;
    return -1;
}

/* 1 when f (listed on the saved dev+ino) still begins with the saved
 * file's first fp_len bytes (fp_len 0: the inode alone decides); 0 when
 * other bytes (a new file on a freed inode); -1 when it cannot be read. */
static int
tail_saved_check(struct tailer *t, const struct tail_file *f)
{
    struct stat st;
    uint32_t crc;

    if (t->want.fp_len == 0)
        return 1;
    int fd = tail_start_open(t, f, &st);
    if (fd < 0)
        return -1;
    int r = tail_fp_read(fd, t->want.fp_len, &crc) == 0 &&
            crc == t->want.fp;
    close(fd);
    return r;
}

/* 1 when f begins with the saved file's first fp_len bytes and they hold a
 * whole json-file line (its nanosecond time: not just the '{"log":"' that
 * every file starts with). */
static int
tail_saved_content_is(struct tailer *t, const struct tail_file *f)
{
    uint8_t b[TAIL_FP_LEN];
    struct stat st;
    uint32_t len = t->want.fp_len;

    if (len == 0 || len > sizeof(b))
        return 0;
    int fd = tail_dir_open(t, f, &st);
    if (fd < 0)
        return 0;
    ssize_t r = pread(fd, b, len, 0);
    close(fd);
    return r == (ssize_t)len && memchr(b, '\n', len) != NULL &&
           compress_crc32(0, b, len) == t->want.fp;
}

/*
 * The saved file in files[0..n): the one on its dev+ino if it still begins
 * with its bytes, else one that begins with them (the files copied to new
 * inodes while the shipper was stopped). -1 if none; -2 if the file on its
 * inode cannot be read now.
 */
static ssize_t
tail_saved_find(struct tailer *t, const struct tail_file *files, size_t n)
{
    ssize_t i = tail_dir_find(files, n, t->want.dev, t->want.ino);

    if (i >= 0) {
        int r = tail_saved_check(t, &files[i]);
        if (r != 0)
            return r > 0 ? i : -2;
        if (!t->is_saved_replaced)
            log_warn("tail", "saved file replaced (its inode reused) "
                     "container=%.12s", t->id);
        t->is_saved_replaced = 1;
    }
    for (size_t k = 0; k < n; k++) {
        if ((ssize_t)k != i && tail_saved_content_is(t, &files[k])) {
            log_info("tail", "saved file found by its first bytes on "
                     "another inode container=%.12s ino=%" PRIu64, t->id,
                     files[k].ino);
            return (ssize_t)k;
        }
    }
    return -1;
}

/*
 * Lists the directory until the saved file is found or shown gone. readdir
 * is no snapshot: a listing taken while Docker renames stats each name
 * before or after the renames, and can miss the saved file (".1" stat'ed
 * before, the live name after). Read as gone, the oldest file (maybe older
 * than the saved one, read already) would be read under the saved
 * offsets, its lines stored twice. Gone takes two listings in a row that
 * miss it and name the same files: every rename changes the inode behind
 * each name, so a listing mixing the states before and after a rotation
 * cannot be repeated by the next one. They must also be whole (.k ... .1
 * and the live file): the live file absent is mid-rotation, unless that
 * lasts TAIL_HOLED_MAX starts (removed by hand).
 */
static enum tail_saved
tail_saved_locate(struct tailer *t, struct tail_file *files, size_t *n,
                  ssize_t *at)
{
    struct tail_file prev[TAIL_MAX_FILES];
    size_t n_prev = 0;

    for (int pass = 0; pass < TAIL_START_LOOKS; pass++) {
        *n = tail_dir_scan(t, files, TAIL_MAX_FILES);
        *at = tail_saved_find(t, files, *n);
        if (*at >= 0)
            return TAIL_SAVED_FOUND;
        if (*at == -2)
            return TAIL_SAVED_UNSURE;       /* tail_step retries */
        if (pass > 0 && tail_dir_same(prev, n_prev, files, *n)) {
            if ((*n > 0 && files[*n - 1].n == 0 &&
                 tail_dir_is_whole(files, *n, 0)) ||
                ++t->n_start_holed >= TAIL_HOLED_MAX)
                return TAIL_SAVED_GONE;
            break;
        }
        memcpy(prev, files, *n * sizeof(files[0]));
        n_prev = *n;
    }
    if (!t->is_start_unsure)
        log_info("tail", "saved file not listed, listing again before "
                 "taking it for gone container=%.12s", t->id);
    t->is_start_unsure = 1;
    return TAIL_SAVED_UNSURE;
}

/*
 * A fresh start's listing (no saved position): a listing taken while
 * Docker renames can miss the oldest file (".1" stat'ed as it moved on to
 * ".2"), which the start at the oldest listed would never read, its lines
 * lost unseen. As for a saved file (tail_saved_locate), it takes two
 * listings in a row that name the same files: every rename changes the
 * inode behind a name, so a listing mixing the states before and after a
 * rotation cannot be repeated by the next. Unlike it, a hole or no live
 * file is taken as is: the oldest file is all a start needs, and the
 * files after it are tail_ahead_update's (a listing with a hole is not
 * noted past it). 0, or -1 (no file yet, or no two listings agreed:
 * tail_step retries).
 */
static int
tail_fresh_listing(struct tailer *t, struct tail_file *files, size_t *n)
{
    struct tail_file prev[TAIL_MAX_FILES];
    size_t n_prev = 0;

    for (int pass = 0; pass < TAIL_START_LOOKS; pass++) {
        *n = tail_dir_scan(t, files, TAIL_MAX_FILES);
        if (*n == 0)
            return -1;
        if (pass > 0 && tail_dir_same(prev, n_prev, files, *n))
            return 0;
        memcpy(prev, files, *n * sizeof(files[0]));
        n_prev = *n;
    }
    if (!t->is_start_unsure)
        log_info("tail", "listings disagree, listing again before the "
                 "first start container=%.12s", t->id);
    t->is_start_unsure = 1;
    return -1;
}

/* Resumes at the saved position in files[at]: the files before it were
 * read before the stop. */
static int
tail_resume_at(struct tailer *t, const struct tail_file *files, size_t n,
               size_t at)
{
    struct stat st;
    int fd = tail_start_open(t, &files[at], &st);

    if (fd < 0)
        return -1;
    for (size_t k = 0; k < at; k++) {
        uint32_t len = 0, older_fp = 0;
        (void)tail_fp_match_name(t, &files[k], &len, &older_fp);
        tail_ahead_done_add(t, files[k].dev, files[k].ino, len, older_fp);
    }
    uint64_t fpos = t->want.file_pos;
    uint64_t base = t->want.logical - fpos;
    if ((uint64_t)st.st_size < fpos) {
        log_warn("tail", "saved position past end, file truncated "
                 "container=%.12s", t->id);
        base = t->want.logical;
        fpos = 0;
        t->ctr->truncations++;
    }
    tail_use(t, fd, &st, base, fpos);
    t->last_offset = t->want.logical;   /* the next record begins here */
    tail_ahead_update(t, files, n);
    t->is_started = 1;
    return 0;
}

/*
 * A container found without a saved position whose rotation set is full
 * (max-file - 1 rotated files; max-file from hostconfig.json): once the
 * set is full Docker deletes the oldest file at each rotation, so lines
 * may have gone before the shipper saw the container: a possible loss of
 * unknown size. A set not full has lost nothing (Docker deletes only to
 * stay within max-file). max-file unknown, or 1 (truncation in place):
 * not counted, nothing tells (shipper/README.md "Found late"); unknown is
 * logged, a hostconfig.json that is a symlink or no regular file counted
 * in files_refused.
 */
static void
tail_found_full_check(struct tailer *t, const struct tail_file *files,
                      size_t n)
{
    size_t n_rotated = 0;
    int max_file;

    for (size_t i = 0; i < n; i++)
        n_rotated += files[i].n != 0;
    if (n_rotated == 0)
        return;
    int rc = hostconfig_max_file_read(t->dfd, &max_file);
    if (rc < 0) {
        t->ctr->files_refused += rc == HOSTCONFIG_REFUSED;
        log_warn("tail", "hostconfig.json %s: max-file unknown, a possible "
                 "loss is not counted container=%.12s",
                 rc == HOSTCONFIG_REFUSED ? "not a regular file, refused" :
                 "unreadable or without json-file's max-file", t->id);
        return;
    }
    if (max_file < 2 || n_rotated < (size_t)max_file - 1)
        return;
    log_warn("tail", "found with a full rotation set, files may have been "
             "deleted unseen: possible loss of unknown size container=%.12s "
             "max_file=%d", t->id, max_file);
    tail_loss_add(t, 0, 1, 0, 1);
}

/* Starts at the oldest file listed: at logical 0, or after a saved file
 * that is gone at the saved logical offset (what it held after the saved
 * point, and any file between, is a loss of unknown size). */
static int
tail_start_oldest(struct tailer *t, const struct tail_file *files, size_t n)
{
    struct stat st;

    if (n == 0)
        return -1;
    int fd = tail_start_open(t, &files[0], &st);
    if (fd < 0)
        return -1;
    uint64_t base = 0;
    if (t->has_want) {
        log_warn("tail", "saved file gone, possible gap container=%.12s "
                 "logical=%" PRIu64, t->id, t->want.logical);
        t->ctr->gaps++;
        tail_loss_add(t, 0, 1, 0, 1);   /* what it held: unknowable */
        base = t->want.logical;
    } else {
        tail_found_full_check(t, files, n);
    }
    tail_use(t, fd, &st, base, 0);
    tail_ahead_update(t, files, n);
    t->last_offset = base;
    t->is_started = 1;
    return 0;
}

int
tail_start(struct tailer *t, const struct tail_pos *resume)
{
    struct tail_file files[TAIL_MAX_FILES];
    size_t n = 0;

    if (resume != NULL) {
        t->want = *resume;
        t->has_want = 1;
    }
    if (!t->has_want) {
        if (tail_fresh_listing(t, files, &n) < 0)
            return -1;
        return tail_start_oldest(t, files, n);
    }
    ssize_t at;
    switch (tail_saved_locate(t, files, &n, &at)) {
    case TAIL_SAVED_FOUND:
        return tail_resume_at(t, files, n, (size_t)at);
    case TAIL_SAVED_UNSURE:
        return -1;
    case TAIL_SAVED_GONE:
        break;
    }
    return tail_start_oldest(t, files, n);
}
