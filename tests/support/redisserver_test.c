/* SPDX-License-Identifier: MIT */
/*
 * redisserver_test: the port a test's redis-server gets is its own
 * (tests/support/redisserver.h): outside the kernel's ephemeral range,
 * reserved for this process (asked again, another port comes), and a
 * server counts as started only when it answers as itself (INFO's
 * process_id): on a port where another redis-server or another listener
 * already is, the start reports the port taken (so redisserver_start_free
 * moves on) and leaves the other server alone. Needs redis-server, as
 * the Redis metrics tests do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/redisserver.h"
#include "tests/support/testdir.h"

/* The servers' directory (they write nothing there: no RDB, no AOF), one
 * for the whole run, removed at exit, also when a failed assertion skips
 * a test's end (tests/support/testdir.h). */
static char *dir;

static int
group_setup(void **state)
{
    (void)state;
    dir = testdir_make("redisserver_test");
    return dir != NULL ? 0 : -1;
}

/* Two servers: two ports, neither one the kernel hands out to bind(0) or
 * connect() when the range leaves room below it, each answering with its
 * own pid; the same port again after a stop (a test's restart). */
static void
test_own_ports(void **state)
{
    (void)state;
    int lo, hi, p1, p2;

    redisserver_ephemeral(&lo, &hi);
    pid_t a = redisserver_start_free(dir, &p1, NULL);
    pid_t b = redisserver_start_free(dir, &p2, NULL);
    assert_int_not_equal(p1, p2);
    if (lo - 1024 >= 1024) {
        assert_true(p1 < lo && p2 < lo);
    }
    assert_int_equal(redisserver_pid_on(p1), a);
    assert_int_equal(redisserver_pid_on(p2), b);
    redisserver_stop(a);
    assert_int_equal(redisserver_pid_on(p1), -1);
    redisContext *c = NULL;
    a = redisserver_start(dir, p1, &c);
    assert_non_null(c);
    assert_int_equal(redisserver_info_pid(c), a);
    redisFree(c);
    redisserver_stop(a);
    redisserver_stop(b);
}

/* A port given out is reserved: not given out again, to this process or
 * another (the reservation is a name only one socket can hold). */
static void
test_port_reserved(void **state)
{
    (void)state;
    int p = redisserver_free_port();

    assert_int_equal(redisserver_reserve(p), 0);
    assert_int_not_equal(redisserver_port_from(p), p);
}

/* Another redis-server on the port: ours cannot listen there; the start
 * says the port is taken instead of handing back a context on the other
 * server, which goes on answering as itself. */
static void
test_other_server_is_not_ours(void **state)
{
    (void)state;
    int port;
    redisContext *c = NULL;

    pid_t other = redisserver_start_free(dir, &port, NULL);
    assert_int_equal(redisserver_try(dir, port, &c, NULL), 0);
    assert_null(c);
    assert_int_equal(redisserver_pid_on(port), other);
    redisserver_stop(other);
}

/* A listener that is not redis (it never answers): taken too. */
static void
test_other_listener_is_not_ours(void **state)
{
    (void)state;
    int port = redisserver_free_port();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port) };

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 16), 0);
    assert_int_equal(redisserver_try(dir, port, NULL, NULL), 0);
    close(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_ports),
        cmocka_unit_test(test_port_reserved),
        cmocka_unit_test(test_other_server_is_not_ours),
        cmocka_unit_test(test_other_listener_is_not_ours),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
