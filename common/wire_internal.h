/* SPDX-License-Identifier: MIT */
/*
 * wire_internal: the field helpers and limits the codec's parts share
 * (wire.c, wire_reader.c, wire_ctl.c, wire_batch.c, wire_metrics.c; see
 * wire.c). Not for use outside those files: everything else uses
 * wire.h. Pure, like the rest of the codec.
 */
#ifndef COMMON_WIRE_INTERNAL_H
#define COMMON_WIRE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/wire.h"

#define WIRE_STR16_MAX      0xffffu
#define WIRE_SOURCE_MIN_LEN 18u     /* three empty str16, empty bytes32,
                                       u64 start */
#define WIRE_RECORD_MIN_LEN 26u     /* fixed fields + empty bytes32 */
#define WIRE_SAMPLE_MIN_LEN 14u     /* three empty str16 + u64 */
#define WIRE_BATCH_HDR_LEN  12u     /* u64 seq + u32 n_sources */
#define WIRE_BATCH_ENC_HEAD 1024u   /* room before records: a few sources */
#define WIRE_METRICS_HDR_LEN 20u    /* u64 seq + u64 time + u32 n_samples */

/* ---- wire.c: field helpers ---- */

/* *errstr = msg (if errstr is not NULL); returns -1. */
int wire_fail(const char **errstr, const char *msg);
/* Reads a str16 of at most max bytes with no NUL byte. */
int wire_get_str16(struct reader *r, size_t max, struct wire_str *s,
                   const char **errstr);
/* Reads a bytes32 of at most max bytes; NUL bytes rejected if no_nul. */
int wire_get_bytes32(struct reader *r, size_t max, int no_nul,
                     struct wire_str *s, const char **errstr);
/* 1 if s is at most max bytes with no NUL byte. */
int wire_str_is_valid(const struct wire_str *s, size_t max);
/* Appends a str16 (n at most WIRE_STR16_MAX) or a bytes32; 0 or -1. */
int wire_put_str16(struct buf *out, const void *p, size_t n);
int wire_put_bytes32(struct buf *out, const void *p, size_t n);
/* Restores out to len start when rc < 0; returns rc. */
int wire_undo(struct buf *out, size_t start, int rc);
/* 0 if r was read to its end without error, else -1 with *errstr. */
int wire_at_end(const struct reader *r, const char **errstr);

/* ---- wire.c: frames ---- */

/* A whole frame at the front of p[0..len): header checked, payload
 * present (else WIRE_RD_NEED_MORE) and its crc right; f borrows p. */
enum wire_rd wire_frame_check(const uint8_t *p, size_t len,
                              size_t max_payload, struct wire_frame *f);

#endif
