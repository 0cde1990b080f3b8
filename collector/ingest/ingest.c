/* SPDX-License-Identifier: MIT */
/*
 * ingest: shipper connections (protocol in common/PROTOCOL.md).
 *
 * Each connection is a bufferevent whose input is capped by a read high
 * watermark and moved into the connection's frame reader
 * (common/wire_reader.c via wire_ev.c), which holds at most one maximum
 * frame: WIRE_MAX_CONTROL (4 KiB) before WELCOME, WIRE_MAX_PAYLOAD after,
 * so a peer that has not authenticated costs a few KiB and a shipper at
 * most one frame; whole
 * frames go to the pure payload decoders. Handshake (PROTOCOL.md "Identity
 * and handshake"): HELLO names the host, whose token (hostkeys.c) the
 * CHALLENGE proves we hold and the AUTH must prove the shipper holds; then
 * WELCOME, under a timeout; anything else before WELCOME closes the
 * connection. From WELCOME on, with tokens, every frame both ways carries
 * a MAC under the session's keys (common/wireauth.c): a frame that fails
 * it is counted (frames_bad_mac) and closes the connection.
 *
 * Durability and acks: BATCH records are store_append()ed as they arrive
 * and the frame's seq is remembered as pending. A short timer (group
 * commit, INGEST_COMMIT_DELAY_US) then begins one commit for every
 * connection at once: the loop writes the WAL entry, the store's syncing
 * thread fdatasyncs it, and only when that sync returned does each
 * connection get an ACK for the highest seq it had pending when the
 * commit began (ingest_commit.c); the loop never waits for the disk. If
 * the commit fails (disk full), nothing is acknowledged, reading stops on
 * every connection (backpressure: shippers keep their batches) and the
 * commit is retried on a timer. Once a commit's WAL entry is written
 * (before its sync; while a sync is in flight the group commits still
 * write theirs, pipelined past it) the records staged in follow.c before
 * it are published: visible to searches and followers, acknowledged
 * when a sync covering them returned.
 *
 * Decoding off the loop: a data frame (BATCH, METRICS) whose MAC checks
 * out is copied into one of INGEST_DEC_JOBS decode jobs (ingest_dec.c)
 * and inflated and decoded on the ingest's decoding thread; the loop
 * then stores its records. Each connection delivers its jobs in the
 * order its frames arrived (a FIFO per connection: the seq check, the
 * store's order and the ACK rule above are exactly as if the loop had
 * decoded inline), holds at most INGEST_CONN_JOBS of them and takes no
 * further frame off its input while it is at that bound or no job is
 * free (then it waits in a FIFO of connections, so every shipper gets
 * its turn): it stops reading its socket and TCP pushes back. Memory is the jobs'
 * buffers, not one per shipper. Jobs still decoding when their
 * connection goes keep the connection's struct (is_gone) until they come
 * back; frames decoded but not yet stored are dropped with the
 * connection, never acknowledged (the shipper sends them again).
 *
 * The source-string scratch buffer is shared by all connections (storing
 * is synchronous on the loop thread). Protocol errors are logged with the
 * peer (rate-limited), counted and close only that connection.
 *
 * Parts, one job each (ingest_internal.h holds the state they share):
 * this file the ingest's life (ingest_new, ingest_shutdown, ingest_free)
 * and the public API; ingest_accept.c the listener and the connection
 * caps; ingest_conn.c a connection's life (sending, closing, reading its
 * input, timeouts); ingest_handshake.c HELLO to WELCOME; ingest_frame.c
 * each whole frame by state and type; ingest_jobs.c data frames handed to
 * the decoding thread and back in order (ingest_dec.c decodes);
 * ingest_src.c a batch's sources (caps, labels, position checks begun);
 * ingest_batch.c decoded BATCH and METRICS frames stored; ingest_losses.c
 * the lost-data table and its file; ingest_commit.c the group commit and
 * the ACKs.
 */
#include "collector/ingest/ingest.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "collector/ingest/ingest_internal.h"
#include "collector/ingest/labelcache.h"
#include "collector/ingest/listen.h"
#include "collector/ingest/lossfile.h"
#include "collector/search/pool.h"
#include "common/filesave.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/tls.h"
#include "common/xmalloc.h"

/* Warn-level log line with a per-window budget so a reconnect loop of a
 * broken shipper, or anyone before authentication, cannot flood the log;
 * the counters still see everything, and the lines left out are counted
 * (log_lines_suppressed) and summed up once the next window starts. Peer
 * strings in fmt's arguments are passed through log_esc() by the caller. */
void __attribute__((format(printf, 2, 3)))
ingest_log_limited(struct ingest *ing, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    uint64_t n_ended;
    int is_ok = log_limit_allow(&ing->log_budget, mono_ns(), &n_ended);

    if (n_ended > 0)
        log_warn("ingest", "suppressed %" PRIu64 " similar messages",
                 n_ended);
    if (!is_ok) {
        ing->stats->log_lines_suppressed++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_warn("ingest", "%s", line);
}

static void
ingest_load_source(const struct store_source_info *si, void *arg)
{
    hostcap_load_source(arg, si->host);
}

struct ingest *
ingest_new(struct event_base *base, struct store *store,
           struct follow *follow, struct collector_stats *stats,
           const struct ingest_options *opt, char **errstr)
{
    struct ingest *ing = xcalloc(1, sizeof(*ing));

    ing->base = base;
    ing->store = store;
    ing->follow = follow;
    ing->stats = stats;
    ing->log_budget.window_ns = INGEST_LOG_WINDOW_NS;
    ing->log_budget.per_window = INGEST_LOG_PER_WINDOW;
    ing->labels_log.window_ns = INGEST_LOG_WINDOW_NS;
    ing->labels_log.per_window = INGEST_LABELS_LOG_PER_WINDOW;
    ing->labelcache = labelcache_new();
    ing->opt = *opt;
    ing->opt.listen = NULL;
    ing->host_keys = opt->host_keys;
    TAILQ_INIT(&ing->conns);
    TAILQ_INIT(&ing->waiting);
    TAILQ_INIT(&ing->free_jobs);
    for (int i = 0; i < INGEST_DEC_JOBS; i++) {
        ingest_dec_init(&ing->jobs[i].d);
        TAILQ_INSERT_TAIL(&ing->free_jobs, &ing->jobs[i], entry);
    }
    ing->hostcap = hostcap_new(opt->max_hosts, opt->max_sources_per_host);
    ing->losses = ingest_losses_load(ing);
    ing->losses_saved = losses_version(ing->losses);
    ing->losses_put = ing->losses_saved;
    if (opt->losses_path != NULL &&
        (ing->saver = filesave_new(opt->losses_path, "lq-losssave",
                                  lossfile_write, errstr)) == NULL)
        goto fail;
    store_foreach_source(store, ingest_load_source, ing->hostcap);
    buf_init(&ing->srcbuf, WIRE_MAX_INFLATED + 3 * WIRE_MAX_SOURCES);
    buf_init(&ing->payload, INGEST_CTRL_MAX);
    buf_init(&ing->frame, INGEST_CTRL_MAX + WIRE_HEADER_LEN + WIRE_MAC_LEN);
    ing->next_session = (uint64_t)now_ns();
    ing->commit_ev = evtimer_new(base, ingest_commit_cb, ing);
    ing->retry_ev = evtimer_new(base, ingest_commit_cb, ing);
    ing->accept_retry = evtimer_new(base, ingest_accept_retry_cb, ing);
    ing->losses_ev = evtimer_new(base, ingest_losses_cb, ing);
    ing->kick_ev = event_new(base, -1, 0, ingest_jobs_kick_cb, ing);
    if (ing->commit_ev == NULL || ing->retry_ev == NULL ||
        ing->accept_retry == NULL || ing->losses_ev == NULL ||
        ing->kick_ev == NULL) {
        *errstr = xstrdup("cannot create ingest timers");
        goto fail;
    }
    ing->sync_ev = event_new(base, store_commit_fd(store),
                             EV_READ | EV_PERSIST, ingest_commit_sync_cb, ing);
    if (ing->sync_ev == NULL || event_add(ing->sync_ev, NULL) < 0) {
        *errstr = xstrdup("cannot watch the store's syncing thread");
        goto fail;
    }
    ing->dec = pool_new(INGEST_DEC_THREADS, INGEST_DEC_JOBS, errstr);
    if (ing->dec == NULL)
        goto fail;
    pool_set_name(ing->dec, "lq-decode");
    ing->dec_ev = event_new(base, pool_fd(ing->dec), EV_READ | EV_PERSIST,
                            ingest_jobs_drain_cb, ing);
    if (ing->dec_ev == NULL || event_add(ing->dec_ev, NULL) < 0) {
        *errstr = xstrdup("cannot watch the decoding thread");
        goto fail;
    }
    ing->listener = listen_bind(base, opt->listen, ingest_accept_cb, ing,
                                errstr);
    if (ing->listener == NULL)
        goto fail;
    evconnlistener_set_error_cb(ing->listener, ingest_accept_error_cb);
    if (ing->opt.tls != NULL)
        tls_ctx_set_fail_cb(ing->opt.tls, ingest_accept_tls_fail_cb, ing);
    return ing;
fail:
    ingest_free(ing);
    return NULL;
}

int
ingest_port(const struct ingest *ing)
{
    return ing->listener ? listen_port(ing->listener) : -1;
}

void
ingest_set_metrics_hook(struct ingest *ing, ingest_metrics_fn fn, void *arg)
{
    ing->metrics_fn = fn;
    ing->metrics_arg = arg;
}

void
ingest_set_host_keys(struct ingest *ing, const struct hostkeys *hk)
{
    assert((ing->host_keys == NULL) == (hk == NULL));
    ing->host_keys = hk;
}

void
ingest_foreach_peer(struct ingest *ing, ingest_peer_fn fn, void *arg)
{
    struct ingest_conn *c;

    TAILQ_FOREACH(c, &ing->conns, entry) {
        if (c->state == INGEST_CLOSING)
            continue;
        struct ingest_peer_info pi = {
            .host = c->host, .peer = c->peer, .software = c->software,
            .is_ready = c->state == INGEST_READY,
            .connected_ns = c->connected_ns, .n_batches = c->n_batches,
            .n_records = c->n_records, .acked_seq = c->acked_seq,
        };
        fn(&pi, arg);
    }
}

void
ingest_foreach_host(struct ingest *ing, hostcap_host_fn fn, void *arg)
{
    hostcap_foreach(ing->hostcap, fn, arg);
}

void
ingest_foreach_ahead(struct ingest *ing, hostcap_ahead_fn fn, void *arg)
{
    hostcap_foreach_ahead(ing->hostcap, fn, arg);
}

int
ingest_shutdown(struct ingest *ing)
{
    ing->is_shutdown = 1;
    if (ing->listener != NULL) {
        evconnlistener_free(ing->listener);
        ing->listener = NULL;
    }
    ingest_commit_set_reading(ing, 0);
    evtimer_del(ing->commit_ev);
    evtimer_del(ing->retry_ev);
    return ingest_commit_flush(ing);
}

void
ingest_free(struct ingest *ing)
{
    struct ingest_conn *c;

    if (ing == NULL)
        return;
    if (ing->opt.tls != NULL)
        tls_ctx_set_fail_cb(ing->opt.tls, NULL, NULL);
    ing->is_freeing = 1;
    pool_free(ing->dec);        /* every job done: conns can go */
    while ((c = TAILQ_FIRST(&ing->conns)) != NULL)
        ingest_conn_free(c);
    for (int i = 0; i < INGEST_DEC_JOBS; i++)
        ingest_dec_fini(&ing->jobs[i].d);
    if (ing->dec_ev != NULL)
        event_free(ing->dec_ev);
    if (ing->kick_ev != NULL)
        event_free(ing->kick_ev);
    if (ing->listener != NULL)
        evconnlistener_free(ing->listener);
    if (ing->commit_ev != NULL)
        event_free(ing->commit_ev);
    if (ing->retry_ev != NULL)
        event_free(ing->retry_ev);
    if (ing->sync_ev != NULL)
        event_free(ing->sync_ev);
    if (ing->accept_retry != NULL)
        event_free(ing->accept_retry);
    if (ing->losses_ev != NULL)
        event_free(ing->losses_ev);
    if (ing->saver != NULL) {       /* what is not saved yet, or failed */
        int is_busy;
        filesave_drain(ing->saver);
        ingest_losses_collect(ing, &is_busy);
        ing->losses_put = ing->losses_saved;
        ingest_losses_put(ing);
        filesave_drain(ing->saver);
        ingest_losses_collect(ing, &is_busy);
    }
    filesave_free(ing->saver);
    hostcap_free(ing->hostcap);
    labelcache_free(ing->labelcache);
    losses_free(ing->losses);
    buf_fini(&ing->srcbuf);
    buf_fini(&ing->payload);
    buf_fini(&ing->frame);
    free(ing);
}
