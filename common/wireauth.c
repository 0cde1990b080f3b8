/* SPDX-License-Identifier: MIT */
/*
 * wireauth: see wireauth.h. Every value is one HMAC-SHA256 under the
 * host's token (proofs, keys) or a session key (tags); the labels differ
 * within their first 12 bytes and the nonces have a fixed length, so no
 * input of one kind is an input of another. Uses common/hmac.c (150-200
 * MB/s here, over compressed frames: a few percent of either side's CPU,
 * SECURITY.md "Shipper identity"; libcrypto's would be ~7x faster).
 */
#include "common/wireauth.h"

#include <string.h>

#include "common/compress.h"

#define WIREAUTH_MAC_HDR_LEN 16     /* dir, n, type, flags, body_len */

static const char *
wireauth_proof_label(enum wireauth_role role)
{
    return role == WIREAUTH_SHIPPER ? "logq-v2 shipper proof"
                                    : "logq-v2 collector proof";
}

static const char *
wireauth_key_label(enum wireauth_role from)
{
    return from == WIREAUTH_SHIPPER ? "logq-v2 key shipper to collector"
                                    : "logq-v2 key collector to shipper";
}

/* HMAC(token, label || ns || nc || host). */
static void
wireauth_derive(const struct wireauth_hello *h, const char *label,
                uint8_t out[WIRE_MAC_LEN])
{
    struct hmac_sha256 m;

    hmac_sha256_init(&m, h->token, h->token_len);
    hmac_sha256_update(&m, label, strlen(label));
    hmac_sha256_update(&m, h->ns, WIRE_NONCE_LEN);
    hmac_sha256_update(&m, h->nc, WIRE_NONCE_LEN);
    hmac_sha256_update(&m, h->host, h->host_len);
    hmac_sha256_final(&m, out);
    explicit_bzero(&m, sizeof(m));
}

/* Tag of one frame: key copied, never consumed. */
static void
wireauth_tag(const struct hmac_sha256 *key, uint8_t dir, uint64_t n,
             uint16_t type, uint8_t flags, const uint8_t *body,
             size_t body_len, uint8_t out[WIRE_MAC_LEN])
{
    struct hmac_sha256 m = *key;
    uint8_t hdr[WIREAUTH_MAC_HDR_LEN];

    hdr[0] = dir;
    le64_store(hdr + 1, n);
    le16_store(hdr + 9, type);
    hdr[11] = flags;
    le32_store(hdr + 12, (uint32_t)body_len);
    hmac_sha256_update(&m, hdr, sizeof(hdr));
    hmac_sha256_update(&m, body, body_len);
    hmac_sha256_final(&m, out);
    explicit_bzero(&m, sizeof(m));
}

/* ---- public API ---- */

void
wireauth_proof(const struct wireauth_hello *h, enum wireauth_role role,
               uint8_t out[WIRE_MAC_LEN])
{
    wireauth_derive(h, wireauth_proof_label(role), out);
}

void
wireauth_key(const struct wireauth_hello *h, enum wireauth_role from,
             uint8_t out[WIRE_MAC_LEN])
{
    wireauth_derive(h, wireauth_key_label(from), out);
}

void
wireauth_start(struct wireauth *a, const struct wireauth_hello *h,
               enum wireauth_role self)
{
    enum wireauth_role other = self == WIREAUTH_SHIPPER ? WIREAUTH_COLLECTOR
                                                        : WIREAUTH_SHIPPER;
    uint8_t k[WIRE_MAC_LEN];

    memset(a, 0, sizeof(*a));
    a->send_dir = (uint8_t)self;
    a->recv_dir = (uint8_t)other;
    wireauth_key(h, self, k);
    hmac_sha256_init(&a->send_key, k, sizeof(k));
    wireauth_key(h, other, k);
    hmac_sha256_init(&a->recv_key, k, sizeof(k));
    explicit_bzero(k, sizeof(k));
    a->is_on = 1;
}

void
wireauth_clear(struct wireauth *a)
{
    explicit_bzero(a, sizeof(*a));
}

int
wireauth_seal(struct wireauth *a, const uint8_t *frame, size_t len,
              uint8_t hdr[WIRE_HEADER_LEN], uint8_t tag[WIRE_MAC_LEN])
{
    if (!a->is_on || len < WIRE_HEADER_LEN || (frame[3] & WIRE_F_MAC) ||
        le32_load(frame + 8) != len - WIRE_HEADER_LEN ||
        len - WIRE_HEADER_LEN > WIRE_MAX_PAYLOAD - WIRE_MAC_LEN)
        return -1;
    const uint8_t *body = frame + WIRE_HEADER_LEN;
    size_t body_len = len - WIRE_HEADER_LEN;
    uint8_t flags = frame[3] | WIRE_F_MAC;

    wireauth_tag(&a->send_key, a->send_dir, a->n_sent, le16_load(frame + 4),
                 flags, body, body_len, tag);
    memcpy(hdr, frame, WIRE_HEADER_LEN);
    hdr[3] = flags;
    le32_store(hdr + 8, (uint32_t)(body_len + WIRE_MAC_LEN));
    le32_store(hdr + 12,
               compress_crc32(le32_load(frame + 12), tag, WIRE_MAC_LEN));
    a->n_sent++;
    return 0;
}

int
wireauth_frame_encode(struct wireauth *a, struct buf *out, uint16_t type,
                      const void *payload, size_t len, int zlevel)
{
    size_t start = out->len;
    uint8_t hdr[WIRE_HEADER_LEN], tag[WIRE_MAC_LEN];

    if (wire_frame_encode(out, type, payload, len, zlevel) < 0)
        return -1;
    if (a == NULL || !a->is_on)
        return 0;
    if (wireauth_seal(a, out->data + start, out->len - start, hdr, tag) < 0) {
        out->len = start;
        return -1;
    }
    if (buf_append(out, tag, sizeof(tag)) < 0) {
        a->n_sent--;            /* never sent */
        out->len = start;
        return -1;
    }
    memcpy(out->data + start, hdr, sizeof(hdr));
    return 0;
}

int
wireauth_open(struct wireauth *a, struct wire_frame *f, const char **errstr)
{
    uint8_t want[WIRE_MAC_LEN];

    if (!a->is_on) {
        if (!(f->flags & WIRE_F_MAC))
            return 0;
        *errstr = "frame MAC where none is expected";
        return -1;
    }
    if (!(f->flags & WIRE_F_MAC) || f->len < WIRE_MAC_LEN) {
        *errstr = "frame without its MAC";
        return -1;
    }
    size_t body_len = f->len - WIRE_MAC_LEN;
    wireauth_tag(&a->recv_key, a->recv_dir, a->n_recv, f->type, f->flags,
                 f->payload, body_len, want);
    if (!hmac_equal(want, f->payload + body_len, WIRE_MAC_LEN)) {
        *errstr = "bad frame MAC (forged, modified, replayed or reordered)";
        return -1;
    }
    f->len = body_len;
    f->flags &= (uint8_t)~WIRE_F_MAC;
    a->n_recv++;
    return 0;
}
