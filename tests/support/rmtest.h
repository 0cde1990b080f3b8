/* SPDX-License-Identifier: MIT */
/*
 * rmtest: the fixtures of collector/metrics/redis_metrics_test.c (writes,
 * expiry, bounds of what is kept) and redis_metrics_read_test.c (replies:
 * malformed, over the bounds, hostile): a real redis-server started per
 * test on a port of its own (redisserver.h) in a temp dir (killed in
 * teardown), a real event_base, rmetrics on a fake clock, frames written
 * as a shipper sends them, read results collected by the callbacks, and a
 * synchronous hiredis client to plant or inspect keys. Only waits for
 * redis-server and for replies use the wall clock (bounded). Each test
 * file uses a part of it (hence no unused-function warning in here).
 * Test-only.
 */
#ifndef TESTS_SUPPORT_RMTEST_H
#define TESTS_SUPPORT_RMTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "collector/metrics/redis_metrics.h"
#include "collector/metrics/redis_metrics_internal.h"
#include "common/buf.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "tests/support/redisserver.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

#define T0 1700000000000LL          /* fake "now", ms */

static int64_t fake_now = T0;

static int64_t
fake_clock(void)
{
    return fake_now;
}

struct fx {
    char               dir[64];
    int                port;
    pid_t              redis;
    struct event_base *base;
    struct rmetrics   *rm;
    redisContext      *sync;
};

/* ---- redis-server ---- */

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static void
redis_start(struct fx *f)
{
    f->redis = redisserver_start(f->dir, f->port, &f->sync);
}

static void
redis_kill(struct fx *f)
{
    if (f->sync != NULL)
        redisFree(f->sync);
    f->sync = NULL;
    redisserver_stop(f->redis);
    f->redis = 0;
}

static long long
redis_int(struct fx *f, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    redisReply *r = redisvCommand(f->sync, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void
redis_ok(struct fx *f, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    redisReply *r = redisvCommand(f->sync, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

/* ---- loop helpers ---- */

static struct rmetrics_counters
ctr(struct fx *f)
{
    struct rmetrics_counters c;

    rmetrics_get_counters(f->rm, &c);
    return c;
}

/* Runs the loop until cond(f) or 10 s of wall time. */
static int
run_until(struct fx *f, int (*cond)(struct fx *))
{
    for (int i = 0; i < 10000; i++) {
        if (cond(f))
            return 1;
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        sleep_ms(1);
    }
    return cond(f);
}

static uint64_t want;                /* target of the predicates below */

static int
is_connected(struct fx *f)
{
    return ctr(f).is_connected;
}

static int
is_disconnected(struct fx *f)
{
    return !ctr(f).is_connected;
}

static int
has_written(struct fx *f)
{
    return ctr(f).samples_written >= want && ctr(f).pending == 0;
}

static int
is_idle(struct fx *f)
{
    return ctr(f).pending == 0;
}

/* ---- frames ---- */

struct sdef {
    const char *name, *ctr, *label;
    double      v;
};

static void
write_frame(struct fx *f, const char *host, int64_t ts_ms,
            const struct sdef *s, size_t n)
{
    struct wire_metrics_enc e;
    struct buf out;
    struct wire_metrics m;
    const char *err = NULL;

    wire_metrics_enc_init(&e, 1 << 20);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(wire_metrics_enc_add(&e, s[i].name, s[i].ctr,
                                              s[i].label, s[i].v), 0);
    buf_init(&out, 1 << 22);
    assert_int_equal(wire_metrics_enc_finish(&e, 1, ts_ms * 1000000, &out, 1),
                     0);
    assert_int_equal(wire_metrics_decode(e.samples.data, e.samples.len, &m,
                                         &err), 0);
    rmetrics_write(f->rm, host, &m);
    buf_fini(&out);
    wire_metrics_enc_fini(&e);
}

/* ---- read results ---- */

struct res {
    int    n_calls;
    int    err;
    char   errstr[256];
    size_t n;
    char   text[16][160];        /* one line per item */
    double values[16][4];        /* query: up to 4 point values */
    size_t n_points[16];
    struct rmetrics *rm;         /* query: whose series_cb this is */
};

static void
res_err(struct res *r, int err, const char *errstr)
{
    r->n_calls++;
    r->err = err;
    if (errstr != NULL)
        snprintf(r->errstr, sizeof(r->errstr), "%s", errstr);
}

static void
names_cb(int err, const char *errstr, const char *const *names, size_t n,
         void *arg)
{
    struct res *r = arg;

    res_err(r, err, errstr);
    r->n = n;
    for (size_t i = 0; i < n && i < 16; i++)
        snprintf(r->text[i], sizeof(r->text[i]), "%s", names[i]);
}

static void
hosts_cb(int err, const char *errstr, const struct rm_host *h, size_t n,
         void *arg)
{
    struct res *r = arg;

    res_err(r, err, errstr);
    r->n = n;
    for (size_t i = 0; i < n && i < 16; i++)
        snprintf(r->text[i], sizeof(r->text[i]), "%s %lld %lld", h[i].host,
                 (long long)h[i].last_seen_ms, (long long)h[i].interval_ms);
}

static void
latest_cb(int err, const char *errstr, const struct rm_latest *l, size_t n,
          void *arg)
{
    struct res *r = arg;

    res_err(r, err, errstr);
    r->n = n;
    for (size_t i = 0; i < n && i < 16; i++) {
        struct rm_point pt = { 0, 0 };
        if (rm_latest_parse(l[i].point, l[i].point_len, &pt) < 0)
            pt.ts_ms = -1;
        snprintf(r->text[i], sizeof(r->text[i]), "%s|%s|%s %lld %g",
                 l[i].name, l[i].container, l[i].label,
                 (long long)pt.ts_ms, pt.value);
    }
}

static void
series_cb(int err, const char *errstr, const struct rm_series *s, size_t n,
          void *arg)
{
    struct res *r = arg;

    res_err(r, err, errstr);
    r->n = n;
    for (size_t i = 0; i < n; i++)
        assert_true(s[i].raw != NULL && s[i].points == NULL);
    /* parsed here as a query worker would (the loop parses none) */
    struct rm_series_set *set = rmetrics_series_take(r->rm);
    assert_non_null(set);
    assert_int_equal(set->n, n);
    for (size_t i = 0; i < n; i++) {
        struct rm_series *si = &set->series[i];
        rmetrics_count_bad_points(r->rm, rm_series_parse(si));
        if (i >= 16)
            continue;
        snprintf(r->text[i], sizeof(r->text[i]), "%s|%s|%s|%s", si->host,
                 si->name, si->container, si->label);
        r->n_points[i] = si->n_points;
        for (size_t j = 0; j < si->n_points && j < 4; j++)
            r->values[i][j] = si->points[j].value;
        for (size_t j = 1; j < si->n_points; j++)
            assert_true(si->points[j - 1].ts_ms <= si->points[j].ts_ms);
    }
    rm_series_set_free(set);
}

static struct res *cur_res;

static int
res_done(struct fx *f)
{
    (void)f;
    return cur_res->n_calls > 0;
}

static void
wait_res(struct fx *f, struct res *r)
{
    cur_res = r;
    assert_true(run_until(f, res_done));
    assert_int_equal(r->n_calls, 1);
}

/* The set of lines in r->text contains line. */
static int
res_has(const struct res *r, const char *line)
{
    for (size_t i = 0; i < r->n && i < 16; i++)
        if (strcmp(r->text[i], line) == 0)
            return 1;
    return 0;
}

static void
query(struct fx *f, struct res *r, const char *name, const char *host,
      const char *container, const char *label)
{
    struct rm_query q = {
        .name = name, .host = host, .container = container, .label = label,
        .from_ms = 0, .to_ms = INT64_MAX / 2,
    };

    memset(r, 0, sizeof(*r));
    r->rm = f->rm;
    assert_int_equal(rmetrics_query(f->rm, &q, series_cb, r), 0);
    assert_int_equal(r->n_calls, 0);         /* never inline */
    wait_res(f, r);
}

/* ---- setup ---- */

static size_t open_max_hosts;        /* rm_open's max_hosts (0: default) */
static size_t open_max_reply;        /* its max_reply_bytes (0: default) */
static size_t open_max_query;        /* its max_query_bytes (0: default) */
static size_t open_max_names;        /* its max_names (0: default) */
static size_t open_host_names;       /* its max_names_per_host */
static size_t open_host_series;      /* its max_series_per_host */

static void
rm_open(struct fx *f, size_t max_series, size_t max_pending,
        int64_t retention_ms)
{
    char addr[64];

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->port);
    struct rmetrics_config cfg = {
        .addr = addr, .retention_ms = retention_ms, .max_series = max_series,
        .max_pending = max_pending, .clock_ms = fake_clock,
        .max_hosts = open_max_hosts, .max_reply_bytes = open_max_reply,
        .max_query_bytes = open_max_query, .max_names = open_max_names,
        .max_names_per_host = open_host_names,
        .max_series_per_host = open_host_series,
    };
    f->rm = rmetrics_new(f->base, &cfg);
    assert_non_null(f->rm);
}

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/rmetrics_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->base = event_base_new();
    fake_now = T0;
    open_max_hosts = 0;
    open_max_reply = open_max_query = open_max_names = 0;
    open_host_names = open_host_series = 0;
    /* a port of its own, kept for the restarts (redis_start) */
    f->redis = redisserver_start_free(f->dir, &f->port, &f->sync);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd = xasprintf("rm -rf %s", f->dir);

    rmetrics_free(f->rm);
    redis_kill(f);
    event_base_free(f->base);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}
static const struct sdef frame1[] = {
    { "host.cpu.user_pct", "", "", 12.5 },
    { "host.fs.used_pct", "", "/data|x", 40 },
    { "host.fs.used_pct", "", "/", 70.25 },
    { "container.cpu_pct", "web", "", 3 },
    { "container.cpu_pct", "we|b\\", "", 4 },
    { "shipper.metrics_interval_s", "", "", 2 },
};

/* Redis keys matching pattern (KEYS is fine on a test's private server). */
static long long
redis_nkeys(struct fx *f, const char *pattern)
{
    redisReply *r = redisCommand(f->sync, "KEYS %s", pattern);

    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    long long n = (long long)r->elements;
    freeReplyObject(r);
    return n;
}

#pragma GCC diagnostic pop

#endif
