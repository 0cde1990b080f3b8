/* SPDX-License-Identifier: MIT */
/*
 * url: see url.h. "https://" only sets is_tls (and port 443 by default):
 * the TLS context (common/tls.c) is made by cmd.c from --tls-ca or
 * $LOGQ_TLS_CA and kept here so that url_fini frees it with the token.
 */
#include "query/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secret.h"
#include "common/tls.h"
#include "common/xmalloc.h"

static int
url_fail(char *err, size_t errlen, const char *what, const char *s)
{
    snprintf(err, errlen, "invalid server URL '%s': %s", s, what);
    return -1;
}

static int
url_port_parse(const char *p, size_t n, unsigned short *out)
{
    unsigned long v = 0;

    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *out = (unsigned short)v;
    return 0;
}

/* Splits "host[:port]" or "[v6]:port" (n bytes at p). */
static int
url_authority_parse(const char *p, size_t n, unsigned short dflt,
                    struct url *u, const char **why)
{
    const char *host = p, *colon = NULL;
    size_t host_len;

    if (memchr(p, '@', n) != NULL) {
        *why = "user info is not supported";
        return -1;
    }
    if (n > 0 && p[0] == '[') {
        const char *rb = memchr(p, ']', n);
        if (rb == NULL) {
            *why = "unterminated '['";
            return -1;
        }
        host = p + 1;
        host_len = (size_t)(rb - host);
        if (rb + 1 < p + n) {
            if (rb[1] != ':') {
                *why = "junk after ']'";
                return -1;
            }
            colon = rb + 1;
        }
    } else {
        colon = memchr(p, ':', n);
        host_len = colon ? (size_t)(colon - p) : n;
    }
    if (host_len == 0) {
        *why = "empty host";
        return -1;
    }
    u->port = dflt;
    if (colon != NULL &&
        url_port_parse(colon + 1, (size_t)(p + n - colon - 1), &u->port) < 0) {
        *why = "bad port (1-65535)";
        return -1;
    }
    u->host = xstrndup(host, host_len);
    return 0;
}

int
url_parse(const char *s, struct url *out, char *err, size_t errlen)
{
    struct url u = { NULL, 0, NULL, NULL, 0, NULL, 0 };
    const char *p = s, *why = NULL;

    const char *scheme_end = strstr(s, "://");
    if (scheme_end != NULL) {
        if (strncmp(s, "https://", 8) == 0)
            u.is_tls = 1;
        else if (strncmp(s, "http://", 7) != 0)
            return url_fail(err, errlen, "scheme must be http or https", s);
        p = s + (u.is_tls ? 8 : 7);
    }
    if (strpbrk(p, "?#") != NULL)
        return url_fail(err, errlen, "query or fragment not allowed", s);
    size_t auth_len = strcspn(p, "/");
    if (url_authority_parse(p, auth_len, u.is_tls ? 443 : 80, &u, &why) < 0)
        return url_fail(err, errlen, why, s);
    const char *path = p + auth_len;
    size_t path_len = strlen(path);
    while (path_len > 0 && path[path_len - 1] == '/')
        path_len--;
    u.prefix = xstrndup(path, path_len);
    *out = u;
    return 0;
}

void
url_fini(struct url *u)
{
    free(u->host);
    free(u->prefix);
    if (u->token != NULL)
        secret_free(u->token, strlen(u->token));
    tls_ctx_free(u->tls);
    u->tls = NULL;
    u->host = NULL;
    u->prefix = NULL;
    u->token = NULL;
}

const char *
url_server_choose(const char *flag, const char *env)
{
    if (flag != NULL)
        return flag;
    if (env != NULL && env[0] != '\0')
        return env;
    return URL_DEFAULT_SERVER;
}

static int
url_encode_append(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                   (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                   c == '_' || c == '~';
        if (keep) {
            if (buf_append(out, &c, 1) < 0)
                return -1;
            continue;
        }
        char enc[3] = { '%', hex[c >> 4], hex[c & 15] };
        if (buf_append(out, enc, 3) < 0)
            return -1;
    }
    return 0;
}

int
url_param_append(struct buf *out, int *n_params, const char *key,
                 const char *value)
{
    size_t saved = out->len;
    char sep = *n_params == 0 ? '?' : '&';

    if (buf_append(out, &sep, 1) < 0 || url_encode_append(out, key) < 0 ||
        buf_append(out, "=", 1) < 0 || url_encode_append(out, value) < 0) {
        out->len = saved;
        return -1;
    }
    (*n_params)++;
    return 0;
}
