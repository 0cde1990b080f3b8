/* SPDX-License-Identifier: MIT */
/*
 * url: the collector address ("http[s]://host:port[/prefix]") and the query
 * strings logq sends. Pure text handling: no resolving, no sockets.
 */
#ifndef QUERY_URL_H
#define QUERY_URL_H

#include <stddef.h>

#include "common/buf.h"

#define URL_DEFAULT_SERVER "http://127.0.0.1:7080"

struct tls_ctx;

struct url {
    char           *host;    /* without brackets for IPv6 literals */
    unsigned short  port;    /* 80 (443 for https) when not given */
    char           *prefix;  /* "" or "/path" without trailing '/' */
    char           *token;   /* bearer token or NULL; not set by url_parse */
    int             is_tls;  /* https:// */
    struct tls_ctx *tls;     /* owned; set by cmd.c when is_tls */
    int    reply_timeout_ms; /* wait for a reply's next bytes (0: no
                                limit); not set by url_parse: cmd.c */
};

/* Parses s. Accepts "http://host[:port][/prefix]", "https://..." and, for
 * convenience, "host[:port][/prefix]" (http). -1 with a message in err
 * (another scheme, user info, query or fragment, bad port, empty host). On
 * success the caller frees with url_fini(), which also frees a token and
 * a TLS context. */
int  url_parse(const char *s, struct url *out, char *err, size_t errlen);
void url_fini(struct url *u);
/* Chooses the server: the flag if given, else env LOGQ_SERVER if non-empty,
 * else URL_DEFAULT_SERVER. Returns a borrowed pointer. */
const char *url_server_choose(const char *flag, const char *env);
/* Appends "key=value", both percent-encoded (RFC 3986 unreserved bytes
 * kept), preceded by '?' for the first parameter (*n_params == 0) and by '&'
 * after that; increments *n_params. -1 when the cap of out is reached. */
int  url_param_append(struct buf *out, int *n_params, const char *key,
                      const char *value);

#endif
