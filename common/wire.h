/* SPDX-License-Identifier: MIT */
/*
 * wire: the shipper<->collector protocol of common/PROTOCOL.md. Frame codec
 * and payload codecs only: no sockets, no allocation beyond the caller's
 * bufs and the source table of a decoded batch, so every decoder is a pure
 * function over bytes and can be fuzzed. Decoders validate the whole payload
 * before reporting success; errors come back as a static string.
 */
#ifndef COMMON_WIRE_H
#define COMMON_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/record.h"

/* Version 3 only (PROTOCOL.md "Versions"): version 2 had no batch start
 * per source, version 1 no per-host identity and no frame MACs. */
#define WIRE_VERSION        3
#define WIRE_VERSION_MIN    3
#define WIRE_HEADER_LEN     16
#define WIRE_MAX_PAYLOAD    (4u << 20)
#define WIRE_MAX_INFLATED   (16u << 20)
#define WIRE_NONCE_LEN      32
#define WIRE_MAC_LEN        32
#define WIRE_MAX_SOURCES    4096
#define WIRE_MAX_RECORDS    1000000u
#define WIRE_MAX_SAMPLES    100000u
#define WIRE_MAX_ID_LEN     128
#define WIRE_MAX_LABELS_LEN (64u << 10)
/* container_name and image the collector keeps (PROTOCOL.md "Source
 * metadata"); the shipper cuts longer ones. */
#define WIRE_MAX_NAME_LEN   256
#define WIRE_MAX_MSG_LEN    (16u << 20)
/* Largest payload of a control frame (every type but BATCH and METRICS),
 * and so all a peer may make the other side buffer before WELCOME. */
#define WIRE_MAX_CONTROL    4096u

#define WIRE_F_ZLIB         0x01
#define WIRE_F_MAC          0x02    /* payload ends in a WIRE_MAC_LEN tag */
#define WIRE_F_ZSTD         0x04    /* never with WIRE_F_ZLIB */

/* CHALLENGE's flags byte (PROTOCOL.md "Compression"). */
#define WIRE_CH_AUTH        0x01    /* auth_required */
#define WIRE_CH_ZSTD        0x02    /* zstd frames accepted: only to an offer */
/* The word of HELLO's software text that offers zstd. */
#define WIRE_SOFTWARE_ZSTD  "zstd"

/* How a data frame's payload is compressed: flag 0 (plain), WIRE_F_ZLIB
 * (libdeflate at level 1..12) or WIRE_F_ZSTD (level as compress_zstd). */
struct wire_codec {
    uint8_t flag;
    int     level;
};

enum wire_type {
    WIRE_HELLO = 100,
    WIRE_CHALLENGE = 101,
    WIRE_AUTH = 102,
    WIRE_WELCOME = 103,
    WIRE_ERROR = 199,
    WIRE_BATCH = 200,
    WIRE_ACK = 201,
    WIRE_PING = 202,
    WIRE_PONG = 203,
    WIRE_METRICS = 300,
};

enum wire_error_code {
    WIRE_ERR_PROTOCOL = 1,
    WIRE_ERR_AUTH = 2,
    WIRE_ERR_VERSION = 3,
    WIRE_ERR_BUSY = 4,
};

/* A borrowed byte string. */
struct wire_str {
    const char *p;
    size_t      len;
};

struct wire_frame {
    uint8_t        version;
    uint8_t        flags;
    uint16_t       type;
    const uint8_t *payload;     /* borrowed from the input */
    size_t         len;
};

/* What the frame reader (and wire_frame_decode) can say about its input. */
enum wire_rd {
    WIRE_RD_OK = 0,         /* a whole, valid frame */
    WIRE_RD_NEED_MORE,      /* no whole frame buffered yet */
    WIRE_RD_BAD_MAGIC,      /* does not start with 'L' 'Q' */
    WIRE_RD_BAD_VERSION,    /* version outside WIRE_VERSION_MIN..VERSION */
    WIRE_RD_BAD_FLAGS,      /* unknown flag bits or reserved bits set */
    WIRE_RD_BAD_TYPE,       /* not a frame type of PROTOCOL.md */
    WIRE_RD_BAD_LENGTH,     /* control frame payload over WIRE_MAX_CONTROL,
                             * or a MAC flag on one under WIRE_MAC_LEN */
    WIRE_RD_TOO_LARGE,      /* payload over the reader's maximum */
    WIRE_RD_BAD_CRC,        /* crc32 does not match the payload */
    WIRE_RD_OVERFLOW,       /* fed more than wire_reader_room() */
};

/* A static, lower-case description of rc. */
const char *wire_rd_str(enum wire_rd rc);

/*
 * Decodes one frame from the front of p[0..len). Returns 1 and fills *f and
 * *consumed when a whole frame is there, 0 when more bytes are needed, -1 on
 * a protocol error (*errstr set; the connection must be closed). Checks
 * magic, version, flags, reserved bits, type, length caps (WIRE_MAX_PAYLOAD)
 * and crc before returning 1: the same checks as the reader below.
 */
int wire_frame_decode(const uint8_t *p, size_t len, struct wire_frame *f,
                      size_t *consumed, const char **errstr);

/*
 * Incremental frame reader (as hiredis's redisReaderFeed/GetReply): feed it
 * the bytes a socket gave, pull whole frames with wire_reader_next. No I/O.
 * It buffers at most one maximum frame (WIRE_HEADER_LEN + max_payload), and
 * a frame whose header announces more than max_payload is refused from the
 * header alone, before its payload is buffered. The first error is kept:
 * every later call returns it (the owner closes the connection). When the
 * buffer runs empty a large allocation is given back.
 */
struct wire_reader {
    struct buf   in;
    size_t       pos;           /* start of the bytes not yet returned */
    size_t       max_payload;
    enum wire_rd err;           /* WIRE_RD_OK until the first error */
};

/* max_payload is clamped to WIRE_MAX_PAYLOAD. */
void   wire_reader_init(struct wire_reader *r, size_t max_payload);
void   wire_reader_fini(struct wire_reader *r);
/* Changes the maximum for frames not yet returned (e.g. after WELCOME). */
void   wire_reader_set_max(struct wire_reader *r, size_t max_payload);
/* How many bytes wire_reader_feed accepts now; > 0 unless a whole frame is
 * buffered or the reader has failed. */
size_t wire_reader_room(const struct wire_reader *r);
/* Bytes fed and not yet returned as frames. */
size_t wire_reader_buffered(const struct wire_reader *r);
/* Copies p[0..len) in. WIRE_RD_OK, WIRE_RD_OVERFLOW (len > room; nothing
 * taken, the reader fails) or the reader's earlier error. */
enum wire_rd wire_reader_feed(struct wire_reader *r, const void *p,
                              size_t len);
/* WIRE_RD_OK with *f filled (its payload borrowed from the reader until
 * the next feed or next call), WIRE_RD_NEED_MORE, or an error. */
enum wire_rd wire_reader_next(struct wire_reader *r, struct wire_frame *f);
/* After WIRE_RD_BAD_VERSION: the version the peer's frame carries (so the
 * message can say which side to upgrade); -1 otherwise. */
int    wire_reader_bad_version(const struct wire_reader *r);
/* Appends a frame; compresses the payload with zlib at level zlevel when
 * zlevel > 0. -1 if out's cap is reached or the payload is too large. */
int wire_frame_encode(struct buf *out, uint16_t type, const void *payload,
                      size_t len, int zlevel);
/* The same with the payload compressed as c says (NULL: plain). -1 also for
 * an unknown codec flag or level. */
int wire_frame_encode_codec(struct buf *out, uint16_t type,
                            const void *payload, size_t len,
                            const struct wire_codec *c);
/* Gives the frame's payload in plain form: borrowed as is, or decompressed
 * into scratch (cap WIRE_MAX_INFLATED; PROTOCOL.md "Compression"). -1 on a
 * bad zlib stream or zstd frame, or a bomb. */
int wire_frame_payload(const struct wire_frame *f, struct buf *scratch,
                       const uint8_t **p, size_t *len, const char **errstr);

/* Handshake and control payloads. Decoders return -1 with *errstr set. */
int wire_hello_encode(struct buf *out, const char *hostname,
                      const char *software,
                      const uint8_t nonce[WIRE_NONCE_LEN]);
int wire_hello_decode(const uint8_t *p, size_t len, struct wire_str *hostname,
                      struct wire_str *software, uint8_t nonce[WIRE_NONCE_LEN],
                      const char **errstr);
/* 1 if HELLO's software text offers zstd (the word WIRE_SOFTWARE_ZSTD
 * after the first word), else 0. */
int wire_hello_offers_zstd(const struct wire_str *software);
/* flags: WIRE_CH_AUTH and WIRE_CH_ZSTD; -1 for any other bit. The decoder
 * refuses other bits too. */
int wire_challenge_encode(struct buf *out, unsigned flags,
                          const uint8_t nonce[WIRE_NONCE_LEN],
                          const uint8_t proof[WIRE_MAC_LEN]);
int wire_challenge_decode(const uint8_t *p, size_t len, unsigned *flags,
                          uint8_t nonce[WIRE_NONCE_LEN],
                          uint8_t proof[WIRE_MAC_LEN], const char **errstr);
int wire_auth_encode(struct buf *out, const uint8_t mac[WIRE_MAC_LEN]);
int wire_auth_decode(const uint8_t *p, size_t len, uint8_t mac[WIRE_MAC_LEN],
                     const char **errstr);
/* Appends an ERROR frame (code WIRE_ERR_VERSION, msg) whose header carries
 * version: a peer that spoke that older version can still read it. */
int wire_version_error_encode(struct buf *out, uint8_t version,
                              const char *msg);
int wire_u64_encode(struct buf *out, uint64_t v); /* WELCOME ACK PING PONG */
int wire_u64_decode(const uint8_t *p, size_t len, uint64_t *v,
                    const char **errstr);
int wire_error_encode(struct buf *out, uint16_t code, const char *msg);
int wire_error_decode(const uint8_t *p, size_t len, uint16_t *code,
                      struct wire_str *msg, const char **errstr);

/* ---- BATCH ---- */

struct wire_source {
    struct wire_str id;
    struct wire_str name;
    struct wire_str image;
    struct wire_str labels;
    uint64_t        start;  /* position where its first record in the batch
                               begins (PROTOCOL.md "Plausible positions") */
};

struct wire_record {
    uint32_t        source;
    uint8_t         stream;
    uint8_t         flags;
    int64_t         time_ns;
    uint64_t        offset;
    struct wire_str msg;
};

/*
 * Batch encoder: add sources and records, then finish into a frame. Records
 * are copied in; raw_max caps the plain payload size (add_* return -1 when
 * the next item would pass it: send the batch and start another). Records
 * are laid out after `head` bytes kept free, so that finish writes the
 * header and the source table just before them and compresses the payload
 * in place, without copying the records into a second buffer (when the
 * sources do not fit, it copies, and the next batch keeps more room).
 */
struct wire_batch_enc {
    struct buf sources;
    struct buf records;             /* head free bytes, then the records */
    uint32_t   n_sources;
    uint32_t   n_records;
    size_t     raw_max;
    size_t     head;                /* room kept before the records */
    size_t     head_next;           /* the room the next reset keeps */
};

void wire_batch_enc_init(struct wire_batch_enc *e, size_t raw_max);
void wire_batch_enc_fini(struct wire_batch_enc *e);
void wire_batch_enc_reset(struct wire_batch_enc *e);
/* Returns the new source's index, or -1 when full. */
int  wire_batch_enc_add_source(struct wire_batch_enc *e,
                               const struct wire_source *s);
int  wire_batch_enc_add_record(struct wire_batch_enc *e,
                               const struct wire_record *r);
size_t wire_batch_enc_raw_len(const struct wire_batch_enc *e);
/* Appends one BATCH frame with this seq to out (zlib at zlevel; 0 = none). */
int  wire_batch_enc_finish(struct wire_batch_enc *e, uint64_t seq,
                           struct buf *out, int zlevel);
/* The same, compressed as c says (NULL: plain). */
int  wire_batch_enc_finish_codec(struct wire_batch_enc *e, uint64_t seq,
                                 struct buf *out, const struct wire_codec *c);

/*
 * Decoded batch: the source table is an array the decoder allocates (free
 * with wire_batch_fini); records are walked with wire_batch_next after a
 * successful decode, which has already validated all of them.
 */
struct wire_batch {
    uint64_t            seq;
    uint32_t            n_sources;
    struct wire_source *sources;
    uint32_t            n_records;
    struct reader       rd;        /* positioned at the first record */
};

int  wire_batch_decode(const uint8_t *p, size_t len, struct wire_batch *b,
                       const char **errstr);
/* Next record; 1 when one was written to *r, 0 at the end. */
int  wire_batch_next(struct wire_batch *b, struct wire_record *r);
/* wire_batch_decode and wire_batch_next reading every record field by
 * field through the bounds-checked reader (the two above take a record
 * by fixed offsets once its length is checked): the reference
 * wire_batch_test compares them with. */
int  wire_batch_decode_ref(const uint8_t *p, size_t len, struct wire_batch *b,
                           const char **errstr);
int  wire_batch_next_ref(struct wire_batch *b, struct wire_record *r);
void wire_batch_fini(struct wire_batch *b);

/* ---- METRICS ---- */

struct wire_sample {
    struct wire_str name;
    struct wire_str container;
    struct wire_str label;
    double          value;
};

struct wire_metrics_enc {
    struct buf samples;
    uint32_t   n_samples;
};

void wire_metrics_enc_init(struct wire_metrics_enc *e, size_t raw_max);
void wire_metrics_enc_fini(struct wire_metrics_enc *e);
void wire_metrics_enc_reset(struct wire_metrics_enc *e);
int  wire_metrics_enc_add(struct wire_metrics_enc *e, const char *name,
                          const char *container, const char *label,
                          double value);
int  wire_metrics_enc_finish(struct wire_metrics_enc *e, uint64_t seq,
                             int64_t time_ns, struct buf *out, int zlevel);
int  wire_metrics_enc_finish_codec(struct wire_metrics_enc *e, uint64_t seq,
                                   int64_t time_ns, struct buf *out,
                                   const struct wire_codec *c);

struct wire_metrics {
    uint64_t      seq;
    int64_t       time_ns;
    uint32_t      n_samples;
    struct reader rd;
};

int wire_metrics_decode(const uint8_t *p, size_t len, struct wire_metrics *m,
                        const char **errstr);
int wire_metrics_next(struct wire_metrics *m, struct wire_sample *s);

#endif
