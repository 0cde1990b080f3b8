/* SPDX-License-Identifier: MIT */
/*
 * segment: the store's segment files (seg-<seq>.lqs, collector/STORE.md).
 * Scans a segment at open into its in-memory block directory from block
 * headers and meta only (no inflating): the last block of the last segment
 * has its body CRC checked too, and a torn tail there is cut off. Damage
 * elsewhere becomes a corrupt directory entry and the scan resyncs on the
 * next block that fully verifies. Also seals the tail block: compress,
 * append, fsync, then feed the new blocks to the segment's token index
 * (segindex.c, on the sealing thread), whose block numbers are indexes of
 * seg->blks (directory order is on-disk order).
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

static struct store_blk *
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
    int has_recv = pr->h.codec == STORE_CODEC_FRAMES_RECV;
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

/* ------------------------------------------------------------------ */
/* Seal jobs: built and applied on the store's thread                  */

int
store_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Header placeholder + meta of t into ch->blk, its labels into ch. The
 * label ids and counts are set first: a chunk whose meta cannot be encoded
 * still needs them to be quarantined. */
static int
chunk_meta(struct store *s, const struct store_tail *t, struct seal_chunk *ch)
{
    struct buf *b = &ch->blk;
    uint8_t hb[STORE_BLK_HDR_LEN] = { 0 };

    buf_init(b, STORE_MAX_RAW + STORE_MAX_META);
    ch->ids = xcalloc(t->n_labels ? t->n_labels : 1, sizeof(*ch->ids));
    ch->labels = xcalloc(t->n_labels ? t->n_labels : 1, sizeof(*ch->labels));
    ch->max_off = xcalloc(t->n_labels ? t->n_labels : 1,
                          sizeof(*ch->max_off));
    ch->n_records = t->n_records;
    ch->n_labels = t->n_labels;
    ch->min_ns = t->min_ns;
    ch->max_ns = t->max_ns;
    ch->stream_mask = t->stream_mask;
    for (uint32_t i = 0; i < t->n_labels; i++) {
        const struct store_tail_label *tl = &t->labels[i];
        ch->ids[i] = tl->id;
        ch->labels[i].id = tl->id;
        ch->labels[i].n_lines = tl->n_lines;
        ch->labels[i].min_ns = tl->n_lines ? tl->min_ns : t->min_ns;
        ch->labels[i].max_ns = tl->n_lines ? tl->max_ns : t->min_ns;
        ch->max_off[i] = tl->max_off;
    }
    if (buf_append(b, hb, sizeof(hb)) < 0 ||
        buf_put_u8(b, t->stream_mask) < 0 ||
        buf_put_varint(b, t->n_labels) < 0)
        return -1;
    for (uint32_t i = 0; i < t->n_labels; i++) {
        const struct store_label *l = s->labels[ch->ids[i]];
        int64_t mn = ch->labels[i].min_ns, mx = ch->labels[i].max_ns;
        int64_t d = (int64_t)((uint64_t)mn - (uint64_t)t->min_ns);
        if (block_put_str(b, l->host, l->host_len) < 0 ||
            block_put_str(b, l->cid, l->cid_len) < 0 ||
            block_put_str(b, l->name, l->name_len) < 0 ||
            block_put_str(b, l->image, l->image_len) < 0 ||
            buf_put_varint(b, ch->labels[i].n_lines) < 0 ||
            buf_put_varint(b, ch->max_off[i]) < 0 ||
            buf_put_varint(b, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63)) < 0 ||
            buf_put_varint(b, (uint64_t)mx - (uint64_t)mn) < 0)
            return -1;
    }
    ch->meta_len = b->len - STORE_BLK_HDR_LEN;
    if (ch->meta_len > STORE_MAX_META)
        return -1;
    return 0;
}

/* A tail without a body (its body went to a job) takes the buffer of a
 * sealed job's block if one is spare: grown by doubling from nothing, a
 * body was copied by realloc about 13 times per block (1.25% of the
 * collector's instructions while ingesting). */
static void
tail_reserve(struct store *s, struct store_tail *t)
{
    if (t->body.data != NULL || s->n_spare_body == 0)
        return;
    size_t max = t->body.max;
    t->body = s->spare_body[--s->n_spare_body];
    t->body.max = max;
    buf_reset(&t->body);
}

/* A new chunk's token set: a sealed job's if one is spare (calloc'ed
 * and grown to a block's keys, each block again: 1.5% of the collector's
 * instructions in memset), else a new one. Its entries are cleared
 * where the indexer starts on it (indexer_chunk: index_set_reset). */
static void
chunk_set_init(struct store *s, struct index_set *set)
{
    if (s->n_spare_set == 0) {
        index_set_init(set);
        return;
    }
    *set = s->spare_set[--s->n_spare_set];
}

void
segment_job_spare(struct store *s, struct seal_job *job)
{
    for (size_t i = 0; i < job->n_ch; i++) {
        struct seal_chunk *ch = &job->ch[i];
        if (s->n_spare_body < STORE_SPARE_BODIES && ch->body.data != NULL &&
            ch->body.cap <= 2 * s->opt.block_size) {
            s->spare_body[s->n_spare_body++] = ch->body;
            buf_init(&ch->body, 0);
        }
        if (s->n_spare_set < STORE_SPARE_BODIES && ch->set.tab != NULL &&
            ch->set.size <= STORE_SPARE_SET_MAX) {
            s->spare_set[s->n_spare_set++] = ch->set;
            ch->set.tab = NULL;
            ch->set.size = ch->set.n = 0;
        }
    }
}

static void
tail_reset(struct store *s, struct store_tail *t)
{
    buf_reset(&t->body);
    t->committed_len = 0;
    t->committed_n = 0;
    t->n_records = 0;
    t->prev_ns[0] = 0;
    t->prev_ns[1] = 0;
    t->min_ns = INT64_MAX;
    t->max_ns = INT64_MIN;
    t->stream_mask = 0;
    t->n_labels = 0;
    t->meta_bytes = 0;
    t->gen = ++s->gen_next;
}

/* Splits the tail (one commit may add more than a block) into blocks of
 * about block_size by decoding and re-encoding its records. */
static struct store_tail *
tail_split(struct store *s, size_t *n_out)
{
    struct store_tail *t = &s->tail, *ch = NULL;
    struct store_rec *recs = NULL;
    size_t cap = 0, n = 0;

    if (block_body_decode(t->body.data, t->body.len, t->n_records,
                          t->n_labels, 1, &recs, &cap) < 0) {
        free(recs);
        return NULL;            /* cannot happen: we encoded it */
    }
    for (uint32_t i = 0; i < t->n_records; i++) {
        const struct store_rec *r = &recs[i];
        if (n == 0 || store_tail_fill(&ch[n - 1], s->opt.block_size) >=
                      s->opt.block_size) {
            ch = xreallocarray(ch, n + 1, sizeof(*ch));
            store_tail_init(s, &ch[n++], STORE_MAX_RAW);
        }
        struct store_label *l = s->labels[t->labels[r->label].id];
        int rc = store_tail_add(&ch[n - 1], l, r);
        assert(rc == 0);        /* chunk cap STORE_MAX_RAW > tail cap */
        (void)rc;
    }
    free(recs);
    *n_out = n;
    return ch;
}

/* The tail holds records past its committed prefix (appended while a
 * commit was being synced): those are re-encoded into *rest
 * (uncommitted); the prefix keeps its bytes in s->tail, its stats counted
 * again from its records and its label table cut to the labels it uses
 * (a label enters the table at its first record, so the ones first used
 * past the prefix are the table's last). -1 if the tail does not decode
 * (cannot happen: we encoded it). */
static int
tail_carry(struct store *s, struct store_tail *rest)
{
    struct store_tail *t = &s->tail;
    struct store_rec *recs = NULL;
    size_t cap = 0;
    uint32_t n_labels = 0;

    if (block_body_decode(t->body.data, t->body.len, t->n_records,
                          t->n_labels, 1, &recs, &cap) < 0) {
        free(recs);
        return -1;
    }
    store_tail_init(s, rest, t->body.max);
    tail_reserve(s, rest);
    for (uint32_t i = t->committed_n; i < t->n_records; i++) {
        struct store_label *l = s->labels[t->labels[recs[i].label].id];
        int rc = store_tail_add(rest, l, &recs[i]);
        assert(rc == 0);        /* fewer records, same cap */
        (void)rc;
    }
    for (uint32_t i = 0; i < t->committed_n; i++)
        if (recs[i].label + 1 > n_labels)
            n_labels = recs[i].label + 1;
    t->body.len = t->committed_len;
    t->n_records = 0;
    t->min_ns = INT64_MAX;
    t->max_ns = INT64_MIN;
    t->stream_mask = 0;
    t->n_labels = n_labels;
    t->meta_bytes = 0;
    for (uint32_t k = 0; k < n_labels; k++) {
        const struct store_label *l = s->labels[t->labels[k].id];
        t->labels[k] = (struct store_tail_label){
            .id = l->id, .min_ns = INT64_MAX, .max_ns = INT64_MIN,
        };
        t->meta_bytes += l->host_len + l->cid_len + l->name_len +
                         l->image_len + 48;     /* as tail_add_label */
    }
    for (uint32_t i = 0; i < t->committed_n; i++)
        store_tail_note(t, recs[i].label, &recs[i]);
    free(recs);
    return 0;
}

/* Moves body out of t into ch (t's buffer is replaced by an empty one). */
static void
chunk_take_body(struct seal_chunk *ch, struct store_tail *t)
{
    ch->body = t->body;
    buf_init(&t->body, t->body.max);
}

struct seal_job *
segment_job_new(struct store *s)
{
    struct store_tail *ts = &s->tail, rest;
    struct seal_job *job = xcalloc(1, sizeof(*job));
    size_t n = 1;
    int has_rest = s->tail.committed_n < s->tail.n_records;

    if (has_rest && tail_carry(s, &rest) < 0) {
        free(job);
        store_set_err(s, "tail block does not decode");
        return NULL;
    }
    if (store_tail_fill(&s->tail, s->opt.block_size) >
            s->opt.block_size + s->opt.block_size / 2 ||
        s->tail.meta_bytes >= STORE_TAIL_META_FULL) {
        ts = tail_split(s, &n);
        if (!ts) {
            free(job);
            if (has_rest)
                store_tail_fini(&rest);     /* cannot happen, as above */
            store_set_err(s, "tail block does not decode");
            return NULL;
        }
    }
    job->ch = xcalloc(n, sizeof(*job->ch));
    job->n_ch = n;
    for (size_t i = 0; i < n; i++) {
        struct seal_chunk *ch = &job->ch[i];
        chunk_set_init(s, &ch->set);
        if (chunk_meta(s, &ts[i], ch) < 0) {
            ch->is_bad = 1;
            store_set_err(s, "block too large to encode");
        }
        chunk_take_body(ch, &ts[i]);
        job->raw_bytes += ch->body.len;
    }
    if (ts != &s->tail) {
        for (size_t i = 0; i < n; i++)
            store_tail_fini(&ts[i]);
        free(ts);
    }
    tail_reset(s, &s->tail);
    if (has_rest) {
        store_tail_fini(&s->tail);
        s->tail = rest;
    } else {
        tail_reserve(s, &s->tail);
    }
    /* A chunk that cannot be encoded (is_bad) is quarantined when the job
     * is applied (sealer_finish); its records stay visible and durable
     * (WAL) until then. */
    return job;
}

void
segment_job_free(struct seal_job *job)
{
    if (!job)
        return;
    for (size_t i = 0; i < job->n_ch; i++) {
        buf_fini(&job->ch[i].body);
        buf_fini(&job->ch[i].blk);
        index_set_fini(&job->ch[i].set);
        free(job->ch[i].ids);
        free(job->ch[i].labels);
        free(job->ch[i].max_off);
    }
    index_mem_free(job->imem_new);      /* a roll that was never applied */
    free(job->ch);
    free(job);
}

void
segment_job_merge(struct seal_job *dst, struct seal_job *src)
{
    dst->ch = xreallocarray(dst->ch, dst->n_ch + src->n_ch, sizeof(*dst->ch));
    memcpy(dst->ch + dst->n_ch, src->ch, src->n_ch * sizeof(*src->ch));
    dst->n_ch += src->n_ch;
    for (size_t k = 0; k < STORE_WAL_MAX_FILES; k++)
        if (src->wal_mask & (1u << k)) {
            dst->wal_fd[k] = src->wal_fd[k];
            dst->wal_hdr_len[k] = src->wal_hdr_len[k];
        }
    dst->wal_mask |= src->wal_mask;
    dst->raw_bytes += src->raw_bytes;
    free(src->ch);
    free(src);
}

/* A new segment in the directory, with the index imem (taken). */
static struct store_seg *
seg_new_mem(struct store *s, uint64_t seq, struct index_mem *imem)
{
    struct store_seg *g = xcalloc(1, sizeof(*g));

    g->seq = seq;
    g->ifd = -1;
    g->file_size = STORE_SEG_HDR_LEN;
    g->min_ns = INT64_MAX;
    g->max_ns = INT64_MIN;
    g->imem = imem;
    if (s->n_segs == s->cap_segs) {
        s->cap_segs = s->cap_segs ? s->cap_segs * 2 : 16;
        s->segs = xreallocarray(s->segs, s->cap_segs, sizeof(*s->segs));
    }
    s->segs[s->n_segs++] = g;
    return g;
}

void
segment_job_apply(struct store *s, struct seal_job *job)
{
    size_t n_good = 0;

    for (size_t i = 0; i < job->n_ch; i++)
        n_good += !job->ch[i].is_bad;
    if (n_good == 0)
        return;                 /* all quarantined: nothing was written */
    struct store_seg *seg = job->is_roll ?
                            seg_new_mem(s, job->seq, job->imem_new) :
                            store_seg_find(s, job->seq);

    assert(seg != NULL);
    if (job->is_roll)
        job->imem_new = NULL;
    seg->write_ns = store_now(s);
    for (size_t i = 0; i < job->n_ch; i++) {
        struct seal_chunk *ch = &job->ch[i];
        struct store_blk_hdr h;
        if (ch->is_bad)
            continue;
        struct store_blk *b = seg_add_blk(seg);
        block_hdr_decode(ch->blk.data, &h);
        b->off = ch->pos;
        b->meta_len = h.meta_len;
        b->raw_len = h.raw_len;
        b->comp_len = h.comp_len;
        b->n_records = h.n_records;
        b->body_crc = h.body_crc;
        b->min_ns = h.min_ns;
        b->max_ns = h.max_ns;
        b->codec = (uint8_t)h.codec;
        b->stream_mask = ch->stream_mask;
        b->n_labels = ch->n_labels;
        b->labels = ch->labels;
        ch->labels = NULL;
        struct block_recv_range rr = { 0, 0 };
        b->has_recv_range = b->codec == STORE_CODEC_FRAMES_RECV;
        if (store_codec_is_framed(b->codec) &&
            (block_frames_decode(ch->blk.data + STORE_BLK_HDR_LEN +
                                 ch->meta_len,
                                 ch->blk.data + STORE_BLK_HDR_LEN +
                                 h.meta_len, h.min_ns, h.n_records,
                                 h.comp_len, h.raw_len, &b->frames,
                                 &b->n_frames,
                                 b->has_recv_range ? &rr : NULL) < 0)) {
            b->frames = NULL;   /* cannot happen: we encoded it */
            b->n_frames = 0;
            b->is_corrupt = 1;
        }
        b->recv_min = rr.min;
        b->recv_max = rr.max;
        for (uint32_t k = 0; k < ch->n_labels; k++) {
            struct store_source *src = s->labels[ch->ids[k]]->src;
            if (ch->max_off[k] > src->sealed_hw)
                src->sealed_hw = ch->max_off[k];
        }
        seg->raw_bytes += ch->body.len;
        seg->n_records += b->n_records;
        if (b->min_ns < seg->min_ns)
            seg->min_ns = b->min_ns;
        if (b->max_ns > seg->max_ns)
            seg->max_ns = b->max_ns;
        seg->file_size = ch->pos + ch->blk.len;
    }
    /* The sealing thread fed the blocks to seg->imem before the job was
     * done, so a cursor that sees them in the directory finds them in the
     * index too. */
    if (job->is_seg_full)
        segindex_close_full(s, seg, job->is_ix_err);
}

/* ------------------------------------------------------------------ */
/* Seal jobs: run on the sealing thread (no store state but s->opt)    */

static int
seal_compress(const struct store *s, struct store_sealer *w, struct buf *b)
{
    if (s->opt.compress_codec == STORE_COMPRESS_ZLIB)
        return compress_deflate(b, w->cols.data, w->cols.len,
                                s->opt.compress_level);
    return compress_zstd(b, w->cols.data, w->cols.len, s->opt.compress_level);
}

/* Compresses ch's body after its meta, fills in the header (its token
 * set is the indexer's, indexer.c). */
/* The codec sealing writes with s's options. */
static uint32_t
seal_codec(const struct store *s)
{
    int is_zlib = s->opt.compress_codec == STORE_COMPRESS_ZLIB;
    int is_framed = !is_zlib && s->opt.frame_size != STORE_NO_FRAMES;

    return is_zlib ? STORE_CODEC_ZLIB_RECV :
           !is_framed ? STORE_CODEC_ZSTD_RECV :
           s->opt.is_no_recv_range ? STORE_CODEC_ZSTD_FRAMES :
           STORE_CODEC_FRAMES_RECV;
}

static int
chunk_encode(const struct store *s, struct store_sealer *w,
             struct seal_chunk *ch)
{
    struct buf *b = &ch->blk;
    uint32_t codec = seal_codec(s);
    int is_framed = store_codec_is_framed(codec);
    size_t meta_len = ch->meta_len;
    uint32_t raw_len;

    b->len = STORE_BLK_HDR_LEN + ch->meta_len;   /* a retry starts over */
    buf_reset(&w->cols);
    if (block_body_decode(ch->body.data, ch->body.len, ch->n_records,
                          ch->n_labels, 1, &w->recs, &w->cap_recs) < 0)
        return -1;
    if (is_framed) {
        /* the frame table ends the meta, the frames follow it */
        buf_reset(&w->frames);
        if (block_frames_encode(&w->frames, b, &w->cols, w->recs,
                                ch->n_records, ch->n_labels, ch->min_ns,
                                s->opt.frame_size, s->opt.compress_level,
                                &raw_len) < 0 ||
            (codec == STORE_CODEC_FRAMES_RECV &&
             block_recv_encode(b, w->recs, ch->n_records) < 0) ||
            b->len - STORE_BLK_HDR_LEN > STORE_MAX_META ||
            buf_append(b, w->frames.data, w->frames.len) < 0)
            return -1;
        meta_len = b->len - STORE_BLK_HDR_LEN - w->frames.len;
    } else {
        if (block_cols_encode(&w->cols, codec, w->recs, ch->n_records,
                              ch->n_labels) < 0 ||
            seal_compress(s, w, b) < 0)
            return -1;
        raw_len = (uint32_t)w->cols.len;
    }
    seal_chunk_header(ch, codec, meta_len, raw_len);
    return 0;
}

void
seal_chunk_header(struct seal_chunk *ch, uint32_t codec, size_t meta_len,
                  uint32_t raw_len)
{
    struct buf *b = &ch->blk;
    uint8_t *h0 = b->data;
    struct store_blk_hdr h = {
        .magic = STORE_BLK_MAGIC, .meta_len = (uint32_t)meta_len,
        .raw_len = raw_len,
        .comp_len = (uint32_t)(b->len - STORE_BLK_HDR_LEN - meta_len),
        .n_records = ch->n_records, .codec = codec,
        .min_ns = ch->min_ns, .max_ns = ch->max_ns,
    };
    h.body_crc = compress_crc32(0, h0 + STORE_BLK_HDR_LEN + meta_len,
                                h.comp_len);
    block_hdr_encode(h0, &h);
    h.head_crc = compress_crc32(0, h0, 44);
    h.head_crc = compress_crc32(h.head_crc, h0 + STORE_BLK_HDR_LEN,
                                meta_len);
    block_hdr_encode(h0, &h);
}

/* Creates segment seq (header synced, directory synced) as w's file. */
static int
seal_roll(const struct store *s, struct store_sealer *w, uint64_t seq,
          struct seal_job *job)
{
    char *path = store_seg_path(s, seq);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                  STORE_FILE_MODE);
    uint8_t h[STORE_SEG_HDR_LEN];

    le32_store(h, STORE_SEG_MAGIC);
    le32_store(h + 4, STORE_VERSION);
    le64_store(h + 8, seq);
    if (fd < 0 || store_write_at(s, fd, "segment", h,
                                 sizeof(h), 0) < 0 ||
        fdatasync(fd) < 0 || store_fsync_dir(s->dir) < 0) {
        snprintf(job->err, sizeof(job->err), "create %s: %s", path,
                 strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        free(path);
        return -1;
    }
    free(path);
    if (w->wfd >= 0)
        close(w->wfd);
    w->wfd = fd;
    w->wseq = seq;
    w->wpos = STORE_SEG_HDR_LEN;
    return 0;           /* its map: segindex_sealer_roll at the job's start */
}

/* Builds ch's block; the write hook's "block" fault point stands for a
 * block the sealer cannot build (tests). */
static int
chunk_build(const struct store *s, struct store_sealer *w,
            struct seal_chunk *ch)
{
    if (s->opt.write_hook &&
        s->opt.write_hook("block", ch->body.len, s->opt.write_hook_arg))
        return -1;
    return chunk_encode(s, w, ch);
}

/* Builds job's blocks not is_bad; one that cannot be built becomes is_bad
 * (quarantined by sealer_finish). Framed blocks with helper threads: their
 * frames compressed on all of them (sealpool.c), the same bytes. */
static void
seal_job_build(const struct store *s, struct store_sealer *w,
               struct seal_job *job)
{
    uint32_t codec = seal_codec(s);

    if (!store_codec_is_framed(codec) || !w->pool.is_sync) {
        for (size_t i = 0; i < job->n_ch; i++)
            if (!job->ch[i].is_bad && chunk_build(s, w, &job->ch[i]) < 0)
                job->ch[i].is_bad = 1;
        return;
    }
    for (size_t i = 0; i < job->n_ch; i++)
        if (!job->ch[i].is_bad && s->opt.write_hook &&
            s->opt.write_hook("block", job->ch[i].body.len,
                              s->opt.write_hook_arg))
            job->ch[i].is_bad = 1;
    sealpool_build(&w->pool, job, s->opt.frame_size, s->opt.compress_level,
                   codec);
}

/* After a block failed to build: the indexer's add numbered it, so it is
 * rolled back and the blocks built are added again under their numbers,
 * on this thread (the sets are gathered: indexer_wait). Returns whether
 * the map holds an add to keep or roll back. */
static int
seal_job_reindex(struct store_sealer *w, struct seal_job *job)
{
    uint32_t blk = (uint32_t)w->n_wrefs;

    if (!indexer_wait(&w->ix))
        return 0;
    pthread_mutex_lock(&w->ix_mu);
    index_mem_rollback(w->wimem);
    index_mem_mark(w->wimem);
    for (size_t i = 0; i < job->n_ch; i++)
        if (!job->ch[i].is_bad)
            index_mem_add_set(w->wimem, blk++, &job->ch[i].set);
    pthread_mutex_unlock(&w->ix_mu);
    return 1;
}

/* Builds, writes and syncs job's blocks, while the indexer gathers their
 * token sets and adds them to the segment's map (segment_job_run). A
 * failed write rolls that add back (the job is retried whole, maybe
 * with fewer blocks: one may fail to build then), a good one keeps it
 * and adds the blocks to the segment's table (segindex_sealer_add). */
static void
seal_job_write(const struct store *s, struct store_sealer *w,
               struct seal_job *job)
{
    size_t n_good = 0, n_ix = 0;
    int is_added = -1;          /* -1: the indexer's, ask indexer_wait */

    job->rc = -1;
    seal_job_build(s, w, job);
    for (size_t i = 0; i < job->n_ch; i++) {
        n_good += !job->ch[i].is_bad;
        n_ix += job->ch[i].is_ix;
    }
    if (n_good == 0) {
        if (job->imem_new)      /* rolled on a failed try: never applied */
            w->wimem = NULL;
        job->rc = 0;
        goto unindex;
    }
    if (n_ix && n_good != n_ix) /* a block failed to build just now */
        is_added = seal_job_reindex(w, job);
    if (job->is_roll && w->wseq != job->seq &&
        seal_roll(s, w, job->seq, job) < 0)
        goto unindex;
    if (w->wfd < 0 || w->wseq != job->seq) {
        snprintf(job->err, sizeof(job->err), "no segment to write");
        goto unindex;
    }
    uint64_t pos = w->wpos;
    for (size_t i = 0; i < job->n_ch; i++) {
        struct seal_chunk *ch = &job->ch[i];
        if (ch->is_bad)
            continue;
        ch->pos = pos;
        if (store_write_at(s, w->wfd, "segment", ch->blk.data,
                           ch->blk.len, pos) < 0)
            goto fail;
        pos += ch->blk.len;
    }
    /* a job that fills the segment: its .lqi written meanwhile */
    segindex_sealer_early(s, w, job, &is_added);
    int rc = s->opt.write_hook &&
             s->opt.write_hook("segment-sync", 0, s->opt.write_hook_arg) < 0
             ? -1 : fdatasync(w->wfd);
    segindex_sealer_early_wait(w);
    if (rc < 0)
        goto fail;
    w->wpos = pos;
    if (is_added < 0)
        is_added = indexer_wait(&w->ix);
    if (is_added)
        index_mem_keep(w->wimem);   /* only this thread reads the mark */
    segindex_sealer_add(s, w, job);
    job->rc = 0;
    return;
fail:
    snprintf(job->err, sizeof(job->err), "segment write: %s",
             strerror(errno));
    segindex_sealer_unearly(s, w);
    if (ftruncate(w->wfd, (off_t)w->wpos) < 0) {
        /* a partial block past wpos is overwritten next time */
    }
unindex:
    if (is_added < 0)
        is_added = indexer_wait(&w->ix);
    if (is_added && w->wimem) {
        pthread_mutex_lock(&w->ix_mu);
        index_mem_rollback(w->wimem);
        pthread_mutex_unlock(&w->ix_mu);
    }
}

/* Once the job's blocks are synced: truncates its WAL files to their
 * header here rather than on the store's thread (an ftruncate of a file
 * with written pages takes milliseconds). Not when a block is to be
 * quarantined: its records must stay in the WAL until the quarantine
 * file is written (sealer_finish). The files are the job's meanwhile. */
static void
seal_job_cut_wal(struct seal_job *job)
{
    for (size_t i = 0; i < job->n_ch; i++)
        if (job->ch[i].is_bad)
            return;
    for (size_t k = 0; k < STORE_WAL_MAX_FILES; k++)
        if ((job->wal_mask & (1u << k)) &&
            ftruncate(job->wal_fd[k], (off_t)job->wal_hdr_len[k]) == 0)
            job->wal_cut |= 1u << k;
}

void
segment_job_run(const struct store *s, struct store_sealer *w,
                struct seal_job *job)
{
    uint32_t n_ix = 0;

    /* A job that does not roll writes to the segment whose map and table
     * the sealer holds. A rolling job whose every block is quarantined
     * creates no file and leaves the old segment's fd with the empty
     * table of a segment never made; the next job rolls again, as the
     * store's last segment, which made this one roll, is unchanged
     * (segment_job_apply adds none, store_seal_pend). */
    assert(job->is_roll || w->ix_seq == job->seq);
    /* a new segment's map now, so that its blocks are indexed as they
     * are gathered (its file is created once they are built: seal_roll) */
    if (job->is_roll && w->wseq != job->seq && !job->imem_new)
        segindex_sealer_roll(w, job);
    for (size_t i = 0; i < job->n_ch; i++) {
        job->ch[i].is_ix = !job->ch[i].is_bad && w->wimem;
        n_ix += job->ch[i].is_ix;
    }
    indexer_submit(&w->ix, job, n_ix ? w->wimem : NULL,
                   (uint32_t)w->n_wrefs);
    seal_job_write(s, w, job);
    indexer_wait(&w->ix);       /* every way out: the job is not shared */
    if (job->rc == 0)
        seal_job_cut_wal(job);
}
