/* SPDX-License-Identifier: MIT */
/*
 * fuzz_query: libFuzzer target for the collector's untrusted HTTP inputs:
 * the search language (collector/search/query.c) and the query-string parser
 * (collector/api/api_params.c). Input layout: the whole input is first
 * parsed as a raw query string; then it is split at the first two '\n'
 * bytes into q, regexes (at most 64 bytes, to keep compiling fast; split
 * at 0x1f bytes into up to 4 alternatives) and a message, the first
 * byte's low bit choosing icase and its bit 1 whether the regexes are
 * alternatives to match (API regex) or to drop (not_regex, logq -v).
 * Invariants checked with assert: a failed parse gives an error text and
 * no object; a query matches the same message the same way twice (no
 * state leaks between calls); every required token (from terms and from
 * the regex) is lower-case alphanumeric and, when the query matches, is a
 * whole token of the message: folded equal, with no ASCII letter or digit
 * on either side; q with not_regex matches exactly when q alone matches
 * and the regexes alone do not, with q's tokens; the highlight spans of a
 * match are within the message, non-empty, sorted and apart.
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

/* Spans of a match: within the message, non-empty, sorted, apart. */
static void
fuzz_check_spans(const struct query *q, const char *msg, size_t len)
{
    size_t sp[2 * 16];
    size_t n = query_spans(q, msg, len, sp, 16);

    assert(n <= 16);
    for (size_t k = 0; k < n; k++) {
        assert(sp[2 * k] < sp[2 * k + 1] && sp[2 * k + 1] <= len);
        if (k > 0)
            assert(sp[2 * k - 1] < sp[2 * k]);
    }
}

static struct query *
fuzz_parse_ok(const char *q, size_t q_len, const char *const *alt,
              size_t n_alt, int icase)
{
    char *err = NULL;
    struct query *p = query_parse_any(q, q_len, alt, n_alt, icase, &err);

    assert((p == NULL) == (err != NULL));
    free(err);
    return p;
}

/* q AND NOT any of alt against its model: q alone, the regexes alone. */
static void
fuzz_not_regex(const char *in, size_t q_len, const char *const *alt,
               size_t n_alt, int icase, const char *msg, size_t msg_len)
{
    struct query *qn = fuzz_parse_ok(in, q_len, NULL, 0, icase);
    struct query *q0 = fuzz_parse_ok(in, q_len, NULL, 0, icase);
    struct query *qr = fuzz_parse_ok("", 0, alt, n_alt, icase);
    char *err = NULL;

    if (qn == NULL || qr == NULL) {
        query_free(qn);
        query_free(q0);
        query_free(qr);
        return;
    }
    int rc = query_add_not_regex(qn, alt, n_alt, &err);
    assert(rc == 0 && err == NULL);     /* the same regexes compiled */
    int m = query_match(qn, msg, msg_len);
    assert(m == (query_match(q0, msg, msg_len) &&
                 !query_match(qr, msg, msg_len)));
    const char *const *t0, *const *tn;
    size_t n0 = query_tokens(q0, &t0), nn = query_tokens(qn, &tn);
    assert(n0 == nn);
    for (size_t i = 0; i < nn; i++)
        assert(strcmp(t0[i], tn[i]) == 0);
    if (m)
        fuzz_check_spans(qn, msg, msg_len);
    query_free(qn);
    query_free(q0);
    query_free(qr);
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
    if (size > 0 && (data[0] & 2) && n_alt > 0) {
        fuzz_not_regex(in, q_len, alt, n_alt, icase, msg, msg_len);
        free(regex);
        return;
    }
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
    if (m1)
        fuzz_check_spans(q, msg, msg_len);
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
