/* SPDX-License-Identifier: MIT */
/*
 * manfmt_test: word wrapping (width, hanging indent, forced breaks, a word
 * longer than the room) and roff escaping (backslash, hyphen, a leading
 * dot or quote on any line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/manfmt.h"

static char *
wrap(const char *s, int col, int indent, int width)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);

    assert_non_null(fp);
    manfmt_wrap(fp, s, col, indent, width);
    assert_int_equal(fclose(fp), 0);
    return text;
}

static void
test_manfmt_wrap(void **state)
{
    (void)state;
    char *t = wrap("aa bb cc dd", 0, 2, 7);
    assert_string_equal(t, "aa bb\n  cc dd\n");
    free(t);
    t = wrap("one\ntwo  three", 4, 4, 40);
    assert_string_equal(t, "one\n    two three\n");
    free(t);
    t = wrap("abcdefghij x", 0, 0, 4);
    assert_string_equal(t, "abcdefghij\nx\n");
    free(t);
    t = wrap("", 0, 0, 4);
    assert_string_equal(t, "\n");
    free(t);
}

static void
test_manfmt_roff(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);

    (void)state;
    assert_non_null(fp);
    manfmt_roff(fp, ".x -a \\d\n'q .y");
    assert_int_equal(fclose(fp), 0);
    assert_string_equal(text, "\\&.x \\-a \\ed\n.br\n\\&'q .y");
    free(text);
}

static void
test_manfmt_value_name(void **state)
{
    (void)state;
    assert_string_equal(manfmt_value_name("data-dir"), "DIR");
    assert_string_equal(manfmt_value_name("docker-root"), "DIR");
    assert_string_equal(manfmt_value_name("token-file"), "FILE");
    assert_string_equal(manfmt_value_name("tls-ca"), "FILE");
    assert_string_equal(manfmt_value_name("host"), "VALUE");
    assert_string_equal(manfmt_value_name("ir"), "VALUE");
    assert_string_equal(manfmt_value_name(""), "VALUE");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manfmt_wrap),
        cmocka_unit_test(test_manfmt_roff),
        cmocka_unit_test(test_manfmt_value_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
