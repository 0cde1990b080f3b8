/* SPDX-License-Identifier: MIT */
/*
 * api_host: see api_host.h. A Host value is split into its name and an
 * optional port (digits only, ignored); an IPv6 literal must be bracketed.
 * Names hold [A-Za-z0-9._-] (Docker's DNS answers names with '_').
 */
#include "collector/api/api_host.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"

struct api_hosts {
    int   is_any;                   /* "*" given */
    char *names[API_HOST_MAX_NAMES];
    int   n_names;
};

/* ---- helpers ---- */

static int
api_host_is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static int
api_host_is_name(const char *p, size_t n)
{
    if (n == 0 || n > API_HOST_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!api_host_is_name_char(p[i]))
            return 0;
    return 1;
}

/* 1 if name (n bytes, case ignored) is suffix or ends with "." suffix;
 * suffix is given without its leading dot. */
static int
api_host_in_domain(const char *name, size_t n, const char *suffix)
{
    size_t sl = strlen(suffix);

    if (n == sl)
        return strncasecmp(name, suffix, n) == 0;
    return n > sl && name[n - sl - 1] == '.' &&
           strncasecmp(name + n - sl, suffix, sl) == 0;
}

/* Empty, or at most 5 digits. */
static int
api_host_is_port(const char *p)
{
    size_t n = strlen(p);

    if (n > 5)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

/* A bracketed IPv6 literal with an optional port: 1 if well formed. */
static int
api_host_is_v6(const char *host)
{
    const char *rb = strchr(host, ']');
    char addr[64];
    struct in6_addr a6;
    size_t n = rb ? (size_t)(rb - host - 1) : 0;

    if (rb == NULL || n == 0 || n >= sizeof(addr))
        return 0;
    if (rb[1] != '\0' && (rb[1] != ':' || !api_host_is_port(rb + 2)))
        return 0;
    memcpy(addr, host + 1, n);
    addr[n] = '\0';
    return inet_pton(AF_INET6, addr, &a6) == 1;
}

/* ---- public API ---- */

struct api_hosts *
api_hosts_parse(const char *list, char **errstr)
{
    struct api_hosts *h = xcalloc(1, sizeof(*h));
    const char *p = list != NULL ? list : "";

    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 1 && p[0] == '*') {
            h->is_any = 1;
        } else if (!api_host_is_name(p, n) || (p[0] == '.' && n == 1)) {
            *errstr = xasprintf("--http-host: bad name '%.*s' (want "
                                "NAME, .DOMAIN or *; letters, digits, "
                                "'.', '-', '_', at most %d bytes)",
                                (int)(n > 300 ? 300 : n), p,
                                API_HOST_MAX_LEN);
            goto fail;
        } else if (h->n_names == API_HOST_MAX_NAMES) {
            *errstr = xasprintf("--http-host: more than %d names",
                                API_HOST_MAX_NAMES);
            goto fail;
        } else {
            size_t keep = n > 1 && p[n - 1] == '.' ? n - 1 : n;
            h->names[h->n_names++] = xstrndup(p, keep);  /* "a.b." is a.b */
        }
        if (comma == NULL)
            break;
        p = comma + 1;
        if (*p == '\0') {
            *errstr = xstrdup("--http-host: empty name after ','");
            goto fail;
        }
    }
    return h;
fail:
    api_hosts_free(h);
    return NULL;
}

void
api_hosts_free(struct api_hosts *h)
{
    if (h == NULL)
        return;
    for (int i = 0; i < h->n_names; i++)
        free(h->names[i]);
    free(h);
}

static int
api_hosts_match_name(const struct api_hosts *h, const char *name, size_t n)
{
    for (int i = 0; i < h->n_names; i++) {
        const char *want = h->names[i];
        if (want[0] == '.' ? api_host_in_domain(name, n, want + 1)
                           : strlen(want) == n &&
                             strncasecmp(want, name, n) == 0)
            return 1;
    }
    return 0;
}

int
api_hosts_allow(const struct api_hosts *h, const char *host)
{
    char name[API_HOST_MAX_LEN + 2];
    struct in_addr a4;

    if (host == NULL || host[0] == '\0')
        return 0;
    if (host[0] == '[')
        return api_host_is_v6(host);
    const char *colon = strchr(host, ':');
    size_t n = colon ? (size_t)(colon - host) : strlen(host);
    if ((colon != NULL && !api_host_is_port(colon + 1)) ||
        !api_host_is_name(host, n) || n >= sizeof(name))
        return 0;
    memcpy(name, host, n);
    name[n] = '\0';
    if (n > 1 && name[n - 1] == '.')
        name[--n] = '\0';
    if (h->is_any || inet_pton(AF_INET, name, &a4) == 1 ||
        api_host_in_domain(name, n, "localhost"))
        return 1;
    return api_hosts_match_name(h, name, n);
}
