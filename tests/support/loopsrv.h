/* SPDX-License-Identifier: MIT */
/*
 * loopsrv: the listening side of a scripted server in a client's unit
 * test: a TCP socket on 127.0.0.1 at a port the kernel picks, and the
 * test's own thread serving it (query/client_test.c, cmd_search_test.c;
 * redis_metrics_read_test.c forks its server on loopsrv_listen's
 * socket). What the server says is the test's; this only listens.
 * Every call is checked with cmocka's asserts. Header-only, test-only.
 */
#ifndef TESTS_SUPPORT_LOOPSRV_H
#define TESTS_SUPPORT_LOOPSRV_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

struct loopsrv {
    int       lfd;              /* the listening socket */
    unsigned  port;             /* its port */
    pthread_t thread;           /* the server (loopsrv_start) */
};

/* A socket listening on 127.0.0.1 (backlog 4) at a port the kernel
 * picked, written to *port; the caller closes it. */
static inline int
loopsrv_listen(unsigned *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return lfd;
}

/* Listens (srv->lfd, srv->port), then runs run(arg) on a new thread,
 * which accepts on srv->lfd. */
static inline void
loopsrv_start(struct loopsrv *srv, void *(*run)(void *), void *arg)
{
    srv->lfd = loopsrv_listen(&srv->port);
    assert_int_equal(pthread_create(&srv->thread, NULL, run, arg), 0);
}

/* Waits for the server thread to end, then closes the listener. */
static inline void
loopsrv_stop(struct loopsrv *srv)
{
    pthread_join(srv->thread, NULL);
    close(srv->lfd);
}

#endif
