/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_conn_test: collector/metrics/redis_metrics.c against a
 * real redis-server and a real event_base (fixtures: tests/support/
 * rmtest.h) when the connection goes: Redis killed and restarted (writes
 * resume, the pending queue stays bounded), never there (reads while
 * down), freed with reads in flight (at shutdown). Split out of
 * redis_metrics_test.c (writes, reads, caps, keys bounded and expiring).
 */
#include "tests/support/rmtest.h"

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

int
main(void)
{
    const struct CMUnitTest tests[] = {
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
