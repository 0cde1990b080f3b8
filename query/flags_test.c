/* SPDX-License-Identifier: MIT */
/*
 * flags_test: the table's own rules (no name twice for one command, an
 * alias follows a row of the same id and commands, every row documented),
 * lookups by command, and that --help, the man page and the completion
 * list of each command name every flag that command accepts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/flags.h"
#include "query/usage.h"

static const unsigned flags_cmds_all[] = {
    FLAGS_SEARCH, FLAGS_COUNT, FLAGS_HISTOGRAM, FLAGS_HOSTS,
    FLAGS_CONTAINERS, FLAGS_HEALTH, FLAGS_STATS, FLAGS_METRICS,
};
#define N_CMDS (sizeof(flags_cmds_all) / sizeof(flags_cmds_all[0]))

static void
test_flags_table_rules(void **state)
{
    (void)state;
    for (const struct flags_def *d = flags_defs; d->id != 0; d++) {
        assert_non_null(d->long_name);
        assert_true((d->arg != NULL) == (d->has_arg != 0));
        if (d->help == NULL) {          /* an alias of the row before */
            assert_true(d > flags_defs);
            assert_int_equal(d[-1].id, d->id);
            assert_int_equal(d[-1].cmds, d->cmds);
        }
        for (size_t k = 0; k < N_CMDS; k++) {
            unsigned c = flags_cmds_all[k];
            if ((d->cmds & c) == 0)
                continue;
            /* the first row of this name/letter for c is this one */
            assert_ptr_equal(flags_find_long(c, d->long_name,
                                             strlen(d->long_name)), d);
            if (d->short_name != 0)
                assert_ptr_equal(flags_find_short(c, d->short_name), d);
        }
    }
}

static void
test_flags_find_by_command(void **state)
{
    (void)state;
    const struct flags_def *h = flags_find_long(FLAGS_HISTOGRAM, "step", 4);
    const struct flags_def *m = flags_find_long(FLAGS_METRICS, "step", 4);
    assert_non_null(h);
    assert_non_null(m);
    assert_ptr_not_equal(h, m);
    assert_null(flags_find_long(FLAGS_SEARCH, "step", 4));
    assert_null(flags_find_long(FLAGS_HEALTH, "host", 4));
    assert_null(flags_find_long(FLAGS_SEARCH, "ste", 3));
    assert_null(flags_find_short(FLAGS_COUNT, 'n'));
    assert_int_equal(flags_find_short(FLAGS_SEARCH, 'n')->id, FLAGS_O_LIMIT);
    /* before the command name: the options every command takes */
    assert_non_null(flags_find_long(FLAGS_BEFORE_CMD, "server", 6));
    assert_null(flags_find_long(FLAGS_BEFORE_CMD, "help", 4));
}

static char *
print_to_string(void (*fn)(FILE *, unsigned, unsigned), unsigned cmd)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);

    assert_non_null(fp);
    fn(fp, cmd, 0);
    assert_int_equal(fclose(fp), 0);
    return text;
}

static void
list_print(FILE *fp, unsigned cmd, unsigned skip)
{
    (void)skip;
    flags_list_print(fp, cmd);
}

/* "--name" followed by a character that cannot continue a flag name
 * (for roff, "\-" continues it). */
static int
has_flag(const char *text, const char *dashes, const char *name)
{
    size_t n = strlen(name), dn = strlen(dashes);

    for (const char *p = strstr(text, dashes); p != NULL;
         p = strstr(p + 1, dashes))
        if (strncmp(p + dn, name, n) == 0 &&
            strchr("-abcdefghijklmnopqrstuvwxyz", p[dn + n]) == NULL &&
            strncmp(p + dn + n, "\\-", 2) != 0)
            return 1;
    return 0;
}

static void
test_flags_every_flag_printed(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_CMDS; k++) {
        unsigned c = flags_cmds_all[k];
        char *help = print_to_string(flags_help_print, c);
        char *man = print_to_string(flags_man_print, c);
        char *list = print_to_string(list_print, c);
        for (const struct flags_def *d = flags_defs; d->id != 0; d++) {
            if ((d->cmds & c) == 0)
                continue;
            assert_true(has_flag(help, "--", d->long_name));
            char roff[64];
            size_t n = 0;
            for (const char *q = d->long_name; *q != '\0'; q++) {
                if (*q == '-')
                    roff[n++] = '\\';
                roff[n++] = *q;
            }
            roff[n] = '\0';
            assert_true(has_flag(man, "\\-\\-", roff));
            assert_true(has_flag(list, "--", d->long_name));
        }
        free(help);
        free(man);
        free(list);
    }
}

static void
test_flags_help_wraps(void **state)
{
    (void)state;
    char *help = print_to_string(flags_help_print, FLAGS_SEARCH);
    for (const char *p = help; *p != '\0'; p += strcspn(p, "\n") + 1) {
        assert_true(strcspn(p, "\n") <= 79);
        if (p[strcspn(p, "\n")] == '\0')
            break;
    }
    free(help);
}

static void
test_usage_complete(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);

    (void)state;
    assert_int_equal(usage_complete_print(fp, "commands", NULL), 0);
    assert_int_equal(usage_complete_print(fp, "flags", "health"), 0);
    assert_int_equal(usage_complete_print(fp, "flags", "nope"), -1);
    assert_int_equal(usage_complete_print(fp, "nope", NULL), -1);
    assert_int_equal(fclose(fp), 0);
    assert_non_null(strstr(text, "hosts\tlist hosts"));
    assert_non_null(strstr(text, "--server\tURL\n"));
    assert_null(strstr(text, "--regex"));
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_table_rules),
        cmocka_unit_test(test_flags_find_by_command),
        cmocka_unit_test(test_flags_every_flag_printed),
        cmocka_unit_test(test_flags_help_wraps),
        cmocka_unit_test(test_usage_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
