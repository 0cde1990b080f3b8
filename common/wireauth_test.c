/* SPDX-License-Identifier: MIT */
/*
 * wireauth_test: known-answer vectors for the proofs, keys and frame tags
 * of PROTOCOL.md (computed with Python's hmac module, an independent
 * implementation), and every rejection wireauth_open promises: a frame
 * forged without the key, modified in body, type or flags, replayed,
 * reordered, reflected back to its sender, from another session, with
 * no tag, or tagged where none is expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/compress.h"
#include "common/wire.h"
#include "common/wireauth.h"
#include "common/xmalloc.h"

#define TOKEN "node1-token-0123456789abcdef0123456789"

static uint8_t ns[WIRE_NONCE_LEN], nc[WIRE_NONCE_LEN];

static struct wireauth_hello
hello(void)
{
    for (int i = 0; i < WIRE_NONCE_LEN; i++) {
        ns[i] = (uint8_t)i;
        nc[i] = (uint8_t)(100 + i);
    }
    return (struct wireauth_hello){ TOKEN, strlen(TOKEN), ns, nc, "node1",
                                    5 };
}

static void
hex(const uint8_t *p, char *out)
{
    for (int i = 0; i < WIRE_MAC_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void
assert_hex(const uint8_t *p, const char *want)
{
    char got[2 * WIRE_MAC_LEN + 1];

    hex(p, got);
    assert_string_equal(got, want);
}

static void
test_wireauth_known_answers(void **state)
{
    struct wireauth_hello h = hello();
    uint8_t out[WIRE_MAC_LEN];

    (void)state;
    wireauth_proof(&h, WIREAUTH_COLLECTOR, out);
    assert_hex(out, "7a9e42e292fc2afd2ba3fa6f4a2e44f6"
                    "0c8c49fa6a702076e6ac0a3a3877a067");
    wireauth_proof(&h, WIREAUTH_SHIPPER, out);
    assert_hex(out, "e6e328052891e1d5b1eee6976d08a9e3"
                    "f0ed68d147cc5f753dd4da71a4d42840");
    wireauth_key(&h, WIREAUTH_SHIPPER, out);
    assert_hex(out, "129cba4480ebcd5d4cf5d8a42927ea89"
                    "331add265ba1755c0e284170c9e31992");
    wireauth_key(&h, WIREAUTH_COLLECTOR, out);
    assert_hex(out, "b5151643651b570416b30041bea8f8cc"
                    "84c1f283a501c3f3c96a4be30a0d27bb");
}

/* The first tagged frame from the collector: ACK 7, n 0. */
static void
test_wireauth_tag_known_answer(void **state)
{
    struct wireauth_hello h = hello();
    struct wireauth c;
    struct buf out, p;

    (void)state;
    buf_init(&out, 1024);
    buf_init(&p, 64);
    wireauth_start(&c, &h, WIREAUTH_COLLECTOR);
    assert_int_equal(wire_u64_encode(&p, 7), 0);
    assert_int_equal(wireauth_frame_encode(&c, &out, WIRE_ACK, p.data, p.len,
                                           0), 0);
    assert_int_equal(out.len, WIRE_HEADER_LEN + 8 + WIRE_MAC_LEN);
    assert_int_equal(out.data[3], WIRE_F_MAC);
    assert_int_equal(le32_load(out.data + 8), 8 + WIRE_MAC_LEN);
    assert_int_equal(le32_load(out.data + 12),
                     compress_crc32(0, out.data + WIRE_HEADER_LEN,
                                    8 + WIRE_MAC_LEN));
    assert_hex(out.data + WIRE_HEADER_LEN + 8,
               "456b732a55b190ff24477cd992d72596"
               "089c5e0b069b9c09fead924cb718e836");
    assert_int_equal(c.n_sent, 1);
    buf_fini(&p);
    buf_fini(&out);
}

struct pair {
    struct wireauth s, c;
    struct buf      out;
};

static int
setup(void **state)
{
    struct pair *pr = xcalloc(1, sizeof(*pr));
    struct wireauth_hello h = hello();

    wireauth_start(&pr->s, &h, WIREAUTH_SHIPPER);
    wireauth_start(&pr->c, &h, WIREAUTH_COLLECTOR);
    buf_init(&pr->out, 1 << 20);
    *state = pr;
    return 0;
}

static int
teardown(void **state)
{
    struct pair *pr = *state;

    buf_fini(&pr->out);
    free(pr);
    return 0;
}

/* Encodes a frame with a's keys into out (reset first) and decodes it. */
static void
make(struct wireauth *a, struct buf *out, uint16_t type, const char *body,
     int zlevel, struct wire_frame *f)
{
    size_t used;
    const char *err;

    buf_reset(out);
    assert_int_equal(wireauth_frame_encode(a, out, type, body, strlen(body),
                                           zlevel), 0);
    assert_int_equal(wire_frame_decode(out->data, out->len, f, &used, &err),
                     1);
    assert_int_equal(used, out->len);
}

static int
open_frame(struct wireauth *a, struct wire_frame *f)
{
    const char *err = NULL;
    int rc = wireauth_open(a, f, &err);

    if (rc < 0)
        assert_non_null(err);
    return rc;
}

static void
test_wireauth_roundtrip_both_ways(void **state)
{
    struct pair *pr = *state;
    struct wire_frame f;
    const uint8_t *p;
    size_t len;
    const char *err;
    struct buf scratch;

    buf_init(&scratch, WIRE_MAX_INFLATED);
    for (int i = 0; i < 5; i++) {
        make(&pr->s, &pr->out, WIRE_BATCH, "a batch body, compressed", 6, &f);
        assert_int_equal(open_frame(&pr->c, &f), 0);
        assert_int_equal(f.flags, WIRE_F_ZLIB);
        assert_int_equal(wire_frame_payload(&f, &scratch, &p, &len, &err), 0);
        assert_int_equal(len, 24);
        assert_memory_equal(p, "a batch body, compressed", 24);
        make(&pr->c, &pr->out, WIRE_ACK, "12345678", 0, &f);
        assert_int_equal(open_frame(&pr->s, &f), 0);
        assert_int_equal(f.len, 8);
        assert_int_equal(f.flags, 0);
    }
    assert_int_equal(pr->s.n_sent, 5);
    assert_int_equal(pr->c.n_recv, 5);
    buf_fini(&scratch);
}

/* wireauth_seal on a queued frame gives the same bytes as encoding it
 * tagged (the shipper tags queued frames at write time). */
static void
test_wireauth_seal_matches_encode(void **state)
{
    struct pair *pr = *state;
    struct wireauth twin = pr->s;
    struct buf plain;
    uint8_t hdr[WIRE_HEADER_LEN], tag[WIRE_MAC_LEN];

    buf_init(&plain, 1 << 20);
    assert_int_equal(wire_frame_encode(&plain, WIRE_METRICS, "samples", 7, 1),
                     0);
    assert_int_equal(wireauth_seal(&pr->s, plain.data, plain.len, hdr, tag),
                     0);
    assert_int_equal(wireauth_frame_encode(&twin, &pr->out, WIRE_METRICS,
                                           "samples", 7, 1), 0);
    assert_int_equal(pr->out.len, plain.len + WIRE_MAC_LEN);
    assert_memory_equal(pr->out.data, hdr, WIRE_HEADER_LEN);
    assert_memory_equal(pr->out.data + WIRE_HEADER_LEN,
                        plain.data + WIRE_HEADER_LEN,
                        plain.len - WIRE_HEADER_LEN);
    assert_memory_equal(pr->out.data + plain.len, tag, WIRE_MAC_LEN);
    /* a frame already tagged, or a header whose length lies, is refused */
    assert_int_equal(wireauth_seal(&pr->s, pr->out.data, pr->out.len, hdr,
                                   tag), -1);
    assert_int_equal(wireauth_seal(&pr->s, plain.data, plain.len - 1, hdr,
                                   tag), -1);
    assert_int_equal(pr->s.n_sent, 1);
    buf_fini(&plain);
}

static void
test_wireauth_replay_and_reorder_refused(void **state)
{
    struct pair *pr = *state;
    struct wire_frame f1, f2;
    struct buf b1, b2;

    buf_init(&b1, 1024);
    buf_init(&b2, 1024);
    make(&pr->s, &b1, WIRE_BATCH, "first", 0, &f1);
    make(&pr->s, &b2, WIRE_BATCH, "second", 0, &f2);
    struct wire_frame g = f2;
    assert_int_equal(open_frame(&pr->c, &g), -1);      /* out of order */
    g = f1;
    assert_int_equal(open_frame(&pr->c, &g), 0);
    g = f1;
    assert_int_equal(open_frame(&pr->c, &g), -1);      /* replayed */
    assert_int_equal(pr->c.n_recv, 1);
    g = f2;
    assert_int_equal(open_frame(&pr->c, &g), 0);       /* the right one */
    buf_fini(&b1);
    buf_fini(&b2);
}

static void
test_wireauth_tampering_refused(void **state)
{
    struct pair *pr = *state;
    struct wire_frame f, g;

    make(&pr->s, &pr->out, WIRE_BATCH, "records", 0, &f);
    for (size_t i = 0; i < f.len; i++) {     /* each byte of body and tag */
        g = f;
        ((uint8_t *)g.payload)[i] ^= 0x01;
        assert_int_equal(open_frame(&pr->c, &g), -1);
        ((uint8_t *)g.payload)[i] ^= 0x01;
    }
    g = f;
    g.type = WIRE_METRICS;                  /* another type */
    assert_int_equal(open_frame(&pr->c, &g), -1);
    g = f;
    g.flags |= WIRE_F_ZLIB;                 /* another flag */
    assert_int_equal(open_frame(&pr->c, &g), -1);
    g = f;
    g.flags &= (uint8_t)~WIRE_F_MAC;        /* claims no tag */
    assert_int_equal(open_frame(&pr->c, &g), -1);
    g = f;
    assert_int_equal(open_frame(&pr->c, &g), 0);
}

/* A frame sent back to its sender, a frame of another session (other
 * nonces or another host's token) and an untagged frame are refused. */
static void
test_wireauth_reflection_and_other_sessions_refused(void **state)
{
    struct pair *pr = *state;
    struct wireauth_hello h = hello();
    struct wireauth other_s, other_c;
    struct wire_frame f;

    make(&pr->s, &pr->out, WIRE_BATCH, "x", 0, &f);
    struct wireauth echo = pr->s;           /* the shipper reading its own */
    assert_int_equal(open_frame(&echo, &f), -1);

    uint8_t ns2[WIRE_NONCE_LEN];
    memcpy(ns2, ns, sizeof(ns2));
    ns2[0] ^= 0xff;
    struct wireauth_hello h2 = h;
    h2.ns = ns2;
    wireauth_start(&other_s, &h2, WIREAUTH_SHIPPER);
    make(&other_s, &pr->out, WIRE_BATCH, "x", 0, &f);
    assert_int_equal(open_frame(&pr->c, &f), -1);

    struct wireauth_hello h3 = h;
    h3.token = "node2-token-0123456789abcdef0123456789";
    wireauth_start(&other_c, &h3, WIREAUTH_COLLECTOR);
    make(&other_c, &pr->out, WIRE_ACK, "12345678", 0, &f);
    assert_int_equal(open_frame(&pr->s, &f), -1);

    make(NULL, &pr->out, WIRE_ACK, "12345678", 0, &f);      /* no tag */
    assert_int_equal(open_frame(&pr->s, &f), -1);
    assert_int_equal(pr->s.n_recv, 0);
    assert_int_equal(pr->c.n_recv, 0);
}

/* Off (before AUTH, or no tokens): untagged frames pass untouched, a
 * tagged one is refused. */
static void
test_wireauth_off(void **state)
{
    struct pair *pr = *state;
    struct wireauth off;
    struct wire_frame f;

    memset(&off, 0, sizeof(off));
    make(&off, &pr->out, WIRE_HELLO, "hello", 0, &f);
    assert_int_equal(f.flags, 0);
    assert_int_equal(open_frame(&off, &f), 0);
    assert_int_equal(f.len, 5);
    make(&pr->s, &pr->out, WIRE_BATCH, "x", 0, &f);
    assert_int_equal(open_frame(&off, &f), -1);
    wireauth_clear(&pr->s);
    assert_false(pr->s.is_on);
}

/* The proofs of the two roles and the keys of the two directions all
 * differ, and each depends on host, token and both nonces. */
static void
test_wireauth_labels_bind_everything(void **state)
{
    struct wireauth_hello h = hello();
    uint8_t v[8][WIRE_MAC_LEN];
    uint8_t n2[WIRE_NONCE_LEN];

    (void)state;
    wireauth_proof(&h, WIREAUTH_SHIPPER, v[0]);
    wireauth_proof(&h, WIREAUTH_COLLECTOR, v[1]);
    wireauth_key(&h, WIREAUTH_SHIPPER, v[2]);
    wireauth_key(&h, WIREAUTH_COLLECTOR, v[3]);
    struct wireauth_hello g = h;
    g.host = "node2";
    wireauth_proof(&g, WIREAUTH_SHIPPER, v[4]);
    g = h;
    memcpy(n2, nc, sizeof(n2));
    n2[31] ^= 1;
    g.nc = n2;
    wireauth_proof(&g, WIREAUTH_SHIPPER, v[5]);
    g = h;
    g.ns = n2;
    wireauth_proof(&g, WIREAUTH_SHIPPER, v[6]);
    g = h;
    g.token_len--;
    wireauth_proof(&g, WIREAUTH_SHIPPER, v[7]);
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++)
            assert_memory_not_equal(v[i], v[j], WIRE_MAC_LEN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wireauth_known_answers),
        cmocka_unit_test(test_wireauth_tag_known_answer),
        cmocka_unit_test(test_wireauth_labels_bind_everything),
        cmocka_unit_test_setup_teardown(test_wireauth_roundtrip_both_ways,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wireauth_seal_matches_encode,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_wireauth_replay_and_reorder_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wireauth_tampering_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_wireauth_reflection_and_other_sessions_refused, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_wireauth_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
