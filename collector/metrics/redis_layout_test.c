/* SPDX-License-Identifier: MIT */
/*
 * redis_layout_test: the older layout's conversion on connect
 * (collector/metrics/redis_metrics_trim.c, collector/REDIS.md "Older
 * layouts") against a real redis-server (fixtures: tests/support/rmtest.h):
 * what a Redis that refuses EVAL does, exactly as REDIS.md says (one
 * warning and one redis_errors per connect, nothing retried; on an
 * unconverted layout the name-index writes fail, counted, until its keys
 * are deleted). The conversion itself on a small layout is
 * redis_metrics_test's old_layout_migrates.
 */
#include "tests/support/rmtest.h"

/* ---- stderr captured (the collector's log) ---- */

static int saved_fd2 = -1;

static void
capture_start(struct fx *f)
{
    char path[96];

    snprintf(path, sizeof(path), "%s/log", f->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    saved_fd2 = dup(2);
    assert_true(saved_fd2 >= 0);
    assert_true(dup2(fd, 2) == 2);
    close(fd);
}

/* Ends the capture and returns how many lines of it hold every one of
 * the NULL-terminated words. */
static int
capture_count(struct fx *f, const char *const *words)
{
    char path[96], line[1024];
    int n = 0;

    fflush(stderr);
    assert_true(dup2(saved_fd2, 2) == 2);
    close(saved_fd2);
    saved_fd2 = -1;
    snprintf(path, sizeof(path), "%s/log", f->dir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        fputs(line, stderr);                 /* still shown */
        int is_all = 1;
        for (size_t i = 0; words[i] != NULL; i++)
            is_all &= strstr(line, words[i]) != NULL;
        n += is_all;
    }
    fclose(fp);
    return n;
}

/* ---- helpers ---- */

/* The fixture's redis-server again, refusing EVAL (as an ACL without
 * @scripting would: an error reply). */
static void
redis_start_no_eval(struct fx *f)
{
    static const char *const no_eval[] = { "--rename-command", "EVAL", "",
                                           NULL };

    redis_kill(f);
    f->redis = redisserver_start_args(f->dir, f->port, &f->sync, no_eval);
}

static int
is_reconnected(struct fx *f)
{
    return ctr(f).is_connected && ctr(f).reconnects >= 1 &&
           ctr(f).pending == 0;
}

static void
names_read(struct fx *f, struct res *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(rmetrics_names(f->rm, names_cb, r), 0);
    wait_res(f, r);
}

static const char *const eval_warning[] = { " warn ", "cmd=EVAL", NULL };

/* ---- tests ---- */

/*
 * A Redis that refuses EVAL, on the new layout: one warning (cmd=EVAL)
 * and one redis_errors per connect, not retried on the same connection;
 * writes and reads work as ever.
 */
static void
test_layout_eval_refused(void **state)
{
    struct fx *f = *state;
    struct res r;

    redis_start_no_eval(f);
    capture_start(f);
    rm_open(f, 0, 0, 0);
    assert_true(run_until(f, is_connected));
    assert_true(run_until(f, is_idle));
    assert_int_equal(ctr(f).redis_errors, 1);
    write_frame(f, "h1", T0, frame1, 6);
    want = 6;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).redis_errors, 1);
    names_read(f, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 4);
    /* another connect: one more, and only one */
    redis_ok(f, "CLIENT KILL TYPE normal SKIPME yes");
    assert_true(run_until(f, is_reconnected));
    write_frame(f, "h1", T0 + 1000, frame1, 6);
    want = 12;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).redis_errors, 2);
    assert_int_equal(capture_count(f, eval_warning), 2);
    assert_int_equal(ctr(f).samples_dropped, 0);
}

/*
 * A Redis that refuses EVAL and holds the older layout (logq:names and
 * logq:name:x sets): left unconverted; the name-index writes on those
 * keys fail with WRONGTYPE, each counted (exactly: ZADD logq:name:x,
 * ZADD logq:names twice, ZREMRANGEBYSCORE logq:name:x), the points
 * themselves are written; the names listing fails (counted); once the
 * old keys are deleted by hand, the
 * next refresh (a minute later) rebuilds them without an error.
 */
static void
test_layout_eval_refused_old_layout(void **state)
{
    struct fx *f = *state;
    struct res r;
    static const struct sdef xy[] = {
        { "x", "", "", 1 },
        { "y", "", "", 2 },
    };

    redis_start_no_eval(f);
    redis_ok(f, "SADD logq:names x");
    redis_ok(f, "SADD logq:name:x %s", "h0|x||");
    capture_start(f);
    rm_open(f, 0, 0, 0);
    assert_true(run_until(f, is_connected));
    assert_true(run_until(f, is_idle));
    assert_int_equal(ctr(f).redis_errors, 1);
    write_frame(f, "h1", T0, xy, 2);
    want = 2;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).redis_errors, 1 + 4);
    assert_int_equal(capture_count(f, (const char *const[]){ "WRONGTYPE",
                                                            NULL }), 4);
    assert_int_equal(ctr(f).samples_dropped, 0);
    assert_int_equal(redis_int(f, "ZCARD %s", "logq:s:h1|x||"), 1);
    redisReply *t = redisCommand(f->sync, "TYPE logq:names");
    assert_non_null(t);
    assert_string_equal(t->str, "set");      /* not converted */
    freeReplyObject(t);
    names_read(f, &r);
    assert_int_equal(r.err, 1);              /* the listing fails too, */
    assert_int_equal(ctr(f).redis_errors, 6);    /* counted */
    /* the old keys deleted by hand: the next refresh rebuilds them */
    redis_ok(f, "DEL logq:names logq:name:x");
    fake_now = T0 + RM_REFRESH_MS;
    write_frame(f, "h1", fake_now, xy, 2);
    want = 4;
    assert_true(run_until(f, has_written));
    assert_int_equal(ctr(f).redis_errors, 6);
    names_read(f, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(redis_int(f, "ZCARD logq:name:x"), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout_eval_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_layout_eval_refused_old_layout,
                                        setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
