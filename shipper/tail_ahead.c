/* SPDX-License-Identifier: MIT */
/*
 * tail_ahead: the files of a container newer than the one being read,
 * noted at each look at the directory (tail_watch, inotify and rescans)
 * with their sizes and fingerprints, up to max_pinned held open so Docker
 * deleting them loses nothing; and the files already read (a ring), so a
 * file is never read twice. readdir is no snapshot while Docker renames:
 * a file counts as gone after two looks in a row miss it, and files after
 * a hole in the `.N` sequence wait for a whole listing. What is deleted
 * unread is counted through tail_loss.c.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "shipper/tail_internal.h"

/* Notes a file as read (or counted lost) with its fingerprint (fp_len 0:
 * empty or unknown, the inode number alone decides). */
void
tail_ahead_done_add(struct tailer *t, uint64_t dev, uint64_t ino,
                    uint32_t fp_len, uint32_t fp)
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

/*
 * k in the listing, or -1. A file not held open may have been deleted and
 * its inode number given to a new file (ext4): Docker's renames only ever
 * raise a file's suffix (live, .1, .2 ...) and its size never shrinks, so
 * a lower suffix or a smaller size is another file; so are other first
 * bytes (checked at each look: tail_ahead_update).
 */
ssize_t
tail_ahead_find(const struct tail_known *k, const struct tail_file *files,
                size_t n)
{
    if (k->is_replaced)
        return -1;
    ssize_t j = tail_dir_find(files, n, k->dev, k->ino);

    if (j < 0 || k->fd >= 0)
        return j;
    const struct tail_file *f = &files[j];
    if (f->size < k->size || (k->suffix != 0 && (f->n == 0 ||
                                                 f->n < k->suffix)))
        return -1;
    return j;
}

/* f is a noted file: the same one (held open, found in this listing, or
 * passing tail_ahead_find's checks), not a new file on its inode. */
static int
tail_is_known(struct tailer *t, const struct tail_file *f)
{
    for (size_t i = 0; i < t->n_known; i++) {
        const struct tail_known *k = &t->known[i];
        if (k->dev == f->dev && k->ino == f->ino &&
            (k->n_missing == 0 || tail_ahead_find(k, f, 1) == 0))
            return 1;
    }
    return 0;
}

/* known[i] no longer held open by us (closed, or its fd handed over). */
void
tail_ahead_unpin(struct tailer *t, size_t i)
{
    if (t->known[i].fd < 0)
        return;
    t->n_pinned--;
    t->ctr->files_held--;
    t->known[i].fd = -1;
}

/* Drops known[0]; its fd, if any, now belongs to the caller. */
void
tail_ahead_shift(struct tailer *t)
{
    tail_ahead_unpin(t, 0);
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
        k->fd = tail_dir_open(t, f, &st); /* may fail: opened by name later */
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
        tail_ahead_done_add(t, k->dev, k->ino, k->fp_len, k->fp);
    if (i + 1 == t->n_known)
        t->is_gap_pending = 1;
    memmove(&t->known[i], &t->known[i + 1],
            (t->n_known - i - 1) * sizeof(t->known[0]));
    t->n_known--;
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
    ssize_t o = tail_dir_find(files, a, t->dev, t->ino);

    for (size_t i = o < 0 ? 0 : (size_t)o + 1; i < a; i++) {
        if (t->n_known >= TAIL_KNOWN_MAX || !tail_is_new(t, &files[i]))
            continue;
        size_t pos = 0;     /* before the first noted file listed after
                               it (the newest is at a: searched too) */
        while (pos < t->n_known) {
            ssize_t j = tail_ahead_find(&t->known[pos], files, a + 1);
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
void
tail_ahead_update(struct tailer *t, const struct tail_file *files, size_t n)
{
    /* A file read to its end was rotated, never made live again: a live
     * file on its inode is a new file (ext4 reuses a freed inode at once),
     * to be read when it is rotated in turn. */
    for (size_t i = 0; i < n; i++)
        if (files[i].n == 0)
            tail_done_forget(t, &files[i]);
    for (size_t i = 0; i < t->n_known; i++) {
        struct tail_known *k = &t->known[i];
        ssize_t j = tail_ahead_find(k, files, n);
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
        a = tail_ahead_find(k, files, n);
        if (a < 0 && k->n_missing < 2)
            return;                     /* look again before deciding */
    } else {
        a = tail_dir_find(files, n, t->dev, t->ino);
        t->n_missing = a < 0 ? t->n_missing + 1 : 0;
        if (a < 0 && t->n_missing < 2)
            return;
    }
    /* A hole that stays (a file removed by hand) is taken as a gap. */
    t->is_holed = !tail_dir_is_whole(files, n, a < 0 ? 0 : (size_t)a);
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
 * see tail_ahead_update). Returns the listing's length. */
size_t
tail_ahead_look(struct tailer *t, struct tail_file *files, size_t max)
{
    size_t n = 0;

    for (int pass = 0; pass < 2; pass++) {
        n = tail_dir_scan(t, files, max);
        tail_ahead_update(t, files, n);
        int is_unsure = (t->n_known == 0 && t->n_missing == 1) ||
                        t->is_holed;
        for (size_t i = 0; i < t->n_known; i++)
            is_unsure |= t->known[i].n_missing == 1;
        if (!is_unsure)
            break;
    }
    return n;
}
