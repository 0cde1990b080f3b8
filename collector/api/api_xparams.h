/* SPDX-License-Identifier: MIT */
/*
 * api_xparams: the parameters of the search-feature endpoints that the
 * base parser (api_params.c) does not know: before/after (context lines)
 * for /logs, by for /count, step for /histogram, max_scan for all three.
 * They are taken out of the raw query string and the rest is handed to
 * api_params_parse(), so the shared filter parameters stay in one place.
 * Pure, unit-tested; the handlers turn a failure into a 400.
 */
#ifndef COLLECTOR_API_API_XPARAMS_H
#define COLLECTOR_API_API_XPARAMS_H

#include <stdint.h>

enum api_xep {
    API_XEP_LOGS,       /* before, after, max_scan */
    API_XEP_COUNT,      /* by, max_scan; limit/order are refused */
    API_XEP_HISTOGRAM,  /* step, max_scan; limit/order are refused */
};

struct api_xparams {
    unsigned before;        /* 0..SEARCH_MAX_CONTEXT */
    unsigned after;
    int      by;            /* enum agg_by, AGG_BY_NONE when absent */
    char     by_name[257];  /* AGG_BY_FIELD/LABEL: NAME of by=field:NAME
                               or KEY of by=label:KEY
                               (AGG_MAX_NAME + 1, collector/search/agg.h) */
    int      has_step;
    int64_t  step_ns;
    uint64_t max_scan;      /* 0 when absent, else 1..SEARCH_DEFAULT_MAX_SCAN */
};

/*
 * Takes ep's extra parameters out of the raw query string (NULL: none)
 * into *x and sets *rest to the remaining pairs, in order, still encoded
 * (caller frees with free()). -1 with *errstr (caller frees) on a bad,
 * repeated or refused parameter; nothing is allocated then.
 */
int api_xparams_split(const char *query, enum api_xep ep,
                      struct api_xparams *x, char **rest, char **errstr);

#endif
