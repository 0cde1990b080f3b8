/* SPDX-License-Identifier: MIT */
/*
 * dockerline: parses one line of Docker's json-file log driver,
 *   {"log":"text\n","stream":"stdout","time":"2026-11-27T13:50:40.123456789Z"}
 * (keys in any order, optional "attrs" object and unknown keys skipped).
 * A pure function over bytes: no I/O, no allocation beyond the caller's
 * buf. Hand-written rather than jansson because it runs once per shipped
 * line; tested byte for byte against jansson on the corpus (see
 * dockerline_test.c) and fuzzed (tests/fuzz/fuzz_dockerline.c).
 */
#ifndef SHIPPER_DOCKERLINE_H
#define SHIPPER_DOCKERLINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct dockerline {
    uint8_t stream;      /* LOGREC_STDOUT or LOGREC_STDERR */
    uint8_t flags;       /* LOGREC_F_RAW, LOGREC_F_INVALID_UTF8 */
    int     is_partial;  /* "log" did not end in '\n': Docker split it */
    uint8_t eol_len;     /* bytes stripped from the text's end: 0, 1 ("\n")
                            or 2 ("\r\n") */
    int64_t time_ns;     /* 0 when the line had no usable time */
};

/*
 * Parses line[0..len) (without its terminating '\n'; a trailing '\r' is
 * part of the line). On success appends the decoded "log" text without its
 * final '\n' (nor a '\r' just before it: CRLF apps) to msg and returns 0;
 * is_partial says the text had no final '\n'. A malformed line (not JSON, bad escape,
 * missing or wrongly typed field, bad time) is not an error: the raw line
 * bytes are appended instead, out->flags has LOGREC_F_RAW, stream is stdout,
 * time_ns 0, and 0 is returned. Invalid UTF-8 inside the text is replaced by
 * U+FFFD and flagged LOGREC_F_INVALID_UTF8. Returns -1 only when msg's cap
 * would be passed (msg's len and bytes are then unchanged, out untouched).
 */
int dockerline_parse(const char *line, size_t len, struct buf *msg,
                     struct dockerline *out);

/*
 * The same by the general scanner alone, without the fast path for the
 * common line (dockerline.c): the reference the tests and the fuzz target
 * compare dockerline_parse with, byte for byte.
 */
int dockerline_parse_ref(const char *line, size_t len, struct buf *msg,
                         struct dockerline *out);

#endif
