/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_test: collector/metrics/redis_metrics.c against a real redis-server
 * (started per test on a free port in a temp dir, killed in teardown) and
 * a real event_base: writes read back through every query function,
 * retention trimming, the series cap, wrong-typed keys and malformed
 * entries planted with a synchronous hiredis client, Redis killed and
 * restarted (writes resume, the pending queue stays bounded), reads while
 * down and at shutdown. The clock is fake; only waits for redis-server and
 * for replies use the wall clock (bounded).
 */
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
        .max_query_bytes = open_max_query,
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
    f->port = redisserver_free_port();
    f->base = event_base_new();
    fake_now = T0;
    open_max_hosts = 0;
    open_max_reply = open_max_query = 0;
    redis_start(f);
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

/* ---- tests ---- */

static const struct sdef frame1[] = {
    { "host.cpu.user_pct", "", "", 12.5 },
    { "host.fs.used_pct", "", "/data|x", 40 },
    { "host.fs.used_pct", "", "/", 70.25 },
    { "container.cpu_pct", "web", "", 3 },
    { "container.cpu_pct", "we|b\\", "", 4 },
    { "shipper.metrics_interval_s", "", "", 2 },
};

static void
test_rmetrics_write_and_read(void **state)
{
    struct fx *f = *state;
    struct res r;

    rm_open(f, 0, 0, 0);
    assert_true(run_until(f, is_connected));
    write_frame(f, "h1", T0 - 2000, frame1, 6);
    fake_now = T0 + 5;
    write_frame(f, "h1", T0, frame1, 2);
    write_frame(f, "h|2", T0, frame1, 1);
    want = 9;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).samples_written, 9);
    assert_int_equal(ctr(f).samples_dropped, 0);
    assert_int_equal(ctr(f).redis_errors, 0);
    assert_int_equal(ctr(f).series, 7);

    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_names(f->rm, names_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.text[0], "container.cpu_pct");   /* sorted */
    assert_string_equal(r.text[3], "shipper.metrics_interval_s");

    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_hosts(f->rm, hosts_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.n, 2);
    assert_true(res_has(&r, "h1 1700000000005 2000"));
    assert_true(res_has(&r, "h|2 1700000000005 10000"));   /* default */

    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_latest(f->rm, "h1", latest_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.n, 6);
    assert_true(res_has(&r, "host.cpu.user_pct|| 1700000000000 12.5"));
    assert_true(res_has(&r, "host.fs.used_pct||/data|x 1700000000000 40"));
    assert_true(res_has(&r, "host.fs.used_pct||/ 1699999998000 70.25"));
    assert_true(res_has(&r, "container.cpu_pct|we|b\\| 1699999998000 4"));

    query(f, &r, "host.cpu.user_pct", "h1", NULL, NULL);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_points[0], 2);
    assert_true(r.values[0][0] == 12.5 && r.values[0][1] == 12.5);
    query(f, &r, "host.cpu.user_pct", NULL, NULL, NULL);   /* all hosts */
    assert_int_equal(r.n, 2);
    assert_string_equal(r.text[0], "h1|host.cpu.user_pct||");
    assert_string_equal(r.text[1], "h|2|host.cpu.user_pct||");
    query(f, &r, "host.fs.used_pct", "h1", "", "/data|x");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_points[0], 2);
    query(f, &r, "container.cpu_pct", "h1", "", NULL);     /* host only */
    assert_int_equal(r.n, 0);
    query(f, &r, "container.cpu_pct", "h1", "we|b\\", NULL);
    assert_int_equal(r.n, 1);
    assert_true(r.values[0][0] == 4);
    query(f, &r, "no.such.metric", NULL, NULL, NULL);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.err, 0);
    /* the range is inclusive and clips */
    struct rm_query q = { .name = "host.cpu.user_pct", .host = "h1",
                          .from_ms = T0, .to_ms = T0 };
    memset(&r, 0, sizeof(r));
    r.rm = f->rm;
    assert_int_equal(rmetrics_query(f->rm, &q, series_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.n_points[0], 1);
    /* the same frame again (a resend) adds no point */
    write_frame(f, "h1", T0, frame1, 1);
    want = 10;
    assert_true(run_until(f, has_written));
    query(f, &r, "host.cpu.user_pct", "h1", NULL, NULL);
    assert_int_equal(r.n_points[0], 2);
    assert_int_equal(rmetrics_query(f->rm, &(struct rm_query){ 0 },
                                    series_cb, &r), -1);
}

static void
test_rmetrics_retention_trims(void **state)
{
    struct fx *f = *state;
    struct res r;

    rm_open(f, 0, 0, 10000);                 /* 10 s */
    assert_true(run_until(f, is_connected));
    write_frame(f, "h1", T0, frame1, 1);
    write_frame(f, "h1", T0 + 1000, frame1, 1);
    want = 2;
    assert_true(run_until(f, has_written));
    fake_now = T0 + 70000;                   /* past retention + refresh */
    write_frame(f, "h1", fake_now, frame1, 1);
    /* a frame stamped before the retention is stored at receive time */
    write_frame(f, "h1", T0 - 3600000, frame1 + 1, 1);
    want = 4;
    assert_true(run_until(f, has_written));
    query(f, &r, "host.cpu.user_pct", "h1", NULL, NULL);
    assert_int_equal(r.n_points[0], 1);
    assert_int_equal(redis_int(f, "ZCARD logq:s:h1|host.cpu.user_pct||"), 1);
    assert_true(redis_int(f, "PTTL logq:s:h1|host.cpu.user_pct||") > 10000);
    query(f, &r, "host.fs.used_pct", "h1", NULL, NULL);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_points[0], 1);
}

static void
test_rmetrics_series_cap(void **state)
{
    struct fx *f = *state;
    struct res r;

    rm_open(f, 2, 0, 0);
    assert_true(run_until(f, is_connected));
    write_frame(f, "h1", T0, frame1, 3);
    want = 2;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).samples_written, 2);
    assert_int_equal(ctr(f).samples_dropped, 1);
    assert_int_equal(ctr(f).series, 2);
    /* known series keep being written */
    write_frame(f, "h1", T0 + 1000, frame1, 2);
    want = 4;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).samples_dropped, 1);
    query(f, &r, "host.fs.used_pct", "h1", NULL, NULL);
    assert_int_equal(r.n, 1);
}

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

/*
 * Per-host keys are bounded and expire like the series: every key this
 * process writes has a TTL of at most retention + margin (nothing lives
 * forever if the collector stops), a host idle for the retention leaves
 * every per-host key and index at the next housekeeping and frees its
 * slot, and hosts past max_hosts are dropped and counted. The interval of
 * a host is still read back.
 */
static void
test_rmetrics_hosts_bounded_and_expiring(void **state)
{
    struct fx *f = *state;
    struct res r;
    char host[32];

    open_max_hosts = 3;
    rm_open(f, 0, 0, 10000);                 /* 10 s retention */
    assert_true(run_until(f, is_connected));
    for (int i = 0; i < 5; i++) {            /* 2 hosts over the cap */
        snprintf(host, sizeof(host), "old%d", i);
        write_frame(f, host, T0, frame1 + 5, 1);   /* interval 2 s */
    }
    assert_true(run_until(f, is_idle));
    assert_int_equal(ctr(f).samples_written, 3);
    assert_int_equal(ctr(f).samples_dropped, 2);
    assert_int_equal(ctr(f).hosts_dropped, 2);
    assert_int_equal(ctr(f).hosts, 3);
    assert_int_equal(redis_int(f, "ZCARD logq:hosts"), 3);
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_hosts(f->rm, hosts_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 3);
    assert_true(res_has(&r, "old0 1700000000000 2000"));
    /* every key has a TTL within retention + margin */
    redisReply *keys = redisCommand(f->sync, "KEYS logq:*");
    assert_non_null(keys);
    assert_true(keys->elements > 0);
    for (size_t i = 0; i < keys->elements; i++) {
        long long ttl = redis_int(f, "PTTL %s", keys->element[i]->str);
        if (ttl < 0 || ttl > 10000 + RM_EXPIRE_MARGIN_MS)
            fail_msg("key %s has PTTL %lld", keys->element[i]->str, ttl);
    }
    freeReplyObject(keys);
    /* the old hosts go idle; a new host comes after the retention */
    fake_now = T0 + 70000;
    write_frame(f, "new", fake_now, frame1 + 5, 1);
    assert_true(run_until(f, is_idle));
    assert_int_equal(ctr(f).hosts_dropped, 3);      /* the cap is full */
    event_active(f->rm->housekeep_ev, EV_TIMEOUT, 0);   /* the minute */
    assert_int_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), 0);
    assert_true(run_until(f, is_idle));
    write_frame(f, "new", fake_now, frame1 + 5, 1);
    assert_true(run_until(f, is_idle));
    assert_int_equal(ctr(f).hosts, 1);             /* slots freed */
    assert_int_equal(ctr(f).hosts_dropped, 3);
    assert_int_equal(redis_int(f, "ZCARD logq:hosts"), 1);
    assert_int_equal(redis_nkeys(f, "logq:host_interval"), 0);
    assert_int_equal(redis_nkeys(f, "logq:latest:old*"), 0);
    assert_int_equal(redis_nkeys(f, "logq:interval:old*"), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_hosts(f->rm, hosts_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.text[0], "new 1700000070000 2000");
}

static void
test_rmetrics_bad_replies(void **state)
{
    struct fx *f = *state;
    struct res r;

    rm_open(f, 0, 0, 0);
    assert_true(run_until(f, is_connected));
    redis_ok(f, "SET logq:names oops");
    redis_ok(f, "SET %s x", "logq:s:h1|host.cpu.user_pct||");
    redis_ok(f, "HSET logq:latest:h2 bad|field zzz");
    redis_ok(f, "HSET logq:latest:h2 x 1:2");        /* 1 part, not 3 */
    redis_ok(f, "HSET logq:latest:h2 %s %s", "a|b|c", "5:1.5");
    redis_ok(f, "HSET logq:latest:h2 %s %s", "d|e|f", "7:x");
    write_frame(f, "h1", T0, frame1, 2);
    assert_true(run_until(f, is_idle));
    assert_int_equal(ctr(f).samples_written, 1);     /* the fs sample */
    assert_int_equal(ctr(f).samples_dropped, 1);     /* WRONGTYPE */
    uint64_t errs = ctr(f).redis_errors;
    assert_true(errs >= 2);                          /* ZADD, SADD names */

    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_names(f->rm, names_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.err, 1);
    assert_non_null(strstr(r.errstr, "WRONGTYPE"));

    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_latest(f->rm, "h2", latest_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 2);                        /* 2 skipped */
    assert_true(res_has(&r, "a|b|c 5 1.5"));
    /* a bad point is found where it is parsed (off the loop) */
    assert_true(res_has(&r, "d|e|f -1 0"));
    query(f, &r, "host.cpu.user_pct", "h1", NULL, NULL);
    assert_int_equal(r.err, 1);                      /* WRONGTYPE range */
    assert_true(ctr(f).redis_errors >= errs + 3);
    /* a series id of the wrong shape in the index is skipped */
    redis_ok(f, "SADD logq:name:host.fs.used_pct a|b");
    query(f, &r, "host.fs.used_pct", NULL, NULL, NULL);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 1);
    /* an element that is not a point */
    redis_ok(f, "ZADD %s 5 garbage", "logq:s:h1|host.fs.used_pct||/data\\|x");
    errs = ctr(f).redis_errors;
    query(f, &r, "host.fs.used_pct", NULL, NULL, NULL);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n_points[0], 1);
    /* the bad id again, and the point once parsed */
    assert_int_equal(ctr(f).redis_errors, errs + 2);
}

/*
 * What one reply may make the collector allocate is bounded (REDIS.md
 * "Bounds"), against the real server: a 2 MiB member of logq:names over
 * a 1 MiB byte cap, a host's latest hash of more elements than any read
 * asks for, and a query whose ranges hold more point bytes than a query
 * may: each read fails with the reason, the reply bounds are counted as
 * Redis errors, the connection comes back and the next reads work.
 */
static void
test_rmetrics_reply_bounds(void **state)
{
    struct fx *f = *state;
    struct res r;
    size_t big = 2u << 20;
    char *name = xmalloc(big);

    open_max_reply = 1u << 20;
    open_max_query = 4096;
    rm_open(f, 10, 0, 0);            /* element cap: 100001 (a range) */
    assert_true(run_until(f, is_connected));
    memset(name, 'n', big);
    redisReply *rp = redisCommand(f->sync, "SADD logq:names %b", name, big);
    assert_non_null(rp);
    freeReplyObject(rp);
    free(name);
    uint64_t errs = ctr(f).redis_errors;
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_names(f->rm, names_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.err, 1);
    assert_int_equal(r.n, 0);
    assert_non_null(strstr(r.errstr, "1048576 bytes"));
    assert_int_equal(ctr(f).redis_errors, errs + 1);
    assert_true(run_until(f, is_connected));
    redis_ok(f, "DEL logq:names");
    redis_ok(f, "SADD logq:names a b");
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_names(f->rm, names_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 2);

    /* 50001 fields: 100002 elements, one more than the cap */
    size_t nf = 50001, argc = 2 + 2 * nf;
    const char **argv = xcalloc(argc, sizeof(*argv));
    char (*fld)[16] = xcalloc(nf, sizeof(*fld));
    argv[0] = "HSET";
    argv[1] = "logq:latest:big";
    for (size_t i = 0; i < nf; i++) {
        snprintf(fld[i], sizeof(fld[i]), "m|c|%zu", i);
        argv[2 + 2 * i] = fld[i];
        argv[3 + 2 * i] = "1:1";
    }
    rp = redisCommandArgv(f->sync, (int)argc, argv, NULL);
    assert_non_null(rp);
    assert_int_equal(rp->integer, (long long)nf);
    freeReplyObject(rp);
    free(fld);
    free(argv);
    errs = ctr(f).redis_errors;
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_latest(f->rm, "big", latest_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.err, 1);
    assert_non_null(strstr(r.errstr, "100001 elements"));
    assert_int_equal(ctr(f).redis_errors, errs + 1);
    assert_true(run_until(f, is_connected));

    /* three series of 100 points: ~5.5 KB of points, the cap 4 KiB */
    static const struct sdef three[] = {
        { "m", "a", "", 1.5 }, { "m", "b", "", 2.5 }, { "m", "c", "", 3.5 },
    };
    for (int i = 0; i < 100; i++)
        write_frame(f, "h1", T0 - 100000 + i * 1000, three, 3);
    want = 300;
    assert_true(run_until(f, has_written));
    errs = ctr(f).redis_errors;
    query(f, &r, "m", NULL, NULL, NULL);
    assert_int_equal(r.err, RMETRICS_ERR_TOO_BIG);
    assert_int_equal(r.n, 0);
    assert_non_null(strstr(r.errstr, "narrow it"));
    assert_int_equal(ctr(f).redis_errors, errs);     /* not Redis's fault */
    query(f, &r, "m", NULL, "b", NULL);              /* one series fits */
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_points[0], 100);
}

/* ---- a hostile Redis ---- */

enum bad_mode { BAD_ARRAY, BAD_BULK, BAD_RANGE };

static void
bad_write(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, s, len);
        if (w <= 0)
            return;                 /* the collector hung up */
        s += w;
        len -= (size_t)w;
    }
}

/* The reply of mode to command cmd (of length len). */
static void
bad_answer(int fd, enum bad_mode mode, const char *cmd, size_t len)
{
    static const char id[] = "h1|m||";

    if (len == 3 && memcmp(cmd, "DEL", 3) == 0) {
        bad_write(fd, ":0\r\n", 4);
    } else if (mode == BAD_ARRAY) {
        bad_write(fd, "*2000000000\r\n", 13);
        for (int i = 0; i < 1000; i++)
            bad_write(fd, ":1\r\n:1\r\n:1\r\n:1\r\n", 16);
    } else if (mode == BAD_BULK) {
        static char x[1 << 16];
        memset(x, 'x', sizeof(x));
        bad_write(fd, "*1\r\n$1000000000\r\n", 18);
        for (int i = 0; i < 64; i++)        /* 4 MiB */
            bad_write(fd, x, sizeof(x));
    } else if (len == 8 && memcmp(cmd, "SMEMBERS", 8) == 0) {
        char b[64];
        int n = snprintf(b, sizeof(b), "*1\r\n$%zu\r\n%s\r\n", strlen(id),
                         id);
        bad_write(fd, b, (size_t)n);
    } else {                                /* a range, one over LIMIT */
        char b[32];
        int n = snprintf(b, sizeof(b), "*%d\r\n",
                         RMETRICS_QUERY_MAX_POINTS + 1);
        bad_write(fd, b, (size_t)n);
        for (int i = 0; i <= RMETRICS_QUERY_MAX_POINTS; i++)
            bad_write(fd, "$3\r\n1:1\r\n", 9);
    }
}

/* Serves connections on ls one at a time, answering every command by
 * mode (a RESP array of bulk strings; only its first word is read). */
static void
bad_serve(int ls, enum bad_mode mode)
{
    static char buf[1 << 16];

    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        size_t have = 0;
        if (fd < 0)
            _exit(1);
        for (;;) {
            ssize_t n = read(fd, buf + have, sizeof(buf) - have);
            if (n <= 0)
                break;
            have += (size_t)n;
            /* whole commands: *N\r\n then N of $L\r\n...\r\n */
            for (;;) {
                char *p = buf, *end = buf + have, *e;
                long na, l;
                const char *cmd = NULL;
                size_t cmdlen = 0;
                if (have == 0 || *p != '*' ||
                    (e = memchr(p, '\n', (size_t)(end - p))) == NULL)
                    break;
                na = strtol(p + 1, NULL, 10);
                p = e + 1;
                for (long i = 0; i < na && p != NULL; i++) {
                    if (p >= end || *p != '$' ||
                        (e = memchr(p, '\n', (size_t)(end - p))) == NULL) {
                        p = NULL;
                        break;
                    }
                    l = strtol(p + 1, NULL, 10);
                    if (e + 1 + l + 2 > end) {
                        p = NULL;
                        break;
                    }
                    if (i == 0) {
                        cmd = e + 1;
                        cmdlen = (size_t)l;
                    }
                    p = e + 1 + l + 2;
                }
                if (p == NULL)
                    break;
                bad_answer(fd, mode, cmd, cmdlen);
                have -= (size_t)(p - buf);
                memmove(buf, p, have);
            }
        }
        close(fd);
    }
}

static pid_t
bad_start(enum bad_mode mode, int *port)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(ls >= 0);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(ls, 4), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        bad_serve(ls, mode);
    close(ls);
    return pid;
}

static void
bad_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/*
 * A hostile Redis announces an array of 2e9 elements, or a bulk string of
 * 1e9 bytes and streams it, or answers a range with more points than its
 * LIMIT: each read fails at once with the reason, counted, and the
 * collector holds none of it. Before the bounds hiredis allocated the
 * announced array, the first two reads waited for ever while the bytes
 * piled up (the 10 s wait fails), and the range was taken whole.
 */
static void
test_rmetrics_hostile_replies(void **state)
{
    struct fx *f = *state;
    struct res r;
    static const enum bad_mode modes[] = { BAD_ARRAY, BAD_BULK, BAD_RANGE };
    static const char *const want_err[] = {
        "100001 elements", "1048576 bytes", "more points than asked",
    };

    open_max_reply = 1u << 20;
    for (size_t m = 0; m < 3; m++) {
        pid_t pid = bad_start(modes[m], &f->port);
        /* a range over LIMIT is within the elements a reply may have
         * with the default --max-series (200001) */
        rm_open(f, modes[m] == BAD_RANGE ? 0 : 10, 0, 0);
        assert_true(run_until(f, is_connected));
        memset(&r, 0, sizeof(r));
        if (modes[m] == BAD_RANGE) {
            query(f, &r, "m", NULL, NULL, NULL);
        } else {
            assert_int_equal(rmetrics_names(f->rm, names_cb, &r), 0);
            wait_res(f, &r);
        }
        assert_int_equal(r.err, 1);
        if (strstr(r.errstr, want_err[m]) == NULL)
            fail_msg("mode %zu: %s", m, r.errstr);
        assert_int_equal(ctr(f).redis_errors, 1);
        rmetrics_free(f->rm);
        f->rm = NULL;
        bad_stop(pid);
    }
}

static void
test_rmetrics_redis_restart(void **state)
{
    struct fx *f = *state;
    struct res r;

    rm_open(f, 0, 20, 0);                    /* at most 20 commands pending */
    assert_true(run_until(f, is_connected));
    write_frame(f, "h1", T0, frame1, 1);
    want = 1;
    assert_true(run_until(f, has_written));
    redis_kill(f);
    assert_true(run_until(f, is_disconnected));
    /* a read while down fails, later, not inline */
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_names(f->rm, names_cb, &r), 0);
    assert_int_equal(r.n_calls, 0);
    wait_res(f, &r);
    assert_int_equal(r.err, 1);
    /* writes while down queue up to the cap, the rest is dropped */
    for (int i = 1; i <= 10; i++)
        write_frame(f, "h1", T0 + i * 1000, frame1, 1);
    struct rmetrics_counters c = ctr(f);
    assert_true(c.pending <= 20);
    assert_true(c.samples_dropped > 0);
    uint64_t queued_samples = 10 - c.samples_dropped;
    redis_start(f);                          /* empty: data lost */
    assert_true(run_until(f, is_connected));
    assert_true(ctr(f).reconnects >= 1);
    want = 1 + queued_samples;
    assert_true(run_until(f, has_written));
    /* new writes rebuild the indexes of the restarted (empty) Redis */
    fake_now += 1;
    write_frame(f, "h1", T0 + 20000, frame1, 1);
    want = 2 + queued_samples;
    assert_true(run_until(f, has_written));
    query(f, &r, "host.cpu.user_pct", "h1", NULL, NULL);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_points[0], queued_samples + 1);
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_hosts(f->rm, hosts_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.n, 1);
}

static void
test_rmetrics_never_connected(void **state)
{
    struct fx *f = *state;
    struct res r;

    redis_kill(f);
    rm_open(f, 0, 5, 0);
    write_frame(f, "h1", T0, frame1, 6);
    assert_int_equal(ctr(f).pending, 5);
    assert_true(ctr(f).samples_dropped >= 1);
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_hosts(f->rm, hosts_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.err, 1);
    assert_string_equal(r.errstr, "redis not connected");
    struct rmetrics_config bad = { .addr = "nohostport" };
    assert_null(rmetrics_new(f->base, &bad));
    bad.addr = "";
    assert_null(rmetrics_new(f->base, &bad));
}

static void
test_rmetrics_free_with_reads_in_flight(void **state)
{
    struct fx *f = *state;
    struct res r1, r2;

    rm_open(f, 0, 0, 0);
    assert_true(run_until(f, is_connected));
    write_frame(f, "h1", T0, frame1, 6);
    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    r1.rm = f->rm;
    struct rm_query q = { .name = "host.fs.used_pct", .to_ms = INT64_MAX };
    assert_int_equal(rmetrics_query(f->rm, &q, series_cb, &r1), 0);
    assert_int_equal(rmetrics_hosts(f->rm, hosts_cb, &r2), 0);
    rmetrics_free(f->rm);
    f->rm = NULL;
    assert_int_equal(r1.n_calls, 1);
    assert_int_equal(r1.err, 1);
    assert_int_equal(r2.n_calls, 1);
    assert_string_equal(r2.errstr, "shutting down");
}

static void
test_rmetrics_id_codec(void **state)
{
    (void)state;
    struct buf b;
    char *p[4];
    struct rm_point pt;

    buf_init(&b, 64);
    assert_int_equal(rm_escape_append(&b, "a|b\\c", 5), 0);
    assert_int_equal(buf_append(&b, "|", 1), 0);
    assert_int_equal(rm_escape_append(&b, "", 0), 0);
    assert_int_equal(buf_append(&b, "|x|", 3), 0);
    assert_int_equal(rm_split((char *)b.data, b.len, 4, p), 0);
    assert_string_equal(p[0], "a|b\\c");
    assert_string_equal(p[1], "");
    assert_string_equal(p[2], "x");
    assert_string_equal(p[3], "");
    for (int i = 0; i < 4; i++)
        free(p[i]);
    assert_int_equal(rm_split((char *)b.data, b.len, 3, p), -1);
    assert_int_equal(rm_split("a|b\\", 4, 2, p), -1);   /* dangling */
    assert_int_equal(rm_split("a|b|c|d|e", 9, 4, p), -1);
    buf_fini(&b);
    buf_init(&b, 4);
    assert_int_equal(rm_escape_append(&b, "||||", 4), -1);  /* cap */
    buf_fini(&b);
    assert_int_equal(rm_point_parse("123:4.5", 7, &pt), 0);
    assert_int_equal(pt.ts_ms, 123);
    assert_true(pt.value == 4.5);
    assert_int_equal(rm_point_parse("123", 3, &pt), -1);
    assert_int_equal(rm_point_parse("x:1", 3, &pt), -1);
    assert_int_equal(rm_point_parse("1:1x", 4, &pt), -1);
    assert_int_equal(rm_point_parse("1:", 2, &pt), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rmetrics_id_codec),
        cmocka_unit_test_setup_teardown(test_rmetrics_write_and_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_retention_trims, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_series_cap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_rmetrics_hosts_bounded_and_expiring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_bad_replies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_reply_bounds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_hostile_replies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_redis_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_never_connected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_rmetrics_free_with_reads_in_flight, setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
