/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_read_test: the replies collector/metrics/redis_metrics_read.c
 * takes from Redis (fixtures: tests/support/rmtest.h): wrong-typed keys and
 * malformed entries planted with a synchronous hiredis client into a real
 * redis-server, replies over the bounds of what one read may allocate,
 * and a hostile fake Redis in a child process (also one whose layout
 * conversion never ends).
 */
#include "tests/support/loopsrv.h"
#include "tests/support/rmtest.h"

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
    assert_true(errs >= 2);                          /* ZADD s, ZADD names */

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
    redis_ok(f, "ZADD logq:name:host.fs.used_pct %lld a|b", T0);
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
    redisReply *rp = redisCommand(f->sync, "ZADD logq:names %lld %b", T0, name,
                                  big);
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
    redis_ok(f, "ZADD logq:names %lld a %lld b", T0, T0);
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

enum bad_mode { BAD_ARRAY, BAD_BULK, BAD_RANGE, BAD_CONV };

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
    } else if (len == 4 && memcmp(cmd, "EVAL", 4) == 0 && mode == BAD_CONV) {
        bad_write(fd, "*2\r\n:1\r\n:1\r\n", 12);   /* more, for ever */
    } else if (len == 4 && memcmp(cmd, "EVAL", 4) == 0) {
        bad_write(fd, "*2\r\n:-1\r\n:0\r\n", 13);  /* the conversion:
                                                   * nothing to do */
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
    } else if (len == 13 && memcmp(cmd, "ZRANGEBYSCORE", 13) == 0) {
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
    unsigned lport;
    int ls = loopsrv_listen(&lport);

    *port = (int)lport;
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

/*
 * A Redis whose layout conversion never says done (a hostile or broken
 * server) holds the collector's metrics for a bounded number of calls:
 * then the conversion is given up, counted, and writes go. Without the
 * bound the collector never became ready (the 10 s wait fails).
 */
static void
test_rmetrics_conversion_bounded(void **state)
{
    struct fx *f = *state;

    pid_t pid = bad_start(BAD_CONV, &f->port);
    rm_open(f, 0, 0, 0);
    f->rm->conv_max_calls = 50;             /* RM_CONV_MAX_CALLS here */
    assert_true(run_until(f, is_connected));
    assert_int_equal(f->rm->n_conv_calls, 50);
    assert_int_equal(ctr(f).redis_errors, 1);
    rmetrics_free(f->rm);
    f->rm = NULL;
    bad_stop(pid);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rmetrics_bad_replies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_reply_bounds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_hostile_replies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rmetrics_conversion_bounded,
                                        setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
