/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dockerline: libFuzzer target for shipper/dockerline.c. Each input is
 * parsed once with a generous msg cap and again with small and exact caps,
 * checking the header's contract: RAW means msg is the input byte for byte;
 * a decoded text is valid UTF-8 and never longer than 3 bytes per input
 * byte; a capped parse either fails leaving msg untouched or gives exactly
 * the uncapped result, and fails only when that result cannot fit; and
 * the same input through dockerline_parse_ref (the general scanner, without
 * the fast path for Docker's own layout) gives the same bytes and fields.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/record.h"
#include "shipper/dockerline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An independent UTF-8 check: decode, then reject overlong forms,
 * surrogates and code points above U+10FFFF. */
static int
fuzz_is_utf8(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if ((p[i] & 0xe0) == 0xc0)
            len = 2, cp = p[i] & 0x1f;
        else if ((p[i] & 0xf0) == 0xe0)
            len = 3, cp = p[i] & 0x0f;
        else if ((p[i] & 0xf8) == 0xf0)
            len = 4, cp = p[i] & 0x07;
        else
            return 0;
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* Parses with room for `room` bytes after a 3-byte prefix and checks the
 * result against the uncapped one. */
static void
fuzz_capped(const uint8_t *data, size_t size, size_t room,
            const struct buf *want, const struct dockerline *want_dl)
{
    struct buf b;
    struct dockerline dl;

    buf_init(&b, 3 + room);
    assert(buf_append(&b, "pre", 3) == 0);
    int rc = dockerline_parse((const char *)data, size, &b, &dl);
    if (rc < 0) {
        assert(want->len > room);
        assert(b.len == 3 && memcmp(b.data, "pre", 3) == 0);
    } else {
        assert(rc == 0);
        assert(b.len == 3 + want->len);
        assert(want->len == 0 ||
               memcmp(b.data + 3, want->data, want->len) == 0);
        assert(dl.flags == want_dl->flags && dl.stream == want_dl->stream);
        assert(dl.is_partial == want_dl->is_partial);
        assert(dl.time_ns == want_dl->time_ns);
    }
    buf_fini(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf msg;
    struct dockerline dl;

    buf_init(&msg, 3 * size + 16);
    assert(dockerline_parse((const char *)data, size, &msg, &dl) == 0);
    assert(dl.stream == LOGREC_STDOUT || dl.stream == LOGREC_STDERR);
    if (dl.flags & LOGREC_F_RAW) {
        assert(dl.flags == LOGREC_F_RAW);
        assert(dl.stream == LOGREC_STDOUT && dl.time_ns == 0);
        assert(msg.len == size &&
               (size == 0 || memcmp(msg.data, data, size) == 0));
    } else {
        assert((dl.flags & ~LOGREC_F_INVALID_UTF8) == 0);
        assert(msg.len <= 3 * size);
        assert(fuzz_is_utf8(msg.data, msg.len));
        assert(dl.is_partial == 0 || dl.is_partial == 1);
    }
    /* the fast path for Docker's own layout against the general
     * scanner alone: the same bytes and fields */
    struct buf ref;
    struct dockerline rdl;
    buf_init(&ref, 3 * size + 16);
    assert(dockerline_parse_ref((const char *)data, size, &ref, &rdl) == 0);
    assert(ref.len == msg.len &&
           (msg.len == 0 || memcmp(ref.data, msg.data, msg.len) == 0));
    assert(rdl.flags == dl.flags && rdl.stream == dl.stream &&
           rdl.time_ns == dl.time_ns && rdl.is_partial == dl.is_partial &&
           rdl.eol_len == dl.eol_len);
    buf_fini(&ref);
    fuzz_capped(data, size, 16, &msg, &dl);
    fuzz_capped(data, size, msg.len, &msg, &dl);
    if (msg.len > 0)
        fuzz_capped(data, size, msg.len - 1, &msg, &dl);
    buf_fini(&msg);
    return 0;
}
