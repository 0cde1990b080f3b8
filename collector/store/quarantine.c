/* SPDX-License-Identifier: MIT */
/*
 * quarantine: a block the sealer cannot build (its meta does not encode,
 * or building it fails) must not stop the store. Its records are written
 * to a file of their own, quarantine-<ns>-<k>.lqq in the data directory
 * (format in collector/STORE.md), counted, and dropped from the sealing
 * pipeline so the store goes on sealing, accepting and serving. They are
 * no longer searchable; the file is for the operator. Runs on the store's
 * thread (it reads the interned labels).
 */
#include "collector/store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmalloc.h"

#define QUAR_MAGIC      "LQQ1"
#define QUAR_FLUSH      (1u << 20)      /* write out every MiB */

static int
quar_create(struct store *s, char **path_out)
{
    long long ns = (long long)store_now(s);

    for (unsigned k = 0; k < 100; k++) {
        char *path = xasprintf("%s/quarantine-%020lld-%02u.lqq", s->dir, ns,
                               k);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                      O_NOFOLLOW, STORE_FILE_MODE);
        if (fd >= 0) {
            *path_out = path;
            return fd;
        }
        free(path);
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

static int
quar_flush(struct store *s, int fd, struct buf *b, uint64_t *off)
{
    if (store_write_at(s, fd, "quarantine", b->data, b->len, *off) < 0)
        return -1;
    *off += b->len;
    buf_reset(b);
    return 0;
}

/* Labels, then records; flushed to fd as it grows. */
static int
quar_write(struct store *s, int fd, const struct seal_chunk *ch,
           const struct store_rec *recs)
{
    struct buf b;
    uint64_t off = 0;
    int rc = -1;

    buf_init(&b, 2 * STORE_MAX_META + STORE_MAX_RAW);
    if (buf_append(&b, QUAR_MAGIC, 4) < 0 ||
        buf_put_varint(&b, ch->n_labels) < 0)
        goto out;
    for (uint32_t i = 0; i < ch->n_labels; i++) {
        const struct store_label *l = s->labels[ch->ids[i]];
        if (block_put_str(&b, l->host, l->host_len) < 0 ||
            block_put_str(&b, l->cid, l->cid_len) < 0 ||
            block_put_str(&b, l->name, l->name_len) < 0 ||
            block_put_str(&b, l->image, l->image_len) < 0 ||
            (b.len >= QUAR_FLUSH && quar_flush(s, fd, &b, &off) < 0))
            goto out;
    }
    if (buf_put_varint(&b, ch->n_records) < 0)
        goto out;
    for (uint32_t i = 0; i < ch->n_records; i++) {
        const struct store_rec *r = &recs[i];
        int64_t t = r->time_ns;
        if (buf_put_varint(&b, r->label) < 0 ||
            buf_put_varint(&b, ((uint64_t)t << 1) ^ (uint64_t)(t >> 63)) < 0 ||
            buf_put_u8(&b, r->stream) < 0 || buf_put_u8(&b, r->flags) < 0 ||
            buf_put_varint(&b, r->offset) < 0 ||
            block_put_str(&b, r->msg, r->msg_len) < 0 ||
            (b.len >= QUAR_FLUSH && quar_flush(s, fd, &b, &off) < 0))
            goto out;
    }
    if (quar_flush(s, fd, &b, &off) < 0 || fdatasync(fd) < 0)
        goto out;
    rc = 0;
out:
    buf_fini(&b);
    return rc;
}

void
store_quarantine(struct store *s, const struct seal_chunk *ch)
{
    struct store_rec *recs = NULL;
    size_t cap = 0;
    char *path = NULL;
    int fd = -1, ok = 0;

    s->n_quar_blocks++;
    s->n_quar_records += ch->n_records;
    if (block_body_decode(ch->body.data, ch->body.len, ch->n_records,
                          ch->n_labels, 1, &recs, &cap) < 0)
        errno = EINVAL;         /* cannot happen: we encoded it */
    else if ((fd = quar_create(s, &path)) >= 0 &&
             quar_write(s, fd, ch, recs) == 0 && store_fsync_dir(s->dir) == 0)
        ok = 1;
    if (ok) {
        store_set_err(s, "block of %" PRIu32 " records could not be sealed: "
                      "quarantined in %s", ch->n_records, path);
    } else {
        s->n_quar_unsaved += ch->n_records;
        store_set_err(s, "block of %" PRIu32 " records could not be sealed "
                      "and its quarantine file could not be written: %s",
                      ch->n_records, strerror(errno));
        if (path)
            unlink(path);
    }
    if (fd >= 0)
        close(fd);
    free(path);
    free(recs);
}
