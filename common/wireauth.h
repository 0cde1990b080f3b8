/* SPDX-License-Identifier: MIT */
/*
 * wireauth: the cryptographic half of the shipper<->collector protocol
 * (common/PROTOCOL.md "Identity and handshake", "Frame MACs"): the two
 * proofs of a host's token, the per-direction session keys derived from
 * the token and both nonces, and the tag every frame after AUTH carries,
 * over direction, an implicit frame counter, type, flags and body. Pure:
 * no sockets, no randomness (the caller draws the nonces), no logging.
 * Sits beside common/wire.c, which knows only the byte layouts.
 */
#ifndef COMMON_WIREAUTH_H
#define COMMON_WIREAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/hmac.h"
#include "common/wire.h"

enum wireauth_role {
    WIREAUTH_SHIPPER = 1,       /* also the direction byte it sends with */
    WIREAUTH_COLLECTOR = 2,
};

/* The handshake's inputs, borrowed. */
struct wireauth_hello {
    const void    *token;
    size_t         token_len;
    const uint8_t *ns;          /* shipper nonce, WIRE_NONCE_LEN */
    const uint8_t *nc;          /* collector nonce, WIRE_NONCE_LEN */
    const char    *host;        /* as in HELLO */
    size_t         host_len;
};

/*
 * One connection's MAC state. Off (all zero, or after wireauth_clear)
 * nothing is tagged; wireauth_start turns it on. The keys live only as
 * keyed HMAC states, copied for each frame.
 */
struct wireauth {
    int                is_on;
    uint8_t            send_dir, recv_dir;
    uint64_t           n_sent, n_recv;
    struct hmac_sha256 send_key;
    struct hmac_sha256 recv_key;
};

/* The proof role's side gives: HMAC(token, "logq-v2 <role> proof" || ns
 * || nc || host). */
void wireauth_proof(const struct wireauth_hello *h, enum wireauth_role role,
                    uint8_t out[WIRE_MAC_LEN]);
/* Writes the key of direction role -> other side (K_sc for SHIPPER).
 * Exposed for the known-answer tests. */
void wireauth_key(const struct wireauth_hello *h, enum wireauth_role from,
                  uint8_t out[WIRE_MAC_LEN]);
/* Derives both keys for self's end of the connection; counters from 0. */
void wireauth_start(struct wireauth *a, const struct wireauth_hello *h,
                    enum wireauth_role self);
/* Zeroes a (keys included): off again. */
void wireauth_clear(struct wireauth *a);

/*
 * Tags one frame made by wire_frame_encode (frame[0..len), no MAC flag):
 * writes the header to send in hdr (MAC flag, length + WIRE_MAC_LEN, crc
 * over body and tag) and the tag in tag; the frame on the wire is hdr ||
 * frame[WIRE_HEADER_LEN..len) || tag. Counts the frame as sent. -1 (nothing
 * counted) when frame is not one such frame or the length would pass
 * WIRE_MAX_PAYLOAD.
 */
int wireauth_seal(struct wireauth *a, const uint8_t *frame, size_t len,
                  uint8_t hdr[WIRE_HEADER_LEN], uint8_t tag[WIRE_MAC_LEN]);
/* wire_frame_encode, then wireauth_seal when a is on; appends to out. */
int wireauth_frame_encode(struct wireauth *a, struct buf *out, uint16_t type,
                          const void *payload, size_t len, int zlevel);
/*
 * Checks a received frame against a's state. On: the frame must carry the
 * MAC flag and the tag of the next expected frame of that direction; the
 * tag is stripped (f->len shrinks, the flag is cleared) and the frame
 * counted. Off: the frame must carry no MAC flag. -1 with *errstr set
 * otherwise (forged, modified, replayed, reordered, reflected), counting
 * nothing.
 */
int wireauth_open(struct wireauth *a, struct wire_frame *f,
                  const char **errstr);

#endif
