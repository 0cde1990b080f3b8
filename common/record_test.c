/* SPDX-License-Identifier: MIT */
/*
 * record_test: stream names, the JSON string escaper (exact escapes,
 * UTF-8 pass-through, U+FFFD for each invalid byte, cap handling) checked
 * byte for byte, against a byte-at-a-time model (each byte value at every
 * offset of a word-at-a-time scan) and against jansson: random byte
 * strings must always give
 * JSON that jansson accepts, and whenever jansson itself considers the
 * input valid UTF-8 it must decode back to the input. record_json_append's
 * field set and order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "common/record.h"
#include "common/utf8.h"

static void
expect_json(const char *in, size_t n, const char *want)
{
    struct buf b;

    buf_init(&b, 1u << 20);
    assert_int_equal(json_str_append(&b, in, n), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    buf_fini(&b);
}

static void
test_stream_names(void **state)
{
    uint8_t s = 9;

    (void)state;
    assert_string_equal(logrec_stream_name(LOGREC_STDOUT), "stdout");
    assert_string_equal(logrec_stream_name(LOGREC_STDERR), "stderr");
    assert_string_equal(logrec_stream_name(7), "unknown");
    assert_int_equal(logrec_stream_parse("stderr", &s), 0);
    assert_int_equal(s, LOGREC_STDERR);
    assert_int_equal(logrec_stream_parse("stdout", &s), 0);
    assert_int_equal(s, LOGREC_STDOUT);
    assert_int_equal(logrec_stream_parse("stdin", &s), -1);
    assert_int_equal(logrec_stream_parse("", &s), -1);
    assert_int_equal(s, LOGREC_STDOUT);
}

static void
test_json_escapes(void **state)
{
    (void)state;
    expect_json("", 0, "\"\"");
    expect_json("plain text", 10, "\"plain text\"");
    expect_json("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    expect_json("\n\t\r", 3, "\"\\n\\t\\r\"");
    expect_json("\x01\x1f\b\f", 4, "\"\\u0001\\u001f\\u0008\\u000c\"");
    expect_json("a\0b", 3, "\"a\\u0000b\"");
    expect_json("\x7f/", 2, "\"\x7f/\"");
}

static void
test_json_utf8(void **state)
{
    (void)state;
    /* valid 2, 3, 4 byte sequences and the extremes pass through */
    expect_json("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
                "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    expect_json("\xf4\x8f\xbf\xbf\xee\x80\x80", 7,
                "\"\xf4\x8f\xbf\xbf\xee\x80\x80\"");
    /* lone continuation, overlong, surrogate, past U+10FFFF, cut short */
    expect_json("\x80", 1, "\"\xef\xbf\xbd\"");
    expect_json("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    expect_json("\xe0\x80\xaf", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    expect_json("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    expect_json("\xf4\x90\x80\x80", 4,
                "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    expect_json("a\xe2\x82", 3, "\"a\xef\xbf\xbd\xef\xbf\xbd\"");
    expect_json("\xff" "x", 2, "\"\xef\xbf\xbdx\"");
}

static void
test_json_cap_leaves_buffer(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "ab", 2), 0);
    assert_int_equal(json_str_append(&b, "1234567", 7), -1);
    assert_int_equal(b.len, 2);
    assert_int_equal(json_str_append(&b, "\x01\x01", 2), -1); /* 14 bytes */
    assert_int_equal(b.len, 2);
    assert_int_equal(json_str_append(&b, "123456", 6), 0);
    assert_int_equal(b.len, 10);
    buf_fini(&b);
}

/* The escape of in[0..n) a byte at a time, as the JSON form documents it:
 * '"', '\\', \n, \t, \r by name, other bytes under 0x20 as \u00XX,
 * a valid UTF-8 sequence as it is, each byte of an invalid one as U+FFFD,
 * every other byte as it is. Returns the length written to out. */
static size_t
escape_model(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;

    out[o++] = '"';
    for (size_t i = 0; i < n;) {
        uint8_t c = in[i];
        if (c >= 0x80) {
            uint32_t cp;
            size_t bad, u = utf8_decode(in + i, n - i, &cp, &bad);
            if (u == 0) {
                memcpy(out + o, "\xef\xbf\xbd", 3);
                o += 3;
                i++;
            } else {
                memcpy(out + o, in + i, u);
                o += u;
                i += u;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = c;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            out[o++] = '\\';
            out[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = (uint8_t)hex[c >> 4];
            out[o + 5] = (uint8_t)hex[c & 15];
            o += 6;
        } else {
            out[o++] = c;
        }
        i++;
    }
    out[o++] = '"';
    return o;
}

/* json_str_append of in[0..n) (at most 128 bytes) into b, byte for byte
 * escape_model's. */
static void
expect_model(struct buf *b, const uint8_t *in, size_t n)
{
    uint8_t want[6 * 128 + 2];
    size_t wn = escape_model(in, n, want);

    buf_reset(b);
    assert_int_equal(json_str_append(b, (const char *)in, n), 0);
    assert_int_equal(b->len, wn);
    assert_memory_equal(b->data, want, wn);
}

/*
 * The escaper byte for byte against escape_model: the plain runs are found
 * eight bytes at a time, so each byte value (and a valid UTF-8 letter)
 * stands at every offset of strings of 0-40 plain bytes, alone and after
 * another special byte, and random strings mix them. A plain byte taken
 * for a special one would still decode back (\u0041 is "A"), which is why
 * the jansson tests below cannot see it.
 */
static void
test_json_escape_model(void **state)
{
    static const char *const plain = "The quick brown fox, id=42: jumps/over~";
    uint8_t in[128];
    struct buf b;
    uint32_t seed = 4242;

    (void)state;
    buf_init(&b, 1u << 20);
    for (int v = 0; v < 257; v++) {
        for (size_t len = 0; len <= 40; len++) {
            for (size_t at = 0; at <= len; at++) {
                memcpy(in, plain, len);
                size_t n = len;
                if (v < 256) {                  /* one byte value at at */
                    memmove(in + at + 1, in + at, len - at);
                    in[at] = (uint8_t)v;
                    n++;
                } else {                        /* a letter, then '"' */
                    memmove(in + at + 3, in + at, len - at);
                    memcpy(in + at, "\xc3\xa9\"", 3);
                    n += 3;
                }
                expect_model(&b, in, n);
            }
        }
    }
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(iter % 128);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            uint8_t r = (uint8_t)(seed >> 24);
            /* mostly plain, some specials and high bytes */
            in[i] = (seed & 0xf00) == 0 ? r : (seed & 0xf00) == 0x100
                    ? (uint8_t)"\"\\\n\x01\x1f"[r % 5]
                    : (uint8_t)(0x20 + r % 0x5f);
        }
        expect_model(&b, in, n);
    }
    buf_fini(&b);
}

/* Parses the escaper's output for in[0..n) with jansson. */
static json_t *
roundtrip(const uint8_t *in, size_t n, struct buf *b)
{
    json_error_t jerr;

    buf_reset(b);
    assert_int_equal(json_str_append(b, (const char *)in, n), 0);
    json_t *j = json_loadb((const char *)b->data, b->len,
                           JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (j == NULL)
        fail_msg("jansson rejected output: %s", jerr.text);
    assert_true(json_is_string(j));
    return j;
}

static void
test_json_random_bytes_vs_jansson(void **state)
{
    uint8_t in[64];
    struct buf b;
    uint32_t seed = 12345;
    int n_valid = 0;

    (void)state;
    buf_init(&b, 1u << 20);
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(iter % 64);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            uint8_t r = (uint8_t)(seed >> 24);
            /* skew towards ASCII and UTF-8 lead/continuation bytes */
            in[i] = (seed & 0x300) == 0 ? r : (seed & 0x300) == 0x100
                    ? (uint8_t)(0x80 | (r & 0x3f)) : (seed & 0x300) == 0x200
                    ? (uint8_t)(0xc0 | (r & 0x3f)) : (uint8_t)(r & 0x7f);
        }
        json_t *j = roundtrip(in, n, &b);
        json_t *ref = json_stringn((const char *)in, n);
        if (ref != NULL) {
            n_valid++;
            assert_int_equal(json_string_length(j), n);
            assert_memory_equal(json_string_value(j), in, n);
            json_decref(ref);
        } else {
            assert_non_null(memmem(json_string_value(j), json_string_length(j),
                                   "\xef\xbf\xbd", 3));
        }
        json_decref(j);
    }
    assert_true(n_valid > 100);
    buf_fini(&b);
}

static void
test_json_random_codepoints_roundtrip(void **state)
{
    uint8_t in[256];
    struct buf b;
    uint32_t seed = 99;

    (void)state;
    buf_init(&b, 1u << 20);
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 0;
        while (n < sizeof(in) - 4) {
            seed = seed * 1664525u + 1013904223u;
            uint32_t cp = (seed >> 8) % 0x110000;
            if (cp >= 0xd800 && cp <= 0xdfff)
                continue;
            if ((seed & 3) == 0)
                cp &= 0x7f;
            if (cp < 0x80) {
                in[n++] = (uint8_t)cp;
            } else if (cp < 0x800) {
                in[n++] = (uint8_t)(0xc0 | (cp >> 6));
                in[n++] = (uint8_t)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                in[n++] = (uint8_t)(0xe0 | (cp >> 12));
                in[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
                in[n++] = (uint8_t)(0x80 | (cp & 0x3f));
            } else {
                in[n++] = (uint8_t)(0xf0 | (cp >> 18));
                in[n++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
                in[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
                in[n++] = (uint8_t)(0x80 | (cp & 0x3f));
            }
            if ((seed >> 28) == 0)
                break;
        }
        json_t *j = roundtrip(in, n, &b);
        assert_int_equal(json_string_length(j), n);
        assert_memory_equal(json_string_value(j), in, n);
        json_decref(j);
    }
    buf_fini(&b);
}

static void
test_record_json_fields(void **state)
{
    struct logrec r = {
        .time_ns = 1795787440123456789ll,
        .host = "node-1",
        .container_id = "abc123",
        .container = "web",
        .image = "nginx:1.25",
        .stream = LOGREC_STDERR,
        .flags = 0,
        .offset = 42,
        .msg = "GET / \"x\"\xff",
        .msg_len = 10,
    };
    struct buf b;
    const char *want =
        "{\"time\":\"2026-11-27T13:50:40.123456789Z\",\"host\":\"node-1\","
        "\"container\":\"web\",\"container_id\":\"abc123\","
        "\"image\":\"nginx:1.25\",\"stream\":\"stderr\","
        "\"message\":\"GET / \\\"x\\\"\xef\xbf\xbd\"}\n";

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(record_json_append(&b, &r), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    json_error_t jerr;
    json_t *j = json_loadb((const char *)b.data, b.len, 0, &jerr);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 7);
    json_decref(j);
    /* the collector's receive time, when the store has it */
    r.recv_ns = r.time_ns + 3600000000001LL;
    buf_reset(&b);
    assert_int_equal(record_json_append(&b, &r), 0);
    assert_memory_equal(b.data, "{\"time\":\"2026-11-27T13:50:40.123456789Z\","
                        "\"received\":\"2026-11-27T14:50:40.123456790Z\","
                        "\"host\":", 85);
    j = json_loadb((const char *)b.data, b.len, 0, &jerr);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 8);
    json_decref(j);
    buf_fini(&b);
}

static void
test_record_json_cap(void **state)
{
    struct logrec r = { .time_ns = 0, .host = "h", .container_id = "i",
                        .container = "c", .image = "m", .msg = "hello",
                        .msg_len = 5 };
    struct buf b;

    (void)state;
    buf_init(&b, 100);
    assert_int_equal(buf_append(&b, "x", 1), 0);
    assert_int_equal(record_json_append(&b, &r), -1);
    assert_int_equal(b.len, 1);
    buf_fini(&b);
    buf_init(&b, 1000);
    assert_int_equal(record_json_append(&b, &r), 0);
    assert_memory_equal(b.data, "{\"time\":\"1970-01-01T00:00:00.000000000Z\"",
                        40);
    buf_fini(&b);
}

static void
test_json_long_string_and_exact_cap(void **state)
{
    size_t n = 200000;
    char *in = xmalloc(n);
    struct buf big, exact;

    (void)state;
    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        in[i] = "ab\"\n\xc3\xa9\x01\xff"[i % 8];
    buf_init(&big, 8u << 20);
    json_t *j = roundtrip((const uint8_t *)in, n, &big);
    json_decref(j);
    /* a buffer with exactly the room needed is enough (no worst case) */
    buf_init(&exact, big.len);
    assert_int_equal(json_str_append(&exact, in, n), 0);
    assert_int_equal(exact.len, big.len);
    assert_memory_equal(exact.data, big.data, big.len);
    buf_fini(&exact);

    struct logrec r = { .time_ns = 5, .host = "h\x01", .container_id = "i",
                        .container = NULL, .image = "m\"", .msg = in,
                        .msg_len = 1000 };
    buf_reset(&big);
    assert_int_equal(record_json_append(&big, &r), 0);
    buf_init(&exact, big.len);
    assert_int_equal(record_json_append(&exact, &r), 0);
    assert_memory_equal(exact.data, big.data, big.len);
    buf_fini(&exact);
    buf_init(&exact, big.len - 1);
    assert_int_equal(record_json_append(&exact, &r), -1);
    assert_int_equal(exact.len, 0);
    buf_fini(&exact);
    buf_fini(&big);
    free(in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_names),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_json_utf8),
        cmocka_unit_test(test_json_escape_model),
        cmocka_unit_test(test_json_cap_leaves_buffer),
        cmocka_unit_test(test_json_random_bytes_vs_jansson),
        cmocka_unit_test(test_json_random_codepoints_roundtrip),
        cmocka_unit_test(test_record_json_fields),
        cmocka_unit_test(test_record_json_cap),
        cmocka_unit_test(test_json_long_string_and_exact_cap),
    };
    return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
