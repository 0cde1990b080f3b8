/* SPDX-License-Identifier: MIT */
/*
 * api_conn: the HTTP API's connections (API.md "Limits"). evhttp 2.1 has no
 * connection cap, no hook for a new connection and only an idle timeout
 * that every byte resets, so this module:
 * - learns of each connection from evhttp's bufferevent callback and
 *   adopts it on the next loop turn (the bufferevent's callback argument
 *   is then its evhttp_connection);
 * - refuses a connection over --http-max-connections with a canned 503
 *   and closes it (http_connections_refused);
 * - gives each connection a total deadline (--http-request-timeout) to
 *   deliver a complete request, from its accept or the end of the previous
 *   response; trickling bytes does not extend it (http_request_timeouts);
 * - pauses the listener for API_CONN_PAUSE_MS when accept fails (EMFILE,
 *   ENFILE...) instead of retrying at once, logging one line per 10 s
 *   (http_accept_paused).
 * It owns each connection's evhttp close callback: handlers register
 * theirs with api_conn_set_closecb, never evhttp_connection_set_closecb
 * (which would unhook the count).
 */
#ifndef COLLECTOR_API_API_CONN_H
#define COLLECTOR_API_API_CONN_H

#include <stdint.h>

#include <event2/http.h>
#include <event2/listener.h>

#define API_CONN_PAUSE_MS 250

struct api;
struct api_conns;

/* Starts tracking the connections of a->http accepted on lev (bound with
 * evhttp_bind_listener). NULL with *errstr (caller frees) on failure. */
struct api_conns *api_conns_new(struct api *a, struct evconnlistener *lev,
                                uint64_t max_conns, int64_t deadline_ns,
                                char **errstr);
/* Call after evhttp_free (which closes every connection). */
void api_conns_free(struct api_conns *cs);
/* The connections open now. */
uint64_t api_conns_open(const struct api_conns *cs);

/* A request has arrived complete: its connection's deadline stops until
 * the response has been sent. */
void api_conn_request_begin(struct api *a, struct evhttp_request *req);
/* Sets the handler callback run when evcon closes (fn NULL: none), in
 * place of evhttp_connection_set_closecb. */
void api_conn_set_closecb(struct api *a, struct evhttp_connection *evcon,
                          void (*fn)(struct evhttp_connection *, void *),
                          void *arg);

#endif
