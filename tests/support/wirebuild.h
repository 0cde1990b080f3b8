/* SPDX-License-Identifier: MIT */
/*
 * wirebuild: frames built by hand for the cmocka tests of common/wire.c
 * (wire_test.c, wire_reader_test.c): any version, flags, type and
 * reserved bits, with the crc32 of the payload, so a test can make the
 * frames wire_frame_encode refuses to. Written from common/PROTOCOL.md
 * "Frame", not from the encoder. Test-only: fails the test (cmocka) when
 * out's cap is reached.
 */
#ifndef TESTS_SUPPORT_WIREBUILD_H
#define TESTS_SUPPORT_WIREBUILD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/compress.h"
#include "common/wire.h"

/* Appends a 16-byte header and payload[0..len) to out. */
static inline void
wirebuild_frame(struct buf *out, uint8_t version, uint8_t flags,
                uint16_t type, uint16_t reserved, const void *payload,
                uint32_t len)
{
    uint8_t h[WIRE_HEADER_LEN] = { 'L', 'Q', version, flags };

    le16_store(h + 4, type);
    le16_store(h + 6, reserved);
    le32_store(h + 8, len);
    le32_store(h + 12, compress_crc32(0, payload, len));
    assert_int_equal(buf_append(out, h, sizeof(h)), 0);
    assert_int_equal(buf_append(out, payload, len), 0);
}

#endif
