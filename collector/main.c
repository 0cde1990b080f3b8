/* SPDX-License-Identifier: MIT */
/*
 * logq-collector: receives log batches from shippers, stores them and
 * serves the search API. main.c owns the process: parses the config, opens
 * the store, creates the one event_base, wires ingest (shipper TCP), follow
 * (live fan-out) and api (HTTP) together, with --redis also the metrics
 * store (redis_metrics.c, fed by ingest's METRICS hook, read by the API),
 * writes --port-file (never through a symlink), keeps the data directory
 * 0700 (umask 077, tightened at start), and on SIGTERM/SIGINT stops
 * accepting, commits the store and exits 0. Logs never depend on Redis. A
 * periodic timer runs the store's retention (so age-based deletion works
 * without traffic) and logs what it deleted and any new damage the store
 * has found.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "collector/api/api.h"
#include "collector/api/api_auth.h"
#include "collector/api/api_metrics.h"
#include "collector/config.h"
#include "collector/search/follow.h"
#include "collector/ingest/hostkeys.h"
#include "collector/ingest/ingest.h"
#include "collector/memtune.h"
#include "collector/metrics/redis_metrics.h"
#include "collector/stats.h"
#include "collector/store/store.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define MAIN_FOLLOW_STAGE   ((size_t)64 << 20)
#define MAIN_DRAIN_MS       300     /* flush final ACKs before exiting */

struct collector {
    struct collector_config cfg;
    struct collector_stats  stats;
    struct event_base      *base;
    struct store           *store;
    struct follow          *follow;
    struct ingest          *ingest;
    struct api             *api;
    struct rmetrics        *rmetrics;   /* NULL without --redis */
    struct event           *sigterm_ev;
    struct event           *sigint_ev;
    struct event           *sighup_ev;
    struct event           *retention_ev;
    struct store_stats      last_ss;    /* as of the last timer tick */
    char                   *losses_path; /* <data-dir>/losses */
    int                     is_stopping;
};

/* Written to a new file (mkstemp: O_EXCL, mode 0600, so a planted symlink
 * is never followed) in the same directory, then renamed over the path
 * (rename replaces a symlink there instead of following it): readers never
 * see half a file and nothing outside the path is written. */
static int
main_write_port_file(const char *path, int tcp_port, int http_port)
{
    char *tmp = xasprintf("%s.XXXXXX", path);
    char line[32];
    int fd = mkstemp(tmp), n = snprintf(line, sizeof(line), "%d %d\n",
                                        tcp_port, http_port);
    int rc = -1;

    if (fd < 0) {
        free(tmp);
        return -1;
    }
    ssize_t w = write(fd, line, (size_t)n);
    if (close(fd) == 0 && w == n)
        rc = rename(tmp, path);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* --data-dir's missing parents, like mkdir -p, each 0700 (the umask is
 * 077); the store creates the directory itself. Exits when one cannot be
 * made (the message names it). */
static void
main_data_dir_parents(const char *dir)
{
    char *p = xstrdup(dir);

    for (char *slash = strchr(p + 1, '/'); slash != NULL;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            fatal("main", "cannot create %s, a parent of --data-dir %s", p,
                  dir);
        *slash = '/';
    }
    free(p);
}

/* The store holds every host's logs, secrets included: only the collector's
 * user may enter it. A directory left group/world accessible (an older
 * version, a package, mkdir by hand) is tightened to 0700 with a warning;
 * the files in it then need no change. Failing that (not the owner), the
 * collector warns and runs on. */
static void
main_secure_data_dir(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
        (st.st_mode & 077) == 0)
        return;     /* missing: the store creates it 0700 */
    if (chmod(dir, 0700) < 0) {
        log_warn("main", "data directory is group/world accessible and "
                 "cannot be tightened dir=%s mode=%03o error=\"%s\"", dir,
                 (unsigned)(st.st_mode & 0777), strerror(errno));
        return;
    }
    log_warn("main", "data directory was group/world accessible, set to "
             "0700 dir=%s old_mode=%03o", dir, (unsigned)(st.st_mode & 0777));
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct collector *c = arg;
    struct timeval drain = { 0, MAIN_DRAIN_MS * 1000 };

    if (c->is_stopping)
        return;
    c->is_stopping = 1;
    log_info("main", "signal %d: shutting down", (int)sig);
    if (ingest_shutdown(c->ingest) < 0)
        log_error("main", "final commit failed, batches not acknowledged "
                  "error=\"%s\"", store_errstr(c->store));
    event_base_loopexit(c->base, &drain);
}

/* SIGHUP: the token files again (SECURITY.md "Token rotation"). Both
 * parse, or the old sets stay (logged, counted): a bad edit never locks
 * everyone out. The old sets are freed once the new ones are in place;
 * connections past HELLO hold a copy of their token. */
static void
main_reload_cb(evutil_socket_t sig, short what, void *arg)
{
    struct collector *c = arg;
    struct hostkeys *hk = NULL;
    struct api_auth *au = NULL;
    char *err = NULL;

    if (c->cfg.token_file == NULL && c->cfg.http_token_file == NULL) {
        log_info("main", "SIGHUP: no token files to reload");
        return;
    }
    if (collector_config_reload_tokens(&c->cfg, &hk, &au, &err) < 0) {
        c->stats.token_reload_errors++;
        log_warn("main", "SIGHUP: token files not reloaded, the old ones "
                 "stay in force error=\"%s\"", err);
        free(err);
        return;
    }
    if (hk != NULL) {
        ingest_set_host_keys(c->ingest, hk);
        hostkeys_free(c->cfg.host_keys);
        c->cfg.host_keys = hk;
    }
    if (au != NULL) {
        api_set_auth(c->api, au);
        api_auth_free(c->cfg.http_auth);
        c->cfg.http_auth = au;
    }
    c->stats.token_reloads++;
    log_info("main", "SIGHUP: token files reloaded shipper_hosts=%zu "
             "http_tokens=%zu", hk ? hostkeys_count(hk) : 0,
             au ? api_auth_count(au) : 0);
}

/* Logs what the store found wrong at open (torn tails cut, damaged blocks,
 * rebuilt indexes): nothing is lost silently. */
static void
main_report_store_open(struct collector *c)
{
    struct store_stats *ss = &c->last_ss;

    store_get_stats(c->store, ss);
    log_info("main", "store open segments=%llu blocks=%llu records=%llu "
             "stored_bytes=%llu wal_replayed=%llu segments_deleted=%llu",
             (unsigned long long)ss->n_segments,
             (unsigned long long)ss->n_blocks,
             (unsigned long long)ss->n_records,
             (unsigned long long)ss->stored_bytes,
             (unsigned long long)ss->n_wal_replayed,
             (unsigned long long)ss->n_segments_deleted);
    if (ss->n_corrupt_blocks || ss->n_torn_cuts || ss->n_index_rebuilds ||
        ss->n_index_errors)
        log_warn("main", "store damage found at open corrupt_blocks=%llu "
                 "torn_cuts=%llu index_rebuilds=%llu index_errors=%llu",
                 (unsigned long long)ss->n_corrupt_blocks,
                 (unsigned long long)ss->n_torn_cuts,
                 (unsigned long long)ss->n_index_rebuilds,
                 (unsigned long long)ss->n_index_errors);
}

/* Runs retention, recompaction and the idle WAL trim; logs deletions and
 * damage found since the last tick. */
static void
main_retention_cb(evutil_socket_t fd, short what, void *arg)
{
    struct collector *c = arg;
    struct store_stats ss, *was = &c->last_ss;

    (void)fd;
    (void)what;
    if (store_apply_retention(c->store) < 0)
        log_error("main", "retention failed error=\"%s\"",
                  store_errstr(c->store));
    if (store_recompact_poll(c->store, 0) < 0)
        log_error("main", "recompaction failed error=\"%s\"",
                  store_errstr(c->store));
    uint64_t cut = store_wal_trim(c->store);    /* idle since the last tick */
    if (cut > 0)
        log_debug("main", "wal trimmed bytes=%llu", (unsigned long long)cut);
    store_get_stats(c->store, &ss);
    if (ss.n_recompacted != was->n_recompacted)
        log_info("main", "recompacted segments=%llu saved_bytes=%llu",
                 (unsigned long long)ss.n_recompacted,
                 (unsigned long long)ss.recompact_saved_bytes);
    if (ss.n_segments_deleted != was->n_segments_deleted)
        log_info("main", "retention deleted segments=%llu bytes=%llu "
                 "total_segments_deleted=%llu total_bytes_deleted=%llu "
                 "segments_left=%llu stored_bytes=%llu",
                 (unsigned long long)(ss.n_segments_deleted -
                                      was->n_segments_deleted),
                 (unsigned long long)(ss.bytes_deleted - was->bytes_deleted),
                 (unsigned long long)ss.n_segments_deleted,
                 (unsigned long long)ss.bytes_deleted,
                 (unsigned long long)ss.n_segments,
                 (unsigned long long)ss.stored_bytes);
    if (ss.n_corrupt_blocks != was->n_corrupt_blocks ||
        ss.n_index_errors != was->n_index_errors ||
        ss.n_seal_errors != was->n_seal_errors)
        log_warn("main", "store damage corrupt_blocks=%llu index_errors=%llu "
                 "seal_errors=%llu", (unsigned long long)ss.n_corrupt_blocks,
                 (unsigned long long)ss.n_index_errors,
                 (unsigned long long)ss.n_seal_errors);
    if (ss.n_quarantined_blocks != was->n_quarantined_blocks)
        log_error("main", "blocks could not be sealed and were quarantined "
                  "quarantined_blocks=%llu quarantined_records=%llu "
                  "quarantine_unsaved=%llu error=\"%s\"",
                  (unsigned long long)ss.n_quarantined_blocks,
                  (unsigned long long)ss.n_quarantined_records,
                  (unsigned long long)ss.n_quarantine_unsaved,
                  store_errstr(c->store));
    *was = ss;
}

static void
main_setup_retention(struct collector *c)
{
    int64_t ns = c->cfg.retention_interval_ns;
    struct timeval tv = { (time_t)(ns / 1000000000),
                          (suseconds_t)(ns % 1000000000 / 1000) };

    c->retention_ev = event_new(c->base, -1, EV_PERSIST, main_retention_cb, c);
    if (c->retention_ev == NULL || event_add(c->retention_ev, &tv) < 0)
        fatalx("main", "cannot start the retention timer");
}

/* ingest's METRICS hook: the frame is acked whatever happens here. */
static void
main_metrics_hook(const char *host, const struct wire_metrics *m, void *arg)
{
    struct wire_metrics copy = *m;      /* walking it advances the reader */

    rmetrics_write(arg, host, &copy);
}

static void
main_setup_metrics(struct collector *c)
{
    if (c->cfg.redis == NULL)
        return;
    struct rmetrics_config rc = {
        .addr = c->cfg.redis,
        .retention_ms = c->cfg.metrics_retention_ns / 1000000,
        .max_series = (size_t)c->cfg.max_series,
        .max_hosts = (size_t)c->cfg.max_metrics_hosts,
        .max_names = (size_t)c->cfg.max_metric_names,
        .max_names_per_host = (size_t)c->cfg.max_metric_names_per_host,
        .max_series_per_host = (size_t)c->cfg.max_series_per_host,
    };
    c->rmetrics = rmetrics_new(c->base, &rc);
    if (c->rmetrics == NULL) {
        fprintf(stderr, "logq-collector: --redis: want HOST:PORT or a "
                "socket path, got '%s'\n", c->cfg.redis);
        exit(2);
    }
    ingest_set_metrics_hook(c->ingest, main_metrics_hook, c->rmetrics);
    api_metrics_attach(c->api, c->rmetrics);
    log_info("main", "metrics to redis addr=%s retention_s=%lld "
             "max_series=%lld max_hosts=%lld max_names=%lld "
             "max_series_per_host=%lld max_names_per_host=%lld",
             c->cfg.redis,
             (long long)(c->cfg.metrics_retention_ns / 1000000000),
             (long long)c->cfg.max_series,
             (long long)c->cfg.max_metrics_hosts,
             (long long)c->cfg.max_metric_names,
             (long long)c->cfg.max_series_per_host,
             (long long)c->cfg.max_metric_names_per_host);
}

/* SIGHUP held (is_held) from main's first line until main_reload_cb is in
 * place, so one sent while the store opens (minutes for a large store)
 * does not kill the collector: it stays pending and is taken as a reload
 * once released. The threads started meanwhile keep it blocked, so it
 * always reaches the loop's thread. */
static void
main_sighup_hold(int is_held)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(is_held ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* follow's source: the store's records not yet durable (follow.h). */
static size_t
main_follow_source(void *arg, follow_record_fn rec, void *rec_arg)
{
    return store_foreach_unwritten(arg, rec, rec_arg);
}

static void
main_setup(struct collector *c)
{
    char *err = NULL;
    struct store_options so = {
        .retention_age_ns = c->cfg.retention_age_ns,
        .retention_bytes = (uint64_t)c->cfg.retention_bytes,
        .segment_size = (uint64_t)c->cfg.segment_size,
        .block_size = (size_t)c->cfg.block_size,
        .compress_level = (int)c->cfg.compress_level,
        .recompact_level = (int)c->cfg.recompact_level,
        .recompact_age_ns = c->cfg.recompact_age_ns,
        .seal_threads = (int)c->cfg.seal_threads,
        .is_seal_buffered = c->cfg.seal_direct_io == 0,
    };

    c->base = event_base_new();
    if (c->base == NULL)
        fatalx("main", "cannot create event base");
    main_data_dir_parents(c->cfg.data_dir);
    main_secure_data_dir(c->cfg.data_dir);
    c->store = store_open(c->cfg.data_dir, &so, &err);
    if (c->store == NULL)
        fatalx("main", "cannot open store dir=%s error=\"%s\"",
               c->cfg.data_dir, err ? err : "?");
    main_report_store_open(c);
    c->follow = follow_new(MAIN_FOLLOW_STAGE);
    follow_set_source(c->follow, main_follow_source, c->store);
    c->losses_path = xasprintf("%s/losses", c->cfg.data_dir);
    struct ingest_options io = {
        .listen = c->cfg.listen, .host_keys = c->cfg.host_keys,
        .max_connections = (int)c->cfg.max_connections,
        .max_conns_per_addr = (int)c->cfg.max_conns_per_addr,
        .max_hosts = (size_t)c->cfg.max_hosts,
        .max_sources_per_host = (size_t)c->cfg.max_sources_per_host,
        .handshake_timeout_ns = c->cfg.handshake_timeout_ns,
        .idle_timeout_ns = c->cfg.idle_timeout_ns,
        .tls = c->cfg.tls_ingest, .losses_path = c->losses_path,
    };
    c->ingest = ingest_new(c->base, c->store, c->follow, &c->stats, &io,
                           &err);
    if (c->ingest == NULL)
        fatalx("main", "ingest: %s", err);
    struct api_options ao = {
        .listen = c->cfg.http, .store = c->store, .follow = c->follow,
        .ingest = c->ingest, .stats = &c->stats,
        .max_scan_bytes = (uint64_t)c->cfg.max_scan_bytes,
        .query_threads = (unsigned)c->cfg.query_threads,
        .max_searches = (unsigned)c->cfg.max_searches,
        .max_followers = (unsigned)c->cfg.max_followers,
        .auth = c->cfg.http_auth, .tls = c->cfg.tls_api,
        .hosts = c->cfg.http_host,
        .max_connections = (uint64_t)c->cfg.http_max_connections,
        .request_timeout_ns = c->cfg.http_request_timeout_ns,
        .max_response = (uint64_t)c->cfg.http_max_response,
    };
    c->api = api_new(c->base, &ao, &err);
    if (c->api == NULL)
        fatalx("main", "api: %s", err);
    main_setup_metrics(c);
    main_setup_retention(c);
    c->sigterm_ev = evsignal_new(c->base, SIGTERM, main_signal_cb, c);
    c->sigint_ev = evsignal_new(c->base, SIGINT, main_signal_cb, c);
    c->sighup_ev = evsignal_new(c->base, SIGHUP, main_reload_cb, c);
    if (c->sigterm_ev == NULL || c->sigint_ev == NULL ||
        c->sighup_ev == NULL || event_add(c->sigterm_ev, NULL) < 0 ||
        event_add(c->sigint_ev, NULL) < 0 || event_add(c->sighup_ev, NULL) < 0)
        fatalx("main", "cannot install signal handlers");
    main_sighup_hold(0);
}

static void
main_teardown(struct collector *c)
{
    /* first: pending metrics reads answer (with an error) while their
     * HTTP requests still exist */
    if (c->rmetrics != NULL) {
        struct rmetrics_counters k;
        rmetrics_get_counters(c->rmetrics, &k);
        log_info("main", "metrics samples_written=%llu samples_dropped=%llu "
                 "hosts_dropped=%llu names_dropped=%llu "
                 "host_names_refused=%llu host_series_refused=%llu "
                 "redis_errors=%llu",
                 (unsigned long long)k.samples_written,
                 (unsigned long long)k.samples_dropped,
                 (unsigned long long)k.hosts_dropped,
                 (unsigned long long)k.names_dropped,
                 (unsigned long long)k.host_names_refused,
                 (unsigned long long)k.host_series_refused,
                 (unsigned long long)k.redis_errors);
    }
    api_metrics_attach(c->api, NULL);
    rmetrics_free(c->rmetrics);
    api_free(c->api);
    ingest_free(c->ingest);
    free(c->losses_path);
    follow_free(c->follow);
    if (c->retention_ev != NULL)
        event_free(c->retention_ev);
    store_close(c->store);
    event_free(c->sigterm_ev);
    event_free(c->sigint_ev);
    event_free(c->sighup_ev);
    event_base_free(c->base);
}

int
main(int argc, char **argv)
{
    struct collector c;
    char *err = NULL;

    /* everything the collector creates (store, port file, log file) is
     * its user's alone; the store also sets explicit modes */
    umask(077);
    main_sighup_hold(1);
    memset(&c, 0, sizeof(c));
    switch (collector_config_parse(&c.cfg, argc, argv, &err)) {
    case CONFIG_EXIT:
        collector_config_fini(&c.cfg);
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "logq-collector: %s\n", err);
        free(err);
        collector_config_fini(&c.cfg);
        return 2;
    case CONFIG_OK:
        break;
    }
    if (collector_config_check_exposure(&c.cfg, &err) < 0) {
        fprintf(stderr, "logq-collector: %s\n", err);
        free(err);
        collector_config_fini(&c.cfg);
        return 2;
    }
    if (c.cfg.is_check_only) {
        printf("configuration ok\n");
        collector_config_fini(&c.cfg);
        return 0;
    }
    if (log_init("logq-collector", c.cfg.level, c.cfg.log_file) < 0) {
        fprintf(stderr, "logq-collector: cannot open log file %s: %s\n",
                c.cfg.log_file, strerror(errno));
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (memtune_apply((size_t)c.cfg.block_size) < 0)
        log_warn("main", "malloc thresholds not set: peak memory may be "
                 "higher (collector/memtune.c)");
    if (c.cfg.is_insecure)
        log_warn("main", "--insecure: a non-loopback port may run without "
                 "its token file listen=%s http=%s shipper_auth=%s "
                 "http_auth=%s", c.cfg.listen, c.cfg.http,
                 c.cfg.host_keys ? "on" : "off",
                 c.cfg.http_auth ? "on" : "off");
    main_setup(&c);
    int tcp_port = ingest_port(c.ingest), http_port = api_port(c.api);
    if (c.cfg.port_file != NULL &&
        main_write_port_file(c.cfg.port_file, tcp_port, http_port) < 0)
        fatal("main", "cannot write port file %s", c.cfg.port_file);
    log_info("main", "listening tcp_port=%d http_port=%d data_dir=%s "
             "shipper_hosts=%zu http_tokens=%zu tls=%s", tcp_port, http_port,
             c.cfg.data_dir,
             c.cfg.host_keys ? hostkeys_count(c.cfg.host_keys) : 0,
             c.cfg.http_auth ? api_auth_count(c.cfg.http_auth) : 0,
             c.cfg.tls_api == NULL ? "off" : c.cfg.tls_client_ca != NULL
             ? "on+client-certs" : "on");
    if (event_base_dispatch(c.base) < 0)
        fatalx("main", "event loop failed");
    main_teardown(&c);
    collector_config_fini(&c.cfg);
    log_info("main", "stopped");
    return 0;
}
