/* SPDX-License-Identifier: MIT */
/*
 * fields: the fields of a structured log message, for `field:value` search
 * terms (collector/search/query.c), `count --by field:NAME`
 * (collector/search/agg.c) and `{field.NAME}` in logq's --format
 * (query/template.c). Lives in common/ because both programs use it. Pure:
 * no allocation, no I/O; work and stack are bounded (linear passes,
 * nesting at most FIELDS_MAX_DEPTH). The rules (query/README.md
 * "Fields"):
 *
 * - JSON: the message is one JSON object (RFC 8259, strict) with only
 *   blanks (space, tab, CR, LF) around it. Nested objects are flattened
 *   with dots ({"user":{"id":42}} has user.id); an array's elements are
 *   values of the array's own name ({"tags":["a","b"]} has tags twice);
 *   duplicate keys give several values. Strings are decoded (\uXXXX to
 *   UTF-8, a lone surrogate to U+FFFD; other bytes, invalid UTF-8 too,
 *   as they are); numbers keep their text; true, false and null are those
 *   words; empty objects and arrays give no field.
 * - logfmt: the message, after leading spaces or tabs (not CR or LF), is
 *   one or more KEY=VALUE pairs separated by spaces or tabs and nothing
 *   else (trailing blanks, CR and LF too, allowed). KEY: 1-256 bytes, none a control byte, space,
 *   '=' or '"'. VALUE: empty, bare (bytes other than control bytes,
 *   space, '=' and '"') or double-quoted with backslash escapes (\" \\ \/
 *   \n \r \t \b \f \a \v \xHH \uXXXX; another escape, or no closing
 *   quote, and the message is plain text).
 * - Anything else is plain text and has no field. Also plain text: JSON
 *   nested deeper than FIELDS_MAX_DEPTH, and invalid JSON (unterminated
 *   string, bad escape or number, trailing bytes).
 * Limits: at most FIELDS_MAX_FIELDS fields per message (the rest are
 * ignored); a flattened name longer than FIELDS_MAX_NAME is skipped; a
 * decoded value longer than FIELDS_MAX_VALUE is cut (is_cut).
 */
#ifndef COMMON_FIELDS_H
#define COMMON_FIELDS_H

#include <stddef.h>

#define FIELDS_MAX_DEPTH   32     /* nested objects and arrays */
#define FIELDS_MAX_FIELDS  256    /* per message */
#define FIELDS_MAX_NAME    256    /* bytes of a flattened name */
#define FIELDS_MAX_VALUE   4096   /* decoded bytes of an escaped value */
#define FIELDS_MAX_NUMBER  64     /* bytes of a number fields_number reads */

enum fields_kind { FIELDS_NONE, FIELDS_JSON, FIELDS_LOGFMT };

enum fields_type { FIELDS_STRING, FIELDS_NUMBER, FIELDS_BOOL, FIELDS_NULL };

struct fields_field {
    const char      *name;      /* flattened: "user.id" */
    size_t           name_len;
    const char      *value;     /* decoded text (not NUL-terminated) */
    size_t           value_len;
    enum fields_type type;      /* logfmt values are all FIELDS_STRING */
    int              is_cut;    /* decoded value was longer: first bytes */
    const char      *raw;       /* the value as written in the message
                                   (a string's text between its quotes,
                                   escapes as they are): inside msg */
    size_t           raw_len;
};

/* Called per field in message order; f and its strings are valid for the
 * call only. Non-zero stops the walk. */
typedef int (*fields_fn)(const struct fields_field *f, void *arg);

/* The kind of msg[0..len) (FIELDS_NONE: plain text, fn never called); for
 * JSON and logfmt calls fn for each field (at most FIELDS_MAX_FIELDS)
 * until fn returns non-zero. Any bytes are safe input. */
enum fields_kind fields_foreach(const char *msg, size_t len, fields_fn fn,
                                void *arg);

/* The same in one pass, for index tokens: fn may also be called for the
 * fields before the point where a message turns out to be plain text
 * (an extra index token only makes a block a candidate). */
enum fields_kind fields_foreach_fast(const char *msg, size_t len,
                                     fields_fn fn, void *arg);

/* The first value of the field name[0..name_len) copied to out (cut to
 * cap bytes; *out_len its length): 1 if the message has the field, else
 * 0. */
int fields_get(const char *msg, size_t len, const char *name,
               size_t name_len, char *out, size_t cap, size_t *out_len);

/* s[0..len) as a number if it is one by JSON's grammar
 * (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, at most
 * FIELDS_MAX_NUMBER bytes): 0 and *out (a double: 1e999 is infinity,
 * integers past 2^53 are rounded), else -1. */
int fields_number(const char *s, size_t len, double *out);

#endif
