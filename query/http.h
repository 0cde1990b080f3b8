/* SPDX-License-Identifier: MIT */
/*
 * http: an incremental parser for one HTTP/1.1 response (status line,
 * headers, then a body framed by chunked encoding, Content-Length or the
 * end of the connection). Fed bytes as they are read; never touches a
 * socket, so every framing case is unit-tested. Header block and chunk-size
 * lines have hard caps; body bytes are passed through without copying.
 */
#ifndef QUERY_HTTP_H
#define QUERY_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define HTTP_MAX_HEAD (64u * 1024)
#define HTTP_MAX_LINE 1024u     /* chunk-size and trailer lines */

/* Called once the header block is parsed (status is then set). */
typedef int (*http_head_fn)(int status, void *arg);
/* Called with body bytes, valid during the call only. Either callback may
 * return -1 to stop: http_resp_feed then returns -1 with errstr NULL. */
typedef int (*http_body_fn)(const char *p, size_t n, void *arg);

struct http_resp {
    int           state;
    int           status;
    int           is_chunked;
    int           has_length;
    uint64_t      remaining;    /* of the Content-Length or current chunk */
    struct buf    head;         /* header block, then one framing line */
    http_head_fn  head_fn;
    http_body_fn  body_fn;
    void         *arg;
    const char   *errstr;       /* first error; further feeds are refused */
};

/* head_fn may be NULL. */
void http_resp_init(struct http_resp *r, http_head_fn head_fn,
                    http_body_fn body_fn, void *arg);
void http_resp_fini(struct http_resp *r);
/* Consumes n bytes. -1 on a malformed response (errstr set) or when a
 * callback stopped. Bytes after the end of the response are ignored. */
int  http_resp_feed(struct http_resp *r, const char *p, size_t n);
/* The peer closed the connection: 0 if the response is complete (or its
 * body was framed by the close), else -1 with errstr set. */
int  http_resp_eof(struct http_resp *r);
int  http_resp_is_done(const struct http_resp *r);

#endif
