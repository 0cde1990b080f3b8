/* SPDX-License-Identifier: MIT */
/*
 * health: `logq health`'s pure parts: parsing the collector's
 * GET /api/v1/health reply (collector/API.md), rendering it as two aligned
 * tables (hosts, then unhealthy containers; down and unhealthy in red when
 * color is on) and the exit status. Untrusted input: a malformed reply is
 * an error with a reason, never a crash. No I/O.
 */
#ifndef QUERY_HEALTH_H
#define QUERY_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct json_t;

/* Numbers the reply leaves out or sends as null are NAN / -1. Strings are
 * borrowed from the parsed reply. */
struct health_host {
    const char *host;
    int         is_up;
    int64_t     last_seen_ns;       /* -1 unknown */
    double      cpu_pct;
    double      mem_pct;
    double      fs_max_pct;
    int64_t     containers_running;
    int64_t     containers_total;
    int64_t     restarts_1h;
    int64_t     error_lines_15m;
};

struct health_container {
    const char *host;
    const char *container;
    const char *state;              /* "" when absent */
    const char *reason;             /* "" when absent */
    int64_t     restarts;           /* RestartCount; -1 when absent */
    int64_t     restarts_1h;
    int         is_healthy;
};

/* A source whose shipper reported data lost for good (collector/API.md
 * "Lost data"): counts are lower bounds when is_*_at_least. */
struct health_loss {
    const char *host;
    const char *container;
    const char *id;
    int64_t     bytes;
    int64_t     lines;
    int64_t     events;
    int         is_bytes_at_least;
    int         is_lines_at_least;
};

/* A host that stored records stamped more than grace_s ahead of when
 * they were received (collector/API.md "Records stamped ahead"). */
struct health_ahead {
    const char *host;
    int64_t     records;
    int64_t     max_ahead_s;
};

struct health_reply {
    struct health_host      *hosts;
    size_t                   n_hosts;
    struct health_container *containers;
    size_t                   n_containers;
    struct health_loss      *losses;
    size_t                   n_losses;
    struct health_ahead     *aheads;
    size_t                   n_aheads;
    int64_t                  ahead_grace_s;
    int                      is_all_ok;
    struct json_t           *root;
};

/* -1 with a reason in err; on success free with health_reply_fini(). */
int  health_reply_parse(const char *body, size_t len, struct health_reply *out,
                        char *err, size_t errlen);
void health_reply_fini(struct health_reply *h);

/* 1 when a host is down, a listed container is unhealthy or the server
 * says not all is well; else 0 (like a cron check). */
int  health_exit_status(const struct health_reply *h);

/* Appends the host table, then the unhealthy containers (or a line saying
 * there are none), then the sources that lost data and the hosts whose
 * records were stamped ahead, if any. now is unix ns for the "2s ago" ages. -1 when out's cap
 * is reached. */
int  health_render(struct buf *out, const struct health_reply *h, int64_t now,
                   int color);

#endif
