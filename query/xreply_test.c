/* SPDX-License-Identifier: MIT */
/*
 * xreply_test: count and histogram bodies (good, empty, malformed, wrong
 * types, negative counts), the /logs line classifier (record, break, error
 * with and without a message) and the context flag of a parsed record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "query/xreply.h"

#define S(x) x, strlen(x)

static void
test_xreply_count(void **state)
{
    struct xreply_count c;
    char err[256];

    (void)state;
    assert_int_equal(xreply_count_parse(S("{\"total\":5,\"groups\":["
                     "{\"key\":\"n1\",\"count\":3},{\"key\":\"n2\","
                     "\"count\":2}]}"), &c, err, sizeof(err)), 0);
    assert_int_equal(c.total, 5);
    assert_int_equal(c.n_groups, 2);
    assert_string_equal(c.groups[1].key, "n2");
    assert_int_equal(c.groups[1].count, 2);
    xreply_count_fini(&c);
    assert_int_equal(xreply_count_parse(S("{\"total\":0,\"groups\":[]}"), &c,
                                        err, sizeof(err)), 0);
    assert_int_equal(c.n_groups, 0);
    assert_int_equal(c.other, 0);
    xreply_count_fini(&c);
    assert_int_equal(xreply_count_parse(S("{\"total\":9,\"groups\":[],"
                                          "\"other\":9}"), &c, err,
                                        sizeof(err)), 0);
    assert_int_equal(c.other, 9);
    xreply_count_fini(&c);
    const char *bad[] = {
        "{\"total\":1,\"groups\":[],\"other\":\"x\"}",
        "", "[]", "{\"total\":-1,\"groups\":[]}", "{\"total\":1}",
        "{\"total\":1,\"groups\":[{\"key\":1,\"count\":1}]}",
        "{\"total\":1,\"groups\":[{\"key\":\"a\",\"count\":-2}]}",
        "{\"total\":\"1\",\"groups\":[]}", "{\"total\":1,\"groups\":[",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(xreply_count_parse(S(bad[i]), &c, err, sizeof(err)),
                         -1);
        assert_true(err[0] != '\0');
    }
}

static void
test_xreply_hist(void **state)
{
    struct xreply_hist h;
    char err[256];

    (void)state;
    assert_int_equal(xreply_hist_parse(S("{\"step_ms\":1000,\"buckets\":"
                     "[[1000,2],[2000,0]]}"), &h, err, sizeof(err)), 0);
    assert_int_equal(h.step_ms, 1000);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.t_ms[1], 2000);
    assert_int_equal(h.counts[0], 2);
    xreply_hist_fini(&h);
    const char *bad[] = {
        "{\"step_ms\":0,\"buckets\":[]}", "{\"buckets\":[]}",
        "{\"step_ms\":1,\"buckets\":[[1]]}",
        "{\"step_ms\":1,\"buckets\":[[1,-1]]}",
        "{\"step_ms\":1,\"buckets\":[[\"1\",1]]}", "nope",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(xreply_hist_parse(S(bad[i]), &h, err, sizeof(err)),
                         -1);
}

static void
test_xreply_lines(void **state)
{
    char err[256];
    struct reply_record rr;

    (void)state;
    assert_int_equal(xreply_line_kind(S("{\"break\":true}"), err,
                                      sizeof(err)), XREPLY_BREAK);
    assert_int_equal(xreply_line_kind(S("{\"error\":\"query cost limit "
                     "reached: scanned 9 bytes\",\"partial\":true}"), err,
                     sizeof(err)), XREPLY_ERROR);
    assert_string_equal(err, "query cost limit reached: scanned 9 bytes");
    assert_int_equal(xreply_line_kind(S("{\"error\":"), err, sizeof(err)),
                     XREPLY_ERROR);     /* truncated: still an error */
    assert_true(strstr(err, "bad JSON") != NULL);
    assert_int_equal(xreply_line_kind(S("{\"error\":5}"), err, sizeof(err)),
                     XREPLY_ERROR);
    assert_string_equal(err, "collector error");
    /* what an open-ended search left out: a note, not an error */
    assert_int_equal(xreply_line_kind(S("{\"ahead\":{\"records\":201,"
                     "\"at_least\":false,\"until\":\"2026-12-04T22:10:00Z\","
                     "\"grace_s\":600}}"), err, sizeof(err)), XREPLY_AHEAD);
    assert_string_equal(err, "201 records stamped more than 10m ahead of "
                        "the collector's clock are not shown; use --until "
                        "to see them");
    assert_int_equal(xreply_line_kind(S("{\"ahead\":{\"records\":1,"
                     "\"at_least\":true,\"grace_s\":90}}"), err,
                     sizeof(err)), XREPLY_AHEAD);
    assert_string_equal(err, "at least 1 record stamped more than 90s "
                        "ahead of the collector's clock is not shown; use "
                        "--until to see them");
    assert_int_equal(xreply_line_kind(S("{\"ahead\":{\"records\":-1,"
                     "\"grace_s\":600}}"), err, sizeof(err)), XREPLY_ERROR);
    assert_int_equal(xreply_line_kind(S("{\"ahead\":"), err, sizeof(err)),
                     XREPLY_ERROR);
    struct xreply_count c;
    assert_int_equal(xreply_count_parse(S("{\"total\":5,\"groups\":[],"
                     "\"ahead\":{\"records\":2,\"at_least\":true,"
                     "\"grace_s\":600}}"), &c, err, sizeof(err)), 0);
    assert_string_equal(c.ahead, "at least 2 records stamped more than 10m "
                        "ahead of the collector's clock are not counted; "
                        "use --until to see them");
    xreply_count_fini(&c);
    assert_int_equal(xreply_count_parse(S("{\"total\":5,\"groups\":[]}"),
                                        &c, err, sizeof(err)), 0);
    assert_string_equal(c.ahead, "");
    xreply_count_fini(&c);
    struct xreply_hist hh;
    assert_int_equal(xreply_hist_parse(S("{\"step_ms\":1000,\"buckets\":[],"
                     "\"ahead\":{\"records\":\"x\"}}"), &hh, err,
                     sizeof(err)), -1);
    const char *rec = "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"h\","
                      "\"container\":\"c\",\"stream\":\"stdout\","
                      "\"message\":\"m\",\"group\":3,\"context\":true}";
    assert_int_equal(xreply_line_kind(S(rec), err, sizeof(err)),
                     XREPLY_RECORD);
    assert_int_equal(reply_record_parse(S(rec), &rr, err, sizeof(err)), 0);
    assert_int_equal(xreply_is_context(&rr), 1);
    assert_int_equal(xreply_group(&rr), 3);
    reply_record_fini(&rr);
    const char *plain = "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"h\","
                        "\"container\":\"c\",\"stream\":\"stdout\","
                        "\"message\":\"m\",\"context\":false}";
    assert_int_equal(reply_record_parse(S(plain), &rr, err, sizeof(err)), 0);
    assert_int_equal(xreply_is_context(&rr), 0);
    assert_int_equal(xreply_group(&rr), 0);
    reply_record_fini(&rr);
}

/* "spans" of a record line: kept when ascending, apart and inside the
 * message; anything else gives none (never a wrong highlight). */
static void
test_xreply_spans(void **state)
{
    (void)state;
    static const struct { const char *spans; size_t n; } cases[] = {
        { "[[0,1],[3,5]]", 2 }, { "[]", 0 }, { "[[1,0]]", 0 },
        { "[[0,2],[1,3]]", 0 }, { "[[0,6]]", 0 }, { "[[0,\"1\"]]", 0 },
        { "[[0]]", 0 }, { "7", 0 }, { "[[-1,2]]", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[512], err[128];
        struct reply_record rr;
        size_t sp[8];
        snprintf(line, sizeof(line), "{\"time\":\"2026-11-27T13:50:40Z\","
                 "\"host\":\"h\",\"container\":\"c\",\"container_id\":"
                 "\"i\",\"image\":\"m\",\"stream\":\"stdout\","
                 "\"message\":\"abcde\",\"spans\":%s}", cases[i].spans);
        assert_int_equal(reply_record_parse(line, strlen(line), &rr, err,
                                            sizeof(err)), 0);
        assert_int_equal(xreply_spans(&rr, sp, 4), cases[i].n);
        if (cases[i].n == 2)
            assert_true(sp[0] == 0 && sp[1] == 1 && sp[2] == 3 &&
                        sp[3] == 5);
        reply_record_fini(&rr);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xreply_count),
        cmocka_unit_test(test_xreply_hist),
        cmocka_unit_test(test_xreply_lines),
        cmocka_unit_test(test_xreply_spans),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
