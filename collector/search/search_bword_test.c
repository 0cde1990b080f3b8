/* SPDX-License-Identifier: MIT */
/*
 * search_bword_test: words a regex bounds by \b through the store's index
 * (collector/STORE.md "Sub-word tokens"). PCRE2's \b is ASCII: a byte >=
 * 0x80 is not a word byte for it, so `\bdb01\b` matches "cafédb01", whose
 * token is "cafédb01", not "db01". Records
 * with the word as a whole token, with a UTF-8 letter against either end
 * of it, inside a longer word, in upper case, and plain and non-ASCII
 * filler, in a store of small blocks: every query's answer through
 * search_new/search_step must be exactly the records query_match (PCRE2
 * itself) accepts, on sealed segments, with blocks still in memory, on
 * a store indexed as version 9 did (no sub-words: read whole) and on one
 * of both; and a bounded word must read fewer blocks than the same word
 * unbounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/search/query.h"
#include "collector/store/index.h"
#include "collector/store/store.h"
#include "tests/support/indexqfx.h"

#define N_RECS  2400

static char msgs[N_RECS][96];

/* A regex query: its patterns (alternatives), -i, and the text terms. */
struct rq {
    const char *re[2];
    size_t      n_re;
    int         icase;
    const char *terms;
};

static const struct rq queries[] = {
    { { "\\bdb01\\b" }, 1, 0, "" },
    { { "\\bdb01" }, 1, 0, "" },
    { { "db01\\b" }, 1, 0, "" },
    { { "(?i)\\bdb01\\b" }, 1, 0, "" },
    { { "\\bdb01\\b" }, 1, 1, "" },
    { { "\\bDB01\\b" }, 1, 0, "" },
    { { "\\bdb01\\b", "=db01 " }, 2, 0, "" },
    { { "\\bdb01\\b", "\\bnaive\\b" }, 2, 0, "" },
    { { "\\bdb01\\b ok" }, 1, 0, "" },
    { { "\\bdb01\\b" }, 1, 0, "ok" },
    { { "\\bdb01\\b.*\\bleft\\b" }, 1, 0, "" },
    { { "\\b(?=d)db01\\b" }, 1, 0, "" },
    { { "\\bserved\\b" }, 1, 0, "" },
};
#define N_QUERIES (sizeof(queries) / sizeof(queries[0]))

static void
gen_msgs(void)
{
    for (int i = 0; i < N_RECS; i++) {
        const char *pre = "req", *post = "served from pool";
        if (i % 197 == 0)
            pre = "x=db01 ok", post = "";       /* a whole token */
        else if (i % 211 == 1)
            pre = "caf\xc3\xa9" "db01 left", post = "";   /* a UTF-8 letter
                                                          before */
        else if (i % 223 == 2)
            pre = "right db01\xc3\xa9", post = "";          /* and after */
        else if (i % 229 == 3)
            pre = "adb01 inside", post = "";    /* inside a word */
        else if (i % 233 == 4)
            pre = "DB01 upper", post = "";
        else if (i % 239 == 5)
            pre = "db01_x ok", post = "";
        else if (i % 241 == 6)
            pre = "\xc3\xa9" "db01\xc3\xa9 both", post = "";
        else if (i % 401 == 7)
            pre = "na\xc3\xafve filler", post = "";   /* sub-words, not
                                                       db01 */
        snprintf(msgs[i], sizeof(msgs[i]), "%s %d %s", pre, i, post);
    }
}

/* Runs rq and checks its answer against query_match over the first upto
 * records (those stored); returns the segment blocks it read. */
static uint64_t
check_query_upto(struct store *st, const struct rq *rq, int upto)
{
    char *err = NULL;
    struct query *q = query_parse_any(rq->terms, strlen(rq->terms), rq->re,
                                      rq->n_re, rq->icase, &err);

    if (q == NULL)
        fail_msg("%s: %s", rq->re[0], err);
    return iq_check(st, q, msgs[0], sizeof(msgs[0]), upto, rq->re[0]).reads;
}

static uint64_t
check_query(struct store *st, const struct rq *rq)
{
    return check_query_upto(st, rq, N_RECS);
}

static void
fill_range(struct store *s, int from, int to)
{
    iq_fill(s, msgs[0], sizeof(msgs[0]), from, to);
}

/* Every query; *bounded: the blocks `\bdb01\b` read, *all: those of
 * `db01\b` (no word: every block). */
static void
run_all(struct store *s, uint64_t *bounded, uint64_t *all)
{
    static const struct rq whole = { { "db01\\b" }, 1, 0, "" };

    for (size_t i = 0; i < N_QUERIES; i++) {
        uint64_t n = check_query(s, &queries[i]);
        if (i == 0)
            *bounded = n;
    }
    *all = check_query(s, &whole);
}

/* The words each pattern gives the index: the test is about them. */
static void
test_bword_words(void **state)
{
    const char *const one[] = { "\\bdb01\\b" };
    const char *const two[] = { "\\bdb01\\b", "=db01 " };
    const char *const hard[] = { "=db01 ", ":db01," };
    char *err = NULL;

    (void)state;
    struct query *q = query_parse_any("", 0, one, 1, 0, &err);
    const char *const *w;
    assert_int_equal(query_bwords(q, &w), 1);
    assert_string_equal(w[0], "db01");
    assert_int_equal(query_tokens(q, &w), 0);
    query_free(q);
    q = query_parse_any("", 0, two, 2, 0, &err);
    assert_int_equal(query_bwords(q, &w), 1);
    assert_int_equal(query_tokens(q, &w), 0);
    query_free(q);
    q = query_parse_any("", 0, hard, 2, 0, &err);
    assert_int_equal(query_bwords(q, &w), 0);
    assert_int_equal(query_tokens(q, &w), 1);
    query_free(q);
}

/* A store of the records, the first n_old indexed as version 9 did (no
 * sub-words), the rest by this code after a restart, then reopened:
 * every query's answer, and the blocks of the two in run_all. */
static void
run_store(int n_old, uint64_t *bounded, uint64_t *all)
{
    char *dir = iq_make_dir("logq-sbword");
    struct store *s;

    gen_msgs();
    if (n_old > 0) {
        index_test_v9(1);
        s = iq_open(dir);
        fill_range(s, 0, n_old);
        store_close(s);
        index_test_v9(0);
    }
    if (n_old < N_RECS) {
        s = iq_open(dir);
        fill_range(s, n_old, N_RECS);
        store_close(s);
    }
    s = iq_open(dir);
    run_all(s, bounded, all);
    store_close(s);
    iq_rm_dir(dir);
}

static void
test_bword_index(void **state)
{
    uint64_t bounded, all;

    (void)state;
    run_store(0, &bounded, &all);
    print_message("\\bdb01\\b read %llu of %llu blocks\n",
                  (unsigned long long)bounded, (unsigned long long)all);
    /* the blocks of 13 whole tokens and 33 sub-words among 192: the
     * rest are left */
    if (!(bounded * 2 < all))
        fail_msg("\\bdb01\\b read %llu of %llu blocks",
                 (unsigned long long)bounded, (unsigned long long)all);
}

/* The same, queried before the store is closed: the open segment's map,
 * the sealing thread's blocks and the tails' token sets answer too. */
static void
test_bword_unsealed(void **state)
{
    char *dir = iq_make_dir("logq-sbword");
    uint64_t bounded, all;

    (void)state;
    gen_msgs();
    struct store *s = iq_open(dir);
    for (int part = 0; part < 4; part++) {
        fill_range(s, part * (N_RECS / 4), (part + 1) * (N_RECS / 4));
        (void)check_query_upto(s, &queries[0], (part + 1) * (N_RECS / 4));
    }
    run_all(s, &bounded, &all);
    store_close(s);
    iq_rm_dir(dir);
}

/* Indexed as version 9 did: the sealed segments are read whole for a
 * bounded word (the open segment is indexed again at open, with
 * sub-words), and answer the same; half so, half by this code: the new
 * half is narrowed. */
static void
test_bword_v9_store(void **state)
{
    uint64_t bounded, all;

    (void)state;
    run_store(N_RECS, &bounded, &all);
    if (!(bounded * 10 > all * 9))
        fail_msg("\\bdb01\\b read %llu of %llu blocks on a v9 store",
                 (unsigned long long)bounded, (unsigned long long)all);
    run_store(N_RECS / 2, &bounded, &all);
    if (!(bounded < all))
        fail_msg("\\bdb01\\b read %llu of %llu blocks on a mixed store",
                 (unsigned long long)bounded, (unsigned long long)all);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bword_words),
        cmocka_unit_test(test_bword_index),
        cmocka_unit_test(test_bword_unsealed),
        cmocka_unit_test(test_bword_v9_store),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
