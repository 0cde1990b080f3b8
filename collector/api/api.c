/* SPDX-License-Identifier: MIT */
/*
 * api: evhttp server setup, the route table and shared reply helpers. Each
 * resource lives in its own file (api_logs.c, api_follow.c, api_info.c,
 * api_metrics.c, api_count.c, api_stats.c; everything under /grafana goes
 * to api_grafana.c);
 * parameter parsing is the pure api_params.c. evhttp is configured with
 * header/body size caps and a timeout; streams override the timeouts on
 * their own connection (api_stream_start). Connections (cap, request
 * deadline, accept pause) are api_conn.c's; every request's Host is
 * checked first (api_host.c), then its token (api_auth.c). jansson and the record JSON
 * writer in common/record.c produce all output.
 */
#include "collector/api/api.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "collector/api/api_auth.h"
#include "collector/api/api_host.h"
#include "collector/api/api_grafana.h"
#include "collector/api/api_count.h"
#include "collector/api/api_pool.h"
#include "collector/api/api_internal.h"
#include "collector/search/agg.h"
#include "collector/search/search.h"
#include "collector/api/api_metrics.h"
#include "collector/api/api_stats.h"
#include "collector/ingest/listen.h"
#include "common/log.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/tls.h"
#include "common/xmalloc.h"

#define API_TLS_LOG_WINDOW_NS  INT64_C(10000000000)
#define API_TLS_LOG_PER_WINDOW 10

struct api_route {
    const char     *path;
    api_handler_fn  fn;
    int             is_stream;      /* replies application/x-ndjson */
};

static const struct api_route api_routes[] = {
    { "/health", api_health, 0 },
    { "/api/v1/logs", api_logs, 1 },
    { "/api/v1/follow", api_follow, 1 },
    { "/api/v1/hosts", api_hosts, 0 },
    { "/api/v1/containers", api_containers, 0 },
    { "/api/v1/count", api_count, 0 },
    { "/api/v1/histogram", api_histogram, 0 },
    { "/api/v1/stats", api_stats, 0 },
    { "/api/v1/metrics", api_metrics_list, 0 },
    { "/api/v1/metrics/query", api_metrics_query, 0 },
    { "/api/v1/health", api_metrics_health, 0 },
};

/* ---- reply helpers ---- */

void
api_reply_json(struct evhttp_request *req, const char *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();

    if (b == NULL || evbuffer_add(b, body, len) < 0 ||
        evbuffer_add(b, "\n", 1) < 0) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        if (b != NULL)
            evbuffer_free(b);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, HTTP_OK, "OK", b);
    evbuffer_free(b);
}

/* The reason phrase of the status line (RFC 9110). */
static const char *
api_reason(int code)
{
    switch (code) {
    case HTTP_BADREQUEST: return "Bad Request";
    case 401: return "Unauthorized";
    case HTTP_NOTFOUND: return "Not Found";
    case HTTP_BADMETHOD: return "Method Not Allowed";
    case HTTP_ENTITYTOOLARGE: return "Payload Too Large";
    case API_MISDIRECTED: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case HTTP_INTERNAL: return "Internal Server Error";
    case HTTP_SERVUNAVAIL: return "Service Unavailable";
    default: return code < 500 ? "Bad Request" : "Error";
    }
}

void
api_reply_method(struct api *a, struct evhttp_request *req,
                 const char *allow)
{
    char msg[96];

    snprintf(msg, sizeof(msg), "method not allowed: use %s", allow);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                      allow);
    api_reply_error(a, req, HTTP_BADMETHOD, msg);
}

void
api_reply_head(struct evhttp_request *req, const char *content_type)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      content_type);
    evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

void
api_reply_error(struct api *a, struct evhttp_request *req, int code,
                const char *msg)
{
    struct buf out;
    struct evbuffer *b = evbuffer_new();

    /* 401 and 421 have their own counters */
    if (code >= 400 && code < 500 && code != 401 && code != API_MISDIRECTED)
        a->stats->http_bad_requests++;
    else if (code >= 500)
        a->stats->http_errors++;
    buf_init(&out, 4096);
    if (b == NULL || buf_append(&out, "{\"error\":", 9) < 0 ||
        json_str_append(&out, msg, strnlen(msg, 1024)) < 0 ||
        buf_append(&out, "}\n", 2) < 0 ||
        evbuffer_add(b, out.data, out.len) < 0) {
        evhttp_send_error(req, code, NULL);
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", "application/json");
        evhttp_send_reply(req, code, api_reason(code), b);
    }
    if (b != NULL)
        evbuffer_free(b);
    buf_fini(&out);
}

int
api_query_compile(const struct api_params *p, struct query **q,
                  char **errstr)
{
    *q = query_parse_any(p->q, strlen(p->q), (const char *const *)p->regex,
                         p->n_regex, p->is_icase, errstr);
    if (*q != NULL && p->fixed != NULL &&
        query_add_fixed(*q, p->fixed, strlen(p->fixed), errstr) < 0) {
        query_free(*q);
        *q = NULL;
    }
    if (*q != NULL &&
        query_add_not_regex(*q, (const char *const *)p->not_regex,
                            p->n_not_regex, errstr) < 0) {
        query_free(*q);
        *q = NULL;
    }
    return *q != NULL ? 0 : -1;
}

int
api_spans_append(struct buf *out, const struct query *q,
                 const struct logrec *r)
{
    size_t sp[2 * API_MAX_SPANS];
    size_t n = query_spans(q, r->msg, r->msg_len, sp, API_MAX_SPANS);
    size_t saved = out->len;
    char f[48];

    out->len -= 2;                  /* "}\n" */
    int rc = buf_append(out, ",\"spans\":[", 10);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int len = snprintf(f, sizeof(f), "%s[%zu,%zu]", i > 0 ? "," : "",
                           sp[2 * i], sp[2 * i + 1]);
        rc = buf_append(out, f, (size_t)len);
    }
    if (rc == 0)
        rc = buf_append(out, "]}\n", 3);
    if (rc < 0) {
        out->len = saved - 2;
        buf_append(out, "}\n", 2);
    }
    return rc;
}

int
api_search_parse(struct api *a, struct evhttp_request *req,
                 const char *query, enum api_endpoint ep,
                 struct api_params *p)
{
    char *err = NULL;

    if (api_params_parse(query, ep, p, &err) == 0) {
        /* the collector's clock decides where an open range ends */
        p->now_ns = now_ns();
        if (!p->has_until) {
            p->open_end_ns = agg_open_end(p->now_ns);
            if (ep == API_EP_LOGS)
                p->until_ns = p->open_end_ns;
        }
        return 0;
    }
    api_reply_error(a, req, HTTP_BADREQUEST, err ? err : "bad request");
    free(err);
    return -1;
}

int
api_search_create(struct store *st, const struct api_params *p,
                  const char *pre_err, struct search_spec *spec,
                  struct query **q, struct search **search, char **errstr)
{
    *errstr = NULL;
    if (api_query_compile(p, q, errstr) < 0) {
        if (*errstr == NULL)
            *errstr = xstrdup("bad request");
        return HTTP_BADREQUEST;
    }
    if (pre_err != NULL) {
        *errstr = xstrdup(pre_err);
        return HTTP_BADREQUEST;
    }
    spec->q = *q;
    *search = search_new(st, spec, errstr);
    if (*search == NULL) {
        if (*errstr == NULL)
            *errstr = xstrdup("cannot create the search");
        return HTTP_INTERNAL;
    }
    return 0;
}

int
api_create_run(struct api_create *c, struct store *st,
               const struct api_params *p, struct query **q,
               struct search **search)
{
    if (c->is_created)
        return 0;
    c->is_created = 1;
    c->code = api_search_create(st, p, c->pre_err, &c->spec, q, search,
                                &c->err);
    if (c->code == 0 && p->open_end_ns != 0)
        store_count_ahead(st, &c->spec.filter, p->open_end_ns, &c->n_ahead,
                          &c->is_ahead_bound);
    return 1;
}

/* {"records":N,"at_least":B,"until":T,"grace_s":S}, wrapped in head and
 * tail. */
static int
api_ahead_append(struct buf *out, uint64_t n_ahead, int is_bound,
                 int64_t open_end_ns, const char *head, const char *tail)
{
    char t[40], line[192];

    time_ns_format(open_end_ns, t);
    int n = snprintf(line, sizeof(line), "%s{\"records\":%llu,\"at_least\":"
                     "%s,\"until\":\"%s\",\"grace_s\":%lld}%s", head,
                     (unsigned long long)n_ahead, is_bound ? "true" : "false",
                     t,
                     (long long)(AGG_FUTURE_NS / 1000000000), tail);
    if (n < 0 || (size_t)n >= sizeof(line))
        return -1;
    return buf_append(out, line, (size_t)n);
}

int
api_ahead_line(struct buf *out, uint64_t n_ahead, int is_bound,
               int64_t open_end_ns)
{
    return api_ahead_append(out, n_ahead, is_bound, open_end_ns,
                            "{\"ahead\":", "}\n");
}

int
api_ahead_field(struct buf *out, const struct api_create *c,
                int64_t open_end_ns)
{
    if (c->n_ahead == 0)
        return 0;
    if (out->len == 0 || out->data[out->len - 1] != '}')
        return -1;
    out->len--;
    if (api_ahead_append(out, c->n_ahead, c->is_ahead_bound, open_end_ns,
                         ",\"ahead\":", "}") == 0)
        return 0;
    out->data[out->len++] = '}';    /* the byte was there: no growth */
    return -1;
}

void
api_create_fini(struct api_create *c)
{
    free(c->pre_err);
    free(c->err);
    c->pre_err = c->err = NULL;
}

void
api_search_counts(struct api *a, const struct search *s,
                  const struct query *q, uint64_t *n_damaged,
                  uint64_t *n_aborted)
{
    uint64_t damaged = search_n_damaged(s);
    uint64_t aborted = query_n_regex_aborted(q);

    a->stats->search_damaged_blocks += damaged - *n_damaged;
    *n_damaged = damaged;
    a->stats->regex_aborted += aborted - *n_aborted;
    *n_aborted = aborted;
}

void
api_reply_error_after(struct api *a, struct evhttp_request *req, int code,
                      const char *why, void (*free_fn)(void *), void *obj)
{
    char *msg = xstrdup(why);

    free_fn(obj);
    api_reply_error(a, req, code, msg);
    free(msg);
}

void
api_stream_start(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct timeval wtv = { API_STREAM_WRITE_S, 0 };

    evhttp_add_header(h, "Content-Type", "application/x-ndjson");
    /* One-shot: the stream's timeouts must not outlive it on a
     * kept-alive connection. */
    evhttp_add_header(h, "Connection", "close");
    evhttp_send_reply_start(req, HTTP_OK, "OK");
    /* No read timeout (clients only listen), but output must drain. */
    bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), NULL,
                             &wtv);
}

/* ---- authentication ---- */

/* With tokens configured: 1 if the request may go on. Otherwise it has
 * been answered: /health (GET, HEAD) with the status only, anything else
 * 401 with a Bearer challenge (RFC 6750). */
static int
api_authorize(struct api *a, struct evhttp_request *req, const char *path)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *cred = evhttp_find_header(in, "Authorization");
    enum evhttp_cmd_type m = evhttp_request_get_command(req);

    if (a->auth == NULL || api_auth_check(a->auth, cred, NULL) != API_ROLE_NONE)
        return 1;
    if (strcmp(path, "/health") == 0 &&
        (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)) {
        if (m == EVHTTP_REQ_HEAD)
            api_reply_head(req, "application/json");
        else
            api_health_public(a, req);
        return 0;
    }
    a->stats->http_unauthorized++;
    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "WWW-Authenticate", cred == NULL
                      ? "Bearer realm=\"logq\""
                      : "Bearer realm=\"logq\", error=\"invalid_token\"");
    api_reply_error(a, req, 401, cred == NULL
                    ? "authentication required: send Authorization: Bearer "
                      "TOKEN (logq: $LOGQ_TOKEN or --token-file)"
                    : "invalid token");
    return 0;
}

/* ---- Host check (DNS rebinding) ---- */

/* 1 if the request's Host is one the API answers; otherwise it has been
 * answered 421. A request without Host passes: browsers always send one,
 * so it cannot come from a rebound page (and HTTP/1.0 need not). */
static int
api_check_host(struct api *a, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *host = evhttp_find_header(in, "Host");
    char msg[400];

    if (host == NULL || api_hosts_allow(a->hosts, host))
        return 1;
    a->stats->http_host_refused++;
    snprintf(msg, sizeof(msg), "Host '%.200s' is not served here (DNS "
             "rebinding defence): use the collector's address, or start it "
             "with --http-host NAME", host);
    api_reply_error(a, req, API_MISDIRECTED, msg);
    return 0;
}

/* ---- dispatch ---- */

static void
api_request_cb(struct evhttp_request *req, void *arg)
{
    struct api *a = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

    a->stats->http_requests++;
    api_conn_request_begin(a, req);
    if (!api_check_host(a, req))
        return;
    if (path == NULL) {
        api_reply_error(a, req, HTTP_BADREQUEST, "bad request URI");
        return;
    }
    if (!api_authorize(a, req, path))
        return;
    if (api_grafana_is_path(path)) {       /* checks its own methods */
        api_grafana(a, req, path);
        return;
    }
    for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
        if (strcmp(path, api_routes[i].path) != 0)
            continue;
        enum evhttp_cmd_type m = evhttp_request_get_command(req);
        /* HEAD: the headers GET would start with, no body, no work. */
        if (m == EVHTTP_REQ_HEAD) {
            api_reply_head(req, api_routes[i].is_stream
                                ? "application/x-ndjson"
                                : "application/json");
            return;
        }
        if (m != EVHTTP_REQ_GET) {
            api_reply_method(a, req, "GET, HEAD");
            return;
        }
        api_routes[i].fn(a, req, evhttp_uri_get_query(uri));
        return;
    }
    api_reply_error(a, req, HTTP_NOTFOUND, "no such resource");
}

/* ---- TLS ---- */

/* A failed handshake (a plaintext client, a scanner): counted, and logged
 * within a budget since anyone can cause it. */
static void
api_tls_fail_cb(void *arg, int fd, const char *why)
{
    struct api *a = arg;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char peer[64] = "unknown";
    uint64_t n_ended;

    a->stats->http_tls_failures++;
    if (!log_limit_allow(&a->tls_log, mono_ns(), &n_ended))
        return;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        listen_format_peer((struct sockaddr *)&ss, peer, sizeof(peer));
    if (n_ended > 0)
        log_warn("api", "TLS handshake failures not logged=%llu",
                 (unsigned long long)n_ended);
    log_warn("api", "TLS handshake failed peer=%s error=\"%s\"", peer, why);
}

/* ---- public API ---- */

void
api_set_auth(struct api *a, const struct api_auth *au)
{
    assert((a->auth == NULL) == (au == NULL));
    a->auth = au;
}

struct api *
api_new(struct event_base *base, const struct api_options *opt,
        char **errstr)
{
    struct api *a = xcalloc(1, sizeof(*a));
    struct evconnlistener *l = NULL;

    a->base = base;
    a->store = opt->store;
    a->follow = opt->follow;
    a->ingest = opt->ingest;
    a->stats = opt->stats;
    a->auth = opt->auth;
    a->max_scan_bytes = opt->max_scan_bytes ? opt->max_scan_bytes
                                            : SEARCH_DEFAULT_MAX_SCAN;
    a->max_response = opt->max_response ? opt->max_response
                                        : API_DEFAULT_MAX_RESPONSE;
    a->start_mono_ns = mono_ns();
    a->max_searches = opt->max_searches ? opt->max_searches
                                        : API_DEF_MAX_SEARCHES;
    a->max_followers = opt->max_followers ? opt->max_followers
                                          : API_DEF_MAX_FOLLOWERS;
    a->follow_chase_ns = (int64_t)(opt->follow_chase_ms
                                   ? opt->follow_chase_ms
                                   : API_DEF_FOLLOW_CHASE_MS) * 1000000;
    feed_budget_init(&a->feed_budget, API_FOLLOW_MAX_FEEDS);
    /* one Grafana body parsed per connection at most (evhttp serves a
     * connection's requests one after the other) */
    a->max_parsing = opt->max_connections ? opt->max_connections
                                          : API_DEFAULT_MAX_CONNECTIONS;
    if (api_pool_start(a, opt->query_threads ? opt->query_threads
                                             : API_DEF_QUERY_THREADS,
                       errstr) < 0)
        goto fail;
    a->hosts = api_hosts_parse(opt->hosts, errstr);
    if (a->hosts == NULL)
        goto fail;
    a->http = evhttp_new(base);
    if (a->http == NULL) {
        *errstr = xstrdup("cannot create HTTP server");
        goto fail;
    }
    evhttp_set_max_headers_size(a->http, API_MAX_HEADERS);
    /* Only /grafana takes bodies; GET routes ignore theirs. */
    evhttp_set_max_body_size(a->http, API_GRAFANA_MAX_BODY);
    evhttp_set_timeout(a->http, API_TIMEOUT_S);
    /* Every method evhttp parses reaches the routes, which answer 405
     * (with Allow) to those they do not take, rather than evhttp's 501. */
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
                               EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                               EVHTTP_REQ_TRACE | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(a->http, api_request_cb, a);
    if (opt->tls != NULL) {
        a->tls = opt->tls;
        a->tls_log.window_ns = API_TLS_LOG_WINDOW_NS;
        a->tls_log.per_window = API_TLS_LOG_PER_WINDOW;
        /* api_conn.c's bufferevent callback makes TLS bufferevents */
        tls_ctx_set_fail_cb(a->tls, api_tls_fail_cb, a);
    }
    l = listen_bind(base, opt->listen, NULL, NULL, errstr);
    if (l == NULL)
        goto fail;
    a->bound = evhttp_bind_listener(a->http, l);
    if (a->bound == NULL) {
        evconnlistener_free(l);
        *errstr = xasprintf("cannot serve HTTP on %s", opt->listen);
        goto fail;
    }
    a->conns = api_conns_new(a, l, opt->max_connections
                             ? opt->max_connections
                             : API_DEFAULT_MAX_CONNECTIONS,
                             opt->request_timeout_ns
                             ? opt->request_timeout_ns
                             : API_DEFAULT_REQUEST_TIMEOUT_NS, errstr);
    if (a->conns == NULL)
        goto fail;
    return a;
fail:
    api_free(a);
    return NULL;
}

int
api_port(const struct api *a)
{
    return listen_port(evhttp_bound_socket_get_listener(a->bound));
}

void
api_free(struct api *a)
{
    if (a == NULL)
        return;
    if (a->http != NULL)
        evhttp_free(a->http);   /* closes every connection first: close
                                   callbacks cancel running jobs */
    api_pool_stop(a);           /* waits for them, frees their searches */
    api_conns_free(a->conns);
    api_hosts_free(a->hosts);
    if (a->tls != NULL)
        tls_ctx_set_fail_cb(a->tls, NULL, NULL);
    free(a);
}
