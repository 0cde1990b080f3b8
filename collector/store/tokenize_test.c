/* SPDX-License-Identifier: MIT */
/*
 * tokenize_test: the index tokenizer: splitting by the word rule ('_' and
 * UTF-8 join words), UTF-8 case folding, invalid bytes, the length cap,
 * re-tokenizing a folded token, hashes, early stop.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/store/tokenize.h"

struct toks {
    char     s[32][TOKENIZE_MAX_LEN + 1];
    uint32_t h[32];
    size_t   n;
    size_t   stop_at;       /* 0: never */
};

static int
collect_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct toks *t = arg;

    assert_true(len >= 1 && len <= TOKENIZE_MAX_LEN);
    assert_true(t->n < 32);
    memcpy(t->s[t->n], tok, len);
    t->s[t->n][len] = '\0';
    t->h[t->n++] = hash;
    return t->stop_at && t->n == t->stop_at ? 7 : 0;
}

static void
toks_of(struct toks *t, const char *text, unsigned flags)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(tokenize_foreach(text, strlen(text), flags, collect_cb,
                                      t), 0);
}

static void
test_tokenize_split_and_fold(void **state)
{
    struct toks t;

    (void)state;
    toks_of(&t, "GET /api/v1/Users?id=42 HTTP/1.1 ip=10.0.0.1", 0);
    const char *want[] = { "get", "api", "v1", "users", "id", "42", "http",
                           "1", "1", "ip", "10", "0", "0", "1" };
    assert_int_equal(t.n, 14);
    for (size_t i = 0; i < t.n; i++) {
        assert_string_equal(t.s[i], want[i]);
        assert_int_equal(t.h[i], tokenize_hash((const uint8_t *)want[i],
                                               strlen(want[i])));
    }
}

static void
test_tokenize_empty_and_separators(void **state)
{
    struct toks t;

    (void)state;
    toks_of(&t, "", 0);
    assert_int_equal(t.n, 0);
    toks_of(&t, " \t-./:[]{}\"'\x01\x7f", 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(tokenize_foreach(NULL, 0, 0, collect_cb, &t), 0);
}

static void
test_tokenize_utf8(void **state)
{
    struct toks t;

    (void)state;
    /* UTF-8 words stay whole (no ASCII parts: "caf" is not a token of
     * "café") and fold like -i: É -> é, П -> п, Σ -> σ, Ⱥ (2 bytes) -> ⱥ
     * (3 bytes) */
    toks_of(&t, "CAF\xc3\x89 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac "
                "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xce\xa3 "
                "\xc8\xba" "B", 0);
    const char *want[] = { "caf\xc3\xa9", "na\xc3\xafve",
                           "\xe6\x97\xa5\xe6\x9c\xac",
                           "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
                           "\xcf\x83", "\xe2\xb1\xa5" "b" };
    assert_int_equal(t.n, 6);
    for (size_t i = 0; i < t.n; i++)
        assert_string_equal(t.s[i], want[i]);
    /* invalid UTF-8: word bytes, kept as they are */
    toks_of(&t, "a\xff" "B \x80 \xc3(x", 0);
    assert_int_equal(t.n, 4);
    assert_string_equal(t.s[0], "a\xff" "b");
    assert_string_equal(t.s[1], "\x80");
    assert_string_equal(t.s[2], "\xc3");
    assert_string_equal(t.s[3], "x");
}

static void
test_tokenize_underscore(void **state)
{
    struct toks t;

    (void)state;
    toks_of(&t, "pam_unix(sshd:session) __init__ _ a_b-c", 0);
    const char *want[] = { "pam_unix", "sshd", "session", "__init__", "_",
                           "a_b", "c" };
    assert_int_equal(t.n, 7);
    for (size_t i = 0; i < t.n; i++)
        assert_string_equal(t.s[i], want[i]);
}

/* A folded token is a fixed point: tokenizing it again gives itself (the
 * cursor re-tokenizes the query's folded words and must get the index's
 * hashes). */
static void
test_tokenize_refold_stable(void **state)
{
    static const uint8_t pick[] = { 'a', 'Z', '_', '0', 0x80, 0x9f, 0xa9,
                                    0xbf, 0xc3, 0xce, 0xd0, 0xe2, 0xe6,
                                    0xed, 0xf0, 0xf4, 0xff, 0xc8, 0xba };
    uint8_t s[80];
    struct toks t, u;

    (void)state;
    srand(11);
    for (int iter = 0; iter < 50000; iter++) {
        size_t len = 1 + (size_t)(rand() % 70);
        for (size_t i = 0; i < len; i++)
            s[i] = pick[rand() % (int)sizeof(pick)];
        memset(&t, 0, sizeof(t));
        assert_int_equal(tokenize_foreach(s, len, 0, collect_cb, &t), 0);
        assert_int_equal(t.n, 1);
        memset(&u, 0, sizeof(u));
        assert_int_equal(tokenize_foreach(t.s[0], strlen(t.s[0]), 0,
                                          collect_cb, &u), 0);
        assert_int_equal(u.n, 1);
        assert_string_equal(u.s[0], t.s[0]);
        assert_int_equal(u.h[0], t.h[0]);
    }
}

static void
test_tokenize_cap(void **state)
{
    char text[300];
    struct toks t;

    (void)state;
    memset(text, 'A', 100);
    memcpy(text + 100, " b", 3);
    toks_of(&t, text, 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(strlen(t.s[0]), TOKENIZE_MAX_LEN);
    assert_int_equal(t.s[0][0], 'a');
    assert_string_equal(t.s[1], "b");
    /* the cut is on folded bytes: 63 'x' then É (2 bytes) keeps one */
    memset(text, 0, sizeof(text));
    memset(text, 'x', 63);
    memcpy(text + 63, "\xc3\x89Tail", 6);
    toks_of(&t, text, 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(strlen(t.s[0]), TOKENIZE_MAX_LEN);
    assert_int_equal((uint8_t)t.s[0][63], 0xc3);
}

static void
test_tokenize_stop(void **state)
{
    struct toks t;
    const char *text = "a b c d";

    (void)state;
    memset(&t, 0, sizeof(t));
    t.stop_at = 2;
    assert_int_equal(tokenize_foreach(text, strlen(text), 0, collect_cb, &t),
                     7);
    assert_int_equal(t.n, 2);
}

/* Field tokens: "name:value" folded, cut at TOKENIZE_MAX_LEN, hashed as
 * words are; one per field of a JSON or logfmt message, none for plain
 * text; never equal to a word token (words hold no ':'). */
static void
test_tokenize_fields(void **state)
{
    struct toks t;
    uint8_t tok[TOKENIZE_MAX_LEN];
    char big[300];

    (void)state;
    memset(&t, 0, sizeof(t));
    const char *j = "{\"Level\":\"ERROR\",\"user\":{\"id\":42},"
                    "\"v\":\"CAF\\u00c9\"}";
    assert_int_equal(tokenize_fields(j, strlen(j), collect_cb, &t), 0);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.s[0], "level:error");
    assert_string_equal(t.s[1], "user.id:42");
    assert_string_equal(t.s[2], "v:caf\xc3\xa9");
    assert_int_equal(t.h[0], tokenize_hash((const uint8_t *)"level:error",
                                           11));
    size_t n = tokenize_field("Level", 5, "ERROR", 5, tok);
    assert_int_equal(n, 11);
    assert_memory_equal(tok, "level:error", 11);
    memset(&t, 0, sizeof(t));
    assert_int_equal(tokenize_fields("level=warn msg=\"a b\"", 20,
                                     collect_cb, &t), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.s[1], "msg:a b");
    memset(&t, 0, sizeof(t));
    assert_int_equal(tokenize_fields("plain level:error", 17, collect_cb,
                                     &t), 0);
    assert_int_equal(t.n, 0);
    /* cut: a long value, and a name that fills the token alone */
    memset(big, 'x', sizeof(big));
    n = tokenize_field("k", 1, big, sizeof(big), tok);
    assert_int_equal(n, TOKENIZE_MAX_LEN);
    assert_memory_equal(tok, "k:xxx", 5);
    n = tokenize_field(big, sizeof(big), "v", 1, tok);
    assert_int_equal(n, TOKENIZE_MAX_LEN);
    assert_null(memchr(tok, ':', n));
    /* stop */
    memset(&t, 0, sizeof(t));
    t.stop_at = 1;
    assert_int_equal(tokenize_fields(j, strlen(j), collect_cb, &t), 7);
    assert_int_equal(t.n, 1);
}

struct ex_toks {
    uint32_t hash[16], check[16];
    unsigned forms[16];
    size_t   n;
};

static int
ex_cb(uint32_t hash, uint32_t check, unsigned forms, void *arg)
{
    struct ex_toks *t = arg;

    if (t->n < 16) {
        t->hash[t->n] = hash;
        t->check[t->n] = check;
        t->forms[t->n++] = forms;
    }
    return 0;
}

/* tokenize_foreach_ex: the same hashes as tokenize_hash, the check, and
 * the spellings each run is written in (the .lqi's count words). */
static void
test_tokenize_forms(void **state)
{
    const char *text = "error Error ERROR eRRor 404 CAF\xc3\x89 caf\xc3\xa9 "
                       "Caf\xc3\xa9 \xc8\xba";
    const char *tok[] = { "error", "error", "error", "error", "404",
                          "caf\xc3\xa9", "caf\xc3\xa9", "caf\xc3\xa9",
                          "\xe2\xb1\xa5" };
    const unsigned want[] = {
        TOKENIZE_FORM_LOWER, TOKENIZE_FORM_CAPITAL, TOKENIZE_FORM_UPPER, 0,
        TOKENIZE_FORMS, 0, TOKENIZE_FORM_LOWER, TOKENIZE_FORM_CAPITAL, 0,
    };
    struct ex_toks t = { .n = 0 };

    (void)state;
    assert_int_equal(tokenize_foreach_ex(text, strlen(text), ex_cb, &t), 0);
    assert_int_equal(t.n, 9);
    for (size_t i = 0; i < t.n; i++) {
        const uint8_t *k = (const uint8_t *)tok[i];
        assert_int_equal(t.hash[i], tokenize_hash(k, strlen(tok[i])));
        assert_int_equal(t.check[i], tokenize_check(k, strlen(tok[i])));
        assert_int_equal(t.forms[i], want[i]);
    }
    /* the query side's test of a term against its token agrees */
    assert_int_equal(tokenize_forms((const uint8_t *)"error",
                                    (const uint8_t *)"Error", 5),
                     TOKENIZE_FORM_CAPITAL);
    assert_int_equal(tokenize_forms((const uint8_t *)"404",
                                    (const uint8_t *)"404", 3),
                     TOKENIZE_FORMS);
    assert_int_equal(tokenize_forms((const uint8_t *)"error",
                                    (const uint8_t *)"eRRor", 5), 0);
    assert_int_not_equal(tokenize_check((const uint8_t *)"a", 1),
                         tokenize_check((const uint8_t *)"b", 1));
}

static void
test_tokenize_hash_stable(void **state)
{
    (void)state;
    /* Part of the on-disk format: a change here needs a new .lqi version. */
    assert_int_equal(tokenize_hash((const uint8_t *)"error", 5), 0x2c196eccu);
    assert_int_not_equal(tokenize_hash((const uint8_t *)"a", 1), 0);
    assert_int_not_equal(tokenize_hash((const uint8_t *)"a", 1),
                         tokenize_hash((const uint8_t *)"b", 1));
}

/* tokenize_has_high sees one byte >= 0x80 at every place of texts of
 * every length up to 100 (its 32- and 8-byte steps and the bytes after
 * them), and none in ASCII. */
static void
test_tokenize_has_high(void **state)
{
    uint8_t t[100];

    (void)state;
    for (size_t len = 0; len <= sizeof(t); len++) {
        for (size_t i = 0; i < len; i++)
            t[i] = (uint8_t)(i * 37 % 128);     /* ASCII, NUL and 0x7f too */
        assert_int_equal(tokenize_has_high(t, len), 0);
        for (size_t at = 0; at < len; at++) {
            uint8_t keep = t[at];
            t[at] = (uint8_t)(0x80 | (at * 13 % 128));
            assert_int_equal(tokenize_has_high(t, len), 1);
            t[at] = keep;
        }
    }
}

struct subs {
    uint32_t hash[64], check[64];
    size_t   n;
};

static int
subs_cb(uint32_t hash, uint32_t check, unsigned forms, void *arg)
{
    struct subs *s = arg;

    assert_int_equal(forms, 0);
    assert_true(s->n < 64);
    s->hash[s->n] = hash;
    s->check[s->n++] = check;
    return 0;
}

/* The model: "\001" and each maximal ASCII word run, lower case, inside
 * each run of word bytes (ASCII letters, digits, '_', bytes >= 0x80)
 * that holds a byte >= 0x80, cut to 64 bytes in all. */
static void
subs_model(const uint8_t *t, size_t len, struct subs *want)
{
    want->n = 0;
    for (size_t i = 0; i < len;) {
        if (!(isalnum(t[i]) || t[i] == '_' || t[i] >= 0x80)) {
            i++;
            continue;
        }
        size_t end = i;
        int high = 0;
        while (end < len && (isalnum(t[end]) || t[end] == '_' ||
                             t[end] >= 0x80))
            high |= t[end++] >= 0x80;
        while (high && i < end) {
            if (t[i] >= 0x80) {
                i++;
                continue;
            }
            uint8_t tok[64];
            size_t n = 0;
            tok[n++] = 1;
            for (; i < end && t[i] < 0x80; i++)
                if (n < 64)
                    tok[n++] = (uint8_t)tolower(t[i]);
            want->hash[want->n] = tokenize_hash(tok, n);
            want->check[want->n++] = tokenize_check(tok, n);
        }
        i = end;
    }
}

static void
subs_check(const uint8_t *t, size_t len)
{
    struct subs got = { .n = 0 }, want;

    assert_int_equal(tokenize_subwords_ex(t, len, subs_cb, &got), 0);
    subs_model(t, len, &want);
    assert_int_equal(got.n, want.n);
    assert_memory_equal(got.hash, want.hash, got.n * sizeof(got.hash[0]));
    assert_memory_equal(got.check, want.check, got.n * sizeof(got.hash[0]));
}

/* Sub-words: the examples of tokenize.h, then random texts against the
 * model; tokenize_subword gives the query side the same tokens. */
static void
test_tokenize_subwords(void **state)
{
    static const char *const ex[] = {
        "caf\xc3\xa9" "db01 x", "db01", "\xc3\x89" "DB01\xc3\xa9 z_9\xc3\xa9",
        "\xc3\xa9", "a\xc3\xa9-b\xc3\xa9", "", "x \xff\xfe y",
    };
    static const size_t n_ex[] = { 2, 0, 2, 0, 2, 0, 0 };
    uint8_t tok[TOKENIZE_MAX_LEN], t[200];
    struct subs got;

    (void)state;
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        got.n = 0;
        tokenize_subwords_ex(ex[i], strlen(ex[i]), subs_cb, &got);
        assert_int_equal(got.n, n_ex[i]);
        subs_check((const uint8_t *)ex[i], strlen(ex[i]));
    }
    got.n = 0;
    tokenize_subwords_ex("caf\xc3\xa9" "DB01 x", 11, subs_cb, &got);
    size_t n = tokenize_subword("db01", 4, tok);
    assert_int_equal(n, 5);
    assert_int_equal(got.hash[1], tokenize_hash(tok, n));
    assert_int_equal(got.check[1], tokenize_check(tok, n));
    /* a run longer than a token: cut to 64 bytes with the first */
    memset(t, 'a', 100);
    t[100] = 0xc3;
    t[101] = 0xa9;
    subs_check(t, 102);
    assert_int_equal(tokenize_subword(t, 100, tok), TOKENIZE_MAX_LEN);
    uint64_t x = 88172645463325252ull;
    static const uint8_t alpha[] = "aZ9_ .:=\xc3\xa9\x80\xff";
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = iter % 199;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t[i] = alpha[x % (sizeof(alpha) - 1)];
        }
        subs_check(t, len);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenize_split_and_fold),
        cmocka_unit_test(test_tokenize_fields),
        cmocka_unit_test(test_tokenize_empty_and_separators),
        cmocka_unit_test(test_tokenize_utf8),
        cmocka_unit_test(test_tokenize_underscore),
        cmocka_unit_test(test_tokenize_refold_stable),
        cmocka_unit_test(test_tokenize_cap),
        cmocka_unit_test(test_tokenize_stop),
        cmocka_unit_test(test_tokenize_hash_stable),
        cmocka_unit_test(test_tokenize_forms),
        cmocka_unit_test(test_tokenize_has_high),
        cmocka_unit_test(test_tokenize_subwords),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
