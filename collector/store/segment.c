/* SPDX-License-Identifier: MIT */
/*
 * segment: the store's segment files (seg-<seq>.lqs, collector/STORE.md).
 * Scans a segment at open into its in-memory block directory from block
 * headers and meta only (no inflating): the last block of the last segment
 * has its body CRC checked too, and a torn tail there is cut off. Damage
 * elsewhere becomes a corrupt directory entry and the scan resyncs on the
 * next block that fully verifies. Also reads a block's body or frame
 * back. Seal jobs (compress, append, fsync, index) are in segment_seal.c.
 */
#include "collector/store/store_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/store/index.h"
#include "common/compress.h"
#include "common/xmalloc.h"

/* A block header + meta read from a file and checked. */
struct blk_probe {
    struct store_blk_hdr h;
    struct buf           meta;
    uint64_t             total;
};

void
segment_free(struct store_seg *seg)
{
    if (!seg)
        return;
    for (size_t i = 0; i < seg->n_blks; i++) {
        free(seg->blks[i].labels);
        free(seg->blks[i].frames);
    }
    free(seg->blks);
    segindex_free(seg);
    free(seg);
}

int
segment_read_body(int fd, const struct store_blk *b, struct buf *out)
{
    buf_reset(out);
    if (buf_reserve(out, b->comp_len) < 0)
        return -1;
    off_t off = (off_t)(b->off + STORE_BLK_HDR_LEN + b->meta_len);
    if (pread(fd, out->data, b->comp_len, off) != (ssize_t)b->comp_len)
        return -1;
    out->len = b->comp_len;
    return compress_crc32(0, out->data, out->len) == b->body_crc ? 0 : -1;
}

int
segment_unpack(const struct store_blk *b, const struct buf *comp,
               struct buf *raw)
{
    const char *errstr;
    int rc;

    buf_reset(raw);
    if (store_codec_is_framed(b->codec)) {
        /* the frames one after another, each no longer than its table
         * says (the directory's table, checked against the header) */
        rc = b->frames == NULL ? -1 : 0;
        for (uint32_t i = 0; rc == 0 && i < b->n_frames; i++) {
            const struct store_frame *f = &b->frames[i];
            size_t at = raw->len;
            if (f->off + f->comp_len > comp->len)
                return -1;
            rc = compress_unzstd(raw, comp->data + f->off, f->comp_len,
                                 f->raw_len, &errstr);
            if (rc == 0 && raw->len - at != f->raw_len)
                rc = -1;
        }
    } else if (store_codec_is_zstd(b->codec))
        rc = compress_unzstd(raw, comp->data, comp->len, b->raw_len, &errstr);
    else
        rc = compress_inflate(raw, comp->data, comp->len, b->raw_len,
                              &errstr);
    return rc == 0 && raw->len == b->raw_len ? 0 : -1;
}

int
segment_read_frame(int fd, const struct store_blk *b,
                   const struct store_frame *fr, struct buf *comp,
                   struct buf *raw)
{
    const char *errstr;

    buf_reset(comp);
    buf_reset(raw);
    if (buf_reserve(comp, fr->comp_len) < 0)
        return -1;
    off_t off = (off_t)(b->off + STORE_BLK_HDR_LEN + b->meta_len + fr->off);
    if (pread(fd, comp->data, fr->comp_len, off) != (ssize_t)fr->comp_len)
        return -1;
    comp->len = fr->comp_len;
    if (compress_crc32(0, comp->data, comp->len) != fr->crc ||
        compress_unzstd(raw, comp->data, comp->len, fr->raw_len,
                        &errstr) < 0)
        return -1;
    return raw->len == fr->raw_len ? 0 : -1;
}

/* Reads and checks the header and meta at pos (and the body if
 * check_body). 0 if the block is intact; -2 if its header and meta are
 * intact but its codec is past STORE_CODEC_MAX (a newer logq wrote it). */
static int
blk_probe(int fd, uint64_t pos, uint64_t size, int check_body,
          struct blk_probe *pr)
{
    uint8_t hb[STORE_BLK_HDR_LEN];
    struct store_blk_hdr *h = &pr->h;

    if (size - pos < STORE_BLK_HDR_LEN ||
        pread(fd, hb, sizeof(hb), (off_t)pos) != (ssize_t)sizeof(hb))
        return -1;
    block_hdr_decode(hb, h);
    if (h->magic != STORE_BLK_MAGIC || h->codec < STORE_CODEC_ZLIB ||
        h->meta_len > STORE_MAX_META || h->raw_len > STORE_MAX_RAW ||
        h->comp_len > STORE_MAX_RAW + 65536 || h->min_ns > h->max_ns)
        return -1;
    pr->total = STORE_BLK_HDR_LEN + (uint64_t)h->meta_len + h->comp_len;
    if (pr->total > size - pos)
        return -1;
    buf_reset(&pr->meta);
    if (buf_reserve(&pr->meta, h->meta_len) < 0 ||
        pread(fd, pr->meta.data, h->meta_len,
              (off_t)(pos + STORE_BLK_HDR_LEN)) != (ssize_t)h->meta_len)
        return -1;
    pr->meta.len = h->meta_len;
    uint32_t crc = compress_crc32(0, hb, 44);
    crc = compress_crc32(crc, pr->meta.data, pr->meta.len);
    if (crc != h->head_crc)
        return -1;
    if (h->codec > STORE_CODEC_MAX)
        return -2;
    if (!check_body)
        return 0;
    struct store_blk b = { .off = pos, .meta_len = h->meta_len,
                           .comp_len = h->comp_len, .body_crc = h->body_crc };
    struct buf body;
    buf_init(&body, STORE_MAX_RAW + 65536);
    int rc = segment_read_body(fd, &b, &body);
    buf_fini(&body);
    return rc;
}

struct store_blk *
seg_add_blk(struct store_seg *seg)
{
    if (seg->n_blks == seg->cap_blks) {
        seg->cap_blks = seg->cap_blks ? seg->cap_blks * 2 : 64;
        seg->blks = xreallocarray(seg->blks, seg->cap_blks,
                                  sizeof(*seg->blks));
    }
    struct store_blk *b = &seg->blks[seg->n_blks++];
    memset(b, 0, sizeof(*b));
    return b;
}

static void
seg_add_corrupt(struct store *s, struct store_seg *seg, uint64_t pos)
{
    int64_t t = seg->n_blks ? seg->blks[seg->n_blks - 1].max_ns : INT64_MIN;
    struct store_blk *b = seg_add_blk(seg);

    b->off = pos;
    b->min_ns = b->max_ns = t;
    b->is_corrupt = 1;
    s->n_corrupt++;
}

/* 1 if a codec 6 block's frame table agrees with its header. */
static int
seg_frames_ok(const struct store_blk_hdr *h, const struct store_frame *fr,
              uint32_t n)
{
    uint64_t recs = 0, comp = 0, raw = 0;

    for (uint32_t i = 0; i < n; i++) {
        recs += fr[i].n_records;
        comp += fr[i].comp_len;
        raw += fr[i].raw_len;
    }
    return recs == h->n_records && comp == h->comp_len && raw == h->raw_len;
}

/* Adds a probed block to the directory and the source table. */
static int
seg_add_probed(struct store *s, struct store_seg *seg, uint64_t pos,
               const struct blk_probe *pr)
{
    struct store_meta_label *ml;
    struct store_frame *fr = NULL;
    uint32_t n, n_fr = 0;
    uint8_t mask;
    int is_framed = store_codec_is_framed(pr->h.codec);
    int has_recv = store_codec_has_recv_range(pr->h.codec);
    struct block_recv_range rr = { 0, 0 };

    if (block_meta_decode(pr->meta.data, pr->meta.len, pr->h.min_ns, &mask,
                          &ml, &n, is_framed ? &fr : NULL,
                          is_framed ? &n_fr : NULL,
                          has_recv ? &rr : NULL) < 0)
        return -1;
    if (is_framed && !seg_frames_ok(&pr->h, fr, n_fr)) {
        free(ml);
        free(fr);
        return -1;
    }
    struct store_blk *b = seg_add_blk(seg);
    b->frames = fr;
    b->n_frames = n_fr;
    b->off = pos;
    b->meta_len = pr->h.meta_len;
    b->raw_len = pr->h.raw_len;
    b->comp_len = pr->h.comp_len;
    b->n_records = pr->h.n_records;
    b->body_crc = pr->h.body_crc;
    b->min_ns = pr->h.min_ns;
    b->max_ns = pr->h.max_ns;
    b->codec = (uint8_t)pr->h.codec;
    b->has_recv_range = (uint8_t)has_recv;
    b->recv_min = rr.min;
    b->recv_max = rr.max;
    b->stream_mask = mask;
    b->n_labels = n;
    b->labels = xcalloc(n ? n : 1, sizeof(*b->labels));
    for (uint32_t i = 0; i < n; i++) {
        struct store_label *l = store_label_intern(s, ml[i].str, ml[i].len);
        struct store_source *src = l->src;
        b->labels[i].id = l->id;
        b->labels[i].n_lines = (uint32_t)ml[i].n_lines;
        b->labels[i].min_ns = ml[i].min_ns;
        b->labels[i].max_ns = ml[i].max_ns;
        src->latest = l;
        if (ml[i].max_off > src->hw)
            src->hw = ml[i].max_off;
        if (ml[i].max_off > src->sealed_hw)
            src->sealed_hw = ml[i].max_off;
        if (!ml[i].n_lines)
            continue;
        src->n_lines += ml[i].n_lines;
        if (ml[i].min_ns < src->first_ns)
            src->first_ns = ml[i].min_ns;
        if (ml[i].max_ns > src->last_ns)
            src->last_ns = ml[i].max_ns;
    }
    free(ml);
    seg->raw_bytes += b->raw_len;
    seg->n_records += b->n_records;
    if (b->n_records && b->min_ns < seg->min_ns)
        seg->min_ns = b->min_ns;
    if (b->n_records && b->max_ns > seg->max_ns)
        seg->max_ns = b->max_ns;
    return 0;
}

/* Offset of the next fully intact block after pos (or of one a newer
 * logq wrote), or UINT64_MAX. */
static uint64_t
seg_resync(int fd, uint64_t pos, uint64_t size, struct blk_probe *pr)
{
    uint8_t win[65536];
    uint8_t magic[4];

    le32_store(magic, STORE_BLK_MAGIC);
    while (pos + STORE_BLK_HDR_LEN <= size) {
        ssize_t n = pread(fd, win, sizeof(win), (off_t)pos);
        if (n < 4)
            return UINT64_MAX;
        for (ssize_t i = 0; i + 4 <= n; i++) {
            if (memcmp(win + i, magic, 4) != 0)
                continue;
            int rc = blk_probe(fd, pos + (uint64_t)i, size, 1, pr);
            if (rc == 0 || rc == -2)    /* -2: seg_scan_blocks refuses */
                return pos + (uint64_t)i;
        }
        pos += (uint64_t)n - 3;
    }
    return UINT64_MAX;
}

static int
seg_write_header(struct store *s, int fd, uint64_t seq)
{
    uint8_t h[STORE_SEG_HDR_LEN];

    le32_store(h, STORE_SEG_MAGIC);
    le32_store(h + 4, STORE_VERSION);
    le64_store(h + 8, seq);
    if (ftruncate(fd, 0) < 0 ||
        store_write_at(s, fd, "segment", h, sizeof(h), 0) < 0 ||
        fdatasync(fd) < 0) {
        store_set_err(s, "segment header: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* -1 (the store's error set) at a block a newer logq wrote: not damage,
 * and cutting it off as a torn write would lose it. */
static int
seg_scan_blocks(struct store *s, struct store_seg *seg, int fd,
                uint64_t size, int is_last, struct blk_probe *pr)
{
    uint64_t pos = STORE_SEG_HDR_LEN;

    while (pos < size) {
        int rc = blk_probe(fd, pos, size, 0, pr);
        if (rc == -2) {
            store_set_err(s, "segment %016" PRIx64 " block at %" PRIu64
                          ": codec %" PRIu32 " is newer than this "
                          "logq-collector reads (up to %d): the store was "
                          "written by a newer version; not opened",
                          seg->seq, pos, pr->h.codec, STORE_CODEC_MAX);
            return -1;
        }
        int ok = rc == 0;
        if (ok && is_last && pos + pr->total == size)
            ok = blk_probe(fd, pos, size, 1, pr) == 0;
        if (ok && seg_add_probed(s, seg, pos, pr) == 0) {
            pos += pr->total;
            continue;
        }
        uint64_t next = seg_resync(fd, pos + 1, size, pr);
        if (next == UINT64_MAX && is_last) {
            /* Torn write at the end: cut it off. */
            s->n_torn_cuts++;
            if (ftruncate(fd, (off_t)pos) == 0 && fdatasync(fd) == 0)
                size = pos;
            break;
        }
        seg_add_corrupt(s, seg, pos);
        if (next == UINT64_MAX) {
            pos = size;
            break;
        }
        pos = next;
    }
    seg->file_size = size;
    return 0;
}

int
segment_scan(struct store *s, struct store_seg *seg, int is_last)
{
    char *path = store_seg_path(s, seg->seq);
    int fd = open(path, (is_last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    struct stat st;
    struct blk_probe pr;
    uint8_t h[STORE_SEG_HDR_LEN];

    if (fd < 0 || fstat(fd, &st) < 0) {
        store_set_err(s, "open %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(path);
        return -1;
    }
    free(path);
    seg->write_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
                    st.st_mtim.tv_nsec;
    uint64_t size = (uint64_t)st.st_size;
    if (size < STORE_SEG_HDR_LEN) {
        if (!is_last) {
            seg_add_corrupt(s, seg, 0);
            seg->file_size = size;
            close(fd);
            return 0;
        }
        /* Torn segment creation. */
        if (size > 0)
            s->n_torn_cuts++;
        if (seg_write_header(s, fd, seg->seq) < 0) {
            close(fd);
            return -1;
        }
        seg->file_size = STORE_SEG_HDR_LEN;
        s->seg_fd = fd;
        return 0;
    }
    if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
        le32_load(h) != STORE_SEG_MAGIC || le64_load(h + 8) != seg->seq) {
        seg_add_corrupt(s, seg, 0);     /* blocks may still be intact */
    } else if (le32_load(h + 4) > STORE_VERSION) {
        store_set_err(s, "segment %016" PRIx64 ": version %" PRIu32 " is "
                      "newer than this logq-collector reads (up to %d): "
                      "the store was written by a newer version; not "
                      "opened", seg->seq, le32_load(h + 4), STORE_VERSION);
        close(fd);
        return -1;
    }
    buf_init(&pr.meta, STORE_MAX_META);
    int rc = seg_scan_blocks(s, seg, fd, size, is_last, &pr);
    buf_fini(&pr.meta);
    if (rc < 0) {
        close(fd);
        return -1;
    }
    if (is_last)
        s->seg_fd = fd;
    else
        close(fd);
    return 0;
}
