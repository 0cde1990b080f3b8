/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wire: libFuzzer target for common/wire and the frame tags of
 * common/wireauth. The first input byte is a mode, the rest a stream of
 * frames as a collector would read from its socket after AUTH:
 *   bit 0 (FUZZ_WIRE_ON): the session is on (keyed as FUZZ_WIRE_HELLO,
 *     fuzzwire.h), so every frame must carry the tag of its place in the
 *     stream; off, none may carry one (before AUTH, or no tokens).
 *   bit 1 (FUZZ_WIRE_SEAL): the harness first rewrites each whole frame's
 *     crc and, when the session is on, its tag over the fuzzed bytes
 *     (fuzz_wire_reseal), so mutated payloads get past both checks; a
 *     fuzzer cannot forge an HMAC, so without this bit only the committed
 *     seeds (tests/fuzz/wirecorpus.py seals them) get past the tag check.
 * Each frame that decodes goes through the tag check (wireauth_open) as
 * the collector's would; the first refused frame ends the stream (the
 * collector closes). What passes is inflated if flagged and handed to
 * every payload decoder; they also run on the raw bytes after the mode
 * byte, so the fuzzer reaches them without a frame around. Invariants
 * checked with assert: a resealed tagged frame is always accepted and one
 * without its tag always refused, with the tag stripped exactly; walking
 * a decoded batch or metrics payload yields exactly the announced count
 * with in-range fields, and re-encoding a decoded batch reproduces the
 * payload byte for byte.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/wire.h"
#include "common/wireauth.h"
#include "common/xmalloc.h"
#include "tests/fuzz/fuzzwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_WIRE_ON    0x01
#define FUZZ_WIRE_SEAL  0x02

static void
fuzz_batch_reencode(const struct wire_batch *b, const uint8_t *p, size_t len)
{
    struct wire_batch_enc e;
    struct wire_batch walk = *b;
    struct wire_record r;
    struct buf out;

    wire_batch_enc_init(&e, WIRE_MAX_INFLATED);
    buf_init(&out, WIRE_MAX_INFLATED + 2 * WIRE_HEADER_LEN);
    for (uint32_t i = 0; i < b->n_sources; i++)
        assert(wire_batch_enc_add_source(&e, &b->sources[i]) == (int)i);
    while (wire_batch_next(&walk, &r) == 1)
        assert(wire_batch_enc_add_record(&e, &r) == 0);
    assert(wire_batch_enc_raw_len(&e) == len);
    if (len <= WIRE_MAX_PAYLOAD) {
        assert(wire_batch_enc_finish(&e, b->seq, &out, 0) == 0);
        assert(out.len == WIRE_HEADER_LEN + len);
        assert(memcmp(out.data + WIRE_HEADER_LEN, p, len) == 0);
    }
    buf_fini(&out);
    wire_batch_enc_fini(&e);
}

static void
fuzz_batch(const uint8_t *p, size_t len)
{
    struct wire_batch b;
    struct wire_record r;
    const char *err = NULL;
    uint32_t n = 0;

    if (wire_batch_decode(p, len, &b, &err) < 0) {
        assert(err != NULL);
        return;
    }
    assert(b.n_sources <= WIRE_MAX_SOURCES);
    struct wire_batch walk = b;
    while (wire_batch_next(&walk, &r) == 1) {
        assert(r.source < b.n_sources);
        assert(r.stream <= LOGREC_STDERR);
        assert((r.flags & ~LOGREC_F_MASK) == 0);
        assert(r.msg.len <= WIRE_MAX_MSG_LEN);
        n++;
    }
    assert(n == b.n_records);
    if (len <= WIRE_MAX_INFLATED)
        fuzz_batch_reencode(&b, p, len);
    wire_batch_fini(&b);
}

static void
fuzz_metrics(const uint8_t *p, size_t len)
{
    struct wire_metrics m;
    struct wire_sample s;
    const char *err = NULL;
    uint32_t n = 0;

    if (wire_metrics_decode(p, len, &m, &err) < 0) {
        assert(err != NULL);
        return;
    }
    while (wire_metrics_next(&m, &s) == 1) {
        assert(s.name.len > 0 && memchr(s.name.p, 0, s.name.len) == NULL);
        n++;
    }
    assert(n == m.n_samples);
}

static void
fuzz_control(const uint8_t *p, size_t len)
{
    struct wire_str a, b;
    uint8_t bytes[WIRE_MAC_LEN], nonce[WIRE_NONCE_LEN];
    const char *err;
    unsigned req;
    uint64_t v;
    uint16_t code;

    if (wire_hello_decode(p, len, &a, &b, nonce, &err) == 0) {
        assert(a.len > 0 && memchr(a.p, 0, a.len) == NULL);
        (void)wire_hello_offers_zstd(&b);
    }
    if (wire_challenge_decode(p, len, &req, nonce, bytes, &err) == 0)
        assert((req & ~(unsigned)(WIRE_CH_AUTH | WIRE_CH_ZSTD)) == 0);
    (void)wire_auth_decode(p, len, bytes, &err);
    (void)wire_u64_decode(p, len, &v, &err);
    if (wire_error_decode(p, len, &code, &a, &err) == 0)
        assert(a.len + 4 == len);
}

/* A frame through the session's tag check: 0 when accepted (its tag
 * stripped), -1 when refused. With sealed set the stream was resealed, so
 * the tag of a MAC-flagged frame is the right one. */
static int
fuzz_open(struct wireauth *a, struct wire_frame *f, int sealed)
{
    const struct wire_frame was = *f;
    const char *err = NULL;
    int has_tag = (was.flags & WIRE_F_MAC) && was.len >= WIRE_MAC_LEN;
    uint64_t n = a->n_recv;

    if (wireauth_open(a, f, &err) < 0) {
        assert(err != NULL && a->n_recv == n);
        assert(!(a->is_on && sealed && has_tag));
        return -1;
    }
    assert(!(f->flags & WIRE_F_MAC));
    if (a->is_on) {
        assert(has_tag && f->len + WIRE_MAC_LEN == was.len);
        assert(a->n_recv == n + 1);
    } else {
        assert(!(was.flags & WIRE_F_MAC) && f->len == was.len);
    }
    return 0;
}

static void
fuzz_payload(const uint8_t *p, size_t len)
{
    fuzz_control(p, len);
    fuzz_batch(p, len);
    fuzz_metrics(p, len);
}

/* The frames of stream[0..size) through one connection's checks. */
static void
fuzz_stream(const uint8_t *data, size_t size, struct wireauth *a, int sealed)
{
    struct buf scratch;
    struct wire_frame f;
    const char *err = NULL;
    size_t used = 0;

    buf_init(&scratch, WIRE_MAX_INFLATED);
    while (size > 0) {
        int rc = wire_frame_decode(data, size, &f, &used, &err);
        if (rc <= 0) {
            assert(rc == 0 || err != NULL);
            break;
        }
        assert(used >= WIRE_HEADER_LEN && used <= size);
        assert(f.len <= WIRE_MAX_PAYLOAD);
        data += used;
        size -= used;
        if (fuzz_open(a, &f, sealed) < 0)
            break;
        const uint8_t *p;
        size_t len;
        if (wire_frame_payload(&f, &scratch, &p, &len, &err) < 0)
            continue;
        assert(len <= WIRE_MAX_INFLATED);
        fuzz_payload(p, len);
    }
    buf_fini(&scratch);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct wireauth_hello h = FUZZ_WIRE_HELLO;
    struct wireauth recv = { 0 }, seal = { 0 };

    if (size < 1)
        return 0;
    int mode = data[0];
    data++;
    size--;
    fuzz_payload(data, size);
    if (mode & FUZZ_WIRE_ON) {
        wireauth_start(&recv, &h, WIREAUTH_COLLECTOR);
        wireauth_start(&seal, &h, WIREAUTH_SHIPPER);
    }
    if (!(mode & FUZZ_WIRE_SEAL)) {
        fuzz_stream(data, size, &recv, 0);
    } else {
        uint8_t *copy = xmemdup(data, size);
        fuzz_wire_reseal(copy, size, (mode & FUZZ_WIRE_ON) ? &seal : NULL);
        fuzz_stream(copy, size, &recv, 1);
        free(copy);
    }
    wireauth_clear(&recv);
    wireauth_clear(&seal);
    return 0;
}
