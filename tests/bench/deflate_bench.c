/* SPDX-License-Identifier: MIT */
/*
 * deflate_bench: what the shipper's batch compression costs, per encoder.
 * Reads plain log lines (one message per line) from the files named on the
 * command line, packs them into BATCH payloads the way sender_batch.c does
 * (wire_batch_enc: one source per file, time and offset advancing per
 * record, batches of --batch bytes), then compresses every batch with each
 * candidate and prints CPU seconds (CLOCK_PROCESS_CPUTIME_ID, one thread)
 * per GiB of json-file and the compressed size as a share of the json-file
 * bytes (--json-bytes: the size of the same lines as Docker json-file, which
 * the caller measured). Each output is decoded and compared with its
 * input, so a candidate that would break the collector fails loudly. The
 * decode columns time what the collector would run on every output: zlib's
 * inflate and libdeflate's decompressor for the zlib-format candidates,
 * ZSTD_decompressDCtx (one reused context) for zstd.
 *   deflate-bench --json-bytes N [--batch BYTES] [--rounds R]
 *                 [--only NAME_PREFIX] FILE...
 * Not part of make test; tests/bench/deflate_bench.sh drives it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include "common/buf.h"
#include "common/wire.h"
#include "common/xmalloc.h"

struct payload {
    uint8_t *p;
    size_t   len;
};

struct batches {
    struct payload *v;
    size_t          n;
    size_t          cap;
    size_t          raw_total;
};

enum kind { K_ZLIB, K_LIBDEFLATE, K_ZSTD };

struct cand {
    const char *name;
    enum kind   kind;
    int         level;
    int         strategy;
    int         mem_level;
    int         window_bits;
    /* zstd: parameters over the level's (0: the level's own) */
    int         z_hash_log;
    int         z_min_match;
    int         z_window_log;
    int         z_target_len;
};

static double
cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
batches_push(struct batches *b, struct wire_batch_enc *e, uint64_t seq)
{
    struct buf out;

    if (e->n_records == 0)
        return;
    buf_init(&out, WIRE_MAX_INFLATED + 64);
    if (wire_batch_enc_finish(e, seq, &out, 0) < 0) {
        fprintf(stderr, "deflate-bench: batch encode failed\n");
        exit(1);
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
    }
    /* the plain payload behind the 16-byte frame header */
    size_t len = out.len - 16;
    b->v[b->n].p = xmalloc(len);
    memcpy(b->v[b->n].p, out.data + 16, len);
    b->v[b->n].len = len;
    b->n++;
    b->raw_total += len;
    buf_fini(&out);
    wire_batch_enc_reset(e);
}

static int
add_source(struct wire_batch_enc *e, const char *path)
{
    struct wire_source s = {
        .id = { .p = path, .len = strlen(path) },
        .name = { .p = "bench", .len = 5 },
        .image = { .p = "bench:1", .len = 7 },
        .labels = { .p = "", .len = 0 },
    };
    return wire_batch_enc_add_source(e, &s);
}

static void
load_file(struct batches *b, struct wire_batch_enc *e, const char *path,
          uint64_t *seq)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t t = 1764700000000000000LL;
    uint64_t off = 0;
    int src = -1;

    if (f == NULL) {
        fprintf(stderr, "deflate-bench: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        for (int tries = 0; tries < 2; tries++) {
            if (src < 0 && (src = add_source(e, path)) < 0) {
                batches_push(b, e, (*seq)++);
                continue;
            }
            t += 37000 + (int64_t)(off % 997) * 1000;
            off += (uint64_t)n + 70;
            struct wire_record r = {
                .source = (uint32_t)src, .stream = 1, .time_ns = t,
                .offset = off, .msg = { .p = line, .len = (size_t)n },
            };
            if (wire_batch_enc_add_record(e, &r) == 0)
                break;
            batches_push(b, e, (*seq)++);
            src = -1;
        }
    }
    free(line);
    fclose(f);
    batches_push(b, e, (*seq)++);
}

/* Compresses p into out (room out_cap); returns the size, 0 on failure. */
static size_t
run_zlib(z_stream *zs, const struct payload *p,
         uint8_t *out, size_t out_cap)
{
    zs->next_in = p->p;
    zs->avail_in = (uInt)p->len;
    zs->next_out = out;
    zs->avail_out = (uInt)out_cap;
    if (deflate(zs, Z_FINISH) != Z_STREAM_END)
        return 0;
    size_t n = out_cap - zs->avail_out;
    deflateReset(zs);
    return n;
}

static int
check_inflate(const uint8_t *z, size_t zlen, const struct payload *p)
{
    uLongf n = p->len + 1;
    uint8_t *tmp = xmalloc(n);
    int ok = uncompress(tmp, &n, z, zlen) == Z_OK && n == p->len &&
             memcmp(tmp, p->p, n) == 0;
    free(tmp);
    return ok;
}

static int
check_out(const struct cand *c, const uint8_t *z, size_t zlen,
          const struct payload *p)
{
    if (c->kind != K_ZSTD)
        return check_inflate(z, zlen, p);
    uint8_t *tmp = xmalloc(p->len + 1);
    size_t n = ZSTD_decompress(tmp, p->len + 1, z, zlen);
    int ok = !ZSTD_isError(n) && n == p->len && memcmp(tmp, p->p, n) == 0;
    free(tmp);
    return ok;
}

static size_t
run_one(const struct cand *c, z_stream *zs, struct libdeflate_compressor *ld,
        ZSTD_CCtx *zc, const struct payload *p, uint8_t *out, size_t out_cap)
{
    if (c->kind == K_ZLIB)
        return run_zlib(zs, p, out, out_cap);
    if (c->kind == K_LIBDEFLATE)
        return libdeflate_zlib_compress(ld, p->p, p->len, out, out_cap);
    if (c->z_hash_log == 0 && c->z_min_match == 0 && c->z_window_log == 0 &&
        c->z_target_len == 0) {
        size_t n = ZSTD_compressCCtx(zc, out, out_cap, p->p, p->len,
                                     c->level);
        return ZSTD_isError(n) ? 0 : n;
    }
    /* as common/compress.c's: content size, no checksum; then the
     * candidate's parameters over the level's */
    ZSTD_CCtx_reset(zc, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, c->level);
    ZSTD_CCtx_setParameter(zc, ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setParameter(zc, ZSTD_c_checksumFlag, 0);
    if (c->z_hash_log)
        ZSTD_CCtx_setParameter(zc, ZSTD_c_hashLog, c->z_hash_log);
    if (c->z_min_match)
        ZSTD_CCtx_setParameter(zc, ZSTD_c_minMatch, c->z_min_match);
    if (c->z_window_log)
        ZSTD_CCtx_setParameter(zc, ZSTD_c_windowLog, c->z_window_log);
    if (c->z_target_len)
        ZSTD_CCtx_setParameter(zc, ZSTD_c_targetLength, c->z_target_len);
    size_t n = ZSTD_compress2(zc, out, out_cap, p->p, p->len);
    return ZSTD_isError(n) ? 0 : n;
}

/* The outputs of one candidate, kept for the decode timing. */
struct outs {
    uint8_t **p;
    size_t   *len;
};

static size_t
decode_one(const struct cand *c, struct libdeflate_decompressor *ldd,
           ZSTD_DCtx *zd, int use_libdeflate, const uint8_t *z, size_t zlen,
           uint8_t *out, size_t out_cap)
{
    if (c->kind == K_ZSTD) {
        size_t n = ZSTD_decompressDCtx(zd, out, out_cap, z, zlen);
        return ZSTD_isError(n) ? 0 : n;
    }
    if (use_libdeflate) {
        size_t n = 0;
        return libdeflate_zlib_decompress(ldd, z, zlen, out, out_cap, &n) ==
               LIBDEFLATE_SUCCESS ? n : 0;
    }
    uLongf n = out_cap;
    return uncompress(out, &n, z, zlen) == Z_OK ? n : 0;
}

/* CPU seconds per GiB of json-file to decode every output once. */
static double
time_decode(const struct cand *c, const struct batches *b,
            const struct outs *o, int use_libdeflate, int rounds,
            double json_bytes)
{
    size_t cap = WIRE_MAX_INFLATED;
    uint8_t *out = xmalloc(cap);
    struct libdeflate_decompressor *ldd = libdeflate_alloc_decompressor();
    ZSTD_DCtx *zd = ZSTD_createDCtx();
    double t0 = cpu_now();

    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < b->n; i++) {
            size_t n = decode_one(c, ldd, zd, use_libdeflate, o->p[i],
                                  o->len[i], out, cap);
            if (n != b->v[i].len) {
                fprintf(stderr, "deflate-bench: %s decode failed\n", c->name);
                exit(1);
            }
        }
    }
    double cpu = (cpu_now() - t0) / rounds;
    libdeflate_free_decompressor(ldd);
    ZSTD_freeDCtx(zd);
    free(out);
    return cpu / (json_bytes / (1024.0 * 1024 * 1024));
}

static void
run_cand(const struct cand *c, const struct batches *b, int rounds,
         double json_bytes)
{
    size_t out_cap = WIRE_MAX_INFLATED + (WIRE_MAX_INFLATED >> 8) + 4096;
    uint8_t *out = xmalloc(out_cap);
    z_stream zs;
    struct libdeflate_compressor *ld = NULL;
    ZSTD_CCtx *zc = c->kind == K_ZSTD ? ZSTD_createCCtx() : NULL;
    size_t zsum = 0;
    double t0 = 0;
    struct outs o = { xcalloc(b->n, sizeof(*o.p)), xcalloc(b->n, sizeof(*o.len)) };

    memset(&zs, 0, sizeof(zs));
    if (c->kind == K_ZLIB &&
        deflateInit2(&zs, c->level, Z_DEFLATED, c->window_bits, c->mem_level,
                     c->strategy) != Z_OK)
        exit(1);
    if (c->kind == K_LIBDEFLATE &&
        (ld = libdeflate_alloc_compressor(c->level)) == NULL)
        exit(1);
    /* round 0 checks every output and is not timed */
    for (int r = 0; r <= rounds; r++) {
        if (r == 1)
            t0 = cpu_now();
        for (size_t i = 0; i < b->n; i++) {
            size_t n = run_one(c, &zs, ld, zc, &b->v[i], out, out_cap);
            if (n == 0 || (r == 0 && !check_out(c, out, n, &b->v[i]))) {
                fprintf(stderr, "deflate-bench: %s failed\n", c->name);
                exit(1);
            }
            if (r == 0) {
                zsum += n;
                o.p[i] = xmalloc(n);
                memcpy(o.p[i], out, n);
                o.len[i] = n;
            }
        }
    }
    double cpu = (cpu_now() - t0) / rounds;
    double gib = json_bytes / (1024.0 * 1024 * 1024);
    double dec = time_decode(c, b, &o, 0, rounds, json_bytes);
    char ldec[32] = "";
    if (c->kind != K_ZSTD)
        snprintf(ldec, sizeof(ldec), "%.2f",
                 time_decode(c, b, &o, 1, rounds, json_bytes));
    printf("| %s | %.2f | %.1f | %.2f%% | %.2f%% | %.2f | %s |\n", c->name,
           cpu / gib, (double)b->raw_total / (1024.0 * 1024) / cpu,
           100.0 * (double)zsum / json_bytes,
           100.0 * (double)zsum / (double)b->raw_total, dec, ldec);
    for (size_t i = 0; i < b->n; i++)
        free(o.p[i]);
    free(o.p);
    free(o.len);
    if (c->kind == K_ZLIB)
        deflateEnd(&zs);
    libdeflate_free_compressor(ld);
    ZSTD_freeCCtx(zc);
    free(out);
}

static const struct cand cands[] = {
    { "zlib 1", K_ZLIB, 1, Z_DEFAULT_STRATEGY, 8, 15 },
    { "zlib 2", K_ZLIB, 2, Z_DEFAULT_STRATEGY, 8, 15 },
    { "zlib 3", K_ZLIB, 3, Z_DEFAULT_STRATEGY, 8, 15 },
    { "zlib 4", K_ZLIB, 4, Z_DEFAULT_STRATEGY, 8, 15 },
    { "zlib 5", K_ZLIB, 5, Z_DEFAULT_STRATEGY, 8, 15 },
    { "zlib 6", K_ZLIB, 6, Z_DEFAULT_STRATEGY, 8, 15 },
    { "zlib 1 Z_FILTERED", K_ZLIB, 1, Z_FILTERED, 8, 15 },
    { "zlib 1 Z_RLE", K_ZLIB, 1, Z_RLE, 8, 15 },
    { "zlib 1 memLevel 9", K_ZLIB, 1, Z_DEFAULT_STRATEGY, 9, 15 },
    { "zlib 1 memLevel 4", K_ZLIB, 1, Z_DEFAULT_STRATEGY, 4, 15 },
    { "zlib 1 windowBits 12", K_ZLIB, 1, Z_DEFAULT_STRATEGY, 8, 12 },
    { "libdeflate 1", K_LIBDEFLATE, 1, 0, 0, 0 },
    { "libdeflate 2", K_LIBDEFLATE, 2, 0, 0, 0 },
    { "libdeflate 3", K_LIBDEFLATE, 3, 0, 0, 0 },
    { "libdeflate 4", K_LIBDEFLATE, 4, 0, 0, 0 },
    { "libdeflate 5", K_LIBDEFLATE, 5, 0, 0, 0 },
    { "libdeflate 6", K_LIBDEFLATE, 6, 0, 0, 0 },
    /* the wire's second format (PROTOCOL.md "Compression") */
    { "zstd -7", K_ZSTD, -7, 0, 0, 0 },
    { "zstd -5", K_ZSTD, -5, 0, 0, 0 },
    { "zstd -3", K_ZSTD, -3, 0, 0, 0 },
    { "zstd -1", K_ZSTD, -1, 0, 0, 0 },
    { "zstd 1", K_ZSTD, 1, 0, 0, 0 },
    { "zstd 2", K_ZSTD, 2, 0, 0, 0 },
    { "zstd 3", K_ZSTD, 3, 0, 0, 0 },
    /* level 1's parameters one at a time (at 512 KiB: window 19, hash 14,
     * min match 7, target length 0; zstd 1.5.4's table) */
    { "zstd 1 hash 12", K_ZSTD, 1, 0, 0, 0, 12, 0, 0, 0 },
    { "zstd 1 hash 13", K_ZSTD, 1, 0, 0, 0, 13, 0, 0, 0 },
    { "zstd 1 hash 15", K_ZSTD, 1, 0, 0, 0, 15, 0, 0, 0 },
    { "zstd 1 hash 16", K_ZSTD, 1, 0, 0, 0, 16, 0, 0, 0 },
    { "zstd 1 hash 17", K_ZSTD, 1, 0, 0, 0, 17, 0, 0, 0 },
    { "zstd 1 minmatch 5", K_ZSTD, 1, 0, 0, 0, 0, 5, 0, 0 },
    { "zstd 1 minmatch 6", K_ZSTD, 1, 0, 0, 0, 0, 6, 0, 0 },
    { "zstd 1 hash 16 minmatch 6", K_ZSTD, 1, 0, 0, 0, 16, 6, 0, 0 },
    { "zstd 1 hash 16 minmatch 5", K_ZSTD, 1, 0, 0, 0, 16, 5, 0, 0 },
    { "zstd 1 hash 13 minmatch 6", K_ZSTD, 1, 0, 0, 0, 13, 6, 0, 0 },
    { "zstd 1 hash 12 minmatch 6", K_ZSTD, 1, 0, 0, 0, 12, 6, 0, 0 },
    { "zstd 1 hash 13 minmatch 5", K_ZSTD, 1, 0, 0, 0, 13, 5, 0, 0 },
    { "zstd 1 window 17", K_ZSTD, 1, 0, 0, 0, 0, 0, 17, 0 },
    { "zstd 1 target 2", K_ZSTD, 1, 0, 0, 0, 0, 0, 0, 2 },
};

int
main(int argc, char **argv)
{
    double json_bytes = 0;
    size_t batch = 512u << 10;
    int rounds = 3;
    const char *only = NULL;    /* candidates whose name starts so */
    int i = 1;

    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--json-bytes") == 0)
            json_bytes = strtod(argv[i + 1], NULL);
        else if (strcmp(argv[i], "--batch") == 0)
            batch = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
        else
            break;
    }
    if (i >= argc || json_bytes <= 0 || rounds < 1) {
        fprintf(stderr, "usage: deflate-bench --json-bytes N [--batch B] "
                        "[--rounds R] [--only NAME_PREFIX] FILE...\n");
        return 2;
    }
    struct batches b = { 0 };
    struct wire_batch_enc e;
    uint64_t seq = 1;
    wire_batch_enc_init(&e, batch);
    for (; i < argc; i++)
        load_file(&b, &e, argv[i], &seq);
    wire_batch_enc_fini(&e);
    printf("%zu batches of up to %zu bytes, %.1f MiB of payload, "
           "%.1f MiB of json-file, %d rounds\n\n", b.n, batch,
           (double)b.raw_total / (1024.0 * 1024), json_bytes / (1024.0 * 1024),
           rounds);
    printf("| encoder | CPU s per GiB of json-file | MiB/s of payload per "
           "CPU s | wire / json-file | wire / payload | decode CPU s per GiB "
           "(zlib inflate; zstd) | decode with libdeflate |\n"
           "|---|---|---|---|---|---|---|\n");
    for (size_t k = 0; k < sizeof(cands) / sizeof(cands[0]); k++) {
        if (only == NULL ||
            strncmp(cands[k].name, only, strlen(only)) == 0 ||
            strcmp(cands[k].name, "libdeflate 1") == 0)
            run_cand(&cands[k], &b, rounds, json_bytes);
    }
    return 0;
}
