/* SPDX-License-Identifier: MIT */
/*
 * template_test: every placeholder, literal braces and backslash escapes,
 * escaping of values (not of the template's text), labels present and
 * absent, and the parse errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "query/output.h"
#include "query/template.h"

static const char line[] =
    "{\"time\":\"2026-11-27T13:50:40.123456789Z\",\"host\":\"node1\","
    "\"container\":\"web\",\"container_id\":\"abc\",\"image\":\"nginx:1\","
    "\"stream\":\"stderr\",\"message\":\"GET /\\u001b[2J\\tx\","
    "\"labels\":{\"app\":\"shop\",\"com.docker.compose.service\":\"web\"}}";

static void
expect_on(const char *rec, const char *tpl, const char *want)
{
    struct reply_record rr;
    char err[256];
    struct buf b;

    assert_int_equal(reply_record_parse(rec, strlen(rec), &rr, err,
                                        sizeof(err)), 0);
    struct template *t = template_parse(tpl, err, sizeof(err));
    if (t == NULL)
        fail_msg("'%s': %s", tpl, err);
    buf_init(&b, 4096);
    assert_int_equal(template_render(t, &rr, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data, want);
    buf_fini(&b);
    template_free(t);
    reply_record_fini(&rr);
}

static void
expect(const char *tpl, const char *want)
{
    expect_on(line, tpl, want);
}

/* {field.NAME}: JSON (nested, decoded, escaped for the terminal), logfmt,
 * and plain text (""). */
static void
test_template_fields(void **state)
{
    static const char json[] =
        "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"n\",\"container\":"
        "\"c\",\"stream\":\"stdout\",\"message\":\"{\\\"level\\\":"
        "\\\"error\\\",\\\"user\\\":{\\\"id\\\":42},\\\"m\\\":"
        "\\\"a\\\\u001bb\\\"}\"}";
    static const char logfmt[] =
        "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"n\",\"container\":"
        "\"c\",\"stream\":\"stdout\",\"message\":\"level=warn "
        "msg=\\\"x y\\\"\"}";

    (void)state;
    expect_on(json, "{field.level} {field.user.id} {field.m}|{field.no}|",
              "error 42 a\\x1bb||\n");
    expect_on(logfmt, "{field.level}:{field.msg}", "warn:x y\n");
    expect("[{field.level}]", "[]\n");
}

static void
test_template_placeholders(void **state)
{
    (void)state;
    output_time_set_local(0);
    expect("{time} {host} {container} {message}",
           "2026-11-27T13:50:40.123Z node1 web GET /\\x1b[2J\tx\n");
    expect("{container_id}|{image}|{stream}", "abc|nginx:1|stderr\n");
    expect("{label.app}/{label.com.docker.compose.service}/{label.none}.",
           "shop/web/.\n");
    expect("{{x}} \\t\\\\ {{{host}}}", "{x} \t\\ {node1}\n");
    expect("", "\n");
    expect("plain\\n", "plain\n\n");
}

static void
test_template_errors(void **state)
{
    (void)state;
    static const struct { const char *tpl, *err; } bad[] = {
        { "{nope}", "unknown placeholder {nope} (known: time, host," },
        { "{host", "unterminated { at offset 0" },
        { "a } b", "single } at offset 2" },
        { "{label.}", "unknown placeholder {label.}" },
        { "{field.}", "label.KEY, field.NAME)" },
        { "{}", "unknown placeholder {}" },
        /* the error is one line: the name comes escaped */
        { "{a\nb}", "unknown placeholder {a\\nb} (known:" },
        { "{a\x1b[2J}", "unknown placeholder {a\\x1b[2J} (known:" },
    };
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(template_parse(bad[i].tpl, err, sizeof(err)));
        if (strstr(err, bad[i].err) == NULL)
            fail_msg("'%s': '%s'", bad[i].tpl, err);
    }
    char big[TEMPLATE_MAX_SEGS * 8 + 1] = "";
    for (int i = 0; i <= TEMPLATE_MAX_SEGS; i++)
        memcpy(big + 6 * i, "{host}", 7);
    assert_null(template_parse(big, err, sizeof(err)));
    assert_non_null(strstr(err, "template too long"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_placeholders),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_template_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
