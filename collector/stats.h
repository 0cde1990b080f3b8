/* SPDX-License-Identifier: MIT */
/*
 * stats: the collector's counters, one struct owned by main.c and lent to
 * ingest.c and api/ (single-threaded: plain increments). /health prints
 * them by name through COLLECTOR_STATS_FIELDS, so adding a counter is one
 * line here.
 */
#ifndef COLLECTOR_STATS_H
#define COLLECTOR_STATS_H

#include <stdint.h>

#define COLLECTOR_STATS_FIELDS(X)                                           \
    X(connections)          /* shipper connections accepted */              \
    X(connections_rejected) /* refused: --max-connections or shutdown */    \
    X(connections_rejected_per_address) /* --max-connections-per-address */ \
    X(frames_rejected)      /* protocol errors (connection closed) */       \
    X(auth_failures)                                                        \
    X(frames_bad_mac)       /* tag missing or wrong after the handshake */  \
    X(handshake_timeouts)                                                   \
    X(idle_timeouts)        /* no whole frame for --idle-timeout */         \
    X(tls_failures)         /* failed TLS handshakes, shipper port */       \
    X(log_lines_suppressed) /* ingest warnings over the log budget */       \
    X(batches)                                                              \
    X(records_stored)                                                       \
    X(records_duplicate)                                                    \
    X(records_implausible)  /* position rule broken: dropped (PROTOCOL) */ \
    X(records_refused)      /* bad source metadata: dropped (PROTOCOL) */   \
    X(records_refused_source_cap) /* new source past --max-sources-per-host */\
    X(labels_refused)       /* Docker labels over the limits: left out */  \
    X(labels_invalid)       /* labels text not a JSON object: ignored */   \
    X(hosts_refused)        /* new host past --max-hosts: ERROR 4 at AUTH */ \
    X(metrics_frames)                                                       \
    X(losses_file_errors)   /* lost-data file unreadable or not saved */    \
    X(metric_samples)                                                       \
    X(commits)                                                              \
    X(commit_holds)  /* reading held: 4 MiB stored while a sync ran */      \
    X(commit_hold_ms) /* how long the holds lasted in all */               \
    X(store_errors)         /* failed appends and commits */                \
    X(http_requests)                                                        \
    X(http_bad_requests)                                                    \
    X(http_errors)          /* 5xx */                                       \
    X(http_unauthorized)    /* 401: no valid bearer token */                \
    X(http_host_refused)    /* 421: Host not accepted (--http-host) */      \
    X(http_connections)     /* HTTP connections accepted */                 \
    X(http_connections_open) /* gauge: HTTP connections open now */         \
    X(http_connections_refused) /* 503: over --http-max-connections */      \
    X(http_request_timeouts) /* closed: request not in by its deadline */   \
    X(http_accept_paused)   /* accept failed (EMFILE...): paused 250 ms */  \
    X(http_responses_cut)   /* cut at --http-max-response */                \
    X(http_tls_failures)    /* failed TLS handshakes, HTTP port */          \
    X(search_damaged_blocks)                                                \
    X(regex_aborted)        /* regex matches over the backtracking limit */ \
    X(follow_clients)       /* follow streams opened */                     \
    X(follow_clients_dropped) /* slow follow clients cut off */             \
    X(follow_records_dropped) /* not shown live: stage full */         \
    X(follow_selcache_resets) /* a follower's source cache was full */   \
    X(follow_catchup_rounds) /* received_since rounds after the first */ \
    X(follow_rechases)      /* last catch-up round over a cap: chased */ \
    X(searches_refused)     /* 503: --max-searches in progress */           \
    X(followers_refused)    /* 503: --max-followers streams open */   \
    X(token_reloads)        /* SIGHUP: token files re-read */            \
    X(token_reload_errors)  /* SIGHUP: a bad file, the old sets kept */

struct collector_stats {
#define COLLECTOR_STATS_DECLARE(name) uint64_t name;
    COLLECTOR_STATS_FIELDS(COLLECTOR_STATS_DECLARE)
#undef COLLECTOR_STATS_DECLARE
};

#endif
