/* SPDX-License-Identifier: MIT */
/*
 * redisserver: a real redis-server for the cmocka tests that need one
 * (collector/metrics/redis_*_test.c through tests/support/rmtest.h,
 * collector/api/api_metrics_pool_test.c): a loopback port of its own, the
 * server started on it in a test's directory without persistence, killed
 * with the test process if it dies first (a failed test skips teardown).
 * redis-server comes from provisioning/deps.sh. Test-only: fails the test
 * (cmocka) when the server cannot be started.
 *
 * Unit tests run two at a time (tests/run-unit.sh), so a port must not be
 * one another test can take: the port is drawn below the kernel's
 * ephemeral range (no bind to port 0, no connect() gets it: not another
 * test's listener, nor a reconnecting client's own end, while the server
 * is down for a restart) and reserved for the whole test process by an
 * abstract unix socket named for it (no other test process picks it).
 * What still answers there is checked: a server counts as started only
 * when INFO's process_id is the pid we started (redisserver_test.c), so
 * a test never talks to another's server; on a port taken all the same,
 * redisserver_start_free goes on to another.
 */
#ifndef TESTS_SUPPORT_REDISSERVER_H
#define TESTS_SUPPORT_REDISSERVER_H

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

/* The kernel's ephemeral ports (ip_local_port_range): *lo..*hi. */
static inline void
redisserver_ephemeral(int *lo, int *hi)
{
    FILE *fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

    *lo = 32768;                /* Linux's default */
    *hi = 60999;
    if (fp == NULL)
        return;
    if (fscanf(fp, "%d %d", lo, hi) != 2 || *lo < 1 || *hi < *lo) {
        *lo = 32768;
        *hi = 60999;
    }
    fclose(fp);
}

/* Reserves port for this process until it ends: an abstract unix socket
 * named for it, left open (close-on-exec: the server does not hold it).
 * 1 if reserved now, 0 if a process (this one too) holds it. */
static inline int
redisserver_reserve(int port)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1,
                     "logq-test-port-%d", port);

    assert_true(s >= 0);
    if (bind(s, (struct sockaddr *)&a,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                         (size_t)n)) == 0)
        return 1;
    close(s);
    return 0;
}

/* 1 if a server could listen on 127.0.0.1:port now (as redis-server
 * binds: SO_REUSEADDR). */
static inline int
redisserver_is_free(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port) };

    assert_true(s >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    int is_free = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                  listen(s, 1) == 0;
    close(s);
    return is_free;
}

/* A port of 127.0.0.1 for this process's servers: the first from first
 * on (0: from a place drawn from the pid) that is outside the ephemeral
 * range, reserved now (redisserver_reserve) and free. The window: up to
 * 8192 ports below the range (above it when there is no room below; any
 * port when neither leaves room). */
static inline int
redisserver_port_from(int first)
{
    int lo, hi, base, n;

    redisserver_ephemeral(&lo, &hi);
    if (lo - 1024 >= 1024) {
        n = lo - 1024 < 8192 ? lo - 1024 : 8192;
        base = lo - n;
    } else if (65535 - hi >= 1024) {
        base = hi + 1;
        n = 65535 - hi < 8192 ? 65535 - hi : 8192;
    } else {
        base = 1024;
        n = 65535 - 1024;
    }
    unsigned draw = (unsigned)getpid() * 2654435761u % (unsigned)n;
    int at = first >= base && first < base + n ? first - base : (int)draw;
    for (int i = 0; i < n; i++) {
        int port = base + (at + i) % n;
        if (redisserver_reserve(port) && redisserver_is_free(port))
            return port;
    }
    fail_msg("no free port in %d..%d", base, base + n - 1);
    return -1;
}

/* A TCP port of 127.0.0.1 of this process's own (redisserver_port_from). */
static inline int
redisserver_free_port(void)
{
    return redisserver_port_from(0);
}

/* The process_id INFO gives on c (1 s for the answer), -1 for none. */
static inline long
redisserver_info_pid(redisContext *c)
{
    struct timeval tv = { 1, 0 };
    long pid = -1;

    if (redisSetTimeout(c, tv) != REDIS_OK)
        return -1;
    redisReply *r = redisCommand(c, "INFO server");
    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, "process_id:");
        if (p != NULL)
            pid = strtol(p + strlen("process_id:"), NULL, 10);
    }
    if (r != NULL)
        freeReplyObject(r);
    return pid;
}

/* The pid of the redis-server answering on 127.0.0.1:port, -1 when none
 * answers (or something that is not redis). */
static inline long
redisserver_pid_on(int port)
{
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    long pid = -1;

    if (c != NULL && c->err == 0)
        pid = redisserver_info_pid(c);
    redisFree(c);
    return pid;
}

/* Starts redis-server on 127.0.0.1:port in dir (no RDB, no AOF), with
 * the arguments of extra (NULL-terminated, at most 8; NULL: none) after
 * those, and waits until it answers as itself (INFO's process_id): 200
 * checks 50 ms apart, each taking up to 1 s to connect and 1 s for INFO
 * (redisserver_pid_on), so 10 s while nothing listens there, longer only
 * while a listener accepts and is slow to answer. Returns its pid, or 0
 * when the port was taken (it exited at start, or another process
 * answers there: it was killed). *sync (when not NULL) gets a connected
 * context, the caller's to free. */
static inline pid_t
redisserver_try(const char *dir, int port, redisContext **sync,
                const char *const *extra)
{
    char ps[16];
    pid_t pid;
    int st;
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
    for (int i = 0; i < 200; i++) {          /* 50 ms apart */
        struct timespec ts = { 0, 50 * 1000000L };
        long answering = redisserver_pid_on(port);
        if (answering == (long)pid) {
            if (sync != NULL) {
                *sync = redisConnect("127.0.0.1", port);
                assert_non_null(*sync);
                assert_int_equal((*sync)->err, 0);
            }
            return pid;
        }
        if (waitpid(pid, &st, WNOHANG) == pid) {
            if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
                fail_msg("redis-server did not run (port %d; installed by "
                         "provisioning/deps.sh?)", port);
            return 0;               /* could not listen: taken */
        }
        if (answering > 0) {        /* another's server */
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return 0;
        }
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("redis-server did not start on port %d", port);
    return -1;
}

/* redisserver_try on the port given (the same server again after a
 * kill: its port stays reserved); fails the test when it was taken. */
static inline pid_t
redisserver_start_args(const char *dir, int port, redisContext **sync,
                       const char *const *extra)
{
    pid_t pid = redisserver_try(dir, port, sync, extra);

    if (pid == 0)
        fail_msg("redis-server: port %d taken by another process", port);
    return pid;
}

static inline pid_t
redisserver_start(const char *dir, int port, redisContext **sync)
{
    return redisserver_start_args(dir, port, sync, NULL);
}

/* redisserver_try on a port of its own (redisserver_free_port), another
 * one while the port chosen turns out taken; *port gets it. */
static inline pid_t
redisserver_start_free(const char *dir, int *port, redisContext **sync)
{
    for (int i = 0; i < 20; i++) {
        *port = redisserver_free_port();
        pid_t pid = redisserver_try(dir, *port, sync, NULL);
        if (pid > 0)
            return pid;
    }
    fail_msg("redis-server: 20 ports taken in a row");
    return -1;
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
