/* SPDX-License-Identifier: MIT */
/*
 * ingest: the shipper side of the collector. Accepts TCP connections, runs
 * the handshake of common/PROTOCOL.md, appends BATCH records to the store,
 * group-commits and acknowledges, and hands committed records to follow.c.
 * Does not know the HTTP API; main.c wires both to the same store/follow.
 */
#ifndef COLLECTOR_INGEST_H
#define COLLECTOR_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "collector/ingest/hostcap.h"
#include "collector/ingest/losses.h"
#include "collector/search/follow.h"
#include "collector/stats.h"
#include "collector/store/store.h"
#include "common/wire.h"

struct ingest;
struct hostkeys;
struct tls_ctx;

struct ingest_options {
    const char    *listen;              /* ADDR:PORT */
    /* Enrolled hosts (borrowed, must outlive the ingest); NULL: no
     * authentication, no frame MACs. */
    const struct hostkeys *host_keys;
    int            max_connections;
    int            max_conns_per_addr;  /* from one IP address */
    size_t         max_hosts;           /* distinct host names */
    size_t         max_sources_per_host;
    int64_t        handshake_timeout_ns;
    int64_t        idle_timeout_ns;     /* no whole frame after WELCOME */
    struct tls_ctx *tls;                /* NULL: plain TCP (common/tls.h) */
    /* The lost-data table's file (lossfile.h), read here and rewritten
     * after each change; NULL: kept in memory only. */
    const char    *losses_path;
};

/* Called for every valid METRICS frame before it is acknowledged; m is
 * positioned at the first sample (walk it with wire_metrics_next). */
typedef void (*ingest_metrics_fn)(const char *host,
                                  const struct wire_metrics *m, void *arg);

/* One connected shipper, for /health and /hosts (strings borrowed). */
struct ingest_peer_info {
    const char *host;           /* "" before HELLO */
    const char *peer;           /* address:port */
    const char *software;
    int         is_ready;       /* handshake done */
    int64_t     connected_ns;
    uint64_t    n_batches;
    uint64_t    n_records;      /* stored, duplicates excluded */
    uint64_t    acked_seq;
};
typedef void (*ingest_peer_fn)(const struct ingest_peer_info *pi, void *arg);

/* Binds the listener and starts accepting. store, follow and stats are
 * borrowed and must outlive the ingest. NULL with *errstr (caller frees). */
struct ingest *ingest_new(struct event_base *base, struct store *store,
                          struct follow *follow,
                          struct collector_stats *stats,
                          const struct ingest_options *opt, char **errstr);
/* The bound TCP port. */
int  ingest_port(const struct ingest *ing);
void ingest_set_metrics_hook(struct ingest *ing, ingest_metrics_fn fn,
                             void *arg);
/* Replaces the enrolled hosts (SIGHUP; borrowed, must outlive the ingest
 * or the next call): new handshakes use hk, connections past HELLO keep
 * the token they copied. Not from NULL to a set or back. */
void ingest_set_host_keys(struct ingest *ing, const struct hostkeys *hk);
void ingest_foreach_peer(struct ingest *ing, ingest_peer_fn fn, void *arg);
/* Every known host (hostcap.h): connections, last contact, down time. */
void ingest_foreach_host(struct ingest *ing, hostcap_host_fn fn, void *arg);
/* Every host that stored records stamped more than AGG_FUTURE_NS ahead of
 * their receive time since the start (hostcap_note_time). */
void ingest_foreach_ahead(struct ingest *ing, hostcap_ahead_fn fn,
                          void *arg);
/* The data shippers reported lost for good, per host and source
 * (ingest/losses.h); sources past the table's cap are counted. */
void ingest_foreach_loss(struct ingest *ing, losses_fn fn, void *arg);
uint64_t ingest_losses_dropped(const struct ingest *ing);
/* Stops accepting and reading, commits what is pending and queues the
 * ACKs (run the loop briefly afterwards to flush them). 0, or -1 if the
 * final commit failed (nothing was acknowledged). */
int  ingest_shutdown(struct ingest *ing);
/* Closes every connection without committing. NULL is a no-op. */
void ingest_free(struct ingest *ing);

#endif
