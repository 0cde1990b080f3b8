/* SPDX-License-Identifier: MIT */
/*
 * template: logq --format 'TEMPLATE', one output line per record.
 * Placeholders in braces: {time} (as the text output prints it: UTC or
 * local, ms), {host}, {container}, {container_id}, {image}, {stream},
 * {message}, {label.KEY} (the record's Docker label KEY from its
 * "labels" object, "" when absent) and {field.NAME} (the first value of
 * the message's JSON or logfmt field NAME, decoded, at most
 * FIELDS_MAX_VALUE bytes, "" when absent: common/fields.h). "{{" and "}}" are literal braces;
 * "\t", "\n" and "\\" are a tab, a newline and a backslash. Values are
 * escaped as the text output escapes them (common/escape.h), so a record
 * cannot drive the terminal; the template's own text is printed as
 * given. Every line ends with a newline.
 *
 * Placeholders are parsed once into segments (kind + key): a new kind is
 * one enum value, one parser case and one lookup. Pure but for jansson
 * (labels).
 */
#ifndef QUERY_TEMPLATE_H
#define QUERY_TEMPLATE_H

#include <stddef.h>

#include "common/buf.h"
#include "query/reply.h"

#define TEMPLATE_MAX_SEGS 64

struct template;

/* Parses text. NULL with err (one line: "unknown placeholder {x} (known:
 * time, host, ...)" with x escaped, "unterminated {", "single } at offset
 * N"). */
struct template *template_parse(const char *text, char *err, size_t errlen);
void template_free(struct template *t);
/* Appends one line for rr. -1 (out unchanged) when out's cap is hit. */
int  template_render(const struct template *t, const struct reply_record *rr,
                     struct buf *out);

#endif
