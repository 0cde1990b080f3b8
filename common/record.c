/* SPDX-License-Identifier: MIT */
/*
 * record: stream names and the JSON output form of a log record. The JSON
 * string escaper is hand-written, not jansson, because it runs once per
 * returned line: jansson would need a json_t per record plus a UTF-8
 * validation and a dump pass. Here runs of plain ASCII are copied with one
 * memcpy and only '"', '\\', control bytes and non-ASCII bytes take the slow
 * path. Invalid UTF-8 (per RFC 3629: no overlongs, no surrogates, nothing
 * past U+10FFFF) becomes U+FFFD, one replacement per bad byte, so the output
 * is always valid JSON. Parsing JSON stays with jansson elsewhere.
 */
#include "common/record.h"

#include <string.h>

#include "common/timeutil.h"

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

/* Length of the valid UTF-8 sequence at p (2-4), or 0 if invalid. */
static size_t
record_utf8_len(const uint8_t *p, size_t left)
{
    uint8_t c = p[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;              /* overlong */
    else if (c == 0xed)
        hi = 0x9f;              /* surrogates */
    else if (c == 0xf0)
        lo = 0x90;              /* overlong */
    else if (c == 0xf4)
        hi = 0x8f;              /* past U+10FFFF */
    if (left < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    }
    return n;
}

/* Appends the escape for one special byte at p; returns bytes consumed. */
static size_t
record_escape_one(struct buf *out, const uint8_t *p, size_t left, int *rc)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t c = p[0];
    char e[6] = { '\\', 0 };
    size_t n = 2;

    if (c >= 0x80) {
        size_t u = record_utf8_len(p, left);
        if (u == 0) {
            *rc = buf_append(out, record_replacement, 3);
            return 1;
        }
        *rc = buf_append(out, p, u);
        return u;
    }
    switch (c) {
    case '"': e[1] = '"'; break;
    case '\\': e[1] = '\\'; break;
    case '\n': e[1] = 'n'; break;
    case '\t': e[1] = 't'; break;
    case '\r': e[1] = 'r'; break;
    default:
        memcpy(e + 1, "u00", 3);
        e[4] = hex[c >> 4];
        e[5] = hex[c & 15];
        n = 6;
    }
    *rc = buf_append(out, e, n);
    return 1;
}

int
json_str_append(struct buf *out, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t start = out->len, i = 0;
    int rc = 0;

    /* Most strings need no escape: room for them up front saves re-checks */
    (void)buf_reserve(out, n + 2);
    if (buf_put_u8(out, '"') < 0)
        return -1;
    while (i < n && rc == 0) {
        size_t run = i;
        while (run < n && !record_special[p[run]])
            run++;
        if (run > i && buf_append(out, p + i, run - i) < 0)
            goto fail;
        i = run;
        if (i < n)
            i += record_escape_one(out, p + i, n - i, &rc);
    }
    if (rc < 0 || buf_put_u8(out, '"') < 0)
        goto fail;
    return 0;
fail:
    out->len = start;
    return -1;
}

static int
record_json_field(struct buf *out, const char *key, const char *val)
{
    if (buf_append(out, key, strlen(key)) < 0)
        return -1;
    if (val == NULL)
        val = "";
    return json_str_append(out, val, strlen(val));
}

int
record_json_append(struct buf *out, const struct logrec *r)
{
    size_t start = out->len;
    char ts[40];
    size_t ts_len = time_ns_format(r->time_ns, ts);

    if (buf_append(out, "{\"time\":\"", 9) < 0 ||
        buf_append(out, ts, ts_len) < 0 ||
        buf_append(out, "\"", 1) < 0 ||
        record_json_field(out, ",\"host\":", r->host) < 0 ||
        record_json_field(out, ",\"container\":", r->container) < 0 ||
        record_json_field(out, ",\"container_id\":", r->container_id) < 0 ||
        record_json_field(out, ",\"image\":", r->image) < 0 ||
        record_json_field(out, ",\"stream\":",
                          logrec_stream_name(r->stream)) < 0 ||
        buf_append(out, ",\"message\":", 11) < 0 ||
        json_str_append(out, r->msg ? r->msg : "", r->msg ? r->msg_len : 0) <
            0 ||
        buf_append(out, "}\n", 2) < 0) {
        out->len = start;
        return -1;
    }
    return 0;
}
