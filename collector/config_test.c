/* SPDX-License-Identifier: MIT */
/*
 * config_test: option parsing of logq-collector (collector/config.c):
 * defaults, every value type, range and format errors, token file loading
 * and address parsing with port 0 (collector/ingest/listen.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/api/api_auth.h"
#include "collector/config.h"
#include "collector/ingest/hostkeys.h"
#include "collector/ingest/listen.h"

static enum config_result
parse(struct collector_config *c, char **errstr, int argc, ...)
{
    char *argv[32];
    va_list ap;

    argv[0] = "logq-collector";
    va_start(ap, argc);
    for (int i = 1; i <= argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc + 1] = NULL;
    return collector_config_parse(c, argc + 1, argv, errstr);
}

static void
test_config_defaults_and_values(void **state)
{
    (void)state;
    struct collector_config c;
    char *err = NULL;

    assert_int_equal(parse(&c, &err, 2, "--data-dir", "/tmp/x"), CONFIG_OK);
    assert_string_equal(c.listen, "0.0.0.0:7070");
    assert_string_equal(c.http, "127.0.0.1:7080");
    assert_int_equal(c.max_connections, 1024);
    assert_int_equal(c.retention_age_ns, 0);
    assert_null(c.host_keys);
    collector_config_fini(&c);

    assert_int_equal(parse(&c, &err, 10, "--data-dir", "/d", "--listen",
                           "127.0.0.1:0", "--retention-age", "7d",
                           "--retention-size", "50G", "--log-level",
                           "debug"), CONFIG_OK);
    assert_string_equal(c.listen, "127.0.0.1:0");
    assert_true(c.retention_age_ns == INT64_C(7) * 86400 * 1000000000);
    assert_true(c.retention_bytes == INT64_C(50) << 30);
    assert_int_equal(c.level, LOG_LEVEL_DEBUG);
    collector_config_fini(&c);
}

static void
test_config_errors(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        { "--listen", "nohost" }, { "--listen", "1.2.3.4:70000" },
        { "--http", "1.2.3.4:" }, { "--http", "1.2.3.4:-1" },
        { "--max-connections", "0" }, { "--max-connections", "12x" },
        { "--retention-age", "forever" }, { "--retention-size", "5Q" },
        { "--log-level", "loud" }, { "--token-file", "/nonexistent/tok" },
        { "--bogus", "1" }, { "--segment-size", "1K" },
        { "--segment-size", "2T" }, { "--block-size", "512" },
        { "--block-size", "129M" }, { "--compress-level", "20" },
        { "--compress-level", "-1" }, { "--max-scan-bytes", "1K" },
        { "--max-scan-bytes", "2T" }, { "--retention-interval", "10ms" },
        { "--retention-interval", "2h" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct collector_config c;
        char *err = NULL;
        enum config_result r = parse(&c, &err, 4, "--data-dir", "/d",
                                     bad[i][0], bad[i][1]);
        if (r != CONFIG_ERROR)
            fail_msg("case %zu (%s %s) accepted", i, bad[i][0], bad[i][1]);
        assert_non_null(err);
        free(err);
        collector_config_fini(&c);
    }
    struct collector_config c;
    char *err = NULL;
    assert_int_equal(parse(&c, &err, 0), CONFIG_ERROR);   /* no data dir */
    free(err);
    collector_config_fini(&c);
}

/* The store and search knobs: defaults, values, and where they land. */
static void
test_config_store_knobs(void **state)
{
    (void)state;
    struct collector_config c;
    char *err = NULL;

    assert_int_equal(parse(&c, &err, 2, "--data-dir", "/d"), CONFIG_OK);
    assert_true(c.segment_size == INT64_C(64) << 20);
    assert_true(c.block_size == INT64_C(1) << 20);
    assert_true(c.compress_level == 0);
    assert_true(c.max_scan_bytes == INT64_C(16) << 30);
    assert_true(c.retention_interval_ns == INT64_C(10000000000));
    collector_config_fini(&c);

    assert_int_equal(parse(&c, &err, 12, "--data-dir", "/d",
                           "--segment-size", "64K", "--block-size", "4K",
                           "--compress-level", "19", "--max-scan-bytes",
                           "1M", "--retention-interval", "250ms"),
                     CONFIG_OK);
    assert_true(c.segment_size == 65536);
    assert_true(c.block_size == 4096);
    assert_true(c.compress_level == 19);
    assert_true(c.max_scan_bytes == 1 << 20);
    assert_true(c.retention_interval_ns == 250000000);
    collector_config_fini(&c);
}

/* The HTTP limits and --http-host: defaults, a repeated --http-host
 * joined into one list, a bad name or an out-of-range limit refused. */
static void
test_config_http_limits(void **state)
{
    (void)state;
    struct collector_config c;
    char *err = NULL;

    assert_int_equal(parse(&c, &err, 2, "--data-dir", "/d"), CONFIG_OK);
    assert_null(c.http_host);
    assert_int_equal(c.http_max_connections, 256);
    assert_true(c.http_request_timeout_ns == INT64_C(10000000000));
    assert_true(c.http_max_response == INT64_C(256) << 20);
    collector_config_fini(&c);

    assert_int_equal(parse(&c, &err, 12, "--data-dir", "/d", "--http-host",
                           "a.example", "--http-host", ".corp.test,*",
                           "--http-max-connections", "8",
                           "--http-request-timeout", "2s",
                           "--http-max-response", "16K"), CONFIG_OK);
    assert_string_equal(c.http_host, "a.example,.corp.test,*");
    assert_int_equal(c.http_max_connections, 8);
    assert_true(c.http_request_timeout_ns == INT64_C(2000000000));
    assert_true(c.http_max_response == 16384);
    collector_config_fini(&c);

    static const char *const bad[][2] = {
        { "--http-host", "a b" }, { "--http-host", "a," },
        { "--http-host", "h:80" }, { "--http-max-connections", "0" },
        { "--http-request-timeout", "10ms" }, { "--http-max-response", "1K" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        assert_int_equal(parse(&c, &err, 4, "--data-dir", "/d", bad[i][0],
                               bad[i][1]), CONFIG_ERROR);
        assert_non_null(strstr(err, bad[i][0]));
        free(err);
        collector_config_fini(&c);
    }
}

#define TOK32 "0123456789abcdef0123456789abcdef"

/* Writes text to path (truncating) and sets mode. */
static void
put_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_TRUNC);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

/* CONFIG_ERROR with want in the message. */
static void
parse_fails(const char *flag, const char *path, const char *want)
{
    struct collector_config c;
    char *err = NULL;

    assert_int_equal(parse(&c, &err, 4, "--data-dir", "/d", flag, path),
                     CONFIG_ERROR);
    if (strstr(err, want) == NULL)
        fail_msg("got '%s', want '%s'", err, want);
    free(err);
    collector_config_fini(&c);
}

static void
test_config_token_file(void **state)
{
    (void)state;
    char path[] = "/tmp/config_test_tokXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    put_file(path, "# enrolled shippers\nnode1 " TOK32 " \r\n\n"
             "node2\t" TOK32 "-2\n", 0600);
    struct collector_config c;
    char *err = NULL;
    size_t len = 0;
    assert_int_equal(parse(&c, &err, 4, "--data-dir", "/d", "--token-file",
                           path), CONFIG_OK);
    assert_int_equal(hostkeys_count(c.host_keys), 2);
    const char *tok = hostkeys_get(c.host_keys, "node1", 5, &len);
    assert_non_null(tok);
    assert_int_equal(len, 32);
    assert_memory_equal(tok, TOK32, 32);
    collector_config_fini(&c);

    put_file(path, "\n", 0600);
    parse_fails("--token-file", path, "no host");
    put_file(path, "node1 s3cret\n", 0600);
    parse_fails("--token-file", path, ":1: bad token");
    /* the shared token of protocol version 1: refused, naming the format */
    put_file(path, TOK32 "\n", 0600);
    parse_fails("--token-file", path, "single shared token");
    parse_fails("--token-file", path, "HOST TOKEN");
    put_file(path, "node1 " TOK32 "\n", 0644);
    parse_fails("--token-file", path, "mode 0644");
    put_file(path, "node1 " TOK32 "\n", 0640);
    parse_fails("--token-file", path, "mode 0640");
    unlink(path);
}

static void
test_config_http_token_file(void **state)
{
    (void)state;
    char path[] = "/tmp/config_test_httpXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    put_file(path, "# who may read\ngrafana read " TOK32 "\n"
             "ops admin " TOK32 "-ops\n", 0600);
    struct collector_config c;
    char *err = NULL;
    assert_int_equal(parse(&c, &err, 4, "--data-dir", "/d",
                           "--http-token-file", path), CONFIG_OK);
    assert_non_null(c.http_auth);
    assert_int_equal(api_auth_count(c.http_auth), 2);
    collector_config_fini(&c);
    assert_null(c.http_auth);

    put_file(path, "grafana read " TOK32 "\n", 0604);
    parse_fails("--http-token-file", path, "mode 0604");
    put_file(path, "grafana read short\n", 0600);
    parse_fails("--http-token-file", path, ":1: bad token");
    put_file(path, "# nothing\n", 0600);
    parse_fails("--http-token-file", path, "no token");
    unlink(path);
    parse_fails("--http-token-file", path, "No such file");
}

/* The exposure rule: non-loopback needs the port's token file. */
static void
test_config_exposure(void **state)
{
    (void)state;
    char tok[] = "/tmp/config_test_expXXXXXX";
    char http[] = "/tmp/config_test_exhXXXXXX";
    int fd = mkstemp(tok);
    assert_true(fd >= 0);
    close(fd);
    fd = mkstemp(http);
    assert_true(fd >= 0);
    close(fd);
    put_file(tok, "node1 " TOK32 "\n", 0600);
    put_file(http, "g read " TOK32 "\n", 0600);
    static const struct {
        const char *listen, *http;
        int has_tok, has_http, is_insecure, ok;
        const char *want;
    } cases[] = {
        { "127.0.0.1:0", "127.0.0.1:0", 0, 0, 0, 1, NULL },
        { "127.9.8.7:1", "[::1]:0", 0, 0, 0, 1, NULL },
        { "[::ffff:127.0.0.1]:0", "127.0.0.1:0", 0, 0, 0, 1, NULL },
        { "0.0.0.0:7070", "127.0.0.1:0", 0, 0, 0, 0, "--listen 0.0.0.0:7070" },
        { "10.0.0.1:7070", "127.0.0.1:0", 0, 0, 0, 0, "--token-file" },
        { "[::]:7070", "127.0.0.1:0", 0, 1, 0, 0, "--token-file" },
        { "0.0.0.0:7070", "127.0.0.1:0", 1, 0, 0, 1, NULL },
        { "127.0.0.1:0", "0.0.0.0:7080", 1, 0, 0, 0, "--http-token-file" },
        { "127.0.0.1:0", "[::]:7080", 0, 0, 0, 0, "--http [::]:7080" },
        { "127.0.0.1:0", "128.0.0.1:7080", 1, 0, 0, 0, "--http-token-file" },
        { "0.0.0.0:7070", "0.0.0.0:7080", 1, 1, 0, 1, NULL },
        { "0.0.0.0:7070", "0.0.0.0:7080", 0, 0, 1, 1, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *argv[12] = { "--data-dir", "/d", "--listen",
                                 cases[i].listen, "--http", cases[i].http };
        int argc = 6;
        if (cases[i].has_tok) {
            argv[argc++] = "--token-file";
            argv[argc++] = tok;
        }
        if (cases[i].has_http) {
            argv[argc++] = "--http-token-file";
            argv[argc++] = http;
        }
        if (cases[i].is_insecure)
            argv[argc++] = "--insecure";
        struct collector_config c;
        char *err = NULL;
        char *full[13] = { "logq-collector" };
        memcpy(full + 1, argv, sizeof(char *) * (size_t)argc);
        assert_int_equal(collector_config_parse(&c, argc + 1, full, &err),
                         CONFIG_OK);
        int rc = collector_config_check_exposure(&c, &err);
        if (cases[i].ok && rc != 0)
            fail_msg("case %zu: refused: %s", i, err);
        if (!cases[i].ok) {
            assert_int_equal(rc, -1);
            if (strstr(err, cases[i].want) == NULL)
                fail_msg("case %zu: got '%s', want '%s'", i, err,
                         cases[i].want);
            free(err);
        }
        assert_int_equal(c.is_insecure, cases[i].is_insecure);
        collector_config_fini(&c);
    }
    unlink(tok);
    unlink(http);
}

static void
test_config_size_parse(void **state)
{
    (void)state;
    int64_t v;

    assert_int_equal(config_size_parse("0", &v), 0);
    assert_true(v == 0);
    assert_int_equal(config_size_parse("1024", &v), 0);
    assert_true(v == 1024);
    assert_int_equal(config_size_parse("512M", &v), 0);
    assert_true(v == INT64_C(512) << 20);
    assert_int_equal(config_size_parse("2GiB", &v), 0);
    assert_true(v == INT64_C(2) << 30);
    assert_int_equal(config_size_parse("1T", &v), 0);
    assert_int_equal(config_size_parse("", &v), -1);
    assert_int_equal(config_size_parse("-1", &v), -1);
    assert_int_equal(config_size_parse("G", &v), -1);
    assert_int_equal(config_size_parse("99999999999T", &v), -1);
    assert_int_equal(config_size_parse("5GB ", &v), -1);
}

static void
test_listen_parse_addr(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    int len;

    assert_int_equal(listen_parse_addr("127.0.0.1:0", &ss, &len), 0);
    assert_int_equal(listen_parse_addr("0.0.0.0:7070", &ss, &len), 0);
    assert_int_equal(listen_parse_addr("[::1]:80", &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(listen_parse_addr("127.0.0.1", &ss, &len), -1);
    assert_int_equal(listen_parse_addr(":80", &ss, &len), -1);
    assert_int_equal(listen_parse_addr("host.example:80", &ss, &len), -1);
    assert_int_equal(listen_parse_addr("1.2.3.4:65536", &ss, &len), -1);
    assert_int_equal(listen_parse_addr("1.2.3.4:8x", &ss, &len), -1);
}

/* A parse that stopped inside a group of short options ("-xt": 'x'
 * unknown) must not leave the rest ("t") to the next parse: glibc resets
 * getopt fully only with optind = 0 (optind = 1 kept its position in the
 * old argv, and the next parse saw a -t it was never given). */
static void
test_config_getopt_reset(void **state)
{
    struct collector_config c;
    char *err = NULL;
    char group[] = "-xt";

    (void)state;
    assert_int_equal(parse(&c, &err, 3, group, "--data-dir", "/d"),
                     CONFIG_ERROR);
    free(err);
    err = NULL;
    collector_config_fini(&c);
    assert_int_equal(parse(&c, &err, 2, "--data-dir", "/d"), CONFIG_OK);
    assert_false(c.is_check_only);
    collector_config_fini(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_and_values),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_store_knobs),
        cmocka_unit_test(test_config_http_limits),
        cmocka_unit_test(test_config_token_file),
        cmocka_unit_test(test_config_http_token_file),
        cmocka_unit_test(test_config_exposure),
        cmocka_unit_test(test_config_size_parse),
        cmocka_unit_test(test_listen_parse_addr),
        cmocka_unit_test(test_config_getopt_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
