/* SPDX-License-Identifier: MIT */
/*
 * tail_fp: a file's identity beyond its inode number, which ext4 gives to
 * the next file created once a file is deleted (Docker's rotation deletes
 * and creates in a row): the crc32 of its first TAIL_FP_LEN bytes, taken
 * as they are read and checked at every look and restart (shipper/
 * README.md). Reads files only through pread; opens by name through
 * tail_dir.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "common/compress.h"
#include "shipper/tail_internal.h"

/* crc32 of fd's first len bytes into *crc; -1 if it has fewer. */
int
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
int
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

/* tail_fp_match on f opened by name: -1 also when it cannot be opened. */
int
tail_fp_match_name(struct tailer *t, const struct tail_file *f,
                   uint32_t *len, uint32_t *fp)
{
    struct stat st;
    int fd = tail_dir_open(t, f, &st);

    if (fd < 0)
        return -1;
    int r = tail_fp_match(fd, len, fp);
    close(fd);
    return r;
}

/* Extends the fingerprint to the first TAIL_FP_LEN bytes once they have
 * been read (a pread or two per file). */
void
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
