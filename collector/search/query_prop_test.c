/* SPDX-License-Identifier: MIT */
/*
 * query_prop_test: the word rule's contract, on random texts and terms
 * built from words in several cases and scripts, '_', digits and invalid
 * bytes. (1) query_match equals a brute-force model: fold the message and
 * the term whole (common/casefold.h) when icase, find the term, check the
 * bytes on either side (for valid UTF-8 terms and messages). (2) For every
 * record the matcher accepts, each of query_tokens() is a whole token of
 * the message by the store's tokenizer (same hash) and passes the cursor's
 * prefilter (scan.c): the index and the prefilter never drop a record the
 * matcher accepts (terms, phrases, -F, -i, with invalid UTF-8 too). Terms
 * of the form NAME:VALUE are field terms, left to query_fields_prop_test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/query.h"
#include "collector/store/store_internal.h"
#include "collector/store/tokenize.h"
#include "common/casefold.h"
#include "common/xmalloc.h"
#include "tests/support/testrng.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static unsigned
rn(unsigned n)
{
    return testrng_below(&rng_state, n);
}

static const char *const words[] = {
    "error", "Error", "ERROR", "pam_unix", "unix", "PAM_UNIX", "caf",
    "caf\xc3\xa9", "CAF\xc3\x89", "\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89",
    "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
    "\xd0\x9f\xd0\xa0\xd0\x98", "\xe2\xb1\xa5" "b", "\xc8\xba" "B",
    "\xcf\x83\xce\xbf\xcf\x86", "\xce\xa3\xce\x9f\xce\xa6", "\xcf\x82",
    "_x", "x_", "_", "10", "0", "log", "Core", "\xe6\x97\xa5\xe6\x9c\xac",
    "stra\xc3\x9f" "e", "STRASSE",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))
static const char *const bad_words[] = { "\xff", "\xc3", "\x80", "\xe6\x97" };
static const char *const seps[] = {
    " ", " ", ".", "/", ":", "(", ")", "-", "=", ", ", "", "",
};
#define N_SEPS (sizeof(seps) / sizeof(seps[0]))

/* Appends 1..max_words words with separators to t; returns the length. */
static size_t
gen_text(char *t, size_t cap, unsigned max_words, int with_bad)
{
    size_t n = 0;
    unsigned nw = 1 + rn(max_words);

    for (unsigned i = 0; i < nw; i++) {
        const char *sep = i ? seps[rn(N_SEPS)] : (rn(4) ? "" : seps[rn(N_SEPS)]);
        const char *w = with_bad && rn(6) == 0 ? bad_words[rn(4)]
                                               : words[rn(N_WORDS)];
        int k = snprintf(t + n, cap - n, "%s%s", sep, w);
        if (k < 0 || (size_t)k >= cap - n)
            break;
        n += (size_t)k;
    }
    if (rn(4) == 0 && n + 1 < cap)
        t[n++] = seps[rn(N_SEPS - 2)][0];
    t[n] = '\0';
    return n;
}

static int
is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/* The model: both folded whole (icase), then a plain search with the
 * word rule checked on the folded bytes (folding keeps word-ness). */
static int
model_match(const char *term, size_t tl, int is_fixed, int icase,
            const char *msg, size_t ml)
{
    char ft[512], fm[1024];
    size_t n = tl, m = ml;

    if (icase) {
        n = casefold_str((const uint8_t *)term, tl, (uint8_t *)ft, sizeof(ft));
        m = casefold_str((const uint8_t *)msg, ml, (uint8_t *)fm, sizeof(fm));
        assert_true(n <= sizeof(ft) && m <= sizeof(fm));
    } else {
        memcpy(ft, term, tl);
        memcpy(fm, msg, ml);
    }
    int sb = !is_fixed && is_word((unsigned char)term[0]);
    int eb = !is_fixed && is_word((unsigned char)term[tl - 1]);
    for (size_t i = 0; i + n <= m; i++) {
        if (memcmp(fm + i, ft, n) != 0)
            continue;
        if ((!sb || i == 0 || !is_word((unsigned char)fm[i - 1])) &&
            (!eb || i + n == m || !is_word((unsigned char)fm[i + n])))
            return 1;
    }
    return 0;
}

struct hashes {
    uint32_t h[256];
    size_t   n;
};

static int
collect_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct hashes *hs = arg;

    (void)tok;
    (void)len;
    if (hs->n < 256)
        hs->h[hs->n++] = hash;
    return 0;
}

/* The token's single hash and its prefilter form, as cursor.c makes them. */
static int
token_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct scan_tok *t = arg;

    scan_tok_init(t, tok, len);
    (void)hash;
    return 0;
}

/* Every token of a matched record: a whole token of msg, found by the
 * prefilter. */
static void
check_tokens(const struct query *q, const char *msg, size_t ml)
{
    const char *const *tok;
    size_t nt = query_tokens(q, &tok);
    struct hashes hs = { .n = 0 };

    tokenize_foreach(msg, ml, 0, collect_cb, &hs);
    for (size_t i = 0; i < nt; i++) {
        struct hashes th = { .n = 0 };
        tokenize_foreach(tok[i], strlen(tok[i]), 0, collect_cb, &th);
        assert_int_equal(th.n, 1);
        int found = 0;
        for (size_t k = 0; k < hs.n && !found; k++)
            found = hs.h[k] == th.h[0];
        if (!found)
            fail_msg("token [%s] not a whole token of [%.*s]", tok[i],
                     (int)ml, msg);
        struct scan_tok st;
        tokenize_foreach(tok[i], strlen(tok[i]), 0, token_cb, &st);
        if (!scan_has(&st, (const uint8_t *)msg, ml))
            fail_msg("prefilter drops [%.*s] for token [%s]", (int)ml, msg,
                     tok[i]);
    }
}

/* A term: a piece of a message (so matches are frequent) or new words. */
static size_t
gen_term(char *t, size_t cap, const char *msg, size_t ml, int with_bad)
{
    if (rn(2) && ml > 0) {
        size_t at = rn((unsigned)ml), len = 1 + rn(12);
        if (len > ml - at)
            len = ml - at;
        /* valid texts: cut at character boundaries */
        while (!with_bad && at > 0 && ((uint8_t)msg[at] & 0xc0) == 0x80)
            at--, len++;
        while (!with_bad && at + len < ml &&
               ((uint8_t)msg[at + len] & 0xc0) == 0x80)
            len++;
        memcpy(t, msg + at, len);
        t[len] = '\0';
        return len;
    }
    return gen_text(t, cap, 3, with_bad);
}

/* The field-term rule of query.h, written apart: NAME ':' VALUE with NAME
 * [A-Za-z_@][A-Za-z0-9_.@-]* and VALUE non-empty, without ':', not
 * starting with '/'; or NAME ':' '"'. Field terms have their own model
 * (query_fields_prop_test.c). */
static int
model_is_field_term(const char *t, size_t tl)
{
    const char *colon = memchr(t, ':', tl);

    if (colon == NULL || colon == t)
        return 0;
    for (const char *p = t; p < colon; p++) {
        int ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_@",
                        *p) != NULL ||
                 (p > t && strchr("0123456789.-", *p) != NULL);
        if (*p == '\0' || !ok)
            return 0;
    }
    size_t vl = tl - (size_t)(colon + 1 - t);
    if (vl > 0 && colon[1] == '"')
        return 1;
    return vl > 0 && colon[1] != '/' && memchr(colon + 1, ':', vl) == NULL;
}

/* Builds the query for term t: -F, a phrase (has a space) or a term.
 * NULL when the text cannot be one (a quote, or a term the grammar reads
 * otherwise: leading '-', "OR"). */
static struct query *
make_query(const char *t, size_t tl, int is_fixed, int icase)
{
    char q[600];
    char *err = NULL;
    struct query *qy;

    if (is_fixed) {
        qy = query_parse("", 0, NULL, icase, &err);
        assert_non_null(qy);
        assert_int_equal(query_add_fixed(qy, t, tl, &err), 0);
        return qy;
    }
    if (memchr(t, '"', tl) || t[0] == '-' || strcmp(t, "OR") == 0)
        return NULL;
    int has_space = memchr(t, ' ', tl) != NULL;
    if (!has_space && model_is_field_term(t, tl))
        return NULL;
    if (has_space && (t[0] == ' ' || t[tl - 1] == ' '))
        return NULL;        /* not a problem, but the model needs no trim */
    int k = snprintf(q, sizeof(q), has_space ? "\"%s\"" : "%s", t);
    qy = query_parse(q, (size_t)k, NULL, icase, &err);
    if (qy == NULL)
        fail_msg("[%s]: %s", q, err);
    return qy;
}

static void
run(int with_bad, size_t *n_match, size_t *n_tok_checked)
{
    char msgs[40][512], term[512];
    size_t ml[40];

    for (int iter = 0; iter < 10000; iter++) {
        for (size_t i = 0; i < 40; i++)
            ml[i] = gen_text(msgs[i], sizeof(msgs[i]), 8, with_bad);
        unsigned j = rn(40);
        size_t tl = gen_term(term, sizeof(term), msgs[j], ml[j], with_bad);
        if (tl == 0)
            continue;
        int is_fixed = rn(3) == 0, icase = (int)rn(2);
        struct query *q = make_query(term, tl, is_fixed, icase);
        if (q == NULL)
            continue;
        const char *const *tok;
        size_t nt = query_tokens(q, &tok);
        for (size_t i = 0; i < 40; i++) {
            int got = query_match(q, msgs[i], ml[i]);
            if (!with_bad) {
                int want = model_match(term, tl, is_fixed, icase, msgs[i],
                                       ml[i]);
                if (got != want)
                    fail_msg("%s [%s] icase %d on [%s]: got %d want %d",
                             is_fixed ? "-F" : "term", term, icase, msgs[i],
                             got, want);
            }
            if (got) {
                (*n_match)++;
                *n_tok_checked += nt;
                check_tokens(q, msgs[i], ml[i]);
            }
        }
        query_free(q);
    }
}

static void
test_query_prop_valid_utf8(void **state)
{
    size_t n_match = 0, n_tok = 0;

    (void)state;
    run(0, &n_match, &n_tok);
    print_message("%zu matches, %zu tokens checked\n", n_match, n_tok);
    assert_true(n_match > 5000);
    assert_true(n_tok > 4000);
}

static void
test_query_prop_invalid_bytes(void **state)
{
    size_t n_match = 0, n_tok = 0;

    (void)state;
    run(1, &n_match, &n_tok);
    print_message("%zu matches, %zu tokens checked\n", n_match, n_tok);
    assert_true(n_match > 5000);
    assert_true(n_tok > 4000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_prop_valid_utf8),
        cmocka_unit_test(test_query_prop_invalid_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
