/* SPDX-License-Identifier: MIT */
/*
 * output_test: the text line byte for byte (plain and colored, stderr
 * marking, control-byte escaping), color on/off decisions, color stability,
 * compact time, the JSON line's exact field set and order, ages, aligned
 * tables, and that a full buffer is left unchanged; context marks, the
 * group break, the context JSON flag and histogram rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/record.h"
#include "query/output.h"

/* 2026-11-27T13:50:40.123456789Z */
#define T0  (1795787440LL * 1000000000LL + 123456789LL)
#define SEC 1000000000LL

static struct logrec
rec(const char *msg, uint8_t stream)
{
    struct logrec r;

    memset(&r, 0, sizeof(r));
    r.time_ns = T0;
    r.host = "node1";
    r.container = "web";
    r.container_id = "abc123";
    r.image = "busybox:latest";
    r.stream = stream;
    r.msg = msg;
    r.msg_len = strlen(msg);
    return r;
}

static void
expect_text(const struct logrec *r, int color, const char *want)
{
    struct buf b;

    buf_init(&b, 1 << 16);
    assert_int_equal(output_record_text(&b, r, color), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data, want);
    buf_fini(&b);
}

static void
test_output_text_plain(void **state)
{
    struct logrec r = rec("GET / 200", LOGREC_STDOUT);

    (void)state;
    expect_text(&r, 0, "2026-11-27T13:50:40.123Z node1 web GET / 200\n");
    r = rec("boom", LOGREC_STDERR);         /* no marking without color */
    expect_text(&r, 0, "2026-11-27T13:50:40.123Z node1 web boom\n");
    r = rec("", LOGREC_STDOUT);
    expect_text(&r, 0, "2026-11-27T13:50:40.123Z node1 web \n");
}

static void
test_output_text_escapes_controls(void **state)
{
    struct logrec r = rec("a\nb\rc\td\x1b[31me\x7f" "f\xc2\x9bg\xc3\xa9",
                          LOGREC_STDOUT);

    (void)state;
    expect_text(&r, 0, "2026-11-27T13:50:40.123Z node1 web "
                "a\n                                   "
                "b\\rc\td\\x1b[31me\\x7ff\\u009bg\xc3\xa9\n");
    r.host = "ev\x1bil";
    r.msg = "x\0y";
    r.msg_len = 3;
    expect_text(&r, 0, "2026-11-27T13:50:40.123Z ev\\x1bil web x\\x00y\n");
    r.msg = "trail\xc2";                    /* lone lead byte at the end */
    r.msg_len = 6;
    expect_text(&r, 0, "2026-11-27T13:50:40.123Z ev\\x1bil web trail\\xc2\n");
}

/* A multi-line record (a stack trace joined by the shipper): continuation
 * lines start under the first line's message, also with color and marks
 * (escape sequences take no columns, a UTF-8 name its characters). */
static void
test_output_text_multiline_indented(void **state)
{
    struct logrec r = rec("java.lang.Error: x\n\tat a.B(B.java:1)\n\n",
                          LOGREC_STDOUT);
    struct buf b;

    (void)state;
    expect_text(&r, 0, "2026-11-27T13:50:40.123Z node1 web java.lang.Error: "
                "x\n                                   \tat a.B(B.java:1)\n"
                "                                   \n"
                "                                   \n");
    r.container = "w\xc3\xa9" "b";        /* 3 columns, 4 bytes */
    r.msg = "a\nb";
    r.msg_len = 3;
    buf_init(&b, 4096);
    assert_int_equal(output_record_text_mark(&b, &r, 1, ':'), 0);
    const char *nl = memchr(b.data, '\n', b.len);
    assert_non_null(nl);
    size_t rest = b.len - (size_t)(nl + 1 - (const char *)b.data);
    /* "TIME node1 wéb: " is 24 + 1 + 5 + 1 + 3 + 2 = 36 columns */
    assert_int_equal(rest, 36 + 1 + 1);
    assert_int_equal(strspn(nl + 1, " "), 36);
    /* highlighted: the same indent, also inside a span */
    static const size_t sp[] = { 0, 3 };
    b.len = 0;
    assert_int_equal(output_record_text_spans(&b, &r, 1, ':', sp, 1), 0);
    nl = memchr(b.data, '\n', b.len);
    assert_non_null(nl);
    assert_int_equal(strspn(nl + 1, " "), 36);
    buf_fini(&b);
}

/* A raw C1 byte (0x9b is CSI to an 8-bit terminal) and bytes that are not
 * UTF-8 are escaped too, in the message and in every name. */
static void
test_output_text_escapes_raw_c1_and_invalid(void **state)
{
    struct logrec r = rec("\x1b[2J\x9b" "31m\xff\xfe ok \xe2\x82",
                          LOGREC_STDOUT);

    (void)state;
    r.container = "web\x1b[2J\x9b\xc3";
    r.host = "h\xc2\x85";
    expect_text(&r, 0, "2026-11-27T13:50:40.123Z h\\u0085 "
                "web\\x1b[2J\\x9b\\xc3 "
                "\\x1b[2J\\x9b31m\\xff\\xfe ok \\xe2\\x82\n");
}

static void
test_output_text_color(void **state)
{
    struct logrec r = rec("hi", LOGREC_STDOUT);
    char want[256];

    (void)state;
    snprintf(want, sizeof(want),
             "\033[2m2026-11-27T13:50:40.123Z\033[0m \033[%sm" "node1\033[0m "
             "\033[%smweb\033[0m hi\n", output_color_for("node1"),
             output_color_for("web"));
    expect_text(&r, 1, want);
    r = rec("bad", LOGREC_STDERR);
    snprintf(want, sizeof(want),
             "\033[2m2026-11-27T13:50:40.123Z\033[0m \033[%sm" "node1\033[0m "
             "\033[1;31mweb\033[0m bad\n", output_color_for("node1"));
    expect_text(&r, 1, want);
}

static void
test_output_color_decision(void **state)
{
    (void)state;
    assert_true(output_color_enabled(1, OUTPUT_COLOR_AUTO, NULL));
    assert_true(output_color_enabled(1, OUTPUT_COLOR_AUTO, ""));
    assert_false(output_color_enabled(1, OUTPUT_COLOR_AUTO, "1"));
    assert_false(output_color_enabled(1, OUTPUT_COLOR_NEVER, NULL));
    assert_false(output_color_enabled(0, OUTPUT_COLOR_AUTO, NULL));
    /* always: also into a pipe and over NO_COLOR (a flag beats it) */
    assert_true(output_color_enabled(0, OUTPUT_COLOR_ALWAYS, "1"));
    assert_false(output_color_enabled(1, OUTPUT_COLOR_NEVER, ""));
}

static void
expect_spans(const char *msg, const size_t *sp, size_t n, int color,
             char mark, const char *want_msg)
{
    struct logrec r = rec(msg, LOGREC_STDOUT);
    struct buf b;

    buf_init(&b, 1 << 16);
    assert_int_equal(output_record_text_spans(&b, &r, color, mark, sp, n),
                     0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    const char *m = strrchr((char *)b.data, mark ? mark : ' ');
    if (!color)
        m = (char *)b.data + strlen("2026-11-27T13:50:40.123Z node1 web");
    assert_non_null(m);
    assert_string_equal(m + 1, want_msg);
    buf_fini(&b);
}

/* Highlighting: exactly the spans' bytes in bold red, the rest escaped
 * as without them; edges inside a UTF-8 character move out to it; none
 * without color or on context lines; bad spans are skipped. */
static void
test_output_spans(void **state)
{
    (void)state;
    size_t two[] = { 0, 3, 8, 11 };
    expect_spans("err and err", two, 2, 0, ':', " err and err\n");
    expect_spans("err and err", two, 2, 1, ':',
                 " \033[1;31merr\033[0m and \033[1;31merr\033[0m\n");
    expect_spans("err and err", two, 2, 1, '-',
                 " \033[2merr and err\033[0m\n");
    size_t mid[] = { 2, 3 };        /* inside the 2-byte "é" at 1..3 */
    expect_spans("c\xc3\xa9x", mid, 1, 1, ':',
                 " c\033[1;31m\xc3\xa9\033[0mx\n");
    size_t ctl[] = { 1, 2 };        /* a control byte stays escaped */
    expect_spans("a\rb", ctl, 1, 1, ':', " a\033[1;31m\\r\033[0mb\n");
    size_t bad[] = { 3, 1, 2, 99 }; /* reversed, past the end */
    expect_spans("abcd", bad, 2, 1, ':', " abcd\n");
}

static void
test_output_color_stable_not_red(void **state)
{
    const char *names[] = { "web", "db", "node1", "node2", "", "a", "b",
                            "cache", "worker-1", "worker-2", "x" };
    int n_distinct = 0;
    const char *first = output_color_for(names[0]);

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *c = output_color_for(names[i]);
        assert_string_equal(c, output_color_for(names[i]));
        assert_string_not_equal(c, "31");
        assert_string_not_equal(c, "1;31");
        assert_string_not_equal(c, "91");
        n_distinct += strcmp(c, first) != 0;
    }
    assert_true(n_distinct > 0);    /* not one color for everything */
}

static void
test_output_time_compact(void **state)
{
    char t[40];

    (void)state;
    assert_int_equal(output_time_compact(T0, t), 24);
    assert_string_equal(t, "2026-11-27T13:50:40.123Z");
    assert_int_equal(output_time_compact(0, t), 24);
    assert_string_equal(t, "1970-01-01T00:00:00.000Z");
    output_time_compact(999999999LL, t);     /* truncated, not rounded */
    assert_string_equal(t, "1970-01-01T00:00:00.999Z");
}

static void
test_output_json_exact_fields(void **state)
{
    struct logrec r = rec("say \"hi\"\n\x01", LOGREC_STDERR);
    const char *keys[] = { "time", "host", "container", "container_id",
                           "image", "stream", "message" };
    struct buf b;

    (void)state;
    r.msg_len--;        /* message without its last byte */
    buf_init(&b, 1 << 16);
    assert_int_equal(output_record_json(&b, &r), 0);
    assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
    assert_null(memchr(b.data, '\n', b.len - 1));   /* exactly one line */
    json_t *o = json_loadb((const char *)b.data, b.len, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 7);
    /* order as written */
    const char *p = (const char *)b.data;
    for (size_t i = 0; i < 7; i++) {
        char k[32];
        snprintf(k, sizeof(k), "\"%s\":", keys[i]);
        const char *at = strstr(p, k);
        assert_non_null(at);
        p = at + strlen(k);
    }
    assert_string_equal(json_string_value(json_object_get(o, "time")),
                        "2026-11-27T13:50:40.123456789Z");
    assert_string_equal(json_string_value(json_object_get(o, "stream")),
                        "stderr");
    assert_string_equal(json_string_value(json_object_get(o, "message")),
                        "say \"hi\"\n");
    assert_string_equal(json_string_value(json_object_get(o, "image")),
                        "busybox:latest");
    json_decref(o);
    buf_fini(&b);
}

static void
test_output_record_cap_leaves_buffer(void **state)
{
    struct logrec r = rec("a message that will not fit", LOGREC_STDOUT);
    struct buf b;

    (void)state;
    buf_init(&b, 40);
    assert_int_equal(buf_append(&b, "keep", 4), 0);
    assert_int_equal(output_record_text(&b, &r, 1), -1);
    assert_int_equal(b.len, 4);
    assert_int_equal(output_record_json(&b, &r), -1);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "keep", 4);
    buf_fini(&b);
}

static void
test_output_age(void **state)
{
    char s[64];
    int64_t now = T0;

    (void)state;
    output_age_format(now, now - 3 * SEC, s, sizeof(s));
    assert_string_equal(s, "3s ago");
    output_age_format(now, now, s, sizeof(s));
    assert_string_equal(s, "0s ago");
    output_age_format(now, now + 5 * SEC, s, sizeof(s));    /* skew */
    assert_string_equal(s, "0s ago");
    output_age_format(now, now - 59 * SEC, s, sizeof(s));
    assert_string_equal(s, "59s ago");
    output_age_format(now, now - 60 * SEC, s, sizeof(s));
    assert_string_equal(s, "1m ago");
    output_age_format(now, now - 3599 * SEC, s, sizeof(s));
    assert_string_equal(s, "59m ago");
    output_age_format(now, now - 7200 * SEC, s, sizeof(s));
    assert_string_equal(s, "2h ago");
    output_age_format(now, now - 6 * 86400 * SEC, s, sizeof(s));
    assert_string_equal(s, "6d ago");
    output_age_format(now, now - 7 * 86400 * SEC, s, sizeof(s));
    assert_string_equal(s, "2026-11-20T13:50:40.123Z");
    output_age_format(now, now + 3600 * SEC, s, sizeof(s));
    assert_string_equal(s, "2026-11-27T14:50:40.123Z");
    output_age_format(now, -1, s, sizeof(s));
    assert_string_equal(s, "-");
    /* a server's time before 1970 far enough that now - t overflows
     * (fuzz_reply: a hosts table's last_seen in 1702) */
    output_age_format(now, -8428702162000000000LL, s, sizeof(s));
    assert_string_equal(s, "-");
    output_age_format(now, INT64_MIN, s, sizeof(s));
    assert_string_equal(s, "-");
}

/* Server names with terminal escapes, C1 and invalid UTF-8 are shown
 * escaped, never dropped and never as raw control bytes. */
static void
test_output_table_escapes_names(void **state)
{
    struct output_table t;
    struct buf b;
    const char *r0[] = { "NAME", "N" };
    const char *r1[] = { "a\x1b[2J", "1" };
    const char *r2[] = { "b\x9b\xff", "2" };
    const char *r3[] = { "c\xc2\x9b\tx", "3" };

    (void)state;
    output_table_init(&t, 2, 0x2);
    output_table_add(&t, r0);
    output_table_add(&t, r1);
    output_table_add(&t, r2);
    output_table_add(&t, r3);
    buf_init(&b, 4096);
    assert_int_equal(output_table_format(&t, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
                        "NAME        N\n"
                        "a\\x1b[2J    1\n"
                        "b\\x9b\\xff   2\n"
                        "c\\u009b\\tx  3\n");
    buf_fini(&b);
    output_table_fini(&t);
}

static void
test_output_table_aligned(void **state)
{
    struct output_table t;
    struct buf b;
    const char *r0[] = { "HOST", "LINES", "LAST SEEN" };
    const char *r1[] = { "node1", "5", "3s ago" };
    const char *r2[] = { "n2", "12345", "1m ago" };
    const char *r3[] = { "bad\x1bname", "0", "-" };

    (void)state;
    output_table_init(&t, 3, 0x2);
    output_table_add(&t, r0);
    output_table_add(&t, r1);
    output_table_add(&t, r2);
    output_table_add(&t, r3);
    buf_init(&b, 4096);
    assert_int_equal(output_table_format(&t, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
                        "HOST         LINES  LAST SEEN\n"
                        "node1            5  3s ago\n"
                        "n2           12345  1m ago\n"
                        "bad\\x1bname      0  -\n");
    buf_reset(&b);
    b.max = 10;
    assert_int_equal(output_table_format(&t, &b), -1);
    buf_fini(&b);
    output_table_fini(&t);
}

static void
test_output_table_empty_and_wide(void **state)
{
    struct output_table t;
    struct buf b;
    char wide[100];
    const char *r[] = { "", wide };

    (void)state;
    memset(wide, 'w', sizeof(wide) - 1);
    wide[sizeof(wide) - 1] = '\0';
    output_table_init(&t, 2, 0x1);
    buf_init(&b, 4096);
    assert_int_equal(output_table_format(&t, &b), 0);
    assert_int_equal(b.len, 0);
    for (int i = 0; i < 40; i++)        /* grows past the first capacity */
        output_table_add(&t, r);
    assert_int_equal(output_table_format(&t, &b), 0);
    assert_int_equal(b.len, 40 * (2 + 99 + 1));
    buf_fini(&b);
    output_table_fini(&t);
}

static void
test_output_context_marks(void **state)
{
    struct logrec r = rec("GET / 200", LOGREC_STDOUT);
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 16);
    assert_int_equal(output_record_text_mark(&b, &r, 0, ':'), 0);
    assert_int_equal(output_record_text_mark(&b, &r, 0, '-'), 0);
    assert_int_equal(output_group_break(&b, 0), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
                        "2026-11-27T13:50:40.123Z node1 web: GET / 200\n"
                        "2026-11-27T13:50:40.123Z node1 web- GET / 200\n"
                        "--\n");
    buf_reset(&b);
    /* Color: the context message is dimmed, the break is cyan. */
    assert_int_equal(output_record_text_mark(&b, &r, 1, '-'), 0);
    assert_int_equal(output_group_break(&b, 1), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((char *)b.data, "\033[0m- \033[2mGET / 200"
                                           "\033[0m\n"));
    assert_non_null(strstr((char *)b.data, "\033[36m--\033[0m\n"));
    buf_fini(&b);
    /* A full buffer is left as it was. */
    buf_init(&b, 20);
    assert_int_equal(output_record_text_mark(&b, &r, 0, ':'), -1);
    assert_int_equal(b.len, 0);
    buf_fini(&b);
}

static void
test_output_json_group(void **state)
{
    struct logrec r = rec("x", LOGREC_STDERR);
    struct buf b;
    json_error_t je;

    (void)state;
    for (int is_ctx = 0; is_ctx <= 1; is_ctx++) {
        buf_init(&b, 1 << 16);
        assert_int_equal(output_record_json_group(&b, &r, 12, is_ctx), 0);
        assert_int_equal(b.data[b.len - 1], '\n');
        json_t *o = json_loadb((const char *)b.data, b.len, 0, &je);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "group")),
                         12);
        assert_int_equal(json_is_true(json_object_get(o, "context")),
                         is_ctx);
        assert_int_equal(json_object_size(o), 8 + (size_t)is_ctx);
        assert_string_equal(json_string_value(json_object_get(o, "stream")),
                            "stderr");
        json_decref(o);
        buf_fini(&b);
    }
    buf_init(&b, 1 << 16);      /* room for the record, not the fields */
    assert_int_equal(output_record_json(&b, &r), 0);
    size_t len = b.len;
    b.max = 2 * len + 5;
    assert_int_equal(output_record_json_group(&b, &r, 1, 1), -1);
    assert_int_equal(b.len, len);
    buf_fini(&b);
}

static void
test_output_hist_rows(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 16);
    assert_int_equal(output_hist_row(&b, 1795787400000LL, 10, 10, 3, 5), 0);
    assert_int_equal(output_hist_row(&b, 1795787460000LL, 1, 10, 3, 5), 0);
    assert_int_equal(output_hist_row(&b, 1795787520000LL, 0, 10, 3, 5), 0);
    assert_int_equal(output_hist_row(&b, 1795787580000LL, 0, 0, 3, 5), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
                        "2026-11-27T13:50:00.000Z  10 #####\n"
                        "2026-11-27T13:51:00.000Z   1 #\n"
                        "2026-11-27T13:52:00.000Z   0\n"
                        "2026-11-27T13:53:00.000Z   0\n");
    /* A bucket starting before INT64_MIN ns (a record a sender stamped
     * in 1677, under a 127-week step) or past INT64_MAX: no overflow
     * (UBSan aborts here without the clamp), shown from the int64 end. */
    b.len = 0;
    assert_int_equal(output_hist_row(&b, INT64_MIN / 1000000 - 86400000LL,
                                     1, 1, 1, 1), 0);
    assert_int_equal(output_hist_row(&b, INT64_MAX / 1000000 + 1, 1, 1, 1,
                                     1), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((char *)b.data, "1677-09-21T00:12:43.145Z 1 #\n"));
    assert_non_null(strstr((char *)b.data, "2262-04-11T23:47:16.854Z 1 #\n"));
    buf_fini(&b);
}

static void
test_output_json_line_cap(void **state)
{
    struct buf b;
    const char *l = "{\"time\":\"x\"}";

    (void)state;
    buf_init(&b, 16);
    assert_int_equal(output_json_line(&b, l, strlen(l)), 0);
    assert_int_equal(b.len, strlen(l) + 1);
    assert_memory_equal(b.data, "{\"time\":\"x\"}\n", b.len);
    /* does not fit: -1, buffer as it was */
    assert_int_equal(output_json_line(&b, l, strlen(l)), -1);
    assert_int_equal(b.len, strlen(l) + 1);
    assert_memory_equal(b.data, "{\"time\":\"x\"}\n", b.len);
    buf_fini(&b);
}

/* Local time (--local, or TZ on a terminal): the zone's offset, ms. */
static void
test_output_local_time(void **state)
{
    (void)state;
    char t[40];

    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    output_time_set_local(1);
    output_time_compact(T0, t);
    assert_string_equal(t, "2026-11-27T14:50:40.123+01:00");
    output_time_compact(T0 - 150LL * 86400 * SEC, t);   /* summer */
    assert_string_equal(t, "2026-06-30T15:50:40.123+02:00");
    setenv("TZ", "America/St_Johns", 1);                /* -03:30 */
    tzset();
    output_time_compact(T0, t);
    assert_string_equal(t, "2026-11-27T10:20:40.123-03:30");
    output_time_set_local(0);
    output_time_compact(T0, t);
    assert_string_equal(t, "2026-11-27T13:50:40.123Z");
    setenv("TZ", "UTC", 1);
    tzset();
}

/* Names padded to a run's widths (columns, after the mark), so messages
 * line up; a longer name stays whole; color does not count. */
static void
test_output_widths(void **state)
{
    (void)state;
    struct logrec r = rec("m", LOGREC_STDOUT);
    struct output_widths w = { 7, 5 };
    struct buf b;

    buf_init(&b, 1 << 16);
    assert_int_equal(output_record_text_cols(&b, &r, 0, 0, NULL, 0, &w), 0);
    assert_int_equal(output_record_text_cols(&b, &r, 0, ':', NULL, 0, &w),
                     0);
    r.host = "a-much-longer-host";
    r.container = "caf\xc3\xa9";          /* 4 columns */
    assert_int_equal(output_record_text_cols(&b, &r, 0, '-', NULL, 0, &w),
                     0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
                        "2026-11-27T13:50:40.123Z node1   web   m\n"
                        "2026-11-27T13:50:40.123Z node1   web:   m\n"
                        "2026-11-27T13:50:40.123Z a-much-longer-host "
                        "caf\xc3\xa9-  m\n");
    buf_reset(&b);
    r.host = "node1";
    r.container = "web";
    assert_int_equal(output_record_text_cols(&b, &r, 1, 0, NULL, 0, &w), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((char *)b.data, "\033[0m   \033["));
    assert_non_null(strstr((char *)b.data, "web\033[0m   m"));
    buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_text_plain),
        cmocka_unit_test(test_output_context_marks),
        cmocka_unit_test(test_output_json_group),
        cmocka_unit_test(test_output_hist_rows),
        cmocka_unit_test(test_output_text_escapes_controls),
        cmocka_unit_test(test_output_text_multiline_indented),
        cmocka_unit_test(test_output_text_escapes_raw_c1_and_invalid),
        cmocka_unit_test(test_output_table_escapes_names),
        cmocka_unit_test(test_output_text_color),
        cmocka_unit_test(test_output_color_decision),
        cmocka_unit_test(test_output_spans),
        cmocka_unit_test(test_output_local_time),
        cmocka_unit_test(test_output_widths),
        cmocka_unit_test(test_output_color_stable_not_red),
        cmocka_unit_test(test_output_time_compact),
        cmocka_unit_test(test_output_json_exact_fields),
        cmocka_unit_test(test_output_record_cap_leaves_buffer),
        cmocka_unit_test(test_output_age),
        cmocka_unit_test(test_output_table_aligned),
        cmocka_unit_test(test_output_table_empty_and_wide),
        cmocka_unit_test(test_output_json_line_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
