/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tokens: libFuzzer target for the token files and the bearer
 * header: the HTTP token file (NAME ROLE TOKEN lines,
 * collector/api/api_auth.c) and the Authorization header checked against
 * it, and the shared token file every program reads (collector and
 * shipper --token-file, logq --token-file; common/secret.c), read through
 * a private temporary file, plus logq's $LOGQ_TOKEN (trimmed, then
 * checked as a bearer token). The first byte picks the mode.
 * Invariants checked with assert, against a model written here: every
 * entry of an accepted file authenticates with its own token (however the
 * header's scheme is cased and padded) to its own name and role; a token
 * one byte off does not; the whole input as a header never crashes; a
 * shared token is the input without its trailing whitespace, accepted
 * exactly when that is 32 bytes or more.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/api/api_auth.h"
#include "common/secret.h"
#include "tests/fuzz/fuzzmodel.h"
#include "common/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_GOOD "fuzz-reader-0123456789abcdef0123456789"

/* The entry on one line of an accepted file authenticates as itself. */
static void
fuzz_check_line(const struct api_auth *au, const char *line, size_t len)
{
    const char *name, *role, *tok, *got = NULL;
    size_t nl, rl, tl;

    len = secret_trim(line, len);
    if (fuzz_field(line, len, 0, &name, &nl) < 0 || name[0] == '#')
        return;
    assert(fuzz_field(line, len, 1, &role, &rl) == 0);
    assert(fuzz_field(line, len, 2, &tok, &tl) == 0);
    enum api_role want = rl == 4 ? API_ROLE_READ : API_ROLE_ADMIN;
    char *h = xasprintf("bEaReR   %.*s \t\r\n", (int)tl, tok);
    assert(api_auth_check(au, h, &got) == want);
    assert(got != NULL && strlen(got) == nl && memcmp(got, name, nl) == 0);
    /* one byte off: no entry (tokens are visible ASCII, so '\x7f' is in
     * none) */
    h[strlen("bEaReR   ") + tl - 1] = '\x7f';
    assert(api_auth_check(au, h, NULL) == API_ROLE_NONE);
    free(h);
}

static void
fuzz_auth_file(const uint8_t *p, size_t n)
{
    char *err = NULL;
    struct api_auth *au = api_auth_parse((const char *)p, n, "tokens", &err);

    if (au == NULL) {
        assert(err != NULL && strncmp(err, "tokens", 6) == 0);
        free(err);
        return;
    }
    assert(api_auth_count(au) >= 1 &&
           api_auth_count(au) <= API_AUTH_MAX_TOKENS);
    for (size_t pos = 0; pos < n;) {
        const char *line = (const char *)p + pos;
        const char *eol = memchr(line, '\n', n - pos);
        size_t len = eol ? (size_t)(eol - line) : n - pos;
        fuzz_check_line(au, line, len);
        pos += len + 1;
    }
    char *h = xstrndup((const char *)p, n);
    (void)api_auth_check(au, h, NULL);
    free(h);
    api_auth_free(au);
}

/* The input as the Authorization header against a fixed file. */
static void
fuzz_auth_header(const uint8_t *p, size_t n)
{
    static const char file[] = "grafana read " FUZZ_GOOD "\n";
    char *err = NULL;
    struct api_auth *au = api_auth_parse(file, sizeof(file) - 1, "t", &err);
    char *h = xstrndup((const char *)p, n);

    assert(au != NULL);
    enum api_role r = api_auth_check(au, h, NULL);
    assert(r == API_ROLE_NONE || r == API_ROLE_READ);
    if (r == API_ROLE_READ)
        assert(strstr(h, FUZZ_GOOD) != NULL);
    free(h);
    api_auth_free(au);
}

/* The shared token file, through a real private file (removed again). */
static void
fuzz_token_file(const uint8_t *p, size_t n)
{
    char path[] = "/tmp/logq-fuzz-token-XXXXXX";
    int fd = mkstemp(path);             /* mode 0600 */
    char *tok = NULL, *err = NULL;
    size_t len = 0;

    assert(fd >= 0);
    assert(write(fd, p, n) == (ssize_t)n);
    close(fd);
    size_t want = secret_trim((const char *)p, n);
    int rc = secret_token_file_read(path, "--token-file", &tok, &len, &err);
    unlink(path);
    if (n > SECRET_MAX_FILE || want < SECRET_MIN_LEN) {
        assert(rc < 0 && err != NULL && tok == NULL);
        free(err);
        return;
    }
    assert(rc == 0 && err == NULL);
    assert(len == want && memcmp(tok, p, len) == 0 && tok[len] == '\0');
    secret_free(tok, len);
}

/* logq's $LOGQ_TOKEN: trimmed, then it must be a bearer token. */
static void
fuzz_env_token(const uint8_t *p, size_t n)
{
    char *s = xstrndup((const char *)p, n);
    size_t len = secret_trim(s, strlen(s));
    int want = len >= SECRET_MIN_LEN;

    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            want = 0;
    assert(secret_is_bearer(s, len) == want);
    free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 2 * SECRET_MAX_FILE)
        return 0;
    switch (data[0] % 4) {
    case 0: fuzz_auth_file(data + 1, size - 1); break;
    case 1: fuzz_auth_header(data + 1, size - 1); break;
    case 2: fuzz_token_file(data + 1, size - 1); break;
    default: fuzz_env_token(data + 1, size - 1); break;
    }
    return 0;
}
