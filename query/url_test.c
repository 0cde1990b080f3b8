/* SPDX-License-Identifier: MIT */
/*
 * url_test: server URL forms (scheme or not, port, IPv6 literal, prefix with
 * and without trailing '/'), every rejection, the server precedence (flag,
 * LOGQ_SERVER, default) and query-parameter percent-encoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/url.h"

static void
expect_url(const char *s, const char *host, unsigned port, const char *prefix)
{
    struct url u;
    char err[256];

    assert_int_equal(url_parse(s, &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.prefix, prefix);
    url_fini(&u);
}

static void
expect_bad(const char *s, const char *why)
{
    struct url u;
    char err[256] = "";

    assert_int_equal(url_parse(s, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, why));
}

static void
test_url_forms(void **state)
{
    (void)state;
    expect_url("http://127.0.0.1:7080", "127.0.0.1", 7080, "");
    expect_url("http://localhost", "localhost", 80, "");
    expect_url("http://collector:9000/", "collector", 9000, "");
    expect_url("http://c:1/logq", "c", 1, "/logq");
    expect_url("http://c:65535/a/b//", "c", 65535, "/a/b");
    expect_url("http://[::1]:7080/p", "::1", 7080, "/p");
    expect_url("http://[fe80::1]", "fe80::1", 80, "");
    expect_url("node1:7080", "node1", 7080, "");
    expect_url("node1", "node1", 80, "");
}

/* https:// selects TLS and port 443 by default; everything else about
 * the URL is parsed the same way. */
static void
test_url_https(void **state)
{
    struct url u;
    char err[256];

    (void)state;
    assert_int_equal(url_parse("https://c:7080/p", &u, err, sizeof(err)), 0);
    assert_int_equal(u.is_tls, 1);
    assert_int_equal(u.port, 7080);
    assert_string_equal(u.host, "c");
    assert_string_equal(u.prefix, "/p");
    url_fini(&u);
    assert_int_equal(url_parse("https://[::1]", &u, err, sizeof(err)), 0);
    assert_int_equal(u.is_tls, 1);
    assert_int_equal(u.port, 443);
    url_fini(&u);
    assert_int_equal(url_parse("http://c", &u, err, sizeof(err)), 0);
    assert_int_equal(u.is_tls, 0);
    url_fini(&u);
    assert_int_equal(url_parse("c:1", &u, err, sizeof(err)), 0);
    assert_int_equal(u.is_tls, 0);
    url_fini(&u);
    expect_bad("https://", "empty host");
    expect_bad("https://u@c", "user info");
}

static void
test_url_rejections(void **state)
{
    (void)state;
    expect_bad("ftp://c", "scheme must be http or https");
    expect_bad("HTTPS://c", "scheme must be http or https");
    expect_bad("http://", "empty host");
    expect_bad("http://:7080", "empty host");
    expect_bad("http://c:0", "bad port");
    expect_bad("http://c:65536", "bad port");
    expect_bad("http://c:", "bad port");
    expect_bad("http://c:80x", "bad port");
    expect_bad("http://c:123456", "bad port");
    expect_bad("http://u:p@c:80", "user info");
    expect_bad("http://c/x?y=1", "query or fragment");
    expect_bad("http://c/#f", "query or fragment");
    expect_bad("http://[::1", "unterminated");
    expect_bad("http://[::1]x", "junk after");
    expect_bad("http://[]:80", "empty host");
}

static void
test_url_server_choice(void **state)
{
    (void)state;
    assert_string_equal(url_server_choose("http://a", "http://b"), "http://a");
    assert_string_equal(url_server_choose(NULL, "http://b"), "http://b");
    assert_string_equal(url_server_choose(NULL, ""), URL_DEFAULT_SERVER);
    assert_string_equal(url_server_choose(NULL, NULL), URL_DEFAULT_SERVER);
    assert_string_equal(URL_DEFAULT_SERVER, "http://127.0.0.1:7080");
}

static void
test_url_params_encoding(void **state)
{
    struct buf b;
    int n = 0;

    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(url_param_append(&b, &n, "q",
                                      "\"connection reset\" -timeout"), 0);
    assert_int_equal(url_param_append(&b, &n, "container", "web*"), 0);
    assert_int_equal(url_param_append(&b, &n, "regex", "a&b=c+d/%~._-"), 0);
    assert_int_equal(url_param_append(&b, &n, "x", "\xc3\xa9"), 0);
    assert_int_equal(n, 4);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
                        "?q=%22connection%20reset%22%20-timeout"
                        "&container=web%2A&regex=a%26b%3Dc%2Bd%2F%25~._-"
                        "&x=%C3%A9");
    buf_fini(&b);
}

static void
test_url_params_cap_leaves_buffer(void **state)
{
    struct buf b;
    int n = 0;

    (void)state;
    buf_init(&b, 12);
    assert_int_equal(url_param_append(&b, &n, "a", "1"), 0);
    assert_int_equal(url_param_append(&b, &n, "b", "      "), -1);
    assert_int_equal(n, 1);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "?a=1", 4);
    buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_url_https),
        cmocka_unit_test(test_url_rejections),
        cmocka_unit_test(test_url_server_choice),
        cmocka_unit_test(test_url_params_encoding),
        cmocka_unit_test(test_url_params_cap_leaves_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
