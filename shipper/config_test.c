/* SPDX-License-Identifier: MIT */
/*
 * config_test: the shipper's flag table on the keys tests elsewhere do
 * not reach: --writeback-step (tail_wb.c) defaults to TAIL_WB_STEP, takes
 * 0 (off) and a size with a suffix, and refuses what is out of range or
 * not a number with a message naming it; the man page (--man, generated
 * from the same table) names it.
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

#include "shipper/config.h"
#include "shipper/tail.h"

/* Parses the required flags plus extra (NULL-ended) into cfg. */
static enum config_result
parse(struct shipper_config *cfg, char *err, size_t err_len, ...)
{
    char *argv[16] = { "logq-shipper", "--collector", "127.0.0.1:1",
                       "--state-dir", "/nonexistent" };
    int argc = 5;
    va_list ap;

    va_start(ap, err_len);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 15;)
        argv[argc++] = a;
    va_end(ap);
    return shipper_config_parse(cfg, argc, argv, err, err_len);
}

static void
test_writeback_step_default(void **state)
{
    struct shipper_config cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, err, sizeof(err), NULL), CONFIG_OK);
    assert_int_equal(cfg.writeback_step, TAIL_WB_STEP);
    shipper_config_fini(&cfg);
}

static void
test_writeback_step_values(void **state)
{
    struct shipper_config cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, err, sizeof(err), "--writeback-step", "0",
                           NULL), CONFIG_OK);
    assert_int_equal(cfg.writeback_step, 0);
    shipper_config_fini(&cfg);
    assert_int_equal(parse(&cfg, err, sizeof(err), "--writeback-step=4M",
                           NULL), CONFIG_OK);
    assert_int_equal(cfg.writeback_step, 4 << 20);
    shipper_config_fini(&cfg);
    assert_int_equal(parse(&cfg, err, sizeof(err), "--writeback-step",
                           "256K", NULL), CONFIG_OK);
    assert_int_equal(cfg.writeback_step, 256 << 10);
    shipper_config_fini(&cfg);
}

static void
test_writeback_step_refused(void **state)
{
    static const char *const bad[] = { "-1", "2048M", "1G", "x", "" };
    struct shipper_config cfg;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(parse(&cfg, err, sizeof(err), "--writeback-step",
                               (char *)bad[i], NULL), CONFIG_ERROR);
        assert_non_null(strstr(err, "--writeback-step"));
        shipper_config_fini(&cfg);
    }
}

/* --man prints the table: the key is in the man page (and so in the
 * --help of the same table). */
static void
test_writeback_step_documented(void **state)
{
    struct shipper_config cfg;
    char err[256], page[1 << 16];
    int fds[2];

    (void)state;
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fds[1], STDOUT_FILENO) >= 0);
    close(fds[1]);
    enum config_result rc = parse(&cfg, err, sizeof(err), "--man", NULL);
    fflush(stdout);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], page + len, sizeof(page) - 1 - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    page[len] = '\0';
    shipper_config_fini(&cfg);
    assert_int_equal(rc, CONFIG_HELP);
    assert_non_null(strstr(page, "writeback\\-step"));
    assert_non_null(strstr(page, "(default: 1M)"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writeback_step_default),
        cmocka_unit_test(test_writeback_step_values),
        cmocka_unit_test(test_writeback_step_refused),
        cmocka_unit_test(test_writeback_step_documented),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
