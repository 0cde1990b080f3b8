/* SPDX-License-Identifier: MIT */
/*
 * secret_test: token files are refused when the group or others may read
 * them, when they are not regular files and when the trimmed token is
 * under 32 bytes; trailing whitespace is trimmed (CRLF, spaces, several
 * newlines) and nothing else; bearer tokens are visible ASCII.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/secret.h"

#define TOK32 "0123456789abcdef0123456789abcdef"

static char tmpl[] = "/tmp/secret_test.XXXXXX";
static char path[256];

static void
write_file(const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* 0 and the token, or -1 and the error text in err. */
static int
read_token(char *out, size_t outlen, char *err, size_t errlen)
{
    char *tok = NULL, *e = NULL;
    size_t len = 0;
    int rc = secret_token_file_read(path, "--token-file", &tok, &len, &e);

    if (rc < 0) {
        snprintf(err, errlen, "%s", e);
        free(e);
        return -1;
    }
    assert_int_equal(strlen(tok), len);
    snprintf(out, outlen, "%s", tok);
    secret_free(tok, len);
    return 0;
}

static void
test_trim_same_everywhere(void **state)
{
    static const char *const forms[] = {
        TOK32, TOK32 "\n", TOK32 "\r\n", TOK32 " \t\n\n", TOK32 "\n\r\n ",
    };
    char out[128], err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        write_file(forms[i], 0600);
        assert_int_equal(read_token(out, sizeof(out), err, sizeof(err)), 0);
        assert_string_equal(out, TOK32);
    }
    /* leading and inner whitespace are part of the token */
    write_file(" " TOK32 " x\n", 0600);
    assert_int_equal(read_token(out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, " " TOK32 " x");
    assert_int_equal(secret_trim("a b \r\n", 6), 3);
    assert_int_equal(secret_trim("", 0), 0);
}

static void
test_mode_refused(void **state)
{
    static const mode_t bad[] = { 0640, 0604, 0644, 0660, 0606, 0610, 0601 };
    char out[128], err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(TOK32, bad[i]);
        assert_int_equal(read_token(out, sizeof(out), err, sizeof(err)), -1);
        char want[16];
        snprintf(want, sizeof(want), "mode %04o", (unsigned)bad[i]);
        assert_non_null(strstr(err, want));
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, "--token-file"));
    }
    write_file(TOK32, 0400);
    assert_int_equal(read_token(out, sizeof(out), err, sizeof(err)), 0);
}

static void
test_short_refused(void **state)
{
    char out[128], err[512];

    (void)state;
    /* 31 bytes plus whitespace that would make 32 untrimmed */
    write_file("0123456789abcdef0123456789abcde \n", 0600);
    assert_int_equal(read_token(out, sizeof(out), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "31 bytes"));
    write_file("\n\n", 0600);
    assert_int_equal(read_token(out, sizeof(out), err, sizeof(err)), -1);
}

static void
test_not_regular(void **state)
{
    char *tok = NULL, *e = NULL;
    size_t len;

    (void)state;
    assert_int_equal(secret_file_read(tmpl, 1024, &tok, &len, &e), -1);
    assert_non_null(strstr(e, "not a regular file"));
    free(e);
    e = NULL;
    assert_int_equal(secret_file_read("/nonexistent/x", 1024, &tok, &len, &e),
                     -1);
    assert_non_null(strstr(e, "/nonexistent/x"));
    free(e);
    e = NULL;
    write_file(TOK32 TOK32, 0600);
    assert_int_equal(secret_file_read(path, 40, &tok, &len, &e), -1);
    assert_non_null(strstr(e, "larger than 40"));
    free(e);
    assert_null(tok);
}

/* A FIFO at the token path (mode 0600, nobody writing) is refused at
 * once: open must not block waiting for a writer. alarm() turns the old
 * hang into a failure. */
static void
test_fifo_refused(void **state)
{
    char fifo[300], *tok = NULL, *e = NULL;
    size_t len;

    (void)state;
    snprintf(fifo, sizeof(fifo), "%s/fifo", tmpl);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(5);
    assert_int_equal(secret_file_read(fifo, 1024, &tok, &len, &e), -1);
    alarm(0);
    assert_non_null(strstr(e, "not a regular file"));
    free(e);
    assert_int_equal(unlink(fifo), 0);
}

static void
test_bearer(void **state)
{
    (void)state;
    assert_int_equal(secret_is_bearer(TOK32, 32), 1);
    assert_int_equal(secret_is_bearer(TOK32, 31), 0);
    assert_int_equal(secret_is_bearer(TOK32 "\r\nX: y", 38), 0);
    assert_int_equal(secret_is_bearer(TOK32 " x", 34), 0);
    assert_int_equal(secret_is_bearer(TOK32 "\x7f", 33), 0);
    assert_int_equal(secret_is_bearer(TOK32 "\xc3\xa9", 34), 0);
}

static int
setup(void **state)
{
    (void)state;
    if (mkdtemp(tmpl) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/token", tmpl);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(tmpl);
}

/* Entry lines: trimmed, blanks and comments skipped, numbered from 1, a
 * last line without a newline kept. */
static void
test_lines(void **state)
{
    static const char text[] = "\n  # note\na b \t\r\n\t\n  c\n#x\nd e f";
    struct secret_lines it;
    const char *line;
    size_t n;
    (void)state;

    secret_lines_init(&it, text, sizeof(text) - 1);
    assert_int_equal(secret_lines_next(&it, &line, &n), 1);
    assert_int_equal(it.lineno, 3);
    assert_int_equal(n, 3);
    assert_memory_equal(line, "a b", 3);
    assert_int_equal(secret_lines_next(&it, &line, &n), 1);
    assert_int_equal(it.lineno, 5);
    assert_int_equal(n, 3);
    assert_memory_equal(line, "  c", 3);
    assert_int_equal(secret_lines_next(&it, &line, &n), 1);
    assert_int_equal(it.lineno, 7);
    assert_int_equal(n, 5);
    assert_int_equal(secret_lines_next(&it, &line, &n), 0);
    assert_int_equal(secret_lines_next(&it, &line, &n), 0);
}

/* Fields at spaces and tabs; more than max says max + 1. */
static void
test_fields(void **state)
{
    const char *f[2];
    size_t fl[2];
    (void)state;

    assert_int_equal(secret_fields("", 0, f, fl, 2), 0);
    assert_int_equal(secret_fields(" \t ", 3, f, fl, 2), 0);
    assert_int_equal(secret_fields(" ab\tcd ", 7, f, fl, 2), 2);
    assert_int_equal(fl[0], 2);
    assert_memory_equal(f[0], "ab", 2);
    assert_int_equal(fl[1], 2);
    assert_memory_equal(f[1], "cd", 2);
    assert_int_equal(secret_fields("ab cd e", 7, f, fl, 2), 3);
    assert_int_equal(secret_fields("ab cd ", 6, f, fl, 2), 2);
    assert_int_equal(secret_fields("ab", 2, f, fl, 2), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim_same_everywhere),
        cmocka_unit_test(test_mode_refused),
        cmocka_unit_test(test_short_refused),
        cmocka_unit_test(test_not_regular),
        cmocka_unit_test(test_fifo_refused),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests_name("secret", tests, setup, teardown);
}
