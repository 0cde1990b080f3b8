/* SPDX-License-Identifier: MIT */
/*
 * health_test: parsing /api/v1/health replies (full, nulls, malformed), the
 * exit status (all well, a host down, an unhealthy container, all_ok
 * false), the plain tables byte for byte, the colored ones (red DOWN and
 * unhealthy, alignment unaffected by escape codes), control bytes from the
 * server neutralised, and a full buffer left unchanged.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/health.h"

#define SEC 1000000000LL
/* 2026-11-27T13:50:40Z */
#define NOW (1795787440LL * SEC)

static const char reply_ok[] =
    "{\"hosts\":[{\"host\":\"node1\",\"up\":true,"
    "\"last_seen\":\"2026-11-27T13:50:38Z\",\"interval_s\":10,"
    "\"cpu_pct\":12.54,\"mem_pct\":40,\"fs_max_pct\":71.25,"
    "\"containers_running\":3,\"containers_total\":4,\"restarts_1h\":0,"
    "\"error_lines_15m\":5},"
    "{\"host\":\"node22\",\"up\":true,\"last_seen\":\"2026-11-27T13:50:35Z\","
    "\"cpu_pct\":null,\"mem_pct\":null,\"fs_max_pct\":null,"
    "\"containers_running\":0,\"containers_total\":0,\"restarts_1h\":0,"
    "\"error_lines_15m\":0}],\"containers\":[],\"all_ok\":true}";

static const char reply_bad[] =
    "{\"hosts\":[{\"host\":\"node1\",\"up\":false,"
    "\"last_seen\":\"2026-11-27T13:45:40Z\",\"cpu_pct\":1.5,\"mem_pct\":2,"
    "\"fs_max_pct\":3,\"containers_running\":1,\"containers_total\":2,"
    "\"restarts_1h\":4,\"error_lines_15m\":0}],"
    "\"containers\":[{\"host\":\"node1\",\"container\":\"db\","
    "\"state\":\"restarting\",\"restarts\":9,\"restarts_1h\":4,"
    "\"healthy\":false,\"reason\":\"restarting\"}],\"all_ok\":false}";

static void
parse_ok(const char *body, struct health_reply *h)
{
    char err[256];

    if (health_reply_parse(body, strlen(body), h, err, sizeof(err)) < 0)
        fail_msg("parse failed: %s", err);
}

static void
render(const struct health_reply *h, int color, struct buf *b)
{
    buf_init(b, 1 << 16);
    assert_int_equal(health_render(b, h, NOW, color), 0);
    assert_int_equal(buf_append(b, "", 1), 0);
}

static void
test_health_parse_fields(void **state)
{
    struct health_reply h;

    (void)state;
    parse_ok(reply_ok, &h);
    assert_int_equal(h.n_hosts, 2);
    assert_int_equal(h.n_containers, 0);
    assert_true(h.is_all_ok);
    assert_string_equal(h.hosts[0].host, "node1");
    assert_true(h.hosts[0].is_up);
    assert_true(h.hosts[0].last_seen_ns == NOW - 2 * SEC);
    assert_true(fabs(h.hosts[0].cpu_pct - 12.54) < 1e-9);
    assert_int_equal(h.hosts[0].containers_total, 4);
    assert_int_equal(h.hosts[0].error_lines_15m, 5);
    assert_true(isnan(h.hosts[1].cpu_pct));
    health_reply_fini(&h);
}

static void
test_health_parse_bad(void **state)
{
    static const char *const bad[] = {
        "", "[]", "{\"hosts\":[]}", "{\"hosts\":{},\"all_ok\":true}",
        "{\"hosts\":[1],\"all_ok\":true}",
        "{\"hosts\":[{\"up\":true}],\"all_ok\":true}",
        "{\"hosts\":[{\"host\":\"a\"}],\"all_ok\":true}",
        "{\"hosts\":[],\"containers\":5,\"all_ok\":true}",
        "{\"hosts\":[],\"containers\":[{\"host\":\"a\"}],\"all_ok\":true}",
        "{\"hosts\":[],\"all_ok\":\"yes\"}",
        "{\"hosts\":[{\"host\":\"a\",\"up\":true},",
    };
    struct health_reply h;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(health_reply_parse(bad[i], strlen(bad[i]), &h, err,
                                            sizeof(err)), -1);
        assert_true(err[0] != '\0');
    }
}

static void
test_health_exit_status(void **state)
{
    struct health_reply h;

    (void)state;
    parse_ok(reply_ok, &h);
    assert_int_equal(health_exit_status(&h), 0);
    h.hosts[1].is_up = 0;                       /* a host down */
    assert_int_equal(health_exit_status(&h), 1);
    health_reply_fini(&h);
    parse_ok(reply_bad, &h);
    assert_int_equal(health_exit_status(&h), 1);
    h.hosts[0].is_up = 1;
    h.is_all_ok = 1;
    assert_int_equal(health_exit_status(&h), 1);  /* the container */
    h.containers[0].is_healthy = 1;
    assert_int_equal(health_exit_status(&h), 0);
    h.is_all_ok = 0;                            /* the server's word */
    assert_int_equal(health_exit_status(&h), 1);
    health_reply_fini(&h);
}

static void
test_health_render_plain(void **state)
{
    struct health_reply h;
    struct buf b;

    (void)state;
    parse_ok(reply_ok, &h);
    render(&h, 0, &b);
    assert_string_equal((char *)b.data,
        "HOST    STATUS  LAST SEEN  CPU%  MEM%  DISK%  CONTAINERS  "
        "RESTARTS/1h  ERRORS/15m\n"
        "node1   up      2s ago     12.5  40.0   71.2         3/4  "
        "          0           5\n"
        "node22  up      5s ago        -     -      -         0/0  "
        "          0           0\n"
        "\nno unhealthy containers\n");
    buf_fini(&b);
    health_reply_fini(&h);
}

static void
test_health_render_unhealthy(void **state)
{
    struct health_reply h;
    struct buf b;

    (void)state;
    parse_ok(reply_bad, &h);
    render(&h, 0, &b);
    assert_string_equal((char *)b.data,
        "HOST   STATUS  LAST SEEN  CPU%  MEM%  DISK%  CONTAINERS  "
        "RESTARTS/1h  ERRORS/15m\n"
        "node1  DOWN    5m ago      1.5   2.0    3.0         1/2  "
        "          4           0\n"
        "\nUNHEALTHY CONTAINERS\n"
        "HOST   CONTAINER  STATE       RESTARTS/1h  REASON\n"
        "node1  db         restarting            4  restarting\n");
    buf_fini(&b);
    render(&h, 1, &b);
    const char *s = (const char *)b.data;
    assert_non_null(strstr(s, "\033[1;31mDOWN\033[0m    "));
    assert_non_null(strstr(s, "\033[1;31m5m ago\033[0m"));
    assert_non_null(strstr(s, "\033[1;31mrestarting\033[0m  "));
    assert_non_null(strstr(s, "\033[1;31mdb\033[0m"));
    buf_fini(&b);
    health_reply_fini(&h);
}

static void
test_health_render_hostile(void **state)
{
    static const char body[] =
        "{\"hosts\":[{\"host\":\"evil\\u001b[2J\\u009b\",\"up\":true}],"
        "\"all_ok\":true}";
    struct health_reply h;
    struct buf b;

    (void)state;
    parse_ok(body, &h);
    render(&h, 1, &b);
    assert_null(strstr((char *)b.data, "\033[2J"));
    assert_null(strstr((char *)b.data, "\xc2\x9b"));      /* C1 CSI */
    assert_non_null(strstr((char *)b.data, "evil\\x1b[2J\\u009b"));
    buf_fini(&b);
    /* No hosts at all. */
    health_reply_fini(&h);
    parse_ok("{\"hosts\":[],\"all_ok\":true}", &h);
    render(&h, 0, &b);
    assert_string_equal((char *)b.data, "no hosts have sent metrics\n"
                        "\nno unhealthy containers\n");
    buf_fini(&b);
    health_reply_fini(&h);
}

static void
test_health_render_full(void **state)
{
    struct health_reply h;
    struct buf b;

    (void)state;
    parse_ok(reply_bad, &h);
    buf_init(&b, 100);
    assert_int_equal(buf_append(&b, "x", 1), 0);
    assert_int_equal(health_render(&b, &h, NOW, 1), -1);
    assert_int_equal(b.len, 1);
    buf_fini(&b);
    health_reply_fini(&h);
}

/* Sources that lost data: a table after the containers, names escaped,
 * lower bounds as ">=N", an unknown count as "?"; the exit status is not
 * changed by it. */
static void
test_health_render_losses(void **state)
{
    static const char body[] =
        "{\"hosts\":[],\"all_ok\":true,\"losses\":{\"hosts\":[],"
        "\"sources\":[{\"host\":\"node1\",\"container\":\"web\","
        "\"id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
        "abcdef\",\"lost_bytes\":12345,\"lost_lines\":0,\"events\":1,"
        "\"bytes_at_least\":false,\"lines_at_least\":true},"
        "{\"host\":\"node2\",\"container\":\"db\\u001b[2J\","
        "\"id\":\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        "ffffff\",\"lost_bytes\":7,\"lost_lines\":3,\"events\":12,"
        "\"bytes_at_least\":true,\"lines_at_least\":false}]}}";
    struct health_reply h;
    struct buf b;

    (void)state;
    parse_ok(body, &h);
    assert_int_equal(h.n_losses, 2);
    assert_int_equal(health_exit_status(&h), 0);
    render(&h, 0, &b);
    assert_string_equal((char *)b.data, "no hosts have sent metrics\n"
        "\nno unhealthy containers\n"
        "\nLOST DATA (deleted or truncated before it was read; >=N: at "
        "least N)\n"
        "HOST   CONTAINER  ID            LOST BYTES  LOST LINES  EVENTS\n"
        "node1  web        0123456789ab       12345           ?       1\n"
        "node2  db\\x1b[2J  ffffffffffff         >=7           3      12\n");
    buf_fini(&b);
    health_reply_fini(&h);
    char err[128];
    assert_int_equal(health_reply_parse("{\"hosts\":[],\"all_ok\":true,"
                                        "\"losses\":{\"sources\":[1]}}", 43,
                                        &h, err, sizeof(err)), -1);
}

/* Hosts whose records were stamped ahead: a table after the losses,
 * names escaped, the largest skew in its largest unit; the exit status
 * is not changed by it; a malformed entry is an error. */
static void
test_health_render_ahead(void **state)
{
    static const char body[] =
        "{\"hosts\":[],\"all_ok\":true,\"clock_ahead\":{\"grace_s\":600,"
        "\"hosts\":[{\"host\":\"aheadhost\",\"records\":201,"
        "\"max_ahead_s\":9223372036},{\"host\":\"n\\u001b2\",\"records\":3,"
        "\"max_ahead_s\":3700}]}}";
    struct health_reply h;
    struct buf b;

    (void)state;
    parse_ok(body, &h);
    assert_int_equal(h.n_aheads, 2);
    assert_int_equal(health_exit_status(&h), 0);
    render(&h, 0, &b);
    assert_string_equal((char *)b.data, "no hosts have sent metrics\n"
        "\nno unhealthy containers\n"
        "\nCLOCKS AHEAD (records stamped more than 10m after they were "
        "received, since the collector started)\n"
        "HOST       RECORDS  MAX AHEAD\n"
        "aheadhost      201       292y\n"
        "n\\x1b2           3         1h\n");
    buf_fini(&b);
    health_reply_fini(&h);
    char err[128];
    assert_int_equal(health_reply_parse("{\"hosts\":[],\"all_ok\":true,"
                                        "\"clock_ahead\":{\"hosts\":[1]}}",
                                        54, &h, err, sizeof(err)), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_parse_fields),
        cmocka_unit_test(test_health_parse_bad),
        cmocka_unit_test(test_health_exit_status),
        cmocka_unit_test(test_health_render_plain),
        cmocka_unit_test(test_health_render_unhealthy),
        cmocka_unit_test(test_health_render_hostile),
        cmocka_unit_test(test_health_render_full),
        cmocka_unit_test(test_health_render_losses),
        cmocka_unit_test(test_health_render_ahead),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
