/* SPDX-License-Identifier: MIT */
/*
 * tail: see tail.h. One read buffer of chunk + line_max bytes per container
 * (the pending start of an unfinished line is moved to its front), one
 * scratch buf for dockerline_parse and one join buf per stream: nothing is
 * allocated per line. Rotation is detected at end of file by comparing the
 * live path's inode with the open fd's; the next file is found by inode
 * among the rotated `.N` files (scan of the container directory), so two
 * rotations between polls skip nothing. Talks to dockerline only; the
 * caller (docker.c) owns scheduling and the emit callback (sender.c).
 */
#include "shipper/tail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/compress.h"
#include "common/log.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "common/xmalloc.h"
#include "shipper/dockerline.h"
#include "shipper/multiline.h"

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
    struct tail_loss         loss;
};

struct tail_file {
    unsigned long n;            /* 0 = live file, else the .N suffix */
    uint64_t      dev;
    uint64_t      ino;
    uint64_t      size;
};

/* ---- helpers ---- */

static void
tail_pos_at(const struct tailer *t, uint64_t fpos, struct tail_pos *out)
{
    out->dev = t->dev;
    out->ino = t->ino;
    out->file_pos = fpos;
    out->logical = t->base + fpos;
    out->fp_len = t->fp_len;
    out->fp = t->fp;
}

/* crc32 of fd's first len bytes into *crc; -1 if it has fewer. */
static int
tail_fp_read(int fd, uint32_t len, uint32_t *crc)
{
    uint8_t b[TAIL_FP_LEN];

    if (len > sizeof(b) || pread(fd, b, len, 0) != (ssize_t)len)
        return -1;
    *crc = compress_crc32(0, b, len);
    return 0;
}

/* 1 when fd's first *len bytes still have crc32 *fp (a file only grows,
 * so the same file), then *len and *fp cover the first TAIL_FP_LEN bytes
 * it has now; 0 when they differ (another file on the inode); -1 when it
 * cannot be read. */
static int
tail_fp_match(int fd, uint32_t *len, uint32_t *fp)
{
    uint8_t b[TAIL_FP_LEN];
    ssize_t r = pread(fd, b, sizeof(b), 0);

    if (r < 0)
        return -1;
    if ((size_t)r < *len || compress_crc32(0, b, *len) != *fp)
        return 0;
    *len = (uint32_t)r;
    *fp = compress_crc32(0, b, (size_t)r);
    return 1;
}

/* Extends the fingerprint to the first TAIL_FP_LEN bytes once they have
 * been read (a pread or two per file). */
static void
tail_fp_update(struct tailer *t)
{
    uint64_t want = t->read_pos < TAIL_FP_LEN ? t->read_pos : TAIL_FP_LEN;

    if (want <= t->fp_len)
        return;
    uint32_t crc;
    if (tail_fp_read(t->fd, (uint32_t)want, &crc) == 0) {
        t->fp = crc;
        t->fp_len = (uint32_t)want;
    }
}

/*
 * Emits the text in b (modified: cut to max_record, marker appended) as one
 * record ending at logical offset end.
 */
static void
tail_emit_buf(struct tailer *t, struct buf *b, uint64_t dropped,
              uint8_t stream, uint8_t flags, int64_t time_ns, uint64_t end,
              tail_emit_fn emit, void *arg)
{
    if (b->len > t->cfg.max_record) {
        size_t cut = utf8_cut(b->data, t->cfg.max_record);
        dropped += b->len - cut;
        b->len = cut;
    }
    if (dropped > 0) {
        char mark[TAIL_MARKER_ROOM];
        int n = snprintf(mark, sizeof(mark), " [logq: truncated %" PRIu64
                         " bytes]", dropped);
        if (n > 0 && buf_append(b, mark, (size_t)n) < 0)
            log_debug("tail", "no room for truncation marker");
        flags |= LOGREC_F_TRUNCATED;
        t->ctr->records_truncated++;
    }
    if (end <= t->last_offset)
        end = t->last_offset + 1;
    uint64_t start = t->last_offset;
    t->last_offset = end;

    struct tail_record r = {
        .stream = stream, .flags = flags, .time_ns = time_ns,
        .start = start, .offset = end,
        .msg = (const char *)b->data, .msg_len = b->len,
    };
    tail_resume_get(t, &r.resume);
    if (flags & LOGREC_F_RAW)
        t->ctr->records_raw++;
    t->ctr->records++;
    emit(arg, &r);
}

static void
tail_join_append(struct tailer *t, struct tail_join *j, const uint8_t *p,
                 size_t n)
{
    size_t room = j->msg.len < t->cfg.max_record ?
                  t->cfg.max_record - j->msg.len : 0;

    if (n > 0)
        j->last_byte = p[n - 1];
    if (j->dropped == 0 && n <= room) {
        if (buf_append(&j->msg, p, n) == 0)
            return;
        room = 0;   /* cannot happen: cap is max_record + marker room */
    }
    size_t cut = 0;
    if (j->dropped == 0 && room > 0)
        cut = utf8_cut(p, room);
    if (cut > 0 && buf_append(&j->msg, p, cut) < 0)
        cut = 0;
    j->dropped += n - cut;
}

/* The final piece is "\n" alone: a '\r' that ended the previous piece
 * is the CR of a CRLF that Docker's 16 KiB split cut in two. It is removed
 * as dockerline removes a whole "\r\n"; if the record cap had cut it, it
 * no longer counts as truncated text. */
static void
tail_join_strip_cr(struct tail_join *j)
{
    if (j->last_byte != '\r')
        return;
    if (j->dropped > 0)
        j->dropped--;
    else if (j->msg.len > 0)
        j->msg.len--;
    j->last_byte = 0;
}

/* ---- multi-line records (multiline.h, README.md) ---- */

static void
tail_group_emit(struct tailer *t, struct multiline_group *g,
                tail_emit_fn emit, void *arg)
{
    if (!g->is_active)
        return;
    g->is_active = 0;
    tail_emit_buf(t, &g->msg, g->dropped, (uint8_t)(g - t->group), g->flags,
                  g->time_ns, g->last_end, emit, arg);
}

/* Ends both streams' groups whose last line (Docker time, or tail's clock
 * when it was read) is before before_ns: the one whose last line came first
 * goes first. The next line of the stream is judged afresh (state 0). */
static void
tail_groups_emit(struct tailer *t, int64_t before_ns, int is_docker_time,
                 tail_emit_fn emit, void *arg)
{
    struct multiline_group *a = &t->group[0], *b = &t->group[1];

    if (b->last_end < a->last_end) {
        a = &t->group[1];
        b = &t->group[0];
    }
    struct multiline_group *gs[2] = { a, b };
    for (int i = 0; i < 2; i++) {
        int64_t at = is_docker_time ? gs[i]->last_time_ns : gs[i]->read_ns;
        if (gs[i]->is_active && at < before_ns) {
            tail_group_emit(t, gs[i], emit, arg);
            gs[i]->state = 0;
        }
    }
}

/* A whole line (partials joined) of stream: a record of its own, or a line
 * of the multi-line record being joined. text may be modified. */
static void
tail_whole_line(struct tailer *t, struct buf *text, uint64_t dropped,
                uint8_t stream, uint8_t flags, int64_t time_ns,
                const struct tail_pos *start, uint64_t end,
                tail_emit_fn emit, void *arg)
{
    if (t->rule == NULL) {
        tail_emit_buf(t, text, dropped, stream, flags, time_ns, end, emit,
                      arg);
        return;
    }
    /* A line more than 1 s after a group's last one (either stream) ends
     * it: the split the 1 s timer made is made again on a re-read. */
    t->hold = start;
    if (time_ns > 0)
        tail_groups_emit(t, time_ns - MULTILINE_GAP_NS, 1, emit, arg);
    struct multiline_group *g = &t->group[stream];
    enum multiline_verdict v = multiline_classify(t->rule, &g->state,
                                                  (const char *)text->data,
                                                  text->len);
    if (v != MULTILINE_CONTINUE || g->n_lines >= MULTILINE_MAX_LINES)
        tail_group_emit(t, g, emit, arg);
    t->hold = NULL;
    if (v == MULTILINE_SINGLE) {
        tail_emit_buf(t, text, dropped, stream, flags, time_ns, end, emit,
                      arg);
        return;
    }
    multiline_group_add(g, t->cfg.max_record, text->data, text->len,
                        dropped, flags, time_ns, start, end);
    g->read_ns = t->cfg.clock_ns();
}

/* One complete json-file line [start_fpos, end_fpos) of the current file. */
static void
tail_line(struct tailer *t, const char *line, size_t len, uint64_t end_fpos,
          tail_emit_fn emit, void *arg)
{
    struct dockerline dl;
    uint64_t start_fpos = t->line_fpos;
    uint64_t end = t->base + end_fpos;

    t->ctr->lines++;
    t->line_fpos = end_fpos;
    buf_reset(&t->msg);
    if (dockerline_parse(line, len, &t->msg, &dl) < 0) {
        /* Decoded text cannot pass 3x the line; ship the line raw. */
        buf_reset(&t->msg);
        size_t n = len < t->msg.max ? len : t->msg.max;
        (void)buf_append(&t->msg, line, n);
        dl.stream = LOGREC_STDOUT;
        dl.flags = LOGREC_F_RAW;
        dl.is_partial = 0;
        dl.eol_len = 0;
        dl.time_ns = 0;
    }
    if (dl.flags & LOGREC_F_RAW) {
        tail_emit_buf(t, &t->msg, 0, LOGREC_STDOUT, dl.flags, now_ns(), end,
                      emit, arg);
        return;
    }
    uint8_t stream = dl.stream == LOGREC_STDERR ? LOGREC_STDERR :
                     LOGREC_STDOUT;
    struct tail_join *j = &t->join[stream];
    if (!j->is_active && !dl.is_partial) {
        struct tail_pos start;
        tail_pos_at(t, start_fpos, &start);
        tail_whole_line(t, &t->msg, 0, stream, dl.flags, dl.time_ns, &start,
                        end, emit, arg);
        return;
    }
    if (!j->is_active) {
        j->is_active = 1;
        tail_pos_at(t, start_fpos, &j->start);
        j->time_ns = dl.time_ns;
        j->flags = 0;
        j->dropped = 0;
        j->last_byte = 0;
        buf_reset(&j->msg);
    }
    if (!dl.is_partial && dl.eol_len == 1 && t->msg.len == 0)
        tail_join_strip_cr(j);
    tail_join_append(t, j, t->msg.data, t->msg.len);
    j->flags |= dl.flags;
    j->last_end = end;
    if (dl.is_partial)
        return;
    j->is_active = 0;
    tail_whole_line(t, &j->msg, j->dropped, stream, j->flags, j->time_ns,
                    &j->start, end, emit, arg);
}

/* An over-long line: its first `kept` bytes are at p, `skipped` more were
 * dropped. Shipped raw and truncated; reading goes on after its '\n'. */
static void
tail_long_line(struct tailer *t, const uint8_t *p, size_t kept,
               uint64_t skipped, uint64_t end_fpos, tail_emit_fn emit,
               void *arg)
{
    t->ctr->lines++;
    t->line_fpos = end_fpos;
    buf_reset(&t->msg);
    (void)buf_append(&t->msg, p, kept);
    tail_emit_buf(t, &t->msg, skipped, LOGREC_STDOUT,
                  LOGREC_F_RAW | LOGREC_F_TRUNCATED, now_ns(),
                  t->base + end_fpos, emit, arg);
    t->is_skipping = 0;
    t->skipped = 0;
}

/* Splits rbuf[0..rlen + n) into lines; keeps the unfinished tail. */
static void
tail_process(struct tailer *t, size_t n, tail_emit_fn emit, void *arg)
{
    uint8_t *end = t->rbuf + t->rlen + n;
    uint8_t *p = t->is_skipping ? t->rbuf + t->rlen : t->rbuf;

    for (;;) {
        uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        uint64_t end_fpos = t->read_pos - (uint64_t)(end - nl) + 1;
        size_t len = (size_t)(nl - p);
        if (t->is_skipping) {
            tail_long_line(t, t->rbuf, t->rlen, t->skipped + len, end_fpos,
                           emit, arg);
            t->rlen = 0;
        } else if (len > t->line_max) {
            tail_long_line(t, p, t->line_max, len - t->line_max, end_fpos,
                           emit, arg);
        } else {
            tail_line(t, (const char *)p, len, end_fpos, emit, arg);
        }
        p = nl + 1;
    }
    size_t left = (size_t)(end - p);
    if (t->is_skipping) {
        t->skipped += left;
        return;
    }
    if (left > t->line_max) {
        memmove(t->rbuf, p, t->line_max);
        t->skipped = left - t->line_max;
        t->rlen = t->line_max;
        t->is_skipping = 1;
        return;
    }
    if (p != t->rbuf && left > 0)
        memmove(t->rbuf, p, left);
    t->rlen = left;
}

/* The file ends without '\n' (rotation, truncation, container gone): what
 * is pending is a line ending at read_pos. */
static void
tail_flush_pending(struct tailer *t, tail_emit_fn emit, void *arg)
{
    if (t->is_skipping) {
        tail_long_line(t, t->rbuf, t->rlen, t->skipped, t->read_pos, emit,
                       arg);
        t->rlen = 0;
    } else if (t->rlen > 0) {
        tail_line(t, (const char *)t->rbuf, t->rlen, t->read_pos, emit, arg);
        t->rlen = 0;
    }
}

static int
tail_file_cmp(const void *a, const void *b)
{
    const struct tail_file *x = a, *y = b;

    /* Oldest first: highest .N first, the live file (n = 0) last. */
    if (x->n == y->n)
        return 0;
    if (x->n == 0)
        return 1;
    if (y->n == 0)
        return -1;
    return x->n > y->n ? -1 : 1;
}

/* Parses "<id>-json.log" (0) or "<id>-json.log.<N>" (N); -1 otherwise. */
static int
tail_file_suffix(const struct tailer *t, const char *name, unsigned long *n)
{
    const char *live = t->live_name;
    size_t ll = strlen(live);

    if (strncmp(name, live, ll) != 0)
        return -1;
    if (name[ll] == '\0') {
        *n = 0;
        return 0;
    }
    if (name[ll] != '.' || name[ll + 1] < '1' || name[ll + 1] > '9')
        return -1;
    char *e;
    errno = 0;
    unsigned long v = strtoul(name + ll + 1, &e, 10);
    if (errno != 0 || *e != '\0' || v > 100000)
        return -1;
    *n = v;
    return 0;
}

/*
 * The container directory, opened once without following a symlink: every
 * log file is opened relative to it, so neither a symlinked directory nor
 * a symlinked file name leads outside it. -1 if it cannot be opened.
 */
static int
tail_dir_fd(struct tailer *t)
{
    if (t->dfd >= 0)
        return t->dfd;
    t->dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (t->dfd < 0 && (errno == ELOOP || errno == ENOTDIR) &&
        !t->is_dir_refused) {
        t->is_dir_refused = 1;
        t->ctr->files_refused++;
        log_warn("tail", "container directory is not a directory, refused "
                 "container=%.12s", t->id);
    }
    return t->dfd;
}

/* A log file name that is a symlink, FIFO, directory...: never opened;
 * counted and logged once per file. */
static void
tail_refuse(struct tailer *t, const char *name, const struct stat *st)
{
    for (size_t i = 0; i < t->n_refused; i++)
        if (t->refused_dev[i] == (uint64_t)st->st_dev &&
            t->refused_ino[i] == (uint64_t)st->st_ino)
            return;
    t->refused_dev[t->refused_next] = (uint64_t)st->st_dev;
    t->refused_ino[t->refused_next] = (uint64_t)st->st_ino;
    t->refused_next = (t->refused_next + 1) % TAIL_REFUSED_MAX;
    if (t->n_refused < TAIL_REFUSED_MAX)
        t->n_refused++;
    t->ctr->files_refused++;
    log_warn("tail", "not a regular file, refused container=%.12s file=%s "
             "type=%s", t->id, name, S_ISLNK(st->st_mode) ? "symlink" :
             "other");
}

/* Index of (dev, ino) among files[0..n), or -1. */
static ssize_t
tail_find(const struct tail_file *files, size_t n, uint64_t dev,
          uint64_t ino)
{
    for (size_t i = 0; i < n; i++)
        if (files[i].dev == dev && files[i].ino == ino)
            return (ssize_t)i;
    return -1;
}

/* Lists the live and rotated files (regular files only), oldest first.
 * Returns the count. */
static size_t
tail_scan(struct tailer *t, struct tail_file *files, size_t max)
{
    int dfd = tail_dir_fd(t);
    if (dfd < 0)
        return 0;
    int lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (d == NULL) {
        if (lfd >= 0)
            close(lfd);
        return 0;
    }
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < max) {
        unsigned long suffix;
        struct stat st;
        if (tail_file_suffix(t, de->d_name, &suffix) < 0 ||
            fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (!S_ISREG(st.st_mode)) {
            tail_refuse(t, de->d_name, &st);
            continue;
        }
        files[n].n = suffix;
        files[n].dev = (uint64_t)st.st_dev;
        files[n].ino = (uint64_t)st.st_ino;
        files[n].size = (uint64_t)st.st_size;
        n++;
    }
    closedir(d);
    qsort(files, n, sizeof(files[0]), tail_file_cmp);
    /* readdir may list a file renamed meanwhile under both names: keep
     * the higher suffix (the newer name: renames only raise it). */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (tail_find(files, m, files[i].dev, files[i].ino) < 0)
            files[m++] = files[i];
    }
    return m;
}

/*
 * Opens f relative to the container directory and checks it is still the
 * regular file the scan saw; -1 otherwise (errno set). O_NOFOLLOW: a name
 * replaced by a symlink since the scan is refused (counted); O_NONBLOCK: a
 * FIFO put there cannot block the loop (it fails the S_ISREG check).
 */
static int
tail_file_open(struct tailer *t, const struct tail_file *f, struct stat *st)
{
    char name[NAME_MAX + 1];
    int n = f->n == 0 ?
            snprintf(name, sizeof(name), "%s", t->live_name) :
            snprintf(name, sizeof(name), "%s.%lu", t->live_name, f->n);
    if (n < 0 || (size_t)n >= sizeof(name) || t->dfd < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = openat(t->dfd, name, TAIL_OPEN_FLAGS);
    if (fd < 0) {
        if (errno == ELOOP)
            t->ctr->files_refused++;
        return -1;
    }
    if (fstat(fd, st) < 0 || (uint64_t)st->st_dev != f->dev ||
        (uint64_t)st->st_ino != f->ino || !S_ISREG(st->st_mode)) {
        close(fd);
        errno = ESTALE;     /* another file has the name now */
        return -1;
    }
    return fd;
}

/* tail_fp_match on f opened by name: -1 also when it cannot be opened. */
static int
tail_fp_match_name(struct tailer *t, const struct tail_file *f,
                   uint32_t *len, uint32_t *fp)
{
    struct stat st;
    int fd = tail_file_open(t, f, &st);

    if (fd < 0)
        return -1;
    int r = tail_fp_match(fd, len, fp);
    close(fd);
    return r;
}

/* Makes fd (at file offset fpos, logical offset of byte 0 = base) the
 * current file. */
static void
tail_use(struct tailer *t, int fd, const struct stat *st, uint64_t base,
         uint64_t fpos)
{
    if (t->fd >= 0 && t->fd != fd)
        close(t->fd);
    t->fd = fd;
    t->dev = (uint64_t)st->st_dev;
    t->ino = (uint64_t)st->st_ino;
    t->base = base;
    t->read_pos = fpos;
    t->line_fpos = fpos;
    t->rlen = 0;
    t->is_skipping = 0;
    t->skipped = 0;
    t->fp_len = 0;
    t->fp = 0;
    t->seen_size = fpos;
    t->n_missing = 0;
    tail_fp_update(t);
}

/* ---- rotation ---- */

/* Notes a file as read (or counted lost) with its fingerprint (fp_len 0:
 * empty or unknown, the inode number alone decides). */
static void
tail_done_add(struct tailer *t, uint64_t dev, uint64_t ino, uint32_t fp_len,
              uint32_t fp)
{
    struct tail_done *d = &t->done[t->done_next];

    d->dev = dev;
    d->ino = ino;
    d->fp_len = fp_len;
    d->fp = fp;
    t->done_next = (t->done_next + 1) % TAIL_DONE_MAX;
    if (t->n_done < TAIL_DONE_MAX)
        t->n_done++;
}

static void
tail_done_forget(struct tailer *t, const struct tail_file *f)
{
    for (size_t i = 0; i < t->n_done; i++)
        if (t->done[i].dev == f->dev && t->done[i].ino == f->ino)
            t->done[i].dev = t->done[i].ino = 0;
}

/* f was read (or counted lost): its inode is a done file's and its first
 * bytes are that file's (a file created on the inode of a deleted one,
 * ext4, is forgotten as done: it is new). */
static int
tail_is_done(struct tailer *t, const struct tail_file *f)
{
    for (size_t i = 0; i < t->n_done; i++) {
        struct tail_done *d = &t->done[i];
        if (d->dev != f->dev || d->ino != f->ino)
            continue;
        if (d->fp_len > 0 && tail_fp_match_name(t, f, &d->fp_len,
                                                &d->fp) == 0) {
            log_debug("tail", "a new file on the inode of one read "
                      "container=%.12s ino=%" PRIu64, t->id, f->ino);
            d->dev = d->ino = 0;
            return 0;
        }
        return 1;
    }
    return 0;
}

/* ---- lost data and files noted ahead (tail_watch) ---- */

static void
tail_loss_add(struct tailer *t, uint64_t bytes, int is_bytes_bound,
              uint64_t lines, int is_lines_bound)
{
    t->loss.events++;
    t->loss.bytes += bytes;
    t->loss.lines += lines;
    t->loss.is_bytes_bound |= is_bytes_bound;
    t->loss.is_lines_bound |= is_lines_bound;
}

/*
 * k in the listing, or -1. A file not held open may have been deleted and
 * its inode number given to a new file (ext4): Docker's renames only ever
 * raise a file's suffix (live, .1, .2 ...) and its size never shrinks, so
 * a lower suffix or a smaller size is another file; so are other first
 * bytes (checked at each look: tail_known_update).
 */
static ssize_t
tail_known_find(const struct tail_known *k, const struct tail_file *files,
                size_t n)
{
    if (k->is_replaced)
        return -1;
    ssize_t j = tail_find(files, n, k->dev, k->ino);

    if (j < 0 || k->fd >= 0)
        return j;
    const struct tail_file *f = &files[j];
    if (f->size < k->size || (k->suffix != 0 && (f->n == 0 ||
                                                 f->n < k->suffix)))
        return -1;
    return j;
}

/* f is a noted file: the same one (held open, found in this listing, or
 * passing tail_known_find's checks), not a new file on its inode. */
static int
tail_is_known(struct tailer *t, const struct tail_file *f)
{
    for (size_t i = 0; i < t->n_known; i++) {
        const struct tail_known *k = &t->known[i];
        if (k->dev == f->dev && k->ino == f->ino &&
            (k->n_missing == 0 || tail_known_find(k, f, 1) == 0))
            return 1;
    }
    return 0;
}

/* known[i] no longer held open by us (closed, or its fd handed over). */
static void
tail_known_unpin(struct tailer *t, size_t i)
{
    if (t->known[i].fd < 0)
        return;
    t->n_pinned--;
    t->ctr->files_held--;
    t->known[i].fd = -1;
}

/* Drops known[0]; its fd, if any, now belongs to the caller. */
static void
tail_known_shift(struct tailer *t)
{
    tail_known_unpin(t, 0);
    memmove(&t->known[0], &t->known[1],
            (t->n_known - 1) * sizeof(t->known[0]));
    t->n_known--;
}

/* Notes f as known[pos] (the ones from pos on move up one). */
static void
tail_known_insert(struct tailer *t, size_t pos, const struct tail_file *f,
                  int is_after_gap)
{
    memmove(&t->known[pos + 1], &t->known[pos],
            (t->n_known - pos) * sizeof(t->known[0]));
    t->n_known++;
    struct tail_known *k = &t->known[pos];
    log_debug("tail", "noted container=%.12s ino=%" PRIu64 " suffix=%lu "
              "size=%" PRIu64 " pos=%zu of %zu gap=%d", t->id, f->ino, f->n,
              f->size, pos, t->n_known, is_after_gap);
    size_t cap = t->cfg.max_pinned > 0 ? t->cfg.max_pinned : TAIL_PIN_MAX;

    k->dev = f->dev;
    k->ino = f->ino;
    k->size = f->size;
    k->suffix = f->n;
    k->is_final = f->n != 0;
    k->is_after_gap = is_after_gap;
    k->is_replaced = 0;
    k->fp_len = k->fp = 0;
    k->fd = -1;
    if (t->n_pinned < cap && t->ctr->files_held < TAIL_PIN_TOTAL) {
        struct stat st;
        k->fd = tail_file_open(t, f, &st); /* may fail: opened by name later */
    }
    if (k->fd >= 0) {
        t->n_pinned++;
        t->ctr->files_held++;
        (void)tail_fp_match(k->fd, &k->fp_len, &k->fp);
    } else {
        (void)tail_fp_match_name(t, f, &k->fp_len, &k->fp);
    }
}

/* Forgets known[i], deleted before it was read: counted lost (its size at
 * the last look: exact once it was seen rotated, else a lower bound). */
static void
tail_known_lost(struct tailer *t, size_t i)
{
    struct tail_known *k = &t->known[i];

    log_warn("tail", "file deleted unread container=%.12s bytes=%" PRIu64
             "%s ino=%" PRIu64, t->id, k->size, k->is_final ? "" :
             " (at least)", k->ino);
    tail_loss_add(t, k->size, !k->is_final, 0, 1);
    if (!k->is_replaced)    /* counted: never read after all */
        tail_done_add(t, k->dev, k->ino, k->fp_len, k->fp);
    if (i + 1 == t->n_known)
        t->is_gap_pending = 1;
    memmove(&t->known[i], &t->known[i + 1],
            (t->n_known - i - 1) * sizeof(t->known[0]));
    t->n_known--;
}

/* 1 when files[from..n) are .k, .k-1, ..., .1 and the live file: Docker's
 * order with nothing missing. Mid-rotation, or when readdir missed a file
 * renamed meanwhile, the listing has a hole: files after it must not be
 * noted before the one missing, which would then never be read. */
static int
tail_is_whole(const struct tail_file *files, size_t n, size_t from)
{
    if (from + 1 >= n)
        return 1;
    if (files[n - 1].n != 0)
        return 0;
    for (size_t i = from + 1; i < n; i++)
        if (files[i - 1].n == 0 || files[i].n != files[i - 1].n - 1)
            return 0;
    return 1;
}

/* A new file (not ours, not noted, not read): worth noting. */
static int
tail_is_new(struct tailer *t, const struct tail_file *f)
{
    /* A file we finished was renamed, never made live again: a "done"
     * live file is a new file on a reused inode. */
    return !(f->dev == t->dev && f->ino == t->ino) && !tail_is_known(t, f) &&
           !(f->n != 0 && tail_is_done(t, f));
}

/*
 * readdir is no snapshot: while Docker renames, a look can miss a file
 * and still list the ones around it. A later look lists it between noted
 * files (files[0..a), a the newest noted one): it is noted in its place,
 * so it is read in order. Files before ours were read (or counted) already.
 */
static void
tail_known_fill(struct tailer *t, const struct tail_file *files, size_t a)
{
    ssize_t o = tail_find(files, a, t->dev, t->ino);

    for (size_t i = o < 0 ? 0 : (size_t)o + 1; i < a; i++) {
        if (t->n_known >= TAIL_KNOWN_MAX || !tail_is_new(t, &files[i]))
            continue;
        size_t pos = 0;     /* before the first noted file listed after
                               it (the newest is at a: searched too) */
        while (pos < t->n_known) {
            ssize_t j = tail_known_find(&t->known[pos], files, a + 1);
            if (j > (ssize_t)i)
                break;
            pos++;
        }
        log_debug("tail", "file missed by an earlier look, noted now "
                  "container=%.12s", t->id);
        tail_known_insert(t, pos, &files[i], 0);
    }
}

/*
 * Notes the files of a listing newer than ours. Docker deletes the oldest
 * file first, so while the newest file noted so far (or ours) is still
 * listed, every file after it in the listing follows it directly; once it
 * is gone, files may have come and gone unseen before the first one now
 * listed (a gap of unknown size). A file counts as gone only when two
 * looks in a row missed it: readdir may miss a file renamed meanwhile.
 */
static void
tail_known_update(struct tailer *t, const struct tail_file *files, size_t n)
{
    /* A file read to its end was rotated, never made live again: a live
     * file on its inode is a new file (ext4 reuses a freed inode at once),
     * to be read when it is rotated in turn. */
    for (size_t i = 0; i < n; i++)
        if (files[i].n == 0)
            tail_done_forget(t, &files[i]);
    for (size_t i = 0; i < t->n_known; i++) {
        struct tail_known *k = &t->known[i];
        ssize_t j = tail_known_find(k, files, n);
        if (j >= 0 && k->fd < 0 &&
            tail_fp_match_name(t, &files[j], &k->fp_len, &k->fp) == 0) {
            log_debug("tail", "noted file replaced (its inode reused) "
                      "container=%.12s ino=%" PRIu64, t->id, k->ino);
            k->is_replaced = 1;
            j = -1;
        }
        if (j < 0) {
            k->n_missing++;
            continue;
        }
        k->n_missing = 0;
        k->size = files[j].size;
        k->suffix = files[j].n;
        k->is_final = files[j].n != 0;
    }
    for (size_t i = t->n_known; i-- > 0;)
        if (t->known[i].fd < 0 && t->known[i].n_missing >= 2)
            tail_known_lost(t, i);
    ssize_t a;
    if (t->n_known > 0) {
        const struct tail_known *k = &t->known[t->n_known - 1];
        a = tail_known_find(k, files, n);
        if (a < 0 && k->n_missing < 2)
            return;                     /* look again before deciding */
    } else {
        a = tail_find(files, n, t->dev, t->ino);
        t->n_missing = a < 0 ? t->n_missing + 1 : 0;
        if (a < 0 && t->n_missing < 2)
            return;
    }
    /* A hole that stays (a file removed by hand) is taken as a gap. */
    t->is_holed = !tail_is_whole(files, n, a < 0 ? 0 : (size_t)a);
    t->n_holed = t->is_holed ? t->n_holed + 1 : 0;
    if (t->is_holed && t->n_holed < TAIL_HOLED_MAX)
        return;                         /* look again once it is whole */
    if (a > 0)
        tail_known_fill(t, files, (size_t)a);
    int is_gap = a < 0 || t->is_gap_pending || t->is_holed;
    for (size_t i = a < 0 ? 0 : (size_t)a + 1; i < n; i++) {
        if (t->n_known >= TAIL_KNOWN_MAX)
            break;
        if (!tail_is_new(t, &files[i]))
            continue;
        tail_known_insert(t, t->n_known, &files[i], is_gap);
        is_gap = 0;
        t->is_gap_pending = 0;
    }
}

/* Looks at the directory (twice when the first look missed a noted file:
 * see tail_known_update). Returns the listing's length. */
static size_t
tail_look(struct tailer *t, struct tail_file *files, size_t max)
{
    size_t n = 0;

    for (int pass = 0; pass < 2; pass++) {
        n = tail_scan(t, files, max);
        tail_known_update(t, files, n);
        int is_unsure = (t->n_known == 0 && t->n_missing == 1) ||
                        t->is_holed;
        for (size_t i = 0; i < t->n_known; i++)
            is_unsure |= t->known[i].n_missing == 1;
        if (!is_unsure)
            break;
    }
    return n;
}

/* '\n's in fd's bytes from pos to size, read only to count them; at most
 * *budget bytes (lowered): *is_bound set when the budget ran out. */
static uint64_t
tail_count_lines(struct tailer *t, int fd, uint64_t pos, uint64_t size,
                 uint64_t *budget, int *is_bound)
{
    uint64_t lines = 0;

    if (size - pos > *budget) {
        size = pos + *budget;
        *is_bound = 1;
    }
    *budget -= size - pos;
    while (pos < size) {
        size_t want = t->rcap;
        if (size - pos < want)
            want = (size_t)(size - pos);
        ssize_t r = pread(fd, t->rbuf, want, (off_t)pos);
        if (r <= 0)
            break;
        for (const uint8_t *p = t->rbuf, *e = t->rbuf + r;
             (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
            lines++;
        pos += (uint64_t)r;
    }
    return lines;
}

/* Our file is no longer the live one and is read to its end: moves to the
 * next newer file (a noted one: held open, or opened by name while still
 * listed; one deleted unread is counted lost). TAIL_DATA when it did,
 * TAIL_NOFILE when there is none yet (mid-rotation, or the container is
 * gone). */
static enum tail_status
tail_next_file(struct tailer *t, tail_emit_fn emit, void *arg)
{
    struct tail_file files[TAIL_MAX_FILES];
    size_t n = tail_look(t, files, TAIL_MAX_FILES);

    if (t->n_known == 0)
        return TAIL_NOFILE;
    struct tail_known *k = &t->known[0];
    if (k->is_after_gap) {
        k->is_after_gap = 0;
        log_warn("tail", "files deleted unseen, possible loss of unknown "
                 "size container=%.12s logical=%" PRIu64, t->id,
                 t->base + t->read_pos);
        tail_loss_add(t, 0, 1, 0, 1);
    }
    struct stat st;
    int fd = k->fd;
    ssize_t j = tail_known_find(k, files, n);
    if (fd >= 0 && fstat(fd, &st) < 0)
        fd = -1;
    if (fd < 0 && (j < 0 || (fd = tail_file_open(t, &files[j], &st)) < 0)) {
        /* EACCES, or renamed under us: retried on the next poll (inotify
         * or rescan). Not TAIL_DATA: the caller would poll again at once
         * and spin while the failure lasts. */
        if (!t->is_open_failing)
            log_warn("tail", "cannot open next file container=%.12s: %s",
                     t->id, j < 0 ? "not listed" : strerror(errno));
        t->is_open_failing = 1;
        t->ctr->read_errors++;
        return TAIL_IDLE;
    }
    if (k->fd < 0 && tail_fp_match(fd, &k->fp_len, &k->fp) == 0) {
        /* replaced since the look: counted lost at the next one */
        k->is_replaced = 1;
        close(fd);
        return TAIL_DATA;
    }
    t->is_open_failing = 0;
    int was_pinned = k->fd == fd;
    if (k->fd >= 0 && k->fd != fd)
        close(k->fd);       /* held open but unusable: reopened by name */
    tail_known_shift(t);
    tail_flush_pending(t, emit, arg);
    tail_done_add(t, t->dev, t->ino, t->fp_len, t->fp);
    log_debug("tail", "next file container=%.12s ino=%" PRIu64 " pinned=%d "
              "logical=%" PRIu64, t->id, (uint64_t)st.st_ino,
              was_pinned, t->base + t->read_pos);
    tail_use(t, fd, &st, t->base + t->read_pos, 0);
    t->ctr->rotations++;
    return TAIL_DATA;
}

static enum tail_status
tail_at_eof(struct tailer *t, tail_emit_fn emit, void *arg)
{
    struct stat st;

    if (fstatat(t->dfd, t->live_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (uint64_t)st.st_dev == t->dev &&
        (uint64_t)st.st_ino == t->ino) {
        struct stat fst;
        if (fstat(t->fd, &fst) < 0 || (uint64_t)fst.st_size >= t->read_pos)
            return TAIL_IDLE;
        log_info("tail", "file truncated container=%.12s size=%lld pos=%"
                 PRIu64, t->id, (long long)fst.st_size, t->read_pos);
        if (t->seen_size > t->read_pos) {
            /* copytruncate: seen, not read; more may have come after the
             * last look */
            log_warn("tail", "file truncated before it was read, lost at "
                     "least %" PRIu64 " bytes container=%.12s",
                     t->seen_size - t->read_pos, t->id);
            tail_loss_add(t, t->seen_size - t->read_pos, 1, 0, 1);
        }
        tail_flush_pending(t, emit, arg);
        tail_use(t, t->fd, &fst, t->base + t->read_pos, 0);
        t->ctr->truncations++;
        return TAIL_DATA;
    }
    /* Rotated or deleted: Docker closed it before renaming, but bytes may
     * have landed between our last read and the rename. */
    ssize_t r = pread(t->fd, t->rbuf + t->rlen, 1, (off_t)t->read_pos);
    if (r > 0)
        return TAIL_DATA;   /* the next tail_step reads it */
    return tail_next_file(t, emit, arg);
}

/* ---- restart at a saved position ---- */

enum tail_saved {
    TAIL_SAVED_FOUND,       /* files[at] is the saved file */
    TAIL_SAVED_GONE,        /* deleted: every file listed is newer */
    TAIL_SAVED_UNSURE,      /* not listed, but the listings prove nothing:
                               look again at the next step */
};

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
    int fd = tail_file_open(t, f, &st);
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
    int fd = tail_file_open(t, f, &st);
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
    ssize_t i = tail_find(files, n, t->want.dev, t->want.ino);

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

/* 1 when two listings name the same files (suffix, dev, ino; sizes grow
 * anyway). */
static int
tail_listing_same(const struct tail_file *a, size_t na,
                  const struct tail_file *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].n != b[i].n || a[i].dev != b[i].dev || a[i].ino != b[i].ino)
            return 0;
    return 1;
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
        *n = tail_scan(t, files, TAIL_MAX_FILES);
        *at = tail_saved_find(t, files, *n);
        if (*at >= 0)
            return TAIL_SAVED_FOUND;
        if (*at == -2)
            return TAIL_SAVED_UNSURE;       /* tail_step retries */
        if (pass > 0 && tail_listing_same(prev, n_prev, files, *n)) {
            if ((*n > 0 && files[*n - 1].n == 0 &&
                 tail_is_whole(files, *n, 0)) ||
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

/* Resumes at the saved position in files[at]: the files before it were
 * read before the stop. */
static int
tail_resume_at(struct tailer *t, const struct tail_file *files, size_t n,
               size_t at)
{
    struct stat st;
    int fd = tail_file_open(t, &files[at], &st);

    if (fd < 0)
        return -1;
    for (size_t k = 0; k < at; k++) {
        uint32_t len = 0, older_fp = 0;
        (void)tail_fp_match_name(t, &files[k], &len, &older_fp);
        tail_done_add(t, files[k].dev, files[k].ino, len, older_fp);
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
    tail_known_update(t, files, n);
    t->is_started = 1;
    return 0;
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
    int fd = tail_file_open(t, &files[0], &st);
    if (fd < 0)
        return -1;
    uint64_t base = 0;
    if (t->has_want) {
        log_warn("tail", "saved file gone, possible gap container=%.12s "
                 "logical=%" PRIu64, t->id, t->want.logical);
        t->ctr->gaps++;
        tail_loss_add(t, 0, 1, 0, 1);   /* what it held: unknowable */
        base = t->want.logical;
    }
    tail_use(t, fd, &st, base, 0);
    tail_known_update(t, files, n);
    t->last_offset = base;
    t->is_started = 1;
    return 0;
}

/* ---- public API ---- */

struct tailer *
tail_new(const char *dir, const char *id, const struct tail_config *cfg,
         struct shipper_counters *ctr)
{
    struct tailer *t = xcalloc(1, sizeof(*t));

    t->dir = xstrdup(dir);
    t->id = xstrdup(id);
    t->live_name = xasprintf("%s-json.log", id);
    t->dfd = -1;
    t->cfg = *cfg;
    t->ctr = ctr;
    t->fd = -1;
    t->line_max = cfg->max_record + TAIL_LINE_SLACK;
    t->rcap = t->line_max + cfg->chunk;
    t->rbuf = xmalloc(t->rcap);
    /* Invalid UTF-8 becomes U+FFFD: decoded text is at most 3x the line. */
    buf_init(&t->msg, 3 * t->line_max + TAIL_MARKER_ROOM);
    for (int i = 0; i < 2; i++) {
        buf_init(&t->join[i].msg, cfg->max_record + TAIL_MARKER_ROOM);
        multiline_group_init(&t->group[i], cfg->max_record);
    }
    if (t->cfg.clock_ns == NULL)
        t->cfg.clock_ns = mono_ns;
    return t;
}

void
tail_free(struct tailer *t)
{
    if (t == NULL)
        return;
    if (t->fd >= 0)
        close(t->fd);
    for (size_t i = 0; i < t->n_known; i++) {
        int fd = t->known[i].fd;
        tail_known_unpin(t, i);
        if (fd >= 0)
            close(fd);
    }
    for (int i = 0; i < 2; i++) {
        buf_fini(&t->join[i].msg);
        multiline_group_fini(&t->group[i]);
    }
    buf_fini(&t->msg);
    free(t->rbuf);
    if (t->dfd >= 0)
        close(t->dfd);
    free(t->live_name);
    free(t->id);
    free(t->dir);
    free(t);
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
        n = tail_scan(t, files, TAIL_MAX_FILES);
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

enum tail_status
tail_step(struct tailer *t, tail_emit_fn emit, void *arg)
{
    if (!t->is_started && tail_start(t, NULL) < 0)
        return TAIL_NOFILE;
    size_t room = t->rcap - t->rlen;
    if (room > t->cfg.chunk)
        room = t->cfg.chunk;
    ssize_t n = pread(t->fd, t->rbuf + t->rlen, room, (off_t)t->read_pos);
    if (n < 0) {
        if (errno == EINTR)
            return TAIL_DATA;
        log_warn("tail", "read failed container=%.12s: %s", t->id,
                 strerror(errno));
        t->ctr->read_errors++;
        return TAIL_IDLE;
    }
    if (n == 0)
        return tail_at_eof(t, emit, arg);
    t->read_pos += (uint64_t)n;
    if (t->read_pos > t->seen_size)
        t->seen_size = t->read_pos;
    t->ctr->bytes += (uint64_t)n;
    if (t->fp_len < TAIL_FP_LEN)
        tail_fp_update(t);
    tail_process(t, (size_t)n, emit, arg);
    return TAIL_DATA;
}

void
tail_flush(struct tailer *t, tail_emit_fn emit, void *arg)
{
    if (!t->is_started)
        return;
    tail_flush_pending(t, emit, arg);
    /* Unfinished messages: the container will write no final piece. The
     * one whose last piece came first goes first. */
    struct tail_join *a = &t->join[0], *b = &t->join[1];
    if (a->is_active && b->is_active && b->last_end < a->last_end) {
        a = &t->join[1];
        b = &t->join[0];
    }
    struct tail_join *js[2] = { a, b };
    for (int i = 0; i < 2; i++) {
        struct tail_join *j = js[i];
        if (!j->is_active)
            continue;
        j->is_active = 0;
        tail_whole_line(t, &j->msg, j->dropped, (uint8_t)(j - t->join),
                        j->flags, j->time_ns, &j->start, j->last_end, emit,
                        arg);
    }
    tail_groups_emit(t, INT64_MAX, 0, emit, arg);
}

void
tail_multiline_set(struct tailer *t, const struct multiline_rule *rule)
{
    t->rule = rule;
}

int
tail_is_joining(const struct tailer *t)
{
    return t->group[0].is_active || t->group[1].is_active;
}

int
tail_expire(struct tailer *t, tail_emit_fn emit, void *arg)
{
    if (!tail_is_joining(t))
        return 0;
    tail_groups_emit(t, t->cfg.clock_ns() - MULTILINE_GAP_NS + 1, 0, emit,
                     arg);
    return tail_is_joining(t);
}

void
tail_watch(struct tailer *t)
{
    struct tail_file files[TAIL_MAX_FILES];
    struct stat st;

    if (!t->is_started || t->fd < 0)
        return;
    if (fstat(t->fd, &st) == 0 && (uint64_t)st.st_size > t->seen_size)
        t->seen_size = (uint64_t)st.st_size;
    (void)tail_look(t, files, TAIL_MAX_FILES);
}

void
tail_abandon(struct tailer *t)
{
    struct stat st;

    if (!t->is_started || t->fd < 0)
        return;
    tail_watch(t);
    uint64_t bytes = 0, lines = 0, budget = TAIL_COUNT_MAX;
    int is_bytes_bound = 0, is_lines_bound = 0;
    if (fstat(t->fd, &st) == 0 && (uint64_t)st.st_size > t->line_fpos) {
        bytes = (uint64_t)st.st_size - t->line_fpos;
        lines = tail_count_lines(t, t->fd, t->line_fpos, (uint64_t)st.st_size,
                                 &budget, &is_lines_bound);
    }
    for (size_t i = 0; i < t->n_known; i++) {
        struct tail_known *k = &t->known[i];
        if (k->fd >= 0 && fstat(k->fd, &st) == 0) {
            bytes += (uint64_t)st.st_size;
            lines += tail_count_lines(t, k->fd, 0, (uint64_t)st.st_size,
                                      &budget, &is_lines_bound);
            continue;
        }
        bytes += k->size;
        is_bytes_bound |= !k->is_final;
        is_lines_bound = 1;
    }
    t->rlen = 0;
    if (bytes > 0 || is_bytes_bound) {
        log_warn("tail", "closed unread, lost %s%" PRIu64 " bytes, %s%"
                 PRIu64 " lines container=%.12s", is_bytes_bound ?
                 "at least " : "", bytes, is_lines_bound ? "at least " : "",
                 lines, t->id);
        tail_loss_add(t, bytes, is_bytes_bound, lines, is_lines_bound);
    }
}

void
tail_loss_get(const struct tailer *t, struct tail_loss *out)
{
    *out = t->loss;
}

void
tail_resume_get(const struct tailer *t, struct tail_pos *out)
{
    tail_pos_at(t, t->line_fpos, out);
    for (int i = 0; i < 2; i++) {
        const struct tail_join *j = &t->join[i];
        const struct multiline_group *g = &t->group[i];
        if (j->is_active && j->start.logical < out->logical)
            *out = j->start;
        if (g->is_active && g->start.logical < out->logical)
            *out = g->start;
    }
    if (t->hold != NULL && t->hold->logical < out->logical)
        *out = *t->hold;
}

uint64_t
tail_logical_get(const struct tailer *t)
{
    return t->base + t->read_pos;
}

int
tail_is_open(const struct tailer *t)
{
    return t->fd >= 0;
}
