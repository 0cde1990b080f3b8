/* SPDX-License-Identifier: MIT */
/*
 * logq-shipper: tails every container's json-file log under the Docker root
 * and ships the lines to the collector, exactly once. main.c owns the
 * event_base, the flags, signals, the counters and the wiring: docker.c
 * (discovery + tailers) emits records into sender.c; sender ACKs commit
 * resume points into state.c, which a 100 ms timer hands to a writer
 * thread of its own (common/filesave.c: the loop never waits for the
 * positions file's fsyncs, which took up to a fifth of its time). Every
 * --metrics-interval seconds a timer samples metrics.c into one METRICS
 * frame for sender_send_metrics() (main_start_metrics).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/filesave.h"
#include "common/log.h"
#include "common/secret.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "shipper/config.h"
#include "shipper/counters.h"
#include "shipper/docker.h"
#include "shipper/metrics.h"
#include "shipper/sender.h"
#include "shipper/state.h"
#include "shipper/tail.h"

#define MAIN_STATE_MS     100
#define MAIN_STATS_S      10
#define MAIN_DRAIN_MS     2000
#define MAIN_GONE_MAX     64
#define MAIN_METRICS_RAW  WIRE_MAX_PAYLOAD  /* raw bytes of one METRICS frame */

struct shipper {
    struct event_base      *base;
    struct shipper_config   cfg;
    struct shipper_counters ctr;
    struct state_store     *st;
    struct filesave        *saver;          /* writes st's file */
    int                     is_state_failing;
    struct sender          *snd;
    struct docker          *dk;
    struct multiline_rule   multiline;      /* --multiline */
    struct metrics         *met;
    struct wire_metrics_enc menc;
    char                   *met_docker_root;
    struct event           *metrics_ev;
    struct event           *sig_term;
    struct event           *sig_int;
    struct event           *state_ev;
    struct event           *stats_ev;
    struct event           *drain_ev;
    struct tls_ctx         *tls;            /* NULL without --tls-ca */
    int                     is_stopping;
    int64_t                 stop_deadline;
    uint32_t                session;        /* shipper.session, random */
};

/* ---- wiring callbacks ---- */

static void
main_emit(void *arg, struct sender_source *src, const struct tail_record *r)
{
    struct shipper *sh = arg;

    sender_add(sh->snd, src, r);
}

static int
main_can_read(void *arg)
{
    struct shipper *sh = arg;

    return !sh->is_stopping && sender_can_accept(sh->snd);
}

static void
main_commit(void *arg, const char *id, const struct tail_pos *pos)
{
    struct shipper *sh = arg;

    if (sh->dk != NULL)
        docker_commit(sh->dk, id, pos);
}

static void
main_room(void *arg)
{
    struct shipper *sh = arg;

    if (sh->dk != NULL)
        docker_kick(sh->dk);
}

static void
main_log_counters(const struct shipper *sh, enum log_level lvl)
{
    const struct shipper_counters *c = &sh->ctr;

    log_msg(lvl, "main", "counters lines=%" PRIu64 " bytes=%" PRIu64
            " records=%" PRIu64 " records_raw=%" PRIu64
            " records_truncated=%" PRIu64 " rotations=%" PRIu64
            " truncations=%" PRIu64 " gaps=%" PRIu64 " reconnects=%" PRIu64
            " collector_auth_failures=%" PRIu64 " frames_bad_mac=%" PRIu64
            " batches_sent=%" PRIu64 " batches_acked=%" PRIu64
            " batches_resent=%" PRIu64 " read_errors=%" PRIu64
            " configs_bad=%" PRIu64 " files_refused=%" PRIu64
            " multiline_bad_rule=%" PRIu64
            " multiline_recompiles=%" PRIu64
            " multiline_lines_cut=%" PRIu64
            " metrics_files_refused=%" PRIu64
            " deleted_open_dropped=%" PRIu64 " files_held=%" PRIu64
            " rescan_misses=%" PRIu64 " state_writes=%" PRIu64 " state_errors=%" PRIu64
            " window_waits=%" PRIu64 " window_wait_ms=%" PRIu64
            " compress_waits=%" PRIu64 " compress_wait_ms=%" PRIu64
            " writeback_calls=%" PRIu64 " writeback_bytes=%" PRIu64
            " writeback_ms=%" PRIu64 " writeback_max_us=%" PRIu64
            " writeback_errors=%" PRIu64
            " inflight=%zu containers=%zu", c->lines, c->bytes, c->records,
            c->records_raw, c->records_truncated, c->rotations,
            c->truncations, c->gaps, c->reconnects,
            c->collector_auth_failures, c->frames_bad_mac, c->batches_sent,
            c->batches_acked, c->batches_resent, c->read_errors,
            c->configs_bad, c->files_refused, c->multiline_bad_rule,
            c->multiline_recompiles, c->multiline_lines_cut,
            sh->met != NULL ? metrics_files_refused(sh->met) : 0,
            c->deleted_open_dropped, c->files_held, c->rescan_misses,
            c->state_writes, c->state_errors, c->window_waits,
            c->window_wait_ms, c->compress_waits, c->compress_wait_ms,
            c->wb_calls, c->wb_bytes, c->wb_ns / 1000000,
            c->wb_max_ns / 1000, c->wb_errors,
            sender_inflight_bytes(sh->snd),
            sh->dk ? docker_count(sh->dk) : 0);
}

/* ---- event callbacks ---- */

/* The positions writer's results since the last look: a failed write
 * leaves the entries to be saved again (logged once per streak). */
static int
main_state_collect(struct shipper *sh)
{
    struct filesave_result r;

    filesave_poll(sh->saver, &r);
    if (r.has_saved) {
        sh->ctr.state_writes++;     /* one write at a time: main_state_cb */
        if (sh->is_state_failing)
            log_info("state", "positions written again");
        sh->is_state_failing = 0;
    }
    if (r.n_failed > 0) {
        sh->ctr.state_errors += r.n_failed;
        state_mark_dirty(sh->st);
        if (!sh->is_state_failing)
            log_error("state", "cannot write positions %s", r.err);
        sh->is_state_failing = 1;
    }
    free(r.err);
    return r.is_busy;
}

/* Changed positions to the writer thread, unless it is still writing: one
 * text at a time, the next tick takes the newest entries. */
static void
main_state_cb(evutil_socket_t fd, short what, void *arg)
{
    struct shipper *sh = arg;
    size_t len;

    if (main_state_collect(sh) || !state_is_dirty(sh->st))
        return;
    char *text = state_encode(sh->st, &len);
    if (text != NULL)
        filesave_put(sh->saver, text, len, 0);
}

static void
main_stats_cb(evutil_socket_t fd, short what, void *arg)
{
    main_log_counters(arg, LOG_LEVEL_DEBUG);
}

/*
 * One METRICS frame: the sampler's host, container and shipper.* samples
 * plus shipper.metrics_interval_s, which the collector uses to tell when
 * this host is down (3 missed intervals). shipper.dropped sums the frames
 * the sender refused, deleted containers closed at the cap and resume
 * points lost with their file (gaps): each may have lost data.
 */
/* One source's losses as METRICS samples (shipper/METRICS.md): container
 * is its name, label its id. */
static void
main_loss_cb(void *arg, const char *id, const char *name,
             const struct tail_loss *l)
{
    struct wire_metrics_enc *e = arg;
    double flags = (l->is_bytes_bound ? 1 : 0) + (l->is_lines_bound ? 2 : 0);

    if (wire_metrics_enc_add(e, "shipper.lost.bytes", name, id,
                             (double)l->bytes) < 0 ||
        wire_metrics_enc_add(e, "shipper.lost.lines", name, id,
                             (double)l->lines) < 0 ||
        wire_metrics_enc_add(e, "shipper.lost.events", name, id,
                             (double)l->events) < 0 ||
        wire_metrics_enc_add(e, "shipper.lost.flags", name, id, flags) < 0)
        log_debug("main", "metrics frame full");
}

static void
main_metrics_cb(evutil_socket_t fd, short what, void *arg)
{
    struct shipper *sh = arg;
    const struct shipper_counters *c = &sh->ctr;

    if (sh->is_stopping)
        return;
    struct metrics_self self = {
        .lines = c->records, .bytes = c->bytes,
        .lag_bytes = docker_lag_bytes(sh->dk),
        .is_connected = sender_is_ready(sh->snd),
        .dropped = c->metrics_dropped + c->deleted_open_dropped + c->gaps,
        .truncated = c->records_truncated,
        .wb_calls = c->wb_calls, .wb_bytes = c->wb_bytes,
        .wb_ms = c->wb_ns / 1000000, .wb_max_ms = c->wb_max_ns / 1000000,
        .wb_errors = c->wb_errors,
    };
    wire_metrics_enc_reset(&sh->menc);
    (void)metrics_sample(sh->met, mono_ns(), NULL, 0, &self, &sh->menc);
    if (wire_metrics_enc_add(&sh->menc, "shipper.metrics_interval_s", "", "",
                             (double)sh->cfg.metrics_interval_s) < 0 ||
        wire_metrics_enc_add(&sh->menc, "shipper.session", "", "",
                             (double)sh->session) < 0)
        log_debug("main", "metrics frame full");
    if (sh->dk != NULL)
        docker_foreach_loss(sh->dk, main_loss_cb, &sh->menc);
    if (sender_send_metrics(sh->snd, &sh->menc, now_ns()) < 0)
        log_debug("main", "metrics frame dropped dropped=%" PRIu64,
                  c->metrics_dropped);
}

static void
main_drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct shipper *sh = arg;

    if (sender_is_drained(sh->snd) || mono_ns() >= sh->stop_deadline) {
        event_base_loopexit(sh->base, NULL);
        return;
    }
    struct timeval tv = { 0, 20 * 1000 };
    evtimer_add(sh->drain_ev, &tv);
}

/* SIGTERM/SIGINT: stop reading, send what is batched, wait briefly for
 * its ACK (so the saved positions are current), then leave the loop. */
static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct shipper *sh = arg;

    if (sh->is_stopping) {
        event_base_loopexit(sh->base, NULL);
        return;
    }
    log_info("main", "signal %d, shutting down", (int)sig);
    sh->is_stopping = 1;
    docker_stop(sh->dk);
    sender_flush(sh->snd);
    sh->stop_deadline = mono_ns() + (int64_t)MAIN_DRAIN_MS * 1000000;
    if (!sender_is_ready(sh->snd))
        sh->stop_deadline = 0;
    main_drain_cb(-1, 0, sh);
}

/* ---- setup ---- */

static void
main_usage_error(const char *msg)
{
    fprintf(stderr, "logq-shipper: %s\n", msg);
    fprintf(stderr, "try 'logq-shipper --help'\n");
    exit(2);
}

static struct event *
main_timer(struct shipper *sh, event_callback_fn cb, int persist, long ms)
{
    struct event *ev = event_new(sh->base, -1, persist ? EV_PERSIST : 0, cb,
                                 sh);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    if (ev == NULL || (ms > 0 && event_add(ev, &tv) < 0))
        fatalx("main", "cannot create timer");
    return ev;
}

static void
main_setup_signals(struct shipper *sh)
{
    signal(SIGPIPE, SIG_IGN);
    sh->sig_term = evsignal_new(sh->base, SIGTERM, main_signal_cb, sh);
    sh->sig_int = evsignal_new(sh->base, SIGINT, main_signal_cb, sh);
    if (sh->sig_term == NULL || sh->sig_int == NULL ||
        event_add(sh->sig_term, NULL) < 0 || event_add(sh->sig_int, NULL) < 0)
        fatalx("main", "cannot install signal handlers");
}

static void
main_start_sender(struct shipper *sh, const char *hostname, const char *token,
                  size_t token_len)
{
    struct sender_config sc = {
        .hostname = hostname, .token = token, .token_len = token_len,
        .batch_bytes = (size_t)sh->cfg.batch_bytes,
        .flush_ms = (int)sh->cfg.flush_ms,
        .max_inflight = (size_t)sh->cfg.max_inflight_bytes,
        .zlevel = (int)sh->cfg.zlevel,
        .use_zstd = strcmp(sh->cfg.compression, "zstd") == 0,
        .compress_threads = (int)sh->cfg.compress_threads,
        .tls = sh->tls,
    };
    char *host;

    if (shipper_config_hostport(sh->cfg.collector, &host, &sc.port) < 0)
        main_usage_error("bad --collector");
    sc.host = host;
    sh->snd = sender_new(sh->base, &sc, &sh->ctr, main_commit, main_room, sh);
    free(host);
    if (sh->snd == NULL || sender_start(sh->snd) < 0)
        fatalx("main", "cannot start sender");
}

/*
 * The sampler reads config.v2.json under <docker_root>/containers, so it
 * gets the parent of --docker-root when that ends in "containers" (Docker's
 * layout); otherwise container metrics are off and host metrics go on.
 */
static char *
main_metrics_docker_root(const char *root)
{
    size_t len = strlen(root);

    while (len > 1 && root[len - 1] == '/')
        len--;
    const char *last = root + len;
    while (last > root && last[-1] != '/')
        last--;
    if ((size_t)(root + len - last) != strlen("containers") ||
        strncmp(last, "containers", strlen("containers")) != 0)
        return NULL;
    size_t plen = (size_t)(last - root);
    if (plen > 1)
        plen--;                  /* drop the '/' before "containers" */
    return plen == 0 ? xstrdup(".") : xstrndup(root, plen);
}

static const char *
main_nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static void
main_start_metrics(struct shipper *sh)
{
    sh->met_docker_root = main_metrics_docker_root(sh->cfg.docker_root);
    if (sh->met_docker_root == NULL)
        log_warn("main", "docker root does not end in /containers, no "
                 "container metrics root=%s", sh->cfg.docker_root);
    struct metrics_config mc = {
        .proc_root = sh->cfg.proc_root, .sys_root = sh->cfg.sys_root,
        .host_root = main_nonempty(sh->cfg.host_root),
        .docker_root = sh->met_docker_root,
        .cgroup_pattern = main_nonempty(sh->cfg.cgroup_pattern),
    };
    sh->met = metrics_new(&mc);
    if (sh->met == NULL)
        fatalx("main", "cannot start the metrics sampler");
    wire_metrics_enc_init(&sh->menc, MAIN_METRICS_RAW);
    /* first sample now: primes the rate baselines and announces the host */
    main_metrics_cb(-1, 0, sh);
    sh->metrics_ev = main_timer(sh, main_metrics_cb, 1,
                                (long)sh->cfg.metrics_interval_s * 1000);
}

static void
main_start(struct shipper *sh, const char *hostname, const char *token,
           size_t token_len)
{
    sh->st = state_open(sh->cfg.state_dir, &sh->ctr);
    if (sh->st == NULL)
        fatalx("main", "cannot use state dir %s", sh->cfg.state_dir);
    char *serr = NULL;
    sh->saver = filesave_new(state_path(sh->st), "logq-state",
                             state_write_file, &serr);
    if (sh->saver == NULL)
        fatalx("main", "%s", serr);
    main_start_sender(sh, hostname, token, token_len);
    char err[256];
    if (multiline_rule_parse(sh->cfg.multiline, &sh->multiline, err,
                             sizeof(err)) < 0)
        fatalx("main", "--multiline: %s", err);     /* config.c checked it */
    multiline_rule_match_bytes(&sh->multiline,
                               (size_t)sh->cfg.multiline_match_bytes);
    struct docker_config dc = {
        .root = sh->cfg.docker_root,
        .multiline = &sh->multiline,
        .match_bytes = (size_t)sh->cfg.multiline_match_bytes,
        .tail = { .max_record = (size_t)sh->cfg.max_record_size,
                  .chunk = TAIL_CHUNK,
                  .wb_step = (size_t)sh->cfg.writeback_step },
        .rescan_ms = (int)sh->cfg.rescan_ms,
        .max_gone = MAIN_GONE_MAX,
    };
    struct docker_ops ops = { main_emit, main_can_read, sh };
    sh->dk = docker_new(sh->base, &dc, &ops, sh->st, &sh->ctr);
    if (docker_start(sh->dk) < 0)
        fatalx("main", "cannot watch docker root %s", sh->cfg.docker_root);
    main_start_metrics(sh);
    sh->state_ev = main_timer(sh, main_state_cb, 1, MAIN_STATE_MS);
    sh->stats_ev = main_timer(sh, main_stats_cb, 1, MAIN_STATS_S * 1000);
    sh->drain_ev = main_timer(sh, main_drain_cb, 0, 0);
    main_setup_signals(sh);
}

static void
main_finish(struct shipper *sh)
{
    filesave_drain(sh->saver);
    (void)main_state_collect(sh);
    filesave_free(sh->saver);
    if (state_is_dirty(sh->st) && state_save(sh->st) < 0)
        log_error("main", "positions not saved at exit");
    main_log_counters(sh, LOG_LEVEL_INFO);
    event_free(sh->sig_term);
    event_free(sh->sig_int);
    event_free(sh->state_ev);
    event_free(sh->stats_ev);
    event_free(sh->drain_ev);
    event_free(sh->metrics_ev);
    metrics_free(sh->met);
    wire_metrics_enc_fini(&sh->menc);
    free(sh->met_docker_root);
    docker_free(sh->dk);
    multiline_rule_fini(&sh->multiline);
    sender_free(sh->snd);
    tls_ctx_free(sh->tls);
    state_free(sh->st);
    event_base_free(sh->base);
    shipper_config_fini(&sh->cfg);
}

int
main(int argc, char **argv)
{
    struct shipper sh;
    char err[512];
    enum log_level lvl;

    memset(&sh, 0, sizeof(sh));
    switch (shipper_config_parse(&sh.cfg, argc, argv, err, sizeof(err))) {
    case CONFIG_HELP:
        shipper_config_fini(&sh.cfg);
        return 0;
    case CONFIG_ERROR:
        shipper_config_fini(&sh.cfg);
        main_usage_error(err);
        break;
    case CONFIG_OK:
        break;
    }
    if (log_level_parse(sh.cfg.log_level, &lvl) < 0)
        main_usage_error("--log-level: want error|warn|info|debug");
    if (log_init("logq-shipper", lvl, sh.cfg.log_file) < 0) {
        fprintf(stderr, "logq-shipper: cannot open log file %s: %s\n",
                sh.cfg.log_file, strerror(errno));
        return 2;
    }
    char hostname[256] = "";
    if (sh.cfg.hostname != NULL)
        snprintf(hostname, sizeof(hostname), "%s", sh.cfg.hostname);
    else if (gethostname(hostname, sizeof(hostname) - 1) < 0)
        fatal("main", "gethostname");
    if (hostname[0] == '\0')
        main_usage_error("--hostname: empty host name");
    char *token = NULL, *terr = NULL;
    size_t token_len = 0;
    if (sh.cfg.token_file != NULL &&
        secret_token_file_read(sh.cfg.token_file, "--token-file", &token,
                               &token_len, &terr) < 0) {
        fprintf(stderr, "logq-shipper: %s\n", terr);
        free(terr);
        shipper_config_fini(&sh.cfg);
        return 2;
    }
    if (token != NULL && !secret_is_bearer(token, token_len)) {
        fprintf(stderr, "logq-shipper: --token-file %s: holds spaces or "
                "control bytes; a shipper's token file holds this host's "
                "token only (one word of visible ASCII), not the collector's "
                "HOST TOKEN list\n", sh.cfg.token_file);
        secret_free(token, token_len);
        shipper_config_fini(&sh.cfg);
        return 2;
    }
    if (sh.cfg.tls_ca != NULL &&
        (sh.tls = tls_client_new(sh.cfg.tls_ca, sh.cfg.tls_cert,
                                 sh.cfg.tls_key, &terr)) == NULL) {
        fprintf(stderr, "logq-shipper: TLS: %s\n", terr);
        free(terr);
        secret_free(token, token_len);
        shipper_config_fini(&sh.cfg);
        return 2;
    }
    srandom((unsigned)(now_ns() ^ getpid()));
    sh.session = (uint32_t)random();
    sh.base = event_base_new();
    if (sh.base == NULL)
        fatalx("main", "cannot create event base");
    main_start(&sh, hostname, token, token_len);
    secret_free(token, token_len);
    log_info("main", "started host=%s collector=%s root=%s tls=%s", hostname,
             sh.cfg.collector, sh.cfg.docker_root, sh.tls == NULL ? "off"
             : sh.cfg.tls_cert != NULL ? "on+client-cert" : "on");
    if (event_base_dispatch(sh.base) < 0)
        log_error("main", "event loop failed");
    main_finish(&sh);
    return 0;
}
