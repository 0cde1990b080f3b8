/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_read: the read side of redis_metrics (names, hosts, latest
 * values, series in a time range). Each read is a struct rm_read that
 * waits for one or more replies (a query first reads the name index, then
 * one range per matching series, all pipelined) and calls its callback
 * exactly once: from the last reply, from hiredis tearing the connection
 * down (NULL replies), or, when Redis is not connected at all, from a
 * zero-delay timer, never from inside the call that started it. Every
 * reply is checked for type and element count; a malformed element counts
 * as a Redis error and is skipped, a malformed reply fails the read. A
 * query's points are only copied on the loop (each element's first
 * RM_POINT_MAX bytes, struct rm_raw): rm_series_parse (redis_metrics_id.c)
 * turns them into numbers on whichever thread takes the series (a query
 * worker), where a point that is malformed or out of time order is skipped
 * and counted.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "collector/metrics/redis_metrics.h"
#include "collector/metrics/redis_metrics_internal.h"
#include "common/xmalloc.h"

enum rm_read_kind { RM_READ_NAMES, RM_READ_HOSTS, RM_READ_LATEST,
                    RM_READ_QUERY };

struct rm_slot {
    struct rm_read *r;
    size_t          idx;
};

struct rm_read {
    struct rm_read    *next;            /* rm->failed list */
    struct rmetrics   *rm;
    enum rm_read_kind  kind;
    rm_series_cb       series_cb;
    rm_names_cb        names_cb;
    rm_hosts_cb        hosts_cb;
    rm_latest_cb       latest_cb;
    void              *arg;
    size_t             n_wait;          /* replies still expected */
    int                err;
    char               errstr[256];
    /* names */
    char             **names;
    size_t             n_names;
    /* hosts */
    struct rm_host    *hosts;
    size_t             n_hosts;
    /* latest */
    struct rm_latest  *latest;
    size_t             n_latest;
    /* query */
    struct rm_query    q;
    struct rm_series  *series;
    struct rm_raw    **raws;            /* [i]: series[i]'s until sorted */
    struct rm_slot    *slots;
    size_t             n_series;
    size_t             n_raw_bytes;     /* of raws[], at most
                                         * cfg.max_query_bytes */
};

/* ---- raw points ---- */

/* Copies the elements of an array reply of strings (no number parsed). */
static struct rm_raw *
rm_raw_new(const redisReply *reply)
{
    struct rm_raw *raw = xcalloc(1, sizeof(*raw));
    size_t total = 0;

    raw->n = reply->elements;
    raw->lens = xcalloc(raw->n + 1, sizeof(*raw->lens));
    for (size_t i = 0; i < raw->n; i++) {
        size_t len = (size_t)reply->element[i]->len;
        raw->lens[i] = (uint8_t)(len < RM_POINT_MAX ? len : RM_POINT_MAX);
        total += raw->lens[i];
    }
    raw->text = xmalloc(total + 1);
    total = 0;
    for (size_t i = 0; i < raw->n; i++) {
        memcpy(raw->text + total, reply->element[i]->str, raw->lens[i]);
        total += raw->lens[i];
    }
    return raw;
}

void
rmetrics_count_bad_points(struct rmetrics *rm, uint64_t n)
{
    if (rm != NULL && n > 0)
        rm_reply_error_n(rm, "ZREVRANGEBYSCORE", "bad point", n);
}

/* ---- request lifetime ---- */

static struct rm_read *
rm_read_new(struct rmetrics *rm, enum rm_read_kind kind, void *arg)
{
    struct rm_read *r = xcalloc(1, sizeof(*r));

    r->rm = rm;
    r->kind = kind;
    r->arg = arg;
    return r;
}

static void
rm_read_free(struct rm_read *r)
{
    for (size_t i = 0; i < r->n_names; i++)
        free(r->names[i]);
    free(r->names);
    for (size_t i = 0; i < r->n_hosts; i++)
        free((char *)r->hosts[i].host);
    free(r->hosts);
    for (size_t i = 0; i < r->n_latest; i++) {
        free((char *)r->latest[i].name);
        free((char *)r->latest[i].container);
        free((char *)r->latest[i].label);
        free((char *)r->latest[i].point);
    }
    free(r->latest);
    for (size_t i = 0; i < r->n_series; i++) {
        free((char *)r->series[i].host);
        free((char *)r->series[i].name);
        free((char *)r->series[i].container);
        free((char *)r->series[i].label);
        rm_raw_free(r->series[i].raw);      /* sorted, not taken */
        if (r->raws != NULL)
            rm_raw_free(r->raws[i]);
    }
    free(r->series);
    free(r->raws);
    free(r->slots);
    free((char *)r->q.name);
    free((char *)r->q.host);
    free((char *)r->q.container);
    free((char *)r->q.label);
    free(r);
}

/* err: 1, or RMETRICS_ERR_TOO_BIG (redis_metrics.h). */
static void
rm_read_set_err_as(struct rm_read *r, int err, const char *errstr)
{
    if (r->err)
        return;                     /* keep the first */
    r->err = err;
    snprintf(r->errstr, sizeof(r->errstr), "%s", errstr);
}

static void
rm_read_set_err(struct rm_read *r, const char *errstr)
{
    rm_read_set_err_as(r, 1, errstr);
}

static void rm_query_sort(struct rm_read *r);

/* Calls the callback once, then frees r. */
static void
rm_read_finish(struct rm_read *r)
{
    const char *es = r->err ? r->errstr : NULL;

    switch (r->kind) {
    case RM_READ_NAMES:
        r->names_cb(r->err, es, (const char *const *)r->names,
                    r->err ? 0 : r->n_names, r->arg);
        break;
    case RM_READ_HOSTS:
        r->hosts_cb(r->err, es, r->hosts, r->err ? 0 : r->n_hosts, r->arg);
        break;
    case RM_READ_LATEST:
        r->latest_cb(r->err, es, r->latest, r->err ? 0 : r->n_latest,
                     r->arg);
        break;
    case RM_READ_QUERY:
        if (!r->err)
            rm_query_sort(r);
        r->rm->in_series_cb = r;
        r->series_cb(r->err, es, r->series, r->err ? 0 : r->n_series,
                     r->arg);
        r->rm->in_series_cb = NULL;
        break;
    }
    rm_read_free(r);
}

/* One reply arrived (or will never arrive). */
static void
rm_read_done_one(struct rm_read *r)
{
    if (--r->n_wait == 0)
        rm_read_finish(r);
}

void
rm_read_fail_later(struct rmetrics *rm, struct rm_read *r, const char *err)
{
    static const struct timeval now = { 0, 0 };

    rm_read_set_err(r, err);
    r->next = NULL;
    if (rm->failed_tail != NULL)
        rm->failed_tail->next = r;
    else
        rm->failed = r;
    rm->failed_tail = r;
    if (!rm->is_freeing && event_add(rm->fail_ev, &now) < 0)
        rm_fail_cb(-1, 0, rm);      /* cannot defer: answer now */
}

void
rm_fail_cb(evutil_socket_t fd, short what, void *arg)
{
    struct rmetrics *rm = arg;

    while (rm->failed != NULL) {
        struct rm_read *r = rm->failed;
        rm->failed = r->next;
        if (rm->failed == NULL)
            rm->failed_tail = NULL;
        rm_read_finish(r);
    }
}

/* Sends one read command; -1 if it could not be (not connected). */
static int
rm_read_send(struct rmetrics *rm, redisCallbackFn *fn, void *privdata,
             int argc, const char **argv)
{
    size_t lens[8];

    if (rm->send_hook != NULL)
        return rm->send_hook(rm, fn, privdata, argc, argv);
    if (!rm->is_connected || rm->ac == NULL || argc > 8)
        return -1;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (redisAsyncCommandArgv(rm->ac, fn, privdata, argc, argv, lens) !=
        REDIS_OK)
        return -1;
    return 0;
}

/* Starts r with its one first command, or fails it on the next turn. */
static int
rm_read_start(struct rm_read *r, redisCallbackFn *fn, int argc,
              const char **argv)
{
    r->n_wait = 1;
    if (rm_read_send(r->rm, fn, r, argc, argv) < 0)
        rm_read_fail_later(r->rm, r, "redis not connected");
    return 0;
}

/* NULL reply: connection gone. Error reply or wrong type: counted. */
static int
rm_reply_check(struct rm_read *r, const redisReply *reply, const char *cmd,
               int want_type)
{
    if (reply == NULL) {
        rm_read_set_err(r, r->rm->is_freeing ? "shutting down" :
                        r->rm->bounds.why[0] != '\0' ? r->rm->bounds.why :
                        "redis connection lost");
        return -1;
    }
    if (reply->type == want_type)
        return 0;
    const char *msg = reply->type == REDIS_REPLY_ERROR ? reply->str :
                      "unexpected reply type";
    rm_reply_error(r->rm, cmd, msg);
    char e[200];
    snprintf(e, sizeof(e), "redis %s: %.150s", cmd, msg);
    rm_read_set_err(r, e);
    return -1;
}

/* 0 if every element of the array reply is a string. */
static int
rm_all_strings(struct rm_read *r, const redisReply *reply, const char *cmd)
{
    for (size_t i = 0; i < reply->elements; i++) {
        if (reply->element[i] == NULL ||
            reply->element[i]->type != REDIS_REPLY_STRING) {
            rm_reply_error(r->rm, cmd, "array element not a string");
            rm_read_set_err(r, "redis: malformed reply");
            return -1;
        }
    }
    return 0;
}

static int
rm_int_parse(const char *s, size_t len, int64_t *out)
{
    char tmp[40];
    char *end;

    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    double d = strtod(tmp, &end);   /* zset scores may come as "1e+12" */
    if (errno != 0 || *end != '\0' || !isfinite(d) || d < -9.2e18 ||
        d > 9.2e18)
        return -1;
    *out = (int64_t)d;
    return 0;
}

/* ---- names ---- */

static int
rm_strcmp_cb(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
rm_names_reply_cb(redisAsyncContext *ac, void *rp, void *privdata)
{
    struct rm_read *r = privdata;
    redisReply *reply = rp;

    if (rm_reply_check(r, reply, "ZRANGEBYSCORE", REDIS_REPLY_ARRAY) < 0 ||
        rm_all_strings(r, reply, "ZRANGEBYSCORE") < 0)
        goto done;
    if (reply->elements > RMETRICS_MAX_NAMES + 1) {     /* its LIMIT */
        rm_reply_error(r->rm, "ZRANGEBYSCORE", "more names than asked for");
        rm_read_set_err(r, "redis: malformed reply");
        goto done;
    }
    if (reply->elements > RMETRICS_MAX_NAMES) {
        rm_read_set_err(r, "too many metric names");
        goto done;
    }
    r->names = xcalloc(reply->elements + 1, sizeof(*r->names));
    for (size_t i = 0; i < reply->elements; i++)
        r->names[r->n_names++] = xstrndup(reply->element[i]->str,
                                          (size_t)reply->element[i]->len);
    qsort(r->names, r->n_names, sizeof(*r->names), rm_strcmp_cb);
done:
    rm_read_done_one(r);
}

/* "<now - retention>": the lowest score of an alive index entry
 * (REDIS.md "Alive"). */
static void
rm_alive_from(const struct rmetrics *rm, char *out, size_t size)
{
    snprintf(out, size, "%" PRId64, rm_now_ms(rm) - rm->cfg.retention_ms);
}

int
rmetrics_names(struct rmetrics *rm, rm_names_cb cb, void *arg)
{
    if (rm == NULL || cb == NULL)
        return -1;
    struct rm_read *r = rm_read_new(rm, RM_READ_NAMES, arg);
    r->names_cb = cb;
    char from[24], count[24];       /* one more than a read accepts */
    rm_alive_from(rm, from, sizeof(from));
    snprintf(count, sizeof(count), "%d", RMETRICS_MAX_NAMES + 1);
    return rm_read_start(r, rm_names_reply_cb, 7, (const char *[]){
                         "ZRANGEBYSCORE", "logq:names", from, "+inf",
                         "LIMIT", "0", count });
}

/* ---- hosts ---- */

/* GET logq:interval:<host>: a number of ms, or nil (the default stays). */
static void
rm_ival_reply_cb(redisAsyncContext *ac, void *rp, void *privdata)
{
    struct rm_slot *slot = privdata;
    struct rm_read *r = slot->r;
    redisReply *reply = rp;
    int64_t ms;

    if (reply != NULL && reply->type == REDIS_REPLY_NIL)
        goto done;
    if (rm_reply_check(r, reply, "GET", REDIS_REPLY_STRING) < 0)
        goto done;
    if (rm_int_parse(reply->str, (size_t)reply->len, &ms) < 0 || ms <= 0) {
        rm_reply_error(r->rm, "GET", "bad interval");
        goto done;
    }
    r->hosts[slot->idx].interval_ms = ms;
done:
    rm_read_done_one(r);
}

/* One GET of the interval per host, pipelined (REDIS.md "Reads"). */
static void
rm_hosts_send_ivals(struct rm_read *r)
{
    r->slots = xcalloc(r->n_hosts + 1, sizeof(*r->slots));
    for (size_t i = 0; i < r->n_hosts; i++) {
        char *key = xasprintf("logq:interval:%s", r->hosts[i].host);
        r->slots[i] = (struct rm_slot){ r, i };
        int rc = rm_read_send(r->rm, rm_ival_reply_cb, &r->slots[i], 2,
                              (const char *[]){ "GET", key });
        free(key);
        if (rc < 0) {
            rm_read_set_err(r, "redis connection lost");
            break;
        }
        r->n_wait++;
    }
}

static void
rm_hosts_reply_cb(redisAsyncContext *ac, void *rp, void *privdata)
{
    struct rm_read *r = privdata;
    redisReply *reply = rp;

    if (rm_reply_check(r, reply, "ZRANGE", REDIS_REPLY_ARRAY) < 0 ||
        rm_all_strings(r, reply, "ZRANGE") < 0)
        goto done;
    if (reply->elements % 2 != 0) {
        rm_reply_error(r->rm, "ZRANGE", "odd element count");
        rm_read_set_err(r, "redis: malformed reply");
        goto done;
    }
    size_t n = reply->elements / 2;
    if (n > RMETRICS_MAX_HOSTS + 1) {       /* more than asked for */
        rm_reply_error(r->rm, "ZRANGE", "more hosts than asked for");
        rm_read_set_err(r, "redis: malformed reply");
        goto done;
    }
    if (n > RMETRICS_MAX_HOSTS) {
        rm_read_set_err(r, "too many hosts");
        goto done;
    }
    r->hosts = xcalloc(n + 1, sizeof(*r->hosts));
    for (size_t i = 0; i < n; i++) {
        const redisReply *h = reply->element[2 * i];
        const redisReply *sc = reply->element[2 * i + 1];
        int64_t ms;
        if (rm_int_parse(sc->str, (size_t)sc->len, &ms) < 0 ||
            memchr(h->str, '\0', (size_t)h->len) != NULL) {
            rm_reply_error(r->rm, "ZRANGE", "bad score or host");
            continue;
        }
        struct rm_host *o = &r->hosts[r->n_hosts++];
        o->host = xstrndup(h->str, (size_t)h->len);
        o->last_seen_ms = ms;
        o->interval_ms = 10000;
    }
    rm_hosts_send_ivals(r);
done:
    rm_read_done_one(r);
}

int
rmetrics_hosts(struct rmetrics *rm, rm_hosts_cb cb, void *arg)
{
    if (rm == NULL || cb == NULL)
        return -1;
    struct rm_read *r = rm_read_new(rm, RM_READ_HOSTS, arg);
    r->hosts_cb = cb;
    char last[24];                  /* one more than a read accepts */
    snprintf(last, sizeof(last), "%d", RMETRICS_MAX_HOSTS);
    return rm_read_start(r, rm_hosts_reply_cb, 5, (const char *[]){
                         "ZRANGE", "logq:hosts", "0", last, "WITHSCORES" });
}

/* ---- latest ---- */

static void
rm_latest_reply_cb(redisAsyncContext *ac, void *rp, void *privdata)
{
    struct rm_read *r = privdata;
    redisReply *reply = rp;

    if (rm_reply_check(r, reply, "HGETALL", REDIS_REPLY_ARRAY) < 0 ||
        rm_all_strings(r, reply, "HGETALL") < 0)
        goto done;
    if (reply->elements % 2 != 0) {
        rm_reply_error(r->rm, "HGETALL", "odd element count");
        rm_read_set_err(r, "redis: malformed reply");
        goto done;
    }
    size_t n = reply->elements / 2;
    r->latest = xcalloc(n + 1, sizeof(*r->latest));
    for (size_t i = 0; i < n; i++) {
        const redisReply *f = reply->element[2 * i];
        const redisReply *v = reply->element[2 * i + 1];
        char *parts[3];
        /* the point is parsed where it is used (rm_latest_parse) */
        if (v->len <= 0 || v->len >= RM_POINT_MAX ||
            rm_split(f->str, (size_t)f->len, 3, parts) < 0) {
            rm_reply_error(r->rm, "HGETALL", "bad latest entry");
            continue;
        }
        struct rm_latest *o = &r->latest[r->n_latest++];
        o->name = parts[0];
        o->container = parts[1];
        o->label = parts[2];
        char *pt = xmalloc((size_t)v->len + 1);     /* may hold a NUL */
        memcpy(pt, v->str, (size_t)v->len);
        pt[v->len] = '\0';
        o->point = pt;
        o->point_len = (size_t)v->len;
    }
done:
    rm_read_done_one(r);
}

int
rmetrics_latest(struct rmetrics *rm, const char *host, rm_latest_cb cb,
                void *arg)
{
    if (rm == NULL || cb == NULL || host == NULL)
        return -1;
    struct rm_read *r = rm_read_new(rm, RM_READ_LATEST, arg);
    r->latest_cb = cb;
    char *key = xasprintf("logq:latest:%s", host);
    int rc = rm_read_start(r, rm_latest_reply_cb, 2,
                           (const char *[]){ "HGETALL", key });
    free(key);
    return rc;
}

/* ---- query ---- */

static int
rm_series_cmp_cb(const void *a, const void *b)
{
    const struct rm_series *x = a, *y = b;
    int c = strcmp(x->host, y->host);

    if (c == 0)
        c = strcmp(x->container, y->container);
    if (c == 0)
        c = strcmp(x->label, y->label);
    return c;
}

/* Drops series without elements, then sorts by host, container, label.
 * The raw points move from raws[] to series[].raw. */
static void
rm_query_sort(struct rm_read *r)
{
    size_t k = 0;

    for (size_t i = 0; i < r->n_series; i++) {
        struct rm_raw *raw = r->raws[i];
        r->raws[i] = NULL;
        if (raw == NULL || raw->n == 0) {
            free((char *)r->series[i].host);
            free((char *)r->series[i].name);
            free((char *)r->series[i].container);
            free((char *)r->series[i].label);
            rm_raw_free(raw);
            continue;
        }
        r->series[k] = r->series[i];
        r->series[k].raw = raw;
        k++;
    }
    r->n_series = k;
    qsort(r->series, k, sizeof(*r->series), rm_series_cmp_cb);
}

static void
rm_range_reply_cb(redisAsyncContext *ac, void *rp, void *privdata)
{
    struct rm_slot *slot = privdata;
    struct rm_read *r = slot->r;
    redisReply *reply = rp;

    if (rm_reply_check(r, reply, "ZREVRANGEBYSCORE", REDIS_REPLY_ARRAY) < 0 ||
        rm_all_strings(r, reply, "ZREVRANGEBYSCORE") < 0 || r->err)
        goto done;
    if (reply->elements > RMETRICS_QUERY_MAX_POINTS) {  /* its LIMIT */
        rm_reply_error(r->rm, "ZREVRANGEBYSCORE", "more points than LIMIT");
        rm_read_set_err(r, "redis: malformed reply (more points than "
                        "asked for)");
        goto done;
    }
    struct rm_raw *raw = rm_raw_new(reply);
    size_t bytes = raw->n;
    for (size_t i = 0; i < raw->n; i++)
        bytes += raw->lens[i];
    if (bytes > r->rm->cfg.max_query_bytes - r->n_raw_bytes) {
        char e[200];
        size_t cap = r->rm->cfg.max_query_bytes;
        snprintf(e, sizeof(e), "the query's range holds more than %zu %s "
                 "of points: narrow it with host, container or label, or "
                 "shorten it", cap >= (1u << 20) ? cap >> 20 : cap,
                 cap >= (1u << 20) ? "MiB" : "bytes");
        rm_read_set_err_as(r, RMETRICS_ERR_TOO_BIG, e);
        rm_raw_free(raw);
        for (size_t i = 0; i < r->n_series; i++) {  /* the query fails */
            rm_raw_free(r->raws[i]);
            r->raws[i] = NULL;
        }
        goto done;
    }
    r->n_raw_bytes += bytes;
    r->raws[slot->idx] = raw;
done:
    rm_read_done_one(r);
}

static int
rm_query_match(const struct rm_query *q, char *const *p)
{
    return strcmp(p[1], q->name) == 0 &&
           (q->host == NULL || strcmp(p[0], q->host) == 0) &&
           (q->container == NULL || strcmp(p[2], q->container) == 0) &&
           (q->label == NULL || strcmp(p[3], q->label) == 0);
}

/* Keeps the ids of the reply that match the query, as series. */
static int
rm_query_collect(struct rm_read *r, const redisReply *reply)
{
    r->series = xcalloc(RMETRICS_QUERY_MAX_SERIES + 1, sizeof(*r->series));
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        char *p[4];
        if (rm_split(e->str, (size_t)e->len, 4, p) < 0) {
            rm_reply_error(r->rm, "ZRANGEBYSCORE", "bad series id");
            continue;
        }
        if (!rm_query_match(&r->q, p) ||
            r->n_series == RMETRICS_QUERY_MAX_SERIES) {
            int is_over = rm_query_match(&r->q, p);
            for (int j = 0; j < 4; j++)
                free(p[j]);
            if (is_over) {
                rm_read_set_err_as(r, RMETRICS_ERR_TOO_BIG,
                                   "more than 1000 series match: narrow "
                                   "the query with host, container or "
                                   "label");
                return -1;
            }
            continue;
        }
        struct rm_series *s = &r->series[r->n_series++];
        s->host = p[0];
        s->name = p[1];
        s->container = p[2];
        s->label = p[3];
    }
    return 0;
}

static void
rm_query_send_ranges(struct rm_read *r, const redisReply *reply)
{
    char from[24], to[24], limit[24];

    snprintf(from, sizeof(from), "%" PRId64, r->q.from_ms);
    snprintf(to, sizeof(to), "%" PRId64, r->q.to_ms);
    snprintf(limit, sizeof(limit), "%d", RMETRICS_QUERY_MAX_POINTS);
    r->raws = xcalloc(r->n_series + 1, sizeof(*r->raws));
    r->slots = xcalloc(r->n_series + 1, sizeof(*r->slots));
    struct buf key;
    buf_init(&key, RM_ID_MAX + 16);
    for (size_t i = 0; i < r->n_series; i++) {
        const struct rm_series *s = &r->series[i];
        buf_reset(&key);
        if (buf_append(&key, "logq:s:", 7) < 0 ||
            rm_escape_append(&key, s->host, strlen(s->host)) < 0 ||
            buf_append(&key, "|", 1) < 0 ||
            rm_escape_append(&key, s->name, strlen(s->name)) < 0 ||
            buf_append(&key, "|", 1) < 0 ||
            rm_escape_append(&key, s->container, strlen(s->container)) < 0 ||
            buf_append(&key, "|", 1) < 0 ||
            rm_escape_append(&key, s->label, strlen(s->label)) < 0 ||
            buf_append(&key, "", 1) < 0)
            continue;               /* cannot happen: ids fit RM_ID_MAX */
        r->slots[i] = (struct rm_slot){ r, i };
        if (rm_read_send(r->rm, rm_range_reply_cb, &r->slots[i], 7,
                         (const char *[]){ "ZREVRANGEBYSCORE",
                         (const char *)key.data, to, from, "LIMIT", "0",
                         limit }) < 0) {
            rm_read_set_err(r, "redis connection lost");
            break;
        }
        r->n_wait++;
    }
    buf_fini(&key);
}

static void
rm_index_reply_cb(redisAsyncContext *ac, void *rp, void *privdata)
{
    struct rm_read *r = privdata;
    redisReply *reply = rp;

    if (rm_reply_check(r, reply, "ZRANGEBYSCORE", REDIS_REPLY_ARRAY) == 0 &&
        rm_all_strings(r, reply, "ZRANGEBYSCORE") == 0 &&
        rm_query_collect(r, reply) == 0)
        rm_query_send_ranges(r, reply);
    rm_read_done_one(r);
}

struct rm_series_set *
rmetrics_series_take(struct rmetrics *rm)
{
    struct rm_read *r = rm != NULL ? rm->in_series_cb : NULL;

    if (r == NULL)
        return NULL;
    struct rm_series_set *set = xcalloc(1, sizeof(*set));
    if (r->err)
        return set;             /* the callback saw no series either */
    /* after rm_query_sort, series[i].raw is owned there: the set frees it */
    set->series = r->series;
    set->n = r->n_series;
    r->series = NULL;
    r->n_series = 0;
    return set;
}

void
rm_series_set_free(struct rm_series_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free((char *)set->series[i].host);
        free((char *)set->series[i].name);
        free((char *)set->series[i].container);
        free((char *)set->series[i].label);
        free((struct rm_point *)set->series[i].points);
        rm_raw_free(set->series[i].raw);
    }
    free(set->series);
    free(set);
}

static char *
rm_dup_opt(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

int
rmetrics_query(struct rmetrics *rm, const struct rm_query *q,
               rm_series_cb cb, void *arg)
{
    if (rm == NULL || cb == NULL || q == NULL || q->name == NULL ||
        q->name[0] == '\0')
        return -1;
    struct rm_read *r = rm_read_new(rm, RM_READ_QUERY, arg);
    r->series_cb = cb;
    r->q = (struct rm_query){
        .name = xstrdup(q->name), .host = rm_dup_opt(q->host),
        .container = rm_dup_opt(q->container), .label = rm_dup_opt(q->label),
        .from_ms = q->from_ms, .to_ms = q->to_ms,
    };
    char *key = xasprintf("logq:name:%s", q->name);
    char from[24];
    rm_alive_from(rm, from, sizeof(from));
    int rc = rm_read_start(r, rm_index_reply_cb, 4, (const char *[]){
                           "ZRANGEBYSCORE", key, from, "+inf" });
    free(key);
    return rc;
}
