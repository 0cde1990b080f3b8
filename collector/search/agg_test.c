/* SPDX-License-Identifier: MIT */
/*
 * agg_test: count groups (by host, container, stream, none; order by count
 * then key; JSON escaping), step parsing, the automatic step, histogram
 * bucket alignment, zero buckets, the bucket cap and out-of-range times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/agg.h"
#include "common/labelset.h"

#define MS 1000000LL
#define S  (1000 * MS)

static struct logrec
rec(const char *host, const char *container, int stream)
{
    struct logrec r = { .host = host, .container = container,
                        .container_id = "id", .image = "i",
                        .stream = (uint8_t)stream, .msg = "m", .msg_len = 1 };
    return r;
}

static void
expect_count(enum agg_by by, const char *want)
{
    struct agg_count *c = agg_count_new(by, NULL);
    struct logrec rs[] = {
        rec("n1", "web", 0), rec("n2", "db", 1), rec("n1", "web", 1),
        rec("n1", "db", 0), rec("n2", "db", 0), rec("n1", "we\"b", 0),
    };
    struct buf out;

    for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
        agg_count_add(c, &rs[i]);
    assert_int_equal(agg_count_total(c), 6);
    buf_init(&out, 4096);
    assert_int_equal(agg_count_format(c, &out), 0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    buf_fini(&out);
    agg_count_free(c);
}

static void
test_agg_count_by(void **state)
{
    (void)state;
    expect_count(AGG_BY_NONE, "{\"total\":6,\"groups\":[]}");
    expect_count(AGG_BY_HOST, "{\"total\":6,\"groups\":[{\"key\":\"n1\","
                 "\"count\":4},{\"key\":\"n2\",\"count\":2}]}");
    expect_count(AGG_BY_STREAM, "{\"total\":6,\"groups\":[{\"key\":"
                 "\"stdout\",\"count\":4},{\"key\":\"stderr\",\"count\":2}]}");
    expect_count(AGG_BY_CONTAINER, "{\"total\":6,\"groups\":[{\"key\":"
                 "\"n1/web\",\"count\":2},{\"key\":\"n2/db\",\"count\":2},"
                 "{\"key\":\"n1/db\",\"count\":1},{\"key\":\"n1/we\\\"b\","
                 "\"count\":1}]}");
}

/* by=field:NAME: the first value of the field (JSON or logfmt), "" for
 * records without it (plain text too); past AGG_MAX_FIELD_KEYS distinct
 * values the rest go to "other". */
static void
test_agg_count_by_field(void **state)
{
    static const char *const msgs[] = {
        "{\"level\":\"error\",\"level\":\"x\"}", "level=error msg=a",
        "level=\"warn\"", "plain level=error text", "{\"lvl\":1}",
        "{\"level\":\"caf\\u00e9\"}", "{\"level\":\"q\\\"\"}",
    };
    const char *want = "{\"total\":7,\"groups\":[{\"key\":\"\",\"count\":2},"
                       "{\"key\":\"error\",\"count\":2},"
                       "{\"key\":\"caf\xc3\xa9\",\"count\":1},"
                       "{\"key\":\"q\\\"\",\"count\":1},"
                       "{\"key\":\"warn\",\"count\":1}]}";
    enum agg_by by;
    char name[AGG_MAX_NAME + 1];
    struct buf out;

    (void)state;
    assert_int_equal(agg_by_parse("field:level", &by, name), 0);
    assert_int_equal(by, AGG_BY_FIELD);
    assert_string_equal(name, "level");
    assert_int_equal(agg_by_parse("field:", &by, name), -1);
    assert_int_equal(agg_by_parse("label", &by, name), -1);
    struct agg_count *c = agg_count_new(by, name);
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        struct logrec r = rec("n1", "web", 0);
        r.msg = msgs[i];
        r.msg_len = strlen(msgs[i]);
        agg_count_add(c, &r);
    }
    buf_init(&out, 4096);
    assert_int_equal(agg_count_format(c, &out), 0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    buf_fini(&out);
    agg_count_free(c);

    c = agg_count_new(AGG_BY_FIELD, "id");
    char m[64];
    for (int i = 0; i < AGG_MAX_FIELD_KEYS + 5; i++) {
        int len = snprintf(m, sizeof(m), "id=%d", i);
        struct logrec r = rec("n1", "web", 0);
        r.msg = m;
        r.msg_len = (size_t)len;
        agg_count_add(c, &r);
        agg_count_add(c, &r);
    }
    buf_init(&out, 1 << 20);
    assert_int_equal(agg_count_format(c, &out), 0);
    assert_true(out.len > 9 && memcmp(out.data + out.len - 12, ",\"other\":10}",
                                      12) == 0);
    buf_fini(&out);
    agg_count_free(c);
}

/* by=label:KEY groups by the value of the record's container's label
 * KEY ("" without it); the parser takes label:KEY, 1 to 256 bytes. */
static void
test_agg_count_by_label(void **state)
{
    (void)state;
    const char *jw = "{\"com.docker.compose.service\":\"web\"}";
    const char *jd = "{\"com.docker.compose.service\":\"db\",\"x\":\"y\"}";
    char *err = NULL;
    struct labelset *w = labelset_parse(jw, strlen(jw), NULL, &err);
    struct labelset *d = labelset_parse(jd, strlen(jd), NULL, &err);
    struct logrec rs[] = {
        rec("n1", "web-1", 0), rec("n2", "web-2", 0), rec("n1", "db", 0),
        rec("n1", "other", 0),
    };
    rs[0].labels = w;
    rs[1].labels = w;
    rs[2].labels = d;
    enum agg_by by;
    char key[AGG_MAX_NAME + 1];
    assert_int_equal(agg_by_parse("label:com.docker.compose.service", &by,
                                  key), 0);
    assert_int_equal(by, AGG_BY_LABEL);
    assert_string_equal(key, "com.docker.compose.service");
    struct agg_count *c = agg_count_new(by, key);
    for (size_t i = 0; i < 4; i++)
        agg_count_add(c, &rs[i]);
    struct buf out;
    buf_init(&out, 4096);
    assert_int_equal(agg_count_format(c, &out), 0);
    const char *want = "{\"total\":4,\"groups\":[{\"key\":\"web\",\"count\":2},"
                       "{\"key\":\"\",\"count\":1},{\"key\":\"db\","
                       "\"count\":1}]}";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    buf_fini(&out);
    agg_count_free(c);
    assert_int_equal(agg_by_parse("label:", &by, key), -1);
    assert_int_equal(agg_by_parse("label", &by, key), -1);
    char big[300] = "label:";
    memset(big + 6, 'k', 257);
    big[263] = '\0';
    assert_int_equal(agg_by_parse(big, &by, key), -1);
    big[262] = '\0';
    assert_int_equal(agg_by_parse(big, &by, key), 0);
    labelset_free(w);
    labelset_free(d);
}

static void
test_agg_count_many_groups_and_cap(void **state)
{
    struct agg_count *c = agg_count_new(AGG_BY_HOST, NULL);
    struct buf out;
    char host[32];

    (void)state;
    for (int i = 0; i < 1000; i++) {
        snprintf(host, sizeof(host), "host%d", i % 300);
        struct logrec r = rec(host, "c", 0);
        agg_count_add(c, &r);
    }
    buf_init(&out, 64);     /* too small: -1, out unchanged */
    assert_int_equal(agg_count_format(c, &out), -1);
    assert_int_equal(out.len, 0);
    buf_fini(&out);
    buf_init(&out, 1 << 20);
    assert_int_equal(agg_count_format(c, &out), 0);
    /* 100 hosts have 4 records, 200 have 3: the first group has 4. */
    assert_non_null(strstr((const char *)out.data, "\"count\":4}"));
    assert_memory_equal(out.data, "{\"total\":1000,\"groups\":[{\"key\":"
                        "\"host0\",\"count\":4}", 43);
    buf_fini(&out);
    agg_count_free(c);
}

static void
test_agg_step_parse(void **state)
{
    int64_t v;

    (void)state;
    assert_int_equal(agg_step_parse("60000", &v), 0);
    assert_int_equal(v, 60 * S);
    assert_int_equal(agg_step_parse("1m", &v), 0);
    assert_int_equal(v, 60 * S);
    assert_int_equal(agg_step_parse("1h30m", &v), 0);
    assert_int_equal(v, 5400 * S);
    assert_int_equal(agg_step_parse("1", &v), 0);
    assert_int_equal(v, MS);
    assert_int_equal(agg_step_parse("0", &v), -1);
    assert_int_equal(agg_step_parse("", &v), -1);
    assert_int_equal(agg_step_parse("-5", &v), -1);
    assert_int_equal(agg_step_parse("1x", &v), -1);
    assert_int_equal(agg_step_parse("999999999999999", &v), -1);
    assert_int_equal(agg_step_parse("400d", &v), -1);
    assert_int_equal(agg_step_auto(60 * S), S);
    assert_int_equal(agg_step_auto(3600 * S), 30 * S);
    assert_int_equal(agg_step_auto(0), S);
    assert_int_equal(agg_step_auto(840LL * 86400 * S), 7 * 86400 * S);
    /* past 120 weeks: whole weeks, at most 120 buckets */
    assert_int_equal(agg_step_auto(1000LL * 86400 * S), 14 * 86400 * S);
    assert_int_equal(agg_step_auto(INT64_MAX), 127 * 7 * 86400 * S);
}

static void
test_agg_hist_buckets(void **state)
{
    struct agg_hist h;
    struct buf out;
    char *err = NULL;

    (void)state;
    /* [10.5s, 40.2s) at 10 s: buckets 10, 20, 30, 40 (aligned). */
    assert_int_equal(agg_hist_init(&h, 10500 * MS, 40200 * MS, 10 * S, &err),
                     0);
    assert_int_equal(h.n_buckets, 4);
    agg_hist_add(&h, 10500 * MS);
    agg_hist_add(&h, 19999 * MS);
    agg_hist_add(&h, 40100 * MS);
    agg_hist_add(&h, 5 * S);        /* outside: ignored */
    agg_hist_add(&h, 50 * S);
    buf_init(&out, 4096);
    assert_int_equal(agg_hist_format(&h, &out), 0);
    const char *want = "{\"step_ms\":10000,\"buckets\":[[10000,2],"
                       "[20000,0],[30000,0],[40000,1]]}";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    buf_fini(&out);
    agg_hist_fini(&h);
}

static void
test_agg_hist_empty_and_cap(void **state)
{
    struct agg_hist h;
    struct buf out;
    char *err = NULL;

    (void)state;
    assert_int_equal(agg_hist_init(&h, 5 * S, 5 * S, S, &err), 0);
    assert_int_equal(h.n_buckets, 0);
    agg_hist_add(&h, 5 * S);
    buf_init(&out, 4096);
    assert_int_equal(agg_hist_format(&h, &out), 0);
    assert_memory_equal(out.data, "{\"step_ms\":1000,\"buckets\":[]}", 29);
    buf_fini(&out);
    agg_hist_fini(&h);
    /* Exactly the cap passes, one more fails with a clear message. */
    assert_int_equal(agg_hist_init(&h, 0, AGG_MAX_BUCKETS * S, S, &err), 0);
    assert_int_equal(h.n_buckets, AGG_MAX_BUCKETS);
    agg_hist_fini(&h);
    assert_int_equal(agg_hist_init(&h, 0, AGG_MAX_BUCKETS * S + 1, S, &err),
                     -1);
    assert_non_null(strstr(err, "too many histogram buckets (10001, at "
                                "most 10000)"));
    free(err);
}

/* The histogram's range at the ends of int64: no signed overflow (a
 * store whose last record is at INT64_MAX made "last_ns + 1" overflow;
 * since far before until overflowed "until - since"). */
static void
test_agg_hist_range_bounds(void **state)
{
    int64_t since, until;

    (void)state;
    /* An open since: the first record. */
    assert_true(agg_hist_range(INT64_MIN, 5001, 1, 1000, &since,
                               &until) == 4001);
    assert_true(since == 1000 && until == 5001);
    /* No records: an empty range ending at until. */
    assert_true(agg_hist_range(INT64_MIN, 3000, 0, 0, &since, &until) == 0);
    assert_true(since == 3000 && until == 3000);
    /* The widest ranges saturate. */
    assert_true(agg_hist_range(INT64_MIN + 1, INT64_MAX - 1, 1, 0, &since,
                               &until) == INT64_MAX);
    assert_true(since == INT64_MIN + 1 && until == INT64_MAX - 1);
    assert_true(agg_hist_range(INT64_MIN, INT64_MAX, 1, INT64_MIN, &since,
                               &until) == INT64_MAX);
    /* since after until: empty. */
    assert_true(agg_hist_range(50, 40, 1, 0, &since, &until) == 0);
    /* Any span gets a step with at most 120 (+ 2 for the alignment)
     * buckets: a record at INT64_MIN under an open since, or the whole
     * int64 range, still answers. */
    struct agg_hist h;
    char *err = NULL;
    int64_t step = agg_step_auto(INT64_MAX);
    assert_int_equal(agg_hist_init(&h, INT64_MIN + 1, INT64_MAX - 1, step,
                                   &err), 0);
    assert_true(h.n_buckets <= 242);
    agg_hist_add(&h, INT64_MIN + 1);
    agg_hist_add(&h, INT64_MAX - 1);
    assert_true(h.counts[0] == 1 && h.counts[h.n_buckets - 1] == 1);
    agg_hist_fini(&h);
    /* An explicit step still refuses more than AGG_MAX_BUCKETS. */
    assert_int_equal(agg_hist_init(&h, INT64_MIN + 1, INT64_MAX - 1,
                                   7 * 86400 * 1000000000LL, &err), -1);
    assert_non_null(strstr(err, "too many histogram buckets"));
    free(err);
    err = NULL;
    assert_int_equal(agg_hist_init(&h, INT64_MIN + 1, INT64_MAX - 1,
                                   AGG_MAX_STEP_NS, &err), 0);
    agg_hist_add(&h, INT64_MIN);
    agg_hist_add(&h, INT64_MAX);
    assert_true(h.n_buckets > 0 && h.first_ms % h.step_ms == 0);
    agg_hist_fini(&h);
    free(err);
}

/* The end of an open range (issue 9: one sender stamping a record near
 * INT64_MAX made every open /histogram span to 2262, refused as "too
 * many histogram buckets (2063048, at most 10000)" for every user): now,
 * or past the newest record up to AGG_FUTURE_NS ahead, never further. */
static void
test_agg_open_until_capped(void **state)
{
    const int64_t now = 1796400000LL * 1000000000LL;   /* 2026-12-04 */
    const int64_t hour = 3600LL * 1000000000LL;
    int64_t since, until;

    (void)state;
    /* nothing newer than now: now */
    assert_true(agg_open_until(1, now - hour, now) == now);
    assert_true(agg_open_until(0, 0, now) == now);
    /* a record 1 minute ahead (clock skew): just past it */
    assert_true(agg_open_until(1, now + 60000000000LL, now) ==
                now + 60000000001LL);
    /* past the allowance, up to INT64_MAX: now + 10 minutes */
    assert_true(AGG_FUTURE_NS == 600LL * 1000000000LL);
    assert_true(agg_open_until(1, now + AGG_FUTURE_NS, now) ==
                now + AGG_FUTURE_NS);
    assert_true(agg_open_until(1, INT64_MAX - 1, now) == now + AGG_FUTURE_NS);
    assert_true(agg_open_until(1, INT64_MAX, now) == now + AGG_FUTURE_NS);
    /* the open end of a search: the same cap, saturated */
    assert_true(agg_open_end(now) == now + AGG_FUTURE_NS);
    assert_true(agg_open_end(INT64_MAX - 5) == INT64_MAX);
    assert_true(agg_open_end(INT64_MIN) == INT64_MIN + AGG_FUTURE_NS);
    /* now itself at the end of int64: no overflow */
    assert_true(agg_open_until(1, INT64_MAX, INT64_MAX) == INT64_MAX);
    assert_true(agg_open_until(1, INT64_MAX, INT64_MAX - 5) == INT64_MAX);
    assert_true(agg_open_until(1, INT64_MIN, INT64_MIN) == INT64_MIN + 1);
    /* "histogram --since 2h" over a store whose newest record is at
     * INT64_MAX: 2 h 10 min, in 5-minute buckets */
    int64_t span = agg_hist_range(now - 2 * hour,
                                  agg_open_until(1, INT64_MAX, now), 1,
                                  INT64_MIN, &since, &until);
    assert_true(span == 2 * hour + AGG_FUTURE_NS);
    struct agg_hist h;
    char *err = NULL;
    assert_int_equal(agg_hist_init(&h, since, until, agg_step_auto(span),
                                   &err), 0);
    assert_true(h.step_ms == 300000 && h.n_buckets <= 27);
    agg_hist_fini(&h);
    /* and without since, the first record at INT64_MIN: it answers */
    span = agg_hist_range(INT64_MIN, agg_open_until(1, INT64_MAX, now), 1,
                          INT64_MIN, &since, &until);
    assert_int_equal(agg_hist_init(&h, since, until, agg_step_auto(span),
                                   &err), 0);
    assert_true(h.n_buckets > 0 && h.n_buckets <= 242);
    agg_hist_fini(&h);
    assert_null(err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agg_count_by),
        cmocka_unit_test(test_agg_count_by_field),
        cmocka_unit_test(test_agg_count_by_label),
        cmocka_unit_test(test_agg_count_many_groups_and_cap),
        cmocka_unit_test(test_agg_step_parse),
        cmocka_unit_test(test_agg_hist_buckets),
        cmocka_unit_test(test_agg_hist_empty_and_cap),
        cmocka_unit_test(test_agg_hist_range_bounds),
        cmocka_unit_test(test_agg_open_until_capped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
