/* SPDX-License-Identifier: MIT */
/*
 * secret: see secret.h. The file is opened first and checked with fstat,
 * so the mode checked is the mode of the file read (no stat/open race).
 */
#include "common/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"

static int
secret_check_mode(int fd, const char *path, char **errstr)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        *errstr = xasprintf("%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        *errstr = xasprintf("%s: not a regular file", path);
        return -1;
    }
    if ((st.st_mode & 077) != 0) {
        *errstr = xasprintf("%s: mode %04o lets the group or others in; "
                            "a key or token file must be private (chmod 600 %s)",
                            path, (unsigned)(st.st_mode & 07777), path);
        return -1;
    }
    return 0;
}

int
secret_file_read(const char *path, size_t max, char **out, size_t *len,
                 char **errstr)
{
    /* O_NONBLOCK: a FIFO put there fails the S_ISREG check instead of
     * blocking the start until someone writes to it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    char *data = NULL;
    size_t n = 0;

    if (fd < 0) {
        *errstr = xasprintf("%s: %s", path, strerror(errno));
        return -1;
    }
    if (secret_check_mode(fd, path, errstr) < 0)
        goto fail;
    data = xmalloc(max + 1);
    while (n <= max) {
        ssize_t r = read(fd, data + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *errstr = xasprintf("%s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        *errstr = xasprintf("%s: larger than %zu bytes", path, max);
        goto fail;
    }
    close(fd);
    data[n] = '\0';
    *out = data;
    *len = n;
    return 0;
fail:
    close(fd);
    secret_free(data, max + 1);
    return -1;
}

size_t
secret_trim(const char *p, size_t len)
{
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' ||
                       p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    return len;
}

int
secret_token_file_read(const char *path, const char *what, char **out,
                       size_t *len, char **errstr)
{
    char *data, *err = NULL;
    size_t n;

    if (secret_file_read(path, SECRET_MAX_FILE, &data, &n, &err) < 0) {
        *errstr = xasprintf("%s %s", what, err);
        free(err);
        return -1;
    }
    size_t t = secret_trim(data, n);
    if (t < SECRET_MIN_LEN) {
        *errstr = xasprintf("%s %s: token is %zu bytes, at least %d needed",
                            what, path, t, SECRET_MIN_LEN);
        secret_free(data, n);
        return -1;
    }
    memset(data + t, 0, n - t);
    *out = data;
    *len = t;
    return 0;
}

int
secret_is_bearer(const char *p, size_t len)
{
    if (len < SECRET_MIN_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
            return 0;
    return 1;
}

void
secret_free(char *p, size_t len)
{
    if (p == NULL)
        return;
    explicit_bzero(p, len);
    free(p);
}

void
secret_lines_init(struct secret_lines *it, const char *text, size_t len)
{
    it->text = text;
    it->len = len;
    it->pos = 0;
    it->lineno = 0;
}

int
secret_lines_next(struct secret_lines *it, const char **line, size_t *n)
{
    while (it->pos < it->len) {
        const char *l = it->text + it->pos;
        const char *nl = memchr(l, '\n', it->len - it->pos);
        size_t len = nl ? (size_t)(nl - l) : it->len - it->pos;
        it->pos += len + (nl ? 1 : 0);
        it->lineno++;
        len = secret_trim(l, len);
        size_t lead = 0;
        while (lead < len && (l[lead] == ' ' || l[lead] == '\t'))
            lead++;
        if (lead == len || l[lead] == '#')
            continue;
        *line = l;
        *n = len;
        return 1;
    }
    return 0;
}

size_t
secret_fields(const char *line, size_t len, const char **f, size_t *fl,
              size_t max)
{
    size_t n = 0, i = 0;

    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            break;
        if (n == max)
            return max + 1;
        f[n] = line + i;
        while (i < len && line[i] != ' ' && line[i] != '\t')
            i++;
        fl[n] = (size_t)(line + i - f[n]);
        n++;
    }
    return n;
}
