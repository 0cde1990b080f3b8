/* SPDX-License-Identifier: MIT */
/*
 * segrewrite: an offline prototype of collector/STORE.md "Recompaction of
 * cold segments", steps 1-3 and 5, on a closed store (no readers, no
 * swap in memory): a full segment's file is rewritten with every frame
 * of its codec 6/7 blocks compressed again at another zstd level (each
 * checked by decompressing it against the original raw frame), the
 * frame table's comp_len and crc32 and the header's meta_len, comp_len,
 * body_crc and head_crc rebuilt, and its .lqi given the new block
 * offsets and body CRCs (pages copied byte for byte); both written under
 * temp names, fsynced, the segment's mtime kept, renamed over the old
 * files, the directory fsynced. store-size --recompact uses it to check,
 * on real data, that the store then opens without an index rebuild and
 * answers the same. Not the collector's code: no store runs it.
 */
#include "tests/bench/segrewrite.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/compress.h"
#include "common/xmalloc.h"

#define BLK_HDR  48
#define LQI_HDR  32
#define MAX_RAW  (64u << 20)

/* Old offset -> new offset and body CRC of each block rewritten. */
struct blkmap {
    uint64_t *old_off, *new_off;
    uint32_t *crc;
    size_t    n, cap;
};

static int
read_file(const char *path, struct buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t tmp[1 << 16];
    ssize_t got;

    if (fd < 0)
        return -1;
    while ((got = read(fd, tmp, sizeof(tmp))) > 0)
        if (buf_append(b, tmp, (size_t)got) < 0)
            break;
    close(fd);
    return got < 0 ? -1 : 0;
}

/* Writes p to path (created 0600), fsyncs it, and gives it mtime. */
static int
write_synced(const char *path, const void *p, size_t len,
             const struct timespec *mtime)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const uint8_t *q = p;

    if (fd < 0)
        return -1;
    while (len > 0) {
        ssize_t n = write(fd, q, len);
        if (n < 0) {
            close(fd);
            return -1;
        }
        q += n;
        len -= (size_t)n;
    }
    struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { 0 } };
    if (mtime)
        ts[1] = *mtime;
    if ((mtime && futimens(fd, ts) < 0) || fsync(fd) < 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

/* Skips the labels of a block meta: the frame table follows. */
static int
skip_labels(struct reader *r)
{
    uint64_t n, v;
    uint8_t mask;
    const uint8_t *p;

    if (reader_u8(r, &mask) < 0 || reader_varint(r, &n) < 0)
        return -1;
    for (uint64_t l = 0; l < n; l++) {
        for (int k = 0; k < 4; k++)
            if (reader_varint(r, &v) < 0 || reader_bytes(r, v, &p) < 0)
                return -1;
        for (int k = 0; k < 4; k++)
            if (reader_varint(r, &v) < 0)
                return -1;
    }
    return 0;
}

/* Recompresses one frame z[0..comp) of raw_len bytes into body at
 * level, round trip checked. Its new length and crc32 out. */
static int
refresh_frame(const uint8_t *z, uint64_t comp, uint64_t raw_len, int level,
              struct buf *body, uint64_t *new_len, uint32_t *crc)
{
    struct buf raw, back;
    const char *err;
    size_t at = body->len;
    int rc = -1;

    buf_init(&raw, MAX_RAW);
    buf_init(&back, MAX_RAW);
    if (compress_unzstd(&raw, z, comp, raw_len, &err) < 0 ||
        compress_zstd(body, raw.data, raw.len, level) < 0 ||
        compress_unzstd(&back, body->data + at, body->len - at, raw.len,
                        &err) < 0 ||
        back.len != raw.len || memcmp(back.data, raw.data, raw.len) != 0)
        goto out;
    *new_len = body->len - at;
    *crc = compress_crc32(0, body->data + at, *new_len);
    rc = 0;
out:
    buf_fini(&raw);
    buf_fini(&back);
    return rc;
}

/* Rebuilds the framed block h (header, meta, body) at level into out. */
static int
rewrite_block(const uint8_t *h, int level, struct buf *out)
{
    uint32_t meta_len = le32_load(h + 4), comp_len = le32_load(h + 12);
    const uint8_t *meta = h + BLK_HDR, *z = meta + meta_len;
    struct buf m, body;
    struct reader r;
    uint64_t n_frames, used = 0;
    int rc = -1;

    buf_init(&m, (size_t)1 << 26);
    buf_init(&body, (size_t)1 << 30);
    reader_init(&r, meta, meta_len);
    if (skip_labels(&r) < 0)
        goto out;
    buf_append(&m, meta, meta_len - reader_left(&r));   /* the labels */
    if (reader_varint(&r, &n_frames) < 0)
        goto out;
    buf_put_varint(&m, n_frames);
    for (uint64_t f = 0; f < n_frames; f++) {
        uint64_t nrec, comp, raw, zmin, span, nl;
        uint32_t crc, ncrc;
        if (reader_varint(&r, &nrec) < 0 || reader_varint(&r, &comp) < 0 ||
            reader_varint(&r, &raw) < 0 || reader_u32(&r, &crc) < 0 ||
            reader_varint(&r, &zmin) < 0 || reader_varint(&r, &span) < 0 ||
            comp > comp_len - used ||
            compress_crc32(0, z + used, comp) != crc ||
            refresh_frame(z + used, comp, raw, level, &body, &nl, &ncrc) < 0)
            goto out;
        used += comp;
        uint8_t c4[4];
        le32_store(c4, ncrc);
        buf_put_varint(&m, nrec);
        buf_put_varint(&m, nl);
        buf_put_varint(&m, raw);
        buf_append(&m, c4, 4);
        buf_put_varint(&m, zmin);
        buf_put_varint(&m, span);
    }
    if (used != comp_len)
        goto out;
    /* codec 7's receive-time range, as it was */
    buf_append(&m, meta + (meta_len - reader_left(&r)), reader_left(&r));
    uint8_t hd[BLK_HDR];
    memcpy(hd, h, BLK_HDR);
    le32_store(hd + 4, (uint32_t)m.len);
    le32_store(hd + 12, (uint32_t)body.len);
    le32_store(hd + 40, compress_crc32(0, body.data, body.len));
    le32_store(hd + 44, compress_crc32(compress_crc32(0, hd, 44), m.data,
                                       m.len));
    buf_append(out, hd, BLK_HDR);
    buf_append(out, m.data, m.len);
    buf_append(out, body.data, body.len);
    rc = 0;
out:
    buf_fini(&m);
    buf_fini(&body);
    return rc;
}

static void
blkmap_add(struct blkmap *bm, uint64_t old_off, uint64_t new_off,
           uint32_t crc)
{
    if (bm->n == bm->cap) {
        bm->cap = bm->cap ? bm->cap * 2 : 256;
        bm->old_off = xreallocarray(bm->old_off, bm->cap, 8);
        bm->new_off = xreallocarray(bm->new_off, bm->cap, 8);
        bm->crc = xreallocarray(bm->crc, bm->cap, 4);
    }
    bm->old_off[bm->n] = old_off;
    bm->new_off[bm->n] = new_off;
    bm->crc[bm->n++] = crc;
}

/* The new segment image of seg (16-byte header kept) into out. */
static int
rewrite_segment(const struct buf *seg, int level, struct buf *out,
                struct blkmap *bm)
{
    buf_append(out, seg->data, 16);
    for (size_t p = 16; p < seg->len;) {
        const uint8_t *h = seg->data + p;
        if (seg->len - p < BLK_HDR || le32_load(h) != 0x3142514cu)
            return -1;
        uint32_t codec = le32_load(h + 20);
        size_t len = BLK_HDR + (size_t)le32_load(h + 4) + le32_load(h + 12);
        if (len > seg->len - p)
            return -1;
        size_t at = out->len;
        if (codec == 6 || codec == 7) {
            if (rewrite_block(h, level, out) < 0)
                return -1;
        } else {
            buf_append(out, h, len);
        }
        blkmap_add(bm, p, at, le32_load(out->data + at + 40));
        p += len;
    }
    return 0;
}

/* The .lqi image with its block table mapped through bm, head_crc new. */
static int
rewrite_index(struct buf *lqi, const struct blkmap *bm)
{
    if (lqi->len < LQI_HDR)
        return -1;
    uint8_t *d = lqi->data;
    uint32_t n_blks = le32_load(d + 16), n_pages = le32_load(d + 20);
    size_t tab = (size_t)12 * (n_blks + n_pages);
    if (lqi->len - LQI_HDR < tab)
        return -1;
    for (uint32_t b = 0; b < n_blks; b++) {
        uint8_t *e = d + LQI_HDR + (size_t)12 * b;
        uint64_t off = le64_load(e);
        if (off == UINT64_MAX)
            continue;           /* damaged: stays so */
        size_t k = 0;
        while (k < bm->n && bm->old_off[k] != off)
            k++;
        if (k == bm->n)
            return -1;
        le64_store(e, bm->new_off[k]);
        le32_store(e + 8, bm->crc[k]);
    }
    le32_store(d + 28, compress_crc32(compress_crc32(0, d, 28),
                                      d + LQI_HDR, tab));
    return 0;
}

int
segrewrite(const char *dir, uint64_t seq, int level, uint64_t *old_bytes,
           uint64_t *new_bytes)
{
    char *lqs = xasprintf("%s/seg-%016llx.lqs", dir, (unsigned long long)seq);
    char *lqi = xasprintf("%s/seg-%016llx.lqi", dir, (unsigned long long)seq);
    char *lqs_tmp = xasprintf("%s.tmp", lqs), *lqi_tmp = xasprintf("%s.tmp", lqi);
    struct buf seg, out, idx;
    struct blkmap bm = { 0 };
    struct stat st;
    int rc = -1, dfd = -1;

    buf_init(&out, (size_t)1 << 36);
    buf_init(&seg, (size_t)1 << 36);
    buf_init(&idx, (size_t)1 << 36);
    if (read_file(lqs, &seg) < 0 || stat(lqs, &st) < 0 ||
        read_file(lqi, &idx) < 0 ||
        rewrite_segment(&seg, level, &out, &bm) < 0 ||
        rewrite_index(&idx, &bm) < 0 ||
        write_synced(lqs_tmp, out.data, out.len, &st.st_mtim) < 0 ||
        write_synced(lqi_tmp, idx.data, idx.len, NULL) < 0 ||
        rename(lqs_tmp, lqs) < 0 || rename(lqi_tmp, lqi) < 0 ||
        (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        fsync(dfd) < 0)
        goto out;
    *old_bytes = seg.len;
    *new_bytes = out.len;
    rc = 0;
out:
    if (dfd >= 0)
        close(dfd);
    unlink(lqs_tmp);
    unlink(lqi_tmp);
    buf_fini(&seg);
    buf_fini(&out);
    buf_fini(&idx);
    free(bm.old_off);
    free(bm.new_off);
    free(bm.crc);
    free(lqs);
    free(lqi);
    free(lqs_tmp);
    free(lqi_tmp);
    return rc;
}
