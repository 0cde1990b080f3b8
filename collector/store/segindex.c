/* SPDX-License-Identifier: MIT */
/*
 * segindex: keeps each segment's token index (index.c) in step with its
 * blocks. The segment being written has an in-memory map, fed by the
 * indexing thread while the sealing thread writes blocks (under
 * sealer.ix_mu, which cursors take to look it up; indexer.c); when the
 * segment is full (segment_size raw bytes, or the map reaches
 * STORE_IDX_MAX_KEYS keys) the map is written to seg-<seq>.lqi (temp
 * name, fsync, rename: a full segment's by a sealing helper while the
 * sealing thread syncs the segment's blocks, segindex_sealer_early, and
 * renamed by the sealing thread once that sync returned) and the store's
 * thread loads that file and drops the map when it applies the job. At
 * open a sealed segment's .lqi is checked against the block directory
 * (offset and body CRC of every block); a missing, damaged or stale one
 * is rebuilt from the blocks and counted. A page that fails its check at
 * lookup drops (and unlinks) the file, so the segment is scanned until
 * the next open rebuilds it. An index that cannot be written or read
 * leaves its segment unindexed: cursors then scan it, so the index only
 * ever saves work.
 */
#include "collector/store/store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/store/index.h"
#include "common/compress.h"
#include "common/xmalloc.h"

static char *
segindex_path(const struct store *s, uint64_t seq, const char *suffix)
{
    return xasprintf("%s/seg-%016llx.lqi%s", s->dir, (unsigned long long)seq,
                     suffix);
}

/* Closes the .lqi held open for seg's lookups, if any. */
static void
segindex_fd_close(struct store_seg *seg)
{
    if (seg->ifd >= 0)
        close(seg->ifd);
    seg->ifd = -1;
}

void
segindex_free(struct store_seg *seg)
{
    segindex_fd_close(seg);
    index_mem_free(seg->imem);
    index_file_free(seg->ifile);
    free(seg->imap);
    seg->imem = NULL;
    seg->ifile = NULL;
    seg->imap = NULL;
}

void
segindex_add_block(struct store *s, struct store_seg *seg, uint32_t blk,
                   const struct store_blk *b, const uint8_t *body,
                   size_t len)
{
    uint32_t n = b->n_records, frame = 0, end = n;

    if (!seg->imem)
        return;
    if (block_decode(b->codec, body, len, n, b->n_labels, &s->ix_recs,
                     &s->ix_cap) < 0) {
        /* cannot be indexed: the segment stays unindexed */
        index_mem_free(seg->imem);
        seg->imem = NULL;
        s->n_index_errors++;
        return;
    }
    /* codec 6: the records' frames from the block's frame table */
    if (b->frames && b->n_frames > 0)
        end = b->frames[0].n_records;
    for (uint32_t i = 0; i < n; i++) {
        while (i >= end && frame + 1 < b->n_frames)
            end += b->frames[++frame].n_records;
        index_mem_add_text_frame(seg->imem, blk,
                                 index_frame_bit(frame, b->n_frames),
                                 s->ix_recs[i].msg, s->ix_recs[i].msg_len);
    }
}

/* Maps the file's blocks onto seg's directory; -1 if a readable block of
 * the directory is not in the file (stale index). */
static int
segindex_map(struct store_seg *seg, const struct index_file *f)
{
    const struct index_blkref *fb = index_file_blks(f);
    uint32_t nf = index_file_n_blks(f), k = 0;
    uint32_t *map = xcalloc(nf ? nf : 1, sizeof(*map));

    for (uint32_t i = 0; i < nf; i++)
        map[i] = UINT32_MAX;
    for (size_t d = 0; d < seg->n_blks; d++) {
        const struct store_blk *b = &seg->blks[d];
        if (b->is_corrupt)
            continue;
        while (k < nf && fb[k].off < b->off)
            k++;
        if (k == nf || fb[k].off != b->off || fb[k].body_crc != b->body_crc) {
            free(map);
            return -1;
        }
        map[k++] = (uint32_t)d;
    }
    free(seg->imap);
    seg->imap = map;
    return 0;
}

/* Loads seg's .lqi; -1 if absent, damaged or stale. */
int
segindex_load(struct store *s, struct store_seg *seg)
{
    char *path = segindex_path(s, seg->seq, "");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    const char *why;

    free(path);
    if (fd < 0)
        return -1;
    struct index_file *f = index_file_load(fd, seg->seq, &why);
    close(fd);
    if (!f || segindex_map(seg, f) < 0) {
        index_file_free(f);
        return -1;
    }
    segindex_fd_close(seg);     /* none today: a file replaced at run time */
    index_file_free(seg->ifile);
    seg->ifile = f;
    return 0;
}

#define SEGINDEX_CHUNK (256u << 10)     /* pages written at a time */

struct segindex_out {
    const struct store *s;
    int                 fd;
    uint64_t            seq;
    struct store_dwrite dw;             /* past the page cache */
};

static char *
segindex_tmp_path(const struct store *s, uint64_t seq)
{
    return segindex_path(s, seq, ".tmp");
}

static int
segindex_out_write(void *arg, uint64_t off, const void *p, size_t len)
{
    struct segindex_out *o = arg;

    if (off > STORE_MAX_RAW || len > STORE_MAX_RAW - off)
        return -1;                      /* the cap of a whole image */
    return dwrite_at(o->s, &o->dw, o->fd, o->seq, p, len, off);
}

/* Writes m, the index of segment seq whose block table is refs, as its
 * .lqi under its temp name (fsync'd; segindex_publish renames it, on
 * failure it is unlinked): streamed to the file a few pages at a time
 * (index_mem_write), so the writer holds SEGINDEX_CHUNK of it, not the
 * image (~2.5 MiB in a buffer grown to 4 MiB, and as much again for its
 * pages, for a 64 MiB segment of generated logs). Any thread: touches
 * only s->dir, s->opt and its arguments, and reads m. */
static int
segindex_write_tmp(const struct store *s, uint64_t seq,
                   const struct index_mem *m,
                   const struct index_blkref *refs, size_t n_refs)
{
    char *tmp = segindex_path(s, seq, ".tmp");
    int rc = -1;
    struct segindex_out o = { .s = s, .seq = seq };

    /* written past the page cache (dwrite.c), as segments: the file is
     * read back through its page directory and a page per lookup */
    dwrite_init(&o.dw, "index", segindex_tmp_path, SEGINDEX_CHUNK);
    o.dw.is_off = s->opt.is_seal_buffered != 0;
    o.fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                STORE_FILE_MODE);
    if (o.fd < 0 ||
        index_mem_write(m, seq, refs, (uint32_t)n_refs, SEGINDEX_CHUNK,
                        segindex_out_write, &o) < 0 ||
        fsync(o.fd) < 0)
        goto out;
    rc = 0;
out:
    dwrite_fini(&o.dw);
    if (o.fd >= 0)
        close(o.fd);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Renames segment seq's written temp .lqi into place (is_ok), or unlinks
 * it. */
static int
segindex_publish(const struct store *s, uint64_t seq, int is_ok)
{
    char *tmp = segindex_path(s, seq, ".tmp");
    char *path = segindex_path(s, seq, "");
    int rc = is_ok && rename(tmp, path) == 0 ? 0 : -1;

    if (rc < 0)
        unlink(tmp);
    free(tmp);
    free(path);
    return rc;
}

static int
segindex_write(const struct store *s, uint64_t seq,
               const struct index_mem *m, const struct index_blkref *refs,
               size_t n_refs)
{
    if (segindex_write_tmp(s, seq, m, refs, n_refs) < 0)
        return -1;
    return segindex_publish(s, seq, 1);
}

static struct index_blkref
segindex_ref(const struct store_blk *b)
{
    struct index_blkref r = {
        .off = b->is_corrupt ? UINT64_MAX : b->off, .body_crc = b->body_crc,
    };
    return r;
}

/* Writes seg->imem as the segment's .lqi (store's thread, at open). */
static int
segindex_write_seg(struct store *s, struct store_seg *seg)
{
    struct index_blkref *refs = xcalloc(seg->n_blks ? seg->n_blks : 1,
                                        sizeof(*refs));

    for (size_t i = 0; i < seg->n_blks; i++)
        refs[i] = segindex_ref(&seg->blks[i]);
    int rc = segindex_write(s, seg->seq, seg->imem, refs, seg->n_blks);
    free(refs);
    return rc;
}

/* Turns the in-memory map into the sealed file (or drops it). */
static void
segindex_seal(struct store *s, struct store_seg *seg)
{
    seg->is_full = 1;
    if (!seg->imem)
        return;
    if (segindex_write_seg(s, seg) < 0 || segindex_load(s, seg) < 0)
        s->n_index_errors++;
    index_mem_free(seg->imem);
    seg->imem = NULL;
}

/* At open: seals the last segment's index if the segment is full. */
static void
segindex_after_seal(struct store *s, struct store_seg *seg)
{
    if (seg->is_full)
        return;
    if (seg->raw_bytes >= s->opt.segment_size ||
        (seg->imem && index_mem_n_keys(seg->imem) >= STORE_IDX_MAX_KEYS))
        segindex_seal(s, seg);
}

/* ------------------------------------------------------------------ */
/* The segment being written, on the sealing thread                    */

static void
segindex_push_ref(struct store_sealer *w, struct index_blkref r)
{
    if (w->n_wrefs == w->cap_wrefs) {
        w->cap_wrefs = w->cap_wrefs ? w->cap_wrefs * 2 : 64;
        w->wrefs = xreallocarray(w->wrefs, w->cap_wrefs, sizeof(*w->wrefs));
    }
    w->wrefs[w->n_wrefs++] = r;
}

void
segindex_sealer_init(struct store *s)
{
    struct store_sealer *w = &s->sealer;
    const struct store_seg *g = s->n_segs ? s->segs[s->n_segs - 1] : NULL;

    w->n_wrefs = 0;
    w->ix_seq = g ? g->seq : 0;
    w->wraw = g ? g->raw_bytes : 0;
    w->wimem = g && !g->is_full ? g->imem : NULL;
    for (size_t i = 0; g && i < g->n_blks; i++)
        segindex_push_ref(w, segindex_ref(&g->blks[i]));
}

void
segindex_sealer_roll(struct store_sealer *w, struct seal_job *job)
{
    /* sized for the last full segment's keys: no doublings (rehashes)
     * while a segment like it fills (BENCHMARKS.md "The open segment's
     * table sized from the last segment") */
    w->wimem = index_mem_new_keys(w->last_keys);
    job->imem_new = w->wimem;   /* the store's thread gets it at apply */
    w->ix_seq = job->seq;
    w->n_wrefs = 0;
    w->wraw = 0;
}

/* Adds job's blocks written (not is_bad) to w's block table. */
static void
segindex_push_job(struct store_sealer *w, const struct seal_job *job)
{
    for (size_t i = 0; i < job->n_ch; i++) {
        const struct seal_chunk *ch = &job->ch[i];
        struct store_blk_hdr h;
        if (ch->is_bad)
            continue;
        block_hdr_decode(ch->blk.data, &h);
        struct index_blkref r = { .off = ch->pos, .body_crc = h.body_crc };
        segindex_push_ref(w, r);        /* the indexer numbered it so */
    }
}

static int
segindex_bg_write(void *arg)
{
    const struct seal_lqi *q = arg;

    return segindex_write_tmp(q->s, q->seq, q->m, q->refs, q->n_refs);
}

void
segindex_sealer_early(const struct store *s, struct store_sealer *w,
                      struct seal_job *job, int *is_added)
{
    uint64_t raw = w->wraw;

    if (!w->pool.is_sync || !w->wimem)
        return;
    for (size_t i = 0; i < job->n_ch; i++)
        if (!job->ch[i].is_bad)
            raw += job->ch[i].body.len;
    if (raw < s->opt.segment_size)
        return;                 /* or full by its keys: segindex_sealer_add */
    if (*is_added < 0)
        *is_added = indexer_wait(&w->ix);   /* the map is complete */
    w->lqi = (struct seal_lqi){ .s = s, .seq = job->seq, .m = w->wimem,
                                .n_before = w->n_wrefs, .is_busy = 1 };
    segindex_push_job(w, job);  /* popped again if the sync fails */
    w->lqi.refs = w->wrefs;
    w->lqi.n_refs = w->n_wrefs;
    sealpool_bg_submit(&w->pool, segindex_bg_write, &w->lqi);
}

void
segindex_sealer_early_wait(struct store_sealer *w)
{
    if (w->lqi.is_busy == 1) {
        w->lqi.rc = sealpool_bg_wait(&w->pool);
        w->lqi.is_busy = 2;
    }
}

void
segindex_sealer_unearly(const struct store *s, struct store_sealer *w)
{
    segindex_sealer_early_wait(w);
    if (!w->lqi.is_busy)
        return;
    if (w->lqi.rc == 0)
        (void)segindex_publish(s, w->lqi.seq, 0);
    w->n_wrefs = w->lqi.n_before;
    w->lqi.is_busy = 0;
}

void
segindex_sealer_add(const struct store *s, struct store_sealer *w,
                    struct seal_job *job)
{
    int is_early = w->lqi.is_busy != 0;

    if (!is_early)
        segindex_push_job(w, job);
    for (size_t i = 0; i < job->n_ch; i++)
        if (!job->ch[i].is_bad)
            w->wraw += job->ch[i].body.len;
    if (w->wraw < s->opt.segment_size &&
        (!w->wimem || index_mem_n_keys(w->wimem) < STORE_IDX_MAX_KEYS))
        return;
    job->is_seg_full = 1;
    if (is_early) {
        /* written while the segment was synced: named now that the
         * blocks it names are on disk */
        segindex_sealer_early_wait(w);
        w->lqi.is_busy = 0;
        if (segindex_publish(s, job->seq, w->lqi.rc == 0) < 0)
            job->is_ix_err = 1;
    } else if (w->wimem && segindex_write(s, job->seq, w->wimem, w->wrefs,
                                          w->n_wrefs) < 0) {
        /* The indexing thread also adds to the map, but this job's adds
         * are done (indexer_wait) and the next job's have not begun:
         * encoding it needs no lock. */
        job->is_ix_err = 1;
    }
    if (w->wimem)
        w->last_keys = index_mem_n_keys(w->wimem);
    w->wimem = NULL;            /* the store's thread frees it at apply */
}

void
segindex_close_full(struct store *s, struct store_seg *seg, int is_err)
{
    seg->is_full = 1;
    if (!seg->imem)
        return;
    if (is_err || segindex_load(s, seg) < 0)
        s->n_index_errors++;
    index_mem_free(seg->imem);
    seg->imem = NULL;
}

/* Builds seg->imem from the segment's blocks (read and inflated one at a
 * time). A body that fails its CRC is marked corrupt. */
static void
segindex_build(struct store *s, struct store_seg *seg)
{
    char *path = store_seg_path(s, seg->seq);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct buf comp, raw;

    free(path);
    index_mem_free(seg->imem);
    seg->imem = index_mem_new();
    if (fd < 0) {
        index_mem_free(seg->imem);
        seg->imem = NULL;
        s->n_index_errors++;
        return;
    }
    buf_init(&comp, STORE_MAX_RAW + 65536);
    buf_init(&raw, STORE_MAX_RAW);
    for (size_t i = 0; i < seg->n_blks && seg->imem; i++) {
        struct store_blk *b = &seg->blks[i];
        if (b->is_corrupt)
            continue;
        if (segment_read_body(fd, b, &comp) < 0 ||
            segment_unpack(b, &comp, &raw) < 0) {
            b->is_corrupt = 1;
            s->n_corrupt++;
            continue;
        }
        segindex_add_block(s, seg, (uint32_t)i, b, raw.data, raw.len);
    }
    if (seg->imem)
        index_mem_flush(seg->imem);
    buf_fini(&comp);
    buf_fini(&raw);
    close(fd);
}

void
segindex_open(struct store *s, struct store_seg *seg, int is_last)
{
    if (!is_last || seg->raw_bytes >= s->opt.segment_size) {
        seg->is_full = 1;
        if (segindex_load(s, seg) == 0)
            return;
        s->n_index_rebuilds++;
        segindex_build(s, seg);
        segindex_seal(s, seg);
        return;
    }
    segindex_build(s, seg);
    segindex_after_seal(s, seg);
}

/* ------------------------------------------------------------------ */
/* Lookups                                                             */

/* A page of seq's .lqi failed (CRC, encoding or read): the file is dropped
 * and unlinked so that the next open rebuilds it; until then the segment
 * is unindexed (scanned), so answers stay exact and the error is counted
 * once, not on every query. */
static void
segindex_drop(struct store *s, uint64_t seq)
{
    struct store_seg *seg = store_seg_find(s, seq);

    if (!seg || !seg->ifile)
        return;
    segindex_fd_close(seg);
    index_file_free(seg->ifile);
    free(seg->imap);
    seg->ifile = NULL;
    seg->imap = NULL;
    segindex_unlink(s, seq);
}

/* The .lqi of seg open for a lookup (under the store's lock, as every
 * lookup is): held open across queries for up to opt.index_fds
 * segments, the newest ones, so a query over all of them reopens only
 * the older ones each time (least recently used would reopen every one
 * in turn once there are more segments than fds). *is_tmp: the caller
 * closes it. Closed when the file is replaced or dropped and when the
 * segment is freed (retention, close). -1 if it cannot be opened. */
static int
segindex_fd(struct store *s, struct store_seg *seg, int *is_tmp)
{
    struct store_seg *oldest = NULL;
    size_t n_open = 0;

    *is_tmp = 0;
    if (seg->ifd >= 0)
        return seg->ifd;
    char *path = segindex_path(s, seg->seq, "");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return -1;
    for (size_t i = 0; i < s->n_segs; i++)     /* in seq order */
        if (s->segs[i]->ifd >= 0 && n_open++ == 0)
            oldest = s->segs[i];
    if (n_open >= s->opt.index_fds) {
        if (!oldest || oldest->seq > seg->seq) {
            *is_tmp = 1;
            return fd;
        }
        segindex_fd_close(oldest);
    }
    seg->ifd = fd;
    return fd;
}

int
segindex_candidates(struct store *s, struct store_seg *seg,
                    const uint32_t *hashes, const uint32_t *checks, size_t n,
                    uint64_t *bits, uint32_t *fmask)
{
    size_t words = (seg->n_blks + 63) / 64;
    uint64_t *one;
    uint32_t *onem = NULL;
    int fd = -1, rc = -1, is_tmp = 0;

    if ((!seg->imem && !seg->ifile) || n == 0)
        return -1;
    if (seg->ifile && (fd = segindex_fd(s, seg, &is_tmp)) < 0) {
        s->n_index_errors++;
        return -1;
    }
    one = xcalloc(words ? words : 1, sizeof(*one));
    if (fmask && n > 1)
        onem = xcalloc(seg->n_blks ? seg->n_blks : 1, sizeof(*onem));
    for (size_t i = 0; i < n; i++) {
        uint64_t *dst = i == 0 ? bits : one;
        uint32_t *dstm = i == 0 ? fmask : onem;
        memset(dst, 0, words * sizeof(*dst));
        if (seg->imem) {
            /* the sealing thread may be adding blocks to it */
            pthread_mutex_lock(&s->sealer.ix_mu);
            index_mem_lookup_frames(seg->imem, hashes[i], dst, dstm,
                                    (uint32_t)seg->n_blks);
            pthread_mutex_unlock(&s->sealer.ix_mu);
        } else if (index_file_lookup_check(seg->ifile, fd, hashes[i],
                                           checks ? checks[i] : 0,
                                           checks != NULL, seg->imap, dst,
                                           dstm, (uint32_t)seg->n_blks) < 0) {
            s->n_index_errors++;
            segindex_drop(s, seg->seq);
            goto out;
        }
        if (i == 0)
            continue;
        /* a record holds every token: its frame holds them all */
        for (size_t w = 0; w < words; w++) {
            bits[w] &= one[w];
            for (uint64_t x = fmask ? bits[w] : 0; x; x &= x - 1)
                fmask[w * 64 + (size_t)__builtin_ctzll(x)] &=
                    onem[w * 64 + (size_t)__builtin_ctzll(x)];
        }
    }
    rc = 0;
out:
    free(one);
    free(onem);
    if (is_tmp)
        close(fd);
    return rc;
}

int
segindex_counts(struct store *s, struct store_seg *seg, uint32_t hash,
                uint32_t check, uint32_t *cw)
{
    int rc, is_tmp = 0;

    if (seg->imem) {
        pthread_mutex_lock(&s->sealer.ix_mu);
        rc = index_mem_counts(seg->imem, hash, check, cw,
                              (uint32_t)seg->n_blks);
        pthread_mutex_unlock(&s->sealer.ix_mu);
        return rc;
    }
    if (!seg->ifile)
        return 0;
    int fd = segindex_fd(s, seg, &is_tmp);
    if (fd < 0) {
        s->n_index_errors++;
        return 0;
    }
    rc = index_file_counts(seg->ifile, fd, hash, check, seg->imap, cw,
                           (uint32_t)seg->n_blks);
    if (is_tmp)
        close(fd);
    if (rc < 0) {
        s->n_index_errors++;
        segindex_drop(s, seg->seq);
        rc = 0;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

void
segindex_unlink(struct store *s, uint64_t seq)
{
    char *path = segindex_path(s, seq, "");

    unlink(path);
    free(path);
}

void
segindex_cleanup(struct store *s)
{
    DIR *d = opendir(s->dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        char *end;
        if (len < 24 || strncmp(nm, "seg-", 4) != 0 ||
            strncmp(nm + 20, ".lqi", 4) != 0)
            continue;
        unsigned long long seq = strtoull(nm + 4, &end, 16);
        int is_tmp = strcmp(nm + 20, ".lqi.tmp") == 0;
        if (end != nm + 20 || (!is_tmp && len != 24))
            continue;
        if (is_tmp || !store_seg_find(s, seq)) {
            char *path = xasprintf("%s/%s", s->dir, nm);
            unlink(path);
            free(path);
        }
    }
    closedir(d);
}

uint64_t
segindex_disk_bytes(const struct store *s)
{
    uint64_t n = 0;

    for (size_t i = 0; i < s->n_segs; i++)
        if (s->segs[i]->ifile)
            n += index_file_size(s->segs[i]->ifile);
    return n;
}
