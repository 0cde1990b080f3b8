/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wal: libFuzzer target for the store's WAL replay at open
 * (collector/store/wal.c; collector/STORE.md "Write-ahead log"): the
 * input is one or two WAL files (headers of versions 1 to 5 or damaged
 * ones, entries of versions 2 to 5, stale ones of version 5) put into an empty store's directory,
 * which is opened, read, closed and opened again.
 * Byte 0: bit 0 reseal: the harness walks the entries' length fields and
 * writes each entry's crc over its payload (so mutated payloads reach the
 * decoders: a fuzzer cannot forge a crc32); bit 1 two files: bytes 1-2
 * (little-endian) are wal.lqw's length, the rest after it wal-1.lqw's
 * (else wal.lqw is all the rest).
 * Invariants: the store opens; a full scan returns exactly the records
 * replayed (n_wal_replayed), no source's offset twice; the second open
 * cuts nothing (the first left whole files) and returns the same records
 * (every field, in the same order) and holds as many labels.
 * Seeds: WAL files written by the store's own code of versions 2 to 5
 * (tests/fuzz/walcorpus.sh).
 */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/store/store.h"
#include "common/buf.h"
#include "common/compress.h"
#include "common/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir_path[64];

/* Removes every file of the store's directory (the store makes no
 * subdirectory but for quarantine, which a replay never reaches). */
static void
fuzz_dir_clear(void)
{
    DIR *d = opendir(fuzz_dir_path);
    struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = xasprintf("%s/%s", fuzz_dir_path, e->d_name);
        (void)unlink(p);
        free(p);
    }
    closedir(d);
}

static void
fuzz_dir_remove(void)
{
    fuzz_dir_clear();
    (void)rmdir(fuzz_dir_path);
}

static const char *
fuzz_dir(void)
{
    char *dir = fuzz_dir_path;

    if (dir[0] == '\0') {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
                           "/tmp";
        snprintf(dir, sizeof(fuzz_dir_path), "%s/fuzz_wal.XXXXXX", base);
        assert(mkdtemp(dir) != NULL);
        atexit(fuzz_dir_remove);
    }
    return dir;
}

/* Rewrites each entry's crc (u32 length, u32 crc, payload) after the
 * header (8 bytes for version 1, else 16) up to the first length that
 * runs past the end. */
static void
fuzz_reseal(uint8_t *p, size_t len)
{
    size_t pos = len >= 8 && le32_load(p + 4) == 1 ? 8 : 16;

    while (pos <= len && len - pos >= 8) {
        uint32_t n = le32_load(p + pos);
        if (n > len - pos - 8)
            break;
        le32_store(p + pos + 4, compress_crc32(0, p + pos + 8, n));
        pos += 8 + (size_t)n;
    }
}

static void
fuzz_file(const char *dir, const char *name, uint8_t *p, size_t len,
          int is_reseal)
{
    char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert(fd >= 0);
    if (is_reseal)
        fuzz_reseal(p, len);
    assert(write(fd, p, len) == (ssize_t)len);
    close(fd);
    free(path);
}

static uint64_t
fuzz_hash(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return (h ^ n) * 1099511628211ULL;
}

static uint64_t
fuzz_hash_str(uint64_t h, const char *s)
{
    return fuzz_hash(h, s ? s : "", s ? strlen(s) + 1 : 0);
}

struct fuzz_rec {
    uint64_t src;       /* hash of host and container id */
    uint64_t offset;
    uint64_t all;       /* hash of every field */
};

static int
fuzz_rec_cmp(const void *a, const void *b)
{
    const struct fuzz_rec *x = a, *y = b;

    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Opens the store, reads every record into *out (n of them), checks
 * them against the stats, closes it. */
static void
fuzz_open_read(const char *dir, struct fuzz_rec **out, size_t *n,
               struct store_stats *st)
{
    struct store_options opt = { .seal_threads = 1 };
    char *err = NULL;
    struct store *s = store_open(dir, &opt, &err);

    if (s == NULL) {
        fprintf(stderr, "fuzz_wal: store_open: %s\n", err);
        abort();
    }
    store_get_stats(s, st);
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1 };
    struct store_cursor *c = store_cursor_new(s, &fl, 0);
    struct logrec r;
    size_t cap = 0;
    int rc;

    *n = 0;
    *out = NULL;
    while ((rc = store_cursor_next(c, &r)) == 1) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = xreallocarray(*out, cap, sizeof(**out));
        }
        struct fuzz_rec *x = &(*out)[(*n)++];
        x->src = fuzz_hash_str(fuzz_hash_str(14695981039346656037ULL,
                                             r.host), r.container_id);
        x->offset = r.offset;
        uint64_t h = fuzz_hash_str(x->src, r.container);
        h = fuzz_hash_str(h, r.image);
        h = fuzz_hash(h, &r.time_ns, sizeof(r.time_ns));
        h = fuzz_hash(h, &r.recv_ns, sizeof(r.recv_ns));
        h = fuzz_hash(h, &r.offset, sizeof(r.offset));
        h = fuzz_hash(h, &r.stream, sizeof(r.stream));
        h = fuzz_hash(h, &r.flags, sizeof(r.flags));
        x->all = fuzz_hash(h, r.msg, r.msg_len);
    }
    assert(rc == 0);                    /* the tail is in memory */
    store_cursor_free(c);
    store_close(s);
    assert(*n == st->n_wal_replayed);
    assert(*n == st->n_records);
    /* exactly once: no source's offset twice */
    struct fuzz_rec *v = xmalloc((*n ? *n : 1) * sizeof(*v));
    if (*n)
        memcpy(v, *out, *n * sizeof(*v));
    qsort(v, *n, sizeof(*v), fuzz_rec_cmp);
    for (size_t i = 1; i < *n; i++)
        assert(fuzz_rec_cmp(&v[i - 1], &v[i]) != 0);
    free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const char *dir = fuzz_dir();
    int is_reseal = data[0] & 1, is_two = (data[0] & 2) != 0;
    size_t body = is_two ? 3 : 1, len = size - body;
    uint8_t *p = xmalloc(len ? len : 1);

    if (len)
        memcpy(p, data + body, len);
    size_t cut = is_two ? (size_t)data[1] | (size_t)data[2] << 8 : len;
    if (cut > len)
        cut = len;
    fuzz_file(dir, "wal.lqw", p, cut, is_reseal);
    if (is_two)
        fuzz_file(dir, "wal-1.lqw", p + cut, len - cut, is_reseal);
    free(p);

    struct fuzz_rec *a, *b;
    size_t na, nb;
    struct store_stats sa, sb;
    fuzz_open_read(dir, &a, &na, &sa);
    fuzz_open_read(dir, &b, &nb, &sb);
    assert(sb.n_torn_cuts == 0);
    assert(nb == na);
    for (size_t i = 0; i < na; i++)
        assert(a[i].all == b[i].all);
    assert(sb.n_labels == sa.n_labels);
    free(a);
    free(b);
    fuzz_dir_clear();
    return 0;
}
