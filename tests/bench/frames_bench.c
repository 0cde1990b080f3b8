/* SPDX-License-Identifier: MIT */
/*
 * frames_bench: what cutting sealed blocks into zstd frames (codec 6,
 * collector/STORE.md "Frames") costs on disk and in CPU, per frame size,
 * on a real store. Reads every block of the segment files given (any
 * zstd codec), decodes its records and encodes them again as one codec 5
 * body and as codec 6 at each frame size, and prints per size: the
 * bodies plus frame tables against codec 5 (the block headers, labels
 * and index are the same for both), the encode CPU, the CPU of decoding
 * a whole block and of decoding one frame (its decompress + decode), per
 * block. Every codec 6 block is decoded and compared with its records;
 * a difference exits 1.
 *   make build/release/frames-bench
 *   build/release/frames-bench [--level L] DATA_DIR/seg-*.lqs
 * Not part of make test (BENCHMARKS.md "Frames in blocks").
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector/store/store_internal.h"
#include "common/compress.h"
#include "common/xmalloc.h"

static const size_t sizes[] = { 0, 32 << 10, 64 << 10, 128 << 10,
                                256 << 10, 512 << 10 };
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

struct tot {
    uint64_t bytes, frames;
    double t_enc, t_dec, t_dec1;
};

static double
cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
same(const struct store_rec *a, const struct store_rec *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i].time_ns != b[i].time_ns || a[i].recv_ns != b[i].recv_ns ||
            a[i].offset != b[i].offset || a[i].label != b[i].label ||
            a[i].stream != b[i].stream || a[i].flags != b[i].flags ||
            a[i].msg_len != b[i].msg_len ||
            memcmp(a[i].msg, b[i].msg, a[i].msg_len) != 0)
            return 0;
    return 1;
}

int
main(int argc, char **argv)
{
    int level = 3, argi = 1;
    struct tot t[N_SIZES];
    struct buf comp, raw, body, table, cols, raw2;
    struct store_rec *recs = NULL, *out = NULL;
    size_t cap = 0, cap_out = 0;
    uint64_t n_blocks = 0, n_recs = 0, old_bytes = 0;

    if (argc > 2 && strcmp(argv[1], "--level") == 0) {
        level = (int)strtol(argv[2], NULL, 10);
        argi = 3;
    }
    memset(t, 0, sizeof(t));
    buf_init(&comp, STORE_MAX_RAW + 65536);
    buf_init(&raw, STORE_MAX_RAW);
    buf_init(&raw2, STORE_MAX_RAW);
    buf_init(&body, STORE_MAX_RAW + 65536);
    buf_init(&table, STORE_MAX_META);
    buf_init(&cols, STORE_MAX_RAW);
    for (int a = argi; a < argc; a++) {
        int fd = open(argv[a], O_RDONLY);
        off_t pos = STORE_SEG_HDR_LEN, size = fd < 0 ? 0 : lseek(fd, 0,
                                                                SEEK_END);
        uint8_t hb[STORE_BLK_HDR_LEN];
        if (fd < 0) {
            perror(argv[a]);
            return 1;
        }
        while (pos + STORE_BLK_HDR_LEN <= size &&
               pread(fd, hb, sizeof(hb), pos) == (ssize_t)sizeof(hb)) {
            struct store_blk_hdr h;
            block_hdr_decode(hb, &h);
            if (h.magic != STORE_BLK_MAGIC)
                break;
            uint8_t *meta = xmalloc(h.meta_len ? h.meta_len : 1);
            struct store_meta_label *ml = NULL;
            struct store_frame *fr = NULL;
            uint32_t n_labels = 0, n_fr = 0;
            uint8_t mask;
            int is_fr = store_codec_is_framed(h.codec);
            struct block_recv_range rr;
            struct store_blk b = { .off = (uint64_t)pos,
                                   .meta_len = h.meta_len,
                                   .raw_len = h.raw_len,
                                   .comp_len = h.comp_len,
                                   .n_records = h.n_records,
                                   .body_crc = h.body_crc,
                                   .codec = (uint8_t)h.codec };
            if (pread(fd, meta, h.meta_len, pos + STORE_BLK_HDR_LEN) !=
                    (ssize_t)h.meta_len ||
                block_meta_decode(meta, h.meta_len, h.min_ns, &mask, &ml,
                                  &n_labels, is_fr ? &fr : NULL,
                                  is_fr ? &n_fr : NULL,
                                  h.codec == STORE_CODEC_FRAMES_RECV ? &rr
                                                                     : NULL) < 0 ||
                !store_codec_is_zstd(h.codec))
                goto next;
            b.frames = fr;
            b.n_frames = n_fr;
            if (segment_read_body(fd, &b, &comp) < 0 ||
                segment_unpack(&b, &comp, &raw) < 0 ||
                block_decode(h.codec, raw.data, raw.len, h.n_records,
                             n_labels, &recs, &cap) < 0)
                goto next;
            n_blocks++;
            n_recs += h.n_records;
            old_bytes += h.comp_len;
            for (size_t z = 0; z < N_SIZES; z++) {
                uint32_t raw_len;
                double t0 = cpu_s();
                buf_reset(&body);
                buf_reset(&table);
                buf_reset(&cols);
                if (sizes[z] == 0) {
                    if (block_cols_encode(&cols, STORE_CODEC_ZSTD_RECV, recs,
                                          h.n_records, n_labels) < 0 ||
                        compress_zstd(&body, cols.data, cols.len,
                                      level) < 0)
                        return 1;
                    t[z].t_enc += cpu_s() - t0;
                    t[z].bytes += body.len;
                    t[z].frames++;
                    t0 = cpu_s();
                    const char *err;
                    buf_reset(&raw2);
                    if (compress_unzstd(&raw2, body.data, body.len,
                                        STORE_MAX_RAW, &err) < 0 ||
                        block_decode(STORE_CODEC_ZSTD_RECV, raw2.data,
                                     raw2.len, h.n_records, n_labels, &out,
                                     &cap_out) < 0)
                        return 1;
                    t[z].t_dec += cpu_s() - t0;
                    t[z].t_dec1 += cpu_s() - t0;
                    continue;
                }
                if (block_frames_encode(&body, &table, &cols, recs,
                                        h.n_records, n_labels, h.min_ns,
                                        sizes[z], level,
                                        STORE_CODEC_ZSTD_FRAMES,
                                        &raw_len) < 0)
                    return 1;
                t[z].t_enc += cpu_s() - t0;
                t[z].bytes += body.len + table.len;
                struct store_blk b6 = { .codec = STORE_CODEC_ZSTD_FRAMES,
                                        .n_records = h.n_records,
                                        .raw_len = raw_len,
                                        .comp_len = (uint32_t)body.len };
                if (block_frames_decode(table.data, table.data + table.len,
                                        h.min_ns, h.n_records, body.len,
                                        raw_len, &b6.frames,
                                        &b6.n_frames, NULL) < 0)
                    return 1;
                t[z].frames += b6.n_frames;
                t0 = cpu_s();
                if (segment_unpack(&b6, &body, &raw2) < 0 ||
                    block_decode(STORE_CODEC_ZSTD_FRAMES, raw2.data,
                                 raw2.len, h.n_records, n_labels, &out,
                                 &cap_out) < 0)
                    return 1;
                t[z].t_dec += cpu_s() - t0;
                if (!same(out, recs, h.n_records)) {
                    fprintf(stderr, "frames-bench: records differ\n");
                    return 1;
                }
                /* one frame: the last (a newest-N read) */
                const struct store_frame *f = &b6.frames[b6.n_frames - 1];
                const char *err;
                t0 = cpu_s();
                buf_reset(&raw2);
                if (compress_unzstd(&raw2, body.data + f->off, f->comp_len,
                                    f->raw_len, &err) < 0 ||
                    block_decode(STORE_CODEC_ZSTD_FRAMES, raw2.data,
                                 raw2.len, f->n_records, n_labels, &out,
                                 &cap_out) < 0)
                    return 1;
                t[z].t_dec1 += cpu_s() - t0;
                free(b6.frames);
            }
next:
            free(meta);
            free(ml);
            free(fr);
            pos += STORE_BLK_HDR_LEN + (off_t)h.meta_len + h.comp_len;
        }
        close(fd);
    }
    printf("%llu blocks, %llu records, bodies on disk %.1f MiB (zstd-%d)\n",
           (unsigned long long)n_blocks, (unsigned long long)n_recs,
           (double)old_bytes / (1 << 20), level);
    printf("| frame | frames a block | body + table MiB | vs codec 5 | "
           "encode ms a block | whole decode ms | one frame ms |\n"
           "|---|---|---|---|---|---|---|\n");
    for (size_t z = 0; z < N_SIZES; z++) {
        double nb = n_blocks ? (double)n_blocks : 1;
        char name[32];
        if (sizes[z] == 0)
            snprintf(name, sizeof(name), "none (codec 5)");
        else
            snprintf(name, sizeof(name), "%zu KiB", sizes[z] >> 10);
        printf("| %s | %.1f | %.1f | %+.1f%% | %.2f | %.2f | %.3f |\n", name,
               (double)t[z].frames / nb, (double)t[z].bytes / (1 << 20),
               100.0 * ((double)t[z].bytes / (double)t[0].bytes - 1),
               1000 * t[z].t_enc / nb, 1000 * t[z].t_dec / nb,
               1000 * t[z].t_dec1 / nb);
    }
    free(recs);
    free(out);
    return 0;
}
