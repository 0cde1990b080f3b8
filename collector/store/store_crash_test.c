/* SPDX-License-Identifier: MIT */
/*
 * store_crash_test: the store through its public API after crashes and
 * damage: torn WAL and segment tails at every byte, a damaged middle
 * block (body or header; also one damaged between a cursor's eviction
 * and re-read), blocks of a newer format refused, garbage files, blocks
 * of every codec (zlib and zstd stores, receive times), WALs of
 * versions 2 and 3 replayed. The fixture: tests/support/storefx.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "collector/store/store_internal.h"
#include "common/compress.h"
#include "common/xmalloc.h"
#include "tests/support/storefx.h"

static uint8_t *
file_read(const char *dir, const char *name, size_t *len)
{
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *p = xmalloc((size_t)st.st_size + 1);
    assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
    close(fd);
    free(path);
    *len = (size_t)st.st_size;
    return p;
}

static void
file_write(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    close(fd);
    free(path);
}

static void
test_store_torn_wal(void **state)
{
    struct fx *f = *state;
    size_t len_a, len_b;

    f->opt.block_size = 1 << 20;          /* everything stays in the WAL */
    fx_open(f);
    put_n(f, 0, 1, 20);
    assert_int_equal(store_commit(f->s), 0);
    /* The file as a crash would leave it: read before the close, which
     * cuts a version 5 file's end mark and stale entries (wal_close_all). */
    free(file_read(f->dir, "wal.lqw", &len_a));
    store_close(f->s);
    f->s = NULL;
    fx_open(f);
    put_n(f, 1, 1, 3);
    assert_int_equal(store_commit(f->s), 0);
    uint8_t *wal = file_read(f->dir, "wal.lqw", &len_b);
    store_close(f->s);
    f->s = NULL;
    assert_true(len_b > len_a);
    /* Each commit's entry ends where the end mark after it (8 zero bytes,
     * version 5) begins; the second entry overwrote the first's mark. */
    size_t end_a = len_a - 8, end_b = len_b - 8;
    assert_memory_equal(wal + end_b, "\0\0\0\0\0\0\0\0", 8);
    for (size_t cut = 0; cut <= len_b; cut++) {
        struct store_stats st;
        file_write(f->dir, "wal.lqw", wal, cut);
        fx_open(f);
        int want = cut >= end_b ? 23 : cut >= end_a ? 20 : 0;
        assert_int_equal(scan_all(f->s), want);
        store_get_stats(f->s, &st);
        assert_int_equal(st.n_torn_cuts, cut == end_a || cut == end_b ||
                                         cut == len_b || cut == 0 ||
                                         cut == 16 ? 0 : 1);
        /* the store keeps working after the cut */
        assert_int_equal(put_n(f, 1, 1, 3), want == 23 ? 0 : 3);
        assert_int_equal(store_commit(f->s), 0);
        fx_open(f);
        assert_int_equal(scan_all(f->s), want == 0 ? 3 : 23);
        store_close(f->s);
        f->s = NULL;
    }
    free(wal);
}

static void
test_store_torn_segment(void **state)
{
    struct fx *f = *state;
    size_t wal_len, wal1_len, seg0_len, seg_len;

    /* First one sealed block, then records in the WAL only. */
    fx_open(f);
    put_n(f, 0, 1, 150);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    struct store_stats st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_blocks, 1);
    store_close(f->s);
    f->s = NULL;
    free(file_read(f->dir, "seg-0000000000000001.lqs", &seg0_len));
    f->opt.block_size = 1 << 20;
    fx_open(f);
    put_n(f, 1, 1, 60);
    assert_int_equal(store_commit(f->s), 0);
    store_close(f->s);
    f->s = NULL;
    /* The WAL files (commits move to a fresh one at each seal). */
    uint8_t *wal = file_read(f->dir, "wal.lqw", &wal_len);
    uint8_t *wal1 = file_read(f->dir, "wal-1.lqw", &wal1_len);
    assert_true(wal_len > 16 || wal1_len > 16);
    /* Seal: the block is appended, then the WAL emptied. */
    f->opt.block_size = 1024;
    fx_open(f);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    uint64_t n_full = st.n_blocks;        /* split into 1 KiB blocks */
    assert_true(n_full >= 3);
    store_close(f->s);
    f->s = NULL;
    uint8_t *seg = file_read(f->dir, "seg-0000000000000001.lqs", &seg_len);
    assert_true(seg_len > seg0_len);
    /* A crash anywhere while the block was written (WAL still full), or
     * after it (records in both): everything once. */
    for (size_t cut = seg0_len; cut <= seg_len; cut++) {
        file_write(f->dir, "seg-0000000000000001.lqs", seg, cut);
        file_write(f->dir, "wal.lqw", wal, wal_len);
        file_write(f->dir, "wal-1.lqw", wal1, wal1_len);
        fx_open(f);
        assert_int_equal(scan_all(f->s), 210);
        store_get_stats(f->s, &st);
        assert_int_equal(st.n_corrupt_blocks, 0);
        assert_true(st.n_blocks >= 1 && st.n_blocks <= n_full);
        if (cut == seg_len)
            assert_int_equal(st.n_blocks, n_full);
        store_close(f->s);
        f->s = NULL;
    }
    free(seg);
    free(wal);
    free(wal1);
}

/* Offsets of the blocks in a segment image (test-side format reader). */
static size_t
find_blocks(const uint8_t *p, size_t len, size_t *offs, size_t max)
{
    size_t n = 0, pos = 16;

    while (pos + 48 <= len && n < max) {
        uint32_t meta = (uint32_t)p[pos + 4] | (uint32_t)p[pos + 5] << 8 |
                        (uint32_t)p[pos + 6] << 16 | (uint32_t)p[pos + 7] << 24;
        uint32_t comp = (uint32_t)p[pos + 12] | (uint32_t)p[pos + 13] << 8 |
                        (uint32_t)p[pos + 14] << 16 |
                        (uint32_t)p[pos + 15] << 24;
        offs[n++] = pos;
        pos += 48 + meta + comp;
    }
    return n;
}

static void
corrupt_middle(void **state, int in_header)
{
    struct fx *f = *state;
    size_t len, offs[64];
    struct store_stats st;
    int bad;

    f->opt.segment_size = 1 << 20;
    fx_open(f);
    put_n(f, 0, 1, 1000);
    assert_int_equal(store_commit(f->s), 0);
    store_get_stats(f->s, &st);
    int total = (int)st.n_records;
    store_close(f->s);
    f->s = NULL;
    uint8_t *seg = file_read(f->dir, "seg-0000000000000001.lqs", &len);
    size_t n = find_blocks(seg, len, offs, 64);
    assert_true(n >= 4);
    size_t victim = offs[2] + (in_header ? 30 : len - len + 48 + 40);
    if (!in_header)
        victim = offs[3] - 10;           /* inside block 2's body */
    seg[victim] ^= 0x5a;
    file_write(f->dir, "seg-0000000000000001.lqs", seg, len);
    free(seg);
    fx_open(f);
    struct store_filter fl = all_filter();
    int got = scan_count(f->s, &fl, 1, &bad);
    assert_int_equal(bad, 1);
    assert_true(got < total && got > total - 200);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_corrupt_blocks, 1);
    /* a second scan reports it again, the count stays */
    got = scan_count(f->s, &fl, 0, &bad);
    assert_int_equal(bad, 1);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_corrupt_blocks, 1);
    /* appending still works and the high water mark survived */
    assert_int_equal(put_n(f, 0, 1, 1001), 1);
    assert_int_equal(store_commit(f->s), 0);
}

/* A block damaged on disk after a cursor read it and evicted it (a tiny
 * cursor_mem_max): re-reading it reports -1 once, the scan goes on and
 * ends. Enough blocks that some are certainly read after the damage:
 * before it, the cursor holds at most its open runs, BLK_AHEAD read
 * ahead and STORE_BCACHE_N cached bodies, all intact and served as such
 * (with 6 blocks, all of them were, 1 run in 3 under ASan). */
#define CRD_N 1200     /* records of each source */

static void
test_store_cursor_reread_damaged(void **state)
{
    struct fx *f = *state;
    struct store_filter fl = all_filter();
    struct store_stats st;
    struct logrec r;
    size_t len, offs[64];
    int got = 0, bad = 0, rc;

    f->opt.segment_size = 1 << 20;
    f->opt.cursor_mem_max = 1;
    fx_open(f);
    put_n(f, 0, 1, CRD_N);               /* blocks of source 0, then */
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    put_n(f, 1, 1, CRD_N);               /* overlapping ones of source 1 */
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    struct store_cursor *c = store_cursor_new(f->s, &fl, 1);
    for (int i = 0; i < 20; i++)
        assert_int_equal(store_cursor_next(c, &r), 1);
    store_get_stats(f->s, &st);
    assert_true(st.n_cursor_rereads > 0);
    uint8_t *seg = file_read(f->dir, "seg-0000000000000001.lqs", &len);
    size_t n = find_blocks(seg, len, offs, 64);
    assert_true(n > 2 + BLK_AHEAD + STORE_BCACHE_N);
    for (size_t i = 0; i < n; i++)      /* every body: last byte */
        seg[(i + 1 < n ? offs[i + 1] : len) - 1] ^= 0x5a;
    file_write(f->dir, "seg-0000000000000001.lqs", seg, len);
    free(seg);
    for (int i = 0; i < 4 * CRD_N && (rc = store_cursor_next(c, &r)) != 0;
         i++) {
        if (rc < 0)
            bad++;
        else
            got++;
    }
    assert_int_equal(store_cursor_next(c, &r), 0);
    store_cursor_free(c);
    assert_true(bad >= 1);
    assert_true(got < 2 * CRD_N - 20);
    store_get_stats(f->s, &st);
    assert_true(st.n_corrupt_blocks >= 1);
}

static void
test_store_corrupt_middle_body(void **state)
{
    corrupt_middle(state, 0);
}

static void
test_store_corrupt_middle_header(void **state)
{
    corrupt_middle(state, 1);
}

/* A block of a codec this build does not know, intact by its head CRC (a
 * newer logq wrote it), or a segment header of a newer version: the store
 * is not opened, and the file is left as it was. Before, such a block was
 * taken for damage, and at the end of the last segment cut off as a torn
 * write. */
static void
test_store_newer_format_refused(void **state)
{
    struct fx *f = *state;
    const char *name = "seg-0000000000000001.lqs";
    size_t len, len2;
    char *err = NULL;

    fx_open(f);
    put_n(f, 0, 1, 150);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_close(f->s);
    f->s = NULL;
    uint8_t *seg = file_read(f->dir, name, &len);
    uint8_t *orig = xmemdup(seg, len);
    for (int what = 0; what < 2; what++) {
        memcpy(seg, orig, len);
        if (what == 0) {
            uint8_t *h = seg + STORE_SEG_HDR_LEN;
            uint32_t crc;
            le32_store(h + 20, STORE_CODEC_MAX + 1);
            crc = compress_crc32(0, h, 44);
            crc = compress_crc32(crc, h + STORE_BLK_HDR_LEN, le32_load(h + 4));
            le32_store(h + 44, crc);
        } else {
            le32_store(seg + 4, STORE_VERSION + 1);
        }
        file_write(f->dir, name, seg, len);
        struct store *s = store_open(f->dir, &f->opt, &err);
        assert_null(s);
        assert_non_null(err);
        if (strstr(err, "newer than this logq-collector reads") == NULL)
            fail_msg("store_open: %s", err);
        free(err);
        err = NULL;
        uint8_t *after = file_read(f->dir, name, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(after, seg, len);
        free(after);
    }
    file_write(f->dir, name, orig, len);
    fx_open(f);
    assert_int_equal(scan_all(f->s), 150);
    free(seg);
    free(orig);
}

static void
test_store_garbage_files(void **state)
{
    struct fx *f = *state;
    uint8_t junk[3000];
    struct store_stats st;

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    file_write(f->dir, "seg-0000000000000001.lqs", junk, sizeof(junk));
    file_write(f->dir, "seg-0000000000000002.lqs", junk, 5);
    file_write(f->dir, "wal.lqw", junk, sizeof(junk));
    file_write(f->dir, "hw.lqh", junk, 100);
    fx_open(f);
    int bad;
    struct store_filter fl = all_filter();
    assert_int_equal(scan_count(f->s, &fl, 1, &bad), 0);
    store_get_stats(f->s, &st);
    assert_true(st.n_corrupt_blocks >= 1);
    assert_true(st.n_torn_cuts >= 1);
    assert_int_equal(put_n(f, 0, 1, 500), 500);
    assert_int_equal(store_commit(f->s), 0);
    fx_open(f);
    assert_int_equal(scan_count(f->s, &fl, 1, &bad), 500);
}

/* Blocks sealed with zlib (what stores wrote before zstd) stay readable
 * next to zstd blocks, indexed or not. */
static void
test_store_mixed_codecs(void **state)
{
    struct fx *f = *state;
    struct store_stats st;

    f->opt.compress_codec = STORE_COMPRESS_ZLIB;
    fx_open(f);
    put_n(f, 0, 1, 500);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    f->opt.compress_codec = STORE_COMPRESS_ZSTD;
    fx_open(f);
    put_n(f, 0, 501, 500);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    store_get_stats(f->s, &st);
    assert_true(st.n_blocks >= 4);
    assert_int_equal(scan_all(f->s), 1000);
    fx_open(f);
    assert_int_equal(scan_all(f->s), 1000);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_corrupt_blocks, 0);
    assert_int_equal(st.n_records, 1000);
}

/* Every block codec decodes what it encodes; only 4 and 5 (and the
 * in-memory rows) keep receive times, blocks of older codecs read as 0. */
static void
test_store_codecs_receive_time(void **state)
{
    struct store_rec in[3] = {
        { .time_ns = T0, .recv_ns = T0 + 5, .offset = 10,
          .msg = (const uint8_t *)"ab", .msg_len = 2, .label = 0 },
        { .time_ns = T0 - 3600000000000LL, .recv_ns = T0 + 5, .offset = 20,
          .msg = (const uint8_t *)"cde", .msg_len = 3, .label = 1,
          .stream = 1 },
        { .time_ns = T0 + 1, .recv_ns = T0 + 1000, .offset = 30,
          .msg = (const uint8_t *)"", .msg_len = 0, .label = 0 },
    };
    struct store_rec *out = NULL;
    size_t cap = 0;
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    for (uint32_t codec = STORE_CODEC_ROW_RECV; codec <= STORE_CODEC_ZSTD_RECV;
         codec++) {
        buf_reset(&b);
        if (codec == STORE_CODEC_ZLIB)
            continue;       /* old rows: see test_store_wal_v2_replayed */
        if (codec == STORE_CODEC_ROW_RECV) {
            int64_t prev[2] = { 0, 0 };
            for (int i = 0; i < 3; i++)
                assert_int_equal(block_rec_encode(&b, in[i].label, prev,
                                                  &in[i]), 0);
        } else {
            assert_int_equal(block_cols_encode(&b, codec, in, 3, 2), 0);
        }
        assert_int_equal(block_decode(codec, b.data, b.len, 3, 2, &out,
                                      &cap), 0);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(out[i].time_ns, in[i].time_ns);
            assert_int_equal(out[i].offset, in[i].offset);
            assert_int_equal(out[i].msg_len, in[i].msg_len);
            assert_int_equal(out[i].label, in[i].label);
            assert_int_equal(out[i].recv_ns, store_codec_has_recv(codec) ?
                                             in[i].recv_ns : 0);
        }
        /* a codec 4/5 body is not a valid body of the codec before it */
        if (codec >= STORE_CODEC_ZLIB_RECV)
            assert_int_equal(block_decode(codec - 2, b.data, b.len, 3, 2,
                                          &out, &cap), -1);
    }
    free(out);
    buf_fini(&b);
}

/* A WAL file of version 2 (rows without receive times), as a store left
 * it before receive times were kept: replayed (receive time unknown: 0),
 * and new commits do not go after its entries. */
static void
test_store_wal_v2_replayed(void **state)
{
    struct fx *f = *state;
    struct buf e, file;
    const char *strs[4] = { "host0", "cid0", "web-0", "nginx:1" };
    char msg[64];

    buf_init(&e, 1 << 20);
    buf_init(&file, 1 << 20);
    buf_put_varint(&e, 1);
    for (int k = 0; k < 4; k++)
        block_put_str(&e, strs[k], strlen(strs[k]));
    buf_put_varint(&e, 2);
    int64_t prev = 0;
    for (uint64_t off = 1; off <= 2; off++) {
        int64_t t = T0 + (int64_t)off * 1000;
        int64_t dt = t - prev;
        prev = t;
        snprintf(msg, sizeof(msg), "line 0/%llu of the test",
                 (unsigned long long)off);
        buf_put_varint(&e, 0);
        buf_put_varint(&e, ((uint64_t)dt << 1) ^ (uint64_t)(dt >> 63));
        buf_put_u8(&e, (uint8_t)(off % 2));
        buf_put_varint(&e, off);
        block_put_str(&e, msg, strlen(msg));
    }
    buf_put_u32(&file, STORE_WAL_MAGIC);
    buf_put_u32(&file, 2);
    buf_put_u64(&file, 1);
    buf_put_u32(&file, (uint32_t)e.len);
    buf_put_u32(&file, compress_crc32(0, e.data, e.len));
    buf_append(&file, e.data, e.len);
    file_write(f->dir, "wal.lqw", file.data, file.len);
    fx_open(f);
    struct store_cursor *c;
    struct store_filter fl = all_filter();
    struct logrec r;
    int n = 0;
    c = store_cursor_new(f->s, &fl, 0);
    while (store_cursor_next(c, &r) == 1) {
        assert_int_equal(r.recv_ns, 0);
        assert_int_equal(r.offset, (uint64_t)++n);
    }
    store_cursor_free(c);
    assert_int_equal(n, 2);
    /* new records (with receive times) survive a restart next to them */
    assert_int_equal(put_n(f, 0, 3, 5), 5);
    assert_int_equal(store_commit(f->s), 0);
    fx_open(f);
    c = store_cursor_new(f->s, &fl, 0);
    n = 0;
    while (store_cursor_next(c, &r) == 1) {
        n++;
        assert_int_equal(r.recv_ns, r.offset <= 2 ? 0 :
                                    recv_of(0, r.offset));
    }
    store_cursor_free(c);
    assert_int_equal(n, 7);
    buf_fini(&e);
    buf_fini(&file);
}

/* A WAL file of version 3 (each entry its own label numbers and time
 * deltas, rows with receive times), as a store left it before entries
 * were the tail's rows (version 4): replayed with its receive times, and
 * new commits (version 4, in another file) survive a restart beside it. */
static void
test_store_wal_v3_replayed(void **state)
{
    struct fx *f = *state;
    struct buf e, file;
    const char *strs[2][4] = { { "host1", "cid1", "web-1", "nginx:1" },
                               { "host0", "cid0", "web-0", "nginx:1" } };
    char msg[64];

    buf_init(&e, 1 << 20);
    buf_init(&file, 1 << 20);
    buf_put_varint(&e, 2);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++)
            block_put_str(&e, strs[i][k], strlen(strs[i][k]));
    buf_put_varint(&e, 2);
    int64_t prev = 0, prev_recv = 0;
    for (uint64_t off = 1; off <= 2; off++) {
        int64_t t = T0 + (int64_t)off * 1000, rt = recv_of(0, off);
        int64_t dt = t - prev, dr = rt - prev_recv;
        prev = t;
        prev_recv = rt;
        snprintf(msg, sizeof(msg), "line 0/%llu of the test",
                 (unsigned long long)off);
        buf_put_varint(&e, 1);              /* the table's second label */
        buf_put_varint(&e, ((uint64_t)dt << 1) ^ (uint64_t)(dt >> 63));
        buf_put_varint(&e, ((uint64_t)dr << 1) ^ (uint64_t)(dr >> 63));
        buf_put_u8(&e, (uint8_t)(off % 2));
        buf_put_varint(&e, off);
        block_put_str(&e, msg, strlen(msg));
    }
    buf_put_u32(&file, STORE_WAL_MAGIC);
    buf_put_u32(&file, 3);
    buf_put_u64(&file, 1);
    buf_put_u32(&file, (uint32_t)e.len);
    buf_put_u32(&file, compress_crc32(0, e.data, e.len));
    buf_append(&file, e.data, e.len);
    file_write(f->dir, "wal.lqw", file.data, file.len);
    fx_open(f);
    struct store_cursor *c;
    struct store_filter fl = all_filter();
    struct logrec r;
    int n = 0;
    c = store_cursor_new(f->s, &fl, 0);
    while (store_cursor_next(c, &r) == 1) {
        assert_string_equal(r.host, "host0");
        assert_int_equal(r.offset, (uint64_t)++n);
        assert_int_equal(r.recv_ns, recv_of(0, r.offset));
    }
    store_cursor_free(c);
    assert_int_equal(n, 2);
    assert_int_equal(put_n(f, 0, 3, 5), 5);
    assert_int_equal(put_n(f, 1, 1, 3), 3);
    assert_int_equal(store_commit(f->s), 0);
    fx_open(f);
    c = store_cursor_new(f->s, &fl, 0);
    n = 0;
    while (store_cursor_next(c, &r) == 1) {
        n++;
        assert_int_equal(r.recv_ns, recv_of(strcmp(r.host, "host1") == 0,
                                            r.offset));
    }
    store_cursor_free(c);
    assert_int_equal(n, 10);
    buf_fini(&e);
    buf_fini(&file);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_store_torn_wal),
        T(test_store_torn_segment),
        T(test_store_corrupt_middle_body),
        T(test_store_cursor_reread_damaged),
        T(test_store_corrupt_middle_header),
        T(test_store_garbage_files),
        T(test_store_newer_format_refused),
        T(test_store_mixed_codecs),
        T(test_store_codecs_receive_time),
        T(test_store_wal_v2_replayed),
        T(test_store_wal_v3_replayed),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
