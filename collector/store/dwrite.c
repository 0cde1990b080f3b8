/* SPDX-License-Identifier: MIT */
/*
 * dwrite: the sealing thread's segment writes, and a .lqi's (segindex.c),
 * past the page cache (STORE.md "Threads", "Crash safety"). A block
 * written to a segment is not read again while the collector ingests
 * (nor a .lqi but its head and a page per lookup), but a buffered write
 * copies it into new page-cache pages, and a first write into a page
 * costs far more than the copy where memory is backed on first touch (a
 * VM: 1.7 s of system CPU for 256 MiB written to a new file, 0.02 s with
 * O_DIRECT, 0.03 s over cached pages; the sealing thread's pwritev was
 * 39% of its CPU, BENCHMARKS.md "Segment writes past the page cache").
 * So a write's whole 4 KiB pages, the one it begins in included, go
 * through a second descriptor of the segment opened O_DIRECT, copied
 * into an aligned buffer of our own (the bytes of that first page before
 * the write: the previous write's last page, kept, or read back), and
 * only its last partial page through the buffered descriptor (the next
 * write rewrites that page directly: the kernel writes the cached copy
 * back and drops it first). Every byte before the file's last page thus
 * reaches the device in file order, before the file's size that covers
 * it is committed: a crash before the fdatasync leaves a prefix of the
 * writes, at worst with its last page missing, never a hole followed by
 * a later block. The bytes in the file, the fdatasync that makes them
 * durable and what a reader (a buffered descriptor of its own) sees are
 * those of buffered writes. Where O_DIRECT is refused (a file system
 * without it: EINVAL at open or at the first write) the writes are
 * buffered, as before. Each struct store_dwrite has one writer thread
 * (the sealing thread's for segments; one per .lqi written). A .lqi's
 * pages are written before its head, from past the file's end: the bytes
 * before them in their first page are read as zeros, and the head's last
 * page, partly written, is read back by the kernel.
 */
#include "collector/store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmalloc.h"

#define DW_ALIGN ((uint64_t)STORE_DWRITE_PAGE)  /* offsets, lengths, memory:
                                                  any logical block */

/* All of p[0..n) at off through fd (buffered). -1 with errno set. */
static int
dw_pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* The O_DIRECT descriptor of segment seq, opened at its first write;
 * 0 if there is none to use (refused: buffered from then on). */
static int
dw_open(const struct store *s, struct store_dwrite *d, uint64_t seq)
{
    if (d->is_off)
        return 0;
    if (d->fd >= 0 && d->seq == seq)
        return 1;
    dwrite_close(d);
    if (!d->buf) {
        d->raw = xmalloc(d->cap + DW_ALIGN);
        d->buf = (uint8_t *)(((uintptr_t)d->raw + DW_ALIGN - 1) &
                             ~(uintptr_t)(DW_ALIGN - 1));
    }
    char *path = d->path(s, seq);
    d->fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
    free(path);
    if (d->fd < 0) {
        d->is_off = 1;          /* EINVAL: no O_DIRECT here; any other */
        return 0;               /* error: the buffered write tells it */
    }
    d->seq = seq;
    return 1;
}

/* The bytes of [lo, off) (part of one page: off - lo < DW_ALIGN) into
 * out: from the last page kept, else read back (zeros past the end). -1
 * with errno set. */
static int
dw_head(struct store_dwrite *d, int fd, uint64_t seq, uint64_t lo,
        uint64_t off, uint8_t *out)
{
    size_t n = (size_t)(off - lo);

    if (d->has_last && d->last_seq == seq && d->last_off == lo &&
        d->last_len >= n) {
        if (out != d->last)
            memcpy(out, d->last, n);
        return 0;
    }
    while (n > 0) {
        ssize_t r = pread(fd, out, n, (off_t)lo);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0) {           /* past the end: read as zeros (a .lqi's */
            memset(out, 0, n);  /* pages are written before its head) */
            return 0;
        }
        out += r;
        lo += (uint64_t)r;
        n -= (size_t)r;
    }
    return 0;
}

/* [lo, hi) (whole pages) through the direct descriptor: the head bytes
 * [lo, off) from dw_head, then p. *done: the bytes of p written. -1 with
 * errno set. */
static int
dw_direct(struct store_dwrite *d, int fd, uint64_t seq, const uint8_t *p,
          uint64_t lo, uint64_t off, uint64_t hi, size_t *done)
{
    size_t head = (size_t)(off - lo);
    uint64_t at = lo;

    *done = 0;
    if (dw_head(d, fd, seq, lo, off, d->buf) < 0)
        return -1;
    while (at < hi) {
        size_t k = hi - at < d->cap ? (size_t)(hi - at) : d->cap;
        size_t h = at == lo ? head : 0;     /* the head: in the first */
        memcpy(d->buf + h, p + *done, k - h);
        ssize_t w = pwrite(d->fd, d->buf, k, (off_t)at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0 || (size_t)w != k) {
            if (w > 0)          /* short (ENOSPC on the way): p's bytes */
                *done += (size_t)w > h ? (size_t)w - h : 0;     /* in */
            else if (w == 0)
                errno = EIO;
            return -1;
        }
        *done += k - h;
        at += k;
    }
    return 0;
}

int
dwrite_at(const struct store *s, struct store_dwrite *d, int fd,
          uint64_t seq, const void *p, size_t n, uint64_t off)
{
    const uint8_t *b = p;
    uint64_t lo = off & ~(DW_ALIGN - 1), end = off + n;
    uint64_t hi = end & ~(DW_ALIGN - 1);
    size_t done = 0;

    if (s->opt.write_hook &&
        s->opt.write_hook(d->what, n, s->opt.write_hook_arg))
        return -1;
    if (hi > lo && dw_open(s, d, seq)) {
        if (dw_direct(d, fd, seq, b, lo, off, hi, &done) == 0)
            d->n_direct++;
        else if (errno == EINVAL && d->n_direct == 0)
            d->is_off = 1;      /* refused at the first write */
        /* else the rest buffered: it is written, or fails, as before */
    }
    /* the rest (the last partial page at least) buffered, and that page
     * [pg, end) kept for the next write's head */
    uint64_t at = off + done, pg = end & ~(DW_ALIGN - 1);
    int is_kept = pg >= off || dw_head(d, fd, seq, pg, off, d->last) == 0;
    d->has_last = 0;
    if (dw_pwrite_all(fd, b + done, (size_t)(end - at), at) < 0)
        return -1;
    if (is_kept) {
        uint64_t from = pg > off ? pg : off;
        memcpy(d->last + (from - pg), b + (from - off), (size_t)(end - from));
        d->has_last = 1;
        d->last_seq = seq;
        d->last_off = pg;
        d->last_len = (size_t)(end - pg);
    }
    return 0;
}

void
dwrite_init(struct store_dwrite *d, const char *what,
            char *(*path)(const struct store *s, uint64_t seq), size_t cap)
{
    memset(d, 0, sizeof(*d));
    d->fd = -1;
    d->what = what;
    d->path = path;
    d->cap = cap;
}

void
dwrite_close(struct store_dwrite *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    d->seq = 0;
    d->has_last = 0;            /* its file may be made again (unroll) */
}

void
dwrite_fini(struct store_dwrite *d)
{
    dwrite_close(d);
    free(d->raw);
    d->raw = d->buf = NULL;
}
