/* SPDX-License-Identifier: MIT */
/*
 * hostconfig: see hostconfig.h. jansson for the parse (as docker_meta.c
 * for config.v2.json); the file is read whole, once per container found
 * without a saved position and with rotated files (tail_start.c, which
 * logs a file it cannot use and counts a refused one in files_refused).
 */
#include "shipper/hostconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/xmalloc.h"

/* A decimal in 1..HOSTCONFIG_MAX_FILES, nothing else; -1 otherwise. */
static int
hostconfig_count_parse(const char *s, size_t len)
{
    long v = 0;

    if (len == 0 || len > 7)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= HOSTCONFIG_MAX_FILES ? (int)v : -1;
}

int
hostconfig_max_file_parse(const char *text, size_t len, int *max_file)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = -1;

    json_t *lc = json_object_get(root, "LogConfig");
    json_t *type = json_object_get(lc, "Type");
    if (!json_is_string(type) ||
        strcmp(json_string_value(type), "json-file") != 0)
        goto done;
    json_t *mf = json_object_get(json_object_get(lc, "Config"), "max-file");
    int v = 1;                          /* Docker's default */
    if (mf != NULL) {
        if (!json_is_string(mf))
            goto done;
        v = hostconfig_count_parse(json_string_value(mf),
                                   json_string_length(mf));
        if (v < 0)
            goto done;
    }
    *max_file = v;
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int
hostconfig_max_file_read(int dfd, int *max_file)
{
    int fd = openat(dfd, "hostconfig.json", O_RDONLY | O_CLOEXEC |
                    O_NOFOLLOW | O_NONBLOCK);
    struct stat st;

    if (fd < 0)
        return errno == ELOOP ? HOSTCONFIG_REFUSED : -1;
    int has_stat = fstat(fd, &st) == 0;
    if (!has_stat || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > HOSTCONFIG_MAX_SIZE) {
        close(fd);
        return has_stat && !S_ISREG(st.st_mode) ? HOSTCONFIG_REFUSED : -1;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *text = xmalloc(cap);
    while (len < cap) {
        ssize_t r = read(fd, text + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    int rc = len < cap ? hostconfig_max_file_parse(text, len, max_file) : -1;
    free(text);
    return rc;
}
