/* SPDX-License-Identifier: MIT */
/*
 * fuzz_grafana: libFuzzer target for the Grafana request bodies
 * (collector/api/grafana_req.c), untrusted HTTP input. The first byte picks the
 * endpoint, the rest is the body. Invariants checked with assert: a failed
 * parse gives an error text and leaves the request zeroed; a successful
 * one respects every bound the handlers rely on (targets, points, limits,
 * range order, name lengths, a log query text for log targets), and
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
fuzz_check_target(const struct grafana_target *t)
{
    assert(t->target != NULL && t->target[0] != '\0');
    assert(strlen(t->target) <= GRAFANA_MAX_NAME);
    assert(t->ref_id != NULL && t->q != NULL);
    assert(strlen(t->q) <= GRAFANA_MAX_QUERY_TEXT);
    assert(t->limit >= 1 && t->limit <= GRAFANA_MAX_LOG_LIMIT);
    assert(t->kind == grafana_kind_of(t->target));
    assert(t->host == NULL || (t->host[0] != '\0' &&
                               strlen(t->host) <= GRAFANA_MAX_NAME));
    assert(t->container == NULL || strlen(t->container) <= GRAFANA_MAX_NAME);
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
    int64_t step = grafana_step(r->from_ms, r->to_ms, r->interval_ms,
                                r->max_points);
    assert(step >= 1);
    assert((uint64_t)(r->to_ms - r->from_ms) / (uint64_t)step + 1 <=
           r->max_points);
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
