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
 *
 * Keys: host, container, image, stream, and label.KEY, the Docker label
 * KEY of the record's source (a source without that label has the value
 * "", as a missing label in Prometheus and Loki: `label.app != web`
 * keeps it, `label.app = web` does not).
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
    GRAFANA_K_LABEL,            /* label.KEY: a Docker label's value */
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
    char               *label_key;  /* GRAFANA_K_LABEL: KEY, else NULL */
};

struct labelset;

/* What matchers are checked against: a record, a source, a series. A
 * NULL name is unknown there (a metric series has no image): matchers on
 * it are not applied; so are label matchers when !has_labels. */
struct grafana_subject {
    const char *names[GRAFANA_K_LABEL];     /* host, container, image,
                                               stream */
    const struct labelset *labels;          /* NULL: none */
    int has_labels;
};

/* Formats a request error into a new *errstr (the caller frees it); returns
 * -1. Shared by the Grafana request parsers. */
int grafana_fail(char **errstr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "host", "container", "image", "stream" -> *out; "label.KEY" ->
 * GRAFANA_K_LABEL and *label_key = a copy of KEY (caller frees; NULL for
 * the others). -1 otherwise, also for a KEY that is empty or not a valid
 * Docker label key (common/labelset.h). */
int grafana_key_parse(const char *s, enum grafana_key *out,
                      char **label_key);
const char *grafana_key_name(enum grafana_key k);

/*
 * Fills *m (zeroed first) for key k (label_key, copied: its Docker label
 * key when k is GRAFANA_K_LABEL, else NULL) and the operator text op from the
 * JSON value v (and, for =| and !=|, the array vs). 0 on success; -1 with
 * *errstr (caller frees) naming path on a bad operator, a wrong type, an
 * empty or too long value, too many values, or a regex PCRE2 refuses.
 * allow_empty lets "" be a value (a payload's container "": host metrics).
 */
int grafana_match_parse(enum grafana_key k, const char *label_key,
                        const char *op, json_t *v, json_t *vs,
                        const char *path, int allow_empty,
                        struct grafana_match *m, char **errstr);
/* Frees m's values, regex and label_key. */
void grafana_match_fini(struct grafana_match *m);

/* 1 if value satisfies m. A NULL value (the thing has no such key, like
 * the image of a metric series) always satisfies it. */
int grafana_match_value(const struct grafana_match *m, const char *value);

/* The subject's value for m's key (borrowed; NULL: unknown there). */
const char *grafana_subject_value(const struct grafana_subject *s,
                                  const struct grafana_match *m);
/* 1 if the subject satisfies m (grafana_match_value of its value). */
int grafana_match_subject(const struct grafana_match *m,
                          const struct grafana_subject *s);
/* The subject of a log record (borrows its strings). */
void grafana_subject_of_record(const struct logrec *r,
                               struct grafana_subject *s);
/* 1 if m is on the same key as (k, label_key): for name lists, which
 * leave out the filters on the key being listed. */
int grafana_match_is_key(const struct grafana_match *m, enum grafana_key k,
                         const char *label_key);

/* 1 if the record satisfies every one of the n matchers. */
int grafana_match_record(const struct grafana_match *m, size_t n,
                         const struct logrec *r);

/* The one value the matchers allow for key k when an EQ matcher pins it
 * to a single value, else NULL (borrowed from m): for the store filter
 * and Redis queries, which then only narrow what the matchers check.
 * Not for GRAFANA_K_LABEL (several label keys may be pinned). */
const char *grafana_match_exact(const struct grafana_match *m, size_t n,
                                enum grafana_key k);

#endif
