/* SPDX-License-Identifier: MIT */
/*
 * tail: see tail.h. The tailer's life and its step: new/free, reading a
 * chunk, end of file (truncation, rotation: on to the next file noted
 * ahead), flush at the container's end, multi-line expiry, resume points.
 * One read buffer of chunk + line_max bytes per container (the pending
 * start of an unfinished line is moved to its front), one scratch buf for
 * dockerline_parse and one join buf per stream: nothing is allocated per
 * line. Rotation is detected at end of file by comparing the live path's
 * inode with the open fd's; the next file is the first one noted ahead
 * (tail_ahead.c), so two rotations between polls skip nothing. The other
 * parts, each in its own file behind tail_internal.h: tail_fp.c (file
 * identity), tail_dir.c (listing the rotation set), tail_read.c (lines to
 * records), tail_ahead.c (files noted ahead, files read), tail_loss.c
 * (lost data), tail_start.c (restart at a saved position), tail_wb.c
 * (writeback of what was read). The caller
 * (docker.c) owns scheduling and the emit callback (sender.c).
 */
#include "shipper/tail.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "shipper/multiline.h"
#include "shipper/tail_internal.h"

void
tail_pos_at(const struct tailer *t, uint64_t fpos, struct tail_pos *out)
{
    out->dev = t->dev;
    out->ino = t->ino;
    out->file_pos = fpos;
    out->logical = t->base + fpos;
    out->fp_len = t->fp_len;
    out->fp = t->fp;
}

/* Makes fd (at file offset fpos, logical offset of byte 0 = base) the
 * current file. */
void
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
    tail_wb_use(t, fpos);
    tail_fp_update(t);
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
    size_t n = tail_ahead_look(t, files, TAIL_MAX_FILES);

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
    ssize_t j = tail_ahead_find(k, files, n);
    if (fd >= 0 && fstat(fd, &st) < 0)
        fd = -1;
    if (fd < 0 && (j < 0 || (fd = tail_dir_open(t, &files[j], &st)) < 0)) {
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
    tail_ahead_shift(t);
    tail_wb_rest(t);
    tail_read_flush_pending(t, emit, arg);
    tail_ahead_done_add(t, t->dev, t->ino, t->fp_len, t->fp);
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
        tail_read_flush_pending(t, emit, arg);
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
        tail_ahead_unpin(t, i);
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
    tail_wb_read(t);
    tail_read_process(t, (size_t)n, emit, arg);
    return TAIL_DATA;
}

void
tail_flush(struct tailer *t, tail_emit_fn emit, void *arg)
{
    if (!t->is_started)
        return;
    tail_read_flush_pending(t, emit, arg);
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
        tail_read_whole_line(t, &j->msg, j->dropped, (uint8_t)(j - t->join),
                             j->flags, j->time_ns, &j->start, j->last_end, emit,
                             arg);
    }
    tail_read_groups_emit(t, INT64_MAX, 0, emit, arg);
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
    tail_read_groups_emit(t, t->cfg.clock_ns() - MULTILINE_GAP_NS + 1, 0, emit,
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
    (void)tail_ahead_look(t, files, TAIL_MAX_FILES);
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
