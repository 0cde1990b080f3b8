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

int
lossfile_save(const struct losses *l, size_t max_rows, const char *path,
              char **errstr)
{
    struct buf b;
    char *tmp = xasprintf("%s.XXXXXX", path);
    int fd = -1, rc = -1;

    buf_init(&b, losses_encoded_max(max_rows));
    if (losses_encode(l, &b) < 0) {
        *errstr = xasprintf("%s: table too large to encode", path);
        goto done;
    }
    fd = mkstemp(tmp);      /* O_EXCL, mode 0600 */
    if (fd < 0) {
        *errstr = xasprintf("%s: %s", tmp, strerror(errno));
        goto done;
    }
    size_t put = 0;
    int e = 0;
    while (put < b.len) {
        ssize_t w = write(fd, b.data + put, b.len - put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : 0;
            break;
        }
        put += (size_t)w;
    }
    int is_ok = put == b.len;
    if (is_ok && fsync(fd) < 0) {
        is_ok = 0;
        e = errno;
    }
    if (close(fd) < 0 && is_ok) {
        is_ok = 0;
        e = errno;
    }
    fd = -1;
    if (is_ok && rename(tmp, path) < 0) {
        is_ok = 0;
        e = errno;
    }
    if (!is_ok) {
        *errstr = xasprintf("%s: %s", path, e != 0 ? strerror(e) :
                            "short write");
        unlink(tmp);
        goto done;
    }
    rc = 0;
done:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    buf_fini(&b);
    free(tmp);
    return rc;
}
