/* SPDX-License-Identifier: MIT */
/*
 * api_host: which Host header values the HTTP API answers (--http-host,
 * API.md "Host names"), the defence against DNS rebinding: a page on
 * evil.example whose name is made to resolve to 127.0.0.1 reaches the API
 * with "Host: evil.example", which is refused. Always accepted: IP
 * literals (a browser sends one only when the URL had one, so no rebinding
 * can produce it), "localhost" and names under ".localhost" (RFC 6761;
 * browsers resolve them to loopback themselves). --http-host adds names:
 * exact ("logs.example.com"), a domain and its subdomains
 * (".example.com"), or "*" for any Host. Comparisons ignore case, the port
 * and one trailing dot. Pure: no I/O.
 */
#ifndef COLLECTOR_API_API_HOST_H
#define COLLECTOR_API_API_HOST_H

#define API_HOST_MAX_NAMES 64
#define API_HOST_MAX_LEN   253      /* a DNS name */

struct api_hosts;

/* Parses a comma-separated list of names (NULL or "": the defaults only).
 * NULL with *errstr (caller frees) on an empty entry, a character outside
 * [A-Za-z0-9.-], a name longer than API_HOST_MAX_LEN or more than
 * API_HOST_MAX_NAMES names. Free with api_hosts_free. */
struct api_hosts *api_hosts_parse(const char *list, char **errstr);
void              api_hosts_free(struct api_hosts *h);
/* 1 if a request with this Host header value (NAME, NAME:PORT, IPv4,
 * [IPv6] with an optional :PORT) may be answered, 0 if not (also for
 * NULL, an empty value or malformed text). */
int               api_hosts_allow(const struct api_hosts *h,
                                  const char *host);

#endif
