/* SPDX-License-Identifier: MIT */
/*
 * api_pool: how the HTTP handlers run searches off the event loop
 * (collector/README.md "Queries off the loop"): the query worker pool
 * (collector/search/pool.c) and its read event on the loop, the caps on
 * searches and followers (503 with Retry-After when over), and one
 * worker-side slice of a search. Not for use outside collector/api/.
 */
#ifndef COLLECTOR_API_API_POOL_H
#define COLLECTOR_API_API_POOL_H

#include <stdint.h>

#include <event2/http.h>

#include "collector/search/pool.h"
#include "collector/search/search.h"

struct api;

#define API_RETRY_AFTER_S   "1"     /* Retry-After of a 503 over a cap */
#define API_STEP_RECORDS    64      /* records between cancel checks */
#define API_SLICE_NS        ((int64_t)100 * 1000000)  /* worker time a
                                                          slice may take */
#define API_DROP_SHARE      16      /* records dropped unseen that a slice
                                       counts as one */

/* Starts the workers and their read event. -1 with *errstr. */
int  api_pool_start(struct api *a, unsigned n_threads, char **errstr);
/* Cancels and finishes every job (their done callbacks run), stops. */
void api_pool_stop(struct api *a);

/* Admits one more search (/logs, /count, /histogram, Grafana logs): 0,
 * or -1 after replying 503 + Retry-After (counted in searches_refused)
 * when --max-searches are already in progress. Pair with
 * api_search_leave once the search is over. */
int  api_search_enter(struct api *a, struct evhttp_request *req);
void api_search_leave(struct api *a);
/* api_search_enter without the reply: 0 entered, -1 over the cap
 * (counted; the caller answers 503 and adds api_retry_after). */
int  api_search_admit(struct api *a);
void api_retry_after(struct evhttp_request *req);
/* The same for /follow streams (--max-followers, followers_refused). */
int  api_follower_enter(struct api *a, struct evhttp_request *req);
void api_follower_leave(struct api *a);

/* On a worker: runs s for one slice: until emit asks to stop (returns 1),
 * API_SLICE_RECORDS records or API_SLICE_NS have passed, the search is
 * over, or j is cancelled (checked every API_STEP_RECORDS records).
 * Records the match cursor dropped unseen where their blocks were loaded
 * count API_DROP_SHARE to one: a scan that matches little then yields
 * on the time bound, not every API_SLICE_RECORDS records (~300 loop
 * turns a GiB, each of which let the cursor's read-ahead thread run dry:
 * BENCHMARKS.md "A no-literal regex: both cores").
 * Returns search_step's status. */
int  api_search_slice(struct search *s, const struct pool_job *j,
                      search_emit_fn emit, void *arg, const int *is_full);
/* The same with a slice of at most slice_ns (tests). */
int  api_search_slice_ns(struct search *s, const struct pool_job *j,
                         search_emit_fn emit, void *arg, const int *is_full,
                         int64_t slice_ns);
/* 1 if the client of evcon has closed its side (EOF or reset seen by a
 * peek at the socket). evhttp notices a closed connection only when it
 * reads or writes; a scan that has nothing to send yet asks here between
 * slices, so a client that leaves cancels its search within a slice. */
int  api_peer_gone(struct evhttp_connection *evcon);
/* Queues j on the pool; -1 when the pool refuses it (cannot happen under
 * the caps: the queue holds --max-searches + --max-followers jobs and one
 * Grafana body per HTTP connection, --http-max-connections). */
int  api_pool_submit(struct api *a, struct pool_job *j);

#endif
