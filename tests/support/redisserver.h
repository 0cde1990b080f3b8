/* SPDX-License-Identifier: MIT */
/*
 * redisserver: a real redis-server for the cmocka tests that need one
 * (collector/metrics/redis_metrics_test.c and redis_metrics_read_test.c,
 * collector/api/api_metrics_pool_test.c): a free loopback port, the
 * server started on it in a test's directory without persistence, killed
 * with the test process if it dies first (a failed test skips teardown).
 * redis-server comes from provisioning/deps.sh. Test-only: fails the test
 * (cmocka) when the server cannot be started.
 */
#ifndef TESTS_SUPPORT_REDISSERVER_H
#define TESTS_SUPPORT_REDISSERVER_H

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

/* A TCP port of 127.0.0.1 free a moment ago (the kernel's choice). */
static inline int
redisserver_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* Starts redis-server on 127.0.0.1:port in dir (no RDB, no AOF), with
 * the arguments of extra (NULL-terminated, at most 8; NULL: none) after
 * those, and waits until it answers (10 s at most). Returns its pid;
 * *sync (when not NULL) gets a connected context, the caller's to free. */
static inline pid_t
redisserver_start_args(const char *dir, int port, redisContext **sync,
                       const char *const *extra)
{
    char ps[16];
    pid_t pid;
    const char *argv[20] = { "redis-server", "--port", ps, "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no" };

    for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
        assert_true(i < 8);
        argv[11 + i] = extra[i];
    }
    snprintf(ps, sizeof(ps), "%d", port);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || chdir(dir) < 0)
            _exit(127);
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {          /* up to 10 s */
        struct timespec ts = { 0, 50 * 1000000L };
        redisContext *c = redisConnect("127.0.0.1", port);
        if (c != NULL && c->err == 0) {
            if (sync != NULL)
                *sync = c;
            else
                redisFree(c);
            return pid;
        }
        redisFree(c);
        if (waitpid(pid, NULL, WNOHANG) == pid)
            fail_msg("redis-server exited at start (port %d; installed by "
                     "provisioning/deps.sh?)", port);
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("redis-server did not start on port %d", port);
    return -1;
}

static inline pid_t
redisserver_start(const char *dir, int port, redisContext **sync)
{
    return redisserver_start_args(dir, port, sync, NULL);
}

/* Kills a server redisserver_start started (0 or less: a no-op). */
static inline void
redisserver_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

#endif
