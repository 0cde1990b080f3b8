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

/* Sends argv (argc arguments) on the test's own connection, pipelined:
 * the replies are read by redis_drain. */
static int n_piped;

static void
redis_pipe(struct fx *f, int argc, const char **argv)
{
    assert_int_equal(redisAppendCommandArgv(f->sync, argc, argv, NULL),
                     REDIS_OK);
    n_piped++;
}

static void
redis_drain(struct fx *f)
{
    for (; n_piped > 0; n_piped--) {
        redisReply *r = NULL;
        assert_int_equal(redisGetReply(f->sync, (void **)&r), REDIS_OK);
        assert_non_null(r);
        assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
        freeReplyObject(r);
    }
}

#define BIG_IDS   100000
#define BIG_NAMES 25
#define BIG_HOSTS 100

/* The old layout of REDIS.md's figure: 100000 ids of 25 names, every
 * second one still in logq:series (score T0 - i % 1000), 100000 latest
 * values of 100 hosts (one per id), and a name whose ids are all gone. */
static void
big_old_layout(struct fx *f)
{
    const char **argv = xcalloc(2 + 2 * 1000, sizeof(*argv));
    char (*txt)[48] = xcalloc(2 * 1000, sizeof(*txt));
    char (*sc)[24] = xcalloc(500, sizeof(*sc));
    char key[64];

    for (int i0 = 0; i0 < BIG_IDS; i0 += 1000) {
        int n = 0;
        for (int i = i0; i < i0 + 1000; i++) {       /* one host, 10 ids */
            snprintf(txt[2 * n], sizeof(txt[0]), "m%d||%d", i % BIG_NAMES, i);
            snprintf(txt[2 * n + 1], sizeof(txt[0]), "h%d|m%d||%d",
                     (i / 10) % BIG_HOSTS, i % BIG_NAMES, i);
            n++;
        }
        for (int j = 0; j < n; j += 10) {    /* HSET of each id's host */
            snprintf(key, sizeof(key), "logq:latest:h%d",
                     ((i0 + j) / 10) % BIG_HOSTS);
            argv[0] = "HSET";
            argv[1] = key;
            for (int k = 0; k < 10; k++) {
                argv[2 + 2 * k] = txt[2 * (j + k)];
                argv[3 + 2 * k] = "1:1";
            }
            redis_pipe(f, 22, argv);
        }
        for (int m = 0; m < BIG_NAMES; m++) {    /* a SADD per name */
            int k = 2;
            snprintf(key, sizeof(key), "logq:name:m%d", m);
            argv[0] = "SADD";
            argv[1] = key;
            for (int i = m; i < 1000; i += BIG_NAMES)
                argv[k++] = txt[2 * i + 1];
            redis_pipe(f, k, argv);
        }
        argv[0] = "ZADD";                   /* the even ones in series */
        argv[1] = "logq:series";
        for (int i = 0; i < 1000; i += 2) {
            snprintf(sc[i / 2], sizeof(sc[0]), "%lld", T0 - (i0 + i) % 1000);
            argv[2 + i] = sc[i / 2];
            argv[3 + i] = txt[2 * i + 1];
        }
        redis_pipe(f, 2 + 1000, argv);
        redis_drain(f);
    }
    for (int n = 0; n < BIG_NAMES; n++) {
        snprintf(key, sizeof(key), "m%d", n);
        redis_pipe(f, 3, (const char *[]){ "SADD", "logq:names", key });
    }
    for (int h = 0; h < BIG_HOSTS; h++) {
        snprintf(key, sizeof(key), "h%d", h);
        redis_pipe(f, 4, (const char *[]){ "ZADD", "logq:hosts", "1", key });
    }
    redis_pipe(f, 3, (const char *[]){ "SADD", "logq:names", "m.dead" });
    redis_pipe(f, 3, (const char *[]){ "SADD", "logq:name:m.dead",
                                       "h0|m.dead||" });
    redis_drain(f);
    free(sc);
    free(txt);
    free(argv);
}

static int
is_converting(struct fx *f)
{
    return f->rm->n_conv_calls >= 20;
}

/* The longest EVAL in Redis's SLOWLOG, us (*n_evals: how many it holds;
 * Redis 7 logs the commands a script calls too). */
static long long
slowest_eval(struct fx *f, size_t *n_evals)
{
    redisReply *r = redisCommand(f->sync, "SLOWLOG GET 100000");
    long long max = 0;

    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    *n_evals = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->elements < 4 || e->element[3]->elements < 1 ||
            strcmp(e->element[3]->element[0]->str, "EVAL") != 0)
            continue;
        (*n_evals)++;
        if (e->element[2]->integer > max)
            max = e->element[2]->integer;
    }
    freeReplyObject(r);
    return max;
}

/*
 * The older layout at REDIS.md's size (100000 ids of 25 names, 100000
 * latest values of 100 hosts) is converted in bounded calls: at least
 * 100 of them, none touching more than twice RM_CONV_BATCH elements (an
 * HSCAN may pass its COUNT), each short in Redis's own SLOWLOG (the one
 * script took 0.98 s). A collector stopped midway and started again goes
 * on; a frame written while it converts waits and is written after; the
 * result is the one script's: 25 names of 2000 ids each, the dead name
 * gone, 500 latest values a host, nothing of the conversion left.
 */
static void
test_layout_converts_in_batches(void **state)
{
    struct fx *f = *state;
    struct res r;
    size_t n_evals;

    big_old_layout(f);
    redis_ok(f, "CONFIG SET slowlog-log-slower-than 1000");     /* 1 ms */
    redis_ok(f, "CONFIG SET slowlog-max-len 100000");
    redis_ok(f, "SLOWLOG RESET");
    rm_open(f, 0, 0, 0);
    assert_true(run_until(f, is_converting));
    uint64_t first_calls = f->rm->n_conv_calls;
    rmetrics_free(f->rm);                    /* stopped midway */
    assert_int_equal(redis_int(f, "EXISTS logq:conv"), 1);
    rm_open(f, 0, 0, 0);
    write_frame(f, "h1", T0, frame1, 1);     /* waits for the conversion */
    want = 1;
    assert_true(run_until(f, has_written));
    uint64_t calls = first_calls + f->rm->n_conv_calls;
    long long max_us = slowest_eval(f, &n_evals);
    print_message("conversion: %llu calls, at most %llu elements, "
                  "slowest %lld us (SLOWLOG, %zu EVALs over 1 ms)\n",
                  (unsigned long long)calls,
                  (unsigned long long)f->rm->conv_max_n, max_us, n_evals);
    assert_true(calls >= BIG_IDS / RM_CONV_BATCH);
    assert_true(f->rm->conv_max_n <= 2 * RM_CONV_BATCH);
    assert_true(n_evals <= calls);
    assert_true(max_us < 250000);            /* the one script: 980000 */
    assert_int_equal(ctr(f).redis_errors, 0);
    assert_int_equal(redis_nkeys(f, "logq:conv*"), 0);
    assert_int_equal(redis_int(f, "ZCARD logq:names"), BIG_NAMES + 1);
    assert_int_equal(redis_int(f, "ZCARD logq:name:m0"), BIG_IDS /
                     BIG_NAMES / 2);
    assert_int_equal(redis_int(f, "ZCARD logq:name:m24"), BIG_IDS /
                     BIG_NAMES / 2);
    assert_int_equal(redis_int(f, "EXISTS logq:name:m.dead"), 0);
    redisReply *sc = redisCommand(f->sync, "ZSCORE logq:names m0");
    assert_non_null(sc);
    assert_string_equal(sc->str, "1700000000000");   /* its newest id */
    freeReplyObject(sc);
    for (int h = 0; h < BIG_HOSTS; h++)
        assert_int_equal(redis_int(f, "HLEN logq:latest:h%d", h),
                         BIG_IDS / BIG_HOSTS / 2 + (h == 1));
    assert_true(redis_int(f, "PTTL logq:name:m3") > 0);
    names_read(f, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, BIG_NAMES + 1);    /* and host.cpu.user_pct */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout_eval_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_layout_eval_refused_old_layout,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout_converts_in_batches,
                                        setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
