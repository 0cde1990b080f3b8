/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_internal: what redis_metrics.c (connection, writes),
 * redis_metrics_trim.c (the series sweep, the old layout's conversion) and
 * redis_metrics_read.c (queries) share: the struct, the write commands,
 * the series-id codec (redis_metrics_id.c, REDIS.md "Identifiers") and the
 * failed-read queue.
 * Only for those files and their tests.
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
#define RM_DEFAULT_MAX_NAMES    10000
#define RM_DEFAULT_HOST_NAMES   100      /* --max-metric-names-per-host */
#define RM_DEFAULT_HOST_SERIES  30000    /* --max-series-per-host */
#define RM_CAPPED_LOG_HOSTS     100      /* hosts named in the log */
#define RM_SWEEP_BATCH          1000     /* ids per series sweep */
#define RM_CONV_BATCH           1000     /* elements per conversion call */
#define RM_CONV_MAX_CALLS       100000   /* then the conversion gives up */
#define RM_ID_MAX               4096     /* bytes of a series id */
#define RM_REFRESH_MS           60000    /* series index refresh period */
#define RM_HOUSEKEEP_MS         60000
#define RM_EXPIRE_MARGIN_MS     3600000  /* PEXPIRE = retention + this */
#define RM_FUTURE_MS            300000   /* frame time accepted ahead */
#define RM_POINT_MAX            RMETRICS_POINT_MAX  /* "<ts>:<v>" */

struct redisAsyncContext;
struct rm_read;
struct rmetrics;

/* Where a read command or a layout conversion call goes instead of
 * hiredis when set (a test seam: tests/fuzz/fuzz_redis.c and
 * fuzz_redisconv.c answer them with replies they build themselves,
 * through tests/fuzz/fuzzredis.h).
 * fn(NULL, reply, privdata) is to be called once per command sent,
 * reply NULL when the connection is gone; -1: not sent. */
typedef int (*rm_send_hook_fn)(struct rmetrics *rm,
                               void (*fn)(struct redisAsyncContext *, void *,
                                          void *),
                               void *privdata, int argc, const char **argv);

/* A series, metric name, host or (host, name) pair this process writes
 * (hash chain entry). An entry others point to is kept while they live
 * (n_refs), whatever the clock did. */
struct rm_ent {
    struct rm_ent *next;
    char          *id;
    int64_t        last_write_ms;
    int64_t        refreshed_ms;
    uint64_t       refreshed_gen;   /* conn_gen of the last index refresh */
    struct rm_ent *name;            /* a series' or pair's: its name's
                                     * entry (a pair holds a ref) */
    struct rm_ent *pair;            /* a series': its (host, name) entry
                                     * (held: a ref); NULL for the rest */
    struct rm_ent *host;            /* a series' or pair's: its host's
                                     * entry (held: a ref) */
    size_t         n_refs;          /* entries pointing here */
    /* a host's: what it holds and what its caps refused */
    size_t         n_series;
    size_t         n_names;
    uint64_t       n_series_refused;
    uint64_t       n_names_refused;
};

/* A bounded table of series, names or hosts: chains of rm_ent by id. */
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
    struct event              *sweep_ev;    /* the next series sweep */
    int                        is_sweeping; /* its reply awaited */
    uint64_t                   n_conv_calls;    /* conversion calls made */
    uint64_t                   conv_max_n;  /* most elements one touched */
    uint64_t                   conv_max_calls;  /* RM_CONV_MAX_CALLS */
    struct rm_read            *failed;      /* reads to fail, FIFO */
    struct rm_read            *failed_tail;
    struct rm_cmd             *q_head;
    struct rm_cmd             *q_tail;
    size_t                     n_queued;
    size_t                     n_inflight;
    struct rm_tab              series;      /* bounded by max_series */
    struct rm_tab              hosts;       /* bounded by max_hosts */
    struct rm_tab              names;       /* bounded by max_names */
    struct rm_tab              pairs;       /* (host, name) of the series,
                                             * bounded by max_series */
    uint64_t                   n_capped_logged; /* hosts named so */
    uint64_t                   n_hosts_capped;  /* hosts with a refusal */
    uint64_t                   n_err_logged;
    struct rmetrics_counters   ctr;
    rm_send_hook_fn            send_hook;   /* NULL: hiredis */
    struct rm_read            *in_series_cb;    /* whose rm_series_cb runs */
    struct rm_bounds           bounds;      /* the connection's replies */
};

int64_t rm_now_ms(const struct rmetrics *rm);

/* A range reply's elements as received, newest first: lens[i] bytes of
 * each (cut at RM_POINT_MAX, which no point reaches) back to back. */
struct rm_raw {
    char    *text;
    uint8_t *lens;
    size_t   n;
};

/* Frees a raw reply copy (redis_metrics_id.c). NULL is a no-op. */
void rm_raw_free(struct rm_raw *raw);

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

/* Formats and sends (or, while not connected, queues) one write command;
 * a sample's (is_sample) is counted as written or dropped by its reply.
 * Dropped past max_pending. lens: each argument's length. */
void rm_command(struct rmetrics *rm, int is_sample, int argc,
                const char **argv, const size_t *lens);
/* The same for at most 8 NUL-terminated arguments. */
void rm_cmdv(struct rmetrics *rm, int is_sample, int argc, const char **argv);
/* Tables (redis_metrics_tab.c). rm_tab_init: empty, for at most max
 * entries; rm_tab_fini frees the slots (entries expired first). */
void rm_tab_init(struct rm_tab *t, size_t max);
void rm_tab_fini(struct rm_tab *t);
/* The entry of id, or NULL; never creates one. */
struct rm_ent *rm_tab_find(const struct rm_tab *t, const char *id,
                           size_t len);
/* The entry of id, created if there is room; NULL at the cap. */
struct rm_ent *rm_tab_get(struct rm_tab *t, const char *id, size_t len);
typedef void (*rm_gone_fn)(struct rmetrics *rm, const char *id);
/* Forgets entries not written since cutoff_ms that nothing points to
 * (frees their slots and gives back their refs), calling gone (if set)
 * first for each that was ever written. */
void rm_tab_expire(struct rmetrics *rm, struct rm_tab *t, int64_t cutoff_ms,
                   rm_gone_fn gone);
/* The series entry of id (len bytes; its first pair_len are "host|name",
 * escaped) of host entry h and metric name, created if every cap admits
 * it (per host, then per collector); NULL when one refused it (counted
 * and logged; the sample is the caller's to count). */
struct rm_ent *rm_series_get(struct rmetrics *rm, struct rm_ent *h,
                             const char *name, const char *id, size_t len,
                             size_t pair_len);

/* What keeps Redis bounded besides the writes' own trimming
 * (redis_metrics_trim.c, REDIS.md "What bounds each key"). On connect,
 * before any queued write: converts the layout of older versions, in
 * calls of at most about RM_CONV_BATCH elements each, then (done, nothing
 * to do, refused or failed) calls rm_ready. */
void rm_migrate(struct rmetrics *rm);
/* The connection is usable: writes and reads go (redis_metrics.c). */
void rm_ready(struct rmetrics *rm);
/* The series sweep: asks for up to RM_SWEEP_BATCH ids of logq:series idle
 * for the retention and takes each out of every key (not one this process
 * wrote within the retention). No-op while one is in flight or when not
 * connected. */
void rm_sweep(struct rmetrics *rm);
void rm_sweep_timer_cb(evutil_socket_t fd, short what, void *arg);

/* Reads (redis_metrics_read.c): runs the callback of a read that fails
 * with errstr, on the next loop turn (rm->fail_ev), never inline. */
void rm_read_fail_later(struct rmetrics *rm, struct rm_read *r,
                        const char *errstr);
void rm_fail_cb(evutil_socket_t fd, short what, void *arg);

#endif
