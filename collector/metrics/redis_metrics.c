/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics: the connection to Redis and the write side (key schema in
 * collector/REDIS.md; reads are in redis_metrics_read.c). hiredis's async
 * context runs on the collector's event_base through its libevent adapter.
 * Commands are formatted once and either sent at once (pipelined: no reply
 * is awaited before the next command) or, while Redis is down or
 * connecting, queued; both together are capped at max_pending and a sample
 * past the cap is dropped and counted. A lost connection is retried by a
 * timer with exponential backoff; a connect attempt has a deadline (hiredis
 * 0.14 has none). Owns the tables of the series, metric names and hosts
 * it writes (redis_metrics_tab.c: bounded per host and per collector);
 * a series' entry decides when its index entries and trimming are
 * refreshed (once a minute and after every reconnect, so a Redis that
 * lost its data gets its indexes back); idle names and hosts have their
 * keys deleted by the minute's housekeeping (which also starts the series
 * sweep, redis_metrics_trim.c). Every key written
 * gets an expiry. Does not parse METRICS frames beyond wire_metrics_next
 * and never blocks the loop.
 */
#include "collector/metrics/redis_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "collector/metrics/redis_metrics_internal.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define RM_BACKOFF_MIN_MS   100
#define RM_BACKOFF_MAX_MS   5000
#define RM_CONNECT_MS       5000
#define RM_INTERVAL_NAME    "shipper.metrics_interval_s"
#define RM_MAX_ARGS         8

/* ---- small helpers ---- */

static int64_t
rm_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
rm_now_ms(const struct rmetrics *rm)
{
    return rm->cfg.clock_ms != NULL ? rm->cfg.clock_ms() : rm_wall_ms();
}

void
rm_reply_error_n(struct rmetrics *rm, const char *what, const char *msg,
                 uint64_t n)
{
    uint64_t before = rm->ctr.redis_errors;

    rm->ctr.redis_errors += n;
    /* the first ten, then one per thousand */
    if (rm->n_err_logged++ < 10 ||
        rm->ctr.redis_errors / 1000 != before / 1000)
        log_warn("redis", "unexpected reply cmd=%s error=\"%.200s\" "
                 "n=%" PRIu64 " errors=%" PRIu64, what, msg, n,
                 rm->ctr.redis_errors);
}

void
rm_reply_error(struct rmetrics *rm, const char *what, const char *msg)
{
    rm_reply_error_n(rm, what, msg, 1);
}

/* ---- command queue and sending ---- */

static void
rm_sample_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct rmetrics *rm = privdata;
    redisReply *reply = r;

    rm->n_inflight--;
    if (reply == NULL) {            /* connection lost or shutting down */
        if (!rm->is_freeing)
            rm->ctr.samples_dropped++;
        return;
    }
    if (reply->type != REDIS_REPLY_INTEGER) {
        rm_reply_error(rm, "ZADD", reply->type == REDIS_REPLY_ERROR ?
                       reply->str : "not an integer");
        rm->ctr.samples_dropped++;
        return;
    }
    rm->ctr.samples_written++;
}

static void
rm_aux_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct rmetrics *rm = privdata;
    redisReply *reply = r;

    rm->n_inflight--;
    if (reply == NULL)
        return;
    if (reply->type != REDIS_REPLY_INTEGER &&
        reply->type != REDIS_REPLY_STATUS)              /* SET: +OK */
        rm_reply_error(rm, "write", reply->type == REDIS_REPLY_ERROR ?
                       reply->str : "not an integer");
}

/* Hands a formatted command to hiredis (which copies it). */
static int
rm_dispatch(struct rmetrics *rm, const char *cmd, size_t len, int is_sample)
{
    /* no context: tests/fuzz/fuzz_redisconv.c's rm_ready, never connected */
    if (rm->ac == NULL ||
        redisAsyncFormattedCommand(rm->ac, is_sample ? rm_sample_cb :
                                   rm_aux_cb, rm, cmd, len) != REDIS_OK)
        return -1;
    rm->n_inflight++;
    return 0;
}

void
rm_command(struct rmetrics *rm, int is_sample, int argc, const char **argv,
           const size_t *lens)
{
    char *cmd = NULL;

    if (rm->n_queued + rm->n_inflight >= rm->cfg.max_pending)
        goto drop;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0)
        goto drop;
    if (rm->is_connected) {
        int rc = rm_dispatch(rm, cmd, (size_t)len, is_sample);
        redisFreeCommand(cmd);
        if (rc < 0)
            goto drop;
        return;
    }
    struct rm_cmd *c = xcalloc(1, sizeof(*c));
    c->cmd = cmd;
    c->len = (size_t)len;
    c->is_sample = is_sample;
    if (rm->q_tail != NULL)
        rm->q_tail->next = c;
    else
        rm->q_head = c;
    rm->q_tail = c;
    rm->n_queued++;
    return;
drop:
    if (is_sample)
        rm->ctr.samples_dropped++;
}

static void
rm_queue_flush(struct rmetrics *rm)
{
    while (rm->q_head != NULL && rm->is_connected) {
        struct rm_cmd *c = rm->q_head;
        rm->q_head = c->next;
        if (rm->q_head == NULL)
            rm->q_tail = NULL;
        rm->n_queued--;
        if (rm_dispatch(rm, c->cmd, c->len, c->is_sample) < 0 &&
            c->is_sample)
            rm->ctr.samples_dropped++;
        redisFreeCommand(c->cmd);
        free(c);
    }
}

static void
rm_queue_clear(struct rmetrics *rm)
{
    while (rm->q_head != NULL) {
        struct rm_cmd *c = rm->q_head;
        rm->q_head = c->next;
        redisFreeCommand(c->cmd);
        free(c);
    }
    rm->q_tail = NULL;
    rm->n_queued = 0;
}

void
rm_cmdv(struct rmetrics *rm, int is_sample, int argc, const char **argv)
{
    size_t lens[RM_MAX_ARGS];

    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    rm_command(rm, is_sample, argc, argv, lens);
}

/* ---- connection ---- */

static void rm_connect(struct rmetrics *rm);

static void
rm_schedule_reconnect(struct rmetrics *rm)
{
    if (rm->is_freeing)
        return;
    struct timeval tv = { rm->backoff_ms / 1000,
                          (rm->backoff_ms % 1000) * 1000 };
    if (event_add(rm->reconnect_ev, &tv) < 0)
        log_error("redis", "cannot schedule reconnect");
    rm->backoff_ms *= 2;
    if (rm->backoff_ms > RM_BACKOFF_MAX_MS)
        rm->backoff_ms = RM_BACKOFF_MAX_MS;
}

static void
rm_connect_cb(const redisAsyncContext *ac, int status)
{
    struct rmetrics *rm = ac->data;

    event_del(rm->timeout_ev);
    if (status != REDIS_OK) {
        /* hiredis frees ac after this returns */
        if (rm->backoff_ms <= RM_BACKOFF_MIN_MS * 2)
            log_warn("redis", "cannot connect addr=%s error=\"%s\"",
                     rm->addr, ac->errstr);
        rm->ac = NULL;
        rm_schedule_reconnect(rm);
        return;
    }
    if (rm->has_connected)
        rm->ctr.reconnects++;
    rm->has_connected = 1;
    rm->bounds.why[0] = '\0';
    rm->conn_gen++;
    rm->backoff_ms = RM_BACKOFF_MIN_MS;
    log_info("redis", "connected addr=%s queued=%zu", rm->addr, rm->n_queued);
    /* writes and reads wait (queued, refused) until the older layout is
     * converted: rm_ready then */
    rm_migrate(rm);
}

void
rm_ready(struct rmetrics *rm)
{
    rm->is_connected = 1;
    rm_queue_flush(rm);
    /* written by older versions, never trimmed (REDIS.md "Keys") */
    rm_cmdv(rm, 0, 2, (const char *[]){ "DEL", "logq:host_interval" });
}

static void
rm_disconnect_cb(const redisAsyncContext *ac, int status)
{
    struct rmetrics *rm = ac->data;

    rm->ac = NULL;
    rm->is_connected = 0;
    if (rm->is_freeing)
        return;
    log_warn("redis", "connection lost addr=%s error=\"%s\"", rm->addr,
             status == REDIS_OK ? "closed" :
             rm->bounds.why[0] != '\0' ? rm->bounds.why : ac->errstr);
    rm_schedule_reconnect(rm);
}

static void
rm_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
    rm_connect(arg);
}

/* hiredis 0.14 has no connect timeout: give up on a hanging attempt. */
static void
rm_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct rmetrics *rm = arg;

    if (rm->ac == NULL || rm->is_connected)
        return;
    log_warn("redis", "connect timed out addr=%s", rm->addr);
    redisAsyncContext *ac = rm->ac;
    rm->ac = NULL;
    redisAsyncFree(ac);             /* not connected: no callback runs */
    rm_schedule_reconnect(rm);
}

/* A reply over the bounds (redis_bounds.h): counted and logged; the
 * reads the closed connection fails name it (rm->bounds.why). */
static void
rm_refuse_cb(void *arg, const char *why)
{
    rm_reply_error(arg, "reply", why);
}

static void
rm_connect(struct rmetrics *rm)
{
    redisAsyncContext *ac = rm->tcp_host != NULL ?
        redisAsyncConnect(rm->tcp_host, rm->tcp_port) :
        redisAsyncConnectUnix(rm->addr);

    if (ac == NULL || ac->err) {
        if (ac != NULL)
            redisAsyncFree(ac);
        rm_schedule_reconnect(rm);
        return;
    }
    ac->data = rm;
    if (rm_bounds_attach(ac, rm->base, &rm->bounds) < 0 ||
        redisAsyncSetConnectCallback(ac, rm_connect_cb) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, rm_disconnect_cb) != REDIS_OK) {
        redisAsyncFree(ac);
        rm_schedule_reconnect(rm);
        return;
    }
    rm->ac = ac;
    struct timeval tv = { RM_CONNECT_MS / 1000, 0 };
    if (event_add(rm->timeout_ev, &tv) < 0)
        log_error("redis", "cannot arm connect timeout");
}

/* "HOST:PORT" (host may be [v6]) or anything with a '/' (unix socket). */
static int
rm_addr_parse(struct rmetrics *rm, const char *addr)
{
    if (strchr(addr, '/') != NULL)
        return 0;
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon[1] == '\0')
        return -1;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port < 1 || port > 65535)
        return -1;
    const char *h = addr;
    size_t hlen = (size_t)(colon - addr);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    rm->tcp_host = xstrndup(h, hlen);
    rm->tcp_port = (int)port;
    return 0;
}

/* ---- writes ---- */

struct rm_frame {
    const char *host;
    struct rm_ent *h;           /* the host's entry */
    int64_t     ts_ms;          /* point time */
    int64_t     now_ms;         /* collector time */
    char        ts[24];
    char        now[24];        /* now_ms: index scores */
    char        ret_ms[24];     /* PEXPIRE argument */
    char        cutoff[32];     /* ZREMRANGEBYSCORE max: "(<now-ret>" */
    double      interval_s;     /* < 0: no interval sample */
};

/* 1 when an entry's index is to be refreshed: first seen, after a
 * reconnect, or once a minute. */
static int
rm_is_due(const struct rmetrics *rm, const struct rm_frame *f,
          const struct rm_ent *e)
{
    return e->refreshed_gen != rm->conn_gen || e->refreshed_ms == 0 ||
           f->now_ms - e->refreshed_ms >= RM_REFRESH_MS;
}

/* Index entries, trimming and expiry of one series (REDIS.md "Writes"). */
static void
rm_refresh_series(struct rmetrics *rm, const struct rm_frame *f,
                  struct rm_ent *e, const char *nkey, const char *skey)
{
    rm_cmdv(rm, 0, 4, (const char *[]){ "ZADD", nkey, f->now, e->id });
    rm_cmdv(rm, 0, 4, (const char *[]){ "ZADD", "logq:series", f->now,
                                        e->id });
    rm_cmdv(rm, 0, 4, (const char *[]){ "ZREMRANGEBYSCORE", skey, "-inf",
                                        f->cutoff });
    rm_cmdv(rm, 0, 3, (const char *[]){ "PEXPIRE", skey, f->ret_ms });
    rm_cmdv(rm, 0, 3, (const char *[]){ "PEXPIRE", nkey, f->ret_ms });
    rm_cmdv(rm, 0, 3, (const char *[]){ "PEXPIRE", "logq:series",
                                        f->ret_ms });
    e->refreshed_ms = f->now_ms;
    e->refreshed_gen = rm->conn_gen;
}

/* A metric name's entry in logq:names and the trimming of its series
 * index to the alive ids (REDIS.md "Writes"). */
static void
rm_refresh_name(struct rmetrics *rm, const struct rm_frame *f,
                struct rm_ent *ne, const char *nkey)
{
    rm_cmdv(rm, 0, 4, (const char *[]){ "ZADD", "logq:names", f->now,
                                        ne->id });
    rm_cmdv(rm, 0, 4, (const char *[]){ "ZREMRANGEBYSCORE", nkey, "-inf",
                                        f->cutoff });
    rm_cmdv(rm, 0, 3, (const char *[]){ "PEXPIRE", "logq:names", f->ret_ms });
    ne->refreshed_ms = f->now_ms;
    ne->refreshed_gen = rm->conn_gen;
}

/* NUL-terminated copy of a wire string into a bounded buffer. */
static int
rm_wire_cstr(const struct wire_str *w, char *out, size_t cap)
{
    if (w->len >= cap || (w->len > 0 && memchr(w->p, '\0', w->len) != NULL))
        return -1;
    if (w->len > 0)
        memcpy(out, w->p, w->len);
    out[w->len] = '\0';
    return 0;
}

static void
rm_write_sample(struct rmetrics *rm, struct rm_frame *f,
                const struct wire_sample *s, struct buf *id)
{
    char name[RM_ID_MAX], ctr[RM_ID_MAX], label[RM_ID_MAX];

    if (rm_wire_cstr(&s->name, name, sizeof(name)) < 0 || name[0] == '\0' ||
        rm_wire_cstr(&s->container, ctr, sizeof(ctr)) < 0 ||
        rm_wire_cstr(&s->label, label, sizeof(label)) < 0)
        goto drop;
    if (strcmp(name, RM_INTERVAL_NAME) == 0 && isfinite(s->value))
        f->interval_s = s->value;
    buf_reset(id);
    if (rm_escape_append(id, f->host, strlen(f->host)) < 0 ||
        buf_append(id, "|", 1) < 0)
        goto drop;
    size_t field_off = id->len;     /* "name|container|label" starts here */
    if (rm_escape_append(id, name, strlen(name)) < 0)
        goto drop;
    size_t pair_len = id->len;      /* "host|name": the (host, name) key */
    if (buf_append(id, "|", 1) < 0 ||
        rm_escape_append(id, ctr, strlen(ctr)) < 0 ||
        buf_append(id, "|", 1) < 0 ||
        rm_escape_append(id, label, strlen(label)) < 0)
        goto drop;
    /* a known series knows its name's entry: one lookup per sample */
    struct rm_ent *e = rm_series_get(rm, f->h, name, (const char *)id->data,
                                     id->len, pair_len);
    if (e == NULL)
        goto drop;                  /* a cap reached (counted) */
    struct rm_ent *ne = e->name;
    e->last_write_ms = f->now_ms;
    ne->last_write_ms = f->now_ms;

    char member[64];
    snprintf(member, sizeof(member), "%s:%.17g", f->ts, s->value);
    char *skey = xasprintf("logq:s:%s", e->id);
    rm_cmdv(rm, 1, 4, (const char *[]){ "ZADD", skey, f->ts, member });
    const char *field = e->id + field_off;  /* the id without its host */
    char *lkey = xasprintf("logq:latest:%s", f->host);
    rm_cmdv(rm, 0, 4, (const char *[]){ "HSET", lkey, field, member });
    free(lkey);
    if (rm_is_due(rm, f, e) || rm_is_due(rm, f, ne)) {
        char *nkey = xasprintf("logq:name:%s", name);
        if (rm_is_due(rm, f, e))
            rm_refresh_series(rm, f, e, nkey, skey);
        if (rm_is_due(rm, f, ne))
            rm_refresh_name(rm, f, ne, nkey);
        free(nkey);
    }
    free(skey);
    return;
drop:
    rm->ctr.samples_dropped++;
}

static void
rm_frame_init(struct rmetrics *rm, struct rm_frame *f, const char *host,
              int64_t time_ns)
{
    f->host = host;
    f->now_ms = rm_now_ms(rm);
    f->ts_ms = time_ns / 1000000;
    /* a broken shipper clock must not make points that never expire */
    if (f->ts_ms < f->now_ms - rm->cfg.retention_ms ||
        f->ts_ms > f->now_ms + RM_FUTURE_MS)
        f->ts_ms = f->now_ms;
    f->interval_s = -1;
    snprintf(f->ts, sizeof(f->ts), "%" PRId64, f->ts_ms);
    snprintf(f->now, sizeof(f->now), "%" PRId64, f->now_ms);
    snprintf(f->ret_ms, sizeof(f->ret_ms), "%" PRId64,
             rm->cfg.retention_ms + RM_EXPIRE_MARGIN_MS);
    snprintf(f->cutoff, sizeof(f->cutoff), "(%" PRId64,
             f->now_ms - rm->cfg.retention_ms);
}

/* The host's index entry and its keys' expiry: logq:hosts (and its own
 * expiry, the safety net if writes stop), logq:interval:<host> (set when
 * the frame has the interval sample, else only its expiry renewed) and
 * logq:latest:<host>. */
static void
rm_write_host(struct rmetrics *rm, const struct rm_frame *f)
{
    char now[24], ival[24];
    char *lkey = xasprintf("logq:latest:%s", f->host);
    char *ikey = xasprintf("logq:interval:%s", f->host);

    snprintf(now, sizeof(now), "%" PRId64, f->now_ms);
    rm_cmdv(rm, 0, 4, (const char *[]){ "ZADD", "logq:hosts", now, f->host });
    rm_cmdv(rm, 0, 3, (const char *[]){ "PEXPIRE", "logq:hosts", f->ret_ms });
    if (f->interval_s >= 0.001 && f->interval_s <= 86400) {
        snprintf(ival, sizeof(ival), "%" PRId64,
                 (int64_t)(f->interval_s * 1000 + 0.5));
        rm_cmdv(rm, 0, 5, (const char *[]){ "SET", ikey, ival, "PX",
                                            f->ret_ms });
    } else {
        rm_cmdv(rm, 0, 3, (const char *[]){ "PEXPIRE", ikey, f->ret_ms });
    }
    rm_cmdv(rm, 0, 3, (const char *[]){ "PEXPIRE", lkey, f->ret_ms });
    free(ikey);
    free(lkey);
}

/* A host idle for the retention: its keys go now, not at their expiry. */
static void
rm_host_gone(struct rmetrics *rm, const char *host)
{
    char *lkey = xasprintf("logq:latest:%s", host);
    char *ikey = xasprintf("logq:interval:%s", host);

    rm_cmdv(rm, 0, 3, (const char *[]){ "ZREM", "logq:hosts", host });
    rm_cmdv(rm, 0, 3, (const char *[]){ "DEL", lkey, ikey });
    free(ikey);
    free(lkey);
}

/* A name idle for the retention: so is every series of it this process
 * wrote, and those of earlier processes are older: its index goes now. */
static void
rm_name_gone(struct rmetrics *rm, const char *name)
{
    char *nkey = xasprintf("logq:name:%s", name);

    rm_cmdv(rm, 0, 3, (const char *[]){ "ZREM", "logq:names", name });
    rm_cmdv(rm, 0, 2, (const char *[]){ "DEL", nkey });
    free(nkey);
}

/* Trims the indexes of hosts, names and series idle for a retention
 * period (the series by the sweep). */
static void
rm_housekeep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct rmetrics *rm = arg;
    int64_t now = rm_now_ms(rm);
    char cutoff[32];

    rm_tab_expire(rm, &rm->series, now - rm->cfg.retention_ms, NULL);
    rm_tab_expire(rm, &rm->pairs, now - rm->cfg.retention_ms, NULL);
    if (!rm->is_connected)
        return;
    rm_tab_expire(rm, &rm->names, now - rm->cfg.retention_ms, rm_name_gone);
    rm_tab_expire(rm, &rm->hosts, now - rm->cfg.retention_ms, rm_host_gone);
    snprintf(cutoff, sizeof(cutoff), "(%" PRId64, now - rm->cfg.retention_ms);
    rm_cmdv(rm, 0, 4, (const char *[]){ "ZREMRANGEBYSCORE", "logq:names",
                                        "-inf", cutoff });
    rm_cmdv(rm, 0, 4, (const char *[]){ "ZREMRANGEBYSCORE", "logq:hosts",
                                        "-inf", cutoff });
    rm_sweep(rm);
}

/* ---- public API ---- */

void
rmetrics_write(struct rmetrics *rm, const char *host, struct wire_metrics *m)
{
    struct rm_frame f;
    struct wire_sample s;
    struct buf id;

    if (host == NULL || host[0] == '\0')
        return;
    rm_frame_init(rm, &f, host, m->time_ns);
    struct rm_ent *h = rm_tab_get(&rm->hosts, host, strlen(host));
    if (h == NULL) {                /* --max-metrics-hosts reached */
        rm->ctr.hosts_dropped++;
        while (wire_metrics_next(m, &s) == 1)
            rm->ctr.samples_dropped++;
        return;
    }
    h->last_write_ms = f.now_ms;
    f.h = h;
    buf_init(&id, RM_ID_MAX);
    while (wire_metrics_next(m, &s) == 1)
        rm_write_sample(rm, &f, &s, &id);
    buf_fini(&id);
    rm_write_host(rm, &f);
}

/* The per-host caps: defaults, and at most half the collector's (at
 * least 1), so one host never fills those. */
static void
rm_host_caps_init(struct rmetrics_config *c)
{
    size_t half_names = c->max_names / 2 > 0 ? c->max_names / 2 : 1;
    size_t half_series = c->max_series / 2 > 0 ? c->max_series / 2 : 1;

    if (c->max_names_per_host == 0)
        c->max_names_per_host = RM_DEFAULT_HOST_NAMES;
    if (c->max_series_per_host == 0)
        c->max_series_per_host = RM_DEFAULT_HOST_SERIES;
    if (c->max_names_per_host > half_names) {
        log_warn("redis", "--max-metric-names-per-host %zu is more than half "
                 "of --max-metric-names: %zu used", c->max_names_per_host,
                 half_names);
        c->max_names_per_host = half_names;
    }
    if (c->max_series_per_host > half_series) {
        log_warn("redis", "--max-series-per-host %zu is more than half of "
                 "--max-series: %zu used", c->max_series_per_host,
                 half_series);
        c->max_series_per_host = half_series;
    }
}

struct rmetrics *
rmetrics_new(struct event_base *base, const struct rmetrics_config *cfg)
{
    if (cfg->addr == NULL || cfg->addr[0] == '\0')
        return NULL;
    struct rmetrics *rm = xcalloc(1, sizeof(*rm));
    rm->base = base;
    rm->cfg = *cfg;
    rm->addr = xstrdup(cfg->addr);
    rm->cfg.addr = rm->addr;
    if (rm->cfg.retention_ms <= 0)
        rm->cfg.retention_ms = RM_DEFAULT_RETENTION_MS;
    if (rm->cfg.max_series == 0)
        rm->cfg.max_series = RM_DEFAULT_MAX_SERIES;
    if (rm->cfg.max_hosts == 0 || rm->cfg.max_hosts > RMETRICS_MAX_HOSTS)
        rm->cfg.max_hosts = RMETRICS_MAX_HOSTS;
    if (rm->cfg.max_names == 0)
        rm->cfg.max_names = RM_DEFAULT_MAX_NAMES;
    if (rm->cfg.max_names > RMETRICS_MAX_NAMES)
        rm->cfg.max_names = RMETRICS_MAX_NAMES;
    rm_host_caps_init(&rm->cfg);
    rm->conv_max_calls = RM_CONV_MAX_CALLS;
    if (rm->cfg.max_pending == 0)
        rm->cfg.max_pending = RM_DEFAULT_MAX_PENDING;
    if (rm->cfg.max_reply_bytes == 0)
        rm->cfg.max_reply_bytes = RMETRICS_REPLY_MAX_BYTES;
    if (rm->cfg.max_query_bytes == 0)
        rm->cfg.max_query_bytes = RMETRICS_QUERY_MAX_BYTES;
    /* the largest reply a read asks for: HGETALL of a host's latest
     * values, two elements a series; a hosts read; a range */
    size_t max_el = 2 * rm->cfg.max_series;
    if (max_el < 2 * (RMETRICS_MAX_HOSTS + 1))
        max_el = 2 * (RMETRICS_MAX_HOSTS + 1);
    if (max_el < RMETRICS_QUERY_MAX_POINTS)
        max_el = RMETRICS_QUERY_MAX_POINTS;
    rm->bounds = (struct rm_bounds){
        .max_elements = max_el + 1, .max_bytes = rm->cfg.max_reply_bytes,
        .refuse = rm_refuse_cb, .arg = rm,
    };
    if (rm_addr_parse(rm, rm->addr) < 0)
        goto fail;
    rm_tab_init(&rm->series, rm->cfg.max_series);
    rm_tab_init(&rm->hosts, rm->cfg.max_hosts);
    rm_tab_init(&rm->names, rm->cfg.max_names);
    rm_tab_init(&rm->pairs, rm->cfg.max_series);
    rm->backoff_ms = RM_BACKOFF_MIN_MS;
    rm->reconnect_ev = evtimer_new(base, rm_reconnect_cb, rm);
    rm->timeout_ev = evtimer_new(base, rm_timeout_cb, rm);
    rm->fail_ev = evtimer_new(base, rm_fail_cb, rm);
    rm->sweep_ev = evtimer_new(base, rm_sweep_timer_cb, rm);
    rm->housekeep_ev = event_new(base, -1, EV_PERSIST, rm_housekeep_cb, rm);
    struct timeval hk = { RM_HOUSEKEEP_MS / 1000, 0 };
    if (rm->reconnect_ev == NULL || rm->timeout_ev == NULL ||
        rm->fail_ev == NULL || rm->sweep_ev == NULL ||
        rm->housekeep_ev == NULL ||
        event_add(rm->housekeep_ev, &hk) < 0)
        goto fail;
    rm_connect(rm);
    return rm;
fail:
    rmetrics_free(rm);
    return NULL;
}

void
rmetrics_free(struct rmetrics *rm)
{
    if (rm == NULL)
        return;
    rm->is_freeing = 1;
    if (rm->ac != NULL) {
        redisAsyncContext *ac = rm->ac;
        rm->ac = NULL;
        redisAsyncFree(ac);         /* pending callbacks run with NULL */
    }
    rm_fail_cb(-1, 0, rm);          /* reads failed but not yet called */
    rm_queue_clear(rm);
    /* what is pointed to after what points to it */
    rm_tab_expire(rm, &rm->series, INT64_MAX, NULL);
    rm_tab_expire(rm, &rm->pairs, INT64_MAX, NULL);
    rm_tab_expire(rm, &rm->hosts, INT64_MAX, NULL);
    rm_tab_expire(rm, &rm->names, INT64_MAX, NULL);
    rm_tab_fini(&rm->series);
    rm_tab_fini(&rm->pairs);
    rm_tab_fini(&rm->hosts);
    rm_tab_fini(&rm->names);
    if (rm->reconnect_ev != NULL)
        event_free(rm->reconnect_ev);
    if (rm->timeout_ev != NULL)
        event_free(rm->timeout_ev);
    if (rm->fail_ev != NULL)
        event_free(rm->fail_ev);
    if (rm->sweep_ev != NULL)
        event_free(rm->sweep_ev);
    if (rm->housekeep_ev != NULL)
        event_free(rm->housekeep_ev);
    free(rm->tcp_host);
    free(rm->addr);
    free(rm);
}

void
rmetrics_get_counters(const struct rmetrics *rm, struct rmetrics_counters *out)
{
    *out = rm->ctr;
    out->is_connected = rm->is_connected;
    out->series = rm->series.n;
    out->hosts = rm->hosts.n;
    out->names = rm->names.n;
    out->hosts_capped = rm->n_hosts_capped;
    out->pending = rm->n_queued + rm->n_inflight;
}
