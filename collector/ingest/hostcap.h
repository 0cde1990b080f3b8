/* SPDX-License-Identifier: MIT */
/*
 * hostcap: the caps on distinct hosts per collector and distinct sources
 * per host (common/PROTOCOL.md "Caps on hosts and sources"). Counts, per
 * host name, its sources (loaded from the store at start, then one per new
 * source ingest admits) and its open connections. A host is known while it
 * has a source or a connection; a new host is admitted while fewer than
 * max_hosts are known, and a host that connected and stored nothing is
 * forgotten with its last connection. Hosts and sources the store already
 * holds are never refused, whatever the caps. Pure: no store, no logging.
 */
#ifndef COLLECTOR_INGEST_HOSTCAP_H
#define COLLECTOR_INGEST_HOSTCAP_H

#include <stddef.h>
#include <stdint.h>

struct hostcap;
struct hostcap_host;

struct hostcap *hostcap_new(size_t max_hosts, size_t max_sources_per_host);
/* NULL is a no-op. Hosts still acquired must not be used afterwards. */
void hostcap_free(struct hostcap *hc);
/* Counts one source the store holds for host (at start; never refused). */
void hostcap_load_source(struct hostcap *hc, const char *host);
/* A connection authenticated as host: its entry (borrowed until
 * hostcap_release), or NULL when host is new and max_hosts are known. */
struct hostcap_host *hostcap_acquire(struct hostcap *hc, const char *host);
/* The connection that acquired h is gone (at now_ns, wall clock: the
 * host's down time when it was its last). */
void hostcap_release(struct hostcap *hc, struct hostcap_host *h,
                     int64_t now_ns);
/* A frame from h's shipper arrived at now_ns (wall clock). */
void hostcap_touch(struct hostcap_host *h, int64_t now_ns);
/* Calls fn for every known host in name order: its open connections,
 * last contact and down time (0: none since start). */
typedef void (*hostcap_host_fn)(const char *host, size_t n_conns,
                                int64_t last_contact_ns, int64_t down_ns,
                                void *arg);
void hostcap_foreach(const struct hostcap *hc, hostcap_host_fn fn,
                     void *arg);
/* A record of h stamped time_ns was stored, received at recv_ns (both
 * unix ns, any int64): counted when stamped more than grace_ns ahead of
 * its receive time (a clock running fast, or a sender stamping ahead:
 * /health "clock_ahead"), with the largest such skew. No overflow. */
void hostcap_note_time(struct hostcap_host *h, int64_t time_ns,
                       int64_t recv_ns, int64_t grace_ns);
/* Calls fn, in name order, for every known host that stored records
 * stamped ahead (hostcap_note_time) since the collector started: their
 * number and the largest skew in ns. */
typedef void (*hostcap_ahead_fn)(const char *host, uint64_t n_ahead,
                                 uint64_t max_ahead_ns, void *arg);
void hostcap_foreach_ahead(const struct hostcap *hc, hostcap_ahead_fn fn,
                           void *arg);
/* Counts a new source of h: 0, or -1 (not counted) when h has
 * max_sources_per_host already. */
int hostcap_add_source(struct hostcap *hc, struct hostcap_host *h);
size_t hostcap_n_hosts(const struct hostcap *hc);

#endif
