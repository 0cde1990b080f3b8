/* SPDX-License-Identifier: MIT */
/*
 * grafana_req_test: the Grafana request bodies (collector/api/grafana_req.c):
 * every endpoint's body as the plugin sends it, payload as object and as
 * JSON text, ad-hoc filters (new and old field names) merged into the
 * targets, defaults, and every rejection: bad JSON, wrong types, missing
 * fields, unknown keys, bounds (body size, targets, maxDataPoints, limit,
 * name length), NUL bytes; plus the bucket step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/api/grafana_req.h"
#include "common/labelset.h"
#include "common/xmalloc.h"

#define NOW 1795787440123LL     /* 2026-11-27T13:50:40.123Z in ms */

static void
ok(enum grafana_ep ep, const char *body, struct grafana_req *r)
{
    char *err = NULL;
    int rc = grafana_req_parse(ep, body, strlen(body), NOW, r, &err);

    if (rc != 0)
        fail_msg("unexpected error: %s (body %s)", err, body);
    assert_null(err);
}

/* True if m[0..n) holds a matcher of key k and op whose values, joined
 * by ',', are want. */
static int
has_match(const struct grafana_match *m, size_t n, enum grafana_key k,
          enum grafana_op op, const char *want)
{
    for (size_t i = 0; i < n; i++) {
        char buf[512] = "";
        size_t len = 0;
        if (m[i].key != k || m[i].op != op)
            continue;
        for (size_t j = 0; j < m[i].n_values && len < sizeof(buf); j++)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
                                    j ? "," : "", m[i].values[j]);
        if (strcmp(buf, want) == 0)
            return 1;
    }
    return 0;
}

/* Fails with a message containing want. */
static void
bad(enum grafana_ep ep, const char *body, const char *want)
{
    struct grafana_req r;
    char *err = NULL;

    assert_int_equal(grafana_req_parse(ep, body, strlen(body), NOW, &r,
                                       &err), -1);
    assert_non_null(err);
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' lacks '%s' (body %s)", err, want, body);
    assert_null(r.targets);
    assert_int_equal(r.n_targets, 0);
    free(err);
}

static void
test_grafana_ep_paths(void **state)
{
    enum grafana_ep ep;

    (void)state;
    assert_int_equal(grafana_ep_from_path("", &ep), 0);
    assert_int_equal(ep, GRAFANA_EP_ROOT);
    assert_int_equal(grafana_ep_from_path("/", &ep), 0);
    assert_int_equal(ep, GRAFANA_EP_ROOT);
    assert_int_equal(grafana_ep_from_path("/query", &ep), 0);
    assert_int_equal(ep, GRAFANA_EP_QUERY);
    assert_int_equal(grafana_ep_from_path("/metric-payload-options", &ep), 0);
    assert_int_equal(ep, GRAFANA_EP_PAYLOAD_OPTIONS);
    assert_int_equal(grafana_ep_from_path("/tag-values", &ep), 0);
    assert_int_equal(ep, GRAFANA_EP_TAG_VALUES);
    assert_int_equal(grafana_ep_from_path("/annotations", &ep), 0);
    assert_int_equal(ep, GRAFANA_EP_ANNOTATIONS);
    assert_int_equal(grafana_ep_from_path("/query/", &ep), -1);
    assert_int_equal(grafana_ep_from_path("/nope", &ep), -1);
}

static void
test_grafana_query_full(void **state)
{
    struct grafana_req r;

    (void)state;
    ok(GRAFANA_EP_QUERY,
       "{\"panelId\":1,\"range\":{\"from\":\"2026-11-27T12:50:40.123Z\","
       "\"to\":\"2026-11-27T13:50:40.123Z\",\"raw\":{\"from\":\"now-1h\"}},"
       "\"intervalMs\":30000,\"maxDataPoints\":550,\"scopedVars\":{},"
       "\"targets\":[{\"target\":\"host.cpu.user_pct\",\"refId\":\"A\","
       "\"payload\":{\"host\":\"node1\",\"container\":\"\",\"label\":\"/\","
       "\"alias\":\"cpu\"},\"datasource\":{\"uid\":\"logq\"}},"
       "{\"target\":\"logs:count\",\"refId\":\"B\"},"
       "{\"target\":\"logs\",\"refId\":\"C\",\"payload\":{\"q\":\"error\","
       "\"icase\":true,\"limit\":50}},"
       "{\"target\":\"hidden\",\"refId\":\"D\",\"hide\":true}]}", &r);
    assert_true(r.from_ms == NOW - 3600000);
    assert_true(r.to_ms == NOW);
    assert_true(r.interval_ms == 30000);
    assert_int_equal(r.max_points, 550);
    assert_int_equal(r.n_targets, 3);
    struct grafana_target *t = &r.targets[0];
    assert_int_equal(t->kind, GRAFANA_T_METRIC);
    assert_string_equal(t->target, "host.cpu.user_pct");
    assert_string_equal(t->ref_id, "A");
    assert_int_equal(t->n_matches, 2);
    assert_true(has_match(t->matches, 2, GRAFANA_K_HOST, GRAFANA_OP_EQ,
                          "node1"));
    /* A metric's container "": host metrics only. */
    assert_true(has_match(t->matches, 2, GRAFANA_K_CONTAINER, GRAFANA_OP_EQ,
                          ""));
    assert_string_equal(t->label, "/");
    assert_string_equal(t->alias, "cpu");
    t = &r.targets[1];
    assert_int_equal(t->kind, GRAFANA_T_LOG_COUNT);
    assert_int_equal(t->n_matches, 0);
    assert_null(t->label);
    assert_string_equal(t->q, "");
    t = &r.targets[2];
    assert_int_equal(t->kind, GRAFANA_T_LOG_SEARCH);
    assert_string_equal(t->q, "error");
    assert_int_equal(t->is_icase, 1);
    assert_int_equal(t->limit, 50);
    grafana_req_fini(&r);
}

static void
test_grafana_query_defaults(void **state)
{
    struct grafana_req r;

    (void)state;
    ok(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"logs:search\"}]}", &r);
    assert_true(r.to_ms == NOW);
    assert_true(r.from_ms == NOW - GRAFANA_DEFAULT_RANGE_MS);
    assert_true(r.interval_ms == 0);
    assert_int_equal(r.max_points, GRAFANA_DEFAULT_POINTS);
    assert_int_equal(r.targets[0].kind, GRAFANA_T_LOG_SEARCH);
    assert_string_equal(r.targets[0].ref_id, "");
    assert_int_equal(r.targets[0].limit, GRAFANA_DEFAULT_LOG_LIMIT);
    assert_int_equal(r.targets[0].is_icase, 0);
    grafana_req_fini(&r);
    /* Unix milliseconds are accepted for the range too. */
    ok(GRAFANA_EP_QUERY, "{\"range\":{\"from\":1000,\"to\":2000.0},"
       "\"targets\":[]}", &r);
    assert_true(r.from_ms == 1000 && r.to_ms == 2000);
    assert_int_equal(r.n_targets, 0);
    grafana_req_fini(&r);
}

static void
test_grafana_query_payload_string(void **state)
{
    struct grafana_req r;

    (void)state;
    ok(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"container.cpu_pct\","
       "\"payload\":\"{\\\"host\\\":\\\"n2\\\",\\\"container\\\":\\\"db\\\"}\"},"
       "{\"target\":\"x\",\"payload\":\"\"},"
       "{\"target\":\"y\",\"data\":{\"host\":\"old\"}},"
       "{\"target\":\"z\",\"payload\":{\"host\":null}}]}", &r);
    assert_int_equal(r.n_targets, 4);
    assert_true(has_match(r.targets[0].matches, r.targets[0].n_matches,
                          GRAFANA_K_HOST, GRAFANA_OP_EQ, "n2"));
    assert_true(has_match(r.targets[0].matches, r.targets[0].n_matches,
                          GRAFANA_K_CONTAINER, GRAFANA_OP_EQ, "db"));
    assert_int_equal(r.targets[1].n_matches, 0);
    assert_true(has_match(r.targets[2].matches, r.targets[2].n_matches,
                          GRAFANA_K_HOST, GRAFANA_OP_EQ, "old"));
    assert_int_equal(r.targets[3].n_matches, 0);
    grafana_req_fini(&r);
}

/* Multi-value variables: an array (builder mode, JSON interpolation) or
 * Grafana's glob form "{a,b}" (${var:glob}); a log target's container ""
 * is no constraint. */
static void
test_grafana_query_multi_values(void **state)
{
    struct grafana_req r;

    (void)state;
    ok(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"logs\",\"payload\":"
       "{\"host\":[\"n1\",\"n2\"],\"container\":\"{web,db,api}\"}},"
       "{\"target\":\"logs:count\",\"payload\":\"{\\\"host\\\":"
       "\\\"{n1,n2}\\\",\\\"container\\\":\\\"\\\"}\"},"
       "{\"target\":\"m\",\"payload\":{\"host\":\"{single}\"}}]}", &r);
    const struct grafana_target *t = &r.targets[0];
    assert_int_equal(t->n_matches, 2);
    assert_true(has_match(t->matches, 2, GRAFANA_K_HOST, GRAFANA_OP_EQ,
                          "n1,n2"));
    assert_true(has_match(t->matches, 2, GRAFANA_K_CONTAINER, GRAFANA_OP_EQ,
                          "web,db,api"));
    t = &r.targets[1];
    assert_int_equal(t->n_matches, 1);
    assert_true(has_match(t->matches, 1, GRAFANA_K_HOST, GRAFANA_OP_EQ,
                          "n1,n2"));
    assert_true(has_match(r.targets[2].matches, 1, GRAFANA_K_HOST,
                          GRAFANA_OP_EQ, "single"));
    assert_null(grafana_match_exact(r.targets[0].matches, 2, GRAFANA_K_HOST));
    assert_string_equal(grafana_match_exact(r.targets[2].matches, 1,
                                            GRAFANA_K_HOST), "single");
    grafana_req_fini(&r);
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"logs\",\"payload\":"
        "{\"host\":[]}}]}", "payload.host: must not be empty");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"logs\",\"payload\":"
        "{\"host\":[\"a\",3]}}]}", "payload.host[1]: must be a string");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"logs\",\"payload\":"
        "{\"host\":\"{a,,b}\"}}]}", "payload.host: must not be empty");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"logs\",\"payload\":"
        "{\"host\":\"\"}}]}", "payload.host: must not be empty");
}

/* The payload is free-form: keys it does not know are ignored (Grafana's
 * own, a user's notes), known keys keep their types. */
static void
test_grafana_payload_free_form(void **state)
{
    struct grafana_req r;

    (void)state;
    ok(GRAFANA_EP_QUERY, "{\"scopedVars\":{\"__interval\":{\"text\":\"1s\"}},"
       "\"targets\":[{\"target\":\"logs\",\"payload\":{\"hots\":\"x\","
       "\"target\":\"b\",\"variables\":{\"host\":{\"value\":[\"a\"]}},"
       "\"q\":\"err\"}}]}", &r);
    assert_int_equal(r.n_targets, 1);
    assert_string_equal(r.targets[0].q, "err");
    assert_int_equal(r.targets[0].n_matches, 0);
    grafana_req_fini(&r);
    ok(GRAFANA_EP_METRICS, "{\"payload\":{\"x\":1}}", &r);
    grafana_req_fini(&r);
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":{\"hots\":1,\"q\":5}}]}", "payload.q: must be a string");
    /* Builder mode sends every value as text. */
    ok(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"logs\",\"editorMode\":"
       "\"builder\",\"payload\":{\"limit\":\"20\",\"icase\":\"true\"}}]}",
       &r);
    assert_int_equal(r.targets[0].limit, 20);
    assert_int_equal(r.targets[0].is_icase, 1);
    grafana_req_fini(&r);
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":{\"limit\":\"2x\"}}]}", "payload.limit: must be a number");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":{\"limit\":\"0\"}}]}", "payload.limit: out of range");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":{\"icase\":\"yes\"}}]}", "icase: must be true or false");
}

static void
test_grafana_query_filters(void **state)
{
    struct grafana_req r;

    (void)state;
    ok(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"host\",\"operator\":\"=\","
       "\"value\":\"node1\",\"condition\":\"\"},{\"key\":\"image\","
       "\"operator\":\"!=\",\"value\":\"{a,b}\"},{\"key\":\"stream\","
       "\"operator\":\"=~\",\"value\":\"std(err|out)\"},{\"key\":\"container\","
       "\"operator\":\"!~\",\"value\":\"web.*\"},{\"key\":\"host\","
       "\"operator\":\"=|\",\"value\":\"a\",\"values\":[\"a\",\"b\"]}],"
       "\"adhocFilters\":[{\"key\":\"container\","
       "\"operator\":\"=\",\"value\":\"web\"}],\"targets\":["
       "{\"target\":\"a\"},{\"target\":\"b\",\"payload\":"
       "{\"host\":\"node1\"}}]}", &r);
    assert_int_equal(r.n_filters, 6);
    assert_true(has_match(r.filters, 6, GRAFANA_K_HOST, GRAFANA_OP_EQ,
                          "node1"));
    assert_true(has_match(r.filters, 6, GRAFANA_K_IMAGE, GRAFANA_OP_NE,
                          "a,b"));
    assert_true(has_match(r.filters, 6, GRAFANA_K_STREAM, GRAFANA_OP_RE,
                          "std(err|out)"));
    assert_true(has_match(r.filters, 6, GRAFANA_K_CONTAINER, GRAFANA_OP_NRE,
                          "web.*"));
    assert_true(has_match(r.filters, 6, GRAFANA_K_HOST, GRAFANA_OP_EQ,
                          "a,b"));
    assert_true(has_match(r.filters, 6, GRAFANA_K_CONTAINER, GRAFANA_OP_EQ,
                          "web"));
    /* Filters stay apart from the payload: the handler applies both. */
    assert_int_equal(r.targets[0].n_matches, 0);
    assert_int_equal(r.targets[1].n_matches, 1);
    grafana_req_fini(&r);
}

/* What each operator lets through, on records and on bare values. */
static void
test_grafana_match_semantics(void **state)
{
    struct grafana_req r;
    struct logrec rec = {
        .host = "node1", .container = "web-1", .image = "nginx:1",
        .stream = LOGREC_STDERR, .msg = "x", .msg_len = 1,
    };

    (void)state;
    ok(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"container\","
       "\"operator\":\"=~\",\"value\":\"web-[0-9]\"}],\"targets\":[]}", &r);
    const struct grafana_match *m = &r.filters[0];
    assert_true(grafana_match_value(m, "web-1"));
    assert_false(grafana_match_value(m, "web-12"));     /* anchored */
    assert_false(grafana_match_value(m, "xweb-1"));
    assert_true(grafana_match_value(m, NULL));          /* no such key */
    assert_true(grafana_match_record(r.filters, 1, &rec));
    grafana_req_fini(&r);
    ok(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"stream\","
       "\"operator\":\"!=\",\"value\":\"stderr\"}],\"targets\":[]}", &r);
    assert_false(grafana_match_record(r.filters, 1, &rec));
    rec.stream = LOGREC_STDOUT;
    assert_true(grafana_match_record(r.filters, 1, &rec));
    grafana_req_fini(&r);
    ok(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"image\","
       "\"operator\":\"!~\",\"value\":\"nginx.*\"},{\"key\":\"host\","
       "\"operator\":\"=\",\"value\":[\"node2\",\"node1\"]}],"
       "\"targets\":[]}", &r);
    assert_false(grafana_match_record(r.filters, 2, &rec));
    rec.image = "redis:7";
    assert_true(grafana_match_record(r.filters, 2, &rec));
    rec.host = "node3";
    assert_false(grafana_match_record(r.filters, 2, &rec));
    grafana_req_fini(&r);
}

/* label.KEY filters: the Docker label's value, "" when the source has no
 * such label; not applied where labels are unknown (metric series). */
static void
test_grafana_label_filters(void **state)
{
    struct grafana_req r;
    const char *k[] = { "app", "com.docker.compose.service" };
    const char *v[] = { "shop", "web" };
    struct labelset *ls = labelset_new(k, v, 2, NULL);
    struct logrec rec = {
        .host = "node1", .container = "web-1", .image = "nginx:1",
        .stream = LOGREC_STDOUT, .msg = "x", .msg_len = 1, .labels = ls,
    };
    struct grafana_subject series = { .names = { "node1", "web-1" } };

    (void)state;
    ok(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":"
       "\"label.com.docker.compose.service\",\"operator\":\"=\","
       "\"value\":\"web\"},{\"key\":\"label.app\",\"operator\":\"=~\","
       "\"value\":\"sh.p\"}],\"targets\":[]}", &r);
    assert_int_equal(r.n_filters, 2);
    assert_true(has_match(r.filters, 2, GRAFANA_K_LABEL, GRAFANA_OP_EQ,
                          "web"));
    assert_string_equal(r.filters[0].label_key,
                        "com.docker.compose.service");
    assert_string_equal(r.filters[1].label_key, "app");
    assert_true(grafana_match_record(r.filters, 2, &rec));
    assert_true(grafana_match_subject(&r.filters[0], &series));
    assert_null(grafana_match_exact(r.filters, 2, GRAFANA_K_LABEL));
    rec.labels = NULL;                  /* no labels: the value is "" */
    assert_false(grafana_match_record(r.filters, 1, &rec));
    grafana_req_fini(&r);
    ok(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"label.app\","
       "\"operator\":\"!=\",\"value\":\"shop\"}],\"targets\":[]}", &r);
    assert_true(grafana_match_record(r.filters, 1, &rec));
    rec.labels = ls;
    assert_false(grafana_match_record(r.filters, 1, &rec));
    assert_true(grafana_match_is_key(&r.filters[0], GRAFANA_K_LABEL, "app"));
    assert_false(grafana_match_is_key(&r.filters[0], GRAFANA_K_LABEL, "x"));
    assert_false(grafana_match_is_key(&r.filters[0], GRAFANA_K_HOST, NULL));
    grafana_req_fini(&r);
    /* label.KEY = "": the source has no such label */
    ok(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"label.db\","
       "\"operator\":\"=\",\"value\":\"\"}],\"targets\":[]}", &r);
    assert_true(grafana_match_record(r.filters, 1, &rec));
    grafana_req_fini(&r);
    ok(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"label.app\","
       "\"operator\":\"=\",\"value\":\"\"}],\"targets\":[]}", &r);
    assert_false(grafana_match_record(r.filters, 1, &rec));
    grafana_req_fini(&r);
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"host\","
        "\"operator\":\"=\",\"value\":\"\"}],\"targets\":[]}",
        "must not be empty");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"label.\","
        "\"operator\":\"=\",\"value\":\"x\"}],\"targets\":[]}",
        "unknown key 'label.'");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"label.a\\u0001\","
        "\"operator\":\"=\",\"value\":\"x\"}],\"targets\":[]}",
        "unknown key");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"labels\","
        "\"operator\":\"=\",\"value\":\"x\"}],\"targets\":[]}",
        "(host, container, image, stream, label.KEY)");
    labelset_free(ls);
}

static void
test_grafana_query_bad(void **state)
{
    (void)state;
    bad(GRAFANA_EP_QUERY, "{}", "targets: missing");
    bad(GRAFANA_EP_QUERY, "{\"targets\":{}}", "targets: must be an array");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[1]}", "targets[0]: must be an obj");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{}]}", "targets[0].target: must be");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"\"}]}",
        "must not be empty");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":7}]}", "must be a str");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\",\"hide\":1}]}",
        "hide: must be true or false");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\",\"refId\":[]}]}",
        "refId: must be a string");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":{\"host\":1}}]}", "payload.host: must be a string");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":{\"label\":1}}]}", "payload.label: must be a string");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":[1]}]}", "payload: must be an object");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":\"{nope\"}]}", "payload: not valid JSON");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":{\"limit\":0}}]}", "limit: out of range");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":{\"limit\":1001}}]}", "limit: out of range");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\","
        "\"payload\":{\"icase\":\"yes\"}}]}", "icase: must be true or false");
    bad(GRAFANA_EP_QUERY, "{\"maxDataPoints\":0,\"targets\":[]}",
        "maxDataPoints: out of range");
    bad(GRAFANA_EP_QUERY, "{\"maxDataPoints\":10001,\"targets\":[]}",
        "maxDataPoints: out of range");
    bad(GRAFANA_EP_QUERY, "{\"maxDataPoints\":\"5\",\"targets\":[]}",
        "maxDataPoints: must be a number");
    bad(GRAFANA_EP_QUERY, "{\"intervalMs\":-1,\"targets\":[]}",
        "intervalMs: out of range");
    bad(GRAFANA_EP_QUERY, "{\"intervalMs\":1e300,\"targets\":[]}",
        "intervalMs: out of range");
    bad(GRAFANA_EP_QUERY, "{\"targets\":[{\"target\":\"a\\u0000b\"}]}",
        "not allowed");
}

static void
test_grafana_range_bad(void **state)
{
    (void)state;
    bad(GRAFANA_EP_QUERY, "{\"range\":[],\"targets\":[]}",
        "range: must be an object");
    bad(GRAFANA_EP_QUERY, "{\"range\":{\"to\":\"2026-11-27T13:50:40Z\"},"
        "\"targets\":[]}", "range.from: missing");
    bad(GRAFANA_EP_QUERY, "{\"range\":{\"from\":\"2026-11-27T13:50:40Z\"},"
        "\"targets\":[]}", "range.to: missing");
    bad(GRAFANA_EP_QUERY, "{\"range\":{\"from\":\"yesterday\",\"to\":1},"
        "\"targets\":[]}", "range.from: not an RFC 3339 time");
    bad(GRAFANA_EP_QUERY, "{\"range\":{\"from\":true,\"to\":1},"
        "\"targets\":[]}", "range.from: must be an RFC 3339");
    bad(GRAFANA_EP_QUERY, "{\"range\":{\"from\":5,\"to\":1},\"targets\":[]}",
        "from is after to");
    bad(GRAFANA_EP_QUERY, "{\"range\":{\"from\":-5,\"to\":1},"
        "\"targets\":[]}", "range.from: out of range");
    bad(GRAFANA_EP_QUERY, "{\"range\":{\"from\":\"1969-01-01T00:00:00Z\","
        "\"to\":1},\"targets\":[]}", "before 1970");
}

static void
test_grafana_filters_bad(void **state)
{
    (void)state;
    bad(GRAFANA_EP_QUERY, "{\"filters\":{},\"targets\":[]}",
        "filters: must be an array");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[3],\"targets\":[]}",
        "filters[0]: must be an object");
    bad(GRAFANA_EP_QUERY, "{\"adhocFilters\":[{\"key\":\"host\","
        "\"operator\":\"<\",\"value\":\"a\"}],\"targets\":[]}",
        "operator '<' is not supported");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"city\","
        "\"operator\":\"=\",\"value\":\"a\"}],\"targets\":[]}",
        "unknown key 'city'");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"host\","
        "\"operator\":\"=\"}],\"targets\":[]}", "filters[0].value: missing");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"host\","
        "\"operator\":\"=\",\"value\":5}],\"targets\":[]}",
        "filters[0].value: must be a string or an array");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"host\","
        "\"operator\":\"=~\",\"value\":\"(a\"}],\"targets\":[]}",
        "filters[0].value: bad regex");
    /* Unbalanced: would escape the anchoring group if not checked alone. */
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"host\","
        "\"operator\":\"=~\",\"value\":\"a)|(b\"}],\"targets\":[]}",
        "filters[0].value: bad regex");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"host\","
        "\"operator\":\"=~\",\"value\":[\"a\"]}],\"targets\":[]}",
        "a regex must be a string");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"key\":\"host\","
        "\"operator\":\"=|\",\"values\":[]}],\"targets\":[]}",
        "filters[0].values: must not be empty");
    bad(GRAFANA_EP_QUERY, "{\"filters\":[{\"operator\":\"=\","
        "\"value\":\"a\"}],\"targets\":[]}", "filters[0].key: must be");
}

/* Builds {"targets":[N x {"target":"m"}]}. */
static char *
many_targets(size_t n)
{
    size_t cap = 32 + n * 20;
    char *s = xmalloc(cap);
    size_t len = (size_t)snprintf(s, cap, "{\"targets\":[");

    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s{\"target\":\"m\"}",
                                i ? "," : "");
    snprintf(s + len, cap - len, "]}");
    return s;
}

static void
test_grafana_bounds(void **state)
{
    struct grafana_req r;
    char *s;

    (void)state;
    s = many_targets(GRAFANA_MAX_TARGETS);
    ok(GRAFANA_EP_QUERY, s, &r);
    assert_int_equal(r.n_targets, GRAFANA_MAX_TARGETS);
    grafana_req_fini(&r);
    free(s);
    s = many_targets(GRAFANA_MAX_TARGETS + 1);
    bad(GRAFANA_EP_QUERY, s, "targets: more than 100");
    free(s);

    /* A name of exactly the cap passes, one byte more does not. */
    char body[1024];
    char name[GRAFANA_MAX_NAME + 2];
    memset(name, 'a', sizeof(name));
    name[GRAFANA_MAX_NAME] = '\0';
    snprintf(body, sizeof(body), "{\"targets\":[{\"target\":\"%s\"}]}", name);
    ok(GRAFANA_EP_QUERY, body, &r);
    grafana_req_fini(&r);
    name[GRAFANA_MAX_NAME] = 'a';
    name[GRAFANA_MAX_NAME + 1] = '\0';
    snprintf(body, sizeof(body), "{\"targets\":[{\"target\":\"%s\"}]}", name);
    bad(GRAFANA_EP_QUERY, body, "longer than 256 bytes");

    /* Body size: the cap is checked before parsing. */
    size_t big = GRAFANA_MAX_BODY + 1;
    char *huge = xmalloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    char *err = NULL;
    assert_int_equal(grafana_req_parse(GRAFANA_EP_TAG_KEYS, huge, big, NOW,
                                       &r, &err), -1);
    assert_non_null(strstr(err, "larger than"));
    free(err);
    err = NULL;
    assert_int_equal(grafana_req_parse(GRAFANA_EP_TAG_KEYS, huge, big - 1,
                                       NOW, &r, &err), -1);  /* no '}' */
    assert_non_null(strstr(err, "bad JSON"));
    free(err);
    huge[big - 2] = '}';
    assert_int_equal(grafana_req_parse(GRAFANA_EP_TAG_KEYS, huge, big - 1,
                                       NOW, &r, &err), 0);
    grafana_req_fini(&r);
    free(huge);
}

static void
test_grafana_json_bad(void **state)
{
    struct grafana_req r;
    char *err = NULL;

    (void)state;
    bad(GRAFANA_EP_METRICS, "[]", "must be a JSON object");
    bad(GRAFANA_EP_METRICS, "\"x\"", "bad JSON");
    bad(GRAFANA_EP_METRICS, "{", "bad JSON");
    bad(GRAFANA_EP_METRICS, "{\"a\":1,\"a\":2}", "bad JSON");
    bad(GRAFANA_EP_TAG_KEYS, "{} {}", "bad JSON");
    /* Truncated at every byte: never accepted, never crashes. */
    const char *full = "{\"targets\":[{\"target\":\"logs\",\"payload\":"
                       "{\"q\":\"x\"}}]}";
    for (size_t n = 1; n < strlen(full); n++) {
        assert_int_equal(grafana_req_parse(GRAFANA_EP_QUERY, full, n, NOW, &r,
                                           &err), -1);
        free(err);
        err = NULL;
    }
    /* An empty body is {}. */
    assert_int_equal(grafana_req_parse(GRAFANA_EP_TAG_KEYS, "", 0, NOW, &r,
                                       &err), 0);
    grafana_req_fini(&r);
}

static void
test_grafana_metrics_bodies(void **state)
{
    struct grafana_req r;

    (void)state;
    ok(GRAFANA_EP_METRICS, "{}", &r);
    assert_null(r.metric);
    grafana_req_fini(&r);
    ok(GRAFANA_EP_METRICS, "{\"metric\":\"host.cpu.user_pct\","
       "\"payload\":{\"host\":\"n1\"}}", &r);
    assert_string_equal(r.metric, "host.cpu.user_pct");
    assert_true(has_match(r.payload_m, r.n_payload_m, GRAFANA_K_HOST,
                          GRAFANA_OP_EQ, "n1"));
    grafana_req_fini(&r);
    ok(GRAFANA_EP_SEARCH, "{\"target\":\"anything\"}", &r);
    grafana_req_fini(&r);
    ok(GRAFANA_EP_PAYLOAD_OPTIONS, "{\"metric\":\"container.cpu_pct\","
       "\"payload\":{\"host\":\"n1\",\"container\":\"web\"},"
       "\"name\":\"label\"}", &r);
    assert_int_equal(r.field, GRAFANA_F_LABEL);
    assert_string_equal(grafana_match_exact(r.payload_m, r.n_payload_m,
                                            GRAFANA_K_CONTAINER), "web");
    grafana_req_fini(&r);
    ok(GRAFANA_EP_PAYLOAD_OPTIONS, "{\"metric\":\"m\",\"name\":\"host\"}",
       &r);
    assert_int_equal(r.field, GRAFANA_F_HOST);
    assert_int_equal(r.n_payload_m, 0);
    grafana_req_fini(&r);
    bad(GRAFANA_EP_PAYLOAD_OPTIONS, "{\"name\":\"host\"}", "metric: missing");
    bad(GRAFANA_EP_PAYLOAD_OPTIONS, "{\"metric\":\"m\"}", "name: must be");
    bad(GRAFANA_EP_PAYLOAD_OPTIONS, "{\"metric\":\"m\",\"name\":\"q\"}",
        "no options for 'q'");
    bad(GRAFANA_EP_METRICS, "{\"metric\":5}", "metric: must be a string");
}

static void
test_grafana_variable(void **state)
{
    struct grafana_req r;

    (void)state;
    ok(GRAFANA_EP_VARIABLE, "{\"payload\":{\"target\":\"hosts\"},"
       "\"range\":{\"from\":\"2026-11-27T08:09:32.164Z\","
       "\"to\":\"2026-11-27T09:09:32.164Z\"}}", &r);
    assert_int_equal(r.var, GRAFANA_VAR_HOSTS);
    assert_int_equal(r.n_payload_m, 0);
    grafana_req_fini(&r);
    /* What the plugin sends for a JSON-format variable query: the payload
     * as typed (here with extra keys) and the dashboard's variables. */
    ok(GRAFANA_EP_VARIABLE, "{\"payload\":{\"target\":\"containers\","
       "\"host\":\"{n1,n2}\",\"q\":\"x\",\"variables\":{\"a\":1}},"
       "\"variables\":{\"host\":{\"text\":\"n1 + n2\",\"value\":[\"n1\","
       "\"n2\"]}},\"range\":{\"from\":1,\"to\":2,\"raw\":{}}}", &r);
    assert_int_equal(r.var, GRAFANA_VAR_CONTAINERS);
    assert_true(has_match(r.payload_m, r.n_payload_m, GRAFANA_K_HOST,
                          GRAFANA_OP_EQ, "n1,n2"));
    grafana_req_fini(&r);
    ok(GRAFANA_EP_VARIABLE, "{\"payload\":\"{\\\"target\\\":\\\"containers\\\","
       "\\\"host\\\":\\\"node1\\\"}\"}", &r);
    assert_int_equal(r.var, GRAFANA_VAR_CONTAINERS);
    assert_string_equal(grafana_match_exact(r.payload_m, r.n_payload_m,
                                            GRAFANA_K_HOST), "node1");
    grafana_req_fini(&r);
    ok(GRAFANA_EP_VARIABLE, "{\"payload\":\"metrics\"}", &r);
    assert_int_equal(r.var, GRAFANA_VAR_METRICS);
    grafana_req_fini(&r);
    bad(GRAFANA_EP_VARIABLE, "{}", "payload.target: missing");
    bad(GRAFANA_EP_VARIABLE, "{\"payload\":{\"target\":\"cities\"}}",
        "unknown 'cities'");
    bad(GRAFANA_EP_VARIABLE, "{\"payload\":{\"target\":\"hosts\","
        "\"host\":7}}", "payload.host: must be a string");
    bad(GRAFANA_EP_VARIABLE, "{\"payload\":7}", "payload: must be an object");
}

static void
test_grafana_tags(void **state)
{
    struct grafana_req r;

    (void)state;
    ok(GRAFANA_EP_TAG_KEYS, "{}", &r);
    grafana_req_fini(&r);
    ok(GRAFANA_EP_TAG_VALUES, "{\"key\":\"host\"}", &r);
    assert_int_equal(r.tag_key, GRAFANA_K_HOST);
    grafana_req_fini(&r);
    ok(GRAFANA_EP_TAG_VALUES, "{\"key\":\"container\"}", &r);
    assert_int_equal(r.tag_key, GRAFANA_K_CONTAINER);
    grafana_req_fini(&r);
    ok(GRAFANA_EP_TAG_VALUES, "{\"key\":\"image\"}", &r);
    assert_int_equal(r.tag_key, GRAFANA_K_IMAGE);
    grafana_req_fini(&r);
    /* Grafana sends the other ad-hoc filters: they narrow the values. */
    ok(GRAFANA_EP_TAG_VALUES, "{\"key\":\"container\",\"filters\":[{"
       "\"key\":\"host\",\"operator\":\"=\",\"value\":\"n1\"}],"
       "\"timeRange\":{}}", &r);
    assert_int_equal(r.tag_key, GRAFANA_K_CONTAINER);
    assert_true(has_match(r.filters, r.n_filters, GRAFANA_K_HOST,
                          GRAFANA_OP_EQ, "n1"));
    grafana_req_fini(&r);
    ok(GRAFANA_EP_TAG_VALUES, "{\"key\":\"stream\"}", &r);
    assert_int_equal(r.tag_key, GRAFANA_K_STREAM);
    assert_null(r.tag_label_key);
    grafana_req_fini(&r);
    ok(GRAFANA_EP_TAG_VALUES, "{\"key\":\"label.com.docker.compose."
       "project\"}", &r);
    assert_int_equal(r.tag_key, GRAFANA_K_LABEL);
    assert_string_equal(r.tag_label_key, "com.docker.compose.project");
    grafana_req_fini(&r);
    bad(GRAFANA_EP_TAG_VALUES, "{\"key\":\"label.\"}", "unknown 'label.'");
    bad(GRAFANA_EP_TAG_VALUES, "{}", "key: must be a string");
    bad(GRAFANA_EP_TAG_VALUES, "{\"key\":\"city\"}", "unknown 'city'");
}

static void
test_grafana_annotations(void **state)
{
    struct grafana_req r;

    (void)state;
    ok(GRAFANA_EP_ANNOTATIONS, "{\"range\":{\"from\":1,\"to\":2},"
       "\"annotation\":{\"name\":\"errors\",\"enable\":true,"
       "\"query\":\"panic\",\"host\":\"n1\"}}", &r);
    assert_string_equal(r.anno_q, "panic");
    assert_string_equal(r.anno_host, "n1");
    assert_int_equal(r.anno_is_icase, 1);
    assert_int_equal(r.anno_limit, GRAFANA_DEFAULT_LOG_LIMIT);
    assert_non_null(strstr(r.annotation_json, "\"name\":\"errors\""));
    grafana_req_fini(&r);
    ok(GRAFANA_EP_ANNOTATIONS, "{}", &r);
    assert_string_equal(r.anno_q, GRAFANA_ERROR_QUERY);
    assert_string_equal(r.annotation_json, "{}");
    grafana_req_fini(&r);
    ok(GRAFANA_EP_ANNOTATIONS, "{\"annotation\":{\"query\":\"\"}}", &r);
    assert_string_equal(r.anno_q, GRAFANA_ERROR_QUERY);
    grafana_req_fini(&r);
    bad(GRAFANA_EP_ANNOTATIONS, "{\"annotation\":5}", "annotation: must be");
    bad(GRAFANA_EP_ANNOTATIONS, "{\"annotation\":{\"query\":1}}",
        "annotation.query: must be a string");
}

/* Buckets since the epoch touched by [from, to] at step s. */
static int64_t
n_buckets(int64_t from, int64_t to, int64_t s)
{
    return to / s - from / s + 1;
}

static void
test_grafana_step(void **state)
{
    (void)state;
    /* intervalMs is kept when its aligned buckets fit. */
    assert_true(grafana_step(0, 3600000, 60000, 1000) == 60000);
    assert_true(grafana_step(NOW - 3600000, NOW, 5000, 1000) == 5000);
    /* Else the next round step (it used to be span / max + 1 = 3601 ms:
     * bucket times drifted off every round value by 1 ms per bucket). */
    assert_true(grafana_step(0, 3600000, 0, 1000) == 5000);
    assert_true(grafana_step(NOW - 3600000, NOW, 3600, 1000) == 5000);
    assert_true(grafana_step(0, 86400000, 1000, 100) == 900000);
    assert_true(grafana_step(5, 5, 7, 10) == 7);
    /* Whatever the inputs: at most max_points aligned buckets. */
    static const int64_t spans[] = { 0, 1, 999, 3600000, 86400000,
                                     400LL * 86400000, GRAFANA_MAX_TIME_MS };
    static const size_t maxes[] = { 1, 2, 7, 100, 1000, 10000 };
    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
        for (size_t j = 0; j < sizeof(maxes) / sizeof(maxes[0]); j++) {
            int64_t to = GRAFANA_MAX_TIME_MS - 12345;
            int64_t from = spans[i] > to ? 0 : to - spans[i];
            int64_t s = grafana_step(from, to, 1000, maxes[j]);
            assert_true(s >= 1000 && s <= GRAFANA_MAX_TIME_MS + 1);
            assert_true(n_buckets(from, to, s) <= (int64_t)maxes[j]);
            int64_t f = grafana_first_bucket(from, s);
            assert_true(f % s == 0 && f <= from && from - f < s);
        }
    }
    assert_true(grafana_first_bucket(NOW, 60000) == NOW - NOW % 60000);
    assert_true(grafana_first_bucket(-1, 60000) == -60000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grafana_ep_paths),
        cmocka_unit_test(test_grafana_query_full),
        cmocka_unit_test(test_grafana_query_defaults),
        cmocka_unit_test(test_grafana_query_payload_string),
        cmocka_unit_test(test_grafana_query_multi_values),
        cmocka_unit_test(test_grafana_payload_free_form),
        cmocka_unit_test(test_grafana_query_filters),
        cmocka_unit_test(test_grafana_match_semantics),
        cmocka_unit_test(test_grafana_query_bad),
        cmocka_unit_test(test_grafana_range_bad),
        cmocka_unit_test(test_grafana_filters_bad),
        cmocka_unit_test(test_grafana_bounds),
        cmocka_unit_test(test_grafana_json_bad),
        cmocka_unit_test(test_grafana_metrics_bodies),
        cmocka_unit_test(test_grafana_variable),
        cmocka_unit_test(test_grafana_tags),
        cmocka_unit_test(test_grafana_label_filters),
        cmocka_unit_test(test_grafana_annotations),
        cmocka_unit_test(test_grafana_step),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
