/* SPDX-License-Identifier: MIT */
/*
 * stats_view: see stats_view.h. The reply is checked field by field (a
 * count must be a non-negative integer) so that a bad or foreign reply
 * gives a reason instead of a table of zeros. Layout with output_table.
 */
#include "query/stats_view.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/xmalloc.h"
#include "query/output.h"

#define STATS_VIEW_COLS 10

/* ---- parsing ---- */

static int
stats_view_u64(json_t *o, const char *key, uint64_t *v, const char *what,
               char *err, size_t errlen)
{
    json_t *j = json_object_get(o, key);

    if (!json_is_integer(j) || json_integer_value(j) < 0) {
        snprintf(err, errlen, "stats reply: %s lacks a count \"%s\"", what,
                 key);
        return -1;
    }
    *v = (uint64_t)json_integer_value(j);
    return 0;
}

static int
stats_view_i64(json_t *o, const char *key, int64_t *v, const char *what,
               char *err, size_t errlen)
{
    json_t *j = json_object_get(o, key);

    if (!json_is_integer(j)) {
        snprintf(err, errlen, "stats reply: %s lacks a time \"%s\"", what,
                 key);
        return -1;
    }
    *v = (int64_t)json_integer_value(j);
    return 0;
}

/* The fields every part has; what names the part for errors. */
static int
stats_view_row_parse(json_t *o, struct stats_view_row *r, const char *what,
                     char *err, size_t errlen)
{
    if (!json_is_object(o)) {
        snprintf(err, errlen, "stats reply: %s is not an object", what);
        return -1;
    }
    if (stats_view_u64(o, "raw_bytes", &r->raw_bytes, what, err, errlen) < 0 ||
        stats_view_u64(o, "records", &r->n_records, what, err, errlen) < 0 ||
        stats_view_i64(o, "first_ns", &r->first_ns, what, err, errlen) < 0 ||
        stats_view_i64(o, "last_ns", &r->last_ns, what, err, errlen) < 0)
        return -1;
    return 0;
}

static int
stats_view_seg_parse(json_t *o, struct stats_view_row *r, char *err,
                     size_t errlen)
{
    const char *what = "a segment";

    if (stats_view_row_parse(o, r, what, err, errlen) < 0 ||
        stats_view_u64(o, "stored_bytes", &r->stored_bytes, what, err,
                       errlen) < 0 ||
        stats_view_u64(o, "index_bytes", &r->index_bytes, what, err,
                       errlen) < 0 ||
        stats_view_u64(o, "blocks", &r->n_blocks, what, err, errlen) < 0 ||
        stats_view_u64(o, "corrupt_blocks", &r->n_corrupt_blocks, what, err,
                       errlen) < 0)
        return -1;
    json_t *name = json_object_get(o, "name");
    if (!json_is_string(name) ||
        strlen(json_string_value(name)) != json_string_length(name)) {
        snprintf(err, errlen, "stats reply: a segment lacks its name");
        return -1;
    }
    r->name = json_string_value(name);
    /* printed as is: no control bytes may reach the terminal */
    for (const char *p = r->name; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, errlen, "stats reply: a segment name holds "
                     "control bytes");
            return -1;
        }
    }
    r->is_sealed = json_is_true(json_object_get(o, "sealed"));
    r->is_current = json_is_true(json_object_get(o, "current"));
    return 0;
}

static int
stats_view_parts_parse(struct stats_view *v, char *err, size_t errlen)
{
    json_t *wal = json_object_get(v->root, "wal");
    json_t *total = json_object_get(v->root, "total");

    v->wal.name = "WAL";
    v->total.name = "TOTAL";
    if (stats_view_row_parse(wal, &v->wal, "wal", err, errlen) < 0 ||
        stats_view_u64(wal, "wal_bytes", &v->wal.stored_bytes, "wal", err,
                       errlen) < 0 ||
        stats_view_row_parse(total, &v->total, "total", err, errlen) < 0 ||
        stats_view_u64(total, "stored_bytes", &v->total.stored_bytes,
                       "total", err, errlen) < 0 ||
        stats_view_u64(total, "index_bytes", &v->total.index_bytes, "total",
                       err, errlen) < 0 ||
        stats_view_u64(total, "blocks", &v->total.n_blocks, "total", err,
                       errlen) < 0 ||
        stats_view_u64(total, "corrupt_blocks", &v->total.n_corrupt_blocks,
                       "total", err, errlen) < 0 ||
        stats_view_u64(total, "segments", &v->n_segments, "total", err,
                       errlen) < 0)
        return -1;
    if (v->total.index_bytes > v->total.stored_bytes) {
        snprintf(err, errlen, "stats reply: index_bytes above stored_bytes");
        return -1;
    }
    return 0;
}

int
stats_view_parse(const char *body, size_t len, struct stats_view *out,
                 char *err, size_t errlen)
{
    json_error_t jerr;
    struct stats_view v;

    memset(&v, 0, sizeof(v));
    v.root = json_loadb(body, len, 0, &jerr);
    if (v.root == NULL) {
        snprintf(err, errlen, "invalid JSON in stats reply: %s", jerr.text);
        return -1;
    }
    json_t *segs = json_object_get(v.root, "segments");
    if (!json_is_array(segs)) {
        snprintf(err, errlen, "stats reply lacks the segments array");
        goto fail;
    }
    if (stats_view_parts_parse(&v, err, errlen) < 0)
        goto fail;
    v.segs = xcalloc(json_array_size(segs) + 1, sizeof(*v.segs));
    for (; v.n_segs < json_array_size(segs); v.n_segs++)
        if (stats_view_seg_parse(json_array_get(segs, v.n_segs),
                                 &v.segs[v.n_segs], err, errlen) < 0)
            goto fail;
    *out = v;
    return 0;
fail:
    stats_view_fini(&v);
    return -1;
}

void
stats_view_fini(struct stats_view *v)
{
    free(v->segs);
    json_decref(v->root);
    memset(v, 0, sizeof(*v));
}

/* ---- formatting ---- */

void
stats_view_size_format(uint64_t bytes, char *out, size_t len)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
                                          "EiB" };

    if (bytes < 1024) {
        snprintf(out, len, "%" PRIu64 " B", bytes);
        return;
    }
    double v = (double)bytes / 1024.0;
    size_t u = 0;
    /* 1023.96 would print as "1024.0": move up a unit first. */
    while (v >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, len, "%.1f %s", v, units[u]);
}

void
stats_view_ratio_format(uint64_t part, uint64_t whole, char *out, size_t len)
{
    if (whole == 0) {
        snprintf(out, len, "-");
        return;
    }
    snprintf(out, len, "%.1f%%", (double)part * 100.0 / (double)whole);
}

/* "2026-11-27T13:50:40Z" (UTC, seconds truncated), or local
 * "2026-11-27T14:50:40+01:00"; "-" for 0. */
static void
stats_view_time(int64_t ns, int is_local, char *out, size_t len)
{
    struct tm tm;
    int64_t sec = ns / 1000000000 - (ns % 1000000000 < 0);
    time_t t = (time_t)sec;

    if (ns == 0 || (is_local ? localtime_r(&t, &tm)
                             : gmtime_r(&t, &tm)) == NULL) {
        snprintf(out, len, "-");
        return;
    }
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    long off = is_local ? tm.tm_gmtoff / 60 : 0;
    char sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    if (n == 0)
        snprintf(out, len, "-");
    else if (!is_local)
        snprintf(out + n, len - n, "Z");
    else
        snprintf(out + n, len - n, "%c%02ld:%02ld", sign, off / 60,
                 off % 60);
}

static const char *
stats_view_state(const struct stats_view_row *r)
{
    if (r->is_current)
        return "current";
    return r->is_sealed ? "sealed" : "partial";
}

/* Adds one row; without has_blocks (the WAL row) BLOCKS and INDEX are
 * "-". */
static void
stats_view_add(struct output_table *t, const struct stats_view_row *r,
               const char *state, uint64_t stored, int has_blocks,
               int is_local)
{
    char raw[24], st[24], ix[24], ratio[24], lines[24], blks[48];
    char first[40], last[40];

    stats_view_size_format(r->raw_bytes, raw, sizeof(raw));
    stats_view_size_format(stored, st, sizeof(st));
    if (has_blocks)
        stats_view_size_format(r->index_bytes, ix, sizeof(ix));
    else
        snprintf(ix, sizeof(ix), "-");
    stats_view_ratio_format(stored + r->index_bytes, r->raw_bytes, ratio,
                            sizeof(ratio));
    snprintf(lines, sizeof(lines), "%" PRIu64, r->n_records);
    if (!has_blocks)
        snprintf(blks, sizeof(blks), "-");
    else if (r->n_corrupt_blocks)
        snprintf(blks, sizeof(blks), "%" PRIu64 " (%" PRIu64 " bad)",
                 r->n_blocks, r->n_corrupt_blocks);
    else
        snprintf(blks, sizeof(blks), "%" PRIu64, r->n_blocks);
    stats_view_time(r->first_ns, is_local, first, sizeof(first));
    stats_view_time(r->last_ns, is_local, last, sizeof(last));
    const char *row[STATS_VIEW_COLS] = { r->name, state, raw, st, ix, ratio,
                                         lines, blks, first, last };
    output_table_add(t, row);
}

int
stats_view_render(struct buf *out, const struct stats_view *v, int is_local)
{
    static const char *const head[STATS_VIEW_COLS] = {
        "SEGMENT", "STATE", "RAW", "STORED", "INDEX", "RATIO", "LINES",
        "BLOCKS", "FIRST", "LAST"
    };
    struct output_table t;
    char n_segs[32];

    /* right-align RAW .. BLOCKS */
    output_table_init(&t, STATS_VIEW_COLS, 0xfcu);
    output_table_add(&t, head);
    for (size_t i = 0; i < v->n_segs; i++)
        stats_view_add(&t, &v->segs[i], stats_view_state(&v->segs[i]),
                       v->segs[i].stored_bytes, 1, is_local);
    stats_view_add(&t, &v->wal, "unsealed", v->wal.stored_bytes, 0,
                   is_local);
    snprintf(n_segs, sizeof(n_segs), "%" PRIu64 " seg", v->n_segments);
    stats_view_add(&t, &v->total, n_segs,
                   v->total.stored_bytes - v->total.index_bytes, 1,
                   is_local);
    int rc = output_table_format(&t, out);
    output_table_fini(&t);
    return rc;
}
