/* SPDX-License-Identifier: MIT */
/*
 * render: how `logq` prints the lines of a /logs or /follow stream
 * (collector/API.md): records as text or JSON, and with context
 * (-A/-B/-C) the groups: "--" between them in text, "group":N (and
 * "context":true on context lines) on every record in JSON, the
 * {"break":true} lines dropped. Pure: formats into a struct buf; parsing
 * is reply.c's and xreply.c's, printing the caller's (cmd_search.c).
 */
#ifndef QUERY_RENDER_H
#define QUERY_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "query/output.h"
#include "query/reply.h"

struct template;

struct render {
    int      is_json;
    int      has_context;   /* -A/-B/-C */
    int      color;
    uint64_t n_groups;      /* groups begun so far */
    /* set after render_init, both off by default: */
    int      is_raw;        /* -o raw: the message alone */
    int      is_raw_escaped; /* ... with control bytes escaped (a tty) */
    const struct template *tpl; /* --format, borrowed; NULL: none */
    struct output_widths widths;   /* text: name columns; 0: unpadded */
};

void render_init(struct render *r, int is_json, int has_context, int color);
/* A {"break":true} line: the next record starts a new group. -1 on out's
 * cap (out unchanged). */
int  render_break(struct render *r, struct buf *out);
/* One record (raw: the message and a newline; --format: the template's
 * line; else text with marks and highlighting, or JSON). The group number is the collector's "group" field, else
 * counted here from the breaks. -1 on out's cap (out unchanged). */
int  render_record(struct render *r, const struct reply_record *rr,
                   struct buf *out);

#endif
