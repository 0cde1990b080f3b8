/* SPDX-License-Identifier: MIT */
/*
 * api_metrics_pool_test: metric series are downsampled on the query
 * workers, not on the event loop (collector/README.md "Queries off the
 * loop"), through the real HTTP API (api_new on 127.0.0.1, clients on the
 * same loop, which is this thread) and a real redis-server (started per
 * test on a free port, killed in teardown): /api/v1/metrics/query and a
 * Grafana /query metric target answer the exact averages while this
 * thread downsamples no point (the thread-local
 * downsample_n_points_here); a metric query over --max-searches gets 503
 * with Retry-After; a client that leaves while its downsampling waits
 * behind a busy worker is cleaned up (the search slot comes back); one
 * that leaves before Redis answers gets no slot and no job (the worker
 * downsamples nothing for it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <sys/wait.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <hiredis/hiredis.h>

#include "collector/api/api.h"
#include "collector/api/api_internal.h"
#include "collector/api/api_metrics.h"
#include "collector/api/api_pool.h"
#include "collector/metrics/downsample.h"
#include "collector/metrics/redis_metrics.h"
#include "collector/search/follow.h"
#include "collector/search/pool.h"
#include "collector/stats.h"
#include "collector/store/store.h"
#include "common/buf.h"
#include "common/timeutil.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "tests/support/apitest.h"
#include "tests/support/redisserver.h"

struct fixture {
    char                  *dir;
    int                    port;
    pid_t                  redis;
    struct store          *store;
    struct event_base     *base;
    struct rmetrics       *rm;
    struct api            *api;
    struct follow         *follow;
    struct collector_stats stats;
    int64_t                t0_ms;   /* the samples' minute */
};

/* ---- redis-server ---- */

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

/* ---- loop helpers ---- */

static struct rmetrics_counters
ctr(struct fixture *f)
{
    struct rmetrics_counters c;

    rmetrics_get_counters(f->rm, &c);
    return c;
}

/* Runs the loop until Redis holds n samples (10 s of wall time at most). */
static void
run_until_written(struct fixture *f, uint64_t n)
{
    for (int i = 0; i < 10000; i++) {
        struct rmetrics_counters c = ctr(f);
        if (c.is_connected && c.samples_written >= n && c.pending == 0)
            return;
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        sleep_ms(1);
    }
    fail_msg("samples not written");
}

/* One METRICS frame of host h1 at ts_ms: name of container ("" for the
 * host) = v. */
static void
write_metric(struct fixture *f, int64_t ts_ms, const char *name,
             const char *container, double v)
{
    struct wire_metrics_enc e;
    struct buf out;
    struct wire_metrics m;
    const char *err = NULL;

    wire_metrics_enc_init(&e, 1 << 20);
    assert_int_equal(wire_metrics_enc_add(&e, name, container, "", v), 0);
    buf_init(&out, 1 << 22);
    assert_int_equal(wire_metrics_enc_finish(&e, 1, ts_ms * 1000000, &out, 1),
                     0);
    assert_int_equal(wire_metrics_decode(e.samples.data, e.samples.len, &m,
                                         &err), 0);
    rmetrics_write(f->rm, "h1", &m);
    buf_fini(&out);
    wire_metrics_enc_fini(&e);
}

/* One METRICS frame of host h1 at ts_ms: host.cpu.user_pct = v. */
static void
write_sample(struct fixture *f, int64_t ts_ms, double v)
{
    write_metric(f, ts_ms, "host.cpu.user_pct", "", v);
}

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/api_metrics_pool_test.XXXXXX";
    char *err = NULL;

    assert_non_null(mkdtemp(tmpl));
    f->dir = xstrdup(tmpl);
    f->redis = redisserver_start_free(f->dir, &f->port, NULL);
    f->store = store_open(f->dir, &(struct store_options){ 0 }, &err);
    assert_non_null(f->store);
    f->base = event_base_new();
    assert_non_null(f->base);
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->port);
    f->rm = rmetrics_new(f->base, &(struct rmetrics_config){ .addr = addr });
    assert_non_null(f->rm);
    f->follow = follow_new(1 << 20);
    struct api_options opt = {
        .listen = "127.0.0.1:0", .store = f->store, .follow = f->follow,
        .stats = &f->stats, .query_threads = 1, .max_searches = 1,
    };
    f->api = api_new(f->base, &opt, &err);
    assert_non_null(f->api);
    api_metrics_attach(f->api, f->rm);
    /* four samples in one minute, two per 30 s bucket: 10,20 and 40,50 */
    f->t0_ms = (now_ns() / 1000000 - 5 * 60000) / 60000 * 60000;
    write_sample(f, f->t0_ms + 1000, 10);
    write_sample(f, f->t0_ms + 2000, 20);
    write_sample(f, f->t0_ms + 31000, 40);
    write_sample(f, f->t0_ms + 32000, 50);
    run_until_written(f, 4);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char *cmd = xasprintf("rm -rf '%s'", f->dir);

    api_metrics_attach(f->api, NULL);
    api_free(f->api);
    rmetrics_free(f->rm);
    follow_free(f->follow);
    event_base_free(f->base);
    store_close(f->store);
    redisserver_stop(f->redis);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- HTTP ---- */

static void
expect_req(struct fixture *f, const char *path, const char *post,
           int want_code, const char *want)
{
    apitest_expect(f->base, api_port(f->api), path, post, want_code, want);
}

/* The Grafana /query body: one metric target, 30 s buckets over 10 min. */
static char *
grafana_body(const struct fixture *f)
{
    return xasprintf("{\"targets\":[{\"target\":\"host.cpu.user_pct\","
                     "\"payload\":{\"host\":\"h1\"}}],\"range\":{\"from\":"
                     "%lld,\"to\":%lld},\"intervalMs\":30000}",
                     (long long)f->t0_ms, (long long)(f->t0_ms + 120000));
}

/* ---- tests ---- */

/* Both routes answer the exact bucket averages; the loop averaged none
 * and parsed no point of Redis's replies. */
static void
test_downsampled_on_worker(void **state)
{
    struct fixture *f = *state;
    uint64_t before = downsample_n_points_here();
    uint64_t parsed = rm_n_points_parsed_here();
    char want[160];

    snprintf(want, sizeof(want), "\"points\":[[%lld,15.0],[%lld,45.0]]",
             (long long)f->t0_ms, (long long)(f->t0_ms + 30000));
    expect_req(f, "/api/v1/metrics/query?name=host.cpu.user_pct&since=1h"
               "&step=30s", NULL, 200, "\"min\":10.0");
    char *path = xasprintf("/api/v1/metrics/query?name=host.cpu.user_pct"
                           "&since=%lld&until=%lld&step=30s",
                           (long long)f->t0_ms * 1000000,
                           (long long)(f->t0_ms + 59999) * 1000000);
    expect_req(f, path, NULL, 200, want);
    free(path);
    char *body = grafana_body(f);
    snprintf(want, sizeof(want), "\"datapoints\":[[15,%lld],[45,%lld]]",
             (long long)f->t0_ms, (long long)(f->t0_ms + 30000));
    expect_req(f, "/grafana/query", body, 200, want);
    free(body);
    assert_int_equal(downsample_n_points_here(), before);
    assert_int_equal(rm_n_points_parsed_here(), parsed);
    assert_int_equal(f->api->n_searches, 0);
    /* Downsampling here does count: the check can fail. */
    struct rm_point in[2] = { { 1, 1 }, { 2, 2 } }, out[2];
    downsample_avg(in, 2, 0, 10, 5, out, 2, NULL);
    assert_int_equal(downsample_n_points_here(), before + 2);
}

/* /api/v1/health: the restarts of the last hour and the error lines of
 * the last 15 minutes are exact, while the loop thread parsed no point
 * and matched no log line (the job ran inline on the loop, as /health did
 * before: 4 points and 5 lines there); containers=all counts no errors. */
static void
test_health_on_worker(void **state)
{
    struct fixture *f = *state;
    int64_t now_ms = now_ns() / 1000000;
    const char *msgs[] = { "an error here", "all fine", "FATAL: disk",
                           "panic at the disco", "ok again" };
    int code;

    write_metric(f, now_ms - 20 * 60000, "container.restarts", "web", 1);
    write_metric(f, now_ms - 1000, "container.restarts", "web", 3);
    write_metric(f, now_ms - 1000, "container.state", "web", 1);
    run_until_written(f, 7);
    for (int i = 0; i < 5; i++) {
        struct logrec r = {
            .time_ns = (now_ms - 60000 + i) * 1000000, .host = "h1",
            .container_id = "c1", .container = "web", .image = "img",
            .offset = (uint64_t)i + 1, .msg = msgs[i],
            .msg_len = strlen(msgs[i]),
        };
        assert_int_equal(store_append(f->store, &r), 1);
    }
    assert_int_equal(store_commit(f->store), 0);
    uint64_t parsed = rm_n_points_parsed_here();
    uint64_t scanned = api_metrics_n_err_scanned_here();
    char *reply = apitest_http(f->base, api_port(f->api), "/api/v1/health",
                               NULL, &code, NULL);
    assert_int_equal(code, 200);
    assert_non_null(strstr(reply, "\"error_lines_15m\":3,"));
    assert_non_null(strstr(reply, "\"restarts_1h\":2.0,"));
    assert_non_null(strstr(reply, "\"containers_running\":1,"));
    assert_non_null(strstr(reply, "\"redis\":{\"connected\":true"));
    free(reply);
    expect_req(f, "/api/v1/health?containers=all", NULL, 200,
               "\"error_lines_15m\":null");
    assert_int_equal(rm_n_points_parsed_here(), parsed);
    assert_int_equal(api_metrics_n_err_scanned_here(), scanned);
    assert_int_equal(f->api->n_searches, 0);
}

/* /health shows each host whose own metric caps refused samples: h1,
 * holding host.cpu.user_pct, sends 101 more names (the default
 * --max-metric-names-per-host is 100): 99 written, 2 refused, counted for
 * h1 and in all. */
static void
test_health_capped_hosts(void **state)
{
    struct fixture *f = *state;
    int64_t now_ms = now_ns() / 1000000;
    char name[32];

    expect_req(f, "/health", NULL, 200, "\"metrics_capped\":[]");
    for (int i = 0; i < 101; i++) {
        snprintf(name, sizeof(name), "made.up.%d", i);
        write_metric(f, now_ms, name, "", i);
    }
    run_until_written(f, 4 + 99);
    expect_req(f, "/health", NULL, 200, "\"metrics_capped\":[{\"host\":"
               "\"h1\",\"names\":100,\"series\":100,\"names_refused\":2,"
               "\"series_refused\":0}]");
    expect_req(f, "/health", NULL, 200, "\"metrics_host_names_refused\":2,"
               "\"metrics_host_series_refused\":0,"
               "\"metrics_hosts_capped\":1,");
}

/* A job that holds the only worker until released; n_points: what the
 * worker had downsampled when it started (its thread's count). */
struct blocker {
    struct pool_job job;
    int             is_release;     /* atomic */
    int             is_running;     /* atomic */
    uint64_t        n_points;       /* set before is_running */
};

static void
blocker_run(struct pool_job *j)
{
    struct blocker *b = j->arg;

    b->n_points = downsample_n_points_here();
    __atomic_store_n(&b->is_running, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 60000 && !pool_is_cancelled(j) &&
                    !__atomic_load_n(&b->is_release, __ATOMIC_SEQ_CST); i++)
        sleep_ms(1);
}

static void
blocker_done(struct pool_job *j, int is_run)
{
}

static void
run_loop(struct fixture *f, int ms)
{
    apitest_run_loop(f->base, ms);
}

/* A raw client sending path (a POST of body when not NULL). */
static int
raw_req(struct fixture *f, const char *path, const char *body)
{
    return apitest_raw(api_port(f->api), path, body);
}

/* Over --max-searches (1, held here): both metric routes answer 503 with
 * Retry-After, counted; the slot is never leaked. */
static void
test_over_search_cap(void **state)
{
    struct fixture *f = *state;
    int port = api_port(f->api), code;
    char *ra;

    assert_int_equal(api_search_admit(f->api), 0);
    uint64_t refused = f->stats.searches_refused;
    char *reply = apitest_http(f->base, port, "/api/v1/metrics/query?"
                               "name=host.cpu.user_pct&since=1h", NULL,
                               &code, &ra);
    assert_int_equal(code, 503);
    assert_non_null(ra);
    assert_non_null(strstr(reply, "too many searches"));
    free(reply);
    free(ra);
    char *body = grafana_body(f);
    reply = apitest_http(f->base, port, "/grafana/query", body, &code, &ra);
    free(body);
    assert_int_equal(code, 503);
    assert_non_null(ra);
    free(reply);
    free(ra);
    assert_int_equal(f->stats.searches_refused, refused + 2);
    api_search_leave(f->api);
    assert_int_equal(f->api->n_searches, 0);
}

/* A query whose points pass what one read may hold answers 422 with the
 * reason on both routes: narrowing it helps, and a 503 (what it got
 * before) tells a client such as Grafana to retry the same query. */
static void
test_too_big_is_422(void **state)
{
    struct fixture *f = *state;
    char addr[32];

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->port);
    struct rmetrics *small = rmetrics_new(f->base, &(struct rmetrics_config){
        .addr = addr, .max_query_bytes = 16 });
    assert_non_null(small);
    /* reads answer 503 until it is connected (and the layout checked) */
    struct rmetrics_counters k = { 0 };
    for (int i = 0; i < 2000 && !k.is_connected; i++) {
        run_loop(f, 5);
        rmetrics_get_counters(small, &k);
    }
    assert_true(k.is_connected);
    api_metrics_attach(f->api, small);
    expect_req(f, "/api/v1/metrics/query?name=host.cpu.user_pct&since=1h",
               NULL, 422, "narrow it");
    char *body = grafana_body(f);
    expect_req(f, "/grafana/query", body, 422, "metrics query too large");
    free(body);
    api_metrics_attach(f->api, f->rm);
    rmetrics_free(small);
    /* the same query within the bound still answers */
    expect_req(f, "/api/v1/metrics/query?name=host.cpu.user_pct&since=1h",
               NULL, 200, "\"min\":10.0");
}

static void
blocker_start(struct fixture *f, struct blocker *b)
{
    *b = (struct blocker){ .job = { .run = blocker_run,
                                    .done = blocker_done, .arg = b } };
    assert_int_equal(pool_submit(f->api->pool, &b->job), 0);
    for (int i = 0; i < 4000 &&
                    !__atomic_load_n(&b->is_running, __ATOMIC_SEQ_CST); i++)
        run_loop(f, 5);
    assert_true(__atomic_load_n(&b->is_running, __ATOMIC_SEQ_CST));
}

/* A client leaves while its downsampling waits behind a busy worker: the
 * slot comes back (ASan would see a use after free or a leak). The job
 * still runs: evhttp does not read while a request is in progress, so
 * nothing tells the loop before the reply is written and fails. A Grafana body's parse waits behind blocker a; blocker b is
 * queued behind it, so the downsampling waits behind b. */
static void
test_client_leaves(void **state)
{
    struct fixture *f = *state;
    char *body = grafana_body(f);
    struct blocker a, b;

    for (int k = 0; k < 2; k++) {
        blocker_start(f, &a);
        int fd = k == 0 ? raw_req(f, "/api/v1/metrics/query?name="
                                  "host.cpu.user_pct&since=1h", NULL)
                        : raw_req(f, "/grafana/query", body);
        struct blocker *last = &a;
        if (k == 1) {
            for (int i = 0; i < 4000 && f->api->n_parsing == 0; i++)
                run_loop(f, 5);
            assert_int_equal(f->api->n_parsing, 1);
            b = (struct blocker){ .job = { .run = blocker_run,
                                           .done = blocker_done, .arg = &b } };
            assert_int_equal(pool_submit(f->api->pool, &b.job), 0);
            __atomic_store_n(&a.is_release, 1, __ATOMIC_SEQ_CST);
            last = &b;
        }
        for (int i = 0; i < 4000 && f->api->n_searches < 1; i++)
            run_loop(f, 5);
        assert_int_equal(f->api->n_searches, 1);    /* queued behind last */
        assert_true(__atomic_load_n(&last->is_running, __ATOMIC_SEQ_CST));
        close(fd);
        run_loop(f, 50);                            /* the server sees EOF */
        __atomic_store_n(&last->is_release, 1, __ATOMIC_SEQ_CST);
        for (int i = 0; i < 4000 && f->api->n_searches > 0; i++)
            run_loop(f, 5);
        assert_int_equal(f->api->n_searches, 0);
    }
    free(body);
    expect_req(f, "/api/v1/metrics/query?name=host.cpu.user_pct&since=1h",
               NULL, 200, "\"max\":50.0");
}

/* The worker's downsampled points so far: a job queued now runs after
 * every job queued before it (one worker). */
static uint64_t
worker_points(struct fixture *f)
{
    struct blocker p = { .job = { .run = blocker_run, .done = blocker_done,
                                  .arg = &p },
                         .is_release = 1 };

    assert_int_equal(pool_submit(f->api->pool, &p.job), 0);
    for (int i = 0; i < 4000 &&
                    !__atomic_load_n(&p.is_running, __ATOMIC_SEQ_CST); i++)
        run_loop(f, 5);
    assert_true(__atomic_load_n(&p.is_running, __ATOMIC_SEQ_CST));
    run_loop(f, 5);                         /* its done callback */
    return p.n_points;
}

/* A client that leaves while Redis has not answered yet (stopped with
 * SIGSTOP: a slow or reconnecting Redis) gets no search slot and no job:
 * when the reply comes, a peek at its socket sees it gone (evhttp does
 * not read while a request is in progress, so its close callback never
 * came), and the worker downsamples nothing. Both routes. */
static void
test_client_leaves_during_redis(void **state)
{
    struct fixture *f = *state;
    char *body = grafana_body(f);
    const char *path = "/api/v1/metrics/query?name=host.cpu.user_pct"
                       "&since=1h";
    uint64_t p0 = worker_points(f);

    expect_req(f, path, NULL, 200, "\"max\":50.0");
    uint64_t one = worker_points(f) - p0;   /* what a query downsamples */
    assert_true(one > 0);
    for (int k = 0; k < 2; k++) {
        uint64_t before = worker_points(f);
        uint64_t refused = f->stats.searches_refused;
        uint64_t reqs = f->stats.http_requests;
        assert_int_equal(kill(f->redis, SIGSTOP), 0);
        int fd = k == 0 ? raw_req(f, path, NULL)
                        : raw_req(f, "/grafana/query", body);
        /* dispatched (a Grafana body parsed first): Redis is asked */
        for (int i = 0; i < 4000 && (f->stats.http_requests == reqs ||
                                    f->api->n_parsing > 0); i++)
            run_loop(f, 5);
        assert_int_equal(f->stats.http_requests, reqs + 1);
        assert_int_equal(f->api->n_parsing, 0);
        close(fd);
        run_loop(f, 50);
        assert_int_equal(kill(f->redis, SIGCONT), 0);
        /* Redis answers in order: this query's reply comes after the
         * one of the client gone, and its job is queued after any job
         * that one got */
        expect_req(f, path, NULL, 200, "\"max\":50.0");
        assert_int_equal(f->api->n_searches, 0);
        assert_int_equal(worker_points(f) - before, one);
        assert_int_equal(f->stats.searches_refused, refused);
    }
    free(body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_downsampled_on_worker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_health_capped_hosts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_health_on_worker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_over_search_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big_is_422, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_leaves_during_redis,
                                        setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
