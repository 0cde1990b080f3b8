/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics: recent metrics in Redis (key schema in collector/REDIS.md),
 * written and read through hiredis's async API on the collector's own
 * libevent loop (hiredis's libevent adapter). Writes are pipelined and never
 * block ingest: while Redis is down they wait in a bounded buffer, then are
 * dropped and counted; the connection comes back by itself. Every reply is
 * checked for type and size before use. The only module that includes
 * hiredis.
 */
#ifndef COLLECTOR_REDIS_METRICS_H
#define COLLECTOR_REDIS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"

struct event_base;
struct rmetrics;

#define RMETRICS_QUERY_MAX_SERIES 1000     /* more: the query fails */
#define RMETRICS_QUERY_MAX_POINTS 100000   /* newest kept, per series */
#define RMETRICS_MAX_HOSTS        10000    /* rmetrics_hosts reply cap */
#define RMETRICS_MAX_NAMES        100000   /* rmetrics_names reply cap */
#define RMETRICS_POINT_MAX        64       /* bytes of a point: more is
                                            * not one */
#define RMETRICS_REPLY_MAX_BYTES  (64u << 20)   /* string bytes of one reply */
#define RMETRICS_QUERY_MAX_BYTES  (256u << 20)  /* point bytes of one query */

/* Wall-clock milliseconds; tests pass a fake. */
typedef int64_t (*rm_clock_fn)(void);

struct rmetrics_config {
    const char *addr;            /* "HOST:PORT" or a unix socket path */
    int64_t     retention_ms;    /* --metrics-retention, default 24h */
    size_t      max_series;      /* bound on distinct series, default 100000 */
    size_t      max_hosts;       /* bound on distinct hosts, default (and
                                  * at most) RMETRICS_MAX_HOSTS */
    size_t      max_names;       /* bound on distinct metric names,
                                  * default 10000, at most
                                  * RMETRICS_MAX_NAMES */
    size_t      max_names_per_host;  /* distinct names of one host,
                                      * default 100, at most half of
                                      * max_names */
    size_t      max_series_per_host; /* series of one host, default 30000,
                                      * at most half of max_series */
    size_t      max_pending;     /* queued commands while down, default 100000 */
    rm_clock_fn clock_ms;        /* NULL: CLOCK_REALTIME */
    /* 0: the defaults above (no flags: tests set them lower) */
    size_t      max_reply_bytes; /* a reply's strings, or one unparsed */
    size_t      max_query_bytes; /* the points a query holds */
};

struct rmetrics_counters {
    uint64_t samples_written;
    uint64_t samples_dropped;    /* buffer full, or series/host cap reached */
    uint64_t hosts_dropped;      /* METRICS frames of hosts past max_hosts */
    uint64_t names_dropped;      /* samples of new names past max_names */
    uint64_t host_names_refused; /* samples of a name new to its host past
                                  * max_names_per_host */
    uint64_t host_series_refused;    /* samples of a new series past
                                      * max_series_per_host */
    uint64_t redis_errors;       /* error replies, bad reply types */
    uint64_t reconnects;
    int      is_connected;
    uint64_t series;             /* distinct series in the local table */
    uint64_t hosts;              /* distinct hosts in the local table */
    uint64_t names;              /* distinct names in the local table */
    uint64_t hosts_capped;       /* hosts in the table with a refusal */
    uint64_t pending;            /* commands queued or awaiting a reply */
};

/* Copies cfg and starts connecting (in the background, forever: Redis
 * being down is not an error). Zero retention_ms/max_series/max_hosts/
 * max_names/max_*_per_host/max_pending take the defaults above (max_hosts
 * and max_names are clamped to RMETRICS_MAX_HOSTS and RMETRICS_MAX_NAMES,
 * what a hosts or names read accepts; the per-host caps to half the
 * collector's, so one host never fills them). NULL only for a NULL or
 * empty addr. */
struct rmetrics *rmetrics_new(struct event_base *base,
                              const struct rmetrics_config *cfg);
void rmetrics_free(struct rmetrics *rm);
void rmetrics_get_counters(const struct rmetrics *rm,
                           struct rmetrics_counters *out);

/* A host whose per-host caps refused something (for /health). */
struct rmetrics_host_caps {
    const char *host;
    uint64_t    names;           /* distinct names it holds now */
    uint64_t    series;          /* series it holds now */
    uint64_t    names_refused;   /* samples refused by max_names_per_host */
    uint64_t    series_refused;  /* by max_series_per_host */
};
typedef void (*rmetrics_host_caps_fn)(const struct rmetrics_host_caps *c,
                                      void *arg);
/* Calls fn for at most max hosts with a refusal (in no order); returns how
 * many there are in all. */
size_t rmetrics_foreach_capped(const struct rmetrics *rm, size_t max,
                               rmetrics_host_caps_fn fn, void *arg);

/* Stores one decoded METRICS payload from host (walks m with
 * wire_metrics_next; m is not kept). Never blocks. */
void rmetrics_write(struct rmetrics *rm, const char *host,
                    struct wire_metrics *m);

/* ---- reads (asynchronous: the callback runs later on the loop, exactly
 * once, with err != 0 and errstr set when Redis is unreachable or replied
 * with something unexpected; err == RMETRICS_ERR_TOO_BIG when the query
 * asks for more than a read may hold: narrowing it helps, retrying does
 * not) ---- */

#define RMETRICS_ERR_TOO_BIG 2

struct rm_point {
    int64_t ts_ms;
    double  value;
};

struct rm_raw;

/* In a query's callback a series holds its points as Redis sent them
 * (raw, at least one); rm_series_parse makes them points, off the loop. */
struct rm_series {
    const char            *host;
    const char            *name;
    const char            *container;   /* "" for host metrics */
    const char            *label;       /* "" when none */
    const struct rm_point *points;      /* ascending ts_ms; NULL until
                                         * rm_series_parse */
    size_t                 n_points;
    struct rm_raw         *raw;         /* NULL once parsed */
};

struct rm_query {
    const char *name;            /* exact metric name, required */
    const char *host;            /* exact, NULL: every host */
    const char *container;       /* exact, NULL: any ("" = host metrics) */
    const char *label;           /* exact, NULL: any */
    int64_t     from_ms;         /* inclusive */
    int64_t     to_ms;           /* inclusive */
};

/* All arrays and strings passed to callbacks are borrowed for the call. */
typedef void (*rm_series_cb)(int err, const char *errstr,
                             const struct rm_series *s, size_t n, void *arg);
typedef void (*rm_names_cb)(int err, const char *errstr,
                            const char *const *names, size_t n, void *arg);

struct rm_host {
    const char *host;
    int64_t     last_seen_ms;    /* last METRICS frame stored */
    int64_t     interval_ms;     /* from shipper.metrics_interval_s */
};
typedef void (*rm_hosts_cb)(int err, const char *errstr,
                            const struct rm_host *h, size_t n, void *arg);

/* A latest value as Redis holds it: parsed by rm_latest_parse, off the
 * loop (an entry whose point is malformed is still listed). */
struct rm_latest {
    const char *name;
    const char *container;
    const char *label;
    const char *point;           /* "<ts_ms>:<value>" */
    size_t      point_len;       /* < RMETRICS_POINT_MAX */
};
typedef void (*rm_latest_cb)(int err, const char *errstr,
                             const struct rm_latest *l, size_t n, void *arg);

/* Each returns 0 if the request was queued (callback will run), -1 if it
 * could not be (callback will not run). */
int rmetrics_query(struct rmetrics *rm, const struct rm_query *q,
                   rm_series_cb cb, void *arg);
int rmetrics_names(struct rmetrics *rm, rm_names_cb cb, void *arg);
int rmetrics_hosts(struct rmetrics *rm, rm_hosts_cb cb, void *arg);
/* Latest value of every series of one host. */
int rmetrics_latest(struct rmetrics *rm, const char *host, rm_latest_cb cb,
                    void *arg);

/* A query's series once taken from its callback: series[0..n) with their
 * strings and points, owned by the taker (so they can be downsampled on a
 * query worker, collector/README.md "Queries off the loop"). */
struct rm_series_set {
    struct rm_series *series;
    size_t            n;
};

/* Only inside an rm_series_cb of rm: takes the series passed to that call
 * (the same s and n, now valid until rm_series_set_free). Never NULL in a
 * callback (an empty set on error); NULL outside one. */
struct rm_series_set *rmetrics_series_take(struct rmetrics *rm);
/* How many Redis reply points ("<ts_ms>:<value>", one strtod each) the
 * calling thread has parsed (thread-local): lets tests prove that the
 * collector's event loop parses none of a query's series. */
uint64_t rm_n_points_parsed_here(void);
/* Parses a taken series' raw points into points/n_points (ascending),
 * one strtod each: on a query worker, never on the loop. Idempotent (0
 * once parsed). Returns how many elements were skipped: not a point, or
 * out of time order; may leave n_points 0 (such a series says nothing).
 * Any thread: touches nothing but s. */
size_t rm_series_parse(struct rm_series *s);
/* On the loop: counts n skipped points (rm_series_parse's returns, or
 * rm_latest_parse's failures) as
 * Redis errors (rmetrics_counters.redis_errors), logged rate-limited. */
void rmetrics_count_bad_points(struct rmetrics *rm, uint64_t n);
/* Parses a latest value's point (one strtod): 0, or -1 when malformed
 * (count it with rmetrics_count_bad_points). Any thread. */
int rm_latest_parse(const char *point, size_t point_len, struct rm_point *out);
/* Frees a taken set. NULL is a no-op. */
void rm_series_set_free(struct rm_series_set *set);

#endif
