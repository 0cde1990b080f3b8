/* SPDX-License-Identifier: MIT */
/*
 * api_metrics_health_job: /api/v1/health's job on a query worker: each
 * host's latest values and restart counters parsed (values 3 intervals
 * older than its newest dropped), its containers judged (restarting,
 * stopped after restarts, restarts in the last hour), its error lines of
 * the last 15 minutes counted with a bounded scan of the log store; the
 * reply's hosts and containers built. Runs off the loop: touches only
 * its call and the store's cursors.
 */
#include "collector/api/api_metrics_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "collector/api/api_internal.h"
#include "collector/api/api_pool.h"
#include "collector/metrics/redis_metrics.h"
#include "collector/search/agg.h"
#include "collector/search/query.h"
#include "common/record.h"
#include "common/xmalloc.h"

/* Records the calling thread has matched against AM_ERR_QUERY. */
static _Thread_local uint64_t am_n_err_scanned;

uint64_t
api_metrics_n_err_scanned_here(void)
{
    return am_n_err_scanned;
}

static struct am_ctr *
am_ctr_get(struct am_host *h, const char *name)
{
    for (size_t i = 0; i < h->n_ctrs; i++)
        if (strcmp(h->ctrs[i].name, name) == 0)
            return &h->ctrs[i];
    h->ctrs = xreallocarray(h->ctrs, h->n_ctrs + 1, sizeof(*h->ctrs));
    struct am_ctr *ct = &h->ctrs[h->n_ctrs++];
    memset(ct, 0, sizeof(*ct));
    ct->name = xstrdup(name);
    return ct;
}

static void
am_latest_host(struct am_host *h, const struct am_latest *l)
{
    const char *n = l->name;
    double v = l->pt.value;

    if (strcmp(n, "host.cpu.user_pct") == 0 ||
        strcmp(n, "host.cpu.system_pct") == 0 ||
        strcmp(n, "host.cpu.iowait_pct") == 0 ||
        strcmp(n, "host.cpu.steal_pct") == 0) {
        h->cpu_pct += v;
        h->has_cpu = 1;
    } else if (strcmp(n, "host.mem.used_pct") == 0) {
        h->mem_pct = v;
        h->has_mem = 1;
    } else if (strcmp(n, "host.fs.used_pct") == 0) {
        if (!h->has_fs || v > h->fs_max_pct)
            h->fs_max_pct = v;
        h->has_fs = 1;
    }
}

static void
am_latest_ctr(struct am_host *h, const struct am_latest *l)
{
    const char *n = l->name;
    double v = l->pt.value;

    if (strncmp(n, "container.", 10) != 0 || l->container[0] == '\0')
        return;
    struct am_ctr *ct = am_ctr_get(h, l->container);
    if (strcmp(n, "container.state") == 0) {
        ct->state = v;
        ct->has_state = 1;
    } else if (strcmp(n, "container.restarts") == 0) {
        ct->restarts = v;
    } else if (strcmp(n, "container.cpu_pct") == 0) {
        ct->cpu_pct = v;
    } else if (strcmp(n, "container.mem.bytes") == 0) {
        ct->mem_bytes = v;
    } else if (strcmp(n, "container.mem.limit_bytes") == 0) {
        ct->mem_limit = v;
    }
}

/* On the worker: the latest values and restart counters of h parsed and
 * applied; the points that are not are counted in *n_bad. */
static void
am_host_apply(struct am_host *h, uint64_t *n_bad)
{
    for (size_t i = 0; i < h->n_latest; i++) {
        struct am_latest *l = &h->latest[i];
        l->is_bad = rm_latest_parse(l->point, l->point_len, &l->pt) < 0;
        *n_bad += l->is_bad;
        if (!l->is_bad && l->pt.ts_ms > h->newest_ms)
            h->newest_ms = l->pt.ts_ms;
    }
    /* values older than the host's last frame by 3 intervals are gone
     * (a removed container, an unmounted filesystem) */
    for (size_t i = 0; i < h->n_latest; i++) {
        struct am_latest *l = &h->latest[i];
        if (l->is_bad ||
            l->pt.ts_ms < h->newest_ms - AM_MISSED * h->interval_ms)
            continue;
        am_latest_host(h, l);
        am_latest_ctr(h, l);
    }
    for (size_t i = 0; h->restarts != NULL && i < h->restarts->n; i++) {
        struct rm_series *si = &h->restarts->series[i];
        if (si->container[0] == '\0')
            continue;
        *n_bad += rm_series_parse(si);
        if (si->n_points == 0)
            continue;
        double first = si->points[0].value;
        double last = si->points[si->n_points - 1].value;
        /* a counter that went back (container recreated) counts from 0 */
        struct am_ctr *ct = am_ctr_get(h, si->container);
        ct->restarts_1h = last >= first ? last - first : last;
    }
}

/* On the worker: matching log lines of host in the last 15 minutes;
 * *is_capped when the scan stopped at API_METRICS_ERR_SCAN_MAX records (a
 * lower bound). Stops early, with any count, when j is cancelled. */
static int64_t
am_error_lines(struct am_call *c, const struct pool_job *j,
               const struct query *q, const char *host, int *is_capped)
{
    struct store_filter f = {
        .since_ns = (c->now_ms - AM_ERR_WINDOW_MS) * 1000000,
        /* the open end: lines a host stamps far ahead would count
         * in every "last 15 minutes" until they come due */
        .until_ns = agg_open_end(c->now_ms * 1000000), .host = host,
        .stream = -1,
    };
    struct store_cursor *cur = store_cursor_new(c->a->store, &f, 1);
    struct logrec r;
    int64_t n = 0;
    uint64_t scanned = 0;
    int rc;

    *is_capped = 0;
    if (cur == NULL)
        return 0;
    while ((rc = store_cursor_next(cur, &r)) != 0) {
        if (rc < 0)
            continue;
        if (++scanned > API_METRICS_ERR_SCAN_MAX) {
            *is_capped = 1;
            break;
        }
        if (scanned % API_STEP_RECORDS == 0 && pool_is_cancelled(j))
            break;
        am_n_err_scanned++;
        n += query_match(q, r.msg, r.msg_len);
    }
    store_cursor_free(cur);
    return n;
}

static const char *
am_state_name(double st)
{
    switch ((int)st) {
    case 1: return "running";
    case 2: return "paused";
    case 3: return "restarting";
    default: return "stopped";
    }
}

/* NULL when healthy, else the reason. */
static const char *
am_ctr_unhealthy(const struct am_ctr *ct, char *buf, size_t len)
{
    if (ct->has_state && (int)ct->state == 3)
        return "restarting";
    if (ct->has_state && (int)ct->state == 0 && ct->restarts_1h > 0)
        return "stopped after restarts";
    if (ct->restarts_1h > 0) {
        snprintf(buf, len, "%.0f restarts in the last hour", ct->restarts_1h);
        return buf;
    }
    return NULL;
}

/* On the worker. q NULL: containers=all (logq containers), which wants
 * no error count. */
static json_t *
am_health_host_json(struct am_call *c, const struct pool_job *j,
                    struct am_host *h, json_t *bad, int *all_ok,
                    const struct query *q)
{
    int is_up = c->now_ms - h->last_seen_ms <= AM_MISSED * h->interval_ms;
    int running = 0, capped = 0;
    double restarts_1h = 0;
    char why[64];

    if (!is_up)
        *all_ok = 0;
    for (size_t i = 0; i < h->n_ctrs; i++) {
        struct am_ctr *ct = &h->ctrs[i];
        running += ct->has_state && (int)ct->state == 1;
        restarts_1h += ct->restarts_1h;
        const char *reason = am_ctr_unhealthy(ct, why, sizeof(why));
        if (reason == NULL && !c->is_all_ctrs)
            continue;
        if (reason != NULL)
            *all_ok = 0;
        json_array_append_new(bad, json_pack(
            "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o}",
            "host", h->host, "container", ct->name,
            "state", ct->has_state ? json_string(am_state_name(ct->state))
                                   : json_null(),
            "restarts", am_num(ct->restarts),
            "restarts_1h", am_num(ct->restarts_1h),
            "cpu_pct", am_num(ct->cpu_pct), "mem_bytes", am_num(ct->mem_bytes),
            "mem_limit_bytes", am_num(ct->mem_limit), "healthy",
            reason == NULL,
            "reason", reason ? json_string(reason) : json_null()));
    }
    int64_t errs = q != NULL ? am_error_lines(c, j, q, h->host, &capped) : 0;
    return json_pack("{s:s, s:b, s:o, s:f, s:o, s:o, s:o, s:i, s:I, s:o, "
                     "s:o, s:b}",
                     "host", h->host, "up", is_up,
                     "last_seen", am_time_json(h->last_seen_ms),
                     "interval_s", (double)h->interval_ms / 1000.0,
                     "cpu_pct", h->has_cpu ? am_num(h->cpu_pct) : json_null(),
                     "mem_pct", h->has_mem ? am_num(h->mem_pct) : json_null(),
                     "fs_max_pct", h->has_fs ? am_num(h->fs_max_pct) :
                                   json_null(),
                     "containers_running", running,
                     "containers_total", (json_int_t)h->n_ctrs,
                     "restarts_1h", am_num(restarts_1h),
                     "error_lines_15m", q == NULL ? json_null() :
                                        json_integer((json_int_t)errs),
                     "error_lines_capped", capped);
}

/* On a worker: parses every host's values and counts its error lines
 * into c->reply (hosts, containers, all_ok; the loop adds its own
 * counters). A cancelled job leaves no reply. */
void
am_health_run(struct pool_job *j)
{
    struct am_call *c = j->arg;
    struct query *q = NULL;

    if (!c->is_all_ctrs) {
        char *qerr = NULL;
        q = query_parse(AM_ERR_QUERY, strlen(AM_ERR_QUERY), NULL, 1, &qerr);
        free(qerr);
        if (q == NULL)
            return;                 /* a constant: cannot happen */
    }
    json_t *hosts = json_array(), *bad = json_array();
    int all_ok = 1;
    for (size_t i = 0; i < c->n_hosts && !pool_is_cancelled(j); i++) {
        am_host_apply(&c->hosts[i], &c->n_bad_points);
        json_array_append_new(hosts, am_health_host_json(c, j, &c->hosts[i],
                                                         bad, &all_ok, q));
    }
    query_free(q);
    if (pool_is_cancelled(j)) {
        json_decref(hosts);
        json_decref(bad);
        return;
    }
    c->reply = json_pack("{s:o, s:o, s:b}", "hosts", hosts, "containers",
                         bad, "all_ok", all_ok);
}
