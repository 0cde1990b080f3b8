/* SPDX-License-Identifier: MIT */
/*
 * output: see output.h. Every append goes through a saved length so a
 * record that does not fit leaves the buffer exactly as it was.
 */
#include "query/output.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/escape.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define OUTPUT_SGR_STDERR "1;31"
#define OUTPUT_SGR_TIME   "2"
#define OUTPUT_SGR_MATCH  "1;31"    /* grep's ms=01;31 */

/* ------------------------------------------------------------ colors */

int
output_color_enabled(int is_tty, int mode, const char *no_color_env)
{
    if (mode == OUTPUT_COLOR_ALWAYS)
        return 1;
    if (!is_tty || mode == OUTPUT_COLOR_NEVER)
        return 0;
    return no_color_env == NULL || no_color_env[0] == '\0';
}

const char *
output_color_for(const char *name)
{
    static const char *const palette[] = {
        "32", "33", "34", "35", "36", "92", "93", "94", "95", "96",
    };
    uint32_t h = 2166136261u;       /* FNV-1a: stable across runs/hosts */

    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return palette[h % (sizeof(palette) / sizeof(palette[0]))];
}

/* Set once at start (output_time_set_local): text times in the local
 * zone instead of UTC. */
static int output_is_local_time;

void
output_time_set_local(int is_local)
{
    output_is_local_time = is_local != 0;
}

/* "2026-11-27T14:50:40.123+01:00": the local zone (TZ), ms. */
static size_t
output_time_local(int64_t ns, char out[40])
{
    int64_t sec = ns / 1000000000LL, ms = ns % 1000000000LL / 1000000;
    if (ms < 0) {
        sec--;
        ms += 1000;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL)
        return time_ns_format(ns, out);
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(out + n, 40 - n, ".%03d%c%02ld:%02ld", (int)ms, sign,
                     off / 60, off % 60);
    return n + (size_t)m;
}

size_t
output_time_compact(int64_t ns, char out[40])
{
    if (output_is_local_time)
        return output_time_local(ns, out);
    size_t n = time_ns_format(ns, out);

    /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ": keep milliseconds. */
    if (n == 30 && out[19] == '.' && out[29] == 'Z') {
        out[23] = 'Z';
        out[24] = '\0';
        return 24;
    }
    return n;
}

/* ------------------------------------------------------------ records */

/* Appends s with control bytes (C0 but tab, DEL, C1) and bytes that are
 * not UTF-8 escaped (common/escape.h). */
static int
output_escaped_append(struct buf *out, const char *s, size_t n)
{
    return escape_append(out, s, n, ESCAPE_KEEP_TAB);
}

/* Terminal columns of p[0..n): code points outside SGR sequences
 * ("\033[...m"; the prefix holds nothing else that is not printable). */
static size_t
output_columns(const uint8_t *p, size_t n)
{
    size_t cols = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == 0x1b) {
            while (i < n && p[i] != 'm')
                i++;
        } else if ((p[i] & 0xC0) != 0x80) {
            cols++;
        }
    }
    return cols;
}

/*
 * The message, escaped; a multi-line record's lines (joined with '\n' by
 * the shipper's multi-line rules) each on a line of their own, indented by
 * `indent` columns to start under the first: none can pass for a record.
 */
static int
output_message_append(struct buf *out, const char *s, size_t n,
                      size_t indent)
{
    for (;;) {
        const char *nl = n > 0 ? memchr(s, '\n', n) : NULL;
        size_t len = nl != NULL ? (size_t)(nl - s) : n;
        if (output_escaped_append(out, s, len) < 0)
            return -1;
        if (nl == NULL)
            return 0;
        if (buf_append(out, "\n", 1) < 0 || buf_reserve(out, indent) < 0)
            return -1;
        memset(out->data + out->len, ' ', indent);
        out->len += indent;
        s = nl + 1;
        n -= len + 1;
    }
}

static int
output_field_append(struct buf *out, const char *s, const char *sgr)
{
    if (sgr != NULL && (buf_append(out, "\033[", 2) < 0 ||
                        buf_append(out, sgr, strlen(sgr)) < 0 ||
                        buf_append(out, "m", 1) < 0))
        return -1;
    if (output_escaped_append(out, s, strlen(s)) < 0)
        return -1;
    if (sgr != NULL && buf_append(out, "\033[0m", 4) < 0)
        return -1;
    return buf_append(out, " ", 1);
}

int
output_record_text(struct buf *out, const struct logrec *r, int color)
{
    return output_record_text_mark(out, r, color, 0);
}

int
output_record_text_mark(struct buf *out, const struct logrec *r, int color,
                        char mark)
{
    return output_record_text_spans(out, r, color, mark, NULL, 0);
}

static int
output_is_utf8_cont(const char *msg, size_t len, size_t at)
{
    return at < len && ((unsigned char)msg[at] & 0xc0) == 0x80;
}

/* The message with the spans in bold red (grep's color); a span edge
 * inside a UTF-8 character moves out to the character's edge, so each
 * piece escapes as the whole message would. */
static int
output_message_spans(struct buf *out, const struct logrec *r,
                     const size_t *spans, size_t n_spans, size_t indent)
{
    size_t at = 0;

    for (size_t i = 0; i < n_spans; i++) {
        size_t s = spans[2 * i], e = spans[2 * i + 1];
        if (s < at || e > r->msg_len || s >= e)
            continue;           /* xreply_spans checked; defensive */
        while (s > at && output_is_utf8_cont(r->msg, r->msg_len, s))
            s--;
        while (output_is_utf8_cont(r->msg, r->msg_len, e))
            e++;
        if (output_message_append(out, r->msg + at, s - at, indent) < 0 ||
            buf_append(out, "\033[" OUTPUT_SGR_MATCH "m",
                       sizeof(OUTPUT_SGR_MATCH) + 2) < 0 ||
            output_message_append(out, r->msg + s, e - s, indent) < 0 ||
            buf_append(out, "\033[0m", 4) < 0)
            return -1;
        at = e;
    }
    return output_message_append(out, r->msg + at, r->msg_len - at, indent);
}

/* Spaces up to `width` columns since out[from], then one. */
static int
output_pad(struct buf *out, size_t from, size_t width)
{
    size_t cols = output_columns(out->data + from, out->len - from);

    for (; cols < width; cols++)
        if (buf_append(out, " ", 1) < 0)
            return -1;
    return buf_append(out, " ", 1);
}

int
output_record_text_spans(struct buf *out, const struct logrec *r, int color,
                         char mark, const size_t *spans, size_t n_spans)
{
    static const struct output_widths none;

    return output_record_text_cols(out, r, color, mark, spans, n_spans,
                                   &none);
}

int
output_record_text_cols(struct buf *out, const struct logrec *r, int color,
                        char mark, const size_t *spans, size_t n_spans,
                        const struct output_widths *w)
{
    size_t saved = out->len, at;
    char t[40];
    const char *ctr_sgr = NULL;
    int is_dim = color && mark == '-';

    output_time_compact(r->time_ns, t);
    if (color)
        ctr_sgr = r->stream == LOGREC_STDERR ? OUTPUT_SGR_STDERR
                                             : output_color_for(r->container);
    if (output_field_append(out, t, color ? OUTPUT_SGR_TIME : NULL) < 0)
        goto fail;
    at = out->len;
    if (output_field_append(out, r->host,
                            color ? output_color_for(r->host) : NULL) < 0)
        goto fail;
    out->len--;                 /* the space: after the padding */
    if (output_pad(out, at, w->host) < 0)
        goto fail;
    at = out->len;
    if (output_field_append(out, r->container, ctr_sgr) < 0)
        goto fail;
    out->len--;                 /* "web: " like grep's "file:" */
    if ((mark != 0 && buf_append(out, &mark, 1) < 0) ||
        output_pad(out, at, w->container + (mark != 0)) < 0)
        goto fail;
    size_t indent = output_columns(out->data + saved, out->len - saved);
    if (is_dim && buf_append(out, "\033[2m", 4) < 0)
        goto fail;
    if (color && n_spans > 0 && !is_dim
        ? output_message_spans(out, r, spans, n_spans, indent) < 0
        : output_message_append(out, r->msg, r->msg_len, indent) < 0)
        goto fail;
    if ((is_dim && buf_append(out, "\033[0m", 4) < 0) ||
        buf_append(out, "\n", 1) < 0)
        goto fail;
    return 0;
fail:
    out->len = saved;
    return -1;
}

int
output_group_break(struct buf *out, int color)
{
    return color ? buf_append(out, "\033[36m--\033[0m\n", 12)
                 : buf_append(out, "--\n", 3);
}

int
output_record_json_group(struct buf *out, const struct logrec *r,
                         uint64_t group, int is_context)
{
    size_t saved = out->len;
    char f[64];
    int n = snprintf(f, sizeof(f), ",\"group\":%llu%s}\n",
                     (unsigned long long)group,
                     is_context ? ",\"context\":true" : "");

    if (record_json_append(out, r) < 0)
        return -1;
    out->len -= 2;              /* "}\n" */
    if (buf_append(out, f, (size_t)n) < 0) {
        out->len = saved;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ histogram */

int
output_hist_row(struct buf *out, int64_t t_ms, uint64_t count, uint64_t max,
                size_t count_width, size_t bar_width)
{
    char t[40], line[96];
    size_t saved = out->len;
    size_t n_bar = max == 0 ? 0
                 : (size_t)((count * bar_width + max - 1) / max);

    /* a bucket may start before 1677-09-21 (INT64_MIN ns: a sender's
     * record there under a long step): shown from INT64_MIN */
    output_time_compact(t_ms < INT64_MIN / 1000000 ? INT64_MIN
                        : t_ms > INT64_MAX / 1000000 ? INT64_MAX
                        : t_ms * 1000000LL, t);
    int n = snprintf(line, sizeof(line), "%s %*llu%s", t, (int)count_width,
                     (unsigned long long)count, n_bar > 0 ? " " : "");
    if (buf_append(out, line, (size_t)n) < 0)
        goto fail;
    for (size_t i = 0; i < n_bar; i++)
        if (buf_append(out, "#", 1) < 0)
            goto fail;
    if (buf_append(out, "\n", 1) < 0)
        goto fail;
    return 0;
fail:
    out->len = saved;
    return -1;
}

int
output_record_json(struct buf *out, const struct logrec *r)
{
    return record_json_append(out, r);
}

int
output_json_line(struct buf *out, const char *line, size_t len)
{
    if (len == SIZE_MAX || buf_reserve(out, len + 1) < 0)
        return -1;
    memcpy(out->data + out->len, line, len);
    out->data[out->len + len] = '\n';
    out->len += len + 1;
    return 0;
}

/* ------------------------------------------------------------ ages */

void
output_age_format(int64_t now, int64_t t_ns, char *out, size_t outlen)
{
    static const struct { int64_t s; const char *unit; } units[] = {
        { 86400, "d" }, { 3600, "h" }, { 60, "m" }, { 1, "s" },
    };
    const int64_t sec = 1000000000LL;
    int64_t d;

    if (t_ns < 0) {             /* before the difference: no overflow */
        snprintf(out, outlen, "-");
        return;
    }
    d = now - t_ns;
    if (d < 0 && d > -60 * sec)     /* small clock skew between hosts */
        d = 0;
    if (d < 0 || d >= 7 * 86400 * sec) {
        char t[40];
        output_time_compact(t_ns, t);
        snprintf(out, outlen, "%s", t);
        return;
    }
    d /= sec;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (d >= units[i].s || units[i].s == 1) {
            snprintf(out, outlen, "%lld%s ago", (long long)(d / units[i].s),
                     units[i].unit);
            return;
        }
    }
}

/* ------------------------------------------------------------ tables */

void
output_table_init(struct output_table *t, size_t n_cols, unsigned right_mask)
{
    memset(t, 0, sizeof(*t));
    t->n_cols = n_cols;
    t->right_mask = right_mask;
}

void
output_table_fini(struct output_table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

char *
output_cell_dup(const char *s)
{
    struct buf b;
    char *cell;

    buf_init(&b, SIZE_MAX);         /* no cap: it cannot fail */
    int rc = escape_append(&b, s, strlen(s), 0);
    rc |= buf_append(&b, "", 1);
    assert(rc == 0);
    cell = xstrdup((const char *)b.data);
    buf_fini(&b);
    return cell;
}

void
output_table_add(struct output_table *t, const char *const *cells)
{
    if (t->n_rows == t->cap_rows) {
        t->cap_rows = t->cap_rows ? t->cap_rows * 2 : 16;
        t->cells = xreallocarray(t->cells, t->cap_rows * t->n_cols,
                                 sizeof(*t->cells));
    }
    char **row = t->cells + t->n_rows * t->n_cols;
    for (size_t c = 0; c < t->n_cols; c++)
        row[c] = output_cell_dup(cells[c]);
    t->n_rows++;
}

static int
output_pad_append(struct buf *out, size_t n)
{
    static const char spaces[] = "                                ";

    while (n > 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        if (buf_append(out, spaces, k) < 0)
            return -1;
        n -= k;
    }
    return 0;
}

int
output_table_format(const struct output_table *t, struct buf *out)
{
    size_t *w = xcalloc(t->n_cols ? t->n_cols : 1, sizeof(*w));
    int rc = 0;

    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) {
        size_t len = strlen(t->cells[i]);
        if (len > w[i % t->n_cols])
            w[i % t->n_cols] = len;
    }
    for (size_t i = 0; i < t->n_rows * t->n_cols && rc == 0; i++) {
        size_t c = i % t->n_cols, len = strlen(t->cells[i]);
        int is_last = c + 1 == t->n_cols;
        int is_right = (t->right_mask >> c) & 1;
        size_t pad = w[c] - len;
        if ((is_right && output_pad_append(out, pad) < 0) ||
            buf_append(out, t->cells[i], len) < 0 ||
            (!is_right && !is_last && output_pad_append(out, pad) < 0) ||
            buf_append(out, is_last ? "\n" : "  ", is_last ? 1 : 2) < 0)
            rc = -1;
    }
    free(w);
    return rc;
}
