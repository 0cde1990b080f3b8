/* SPDX-License-Identifier: MIT */
/*
 * fuzz_redis: libFuzzer target for the collector's handling of Redis
 * replies (collector/metrics/redis_metrics_read.c), untrusted when Redis
 * is not (a hostile or broken server, a man in the middle). The first
 * byte picks the read (names, hosts, latest, query; for a query also
 * which of host/container/label it filters on); the rest is a RESP byte
 * stream that hiredis's own reader, with the collector's reply bounds
 * (redis_bounds.c), turns into redisReply trees, answering
 * the commands the read sends in order (through the rmetrics send hook:
 * no socket). A command left without a reply (the stream ends, or is not
 * RESP) gets NULL, as when the connection drops. Each series a query
 * returns is then downsampled as /api/v1/metrics/query and Grafana do.
 * Invariants checked with assert: the callback runs exactly once; an
 * error has a text and no results; names are sorted; hosts are at most
 * RMETRICS_MAX_HOSTS with a positive interval; series match the query,
 * are sorted, each non-empty with ascending points, and downsample into
 * at most the buckets asked for.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/metrics/downsample.h"
#include "common/xmalloc.h"

#define FUZZ_MAX_SENT  2048
#include "tests/fuzz/fuzzredis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_n_done;
static struct rm_query fuzz_q;

static int
fuzz_send_hook(struct rmetrics *rm, fuzz_reply_fn fn, void *privdata,
               int argc, const char **argv)
{
    (void)rm;
    assert(argc >= 2 && argv[0] != NULL);
    return fuzz_queue(fn, privdata);
}

/* ---- result checks ---- */

static void
fuzz_names_cb(int err, const char *errstr, const char *const *names,
              size_t n, void *arg)
{
    fuzz_n_done++;
    assert(!err || (errstr != NULL && n == 0));
    for (size_t i = 1; i < n; i++)
        assert(strcmp(names[i - 1], names[i]) <= 0);
}

static void
fuzz_hosts_cb(int err, const char *errstr, const struct rm_host *h, size_t n,
              void *arg)
{
    fuzz_n_done++;
    assert(!err || (errstr != NULL && n == 0));
    assert(n <= RMETRICS_MAX_HOSTS);
    for (size_t i = 0; i < n; i++)
        assert(h[i].host != NULL && h[i].interval_ms > 0);
}

static void
fuzz_latest_cb(int err, const char *errstr, const struct rm_latest *l,
               size_t n, void *arg)
{
    fuzz_n_done++;
    assert(!err || (errstr != NULL && n == 0));
    for (size_t i = 0; i < n; i++)
        assert(l[i].name != NULL && l[i].container != NULL &&
               l[i].label != NULL);
}

static int
fuzz_series_cmp(const struct rm_series *a, const struct rm_series *b)
{
    int c = strcmp(a->host, b->host);

    if (c == 0)
        c = strcmp(a->container, b->container);
    if (c == 0)
        c = strcmp(a->label, b->label);
    return c;
}

/* What the API handlers do with a series: downsample it. */
static void
fuzz_downsample(const struct rm_series *s, size_t cap)
{
    static struct rm_point out[64];
    int64_t step = 0;
    size_t n = downsample_avg(s->points, s->n_points, fuzz_q.from_ms,
                              fuzz_q.to_ms, 1, out, cap, &step);
    assert(n <= cap && step >= 1);
    struct series_summary sum;
    series_summarize(s->points, s->n_points, &sum);
}

static struct rmetrics *fuzz_rm(void);

static void
fuzz_series_cb(int err, const char *errstr, const struct rm_series *s,
               size_t n, void *arg)
{
    fuzz_n_done++;
    assert(!err || (errstr != NULL && n == 0));
    assert(n <= RMETRICS_QUERY_MAX_SERIES);
    for (size_t i = 0; i < n; i++) {
        assert(strcmp(s[i].name, fuzz_q.name) == 0);
        assert(fuzz_q.host == NULL || strcmp(s[i].host, fuzz_q.host) == 0);
        assert(fuzz_q.container == NULL ||
               strcmp(s[i].container, fuzz_q.container) == 0);
        assert(fuzz_q.label == NULL || strcmp(s[i].label, fuzz_q.label) == 0);
        assert(i == 0 || fuzz_series_cmp(&s[i - 1], &s[i]) <= 0);
        assert(s[i].raw != NULL && s[i].points == NULL);
    }
    /* what a query worker does with them: parse, then downsample */
    struct rm_series_set *set = rmetrics_series_take(fuzz_rm());
    assert(set != NULL && set->n == n);
    for (size_t i = 0; i < set->n; i++) {
        struct rm_series *si = &set->series[i];
        rm_series_parse(si);
        assert(si->raw == NULL && rm_series_parse(si) == 0);
        for (size_t j = 1; j < si->n_points; j++)
            assert(si->points[j - 1].ts_ms <= si->points[j].ts_ms);
        fuzz_downsample(si, 1);
        fuzz_downsample(si, 2);
        fuzz_downsample(si, 64);
    }
    rm_series_set_free(set);
}

/* ---- driver ---- */

static struct rmetrics *
fuzz_rm(void)
{
    return fuzz_rm_get("/nonexistent/logq-fuzz-redis.sock", fuzz_send_hook);
}

static void
fuzz_start(struct rmetrics *rm, uint8_t sel)
{
    switch (sel % 4) {
    case 0:
        assert(rmetrics_names(rm, fuzz_names_cb, NULL) == 0);
        break;
    case 1:
        assert(rmetrics_hosts(rm, fuzz_hosts_cb, NULL) == 0);
        break;
    case 2:
        assert(rmetrics_latest(rm, "node1", fuzz_latest_cb, NULL) == 0);
        break;
    default:
        fuzz_q = (struct rm_query){
            .name = "host.cpu.user_pct",
            .host = (sel & 4) ? "node1" : NULL,
            .container = (sel & 8) ? "" : NULL,
            .label = (sel & 16) ? "" : NULL,
            .from_ms = (sel & 32) ? INT64_MIN : 1000,
            .to_ms = (sel & 32) ? INT64_MAX : 2000,
        };
        assert(rmetrics_query(rm, &fuzz_q, fuzz_series_cb, NULL) == 0);
        break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct rmetrics *rm = fuzz_rm();
    redisReader *rd = redisReaderCreate();
    assert(rd != NULL);
    /* as on the collector's connection: an announced count or length
     * over the bounds is refused before it is allocated */
    rm_bounds_install(rd, &rm->bounds);
    assert(redisReaderFeed(rd, (const char *)data + 1, size - 1) ==
           REDIS_OK);
    fuzz_n_sent = 0;
    fuzz_n_done = 0;
    fuzz_start(rm, data[0]);
    int is_broken = 0;
    /* each reply may send more commands (a query's ranges) */
    for (size_t i = 0; i < fuzz_n_sent; i++) {
        void *reply = NULL;
        if (!is_broken && (redisReaderGetReply(rd, &reply) != REDIS_OK ||
                           reply == NULL))
            is_broken = 1;
        fuzz_sent[i].fn(NULL, is_broken ? NULL : reply, fuzz_sent[i].privdata);
        if (reply != NULL)
            freeReplyObject(reply);
    }
    assert(fuzz_n_done == 1);
    redisReaderFree(rd);
    return 0;
}
