/* SPDX-License-Identifier: MIT */
/*
 * frames_test: block codec 6 (zstd in frames, collector/STORE.md
 * "Frames") against the codec 5 path it replaces: the same records byte
 * for byte, whole and frame by frame; a store whose blocks were written
 * by the codec 5 writer (STORE_NO_FRAMES, the old format) read next to
 * codec 6 blocks; every cursor order and time window giving the same
 * records from both formats; a newest-N scan reading only the newest
 * frames; a damaged frame reported and skipped alone; the columns and
 * the messages in zstd blocks of their own; a block's records grouped by
 * source at seal (STORE.md "Order of records in a block"); a frame ended
 * where a source far apart in time begins (block_frame_end).
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#define ZSTD_STATIC_LINKING_ONLY   /* ZSTD_frameHeaderSize */
#include <zstd.h>

#include "collector/store/index.h"
#include "collector/store/store.h"
#include "collector/store/store_internal.h"
#include "common/compress.h"
#include "common/xmalloc.h"
#include "tests/support/storetest.h"
#include "tests/support/testrng.h"
#include "tests/support/corpusdir.h"

#define T0 1700000000000000000LL

static uint64_t rng_state = 88172645463325252ull;

static uint64_t
rng(void)
{
    return testrng_next(&rng_state);
}

/* n records with random labels (< n_labels), times, offsets and
 * messages (0 to ~2 KiB, some text, some bytes); msgs owns the text. */
static struct store_rec *
gen_recs(uint32_t n, uint32_t n_labels, uint8_t **msgs)
{
    struct store_rec *r = xcalloc(n, sizeof(*r));
    uint64_t *off = xcalloc(n_labels, sizeof(*off));
    size_t total = 0, at = 0;
    uint32_t *lens = xcalloc(n, sizeof(*lens));

    for (uint32_t i = 0; i < n; i++) {
        lens[i] = rng() % 8 == 0 ? (uint32_t)(rng() % 2048)
                                 : (uint32_t)(rng() % 120);
        total += lens[i];
    }
    *msgs = xmalloc(total + 1);
    int64_t t = T0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = (uint32_t)(rng() % n_labels);
        for (uint32_t k = 0; k < lens[i]; k++)
            (*msgs)[at + k] = rng() % 4 == 0 ? (uint8_t)rng()
                                             : (uint8_t)('a' + rng() % 26);
        t += (int64_t)(rng() % 3000) - 1000;    /* not in order */
        off[l] += lens[i] + 1 + rng() % 3;
        r[i] = (struct store_rec){ .time_ns = t,
                                   .recv_ns = T0 + (int64_t)(i / 7) * 1000,
                                   .offset = off[l], .msg = *msgs + at,
                                   .msg_len = lens[i], .label = l,
                                   .stream = (uint8_t)(rng() & 1),
                                   .flags = (uint8_t)(rng() % 4) };
        at += lens[i];
    }
    free(off);
    free(lens);
    return r;
}

static void
assert_recs_equal(const struct store_rec *a, const struct store_rec *b,
                  uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(a[i].time_ns, b[i].time_ns);
        assert_int_equal(a[i].recv_ns, b[i].recv_ns);
        assert_int_equal(a[i].offset, b[i].offset);
        assert_int_equal(a[i].label, b[i].label);
        assert_int_equal(a[i].stream, b[i].stream);
        assert_int_equal(a[i].flags, b[i].flags);
        assert_int_equal(a[i].msg_len, b[i].msg_len);
        if (a[i].msg_len)
            assert_memory_equal(a[i].msg, b[i].msg, a[i].msg_len);
    }
}

/* block_frame_msgs then block_frame_cols (a matches-only scan's codec 9
 * frame: messages first, columns only for a frame with a match, blkload.c)
 * against block_decode on one frame's raw bytes: the messages alone are
 * block_decode's messages, and with the columns its records, byte for
 * byte; either refuses what block_decode refuses. 1 if the messages were
 * taken from the newlines alone, 0 if refused (then block_decode tells;
 * a frame whose length column is empty is never refused). */
static int
check_msgs_first(const uint8_t *p, size_t len, uint32_t n, uint32_t n_labels)
{
    struct store_rec *ref = NULL, *got = NULL;
    size_t cap_ref = 0, cap_got = 0, cap_nl = 0;
    uint32_t *nl = NULL;
    int rc_ref = block_decode(STORE_CODEC_FRAMES_NL, p, len, n, n_labels,
                              &ref, &cap_ref);
    int rc_msgs = block_frame_msgs(STORE_CODEC_FRAMES_NL, p, len, n, &got,
                                   &cap_got, &nl, &cap_nl);

    if (rc_msgs == 0) {
        if (rc_ref == 0)
            for (uint32_t i = 0; i < n; i++) {
                assert_int_equal(got[i].msg_len, ref[i].msg_len);
                assert_ptr_equal(got[i].msg, ref[i].msg);
                assert_int_equal(got[i].seq, ref[i].seq);
            }
        int rc_cols = block_frame_cols(STORE_CODEC_FRAMES_NL, p, len, n,
                                       n_labels, &got, &cap_got, nl);
        assert_int_equal(rc_cols, rc_ref);
        if (rc_ref == 0) {
            assert_recs_equal(got, ref, n);
            for (uint32_t i = 0; i < n; i++)
                assert_int_equal(got[i].seq, ref[i].seq);
        }
    } else if (rc_ref == 0) {
        /* refused: only a frame that keeps its lengths */
        uint64_t v, cl[7];
        const uint8_t *q = p, *qe = p + len;
        assert_int_equal(blk_get_varint(&q, qe, &v), 0);
        for (int k = 0; k < 7; k++)
            assert_int_equal(blk_get_varint(&q, qe, &cl[k]), 0);
        assert_true(cl[4] != 0);
    }
    free(ref);
    free(got);
    free(nl);
    return rc_msgs == 0;
}

/* Codecs 6, 8 and 9 give the records codec 5 gives, whole and frame by
 * frame, at every frame size (one record a frame to one frame a block),
 * with time deltas of every size and sign (codec 8's classes 0 to 129);
 * codec 9's frames newline-ended where no message holds a newline, else
 * with their length column, block_msg_bytes the messages' bytes in both. */
static void
test_frames_codec_same_records(void **state)
{
    static const size_t sizes[] = { 1, 300, 4096, 65536, 1 << 24 };
    const uint32_t n = 3000, n_labels = 5;
    uint8_t *msgs;
    struct store_rec *in = gen_recs(n, n_labels, &msgs);
    struct store_rec *ref = NULL, *out = NULL, *one = NULL;
    size_t cap_ref = 0, cap_out = 0, cap_one = 0;
    struct buf cols5, body, table, cols, raw, comp;
    static const int64_t odd[] = { INT64_MIN, INT64_MAX, 0, -1, 1,
                                   INT64_MIN + 1, INT64_MAX, INT64_MIN, 2,
                                   -2, INT64_MIN, 0 };
    const size_t n_sizes = sizeof(sizes) / sizeof(sizes[0]);

    (void)state;
    /* deltas of every bit length and sign: wrapped (the extremes),
     * Docker-like nanoseconds, small ones */
    for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++)
        in[100 + k].time_ns = odd[k];
    for (uint32_t i = 200; i < 264; i++)
        in[i].time_ns = (int64_t)((uint64_t)in[i - 1].time_ns +
                                  (i % 2 ? rng() >> (i - 200)
                                         : 0 - (rng() >> (i - 200))));
    buf_init(&cols5, STORE_MAX_RAW);
    buf_init(&body, STORE_MAX_RAW);
    buf_init(&table, STORE_MAX_META);
    buf_init(&cols, STORE_MAX_RAW);
    buf_init(&raw, STORE_MAX_RAW);
    buf_init(&comp, STORE_MAX_RAW);
    assert_int_equal(block_cols_encode(&cols5, STORE_CODEC_ZSTD_RECV, in, n,
                                       n_labels), 0);
    assert_int_equal(block_decode(STORE_CODEC_ZSTD_RECV, cols5.data,
                                  cols5.len, n, n_labels, &ref, &cap_ref), 0);
    assert_recs_equal(ref, in, n);
    /* codec 9 twice: the messages as they are (a frame with a newline
     * in a message keeps its length column) and without newlines (every
     * frame newline-ended) */
    uint8_t *msgs_nl = xmalloc((size_t)(in[n - 1].msg - msgs) +
                               in[n - 1].msg_len + 1);
    struct store_rec *in_nl = xmalloc((size_t)n * sizeof(*in_nl));
    for (uint32_t i = 0; i < n; i++) {
        in_nl[i] = in[i];
        in_nl[i].msg = msgs_nl + (in[i].msg - msgs);
        for (uint32_t k = 0; k < in[i].msg_len; k++)
            msgs_nl[in[i].msg - msgs + k] =
                in[i].msg[k] == '\n' ? ' ' : in[i].msg[k];
    }
    static const uint32_t codecs[] = { STORE_CODEC_ZSTD_FRAMES,
                                       STORE_CODEC_FRAMES_TIME,
                                       STORE_CODEC_FRAMES_NL,
                                       STORE_CODEC_FRAMES_NL };
    for (size_t zc = 0; zc < 4 * n_sizes; zc++) {
        size_t z = zc % n_sizes;
        uint32_t codec = codecs[zc / n_sizes];
        int is_no_nl = zc / n_sizes == 3;
        const struct store_rec *in_c = is_no_nl ? in_nl : in;
        uint32_t raw_len = 0, n_nl = 0, n_len = 0;
        buf_reset(&body);
        buf_reset(&table);
        assert_int_equal(block_frames_encode(&body, &table, &cols, in_c, n,
                                             n_labels, T0, sizes[z], 3,
                                             codec, &raw_len), 0);
        struct store_blk b = { .codec = codec,
                               .n_records = n, .raw_len = raw_len,
                               .comp_len = (uint32_t)body.len };
        assert_int_equal(block_frames_decode(table.data,
                                             table.data + table.len, T0, n,
                                             body.len, raw_len, &b.frames,
                                             &b.n_frames, NULL), 0);
        if (sizes[z] == 1)
            assert_int_equal(b.n_frames, n);
        if (sizes[z] == 1 << 24)
            assert_int_equal(b.n_frames, 1);
        /* whole: the frames one after another */
        assert_int_equal(segment_unpack(&b, &body, &raw), 0);
        assert_int_equal(raw.len, raw_len);
        assert_int_equal(block_decode(codec, raw.data,
                                      raw.len, n, n_labels, &out, &cap_out),
                         0);
        assert_recs_equal(out, in_c, n);
        /* a wrong record count is refused */
        assert_int_equal(block_decode(codec, raw.data,
                                      raw.len, n - 1, n_labels, &out,
                                      &cap_out), -1);
        /* frame by frame: each alone, its time range right */
        uint32_t first = 0;
        for (uint32_t f = 0; f < b.n_frames; f++) {
            const struct store_frame *fr = &b.frames[f];
            const char *err;
            assert_int_equal(fr->first, first);
            assert_int_equal(compress_crc32(0, body.data + fr->off,
                                            fr->comp_len), fr->crc);
            buf_reset(&raw);
            assert_int_equal(compress_unzstd(&raw, body.data + fr->off,
                                             fr->comp_len, fr->raw_len,
                                             &err), 0);
            assert_int_equal(block_decode(codec, raw.data,
                                          raw.len, fr->n_records, n_labels,
                                          &one, &cap_one), 0);
            assert_recs_equal(one, in_c + first, fr->n_records);
            if (codec == STORE_CODEC_FRAMES_NL) {
                /* the frame's length column (the fifth) empty or not */
                const uint8_t *q = raw.data, *qe = raw.data + raw.len;
                uint64_t v = 0, msg = 0, sum = 0;
                for (int k = 0; k < 6; k++)     /* n, then the columns */
                    assert_int_equal(blk_get_varint(&q, qe, &v), 0);
                n_nl += v == 0;
                n_len += v != 0;
                assert_int_equal(block_msg_bytes(codec, raw.data, raw.len,
                                                 fr->n_records, &msg), 0);
                for (uint32_t i = 0; i < fr->n_records; i++)
                    sum += one[i].msg_len;
                assert_int_equal(msg, sum);
            }
            for (uint32_t i = 0; i < fr->n_records; i++) {
                assert_true(one[i].time_ns >= fr->min_ns);
                assert_true(one[i].time_ns <= fr->max_ns);
            }
            first += fr->n_records;
        }
        assert_int_equal(first, n);
        if (is_no_nl)
            assert_int_equal(n_len, 0);
        else if (codec == STORE_CODEC_FRAMES_NL && sizes[z] == 1)
            assert_true(n_nl > 0 && n_len > 0);
        else if (codec == STORE_CODEC_FRAMES_NL && sizes[z] == 1 << 24)
            assert_int_equal(n_nl, 0);
        /* a table that disagrees with the header is refused */
        struct store_frame *bad = NULL;
        uint32_t n_bad = 0;
        assert_int_equal(block_frames_decode(table.data,
                                             table.data + table.len, T0,
                                             n + 1, body.len, raw_len, &bad,
                                             &n_bad, NULL), -1);
        assert_int_equal(block_frames_decode(table.data,
                                             table.data + table.len - 1, T0,
                                             n, body.len, raw_len, &bad,
                                             &n_bad, NULL), -1);
        free(b.frames);
    }
    free(ref);
    free(out);
    free(one);
    free(in);
    free(msgs);
    free(in_nl);
    free(msgs_nl);
    buf_fini(&cols5);
    buf_fini(&body);
    buf_fini(&table);
    buf_fini(&cols);
    buf_fini(&raw);
    buf_fini(&comp);
}

/* ------------------------------------------------------------------ */
/* Stores                                                              */

struct fx {
    char dir[4][64];
};

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    for (int i = 0; i < 4; i++) {
        snprintf(f->dir[i], sizeof(f->dir[i]), "/tmp/frames_test.XXXXXX");
        assert_non_null(mkdtemp(f->dir[i]));
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    for (int i = 0; i < 4; i++) {
        char *cmd = xasprintf("rm -rf '%s'", f->dir[i]);
        assert_int_equal(system(cmd), 0);
        free(cmd);
    }
    free(f);
    return 0;
}

/* old: 1 writes codec 7 (time varints), 2 codec 8 (message lengths),
 * 0 the default (codec 9). */
static struct store *
open_store_codec(const char *dir, size_t frame_size, int old)
{
    struct store_options o = { .block_size = 16 << 10,
                               .segment_size = 256 << 10,
                               .frame_size = frame_size,
                               .is_time_varint = old == 1,
                               .is_msg_lengths = old == 2 };

    return storetest_open(dir, &o);
}

static struct store *
open_store(const char *dir, size_t frame_size)
{
    return open_store_codec(dir, frame_size, 0);
}

/* Record i of the test (3 sources in step, times interleaved). */
static void
put_range(struct store *s, int i0, int n)
{
    char msg[96];

    for (int i = i0; i < i0 + n; i++) {
        char cid[16];
        int src = i % 3;
        struct logrec r = { 0 };
        snprintf(cid, sizeof(cid), "cid%d", src);
        snprintf(msg, sizeof(msg), "%s line %d of the frames test%s",
                 i % 10 == 0 ? "ERROR" : "info", i,
                 i % 7 == 0 ? " with a longer tail of words" : "");
        r.time_ns = T0 + (int64_t)i * 1000 + (i % 5) * 1500;
        r.recv_ns = T0 + (int64_t)(i / 7);
        r.host = src == 2 ? "h2" : "h1";
        r.container_id = cid;
        r.container = "web";
        r.image = "nginx:1";
        r.stream = (uint8_t)(i & 1);
        r.offset = (uint64_t)i + 1;
        r.msg = msg;
        r.msg_len = strlen(msg);
        assert_int_equal(store_append(s, &r), 1);
        if (i % 200 == 199)
            assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(store_sync(s), 0);
}

/* A scan's records as text lines (time, host, cid, offset, stream,
 * message), at most limit. */
static char *
scan_text(struct store *s, const struct store_filter *fl, int newest,
          int limit, int *n_out)
{
    struct store_cursor *c = store_cursor_new(s, fl, newest);
    struct buf out;
    struct logrec r;
    int n = 0, rc;

    buf_init(&out, 64 << 20);
    while (n < limit && (rc = store_cursor_next(c, &r)) != 0) {
        assert_int_equal(rc, 1);
        char hdr[160];
        int l = snprintf(hdr, sizeof(hdr), "%lld %s %s %llu %d %lld ",
                         (long long)r.time_ns, r.host, r.container_id,
                         (unsigned long long)r.offset, r.stream,
                         (long long)r.recv_ns);
        assert_int_equal(buf_append(&out, hdr, (size_t)l), 0);
        assert_int_equal(buf_append(&out, r.msg, r.msg_len), 0);
        assert_int_equal(buf_append(&out, "\n", 2), 0);
        out.len--;
        n++;
    }
    store_cursor_free(c);
    assert_int_equal(buf_append(&out, "", 1), 0);
    *n_out = n;
    return (char *)out.data;    /* the caller frees */
}

static struct store_filter
filter(int64_t since, int64_t until, const char *tok)
{
    static const char *toks[1];
    struct store_filter fl = { .since_ns = since, .until_ns = until,
                               .stream = -1 };
    if (tok) {
        toks[0] = tok;
        fl.tokens = toks;
        fl.n_tokens = 1;
    }
    return fl;
}

/* A store whose first blocks the codec 5 writer wrote (the old format),
 * whose next ones are codec 7 (version 4's time column), then codec 8
 * (version 5's message lengths) and whose last ones are codec 9, in
 * several frames, answers every scan as a store
 * written all in codec 5 does: the same records, order and bytes, before
 * and after a reopen. */
static void
test_frames_store_matches_old_format(void **state)
{
    struct fx *f = *state;
    const int n = 6000;
    struct store *old = open_store(f->dir[0], STORE_NO_FRAMES);
    struct store *mix = open_store(f->dir[1], STORE_NO_FRAMES);
    struct store_stats st;

    put_range(old, 0, n);
    put_range(mix, 0, n / 4);
    store_close(mix);
    mix = open_store_codec(f->dir[1], 1024, 1);  /* ~14 frames a block */
    put_range(mix, n / 4, n / 4);
    store_close(mix);
    mix = open_store_codec(f->dir[1], 1024, 2);
    put_range(mix, 2 * (n / 4), n / 4);
    store_close(mix);
    mix = open_store(f->dir[1], 1024);
    put_range(mix, 3 * (n / 4), n - 3 * (n / 4));
    for (int pass = 0; pass < 2; pass++) {
        const struct store_filter fls[] = {
            filter(INT64_MIN, INT64_MAX, NULL),
            filter(T0 + 1000000, T0 + 4000000, NULL),
            filter(T0 + 2999000, T0 + 3001000, NULL),
            filter(INT64_MIN, INT64_MAX, "error"),
            filter(T0 + 4500000, INT64_MAX, "longer"),
        };
        static const int limits[] = { 10, 100, 1 << 30 };
        for (size_t i = 0; i < sizeof(fls) / sizeof(fls[0]); i++)
            for (int newest = 0; newest < 2; newest++)
                for (size_t l = 0; l < 3; l++) {
                    int na, nb;
                    char *a = scan_text(old, &fls[i], newest, limits[l], &na);
                    char *b = scan_text(mix, &fls[i], newest, limits[l], &nb);
                    assert_int_equal(na, nb);
                    assert_string_equal(a, b);
                    if (i == 0 && l == 2)
                        assert_int_equal(na, n);
                    free(a);
                    free(b);
                }
        store_close(mix);
        store_close(old);
        old = open_store(f->dir[0], 1024);
        mix = open_store(f->dir[1], 1024);
    }
    store_get_stats(mix, &st);
    assert_int_equal(st.n_corrupt_blocks, 0);
    assert_int_equal(st.n_records, (uint64_t)n);
    store_close(old);
    store_close(mix);
}

/* Newest 10: the codec 5 store reads its newest block whole, the
 * codec 6 one only its newest frames (fewer raw bytes: counted reads of
 * frames, each a fraction of the block). */
static void
test_frames_newest_reads_tail(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->dir[0], 1024);
    /* before the unsealed tail (under 16 KiB: ~250 records) */
    struct store_filter fl = filter(INT64_MIN, T0 + 2000 * 1000, NULL);
    struct store_stats a, b;
    int nr;

    put_range(s, 0, 3000);
    store_get_stats(s, &a);
    char *t = scan_text(s, &fl, 1, 10, &nr);
    store_get_stats(s, &b);
    assert_int_equal(nr, 10);
    free(t);
    /* a block of 16 KiB holds ~14 frames: a few are read */
    assert_true(b.n_cursor_reads - a.n_cursor_reads >= 1);
    assert_true(b.n_cursor_reads - a.n_cursor_reads <= 4);
    store_close(s);
}

/* A damaged frame is reported once and skipped; the other frames of its
 * block are read. */
static void
test_frames_damaged_frame(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->dir[0], 1024);
    struct store_filter fl = filter(INT64_MIN, INT64_MAX, NULL);
    struct store_stats st;

    put_range(s, 0, 9000);     /* 3 segments: the first has its .lqi */
    store_close(s);
    /* a byte in the middle of the first block's body (its segment is full
     * and indexed: open reads none of its bodies) */
    char *path = xasprintf("%s/seg-%016llx.lqs", f->dir[0], 1ull);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t hb[STORE_BLK_HDR_LEN], c;
    struct store_blk_hdr h;
    assert_int_equal(pread(fd, hb, sizeof(hb), STORE_SEG_HDR_LEN),
                     (ssize_t)sizeof(hb));
    block_hdr_decode(hb, &h);
    assert_int_equal(h.codec, STORE_CODEC_FRAMES_NL);
    off_t at = STORE_SEG_HDR_LEN + STORE_BLK_HDR_LEN + h.meta_len +
               h.comp_len / 2;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x55;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
    free(path);
    s = open_store(f->dir[0], 1024);
    struct store_cursor *cur = store_cursor_new(s, &fl, 0);
    struct logrec r;
    int n = 0, bad = 0, rc;
    while ((rc = store_cursor_next(cur, &r)) != 0)
        rc > 0 ? n++ : bad++;
    store_cursor_free(cur);
    store_get_stats(s, &st);
    print_message("damaged frame: %d records, %d reported\n", n, bad);
    assert_int_equal(bad, 1);
    /* the block is skipped from the damaged frame on (oldest first: its
     * frames before it were read), reported once */
    assert_true(n < 9000);
    assert_true(n > 9000 - 300);
    assert_int_equal(st.n_corrupt_blocks, 1);
    store_close(s);
}


/* The sealed blocks of s: each block's records grouped by source (each
 * label's records in one run, in the order they arrived: offsets
 * growing), so that a frame holds few sources; returns the (frame,
 * source) pairs over all blocks and counts the frames into *n_frames. */
static size_t
frame_sources(struct store *s, size_t *n_frames)
{
    struct buf comp, raw;
    struct store_rec *recs = NULL;
    size_t cap = 0, pairs = 0;

    buf_init(&comp, 64 << 20);
    buf_init(&raw, 64 << 20);
    *n_frames = 0;
    for (size_t g = 0; g < s->n_segs; g++) {
        char *path = store_seg_path(s, s->segs[g]->seq);
        int fd = open(path, O_RDONLY);
        free(path);
        assert_true(fd >= 0);
        for (size_t k = 0; k < s->segs[g]->n_blks; k++) {
            const struct store_blk *b = &s->segs[g]->blks[k];
            assert_int_equal(segment_read_body(fd, b, &comp), 0);
            assert_int_equal(segment_unpack(b, &comp, &raw), 0);
            assert_int_equal(block_decode(b->codec, raw.data, raw.len,
                                          b->n_records, b->n_labels, &recs,
                                          &cap), 0);
            uint32_t n_runs = 0;
            for (uint32_t i = 0; i < b->n_records; i++) {
                n_runs += i == 0 || recs[i].label != recs[i - 1].label;
                if (i > 0 && recs[i].label == recs[i - 1].label)
                    assert_true(recs[i].offset > recs[i - 1].offset);
            }
            assert_true(n_runs <= b->n_labels);   /* one run a source */
            for (uint32_t f = 0; f < b->n_frames; f++) {
                const struct store_frame *fr = &b->frames[f];
                for (uint32_t i = fr->first; i < fr->first + fr->n_records;
                     i++)
                    pairs += i == fr->first ||
                             recs[i].label != recs[i - 1].label;
            }
            *n_frames += b->n_frames;
        }
        close(fd);
    }
    free(recs);
    buf_fini(&comp);
    buf_fini(&raw);
    return pairs;
}

/* Sources that arrive interleaved (3 in step, one record of each in
 * turn) are sealed grouped by source: a block's frames hold one source
 * each but where one source's run ends and the next begins (at most
 * frames + sources - 1 (frame, source) pairs a block; in arrival order
 * every frame held all three), and every scan still answers as the
 * store written without frames does. */
static void
test_frames_grouped_by_source(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->dir[0], 1024);
    struct store *old = open_store(f->dir[1], STORE_NO_FRAMES);
    size_t n_frames = 0;

    put_range(s, 0, 3000);
    put_range(old, 0, 3000);
    store_lock(s);
    size_t n_blks = 0;
    for (size_t g = 0; g < s->n_segs; g++)
        n_blks += s->segs[g]->n_blks;
    size_t pairs = frame_sources(s, &n_frames);
    store_unlock(s);
    print_message("%zu blocks, %zu frames, %zu (frame, source) pairs\n",
                  n_blks, n_frames, pairs);
    assert_true(n_blks >= 4 && n_frames >= 8 * n_blks);
    assert_true(pairs <= n_frames + 2 * n_blks);
    const struct store_filter fl[] = {
        filter(INT64_MIN, INT64_MAX, NULL), filter(INT64_MIN, INT64_MAX,
                                                   "error"),
        filter(T0 + 1000000, T0 + 1500000, NULL),
    };
    for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
        for (int newest = 0; newest < 2; newest++) {
            int na, nb;
            char *a = scan_text(s, &fl[i], newest, 1 << 30, &na);
            char *b = scan_text(old, &fl[i], newest, 1 << 30, &nb);
            assert_int_equal(na, nb);
            assert_string_equal(a, b);
            free(a);
            free(b);
        }
    store_close(s);
    store_close(old);
}

/* Record i of source src for the cut tests: 3 sources in turns of 40
 * records, each 1 ms a record from its own start, source src's start
 * src * far_ns later (0: in step); messages of 60 to 90 bytes. */
static void
put_turns(struct store *s, int n_per, int64_t far_ns)
{
    char msg[128], cid[16];

    for (int i0 = 0; i0 < n_per; i0 += 40)
        for (int src = 0; src < 3; src++) {
            for (int i = i0; i < i0 + 40 && i < n_per; i++) {
                struct logrec r = { 0 };
                snprintf(cid, sizeof(cid), "cid%d", src);
                snprintf(msg, sizeof(msg), "%s line %d of source %d of the "
                         "frames cut test, at a source's end%s", i % 10 == 0 ? "ERROR" : "info",
                         i, src, i % 3 == 0 ? " with a longer tail" : "");
                r.time_ns = T0 + src * far_ns + (int64_t)i * 1000000;
                r.recv_ns = T0;
                r.host = "h1";
                r.container_id = cid;
                r.container = "web";
                r.image = "nginx:1";
                r.offset = (uint64_t)i + 1;
                r.msg = msg;
                r.msg_len = strlen(msg);
                assert_int_equal(store_append(s, &r), 1);
            }
            assert_int_equal(store_commit(s), 0);
        }
    assert_int_equal(store_sync(s), 0);
}

/* The frames of every block of s: their number, and the most time one
 * spans. */
static size_t
frames_widest(struct store *s, int64_t *widest)
{
    size_t n = 0;

    *widest = 0;
    store_lock(s);
    for (size_t g = 0; g < s->n_segs; g++)
        for (size_t k = 0; k < s->segs[g]->n_blks; k++) {
            const struct store_blk *b = &s->segs[g]->blks[k];
            for (uint32_t f = 0; f < b->n_frames; f++)
                if (b->frames[f].max_ns - b->frames[f].min_ns > *widest)
                    *widest = b->frames[f].max_ns - b->frames[f].min_ns;
            n += b->n_frames;
        }
    store_unlock(s);
    return n;
}

/* Sources whose times lie far apart (a backlog read in turns): a frame
 * ends where one source's run ends in the block (every record here is
 * past frame_size / BLOCK_FRAME_MIN_SHARE), so no frame spans the gap
 * between two sources' times and every frame holds one source; sources
 * in step are cut at the frame size alone, as before (the same frames
 * as a store whose sources are within the gap of each other). Both
 * answer every scan as the store written without frames does. On the
 * block level: a run shorter than frame_size / BLOCK_FRAME_MIN_SHARE
 * stays in its frame, and times at the int64 ends do not overflow. */
static void
test_frames_cut_at_distant_source(void **state)
{
    struct fx *f = *state;
    const int64_t hour = INT64_C(3600000000000);
    int64_t widest;

    struct store *s = open_store(f->dir[0], 1024);
    struct store *old = open_store(f->dir[1], STORE_NO_FRAMES);
    put_turns(s, 2000, hour);
    put_turns(old, 2000, hour);
    size_t n_frames = frames_widest(s, &widest);
    store_lock(s);
    size_t n_blks = 0, pairs = frame_sources(s, &n_frames);
    for (size_t g = 0; g < s->n_segs; g++)
        n_blks += s->segs[g]->n_blks;
    store_unlock(s);
    print_message("far apart: %zu blocks, %zu frames, %zu (frame, source) "
                  "pairs, widest frame %lld ms\n", n_blks, n_frames, pairs,
                  (long long)(widest / 1000000));
    assert_true(n_blks >= 4);
    assert_int_equal(pairs, n_frames);          /* one source a frame */
    assert_true(widest < hour);
    const struct store_filter fl[] = {
        filter(INT64_MIN, INT64_MAX, NULL),
        filter(INT64_MIN, INT64_MAX, "ERROR"),
        filter(T0 + hour / 2, T0 + hour + 500000000, NULL),
    };
    for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
        for (int newest = 0; newest < 2; newest++) {
            int na, nb;
            char *a = scan_text(s, &fl[i], newest, 1 << 30, &na);
            char *b = scan_text(old, &fl[i], newest, 1 << 30, &nb);
            assert_int_equal(na, nb);
            assert_string_equal(a, b);
            free(a);
            free(b);
        }
    store_close(s);
    store_close(old);

    /* in step, and a quarter of the gap apart (the first and last
     * source half of it: within the gap): the same frames */
    struct store *a = open_store(f->dir[2], 1024);
    put_turns(a, 2000, 0);
    struct store *b = open_store(f->dir[3], 1024);
    put_turns(b, 2000, BLOCK_FRAME_GAP_NS / 4);
    size_t na = frames_widest(a, &widest), nb = frames_widest(b, &widest);
    store_lock(a);
    size_t pa = frame_sources(a, &na);
    store_unlock(a);
    print_message("in step: %zu frames, %zu pairs; a quarter gap apart: %zu "
                  "frames\n", na, pa, nb);
    assert_int_equal(na, nb);
    assert_true(pa > na);               /* frames hold two sources */
    store_close(a);
    store_close(b);

    /* block level: a run too short to end a frame; the gap; times at
     * the int64 ends (t, bytes, label of two or three records) */
    const int64_t gap = BLOCK_FRAME_GAP_NS, mn = INT64_MIN, mx = INT64_MAX;
    const uint32_t share = 4096 / BLOCK_FRAME_MIN_SHARE;
    static const struct { int64_t t[3]; uint32_t len0, l2, n, end; } c[8] = {
        { { 0, 10 * 3600000000000LL }, 10, 0, 2, 2 },  /* too short */
        { { 0, 10 * 3600000000000LL }, 0, 0, 2, 1 },   /* share: cut */
        { { 0, gap }, 0, 0, 2, 2 },                     /* within the gap */
        { { 0, gap + 1 }, 0, 0, 2, 1 },
        { { 5 * gap, 2 * gap }, 0, 0, 2, 1 },           /* before it */
        { { mn, mx }, 0, 0, 2, 1 },
        { { mx, mn }, 0, 0, 2, 1 },
        { { mn, mx, 0 }, 0, 0, 3, 3 },  /* run 0 spans everything */
    };
    for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        struct store_rec r[3] = { { .label = 0 }, { .label = 1 },
                                  { .label = 1 } };
        for (uint32_t i = 0; i < c[k].n; i++) {
            r[i].time_ns = c[k].t[i];
            r[i].msg_len = share;
        }
        if (c[k].len0)
            r[0].msg_len = c[k].len0;
        if (c[k].n == 3) {
            r[1].label = 0;     /* the run: records 0 and 1 */
            r[2].label = 1;
        }
        assert_int_equal(block_frame_end(r, 0, c[k].n, 4096), c[k].end);
    }
}

/* A frame full at its size takes the block's last records when they
 * hold less than a quarter of it (BLOCK_FRAME_TAIL_SHARE), so no frame of
 * a few records ends a block: two records fill a 4 KiB frame (8 bytes a
 * record more), then a rest of 0 to 3 records; a rest of a quarter or
 * more, or a distant source in it, ends the frame at its size as before
 * (and the next frame takes the rest). Fails with the tail rule gone
 * (the rest a frame of its own) or taking a rest past its share. */
static void
test_frames_tail_joins(void **state)
{
    (void)state;
    static const struct { uint32_t n_rest, len, far, end; } c[] = {
        { 0, 0, 0, 2 },                 /* nothing after: the two */
        { 1, 100, 0, 3 },               /* a small rest joins */
        { 3, 300, 0, 5 },               /* 3 x 308 < 1024: joins */
        { 3, 332, 0, 5 },               /* 1020: joins */
        { 3, 334, 0, 2 },               /* 1026: a frame of its own */
        { 1, 1100, 0, 2 },
        { 2, 100, 1, 2 },               /* a distant source: cut */
    };
    for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        struct store_rec r[8] = { { .label = 0 } };
        r[0].msg_len = r[1].msg_len = 2040;     /* 4096 with the 8s */
        for (uint32_t i = 0; i < c[k].n_rest; i++) {
            r[2 + i].msg_len = c[k].len;
            r[2 + i].label = c[k].far;
            r[2 + i].time_ns = c[k].far ? 10 * BLOCK_FRAME_GAP_NS : 0;
        }
        uint32_t n = 2 + c[k].n_rest;
        assert_int_equal(block_frame_end(r, 0, n, 4096), c[k].end);
        if (c[k].end < n)
            assert_int_equal(block_frame_end(r, c[k].end, n, 4096), n);
    }
}

/* ------------------------------------------------------------------ */
/* Frames in the index (.lqi version 6)                                */

#define RARE_N 9000                     /* records: 3 segments and more */

/* Record i's message: the frames test's text, with the rare words of
 * rare[] (a word per record at most: "rw<k>q") where rare[i] >= 0. */
static void
put_rare(struct store *s, int i0, int n, const int *rare)
{
    char msg[128];

    for (int i = i0; i < i0 + n; i++) {
        char cid[16], word[24] = "";
        int src = i % 3;
        struct logrec r = { 0 };
        if (rare[i] >= 0)
            snprintf(word, sizeof(word), " rw%dq", rare[i]);
        snprintf(cid, sizeof(cid), "cid%d", src);
        snprintf(msg, sizeof(msg), "info line %d of the frames test%s%s", i,
                 word, i % 7 == 0 ? " with a longer tail of words" : "");
        r.time_ns = T0 + (int64_t)i * 1000 + (i % 5) * 1500;
        r.host = "h1";
        r.container_id = cid;
        r.container = "web";
        r.image = "nginx:1";
        r.offset = (uint64_t)i + 1;
        r.msg = msg;
        r.msg_len = strlen(msg);
        assert_int_equal(store_append(s, &r), 1);
        if (i % 200 == 199)
            assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(store_commit(s), 0);
    assert_int_equal(store_sync(s), 0);
}

/* Records of a scan for every token of toks (required), oldest first;
 * *n_reads: the blocks and frames it read. */
static int
scan_count(struct store *s, const char **toks, size_t n_toks,
           uint64_t *n_reads)
{
    struct store_filter fl = filter(INT64_MIN, INT64_MAX, NULL);
    struct store_stats a, b;
    struct logrec r;
    int n = 0, rc;

    fl.tokens = toks;
    fl.n_tokens = n_toks;
    fl.is_tokens_required = 1;
    store_get_stats(s, &a);
    struct store_cursor *c = store_cursor_new(s, &fl, 0);
    while ((rc = store_cursor_next(c, &r)) != 0) {
        assert_int_equal(rc, 1);
        for (size_t k = 0; k < n_toks; k++)
            assert_non_null(memmem(r.msg, r.msg_len, toks[k],
                                   strlen(toks[k])));
        n++;
    }
    store_cursor_free(c);
    store_get_stats(s, &b);
    *n_reads = b.n_cursor_reads - a.n_cursor_reads;
    return n;
}

/* A word in one record is read from its frame alone (blocks of ~8
 * frames: one a mask bit), in a full segment
 * (its .lqi), in the segment being written (the map the sealing thread
 * feeds) and in that segment's map rebuilt at open; with a .lqi of
 * version 5 (no frames) its whole block is read, the same answer. */
static void
test_frames_rare_word_one_frame(void **state)
{
    struct fx *f = *state;
    int *rare = xcalloc(RARE_N, sizeof(*rare));
    uint64_t reads;
    char w[3][16];
    const char *t[1];

    for (int i = 0; i < RARE_N; i++)
        rare[i] = -1;
    rare[1234] = 0;                     /* the first segment (full) */
    rare[8100] = 1;                     /* the last one (written) */
    rare[8400] = 2;
    for (int pass = 0; pass < 2; pass++) {
        index_test_without_frames(pass);
        struct store *s = open_store(f->dir[pass], 2048);
        put_rare(s, 0, RARE_N, rare);
        for (int reopen = 0; reopen < 2; reopen++) {
            for (int k = 0; k < 3; k++) {
                snprintf(w[k], sizeof(w[k]), "rw%dq", k);
                t[0] = w[k];
                assert_int_equal(scan_count(s, t, 1, &reads), 1);
                print_message("pass %d reopen %d %s: %llu reads\n", pass,
                              reopen, w[k], (unsigned long long)reads);
                if (pass == 0 || k > 0)
                    assert_int_equal(reads, 1);
                else
                    assert_true(reads > 4);     /* ~8 frames a block */
            }
            store_close(s);
            s = open_store(f->dir[pass], 2048);
        }
        store_close(s);
    }
    index_test_without_frames(0);
    free(rare);
}

/* Every record holding rare words is found, whatever frame of whatever
 * block it is in (blocks of ~14 frames here: two frames a mask bit),
 * alone and with a second word (a block holding
 * both in different frames has no frame holding both), in a store
 * whose segments have .lqi versions 5 to 9 mixed: the answers of a
 * brute-force model, each word's record count. Fails if a frame holding
 * the word is skipped. */
static void
test_frames_rare_words_every_frame(void **state)
{
    struct fx *f = *state;
    enum { N_WORDS = 300, N = 4 * RARE_N };
    int *rare = xcalloc(N, sizeof(*rare));
    int n_in[N_WORDS] = { 0 };
    uint64_t reads;

    for (int i = 0; i < N; i++)
        rare[i] = -1;
    /* each word in 1 to 3 records: near, in the same block, anywhere */
    for (int k = 0; k < N_WORDS; k++) {
        int at = (int)(rng() % N), n = 1 + (int)(rng() % 3);
        for (int j = 0; j < n; j++) {
            int i = j == 0 ? at : j == 1 ? at + (int)(rng() % 200) - 100
                                         : (int)(rng() % N);
            if (i < 0 || i >= N || rare[i] >= 0)
                continue;
            rare[i] = k;
            n_in[k]++;
        }
    }
    struct store *s = NULL;
    for (int part = 0; part < 24; part++) {
        /* versions 10, 5, 6, 7, 8 and 9 in turn: the store mixes them */
        index_test_without_frames(part / 4 % 6 == 1);
        index_test_full_keys(part / 4 % 6 == 2);
        index_test_v7(part / 4 % 6 == 3);
        index_test_v8(part / 4 % 6 == 4);
        index_test_v9(part / 4 % 6 == 5);
        s = open_store(f->dir[0], 1024);
        put_rare(s, part * (N / 24), N / 24, rare);
        store_close(s);
    }
    index_test_without_frames(0);
    index_test_full_keys(0);
    index_test_v7(0);
    index_test_v8(0);
    index_test_v9(0);
    s = open_store(f->dir[0], 1024);
    int n_v[11] = { 0 };
    for (uint64_t seq = 1; seq < 64; seq++) {
        char *path = xasprintf("%s/seg-%016llx.lqi", f->dir[0],
                               (unsigned long long)seq);
        uint8_t h[8];
        int fd = open(path, O_RDONLY);
        free(path);
        if (fd < 0)
            continue;
        assert_int_equal(pread(fd, h, 8, 0), 8);
        close(fd);
        n_v[h[4] < 11 ? h[4] : 0]++;
    }
    print_message(".lqi files: %d version 5, %d version 6, %d version 7, "
                  "%d version 8, %d version 9, %d version 10\n", n_v[5],
                  n_v[6], n_v[7], n_v[8], n_v[9], n_v[10]);
    assert_true(n_v[5] > 0 && n_v[6] > 0 && n_v[7] > 0 && n_v[8] > 0 &&
                n_v[9] > 0 && n_v[10] > 0);
    for (int k = 0; k < N_WORDS; k++) {
        char w[16], w2[16];
        const char *t[2] = { w, w2 };
        snprintf(w, sizeof(w), "rw%dq", k);
        assert_int_equal(scan_count(s, t, 1, &reads), n_in[k]);
        /* with a word of a record near it: both in one record never */
        int k2 = (k + 1) % N_WORDS;
        snprintf(w2, sizeof(w2), "rw%dq", k2);
        assert_int_equal(scan_count(s, t, 2, &reads), 0);
        /* with a word of the same records: all of them */
        snprintf(w2, sizeof(w2), "info");
        assert_int_equal(scan_count(s, t, 2, &reads), n_in[k]);
    }
    store_close(s);
    free(rare);
}

/* The zstd blocks of the single zstd frame z (at most 64 counted). */
static int
zstd_blocks(const uint8_t *z, size_t len)
{
    size_t at = ZSTD_frameHeaderSize(z, len);
    int n = 0;

    assert_false(ZSTD_isError(at));
    for (;;) {
        assert_true(at + 3 <= len);
        uint32_t h = (uint32_t)z[at] | (uint32_t)z[at + 1] << 8 |
                     (uint32_t)z[at + 2] << 16;
        size_t size = (h >> 1 & 3) == 1 ? 1 : h >> 3;  /* RLE: one byte */
        at += 3 + size;
        n++;
        if (h & 1)
            break;
    }
    assert_int_equal(at, len);
    return n;
}

/* A frame's zstd frame ends a zstd block after the time column and where
 * the messages begin (STORE.md "Frames"), so the nanoseconds' random
 * bytes do not share the text's literal table: smaller than the frame
 * compressed whole, and the same bytes back. Raw bytes whose column
 * lengths do not parse are compressed whole. */
static void
test_frames_columns_cut_apart(void **state)
{
    static const char *words[] = { "GET", "/index.html", "200", "user",
                                   "session", "opened", "for", "root" };
    const uint32_t n = 800;
    struct store_rec *r = xcalloc(n, sizeof(*r));
    char *text = xmalloc((size_t)n * 128);
    struct buf raw, cut, whole, back;
    const char *err;
    int64_t t = T0;
    size_t at = 0;

    (void)state;
    for (uint32_t i = 0; i < n; i++) {
        size_t l0 = at;
        while (at - l0 < 60)
            at += (size_t)snprintf(text + at, 32, "%s ",
                                   words[rng() % 8]);
        t += 1000000 + (int64_t)(rng() % 1000000);  /* Docker's ns */
        r[i] = (struct store_rec){ .time_ns = t, .recv_ns = T0,
                                   .offset = at, .msg = (uint8_t *)text + l0,
                                   .msg_len = (uint32_t)(at - l0) };
    }
    buf_init(&raw, STORE_MAX_RAW);
    buf_init(&cut, STORE_MAX_RAW);
    buf_init(&whole, STORE_MAX_RAW);
    buf_init(&back, STORE_MAX_RAW);
    assert_int_equal(buf_put_varint(&raw, n), 0);
    assert_int_equal(block_cols_encode(&raw, STORE_CODEC_ZSTD_RECV, r, n, 1),
                     0);
    assert_true(raw.len < 128 * 1024);  /* one zstd block if not cut */
    assert_int_equal(block_frame_compress(&cut, raw.data, raw.len,
                                          STORE_CODEC_FRAMES_RECV, 1), 0);
    assert_int_equal(compress_zstd(&whole, raw.data, raw.len, 1), 0);
    assert_int_equal(zstd_blocks(cut.data, cut.len), 3);
    assert_int_equal(zstd_blocks(whole.data, whole.len), 1);
    assert_true(cut.len < whole.len);
    assert_int_equal(compress_unzstd(&back, cut.data, cut.len, raw.len,
                                     &err), 0);
    assert_int_equal(back.len, raw.len);
    assert_memory_equal(back.data, raw.data, raw.len);
    /* not a frame's columns (a count that is no varint, then lengths
     * past the end): one block, the same bytes back */
    for (int k = 0; k < 2; k++) {
        size_t len = k ? 100 : 4096;
        memset(text, k ? 0x7f : 0xff, len);
        buf_reset(&cut);
        buf_reset(&back);
        assert_int_equal(block_frame_compress(&cut, (const uint8_t *)text,
                                              len, STORE_CODEC_FRAMES_RECV,
                                              1), 0);
        assert_int_equal(zstd_blocks(cut.data, cut.len), 1);
        assert_int_equal(compress_unzstd(&back, cut.data, cut.len, len,
                                         &err), 0);
        assert_memory_equal(back.data, text, len);
    }
    buf_fini(&raw);
    buf_fini(&cut);
    buf_fini(&whole);
    buf_fini(&back);
    free(text);
    free(r);
}

/* A frame's messages are also cut into zstd blocks where one source's
 * records end and the next's begin (each source's text its own literal
 * table, STORE.md "Frames"), but not within FRAME_SRC_CUT_MIN (4 KiB)
 * of the cut before: sources of 8, 8, 1 and 8 KiB give cuts before the
 * second and the third, not the fourth; the same bytes back, in every
 * framed codec. */
static void
test_frames_sources_cut_apart(void **state)
{
    static const size_t kib[4] = { 8, 8, 1, 8 };
    const uint32_t n = 1024;
    struct store_rec *r = xcalloc(n, sizeof(*r));
    char *text = xmalloc((size_t)n * 160);
    struct buf raw, cut, back;
    const char *err;
    int64_t t = T0;
    size_t at = 0;
    uint32_t k = 0;
    static const uint32_t codecs[] = { STORE_CODEC_FRAMES_RECV,
                                       STORE_CODEC_FRAMES_TIME };

    (void)state;
    for (uint32_t l = 0; l < 4; l++) {
        size_t l0 = at;
        while (at - l0 < kib[l] * 1024) {
            size_t m0 = at;
            at += (size_t)snprintf(text + at, 160, "source %u line %u %08x",
                                   l, k, (unsigned)rng());
            t += 1000000 + (int64_t)(rng() % 1000000);
            r[k] = (struct store_rec){ .time_ns = t, .recv_ns = T0,
                                       .label = l, .offset = at,
                                       .msg = (uint8_t *)text + m0,
                                       .msg_len = (uint32_t)(at - m0) };
            k++;
            assert_true(k < n);
        }
    }
    buf_init(&raw, STORE_MAX_RAW);
    buf_init(&cut, STORE_MAX_RAW);
    buf_init(&back, STORE_MAX_RAW);
    for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
        buf_reset(&raw);
        buf_reset(&cut);
        buf_reset(&back);
        assert_int_equal(buf_put_varint(&raw, k), 0);
        assert_int_equal(block_cols_encode(&raw,
                                           store_codec_frame_body(codecs[c]),
                                           r, k, 4), 0);
        assert_int_equal(block_frame_compress(&cut, raw.data, raw.len,
                                              codecs[c], 1), 0);
        /* columns | time bits or the rest | sources 0 | 1 | 2 and 3 */
        assert_int_equal(zstd_blocks(cut.data, cut.len), 5);
        assert_int_equal(compress_unzstd(&back, cut.data, cut.len, raw.len,
                                         &err), 0);
        assert_int_equal(back.len, raw.len);
        assert_memory_equal(back.data, raw.data, raw.len);
    }
    buf_fini(&raw);
    buf_fini(&cut);
    buf_fini(&back);
    free(text);
    free(r);
}

/* Bytes of the fraction of Docker's json-file time of t (as codec 9
 * predicts them: the reference, a string formatted and trimmed). */
static size_t
docker_frac_len(int64_t t)
{
    char f[16];
    uint64_t ns = (uint64_t)t % 1000000000u;
    int l = snprintf(f, sizeof(f), ".%09llu", (unsigned long long)ns);

    while (l > 1 && f[l - 1] == '0')
        l--;
    return l == 1 ? 0 : (size_t)l;
}

/* Every line of the real samples (LOGQ_CORPUS, default ../shared/corpus;
 * "none" skips), as the store holds them: grouped by file (a source),
 * Docker-like times (1 ms apart plus a random part, some whole
 * microseconds and seconds) and offsets (each json-file line: its text,
 * the time's fraction and 80 bytes), in 256 KiB frames: codec 9 gives
 * codec 8's records byte for byte, whole and frame by frame; its frames
 * are newline-ended, its offset deltas all the same (the json-file
 * line's growth with its time's length predicted), and its blocks
 * smaller. */
static void
test_frames_codec9_corpus(void **state)
{
    const char *dir = corpus_dir();
    (void)state;
    if (strcmp(dir, "none") == 0) {
        print_message("[ SKIPPED  ] LOGQ_CORPUS=none: corpus part skipped\n");
        skip();
    }
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s: no corpus (LOGQ_CORPUS=none skips it)", dir);
    struct buf text;
    uint32_t n = 0, cap = 0, n_labels = 0;
    struct store_rec *in = NULL;
    size_t *at = NULL;
    struct dirent *de;
    int64_t t = T0;
    buf_init(&text, 256 << 20);
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".log") != 0)
            continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        char *line = NULL;
        size_t lcap = 0;
        ssize_t len;
        uint64_t off = 0;
        while ((len = getline(&line, &lcap, fp)) > 0) {
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                len--;
            if (n == cap) {
                cap = cap ? 2 * cap : 4096;
                in = xreallocarray(in, cap, sizeof(*in));
                at = xreallocarray(at, cap, sizeof(*at));
            }
            uint64_t r = rng();
            t += 1000000 + (int64_t)(r % 1000000);
            if (r % 16 == 0)
                t -= t % 1000;          /* whole microseconds */
            if (r % 64 == 1)
                t -= t % 1000000000;    /* a whole second */
            off += (uint64_t)len + docker_frac_len(t) + 80;
            at[n] = text.len;
            assert_int_equal(buf_append(&text, line, (size_t)len), 0);
            in[n] = (struct store_rec){ .time_ns = t, .recv_ns = T0,
                                        .offset = off, .label = n_labels,
                                        .msg_len = (uint32_t)len,
                                        .stream = 0 };
            n++;
        }
        free(line);
        fclose(fp);
        free(path);
        n_labels++;
    }
    closedir(d);
    assert_true(n > 1000);
    for (uint32_t i = 0; i < n; i++)
        in[i].msg = text.data + at[i];
    struct buf body[2], table, cols, raw;
    struct store_rec *out[2] = { NULL, NULL };
    size_t cap_out[2] = { 0, 0 };
    static const uint32_t codecs[2] = { STORE_CODEC_FRAMES_TIME,
                                        STORE_CODEC_FRAMES_NL };
    buf_init(&table, STORE_MAX_META);
    buf_init(&cols, STORE_MAX_RAW);
    buf_init(&raw, 64 << 20);
    /* blocks of 1 MiB of text, as sealing cuts them */
    uint32_t i0 = 0, n_msgs_first = 0;
    uint64_t comp[2] = { 0, 0 };
    while (i0 < n) {
        uint32_t i1 = i0;
        size_t bytes = 0;
        while (i1 < n && bytes < (1u << 20))
            bytes += in[i1++].msg_len + 8;
        for (int c = 0; c < 2; c++) {
            uint32_t raw_len = 0;
            buf_init(&body[c], STORE_MAX_RAW);
            buf_reset(&table);
            assert_int_equal(block_frames_encode(&body[c], &table, &cols,
                                                 in + i0, i1 - i0, n_labels,
                                                 in[i0].time_ns, 256 << 10,
                                                 1, codecs[c], &raw_len), 0);
            comp[c] += body[c].len;
            struct store_blk b = { .codec = codecs[c],
                                   .n_records = i1 - i0, .raw_len = raw_len,
                                   .comp_len = (uint32_t)body[c].len };
            assert_int_equal(block_frames_decode(table.data,
                                                 table.data + table.len,
                                                 in[i0].time_ns, i1 - i0,
                                                 body[c].len, raw_len,
                                                 &b.frames, &b.n_frames,
                                                 NULL), 0);
            assert_int_equal(segment_unpack(&b, &body[c], &raw), 0);
            assert_int_equal(block_decode(codecs[c], raw.data, raw.len,
                                          i1 - i0, n_labels, &out[c],
                                          &cap_out[c]), 0);
            assert_recs_equal(out[c], in + i0, i1 - i0);
            if (c == 1) {
                /* each frame: newline-ended, offsets all predicted */
                const uint8_t *q = raw.data, *qe = raw.data + raw.len;
                for (uint32_t f = 0; f < b.n_frames; f++) {
                    uint64_t v = 0, cl[7];
                    /* messages first, then columns (a matches-only
                     * scan's path): block_decode's records */
                    assert_int_equal(check_msgs_first(
                        q, b.frames[f].raw_len, b.frames[f].n_records,
                        n_labels), 1);
                    n_msgs_first++;
                    assert_int_equal(blk_get_varint(&q, qe, &v), 0);
                    assert_int_equal(v, b.frames[f].n_records);
                    for (int k = 0; k < 7; k++)
                        assert_int_equal(blk_get_varint(&q, qe, &cl[k]), 0);
                    assert_int_equal(cl[4], 0);
                    /* a source's first record in the frame has its
                     * offset from 0, the others the line's 80 bytes */
                    const uint8_t *oc = q + cl[0] + cl[1] + cl[2];
                    const uint8_t *oe = oc + cl[3];
                    uint64_t n_other = 0;
                    for (uint32_t k = 0; k < b.frames[f].n_records; k++) {
                        assert_int_equal(blk_get_varint(&oc, oe, &v), 0);
                        n_other += blk_zz_dec(v) != 80;
                    }
                    assert_true(oc == oe);
                    assert_true(n_other <= n_labels);
                    uint64_t sum = 0;
                    for (int k = 0; k < 7; k++)
                        sum += cl[k];
                    q += sum;
                    uint32_t fn = b.frames[f].n_records;
                    for (uint32_t k = 0; k < fn; k++) {
                        const uint8_t *e = memchr(q, '\n', (size_t)(qe - q));
                        assert_non_null(e);
                        q = e + 1;
                    }
                }
                assert_true(q == qe);
            }
            free(b.frames);
            buf_fini(&body[c]);
        }
        i0 = i1;
    }
    print_message("corpus: %u lines, %u files: codec 8 %llu bytes, codec 9 "
                  "%llu\n", n, n_labels, (unsigned long long)comp[0],
                  (unsigned long long)comp[1]);
    assert_true(comp[1] < comp[0] - comp[0] / 50);     /* 2% at least */
    assert_true(n_msgs_first > 8);
    free(out[0]);
    free(out[1]);
    free(in);
    free(at);
    buf_fini(&text);
    buf_fini(&table);
    buf_fini(&cols);
    buf_fini(&raw);
}

/* Codec 9's newline-ended frame of two records "a" and "b" (columns,
 * then "a\nb\n") read back, and refused when damaged: the last newline
 * missing, a byte past it, a newline too many; an empty message between
 * two newlines is one; block_msg_bytes counts the messages, not the
 * newlines. */
static void
test_frames_codec9_damaged(void **state)
{
    struct store_rec in[3] = {
        { .time_ns = T0, .offset = 90, .msg = (const uint8_t *)"a",
          .msg_len = 1 },
        { .time_ns = T0 + 1000, .offset = 181, .msg = (const uint8_t *)"b",
          .msg_len = 1 },
        { .time_ns = T0 + 2000, .offset = 271, .msg = (const uint8_t *)"",
          .msg_len = 0 },
    };
    struct store_rec *out = NULL;
    size_t cap = 0;
    struct buf raw, bad;
    uint64_t msg;

    (void)state;
    buf_init(&raw, 4096);
    buf_init(&bad, 4096);
    assert_int_equal(buf_put_varint(&raw, 2), 0);
    assert_int_equal(block_cols_encode(&raw, STORE_CODEC_FRAMES_NL, in, 2, 1),
                     0);
    assert_memory_equal(raw.data + raw.len - 4, "a\nb\n", 4);
    assert_int_equal(block_decode(STORE_CODEC_FRAMES_NL, raw.data, raw.len,
                                  2, 1, &out, &cap), 0);
    assert_recs_equal(out, in, 2);
    assert_int_equal(check_msgs_first(raw.data, raw.len, 2, 1), 1);
    /* a label past the block's: the messages read, the columns refused */
    assert_int_equal(check_msgs_first(raw.data, raw.len, 2, 0), 1);
    assert_int_equal(block_msg_bytes(STORE_CODEC_FRAMES_NL, raw.data,
                                     raw.len, 2, &msg), 0);
    assert_int_equal(msg, 2);
    /* the same bytes are no codec 8 frame (its length column is empty) */
    assert_int_equal(block_decode(STORE_CODEC_FRAMES_TIME, raw.data, raw.len,
                                  2, 1, &out, &cap), -1);
    /* "a\nb": the last newline missing */
    assert_int_equal(block_decode(STORE_CODEC_FRAMES_NL, raw.data,
                                  raw.len - 1, 2, 1, &out, &cap), -1);
    assert_int_equal(check_msgs_first(raw.data, raw.len - 1, 2, 1), 0);
    /* one record claimed of two: the bytes go past its newline */
    assert_int_equal(check_msgs_first(raw.data, raw.len, 1, 1), 0);
    /* "a\nb\nc": a byte past the last record */
    buf_reset(&bad);
    assert_int_equal(buf_append(&bad, raw.data, raw.len), 0);
    assert_int_equal(buf_append(&bad, "c", 1), 0);
    assert_int_equal(block_decode(STORE_CODEC_FRAMES_NL, bad.data, bad.len,
                                  2, 1, &out, &cap), -1);
    assert_int_equal(check_msgs_first(bad.data, bad.len, 2, 1), 0);
    /* "a\n\nb\n": three messages where two were claimed */
    buf_reset(&bad);
    assert_int_equal(buf_append(&bad, raw.data, raw.len - 2), 0);
    assert_int_equal(buf_append(&bad, "\nb\n", 3), 0);
    assert_int_equal(block_decode(STORE_CODEC_FRAMES_NL, bad.data, bad.len,
                                  2, 1, &out, &cap), -1);
    assert_int_equal(check_msgs_first(bad.data, bad.len, 2, 1), 0);
    /* "a", "b" and "": the empty one ends with its newline */
    buf_reset(&raw);
    assert_int_equal(buf_put_varint(&raw, 3), 0);
    assert_int_equal(block_cols_encode(&raw, STORE_CODEC_FRAMES_NL, in, 3, 1),
                     0);
    assert_memory_equal(raw.data + raw.len - 5, "a\nb\n\n", 5);
    assert_int_equal(block_decode(STORE_CODEC_FRAMES_NL, raw.data, raw.len,
                                  3, 1, &out, &cap), 0);
    assert_recs_equal(out, in, 3);
    assert_int_equal(check_msgs_first(raw.data, raw.len, 3, 1), 1);
    /* a message holding a newline: the frame keeps its lengths */
    in[1].msg = (const uint8_t *)"b\nc";
    in[1].msg_len = 3;
    buf_reset(&raw);
    assert_int_equal(buf_put_varint(&raw, 3), 0);
    assert_int_equal(block_cols_encode(&raw, STORE_CODEC_FRAMES_NL, in, 3, 1),
                     0);
    assert_memory_equal(raw.data + raw.len - 4, "ab\nc", 4);
    assert_int_equal(block_decode(STORE_CODEC_FRAMES_NL, raw.data, raw.len,
                                  3, 1, &out, &cap), 0);
    assert_recs_equal(out, in, 3);
    assert_int_equal(check_msgs_first(raw.data, raw.len, 3, 1), 0);
    assert_int_equal(block_msg_bytes(STORE_CODEC_FRAMES_NL, raw.data,
                                     raw.len, 3, &msg), 0);
    assert_int_equal(msg, 4);
    free(out);
    buf_fini(&raw);
    buf_fini(&bad);
}

/* The column test of a regex (store_filter.match_col_fn) runs over a
 * codec 9 frame's messages as over codec 8's, the newlines between them
 * in the spans it is given: each record's span ends where its message
 * ends and holds it (empty messages too), and the records it rules out
 * are not tested one by one. */
static uint32_t col_calls;

static int
col_stub(void *arg, const char *text, const uint32_t *ends, uint32_t n,
         uint8_t *maybe)
{
    const struct store_rec *r = arg;

    col_calls++;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t from = i ? ends[i - 1] : 0;
        assert_true((const uint8_t *)text + ends[i] == r[i].msg + r[i].msg_len);
        assert_true(ends[i] - from >= r[i].msg_len);
        assert_true(ends[i] - from <= r[i].msg_len + 1);
        maybe[i] = (uint8_t)(i % 3 != 0);
    }
    return 0;
}

static int
match_all(void *arg, const char *msg, size_t len)
{
    (void)arg;
    (void)msg;
    (void)len;
    return 1;
}

static void
test_frames_codec9_column_test(void **state)
{
    const uint32_t n = 40;
    struct store_rec in[40];
    char text[40][16];
    static const uint32_t codecs[2] = { STORE_CODEC_FRAMES_TIME,
                                        STORE_CODEC_FRAMES_NL };

    (void)state;
    for (uint32_t i = 0; i < n; i++) {
        int l = i % 5 == 4 ? 0 : snprintf(text[i], sizeof(text[i]),
                                          "rec %u", i);
        in[i] = (struct store_rec){ .time_ns = T0 + i, .offset = 100 * i,
                                    .msg = (const uint8_t *)text[i],
                                    .msg_len = (uint32_t)l };
    }
    for (int c = 0; c < 2; c++) {
        struct buf raw;
        struct blk_loader lr;
        struct blk_load ld;
        buf_init(&raw, 1 << 16);
        assert_int_equal(buf_put_varint(&raw, n), 0);
        assert_int_equal(block_cols_encode(&raw, codecs[c], in, n, 1), 0);
        memset(&lr, 0, sizeof(lr));
        lr.match_fn = match_all;
        lr.match_col_fn = col_stub;
        lr.since = INT64_MIN;
        lr.until = INT64_MAX;
        lr.stream = -1;
        blkload_init(&ld);
        assert_int_equal(block_decode(codecs[c], raw.data, raw.len, n, 1,
                                      &ld.recs, &ld.cap_recs), 0);
        lr.match_arg = ld.recs;
        col_calls = 0;
        blkload_hints(&lr, &ld, n, INT64_MIN, INT64_MAX, 0);
        assert_int_equal(col_calls, 1);
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(ld.hint[i], i % 3 != 0);
        blkload_fini(&ld);
        buf_fini(&raw);
    }
}

/* Codec 8's time column read back from bytes made by hand (STORE.md
 * "Time column (codec 8)"), and refused when damaged: a class past 129,
 * a negative zero, bits missing, a byte too many, padding not zero. */
static void
test_frames_time_column_damaged(void **state)
{
    /* 2 records: deltas +5 (class 6, bits 01) and -1 (class 3, none) */
    static const uint8_t good[] = {
        2, 2, 2, 2, 2, 2, 2, 1,         /* n, seven column lengths */
        0, 0,                           /* labels */
        6, 3,                           /* time classes */
        0, 0,                           /* flags */
        0, 0,                           /* offsets */
        1, 1,                           /* lengths */
        0, 0,                           /* receive times */
        0x01,                           /* time bits */
        'a', 'b',
    };
    struct store_rec *r = NULL;
    size_t cap = 0;
    uint8_t b[sizeof(good) + 1];

    (void)state;
    assert_int_equal(block_decode(STORE_CODEC_FRAMES_TIME, good,
                                  sizeof(good), 2, 1, &r, &cap), 0);
    assert_int_equal(r[0].time_ns, 5);
    assert_int_equal(r[1].time_ns, 4);
    assert_int_equal(r[0].msg_len, 1);
    assert_int_equal(r[1].msg[0], 'b');
    /* class 1 (negative zero), 130 (past 64 bits), 129 (63 bits: none
     * left), 2 bits a zero padding must not hold, no bit column */
    static const struct { size_t at; uint8_t v; } bad[] = {
        { 10, 1 }, { 11, 130 }, { 10, 129 }, { 20, 0x05 }, { 20, 0x81 },
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        memcpy(b, good, sizeof(good));
        b[bad[k].at] = bad[k].v;
        assert_int_equal(block_decode(STORE_CODEC_FRAMES_TIME, b,
                                      sizeof(good), 2, 1, &r, &cap), -1);
    }
    /* the bit column a byte longer (the messages one shorter), or empty */
    memcpy(b, good, sizeof(good));
    b[7] = 2;
    assert_int_equal(block_decode(STORE_CODEC_FRAMES_TIME, b, sizeof(good),
                                  2, 1, &r, &cap), -1);
    b[7] = 0;
    assert_int_equal(block_decode(STORE_CODEC_FRAMES_TIME, b, sizeof(good),
                                  2, 1, &r, &cap), -1);
    /* as codec 6 the same bytes are another layout: refused, no crash */
    assert_int_equal(block_decode(STORE_CODEC_ZSTD_FRAMES, good,
                                  sizeof(good), 2, 1, &r, &cap), -1);
    free(r);
}

/* block_nl_find against a byte-by-byte count, on both of its paths
 * (AVX2 where the CPU has it, and SSE2 then bytes, forced): random
 * lengths around the 64-byte steps, newline densities from none to
 * every byte, n below, at and above the newlines there are. */
static void
test_frames_nl_find_paths(void **state)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    uint8_t *p = xmalloc(4096);
    uint32_t *pos = xmalloc((4096 + 64) * sizeof(*pos));
    uint32_t want[4096];

    (void)state;
    for (int path = 0; path < 2; path++) {
        block_test_nl_path(path);
        for (int iter = 0; iter < 3000; iter++) {
            size_t len = testrng_below(&rng, 8) == 0
                         ? testrng_below(&rng, 4096)
                         : 64 * (1 + testrng_below(&rng, 5)) +
                           testrng_below(&rng, 3) - 1;
            unsigned every = 1 + testrng_below(&rng, 200);
            uint32_t n_want = 0;
            if (len > 4096)
                len = 4096;
            for (size_t k = 0; k < len; k++) {
                p[k] = testrng_below(&rng, every) == 0 ? '\n'
                                                       : (uint8_t)('a' + k % 26);
                if (p[k] == '\n')
                    want[n_want++] = (uint32_t)k;
            }
            uint32_t n = testrng_below(&rng, n_want + 3);
            uint32_t got = block_nl_find(p, len, n, pos);
            if (n_want < n)
                assert_int_equal(got, n_want);     /* all there are */
            else
                assert_true(got >= n);
            uint32_t check = got < n_want ? got : n_want;
            for (uint32_t k = 0; k < check; k++)
                assert_int_equal(pos[k], want[k]);
        }
    }
    block_test_nl_path(0);
    free(p);
    free(pos);
}

/* block_nl_count (the encoder's check that no message holds a newline)
 * against a byte-by-byte count: every length to 300 at every start
 * alignment, random lengths to 20,000 with newline densities from none
 * to every byte (runs of newlines past 255 16-byte steps: the byte
 * counters' sum before one wraps), and whole buffers of newlines. */
static void
test_frames_nl_count(void **state)
{
    enum { MAX = 20000 };
    uint64_t rng = 0x2545f4914f6cdd1dull;
    uint8_t *buf = xmalloc(MAX + 16);

    (void)state;
    for (size_t len = 0; len <= 300; len++)
        for (size_t a = 0; a < 16; a++) {
            uint8_t *p = buf + a;
            uint64_t want = 0;
            for (size_t k = 0; k < len; k++) {
                p[k] = (k * 7 + a) % 5 == 0 ? '\n' : (uint8_t)(0x80 | k);
                want += p[k] == '\n';
            }
            assert_int_equal(block_nl_count(p, p + len), want);
        }
    for (int iter = 0; iter < 400; iter++) {
        size_t a = testrng_below(&rng, 16);
        size_t len = testrng_below(&rng, MAX - 15);
        unsigned every = iter % 4 == 0 ? 1 : 1 + testrng_below(&rng, 300);
        uint8_t *p = buf + a;
        uint64_t want = 0;
        for (size_t k = 0; k < len; k++) {
            p[k] = testrng_below(&rng, every) == 0 ? '\n'
                                                   : (uint8_t)('\n' + 1 + k % 200);
            want += p[k] == '\n';
        }
        assert_int_equal(block_nl_count(p, p + len), want);
    }
    memset(buf, '\n', MAX);
    for (size_t len = 4070; len <= 4100; len++)         /* 255 steps */
        assert_int_equal(block_nl_count(buf, buf + len), len);
    assert_int_equal(block_nl_count(buf, buf + MAX), MAX);
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_nl_count),
        cmocka_unit_test(test_frames_codec_same_records),
        cmocka_unit_test(test_frames_columns_cut_apart),
        cmocka_unit_test(test_frames_sources_cut_apart),
        cmocka_unit_test(test_frames_codec9_corpus),
        cmocka_unit_test(test_frames_codec9_damaged),
        cmocka_unit_test(test_frames_codec9_column_test),
        cmocka_unit_test(test_frames_time_column_damaged),
        cmocka_unit_test_setup_teardown(test_frames_store_matches_old_format,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_newest_reads_tail,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_damaged_frame, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_frames_cut_at_distant_source,
                                        setup, teardown),
        cmocka_unit_test(test_frames_tail_joins),
        cmocka_unit_test(test_frames_nl_find_paths),
        cmocka_unit_test_setup_teardown(test_frames_grouped_by_source, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_frames_rare_word_one_frame,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_rare_words_every_frame,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
