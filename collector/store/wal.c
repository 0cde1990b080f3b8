/* SPDX-License-Identifier: MIT */
/*
 * wal: the store's write-ahead log (wal.lqw, format in collector/STORE.md).
 * Holds committed records that are not yet sealed into a segment block: one
 * checksummed entry per store_commit(), appended and fdatasync'ed. Replayed
 * at open up to the first bad entry (a torn write), which is cut off.
 * Emptied (truncated to its header) once the tail block is sealed.
 */
#include "collector/store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/compress.h"
#include "common/xmalloc.h"

void
wal_pending_clear(struct store *s)
{
    buf_reset(&s->wal_labels);
    buf_reset(&s->wal_recs);
    s->wal_n_labels = 0;
    s->wal_n_recs = 0;
    s->wal_prev_ns = 0;
    s->wal_gen++;
}

static int
wal_write_header(struct store *s)
{
    uint8_t h[STORE_WAL_HDR_LEN];

    le32_store(h, STORE_WAL_MAGIC);
    le32_store(h + 4, STORE_VERSION);
    if (ftruncate(s->wal_fd, 0) < 0 ||
        store_write_at(s, s->wal_fd, "wal", h, sizeof(h), 0) < 0 ||
        fdatasync(s->wal_fd) < 0) {
        store_set_err(s, "wal header: %s", strerror(errno));
        return -1;
    }
    s->wal_len = STORE_WAL_HDR_LEN;
    return 0;
}

/* Decodes one entry payload and replays its records. -1 if malformed. */
static int
wal_replay_entry(struct store *s, const uint8_t *p, size_t len,
                 struct store_rec **recs, size_t *cap)
{
    struct reader r;
    uint64_t n_labels, n_recs;
    struct store_label **labels = NULL;
    int rc = -1;

    reader_init(&r, p, len);
    if (reader_varint(&r, &n_labels) < 0 || n_labels > len / 4)
        return -1;
    labels = xcalloc(n_labels ? n_labels : 1, sizeof(*labels));
    for (uint64_t i = 0; i < n_labels; i++) {
        const uint8_t *str[4];
        size_t slen[4];
        for (int k = 0; k < 4; k++) {
            uint64_t l;
            if (reader_varint(&r, &l) < 0 || l > reader_left(&r) ||
                reader_bytes(&r, (size_t)l, &str[k]) < 0)
                goto out;
            slen[k] = (size_t)l;
        }
        labels[i] = store_label_intern(s, str, slen);
    }
    if (reader_varint(&r, &n_recs) < 0 || n_recs > UINT32_MAX)
        goto out;
    if (block_body_decode(p + r.pos, reader_left(&r), (uint32_t)n_recs,
                          (uint32_t)n_labels, recs, cap) < 0)
        goto out;
    for (uint64_t i = 0; i < n_recs; i++) {
        int a = store_replay_record(s, labels[(*recs)[i].label], &(*recs)[i]);
        if (a < 0)
            goto out;
        s->n_wal_replayed += (uint64_t)a;
    }
    rc = 0;
out:
    free(labels);
    return rc;
}

/* Replays entries from offset 8; returns the end of the last good one. */
static uint64_t
wal_replay(struct store *s, uint64_t size)
{
    uint64_t pos = STORE_WAL_HDR_LEN;
    struct buf payload;
    struct store_rec *recs = NULL;
    size_t cap = 0;

    buf_init(&payload, STORE_MAX_WAL_ENTRY);
    while (size - pos >= 8) {
        uint8_t h[8];
        if (pread(s->wal_fd, h, 8, (off_t)pos) != 8)
            break;
        uint32_t len = le32_load(h), crc = le32_load(h + 4);
        if (len > STORE_MAX_WAL_ENTRY || len > size - pos - 8)
            break;
        buf_reset(&payload);
        if (buf_reserve(&payload, len) < 0 ||
            pread(s->wal_fd, payload.data, len, (off_t)(pos + 8)) !=
                (ssize_t)len)
            break;
        if (compress_crc32(0, payload.data, len) != crc ||
            wal_replay_entry(s, payload.data, len, &recs, &cap) < 0)
            break;
        pos += 8 + (uint64_t)len;
    }
    free(recs);
    buf_fini(&payload);
    return pos;
}

int
wal_open_replay(struct store *s)
{
    char *path = xasprintf("%s/wal.lqw", s->dir);
    struct stat st;
    uint8_t h[STORE_WAL_HDR_LEN];

    s->wal_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->wal_fd < 0 || fstat(s->wal_fd, &st) < 0) {
        store_set_err(s, "open %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    free(path);
    uint64_t size = (uint64_t)st.st_size;
    if (size < STORE_WAL_HDR_LEN) {
        if (size > 0)
            s->n_torn_cuts++;
        return wal_write_header(s);
    }
    int is_bad_hdr = pread(s->wal_fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
                     le32_load(h) != STORE_WAL_MAGIC ||
                     le32_load(h + 4) != STORE_VERSION;
    uint64_t end = wal_replay(s, size);
    s->tail.committed_len = s->tail.body.len;
    s->tail.committed_n = s->tail.n_records;
    if (is_bad_hdr) {
        /* Entries check themselves, so they were still replayed. */
        s->n_corrupt++;
        le32_store(h, STORE_WAL_MAGIC);
        le32_store(h + 4, STORE_VERSION);
        if (store_write_at(s, s->wal_fd, "wal", h, sizeof(h), 0) < 0) {
            store_set_err(s, "wal header: %s", strerror(errno));
            return -1;
        }
    }
    if (end < size) {
        s->n_torn_cuts++;
        if (ftruncate(s->wal_fd, (off_t)end) < 0) {
            store_set_err(s, "wal truncate: %s", strerror(errno));
            return -1;
        }
    }
    if ((is_bad_hdr || end < size) && fdatasync(s->wal_fd) < 0) {
        store_set_err(s, "wal sync: %s", strerror(errno));
        return -1;
    }
    s->wal_len = end;
    return 0;
}

int
wal_commit(struct store *s)
{
    struct buf *b = &s->scratch;
    uint8_t h[8];

    buf_reset(b);
    if (buf_append(b, h, sizeof(h)) < 0 ||
        buf_put_varint(b, s->wal_n_labels) < 0 ||
        buf_append(b, s->wal_labels.data, s->wal_labels.len) < 0 ||
        buf_put_varint(b, s->wal_n_recs) < 0 ||
        buf_append(b, s->wal_recs.data, s->wal_recs.len) < 0) {
        store_set_err(s, "wal entry too large");
        return -1;
    }
    le32_store(b->data, (uint32_t)(b->len - 8));
    le32_store(b->data + 4, compress_crc32(0, b->data + 8, b->len - 8));
    if (store_write_at(s, s->wal_fd, "wal", b->data, b->len, s->wal_len) < 0 ||
        fdatasync(s->wal_fd) < 0) {
        store_set_err(s, "wal write: %s", strerror(errno));
        /* Best effort: a partial entry would be cut at replay anyway and
         * is overwritten by the next attempt (same offset). */
        if (ftruncate(s->wal_fd, (off_t)s->wal_len) < 0) {
            /* ignored: see above */
        }
        return -1;
    }
    s->wal_len += b->len;
    wal_pending_clear(s);
    return 0;
}

int
wal_reset(struct store *s)
{
    /* No sync needed: the sealed block was synced first, and a truncation
     * lost in a crash only leaves records in both places (see above). */
    if (ftruncate(s->wal_fd, STORE_WAL_HDR_LEN) < 0) {
        /* Records stay in both places; replay skips them by high water. */
        store_set_err(s, "wal truncate: %s", strerror(errno));
        return -1;
    }
    s->wal_len = STORE_WAL_HDR_LEN;
    return 0;
}
