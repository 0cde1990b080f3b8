/* SPDX-License-Identifier: MIT */
/*
 * hmac: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), written here so
 * that the handshake and frame MACs (common/wireauth.c) need no OpenSSL,
 * plus a constant-time comparison for MACs. Streaming and one-shot forms.
 */
#ifndef COMMON_HMAC_H
#define COMMON_HMAC_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN       32
#define SHA256_BLOCK_LEN 64

struct sha256 {
    uint32_t h[8];
    uint64_t n_bytes;                   /* total bytes fed */
    uint8_t  block[SHA256_BLOCK_LEN];   /* pending partial block */
    size_t   block_len;
};

struct hmac_sha256 {
    struct sha256 inner;
    struct sha256 outer;
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *p, size_t len);
/* Writes the digest; c must be re-initialised before reuse. */
void sha256_final(struct sha256 *c, uint8_t out[SHA256_LEN]);
void sha256(const void *p, size_t len, uint8_t out[SHA256_LEN]);

/* Keys longer than the block size are hashed first, as RFC 2104 says. */
void hmac_sha256_init(struct hmac_sha256 *h, const void *key, size_t key_len);
void hmac_sha256_update(struct hmac_sha256 *h, const void *p, size_t len);
void hmac_sha256_final(struct hmac_sha256 *h, uint8_t out[SHA256_LEN]);
void hmac_sha256(const void *key, size_t key_len, const void *msg,
                 size_t len, uint8_t out[SHA256_LEN]);

/* 1 if a[0..n) equals b[0..n), else 0; time depends on n only. */
int hmac_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
