/* SPDX-License-Identifier: MIT */
/*
 * record: stream names and the JSON output form of a log record. The JSON
 * string escaper is hand-written, not jansson, because it runs once per
 * returned line: jansson would need a json_t per record plus a UTF-8
 * validation and a dump pass. Here runs of plain ASCII are copied with one
 * memcpy and only '"', '\\', control bytes and non-ASCII bytes take the slow
 * path. Invalid UTF-8 (per RFC 3629: no overlongs, no surrogates, nothing
 * past U+10FFFF; checked by common/utf8.h) becomes U+FFFD, one replacement
 * per bad byte, so the output is always valid JSON. Parsing JSON stays
 * with jansson elsewhere.
 */
#include "common/record.h"

#include <string.h>

#include "common/labelset.h"
#include "common/timeutil.h"
#include "common/utf8.h"

/* 0: copy as is; 1: escape or check as UTF-8. */
static const uint8_t record_special[256] = {
    ['\0'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1,
    [0x80] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static const char record_replacement[3] = { '\xef', '\xbf', '\xbd' };

/* Longest string escaped without a counting pass first. */
#define RECORD_FAST_MAX (64u << 10)

/* ---- streams ---- */

const char *
logrec_stream_name(uint8_t stream)
{
    switch (stream) {
    case LOGREC_STDOUT:
        return "stdout";
    case LOGREC_STDERR:
        return "stderr";
    default:
        return "unknown";
    }
}

int
logrec_stream_parse(const char *s, uint8_t *out)
{
    if (strcmp(s, "stdout") == 0)
        *out = LOGREC_STDOUT;
    else if (strcmp(s, "stderr") == 0)
        *out = LOGREC_STDERR;
    else
        return -1;
    return 0;
}

/* ---- JSON ---- */

/*
 * Writes the escape of the special byte at p to dst (when dst is not NULL)
 * and returns the output length; *used gets the input bytes consumed.
 */
static size_t
record_escape_one(uint8_t *dst, const uint8_t *p, size_t left, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t c = p[0];
    uint8_t e[6] = { '\\', 0 };
    const uint8_t *src = e;
    size_t n = 2;

    *used = 1;
    if (c >= 0x80) {
        uint32_t cp;
        size_t bad, u = utf8_decode(p, left, &cp, &bad);
        if (u == 0) {
            src = (const uint8_t *)record_replacement;
            n = 3;
        } else {
            src = p;
            n = u;
            *used = u;
        }
    } else if (c == '"' || c == '\\') {
        e[1] = c;
    } else if (c == '\n' || c == '\t' || c == '\r') {
        e[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
    } else {
        memcpy(e + 1, "u00", 3);
        e[4] = (uint8_t)hex[c >> 4];
        e[5] = (uint8_t)hex[c & 15];
        n = 6;
    }
    if (dst != NULL)
        memcpy(dst, src, n);
    return n;
}

/* The first byte of p[i..n) that record_special marks (n if none): eight
 * bytes a step. A byte's high bit in m is set if it is under 0x20 (x - 0x20
 * wraps), equal to '"' or '\\' (q or b is 0 and wraps) or has its high
 * bit (x). A wrap borrows from the byte above, which may then be flagged
 * falsely; a byte is never flagged by one above it, so the lowest flag is a
 * true one. */
static inline size_t
record_plain_end(const uint8_t *p, size_t i, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = ones << 7;

    for (; i + 8 <= n; i += 8) {
        uint64_t x, q, b;
        memcpy(&x, p + i, 8);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        uint64_t m = ((x - ones * 0x20) | (q - ones) | (b - ones) | x) &
                     highs;
        if (m != 0)
            return i + (size_t)__builtin_ctzll(m) / 8;
    }
#endif
    while (i < n && !record_special[p[i]])
        i++;
    return i;
}

/*
 * Writes s as a quoted JSON string to dst, which has room for it (at most
 * 6 * n + 2 bytes); with dst NULL only counts. Returns the length.
 */
static size_t
record_escape(uint8_t *dst, const uint8_t *p, size_t n)
{
    size_t o = 0, i = 0, used;

    if (dst != NULL)
        dst[0] = '"';
    o++;
    while (i < n) {
        size_t run = record_plain_end(p, i, n);
        if (dst != NULL && run > i)
            memcpy(dst + o, p + i, run - i);
        o += run - i;
        i = run;
        if (i == n)
            break;
        o += record_escape_one(dst != NULL ? dst + o : NULL, p + i, n - i,
                               &used);
        i += used;
    }
    if (dst != NULL)
        dst[o] = '"';
    return o + 1;
}

/* Worst-case escaped size of n bytes, or SIZE_MAX past the fast-path cap. */
static size_t
record_worst(size_t n)
{
    return n <= RECORD_FAST_MAX ? 6 * n + 2 : SIZE_MAX;
}

int
json_str_append(struct buf *out, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t need = record_worst(n);

    /* Reserving the worst case saves a counting pass; long strings, or a
     * buffer near its cap, get their exact length counted first. */
    if (need == SIZE_MAX || buf_reserve(out, need) < 0) {
        need = record_escape(NULL, p, n);
        if (buf_reserve(out, need) < 0)
            return -1;
    }
    out->len += record_escape(out->data + out->len, p, n);
    return 0;
}

static void
record_put(struct buf *out, const char *s, size_t n)
{
    memcpy(out->data + out->len, s, n);
    out->len += n;
}

static void
record_put_str(struct buf *out, const char *key, const char *val, size_t n)
{
    record_put(out, key, strlen(key));
    out->len += record_escape(out->data + out->len, (const uint8_t *)val, n);
}

/* Bytes the escaped strings need (worst case, or exact if is_exact) on top
 * of the fixed part. */
static size_t
record_json_need(size_t fixed, const char *const v[4], const size_t len[4],
                 const char *msg, size_t msg_len, int is_exact)
{
    size_t need = fixed;

    for (int i = 0; i < 5; i++) {
        const char *p = i < 4 ? v[i] : msg;
        size_t n = i < 4 ? len[i] : msg_len;
        size_t w = is_exact ? SIZE_MAX : record_worst(n);
        if (w == SIZE_MAX)
            w = record_escape(NULL, (const uint8_t *)p, n);
        need += w;
    }
    return need;
}

int
record_json_append(struct buf *out, const struct logrec *r)
{
    const char *v[4] = { r->host, r->container, r->container_id, r->image };
    static const char *const keys[4] = { ",\"host\":", ",\"container\":",
                                         ",\"container_id\":", ",\"image\":" };
    const char *msg = r->msg != NULL ? r->msg : "";
    size_t msg_len = r->msg != NULL ? r->msg_len : 0;
    const char *stream = logrec_stream_name(r->stream);
    size_t len[4];
    char ts[40], rts[40];
    size_t ts_len = time_ns_format(r->time_ns, ts);
    size_t rts_len = r->recv_ns != 0 ? time_ns_format(r->recv_ns, rts) : 0;

    /* "{"time":"" ts "" + ,"received":"" rts "" + ,"stream":"name" +
     * ,"message": + "}\n" */
    size_t fixed = 9 + ts_len + 1 + (rts_len ? 13 + rts_len + 1 : 0) + 10 +
                   2 + strlen(stream) + 11 + 2;
    const struct labelset *ls = r->labels != NULL && r->labels->n > 0 ?
                                r->labels : NULL;

    if (ls != NULL)             /* ,"labels": + the canonical object */
        fixed += 10 + ls->json_len;

    for (int i = 0; i < 4; i++) {
        v[i] = v[i] != NULL ? v[i] : "";
        len[i] = strlen(v[i]);
        fixed += strlen(keys[i]);
    }
    /* one reservation for the whole line (worst case first, else exact),
     * then unchecked writes */
    if (buf_reserve(out, record_json_need(fixed, v, len, msg, msg_len, 0)) <
            0 &&
        buf_reserve(out, record_json_need(fixed, v, len, msg, msg_len, 1)) < 0)
        return -1;
    record_put(out, "{\"time\":\"", 9);
    record_put(out, ts, ts_len);
    record_put(out, "\"", 1);
    if (rts_len > 0) {
        record_put(out, ",\"received\":\"", 13);
        record_put(out, rts, rts_len);
        record_put(out, "\"", 1);
    }
    for (int i = 0; i < 4; i++)
        record_put_str(out, keys[i], v[i], len[i]);
    record_put_str(out, ",\"stream\":", stream, strlen(stream));
    record_put_str(out, ",\"message\":", msg, msg_len);
    if (ls != NULL) {
        record_put(out, ",\"labels\":", 10);
        record_put(out, ls->json, ls->json_len);
    }
    record_put(out, "}\n", 2);
    return 0;
}
