/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wire_reader: libFuzzer target for the incremental frame reader of
 * common/wire_reader.c. The first two input bytes choose how the rest is
 * cut into feeds (byte 0: a seed for chunk sizes), the reader's maximum payload
 * (byte 1 bits 0-1: as the collector sets it before and after the
 * handshake) and whether the harness first rewrites the crc32 of every
 * whole frame over the fuzzed bytes (byte 1 bit 2, fuzz_wire_reseal in
 * fuzzwire.h: a mutated frame almost never keeps its crc, so without it
 * the fuzzer rarely gets a changed frame past the crc check); the rest is
 * the byte stream a socket would give. The reader checks no frame tags
 * (the owner does, fuzz_wire), so tagged frames are just frames here.
 * Checked with assert against the one-shot
 * wire_frame_decode over the same stream (the model): the same frames in
 * the same order with the same payloads, whatever the cuts; an error is
 * reported exactly where the model fails (or, for a smaller maximum, a
 * TOO_LARGE at a frame the model accepts) and is kept; the reader never
 * buffers more than one maximum frame.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"
#include "common/xmalloc.h"
#include "tests/fuzz/fuzzwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t fuzz_max[4] = {
    WIRE_MAX_PAYLOAD, WIRE_MAX_CONTROL, 64, 0,
};

/* The next chunk length: 1..64 bytes, or sometimes everything left. */
static size_t
fuzz_chunk(uint32_t *seed, size_t left)
{
    *seed = *seed * 1103515245u + 12345u;
    size_t k = (*seed >> 16) % 80 >= 64 ? left : 1 + (*seed >> 16) % 64;
    return k < left ? k : left;
}

/* The model's answer at the front of p[0..len): 1 frame, 0 more, -1 bad. */
static int
fuzz_model(const uint8_t *p, size_t len, size_t max, struct wire_frame *f,
           size_t *used)
{
    const char *err = NULL;
    int rc = wire_frame_decode(p, len, f, used, &err);

    if (rc == 1 && f->len > max)
        return -2;              /* the reader's own maximum refuses it */
    return rc;
}

/* Checks one frame the reader returned against the model at *at. */
static void
fuzz_check_frame(const uint8_t *p, size_t len, size_t max, size_t *at,
                 const struct wire_frame *f)
{
    struct wire_frame want;
    size_t used = 0;

    assert(fuzz_model(p + *at, len - *at, max, &want, &used) == 1);
    assert(f->type == want.type && f->flags == want.flags);
    assert(f->len == want.len && f->len <= max);
    assert(memcmp(f->payload, want.payload, f->len) == 0);
    *at += used;
}

#define FUZZ_RD_RESEAL  0x04

/* Feeds data[0..size) in cuts drawn from seed and checks every answer. */
static void
fuzz_read(const uint8_t *data, size_t size, uint32_t seed, size_t max)
{
    struct wire_reader r;
    struct wire_frame f, want;
    enum wire_rd rc = WIRE_RD_NEED_MORE;
    size_t at = 0, fed = 0, used = 0;

    wire_reader_init(&r, max);
    while (fed < size) {
        size_t k = fuzz_chunk(&seed, size - fed);
        if (k > wire_reader_room(&r))
            k = wire_reader_room(&r);
        assert(k > 0);          /* room while no whole frame is buffered */
        assert(wire_reader_feed(&r, data + fed, k) == WIRE_RD_OK);
        fed += k;
        assert(wire_reader_buffered(&r) <= WIRE_HEADER_LEN + max);
        while ((rc = wire_reader_next(&r, &f)) == WIRE_RD_OK)
            fuzz_check_frame(data, fed, max, &at, &f);
        if (rc != WIRE_RD_NEED_MORE)
            break;
    }
    int m = fuzz_model(data + at, fed - at, max, &want, &used);
    if (rc == WIRE_RD_NEED_MORE) {
        assert(m == 0);
    } else {
        assert(m == -1 || (m == -2 && rc == WIRE_RD_TOO_LARGE) ||
               (m == 0 && rc == WIRE_RD_TOO_LARGE));
        assert(wire_reader_next(&r, &f) == rc);
        assert(wire_reader_feed(&r, "L", 1) == rc);
        assert(wire_reader_room(&r) == 0);
    }
    wire_reader_fini(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t seed = data[0];
    size_t max = fuzz_max[data[1] & 3];
    if (!(data[1] & FUZZ_RD_RESEAL)) {
        fuzz_read(data + 2, size - 2, seed, max);
        return 0;
    }
    uint8_t *copy = xmemdup(data + 2, size - 2);
    fuzz_wire_reseal(copy, size - 2, NULL);
    fuzz_read(copy, size - 2, seed, max);
    free(copy);
    return 0;
}
