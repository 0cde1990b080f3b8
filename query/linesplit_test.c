/* SPDX-License-Identifier: MIT */
/*
 * linesplit_test: lines split at every possible byte boundary, lines that
 * arrive whole, the length cap (exactly at, one past, across pieces), the
 * unterminated last line, callbacks that stop, and refusal after an error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "query/linesplit.h"

struct got {
    char   text[4096];
    size_t len;
    int    n_lines;
    int    stop_after;      /* 0: never */
};

static int
collect_cb(const char *line, size_t len, void *arg)
{
    struct got *g = arg;

    assert_true(g->len + len + 1 < sizeof(g->text));
    memcpy(g->text + g->len, line, len);
    g->len += len;
    g->text[g->len++] = '|';
    g->text[g->len] = '\0';
    g->n_lines++;
    return g->stop_after && g->n_lines >= g->stop_after ? -1 : 0;
}

static void
test_linesplit_whole_piece(void **state)
{
    struct linesplit ls;
    struct got g = { .len = 0 };
    const char in[] = "a\nbb\n\nccc\n";

    (void)state;
    linesplit_init(&ls, 100);
    assert_int_equal(linesplit_feed(&ls, in, strlen(in), collect_cb, &g), 0);
    assert_string_equal(g.text, "a|bb||ccc|");
    assert_int_equal(linesplit_finish(&ls, collect_cb, &g), 0);
    assert_int_equal(g.n_lines, 4);
    linesplit_fini(&ls);
}

static void
test_linesplit_every_split_point(void **state)
{
    const char in[] = "{\"a\":1}\nsecond line\r\nx\n";

    (void)state;
    for (size_t cut1 = 0; cut1 <= strlen(in); cut1++) {
        for (size_t cut2 = cut1; cut2 <= strlen(in); cut2++) {
            struct linesplit ls;
            struct got g = { .len = 0 };
            linesplit_init(&ls, 64);
            assert_int_equal(linesplit_feed(&ls, in, cut1, collect_cb, &g), 0);
            assert_int_equal(linesplit_feed(&ls, in + cut1, cut2 - cut1,
                                            collect_cb, &g), 0);
            assert_int_equal(linesplit_feed(&ls, in + cut2,
                                            strlen(in) - cut2, collect_cb,
                                            &g), 0);
            assert_string_equal(g.text, "{\"a\":1}|second line\r|x|");
            linesplit_fini(&ls);
        }
    }
}

static void
test_linesplit_byte_at_a_time(void **state)
{
    struct linesplit ls;
    struct got g = { .len = 0 };
    const char in[] = "one\ntwo\nthree";

    (void)state;
    linesplit_init(&ls, 8);
    for (size_t i = 0; i < strlen(in); i++)
        assert_int_equal(linesplit_feed(&ls, in + i, 1, collect_cb, &g), 0);
    assert_string_equal(g.text, "one|two|");
    assert_int_equal(linesplit_finish(&ls, collect_cb, &g), 0);
    assert_string_equal(g.text, "one|two|three|");
    /* finish twice: nothing left */
    assert_int_equal(linesplit_finish(&ls, collect_cb, &g), 0);
    assert_int_equal(g.n_lines, 3);
    linesplit_fini(&ls);
}

static void
test_linesplit_cap_exact_ok(void **state)
{
    struct linesplit ls;
    struct got g = { .len = 0 };

    (void)state;
    linesplit_init(&ls, 5);
    assert_int_equal(linesplit_feed(&ls, "123", 3, collect_cb, &g), 0);
    assert_int_equal(linesplit_feed(&ls, "45\n12345\n", 9, collect_cb, &g), 0);
    assert_string_equal(g.text, "12345|12345|");
    linesplit_fini(&ls);
}

static void
test_linesplit_cap_one_past_in_one_piece(void **state)
{
    struct linesplit ls;
    struct got g = { .len = 0 };

    (void)state;
    linesplit_init(&ls, 5);
    assert_int_equal(linesplit_feed(&ls, "ok\n123456\nafter\n", 16,
                                    collect_cb, &g), -1);
    assert_string_equal(ls.errstr, "line too long");
    assert_string_equal(g.text, "ok|");
    /* refuses further input */
    assert_int_equal(linesplit_feed(&ls, "x\n", 2, collect_cb, &g), -1);
    assert_int_equal(linesplit_finish(&ls, collect_cb, &g), -1);
    assert_int_equal(g.n_lines, 1);
    linesplit_reset(&ls);
    assert_int_equal(linesplit_feed(&ls, "x\n", 2, collect_cb, &g), 0);
    assert_string_equal(g.text, "ok|x|");
    linesplit_fini(&ls);
}

static void
test_linesplit_cap_across_pieces(void **state)
{
    struct linesplit ls;
    struct got g = { .len = 0 };

    (void)state;
    linesplit_init(&ls, 5);
    assert_int_equal(linesplit_feed(&ls, "1234", 4, collect_cb, &g), 0);
    assert_int_equal(linesplit_feed(&ls, "56", 2, collect_cb, &g), -1);
    assert_non_null(ls.errstr);
    assert_int_equal(g.n_lines, 0);
    linesplit_fini(&ls);
}

static void
test_linesplit_unterminated_too_long_without_newline(void **state)
{
    struct linesplit ls;
    struct got g = { .len = 0 };

    (void)state;
    linesplit_init(&ls, 3);
    assert_int_equal(linesplit_feed(&ls, "abcd", 4, collect_cb, &g), -1);
    assert_non_null(ls.errstr);
    linesplit_fini(&ls);
}

static void
test_linesplit_callback_stops(void **state)
{
    struct linesplit ls;
    struct got g = { .len = 0, .stop_after = 2 };

    (void)state;
    linesplit_init(&ls, 100);
    assert_int_equal(linesplit_feed(&ls, "a\nb\nc\n", 6, collect_cb, &g), -1);
    assert_null(ls.errstr);
    assert_int_equal(g.n_lines, 2);
    linesplit_fini(&ls);
}

static void
test_linesplit_stop_on_buffered_line(void **state)
{
    struct linesplit ls;
    struct got g = { .len = 0, .stop_after = 1 };

    (void)state;
    linesplit_init(&ls, 100);
    assert_int_equal(linesplit_feed(&ls, "ab", 2, collect_cb, &g), 0);
    assert_int_equal(linesplit_feed(&ls, "c\nd\n", 4, collect_cb, &g), -1);
    assert_string_equal(g.text, "abc|");
    linesplit_fini(&ls);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linesplit_whole_piece),
        cmocka_unit_test(test_linesplit_every_split_point),
        cmocka_unit_test(test_linesplit_byte_at_a_time),
        cmocka_unit_test(test_linesplit_cap_exact_ok),
        cmocka_unit_test(test_linesplit_cap_one_past_in_one_piece),
        cmocka_unit_test(test_linesplit_cap_across_pieces),
        cmocka_unit_test(test_linesplit_unterminated_too_long_without_newline),
        cmocka_unit_test(test_linesplit_callback_stops),
        cmocka_unit_test(test_linesplit_stop_on_buffered_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
