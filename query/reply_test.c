/* SPDX-License-Identifier: MIT */
/*
 * reply_test: record lines from the collector (valid, defaults, trailing
 * newline, NUL inside the message, every missing/mistyped field, bad time
 * and stream, non-JSON), host/container arrays and their JSON re-emission,
 * and error bodies (JSON, plain text, empty, control bytes). The fast
 * path against jansson (reply_record_parse_json) on generated records
 * (escapes, control bytes, invalid UTF-8, NUL) and on mutated lines: same
 * verdict, same fields, same error text, and a canonical line is exactly
 * what record_json_append writes again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/labelset.h"
#include "common/record.h"
#include "query/reply.h"
#include "tests/support/testrng.h"

#define LINE(extra) "{\"time\":\"2026-11-27T13:50:40.123456789Z\"," \
    "\"host\":\"node1\",\"container\":\"web\",\"container_id\":\"c1\"," \
    "\"image\":\"busybox\",\"stream\":\"stderr\",\"message\":\"GET / 200\"" \
    extra "}"

static void
test_reply_record_ok(void **state)
{
    struct reply_record rr;
    char err[256];
    const char *l = LINE(",\"extra\":1");

    (void)state;
    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     0);
    assert_int_equal(rr.rec.time_ns, 1795787440LL * 1000000000LL + 123456789);
    assert_string_equal(rr.rec.host, "node1");
    assert_string_equal(rr.rec.container, "web");
    assert_string_equal(rr.rec.container_id, "c1");
    assert_string_equal(rr.rec.image, "busybox");
    assert_int_equal(rr.rec.stream, LOGREC_STDERR);
    assert_int_equal(rr.rec.msg_len, 9);
    assert_memory_equal(rr.rec.msg, "GET / 200", 9);
    reply_record_fini(&rr);
}

static void
test_reply_record_defaults_newline_nul(void **state)
{
    struct reply_record rr;
    char err[256];
    const char *l = "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"h\","
                    "\"container\":\"c\",\"stream\":\"stdout\","
                    "\"message\":\"a\\u0000b\\n\"}";

    (void)state;
    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     0);
    assert_string_equal(rr.rec.container_id, "");
    assert_string_equal(rr.rec.image, "");
    assert_int_equal(rr.rec.stream, LOGREC_STDOUT);
    assert_int_equal(rr.rec.msg_len, 3);
    assert_memory_equal(rr.rec.msg, "a\0b", 3);
    reply_record_fini(&rr);
}

static void
expect_bad_record(const char *l, const char *want)
{
    struct reply_record rr;
    char err[256] = "";

    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     -1);
    if (strstr(err, want) == NULL)
        fail_msg("'%s' does not contain '%s'", err, want);
}

static void
test_reply_record_bad(void **state)
{
    (void)state;
    expect_bad_record("", "invalid JSON");
    expect_bad_record("not json", "invalid JSON");
    expect_bad_record(LINE("") "x", "invalid JSON");
    expect_bad_record("[1]", "expected a JSON object");
    expect_bad_record("{\"host\":\"h\"}", "\"time\"");
    expect_bad_record("{\"time\":\"yesterday\",\"host\":\"h\",\"container\":"
                      "\"c\",\"stream\":\"stdout\",\"message\":\"m\"}",
                      "\"time\"");
    expect_bad_record("{\"time\":\"yesterday\",\"host\":\"h\",\"container\":"
                      "\"c\",\"container_id\":\"\",\"image\":\"\","
                      "\"stream\":\"stdout\",\"message\":\"m\"}", "\"time\"");
    expect_bad_record("{\"time\":\"2026-11-27T13:50:40Z\",\"host\":1,"
                      "\"container\":\"c\",\"stream\":\"stdout\","
                      "\"message\":\"m\"}", "\"host\"");
    expect_bad_record("{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"h\","
                      "\"container\":\"c\",\"stream\":\"both\","
                      "\"message\":\"m\"}", "\"stream\"");
    expect_bad_record("{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"h\","
                      "\"container\":\"c\",\"stream\":\"stdout\"}",
                      "\"message\"");
    expect_bad_record("{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"a\\u0000"
                      "b\",\"container\":\"c\",\"stream\":\"stdout\","
                      "\"message\":\"m\"}", "\"host\"");
    expect_bad_record("{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"h\","
                      "\"container\":\"c\",\"image\":null,\"stream\":"
                      "\"stdout\",\"message\":\"m\"}", "\"image\"");
}

static void
test_reply_record_bad_time(void **state)
{
    struct reply_record rr;
    char err[256] = "";
    const char *l = "{\"time\":\"2026-11-27 13:50:40\",\"host\":\"h\","
                    "\"container\":\"c\",\"stream\":\"stdout\","
                    "\"message\":\"m\"}";

    (void)state;
    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "bad or missing field \"time\"");
}

static void
test_reply_hosts(void **state)
{
    struct reply_list l;
    struct buf b;
    char err[256];
    const char *body = "[{\"host\":\"node1\",\"containers\":3,\"lines\":12345,"
                       "\"last_seen\":\"2026-11-27T13:50:40Z\"},"
                       "{\"host\":\"node2\",\"containers\":0,\"lines\":0,"
                       "\"last_seen\":\"garbage\"},"
                       /* connected, no line stored yet (API.md) */
                       "{\"host\":\"node3\",\"containers\":0,\"lines\":0,"
                       "\"connected\":true,\"last_seen\":null}]";

    (void)state;
    assert_int_equal(reply_list_parse(body, strlen(body), &l, err,
                                      sizeof(err)), 0);
    assert_int_equal(l.n_items, 3);
    assert_string_equal(l.items[0].host, "node1");
    assert_int_equal(l.items[0].n_containers, 3);
    assert_int_equal(l.items[0].n_lines, 12345);
    assert_int_equal(l.items[0].last_seen_ns, 1795787440LL * 1000000000LL);
    assert_string_equal(l.items[0].container, "");
    assert_int_equal(l.items[1].last_seen_ns, -1);
    assert_string_equal(l.items[2].host, "node3");
    assert_int_equal(l.items[2].last_seen_ns, -1);
    buf_init(&b, 4096);
    assert_int_equal(reply_list_item_json(&l, 0, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
                        "{\"host\":\"node1\",\"containers\":3,\"lines\":12345,"
                        "\"last_seen\":\"2026-11-27T13:50:40Z\"}\n");
    assert_int_equal(reply_list_item_json(&l, 5, &b), -1);
    buf_fini(&b);
    reply_list_fini(&l);
    reply_list_fini(&l);    /* idempotent */
}

/* A line with the collector's "labels" object: rec.labels holds them, so
 * --json writes the line back whole (record_json_append) and --format
 * reads them; non-string values are left out. */
static void
test_reply_record_labels(void **state)
{
    struct reply_record rr;
    char err[256];
    const char *l = LINE(",\"labels\":{\"app\":\"shop\",\"n\":1,"
                         "\"com.docker.compose.service\":\"web\"}");
    struct buf out;

    (void)state;
    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     0);
    assert_non_null(rr.rec.labels);
    assert_int_equal(rr.rec.labels->n, 2);
    assert_string_equal(labelset_get(rr.rec.labels, "app"), "shop");
    buf_init(&out, 4096);
    assert_int_equal(record_json_append(&out, &rr.rec), 0);
    const char *want = LINE(",\"labels\":{\"app\":\"shop\","
                            "\"com.docker.compose.service\":\"web\"}") "\n";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    /* the jansson path (a number among the labels): not canonical */
    assert_null(rr.canon);
    reply_record_fini(&rr);
    assert_null(rr.rec.labels);
    /* the collector's own line: the fast path, printed back as it came */
    out.data[out.len - 1] = '\0';
    assert_int_equal(reply_record_parse((char *)out.data, out.len - 1, &rr,
                                        err, sizeof(err)), 0);
    assert_null(rr.root);
    assert_non_null(rr.canon);
    assert_int_equal(rr.canon_len, out.len - 1);
    assert_string_equal(labelset_get(rr.rec.labels,
                                     "com.docker.compose.service"), "web");
    reply_record_fini(&rr);
    /* keys out of order: parsed, but not canonical */
    l = LINE(",\"labels\":{\"b\":\"1\",\"a\":\"2\"}");
    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     0);
    assert_null(rr.canon);
    assert_int_equal(rr.rec.labels->n, 2);
    assert_string_equal(rr.rec.labels->keys[0], "a");
    reply_record_fini(&rr);
    buf_fini(&out);
    l = LINE("");
    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     0);
    assert_null(rr.rec.labels);
    reply_record_fini(&rr);
    /* an empty object: parsed, but not canonical (record_json_append
     * writes no "labels" then; corpus/reply/crash-empty-labels) */
    l = LINE(",\"labels\":{}");
    assert_int_equal(reply_record_parse(l, strlen(l), &rr, err, sizeof(err)),
                     0);
    assert_null(rr.root);
    assert_null(rr.canon);
    assert_true(rr.rec.labels == NULL || rr.rec.labels->n == 0);
    reply_record_fini(&rr);
}

static void
test_reply_containers_and_bad_lists(void **state)
{
    struct reply_list l;
    char err[256] = "";
    const char *body = "[{\"host\":\"n\",\"container\":\"web\",\"container_id"
                       "\":\"0123456789abcdef\",\"image\":\"nginx\",\"lines\":"
                       "7,\"first_seen\":\"x\",\"last_seen\":\"y\"}]";

    (void)state;
    assert_int_equal(reply_list_parse(body, strlen(body), &l, err,
                                      sizeof(err)), 0);
    assert_string_equal(l.items[0].container, "web");
    assert_string_equal(l.items[0].image, "nginx");
    assert_int_equal(l.items[0].n_containers, -1);
    assert_int_equal(l.items[0].n_lines, 7);
    assert_null(l.items[0].labels);
    reply_list_fini(&l);
    assert_int_equal(reply_list_parse("[]", 2, &l, err, sizeof(err)), 0);
    assert_int_equal(l.n_items, 0);
    reply_list_fini(&l);
    assert_int_equal(reply_list_parse("{}", 2, &l, err, sizeof(err)), -1);
    assert_string_equal(err, "expected a JSON array");
    assert_int_equal(reply_list_parse("[1]", 3, &l, err, sizeof(err)), -1);
    assert_string_equal(err, "bad entry 0 in reply");
    assert_int_equal(reply_list_parse("[{\"lines\":1}]", 13, &l, err,
                                      sizeof(err)), -1);
    assert_int_equal(reply_list_parse("[", 1, &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid JSON"));
}

static void
test_reply_errors(void **state)
{
    char err[256];
    const char *j = "{\"error\":\"bad regex: unmatched (\"}";

    (void)state;
    reply_error_parse(j, strlen(j), 400, err, sizeof(err));
    assert_string_equal(err, "bad regex: unmatched (");
    reply_error_parse("Not Found\r\nmore", 16, 404, err, sizeof(err));
    assert_string_equal(err, "HTTP 404: Not Found");
    reply_error_parse("", 0, 500, err, sizeof(err));
    assert_string_equal(err, "HTTP 500");
    reply_error_parse(NULL, 0, 502, err, sizeof(err));
    assert_string_equal(err, "HTTP 502");
    reply_error_parse("{\"error\":5}", 11, 400, err, sizeof(err));
    assert_string_equal(err, "HTTP 400: {\"error\":5}");
    reply_error_parse("a\x1b[2Jb\xc2\x9b", 8, 503, err, sizeof(err));
    assert_string_equal(err, "HTTP 503: a\\x1b[2Jb\\u009b");
    /* a JSON error message is server text too */
    j = "{\"error\":\"x\\u001b]0;t\\u0007\\u009by\"}";
    reply_error_parse(j, strlen(j), 400, err, sizeof(err));
    assert_string_equal(err, "x\\x1b]0;t\\x07\\u009by");
}

/* ------------------------------------------------------------ fast path */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rng(void)
{
    return (uint32_t)(testrng_next(&rng_state) >> 11);
}

/* Random bytes biased to the interesting ones; no NUL when is_name. */
static size_t
gen_bytes(char *dst, size_t max, int is_name)
{
    static const char *const pieces[] = {
        "\"", "\\", "\n", "\t", "\r", "\x01", "\x1f", "\x7f", "/",
        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\xa0\x80",
        "\xc0\xaf", "\xff", "\x80", "\xe2\x82", "\xf4\x90\x80\x80",
        "\xc2\x9b", "plain text ", "GET /x 200",
    };
    size_t n = 0, want = rng() % max;

    while (n < want) {
        size_t k = rng() % 8;
        if (k == 0 && !is_name) {
            dst[n++] = '\0';
        } else if (k < 4) {
            const char *p = pieces[rng() % (sizeof(pieces) /
                                            sizeof(pieces[0]))];
            size_t l = strlen(p);
            if (n + l > max)
                break;
            memcpy(dst + n, p, l);
            n += l;
        } else {
            char c = (char)(rng() % 256);
            dst[n++] = (is_name && c == '\0') ? 'x' : c;
        }
    }
    return n;
}

/* Both parsers on line: same verdict, error, fields; and the --json bytes
 * (canon or a re-encoding) equal to re-encoding jansson's record. */
static void
check_same(const char *line, size_t len, int *n_fast, int *n_canon)
{
    struct reply_record a, b;
    char ea[256] = "", eb[256] = "";
    int ra = reply_record_parse(line, len, &a, ea, sizeof(ea));
    int rb = reply_record_parse_json(line, len, &b, eb, sizeof(eb));

    assert_int_equal(ra, rb);
    if (ra < 0) {
        assert_string_equal(ea, eb);
        return;
    }
    assert_int_equal(a.rec.time_ns, b.rec.time_ns);
    assert_int_equal(a.rec.recv_ns, b.rec.recv_ns);
    assert_string_equal(a.rec.host, b.rec.host);
    assert_string_equal(a.rec.container, b.rec.container);
    assert_string_equal(a.rec.container_id, b.rec.container_id);
    assert_string_equal(a.rec.image, b.rec.image);
    assert_int_equal(a.rec.stream, b.rec.stream);
    assert_int_equal(a.rec.msg_len, b.rec.msg_len);
    assert_memory_equal(a.rec.msg, b.rec.msg, a.rec.msg_len);
    assert_null(b.canon);
    if (a.root == NULL)
        (*n_fast)++;

    struct buf oa, ob;
    buf_init(&oa, 1u << 20);
    buf_init(&ob, 1u << 20);
    assert_int_equal(record_json_append(&ob, &b.rec), 0);
    if (a.canon != NULL) {
        (*n_canon)++;
        assert_ptr_equal(a.canon, line);
        assert_int_equal(a.canon_len, len);
        assert_int_equal(buf_append(&oa, a.canon, a.canon_len), 0);
        assert_int_equal(buf_append(&oa, "\n", 1), 0);
    } else {
        assert_int_equal(record_json_append(&oa, &a.rec), 0);
    }
    assert_int_equal(oa.len, ob.len);
    assert_memory_equal(oa.data, ob.data, oa.len);
    buf_fini(&oa);
    buf_fini(&ob);
    reply_record_fini(&a);
    reply_record_fini(&b);
}

static void
gen_line(struct buf *line, char bufs[5][256], struct logrec *r)
{
    size_t len[5];

    for (int i = 0; i < 5; i++) {
        len[i] = gen_bytes(bufs[i], 200, i < 4);
        bufs[i][len[i]] = '\0';
    }
    memset(r, 0, sizeof(*r));
    r->time_ns = (int64_t)(rng() % 4000000000u) * 1000000000LL +
                 (rng() % 3 == 0 ? 0 : rng() % 1000000000u);
    r->host = bufs[0];
    r->container = bufs[1];
    r->container_id = bufs[2];
    r->image = bufs[3];
    if (rng() % 2)                  /* stores from before: no "received" */
        r->recv_ns = r->time_ns + 1 + (int64_t)(rng() % 4000000000u);
    r->stream = rng() % 2 ? LOGREC_STDOUT : LOGREC_STDERR;
    r->msg = bufs[4];
    r->msg_len = len[4];
    buf_reset(line);
    assert_int_equal(record_json_append(line, r), 0);
    line->len--;                /* '\n' */
}

static void
test_reply_fast_generated(void **state)
{
    struct buf line;
    char bufs[5][256];
    struct logrec r;
    int n_fast = 0, n_canon = 0, n_plain = 0;

    (void)state;
    buf_init(&line, 1u << 20);
    for (int i = 0; i < 20000; i++) {
        gen_line(&line, bufs, &r);
        int was_canon = n_canon;
        check_same((const char *)line.data, line.len, &n_fast, &n_canon);
        if (r.msg_len == 0 || r.msg[r.msg_len - 1] != '\n') {
            n_plain++;
            /* the server's own output is always taken and passed on */
            assert_int_equal(n_canon, was_canon + 1);
        }
    }
    assert_int_equal(n_fast, 20000);
    assert_true(n_plain > 10000);
    buf_fini(&line);
}

static void
test_reply_fast_mutated(void **state)
{
    static const char *const ins[] = {
        " ", "\\u00e9", "\\u0041", "\\u001F", "\\ud83d\\ude00", "\\ud800",
        "\\/", "\\b", "\\f", "\\x", "\\", "\"", "\x01", "\xff", "\\u0000",
        ",\"context\":true", "}", "{", "\r", "\\u00", "\\n",
    };
    struct buf line;
    char bufs[5][256], m[4096];
    struct logrec r;
    int n_fast = 0, n_canon = 0;

    (void)state;
    buf_init(&line, 1u << 20);
    for (int i = 0; i < 20000; i++) {
        gen_line(&line, bufs, &r);
        size_t n = line.len < 2000 ? line.len : 2000, at = rng() % (n + 1);
        const char *p = (const char *)line.data;
        switch (rng() % 4) {
        case 0:                 /* cut short */
            memcpy(m, p, at);
            check_same(m, at, &n_fast, &n_canon);
            break;
        case 1:                 /* one byte changed */
            memcpy(m, p, n);
            if (n > 0)
                m[at % n] = (char)rng();
            check_same(m, n, &n_fast, &n_canon);
            break;
        default: {              /* a piece inserted */
            const char *x = ins[rng() % (sizeof(ins) / sizeof(ins[0]))];
            size_t xl = strlen(x);
            memcpy(m, p, at);
            memcpy(m + at, x, xl);
            memcpy(m + at + xl, p + at, n - at);
            check_same(m, n + xl, &n_fast, &n_canon);
            break;
        }
        }
    }
    /* the mutations do reach the fast path, and do leave it */
    assert_true(n_fast > 1000);
    assert_true(n_fast < 19000);
    buf_fini(&line);
}

static void
test_reply_fast_cases(void **state)
{
    static const char *const lines[] = {
        /* canonical */
        LINE(""),
        /* escapes the encoder writes otherwise: decoded, not canonical */
        "{\"time\":\"2026-11-27T13:50:40.123456789Z\",\"host\":\"n\\/1\","
        "\"container\":\"w\",\"container_id\":\"\",\"image\":\"\","
        "\"stream\":\"stdout\",\"message\":\"\\b\\f\\u00E9\\u0041\\u001F\"}",
        /* short time, message ending in \n: decoded, not canonical */
        "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"n\","
        "\"container\":\"w\",\"container_id\":\"\",\"image\":\"\","
        "\"stream\":\"stderr\",\"message\":\"x\\n\"}",
        /* surrogate pair: jansson */
        "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"n\","
        "\"container\":\"w\",\"container_id\":\"\",\"image\":\"\","
        "\"stream\":\"stderr\",\"message\":\"\\ud83d\\ude00\"}",
        /* NUL in a name: jansson's error */
        "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"a\\u0000\","
        "\"container\":\"w\",\"container_id\":\"\",\"image\":\"\","
        "\"stream\":\"stderr\",\"message\":\"m\"}",
        /* bad stream, bad time, raw control byte, whitespace */
        "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"a\","
        "\"container\":\"w\",\"container_id\":\"\",\"image\":\"\","
        "\"stream\":\"stdin\",\"message\":\"m\"}",
        "{\"time\":\"yesterday\",\"host\":\"a\","
        "\"container\":\"w\",\"container_id\":\"\",\"image\":\"\","
        "\"stream\":\"stdout\",\"message\":\"m\"}",
        "{\"time\":\"2026-11-27T13:50:40Z\",\"host\":\"a\","
        "\"container\":\"w\",\"container_id\":\"\",\"image\":\"\","
        "\"stream\":\"stdout\",\"message\":\"m\x01\"}",
        "{\"time\":\"2026-11-27T13:50:40Z\", \"host\":\"a\","
        "\"container\":\"w\",\"container_id\":\"\",\"image\":\"\","
        "\"stream\":\"stdout\",\"message\":\"m\"} ",
        /* context line: jansson, so "context" is seen */
        LINE(",\"context\":true"),
        /* with the receive time: canonical; a bad one is an error */
        "{\"time\":\"2026-11-27T13:50:40.123456789Z\","
        "\"received\":\"2026-11-27T14:50:40.000000001Z\",\"host\":\"n\","
        "\"container\":\"w\",\"container_id\":\"\",\"image\":\"\","
        "\"stream\":\"stderr\",\"message\":\"m\"}",
        "{\"time\":\"2026-11-27T13:50:40.123456789Z\","
        "\"received\":\"soon\",\"host\":\"n\","
        "\"container\":\"w\",\"container_id\":\"\",\"image\":\"\","
        "\"stream\":\"stderr\",\"message\":\"m\"}",
        "", "{}", "{\"time\":", "not json",
    };
    int n_fast = 0, n_canon = 0;
    struct reply_record rr;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        check_same(lines[i], strlen(lines[i]), &n_fast, &n_canon);
    assert_int_equal(n_fast, 4);
    assert_int_equal(n_canon, 2);
    assert_int_equal(reply_record_parse(lines[1], strlen(lines[1]), &rr, err,
                                        sizeof(err)), 0);
    assert_null(rr.root);
    assert_null(rr.canon);
    assert_string_equal(rr.rec.host, "n/1");
    assert_int_equal(rr.rec.msg_len, 6);
    assert_memory_equal(rr.rec.msg, "\b\f\xc3\xa9" "A\x1f", 6);
    reply_record_fini(&rr);
}

/* logq containers/hosts print by host, then name, then id, whatever
 * order the collector's JSON object iteration gave. */
static void
test_reply_list_sorted(void **state)
{
    (void)state;
    const char *body =
        "[{\"host\":\"n2\",\"container\":\"a\",\"container_id\":\"1\","
        "\"image\":\"i\",\"lines\":1,\"last_seen\":null},"
        "{\"host\":\"n1\",\"container\":\"web\",\"container_id\":\"2\","
        "\"image\":\"i\",\"lines\":1,\"last_seen\":null},"
        "{\"host\":\"n1\",\"container\":\"api\",\"container_id\":\"9\","
        "\"image\":\"i\",\"lines\":1,\"last_seen\":null},"
        "{\"host\":\"n1\",\"container\":\"api\",\"container_id\":\"3\","
        "\"image\":\"i\",\"lines\":1,\"last_seen\":null}]";
    struct reply_list l;
    char err[256];

    assert_int_equal(reply_list_parse(body, strlen(body), &l, err,
                                      sizeof(err)), 0);
    size_t *o = reply_list_sorted(&l);
    assert_true(o[0] == 3 && o[1] == 2 && o[2] == 1 && o[3] == 0);
    free(o);
    reply_list_fini(&l);

    /* /hosts: connected, last_contact, down_since (null: -1) */
    const char *hosts =
        "[{\"host\":\"a\",\"containers\":1,\"lines\":2,\"last_seen\":null,"
        "\"connected\":false,\"last_contact\":\"1970-01-01T00:00:01Z\","
        "\"down_since\":\"1970-01-01T00:00:02Z\"},{\"host\":\"b\","
        "\"containers\":1,\"lines\":2,\"last_seen\":null,\"connected\":true,"
        "\"last_contact\":null,\"down_since\":null}]";
    assert_int_equal(reply_list_parse(hosts, strlen(hosts), &l, err,
                                      sizeof(err)), 0);
    assert_true(!l.items[0].is_connected &&
                l.items[0].last_contact_ns == 1000000000LL &&
                l.items[0].down_since_ns == 2000000000LL);
    assert_true(l.items[1].is_connected && l.items[1].last_contact_ns == -1 &&
                l.items[1].down_since_ns == -1);
    reply_list_fini(&l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_record_ok),
        cmocka_unit_test(test_reply_record_labels),
        cmocka_unit_test(test_reply_record_defaults_newline_nul),
        cmocka_unit_test(test_reply_record_bad),
        cmocka_unit_test(test_reply_record_bad_time),
        cmocka_unit_test(test_reply_hosts),
        cmocka_unit_test(test_reply_containers_and_bad_lists),
        cmocka_unit_test(test_reply_errors),
        cmocka_unit_test(test_reply_fast_generated),
        cmocka_unit_test(test_reply_fast_mutated),
        cmocka_unit_test(test_reply_fast_cases),
        cmocka_unit_test(test_reply_list_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
