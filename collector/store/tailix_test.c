/* SPDX-License-Identifier: MIT */
/*
 * tailix_test: the unsealed tail's token index (tailix.c, collector/STORE.md
 * "The unsealed tail's index"). Records with a word of their own (`u<n>x`,
 * some in non-ASCII capitals: `ÉTÉ<n>`), some larger than a piece, times
 * out of order and a few sources, are appended with commits at random
 * points; for every record's word a cursor (with and without the token
 * prefilter) must return exactly the committed records whose message holds
 * that token (tokenized as the index does) with every field as stored (a
 * piece decoded from the middle of the tail starts its deltas from the
 * record before it), and nothing appended but not committed. A rare word
 * must copy a small part of the tail (store_stats.n_cursor_tail_bytes),
 * a query without words all of it. Also: commits that end while records
 * were appended meanwhile (the tail's uncommitted rest carried past a
 * seal), a tail past TAILIX_MAX_PIECES pieces, and two words (a piece
 * must hold both).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "collector/store/store_internal.h"
#include "collector/store/tokenize.h"
#include "common/xmalloc.h"
#include "tests/support/storetest.h"
#include "tests/support/testdir.h"

#define T0 1700000000000000000LL

static const char *const hosts[] = { "h1", "h2", "h3" };

struct trec {
    int64_t  time_ns, recv_ns;
    uint64_t offset;
    int      src;
    char    *msg;
    char     word[32];          /* its own word, folded */
    size_t   head_len;          /* its words; then only lorem ipsum */
    int      is_committed;
};

struct tset {
    struct trec *r;
    size_t       n, cap;
    uint64_t     off[3];
    uint64_t     rng;
};

static uint64_t
rnd(struct tset *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return t->rng;
}

/* Appends one record with its own word (and padding past a piece now
 * and then). */
static void
put(struct store *s, struct tset *t)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->r = xreallocarray(t->r, t->cap, sizeof(*t->r));
    }
    struct trec *r = &t->r[t->n];
    size_t i = t->n++, pad = rnd(t) % 40 == 0 ? 17000 + rnd(t) % 20000 : 0;
    int is_utf8 = rnd(t) % 5 == 0;
    char head[96];

    memset(r, 0, sizeof(*r));
    r->src = (int)(rnd(t) % 3);
    r->offset = t->off[r->src] += 1 + rnd(t) % 100;
    r->time_ns = T0 + (int64_t)(i * 1000) - (int64_t)(rnd(t) % 5000);
    r->recv_ns = T0 + (int64_t)(i / 7) * 1000000;
    if (is_utf8) {
        snprintf(head, sizeof(head), "GET /api \xc3\x89T\xc3\x89%zu done ", i);
        snprintf(r->word, sizeof(r->word), "\xc3\xa9t\xc3\xa9%zu", i);
    } else {
        snprintf(head, sizeof(head), "alpha beta=u%zux gamma ", i);
        snprintf(r->word, sizeof(r->word), "u%zux", i);
    }
    size_t hl = strlen(head);
    r->head_len = hl;
    r->msg = xmalloc(hl + pad + 1);
    memcpy(r->msg, head, hl);
    for (size_t k = 0; k < pad; k++)
        r->msg[hl + k] = "lorem ipsum "[k % 12];
    r->msg[hl + pad] = '\0';
    struct logrec lr = {
        .time_ns = r->time_ns, .host = hosts[r->src], .container_id = "c",
        .container = "web", .image = "img", .stream = (uint8_t)(i & 1),
        .offset = r->offset, .msg = r->msg, .msg_len = hl + pad,
        .recv_ns = r->recv_ns,
    };
    assert_int_equal(store_append(s, &lr), 1);
}

static void
commit_all(struct store *s, struct tset *t)
{
    assert_int_equal(store_commit(s), 0);
    for (size_t i = 0; i < t->n; i++)
        t->r[i].is_committed = 1;
}

static void
tset_free(struct tset *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->r[i].msg);
    free(t->r);
}

struct tok_find {
    const char *word;
    int         is_found;
};

static int
tok_find_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct tok_find *f = arg;

    (void)hash;
    if (len == strlen(f->word) && memcmp(tok, f->word, len) == 0)
        f->is_found = 1;
    return f->is_found;
}

/* The model: msg holds every word of words as a token. */
static int
holds(const char *msg, size_t len, const char *const *words, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct tok_find f = { words[k], 0 };
        (void)tokenize_foreach(msg, len, 0, tok_find_cb, &f);
        if (!f.is_found)
            return 0;
    }
    return 1;
}

/* A cursor for words (with or without the prefilter) returns exactly the
 * committed records holding them all, with their fields; returns the tail
 * bytes it copied. */
static uint64_t
check_words(struct store *s, struct tset *t, const char *const *words,
            size_t n_words, int is_req)
{
    struct store_filter f = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
        .tokens = words, .n_tokens = n_words, .is_tokens_required = is_req,
    };
    struct store_stats st0, st1;
    size_t n_want = 0, n_got = 0;
    struct logrec lr;
    int rc;

    for (size_t i = 0; i < t->n; i++)
        n_want += t->r[i].is_committed &&
                  holds(t->r[i].msg, t->r[i].head_len, words, n_words);
    store_get_stats(s, &st0);
    struct store_cursor *c = store_cursor_new(s, &f, 1);
    assert_non_null(c);
    while ((rc = store_cursor_next(c, &lr)) == 1) {
        if (!holds(lr.msg, lr.msg_len < 96 ? lr.msg_len : 96, words,
                   n_words))
            continue;       /* the head: the rest is lorem ipsum */
        size_t i = 0;
        while (i < t->n && !(strcmp(hosts[t->r[i].src], lr.host) == 0 &&
                             t->r[i].offset == lr.offset))
            i++;
        if (i == t->n)
            fail_msg("%s: a record not stored: %s", words[0], lr.host);
        const struct trec *r = &t->r[i];
        if (!r->is_committed)
            fail_msg("%s: record %zu returned before its commit", words[0],
                     i);
        assert_int_equal(lr.time_ns, r->time_ns);
        assert_int_equal(lr.recv_ns, r->recv_ns);
        assert_int_equal(lr.msg_len, strlen(r->msg));
        assert_memory_equal(lr.msg, r->msg, lr.msg_len);
        n_got++;
    }
    assert_int_equal(rc, 0);
    store_cursor_free(c);
    store_get_stats(s, &st1);
    if (n_got != n_want)
        fail_msg("%s%s: %zu records returned, %zu hold it", words[0],
                 n_words > 1 ? " ..." : "", n_got, n_want);
    return st1.n_cursor_tail_bytes - st0.n_cursor_tail_bytes;
}

static uint64_t
check_one(struct store *s, struct tset *t, size_t i, int is_req)
{
    const char *w[1] = { t->r[i].word };

    return check_words(s, t, w, 1, is_req);
}

static void
remove_dir(char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(dir);
}

static struct store *
open_store(const char *dir, size_t block_size, size_t piece_size)
{
    struct store_options o = { .block_size = block_size,
                               .tail_piece_size = piece_size };

    return storetest_open(dir, &o);
}

/* Every record in the tail (one 8 MiB block), commits at random points:
 * each record's word finds exactly it, copying a small part of the tail;
 * records appended after the last commit are not seen. */
static void
test_rare_word_in_tail(void **state)
{
    (void)state;
    char *dir = testdir_make("tailix_test");
    struct store *s = open_store(dir, 8u << 20, 0);
    struct tset t = { .rng = 0x9e3779b97f4a7c15ull };

    for (int round = 0; round < 6; round++) {
        size_t n = 50 + rnd(&t) % 400;
        for (size_t k = 0; k < n; k++)
            put(s, &t);
        commit_all(s, &t);
        for (size_t k = 0; k < 40; k++)
            (void)check_one(s, &t, rnd(&t) % t.n, (int)(k & 1));
    }
    for (size_t k = 0; k < 30; k++)         /* not committed */
        put(s, &t);
    uint64_t all = 0;
    for (size_t i = 0; i < t.n; i++) {
        uint64_t b = check_one(s, &t, i, (int)(i & 1));
        if (getenv("TAILIX_DEBUG"))
            printf("%s %llu\n", t.r[i].word, (unsigned long long)b);
        all = b > all ? b : all;
    }
    /* without words: the whole committed tail, in one piece */
    uint64_t whole = check_words(s, &t, NULL, 0, 0);
    assert_true(whole > 1000000);
    if (all * 4 > whole)
        fail_msg("a rare word copied %llu of the tail's %llu bytes",
                 (unsigned long long)all, (unsigned long long)whole);
    store_close(s);
    tset_free(&t);
    remove_dir(dir);
}

/* Two words: only pieces holding both are read, and a record with one of
 * them is not a match. */
static void
test_two_words(void **state)
{
    (void)state;
    char *dir = testdir_make("tailix_test");
    struct store *s = open_store(dir, 8u << 20, 0);
    struct tset t = { .rng = 42 };

    for (size_t k = 0; k < 600; k++)
        put(s, &t);
    commit_all(s, &t);
    for (size_t k = 0; k < 50; k++) {
        size_t i = rnd(&t) % t.n, j = rnd(&t) % t.n;
        const char *w[2] = { t.r[i].word, t.r[j].word };
        (void)check_words(s, &t, w, 2, (int)(k & 1));
        const char *w2[2] = { t.r[i].word, "alpha" };
        (void)check_words(s, &t, w2, 2, 1);
    }
    store_close(s);
    tset_free(&t);
    remove_dir(dir);
}

/* Small blocks: commits that end while more records were appended (the
 * tail's uncommitted rest is carried past the seal and indexed again),
 * seals in between; every record found, sealed or not. */
static void
test_carry_past_seal(void **state)
{
    (void)state;
    char *dir = testdir_make("tailix_test");
    struct store *s = open_store(dir, 48u << 10, 1024);
    struct tset t = { .rng = 7 };

    for (int round = 0; round < 40; round++) {
        size_t n = 5 + rnd(&t) % 60;
        for (size_t k = 0; k < n; k++)
            put(s, &t);
        int rc = store_commit_begin(s);
        assert_true(rc >= 0);
        size_t n1 = t.n;        /* what this commit holds */
        for (size_t k = rnd(&t) % 30; k > 0; k--)
            put(s, &t);         /* during the sync: the next commit's */
        if (rc == 1)
            assert_int_equal(store_commit_wait(s), 1);
        for (size_t i = 0; i < n1; i++)
            t.r[i].is_committed = 1;
        for (size_t k = 0; k < 10; k++)
            (void)check_one(s, &t, rnd(&t) % t.n, (int)(k & 1));
    }
    commit_all(s, &t);
    assert_int_equal(store_sync(s), 0);
    for (size_t i = 0; i < t.n; i++)
        (void)check_one(s, &t, i, 1);
    store_close(s);
    s = open_store(dir, 48u << 10, 1024);     /* the WAL's records again */
    for (size_t i = 0; i < t.n; i += 3)
        (void)check_one(s, &t, i, 0);
    store_close(s);
    tset_free(&t);
    remove_dir(dir);
}

/* More pieces than TAILIX_MAX_PIECES: the last one takes the rest (and
 * may hold any word once its filter is half set); nothing is missed. */
static void
test_piece_cap(void **state)
{
    (void)state;
    char *dir = testdir_make("tailix_test");
    struct store *s = open_store(dir, 32u << 20, 0);
    struct logrec lr;
    char msg[20000];

    /* 16 KiB records of distinct words: one piece each */
    for (size_t i = 0; i < TAILIX_MAX_PIECES + 40; i++) {
        size_t len = 0;
        for (size_t w = 0; len + 16 < sizeof(msg); w++)
            len += (size_t)snprintf(msg + len, sizeof(msg) - len, "w%zuz%zu ",
                                    i, w);
        lr = (struct logrec){
            .time_ns = T0 + (int64_t)i, .host = "h1", .container_id = "c",
            .container = "web", .image = "img", .offset = i + 1, .msg = msg,
            .msg_len = len,
        };
        assert_int_equal(store_append(s, &lr), 1);
    }
    store_close(s);
    s = open_store(dir, 32u << 20, 0);     /* replayed into the tail */
    for (size_t i = TAILIX_MAX_PIECES - 5; i < TAILIX_MAX_PIECES + 40; i++) {
        char w[32];
        snprintf(w, sizeof(w), "w%zuz%zu", i, (size_t)(i % 700));
        const char *words[1] = { w };
        struct store_filter f = {
            .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
            .tokens = words, .n_tokens = 1, .is_tokens_required = 1,
        };
        struct store_cursor *c = store_cursor_new(s, &f, 1);
        size_t n = 0;
        while (store_cursor_next(c, &lr) == 1)
            n += lr.offset == i + 1;
        store_cursor_free(c);
        if (n != 1)
            fail_msg("%s: found %zu times", w, n);
    }
    store_close(s);
    remove_dir(dir);
}

struct tok_check {
    const struct tailix_piece *p;
    size_t n;
};

static int
tok_check_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct tok_check *k = arg;
    uint64_t h = tailix_hash(tok, len);

    (void)hash;
    if (!tailix_may_hold(k->p, &h, 1))
        fail_msg("token '%.*s' (%zu bytes) not in its piece", (int)len,
                 (const char *)tok, len);
    k->n++;
    return 0;
}

/* The filter's tokens are tokenize.h's: for random text (ASCII of both
 * cases, digits, '_', punctuation, UTF-8 capitals, invalid bytes, runs
 * past 64 bytes, ending anywhere: the message is allocated to its length,
 * so a read past it is an ASan error), every token tokenize_foreach gives,
 * hashed from its folded bytes as a query's word is, is in the piece of
 * that one record. */
static void
test_same_tokens(void **state)
{
    static const char *const parts[] = {
        "a", "Z", "q", "M", "0", "9", "_", " ", ".", "-", "=", "/", "\t",
        "\xc3\x89", "\xc3\xa9", "\xc3\x9f", "\xe2\x84\xaa", "\xff",
        "\x80", "\xd0\x9f\xd0\xa0", "ERROR", "error", "Error",
    };
    struct tset t = { .rng = 5 };
    size_t n_toks = 0;

    (void)state;
    for (int i = 0; i < 3000; i++) {
        size_t n_parts = rnd(&t) % 60, len = 0;
        char buf[4096];
        for (size_t k = 0; k < n_parts; k++) {
            const char *x = parts[rnd(&t) % (sizeof(parts) / sizeof(*parts))];
            size_t rep = rnd(&t) % 8 == 0 ? 1 + rnd(&t) % 40 : 1;
            for (size_t r = 0; r < rep && len + 8 < sizeof(buf); r++) {
                memcpy(buf + len, x, strlen(x));
                len += strlen(x);
            }
        }
        uint8_t *msg = xmalloc(len ? len : 1);
        memcpy(msg, buf, len);
        struct tailix x;
        const int64_t prev[2] = { 0, 0 };
        struct store_rec r = { .msg = msg, .msg_len = (uint32_t)len };
        tailix_init(&x, 16384);
        tailix_add(&x, 0, 0, prev, &r);
        struct tok_check k = { &x.p[0], 0 };
        (void)tokenize_foreach(msg, len, 0, tok_check_cb, &k);
        n_toks += k.n;
        tailix_fini(&x);
        free(msg);
    }
    if (n_toks < 10000)
        fail_msg("only %zu tokens checked", n_toks);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_tokens),
        cmocka_unit_test(test_rare_word_in_tail),
        cmocka_unit_test(test_two_words),
        cmocka_unit_test(test_carry_past_seal),
        cmocka_unit_test(test_piece_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
