/* SPDX-License-Identifier: MIT */
/*
 * api_auth: see api_auth.h. Line format (API.md): fields separated by
 * spaces or tabs, trailing whitespace trimmed as common/secret.c trims a
 * shared token file; names are [A-Za-z0-9._-], tokens visible ASCII.
 */
#include "collector/api/api_auth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hmac.h"
#include "common/secret.h"
#include "common/xmalloc.h"

struct api_auth_entry {
    char          name[API_AUTH_MAX_NAME + 1];
    enum api_role role;
    uint8_t       digest[SHA256_LEN];
};

struct api_auth {
    struct api_auth_entry *e;
    size_t                 n;
};

/* ---- parsing ---- */

static int
api_auth_is_name(const char *p, size_t n)
{
    if (n == 0 || n > API_AUTH_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static const char *
api_auth_line(struct api_auth *au, const char *line, size_t len)
{
    const char *f[3];
    size_t fl[3];

    if (secret_fields(line, len, f, fl, 3) != 3)
        return "want NAME ROLE TOKEN";
    if (!api_auth_is_name(f[0], fl[0]))
        return "bad name (1-64 of A-Z a-z 0-9 . _ -)";
    enum api_role role;
    if (fl[1] == 4 && memcmp(f[1], "read", 4) == 0)
        role = API_ROLE_READ;
    else if (fl[1] == 5 && memcmp(f[1], "admin", 5) == 0)
        role = API_ROLE_ADMIN;
    else
        return "bad role (read or admin)";
    if (fl[2] > API_AUTH_MAX_TOKEN || !secret_is_bearer(f[2], fl[2]))
        return "bad token (32 to 1024 visible ASCII bytes)";
    if (au->n == API_AUTH_MAX_TOKENS)
        return "too many tokens";
    struct api_auth_entry *e = &au->e[au->n];
    memcpy(e->name, f[0], fl[0]);
    e->name[fl[0]] = '\0';
    e->role = role;
    sha256(f[2], fl[2], e->digest);
    for (size_t i = 0; i < au->n; i++) {
        if (strcmp(au->e[i].name, e->name) == 0)
            return "duplicate name";
        if (memcmp(au->e[i].digest, e->digest, SHA256_LEN) == 0)
            return "duplicate token";
    }
    au->n++;
    return NULL;
}

struct api_auth *
api_auth_parse(const char *text, size_t len, const char *path,
               char **errstr)
{
    struct api_auth *au = xcalloc(1, sizeof(*au));
    struct secret_lines it;
    const char *line;
    size_t n;

    au->e = xcalloc(API_AUTH_MAX_TOKENS, sizeof(*au->e));
    secret_lines_init(&it, text, len);
    while (secret_lines_next(&it, &line, &n)) {
        const char *why = api_auth_line(au, line, n);
        if (why != NULL) {
            *errstr = xasprintf("%s:%zu: %s", path, it.lineno, why);
            goto fail;
        }
    }
    if (au->n == 0) {
        *errstr = xasprintf("%s: no token", path);
        goto fail;
    }
    return au;
fail:
    api_auth_free(au);
    return NULL;
}

void
api_auth_free(struct api_auth *au)
{
    if (au == NULL)
        return;
    if (au->e != NULL) {
        explicit_bzero(au->e, API_AUTH_MAX_TOKENS * sizeof(*au->e));
        free(au->e);
    }
    free(au);
}

size_t
api_auth_count(const struct api_auth *au)
{
    return au->n;
}

/* ---- checking ---- */

enum api_role
api_auth_check(const struct api_auth *au, const char *header,
               const char **name)
{
    uint8_t d[SHA256_LEN];
    size_t found = SIZE_MAX;

    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
        return API_ROLE_NONE;
    const char *tok = header + 7;
    while (*tok == ' ')
        tok++;
    /* The whole rest of the header (evhttp bounds its size): a bound here
     * could cut "TOKEN junk" at the space, which trimming then dropped. */
    size_t tlen = secret_trim(tok, strlen(tok));
    if (tlen == 0 || tlen > API_AUTH_MAX_TOKEN)
        return API_ROLE_NONE;
    sha256(tok, tlen, d);
    /* every entry, no early exit: the time depends on au->n only */
    for (size_t i = 0; i < au->n; i++) {
        size_t mask = (size_t)0 - (size_t)hmac_equal(d, au->e[i].digest,
                                                     SHA256_LEN);
        found = (found & ~mask) | (i & mask);  /* digests are unique */
    }
    explicit_bzero(d, sizeof(d));
    if (found == SIZE_MAX)
        return API_ROLE_NONE;
    if (name != NULL)
        *name = au->e[found].name;
    return au->e[found].role;
}
