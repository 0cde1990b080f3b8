/* SPDX-License-Identifier: MIT */
/*
 * wal: the store's write-ahead log (wal.lqw, wal-<k>.lqw; format in
 * collector/STORE.md). Holds committed records that are not yet sealed
 * into a segment block: one checksummed entry per commit, appended to the
 * current file on the store's thread and fdatasync'ed by the syncing
 * thread (syncer.c). When the tail is handed to the
 * sealing thread, commits move on to a clean file with a newer generation;
 * the files that held the tail are emptied once its blocks are synced:
 * a version 5 file takes a new generation in its header and keeps its
 * blocks (its stale entries are cut at the close, or once the store is
 * idle: store_wal_trim), an older one is
 * truncated to its header. At open every file is replayed in generation
 * order up to its first bad entry (a torn write), which is cut off.
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
    s->wal_n_labels = 0;
    s->wal_n_recs = 0;
    s->wal_from = s->tail.body.len;
    s->wal_from_prev[0] = s->tail.prev_ns[0];
    s->wal_from_prev[1] = s->tail.prev_ns[1];
    s->wal_gen++;
}

static char *
wal_path(const struct store *s, size_t k)
{
    if (k == 0)
        return xasprintf("%s/wal.lqw", s->dir);
    return xasprintf("%s/wal-%zu.lqw", s->dir, k);
}

/* Empties file w and gives it a fresh generation (header synced). A file
 * that is a current header alone (a released one, at each seal) only has
 * its header overwritten, not synced, on the store's thread: the fdatasync
 * of the first commit written after it covers it (the same file), and
 * until then the file holds nothing that replay needs (its old entries,
 * if the truncation was lost, are sealed: skipped by high water). So has
 * a file without a header (w->len 0: created at open, or shorter than a
 * header), whose 16 bytes cover whatever it held. */
static int
wal_write_header(struct store *s, struct store_wal_file *w)
{
    uint8_t h[STORE_WAL_HDR_LEN];
    int is_clean = (w->len == STORE_WAL_HDR_LEN &&
                    w->hdr_len == STORE_WAL_HDR_LEN &&
                    w->version == STORE_WAL_VERSION) || w->len == 0;

    w->gen = ++s->wal_gen_max;
    w->version = STORE_WAL_VERSION;
    w->hdr_len = STORE_WAL_HDR_LEN;
    le32_store(h, STORE_WAL_MAGIC);
    le32_store(h + 4, STORE_WAL_VERSION);
    le64_store(h + 8, w->gen);
    if (is_clean) {
        if (store_write_at(s, w->fd, "wal", h, sizeof(h), 0) < 0) {
            store_set_err(s, "wal header: %s", strerror(errno));
            return -1;
        }
        w->len = w->hdr_len;
        w->is_dirty = 0;
        return 0;
    }
    if (ftruncate(w->fd, 0) < 0 ||
        store_write_at(s, w->fd, "wal", h, sizeof(h), 0) < 0 ||
        fdatasync(w->fd) < 0) {
        store_set_err(s, "wal header: %s", strerror(errno));
        return -1;
    }
    w->len = w->hdr_len = STORE_WAL_HDR_LEN;
    w->is_dirty = 0;
    return 0;
}

/* A label of an entry being decoded: its strings point into the entry,
 * interned only once the whole entry decoded and a record uses it. */
struct wal_lab {
    uint64_t            idx;    /* version 4: its number in the tail */
    const uint8_t      *str[4]; /* host, container id, name, image */
    size_t              len[4];
    struct store_label *l;      /* NULL until interned */
};

/* A decoded entry: its labels and records (recs[i].label indexes labs). */
struct wal_entry {
    struct wal_lab    *labs;
    size_t             n_labs, cap_labs;
    uint64_t           n_recs;
    struct store_rec **recs;
    size_t            *cap;
};

static int
wal_lab_cmp(const void *a, const void *b)
{
    const struct wal_lab *x = a, *y = b;

    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Reads one label's four strings (varint length, bytes; versions 2 to 4
 * alike) into a new entry of e->labs, which grows with what is read (so
 * a count in the entry cannot make it large). */
static int
wal_read_label(struct reader *r, struct wal_entry *e, uint64_t idx)
{
    if (e->n_labs == e->cap_labs) {
        e->cap_labs = e->cap_labs ? e->cap_labs * 2 : 8;
        e->labs = xreallocarray(e->labs, e->cap_labs, sizeof(*e->labs));
    }
    struct wal_lab *x = &e->labs[e->n_labs];
    x->idx = idx;
    x->l = NULL;
    for (int k = 0; k < 4; k++) {
        uint64_t l;
        if (reader_varint(r, &l) < 0 || l > reader_left(r) ||
            reader_bytes(r, (size_t)l, &x->str[k]) < 0)
            return -1;
        x->len[k] = (size_t)l;
    }
    e->n_labs++;
    return 0;
}

/* A version 4 entry: the label table numbers each label as the tail did
 * (any numbers, each once); the rows are the tail's bytes, their time
 * deltas from the two times the entry gives. Every row's label must be in
 * the table (each row's label becomes its index in e->labs). -1 if it
 * does not decode whole; nothing outside e is touched. */
static int
wal_decode_v4(const uint8_t *p, size_t len, struct wal_entry *e)
{
    struct reader r;
    uint64_t n_labels, zt, zr;

    reader_init(&r, p, len);
    if (reader_varint(&r, &n_labels) < 0 || n_labels > len / 5)
        return -1;
    for (uint64_t i = 0; i < n_labels; i++) {
        uint64_t idx;
        if (reader_varint(&r, &idx) < 0 || idx > UINT32_MAX ||
            wal_read_label(&r, e, idx) < 0)
            return -1;
    }
    if (e->n_labs > 1)
        qsort(e->labs, e->n_labs, sizeof(*e->labs), wal_lab_cmp);
    for (size_t i = 1; i < e->n_labs; i++)
        if (e->labs[i].idx == e->labs[i - 1].idx)
            return -1;
    if (reader_varint(&r, &e->n_recs) < 0 || e->n_recs > UINT32_MAX ||
        reader_varint(&r, &zt) < 0 || reader_varint(&r, &zr) < 0)
        return -1;
    int64_t prev[2] = { blk_zz_dec(zt), blk_zz_dec(zr) };
    if (block_body_decode_at(p + r.pos, reader_left(&r), (uint32_t)e->n_recs,
                             UINT32_MAX, prev, e->recs, e->cap) < 0)
        return -1;
    for (uint64_t i = 0; i < e->n_recs; i++) {
        struct store_rec *x = &(*e->recs)[i];
        struct wal_lab key = { .idx = x->label };
        const struct wal_lab *f = e->n_labs == 0 ? NULL :
                                  bsearch(&key, e->labs, e->n_labs,
                                          sizeof(*e->labs), wal_lab_cmp);
        if (f == NULL)
            return -1;
        x->label = (uint32_t)(f - e->labs);
    }
    return 0;
}

/* A version 2 or 3 entry (rows with receive times if has_recv): its own
 * label table, rows as in a block body. -1 if it does not decode whole. */
static int
wal_decode_v23(const uint8_t *p, size_t len, int has_recv,
               struct wal_entry *e)
{
    struct reader r;
    uint64_t n_labels;

    reader_init(&r, p, len);
    if (reader_varint(&r, &n_labels) < 0 || n_labels > len / 4)
        return -1;
    for (uint64_t i = 0; i < n_labels; i++)
        if (wal_read_label(&r, e, i) < 0)
            return -1;
    if (reader_varint(&r, &e->n_recs) < 0 || e->n_recs > UINT32_MAX)
        return -1;
    return block_body_decode(p + r.pos, reader_left(&r), (uint32_t)e->n_recs,
                             (uint32_t)n_labels, has_recv, e->recs, e->cap);
}

/* Replays a decoded entry's records, interning each label as the first
 * record of it comes (a label no record uses is not taken). -1 if a
 * record cannot be added (store_add's uncommitted cap). */
static int
wal_replay_recs(struct store *s, struct wal_entry *e)
{
    for (uint64_t i = 0; i < e->n_recs; i++) {
        struct store_rec *x = &(*e->recs)[i];
        struct wal_lab *lab = &e->labs[x->label];
        if (lab->l == NULL)
            lab->l = store_label_intern(s, lab->str, lab->len);
        int a = store_replay_record(s, lab->l, x);
        if (a < 0)
            return -1;
        s->n_wal_replayed += (uint64_t)a;
    }
    return 0;
}

/* Decodes one entry payload and replays its records. -1 if malformed
 * (nothing of it taken: no record, no label) or a record cannot be added.
 * Version 3 rows carry receive times, version 4 entries are the tail's
 * rows (wal_decode_v4), version 5 the same after the file's generation. An entry of a file whose header was damaged
 * (*version 0) may be of any: tried as version 4, then with receive
 * times, then without (an entry written as one version always decodes as
 * it: its crc matched); the first that decodes sets *version (4, 3 or
 * 2): a file holds entries of one version, the later ones are read as
 * that one. Only a decode failure moves on to the next version: an entry
 * that decoded is replayed as that version or not at all. */
static int
wal_replay_entry(struct store *s, uint32_t *version, const uint8_t *p,
                 size_t len, struct store_rec **recs, size_t *cap)
{
    struct wal_entry e = { .recs = recs, .cap = cap };
    uint32_t v = *version, got = 4;
    int rc = -1;

    if (v == 5)                 /* its generation checked by wal_replay */
        rc = len >= 8 ? wal_decode_v4(p + 8, len - 8, &e) : -1;
    if (v == 4 || v == 0)
        rc = wal_decode_v4(p, len, &e);
    if (rc < 0 && v != 4 && v != 5) {
        e.n_labs = 0;
        got = 3;
        rc = v == 0 || v >= 3 ? wal_decode_v23(p, len, 1, &e) : -1;
        if (rc < 0) {
            e.n_labs = 0;
            got = 2;
            rc = wal_decode_v23(p, len, 0, &e);
        }
    }
    if (rc == 0) {
        if (v == 0)
            *version = got;
        rc = wal_replay_recs(s, &e);
    }
    free(e.labs);
    return rc;
}

/* Replays entries from off; returns the end of the last good one.
 * *version 0 (a damaged header): set by the first entry that decodes.
 * Version 5: the end mark (8 zero bytes, written after each entry) or an
 * entry of another generation than gen (whole: its crc matched, one a
 * reused file kept from before: wal_release) ends the file's entries and
 * is not a torn one (*is_stale 1). */
static uint64_t
wal_replay(struct store *s, int fd, uint32_t *version, uint64_t gen,
           uint64_t pos, uint64_t size, int *is_stale)
{
    struct buf payload;
    struct store_rec *recs = NULL;
    size_t cap = 0;

    buf_init(&payload, STORE_MAX_WAL_ENTRY);
    while (size - pos >= 8) {
        uint8_t h[8];
        if (pread(fd, h, 8, (off_t)pos) != 8)
            break;
        uint32_t len = le32_load(h), crc = le32_load(h + 4);
        if (*version == 5 && len == 0 && crc == 0) {
            *is_stale = 1;      /* the end mark after the last entry */
            break;
        }
        if (len > STORE_MAX_WAL_ENTRY || len > size - pos - 8)
            break;
        buf_reset(&payload);
        if (buf_reserve(&payload, len) < 0 ||
            pread(fd, payload.data, len, (off_t)(pos + 8)) != (ssize_t)len)
            break;
        if (compress_crc32(0, payload.data, len) != crc)
            break;
        if (*version == 5 && (len < 8 || le64_load(payload.data) != gen)) {
            *is_stale = len >= 8;
            break;
        }
        if (wal_replay_entry(s, version, payload.data, len, &recs, &cap) < 0)
            break;
        pos += 8 + (uint64_t)len;
    }
    free(recs);
    buf_fini(&payload);
    return pos;
}

/* A file whose header is damaged: whether its first entry is a whole
 * version 5 one (its crc matches, it decodes); then *gen is its
 * generation, the file's (a version 5 file's first entry is always of
 * its latest generation: each one writes its entries from the header). */
static int
wal_peek_v5(int fd, uint64_t size, uint64_t *gen)
{
    uint8_t h[8];
    struct buf payload;
    struct store_rec *recs = NULL;
    size_t cap = 0;
    int ok = 0;

    if (size < STORE_WAL_HDR_LEN + 8 ||
        pread(fd, h, 8, STORE_WAL_HDR_LEN) != 8)
        return 0;
    uint32_t len = le32_load(h);
    if (len < 8 || len > STORE_MAX_WAL_ENTRY ||
        len > size - STORE_WAL_HDR_LEN - 8)
        return 0;
    buf_init(&payload, STORE_MAX_WAL_ENTRY);
    if (buf_reserve(&payload, len) == 0 &&
        pread(fd, payload.data, len, STORE_WAL_HDR_LEN + 8) == (ssize_t)len &&
        compress_crc32(0, payload.data, len) == le32_load(h + 4)) {
        struct wal_entry e = { .recs = &recs, .cap = &cap };
        *gen = le64_load(payload.data);
        ok = *gen < UINT64_MAX &&
             wal_decode_v4(payload.data + 8, len - 8, &e) == 0;
        free(e.labs);
    }
    free(recs);
    buf_fini(&payload);
    return ok;
}

/* Opens file k (creating it if absent: 2, else 1) and reads its header:
 * version 1 (8 bytes, generation 0) to 5. A damaged header is counted and
 * taken as version 0 (entries check themselves: wal_replay_entry). -1
 * error. */
static int
wal_open_file(struct store *s, size_t k)
{
    char *path = wal_path(s, k);
    struct store_wal_file *w = &s->wals[k];
    struct stat st;
    uint8_t h[STORE_WAL_HDR_LEN];
    int rc = 1;

    memset(w, 0, sizeof(*w));
    w->fd = open(path, O_RDWR | O_CLOEXEC, STORE_FILE_MODE);
    if (w->fd < 0 && errno == ENOENT) {
        w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, STORE_FILE_MODE);
        rc = 2;
    }
    if (w->fd < 0 || fstat(w->fd, &st) < 0) {
        store_set_err(s, "open %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    free(path);
    s->n_wals = k + 1 > s->n_wals ? k + 1 : s->n_wals;
    w->len = (uint64_t)st.st_size;
    w->hdr_len = STORE_WAL_HDR_LEN;
    w->version = STORE_WAL_VERSION;
    if (w->len < STORE_WAL_HDR_LEN_V1) {
        if (w->len > 0)
            s->n_torn_cuts++;
        w->len = 0;                     /* header written below */
        return rc;
    }
    ssize_t n = pread(w->fd, h, sizeof(h), 0);
    if (n >= STORE_WAL_HDR_LEN_V1 && le32_load(h) == STORE_WAL_MAGIC &&
        le32_load(h + 4) == 1) {
        w->hdr_len = STORE_WAL_HDR_LEN_V1;
        w->version = 1;
        return 1;
    }
    if (n == (ssize_t)sizeof(h) && le32_load(h) == STORE_WAL_MAGIC &&
        le32_load(h + 4) >= 2 && le32_load(h + 4) <= STORE_WAL_VERSION) {
        w->gen = le64_load(h + 8);
        w->version = le32_load(h + 4);
        return 1;
    }
    if (w->len < STORE_WAL_HDR_LEN) {   /* torn header */
        s->n_torn_cuts++;
        w->len = 0;
        return 1;
    }
    s->n_corrupt++;                     /* replayed, then rewritten */
    w->is_bad_hdr = 1;
    if (wal_peek_v5(w->fd, w->len, &w->gen)) {
        w->version = 5;                 /* in its place among the others */
        return 1;
    }
    w->gen = UINT64_MAX;                /* after the others: newest */
    w->version = 0;
    return 1;
}

static int
wal_gen_cmp(const void *a, const void *b)
{
    const struct store_wal_file *x = *(struct store_wal_file *const *)a;
    const struct store_wal_file *y = *(struct store_wal_file *const *)b;

    /* Files of one generation (those created at open: 0) in descending
     * number, so that a new store commits to wal.lqw first. */
    if (x->gen != y->gen)
        return x->gen < y->gen ? -1 : 1;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Replays file w, cuts a torn tail; rewrites a damaged header. The
 * entries a reused version 5 file kept from its earlier generations stay
 * (not torn: the next commits overwrite them). */
static int
wal_replay_file(struct store *s, struct store_wal_file *w)
{
    if (w->len == 0)
        return wal_write_header(s, w);
    uint32_t version = w->version;
    int is_stale = 0;
    uint64_t end = wal_replay(s, w->fd, &version, w->gen, w->hdr_len, w->len,
                              &is_stale);
    int is_bad_hdr = w->is_bad_hdr;
    if (end < w->len && !is_stale) {
        s->n_torn_cuts++;
        if (ftruncate(w->fd, (off_t)end) < 0 || fdatasync(w->fd) < 0) {
            store_set_err(s, "wal truncate: %s", strerror(errno));
            return -1;
        }
    }
    w->len = end;
    w->is_dirty = end > w->hdr_len;
    if (is_bad_hdr) {
        /* The version its entries were read as (the current one if none
         * is left), so the next open reads them alike; an older one moves
         * the commits to another file (wal_cur_upgrade). */
        uint8_t h[STORE_WAL_HDR_LEN];
        /* A version 5 file keeps its generation: its entries carry it
         * (wal_peek_v5 found it, so it was replayed in its place). */
        if (version != 5 || end == w->hdr_len)
            w->gen = ++s->wal_gen_max;
        w->is_bad_hdr = 0;
        w->version = end > w->hdr_len && version != 0 ? version :
                     STORE_WAL_VERSION;
        le32_store(h, STORE_WAL_MAGIC);
        le32_store(h + 4, w->version);
        le64_store(h + 8, w->gen);
        if (store_write_at(s, w->fd, "wal", h, sizeof(h), 0) < 0 ||
            fdatasync(w->fd) < 0) {
            store_set_err(s, "wal header: %s", strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* The current file is of an older version: emptied with a new header if
 * it holds nothing, else commits move to a clean (or new) file; the old
 * file stays dirty and is released by the next seal like any other. */
static int
wal_cur_upgrade(struct store *s)
{
    struct store_wal_file *w = &s->wals[s->wal_cur];
    uint32_t mask;

    if (w->version == STORE_WAL_VERSION)
        return 0;
    if (!w->is_dirty)
        return wal_write_header(s, w);
    if (wal_detach(s, &mask) < 0)
        return -1;
    for (size_t k = 0; k < s->n_wals; k++)
        if (mask & (1u << k))
            s->wals[k].is_owned = 0;    /* no job holds them yet */
    return 0;
}

/* Every file is opened, those absent created (their directory entries
 * synced once, here): a commit that moves to a clean file (wal_detach,
 * each seal) never creates one and fsyncs the data directory on the
 * store's thread, which took 100-300 ms while the disk wrote back other
 * files (BENCHMARKS.md "Live tail: WAL files made at open"). A new file
 * is a bare header, not synced: the first commit's fdatasync in it
 * covers it, and until then it holds nothing replay needs. */
int
wal_open_replay(struct store *s)
{
    struct store_wal_file *order[STORE_WAL_MAX_FILES];
    size_t n = 0;
    int is_created = 0;

    for (size_t k = 0; k < STORE_WAL_MAX_FILES; k++) {
        int rc = wal_open_file(s, k);
        if (rc < 0)
            return -1;
        is_created |= rc == 2;
    }
    if (is_created && store_fsync_dir(s->dir) < 0) {
        store_set_err(s, "wal: fsync %s: %s", s->dir, strerror(errno));
        return -1;
    }
    for (size_t k = 0; k < s->n_wals; k++) {
        if (s->wals[k].fd < 0)
            continue;
        order[n++] = &s->wals[k];
        if (s->wals[k].gen != UINT64_MAX && s->wals[k].gen > s->wal_gen_max)
            s->wal_gen_max = s->wals[k].gen;
    }
    qsort(order, n, sizeof(order[0]), wal_gen_cmp);
    for (size_t i = 0; i < n; i++)
        if (wal_replay_file(s, order[i]) < 0)
            return -1;
    s->tail.committed_len = s->tail.visible_len = s->tail.body.len;
    s->tail.committed_n = s->tail.visible_n = s->tail.n_records;
    s->tail.committed_prev[0] = s->tail.visible_prev[0] = s->tail.prev_ns[0];
    s->tail.committed_prev[1] = s->tail.visible_prev[1] = s->tail.prev_ns[1];
    s->tail_wal_first = s->tail.n_records ? 0 : UINT64_MAX;  /* durable */
    wal_pending_clear(s);       /* the entries go on after the tail */
    /* Commits go on in the newest file, never after entries of an older
     * version (STORE.md "Write-ahead log"): the one with the highest
     * generation once replayed (a file given a header here, empty, is
     * newer than every file read). */
    s->wal_cur = (size_t)(order[n - 1] - s->wals);
    for (size_t i = 0; i < n; i++)
        if (order[i]->gen > s->wals[s->wal_cur].gen)
            s->wal_cur = (size_t)(order[i] - s->wals);
    return wal_cur_upgrade(s);
}

/* One entry (length, crc, the file's generation, label table, count, the
 * times before its first row, rows) is written with pwritev: the label table from its pending
 * buffer, the rows straight from the tail's body (the same bytes: no
 * second encoding of each record, no copy). Its fdatasync is the syncing
 * thread's (store_commit_begin). */
int
wal_write(struct store *s)
{
    if (wal_write_upto(s, s->tail.body.len) < 0)
        return -1;
    wal_pending_clear(s);
    return 0;
}

/* One entry at the current file's written end: its label table (n_labels
 * of them, encoded), n_recs rows of rows_len bytes whose first time
 * deltas are from prev. */
static int
wal_write_entry(struct store *s, const struct buf *labels, uint32_t n_labels,
                uint32_t n_recs, const int64_t prev[2], const uint8_t *rows,
                size_t rows_len)
{
    struct store_wal_file *w = &s->wals[s->wal_cur];
    uint8_t h[8 + 8 + 10], mid[30];
    le64_store(h + 8, w->gen);  /* version 5: the file's generation */
    size_t hl = 16 + block_varint_encode(h + 16, n_labels);
    size_t ml = block_varint_encode(mid, n_recs);
    ml += block_varint_encode(mid + ml, blk_zz_enc(prev[0]));
    ml += block_varint_encode(mid + ml, blk_zz_enc(prev[1]));
    size_t len = hl + labels->len + ml + rows_len;
    static const uint8_t end_mark[8];   /* overwritten by the next entry */
    struct iovec iov[5] = {
        { h, hl }, { labels->data, labels->len },
        { mid, ml }, { (void *)rows, rows_len }, { (void *)end_mark, 8 },
    };

    if (len > STORE_MAX_RAW + STORE_MAX_META) {
        store_set_err(s, "wal entry too large");
        return -1;
    }
    uint32_t crc = compress_crc32(0, h + 8, hl - 8);
    crc = compress_crc32(crc, labels->data, labels->len);
    crc = compress_crc32(crc, mid, ml);
    crc = compress_crc32(crc, rows, rows_len);
    le32_store(h, (uint32_t)(len - 8));
    le32_store(h + 4, crc);
    /* After the entries written and not synced yet (the commit in
     * flight's and those written ahead of it), else at the durable end. */
    uint64_t at = s->cm.wend ? s->cm.wend : w->len;
    if (store_writev_at(s, w->fd, "wal", iov, 5, at) < 0) {
        store_set_err(s, "wal write: %s", strerror(errno));
        /* Best effort: a partial entry would be cut at replay anyway and
         * is overwritten by the next attempt (same offset). */
        if (ftruncate(w->fd, (off_t)at) < 0) {
            /* ignored: see above */
        }
        return -1;
    }
    s->cm.wend = at + len;
    s->n_wal_writes++;
    return 0;
}

int
wal_write_upto(struct store *s, size_t to)
{
    return wal_write_entry(s, &s->wal_labels, s->wal_n_labels, s->wal_n_recs,
                           s->wal_from_prev, s->tail.body.data + s->wal_from,
                           to - s->wal_from);
}

/* A closed chunk's entry: its labels numbered as its rows number them
 * (the tail's table it was closed from, or a split's own), its rows from
 * the chunk's first record (times from 0, 0). */
int
wal_write_chunk(struct store *s, const struct seal_chunk *ch)
{
    static const int64_t zero[2];
    struct buf lab;
    int rc = -1;

    buf_init(&lab, STORE_MAX_PENDING);
    for (uint32_t i = 0; i < ch->n_labels; i++) {
        const struct store_label *l = s->labels[ch->ids[i]];
        if (buf_put_varint(&lab, i) < 0 ||
            block_put_str(&lab, l->host, l->host_len) < 0 ||
            block_put_str(&lab, l->cid, l->cid_len) < 0 ||
            block_put_str(&lab, l->name, l->name_len) < 0 ||
            block_put_str(&lab, l->image, l->image_len) < 0) {
            store_set_err(s, "wal entry too large");
            goto out;
        }
    }
    rc = wal_write_entry(s, &lab, ch->n_labels, ch->n_records, zero,
                         ch->body.data, ch->body.len);
out:
    buf_fini(&lab);
    return rc;
}

void
wal_write_done(struct store *s, int is_ok)
{
    struct store_wal_file *w = &s->wals[s->cm.wal];

    if (is_ok) {
        w->len = s->cm.end;
        w->is_dirty = 1;
        if (s->cm.wend == s->cm.end)
            s->cm.wend = 0;             /* none written since it began */
        return;
    }
    /* As a failed write: the file is cut back to its durable end, the
     * entries written ahead of the failed sync with it, and they are
     * written again (with the records appended since) from there. */
    if (ftruncate(w->fd, (off_t)s->cm.off) < 0) {
        /* ignored: replay cuts a torn entry, and the retry overwrites */
    }
    s->cm.wend = 0;
}

int
wal_detach(struct store *s, uint32_t *mask)
{
    size_t k, pick = SIZE_MAX;

    *mask = 0;
    for (k = 0; k < s->n_wals; k++) {
        struct store_wal_file *w = &s->wals[k];
        if (w->fd < 0 || w->is_owned)
            continue;
        if (w->is_dirty)
            *mask |= 1u << k;
        else if (pick == SIZE_MAX)
            pick = k;
    }
    /* Every file exists from the open on (wal_open_replay): none is
     * created here, on the store's thread. */
    if (pick == SIZE_MAX) {
        store_set_err(s, "no free wal file");
        return -1;
    }
    if (wal_write_header(s, &s->wals[pick]) < 0)
        return -1;
    for (k = 0; k < s->n_wals; k++)
        if (*mask & (1u << k))
            s->wals[k].is_owned = 1;
    s->wal_cur = pick;
    return 0;
}

void
wal_release(struct store *s, uint32_t mask, uint32_t cut, int is_ok)
{
    for (size_t k = 0; k < s->n_wals; k++) {
        struct store_wal_file *w = &s->wals[k];
        if (!(mask & (1u << k)))
            continue;
        w->is_owned = 0;
        if (!is_ok)
            continue;
        /* No sync needed: the sealed blocks were synced first, and a
         * truncation (or new generation) lost in a crash only leaves
         * records in both places (replay skips them by high water). A
         * version 5 file is not cut: its blocks stay allocated and
         * written, so that the next commits in it overwrite them and
         * their fdatasync has no metadata to commit (no block allocated,
         * no size changed: BENCHMARKS.md "Live tail: WAL files reused");
         * its header takes a new generation, past which its entries are
         * stale (wal_replay). */
        if (w->version == STORE_WAL_VERSION &&
            w->hdr_len == STORE_WAL_HDR_LEN) {
            uint64_t len = w->len;
            w->len = w->hdr_len;        /* the header alone is rewritten */
            if (wal_write_header(s, w) < 0) {
                w->len = len;
                continue;       /* stays dirty: sealed again, skipped */
            }
        } else if (!(cut & (1u << k)) &&
                   ftruncate(w->fd, (off_t)w->hdr_len) < 0) {
            continue;           /* stays dirty: sealed again, skipped */
        }
        w->len = w->hdr_len;
        w->is_dirty = 0;
    }
}

/* Closes every file. A version 5 file reused after seals keeps the
 * entries of its earlier generations past its live end (wal_release): at
 * the close they are cut, so that a stopped store keeps only what replay
 * needs on disk (up to 8 files of a tail's size each otherwise). Not
 * while a commit is in flight: its entry's end is not known yet. No sync:
 * a cut lost in a crash leaves the end mark or stale entries, which
 * replay stops at. */
void
wal_close_all(struct store *s)
{
    for (size_t k = 0; k < s->n_wals; k++) {
        struct store_wal_file *w = &s->wals[k];
        if (w->fd < 0)
            continue;
        /* The current file's entries written and not synced are kept
         * (a caller that closed without its last commit). */
        uint64_t end = k == s->wal_cur && s->cm.wend ? s->cm.wend : w->len;
        if (!s->cm.is_busy && w->version == STORE_WAL_VERSION &&
            w->hdr_len == STORE_WAL_HDR_LEN && w->len >= w->hdr_len &&
            ftruncate(w->fd, (off_t)end) < 0) {
            /* ignored: the stale bytes stay, replay stops at them */
        }
        close(w->fd);
    }
    s->n_wals = 0;
}

/* Cuts each version 5 file past its live end, as the close does, when
 * no entry was written since the previous call and none is in flight:
 * the entries of the file's earlier generations (wal_release), up to a
 * tail's bytes in each of 8 files, stayed on disk for as long as the
 * collector ran (30 MiB after the 1 GiB bench, /health's stored_bytes
 * counting none of it). The next commits grow the files again, their
 * first fdatasyncs committing the journal once. No sync: a cut lost in
 * a crash leaves stale entries, which replay stops at. */
uint64_t
store_wal_trim(struct store *s)
{
    uint64_t n = 0;

    if (s->cm.is_busy || s->cm.wend ||
        s->n_wal_writes != s->wal_trim_writes) {
        s->wal_trim_writes = s->n_wal_writes;
        return 0;
    }
    segment_spare_trim(s);      /* idle: the burst's spare bodies go */
    for (size_t k = 0; k < s->n_wals; k++) {
        struct store_wal_file *w = &s->wals[k];
        struct stat st;
        if (w->fd < 0 || w->version != STORE_WAL_VERSION ||
            w->hdr_len != STORE_WAL_HDR_LEN || w->len < w->hdr_len ||
            fstat(w->fd, &st) < 0 || (uint64_t)st.st_size <= w->len)
            continue;
        if (ftruncate(w->fd, (off_t)w->len) == 0)
            n += (uint64_t)st.st_size - w->len;
    }
    return n;
}

uint64_t
wal_bytes(const struct store *s)
{
    uint64_t n = 0;

    for (size_t k = 0; k < s->n_wals; k++)
        if (s->wals[k].fd >= 0)
            n += s->wals[k].len;
    return n;
}
