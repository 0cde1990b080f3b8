/* SPDX-License-Identifier: MIT */
/*
 * api_auth: the HTTP API's bearer tokens (--http-token-file, API.md
 * "Authentication"). Parses the token file's text (NAME ROLE TOKEN per
 * line, '#' comments) and checks an Authorization header against it. Keeps
 * only the SHA-256 of each token and compares digests in constant time,
 * every entry each time, so neither the comparison nor the number of
 * entries tried tells an attacker how close a guess was. Pure: no I/O.
 */
#ifndef COLLECTOR_API_API_AUTH_H
#define COLLECTOR_API_API_AUTH_H

#include <stddef.h>

#define API_AUTH_MAX_TOKENS   1024
#define API_AUTH_MAX_NAME     64
#define API_AUTH_MAX_TOKEN    1024

enum api_role {
    API_ROLE_NONE = 0,  /* no valid token */
    API_ROLE_READ,      /* every read endpoint (people, Grafana) */
    API_ROLE_ADMIN,     /* reads, and the write endpoints to come */
};

struct api_auth;

/* Parses the token file's text; path names it in errors ("path:line:
 * reason"). NULL with *errstr (caller frees) on any bad line, a duplicate
 * name or token, a token under SECRET_MIN_LEN bytes, or no token at all.
 * Free with api_auth_free. */
struct api_auth *api_auth_parse(const char *text, size_t len,
                                const char *path, char **errstr);
void             api_auth_free(struct api_auth *au);
size_t           api_auth_count(const struct api_auth *au);
/* The role of the token in an Authorization header value ("Bearer TOKEN",
 * scheme case-insensitive), API_ROLE_NONE when header is NULL, not a
 * bearer credential or no entry matches. *name (may be NULL) gets the
 * entry's name, borrowed from au. */
enum api_role    api_auth_check(const struct api_auth *au, const char *header,
                                const char **name);

#endif
