/* SPDX-License-Identifier: MIT */
/*
 * fuzzwire: what fuzz_wire and fuzz_wire_reader share. A mutated frame
 * almost never keeps a right crc32, and never a right HMAC tag, so the
 * fuzzer alone stops at those checks; fuzz_wire_reseal rewrites them over
 * the mutated bytes (the targets do so for the inputs whose mode byte asks
 * for it), so the frame reader, the tag check, inflate and the payload
 * decoders all see fuzzed payloads that pass the checks before them.
 * The session both targets key is FUZZ_WIRE_HELLO (the generator
 * tests/fuzz/wirecorpus.py seals its seeds with the same one).
 */
#ifndef TESTS_FUZZ_FUZZWIRE_H
#define TESTS_FUZZ_FUZZWIRE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/compress.h"
#include "common/wire.h"
#include "common/wireauth.h"

/* Token, nonces (all zero) and host of the fuzzed session. */
static const uint8_t fuzz_wire_nonce[WIRE_NONCE_LEN];
#define FUZZ_WIRE_HELLO                                                     \
    { "fuzz-token-0123456789abcdef012345", 33, fuzz_wire_nonce,             \
      fuzz_wire_nonce, "fuzz", 4 }

/*
 * Walks p[0..len) as a stream of frames by their length fields and, for
 * each whole one, rewrites its crc32 over the payload; when sealer is not
 * NULL, a frame with the MAC flag and room for a tag gets instead the tag
 * of the sealer's next frame (and the crc over body and tag). Stops at the
 * first frame that is not whole. Only length fields are trusted, so what
 * the reader refuses for other reasons (magic, version, type) stays bad.
 */
static inline void
fuzz_wire_reseal(uint8_t *p, size_t len, struct wireauth *sealer)
{
    while (len >= WIRE_HEADER_LEN) {
        size_t plen = le32_load(p + 8);
        if (plen > len - WIRE_HEADER_LEN || plen > WIRE_MAX_PAYLOAD)
            return;
        uint8_t *body = p + WIRE_HEADER_LEN;
        uint8_t hdr[WIRE_HEADER_LEN], tag[WIRE_MAC_LEN];
        if (sealer != NULL && (p[3] & WIRE_F_MAC) && plen >= WIRE_MAC_LEN) {
            size_t blen = plen - WIRE_MAC_LEN;
            p[3] &= (uint8_t)~WIRE_F_MAC;       /* as wire_frame_encode */
            le32_store(p + 8, (uint32_t)blen);
            le32_store(p + 12, compress_crc32(0, body, blen));
            assert(wireauth_seal(sealer, p, WIRE_HEADER_LEN + blen, hdr,
                                 tag) == 0);
            memcpy(p, hdr, sizeof(hdr));
            memcpy(body + blen, tag, sizeof(tag));
        } else {
            le32_store(p + 12, compress_crc32(0, body, plen));
        }
        p += WIRE_HEADER_LEN + plen;
        len -= WIRE_HEADER_LEN + plen;
    }
}

#endif
