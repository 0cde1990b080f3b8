/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_internal: what redis_metrics.c (connection, writes) and
 * redis_metrics_read.c (queries) share: the struct, the series-id codec
 * (REDIS.md "Identifiers") and the failed-read queue. Only for those two
 * files and their test.
 */
#ifndef COLLECTOR_REDIS_METRICS_INTERNAL_H
#define COLLECTOR_REDIS_METRICS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "collector/metrics/redis_bounds.h"
#include "collector/metrics/redis_metrics.h"
#include "common/buf.h"

#define RM_DEFAULT_RETENTION_MS (24LL * 3600 * 1000)
#define RM_DEFAULT_MAX_SERIES   100000
#define RM_DEFAULT_MAX_PENDING  100000
#define RM_ID_MAX               4096     /* bytes of a series id */
#define RM_REFRESH_MS           60000    /* series index refresh period */
#define RM_HOUSEKEEP_MS         60000
#define RM_EXPIRE_MARGIN_MS     3600000  /* PEXPIRE = retention + this */
#define RM_FUTURE_MS            300000   /* frame time accepted ahead */
#define RM_POINT_MAX            RMETRICS_POINT_MAX  /* "<ts>:<v>" */

struct redisAsyncContext;
struct rm_read;
struct rmetrics;

/* Where a read command goes instead of hiredis when set (a test seam:
 * tests/fuzz/fuzz_redis.c answers reads with replies it builds itself).
 * fn(NULL, reply, privdata) is to be called once per command sent,
 * reply NULL when the connection is gone; -1: not sent. */
typedef int (*rm_send_hook_fn)(struct rmetrics *rm,
                               void (*fn)(struct redisAsyncContext *, void *,
                                          void *),
                               void *privdata, int argc, const char **argv);

/* A series or host this process writes (hash chain entry). */
struct rm_ent {
    struct rm_ent *next;
    char          *id;
    int64_t        last_write_ms;
    int64_t        refreshed_ms;
    uint64_t       refreshed_gen;   /* conn_gen of the last index refresh */
};

/* A bounded table of series or hosts: chains of rm_ent by id. */
struct rm_tab {
    struct rm_ent **slots;
    size_t          mask;
    size_t          n;
    size_t          max;
};

/* A command waiting for the connection (formatted by hiredis). */
struct rm_cmd {
    struct rm_cmd *next;
    char          *cmd;
    size_t         len;
    int            is_sample;
};

struct rmetrics {
    struct event_base         *base;
    struct rmetrics_config     cfg;
    char                      *addr;
    char                      *tcp_host;    /* NULL: unix socket addr */
    int                        tcp_port;
    struct redisAsyncContext  *ac;
    int                        is_connected;
    int                        is_freeing;
    int                        has_connected;
    uint64_t                   conn_gen;
    int64_t                    backoff_ms;
    struct event              *reconnect_ev;
    struct event              *timeout_ev;
    struct event              *housekeep_ev;
    struct event              *fail_ev;     /* runs failed reads */
    struct rm_read            *failed;      /* reads to fail, FIFO */
    struct rm_read            *failed_tail;
    struct rm_cmd             *q_head;
    struct rm_cmd             *q_tail;
    size_t                     n_queued;
    size_t                     n_inflight;
    struct rm_tab              series;      /* bounded by max_series */
    struct rm_tab              hosts;       /* bounded by max_hosts */
    uint64_t                   n_err_logged;
    struct rmetrics_counters   ctr;
    rm_send_hook_fn            send_hook;   /* NULL: hiredis */
    struct rm_read            *in_series_cb;    /* whose rm_series_cb runs */
    struct rm_bounds           bounds;      /* the connection's replies */
};

int64_t rm_now_ms(const struct rmetrics *rm);

/* Appends s escaped ('\' -> "\\", '|' -> "\|"); -1 when b is full. */
int rm_escape_append(struct buf *b, const char *s, size_t len);
/* Splits an escaped id of exactly n_parts parts into new strings (each
 * freed with free()); -1 (nothing allocated) on another part count or a
 * dangling '\'. */
int rm_split(const char *s, size_t len, size_t n_parts, char **out);
/* Parses "<ts_ms>:<value>"; -1 if malformed. */
int rm_point_parse(const char *s, size_t len, struct rm_point *out);

/* Counts a bad or error reply and logs it (rate-limited). */
void rm_reply_error(struct rmetrics *rm, const char *what, const char *msg);
/* The same for n at once. */
void rm_reply_error_n(struct rmetrics *rm, const char *what, const char *msg,
                      uint64_t n);

/* Reads (redis_metrics_read.c): runs the callback of a read that fails
 * with errstr, on the next loop turn (rm->fail_ev), never inline. */
void rm_read_fail_later(struct rmetrics *rm, struct rm_read *r,
                        const char *errstr);
void rm_fail_cb(evutil_socket_t fd, short what, void *arg);

#endif
