/* SPDX-License-Identifier: MIT */
/*
 * fuzz_query: libFuzzer target for the collector's untrusted HTTP inputs:
 * the search language (collector/search/query.c) and the query-string parser
 * (collector/api/api_params.c). Input layout: the whole input is first
 * parsed as a raw query string; then it is split at the first two '\n'
 * bytes into q, regexes (at most 64 bytes, to keep compiling fast; split
 * at 0x1f bytes into up to 4 alternatives) and a message, the first
 * byte's low bit choosing icase. Invariants checked with
 * assert: a failed parse gives an error text and no object; a query matches
 * the same message the same way twice (no state leaks between calls); every
 * required token (from terms and from the regex) is lower-case alphanumeric
 * and, when the query matches, is a whole token of the message: folded
 * equal, with no ASCII letter or digit on either side.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/api/api_params.h"
#include "collector/search/query.h"
#include "collector/store/tokenize.h"
#include "common/casefold.h"
#include "common/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_params(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);
    struct api_params p;
    char *err = NULL;

    for (int ep = API_EP_LOGS; ep <= API_EP_FOLLOW; ep++) {
        int rc = api_params_parse(s, (enum api_endpoint)ep, &p, &err);
        if (rc == 0) {
            assert(p.q != NULL);
            assert(p.limit <= API_PARAMS_MAX_LIMIT);
            assert(p.since_ns < p.until_ns);
            assert(p.stream >= -1 && p.stream <= 1);
            api_params_fini(&p);
        } else {
            assert(rc == -1 && err != NULL);
            free(err);
            err = NULL;
        }
    }
    free(s);
}

static int
fuzz_is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

struct fuzz_hashes {
    uint32_t h[64];
    size_t   n;
    int      is_found;
};

static int
fuzz_find_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct fuzz_hashes *f = arg;

    (void)tok;
    (void)len;
    for (size_t i = 0; i < f->n; i++)
        if (f->h[i] == hash)
            f->is_found = 1;
    return f->is_found;
}

static int
fuzz_hash_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct fuzz_hashes *f = arg;

    (void)tok;
    (void)len;
    if (f->n < 64)
        f->h[f->n++] = hash;
    return 0;
}

/* Whether msg holds tok as a whole token of the store's tokenizer (what
 * the index requires of every token a query reports). */
static int
fuzz_has_token(const char *msg, size_t len, const char *tok)
{
    struct fuzz_hashes f = { .n = 0, .is_found = 0 };

    tokenize_foreach(tok, strlen(tok), 0, fuzz_hash_cb, &f);
    assert(f.n == 1);
    tokenize_foreach(msg, len, 0, fuzz_find_cb, &f);
    return f.is_found;
}

/* A token: word bytes only, already folded (folding it again changes
 * nothing). */
static void
fuzz_check_token_form(const char *tok)
{
    size_t n = strlen(tok);
    char f[512];

    assert(n > 0);
    for (size_t i = 0; i < n; i++)
        assert(fuzz_is_word((unsigned char)tok[i]));
    if (n <= sizeof(f) / 2) {
        size_t fl = casefold_str((const uint8_t *)tok, n, (uint8_t *)f,
                                 sizeof(f));
        assert(fl == n && memcmp(f, tok, n) == 0);
    }
}

static void
fuzz_query(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl1 = memchr(in, '\n', size);
    size_t q_len = nl1 ? (size_t)(nl1 - in) : size;
    const char *rest = nl1 ? nl1 + 1 : in + size;
    size_t rest_len = (size_t)(in + size - rest);
    const char *nl2 = memchr(rest, '\n', rest_len);
    char *regex = NULL;
    const char *alt[4];
    size_t n_alt = 0;
    const char *msg = rest;
    size_t msg_len = rest_len;

    if (nl2 != NULL && nl2 - rest <= 64) {
        regex = xstrndup(rest, (size_t)(nl2 - rest));
        msg = nl2 + 1;
        msg_len = (size_t)(in + size - msg);
        alt[n_alt++] = regex;
        for (char *c = regex; *c != '\0' && n_alt < 4; c++)
            if (*c == 0x1f) {
                *c = '\0';
                alt[n_alt++] = c + 1;
            }
    }
    int icase = size > 0 && (data[0] & 1);
    char *err = NULL;
    struct query *q = query_parse_any(in, q_len, alt, n_alt, icase, &err);
    if (q == NULL) {
        assert(err != NULL);
        free(err);
        free(regex);
        return;
    }
    int m1 = query_match(q, msg, msg_len);
    int m2 = query_match(q, msg, msg_len);
    assert(m1 == m2 && (m1 == 0 || m1 == 1));
    const char *const *tok;
    size_t n = query_tokens(q, &tok);
    for (size_t i = 0; i < n; i++) {
        fuzz_check_token_form(tok[i]);
        if (m1)
            assert(fuzz_has_token(msg, msg_len, tok[i]));
    }
    query_free(q);
    free(regex);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    fuzz_params(data, size);
    fuzz_query(data, size);
    return 0;
}
