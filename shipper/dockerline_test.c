/* SPDX-License-Identifier: MIT */
/*
 * dockerline_test: unit tests for the json-file line scanner. Fixed cases
 * (escapes, UTF-8 repair, CRLF, partial lines, key order, skipped values,
 * every malformed class, the msg cap), then a differential test against
 * jansson: corpus lines, random bytes and random Unicode are wrapped with
 * json_dumps and decoded by both. The corpus is $LOGQ_CORPUS (an absolute
 * path: tests/run-unit.sh finds it beside the source tree whatever the
 * current directory), else ../shared/corpus from the current directory. A
 * corpus that is not there fails the test; only LOGQ_CORPUS=none skips it
 * (a choice: run-unit.sh makes it, with a warning, when no corpus exists
 * beside the tree). Ends with a throughput figure (printed, not asserted).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/record.h"
#include "common/xmalloc.h"
#include "shipper/dockerline.h"
#include "tests/support/testrng.h"

#define T_TIME "\"time\":\"2026-11-27T13:50:40.123456789Z\""
#define T_TIME_NS INT64_C(1795787440123456789)

static struct buf msg;

static int
setup(void **state)
{
    buf_init(&msg, 1 << 22);
    return 0;
}

static int
teardown(void **state)
{
    buf_fini(&msg);
    return 0;
}

/* Parses s (NUL-terminated) into a reset msg; asserts the return is 0. */
static struct dockerline
parse_ok(const char *s)
{
    struct dockerline dl;

    buf_reset(&msg);
    memset(&dl, 0xa5, sizeof(dl));
    assert_int_equal(dockerline_parse(s, strlen(s), &msg, &dl), 0);
    return dl;
}

static void
assert_msg(const char *want, size_t want_len)
{
    assert_int_equal(msg.len, want_len);
    if (want_len)
        assert_memory_equal(msg.data, want, want_len);
}

#define ASSERT_MSG(lit) assert_msg(lit, sizeof(lit) - 1)

static void
assert_raw(const char *s)
{
    struct dockerline dl = parse_ok(s);

    if (dl.flags != LOGREC_F_RAW)
        fail_msg("not RAW: %s", s);
    assert_int_equal(dl.stream, LOGREC_STDOUT);
    assert_int_equal(dl.time_ns, 0);
    assert_msg(s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* Well-formed lines                                                   */
/* ------------------------------------------------------------------ */

static void
test_dockerline_basic(void **state)
{
    struct dockerline dl = parse_ok(
        "{\"log\":\"hello world\\n\",\"stream\":\"stdout\"," T_TIME "}");
    ASSERT_MSG("hello world");
    assert_int_equal(dl.stream, LOGREC_STDOUT);
    assert_int_equal(dl.flags, 0);
    assert_int_equal(dl.is_partial, 0);
    assert_true(dl.time_ns == T_TIME_NS);

    dl = parse_ok("{\"log\":\"oops\\n\",\"stream\":\"stderr\"," T_TIME "}");
    ASSERT_MSG("oops");
    assert_int_equal(dl.stream, LOGREC_STDERR);
}

static void
test_dockerline_appends(void **state)
{
    const char *s = "{\"log\":\"b\\n\",\"stream\":\"stdout\"," T_TIME "}";
    struct dockerline dl;

    buf_reset(&msg);
    assert_int_equal(buf_append(&msg, "a", 1), 0);
    assert_int_equal(dockerline_parse(s, strlen(s), &msg, &dl), 0);
    ASSERT_MSG("ab");
}

static void
test_dockerline_escapes(void **state)
{
    struct dockerline dl = parse_ok(
        "{\"log\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u0041\\u00e9\\u20AC"
        "\\ud83d\\ude00 \\u0000z\\n\",\"stream\":\"stdout\"," T_TIME "}");
    ASSERT_MSG("q\" b\\ s/ \b\f\n\r\t A\xc3\xa9\xe2\x82\xac"
               "\xf0\x9f\x98\x80 \0z");
    assert_int_equal(dl.flags, 0);
}

static void
test_dockerline_lone_surrogates(void **state)
{
    static const struct {
        const char *in, *want;
    } c[] = {
        {"\\ud800x", "\xef\xbf\xbdx"},
        {"\\udc00x", "\xef\xbf\xbdx"},
        {"\\ud800\\u0041", "\xef\xbf\xbd" "A"},
        {"\\ud800\\ud800\\udc00", "\xef\xbf\xbd\xf0\x90\x80\x80"},
        {"\\udbff", "\xef\xbf\xbd"},
        {"\\ud83d\\n", "\xef\xbf\xbd\n"},
    };
    char line[256];

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"log\":\"%s\\n\",\"stream\":\"stdout\"," T_TIME "}",
                 c[i].in);
        struct dockerline dl = parse_ok(line);
        assert_int_equal(dl.flags, LOGREC_F_INVALID_UTF8);
        assert_msg(c[i].want, strlen(c[i].want));
    }
}

static void
test_dockerline_invalid_utf8(void **state)
{
    /* expectations checked against Python's decode(errors="replace") */
    static const struct {
        const char *in, *want;
        int is_bad;
    } c[] = {
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac"
         "\xf0\x9f\x98\x80", 0},
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", 0},
        {"a\x80z", "a\xef\xbf\xbdz", 1},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", 1},
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 1},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 1},
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
         "\xef\xbf\xbd", 1},
        {"\xf5\xff", "\xef\xbf\xbd\xef\xbf\xbd", 1},
        {"x\xe2\x82", "x\xef\xbf\xbd", 1},
        {"\xf0\x9f\x98x", "\xef\xbf\xbdx", 1},
        {"\xc3", "\xef\xbf\xbd", 1},
    };
    char line[256];

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"log\":\"%s\\n\",\"stream\":\"stdout\"," T_TIME "}",
                 c[i].in);
        struct dockerline dl = parse_ok(line);
        assert_int_equal(dl.flags, c[i].is_bad ? LOGREC_F_INVALID_UTF8 : 0);
        assert_msg(c[i].want, strlen(c[i].want));
        /* at the very end of the text, before the closing quote */
        snprintf(line, sizeof(line),
                 "{\"stream\":\"stdout\"," T_TIME ",\"log\":\"%s\"}", c[i].in);
        dl = parse_ok(line);
        assert_int_equal(dl.is_partial, 1);
        assert_msg(c[i].want, strlen(c[i].want));
    }
}

static void
test_dockerline_line_endings(void **state)
{
    static const struct {
        const char *in, *want;
        int is_partial;
        int eol_len;        /* bytes stripped: tail_read.c joins by it */
    } c[] = {
        {"a\\r\\n", "a", 0, 2},     {"a\\r", "a\\r", 1, 0},
        {"a\\n\\n", "a\\n", 0, 1},  {"a\\r\\r\\n", "a\\r", 0, 2},
        {"\\r\\n", "", 0, 2},       {"\\n", "", 0, 1},
        {"", "", 1, 0},             {"\\n\\r", "\\n\\r", 1, 0},
        {"a\\rb\\n", "a\\rb", 0, 1}, {"abc", "abc", 1, 0},
    };
    char line[128], want[32];

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"log\":\"%s\",\"stream\":\"stdout\"," T_TIME "}", c[i].in);
        struct dockerline dl = parse_ok(line);
        assert_int_equal(dl.is_partial, c[i].is_partial);
        assert_int_equal(dl.eol_len, c[i].eol_len);
        /* the wanted text is written with JSON escapes too */
        size_t n = 0;
        for (const char *p = c[i].want; *p; p++) {
            if (*p == '\\') {
                p++;
                want[n++] = *p == 'n' ? '\n' : '\r';
            } else {
                want[n++] = *p;
            }
        }
        assert_msg(want, n);
    }
}

static void
test_dockerline_partial_16k(void **state)
{
    size_t n = 16384;
    char *text = xmalloc(n);
    struct buf line;

    for (size_t i = 0; i < n; i++)
        text[i] = (char)('a' + i % 26);
    buf_init(&line, 1 << 20);
    assert_int_equal(buf_append(&line, "{\"log\":\"", 8), 0);
    assert_int_equal(buf_append(&line, text, n), 0);
    const char *tail = "\",\"stream\":\"stdout\"," T_TIME "}";
    assert_int_equal(buf_append(&line, tail, strlen(tail)), 0);

    struct dockerline dl;
    buf_reset(&msg);
    assert_int_equal(dockerline_parse((char *)line.data, line.len, &msg, &dl),
                     0);
    assert_int_equal(dl.is_partial, 1);
    assert_int_equal(dl.flags, 0);
    assert_msg(text, n);
    buf_fini(&line);
    free(text);
}

static void
test_dockerline_key_order(void **state)
{
    static const char *f[3] = {"\"log\":\"x\\n\"", "\"stream\":\"stderr\"",
                               T_TIME};
    static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    char line[256];

    for (int i = 0; i < 6; i++) {
        snprintf(line, sizeof(line), "{%s,%s,%s}", f[perm[i][0]],
                 f[perm[i][1]], f[perm[i][2]]);
        struct dockerline dl = parse_ok(line);
        assert_int_equal(dl.flags, 0);
        assert_int_equal(dl.stream, LOGREC_STDERR);
        assert_true(dl.time_ns == T_TIME_NS);
        ASSERT_MSG("x");
    }
}

static void
test_dockerline_attrs_and_unknown_keys(void **state)
{
    struct dockerline dl;

    /* a bad escape inside a skipped value still makes the line RAW */
    assert_raw("{\"log\":\"yes\\n\",\"stream\":\"stdout\"," T_TIME
               ",\"e\":\"\\x\"}");

    dl = parse_ok("{\"attrs\":{\"tag\":\"web\",\"n\":{\"x\":[1,-2.5e+3,1E-2]},"
                  "\"log\":\"not this\"},\"log\":\"yes\\n\",\"a\":[],\"b\":{},"
                  "\"c\":[true,false,null,[[{}]],\"s\\\"\\u0041\"],"
                  "\"\\u006cogx\":1,\"stream\":\"stdout\",\"d\":-0," T_TIME
                  ",\"e\":\"\xff\"}");
    assert_int_equal(dl.flags, 0);
    ASSERT_MSG("yes");

    /* an escaped key name still names the field */
    dl = parse_ok("{\"\\u006cog\":\"esc\\n\",\"str\\u0065am\":\"stdout\","
                  T_TIME "}");
    assert_int_equal(dl.flags, 0);
    ASSERT_MSG("esc");
}

static void
test_dockerline_whitespace(void **state)
{
    struct dockerline dl = parse_ok(
        " \t{ \"log\" :\r\n \"w\\n\" ,\t\"stream\"\n:\"stderr\" , \"time\" : "
        "\"2026-11-27T13:50:40.123456789Z\" , \"attrs\" : { } }  \r");
    assert_int_equal(dl.flags, 0);
    assert_int_equal(dl.stream, LOGREC_STDERR);
    ASSERT_MSG("w");
}

static void
test_dockerline_times(void **state)
{
    static const struct {
        const char *t;
        int64_t ns;
    } c[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T00:00:00.000000001Z", 1},
        {"1969-12-31T23:59:59.5Z", -500000000},
        {"2026-11-27T13:50:40.123456789Z", T_TIME_NS},
        {"2026-11-27t13:50:40.123456789z", T_TIME_NS},
        {"2026-11-27T15:50:40.123456789+02:00", T_TIME_NS},
        {"2026-11-27T08:20:40.123456789-05:30", T_TIME_NS},
        {"2024-02-29T12:00:00Z", INT64_C(1709208000) * 1000000000},
        {"2000-03-01T00:00:00.1Z", INT64_C(951868800100000000)},
        {"2262-04-11T23:47:16.854775807Z", INT64_MAX},
        {"1677-09-21T00:12:43.145224192Z", INT64_MIN},
    };
    char line[160];

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"%s\"}",
                 c[i].t);
        struct dockerline dl = parse_ok(line);
        if (dl.flags != 0 || dl.time_ns != c[i].ns)
            fail_msg("time %s: flags %d ns %lld", c[i].t, dl.flags,
                     (long long)dl.time_ns);
    }
}

/* ------------------------------------------------------------------ */
/* Malformed lines                                                     */
/* ------------------------------------------------------------------ */

#define LOG_OK "\"log\":\"x\\n\""
#define STREAM_OK "\"stream\":\"stdout\""

static void
test_dockerline_malformed(void **state)
{
    static const char *c[] = {
        "", " ", "not json", "[]", "\"str\"", "{}", "{", "}", "null",
        /* missing or wrongly typed fields */
        "{" STREAM_OK "," T_TIME "}",
        "{" LOG_OK "," T_TIME "}",
        "{" LOG_OK "," STREAM_OK "}",
        "{\"log\":1," STREAM_OK "," T_TIME "}",
        "{\"log\":null," STREAM_OK "," T_TIME "}",
        "{\"log\":[\"x\"]," STREAM_OK "," T_TIME "}",
        "{" LOG_OK ",\"stream\":null," T_TIME "}",
        "{" LOG_OK ",\"stream\":\"stdin\"," T_TIME "}",
        "{" LOG_OK ",\"stream\":\"stdout \"," T_TIME "}",
        "{" LOG_OK ",\"stream\":\"STDOUT\"," T_TIME "}",
        "{" LOG_OK "," STREAM_OK ",\"time\":1795787440}",
        /* bad times */
        "{" LOG_OK "," STREAM_OK ",\"time\":\"yesterday\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-13-01T00:00:00Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-02-29T00:00:00Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-04-31T00:00:00Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-01-01T24:00:00Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-01-01T00:60:00Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-01-01T00:00:60Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-01-01T00:00:00\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-01-01 00:00:00Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-01-01T00:00:00.Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-01-01T00:00:00.1234567891Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-01-01T00:00:00+0100\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-01-01T00:00:00+24:00\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2026-01-01T00:00:00Zx\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"2262-04-11T23:47:16.854775808Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"1600-01-01T00:00:00Z\"}",
        "{" LOG_OK "," STREAM_OK ",\"time\":\"+2026-01-01T00:00:00Z\"}",
        /* duplicates */
        "{" LOG_OK "," LOG_OK "," STREAM_OK "," T_TIME "}",
        "{" LOG_OK "," STREAM_OK "," STREAM_OK "," T_TIME "}",
        "{" LOG_OK "," STREAM_OK "," T_TIME "," T_TIME "}",
        /* bad escapes and strings */
        "{\"log\":\"\\x\"," STREAM_OK "," T_TIME "}",
        "{\"log\":\"\\u12G4\"," STREAM_OK "," T_TIME "}",
        "{\"log\":\"\\u12\"," STREAM_OK "," T_TIME "}",
        "{\"log\":\"\\U0041\"," STREAM_OK "," T_TIME "}",
        "{\"log\":\"tab\there\"," STREAM_OK "," T_TIME "}",
        "{\"log\":\"nl\nhere\"," STREAM_OK "," T_TIME "}",
        "{\"log\":'x'," STREAM_OK "," T_TIME "}",
        "{log:\"x\"," STREAM_OK "," T_TIME "}",
        /* structure */
        "{" LOG_OK "," STREAM_OK "," T_TIME "}x",
        "{" LOG_OK "," STREAM_OK "," T_TIME "}}",
        "{" LOG_OK "," STREAM_OK "," T_TIME "}{}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",}",
        "{," LOG_OK "," STREAM_OK "," T_TIME "}",
        "{" LOG_OK " " STREAM_OK "," T_TIME "}",
        "{\"log\" \"x\\n\"," STREAM_OK "," T_TIME "}",
        "{" LOG_OK ";" STREAM_OK "," T_TIME "}",
        /* bad skipped values */
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":01}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":-}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":1.}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":1e}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":.5}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":+1}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":tru}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":True}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":nul}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":[1,]}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":[1 2]}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":{\"b\"}}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":{\"b\":1,}}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":{1:2}}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":[1}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":{\"b\":1]}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":}",
        "{" LOG_OK "," STREAM_OK "," T_TIME ",\"a\":\"\\q\"}",
    };

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        assert_raw(c[i]);
}

static void
test_dockerline_truncated(void **state)
{
    const char *full = "{\"log\":\"a\\\"\\u00e9\\ud83d\\ude00 \xc3\xa9 z\\n\","
                       "\"attrs\":{\"k\":[1,true,{\"x\":null}]},"
                       "\"stream\":\"stdout\"," T_TIME "}";
    size_t n = strlen(full);
    char *cut = xmalloc(n + 1);

    /* every proper prefix is truncated, hence RAW */
    for (size_t i = 0; i < n; i++) {
        memcpy(cut, full, i);
        cut[i] = '\0';
        struct dockerline dl;
        buf_reset(&msg);
        assert_int_equal(dockerline_parse(cut, i, &msg, &dl), 0);
        assert_int_equal(dl.flags, LOGREC_F_RAW);
        assert_msg(cut, i);
    }
    struct dockerline dl = parse_ok(full);
    assert_int_equal(dl.flags, 0);
    free(cut);
}

static void
test_dockerline_nesting_limit(void **state)
{
    char line[1024];
    size_t n = 0;

    for (int depth = 60; depth <= 70; depth += 10) {
        n = (size_t)snprintf(line, sizeof(line), "{" LOG_OK "," STREAM_OK
                             "," T_TIME ",\"a\":");
        for (int i = 0; i < depth; i++)
            line[n++] = '[';
        for (int i = 0; i < depth; i++)
            line[n++] = ']';
        line[n++] = '}';
        line[n] = '\0';
        struct dockerline dl = parse_ok(line);
        assert_int_equal(dl.flags, depth <= 64 ? 0 : LOGREC_F_RAW);
    }
}

/* ------------------------------------------------------------------ */
/* The msg cap                                                         */
/* ------------------------------------------------------------------ */

/* Parses s into a buf with the given max holding "pre"; returns the result
 * and checks msg is unchanged when it is -1. */
static int
parse_capped(const char *s, size_t max, struct buf *b, struct dockerline *dl)
{
    buf_init(b, max);
    assert_int_equal(buf_append(b, "pre", 3), 0);
    int rc = dockerline_parse(s, strlen(s), b, dl);
    if (rc < 0) {
        assert_int_equal(b->len, 3);
        assert_memory_equal(b->data, "pre", 3);
    }
    return rc;
}

static void
test_dockerline_cap(void **state)
{
    struct buf b;
    struct dockerline dl;
    const char *crlf = "{\"log\":\"abcdef\\r\\n\",\"stream\":\"stdout\","
                       T_TIME "}";

    /* text "abcdef": fits exactly though "\r\n" did not */
    assert_int_equal(parse_capped(crlf, 3 + 6, &b, &dl), 0);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data, "preabcdef", 9);
    buf_fini(&b);
    assert_int_equal(parse_capped(crlf, 3 + 7, &b, &dl), 0);
    assert_int_equal(b.len, 9);
    buf_fini(&b);
    assert_int_equal(parse_capped(crlf, 3 + 5, &b, &dl), -1);
    buf_fini(&b);
    assert_int_equal(parse_capped(crlf, 3, &b, &dl), -1);
    buf_fini(&b);

    /* partial text: every byte counts */
    const char *part = "{\"log\":\"abc\\r\",\"stream\":\"stdout\"," T_TIME "}";
    assert_int_equal(parse_capped(part, 3 + 3, &b, &dl), -1);
    buf_fini(&b);
    assert_int_equal(parse_capped(part, 3 + 4, &b, &dl), 0);
    assert_int_equal(dl.is_partial, 1);
    buf_fini(&b);

    /* U+FFFD expansion past the raw length */
    const char *bad = "{\"log\":\"\xff\xff\xff\xff\\n\",\"stream\":\"stdout\","
                      T_TIME "}";
    assert_int_equal(parse_capped(bad, 3 + 11, &b, &dl), -1);
    buf_fini(&b);
    assert_int_equal(parse_capped(bad, 3 + 12, &b, &dl), 0);
    assert_int_equal(dl.flags, LOGREC_F_INVALID_UTF8);
    buf_fini(&b);

    /* a RAW line longer than the cap */
    const char *raw = "this is not json at all";
    assert_int_equal(parse_capped(raw, 3 + strlen(raw) - 1, &b, &dl), -1);
    buf_fini(&b);
    assert_int_equal(parse_capped(raw, 3 + strlen(raw), &b, &dl), 0);
    assert_int_equal(dl.flags, LOGREC_F_RAW);
    buf_fini(&b);

    /* a malformed line whose text overflowed before the error was seen */
    const char *late = "{\"log\":\"0123456789\\n\",\"stream\":\"nope\"}";
    assert_int_equal(parse_capped(late, 3 + 5, &b, &dl), -1);
    buf_fini(&b);
    assert_int_equal(parse_capped(late, 3 + strlen(late), &b, &dl), 0);
    assert_int_equal(dl.flags, LOGREC_F_RAW);
    assert_memory_equal(b.data + 3, late, strlen(late));
    buf_fini(&b);
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

static void
test_dockerline_fixtures(void **state)
{
    FILE *in = fopen("tests/data/dockerline/sample.log", "rb");
    FILE *want = fopen("tests/data/dockerline/sample.expected", "rb");
    char *line = NULL, *exp = NULL;
    size_t cap = 0, ecap = 0, n = 0;
    ssize_t len;

    assert_non_null(in);
    assert_non_null(want);
    while ((len = getline(&line, &cap, in)) > 0) {
        json_error_t err;
        struct dockerline dl;
        assert_true(getline(&exp, &ecap, want) > 0);
        json_t *e = json_loads(exp, JSON_ALLOW_NUL, &err);
        assert_non_null(e);
        json_t *m = json_object_get(e, "msg");
        buf_reset(&msg);
        assert_int_equal(dockerline_parse(line, (size_t)len - 1, &msg, &dl),
                         0);
        if (dl.flags != json_integer_value(json_object_get(e, "flags")) ||
            dl.is_partial != json_integer_value(json_object_get(e, "partial"))
            || dl.time_ns != json_integer_value(json_object_get(e, "time_ns"))
            || strcmp(logrec_stream_name(dl.stream), json_string_value(
                          json_object_get(e, "stream"))) != 0)
            fail_msg("fixture line %zu: flags %d partial %d time %lld",
                     n + 1, dl.flags, dl.is_partial, (long long)dl.time_ns);
        assert_msg(json_string_value(m), json_string_length(m));
        json_decref(e);
        n++;
    }
    assert_true(getline(&exp, &ecap, want) < 0);
    assert_int_equal(n, 18);
    free(line);
    free(exp);
    fclose(in);
    fclose(want);
}

/* ------------------------------------------------------------------ */
/* Differential test against jansson                                   */
/* ------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
    return testrng_next(&rng_state);
}

struct diff_stats {
    size_t n_lines, n_invalid;
};

/* Wraps text with jansson's encoder, decodes with both, compares. */
static void
diff_one(const char *text, size_t len, struct diff_stats *st)
{
    static const size_t flags[] = {JSON_COMPACT, 0, JSON_ENSURE_ASCII,
                                   JSON_COMPACT | JSON_ESCAPE_SLASH,
                                   JSON_COMPACT | JSON_ENSURE_ASCII |
                                       JSON_SORT_KEYS};
    char *with_nl = xmalloc(len + 1);
    memcpy(with_nl, text, len);
    with_nl[len] = '\n';
    json_t *o = json_object();
    json_t *s = json_stringn(with_nl, len + 1);
    assert_non_null(s);
    assert_int_equal(json_object_set_new(o, "log", s), 0);
    json_object_set_new(o, "stream", json_string("stderr"));
    json_object_set_new(o, "time", json_string("2026-11-27T13:50:40.5Z"));
    if (rng() % 4 == 0)
        json_object_set_new(o, "attrs", json_pack("{s:s,s:i}", "tag", "t",
                                                  "n", 1));
    char *line = json_dumps(o, flags[rng() % 5] | JSON_PRESERVE_ORDER);
    assert_non_null(line);

    json_error_t err;
    json_t *back = json_loads(line, JSON_ALLOW_NUL, &err);
    assert_non_null(back);
    json_t *lv = json_object_get(back, "log");
    const char *want = json_string_value(lv);
    size_t want_len = json_string_length(lv);
    assert_true(want_len >= 1 && want[want_len - 1] == '\n');
    want_len--;
    if (want_len >= 1 && want[want_len - 1] == '\r')
        want_len--;

    struct dockerline dl;
    buf_reset(&msg);
    assert_int_equal(dockerline_parse(line, strlen(line), &msg, &dl), 0);
    if (dl.flags != 0 || msg.len != want_len ||
        (want_len && memcmp(msg.data, want, want_len) != 0))
        fail_msg("differs from jansson: %s", line);
    assert_int_equal(dl.stream, LOGREC_STDERR);
    assert_int_equal(dl.is_partial, 0);
    st->n_lines++;
    json_decref(back);
    free(line);
    json_decref(o);
    free(with_nl);
}

/* Reference repair for invalid UTF-8, using only jansson's validator. */
static int
is_valid(const uint8_t *p, size_t n)
{
    json_t *s = json_stringn((const char *)p, n);
    json_decref(s);
    return s != NULL;
}

static void
ref_repair(const uint8_t *p, size_t n, struct buf *out)
{
    static const uint8_t fffd[3] = {0xef, 0xbf, 0xbd};
    static const uint8_t c80[3] = {0x80, 0x80, 0x80};

    for (size_t i = 0; i < n;) {
        size_t len = 0, bad = 1;
        for (size_t l = 1; l <= 4 && i + l <= n && !len; l++)
            if (is_valid(p + i, l))
                len = l;
        if (len) {
            buf_append(out, p + i, len);
            i += len;
            continue;
        }
        /* longest prefix (2..3 bytes) some valid sequence starts with */
        for (size_t l = 3; l >= 2 && bad == 1; l--) {
            uint8_t t[4];
            if (i + l > n)
                continue;
            memcpy(t, p + i, l);
            for (size_t k = 1; l + k <= 4 && bad == 1; k++) {
                memcpy(t + l, c80, k);
                if (is_valid(t, l + k))
                    bad = l;
            }
        }
        buf_append(out, fffd, 3);
        i += bad;
    }
}

/* Invalid UTF-8 cannot go through json_stringn: write the line by hand. */
static void
diff_invalid(const uint8_t *text, size_t len, struct diff_stats *st)
{
    struct buf line, want;

    buf_init(&line, 1 << 20);
    buf_init(&want, 1 << 20);
    buf_append(&line, "{\"log\":\"", 8);
    for (size_t i = 0; i < len; i++) {
        char esc[8];
        if (text[i] == '"' || text[i] == '\\' || text[i] < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", text[i]);
            buf_append(&line, esc, 6);
        } else {
            buf_append(&line, text + i, 1);
        }
    }
    const char *tail = "\\n\",\"stream\":\"stdout\"," T_TIME "}";
    buf_append(&line, tail, strlen(tail));
    ref_repair(text, len, &want);
    if (want.len && want.data[want.len - 1] == '\r')
        want.len--;

    struct dockerline dl;
    buf_reset(&msg);
    assert_int_equal(dockerline_parse((char *)line.data, line.len, &msg, &dl),
                     0);
    assert_int_equal(dl.flags, LOGREC_F_INVALID_UTF8);
    assert_true(is_valid(msg.data, msg.len));
    if (msg.len != want.len || memcmp(msg.data, want.data, want.len) != 0)
        fail_msg("invalid UTF-8 repair differs at line %zu", st->n_lines);
    st->n_invalid++;
    buf_fini(&want);
    buf_fini(&line);
}

static size_t
diff_file(const char *path, struct diff_stats *st)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;

    assert_non_null(f);
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            len--;
        diff_one(line, (size_t)len, st);
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

static const char *
corpus_dir(void)
{
    const char *env = getenv("LOGQ_CORPUS");

    return env != NULL && *env ? env : "../shared/corpus";
}

/* LOGQ_CORPUS=none: the corpus part is skipped on purpose. */
static int
corpus_is_skipped(void)
{
    return strcmp(corpus_dir(), "none") == 0;
}

static void
test_dockerline_diff_corpus(void **state)
{
    struct diff_stats st = {0};

    if (corpus_is_skipped()) {
        print_message("[ SKIPPED  ] LOGQ_CORPUS=none: corpus part skipped\n");
        skip();
    }
    DIR *d = opendir(corpus_dir());
    struct dirent *e;
    if (d == NULL)
        fail_msg("json-file corpus %s not found: set LOGQ_CORPUS to its "
                 "absolute path (tests/run-unit.sh does), or LOGQ_CORPUS=none "
                 "to skip this part", corpus_dir());
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        char *path = xasprintf("%s/%s", corpus_dir(), e->d_name);
        diff_file(path, &st);
        free(path);
    }
    closedir(d);
    print_message("corpus: %zu lines identical to jansson\n", st.n_lines);
    assert_true(st.n_lines > 0);
}

/* Random code points of every UTF-8 length, controls included. */
static size_t
random_unicode(char *out, size_t max_cp)
{
    size_t n = 0, count = rng() % max_cp;

    for (size_t i = 0; i < count; i++) {
        uint32_t cp;
        switch (rng() % 6) {
        case 0: cp = (uint32_t)(rng() % 0x20); break;
        case 1: cp = 0x20 + (uint32_t)(rng() % 0x60); break;
        case 2: cp = 0x80 + (uint32_t)(rng() % 0x780); break;
        case 3: cp = 0x800 + (uint32_t)(rng() % 0xf800); break;
        case 4: cp = 0x10000 + (uint32_t)(rng() % 0x100000); break;
        default: cp = "\"\\/\r\n\t"[rng() % 6]; break;
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xfffd;
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else if (cp < 0x800) {
            out[n++] = (char)(0xc0 | (cp >> 6));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[n++] = (char)(0xe0 | (cp >> 12));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[n++] = (char)(0xf0 | (cp >> 18));
            out[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    return n;
}

static void
test_dockerline_diff_random(void **state)
{
    struct diff_stats st = {0};
    char text[4 * 400];

    for (int i = 0; i < 3000; i++) {
        size_t n = random_unicode(text, 400);
        diff_one(text, n, &st);
    }
    for (int i = 0; i < 3000; i++) {
        size_t n = rng() % 300;
        for (size_t k = 0; k < n; k++) {
            /* mostly text-like bytes, some high ones */
            uint64_t r = rng();
            text[k] = (char)(r % 4 ? 0x20 + (r >> 8) % 0x5f : (r >> 8) & 0xff);
        }
        if (is_valid((uint8_t *)text, n))
            diff_one(text, n, &st);
        else
            diff_invalid((uint8_t *)text, n, &st);
    }
    print_message("random: %zu lines identical to jansson, %zu invalid "
                  "UTF-8 lines identical to the reference repair\n",
                  st.n_lines, st.n_invalid);
    assert_true(st.n_invalid > 100);
}

/* One byte the scanner must stop at ('"', '\\', a control, the start of
 * a two-byte character, an invalid byte) at every offset of a clean run
 * of 0..47 bytes, followed by 0..19 clean bytes: the 16- and 8-byte steps
 * of dl_find_special and their tails, byte for byte against jansson (and
 * the reference repair for the invalid byte). */
static void
test_dockerline_diff_positions(void **state)
{
    static const char *const special[] = { "\"", "\\", "\n", "\001",
                                           "\t", "\303\251", "\177" };
    struct diff_stats st = {0};
    char text[128];

    for (size_t kind = 0; kind < 8; kind++) {
        for (size_t k = 0; k < 48; k++) {
            for (size_t m = 0; m < 20; m++) {
                size_t n = 0;
                for (size_t i = 0; i < k; i++)
                    text[n++] = (char)('a' + i % 26);
                if (kind < 7) {
                    size_t sl = strlen(special[kind]);
                    memcpy(text + n, special[kind], sl);
                    n += sl;
                } else {
                    text[n++] = (char)0xff;     /* invalid UTF-8 */
                }
                for (size_t i = 0; i < m; i++)
                    text[n++] = (char)('A' + i % 26);
                if (kind < 7)
                    diff_one(text, n, &st);
                else
                    diff_invalid((uint8_t *)text, n, &st);
            }
        }
    }
    assert_int_equal(st.n_lines, 7 * 48 * 20);
    assert_int_equal(st.n_invalid, 48 * 20);
}

/* ------------------------------------------------------------------ */
/* Throughput (printed, not asserted)                                  */
/* ------------------------------------------------------------------ */

static double
secs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ~8 MiB of json-file lines with typical text. */
static void
bench_lines(struct buf *lines)
{
    static const char *words[] = {
        "INFO", "WARN", "GET", "/api/v1/items", "200", "connection",
        "from", "10.11.10.1", "user", "session", "opened", "for",
        "blk_-6952295868487656571", "took", "12ms", "\\\"quoted\\\"",
        "[main]", "org.example.Service:", "request", "completed"};
    char t[2048];

    while (lines->len < (8u << 20)) {
        size_t n = (size_t)snprintf(t, sizeof(t), "{\"log\":\"2026-11-27 "
                                    "13:50:%02d,%03d", (int)(rng() % 60),
                                    (int)(rng() % 1000));
        for (size_t w = 0, nw = 8 + rng() % 20; w < nw; w++)
            n += (size_t)snprintf(t + n, sizeof(t) - n, " %s",
                                  words[rng() % 20]);
        n += (size_t)snprintf(t + n, sizeof(t) - n, "\\n\",\"stream\":"
                              "\"stdout\",\"time\":\"2026-11-27T13:50:40."
                              "%09dZ\"}\n", (int)(rng() % 1000000000));
        buf_append(lines, t, n);
    }
}

static void
test_dockerline_throughput(void **state)
{
    struct buf lines;
    size_t n_bytes = 0, n_lines = 0;

    buf_init(&lines, 16u << 20);
    bench_lines(&lines);
    double t0 = secs(), t1;
    do {
        const char *p = (char *)lines.data, *end = p + lines.len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            struct dockerline dl;
            buf_reset(&msg);
            assert_int_equal(dockerline_parse(p, (size_t)(nl - p), &msg, &dl),
                             0);
            assert_int_equal(dl.flags, 0);
            n_bytes += (size_t)(nl - p) + 1;
            n_lines++;
            p = nl + 1;
        }
        t1 = secs();
    } while (t1 - t0 < 0.5);
    double mbs = n_bytes / (t1 - t0) / 1e6;

    /* the same lines through jansson, for the figure in dockerline.c */
    size_t j_bytes = 0;
    double j0 = secs(), j1;
    do {
        const char *p = (char *)lines.data, *end = p + lines.len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            json_error_t err;
            json_t *o = json_loadb(p, (size_t)(nl - p), 0, &err);
            assert_non_null(o);
            json_decref(o);
            j_bytes += (size_t)(nl - p) + 1;
            p = nl + 1;
        }
        j1 = secs();
    } while (j1 - j0 < 0.5);
    print_message("throughput: dockerline %.0f MB/s (%zu lines), jansson "
                  "%.0f MB/s (sanitizer builds are several times slower)\n",
                  mbs, n_lines, j_bytes / (j1 - j0) / 1e6);
    buf_fini(&lines);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_dockerline_basic),
        T(test_dockerline_appends),
        T(test_dockerline_escapes),
        T(test_dockerline_lone_surrogates),
        T(test_dockerline_invalid_utf8),
        T(test_dockerline_line_endings),
        T(test_dockerline_partial_16k),
        T(test_dockerline_key_order),
        T(test_dockerline_attrs_and_unknown_keys),
        T(test_dockerline_whitespace),
        T(test_dockerline_times),
        T(test_dockerline_malformed),
        T(test_dockerline_truncated),
        T(test_dockerline_nesting_limit),
        T(test_dockerline_cap),
        T(test_dockerline_fixtures),
        T(test_dockerline_diff_corpus),
        T(test_dockerline_diff_random),
        T(test_dockerline_diff_positions),
        T(test_dockerline_throughput),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
