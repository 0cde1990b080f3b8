/* SPDX-License-Identifier: MIT */
/*
 * fuzz_block: libFuzzer target for a sealed block's raw body as a reader
 * decodes it once its zstd frame is checked and decompressed
 * (collector/store/block.c: codecs 2 to 9, frames of codecs 6 to 9,
 * codec 8's time classes and bits, codec 9's newline-ended messages,
 * collector/STORE.md "Frames", "Time column (codec 8)", "Newline-ended
 * messages (codec 9)"). Byte 0 picks the codec (9 - byte % 9: codec 9
 * on a zero), byte 1 the labels (1 to 16), bytes 2-3 the records claimed;
 * the rest is the body. Invariants (assert): decoding never reads past
 * the body; a body that decodes is a whole: its records encoded again
 * with the codec's frame body (codecs 6 to 9: one frame) decode to the
 * same records; the message bytes block_msg_bytes reports are the
 * records' when it answers for a single frame; block_frame_compress's
 * zstd frame (its cuts where the body's column lengths put them, any
 * bytes) decompresses to the body.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/store/store_internal.h"
#include "common/compress.h"
#include "common/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_same(const struct store_rec *a, const struct store_rec *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        assert(a[i].time_ns == b[i].time_ns);
        assert(a[i].recv_ns == b[i].recv_ns);
        assert(a[i].offset == b[i].offset);
        assert(a[i].label == b[i].label);
        assert(a[i].stream == b[i].stream);
        assert(a[i].flags == b[i].flags);
        assert(a[i].msg_len == b[i].msg_len);
        assert(a[i].msg_len == 0 ||
               memcmp(a[i].msg, b[i].msg, a[i].msg_len) == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t codec = 9 - data[0] % 9;   /* 9 down to 1 */
    uint32_t n_labels = 1 + data[1] % 16;
    uint32_t n = (uint32_t)data[2] | (uint32_t)data[3] << 8;
    const uint8_t *body = data + 4;
    size_t len = size - 4;
    /* a copy of its own size, so ASan sees a read past the body */
    uint8_t *p = xmalloc(len ? len : 1);
    struct store_rec *recs = NULL, *again = NULL;
    size_t cap = 0, cap2 = 0;
    struct buf enc, z, back;
    const char *err;

    memcpy(p, body, len);
    buf_init(&z, STORE_MAX_RAW);
    buf_init(&back, STORE_MAX_RAW);
    assert(block_frame_compress(&z, p, len, codec, 1) == 0);
    assert(compress_unzstd(&back, z.data, z.len, len, &err) == 0);
    assert(back.len == len && (len == 0 || memcmp(back.data, p, len) == 0));
    if (codec >= STORE_CODEC_ZLIB_COLS &&
        block_decode(codec, p, len, n, n_labels, &recs, &cap) == 0) {
        uint64_t msg = 0, sum = 0;
        for (uint32_t i = 0; i < n; i++)
            sum += recs[i].msg_len;
        if (block_msg_bytes(codec, p, len, n, &msg) == 0)
            assert(msg == sum);
        uint32_t ec = store_codec_is_framed(codec) ?
                      store_codec_frame_body(codec) : codec;
        buf_init(&enc, STORE_MAX_RAW);
        if (store_codec_is_framed(codec))
            assert(buf_put_varint(&enc, n) == 0);
        assert(block_cols_encode(&enc, ec, recs, n, n_labels) == 0);
        if (n > 0) {
            assert(block_decode(codec, enc.data, enc.len, n, n_labels,
                                &again, &cap2) == 0);
            fuzz_same(recs, again, n);
        }
        buf_fini(&enc);
    }
    free(recs);
    free(again);
    buf_fini(&z);
    buf_fini(&back);
    free(p);
    return 0;
}
