/* SPDX-License-Identifier: MIT */
/*
 * listen: binds an ADDR:PORT string (as checked by config.c) to a libevent
 * listener, for ingest.c (shipper TCP) and api.c (evhttp_bind_listener).
 */
#ifndef COLLECTOR_LISTEN_H
#define COLLECTOR_LISTEN_H

#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

/* Parses "ADDR:PORT" (IPv4, or [IPv6]:PORT; port 0..65535, 0 meaning any
 * free port). -1 if malformed. */
int listen_parse_addr(const char *addr, struct sockaddr_storage *ss,
                      int *len);
/* Listens on addr ("0.0.0.0:7070", "[::1]:0"); cb may be NULL (evhttp
 * sets its own). NULL with *errstr (caller frees) on failure. */
struct evconnlistener *listen_bind(struct event_base *base, const char *addr,
                                   evconnlistener_cb cb, void *arg,
                                   char **errstr);
/* The bound port (useful after binding port 0); -1 on error. */
int listen_port(struct evconnlistener *l);
/* "1.2.3.4:5678" / "[::1]:5678" for log lines. */
void listen_format_peer(const struct sockaddr *sa, char *out, size_t len);

#endif
