/* SPDX-License-Identifier: MIT */
/*
 * srclabels: each source's Docker labels (collector/STORE.md "Source
 * labels"): the current set per (host, container_id), last wins, kept in
 * memory and in labels.lql, an append-only log of sets replayed at open.
 * A set changes rarely (Docker fixes a container's labels at creation;
 * only a misbehaving sender changes them), so each change is one entry
 * appended and fdatasync'ed at the next commit, before the WAL commit of
 * the records that came with it. Sets are immutable and published with
 * an atomic pointer; replaced sets are kept until close, so cursors on
 * other threads read a source's labels without store.mu.
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
#include "common/labelset.h"
#include "common/xmalloc.h"

#define SRCLABELS_FILE      "labels.lql"
#define SRCLABELS_HDR_LEN   8
/* An entry holds at most 64 pairs of 256 + 256 bytes plus the source. */
#define SRCLABELS_MAX_ENTRY (64u << 10)

/* Keeps ls (owned) until close. */
static void
srclabels_keep(struct store *s, struct labelset *ls)
{
    if (s->n_dl_sets == s->cap_dl_sets) {
        s->cap_dl_sets = s->cap_dl_sets ? s->cap_dl_sets * 2 : 16;
        s->dl_sets = xreallocarray(s->dl_sets, s->cap_dl_sets,
                                   sizeof(*s->dl_sets));
    }
    s->dl_sets[s->n_dl_sets++] = ls;
}

/* Keeps ls (owned) and publishes it as src's current set. */
static void
srclabels_publish(struct store *s, struct store_source *src,
                  struct labelset *ls)
{
    srclabels_keep(s, ls);
    atomic_store_explicit(&src->dl, ls, memory_order_release);
    src->n_dl_changes++;
}

const struct labelset *
store_source_labels(const struct store_source *src)
{
    return atomic_load_explicit(&src->dl, memory_order_acquire);
}

const struct labelset *
store_labels_known(struct store *s, const char *host, const char *cid,
                   uint64_t text_hash)
{
    struct store_source *src = store_source_get(s, host, strlen(host), cid,
                                                strlen(cid), 0);

    if (src == NULL || !src->has_dl_hash || src->dl_hash != text_hash)
        return NULL;
    return store_source_labels(src);
}

int
store_set_labels(struct store *s, const char *host, const char *cid,
                 const struct labelset *ls, uint64_t text_hash,
                 const struct labelset **cur)
{
    struct store_source *src = store_source_get(s, host, strlen(host), cid,
                                                strlen(cid), 1);
    const struct labelset *old = store_source_labels(src);
    int rc = 0;

    if (!labelset_is_equal(old, ls)) {
        if (src->n_dl_changes >= STORE_MAX_LABEL_SETS) {
            s->n_dl_capped++;
            rc = -1;
        } else {
            srclabels_publish(s, src, labelset_dup(ls));
            if (!src->is_dl_dirty) {
                src->is_dl_dirty = 1;
                s->n_dl_dirty++;
            }
            rc = 1;
        }
    }
    /* refused too: the sender's text comes with every batch, and the
     * source keeps its set for it (counted once, not parsed again) */
    src->dl_hash = text_hash;
    src->has_dl_hash = 1;
    if (cur != NULL)
        *cur = store_source_labels(src);
    return rc;
}

/* ---- the file ---- */

static int
srclabels_encode(struct buf *b, const struct store_source *src)
{
    const struct labelset *ls = store_source_labels(src);
    size_t n = ls != NULL ? ls->n : 0;
    size_t at = b->len;

    if (buf_put_u32(b, 0) < 0 || buf_put_u32(b, 0) < 0 ||
        block_put_str(b, src->host, src->host_len) < 0 ||
        block_put_str(b, src->cid, src->cid_len) < 0 ||
        buf_put_varint(b, n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (block_put_str(b, ls->keys[i], strlen(ls->keys[i])) < 0 ||
            block_put_str(b, ls->vals[i], strlen(ls->vals[i])) < 0)
            return -1;
    size_t len = b->len - at - 8;
    le32_store(b->data + at, (uint32_t)len);
    le32_store(b->data + at + 4, compress_crc32(0, b->data + at + 8, len));
    return 0;
}

/* Cuts labels.lql back to its last good entry after a failed append
 * (the write hook's "labels-cut" fault point stands for a cut that
 * fails). Until it succeeds nothing is appended: entries after torn
 * bytes would be lost at the next open. */
static int
srclabels_cut(struct store *s)
{
    if ((s->opt.write_hook &&
         s->opt.write_hook("labels-cut", 0, s->opt.write_hook_arg)) ||
        ftruncate(s->dl_fd, (off_t)s->dl_len) < 0) {
        s->dl_is_torn = 1;
        return -1;
    }
    s->dl_is_torn = 0;
    return 0;
}

int
srclabels_commit(struct store *s)
{
    struct buf b;
    int rc = -1;

    if (s->n_dl_dirty == 0)
        return 0;
    if (s->dl_fd >= 0 && s->dl_is_torn && srclabels_cut(s) < 0) {
        store_set_err(s, "cut %s/" SRCLABELS_FILE " after a failed write: "
                      "%s", s->dir, strerror(errno));
        return -1;
    }
    buf_init(&b, STORE_MAX_PENDING);
    for (size_t i = 0; i < s->n_sources; i++)
        if (s->sources[i]->is_dl_dirty &&
            srclabels_encode(&b, s->sources[i]) < 0) {
            store_set_err(s, "labels: entry too large");
            goto out;
        }
    if (s->dl_fd < 0 ||
        store_write_at(s, s->dl_fd, "labels", b.data, b.len, s->dl_len) < 0 ||
        fdatasync(s->dl_fd) < 0) {
        store_set_err(s, "write %s/" SRCLABELS_FILE ": %s", s->dir,
                      s->dl_fd < 0 ? "not open" : strerror(errno));
        if (s->dl_fd >= 0)
            (void)srclabels_cut(s);     /* else cut before the next try */
        goto out;
    }
    s->dl_len += b.len;
    for (size_t i = 0; i < s->n_sources; i++)
        if (s->sources[i]->is_dl_dirty) {
            s->sources[i]->is_dl_dirty = 0;
            s->n_dl_entries++;
        }
    s->n_dl_dirty = 0;
    rc = 0;
out:
    buf_fini(&b);
    return rc;
}

/* One entry's payload: its source's set replaces the current one. An
 * entry for a source the store no longer knows is skipped (compaction
 * drops it). -1 if malformed. */
static int
srclabels_replay_entry(struct store *s, const uint8_t *p, size_t len)
{
    struct reader r;
    uint64_t hl, cl, n;
    const uint8_t *h, *c;

    reader_init(&r, p, len);
    if (reader_varint(&r, &hl) < 0 || hl > reader_left(&r) ||
        reader_bytes(&r, (size_t)hl, &h) < 0 ||
        reader_varint(&r, &cl) < 0 || cl > reader_left(&r) ||
        reader_bytes(&r, (size_t)cl, &c) < 0 ||
        reader_varint(&r, &n) < 0 || n > LABELSET_MAX_LABELS)
        return -1;
    char *keys[LABELSET_MAX_LABELS], *vals[LABELSET_MAX_LABELS];
    size_t k = 0;
    int rc = 0;
    for (; k < n; k++) {
        uint64_t kl, vl;
        const uint8_t *kp, *vp;
        if (reader_varint(&r, &kl) < 0 || kl > reader_left(&r) ||
            reader_bytes(&r, (size_t)kl, &kp) < 0 ||
            reader_varint(&r, &vl) < 0 || vl > reader_left(&r) ||
            reader_bytes(&r, (size_t)vl, &vp) < 0) {
            rc = -1;
            break;
        }
        keys[k] = xstrndup((const char *)kp, (size_t)kl);
        vals[k] = xstrndup((const char *)vp, (size_t)vl);
    }
    struct store_source *src = rc == 0 && reader_left(&r) == 0 ?
        store_source_get(s, (const char *)h, (size_t)hl, (const char *)c,
                         (size_t)cl, 0) : NULL;
    if (rc == 0 && reader_left(&r) != 0)
        rc = -1;
    if (src != NULL) {
        /* at open no cursor exists: the replaced set goes at once, and
         * the source's cap counts from the end of the replay */
        struct labelset *ls = labelset_new((const char *const *)keys,
                                           (const char *const *)vals, k,
                                           NULL);
        labelset_free((struct labelset *)store_source_labels(src));
        atomic_store_explicit(&src->dl, ls, memory_order_relaxed);
    }
    for (size_t i = 0; i < k; i++) {
        free(keys[i]);
        free(vals[i]);
    }
    s->n_dl_entries++;
    return rc;
}

/* 1 if b holds a whole entry at off whose CRC holds; its length in *len
 * (when it fits in b). */
static int
srclabels_entry_ok(const struct buf *b, size_t off, uint32_t *len)
{
    if (b->len - off < 8)
        return 0;
    *len = le32_load(b->data + off);
    return *len <= SRCLABELS_MAX_ENTRY && *len <= b->len - off - 8 &&
           compress_crc32(0, b->data + off + 8, *len) ==
           le32_load(b->data + off + 4);
}

/* Replays b (the whole file); *end = the end of the last good entry.
 * Stops at a torn tail (counted in n_torn_cuts). An entry that fails
 * while a good one follows it where its length says (a damaged byte, not
 * a torn append) is skipped and counted in n_corrupt: only that entry's
 * set is lost. Returns the entries skipped. */
static size_t
srclabels_replay(struct store *s, const struct buf *b, uint64_t *end)
{
    size_t off = SRCLABELS_HDR_LEN, n_skipped = 0;

    *end = off;
    while (b->len - off >= 8) {
        uint32_t len = 0, next_len;
        if (srclabels_entry_ok(b, off, &len) &&
            srclabels_replay_entry(s, b->data + off + 8, len) == 0) {
            off += 8 + len;
            *end = off;
            continue;
        }
        if (len > SRCLABELS_MAX_ENTRY || len > b->len - off - 8 ||
            !srclabels_entry_ok(b, off + 8 + len, &next_len))
            break;
        s->n_corrupt++;
        n_skipped++;
        off += 8 + len;
        *end = off;
    }
    if (*end != b->len)
        s->n_torn_cuts++;
    for (size_t i = 0; i < s->n_sources; i++) {
        struct labelset *ls =
            (struct labelset *)store_source_labels(s->sources[i]);
        if (ls != NULL)
            srclabels_keep(s, ls);
    }
    return n_skipped;
}

/* Rewrites the file with one entry per labelled source (tmp, fsync,
 * rename, directory fsync) and opens it for appending. */
static int
srclabels_compact(struct store *s, const char *path)
{
    char *tmp = xasprintf("%s.tmp", path);
    struct buf b;
    int fd = -1, rc = -1;

    buf_init(&b, STORE_MAX_RAW);
    if (buf_put_u32(&b, STORE_LABELS_MAGIC) < 0 ||
        buf_put_u32(&b, STORE_LABELS_VERSION) < 0)
        goto out;
    s->n_dl_entries = 0;
    for (size_t i = 0; i < s->n_sources; i++) {
        if (store_source_labels(s->sources[i]) == NULL)
            continue;
        if (srclabels_encode(&b, s->sources[i]) < 0)
            goto out;
        s->n_dl_entries++;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, STORE_FILE_MODE);
    if (fd < 0 || store_write_at(s, fd, "labels", b.data, b.len, 0) < 0 ||
        fsync(fd) < 0 || rename(tmp, path) < 0 || store_fsync_dir(s->dir) < 0)
        goto out;
    s->dl_fd = fd;
    s->dl_len = b.len;
    fd = -1;
    rc = 0;
out:
    if (rc < 0) {
        store_set_err(s, "write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    if (fd >= 0)
        close(fd);
    buf_fini(&b);
    free(tmp);
    return rc;
}

int
srclabels_open(struct store *s)
{
    char *path = xasprintf("%s/" SRCLABELS_FILE, s->dir);
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    struct buf b;
    uint64_t end = 0;
    size_t n_skipped = 0;
    int rc = 0;

    buf_init(&b, STORE_MAX_RAW);
    s->dl_fd = -1;
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size >= SRCLABELS_HDR_LEN &&
        buf_reserve(&b, (size_t)st.st_size) == 0 &&
        pread(fd, b.data, (size_t)st.st_size, 0) == st.st_size &&
        le32_load(b.data) == STORE_LABELS_MAGIC &&
        le32_load(b.data + 4) == STORE_LABELS_VERSION) {
        b.len = (size_t)st.st_size;
        n_skipped = srclabels_replay(s, &b, &end);
    } else if (fd >= 0) {
        /* shorter than its header, unreadable or another format: never
         * appended to (entries after no header are lost at the next
         * open), rewritten below; the labels come with the next batches */
        s->n_corrupt++;
        close(fd);
        fd = -1;
    }
    /* compact when there are many more entries than labelled sources
     * (a torn or damaged file is rewritten too) */
    size_t n_live = 0;
    for (size_t i = 0; i < s->n_sources; i++)
        n_live += store_source_labels(s->sources[i]) != NULL;
    if (fd >= 0 && end == b.len && n_skipped == 0 &&
        s->n_dl_entries <= 2 * n_live + 64) {
        s->dl_fd = fd;
        s->dl_len = end;
        fd = -1;
    } else {
        rc = srclabels_compact(s, path);
    }
    if (fd >= 0)
        close(fd);
    buf_fini(&b);
    free(path);
    return rc;
}

void
srclabels_close(struct store *s)
{
    if (s->dl_fd >= 0)
        close(s->dl_fd);
    s->dl_fd = -1;
    for (size_t i = 0; i < s->n_dl_sets; i++)
        labelset_free(s->dl_sets[i]);
    free(s->dl_sets);
    s->dl_sets = NULL;
    s->n_dl_sets = 0;
}
