/* SPDX-License-Identifier: MIT */
/*
 * api_info: the small JSON resources: GET /health (status, counters, store
 * figures, connected shippers), /api/v1/hosts and /api/v1/containers (from
 * store_foreach_source, plus which hosts have a shipper connected right
 * now). Built with jansson; these replies are small (one entry per source).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "collector/api/api_internal.h"
#include "collector/api/api_metrics.h"
#include "collector/metrics/redis_metrics.h"
#include "collector/search/agg.h"
#include "common/escape.h"
#include "common/labelset.h"
#include "common/timeutil.h"
#include "common/utf8.h"

/* ---- helpers ---- */

#define API_NAME_MAX 1024       /* an escaped name is cut to this */
#define API_CAPPED_HOSTS 100    /* hosts listed in /health metrics_capped */

/* Names as shippers sent them may not be UTF-8, which JSON (and jansson)
 * cannot carry: such a name is listed with its bytes escaped ("web\xff",
 * common/escape.h) rather than dropped. Returns s when it is valid UTF-8,
 * else the escaped form in tmp (cut to fit). */
static const char *
api_name(const char *s, char *tmp, size_t tmp_size)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s);

    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t bad, k = utf8_decode(p + i, n - i, &cp, &bad);
        if (k == 0)
            return escape_str(tmp, tmp_size, s, n, 0);
        i += k;
    }
    return s;
}

static json_t *
api_time_json(int64_t ns)
{
    char t[40];

    if (ns == 0 || ns == INT64_MIN || ns == INT64_MAX)
        return json_null();
    size_t n = time_ns_format(ns, t);
    return json_stringn(t, n);
}

static void
api_send_json(struct api *a, struct evhttp_request *req, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;

    if (text == NULL)
        api_reply_error(a, req, HTTP_INTERNAL, "cannot format reply");
    else
        api_reply_json(req, text, strlen(text));
    free(text);
    json_decref(v);
}

/* ---- /health ---- */

static void
api_health_peer_cb(const struct ingest_peer_info *pi, void *arg)
{
    char h[API_NAME_MAX], sw[API_NAME_MAX];
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:o, s:I, s:I, s:I}",
                          "host", api_name(pi->host, h, sizeof(h)),
                          "peer", pi->peer, "software",
                          api_name(pi->software, sw, sizeof(sw)),
                          "ready", pi->is_ready,
                          "connected_since", api_time_json(pi->connected_ns),
                          "batches", (json_int_t)pi->n_batches,
                          "records", (json_int_t)pi->n_records,
                          "acked_seq", (json_int_t)pi->acked_seq);
    if (o != NULL)
        json_array_append_new(arg, o);
}

static json_t *
api_health_counters(const struct collector_stats *st)
{
    json_t *c = json_object();

#define API_COUNTER(name) \
    json_object_set_new(c, #name, json_integer((json_int_t)st->name));
    COLLECTOR_STATS_FIELDS(API_COUNTER)
#undef API_COUNTER
    return c;
}

/* Adds the Redis metrics counters to /health's counters when --redis. */
static void
api_health_metrics_counters(struct api *a, json_t *c)
{
    struct rmetrics *rm = api_metrics_rmetrics(a);
    struct rmetrics_counters k;

    if (rm == NULL)
        return;
    rmetrics_get_counters(rm, &k);
    json_object_set_new(c, "metrics_samples_written",
                        json_integer((json_int_t)k.samples_written));
    json_object_set_new(c, "metrics_samples_dropped",
                        json_integer((json_int_t)k.samples_dropped));
    json_object_set_new(c, "metrics_hosts_dropped",
                        json_integer((json_int_t)k.hosts_dropped));
    json_object_set_new(c, "metrics_names_dropped",
                        json_integer((json_int_t)k.names_dropped));
    json_object_set_new(c, "metrics_host_names_refused",
                        json_integer((json_int_t)k.host_names_refused));
    json_object_set_new(c, "metrics_host_series_refused",
                        json_integer((json_int_t)k.host_series_refused));
    json_object_set_new(c, "metrics_hosts_capped",
                        json_integer((json_int_t)k.hosts_capped));
    json_object_set_new(c, "redis_errors",
                        json_integer((json_int_t)k.redis_errors));
    json_object_set_new(c, "redis_reconnects",
                        json_integer((json_int_t)k.reconnects));
    json_object_set_new(c, "redis_connected",
                        json_integer(k.is_connected ? 1 : 0));
}

static void
api_health_capped_cb(const struct rmetrics_host_caps *c, void *arg)
{
    char h[API_NAME_MAX];
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I}",
                          "host", api_name(c->host, h, sizeof(h)),
                          "names", (json_int_t)c->names,
                          "series", (json_int_t)c->series,
                          "names_refused", (json_int_t)c->names_refused,
                          "series_refused", (json_int_t)c->series_refused);

    if (o != NULL)
        json_array_append_new(arg, o);
}

/* /health's "metrics_capped" when --redis: the hosts whose own metric
 * caps refused samples (collector/REDIS.md "Bounds"), at most
 * API_CAPPED_HOSTS of them (counters.metrics_hosts_capped has them
 * all). */
static void
api_health_metrics_capped(struct api *a, json_t *v)
{
    struct rmetrics *rm = api_metrics_rmetrics(a);
    json_t *arr;

    if (rm == NULL || v == NULL || (arr = json_array()) == NULL)
        return;
    rmetrics_foreach_capped(rm, API_CAPPED_HOSTS, api_health_capped_cb, arr);
    json_object_set_new(v, "metrics_capped", arr);
}

/* /health's "store" object: sizes, then what retention deleted, the
 * damage found (at open or while reading) and the blocks cursors read (and
 * re-read after evicting them, or took from the cache of the last few) since the collector started. */
static json_t *
api_health_store(const struct store_stats *ss)
{
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "records",
        (json_int_t)ss->n_records, "raw_bytes", (json_int_t)ss->raw_bytes,
        "stored_bytes", (json_int_t)ss->stored_bytes, "index_bytes",
        (json_int_t)ss->index_bytes, "blocks", (json_int_t)ss->n_blocks,
        "segments", (json_int_t)ss->n_segments, "pending_records",
        (json_int_t)ss->pending_records);
    json_t *d = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "segments_deleted",
        (json_int_t)ss->n_segments_deleted, "bytes_deleted",
        (json_int_t)ss->bytes_deleted, "corrupt_blocks",
        (json_int_t)ss->n_corrupt_blocks, "torn_cuts",
        (json_int_t)ss->n_torn_cuts, "wal_replayed",
        (json_int_t)ss->n_wal_replayed, "seal_errors",
        (json_int_t)ss->n_seal_errors, "index_rebuilds",
        (json_int_t)ss->n_index_rebuilds, "index_errors",
        (json_int_t)ss->n_index_errors, "cursor_reads",
        (json_int_t)ss->n_cursor_reads, "cursor_rereads",
        (json_int_t)ss->n_cursor_rereads, "cursor_cache_hits",
        (json_int_t)ss->n_cursor_cache_hits);

    if (d != NULL) {
        json_object_set_new(d, "labels", json_integer(
                                (json_int_t)ss->n_labels));
        json_object_set_new(d, "cursor_mem_reads", json_integer(
                                (json_int_t)ss->n_cursor_mem_reads));
        json_object_set_new(d, "cursor_mem_skips", json_integer(
                                (json_int_t)ss->n_cursor_mem_skips));
        json_object_set_new(d, "cursor_mem_peak", json_integer(
                                (json_int_t)ss->cursor_mem_peak));
        json_object_set_new(d, "tail_sets", json_integer(
                                (json_int_t)ss->n_tail_sets));
        json_object_set_new(d, "wal_syncs", json_pack(
            "{s:I, s:I, s:I, s:I, s:I}",
            "n", (json_int_t)ss->n_wal_syncs,
            "slow", (json_int_t)ss->n_wal_syncs_slow,
            "ms", (json_int_t)ss->wal_sync_ms,
            "max_ms", (json_int_t)ss->wal_sync_max_ms,
            "bytes", (json_int_t)ss->wal_sync_bytes));
        json_object_set_new(d, "seal_waits", json_integer(
                                (json_int_t)ss->n_seal_waits));
        json_object_set_new(d, "seal_wait_ms", json_integer(
                                (json_int_t)ss->seal_wait_ms));
        json_object_set_new(d, "seal_waits_for", json_pack(
            "{s:I, s:I, s:I}",
            "wal_file", (json_int_t)ss->n_seal_waits_wal,
            "tails", (json_int_t)ss->n_seal_waits_tails,
            "segment_end", (json_int_t)ss->n_seal_waits_segment));
        json_object_set_new(d, "tail_closes", json_pack(
            "{s:I, s:I, s:I, s:I}",
            "n", (json_int_t)ss->n_tail_closes,
            "jobs_without_wal", (json_int_t)ss->n_seal_nowal,
            "records_carried", (json_int_t)ss->n_recs_carried,
            "records_split", (json_int_t)ss->n_recs_split));
        json_object_set_new(d, "seal_steps", json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
            "jobs", (json_int_t)ss->n_seal_jobs,
            "blocks", (json_int_t)ss->n_seal_blocks,
            "run_ms", (json_int_t)ss->seal_run_ms,
            "build_ms", (json_int_t)ss->seal_build_ms,
            "write_ms", (json_int_t)ss->seal_write_ms,
            "sync_ms", (json_int_t)ss->seal_sync_ms,
            "index_wait_ms", (json_int_t)ss->seal_index_wait_ms,
            "wal_cut_ms", (json_int_t)ss->seal_wal_cut_ms,
            "apply_lag_ms", (json_int_t)ss->seal_apply_lag_ms));
        json_object_set_new(d, "labels_capped", json_integer(
                                (json_int_t)ss->n_labels_capped));
        json_object_set_new(d, "labelsets_capped", json_integer(
                                (json_int_t)ss->n_labelsets_capped));
        json_object_set_new(d, "quarantined_blocks", json_integer(
                                (json_int_t)ss->n_quarantined_blocks));
        json_object_set_new(d, "quarantined_records", json_integer(
                                (json_int_t)ss->n_quarantined_records));
        json_object_set_new(d, "quarantine_unsaved", json_integer(
                                (json_int_t)ss->n_quarantine_unsaved));
        json_object_set_new(d, "recompacted_segments", json_integer(
                                (json_int_t)ss->n_recompacted));
        json_object_set_new(d, "recompact_saved_bytes", json_integer(
                                (json_int_t)ss->recompact_saved_bytes));
        json_object_set_new(d, "recompact_errors", json_integer(
                                (json_int_t)ss->n_recompact_errors));
    }
    if (o != NULL && d != NULL)
        json_object_update(o, d);
    json_decref(d);
    return o;
}

/* ---- lost data (/health and /api/v1/health "losses") ---- */

static json_t *
api_loss_host(json_t *hosts, const char *host)
{
    size_t i;
    json_t *h;

    json_array_foreach(hosts, i, h) {
        if (strcmp(json_string_value(json_object_get(h, "host")), host) == 0)
            return h;
    }
    h = json_pack("{s:s, s:I, s:I, s:I, s:b, s:b}", "host", host,
                  "lost_bytes", (json_int_t)0, "lost_lines", (json_int_t)0,
                  "events", (json_int_t)0, "bytes_at_least", 0,
                  "lines_at_least", 0);
    json_array_append_new(hosts, h);
    return h;
}

static void
api_loss_add(json_t *o, const char *key, uint64_t v)
{
    json_int_t old = json_integer_value(json_object_get(o, key));

    json_object_set_new(o, key, json_integer(old + (json_int_t)v));
}

static void
api_loss_cb(void *arg, const struct losses_row *r)
{
    json_t *v = arg;
    char h[API_NAME_MAX], n[API_NAME_MAX];
    const char *host = api_name(r->host, h, sizeof(h));
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:b}",
                          "host", host, "container",
                          api_name(r->name, n, sizeof(n)), "id", r->id,
                          "lost_bytes", (json_int_t)r->bytes, "lost_lines",
                          (json_int_t)r->lines, "events",
                          (json_int_t)r->events, "bytes_at_least",
                          r->is_bytes_bound, "lines_at_least",
                          r->is_lines_bound);
    if (o != NULL)
        json_array_append_new(json_object_get(v, "sources"), o);
    json_t *t = api_loss_host(json_object_get(v, "hosts"), host);
    api_loss_add(t, "lost_bytes", r->bytes);
    api_loss_add(t, "lost_lines", r->lines);
    api_loss_add(t, "events", r->events);
    if (r->is_bytes_bound)
        json_object_set_new(t, "bytes_at_least", json_true());
    if (r->is_lines_bound)
        json_object_set_new(t, "lines_at_least", json_true());
}

json_t *
api_losses_json(struct api *a)
{
    json_t *v = json_pack("{s:[], s:[], s:I}", "hosts", "sources",
                          "sources_dropped", (json_int_t)(a->ingest != NULL ?
                          ingest_losses_dropped(a->ingest) : 0));

    if (v != NULL && a->ingest != NULL)
        ingest_foreach_loss(a->ingest, api_loss_cb, v);
    return v;
}

/* ---- records stamped ahead (/health and /api/v1/health) ---- */

static void
api_ahead_cb(const char *host, uint64_t n, uint64_t max_ns, void *arg)
{
    char h[API_NAME_MAX];
    json_t *o = json_pack("{s:s, s:I, s:I}", "host",
                          api_name(host, h, sizeof(h)), "records",
                          (json_int_t)n, "max_ahead_s",
                          (json_int_t)(max_ns / 1000000000));

    if (o != NULL)
        json_array_append_new(arg, o);
}

json_t *
api_clock_ahead_json(struct api *a)
{
    json_t *hosts = json_array();

    if (hosts != NULL && a->ingest != NULL)
        ingest_foreach_ahead(a->ingest, api_ahead_cb, hosts);
    return json_pack("{s:I, s:o*}", "grace_s",
                     (json_int_t)(AGG_FUTURE_NS / 1000000000), "hosts",
                     hosts);
}

void
api_health(struct api *a, struct evhttp_request *req, const char *query)
{
    struct store_stats ss;
    json_t *shippers = json_array();

    store_get_stats(a->store, &ss);
    if (a->ingest != NULL)
        ingest_foreach_peer(a->ingest, api_health_peer_cb, shippers);
    a->stats->follow_records_dropped = follow_n_dropped(a->follow);
    json_t *store = api_health_store(&ss);
    json_t *counters = api_health_counters(a->stats);
    api_health_metrics_counters(a, counters);
    json_t *losses = api_losses_json(a);
    json_t *ahead = api_clock_ahead_json(a);
    json_t *v = json_pack(
        "{s:s, s:s, s:I, s:o, s:o, s:o, s:I, s:o, s:o}", "status", "ok",
        "version", API_VERSION, "uptime_s",
        (json_int_t)((mono_ns() - a->start_mono_ns) / 1000000000),
        "counters", counters, "store",
        store ? store : json_null(), "shippers", shippers, "followers",
        (json_int_t)follow_n_subscribers(a->follow), "losses",
        losses ? losses : json_null(), "clock_ahead",
        ahead ? ahead : json_null());
    api_health_metrics_capped(a, v);
    api_send_json(a, req, v);
}

void
api_health_public(struct api *a, struct evhttp_request *req)
{
    api_send_json(a, req, json_pack("{s:s}", "status", "ok"));
}

/* ---- /api/v1/hosts and /containers ---- */

struct api_hosts_acc {
    json_t *by_host;    /* host -> {containers, lines, last_ns} */
};

static void
api_hosts_source_cb(const struct store_source_info *si, void *arg)
{
    struct api_hosts_acc *acc = arg;
    char tmp[API_NAME_MAX];
    const char *host = api_name(si->host, tmp, sizeof(tmp));
    json_t *h = json_object_get(acc->by_host, host);

    if (h == NULL) {
        h = json_pack("{s:s, s:I, s:I, s:I, s:b}", "host", host,
                      "containers", (json_int_t)0, "lines", (json_int_t)0,
                      "last_ns", (json_int_t)0, "connected", 0);
        if (h == NULL || json_object_set_new(acc->by_host, host, h) < 0)
            return;
    }
    json_int_t n = json_integer_value(json_object_get(h, "containers"));
    json_int_t lines = json_integer_value(json_object_get(h, "lines"));
    json_int_t last = json_integer_value(json_object_get(h, "last_ns"));
    json_object_set_new(h, "containers", json_integer(n + 1));
    json_object_set_new(h, "lines", json_integer(lines +
                                                 (json_int_t)si->n_lines));
    if (si->last_ns > last)
        json_object_set_new(h, "last_ns", json_integer(si->last_ns));
}

static void
api_hosts_peer_cb(const struct ingest_peer_info *pi, void *arg)
{
    struct api_hosts_acc *acc = arg;

    if (!pi->is_ready)
        return;
    char tmp[API_NAME_MAX];
    const char *host = api_name(pi->host, tmp, sizeof(tmp));
    json_t *h = json_object_get(acc->by_host, host);
    if (h == NULL) {
        h = json_pack("{s:s, s:I, s:I, s:I}", "host", host, "containers",
                      (json_int_t)0, "lines", (json_int_t)0, "last_ns",
                      (json_int_t)0);
        if (h == NULL || json_object_set_new(acc->by_host, host, h) < 0)
            return;
    }
    json_object_set_new(h, "connected", json_true());
}

/* Last contact and down time from ingest's host table. */
static void
api_hosts_contact_cb(const char *host, size_t n_conns, int64_t last_ns,
                     int64_t down_ns, void *arg)
{
    struct api_hosts_acc *acc = arg;
    char tmp[API_NAME_MAX];
    json_t *h = json_object_get(acc->by_host, api_name(host, tmp,
                                                      sizeof(tmp)));

    (void)n_conns;
    if (h == NULL)
        return;             /* connected, not ready yet: not listed */
    json_object_set_new(h, "last_contact", api_time_json(last_ns));
    json_object_set_new(h, "down_since", api_time_json(down_ns));
}

void
api_hosts(struct api *a, struct evhttp_request *req, const char *query)
{
    struct api_hosts_acc acc = { json_object() };
    json_t *out = json_array();
    const char *key;
    json_t *h;

    if (query != NULL && query[0] != '\0') {
        json_decref(acc.by_host);
        json_decref(out);
        api_reply_error(a, req, HTTP_BADREQUEST, "no parameters allowed");
        return;
    }
    store_foreach_source(a->store, api_hosts_source_cb, &acc);
    if (a->ingest != NULL) {
        ingest_foreach_peer(a->ingest, api_hosts_peer_cb, &acc);
        ingest_foreach_host(a->ingest, api_hosts_contact_cb, &acc);
    }
    json_object_foreach(acc.by_host, key, h) {
        json_int_t last = json_integer_value(json_object_get(h, "last_ns"));
        json_object_set_new(h, "last_seen", api_time_json(last));
        json_object_del(h, "last_ns");
        if (json_object_get(h, "connected") == NULL)
            json_object_set_new(h, "connected", json_false());
        if (json_object_get(h, "last_contact") == NULL)
            json_object_set_new(h, "last_contact", json_null());
        if (json_object_get(h, "down_since") == NULL ||
            json_is_true(json_object_get(h, "connected")))
            json_object_set_new(h, "down_since", json_null());
        json_array_append(out, h);
    }
    json_decref(acc.by_host);
    api_send_json(a, req, out);
}

static void
api_containers_source_cb(const struct store_source_info *si, void *arg)
{
    char h[API_NAME_MAX], c[API_NAME_MAX], id[API_NAME_MAX], im[API_NAME_MAX];
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:o, s:o}", "host",
                          api_name(si->host, h, sizeof(h)), "container",
                          si->container ? api_name(si->container, c,
                                                   sizeof(c)) : NULL,
                          "container_id", si->container_id ?
                          api_name(si->container_id, id, sizeof(id)) : NULL,
                          "image", si->image ? api_name(si->image, im,
                                                        sizeof(im)) : NULL,
                          "lines", (json_int_t)si->n_lines,
                          "first_seen", api_time_json(si->first_ns),
                          "last_seen", api_time_json(si->last_ns));
    if (o == NULL)
        return;
    /* Docker labels: valid UTF-8 without controls already (labelset.h) */
    json_t *l = json_object();
    for (size_t i = 0; si->labels != NULL && i < si->labels->n; i++)
        json_object_set_new(l, si->labels->keys[i],
                            json_string(si->labels->vals[i]));
    json_object_set_new(o, "labels", l);
    json_array_append_new(arg, o);
}

void
api_containers(struct api *a, struct evhttp_request *req, const char *query)
{
    if (query != NULL && query[0] != '\0') {
        api_reply_error(a, req, HTTP_BADREQUEST, "no parameters allowed");
        return;
    }
    json_t *out = json_array();
    store_foreach_source(a->store, api_containers_source_cb, out);
    api_send_json(a, req, out);
}
