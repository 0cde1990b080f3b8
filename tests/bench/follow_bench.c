/* SPDX-License-Identifier: MIT */
/*
 * follow_bench: what one live follower can carry through the collector's
 * follow path alone (no shipper, no ingest, no logq): the real HTTP API on
 * 127.0.0.1 (api_new, default query workers), lines staged and published
 * as ingest does (follow_stage, follow_publish), a raw client on the same
 * thread that reads and counts the lines. Lines are published in rounds
 * while at most --window lines are outstanding (published, not yet read),
 * so the follower is never dropped for a full feed; BUSY_US > 0 keeps the
 * loop busy that long every 1 ms more (ingest's share of the real loop);
 * prints lines/s and
 * MiB/s of messages, and how many followers were dropped (must be 0).
 * The same source builds against another tree's libraries for an A/B
 * (BENCHMARKS.md "Live tail"). Not in make test:
 *   make build/release/follow-bench
 *   build/release/follow-bench [LINES [MSG_BYTES [WINDOW [BUSY_US]]]]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "collector/api/api.h"
#include "collector/search/follow.h"
#include "collector/stats.h"
#include "collector/store/store.h"
#include "common/record.h"
#include "common/xmalloc.h"

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
run_loop(struct event_base *base, int usec)
{
    struct timeval tv = { 0, usec };

    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* Reads what is there; returns the record lines in it (a '\n' after
 * '}': the chunks' own CRLFs are not lines; *last carries the byte before
 * across reads). */
static uint64_t
drain(int fd, char *last)
{
    static char tmp[1 << 20];
    uint64_t n = 0;
    ssize_t r;

    while ((r = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0) {
        for (ssize_t i = 0; i < r; i++) {
            if (tmp[i] == '\n' && *last == '}')
                n++;
            *last = tmp[i];
        }
    }
    return n;
}

/* A loop turn busy for busy_us (what ingest's turns cost the real
 * collector's loop), then 1 ms free. */
static void
busy_cb(evutil_socket_t fd, short what, void *arg)
{
    double end = now_s() + (double)*(const long *)arg / 1e6;

    (void)fd;
    (void)what;
    while (now_s() < end)
        ;
}

int
main(int argc, char **argv)
{
    uint64_t n_lines = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    size_t msg_bytes = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000;
    uint64_t window = argc > 3 ? strtoull(argv[3], NULL, 10) : 2048;
    long busy_us = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
    char dir[] = "/tmp/follow_bench.XXXXXX", *err = NULL;
    struct collector_stats stats;
    char *msg = xmalloc(msg_bytes + 32);

    if (mkdtemp(dir) == NULL)
        return 1;
    memset(&stats, 0, sizeof(stats));
    struct store *st = store_open(dir, NULL, &err);
    struct event_base *base = event_base_new();
    struct follow *fl = follow_new((size_t)64 << 20);
    struct api_options opt = {
        .listen = "127.0.0.1:0", .store = st, .follow = fl, .stats = &stats,
    };
    struct api *api = st && base ? api_new(base, &opt, &err) : NULL;
    if (api == NULL) {
        fprintf(stderr, "follow_bench: %s\n", err ? err : "cannot start");
        return 1;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = htons((uint16_t)api_port(api));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const char req[] = "GET /api/v1/follow HTTP/1.1\r\n"
                              "Host: 127.0.0.1\r\n\r\n";
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
        fprintf(stderr, "follow_bench: connect: %s\n", strerror(errno));
        return 1;
    }
    struct event *busy = event_new(base, -1, EV_PERSIST, busy_cb, &busy_us);
    struct timeval every = { 0, busy_us + 1000 };
    if (busy_us > 0 && (busy == NULL || event_add(busy, &every) < 0))
        return 1;
    for (int i = 0; i < 100; i++)     /* subscribed, stream begun */
        run_loop(base, 2000);
    uint64_t got = 0, sent = 0;
    char last = 0;

    (void)drain(fd, &last);             /* the head */
    memset(msg, 'x', msg_bytes);
    double t0 = now_s(), t_end = t0 + 60;
    while (got < n_lines && now_s() < t_end && stats.follow_clients_dropped
           == 0) {
        while (sent < n_lines && sent - got < window) {
            uint64_t k = window - (sent - got);
            for (uint64_t i = 0; i < k && sent < n_lines; i++, sent++) {
                int h = snprintf(msg, 32, "line %llu ",
                                 (unsigned long long)sent);
                msg[h] = 'x';
                struct logrec r = {
                    .time_ns = 1700000000000000000LL + (int64_t)sent,
                    .recv_ns = 1700000000000000000LL + (int64_t)sent,
                    .host = "h1", .container_id = "c1", .container = "web",
                    .image = "img", .offset = sent * 2048, .msg = msg,
                    .msg_len = msg_bytes,
                };
                if (follow_stage(fl, &r) < 0) {
                    fprintf(stderr, "follow_bench: stage full\n");
                    return 1;
                }
            }
            follow_publish(fl);
        }
        run_loop(base, 200);
        got += drain(fd, &last);
    }
    double secs = now_s() - t0;
    printf("follow_bench: %llu of %llu lines of %zu bytes in %.2f s: "
           "%.0f lines/s, %.1f MiB/s of messages; followers dropped %llu\n",
           (unsigned long long)got, (unsigned long long)n_lines, msg_bytes,
           secs, (double)got / secs,
           (double)got * (double)msg_bytes / secs / (1 << 20),
           (unsigned long long)stats.follow_clients_dropped);
    close(fd);
    event_free(busy);
    api_free(api);
    follow_free(fl);
    event_base_free(base);
    store_close(st);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    free(msg);
    return system(cmd) == 0 && got == n_lines &&
           stats.follow_clients_dropped == 0 ? 0 : 1;
}
