/* SPDX-License-Identifier: MIT */
/*
 * zlevel_bench: what each zstd level costs and gives on a store's own
 * sealed block bodies. Reads segment files (seg-*.lqs, collector/STORE.md
 * "Block"), decompresses every zstd block body (codecs 3 and 5) back to
 * its raw columns, and each frame of a framed block (codecs 6 and 7) to
 * its own, then compresses all of them again at each level named
 * (compress_zstd, the sealing thread's call, one frame per body) and
 * prints the compressed size as a share of the raw bodies, the CPU
 * seconds of this one thread (CLOCK_THREAD_CPUTIME_ID) and MB/s of raw
 * body, and the decompression speed. Each level runs --rounds times
 * (default 2), alternating with the others.
 *   make build/release/zlevel-bench
 *   build/release/zlevel-bench [--rounds R] [--levels 1,3,...] SEG.lqs...
 * Not part of make test (BENCHMARKS.md "zstd level of sealed blocks").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/compress.h"
#include "common/xmalloc.h"

#define SEG_HDR   16
#define BLK_HDR   48
#define MAX_BODY  (256u << 20)
#define MAX_LVLS  16

static double
cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends the raw content of the zstd frame at z[0..len) to bodies. */
static void
add_frame(const uint8_t *z, size_t len, size_t raw_len, struct buf **bodies,
          size_t *n)
{
    struct buf raw;
    const char *err;

    buf_init(&raw, MAX_BODY);
    if (compress_unzstd(&raw, z, len, raw_len, &err) < 0) {
        fprintf(stderr, "zlevel-bench: frame: %s\n", err);
        buf_fini(&raw);
        return;
    }
    *bodies = xreallocarray(*bodies, *n + 1, sizeof(**bodies));
    (*bodies)[(*n)++] = raw;
}

/* Codecs 6 and 7: each frame of the body (the frame table at the end of
 * the meta, after the labels; collector/STORE.md "Frames") as a body of
 * its own, as the sealing thread compresses them. */
static void
add_frames(const uint8_t *meta, size_t meta_len, const uint8_t *body,
           size_t body_len, struct buf **bodies, size_t *n)
{
    struct reader r;
    uint64_t n_labels, n_frames, v, comp, raw;
    uint8_t mask;
    const uint8_t *skip;
    uint32_t crc;
    size_t at = 0;

    reader_init(&r, meta, meta_len);
    if (reader_u8(&r, &mask) < 0 || reader_varint(&r, &n_labels) < 0)
        return;
    for (uint64_t l = 0; l < n_labels; l++) {
        for (int k = 0; k < 4; k++)
            if (reader_varint(&r, &v) < 0 || reader_bytes(&r, v, &skip) < 0)
                return;
        for (int k = 0; k < 4; k++)
            if (reader_varint(&r, &v) < 0)
                return;
    }
    if (reader_varint(&r, &n_frames) < 0)
        return;
    for (uint64_t f = 0; f < n_frames; f++) {
        if (reader_varint(&r, &v) < 0 || reader_varint(&r, &comp) < 0 ||
            reader_varint(&r, &raw) < 0 || reader_u32(&r, &crc) < 0 ||
            reader_varint(&r, &v) < 0 || reader_varint(&r, &v) < 0 ||
            comp > body_len - at)
            return;
        add_frame(body + at, comp, raw, bodies, n);
        at += comp;
    }
}

/* Appends the raw bodies of path's zstd blocks to bodies (a framed
 * block's frames one by one). */
static int
load_segment(const char *path, struct buf **bodies, size_t *n)
{
    FILE *f = fopen(path, "rb");
    struct buf file, raw;
    const char *err;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    buf_init(&file, (size_t)1 << 36);
    uint8_t tmp[1 << 16];
    size_t got;
    while ((got = fread(tmp, 1, sizeof(tmp), f)) > 0)
        if (buf_append(&file, tmp, got) < 0)
            break;
    fclose(f);
    for (size_t p = SEG_HDR; p + BLK_HDR <= file.len;) {
        const uint8_t *h = file.data + p;
        uint32_t meta_len = le32_load(h + 4), raw_len = le32_load(h + 8);
        uint32_t comp_len = le32_load(h + 12), codec = le32_load(h + 20);
        if (le32_load(h) != 0x3142514cu ||
            p + BLK_HDR + (size_t)meta_len + comp_len > file.len) {
            fprintf(stderr, "%s: bad block at %zu\n", path, p);
            break;
        }
        if (codec == 6 || codec == 7) {
            add_frames(h + BLK_HDR, meta_len, h + BLK_HDR + meta_len,
                       comp_len, bodies, n);
        } else if (codec == 3 || codec == 5) {
            buf_init(&raw, MAX_BODY);
            if (compress_unzstd(&raw, h + BLK_HDR + meta_len, comp_len,
                                raw_len, &err) < 0) {
                fprintf(stderr, "%s: block at %zu: %s\n", path, p, err);
                buf_fini(&raw);
            } else {
                *bodies = xreallocarray(*bodies, *n + 1, sizeof(**bodies));
                (*bodies)[(*n)++] = raw;
            }
        }
        p += BLK_HDR + (size_t)meta_len + comp_len;
    }
    buf_fini(&file);
    return 0;
}

int
main(int argc, char **argv)
{
    int levels[MAX_LVLS] = { -1, 1, 2, 3, 4, 6 }, n_lvls = 6, rounds = 2;
    struct buf *bodies = NULL;
    size_t n = 0, raw = 0;
    int i = 1;

    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (i + 1 >= argc)
            goto usage;
        if (strcmp(argv[i], "--rounds") == 0) {
            rounds = (int)strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--levels") == 0) {
            char *s = argv[i + 1];
            for (n_lvls = 0; n_lvls < MAX_LVLS && *s;) {
                levels[n_lvls++] = (int)strtol(s, &s, 10);
                if (*s == ',')
                    s++;
            }
        } else {
            goto usage;
        }
    }
    if (i >= argc || rounds < 1 || n_lvls < 1)
        goto usage;
    for (; i < argc; i++)
        if (load_segment(argv[i], &bodies, &n) < 0)
            return 1;
    for (size_t k = 0; k < n; k++)
        raw += bodies[k].len;
    printf("%zu block bodies, %zu raw bytes\n", n, raw);
    if (n == 0)
        return 1;
    struct buf out, back;
    buf_init(&out, MAX_BODY + 65536);
    buf_init(&back, MAX_BODY);
    for (int r = 0; r < rounds; r++) {
        for (int l = 0; l < n_lvls; l++) {
            size_t comp = 0;
            double tc = 0, td = 0;
            const char *err;
            for (size_t k = 0; k < n; k++) {
                buf_reset(&out);
                double t0 = cpu_s();
                if (compress_zstd(&out, bodies[k].data, bodies[k].len,
                                  levels[l]) < 0) {
                    fprintf(stderr, "level %d: compress failed\n", levels[l]);
                    return 1;
                }
                double t1 = cpu_s();
                buf_reset(&back);
                if (compress_unzstd(&back, out.data, out.len, bodies[k].len,
                                    &err) < 0 ||
                    back.len != bodies[k].len ||
                    memcmp(back.data, bodies[k].data, back.len) != 0) {
                    fprintf(stderr, "level %d: round trip differs\n",
                            levels[l]);
                    return 1;
                }
                td += cpu_s() - t1;
                tc += t1 - t0;
                comp += out.len;
            }
            printf("round %d level %3d: %6.2f%% of raw, compress %.3f s "
                   "(%4.0f MB/s), decompress %.3f s (%4.0f MB/s)\n", r + 1,
                   levels[l], 100.0 * (double)comp / (double)raw, tc,
                   (double)raw / tc / 1e6, td, (double)raw / td / 1e6);
        }
    }
    return 0;
usage:
    fprintf(stderr, "usage: zlevel-bench [--rounds R] [--levels L,L,...] "
            "SEG.lqs...\n");
    return 2;
}
