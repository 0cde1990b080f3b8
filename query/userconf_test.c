/* SPDX-License-Identifier: MIT */
/*
 * userconf_test: every setting and a saved query parsed; each kind of bad
 * line an error naming path:line (unknown key, twice, no '=', no value,
 * bad server/color/since, bad query name, unterminated quote, too many
 * words, a NUL or control byte, an over-long line); shell-like word
 * splitting against expected words; the path rules; the file rules
 * (missing, group-writable, another user's (as root), not regular, a
 * FIFO without a writer) and "~/" expansion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "query/args.h"
#include "query/userconf.h"

static int
parse(const char *text, struct userconf *c, char *err, size_t errlen)
{
    return userconf_parse(text, strlen(text), "cfg", c, err, errlen);
}

static void
test_userconf_all_settings(void **state)
{
    struct userconf c;
    char err[256] = "";
    const char *text =
        "# logq\n\n  server = https://logs.example:7443 \n"
        "token-file=~/.tok\ntls-ca = /etc/ca.pem\r\ncolor = never\n"
        "since = 2h\n@errors = error -v 'health check' --container \"web*\"\n"
        "@x.y-1 = hosts";

    (void)state;
    assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
    assert_string_equal(c.server, "https://logs.example:7443");
    assert_string_equal(c.token_file, "~/.tok");
    assert_string_equal(c.tls_ca, "/etc/ca.pem");
    assert_true(c.has_color);
    assert_int_equal(c.color_mode, ARGS_COLOR_NEVER);
    assert_string_equal(c.since, "2h");
    assert_int_equal(c.n_queries, 2);
    const struct userconf_query *q = userconf_query_get(&c, "errors");
    assert_non_null(q);
    assert_int_equal(q->n_words, 5);
    assert_string_equal(q->words[2], "health check");
    assert_string_equal(q->words[4], "web*");
    assert_int_equal(userconf_query_get(&c, "x.y-1")->n_words, 1);
    assert_null(userconf_query_get(&c, "nope"));
    userconf_fini(&c);
    assert_int_equal(parse("", &c, err, sizeof(err)), 0);
    assert_null(c.server);
    assert_false(c.has_color);
    userconf_fini(&c);
}

static void
expect_bad(const char *text, const char *want)
{
    struct userconf c;
    char err[256] = "";

    assert_int_equal(userconf_parse(text, strlen(text) + (text[0] == 'N'),
                                    "cfg", &c, err, sizeof(err)), -1);
    if (strstr(err, want) == NULL)
        fail_msg("'%s': got '%s', want '%s'", text, err, want);
}

static void
test_userconf_bad_lines(void **state)
{
    (void)state;
    expect_bad("server = http://a\nbogus = 1\n", "cfg:2: unknown setting "
               "'bogus'");
    expect_bad("color = auto\n\ncolor = never", "cfg:3: color given twice");
    expect_bad("server = http://a\nserver = http://b", "cfg:2: server given "
               "twice");
    expect_bad("\n\njust words\n", "cfg:3: expected KEY = VALUE");
    expect_bad("since =   \n", "cfg:1: since has no value");
    expect_bad("= x\n", "cfg:1: no key before '='");
    expect_bad("server = ftp://x\n", "cfg:1: bad server 'ftp://x'");
    expect_bad("color = sometimes\n", "cfg:1: bad color 'sometimes'");
    expect_bad("since = yesterdayish\n", "cfg:1: bad since 'yesterdayish'");
    expect_bad("@ = x\n", "cfg:1: bad query name '@'");
    expect_bad("@a b = x\n", "cfg:1: bad query name '@a b'");
    expect_bad("@q = a\n@q = b\n", "cfg:2: query @q given twice");
    expect_bad("@q = 'open\n", "cfg:1: query @q: unterminated ' quote");
    expect_bad("@q = \"open\n", "cfg:1: query @q: unterminated \" quote");
    expect_bad("@q = a\x1b[2J\n", "cfg:1: control byte 0x1b");
    expect_bad("N", "cfg:1: NUL byte");     /* "N" and its NUL */

    char big[USERCONF_MAX_LINE + 16];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "@q=", 3);
    expect_bad(big, "cfg:1: line longer than 4096 bytes");

    char many[512] = "@q =";
    size_t at = strlen(many);
    for (int i = 0; i <= USERCONF_MAX_WORDS; i++)
        at += (size_t)snprintf(many + at, sizeof(many) - at, " w");
    expect_bad(many, "cfg:1: query @q: more than 64 words");
}

static void
test_userconf_words(void **state)
{
    char **w;
    int n;
    char err[128];

    (void)state;
    assert_int_equal(userconf_words_split("  a 'b c'\t\"d \\\" e\" f\\ g "
                                          "'x'\"y\"z \"\\n\"", &w, &n, 8,
                                          err, sizeof(err)), 0);
    assert_int_equal(n, 6);
    assert_string_equal(w[0], "a");
    assert_string_equal(w[1], "b c");
    assert_string_equal(w[2], "d \" e");
    assert_string_equal(w[3], "f g");
    assert_string_equal(w[4], "xyz");
    assert_string_equal(w[5], "\\n");     /* kept, as sh keeps it */
    for (int i = 0; i < n; i++)
        free(w[i]);
    free(w);
    assert_int_equal(userconf_words_split("a b c", &w, &n, 2, err,
                                          sizeof(err)), -1);
    assert_string_equal(err, "more than 2 words");
    assert_int_equal(userconf_words_split("", &w, &n, 2, err, sizeof(err)),
                     0);
    assert_int_equal(n, 0);
    free(w);
}

static void
test_userconf_path(void **state)
{
    int is_explicit;
    char *p;

    (void)state;
    p = userconf_path("/x/c", "/xdg", "/home/u", &is_explicit);
    assert_string_equal(p, "/x/c");
    assert_true(is_explicit);
    free(p);
    assert_null(userconf_path("", "/xdg", "/home/u", &is_explicit));
    p = userconf_path(NULL, "/xdg", "/home/u", &is_explicit);
    assert_string_equal(p, "/xdg/logq/config");
    assert_false(is_explicit);
    free(p);
    p = userconf_path(NULL, "rel", "/home/u", &is_explicit);
    assert_string_equal(p, "/home/u/.config/logq/config");
    free(p);
    assert_null(userconf_path(NULL, NULL, NULL, &is_explicit));
}

static void
test_userconf_load(void **state)
{
    char dir[] = "/tmp/userconf_test.XXXXXX", path[128], err[256] = "";
    struct userconf c;
    FILE *fp;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/config", dir);
    assert_int_equal(userconf_load(path, 0, "/h", &c, err, sizeof(err)), 1);
    assert_int_equal(userconf_load(path, 1, "/h", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file"));
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("token-file = ~/t\ntls-ca = ~x\n", fp);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, 0664), 0);
    assert_int_equal(userconf_load(path, 0, "/h", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mode 0664 lets the group or others"));
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(userconf_load(path, 0, "/h", &c, err, sizeof(err)), 0);
    assert_string_equal(c.token_file, "/h/t");
    assert_string_equal(c.tls_ca, "~x");
    userconf_fini(&c);
    /* another user's file (it could pick the server the token goes to);
     * only root can make one */
    if (geteuid() == 0) {
        assert_int_equal(chown(path, 12345, 12345), 0);
        assert_int_equal(userconf_load(path, 0, "/h", &c, err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "owned by uid 12345, not by you"));
        assert_int_equal(chown(path, 0, 0), 0);
    } else {
        print_message("[ SKIPPED  ] not root: another user's file\n");
    }
    assert_int_equal(userconf_load(dir, 1, "/h", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    /* a FIFO is refused, not waited on for a writer (open would block) */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(userconf_load(path, 1, "/h", &c, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_userconf_all_settings),
        cmocka_unit_test(test_userconf_bad_lines),
        cmocka_unit_test(test_userconf_words),
        cmocka_unit_test(test_userconf_path),
        cmocka_unit_test(test_userconf_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
