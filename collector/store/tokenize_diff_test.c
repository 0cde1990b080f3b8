/* SPDX-License-Identifier: MIT */
/*
 * tokenize_diff_test: tokenize_foreach_ex (its ASCII fast path) against a
 * model written from the rules (tokenize.h: word bytes, common/casefold
 * unit by unit, the cut at TOKENIZE_MAX_LEN folded bytes, the spellings
 * as "the run equals the fold with these bytes in upper case"), against
 * tokenize_foreach_ex_ref (the byte-at-a-time loop) and against
 * tokenize_foreach (the query side's): the same tokens, hashes, checks
 * and forms, in order. Inputs: every line of the real samples
 * (LOGQ_CORPUS, default ../shared/corpus; "none" skips that part), any
 * file in LOGQ_TOKDIFF_TEXT (by hand, e.g. logq-loggen output), and
 * generated edge cases: runs of every length around the cap, folds that
 * change length (U+023A: 2 bytes to 3) across the cut, invalid UTF-8,
 * every separator byte, early stops. tokenize_foreach_ex_memo against
 * the reference over the corpus's lines in order and over texts each
 * cut from the one before.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/store/tokenize.h"
#include "common/casefold.h"
#include "common/xmalloc.h"
#include "tests/support/corpusdir.h"

struct tok3 {
    uint32_t hash, check;
    unsigned forms;
};

struct toklist {
    struct tok3 *v;
    size_t       n, cap;
    size_t       stop_at;               /* 0: never */
};

static void
toklist_push(struct toklist *l, uint32_t hash, uint32_t check,
             unsigned forms)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    l->v[l->n].hash = hash;
    l->v[l->n].check = check;
    l->v[l->n++].forms = forms;
}

static int
ex_cb(uint32_t hash, uint32_t check, unsigned forms, void *arg)
{
    struct toklist *l = arg;

    toklist_push(l, hash, check, forms);
    return l->stop_at && l->n == l->stop_at ? 9 : 0;
}

static int
plain_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct toklist *l = arg;

    assert_true(len >= 1 && len <= TOKENIZE_MAX_LEN);
    assert_int_equal(hash, tokenize_hash(tok, len));
    toklist_push(l, hash, tokenize_check(tok, len), 0);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The model                                                           */

static int
model_is_word(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

/* f (the run's full fold) with ASCII small letters in upper case: all of
 * them, or only the first byte (is_first_only). */
static void
model_upper(uint8_t *f, size_t n, int is_first_only)
{
    for (size_t i = 0; i < n && (i == 0 || !is_first_only); i++)
        if (f[i] >= 'a' && f[i] <= 'z')
            f[i] = (uint8_t)(f[i] - 32);
}

static void
model_run(struct toklist *l, const uint8_t *run, size_t len)
{
    size_t cap = 4 * len + 4;
    uint8_t *f = xmalloc(cap), *g = xmalloc(cap);
    size_t n = casefold_str(run, len, f, cap);
    unsigned forms = 0;

    assert_true(n <= cap);
    if (n == len && memcmp(f, run, len) == 0)
        forms |= TOKENIZE_FORM_LOWER;
    memcpy(g, f, n);
    model_upper(g, n, 0);
    if (n == len && memcmp(g, run, len) == 0)
        forms |= TOKENIZE_FORM_UPPER;
    memcpy(g, f, n);
    model_upper(g, n, 1);
    if (n == len && memcmp(g, run, len) == 0)
        forms |= TOKENIZE_FORM_CAPITAL;
    size_t t = n < TOKENIZE_MAX_LEN ? n : TOKENIZE_MAX_LEN;
    toklist_push(l, tokenize_hash(f, t), tokenize_check(f, t), forms);
    free(f);
    free(g);
}

static void
model_tokens(struct toklist *l, const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        if (!model_is_word(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && model_is_word(s[j]))
            j++;
        model_run(l, s + i, j - i);
        i = j;
    }
}

/* ------------------------------------------------------------------ */
/* Comparing                                                           */

static size_t n_texts, n_tokens, n_subs;

static void
check_list(const struct toklist *want, const struct toklist *got,
           int has_forms, const uint8_t *s, size_t len)
{
    if (got->n != want->n)
        fail_msg("%zu tokens, want %zu, in \"%.*s\"", got->n, want->n,
                 (int)len, (const char *)s);
    for (size_t i = 0; i < want->n; i++) {
        const struct tok3 *a = &want->v[i], *b = &got->v[i];
        if (a->hash != b->hash || a->check != b->check ||
            (has_forms && a->forms != b->forms))
            fail_msg("token %zu: %08x/%08x/%u, want %08x/%08x/%u, in "
                     "\"%.*s\"", i, b->hash, b->check, b->forms, a->hash,
                     a->check, a->forms, (int)len, (const char *)s);
    }
}

/* s is copied into a buffer of exactly len bytes, so ASan catches a read
 * past the text. */
static void
check_text(const void *text, size_t len)
{
    uint8_t *s = xmalloc(len ? len : 1);
    struct toklist want = { 0 }, fast = { 0 }, ref = { 0 }, plain = { 0 };

    memcpy(s, text, len);
    model_tokens(&want, s, len);
    assert_int_equal(tokenize_foreach_ex(s, len, ex_cb, &fast), 0);
    assert_int_equal(tokenize_foreach_ex_ref(s, len, ex_cb, &ref), 0);
    assert_int_equal(tokenize_foreach(s, len, 0, plain_cb, &plain), 0);
    check_list(&want, &fast, 1, s, len);
    check_list(&want, &ref, 1, s, len);
    check_list(&want, &plain, 0, s, len);
    /* an early stop at each token gives that many, and fn's result */
    for (size_t k = 1; k <= want.n && k <= 3; k++) {
        struct toklist st = { .stop_at = k };
        assert_int_equal(tokenize_foreach_ex(s, len, ex_cb, &st), 9);
        assert_int_equal(st.n, k);
        free(st.v);
    }
    n_texts++;
    n_tokens += want.n;
    free(want.v);
    free(fast.v);
    free(ref.v);
    free(plain.v);
    free(s);
}

/* Every line of the file at path (without its newline; a CR stays). */
static void
check_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    if (!f)
        fail_msg("%s: cannot open", path);
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        check_text(line, (size_t)len);
    }
    free(line);
    fclose(f);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void
test_tokdiff_corpus(void **state)
{
    const char *dir = corpus_dir();
    size_t n_files = 0;

    (void)state;
    if (strcmp(dir, "none") == 0) {
        print_message("[ SKIPPED  ] LOGQ_CORPUS=none: corpus part skipped\n");
        skip();
    }
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s: no corpus (LOGQ_CORPUS=none skips it)", dir);
    struct dirent *de;
    n_texts = n_tokens = 0;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".log") != 0)
            continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        check_file(path);
        free(path);
        n_files++;
    }
    closedir(d);
    assert_true(n_files > 0);
    assert_true(n_tokens > 10 * n_texts);
    print_message("corpus: %zu files, %zu lines, %zu tokens\n", n_files,
                  n_texts, n_tokens);
}

static void
test_tokdiff_text_file(void **state)
{
    const char *path = getenv("LOGQ_TOKDIFF_TEXT");

    (void)state;
    if (path == NULL || !*path) {
        print_message("[ SKIPPED  ] LOGQ_TOKDIFF_TEXT not set\n");
        skip();
    }
    n_texts = n_tokens = 0;
    check_file(path);
    print_message("%s: %zu lines, %zu tokens\n", path, n_texts, n_tokens);
}

/* A run of len bytes after off spaces, spelled by form (0 small, 1
 * capitals, 2 capital first, 3 mixed, digits every 11th byte), with unit
 * (if any) moved in at the cut or the middle, then a separator and "Z";
 * checked with and without that tail. */
static void
lengths_case(size_t off, size_t len, int form, const char *unit)
{
    uint8_t s[400];
    size_t n = off, ul = strlen(unit);

    memset(s, ' ', off);
    for (size_t i = 0; i < len; i++) {
        char c = (char)('a' + (i * 7 + len) % 26);
        if (form == 1 || (form == 2 && i == 0) || (form == 3 && i % 3 == 1))
            c = (char)(c - 32);
        s[n++] = (uint8_t)(i % 11 == 10 ? (char)('0' + i % 10) : c);
    }
    if (ul) {
        size_t at = off + (len > 62 ? 62 : len / 2);
        memmove(s + at + ul, s + at, n - at);
        memcpy(s + at, unit, ul);
        n += ul;
    }
    s[n++] = form & 1 ? '-' : ' ';
    s[n++] = 'Z';
    check_text(s, n);
    check_text(s, n - 2);
}

/* Runs of every length up to past the cap, at several offsets, in each
 * of the spellings and with a multi-byte unit (one that folds to the
 * same length, one to a longer one, an invalid byte) at the cut and
 * around it. */
static void
test_tokdiff_lengths(void **state)
{
    static const char *units[] = { "", "\xc3\x89", "\xc3\xa9", "\xc8\xba",
                                   "\xff", "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
                                   "\xce\xa3", "\xc3" };
    const size_t n_units = sizeof(units) / sizeof(*units);

    (void)state;
    for (size_t off = 0; off < 80; off += 19)
        for (size_t len = 1; len <= 140; len++)
            for (size_t k = 0; k < 4 * n_units; k++)
                lengths_case(off, len, (int)(k % 4), units[k / 4]);
}

/* ------------------------------------------------------------------ */
/* tokenize_foreach_ex_memo                                            */

/* qsort order of tokens: hash, check, forms. */
static int
tok3_cmp(const void *pa, const void *pb)
{
    const struct tok3 *a = pa, *b = pb;

    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    if (a->check != b->check)
        return a->check < b->check ? -1 : 1;
    return (int)a->forms - (int)b->forms;
}

/* s cut with msub (with_subwords, kept across texts like memo): the
 * tokens of tokenize_foreach_ex_ref and of tokenize_subwords_ex, as a
 * multiset (a token's sub-words come right after it, which the index
 * does not need); an early stop (on a copy of msub), also at a sub-word,
 * gives that many, and the copy then cuts the text whole again. */
static void
check_memo_subwords(struct tokenize_memo *msub, const uint8_t *s, size_t len)
{
    struct toklist want = { 0 }, got = { 0 };

    assert_int_equal(tokenize_foreach_ex_ref(s, len, ex_cb, &want), 0);
    size_t n_words = want.n;
    assert_int_equal(tokenize_subwords_ex(s, len, ex_cb, &want), 0);
    n_subs += want.n - n_words;
    if (want.n > 0)
        qsort(want.v, want.n, sizeof(*want.v), tok3_cmp);
    for (size_t k = 1; k <= want.n && n_words < want.n; k += 2) {
        struct tokenize_memo cp = *msub;
        struct toklist st = { .stop_at = k }, again = { 0 };
        assert_int_equal(tokenize_foreach_ex_memo(&cp, s, len, ex_cb, &st),
                         9);
        assert_int_equal(st.n, k);
        assert_int_equal(tokenize_foreach_ex_memo(&cp, s, len, ex_cb,
                                                  &again), 0);
        qsort(again.v, again.n, sizeof(*again.v), tok3_cmp);
        check_list(&want, &again, 1, s, len);
        free(st.v);
        free(again.v);
    }
    assert_int_equal(tokenize_foreach_ex_memo(msub, s, len, ex_cb, &got), 0);
    if (got.n > 0)
        qsort(got.v, got.n, sizeof(*got.v), tok3_cmp);
    check_list(&want, &got, 1, s, len);
    free(want.v);
    free(got.v);
}

/* s (kept readable by the caller until the next call with memo) cut
 * with memo: the tokens of tokenize_foreach_ex_ref; an early stop at a
 * token (on a copy of memo) gives that many, and the copy then cuts
 * the text whole again. */
static void
check_memo_text(struct tokenize_memo *memo, const uint8_t *s, size_t len)
{
    struct toklist want = { 0 }, got = { 0 };

    assert_int_equal(tokenize_foreach_ex_ref(s, len, ex_cb, &want), 0);
    for (size_t k = 1; k <= want.n && k <= TOKENIZE_MEMO_TOKENS + 1;
         k += 3) {
        struct tokenize_memo cp = *memo;
        struct toklist st = { .stop_at = k }, again = { 0 };
        assert_int_equal(tokenize_foreach_ex_memo(&cp, s, len, ex_cb, &st),
                         9);
        assert_int_equal(st.n, k);
        assert_int_equal(tokenize_foreach_ex_memo(&cp, s, len, ex_cb,
                                                  &again), 0);
        check_list(&want, &again, 1, s, len);
        free(st.v);
        free(again.v);
    }
    assert_int_equal(tokenize_foreach_ex_memo(memo, s, len, ex_cb, &got), 0);
    check_list(&want, &got, 1, s, len);
    n_texts++;
    n_tokens += want.n;
    free(want.v);
    free(got.v);
}

/* Every line of every corpus file in order (a file's lines are one
 * source's: their common starts are what the memo is for), each in a
 * buffer of its own length (ASan: no read past it) kept until the next
 * line is cut. */
static void
test_tokdiff_memo_corpus(void **state)
{
    const char *dir = corpus_dir();

    (void)state;
    if (strcmp(dir, "none") == 0) {
        print_message("[ SKIPPED  ] LOGQ_CORPUS=none: corpus part skipped\n");
        skip();
    }
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s: no corpus (LOGQ_CORPUS=none skips it)", dir);
    struct dirent *de;
    n_texts = n_tokens = 0;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".log") != 0)
            continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        char *line = NULL;
        uint8_t *prev = NULL;
        size_t cap = 0;
        ssize_t len;
        struct tokenize_memo memo = { 0 }, msub = { .with_subwords = 1 };
        if (!f)
            fail_msg("%s: cannot open", path);
        while ((len = getline(&line, &cap, f)) >= 0) {
            if (len > 0 && line[len - 1] == '\n')
                len--;
            uint8_t *s = xmalloc(len ? (size_t)len : 1);
            memcpy(s, line, (size_t)len);
            check_memo_text(&memo, s, (size_t)len);
            check_memo_subwords(&msub, s, (size_t)len);
            free(prev);
            prev = s;
        }
        free(prev);
        free(line);
        fclose(f);
        free(path);
    }
    closedir(d);
    assert_true(n_tokens > 10 * n_texts);
    print_message("memo, corpus: %zu lines, %zu tokens\n", n_texts,
                  n_tokens);
}

/* Texts each made of a cut of the one before (at any byte: inside a
 * run, at its end, inside a UTF-8 unit, past the kept runs) and new
 * pieces, so runs end, go on or change just at the common start. */
static void
test_tokdiff_memo_random(void **state)
{
    static const char *pieces[] = {
        " ", "-", ":", "[", "]", ".", "=", "\t", "x", "Q", "404", "_",
        "error", "Error", "ERROR", "2026", "11", "27T13", "pam_unix",
        "\xc3\x89", "\xc3\xa9", "\xc8\xba", "\xff", "\xe6\x97\xa5",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",     /* past the cap */
    };
    const size_t n_pieces = sizeof(pieces) / sizeof(*pieces);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    uint8_t *prev = NULL;
    size_t prev_len = 0;
    struct tokenize_memo memo = { 0 }, msub = { .with_subwords = 1 };

    (void)state;
    n_texts = n_tokens = n_subs = 0;
    for (int iter = 0; iter < 30000; iter++) {
        uint8_t *s = xmalloc(400);
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = prev_len ? (size_t)(rng >> 33) % (prev_len + 1) : 0;
        if (n)
            memcpy(s, prev, n);
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t want = n + (size_t)(rng >> 33) % 120;
        while (n < want) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            const char *p = pieces[(rng >> 33) % n_pieces];
            size_t pl = strlen(p);
            if (n + pl > 300)
                break;
            memcpy(s + n, p, pl);
            n += pl;
        }
        if (iter % 1000 == 999) {       /* a new block: memo zeroed */
            memset(&memo, 0, sizeof(memo));
            memset(&msub, 0, sizeof(msub));
            msub.with_subwords = 1;
        }
        check_memo_text(&memo, s, n);
        check_memo_subwords(&msub, s, n);
        free(prev);
        prev = s;
        prev_len = n;
    }
    free(prev);
    assert_true(n_tokens > n_texts);
    /* with sub-words too, also where a replayed token has them */
    print_message("memo, random: %zu texts, %zu sub-words\n", n_texts,
                  n_subs);
    assert_true(n_subs > n_texts);
}

/* Every byte value between two words, and as a one-byte text. */
static void
test_tokdiff_bytes(void **state)
{
    uint8_t s[8];

    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        memcpy(s, "Ab", 2);
        s[2] = (uint8_t)b;
        memcpy(s + 3, "cD", 2);
        check_text(s, 5);
        check_text(s + 2, 1);
        check_text(s + 2, 3);
    }
}

/* Random texts from pieces: separators, words in every spelling, UTF-8
 * letters that fold (to the same length and to a longer one), CJK,
 * 4-byte units, invalid and cut sequences, long runs. */
static void
test_tokdiff_random(void **state)
{
    static const char *pieces[] = {
        " ", "  ", "-", ".", ":", "=", "\"", "/", "\t", "\r", "\n", "[", "]",
        "{", "}", ",", "\x01", "\x7f", "error", "Error", "ERROR", "eRRor",
        "404", "_", "pam_unix", "GET", "x", "Q", "0x1F", "\xc3\x89",
        "\xc3\xa9", "CAF\xc3\x89", "\xc8\xba", "\xc8\xba\xc8\xba",
        "\xce\xa3", "\xcf\x82", "\xd0\x9f", "\xe6\x97\xa5\xe6\x9c\xac",
        "\xf0\x9f\x98\x80", "\xe2\x84\xaa", "\xc5\xbf", "\xc4\xb0", "\xc3\x9f",
        "\xff", "\x80", "\xc3", "\xe2\x82", "\xf0\x9f", "\xed\xa0\x80",
        "\xc0\xaf", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    };
    const size_t n_pieces = sizeof(pieces) / sizeof(*pieces);
    uint64_t rng = 0x2545f4914f6cdd1dull;
    uint8_t s[600];

    (void)state;
    n_texts = n_tokens = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0;
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t want = (size_t)(rng >> 33) % 300;
        while (n < want) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            const char *p = pieces[(rng >> 33) % n_pieces];
            size_t pl = strlen(p);
            if (n + pl > sizeof(s))
                break;
            memcpy(s + n, p, pl);
            n += pl;
        }
        check_text(s, n);
    }
    assert_true(n_tokens > n_texts);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokdiff_bytes),
        cmocka_unit_test(test_tokdiff_lengths),
        cmocka_unit_test(test_tokdiff_random),
        cmocka_unit_test(test_tokdiff_corpus),
        cmocka_unit_test(test_tokdiff_memo_corpus),
        cmocka_unit_test(test_tokdiff_memo_random),
        cmocka_unit_test(test_tokdiff_text_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
