/* SPDX-License-Identifier: MIT */
/*
 * api_internal: what the api/ files share: the server struct, the reply
 * helpers in api.c and one handler per resource (api_logs.c, api_follow.c,
 * api_info.c). Not for use outside collector/api/.
 */
#ifndef COLLECTOR_API_API_INTERNAL_H
#define COLLECTOR_API_API_INTERNAL_H

#include <stdint.h>

#include <event2/http.h>

#include "collector/api/api.h"
#include "collector/api/api_conn.h"
#include "collector/api/api_params.h"
#include "collector/search/feed.h"
#include "collector/search/query.h"
#include "collector/search/search.h"
#include "common/buf.h"
#include "common/log.h"

#define API_VERSION          "0.1.0"
#define API_TIMEOUT_S        30      /* idle/read/write on plain requests */
#define API_STREAM_WRITE_S   60      /* a stream's output must move */
#define API_MAX_HEADERS      8192
#define API_MAX_BODY         4096
#define API_SLICE_BYTES      (64u << 10)
#define API_SLICE_RECORDS    20000   /* records scanned per loop turn */
#define API_MAX_RECORD_JSON  ((size_t)128 << 20)
#define API_MISDIRECTED      421     /* Host not served here (RFC 9110) */
/* Live lines waiting for all followers' workers together (api_follow.c,
 * search/feed.c): past it the follower holding the most is dropped. */
#define API_FOLLOW_MAX_FEEDS ((size_t)64 << 20)

struct api {
    struct event_base      *base;
    struct evhttp          *http;
    struct evhttp_bound_socket *bound;
    struct store           *store;
    struct follow          *follow;
    struct ingest          *ingest;
    struct collector_stats *stats;
    uint64_t                max_scan_bytes; /* from api_options */
    int64_t                 follow_chase_ns; /* from api_options */
    const struct api_auth  *auth;           /* from api_options */
    struct api_hosts       *hosts;          /* accepted Host values */
    struct api_conns       *conns;          /* cap, deadlines, accept */
    uint64_t                max_response;   /* body bytes per response */
    struct tls_ctx         *tls;            /* from api_options */
    struct log_limit        tls_log;        /* failed handshakes */
    int64_t                 start_mono_ns;
    struct pool            *pool;           /* query workers (api_pool.c) */
    struct event           *pool_ev;
    unsigned                n_searches, max_searches;
    unsigned                n_followers, max_followers;
    unsigned                n_parsing, max_parsing; /* Grafana bodies */
    struct feed_budget      feed_budget;    /* all followers' live lines */
};

typedef void (*api_handler_fn)(struct api *a, struct evhttp_request *req,
                               const char *query);

void api_health(struct api *a, struct evhttp_request *req, const char *query);
/* /health to a client without a valid token when tokens are configured:
 * the status only (no peers, addresses, versions or counters). */
void api_health_public(struct api *a, struct evhttp_request *req);
/* The data shippers reported lost (collector/API.md "Lost data"): per host
 * and per source. New reference. */
struct json_t *api_losses_json(struct api *a);
/* {"grace_s":600,"hosts":[{"host","records","max_ahead_s"}]}: per host,
 * records stored stamped more than the grace ahead of their receive time
 * since the start (collector/API.md "Records stamped ahead"). New
 * reference, NULL if out of memory. */
struct json_t *api_clock_ahead_json(struct api *a);
void api_hosts(struct api *a, struct evhttp_request *req, const char *query);
void api_containers(struct api *a, struct evhttp_request *req,
                    const char *query);
void api_logs(struct api *a, struct evhttp_request *req, const char *query);
void api_follow(struct api *a, struct evhttp_request *req, const char *query);

/* Replies {"error": msg} with code and its reason phrase ("Not Found",
 * "Method Not Allowed", ...); counts 4xx as bad requests. */
void api_reply_error(struct api *a, struct evhttp_request *req, int code,
                     const char *msg);
/* Replies 405 "Method Not Allowed" with an Allow header listing allow
 * ("GET, HEAD") and {"error": ...}. */
void api_reply_method(struct api *a, struct evhttp_request *req,
                      const char *allow);
/* Replies 200 to a HEAD request: content_type, no body. */
void api_reply_head(struct evhttp_request *req, const char *content_type);
/* Replies 200 with the JSON text in body. */
void api_reply_json(struct evhttp_request *req, const char *body, size_t len);

/* Compiles the query of parsed parameters p (on a worker: the loop
 * compiles none). -1 with *errstr. */
int api_query_compile(const struct api_params *p, struct query **q,
                      char **errstr);
/* Parses the parameters only (the loop's part of a search's creation);
 * on failure replies 400 and returns -1. Also sets p->now_ns (the
 * collector's clock) and, without until, p->open_end_ns
 * (agg_open_end), where /logs (API_EP_LOGS) then ends. */
int api_search_parse(struct api *a, struct evhttp_request *req,
                     const char *query, enum api_endpoint ep,
                     struct api_params *p);
/* On a worker, a search's first job (collector/README.md "Queries off
 * the loop"): compiles p's query into *q, then, unless pre_err (a 400 the
 * loop found in the parameters, reported only when the query compiles, as
 * before), sets spec->q and creates *search on st. Returns 0, or the HTTP
 * status to reply (400 for the query or pre_err, 500 when the search
 * cannot be created) with *errstr (caller frees). */
int api_search_create(struct store *st, const struct api_params *p,
                      const char *pre_err, struct search_spec *spec,
                      struct query **q, struct search **search,
                      char **errstr);
/* A /logs, /count or /histogram search's creation by its first job: the
 * spec and pre_err the loop set, what the job found. */
struct api_create {
    struct search_spec spec;
    char              *pre_err;     /* 400 if the query compiles */
    int                is_created;  /* the first job has run */
    int                is_started;  /* its done callback went on */
    int                code;        /* 0 or the status to reply */
    char              *err;
    /* Without until: the records of the filter's names stamped at or
     * after the open end (store_count_ahead), a lower bound if flagged. */
    uint64_t           n_ahead;
    int                is_ahead_bound;
};
/* On a worker: 1 if this job is c's first (it ran api_search_create on
 * p into *q and *search, and without until counted c->n_ahead), 0 if
 * creation was done before. */
int  api_create_run(struct api_create *c, struct store *st,
                    const struct api_params *p, struct query **q,
                    struct search **search);
void api_create_fini(struct api_create *c);
/* Appends the line {"ahead":{"records":N,"at_least":B,"until":T,
 * "grace_s":S}} (collector/API.md "Records stamped ahead"): N n_ahead, B
 * is_bound, T the open end. 0, or -1 (nothing appended) when out is
 * full. */
int  api_ahead_line(struct buf *out, uint64_t n_ahead, int is_bound,
                    int64_t open_end_ns);
/* The same, of c's count, as a last member "ahead":{...} of the JSON
 * object in out (its closing brace moved after it), when c->n_ahead > 0.
 * 0, or -1 with out unchanged. */
int  api_ahead_field(struct buf *out, const struct api_create *c,
                     int64_t open_end_ns);
/* On the loop, after a slice: adds what s (and q's regex) found since the
 * last call to /health (search_damaged_blocks, regex_aborted); *n_damaged
 * and *n_aborted keep the totals so far. */
void api_search_counts(struct api *a, const struct search *s,
                       const struct query *q, uint64_t *n_damaged,
                       uint64_t *n_aborted);
/* Frees obj with free_fn (which must remove its connection's close
 * callback, so a reply that closes the connection cannot reach it), then
 * replies code {"error": why}; why may point into obj. */
void api_reply_error_after(struct api *a, struct evhttp_request *req,
                           int code, const char *why,
                           void (*free_fn)(void *), void *obj);
/* With spans=1: replaces the closing "}\n" of the record r just appended
 * to out with ,"spans":[[start,end],...]}\n, q's query_spans over r's
 * message (byte offsets, at most API_MAX_SPANS). Call on the thread that
 * matches with q. -1 (out cut back to the record alone) if out is full. */
#define API_MAX_SPANS 64
struct logrec;
int api_spans_append(struct buf *out, const struct query *q,
                     const struct logrec *r);
/* Starts a streamed ndjson reply on a one-shot connection and gives the
 * stream's connection the longer stream timeouts. */
void api_stream_start(struct evhttp_request *req);

#endif
