/* SPDX-License-Identifier: MIT */
/*
 * render_test: what logq prints for the lines of a context search as the
 * collector sends them (collector/API.md): text groups read top to bottom
 * with "--" between them and ':'/'-' marks, JSON records with "group":N
 * and "context":true and no break lines; without context the JSON line
 * passes unchanged and nothing is added.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "query/render.h"
#include "query/template.h"
#include "query/xreply.h"

#define REC(msg, extra) \
    "{\"time\":\"2026-11-27T13:50:40.123456789Z\",\"host\":\"h\"," \
    "\"container\":\"web\",\"container_id\":\"c1\",\"image\":\"i\"," \
    "\"stream\":\"stdout\",\"message\":\"" msg "\"" extra "}"

/* Two groups of a -B1 -A1 search, as api_logs.c sends them. */
static const char *const ctx_lines[] = {
    REC("a1", ",\"group\":1,\"context\":true"),
    REC("a2", ",\"group\":1"),
    REC("a3", ",\"group\":1,\"context\":true"),
    "{\"break\":true}",
    REC("b1", ",\"group\":2,\"context\":true"),
    REC("b2", ",\"group\":2"),
};

/* Renders lines the way cmd_search.c does; returns out's text. */
static const char *
run(struct buf *out, const char *const *lines, size_t n, int is_json,
    int has_context)
{
    struct render r;
    char err[256];

    render_init(&r, is_json, has_context, 0);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(lines[i]);
        if (xreply_line_kind(lines[i], len, err, sizeof(err)) ==
            XREPLY_BREAK) {
            assert_int_equal(render_break(&r, out), 0);
            continue;
        }
        struct reply_record rr;
        assert_int_equal(reply_record_parse(lines[i], len, &rr, err,
                                            sizeof(err)), 0);
        assert_int_equal(render_record(&r, &rr, out), 0);
        reply_record_fini(&rr);
    }
    assert_int_equal(buf_append(out, "", 1), 0);
    return (const char *)out->data;
}

static void
test_render_text_groups(void **state)
{
    struct buf out;

    (void)state;
    buf_init(&out, 1 << 16);
    assert_string_equal(run(&out, ctx_lines, 6, 0, 1),
                        "2026-11-27T13:50:40.123Z h web- a1\n"
                        "2026-11-27T13:50:40.123Z h web: a2\n"
                        "2026-11-27T13:50:40.123Z h web- a3\n"
                        "--\n"
                        "2026-11-27T13:50:40.123Z h web- b1\n"
                        "2026-11-27T13:50:40.123Z h web: b2\n");
    buf_fini(&out);
}

static void
test_render_json_groups(void **state)
{
    static const int groups[] = { 1, 1, 1, 2, 2 };
    static const int ctx[] = { 1, 0, 1, 1, 0 };
    struct buf out;

    (void)state;
    buf_init(&out, 1 << 16);
    const char *text = run(&out, ctx_lines, 6, 1, 1);
    for (int i = 0; i < 5; i++) {
        const char *nl = strchr(text, '\n');
        json_error_t je;
        assert_non_null(nl);
        json_t *o = json_loadb(text, (size_t)(nl - text), 0, &je);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "group")),
                         groups[i]);
        assert_int_equal(json_is_true(json_object_get(o, "context")),
                         ctx[i]);
        assert_int_equal(json_object_size(o), 8 + (size_t)ctx[i]);
        json_decref(o);
        text = nl + 1;
    }
    assert_string_equal(text, "");      /* no break lines */
    buf_fini(&out);
}

/* Without the collector's group field (an older collector) the groups
 * are counted from the breaks. */
static void
test_render_json_counts_groups(void **state)
{
    static const char *const lines[] = {
        REC("a", ""), "{\"break\":true}", REC("b", ",\"context\":true"),
        "{\"break\":true}", REC("c", ""),
    };
    struct buf out;

    (void)state;
    buf_init(&out, 1 << 16);
    const char *text = run(&out, lines, 5, 1, 1);
    assert_non_null(strstr(text, "\"message\":\"a\",\"group\":1}\n"));
    assert_non_null(strstr(text, "\"message\":\"b\",\"group\":2,"
                                 "\"context\":true}\n"));
    assert_non_null(strstr(text, "\"message\":\"c\",\"group\":3}\n"));
    buf_fini(&out);
}

static void
test_render_no_context(void **state)
{
    static const char *const lines[] = { REC("x", "") };
    struct buf out;

    (void)state;
    buf_init(&out, 1 << 16);
    assert_string_equal(run(&out, lines, 1, 1, 0), REC("x", "") "\n");
    buf_reset(&out);
    assert_string_equal(run(&out, lines, 1, 0, 0),
                        "2026-11-27T13:50:40.123Z h web x\n");
    buf_fini(&out);
}

/* -o raw: the message alone, bytes as they are into a pipe, escaped on a
 * terminal; "--" still separates context groups; --format's template. */
static void
test_render_raw_and_format(void **state)
{
    static const char *const lines[] = {
        REC("a\\u001b[1mb", ""), "{\"break\":true}", REC("c", ""),
    };
    struct render r;
    struct buf out;
    char err[256];

    (void)state;
    for (int pass = 0; pass < 3; pass++) {
        struct template *t = pass == 2 ? template_parse("<{host}:{message}>",
                                                        err, sizeof(err))
                                       : NULL;
        buf_init(&out, 1 << 16);
        render_init(&r, 0, 1, 0);
        r.is_raw = pass < 2;
        r.is_raw_escaped = pass == 1;
        r.tpl = t;
        for (size_t i = 0; i < 3; i++) {
            struct reply_record rr;
            if (i == 1) {
                assert_int_equal(render_break(&r, &out), 0);
                continue;
            }
            assert_int_equal(reply_record_parse(lines[i], strlen(lines[i]),
                                                &rr, err, sizeof(err)), 0);
            assert_int_equal(render_record(&r, &rr, &out), 0);
            reply_record_fini(&rr);
        }
        assert_int_equal(buf_append(&out, "", 1), 0);
        assert_string_equal((char *)out.data,
                            pass == 0 ? "a\033[1mb\n--\nc\n"
                            : pass == 1 ? "a\\x1b[1mb\n--\nc\n"
                            : "<h:a\\x1b[1mb>\n--\n<h:c>\n");
        buf_fini(&out);
        template_free(t);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_text_groups),
        cmocka_unit_test(test_render_json_groups),
        cmocka_unit_test(test_render_json_counts_groups),
        cmocka_unit_test(test_render_no_context),
        cmocka_unit_test(test_render_raw_and_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
