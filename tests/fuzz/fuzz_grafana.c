/* SPDX-License-Identifier: MIT */
/*
 * fuzz_grafana: libFuzzer target for the Grafana request bodies
 * (collector/api/grafana_req.c), untrusted HTTP input. The first byte picks the
 * endpoint, the rest is the body. Invariants checked with assert: a failed
 * parse gives an error text and leaves the request zeroed; a successful
 * one respects every bound the handlers rely on (targets, points, limits,
 * range order, name lengths, a log query text for log targets, matchers
 * well formed, buckets at step multiples within maxDataPoints), and
 * parsing the same body twice gives the same result.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/api/grafana_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW_MS 1795787440123LL

static void
fuzz_check_matches(const struct grafana_match *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert(m[i].key < GRAFANA_K_N);
        assert((m[i].key == GRAFANA_K_LABEL) == (m[i].label_key != NULL));
        assert(m[i].n_values >= 1 && m[i].n_values <= GRAFANA_MAX_VALUES);
        int is_re = m[i].op == GRAFANA_OP_RE || m[i].op == GRAFANA_OP_NRE;
        assert(is_re == (m[i].re != NULL));
        assert(!is_re || m[i].n_values == 1);
        for (size_t j = 0; j < m[i].n_values; j++)
            assert(m[i].values[j] != NULL);
        /* Matching never crashes; a missing value always passes. */
        (void)grafana_match_value(&m[i], "node1");
        assert(grafana_match_value(&m[i], NULL) == 1);
    }
}

static void
fuzz_check_target(const struct grafana_target *t)
{
    assert(t->target != NULL && t->target[0] != '\0');
    assert(strlen(t->target) <= GRAFANA_MAX_NAME);
    assert(t->ref_id != NULL && t->q != NULL);
    assert(strlen(t->q) <= GRAFANA_MAX_QUERY_TEXT);
    assert(t->limit >= 1 && t->limit <= GRAFANA_MAX_LOG_LIMIT);
    assert(t->kind == grafana_kind_of(t->target));
    fuzz_check_matches(t->matches, t->n_matches);
}

static void
fuzz_check(const struct grafana_req *r)
{
    assert(r->from_ms <= r->to_ms);
    assert(r->max_points >= 1 && r->max_points <= GRAFANA_MAX_POINTS);
    assert(r->interval_ms >= 0 && r->interval_ms <= GRAFANA_MAX_INTERVAL_MS);
    assert(r->n_targets <= GRAFANA_MAX_TARGETS);
    for (size_t i = 0; i < r->n_targets; i++)
        fuzz_check_target(&r->targets[i]);
    assert(r->n_filters <= 2 * GRAFANA_MAX_FILTERS);
    fuzz_check_matches(r->filters, r->n_filters);
    fuzz_check_matches(r->payload_m, r->n_payload_m);
    assert(r->from_ms >= 0 && r->to_ms <= GRAFANA_MAX_TIME_MS);
    int64_t step = grafana_step(r->from_ms, r->to_ms, r->interval_ms,
                                r->max_points);
    assert(step >= 1 && step <= GRAFANA_MAX_TIME_MS + 1);
    /* Buckets at multiples of the step: at most max_points of them. */
    assert((uint64_t)(r->to_ms / step - r->from_ms / step) + 1 <=
           r->max_points);
    int64_t first = grafana_first_bucket(r->from_ms, step);
    assert(first % step == 0 && first <= r->from_ms);
    if (r->ep == GRAFANA_EP_ANNOTATIONS)
        assert(r->annotation_json != NULL && r->anno_q != NULL &&
               r->anno_q[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct grafana_req r, again;
    char *err = NULL, *err2 = NULL;

    if (size == 0)
        return 0;
    enum grafana_ep ep = (enum grafana_ep)(data[0] % 9);
    const char *body = (const char *)data + 1;
    int rc = grafana_req_parse(ep, body, size - 1, FUZZ_NOW_MS, &r, &err);
    int rc2 = grafana_req_parse(ep, body, size - 1, FUZZ_NOW_MS, &again,
                                &err2);

    assert(rc == rc2);
    if (rc < 0) {
        assert(err != NULL && err2 != NULL && strcmp(err, err2) == 0);
        assert(r.targets == NULL && r.n_targets == 0 && r.metric == NULL);
        free(err);
        free(err2);
        return 0;
    }
    assert(err == NULL);
    fuzz_check(&r);
    assert(r.n_targets == again.n_targets && r.from_ms == again.from_ms);
    grafana_req_fini(&r);
    grafana_req_fini(&again);
    return 0;
}
