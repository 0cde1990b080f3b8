/* SPDX-License-Identifier: MIT */
/*
 * client: one blocking HTTP GET to the collector, streaming the 200 body to
 * a callback as it is read. Owns the socket for the duration of the call.
 * Non-200 replies are collected (capped) and their {"error": ...} text
 * returned. Does not parse the body: the commands do.
 */
#ifndef QUERY_CLIENT_H
#define QUERY_CLIENT_H

#include <signal.h>
#include <stddef.h>

#include "query/http.h"
#include "query/url.h"

#define CLIENT_CONNECT_TIMEOUT_MS 5000
#define CLIENT_ERROR_BODY_MAX     (64u * 1024)

enum client_result {
    CLIENT_OK,          /* complete 200 response */
    CLIENT_E_CONNECT,   /* resolve/connect failed or timed out */
    CLIENT_E_LOST,      /* connection failed or went idle after connecting */
    CLIENT_E_PROTO,     /* malformed HTTP */
    CLIENT_E_HTTP,      /* non-200 status; err holds the server's text */
    CLIENT_E_STOPPED,   /* a callback returned -1, or *stop was set */
};

struct client_req {
    const struct url *url;
    const char   *target;       /* "/api/v1/...?...", prefix is prepended */
    int           idle_timeout_ms;  /* per read; <= 0 waits forever */
    http_head_fn  head_fn;      /* may be NULL; called for 200 only */
    http_body_fn  body_fn;      /* 200 body bytes */
    void         *arg;
    /* If not NULL: the signals to watch are blocked by the caller, and are
     * unblocked only while waiting (ppoll), so a signal always interrupts
     * the wait; the handler sets *stop. */
    volatile sig_atomic_t *stop;
    const sigset_t *wait_mask;
};

/* Performs the request. err receives a one-line reason for every result
 * but CLIENT_OK; *status (if not NULL) the HTTP status or 0. */
enum client_result client_get(const struct client_req *req, int *status,
                              char *err, size_t errlen);

#endif
