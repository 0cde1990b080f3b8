/* SPDX-License-Identifier: MIT */
/*
 * hostkeys_test: the collector's enrolment file (--token-file): comments,
 * tabs, CRLF and trailing whitespace; lookups by host; each refusal with
 * its line number (one field, three fields, short or non-ASCII tokens,
 * bad host names, duplicate hosts, one token for two hosts), and the
 * single shared token of protocol version 1 refused with a message that
 * names the new format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/ingest/hostkeys.h"

#define TOK_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TOK_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct hostkeys *
parse(const char *text, char **err)
{
    *err = NULL;
    return hostkeys_parse(text, strlen(text), "keys", err);
}

static void
refused(const char *text, const char *want)
{
    char *err;
    struct hostkeys *hk = parse(text, &err);

    assert_null(hk);
    assert_non_null(err);
    if (strstr(err, want) == NULL)
        fail_msg("got '%s', want '%s'", err, want);
    free(err);
}

static void
test_hostkeys_parse_and_get(void **state)
{
    char *err;
    size_t len = 0;

    (void)state;
    struct hostkeys *hk = parse("# HOST TOKEN\n\n  node1 " TOK_A "  \r\n"
                                "\tnode-2.example\t" TOK_B "\n"
                                "   # indented comment\n", &err);
    assert_non_null(hk);
    assert_int_equal(hostkeys_count(hk), 2);
    const char *t = hostkeys_get(hk, "node1", 5, &len);
    assert_non_null(t);
    assert_int_equal(len, 32);
    assert_memory_equal(t, TOK_A, 32);
    t = hostkeys_get(hk, "node-2.example", 14, &len);
    assert_non_null(t);
    assert_int_equal(len, 40);
    assert_null(hostkeys_get(hk, "node", 4, &len));        /* a prefix */
    assert_null(hostkeys_get(hk, "node12", 6, &len));
    assert_null(hostkeys_get(hk, "NODE1", 5, &len));       /* exact bytes */
    hostkeys_free(hk);
    hostkeys_free(NULL);
}

static void
test_hostkeys_refusals(void **state)
{
    (void)state;
    refused("", "keys: no host");
    refused("# only comments\n\n", "no host");
    refused("node1 " TOK_A "\nnode2\n", "keys:2: want HOST TOKEN");
    refused("node1 " TOK_A " extra\n", "keys:1: want HOST TOKEN");
    refused("node1 short\n", "keys:1: bad token");
    refused("node1 " TOK_A "\xc3\xa9\n", "keys:1: bad token");
    refused("node1 " TOK_A "\nnode1 " TOK_B "\n", "keys:2: duplicate host");
    refused("node1 " TOK_A "\nnode2 " TOK_A "\n",
            "keys:2: duplicate token (each host needs its own)");
    refused("no\x01" "de " TOK_A "\n", "keys:1: bad host name");
}

/* The file of protocol version 1 (one bare token) is refused with the new
 * format in the message, not as a bare "want HOST TOKEN". */
static void
test_hostkeys_old_shared_token_file(void **state)
{
    (void)state;
    refused(TOK_A "\n", "single shared token");
    refused("# the cluster token\n" TOK_A "\r\n", "HOST TOKEN");
    refused(TOK_A "\n", "SECURITY.md");
}

static void
test_hostkeys_host_names(void **state)
{
    char host[300];

    (void)state;
    assert_true(hostkeys_is_host("node1", 5));
    assert_true(hostkeys_is_host("h\xc3\xa9te", 5));      /* UTF-8 bytes */
    assert_false(hostkeys_is_host("", 0));
    assert_false(hostkeys_is_host("a b", 3));
    assert_false(hostkeys_is_host("a\x7f", 2));
    assert_false(hostkeys_is_host("a\n", 2));
    memset(host, 'h', sizeof(host));
    assert_true(hostkeys_is_host(host, 255));
    assert_false(hostkeys_is_host(host, 256));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostkeys_parse_and_get),
        cmocka_unit_test(test_hostkeys_refusals),
        cmocka_unit_test(test_hostkeys_old_shared_token_file),
        cmocka_unit_test(test_hostkeys_host_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
