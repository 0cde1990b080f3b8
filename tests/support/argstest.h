/* SPDX-License-Identifier: MIT */
/*
 * argstest: what query/args_test.c and args_cmd_test.c share: the fixed
 * "now" the time expressions are read against, the search parser run on
 * a word list (PARSE_OK: no error allowed), an expected error, and the
 * exact request target an argument set builds. Test-only, header-only.
 */
#ifndef TESTS_SUPPORT_ARGSTEST_H
#define TESTS_SUPPORT_ARGSTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/args.h"

/* 2026-11-27T13:50:40Z */
#define NOW  (1795787440LL * 1000000000LL)
#define SEC  1000000000LL

static inline int
parse(struct search_args *a, char *err, size_t errlen, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;

    argv[argc++] = "logq";
    va_start(ap, errlen);
    for (char *s; (s = va_arg(ap, char *)) != NULL;)
        argv[argc++] = s;
    va_end(ap);
    argv[argc] = NULL;
    return args_search_parse(argc, argv, 1, NOW, a, err, errlen);
}

#define PARSE_OK(a, ...) do {                                           \
        char err_[256] = "";                                            \
        int rc_ = parse(a, err_, sizeof(err_), __VA_ARGS__, NULL);      \
        if (rc_ != 0)                                                   \
            fail_msg("unexpected error: %s", err_);                     \
    } while (0)

static inline void
expect_err(const char *want, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    struct search_args a;
    char err[256] = "";

    argv[argc++] = "logq";
    va_start(ap, want);
    for (char *s; (s = va_arg(ap, char *)) != NULL;)
        argv[argc++] = s;
    va_end(ap);
    argv[argc] = NULL;
    assert_int_equal(args_search_parse(argc, argv, 1, NOW, &a, err,
                                       sizeof(err)), -1);
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' does not contain '%s'", err, want);
}

static inline void
expect_target(const struct search_args *a, enum args_target kind,
              int64_t since, const char *want)
{
    struct buf b;

    buf_init(&b, 4096);
    assert_int_equal(args_target_format(a, kind, since, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data, want);
    buf_fini(&b);
}

#endif
