/* SPDX-License-Identifier: MIT */
/*
 * stats_view_test: human sizes at every unit boundary, ratios, parsing
 * /api/v1/stats replies (full, empty store, malformed: bad JSON, missing
 * or negative or non-integer counts, control bytes in a name, index above
 * stored), the table byte for byte (columns add up to the TOTAL row) and
 * a full buffer reported as an error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/stats_view.h"

#define SEC 1000000000LL
/* 2026-11-27T13:50:40Z */
#define T1 (1795787440LL * SEC)

/* Two segments (the first sealed with an index and one damaged block),
 * a WAL part and the totals: stored 3000 + 1200 + 500 (index) + 100
 * (WAL) = 4800. */
static const char reply_ok[] =
    "{\"segments\":["
    "{\"seq\":1,\"name\":\"seg-0000000000000001.lqs\",\"raw_bytes\":20480,"
    "\"stored_bytes\":3000,\"index_bytes\":500,\"records\":400,"
    "\"blocks\":10,\"corrupt_blocks\":1,\"first_ns\":1795787440000000000,"
    "\"last_ns\":1795787500999000000,\"sealed\":true,\"current\":false},"
    "{\"seq\":2,\"name\":\"seg-0000000000000002.lqs\",\"raw_bytes\":6000,"
    "\"stored_bytes\":1200,\"index_bytes\":0,\"records\":120,"
    "\"blocks\":3,\"corrupt_blocks\":0,\"first_ns\":1795787501000000000,"
    "\"last_ns\":1795787560000000000,\"sealed\":false,\"current\":true}],"
    "\"total\":{\"raw_bytes\":27000,\"stored_bytes\":4800,"
    "\"index_bytes\":500,\"records\":530,\"blocks\":13,"
    "\"corrupt_blocks\":1,\"segments\":2,"
    "\"first_ns\":1795787440000000000,\"last_ns\":1795787570000000000},"
    "\"wal\":{\"records\":10,\"raw_bytes\":520,\"wal_bytes\":100,"
    "\"wal_files\":1,\"sealing_records\":0,\"pending_records\":0,"
    "\"first_ns\":1795787561000000000,\"last_ns\":1795787570000000000}}";

static const char reply_empty[] =
    "{\"segments\":[],\"total\":{\"raw_bytes\":0,\"stored_bytes\":0,"
    "\"index_bytes\":0,\"records\":0,\"blocks\":0,\"corrupt_blocks\":0,"
    "\"segments\":0,\"first_ns\":0,\"last_ns\":0},"
    "\"wal\":{\"records\":0,\"raw_bytes\":0,\"wal_bytes\":0,"
    "\"first_ns\":0,\"last_ns\":0}}";

static void
size_is(uint64_t n, const char *want)
{
    char out[32];

    stats_view_size_format(n, out, sizeof(out));
    assert_string_equal(out, want);
}

static void
test_stats_view_size_units(void **state)
{
    (void)state;
    size_is(0, "0 B");
    size_is(1023, "1023 B");
    size_is(1024, "1.0 KiB");
    size_is(1536, "1.5 KiB");
    size_is(12897485, "12.3 MiB");
    size_is(1048575, "1.0 MiB");        /* not "1024.0 KiB" */
    size_is((uint64_t)1 << 30, "1.0 GiB");
    size_is((uint64_t)5 << 40, "5.0 TiB");
    size_is(UINT64_MAX, "16.0 EiB");
}

static void
test_stats_view_size_small_buffer(void **state)
{
    char out[5];

    (void)state;
    stats_view_size_format(12897485, out, sizeof(out));
    assert_string_equal(out, "12.3");
}

static void
test_stats_view_ratio(void **state)
{
    char out[16];

    (void)state;
    stats_view_ratio_format(167, 1000, out, sizeof(out));
    assert_string_equal(out, "16.7%");
    stats_view_ratio_format(5, 0, out, sizeof(out));
    assert_string_equal(out, "-");
    stats_view_ratio_format(3000, 1000, out, sizeof(out));
    assert_string_equal(out, "300.0%");
}

static void
test_stats_view_parse_ok(void **state)
{
    struct stats_view v;
    char err[256];

    (void)state;
    assert_int_equal(stats_view_parse(reply_ok, strlen(reply_ok), &v, err,
                                      sizeof(err)), 0);
    assert_int_equal(v.n_segs, 2);
    assert_string_equal(v.segs[0].name, "seg-0000000000000001.lqs");
    assert_int_equal(v.segs[0].raw_bytes, 20480);
    assert_int_equal(v.segs[0].index_bytes, 500);
    assert_int_equal(v.segs[0].n_corrupt_blocks, 1);
    assert_true(v.segs[0].is_sealed);
    assert_false(v.segs[0].is_current);
    assert_true(v.segs[1].is_current);
    assert_int_equal(v.segs[1].first_ns, 1795787501000000000LL);
    assert_int_equal(v.wal.n_records, 10);
    assert_int_equal(v.wal.stored_bytes, 100);
    assert_int_equal(v.total.stored_bytes, 4800);
    assert_int_equal(v.total.n_records, 530);
    assert_int_equal(v.n_segments, 2);
    stats_view_fini(&v);
}

static void
render(const char *body, struct buf *b)
{
    struct stats_view v;
    char err[256];

    if (stats_view_parse(body, strlen(body), &v, err, sizeof(err)) < 0)
        fail_msg("parse failed: %s", err);
    buf_init(b, 1 << 16);
    assert_int_equal(stats_view_render(b, &v, 0), 0);
    assert_int_equal(buf_append(b, "", 1), 0);
    stats_view_fini(&v);
}

static void
test_stats_view_render(void **state)
{
    struct buf b;

    (void)state;
    render(reply_ok, &b);
    assert_string_equal(
        (const char *)b.data,
        "SEGMENT                   STATE          RAW   STORED  INDEX  RATIO"
        "  LINES      BLOCKS  FIRST                 LAST\n"
        "seg-0000000000000001.lqs  sealed    20.0 KiB  2.9 KiB  500 B  17.1%"
        "    400  10 (1 bad)  2026-11-27T13:50:40Z  2026-11-27T13:51:40Z\n"
        "seg-0000000000000002.lqs  current    5.9 KiB  1.2 KiB    0 B  20.0%"
        "    120           3  2026-11-27T13:51:41Z  2026-11-27T13:52:40Z\n"
        "WAL                       unsealed     520 B    100 B      -  19.2%"
        "     10           -  2026-11-27T13:52:41Z  2026-11-27T13:52:50Z\n"
        "TOTAL                     2 seg     26.4 KiB  4.2 KiB  500 B  17.8%"
        "    530  13 (1 bad)  2026-11-27T13:50:40Z  2026-11-27T13:52:50Z\n");
    buf_fini(&b);
}

/* --local (or TZ on a terminal): the zone of TZ, offset shown. */
static void
test_stats_view_render_local(void **state)
{
    struct stats_view v;
    struct buf b;
    char err[256];

    (void)state;
    setenv("TZ", "XST-1", 1);          /* UTC+1, no DST, no tzdata */
    tzset();
    assert_int_equal(stats_view_parse(reply_ok, strlen(reply_ok), &v, err,
                                      sizeof(err)), 0);
    buf_init(&b, 1 << 16);
    assert_int_equal(stats_view_render(&b, &v, 1), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((const char *)b.data, "  FIRST"
                           "                      LAST\n"));
    assert_non_null(strstr((const char *)b.data, "  2026-11-27T14:50:40+01:00"
                           "  2026-11-27T14:52:50+01:00\n"));
    assert_null(strstr((const char *)b.data, "13:50:40"));
    buf_fini(&b);
    stats_view_fini(&v);
    unsetenv("TZ");
    tzset();
}

static void
test_stats_view_render_empty(void **state)
{
    struct buf b;

    (void)state;
    render(reply_empty, &b);
    assert_string_equal(
        (const char *)b.data,
        "SEGMENT  STATE     RAW  STORED  INDEX  RATIO  LINES  BLOCKS  FIRST"
        "  LAST\n"
        "WAL      unsealed  0 B     0 B      -      -      0       -  -    "
        "  -\n"
        "TOTAL    0 seg     0 B     0 B    0 B      -      0       0  -    "
        "  -\n");
    buf_fini(&b);
}

static void
test_stats_view_render_full_buffer(void **state)
{
    struct stats_view v;
    struct buf b;
    char err[256];

    (void)state;
    assert_int_equal(stats_view_parse(reply_ok, strlen(reply_ok), &v, err,
                                      sizeof(err)), 0);
    buf_init(&b, 100);
    assert_int_equal(stats_view_render(&b, &v, 0), -1);
    assert_true(b.len <= 100);
    buf_fini(&b);
    stats_view_fini(&v);
}

/* Replaces the first occurrence of from in reply_ok with to. */
static void
expect_bad(const char *from, const char *to, const char *want_err)
{
    char body[sizeof(reply_ok) + 64];
    const char *at = strstr(reply_ok, from);
    struct stats_view v;
    char err[256] = "";

    assert_non_null(at);
    size_t pre = (size_t)(at - reply_ok);
    int n = snprintf(body, sizeof(body), "%.*s%s%s", (int)pre, reply_ok, to,
                     at + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof(body));
    assert_int_equal(stats_view_parse(body, (size_t)n, &v, err, sizeof(err)),
                     -1);
    if (strstr(err, want_err) == NULL)
        fail_msg("error '%s' lacks '%s'", err, want_err);
}

static void
test_stats_view_parse_errors(void **state)
{
    struct stats_view v;
    char err[256];

    (void)state;
    assert_int_equal(stats_view_parse("{\"segments\":[", 13, &v, err,
                                      sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid JSON"));
    assert_int_equal(stats_view_parse("[]", 2, &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "segments"));
    /* truncated anywhere: an error, never a crash or a partial table */
    for (size_t cut = 0; cut + 1 < strlen(reply_ok); cut += 7)
        assert_int_equal(stats_view_parse(reply_ok, cut, &v, err,
                                          sizeof(err)), -1);
    expect_bad("\"segments\":[", "\"segments\":7,\"x\":[", "segments");
    expect_bad("\"raw_bytes\":20480", "\"raw_bytes\":-1", "raw_bytes");
    expect_bad("\"records\":400", "\"records\":\"400\"", "records");
    expect_bad("\"blocks\":10,", "\"blocks\":1.5,", "blocks");
    expect_bad("\"corrupt_blocks\":0,", "", "corrupt_blocks");
    expect_bad("\"first_ns\":1795787440000000000,", "\"first_ns\":null,",
               "first_ns");
    expect_bad("\"name\":\"seg-0000000000000002.lqs\",", "", "name");
    expect_bad("seg-0000000000000002.lqs", "seg\\u001b[2J", "control");
    expect_bad("\"wal_bytes\":100", "\"wal_bytes\":false", "wal_bytes");
    expect_bad("\"index_bytes\":500,\"records\":530",
               "\"index_bytes\":5000,\"records\":530", "index_bytes");
    expect_bad("\"segments\":2", "\"segments\":-2", "segments");
    expect_bad("\"wal\":{", "\"wal\":7,\"w\":{", "wal");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_view_size_units),
        cmocka_unit_test(test_stats_view_size_small_buffer),
        cmocka_unit_test(test_stats_view_ratio),
        cmocka_unit_test(test_stats_view_parse_ok),
        cmocka_unit_test(test_stats_view_render),
        cmocka_unit_test(test_stats_view_render_empty),
        cmocka_unit_test(test_stats_view_render_local),
        cmocka_unit_test(test_stats_view_render_full_buffer),
        cmocka_unit_test(test_stats_view_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
