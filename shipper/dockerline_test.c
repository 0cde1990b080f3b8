/* SPDX-License-Identifier: MIT */
/*
 * dockerline_test: unit tests for the json-file line scanner. Fixed cases
 * (escapes, UTF-8 repair, CRLF, partial lines, key order, skipped values,
 * every malformed class, the msg cap, the fixtures of tests/data/
 * dockerline). The differential test against jansson and the throughput
 * figure are in dockerline_diff_test.c.
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
#include "tests/support/dockerlinefx.h"

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

/* Every value of each field of the time (the others fixed), in Docker's
 * layout and with a space (the general scanner), against timegm: each
 * digit pair and the year are read without a loop (dl_num). */
static void
test_dockerline_time_fields(void **state)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31};
    char t[64], line[160];
    size_t n = 0;

    for (int field = 0; field < 6; field++) {
        int lo[6] = {1970, 1, 1, 0, 0, 0}, hi[6] = {2199, 12, 31, 23, 59, 59};
        for (int v = lo[field]; v <= hi[field]; v++) {
            int f[6] = {2026, 7, 19, 11, 38, 57};
            f[field] = v;
            if (field == 2 && v > mdays[f[1] - 1])
                continue;
            snprintf(t, sizeof(t), "%04d-%02d-%02dT%02d:%02d:%02d.5Z", f[0],
                     f[1], f[2], f[3], f[4], f[5]);
            struct tm tm = { .tm_year = f[0] - 1900, .tm_mon = f[1] - 1,
                             .tm_mday = f[2], .tm_hour = f[3],
                             .tm_min = f[4], .tm_sec = f[5] };
            int64_t want = (int64_t)timegm(&tm) * 1000000000 + 500000000;
            for (int k = 0; k < 2; k++) {
                snprintf(line, sizeof(line), "{\"log\":\"x\\n\",%s\"stream\":"
                         "\"stdout\",\"time\":\"%s\"}", k ? " " : "", t);
                struct dockerline dl = parse_ok(line);
                if (dl.flags != 0 || dl.time_ns != want)
                    fail_msg("time %s: flags %d ns %lld, want %lld", t,
                             dl.flags, (long long)dl.time_ns,
                             (long long)want);
                n++;
            }
        }
    }
    assert_true(n > 2 * 300);
}

/* Fractions of 0-11 digits before each kind of offset, and each digit
 * replaced by a byte that is not one, against the value worked out here:
 * valid only with 1-9 digits (or none and no '.') and a whole offset. */
static void
test_dockerline_time_fracs(void **state)
{
    static const struct {
        const char *tz;
        int64_t off;    /* seconds east; INT64_MIN: not an offset */
    } tz[] = {
        {"Z", 0}, {"z", 0}, {"+01:00", 3600}, {"-05:30", -19800},
        {"+23:59", 86340}, {"", INT64_MIN}, {"+1:00", INT64_MIN},
        {"Zx", INT64_MIN}, {"+01:00Z", INT64_MIN}, {"-0530", INT64_MIN},
        {"ZZ", INT64_MIN}, {"+24:00", INT64_MIN},
    };
    static const char digits[] = "987654321098";
    static const char junk[] = "x+:.-/ ";    /* not 'Z': "40.9" "Z" is one */
    const int64_t base = INT64_C(1795787440);     /* 2026-11-27T13:50:40Z */
    char t[64], line[160];
    size_t n_checked = 0;

    for (size_t z = 0; z < sizeof(tz) / sizeof(tz[0]); z++) {
        for (int n = -1; n <= 11; n++) {        /* -1: no '.' at all */
            for (int bad = -1; bad < n; bad++) {
                for (size_t j = 0; j < (bad < 0 ? 1 : sizeof(junk) - 1); j++) {
                    size_t k = (size_t)snprintf(t, sizeof(t),
                                                "2026-11-27T13:50:40");
                    int64_t frac = 0;
                    if (n >= 0)
                        t[k++] = '.';
                    for (int i = 0; i < n; i++) {
                        t[k++] = i == bad ? junk[j] : digits[i];
                        frac = frac * 10 + (digits[i] - '0');
                    }
                    for (int i = n; i < 9; i++)
                        frac *= 10;
                    t[k] = '\0';
                    snprintf(t + k, sizeof(t) - k, "%s", tz[z].tz);
                    int is_valid = tz[z].off != INT64_MIN && bad < 0 &&
                                   n != 0 && n <= 9;
                    snprintf(line, sizeof(line), "{\"log\":\"x\\n\","
                             "\"stream\":\"stdout\",\"time\":\"%s\"}", t);
                    struct dockerline dl = parse_ok(line);
                    int64_t want = !is_valid ? 0 :
                                   (base - tz[z].off) * 1000000000 +
                                   (n > 0 ? frac : 0);
                    if (is_valid ? dl.flags != 0 || dl.time_ns != want :
                                   dl.flags != LOGREC_F_RAW)
                        fail_msg("time %s: flags %d ns %lld, want %s %lld",
                                 t, dl.flags, (long long)dl.time_ns,
                                 is_valid ? "valid" : "raw", (long long)want);
                    n_checked++;
                }
            }
        }
    }
    assert_true(n_checked > 1000);
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
        T(test_dockerline_time_fields),
        T(test_dockerline_time_fracs),
        T(test_dockerline_malformed),
        T(test_dockerline_truncated),
        T(test_dockerline_nesting_limit),
        T(test_dockerline_cap),
        T(test_dockerline_fixtures),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
