/* SPDX-License-Identifier: MIT */
/*
 * msgenc_bench: what each part of a sealed block costs on disk, and what
 * the message column as templates + numbers + hex (tplenc.c) would give
 * against codec 5. Reads plain log lines (one message per line, one
 * source per file), wraps them as the store would (Docker-like times: 1
 * ms apart with a random part inside the millisecond; receive times per
 * batch of 2,000 lines; offsets advancing by each line's json-file
 * bytes), cuts them into 1 MiB codec-5 bodies (block_cols_encode, as
 * sealing does), and prints, as a share of the json-file bytes the lines
 * stand for: each column zstd'd alone, the whole codec-5 body (today),
 * and per way of coding numbers the packed body and each of its streams;
 * then CPU seconds per GiB of json-file (one thread,
 * CLOCK_PROCESS_CPUTIME_ID) of each encode and decode. Every packed body
 * is expanded and compared with its codec-5 body; a difference exits 1.
 *   make build/release/msgenc-bench
 *   build/release/msgenc-bench [--level L] FILE...
 * Not part of make test (BENCHMARKS.md "Message column encodings").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/compress.h"
#include "common/xmalloc.h"
#include "tests/bench/tplenc.h"

#define T0          1795787440000000000LL
#define BLOCK_RAW   (1u << 20)
#define BATCH_LINES 2000

enum { P_LABEL, P_DT, P_FLAGS, P_OFF, P_LEN, P_RECV, P_MSG, P_N };
static const char *part_name[P_N] = {
    "label", "time", "flags", "offset", "length", "recv", "messages",
};
enum { S_TPL, S_NUM, S_HEX, S_N };
static const char *stream_name[S_N] = { "templates", "numbers", "hex" };
static const char *mode_name[TPLENC_N_MODES] = {
    "raw", "delta", "adaptive",
};

/* One candidate's figures. */
struct cand {
    size_t packed_raw, comp, stream[S_N];
    double t_pack, t_z, t_u, t_expand;
};

struct totals {
    size_t json, raw, c5, part[P_N];
    double t_z5, t_u5;
    struct cand m[TPLENC_N_MODES];
    size_t n_lines, n_blocks;
};

static double
cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes of the Docker json-file line holding msg (with its newline). */
static size_t
json_len(const uint8_t *m, size_t len)
{
    size_t n = 8 + len + 2 + 22 + 41;

    for (size_t i = 0; i < len; i++) {
        if (m[i] == '"' || m[i] == '\\' || m[i] == '\t' || m[i] == '\n' ||
            m[i] == '\r')
            n++;
        else if (m[i] < 0x20)
            n += 5;
    }
    return n;
}

static size_t
zsize(const void *p, size_t len, int level)
{
    struct buf z;

    buf_init(&z, SIZE_MAX);
    if (compress_zstd(&z, p, len, level) < 0) {
        fprintf(stderr, "msgenc-bench: zstd failed\n");
        exit(1);
    }
    size_t n = z.len;
    buf_fini(&z);
    return n;
}

/* Sizes of the six columns and the messages of codec-5 body p, each
 * zstd'd alone. */
static void
parts5(struct totals *t, const uint8_t *p, size_t len, int level)
{
    const uint8_t *q = p, *end = p + len;
    uint64_t cl[6];

    for (int k = 0; k < 6; k++)
        if (blk_get_varint(&q, end, &cl[k]) < 0)
            exit(1);
    for (int k = 0; k < 6; k++) {
        t->part[k] += zsize(q, cl[k], level);
        q += cl[k];
    }
    t->part[P_MSG] += zsize(q, (size_t)(end - q), level);
}

/* The three streams of packed body p, each zstd'd alone. */
static void
streams6(struct cand *c, const uint8_t *p, size_t len, int level)
{
    const uint8_t *q = p, *end = p + len;
    uint64_t cl[6], sl[S_N];

    for (int k = 0; k < 6; k++)
        if (blk_get_varint(&q, end, &cl[k]) < 0)
            exit(1);
    for (int k = 0; k < 6; k++)
        q += cl[k];
    for (int k = 0; k < S_N; k++)
        if (blk_get_varint(&q, end, &sl[k]) < 0)
            exit(1);
    for (int k = 0; k < S_N; k++) {
        c->stream[k] += zsize(q, sl[k], level);
        q += sl[k];
    }
}

/* Packs raw with mode, compresses, decompresses, expands and checks. */
static void
run_cand(struct cand *c, int mode, const struct buf *raw, uint32_t n,
         int level)
{
    struct buf packed, z, u;
    const char *err;

    buf_init(&packed, SIZE_MAX);
    buf_init(&z, SIZE_MAX);
    buf_init(&u, SIZE_MAX);
    uint8_t *back = xmalloc(raw->len + 1);
    double c0 = cpu_s();
    int rc = tplenc_pack(raw->data, raw->len, n, mode, &packed);
    double c1 = cpu_s();
    rc |= compress_zstd(&z, packed.data, packed.len, level);
    double c2 = cpu_s();
    rc |= compress_unzstd(&u, z.data, z.len, packed.len, &err);
    double c3 = cpu_s();
    rc |= tplenc_expand(u.data, u.len, n, mode, raw->len, back);
    double c4 = cpu_s();
    if (rc != 0 || memcmp(back, raw->data, raw->len) != 0) {
        fprintf(stderr, "msgenc-bench: %s does not round-trip\n",
                mode_name[mode]);
        exit(1);
    }
    c->t_pack += c1 - c0;
    c->t_z += c2 - c1;
    c->t_u += c3 - c2;
    c->t_expand += c4 - c3;
    c->packed_raw += packed.len;
    c->comp += z.len;
    streams6(c, packed.data, packed.len, level);
    free(back);
    buf_fini(&packed);
    buf_fini(&z);
    buf_fini(&u);
}

static void
run_block(struct totals *t, const struct store_rec *recs, uint32_t n,
          int level)
{
    struct buf raw, z5, u;
    const char *err;

    buf_init(&raw, SIZE_MAX);
    buf_init(&z5, SIZE_MAX);
    buf_init(&u, SIZE_MAX);
    if (block_cols_encode(&raw, STORE_CODEC_ZSTD_RECV, recs, n, 1) < 0)
        exit(1);
    double c0 = cpu_s();
    int rc = compress_zstd(&z5, raw.data, raw.len, level);
    double c1 = cpu_s();
    rc |= compress_unzstd(&u, z5.data, z5.len, raw.len, &err);
    double c2 = cpu_s();
    if (rc != 0)
        exit(1);
    t->t_z5 += c1 - c0;
    t->t_u5 += c2 - c1;
    t->raw += raw.len;
    t->c5 += z5.len;
    parts5(t, raw.data, raw.len, level);
    for (int m = 0; m < TPLENC_N_MODES; m++)
        run_cand(&t->m[m], m, &raw, n, level);
    t->n_blocks++;
    buf_fini(&raw);
    buf_fini(&z5);
    buf_fini(&u);
}

static uint8_t *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct buf b;

    if (f == NULL) {
        perror(path);
        exit(1);
    }
    buf_init(&b, SIZE_MAX);
    for (;;) {
        if (buf_reserve(&b, 1 << 16) < 0)
            exit(1);
        size_t k = fread(b.data + b.len, 1, 1 << 16, f);
        if (k == 0)
            break;
        b.len += k;
    }
    fclose(f);
    *len = b.len;
    return b.data;
}

static void
run_file(struct totals *t, const char *path, int level)
{
    size_t len, cap = 0, n = 0, body = 0;
    uint8_t *text = read_file(path, &len);
    struct store_rec *recs = NULL;
    uint64_t off = 0, z = 1;
    int64_t recv = 0;

    for (size_t i = 0; i < len;) {
        uint8_t *nl = memchr(text + i, '\n', len - i);
        size_t ml = nl ? (size_t)(nl - (text + i)) : len - i;
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            recs = xreallocarray(recs, cap, sizeof(*recs));
        }
        size_t jl = json_len(text + i, ml);
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        int64_t tn = T0 + (int64_t)t->n_lines * 1000000 +
                     (int64_t)((z >> 33) % 1000000);
        if (t->n_lines % BATCH_LINES == 0)
            recv = tn + 5000000;
        off += jl;
        recs[n++] = (struct store_rec){
            .time_ns = tn, .recv_ns = recv, .offset = off,
            .msg = text + i, .msg_len = (uint32_t)ml,
        };
        t->json += jl;
        t->n_lines++;
        body += ml + 8;
        if (body >= BLOCK_RAW) {
            run_block(t, recs, (uint32_t)n, level);
            n = body = 0;
        }
        i += ml + 1;
    }
    if (n)
        run_block(t, recs, (uint32_t)n, level);
    free(recs);
    free(text);
}

static void
report(const struct totals *t, int level)
{
    double j = (double)t->json / 100.0, gib = (double)t->json / (1 << 30);

    printf("%zu lines, %.1f MiB json-file, %zu blocks, zstd-%d; "
           "%% of json-file bytes, CPU s per GiB of json-file\n",
           t->n_lines, (double)t->json / 1048576.0, t->n_blocks, level);
    printf("codec 5: body %.2f%% (raw %.2f%%), zstd %.2f s, unzstd %.2f s;"
           " each part alone:", t->c5 / j, t->raw / j, t->t_z5 / gib,
           t->t_u5 / gib);
    for (int k = 0; k < P_N; k++)
        printf(" %s %.2f%%", part_name[k], t->part[k] / j);
    printf("\n");
    for (int m = 0; m < TPLENC_N_MODES; m++) {
        const struct cand *c = &t->m[m];
        printf("templates, numbers %s: body %.2f%% (raw %.2f%%), gain %.2f "
               "points; encode %.2f s (pack %.2f), decode %.2f s (expand "
               "%.2f); streams alone:", mode_name[m], c->comp / j,
               c->packed_raw / j, ((double)t->c5 - (double)c->comp) / j,
               (c->t_pack + c->t_z) / gib, c->t_pack / gib,
               (c->t_u + c->t_expand) / gib, c->t_expand / gib);
        for (int k = 0; k < S_N; k++)
            printf(" %s %.2f%%", stream_name[k], c->stream[k] / j);
        printf("\n");
    }
}

int
main(int argc, char **argv)
{
    struct totals t = { 0 };
    int level = 3, i = 1;

    if (argc > 2 && strcmp(argv[1], "--level") == 0) {
        level = (int)strtol(argv[2], NULL, 10);
        i = 3;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: msgenc-bench [--level L] FILE...\n");
        return 2;
    }
    for (; i < argc; i++)
        run_file(&t, argv[i], level);
    report(&t, level);
    return 0;
}
