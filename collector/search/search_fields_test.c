/* SPDX-License-Identifier: MIT */
/*
 * search_fields_test: field terms through the store's index (field tokens,
 * collector/STORE.md "Field tokens"). JSON, logfmt and plain records in a
 * store of small blocks and sealed segments; every field query's answer
 * via search_new/search_step must be exactly the records query_match
 * accepts (the index and the cursor drop none), and a rare value must be
 * found reading fewer bytes than the whole store. Then the same store
 * indexed as version 3 did (no field tokens): the answers are the same,
 * read by scanning (all bytes); and a store of both. Values longer than
 * a token (cut to 64 bytes) are among the queries.
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

#define N_RECS  800

/* A path longer than a token (TOKENIZE_MAX_LEN, 64 bytes): the field
 * tokens of its values are cut to the same 64 bytes, so they tell the
 * values apart by nothing; the answer must still be exact. */
#define LONG_DIR "/srv/" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static char msgs[N_RECS][256];

static const char *const queries[] = {
    "level:fatal", "level:error", "level:warn user.id:7", "-level:info",
    "level:error OR level:warn", "user.id:3", "level:caf\xc3\xa9",
    "user.id:>=15", "level:ERROR", "level:fatal user.id:0", "tags:t5",
    "msg:\"m 10\"", "path:\"" LONG_DIR "/3\"",
    "path:\"" LONG_DIR "/3\" level:warn",
};

static void
gen_msgs(void)
{
    static const char *const lv[] = { "info", "warn", "error", "Error" };

    for (int i = 0; i < N_RECS; i++) {
        /* kind i % 4, level (i / 4) % 4, id (i / 16) % 20: every combination */
        const char *l = i % 97 == 0 ? "fatal" : lv[(i / 4) % 4];
        int id = (i / 16) % 20;
        switch (i % 4) {
        case 0:
            snprintf(msgs[i], sizeof(msgs[i]),
                     "{\"level\":\"%s\",\"user\":{\"id\":%d},\"msg\":\"m %d\","
                     "\"tags\":[\"t%d\"]}",
                     i % 50 == 1 ? "caf\\u00e9" : l, id, i, i % 10);
            break;
        case 1:
            snprintf(msgs[i], sizeof(msgs[i]),
                     "{\"level\":\"%s\",\"user\":{\"id\":%d},\"msg\":\"m %d\","
                     "\"tags\":[\"t%d\"],\"path\":\"" LONG_DIR "/%d\"}",
                     i % 50 == 1 ? "caf\\u00e9" : l, id, i, i % 10, i % 7);
            break;
        case 2:
            snprintf(msgs[i], sizeof(msgs[i]),
                     "level=%s user.id=%d msg=\"m %d\"", l, id, i);
            break;
        default:
            snprintf(msgs[i], sizeof(msgs[i]),
                     "plain level:%s user.id:%d m %d", l, id, i);
        }
    }
}

/* Runs the query text (icase for "level:ERROR") and checks its answer;
 * returns the bytes it scanned. */
static uint64_t
check_query(struct store *st, const char *text)
{
    char *err = NULL;
    int icase = strcmp(text, "level:ERROR") == 0;
    struct query *q = query_parse(text, strlen(text), NULL, icase, &err);

    assert_non_null(q);
    return iq_check(st, q, msgs[0], sizeof(msgs[0]), N_RECS, text).scanned;
}

static void
fill_range(struct store *s, int from, int to)
{
    iq_fill(s, msgs[0], sizeof(msgs[0]), from, to);
}

static void
fill(struct store *s)
{
    fill_range(s, 0, N_RECS);
}

static void
run_all(const char *dir, uint64_t *fatal_scanned, uint64_t *all_scanned)
{
    struct store *s = iq_open(dir);

    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        uint64_t b = check_query(s, queries[i]);
        if (i == 0)
            *fatal_scanned = b;
    }
    *all_scanned = check_query(s, "-level:nothing");
    store_close(s);
}

static void
test_search_fields_index(void **state)
{
    char *dir = iq_make_dir("logq-sfields");
    uint64_t fatal, all;

    (void)state;
    gen_msgs();
    struct store *s = iq_open(dir);
    fill(s);
    store_close(s);
    run_all(dir, &fatal, &all);
    /* 9 fatal records in ~200 blocks: the field tokens skip most */
    if (!(fatal * 4 < all))
        fail_msg("level:fatal read %llu of %llu bytes",
                 (unsigned long long)fatal, (unsigned long long)all);
    iq_rm_dir(dir);
}

static void
test_search_fields_version3_store(void **state)
{
    char *dir = iq_make_dir("logq-sfields");
    uint64_t fatal, all;

    (void)state;
    gen_msgs();
    index_test_without_fields(1);
    struct store *s = iq_open(dir);
    fill(s);
    store_close(s);
    index_test_without_fields(0);
    run_all(dir, &fatal, &all);
    /* the sealed segments' indexes have no field tokens: scanned whole
     * (the open segment is indexed again at open, with them) */
    if (!(fatal * 10 > all * 9))
        fail_msg("level:fatal read %llu of %llu bytes on a v3 store",
                 (unsigned long long)fatal, (unsigned long long)all);
    iq_rm_dir(dir);
}

/* The first half written as version 3 did, the rest by this code after
 * a restart: segments with and without field tokens side by side (and
 * the v3 open segment indexed again at the restart, with them). */
static void
test_search_fields_mixed_store(void **state)
{
    char *dir = iq_make_dir("logq-sfields");
    uint64_t fatal, all;

    (void)state;
    gen_msgs();
    index_test_without_fields(1);
    struct store *s = iq_open(dir);
    fill_range(s, 0, N_RECS / 2);
    store_close(s);
    index_test_without_fields(0);
    s = iq_open(dir);
    fill_range(s, N_RECS / 2, N_RECS);
    store_close(s);
    run_all(dir, &fatal, &all);
    /* the v4 half's blocks without a fatal record are skipped */
    if (!(fatal < all))
        fail_msg("level:fatal read %llu of %llu bytes on a mixed store",
                 (unsigned long long)fatal, (unsigned long long)all);
    iq_rm_dir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_fields_index),
        cmocka_unit_test(test_search_fields_version3_store),
        cmocka_unit_test(test_search_fields_mixed_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
