/* SPDX-License-Identifier: MIT */
/*
 * recompact: cold segments compressed again at a higher zstd level in
 * the background (collector/STORE.md "Recompaction of cold segments").
 * Owns the recompacting thread (lq-recompact, nice 19), the progress
 * mark recompact.lqr and the temp files seg-<seq>.lqs.tmp /
 * seg-<seq>.lqi.tmp of a segment being rewritten. The thread reads a
 * full segment and its .lqi by path and writes the temp files only; the
 * store's thread (store_recompact_poll) picks the segments, and swaps a
 * finished one in (renames, block directory and .lqi reloaded) under
 * store.mu while no cursor is open, so no cursor ever holds a directory
 * entry of the file it does not read. Does not log (the owner does).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collector/store/store_internal.h"
#include "common/compress.h"
#include "common/xmalloc.h"

#define RC_MARK_MAGIC 0x3152514cu       /* "LQR1" */
#define RC_MARK_LEN   20

static char *
rc_path(const struct store *s, uint64_t seq, const char *suffix)
{
    return xasprintf("%s/seg-%016llx%s", s->dir, (unsigned long long)seq,
                     suffix);
}

/* ------------------------------------------------------------------ */
/* The rewrite (recompacting thread)                                   */

/* Old offset -> new offset and body CRC of each block rewritten. */
struct rc_map {
    uint64_t *old_off, *new_off;
    uint32_t *crc;
    size_t    n, cap;
};

static int
rc_read_file(const char *path, struct buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t tmp[1 << 16];
    ssize_t got;

    if (fd < 0)
        return -1;
    while ((got = read(fd, tmp, sizeof(tmp))) > 0)
        if (buf_append(b, tmp, (size_t)got) < 0) {
            got = -1;
            break;
        }
    close(fd);
    return got < 0 ? -1 : 0;
}

static int
rc_skip_labels(struct reader *r)
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

/* Frame z[0..comp) (raw_len bytes once decompressed) again at level,
 * appended to body and checked by decompressing it back. */
static int
rc_frame(const uint8_t *z, uint64_t comp, uint64_t raw_len, uint32_t codec,
         int level, struct buf *body, struct buf *raw, struct buf *back)
{
    const char *err;
    size_t at = body->len;

    buf_reset(raw);
    buf_reset(back);
    if (compress_unzstd(raw, z, comp, raw_len, &err) < 0 ||
        block_frame_compress(body, raw->data, raw->len, codec, level) < 0 ||
        compress_unzstd(back, body->data + at, body->len - at, raw->len,
                        &err) < 0)
        return -1;
    return back->len == raw->len &&
           memcmp(back->data, raw->data, raw->len) == 0 ? 0 : -1;
}

struct rc_bufs {
    struct buf meta, body, raw, back;
};

/* The framed block at h (header, meta, body: its frames' crc32 checked)
 * rebuilt with its frames at level, appended to out. */
static int
rc_block(const uint8_t *h, int level, struct rc_bufs *w, struct buf *out,
         const volatile int *is_stop)
{
    uint32_t meta_len = le32_load(h + 4), comp_len = le32_load(h + 12);
    const uint8_t *meta = h + STORE_BLK_HDR_LEN, *z = meta + meta_len;
    struct reader r;
    uint64_t n_fr, used = 0;

    buf_reset(&w->meta);
    buf_reset(&w->body);
    reader_init(&r, meta, meta_len);
    if (rc_skip_labels(&r) < 0 ||
        buf_append(&w->meta, meta, meta_len - reader_left(&r)) < 0 ||
        reader_varint(&r, &n_fr) < 0 || buf_put_varint(&w->meta, n_fr) < 0)
        return -1;
    for (uint64_t f = 0; f < n_fr && !*is_stop; f++) {
        uint64_t v[6];
        uint32_t crc;
        uint8_t c4[4];
        size_t at = w->body.len;
        if (reader_varint(&r, &v[0]) < 0 || reader_varint(&r, &v[1]) < 0 ||
            reader_varint(&r, &v[2]) < 0 || reader_u32(&r, &crc) < 0 ||
            reader_varint(&r, &v[4]) < 0 || reader_varint(&r, &v[5]) < 0 ||
            v[1] > comp_len - used ||
            compress_crc32(0, z + used, v[1]) != crc ||
            rc_frame(z + used, v[1], v[2], le32_load(h + 20), level,
                     &w->body, &w->raw,
                     &w->back) < 0)
            return -1;
        used += v[1];
        v[1] = w->body.len - at;
        le32_store(c4, compress_crc32(0, w->body.data + at, v[1]));
        if (buf_put_varint(&w->meta, v[0]) < 0 ||
            buf_put_varint(&w->meta, v[1]) < 0 ||
            buf_put_varint(&w->meta, v[2]) < 0 ||
            buf_append(&w->meta, c4, 4) < 0 ||
            buf_put_varint(&w->meta, v[4]) < 0 ||
            buf_put_varint(&w->meta, v[5]) < 0)
            return -1;
    }
    if (*is_stop || used != comp_len || w->body.len > UINT32_MAX ||
        buf_append(&w->meta, meta + (meta_len - reader_left(&r)),
                   reader_left(&r)) < 0)    /* codec 7's receive range */
        return -1;
    uint8_t hd[STORE_BLK_HDR_LEN];
    memcpy(hd, h, sizeof(hd));
    le32_store(hd + 4, (uint32_t)w->meta.len);
    le32_store(hd + 12, (uint32_t)w->body.len);
    le32_store(hd + 40, compress_crc32(0, w->body.data, w->body.len));
    le32_store(hd + 44, compress_crc32(compress_crc32(0, hd, 44),
                                       w->meta.data, w->meta.len));
    return buf_append(out, hd, sizeof(hd)) < 0 ||
           buf_append(out, w->meta.data, w->meta.len) < 0 ||
           buf_append(out, w->body.data, w->body.len) < 0 ? -1 : 0;
}

static void
rc_map_add(struct rc_map *m, uint64_t old_off, uint64_t new_off,
           uint32_t crc)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->old_off = xreallocarray(m->old_off, m->cap, sizeof(uint64_t));
        m->new_off = xreallocarray(m->new_off, m->cap, sizeof(uint64_t));
        m->crc = xreallocarray(m->crc, m->cap, sizeof(uint32_t));
    }
    m->old_off[m->n] = old_off;
    m->new_off[m->n] = new_off;
    m->crc[m->n++] = crc;
}

/* n bytes at off of fd into b (replacing its content). */
static int
rc_pread(int fd, struct buf *b, size_t n, uint64_t off)
{
    buf_reset(b);
    if (buf_reserve(b, n) < 0)
        return -1;
    for (size_t got = 0; got < n;) {
        ssize_t r = pread(fd, b->data + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    b->len = n;
    return 0;
}

struct rc_io {
    int      in, out;
    uint64_t in_len, out_len;
    struct buf blk, img;                /* one block in, one block out */
};

/* Segment io->in (io->in_len bytes) rewritten at level into io->out one
 * block at a time (memory: one block read and one rebuilt, STORE.md
 * "Recompaction of cold segments"). */
static int
rc_segment(const struct store *s, struct rc_io *io, int level,
           struct rc_map *m, const volatile int *is_stop)
{
    struct rc_bufs w;
    int rc = 0;

    if (io->in_len < STORE_SEG_HDR_LEN ||
        rc_pread(io->in, &io->img, STORE_SEG_HDR_LEN, 0) < 0 ||
        store_write_at(s, io->out, "recompact", io->img.data,
                       STORE_SEG_HDR_LEN, 0) < 0)
        return -1;
    io->out_len = STORE_SEG_HDR_LEN;
    buf_init(&w.meta, STORE_MAX_META);
    buf_init(&w.body, (size_t)STORE_MAX_RAW * 2);
    buf_init(&w.raw, STORE_MAX_RAW);
    buf_init(&w.back, STORE_MAX_RAW);
    for (uint64_t p = STORE_SEG_HDR_LEN; p < io->in_len && rc == 0;) {
        const uint8_t *h = io->blk.data;
        uint64_t len = STORE_BLK_HDR_LEN;
        if (io->in_len - p < len ||
            rc_pread(io->in, &io->blk, STORE_BLK_HDR_LEN, p) < 0 ||
            le32_load(io->blk.data) != STORE_BLK_MAGIC ||
            !store_codec_is_framed(le32_load(io->blk.data + 20)))
            rc = -1;
        else
            len += (uint64_t)le32_load(io->blk.data + 4) +
                   le32_load(io->blk.data + 12);
        if (rc == 0 && (len > io->in_len - p ||
                        rc_pread(io->in, &io->blk, (size_t)len, p) < 0))
            rc = -1;
        h = io->blk.data;
        buf_reset(&io->img);
        if (rc == 0 && (rc = rc_block(h, level, &w, &io->img, is_stop)) == 0 &&
            (rc = store_write_at(s, io->out, "recompact", io->img.data,
                                 io->img.len, io->out_len)) == 0) {
            rc_map_add(m, p, io->out_len, le32_load(io->img.data + 40));
            io->out_len += io->img.len;
        }
        p += len;
    }
    buf_fini(&w.meta);
    buf_fini(&w.body);
    buf_fini(&w.raw);
    buf_fini(&w.back);
    return rc;
}

/* The .lqi image idx given the new block offsets and CRCs of m (the
 * header's CRC over the block table, the page directory and, version 9,
 * the 12 bytes after it: STORE.md "Index file"). */
static int
rc_index(struct buf *idx, const struct rc_map *m)
{
    if (idx->len < 32)
        return -1;
    uint8_t *d = idx->data;
    uint64_t n_blks = le32_load(d + 16), n_pages = le32_load(d + 20);
    uint64_t tab = 12 * (n_blks + n_pages) +
                   (le32_load(d + 4) >= INDEX_VERSION_RANGE
                    ? INDEX_RANGE_TRAILER : 0);
    if (idx->len - 32 < tab)
        return -1;
    for (uint64_t b = 0, k = 0; b < n_blks; b++) {
        uint8_t *e = d + 32 + 12 * b;
        uint64_t off = le64_load(e);
        while (k < m->n && m->old_off[k] < off)
            k++;                /* both ascend by offset */
        if (k == m->n || m->old_off[k] != off)
            return -1;          /* a damaged block: not rewritten */
        le64_store(e, m->new_off[k]);
        le32_store(e + 8, m->crc[k]);
    }
    le32_store(d + 28, compress_crc32(compress_crc32(0, d, 28), d + 32,
                                      (size_t)tab));
    return 0;
}

/* Writes b to path (new, 0600) through the store's write hook and
 * fsyncs it. */
static int
rc_write(const struct store *s, const char *path, const struct buf *b)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        return -1;
    int rc = store_write_at(s, fd, "recompact", b->data, b->len, 0) < 0 ||
             fsync(fd) < 0 ? -1 : 0;
    if (close(fd) < 0)
        rc = -1;
    return rc;
}

/* The new segment file at tmp from the one at path: fsynced, with
 * path's mtime (retention ages a segment by it after a restart). */
static int
rc_segment_file(const struct store *s, const char *path, const char *tmp,
                int level, struct rc_map *m, const volatile int *is_stop,
                uint64_t *old_len, uint64_t *new_len)
{
    struct rc_io io = { .in = open(path, O_RDONLY | O_CLOEXEC), .out = -1 };
    struct stat st;
    int rc = -1;

    buf_init(&io.blk, (size_t)STORE_MAX_RAW + STORE_MAX_META);
    buf_init(&io.img, (size_t)STORE_MAX_RAW * 2 + STORE_MAX_META);
    if (io.in >= 0 && fstat(io.in, &st) == 0 &&
        (io.out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                       0600)) >= 0) {
        io.in_len = (uint64_t)st.st_size;
        struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, st.st_mtim };
        if (rc_segment(s, &io, level, m, is_stop) == 0 &&
            futimens(io.out, ts) == 0 && fsync(io.out) == 0) {
            *old_len = io.in_len;
            *new_len = io.out_len;
            rc = 0;
        }
    }
    if (io.out >= 0 && close(io.out) < 0)
        rc = -1;
    if (io.in >= 0)
        close(io.in);
    buf_fini(&io.blk);
    buf_fini(&io.img);
    return rc;
}

/* Steps 1-2 of STORE.md's recompaction for seq: the temp files. */
static int
rc_rewrite(const struct store *s, uint64_t seq, int level,
           const volatile int *is_stop, uint64_t *old_len,
           uint64_t *new_len)
{
    char *lqs = rc_path(s, seq, ".lqs"), *lqi = rc_path(s, seq, ".lqi");
    char *lqs_tmp = rc_path(s, seq, ".lqs.tmp");
    char *lqi_tmp = rc_path(s, seq, ".lqi.tmp");
    struct buf idx;
    struct rc_map m = { 0 };
    int rc = -1;

    buf_init(&idx, (size_t)1 << 40);
    if (rc_read_file(lqi, &idx) == 0 &&
        rc_segment_file(s, lqs, lqs_tmp, level, &m, is_stop, old_len,
                        new_len) == 0 &&
        rc_index(&idx, &m) == 0 && rc_write(s, lqi_tmp, &idx) == 0) {
        rc = 0;
    } else {
        unlink(lqs_tmp);
        unlink(lqi_tmp);
    }
    buf_fini(&idx);
    free(m.old_off);
    free(m.new_off);
    free(m.crc);
    free(lqs);
    free(lqi);
    free(lqs_tmp);
    free(lqi_tmp);
    return rc;
}

static void *
rc_main(void *arg)
{
    struct store *s = arg;
    struct store_recompactor *w = &s->rc;

    /* this thread only (Linux: nice is per thread) */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->is_stop && !w->has_req)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->is_stop)
            break;
        uint64_t seq = w->req_seq, o = 0, n = 0;
        w->has_req = 0;
        pthread_mutex_unlock(&w->mu);
        int rc = rc_rewrite(s, seq, s->opt.recompact_level, &w->is_stop,
                            &o, &n);
        pthread_mutex_lock(&w->mu);
        w->res_rc = rc;
        w->res_old = o;
        w->res_new = n;
        w->has_res = 1;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The progress mark                                                   */

static char *
rc_mark_path(const struct store *s, const char *suffix)
{
    return xasprintf("%s/recompact.lqr%s", s->dir, suffix);
}

static void
rc_mark_load(struct store *s)
{
    char *path = rc_mark_path(s, "");
    uint8_t b[RC_MARK_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    free(path);
    s->rc.mark_seq = 0;
    if (fd < 0)
        return;
    if (read(fd, b, sizeof(b)) == (ssize_t)sizeof(b) &&
        le32_load(b) == RC_MARK_MAGIC &&
        le32_load(b + 4) == compress_crc32(0, b + 8, 12) &&
        (int)le32_load(b + 16) >= s->opt.recompact_level)
        s->rc.mark_seq = le64_load(b + 8);
    close(fd);
}

static int
rc_mark_save(struct store *s, uint64_t seq)
{
    char *path = rc_mark_path(s, ""), *tmp = rc_mark_path(s, ".tmp");
    uint8_t b[RC_MARK_LEN];
    struct buf bb = { .data = b, .len = sizeof(b), .cap = sizeof(b) };

    le32_store(b, RC_MARK_MAGIC);
    le64_store(b + 8, seq);
    le32_store(b + 16, (uint32_t)s->opt.recompact_level);
    le32_store(b + 4, compress_crc32(0, b + 8, 12));
    int rc = rc_write(s, tmp, &bb) < 0 || rename(tmp, path) < 0 ||
             store_fsync_dir(s->dir) < 0 ? -1 : 0;
    if (rc < 0)
        unlink(tmp);
    free(path);
    free(tmp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The store's thread: start, pick, swap                              */

void
recompact_cleanup(struct store *s)
{
    DIR *d = opendir(s->dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        /* a crash left it: the .lqs, if any, is whole */
        if ((len == 28 && strncmp(nm, "seg-", 4) == 0 &&
             strcmp(nm + 20, ".lqs.tmp") == 0) ||
            strcmp(nm, "recompact.lqr.tmp") == 0) {
            char *path = xasprintf("%s/%s", s->dir, nm);
            unlink(path);
            free(path);
        }
    }
    closedir(d);
}

int
recompact_start(struct store *s)
{
    struct store_recompactor *w = &s->rc;

    if (s->opt.recompact_level <= 0)
        return 0;
    rc_mark_load(s);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->th, NULL, rc_main, s) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        store_set_err(s, "recompact thread: %s", strerror(errno));
        return -1;
    }
    w->is_started = 1;
    return 0;
}

static void
rc_drop_tmp(struct store *s, uint64_t seq)
{
    char *a = rc_path(s, seq, ".lqs.tmp"), *b = rc_path(s, seq, ".lqi.tmp");

    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

void
recompact_stop(struct store *s)
{
    struct store_recompactor *w = &s->rc;

    if (!w->is_started)
        return;
    pthread_mutex_lock(&w->mu);
    w->is_stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    if (w->is_busy)             /* a rewrite never swapped in */
        rc_drop_tmp(s, w->cur_seq);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    w->is_started = 0;
}

/* 1 if seg can be recompacted now, 0 not yet (too young), -1 never. */
static int
rc_eligible(const struct store *s, const struct store_seg *seg, int is_last)
{
    if (is_last || !seg->is_full || !seg->ifile || seg->n_blks == 0)
        return -1;
    for (size_t b = 0; b < seg->n_blks; b++)
        if (seg->blks[b].is_corrupt ||
            !store_codec_is_framed(seg->blks[b].codec))
            return -1;
    int64_t now = store_now(s);
    return now - seg->write_ns >= s->opt.recompact_age_ns ? 1 : 0;
}

/* The next segment to recompact, 0 if none now. */
static uint64_t
rc_pick(struct store *s)
{
    for (size_t i = 0; i < s->n_segs; i++) {
        struct store_seg *seg = s->segs[i];
        if (seg->seq <= s->rc.mark_seq)
            continue;
        int e = rc_eligible(s, seg, i + 1 == s->n_segs);
        if (e > 0)
            return seg->seq;
        if (e == 0 || i + 1 == s->n_segs)
            return 0;           /* younger ones follow */
    }
    return 0;
}

/* The directory entries and .lqi of old read again from its new files
 * (under store.mu): a new segment in old's place, old freed. */
static int
rc_reload(struct store *s, struct store_seg *old)
{
    struct store_seg *g = xcalloc(1, sizeof(*g));

    g->seq = old->seq;
    g->ifd = -1;
    g->min_ns = INT64_MAX;
    g->max_ns = INT64_MIN;
    if (segment_scan(s, g, 0) < 0) {
        segment_free(g);
        for (size_t b = 0; b < old->n_blks; b++)
            old->blks[b].is_corrupt = 1;    /* not read at old offsets */
        return -1;
    }
    g->is_full = 1;
    if (segindex_load(s, g) < 0) {
        s->n_index_errors++;
        segindex_unlink(s, g->seq);         /* rebuilt at the next open */
    }
    for (size_t i = 0; i < STORE_BCACHE_N; i++)
        if (s->bcache[i].seq == g->seq)
            s->bcache[i].tick = 0;
    for (size_t i = 0; i < s->n_segs; i++)
        if (s->segs[i] == old)
            s->segs[i] = g;
    segment_free(old);
    return 0;
}

/* Step 4 under store.mu with no cursor open: renames, the directory
 * entries and .lqi of seq reloaded. 1 swapped, 0 the segment is gone
 * (retention), 2 cursors are open (try again later), -1 failed. */
static int
rc_swap(struct store *s, uint64_t seq)
{
    char *lqs = rc_path(s, seq, ".lqs"), *lqi = rc_path(s, seq, ".lqi");
    char *lqs_tmp = rc_path(s, seq, ".lqs.tmp");
    char *lqi_tmp = rc_path(s, seq, ".lqi.tmp");
    int rc = 1;

    store_lock(s);
    struct store_seg *old = store_seg_find(s, seq);
    if (s->n_cursors_open > 0) {
        rc = 2;
    } else if (!old || !old->ifile) {
        rc = 0;
    } else if (rename(lqs_tmp, lqs) < 0) {
        store_set_err(s, "recompact: rename %s: %s", lqs_tmp,
                      strerror(errno));
        rc = -1;
    } else {
        if (rename(lqi_tmp, lqi) < 0)
            unlink(lqi);        /* rebuilt at the next open */
        rc = rc_reload(s, old) < 0 ? -1 : 1;
    }
    store_unlock(s);
    if (rc != 2 && rc != 1) {
        unlink(lqs_tmp);
        unlink(lqi_tmp);
    }
    free(lqs);
    free(lqi);
    free(lqs_tmp);
    free(lqi_tmp);
    return rc;
}

int
store_recompact_poll(struct store *s, int wait)
{
    struct store_recompactor *w = &s->rc;

    if (!w->is_started)
        return 0;
    pthread_mutex_lock(&w->mu);
    while (wait && w->is_busy && !w->has_res)
        pthread_cond_wait(&w->cv, &w->mu);
    int has_res = w->has_res, res_rc = w->res_rc;
    uint64_t o = w->res_old, n = w->res_new;
    pthread_mutex_unlock(&w->mu);
    if (has_res) {
        /* a rewrite that failed because retention deleted the
         * segment meanwhile is no error */
        int rc = res_rc >= 0 ? rc_swap(s, w->cur_seq) :
                 store_seg_find(s, w->cur_seq) ? -1 : 0;
        if (rc == 2)
            return 1;           /* cursors open: the next poll */
        pthread_mutex_lock(&w->mu);
        w->has_res = 0;
        w->is_busy = 0;
        pthread_mutex_unlock(&w->mu);
        /* done, gone or failed: not tried again before a restart; the
         * mark on disk moves past done and gone ones only */
        w->mark_seq = w->cur_seq;
        if (rc < 0) {
            s->n_recompact_errors++;
            if (res_rc >= 0)
                return -1;
        } else {
            if (rc == 1) {
                s->n_recompacted++;
                s->recompact_saved += o > n ? o - n : 0;
            }
            if (store_fsync_dir(s->dir) < 0 ||
                rc_mark_save(s, w->mark_seq) < 0)
                s->n_recompact_errors++;
        }
    }
    if (w->is_busy)
        return 1;
    uint64_t seq = s->job || s->pend ? 0 : rc_pick(s);
    if (seq == 0)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->cur_seq = w->req_seq = seq;
    w->has_req = 1;
    w->is_busy = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 1;
}
