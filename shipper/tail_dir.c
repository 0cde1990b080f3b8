/* SPDX-License-Identifier: MIT */
/*
 * tail_dir: the rotation set of one container: lists `<id>-json.log` and
 * its `.N` files (regular files only, oldest first; a file readdir lists
 * twice mid-rename kept once) and opens them relative to the container
 * directory without following symlinks. Non-regular files are refused,
 * counted in files_refused and logged once each. Decides nothing about
 * what the listing means (tail_ahead.c, tail_start.c do).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "shipper/tail_internal.h"

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
int
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
ssize_t
tail_dir_find(const struct tail_file *files, size_t n, uint64_t dev,
              uint64_t ino)
{
    for (size_t i = 0; i < n; i++)
        if (files[i].dev == dev && files[i].ino == ino)
            return (ssize_t)i;
    return -1;
}

/* Lists the live and rotated files (regular files only), oldest first.
 * Returns the count. */
size_t
tail_dir_scan(struct tailer *t, struct tail_file *files, size_t max)
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
        if (tail_dir_find(files, m, files[i].dev, files[i].ino) < 0)
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
int
tail_dir_open(struct tailer *t, const struct tail_file *f, struct stat *st)
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

/* 1 when files[from..n) are .k, .k-1, ..., .1 and the live file: Docker's
 * order with nothing missing. Mid-rotation, or when readdir missed a file
 * renamed meanwhile, the listing has a hole: files after it must not be
 * noted before the one missing, which would then never be read. */
int
tail_dir_is_whole(const struct tail_file *files, size_t n, size_t from)
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

/* 1 when two listings name the same files (suffix, dev, ino; sizes grow
 * anyway). */
int
tail_dir_same(const struct tail_file *a, size_t na,
              const struct tail_file *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].n != b[i].n || a[i].dev != b[i].dev || a[i].ino != b[i].ino)
            return 0;
    return 1;
}
