/* SPDX-License-Identifier: MIT */
/*
 * record: the log record and metric sample types every program shares, and
 * their JSON output form. A record borrows all of its strings: whoever fills
 * one (wire decoder, store cursor, shipper tailer) says how long they live.
 * JSON text is written by a hand-written escaper (record_json_append) because
 * it runs once per returned line; parsing JSON stays with jansson.
 */
#ifndef COMMON_RECORD_H
#define COMMON_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct labelset;

#define LOGREC_STDOUT 0
#define LOGREC_STDERR 1

#define LOGREC_F_RAW          0x01  /* line was not valid json-file */
#define LOGREC_F_TRUNCATED    0x02  /* cut at the maximum record size */
#define LOGREC_F_INVALID_UTF8 0x04  /* invalid bytes replaced by U+FFFD */
#define LOGREC_F_MASK         0x07

struct logrec {
    int64_t     time_ns;        /* unix nanoseconds */
    const char *host;           /* NUL-terminated, borrowed */
    const char *container_id;
    const char *container;      /* name, without leading '/' */
    const char *image;
    uint8_t     stream;         /* LOGREC_STDOUT or LOGREC_STDERR */
    uint8_t     flags;          /* LOGREC_F_* */
    uint64_t    offset;         /* source position past the record */
    const char *msg;            /* not NUL-terminated */
    size_t      msg_len;
    int64_t     recv_ns;        /* when the collector received it (unix
                                   ns, its clock); 0: not known */
    const struct labelset *labels;  /* the source's Docker labels
                                       (common/labelset.h), NULL: none */
};

struct metric_sample {
    const char *name;
    const char *container;      /* "" for host metrics */
    const char *label;          /* "" when none */
    int64_t     time_ns;
    double      value;
};

/* "stdout"/"stderr". */
const char *logrec_stream_name(uint8_t stream);
/* Parses "stdout"/"stderr"; -1 otherwise. */
int logrec_stream_parse(const char *s, uint8_t *out);

/*
 * Appends the record as one JSON object line with exactly the fields time
 * (RFC 3339 UTC with 9 fractional digits), host, container, container_id,
 * image, stream, message, then labels (the canonical JSON object of
 * r->labels, only when it has some), then '\n'. Invalid UTF-8 in the message is written
 * as U+FFFD so the output is always valid JSON. -1 if out's cap is reached
 * (out is then left as it was).
 */
int record_json_append(struct buf *out, const struct logrec *r);
/* Appends s (n bytes) as a JSON string literal, quotes included. */
int json_str_append(struct buf *out, const char *s, size_t n);
#endif
