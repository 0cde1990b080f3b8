/* SPDX-License-Identifier: MIT */
/*
 * api_host_test: the Host header check (--http-host): the defaults (IP
 * literals, localhost, *.localhost), configured names, domains and "*",
 * ports, case and trailing dots, and what is refused (other names,
 * rebinding look-alikes, malformed values) and the list's parse errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/api/api_host.h"

static struct api_hosts *
parse_ok(const char *list)
{
    char *err = NULL;
    struct api_hosts *h = api_hosts_parse(list, &err);

    assert_non_null(h);
    assert_null(err);
    return h;
}

static void
test_api_host_defaults(void **state)
{
    struct api_hosts *h = parse_ok(NULL);
    static const char *const ok[] = {
        "127.0.0.1", "127.0.0.1:7080", "10.77.0.1:7080", "0.0.0.0",
        "[::1]", "[::1]:7080", "[fe80::1]:80", "[::ffff:127.0.0.1]:1",
        "localhost", "LOCALHOST:7080", "localhost.", "app.localhost:3000",
        "a.b.localhost", "localhost:",
    };
    static const char *const bad[] = {
        "evil.example", "evil.example:7080", "localhost.evil.example",
        "evillocalhost", "127.0.0.1.evil.example", "127.1", "::1",
        "[::1", "[::1]x", "[nonsense]", "[]", "localhost:80:80",
        "localhost:http", "localhost:123456", "", "local host",
        "localhost\r\nX: y", "user@localhost", "localhost/x",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!api_hosts_allow(h, ok[i]))
            fail_msg("refused '%s'", ok[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (api_hosts_allow(h, bad[i]))
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(api_hosts_allow(h, NULL), 0);
    api_hosts_free(h);
}

static void
test_api_host_configured(void **state)
{
    struct api_hosts *h = parse_ok("collector,Logs.Example.COM.,.corp.test,"
                                   "my_collector");

    (void)state;
    assert_true(api_hosts_allow(h, "collector"));
    assert_true(api_hosts_allow(h, "COLLECTOR:7080"));
    assert_true(api_hosts_allow(h, "collector.:7080"));
    assert_true(api_hosts_allow(h, "logs.example.com"));
    assert_true(api_hosts_allow(h, "my_collector:7080"));
    assert_true(api_hosts_allow(h, "corp.test"));
    assert_true(api_hosts_allow(h, "a.corp.test:1"));
    assert_true(api_hosts_allow(h, "a.b.corp.test"));
    assert_true(api_hosts_allow(h, "127.0.0.1:7080"));     /* defaults kept */
    assert_true(api_hosts_allow(h, "localhost"));
    assert_false(api_hosts_allow(h, "collector2"));
    assert_false(api_hosts_allow(h, "xcorp.test"));
    assert_false(api_hosts_allow(h, "example.com"));
    assert_false(api_hosts_allow(h, "www.logs.example.com"));
    assert_false(api_hosts_allow(h, "collector.evil.example"));
    api_hosts_free(h);
}

static void
test_api_host_any(void **state)
{
    struct api_hosts *h = parse_ok("*");

    (void)state;
    assert_true(api_hosts_allow(h, "anything.example:9"));
    assert_true(api_hosts_allow(h, "collector"));
    /* malformed values stay refused */
    assert_false(api_hosts_allow(h, "a b"));
    assert_false(api_hosts_allow(h, ""));
    assert_false(api_hosts_allow(h, "x:y"));
    api_hosts_free(h);
}

static void
test_api_host_parse_errors(void **state)
{
    static const char *const bad[] = {
        ",", "a,", ",a", "a,,b", ".", "a b", "a:80", "http://a", "a/b",
        "[::1]", "*x",
    };
    char many[64 * 4 + 8] = "";
    char *err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        if (api_hosts_parse(bad[i], &err) != NULL)
            fail_msg("accepted list '%s'", bad[i]);
        assert_non_null(err);
        assert_non_null(strstr(err, "--http-host"));
        free(err);
    }
    char long_name[API_HOST_MAX_LEN + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    err = NULL;
    assert_null(api_hosts_parse(long_name, &err));
    free(err);
    long_name[API_HOST_MAX_LEN] = '\0';     /* exactly the maximum */
    api_hosts_free(parse_ok(long_name));
    size_t len = 0;
    for (int i = 0; i <= API_HOST_MAX_NAMES; i++)     /* 65 names */
        len += (size_t)snprintf(many + len, sizeof(many) - len, "%sh%d",
                                i ? "," : "", i % 10);
    err = NULL;
    assert_null(api_hosts_parse(many, &err));
    assert_non_null(strstr(err, "more than"));
    free(err);
    api_hosts_free(parse_ok(""));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_host_defaults),
        cmocka_unit_test(test_api_host_configured),
        cmocka_unit_test(test_api_host_any),
        cmocka_unit_test(test_api_host_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
