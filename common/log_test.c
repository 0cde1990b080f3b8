/* SPDX-License-Identifier: MIT */
/*
 * log_test: a log line stays one line whatever its arguments hold (newline,
 * ESC, C1, invalid UTF-8), log_esc() also escapes quotes, and the log
 * budget lets per_window lines through per window, counts the rest and
 * reports them once when the next window starts (driven by a fake clock).
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

#include "common/log.h"

static void
test_log_line_cannot_be_split(void **state)
{
    char path[] = "/tmp/log_test.XXXXXX", text[4096];
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(log_init("logq-test", LOG_LEVEL_INFO, path), 0);
    log_warn("ingest", "peer said host=%s",
             "evil\n2026-01-01T00:00:00.000Z error logq-collector main: "
             "forged\033[2J\xc2\x9b\xff");
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    fclose(fp);
    unlink(path);
    text[n] = '\0';
    assert_non_null(strstr(text, " warn logq-test ingest: peer said "
                           "host=evil\\n2026-01-01T00:00:00.000Z error "
                           "logq-collector main: forged\\x1b[2J\\u009b"
                           "\\xff\n"));
    assert_int_equal(strchr(text, '\n') - text, (long)n - 1);  /* 1 line */
}

static void
test_log_esc_quotes_and_cut(void **state)
{
    char d[LOG_ESC_SIZE], small[12];
    static const char s[] = "a\" b=\\c\r";

    (void)state;
    assert_string_equal(log_esc(d, sizeof(d), s, sizeof(s) - 1),
                        "a\\\" b=\\\\c\\r");
    assert_string_equal(log_esc(small, sizeof(small), "0123456789abc", 13),
                        "01234567...");
}

static void
test_log_limit_window(void **state)
{
    struct log_limit l = { .window_ns = 1000, .per_window = 3 };
    uint64_t ended;
    int n_ok = 0;

    (void)state;
    for (int i = 0; i < 10; i++) {
        n_ok += log_limit_allow(&l, 5000 + i, &ended);
        assert_int_equal(ended, 0);
    }
    assert_int_equal(n_ok, 3);
    assert_int_equal(l.n_suppressed, 7);
    /* still inside the window */
    assert_int_equal(log_limit_allow(&l, 5999, &ended), 0);
    assert_int_equal(ended, 0);
    /* the next window: allowed again, the 8 suppressed reported once */
    assert_int_equal(log_limit_allow(&l, 6000, &ended), 1);
    assert_int_equal(ended, 8);
    assert_int_equal(log_limit_allow(&l, 6001, &ended), 1);
    assert_int_equal(ended, 0);
    /* a quiet window ends with nothing to report */
    assert_int_equal(log_limit_allow(&l, 9000, &ended), 1);
    assert_int_equal(ended, 0);
    /* the clock going back starts a new window rather than muting */
    for (int i = 0; i < 5; i++)
        (void)log_limit_allow(&l, 9001, &ended);
    assert_int_equal(log_limit_allow(&l, 100, &ended), 1);
    assert_int_equal(ended, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_line_cannot_be_split),
        cmocka_unit_test(test_log_esc_quotes_and_cut),
        cmocka_unit_test(test_log_limit_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
