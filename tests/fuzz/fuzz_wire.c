/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wire: libFuzzer target for common/wire. The input is read as a
 * stream of frames (as a collector or shipper would see on its socket):
 * each frame that decodes is inflated if flagged and handed to the decoder
 * of its type. Every payload decoder also runs on the raw input, so the
 * fuzzer reaches them without having to forge a crc. Invariants checked
 * with assert: walking a decoded batch or metrics payload yields exactly
 * the announced count with in-range fields, and re-encoding a decoded batch
 * reproduces the payload byte for byte.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/wire.h"
#include "common/wireauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    int req;
    uint64_t v;
    uint16_t code;

    if (wire_hello_decode(p, len, &a, &b, nonce, &err) == 0)
        assert(a.len > 0 && memchr(a.p, 0, a.len) == NULL);
    if (wire_challenge_decode(p, len, &req, nonce, bytes, &err) == 0)
        assert(req == 0 || req == 1);
    (void)wire_auth_decode(p, len, bytes, &err);
    (void)wire_u64_decode(p, len, &v, &err);
    if (wire_error_decode(p, len, &code, &a, &err) == 0)
        assert(a.len + 4 == len);
}

/* A frame through a session's MAC check: refused, or accepted with its tag
 * stripped (then its tag was right: the input was made with the key). */
static void
fuzz_open(const struct wire_frame *f)
{
    static const uint8_t ns[WIRE_NONCE_LEN], nc[WIRE_NONCE_LEN];
    struct wireauth_hello h = { "fuzz-token-0123456789abcdef012345", 33,
                                ns, nc, "fuzz", 4 };
    struct wireauth a;
    struct wire_frame g = *f;
    const char *err = NULL;

    wireauth_start(&a, &h, WIREAUTH_COLLECTOR);
    if (wireauth_open(&a, &g, &err) == 0)
        assert(g.len + WIRE_MAC_LEN == f->len && !(g.flags & WIRE_F_MAC));
    else
        assert(err != NULL && a.n_recv == 0);
    wireauth_clear(&a);
}

static void
fuzz_payload(const uint8_t *p, size_t len)
{
    fuzz_control(p, len);
    fuzz_batch(p, len);
    fuzz_metrics(p, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf scratch;
    struct wire_frame f;
    const char *err = NULL;
    size_t used = 0;

    fuzz_payload(data, size);
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
        const uint8_t *p;
        size_t len;
        fuzz_open(&f);
        if (wire_frame_payload(&f, &scratch, &p, &len, &err) < 0)
            continue;
        assert(len <= WIRE_MAX_INFLATED);
        fuzz_payload(p, len);
    }
    buf_fini(&scratch);
    return 0;
}
