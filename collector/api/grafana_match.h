/* SPDX-License-Identifier: MIT */
/*
 * grafana_match: the label matchers of the Grafana endpoints: ad-hoc
 * filters (=, !=, =~, !~, and Grafana's multi-value =| and !=|) and the
 * host/container names of a payload, each one key and a set of values or
 * a regex. Parsed from jansson values by grafana_req.c, applied by
 * api_grafana.c to log records, metric series and name lists. Pure (PCRE2
 * through collector/search/query_regex.h, no I/O); unit-tested in
 * grafana_req_test.c and fuzzed with the request bodies.
 *
 * Values: a string, an array of strings, or Grafana's glob interpolation
 * of a multi-value variable "{a,b,c}" (what ${var:glob} gives): a set, the
 * value matches if it equals one member. A regex (=~, !~) is PCRE2 and
 * must match the whole value (anchored at both ends, like Prometheus and
 * Loki label matchers).
 */
#ifndef COLLECTOR_API_GRAFANA_MATCH_H
#define COLLECTOR_API_GRAFANA_MATCH_H

#include <stddef.h>

#include <jansson.h>

#include "common/record.h"

#define GRAFANA_MAX_VALUES  1000    /* members of one set */
#define GRAFANA_MAX_REGEX   1024    /* bytes of a filter regex */

enum grafana_key {
    GRAFANA_K_HOST,
    GRAFANA_K_CONTAINER,        /* the container name */
    GRAFANA_K_IMAGE,
    GRAFANA_K_STREAM,           /* "stdout" or "stderr" */
    GRAFANA_K_N,
};

enum grafana_op {
    GRAFANA_OP_EQ,              /* =, =| : one of the set */
    GRAFANA_OP_NE,              /* !=, !=| : none of the set */
    GRAFANA_OP_RE,              /* =~ */
    GRAFANA_OP_NRE,             /* !~ */
};

struct query_regex;

struct grafana_match {
    enum grafana_key    key;
    enum grafana_op     op;
    char              **values;     /* EQ/NE: the set; RE/NRE: the pattern */
    size_t              n_values;
    struct query_regex *re;         /* RE/NRE: compiled, anchored */
};

/* "host", "container", "image", "stream" -> *out; -1 otherwise. */
/* Formats a request error into a new *errstr (the caller frees it); returns
 * -1. Shared by the Grafana request parsers. */
int grafana_fail(char **errstr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int grafana_key_parse(const char *s, enum grafana_key *out);
const char *grafana_key_name(enum grafana_key k);

/*
 * Fills *m (zeroed first) for key k and the operator text op from the
 * JSON value v (and, for =| and !=|, the array vs). 0 on success; -1 with
 * *errstr (caller frees) naming path on a bad operator, a wrong type, an
 * empty or too long value, too many values, or a regex PCRE2 refuses.
 * allow_empty lets "" be a value (a payload's container "": host metrics).
 */
int grafana_match_parse(enum grafana_key k, const char *op, json_t *v,
                        json_t *vs, const char *path, int allow_empty,
                        struct grafana_match *m, char **errstr);
void grafana_match_fini(struct grafana_match *m);

/* 1 if value satisfies m. A NULL value (the thing has no such key, like
 * the image of a metric series) always satisfies it. */
int grafana_match_value(const struct grafana_match *m, const char *value);

/* The record's value of key k (borrowed). */
const char *grafana_record_value(const struct logrec *r, enum grafana_key k);

/* 1 if the record satisfies every one of the n matchers. */
int grafana_match_record(const struct grafana_match *m, size_t n,
                         const struct logrec *r);

/* The one value the matchers allow for key k when an EQ matcher pins it
 * to a single value, else NULL (borrowed from m): for the store filter
 * and Redis queries, which then only narrow what the matchers check. */
const char *grafana_match_exact(const struct grafana_match *m, size_t n,
                                enum grafana_key k);

#endif
