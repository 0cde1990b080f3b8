/* SPDX-License-Identifier: MIT */
/*
 * api_params: parsing and validation of the query string of /api/v1/logs
 * and /api/v1/follow (parameters in collector/API.md). A pure function over
 * the raw query string, unit-tested and fuzzed; the handlers turn a failure
 * into a 400 with the message.
 */
#ifndef COLLECTOR_API_API_PARAMS_H
#define COLLECTOR_API_API_PARAMS_H

#include <stddef.h>
#include <stdint.h>

struct namesel;

#define API_PARAMS_DEFAULT_LIMIT 1000
#define API_PARAMS_MAX_LIMIT     1000000
#define API_PARAMS_MAX_QUERY     16384   /* bytes of the raw query string */
#define API_PARAMS_MAX_NAME      256     /* host, container, image */
#define API_PARAMS_MAX_REGEX     16      /* repeated regex parameters */

enum api_endpoint {
    API_EP_LOGS,        /* every parameter */
    API_EP_FOLLOW,      /* no order or until; limit: the history */
};

struct api_params {
    char    *q;             /* "" when absent */
    char    *regex[API_PARAMS_MAX_REGEX];  /* in order: alternatives */
    size_t   n_regex;       /* 0 when absent */
    char    *not_regex[API_PARAMS_MAX_REGEX]; /* a match drops (-v) */
    size_t   n_not_regex;
    int      has_spans;     /* spans=1: records carry "spans" */
    char    *fixed;         /* -F string; NULL when absent */
    int      is_icase;
    struct namesel *sel;    /* host, container (glob), image: repeated
                               are alternatives, '!' excludes; NULL: any */
    int      stream;        /* -1 any, else LOGREC_STDOUT/LOGREC_STDERR */
    int64_t  since_ns;      /* INT64_MIN when absent */
    int64_t  until_ns;      /* INT64_MAX when absent */
    int      has_until;     /* until was given (/count, /histogram: an
                               open until ends at agg_open_until) */
    /* Set by api_search_parse (api.c), not by api_params_parse: */
    int64_t  now_ns;        /* the collector's clock at parse */
    int64_t  open_end_ns;   /* no until: agg_open_end(now_ns), where the
                               records stamped ahead begin (/logs ends
                               there); 0 with until */
    uint64_t limit;         /* 0: no limit (every match) */
    int      has_limit;     /* limit was given (/follow: send history) */
    int      is_newest_first;
    int      is_tail;       /* order=tail: the limit newest, oldest first */
    /* /follow only (collector/API.md "Resuming a follow"): */
    int64_t  recv_since_ns;     /* received_since; valid if has_recv_since */
    int      has_recv_since;    /* also sets has_limit with limit 0 */
    int      is_resume;         /* resume=1 (or received_since): send the
                                   {"resume":…} line when live lines begin */
};

/*
 * Parses the raw (URL-encoded, '+' meaning space) query string; NULL means
 * none. 0 on success (*p filled, free with api_params_fini); -1 with
 * *errstr (caller frees with free()) on an unknown, repeated (regex and
 * not_regex may repeat up to API_PARAMS_MAX_REGEX times, host, container
 * and image up to NAMESEL_MAX_PATTERNS), empty or
 * malformed parameter.
 * *p is left zeroed on failure.
 */
int  api_params_parse(const char *query, enum api_endpoint ep,
                      struct api_params *p, char **errstr);
void api_params_fini(struct api_params *p);

#endif
