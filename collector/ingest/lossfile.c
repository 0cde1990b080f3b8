/* SPDX-License-Identifier: MIT */
/*
 * lossfile: see lossfile.h. The text itself is losses.c's
 * (losses_encode/losses_decode); this module only reads and writes it.
 */
#include "collector/ingest/lossfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/ingest/losses.h"
#include "common/buf.h"
#include "common/xmalloc.h"

int
lossfile_load(const char *path, size_t max_rows, struct losses **out,
              char **errstr)
{
    size_t max = losses_encoded_max(max_rows);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;

    if (fd < 0 && errno == ENOENT) {
        *out = losses_new(max_rows);
        return 0;
    }
    if (fd < 0 || fstat(fd, &st) < 0) {
        *errstr = xasprintf("%s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        *errstr = xasprintf("%s: %s", path, S_ISREG(st.st_mode) ?
                            "too large" : "not a regular file");
        goto fail;
    }
    char *data = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    fd = -1;
    char *why = NULL;
    *out = got == (size_t)st.st_size ?
           losses_decode(data, got, max_rows, &why) : NULL;
    free(data);
    if (*out != NULL)
        return 0;
    *errstr = xasprintf("%s: %s", path, why != NULL ? why : "short read");
    free(why);
fail:
    if (fd >= 0)
        close(fd);
    *out = NULL;
    return -1;
}

static _Thread_local uint64_t lf_n_written;

uint64_t
lossfile_n_written_here(void)
{
    return lf_n_written;
}

/* fsync of the directory holding path, so the rename is durable. */
static int
lossfile_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL ? xstrdup(".") :
                slash == path ? xstrdup("/") :
                xasprintf("%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    int e = errno;

    if (fd >= 0)
        close(fd);
    free(dir);
    errno = e;
    return rc;
}

/* Writes all of data to fd; 0, or -1 with errno (0: a short write). */
static int
lossfile_write_all(int fd, const char *data, size_t len)
{
    size_t put = 0;

    while (put < len) {
        ssize_t w = write(fd, data + put, len - put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = 0;
            return -1;
        }
        put += (size_t)w;
    }
    return 0;
}

int
lossfile_write(const char *path, const char *data, size_t len,
               char **errstr)
{
    char *tmp = xasprintf("%s.XXXXXX", path);
    int fd = mkstemp(tmp);      /* O_EXCL, mode 0600 */
    int e = 0;

    lf_n_written++;
    if (fd < 0) {
        *errstr = xasprintf("%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int is_ok = lossfile_write_all(fd, data, len) == 0 && fsync(fd) == 0;
    if (!is_ok)
        e = errno;
    if (close(fd) < 0 && is_ok) {
        is_ok = 0;
        e = errno;
    }
    if (is_ok && rename(tmp, path) < 0) {
        is_ok = 0;
        e = errno;
    }
    if (!is_ok) {
        *errstr = xasprintf("%s: %s", path, e != 0 ? strerror(e) :
                            "short write");
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    if (lossfile_sync_dir(path) < 0) {
        *errstr = xasprintf("%s: directory fsync: %s", path,
                            strerror(errno));
        return -1;
    }
    return 0;
}

int
lossfile_save(const struct losses *l, size_t max_rows, const char *path,
              char **errstr)
{
    struct buf b;
    int rc = -1;

    buf_init(&b, losses_encoded_max(max_rows));
    if (losses_encode(l, &b) < 0)
        *errstr = xasprintf("%s: table too large to encode", path);
    else
        rc = lossfile_write(path, (const char *)b.data, b.len, errstr);
    buf_fini(&b);
    return rc;
}

/* Renames from to to unless to exists (directories too). */
static int
lossfile_rename_new(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* a filesystem without RENAME_NOREPLACE: link refuses an existing to */
    if (link(from, to) < 0)
        return -1;
    return unlink(from);
}

int
lossfile_set_aside(const char *path, char **kept, char **errstr)
{
    for (int i = 0; i <= LOSSFILE_MAX_BAD; i++) {
        char *bad = i == 0 ? xasprintf("%s.bad", path)
                           : xasprintf("%s.bad.%d", path, i);
        if (lossfile_rename_new(path, bad) == 0) {
            *kept = bad;
            return 0;
        }
        int e = errno;
        free(bad);
        if (e != EEXIST && e != ENOTEMPTY) {
            *errstr = xasprintf("%s: %s", path, strerror(e));
            return -1;
        }
    }
    *errstr = xasprintf("%s: not kept: %s.bad and %s.bad.1 to .%d exist",
                        path, path, path, LOSSFILE_MAX_BAD);
    return -1;
}
