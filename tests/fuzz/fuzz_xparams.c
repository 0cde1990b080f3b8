/* SPDX-License-Identifier: MIT */
/*
 * fuzz_xparams: libFuzzer target for the extra query-string parameters of
 * /logs, /count and /histogram (collector/api/api_xparams.c), followed by
 * the base parser on what it leaves, as the handlers run them. Invariants
 * checked with assert: a failure gives an error text and no rest; a
 * success gives values within their documented bounds (by= one of
 * enum agg_by, field:NAME and label:KEY with a name of 1 to AGG_MAX_NAME
 * bytes) and a rest no longer than the input that holds none of the
 * endpoint's extra names.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/search/agg.h"
#include "collector/api/api_params.h"
#include "collector/api/api_xparams.h"
#include "collector/search/search.h"
#include "common/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_one(const char *s, enum api_xep ep)
{
    struct api_xparams x;
    struct api_params p;
    char *rest = NULL, *err = NULL;

    if (api_xparams_split(s, ep, &x, &rest, &err) < 0) {
        assert(err != NULL && rest == NULL);
        free(err);
        return;
    }
    assert(rest != NULL && strlen(rest) <= strlen(s));
    assert(x.before <= SEARCH_MAX_CONTEXT && x.after <= SEARCH_MAX_CONTEXT);
    assert(x.max_scan <= SEARCH_DEFAULT_MAX_SCAN);
    assert(x.by >= AGG_BY_NONE && x.by <= AGG_BY_LABEL);
    assert((x.by != AGG_BY_FIELD && x.by != AGG_BY_LABEL) ||
           (x.by_name[0] != '\0' && strlen(x.by_name) <= AGG_MAX_NAME));
    assert(!x.has_step || (x.step_ns >= 1000000 &&
                           x.step_ns <= AGG_MAX_STEP_NS));
    assert(strncmp(rest, "max_scan=", 9) != 0);
    if (api_params_parse(rest, API_EP_LOGS, &p, &err) == 0)
        api_params_fini(&p);
    else
        free(err);
    free(rest);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);

    fuzz_one(s, API_XEP_LOGS);
    fuzz_one(s, API_XEP_COUNT);
    fuzz_one(s, API_XEP_HISTOGRAM);
    free(s);
    return 0;
}
