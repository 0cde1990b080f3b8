/* SPDX-License-Identifier: MIT */
/*
 * hostkeys: see hostkeys.h. Tokens are kept as given (the handshake keys
 * an HMAC with them) and compared byte for byte only to refuse a file that
 * gives two hosts one token, which would be a shared secret again.
 * Lookups by host name are linear: one per handshake, at most
 * HOSTKEYS_MAX_HOSTS entries.
 */
#include "collector/ingest/hostkeys.h"

#include <stdlib.h>
#include <string.h>

#include "common/secret.h"
#include "common/xmalloc.h"

struct hostkeys_entry {
    char   *host;
    size_t  host_len;
    char   *token;
    size_t  token_len;
};

struct hostkeys {
    struct hostkeys_entry *e;
    size_t                 n, cap;
    size_t                 n_bare;      /* lines holding one field */
};

/* ---- parsing ---- */

static const char *
hostkeys_check_dup(const struct hostkeys *hk, const struct hostkeys_entry *e)
{
    for (size_t i = 0; i < hk->n; i++) {
        const struct hostkeys_entry *o = &hk->e[i];
        if (o->host_len == e->host_len &&
            memcmp(o->host, e->host, e->host_len) == 0)
            return "duplicate host";
        if (o->token_len == e->token_len &&
            memcmp(o->token, e->token, e->token_len) == 0)
            return "duplicate token (each host needs its own)";
    }
    return NULL;
}

static const char *
hostkeys_line(struct hostkeys *hk, const char *line, size_t len)
{
    const char *f[2];
    size_t fl[2];
    size_t n = secret_fields(line, len, f, fl, 2);

    if (n == 1)
        hk->n_bare++;
    if (n != 2)
        return "want HOST TOKEN";
    if (!hostkeys_is_host(f[0], fl[0]))
        return "bad host name (1-255 bytes, no spaces or control bytes)";
    if (fl[1] > HOSTKEYS_MAX_TOKEN || !secret_is_bearer(f[1], fl[1]))
        return "bad token (32 to 1024 visible ASCII bytes)";
    if (hk->n == HOSTKEYS_MAX_HOSTS)
        return "too many hosts";
    struct hostkeys_entry e = {
        .host = (char *)f[0], .host_len = fl[0],
        .token = (char *)f[1], .token_len = fl[1],
    };
    const char *why = hostkeys_check_dup(hk, &e);
    if (why != NULL)
        return why;
    if (hk->n == hk->cap) {
        hk->cap = hk->cap ? hk->cap * 2 : 16;
        hk->e = xreallocarray(hk->e, hk->cap, sizeof(*hk->e));
    }
    e.host = xmemdup(f[0], fl[0]);
    e.token = xmemdup(f[1], fl[1]);
    hk->e[hk->n++] = e;
    return NULL;
}

/* The error for line lineno, or the old format's own message. */
static char *
hostkeys_error(const struct hostkeys *hk, const char *path, size_t lineno,
               const char *why)
{
    if (hk->n == 0 && hk->n_bare == 1)
        return xasprintf("%s holds a single shared token, the format before "
                         "protocol version 2; it now needs one line per "
                         "enrolled host, HOST TOKEN, each host with its own "
                         "token, and each shipper only its own token "
                         "(SECURITY.md \"Shipper identity\")", path);
    return xasprintf("%s:%zu: %s", path, lineno, why);
}

struct hostkeys *
hostkeys_parse(const char *text, size_t len, const char *path, char **errstr)
{
    struct hostkeys *hk = xcalloc(1, sizeof(*hk));
    struct secret_lines it;
    const char *line;
    size_t n;

    secret_lines_init(&it, text, len);
    while (secret_lines_next(&it, &line, &n)) {
        const char *why = hostkeys_line(hk, line, n);
        if (why != NULL) {
            *errstr = hostkeys_error(hk, path, it.lineno, why);
            goto fail;
        }
    }
    if (hk->n == 0) {
        *errstr = xasprintf("%s: no host (want HOST TOKEN per line)", path);
        goto fail;
    }
    return hk;
fail:
    hostkeys_free(hk);
    return NULL;
}

/* ---- public API ---- */

void
hostkeys_free(struct hostkeys *hk)
{
    if (hk == NULL)
        return;
    for (size_t i = 0; i < hk->n; i++) {
        free(hk->e[i].host);
        secret_free(hk->e[i].token, hk->e[i].token_len);
    }
    free(hk->e);
    free(hk);
}

size_t
hostkeys_count(const struct hostkeys *hk)
{
    return hk->n;
}

const char *
hostkeys_get(const struct hostkeys *hk, const char *host, size_t host_len,
             size_t *token_len)
{
    for (size_t i = 0; i < hk->n; i++) {
        const struct hostkeys_entry *e = &hk->e[i];
        if (e->host_len == host_len && memcmp(e->host, host, host_len) == 0) {
            *token_len = e->token_len;
            return e->token;
        }
    }
    return NULL;
}

int
hostkeys_is_host(const char *host, size_t len)
{
    if (len == 0 || len > HOSTKEYS_MAX_HOST)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)host[i];
        if (ch <= 0x20 || ch == 0x7f)
            return 0;
    }
    return 1;
}
