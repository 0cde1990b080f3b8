/* SPDX-License-Identifier: MIT */
/*
 * agg: the aggregates behind GET /api/v1/count (matching records per host,
 * container or stream) and /api/v1/histogram (matching records per time
 * bucket), and their JSON replies. Pure: fed records one at a time by the
 * handler's search (collector/search/search.h); no I/O, no store.
 */
#ifndef COLLECTOR_AGG_H
#define COLLECTOR_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/record.h"

#define AGG_MAX_BUCKETS 10000
#define AGG_MAX_STEP_NS ((int64_t)366 * 86400 * 1000000000LL)

enum agg_by {
    AGG_BY_NONE, AGG_BY_HOST, AGG_BY_CONTAINER, AGG_BY_STREAM,
    AGG_BY_FIELD,       /* a message field's first value (common/fields.h) */
    AGG_BY_LABEL,       /* the value of a Docker label of the container */
};

#define AGG_MAX_NAME        256     /* bytes of NAME in "field:NAME" */
#define AGG_MAX_KEY         256     /* bytes of a field value as a key */
#define AGG_MAX_FIELD_KEYS  10000   /* groups by field; more: "other" */

/* "host", "container", "stream" -> *out; "field:NAME" (NAME 1 to
 * AGG_MAX_NAME bytes) -> AGG_BY_FIELD with NAME copied to name, a buffer
 * of AGG_MAX_NAME + 1 bytes (NUL-terminated); "label:KEY" likewise ->
 * AGG_BY_LABEL. -1 otherwise. */
int agg_by_parse(const char *s, enum agg_by *out, char *name);

struct agg_count;

/* name: the field's name for AGG_BY_FIELD, the label's key for
 * AGG_BY_LABEL (copied), else NULL. */
struct agg_count *agg_count_new(enum agg_by by, const char *name);
void agg_count_free(struct agg_count *c);
/* Counts r in the total and in its group ("host", "host/container",
 * "stdout"/"stderr", the first value of the field, at most AGG_MAX_KEY
 * bytes, "" when r has none, or the value of its container's label, ""
 * when it has none). A field or label value that would be group number
 * AGG_MAX_FIELD_KEYS + 1 is counted in "other" instead. */
void agg_count_add(struct agg_count *c, const struct logrec *r);
/* Counts n records of one block at once when their group is known
 * (collector/store/store.h store_blk_count): without by; by host when
 * host is given (NULL: several); by container when host and container
 * are; by stream when stream_mask has one bit. 1 if counted, 0 if the
 * records must be added one by one (by field or label, or mixed). */
int agg_count_add_block(struct agg_count *c, uint64_t n, const char *host,
                        const char *container, unsigned stream_mask);
uint64_t agg_count_total(const struct agg_count *c);
/* Appends {"total":N,"groups":[{"key":K,"count":N},...]} (groups by count
 * descending, then key ascending; [] without by), and ,"other":N before
 * the closing brace when records were counted there. -1 if out's cap is
 * hit. */
int agg_count_format(const struct agg_count *c, struct buf *out);

/* Parses a histogram step: an integer (milliseconds) or a duration ("10s",
 * "1m", "1h30m"); a whole number of milliseconds from 1 ms to 366 days.
 * -1 otherwise. */
int agg_step_parse(const char *s, int64_t *step_ns);
/* The smallest of 1s 5s 10s 30s 1m 5m 10m 30m 1h 3h 6h 12h 1d 7d giving at
 * most 120 buckets over range_ns; past 7d (a range over 840 days), the
 * smallest multiple of 7d that does. */
int64_t agg_step_auto(int64_t range_ns);

/* How far past now an open range reaches: records stamped up to 10
 * minutes ahead (a sender's clock running fast) are in it (Loki's
 * creation_grace_period, 10m by default, is the same allowance). The one
 * grace of every open range, and of the per-host count of records
 * stamped ahead of their receive time (/health "clock_ahead"). */
#define AGG_FUTURE_NS ((int64_t)600 * 1000000000LL)

/* The end of every time range a request leaves open (no until: /logs,
 * /follow's history by time, /count, /histogram, Grafana without a
 * range, /api/v1/health's error lines): now_ns (the collector's clock,
 * never the client's) + AGG_FUTURE_NS, at most INT64_MAX. Records stamped
 * at or after it are left out, and an answer says how many
 * (store_count_ahead; collector/API.md "Records stamped ahead"); an
 * explicit until shows them. Pure. */
int64_t agg_open_end(int64_t now_ns);

/* The end of a /count or /histogram range without until: now_ns, or just
 * past the store's last record (last_ns) when that is later, but never
 * past agg_open_end(now_ns): the same records as an open search, in a
 * histogram without empty buckets after the newest record, and one record
 * stamped in 2262 does not stretch every open range there. Pure; no
 * overflow for any input. */
int64_t agg_open_until(int has_records, int64_t last_ns, int64_t now_ns);

/* The histogram range [*since_out, *until_out) of a request's since
 * (INT64_MIN: open, the store's first record, first_ns; with no records,
 * the until) and until (already resolved: given, or agg_open_until).
 * Returns until - since (0 when empty), saturated at INT64_MAX: the span
 * agg_step_auto takes. Pure; no overflow for any input. */
int64_t agg_hist_range(int64_t since, int64_t until, int has_records,
                       int64_t first_ns, int64_t *since_out,
                       int64_t *until_out);

struct agg_hist {
    int64_t   step_ms;
    int64_t   first_ms;     /* start of the first bucket, a step multiple */
    size_t    n_buckets;
    uint64_t *counts;
};

/* Buckets of step_ns covering [since_ns, until_ns) (aligned to multiples
 * of the step since the epoch); an empty range has no buckets. -1 with
 * *errstr (caller frees) past AGG_MAX_BUCKETS. Free with agg_hist_fini. */
int  agg_hist_init(struct agg_hist *h, int64_t since_ns, int64_t until_ns,
                   int64_t step_ns, char **errstr);
void agg_hist_fini(struct agg_hist *h);
/* Counts one record at time_ns; times outside the buckets are ignored. */
void agg_hist_add(struct agg_hist *h, int64_t time_ns);
/* Counts n records with times in [min_ns, max_ns] at once: 1 if they all
 * fall in one bucket (or outside all of them), else 0 (add them one by
 * one). */
int  agg_hist_add_block(struct agg_hist *h, int64_t min_ns, int64_t max_ns,
                        uint64_t n);
/* Appends {"step_ms":S,"buckets":[[unix_ms,count],...]}. */
int  agg_hist_format(const struct agg_hist *h, struct buf *out);

#endif
