/* SPDX-License-Identifier: MIT */
/*
 * store_size: the stored bytes of plain log lines (one container per
 * FILE) as a share of the Docker json-file bytes they stand for, through
 * the store's own code (sealing thread, frames, token index, .lqi) with
 * the collector's defaults. Each line is wrapped as Docker's json-file
 * driver writes it (`{"log":"LINE\n","stream":"stdout","time":"..."}`,
 * Go's escaping: `"`, `\`, control bytes, and `<`, `>`, `&` as \u00XX;
 * a trailing CR stays in the log and leaves the message, as the shipper
 * strips it), with Docker-like times (1 ms apart plus a random part of
 * the millisecond), offsets advancing by each json-file line, and the
 * containers interleaved in batches of --batch lines, each batch one
 * commit with one receive time (as the shipper's batches arrive).
 *
 * Only full segments count: a segment's .lqi is written when it is full,
 * and the unsealed tail is in the WAL as rows, so a sample of a few MiB
 * would otherwise be measured mostly as WAL. Records are sealed in the
 * order they were appended, so the records of the full segments are the
 * first ones appended and their json-file bytes are known exactly; the
 * share is (their segment files + their .lqi) / (those json-file bytes).
 * --segment-size (default 64M, the collector's) lets a small sample fill
 * segments (bench.py gives the Loghub samples 1M: one block a segment).
 * --one-segment: the store as the collector's default segment size would
 * leave it, with the index written: the inputs are stored once with the
 * default size into DIR.probe (removed after) to learn the raw bytes of
 * the blocks sealed into its (not yet full) segment, then again into DIR
 * with that as the segment size, so those same blocks make one full
 * segment and its .lqi is written when the last of them is sealed, as a
 * 64 MiB segment's is once full (a sample that fills the default size
 * is measured at it). The unsealed tail stays out as in every run.
 *   make build/release/store-size
 *   build/release/store-size [--segment-size BYTES | --one-segment]
 *                            [--level L] [--batch N] [--recompact L]
 *                            [--frame-size BYTES] [--block-size BYTES]
 *                            [--codec8] DIR FILE...
 * --frame-size: the store's frame size (default 256 KiB); --block-size:
 * its block size (default 1 MiB: one sample file alone fills none, so
 * `--block-size 256K --frame-size 64K --segment-size 256K` measures
 * each at a quarter of the scale); --codec8:
 * blocks as version 5 wrote them (codec 8: message lengths in a column,
 * STORE.md "Newline-ended messages (codec 9)"), to compare.
 * --recompact L: then recompacts every full segment at zstd level L
 * (the store's own recompaction, STORE.md "Recompaction of cold
 * segments"), reopens the store and checks that a full scan both ways and a search
 * for each of up to 256 words of the inputs answer as before, without an
 * index rebuild (exit 1 if not).
 * Prints one line of key=value (bench.py reads it). Not part of make test
 * (BENCHMARKS.md "Stored size on real samples").
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/store/store.h"
#include "common/record.h"
#include "common/xmalloc.h"

#define T0 INT64_C(1795787440000000000)

struct input {
    char    *text;
    size_t   len, pos;
    uint64_t n_lines, offset, rng;
    char     id[65], name[32];
};

#define MAX_TOKS 256

struct sizes {
    uint64_t full_records, blocks, lqi, n_full, n_segs, open_raw;
};

static int64_t
fixed_clock(void *arg)
{
    (void)arg;
    return T0;
}

/* Bytes of Docker's json-file line for this log line (line without its
 * LF) stamped with time t: Go's encoder as Docker's jsonfilelog uses it,
 * RFC 3339 with nanoseconds, trailing zeros of the fraction dropped. */
static size_t
json_len(const char *m, size_t len, int64_t t)
{
    size_t n = strlen("{\"log\":\"") + len + 2 +
               strlen("\",\"stream\":\"stdout\",\"time\":\"") +
               strlen("2026-11-27T13:50:40") + strlen("Z\"}\n");
    int64_t frac = t % 1000000000;
    if (frac) {
        size_t digits = 9;
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        n += 1 + digits;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)m[i];
        if (c == '"' || c == '\\' || c == '\t' || c == '\n' || c == '\r')
            n++;
        else if (c < 0x20 || c == '<' || c == '>' || c == '&')
            n += 5;
    }
    return n;
}

static char *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 20, n = 0, got;
    char *p;

    if (!f) {
        fprintf(stderr, "store-size: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    p = xmalloc(cap);
    while ((got = fread(p + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            p = xreallocarray(p, cap *= 2, 1);
    }
    fclose(f);
    *len = n;
    return p;
}

/* The json-file size of every record appended, in order. */
struct lens {
    uint32_t *v;
    uint64_t  n, cap;
};

/* Appends up to batch lines of in; their json-file sizes go to jl. */
static uint64_t
append_batch(struct store *s, struct input *in, size_t batch,
             struct lens *jl)
{
    uint64_t n = 0;
    int64_t recv = T0 + (int64_t)in->n_lines * 1000000 + 5000000 +
                   (int64_t)batch * 1000000;

    while (n < batch && in->pos < in->len) {
        char *line = in->text + in->pos, *nl;
        size_t ll = in->len - in->pos;
        if ((nl = memchr(line, '\n', ll)) != NULL)
            ll = (size_t)(nl - line);
        in->pos += ll + (nl != NULL);
        in->rng = in->rng * 6364136223846793005ull + 1442695040888963407ull;
        int64_t t = T0 + (int64_t)in->n_lines++ * 1000000 +
                    (int64_t)((in->rng >> 33) % 1000000);
        size_t j = json_len(line, ll, t);
        size_t ml = ll && line[ll - 1] == '\r' ? ll - 1 : ll;
        in->offset += j;
        struct logrec r = {
            .time_ns = t, .recv_ns = recv, .host = "bench1",
            .container_id = in->id, .container = in->name,
            .image = "loghub:1", .stream = 0, .offset = in->offset,
            .msg = line, .msg_len = ml,
        };
        if (store_append(s, &r) != 1) {
            fprintf(stderr, "store-size: append: %s\n", store_errstr(s));
            exit(1);
        }
        if (jl->n == jl->cap)
            jl->v = xreallocarray(jl->v, jl->cap = jl->cap * 2 + 4096,
                                  sizeof(*jl->v));
        jl->v[jl->n++] = (uint32_t)j;
        n++;
    }
    return n;
}

/* Appends every input in turns of batch lines, one commit a turn. */
static void
feed(struct store *s, struct input *in, size_t n_in, size_t batch,
     struct lens *jl)
{
    uint64_t got;

    do {
        got = 0;
        for (size_t k = 0; k < n_in; k++) {
            got += append_batch(s, &in[k], batch, jl);
            if (store_commit(s) < 0) {
                fprintf(stderr, "store-size: commit: %s\n", store_errstr(s));
                exit(1);
            }
        }
    } while (got > 0);
    if (store_sync(s) < 0) {
        fprintf(stderr, "store-size: sync: %s\n", store_errstr(s));
        exit(1);
    }
}

static struct input *
inputs_load(char **paths, size_t n)
{
    struct input *in = xcalloc(n, sizeof(*in));

    for (size_t k = 0; k < n; k++) {
        in[k].text = read_all(paths[k], &in[k].len);
        in[k].rng = k + 1;
        for (size_t c = 0; c < 64; c++)
            in[k].id[c] = "0123456789abcdef"[(k * 7 + c) % 16];
        snprintf(in[k].name, sizeof(in[k].name), "app%zu", k);
    }
    return in;
}

static void
seg_cb(const struct store_segment_info *si, void *arg)
{
    struct sizes *z = arg;

    z->n_segs++;
    if (!si->is_sealed) {
        z->open_raw += si->raw_bytes;
        return;
    }
    z->n_full++;
    z->full_records += si->n_records;
    z->blocks += si->stored_bytes;
    z->lqi += si->index_bytes;
}

static uint64_t
parse_size(const char *v)
{
    char *end;
    uint64_t n = strtoull(v, &end, 10);

    if (*end == 'K' || *end == 'k')
        n <<= 10;
    else if (*end == 'M' || *end == 'm')
        n <<= 20;
    else if (*end == 'G' || *end == 'g')
        n <<= 30;
    return n;
}

/* ------------------------------------------------------------------ */
/* --recompact: the answers before and after recompaction              */

static uint64_t
fnv(uint64_t h, const void *p, size_t len)
{
    const unsigned char *q = p;

    for (size_t i = 0; i < len; i++)
        h = (h ^ q[i]) * 0x100000001b3ull;
    return h;
}

/* A hash of every record (and return code) a cursor gives. */
static uint64_t
digest_one(struct store *s, const char *tok, int newest_first)
{
    struct store_filter f = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
    };
    const char *toks[1] = { tok };
    struct logrec r;
    uint64_t h = 0xcbf29ce484222325ull;
    int rc;

    if (tok) {
        f.tokens = toks;
        f.n_tokens = 1;
        f.is_tokens_required = 1;
    }
    struct store_cursor *c = store_cursor_new(s, &f, newest_first);
    while ((rc = store_cursor_next(c, &r)) != 0) {
        h = fnv(h, &rc, sizeof(rc));
        if (rc != 1)
            continue;
        h = fnv(h, &r.time_ns, sizeof(r.time_ns));
        h = fnv(h, &r.offset, sizeof(r.offset));
        h = fnv(h, r.container_id, strlen(r.container_id));
        h = fnv(h, r.msg, r.msg_len);
    }
    store_cursor_free(c);
    return h;
}

/* Words of the inputs (a line's first run of 4+ letters or digits, one
 * line in 50): the searches compared. */
static size_t
pick_tokens(const struct input *in, size_t n_in, char toks[][32])
{
    size_t n = 0;

    for (size_t k = 0; k < n_in; k++) {
        uint64_t line = 0;
        for (size_t i = 0; i < in[k].len && n < MAX_TOKS; i++) {
            if (i > 0 && in[k].text[i - 1] != '\n')
                continue;
            if (line++ % 50 != 0)
                continue;
            size_t j = i, w = 0;
            while (j < in[k].len && in[k].text[j] != '\n') {
                char ch = in[k].text[j++];
                int is_w = (ch >= 'a' && ch <= 'z') || (ch >= '0' &&
                           ch <= '9') || (ch >= 'A' && ch <= 'Z');
                if (is_w && w < 31)
                    toks[n][w++] = ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
                else if (w >= 4)
                    break;
                else
                    w = 0;
            }
            if (w >= 4) {
                toks[n][w] = '\0';
                n++;
            }
        }
    }
    return n;
}

static uint64_t
digest(struct store *s, char toks[][32], size_t n_toks)
{
    uint64_t h = digest_one(s, NULL, 0) ^ digest_one(s, NULL, 1) * 3;

    for (size_t t = 0; t < n_toks; t++)
        h = h * 31 + digest_one(s, toks[t], 1);
    return h;
}

/* Recompacts every full segment at level (the store's own thread,
 * recompact.c), reopens the store and checks that it answers as before
 * (h0) without an index rebuild. */
static int
recompact_check(const char *dir, struct store_options opt, int level,
                char toks[][32], size_t n_toks, uint64_t h0)
{
    char *err = NULL;
    struct store_stats st;

    opt.recompact_level = level;
    opt.recompact_age_ns = 0;
    opt.clock = NULL;   /* after a reopen a segment's age is its mtime's */
    struct store *s = store_open(dir, &opt, &err);
    if (!s) {
        fprintf(stderr, "store-size: reopen: %s\n", err);
        return -1;
    }
    while (store_recompact_poll(s, 1) > 0)
        ;
    store_get_stats(s, &st);
    store_close(s);
    uint64_t n = st.n_recompacted, saved = st.recompact_saved_bytes;
    opt.recompact_level = 0;
    if ((s = store_open(dir, &opt, &err)) == NULL) {
        fprintf(stderr, "store-size: reopen: %s\n", err);
        return -1;
    }
    store_get_stats(s, &st);
    uint64_t h1 = digest(s, toks, n_toks);
    store_close(s);
    printf("recompact_level=%d recompacted_segments=%llu saved_bytes=%llu "
           "errors=%llu index_rebuilds=%llu searches=%zu answers=%s\n",
           level, (unsigned long long)n, (unsigned long long)saved,
           (unsigned long long)st.n_recompact_errors,
           (unsigned long long)st.n_index_rebuilds, n_toks + 2,
           h1 == h0 ? "same" : "DIFFER");
    return h1 == h0 && st.n_index_rebuilds == 0 && n > 0 ? 0 : -1;
}

/* Removes the probe store dir (files only) and dir. */
static void
probe_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        (void)unlink(path);
    }
    closedir(d);
    (void)rmdir(dir);
}

/* Stores every input (from its start) into a store opened in dir with
 * opt; its segments' sizes in z, the records' json-file sizes in jl. */
static struct store *
store_inputs(const char *dir, const struct store_options *opt,
             struct input *in, size_t n_in, size_t batch, struct lens *jl,
             struct sizes *z)
{
    char *err = NULL;
    struct store *s = store_open(dir, opt, &err);

    if (!s) {
        fprintf(stderr, "store-size: %s\n", err);
        exit(1);
    }
    for (size_t k = 0; k < n_in; k++) {
        in[k].pos = 0;
        in[k].n_lines = 0;
        in[k].offset = 0;
        in[k].rng = k + 1;
    }
    jl->n = 0;
    feed(s, in, n_in, batch, jl);
    *z = (struct sizes){ 0 };
    store_foreach_segment(s, seg_cb, z);
    return s;
}

/* --one-segment: the segment size that makes the blocks the default
 * size seals from these inputs one full segment (0: the default). */
static uint64_t
one_segment_size(const char *dir, struct store_options opt,
                 struct input *in, size_t n_in, size_t batch)
{
    size_t n = strlen(dir) + sizeof(".probe");
    char *probe = xmalloc(n);
    struct lens jl = { 0 };
    struct sizes z;

    snprintf(probe, n, "%s.probe", dir);
    opt.segment_size = 0;
    store_close(store_inputs(probe, &opt, in, n_in, batch, &jl, &z));
    probe_remove(probe);
    free(probe);
    free(jl.v);
    return z.n_full > 0 ? 0 : z.open_raw;
}

int
main(int argc, char **argv)
{
    struct store_options opt = { .clock = fixed_clock };
    size_t batch = 500;
    int i = 1, recompact = 0, is_one = 0;

    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--one-segment") == 0) {
            is_one = 1;
            i--;                /* no value */
        } else if (strcmp(argv[i], "--segment-size") == 0) {
            opt.segment_size = parse_size(argv[i + 1]);
        } else if (strcmp(argv[i], "--level") == 0) {
            opt.compress_level = (int)strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--batch") == 0) {
            batch = strtoul(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--recompact") == 0) {
            recompact = (int)strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--frame-size") == 0) {
            opt.frame_size = parse_size(argv[i + 1]);
        } else if (strcmp(argv[i], "--block-size") == 0) {
            opt.block_size = parse_size(argv[i + 1]);
        } else if (strcmp(argv[i], "--codec8") == 0) {
            opt.is_msg_lengths = 1;
            i--;                /* no value */
        } else {
            break;
        }
    }
    if (argc - i < 2 || batch == 0 || (is_one && opt.segment_size)) {
        fprintf(stderr, "usage: store-size [--segment-size BYTES | "
                "--one-segment] [--level L] [--batch N] [--recompact L] "
                "[--frame-size BYTES] [--block-size BYTES] [--codec8] "
                "DIR FILE...\n");
        return 2;
    }
    size_t n_in = (size_t)(argc - i - 1);
    struct input *in = inputs_load(argv + i + 1, n_in);
    if (is_one)
        opt.segment_size = one_segment_size(argv[i], opt, in, n_in, batch);
    struct lens jl = { 0 };
    struct sizes z;
    struct store *s = store_inputs(argv[i], &opt, in, n_in, batch, &jl, &z);
    static char toks[MAX_TOKS][32];
    size_t n_toks = recompact ? pick_tokens(in, n_in, toks) : 0;
    uint64_t h0 = recompact ? digest(s, toks, n_toks) : 0;
    store_close(s);
    /* sealed in the order appended: the full segments hold the first */
    uint64_t json = 0, json_full = 0;
    for (uint64_t r = 0; r < jl.n; r++) {
        json += jl.v[r];
        if (r < z.full_records)
            json_full += jl.v[r];
    }
    printf("records=%" PRIu64 " json_bytes=%" PRIu64 " segments=%" PRIu64
           " full_segments=%" PRIu64 " full_records=%" PRIu64
           " full_json_bytes=%" PRIu64 " blocks_bytes=%" PRIu64
           " lqi_bytes=%" PRIu64 " segment_size=%" PRIu64 "\n", jl.n, json,
           z.n_segs, z.n_full, z.full_records, json_full, z.blocks, z.lqi,
           opt.segment_size);
    int rc = recompact ? recompact_check(argv[i], opt, recompact, toks,
                                         n_toks, h0) : 0;
    for (size_t k = 0; k < n_in; k++)
        free(in[k].text);
    free(in);
    free(jl.v);
    return rc < 0;
}
