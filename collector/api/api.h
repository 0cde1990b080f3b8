/* SPDX-License-Identifier: MIT */
/*
 * api: the collector's HTTP API (collector/API.md) on libevent's evhttp.
 * Reads the store, subscribes to follow.c for live tails and asks ingest.c
 * which shippers are connected; never writes the store.
 */
#ifndef COLLECTOR_API_API_H
#define COLLECTOR_API_API_H

#include <stdint.h>

#include <event2/event.h>

#include "collector/search/follow.h"
#include "collector/ingest/ingest.h"
#include "collector/stats.h"
#include "collector/store/store.h"

#define API_DEFAULT_MAX_CONNECTIONS 256
#define API_DEFAULT_REQUEST_TIMEOUT_NS (INT64_C(10) * 1000000000)
#define API_DEFAULT_MAX_RESPONSE    ((uint64_t)256 << 20)

struct api;
struct api_auth;
struct tls_ctx;

struct api_options {
    const char             *listen;     /* ADDR:PORT */
    struct store           *store;
    struct follow          *follow;
    struct ingest          *ingest;     /* may be NULL */
    struct collector_stats *stats;
    uint64_t                max_scan_bytes; /* per search; 0: the default
                                               (SEARCH_DEFAULT_MAX_SCAN) */
    const struct api_auth  *auth;       /* NULL: no token asked for */
    const char             *hosts;      /* --http-host list, may be NULL */
    uint64_t                max_connections;    /* 0: API_DEFAULT_... */
    int64_t                 request_timeout_ns; /* 0: API_DEFAULT_... */
    uint64_t                max_response;       /* 0: API_DEFAULT_... */
    struct tls_ctx         *tls;        /* NULL: plain HTTP */
    unsigned                query_threads;  /* workers; 0: API_DEF_* */
    unsigned                max_searches;   /* in progress at once */
    unsigned                max_followers;  /* /follow streams at once */
    /* A /follow catch-up's round that took at most this long makes the
     * next one its last (api_follow.c); 0: API_DEF_FOLLOW_CHASE_MS.
     * Tests set it to make a round last for sure. */
    unsigned                follow_chase_ms;
};

#define API_DEF_QUERY_THREADS 2
#define API_DEF_MAX_SEARCHES  16
#define API_DEF_MAX_FOLLOWERS 64
#define API_DEF_FOLLOW_CHASE_MS 250

/* Binds and starts serving; everything in opt is borrowed and must outlive
 * the api. NULL with *errstr (caller frees) on failure. */
struct api *api_new(struct event_base *base, const struct api_options *opt,
                    char **errstr);
int  api_port(const struct api *a);
/* Replaces the bearer tokens (SIGHUP; borrowed, must outlive the api or
 * the next call): every later request is checked against au. Not from
 * NULL to a set or back. */
void api_set_auth(struct api *a, const struct api_auth *au);
/* Closes every HTTP connection (streams stop, searches running on the
 * query workers are cancelled and waited for, cursors are freed). */
void api_free(struct api *a);

#endif
