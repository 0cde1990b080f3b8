/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_test: collector/metrics/redis_metrics.c against a real
 * redis-server and a real event_base (fixtures: tests/support/rmtest.h):
 * writes read back through every query function, retention trimming, the
 * series and metric-name caps, every key bounded and expiring (per-host
 * keys, the name and series indexes trimmed to what is alive, the older
 * layout converted on connect). Redis killed and restarted, never
 * there, reads at shutdown: redis_metrics_conn_test.c; the replies
 * (malformed, over the bounds, hostile): redis_metrics_read_test.c.
 */
#include "tests/support/rmtest.h"

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

/*
 * --max-series: a host's new series past its half (the per-host cap's
 * bound) are refused as the host's; once two hosts hold them all, a third
 * host's new series is dropped by the collector's cap; known series keep
 * being written.
 */
static void
test_rmetrics_series_cap(void **state)
{
    struct fx *f = *state;
    struct res r;

    rm_open(f, 4, 0, 0);                     /* 2 a host */
    assert_true(run_until(f, is_connected));
    write_frame(f, "h1", T0, frame1, 3);
    write_frame(f, "h2", T0, frame1, 3);
    write_frame(f, "h3", T0, frame1, 1);
    want = 4;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).samples_written, 4);
    assert_int_equal(ctr(f).samples_dropped, 3);
    assert_int_equal(ctr(f).host_series_refused, 2);
    assert_int_equal(ctr(f).series, 4);
    /* known series keep being written */
    write_frame(f, "h1", T0 + 1000, frame1, 2);
    want = 6;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).samples_dropped, 3);
    query(f, &r, "host.fs.used_pct", "h1", NULL, NULL);
    assert_int_equal(r.n, 1);
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

/* Runs the minute's housekeeping now, and the loop until every command it
 * started (the series sweep's too) has its reply. */
static void
housekeep(struct fx *f)
{
    event_active(f->rm->housekeep_ev, EV_TIMEOUT, 0);
    assert_int_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), 0);
    assert_true(run_until(f, is_idle));
}

static void
names(struct fx *f, struct res *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(rmetrics_names(f->rm, names_cb, r), 0);
    wait_res(f, r);
    assert_int_equal(r->err, 0);
}

/* Every logq:* key has a TTL in (0, max_ms]. */
static void
assert_ttls(struct fx *f, long long max_ms)
{
    redisReply *keys = redisCommand(f->sync, "KEYS logq:*");

    assert_non_null(keys);
    assert_true(keys->elements > 0);
    for (size_t i = 0; i < keys->elements; i++) {
        long long ttl = redis_int(f, "PTTL %s", keys->element[i]->str);
        if (ttl <= 0 || ttl > max_ms)
            fail_msg("key %s has PTTL %lld", keys->element[i]->str, ttl);
    }
    freeReplyObject(keys);
}

/*
 * A metric name, a container's series and their latest values, written by
 * an earlier collector process and not since, leave every listing once
 * idle for the retention (before any trimming: readers list alive entries
 * only), and every key at the next housekeeping (the series sweep finds
 * them in logq:series although this process never knew them); the live
 * ones stay. The old code listed the name and queried the gone container
 * for ever (its sets only grew).
 */
static void
test_rmetrics_index_trimmed(void **state)
{
    struct fx *f = *state;
    struct res r;
    static const struct sdef before[] = {
        { "app.gone", "", "", 1 },              /* a name that stops */
        { "container.cpu_pct", "old", "", 2 },  /* a container that goes */
        { "host.cpu.user_pct", "", "", 3 },
    };
    static const struct sdef after[] = {
        { "container.cpu_pct", "new", "", 4 },
        { "host.cpu.user_pct", "", "", 5 },
    };

    rm_open(f, 0, 0, 10000);                 /* 10 s retention */
    assert_true(run_until(f, is_connected));
    write_frame(f, "h1", T0, before, 3);
    want = 3;
    assert_true(run_until(f, has_written));
    names(f, &r);
    assert_int_equal(r.n, 3);
    rmetrics_free(f->rm);                    /* a restart */
    rm_open(f, 0, 0, 10000);
    assert_true(run_until(f, is_connected));
    fake_now = T0 + 5000;
    write_frame(f, "h1", fake_now, after, 2);
    fake_now = T0 + 70000;                   /* past retention + refresh */
    write_frame(f, "h1", fake_now, after, 2);
    want = 4;
    assert_true(run_until(f, has_written));
    /* the listings, before any trimming */
    names(f, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.text[0], "container.cpu_pct");
    assert_string_equal(r.text[1], "host.cpu.user_pct");
    query(f, &r, "container.cpu_pct", NULL, NULL, NULL);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.text[0], "h1|container.cpu_pct|new|");
    query(f, &r, "app.gone", NULL, NULL, NULL);
    assert_int_equal(r.n, 0);
    /* the keys, after the minute's housekeeping */
    assert_int_equal(redis_int(f, "HLEN logq:latest:h1"), 4);
    housekeep(f);
    assert_int_equal(redis_int(f, "ZCARD logq:names"), 2);
    assert_int_equal(redis_int(f, "EXISTS logq:name:app.gone"), 0);
    assert_int_equal(redis_int(f, "ZCARD logq:name:container.cpu_pct"), 1);
    assert_int_equal(redis_int(f, "ZCARD logq:series"), 2);
    assert_int_equal(redis_int(f, "HLEN logq:latest:h1"), 2);
    assert_int_equal(redis_nkeys(f, "logq:s:*"), 2);
    assert_int_equal(redis_int(f, "EXISTS %s",
                               "logq:s:h1|container.cpu_pct|old|"), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_latest(f->rm, "h1", latest_cb, &r), 0);
    wait_res(f, &r);
    assert_int_equal(r.n, 2);
    assert_true(res_has(&r, "container.cpu_pct|new| 1700000070000 4"));
    assert_ttls(f, 10000 + RM_EXPIRE_MARGIN_MS);
    assert_int_equal(ctr(f).redis_errors, 0);
}

/*
 * Senders making up metric names stop at --max-metric-names: each host at
 * its half (the per-host cap's bound: host_names_refused), and once two
 * hosts hold every slot a third host's new name is dropped, counted
 * (names_dropped and samples_dropped) and logged; known names keep being
 * written, new series of them too; names idle for the retention free
 * their slots and their keys at the next housekeeping. The old code wrote
 * every name.
 */
static void
test_rmetrics_names_cap(void **state)
{
    struct fx *f = *state;
    struct res r;
    struct sdef flood[10];
    char nm[10][32];

    for (int i = 0; i < 10; i++) {
        snprintf(nm[i], sizeof(nm[i]), "flood.%d", i);
        flood[i] = (struct sdef){ nm[i], "", "", i };
    }
    open_max_names = 6;                      /* 3 a host */
    rm_open(f, 0, 0, 10000);
    assert_true(run_until(f, is_connected));
    write_frame(f, "h1", T0, flood, 10);
    write_frame(f, "h2", T0, flood + 3, 7);
    write_frame(f, "h3", T0, flood + 6, 1);
    assert_true(run_until(f, is_idle));
    struct rmetrics_counters c = ctr(f);
    assert_int_equal(c.samples_written, 6);
    assert_int_equal(c.host_names_refused, 11);
    assert_int_equal(c.names_dropped, 1);
    assert_int_equal(c.samples_dropped, 12);
    assert_int_equal(c.names, 6);
    names(f, &r);
    assert_int_equal(r.n, 6);
    assert_int_equal(redis_int(f, "ZCARD logq:names"), 6);
    /* a known name, a new series of it (another host): written */
    write_frame(f, "h3", T0, flood, 1);
    want = 7;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).names_dropped, 1);
    query(f, &r, "flood.0", NULL, NULL, NULL);
    assert_int_equal(r.n, 2);
    /* after the retention the slots are free again */
    fake_now = T0 + 70000;
    housekeep(f);
    assert_int_equal(ctr(f).names, 0);
    assert_int_equal(ctr(f).series, 0);
    assert_int_equal(redis_int(f, "EXISTS logq:names"), 0);
    assert_int_equal(redis_nkeys(f, "logq:name:*"), 0);
    write_frame(f, "h1", fake_now, flood + 7, 3);
    want = 10;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).names_dropped, 1);
    assert_int_equal(ctr(f).host_names_refused, 11);
    names(f, &r);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.text[0], "flood.7");
}

/* One line per host: "host names series names_refused series_refused". */
static void
capped_cb(const struct rmetrics_host_caps *c, void *arg)
{
    struct res *r = arg;

    if (r->n < 16)
        snprintf(r->text[r->n], sizeof(r->text[r->n]), "%s %llu %llu %llu "
                 "%llu", c->host, (unsigned long long)c->names,
                 (unsigned long long)c->series,
                 (unsigned long long)c->names_refused,
                 (unsigned long long)c->series_refused);
    r->n++;
}

/* host sends n made-up names, or n series of one name (labels). */
static void
flood(struct fx *f, const char *host, int is_names, int n)
{
    struct sdef *s = xcalloc((size_t)n, sizeof(*s));
    char (*txt)[32] = xcalloc((size_t)n, sizeof(*txt));

    for (int i = 0; i < n; i++) {
        snprintf(txt[i], sizeof(txt[i]), "flood.%d", i);
        s[i] = is_names ? (struct sdef){ txt[i], "", "", i } :
                          (struct sdef){ "flood", "", txt[i], i };
    }
    write_frame(f, host, T0, s, (size_t)n);
    assert_true(run_until(f, is_idle));
    free(txt);
    free(s);
}

/*
 * No host can silence the others' metrics (issue 9): host a makes up
 * names past any cap, host c series past any cap; host b's new name and its
 * new series are still written and readable. The old code (caps per
 * collector only) refused b's: a flood filled --max-metric-names and
 * --max-series for every host until it had been idle for the retention.
 */
static void
test_rmetrics_host_caps(void **state)
{
    struct fx *f = *state;
    struct res r;
    static const struct sdef b1[] = {
        { "host.cpu.user_pct", "", "", 1 },
        { "container.cpu_pct", "web", "", 2 },
    };
    static const struct sdef b2[] = {
        { "container.cpu_pct", "db", "", 3 },
    };

    open_max_names = 20;
    rm_open(f, 40, 0, 0);                    /* 40 series, 20 names */
    assert_true(run_until(f, is_connected));
    flood(f, "a", 1, 100);                   /* names */
    flood(f, "c", 0, 100);                   /* series of one name */
    assert_true(ctr(f).samples_dropped > 0);
    uint64_t written = ctr(f).samples_written;
    write_frame(f, "b", T0, b1, 2);          /* a new name, new series */
    write_frame(f, "b", T0, b2, 1);          /* a new series */
    want = written + 3;
    assert_true(run_until(f, has_written));
    assert_true(redis_int(f, "ZRANK logq:names %s", "host.cpu.user_pct") >=
                0);                          /* listed */
    query(f, &r, "host.cpu.user_pct", "b", NULL, NULL);
    assert_int_equal(r.n, 1);
    assert_true(r.values[0][0] == 1);
    query(f, &r, "container.cpu_pct", "b", NULL, NULL);
    assert_int_equal(r.n, 2);
    /* counted per host: a at 10 names (20 / 2), c at 20 series (40 / 2) */
    struct rmetrics_counters c = ctr(f);
    assert_int_equal(c.host_names_refused, 90);
    assert_int_equal(c.host_series_refused, 80);
    assert_int_equal(c.names_dropped, 0);
    assert_int_equal(c.hosts_capped, 2);
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_foreach_capped(f->rm, 16, capped_cb, &r), 2);
    assert_int_equal(r.n, 2);
    assert_true(res_has(&r, "a 10 10 90 0"));
    assert_true(res_has(&r, "c 1 20 0 80"));
    memset(&r, 0, sizeof(r));
    assert_int_equal(rmetrics_foreach_capped(f->rm, 1, capped_cb, &r), 2);
    assert_int_equal(r.n, 1);
    /* idle for the retention, a and c free their slots and counts */
    fake_now = T0 + RM_DEFAULT_RETENTION_MS + 70000;
    write_frame(f, "b", fake_now, b2, 1);
    housekeep(f);
    assert_int_equal(ctr(f).hosts_capped, 0);
    assert_int_equal(ctr(f).series, 1);
    assert_int_equal(ctr(f).names, 1);
    flood(f, "a", 1, 12);
    assert_int_equal(ctr(f).host_names_refused, 92);
    assert_int_equal(ctr(f).names, 11);
}

/*
 * --max-metric-names-per-host and --max-series-per-host as set: a host
 * holds 2 names and 4 series; a name new to it past 2 is refused although
 * the collector knows it (another host sends it), a new series of a known
 * name past 4 likewise.
 */
static void
test_rmetrics_host_caps_set(void **state)
{
    struct fx *f = *state;
    static const struct sdef more[] = {
        { "host.fs.used_pct", "", "/x", 1 },
        { "host.fs.used_pct", "", "/y", 2 },
    };

    open_host_names = 2;
    open_host_series = 4;
    rm_open(f, 0, 0, 0);
    assert_true(run_until(f, is_connected));
    write_frame(f, "b", T0, frame1 + 3, 1);  /* container.cpu_pct */
    write_frame(f, "a", T0, frame1, 6);
    write_frame(f, "a", T0, more, 2);
    want = 5;
    assert_true(run_until(f, has_written));
    assert_true(run_until(f, is_idle));
    struct rmetrics_counters c = ctr(f);
    assert_int_equal(c.samples_written, 5);
    assert_int_equal(c.host_names_refused, 3);
    assert_int_equal(c.host_series_refused, 1);
    assert_int_equal(c.samples_dropped, 4);
    assert_int_equal(c.names, 3);
    assert_int_equal(redis_int(f, "ZCARD logq:name:host.fs.used_pct"), 3);
    assert_int_equal(redis_int(f, "ZCARD logq:name:container.cpu_pct"), 1);
}

/*
 * A Redis holding the layout of the previous version (logq:names and
 * logq:name:<name> as sets, with names and ids long gone; the older
 * logq:host_interval hash) is converted when the collector connects:
 * the names and series still in logq:series stay listed and queryable
 * (a host name holding '|' included), the others are gone from the names,
 * the indexes and the latest values, and writes work with no Redis error.
 * The old code listed the dead name and the dead latest values.
 */
static void
test_rmetrics_old_layout_migrates(void **state)
{
    struct fx *f = *state;
    struct res r;
    long long ttl = 24LL * 3600 * 1000 + RM_EXPIRE_MARGIN_MS;

    redis_ok(f, "SADD logq:names host.cpu.user_pct app.gone "
             "container.cpu_pct m");
    redis_ok(f, "SADD logq:name:host.cpu.user_pct %s",
             "h1|host.cpu.user_pct||");
    redis_ok(f, "SADD logq:name:app.gone %s", "h0|app.gone||");
    redis_ok(f, "SADD logq:name:container.cpu_pct %s %s",
             "h1|container.cpu_pct|web|", "h1|container.cpu_pct|gone|");
    redis_ok(f, "SADD logq:name:m %s", "h\\|x|m||");
    redis_ok(f, "ZADD logq:series %lld %s %lld %s %lld %s",
             T0 - 1000, "h1|host.cpu.user_pct||",
             T0 - 2000, "h1|container.cpu_pct|web|", T0 - 500, "h\\|x|m||");
    redis_ok(f, "ZADD %s %lld %lld:7", "logq:s:h1|host.cpu.user_pct||",
             T0 - 1000, T0 - 1000);
    redis_ok(f, "HSET logq:latest:h1 %s 1:7 %s 1:8 %s 1:9",
             "host.cpu.user_pct||", "container.cpu_pct|web|",
             "container.cpu_pct|gone|");
    redis_ok(f, "HSET %s %s 1:1 %s 1:2", "logq:latest:h|x", "m||", "dead||");
    redis_ok(f, "ZADD logq:hosts %lld h1 %lld %s", T0 - 1000, T0 - 500,
             "h|x");
    redis_ok(f, "HSET logq:host_interval h1 2000");
    rm_open(f, 0, 0, 0);
    assert_true(run_until(f, is_connected));
    assert_true(run_until(f, is_idle));
    names(f, &r);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.text[0], "container.cpu_pct");
    assert_string_equal(r.text[1], "host.cpu.user_pct");
    assert_string_equal(r.text[2], "m");
    assert_int_equal(redis_int(f, "EXISTS logq:name:app.gone"), 0);
    assert_int_equal(redis_int(f, "ZCARD logq:name:container.cpu_pct"), 1);
    redisReply *sc = redisCommand(f->sync, "ZSCORE logq:names %s",
                                  "host.cpu.user_pct");
    assert_non_null(sc);
    assert_int_equal(sc->type, REDIS_REPLY_STRING);
    assert_string_equal(sc->str, "1699999999000");      /* T0 - 1000 */
    freeReplyObject(sc);
    assert_true(redis_int(f, "PTTL logq:names") > ttl - 60000);
    assert_true(redis_int(f, "PTTL logq:name:m") > ttl - 60000);
    query(f, &r, "host.cpu.user_pct", NULL, NULL, NULL);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_points[0], 1);
    assert_true(r.values[0][0] == 7);
    query(f, &r, "m", "h|x", NULL, NULL);
    assert_int_equal(r.n, 0);                /* no points, but listed: */
    assert_int_equal(redis_int(f, "ZCARD logq:name:m"), 1);
    assert_int_equal(redis_int(f, "HLEN logq:latest:h1"), 2);
    assert_int_equal(redis_int(f, "HLEN %s", "logq:latest:h|x"), 1);
    assert_int_equal(redis_int(f, "HEXISTS %s %s", "logq:latest:h|x", "m||"),
                     1);
    assert_int_equal(redis_nkeys(f, "logq:host_interval"), 0);
    /* the new layout's writes and housekeeping, without an error */
    write_frame(f, "h1", T0, frame1, 6);
    want = 6;
    assert_true(run_until(f, has_written));
    housekeep(f);
    names(f, &r);
    assert_int_equal(r.n, 5);
    assert_int_equal(ctr(f).redis_errors, 0);
}

static int
series_empty(struct fx *f)
{
    return redis_int(f, "ZCARD logq:series") == 0 && ctr(f).pending == 0;
}

/*
 * The series sweep takes what Redis returns as untrusted, and works in
 * batches: ids that are not four escaped parts (a NUL, a dangling '\',
 * three parts) idle for the retention still leave logq:series (else they
 * would fill every batch for ever) and count as Redis errors, touching no
 * other key; 1500 idle ids go in a batch of 1000 and, a second later
 * rather than a minute, the other 500, each out of its host's latest
 * values too.
 */
static void
test_rmetrics_sweep_batches(void **state)
{
    struct fx *f = *state;
    size_t n = 1500, argc = 2 + 2 * n;
    const char **argv = xcalloc(argc, sizeof(*argv));
    char (*id)[32] = xcalloc(n, sizeof(*id));
    char score[24];

    rm_open(f, 0, 0, 10000);
    assert_true(run_until(f, is_connected));
    snprintf(score, sizeof(score), "%lld", T0 - 20000);
    redisReply *rp = redisCommand(f->sync, "ZADD logq:series %s %b %s %s "
                                  "%s %s", score, "h|m\0x|c|", (size_t)9,
                                  score, "h|m|c|l\\", score, "h|m|c");
    assert_non_null(rp);
    assert_int_equal(rp->integer, 3);
    freeReplyObject(rp);
    redis_ok(f, "HSET logq:latest:h m|c| 1:1");
    fake_now = T0;                           /* cutoff T0 - 10 s */
    housekeep(f);
    assert_int_equal(redis_int(f, "ZCARD logq:series"), 0);
    assert_int_equal(ctr(f).redis_errors, 3);
    assert_int_equal(redis_int(f, "HLEN logq:latest:h"), 1);

    argv[0] = "ZADD";
    argv[1] = "logq:series";
    for (size_t i = 0; i < n; i++) {          /* host h0..h2, label i */
        snprintf(id[i], sizeof(id[i]), "h%zu|m||%zu", i % 3, i);
        argv[2 + 2 * i] = score;
        argv[3 + 2 * i] = id[i];
        redis_ok(f, "HSET logq:latest:h%d m||%d 1:1", (int)(i % 3), (int)i);
    }
    rp = redisCommandArgv(f->sync, (int)argc, argv, NULL);
    assert_non_null(rp);
    assert_int_equal(rp->integer, (long long)n);
    freeReplyObject(rp);
    housekeep(f);
    assert_int_equal(redis_int(f, "ZCARD logq:series"), (long long)n - 1000);
    assert_true(run_until(f, series_empty));         /* the second batch */
    assert_int_equal(redis_nkeys(f, "logq:latest:h?"), 0);
    assert_int_equal(ctr(f).redis_errors, 3);
    free(id);
    free(argv);
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
        cmocka_unit_test_setup_teardown(test_rmetrics_index_trimmed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_names_cap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_host_caps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_host_caps_set, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_old_layout_migrates,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_sweep_batches, setup,
                                        teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
