/* SPDX-License-Identifier: MIT */
/*
 * xreply: parses what the search-feature endpoints send back (collector
 * API.md): the /count and /histogram objects, and the non-record lines of
 * a /logs stream with context or a scan cap ({"break":true} between
 * context groups, {"error":...,"partial":true} at a cap, {"ahead":...}
 * after an open-ended search that left records out), plus the
 * "context" flag of a record. jansson, like reply.c; untrusted input:
 * every malformed reply is an error with a reason.
 */
#ifndef QUERY_XREPLY_H
#define QUERY_XREPLY_H

#include <stddef.h>
#include <stdint.h>

#include "query/reply.h"

struct json_t;

struct xreply_group {
    const char *key;            /* borrowed from root */
    uint64_t    count;
};

struct xreply_count {
    uint64_t             total;
    uint64_t             other;     /* by field: past the collector's cap */
    struct xreply_group *groups;
    size_t               n_groups;
    struct json_t       *root;
    char                 ahead[256];    /* the note on records stamped
                                           ahead, left out; "" if none */
};

/* {"total":N,"groups":[{"key":K,"count":N},...]} and an optional
 * "other":N and "ahead":{...} (collector/API.md "Records stamped ahead":
 * its note into ahead). -1 with err. */
int  xreply_count_parse(const char *body, size_t len,
                        struct xreply_count *out, char *err, size_t errlen);
void xreply_count_fini(struct xreply_count *c);

struct xreply_hist {
    int64_t   step_ms;
    size_t    n;
    int64_t  *t_ms;             /* bucket starts in the order sent (the
                                   collector's is ascending; only printed,
                                   so not checked) */
    uint64_t *counts;
    char      ahead[256];       /* as xreply_count's */
};

/* {"step_ms":S,"buckets":[[unix_ms,count],...]} and an optional
 * "ahead":{...}. -1 with err. */
int  xreply_hist_parse(const char *body, size_t len, struct xreply_hist *out,
                       char *err, size_t errlen);
void xreply_hist_fini(struct xreply_hist *h);

enum xreply_line {
    XREPLY_RECORD,              /* anything else: parse as a record */
    XREPLY_BREAK,               /* {"break":true} */
    XREPLY_ERROR,               /* {"error":"..."}: the message in err */
    XREPLY_AHEAD,               /* {"ahead":{"records":N,...}}: records
                                   stamped past an open search's end, not
                                   shown; the note for stderr in err */
};

/* Classifies one /logs line without parsing records (they start with
 * {"time":). */
enum xreply_line xreply_line_kind(const char *line, size_t len, char *err,
                                  size_t errlen);
/* 1 if the parsed record carries "context":true. */
int  xreply_is_context(const struct reply_record *rr);
/* Its "group":N (a record of a context query), 0 when absent or not a
 * positive integer. */
uint64_t xreply_group(const struct reply_record *rr);
/* Its "spans" (spans=1: [[start,end],...] byte ranges of the message
 * that matched) into out (2 * max entries); 0 when absent or malformed
 * (not ascending and apart, or past the message's end). */
size_t xreply_spans(const struct reply_record *rr, size_t *out, size_t max);

#endif
