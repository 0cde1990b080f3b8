/* SPDX-License-Identifier: MIT */
/*
 * retention: deletes whole oldest segments past the configured age or total
 * size, and keeps the high water marks of what it deletes in hw.lqh so that
 * exactly-once delivery survives both retention and a restart (a shipper
 * resending old lines must still see them as duplicates). The segment being
 * written is never deleted.
 */
#include "collector/store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/compress.h"
#include "common/xmalloc.h"

int
retention_hw_save(struct store *s)
{
    struct buf b;
    char *path = xasprintf("%s/hw.lqh", s->dir);
    char *tmp = xasprintf("%s/hw.lqh.tmp", s->dir);
    int fd = -1, rc = -1;

    buf_init(&b, STORE_MAX_RAW);
    if (buf_put_u32(&b, STORE_HW_MAGIC) < 0 || buf_put_u32(&b, 0) < 0 ||
        buf_put_varint(&b, s->n_sources) < 0)
        goto out;
    for (size_t i = 0; i < s->n_sources; i++) {
        const struct store_source *src = s->sources[i];
        if (block_put_str(&b, src->host, src->host_len) < 0 ||
            block_put_str(&b, src->cid, src->cid_len) < 0 ||
            buf_put_varint(&b, src->sealed_hw) < 0)
            goto out;
    }
    le32_store(b.data + 4, compress_crc32(0, b.data + 8, b.len - 8));
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
              STORE_FILE_MODE);
    if (fd < 0 || store_write_at(s, fd, "hw", b.data, b.len, 0) < 0 ||
        fsync(fd) < 0 || rename(tmp, path) < 0) {
        store_set_err(s, "write %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(tmp);
    buf_fini(&b);
    free(tmp);
    free(path);
    return rc;
}

/* Loads hw.lqh if present. A damaged file is counted and ignored. */
int
retention_hw_load(struct store *s)
{
    char *path = xasprintf("%s/hw.lqh", s->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    struct buf b;
    struct reader r;
    uint64_t n;

    free(path);
    if (fd < 0)
        return 0;
    buf_init(&b, STORE_MAX_RAW);
    if (fstat(fd, &st) < 0 || st.st_size < 8 ||
        buf_reserve(&b, (size_t)st.st_size) < 0 ||
        pread(fd, b.data, (size_t)st.st_size, 0) != st.st_size)
        goto bad;
    b.len = (size_t)st.st_size;
    if (le32_load(b.data) != STORE_HW_MAGIC ||
        le32_load(b.data + 4) != compress_crc32(0, b.data + 8, b.len - 8))
        goto bad;
    reader_init(&r, b.data + 8, b.len - 8);
    if (reader_varint(&r, &n) < 0)
        goto bad;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t hl, cl, hw;
        const uint8_t *h, *c;
        if (reader_varint(&r, &hl) < 0 || hl > reader_left(&r) ||
            reader_bytes(&r, (size_t)hl, &h) < 0 ||
            reader_varint(&r, &cl) < 0 || cl > reader_left(&r) ||
            reader_bytes(&r, (size_t)cl, &c) < 0 ||
            reader_varint(&r, &hw) < 0)
            goto bad;
        struct store_source *src = store_source_get(
            s, (const char *)h, (size_t)hl, (const char *)c, (size_t)cl, 1);
        if (hw > src->hw)
            src->hw = hw;
        if (hw > src->sealed_hw)
            src->sealed_hw = hw;
    }
    close(fd);
    buf_fini(&b);
    return 0;
bad:
    s->n_corrupt++;
    close(fd);
    buf_fini(&b);
    return 0;
}

static uint64_t
store_disk_bytes(const struct store *s)
{
    uint64_t n = wal_bytes(s) + segindex_disk_bytes(s);

    for (size_t i = 0; i < s->n_segs; i++)
        n += s->segs[i]->file_size;
    return n;
}

static int
retention_is_expired(const struct store *s, const struct store_seg *g,
                     int64_t now)
{
    if (s->opt.retention_bytes && store_disk_bytes(s) > s->opt.retention_bytes)
        return 1;
    if (s->opt.retention_age_ns <= 0 || !g->n_records)
        return 0;
    /* Event times come from senders: one stamped in the far future must
     * not keep the segment (and every later one) forever, so the newest
     * event time counts at most as the time the segment was written. */
    int64_t newest = g->max_ns < g->write_ns ? g->max_ns : g->write_ns;
    if (now < INT64_MIN + s->opt.retention_age_ns)
        return 0;
    return newest < now - s->opt.retention_age_ns;
}

/* Removes segs[0]'s lines from the source counts, then the segment. */
static int
retention_delete_oldest(struct store *s)
{
    struct store_seg *g = s->segs[0];
    char *path = store_seg_path(s, g->seq);

    if (unlink(path) < 0 && errno != ENOENT) {
        store_set_err(s, "unlink %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    free(path);
    segindex_unlink(s, g->seq);
    for (size_t i = 0; i < g->n_blks; i++) {
        const struct store_blk *b = &g->blks[i];
        for (uint32_t k = 0; k < b->n_labels; k++) {
            struct store_source *src = s->labels[b->labels[k].id]->src;
            uint64_t nl = b->labels[k].n_lines;
            src->n_lines -= nl < src->n_lines ? nl : src->n_lines;
        }
    }
    s->n_seg_deleted++;
    s->bytes_deleted += g->file_size;
    segment_free(g);
    memmove(s->segs, s->segs + 1, (s->n_segs - 1) * sizeof(*s->segs));
    s->n_segs--;
    return 0;
}

int
store_apply_retention(struct store *s)
{
    /* Runs on a timer: also picks up a block the sealer finished while no
     * commit came (an idle collector), without waiting for one, and hands
     * it the tails that waited meanwhile. */
    (void)sealer_poll(s, 0);
    store_seal_pend(s);
    return retention_run(s);
}

int
retention_run(struct store *s)
{
    int64_t now = store_now(s);
    int n = 0;

    /* hw.lqh holds sealed high water marks only (sealed_hw): records
     * still in the WAL or being sealed are above them and are replayed. */
    if (!s->opt.retention_age_ns && !s->opt.retention_bytes)
        return 0;
    /* Under mu: cursors drop damaged indexes (read by store_disk_bytes)
     * and read the segment list. A cursor that already opened a deleted
     * segment's file reads on (an unlinked file stays readable); one
     * that had not skips its blocks. */
    store_lock(s);
    /* The last segment is the one being written: never deleted. */
    while (s->n_segs > 1 && retention_is_expired(s, s->segs[0], now)) {
        /* High water marks first: once the segment is gone they are the
         * only record of what was delivered. */
        if ((n == 0 && retention_hw_save(s) < 0) ||
            retention_delete_oldest(s) < 0) {
            n = -1;
            break;
        }
        n++;
    }
    store_unlock(s);
    return n;
}
