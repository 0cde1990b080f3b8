/* SPDX-License-Identifier: MIT */
/*
 * http: see http.h. Written by hand rather than using evhttp's client
 * because logq is a one-request-at-a-time blocking tool (see client.c) and
 * a ~250-line parser is easier to test byte by byte than an event loop.
 */
#include "query/http.h"

#include <string.h>
#include <strings.h>

enum {
    HTTP_S_HEAD,
    HTTP_S_BODY,        /* Content-Length or until close */
    HTTP_S_CHUNK_SIZE,
    HTTP_S_CHUNK_DATA,
    HTTP_S_CHUNK_END,   /* the CRLF after chunk data */
    HTTP_S_TRAILER,
    HTTP_S_DONE,
};

void
http_resp_init(struct http_resp *r, http_head_fn head_fn,
               http_body_fn body_fn, void *arg)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->head, HTTP_MAX_HEAD);
    r->state = HTTP_S_HEAD;
    r->head_fn = head_fn;
    r->body_fn = body_fn;
    r->arg = arg;
}

void
http_resp_fini(struct http_resp *r)
{
    buf_fini(&r->head);
}

int
http_resp_is_done(const struct http_resp *r)
{
    return r->state == HTTP_S_DONE;
}

static int
http_fail(struct http_resp *r, const char *why)
{
    r->errstr = why;
    return -1;
}

/* ------------------------------------------------------------ header block */

static int
http_status_parse(struct http_resp *r, const char *line, size_t n)
{
    if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
        return http_fail(r, "bad status line");
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (line[i] < '0' || line[i] > '9')
            return http_fail(r, "bad status code");
        st = st * 10 + (line[i] - '0');
    }
    if (st < 100 || (n > 12 && line[12] != ' '))
        return http_fail(r, "bad status code");
    r->status = st;
    return 0;
}

static int
http_length_parse(struct http_resp *r, const char *v, size_t n)
{
    uint64_t len = 0;

    if (n == 0)
        return http_fail(r, "bad Content-Length");
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9' || len > (UINT64_MAX - 9) / 10)
            return http_fail(r, "bad Content-Length");
        len = len * 10 + (uint64_t)(v[i] - '0');
    }
    r->has_length = 1;
    r->remaining = len;
    return 0;
}

static int
http_header_parse(struct http_resp *r, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    if (colon == NULL || colon == line)
        return http_fail(r, "bad header line");
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);

    if (name_len == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
        if (vlen >= 7 && strncasecmp(end - 7, "chunked", 7) == 0)
            r->is_chunked = 1;
        return 0;
    }
    if (name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0)
        return http_length_parse(r, v, vlen);
    return 0;
}

/* Parses the complete header block in r->head (ending in a blank line). */
static int
http_head_parse(struct http_resp *r)
{
    const char *p = (const char *)r->head.data;
    const char *end = p + r->head.len;
    int is_first = 1;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)(nl - p);    /* the block ends in '\n' */
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == 0)
            break;
        int rc = is_first ? http_status_parse(r, p, n)
                          : http_header_parse(r, p, n);
        if (rc < 0)
            return -1;
        is_first = 0;
        p = nl + 1;
    }
    if (is_first)
        return http_fail(r, "empty response head");
    return 0;
}

/* Finds the end of the header block; returns the offset just past it or 0. */
static size_t
http_head_end(const struct buf *b, size_t from)
{
    const char *d = (const char *)b->data;

    for (size_t i = from; i < b->len; i++) {
        if (d[i] != '\n')
            continue;
        if (i >= 1 && d[i - 1] == '\n')
            return i + 1;
        if (i >= 2 && d[i - 1] == '\r' && d[i - 2] == '\n')
            return i + 1;
    }
    return 0;
}

static int
http_head_done(struct http_resp *r)
{
    if (http_head_parse(r) < 0)
        return -1;
    if (r->status < 200) {      /* 1xx interim response: read the next head */
        r->status = 0;
        r->has_length = r->is_chunked = 0;
        return 0;
    }
    if (r->head_fn != NULL && r->head_fn(r->status, r->arg) < 0)
        return -1;
    if (r->is_chunked)
        r->state = HTTP_S_CHUNK_SIZE;
    else if (r->status == 204 || r->status == 304 ||
             (r->has_length && r->remaining == 0))
        r->state = HTTP_S_DONE;
    else
        r->state = HTTP_S_BODY;
    return 0;
}

/* Consumes header bytes; returns how many were used, or -1. */
static long
http_feed_head(struct http_resp *r, const char *p, size_t n)
{
    size_t old = r->head.len;
    size_t room = HTTP_MAX_HEAD - old;
    size_t take = n < room ? n : room;

    if (buf_append(&r->head, p, take) < 0)
        return http_fail(r, "response head too large");
    size_t end = http_head_end(&r->head, old > 2 ? old - 2 : 0);
    if (end == 0) {
        if (r->head.len == HTTP_MAX_HEAD)
            return http_fail(r, "response head too large");
        return (long)take;
    }
    size_t used = end - old;
    r->head.len = end;
    if (http_head_done(r) < 0)
        return -1;
    buf_reset(&r->head);
    return (long)used;
}

/* ------------------------------------------------------------ body framing */

/* Accumulates one framing line into r->head; returns bytes used or -1. Sets
 * *is_line when the line (without CR LF) is complete in r->head. */
static long
http_feed_line(struct http_resp *r, const char *p, size_t n, int *is_line)
{
    const char *nl = memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) : n;

    *is_line = 0;
    if (r->head.len + take > HTTP_MAX_LINE ||
        buf_append(&r->head, p, take) < 0)
        return http_fail(r, "chunk framing line too long");
    if (nl == NULL)
        return (long)take;
    if (r->head.len > 0 && r->head.data[r->head.len - 1] == '\r')
        r->head.len--;
    *is_line = 1;
    return (long)take + 1;
}

static int
http_chunk_size_parse(struct http_resp *r)
{
    const char *s = (const char *)r->head.data;
    size_t n = r->head.len, i = 0;
    uint64_t v = 0;

    for (; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            break;
        if (v >> 56)
            return http_fail(r, "chunk size too large");
        v = v * 16 + (uint64_t)d;
    }
    if (i == 0 || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t'))
        return http_fail(r, "bad chunk size");
    r->remaining = v;
    r->state = v == 0 ? HTTP_S_TRAILER : HTTP_S_CHUNK_DATA;
    return 0;
}

static long
http_feed_framing(struct http_resp *r, const char *p, size_t n)
{
    int is_line;
    long used = http_feed_line(r, p, n, &is_line);

    if (used < 0 || !is_line)
        return used;
    int rc = 0;
    if (r->state == HTTP_S_CHUNK_SIZE)
        rc = http_chunk_size_parse(r);
    else if (r->state == HTTP_S_CHUNK_END)
        rc = r->head.len == 0 ? (r->state = HTTP_S_CHUNK_SIZE, 0)
                              : http_fail(r, "missing CRLF after chunk");
    else if (r->head.len == 0)      /* end of trailers */
        r->state = HTTP_S_DONE;
    buf_reset(&r->head);
    return rc < 0 ? -1 : used;
}

static long
http_feed_data(struct http_resp *r, const char *p, size_t n)
{
    size_t take = n;

    if (r->state == HTTP_S_CHUNK_DATA || r->has_length)
        take = r->remaining < n ? (size_t)r->remaining : n;
    if (take > 0 && r->body_fn(p, take, r->arg) < 0)
        return -1;
    if (r->state == HTTP_S_CHUNK_DATA || r->has_length)
        r->remaining -= take;
    if (r->remaining == 0) {
        if (r->state == HTTP_S_CHUNK_DATA)
            r->state = HTTP_S_CHUNK_END;
        else if (r->has_length)
            r->state = HTTP_S_DONE;
    }
    return (long)take;
}

/* ------------------------------------------------------------ public API */

int
http_resp_feed(struct http_resp *r, const char *p, size_t n)
{
    if (r->errstr != NULL)
        return -1;
    while (n > 0 && r->state != HTTP_S_DONE) {
        long used;
        switch (r->state) {
        case HTTP_S_HEAD:
            used = http_feed_head(r, p, n);
            break;
        case HTTP_S_BODY:
        case HTTP_S_CHUNK_DATA:
            used = http_feed_data(r, p, n);
            break;
        default:
            used = http_feed_framing(r, p, n);
            break;
        }
        if (used < 0)
            return -1;
        p += used;
        n -= (size_t)used;
    }
    return 0;
}

int
http_resp_eof(struct http_resp *r)
{
    if (r->errstr != NULL)
        return -1;
    if (r->state == HTTP_S_DONE ||
        (r->state == HTTP_S_BODY && !r->has_length)) {
        r->state = HTTP_S_DONE;
        return 0;
    }
    return http_fail(r, r->state == HTTP_S_HEAD
                     ? "connection closed before the response head"
                     : "connection closed in the middle of the response");
}
