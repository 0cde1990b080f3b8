/* SPDX-License-Identifier: MIT */
/*
 * linesplit: turns a byte stream that arrives in arbitrary pieces (HTTP
 * chunks, read() results) into whole '\n'-terminated lines. A line split
 * across pieces is kept in a buffer with a hard cap; a line longer than the
 * cap is an error, not a silent truncation. Knows nothing about sockets or
 * JSON.
 */
#ifndef QUERY_LINESPLIT_H
#define QUERY_LINESPLIT_H

#include <stddef.h>

#include "common/buf.h"

#define LINESPLIT_DEFAULT_MAX (32u * 1024 * 1024)

/* Called once per line, without its '\n' (a '\r' before it is kept). The
 * pointer is valid during the call only. Return 0 to go on, -1 to stop:
 * linesplit_feed then returns -1 with errstr NULL. */
typedef int (*linesplit_line_fn)(const char *line, size_t len, void *arg);

struct linesplit {
    struct buf   partial;   /* bytes of an unfinished line */
    size_t       max_line;
    const char  *errstr;    /* first error; further feeds are refused */
};

void linesplit_init(struct linesplit *ls, size_t max_line);
void linesplit_fini(struct linesplit *ls);
/* Feeds n bytes and calls fn for every line completed. -1 if a line passes
 * max_line (errstr set), after a previous error, or when fn stopped. */
int  linesplit_feed(struct linesplit *ls, const char *p, size_t n,
                    linesplit_line_fn fn, void *arg);
/* At end of stream: delivers an unterminated last line, if any. Returns the
 * same as linesplit_feed. */
int  linesplit_finish(struct linesplit *ls, linesplit_line_fn fn, void *arg);
/* Discards any partial line and error (for a new connection). */
void linesplit_reset(struct linesplit *ls);

#endif
