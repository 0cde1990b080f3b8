/* SPDX-License-Identifier: MIT */
/*
 * hmac_test: SHA-256 against the FIPS 180-4 / NIST example digests
 * (including the one-million-'a' message and block-boundary lengths), and
 * HMAC-SHA256 against RFC 4231 test cases 1-4, 6 and 7; streaming in odd
 * slices equals one-shot; hmac_equal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/hmac.h"

static void
hex_decode(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;

    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + (size_t)j];
            v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        out[i] = (uint8_t)v;
    }
}

static void
assert_digest(const uint8_t *got, const char *hex)
{
    uint8_t want[SHA256_LEN];

    hex_decode(hex, want);
    assert_memory_equal(got, want, SHA256_LEN);
}

static void
test_sha256_nist_vectors(void **state)
{
    uint8_t d[SHA256_LEN];

    (void)state;
    sha256("", 0, d);
    assert_digest(d, "e3b0c44298fc1c149afbf4c8996fb924"
                     "27ae41e4649b934ca495991b7852b855");
    sha256("abc", 3, d);
    assert_digest(d, "ba7816bf8f01cfea414140de5dae2223"
                     "b00361a396177a9cb410ff61f20015ad");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256(m2, strlen(m2), d);
    assert_digest(d, "248d6a61d20638b8e5c026930c3e6039"
                     "a33ce45964ff2167f6ecedd419db06c1");
    const char *m3 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                     "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    sha256(m3, strlen(m3), d);
    assert_digest(d, "cf5b16a778af8380036ce59e7b049237"
                     "0b249b11e8f07a51afac45037afee9d1");
}

static void
test_sha256_million_a_streamed(void **state)
{
    struct sha256 c;
    uint8_t chunk[1000];
    uint8_t d[SHA256_LEN];

    (void)state;
    memset(chunk, 'a', sizeof(chunk));
    sha256_init(&c);
    for (int i = 0; i < 1000; i++)
        sha256_update(&c, chunk, sizeof(chunk));
    sha256_final(&c, d);
    assert_digest(d, "cdc76e5c9914fb9281a1c7e284d73e67"
                     "f1809a48a497200e046d39ccc7112cd0");
}

static void
test_sha256_streaming_equals_oneshot(void **state)
{
    uint8_t msg[300];
    uint8_t one[SHA256_LEN], two[SHA256_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 31 + 7);
    /* every length around the 55/56/64-byte padding boundaries and beyond */
    for (size_t len = 0; len <= sizeof(msg); len++) {
        struct sha256 c;
        sha256(msg, len, one);
        sha256_init(&c);
        for (size_t off = 0, step = 1; off < len; off += step, step = step % 70 + 3)
            sha256_update(&c, msg + off, off + step > len ? len - off : step);
        sha256_final(&c, two);
        assert_memory_equal(one, two, SHA256_LEN);
    }
}

struct rfc4231_case {
    const char *key_hex;
    size_t      key_rep;        /* key is key_hex repeated this many times */
    const char *data;
    size_t      data_len;
    const char *mac_hex;
    size_t      mac_len;
};

static void
check_case(const struct rfc4231_case *t)
{
    uint8_t key[200], mac[SHA256_LEN], want[SHA256_LEN];
    size_t klen = strlen(t->key_hex) / 2;

    for (size_t i = 0; i < t->key_rep; i++)
        hex_decode(t->key_hex, key + i * klen);
    hmac_sha256(key, klen * t->key_rep, t->data, t->data_len, mac);
    hex_decode(t->mac_hex, want);
    assert_memory_equal(mac, want, t->mac_len);
}

static void
test_hmac_rfc4231(void **state)
{
    uint8_t dd[50];
    uint8_t cd[50];

    (void)state;
    memset(dd, 0xdd, sizeof(dd));
    memset(cd, 0xcd, sizeof(cd));
    const struct rfc4231_case cases[] = {
        { "0b", 20, "Hi There", 8,
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
          32 },
        { "4a656665", 1, "what do ya want for nothing?", 28,
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
          32 },
        { "aa", 20, (const char *)dd, 50,
          "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
          32 },
        { "0102030405060708090a0b0c0d0e0f10111213141516171819", 1,
          (const char *)cd, 50,
          "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
          32 },
        { "aa", 131, "Test Using Larger Than Block-Size Key - Hash Key First",
          54,
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
          32 },
        { "aa", 131,
          "This is a test using a larger than block-size key and a larger "
          "than block-size data. The key needs to be hashed before being "
          "used by the HMAC algorithm.", 152,
          "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
          32 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

static void
test_hmac_rfc4231_truncated_case5(void **state)
{
    uint8_t key[20], mac[SHA256_LEN], want[16];

    (void)state;
    memset(key, 0x0c, sizeof(key));
    hmac_sha256(key, sizeof(key), "Test With Truncation", 20, mac);
    hex_decode("a3b6167473100ee06e0c796c2955552b", want);
    assert_memory_equal(mac, want, 16);
}

static void
test_hmac_streaming(void **state)
{
    struct hmac_sha256 h;
    uint8_t a[SHA256_LEN], b[SHA256_LEN];

    (void)state;
    hmac_sha256("key", 3, "logq-auth-v1nonce-host", 22, a);
    hmac_sha256_init(&h, "key", 3);
    hmac_sha256_update(&h, "logq-auth-v1", 12);
    hmac_sha256_update(&h, "nonce-", 6);
    hmac_sha256_update(&h, "host", 4);
    hmac_sha256_final(&h, b);
    assert_memory_equal(a, b, SHA256_LEN);
    hmac_sha256("kez", 3, "logq-auth-v1nonce-host", 22, b);
    assert_memory_not_equal(a, b, SHA256_LEN);
}

static void
test_hmac_equal(void **state)
{
    uint8_t a[32], b[32];

    (void)state;
    memset(a, 7, sizeof(a));
    memset(b, 7, sizeof(b));
    assert_int_equal(hmac_equal(a, b, 32), 1);
    assert_int_equal(hmac_equal(a, b, 0), 1);
    for (size_t i = 0; i < 32; i++) {
        b[i] ^= 0x80;
        assert_int_equal(hmac_equal(a, b, 32), 0);
        b[i] ^= 0x80;
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_nist_vectors),
        cmocka_unit_test(test_sha256_million_a_streamed),
        cmocka_unit_test(test_sha256_streaming_equals_oneshot),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hmac_rfc4231_truncated_case5),
        cmocka_unit_test(test_hmac_streaming),
        cmocka_unit_test(test_hmac_equal),
    };
    return cmocka_run_group_tests_name("hmac", tests, NULL, NULL);
}
