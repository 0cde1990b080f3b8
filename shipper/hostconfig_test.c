/* SPDX-License-Identifier: MIT */
/*
 * hostconfig_test: json-file's max-file from hostconfig.json text, and
 * the reader's refusals (symlink, directory, FIFO: HOSTCONFIG_REFUSED;
 * too large).
 */
#include <fcntl.h>
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

#include "common/xmalloc.h"
#include "shipper/hostconfig.h"

static int
parse(const char *text)
{
    int v = -7;

    if (hostconfig_max_file_parse(text, strlen(text), &v) < 0)
        return -1;
    return v;
}

static void
test_hostconfig_parse(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"LogConfig\":{\"Type\":\"json-file\","
                           "\"Config\":{\"max-file\":\"5\","
                           "\"max-size\":\"10m\"}}}"), 5);
    assert_int_equal(parse("{\"LogConfig\":{\"Type\":\"json-file\","
                           "\"Config\":{}}}"), 1);       /* the default */
    assert_int_equal(parse("{\"LogConfig\":{\"Type\":\"json-file\"}}"), 1);
    assert_int_equal(parse("{\"LogConfig\":{\"Type\":\"json-file\","
                           "\"Config\":{\"max-file\":\"1000000\"}}}"),
                     1000000);
}

static void
test_hostconfig_parse_bad(void **state)
{
    static const char *bad[] = {
        "", "[]", "{", "null", "{\"LogConfig\":1}",
        "{\"LogConfig\":{\"Type\":\"local\",\"Config\":{\"max-file\":\"5\"}}}",
        "{\"LogConfig\":{\"Config\":{\"max-file\":\"5\"}}}",
        "{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-file\":5}}}",
        "{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"0\"}}}",
        "{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"-3\"}}}",
        "{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"5x\"}}}",
        "{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"\"}}}",
        "{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"1000001\"}}}",
        "{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"99999999999\"}}}",
        "{\"LogConfig\":{\"Type\":\"json-file\",\"Type\":\"json-file\"}}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i]), -1);
    /* a NUL inside the text */
    int v;
    assert_int_equal(hostconfig_max_file_parse("{}\0{}", 5, &v), -1);
}

static void
test_hostconfig_read(void **state)
{
    char dir[] = "/tmp/hostconfig_test.XXXXXX";
    int v = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(hostconfig_max_file_read(dfd, &v), -1);  /* none */

    char *path = xasprintf("%s/hostconfig.json", dir);
    char *real = xasprintf("%s/real.json", dir);
    FILE *fp = fopen(real, "w");
    assert_non_null(fp);
    fputs("{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":"
          "{\"max-file\":\"4\"}}}", fp);
    fclose(fp);
    assert_int_equal(symlink(real, path), 0);       /* refused */
    assert_int_equal(hostconfig_max_file_read(dfd, &v), HOSTCONFIG_REFUSED);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rename(real, path), 0);
    assert_int_equal(hostconfig_max_file_read(dfd, &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(truncate(path, HOSTCONFIG_MAX_SIZE + 1), 0);
    assert_int_equal(hostconfig_max_file_read(dfd, &v), -1);  /* too big */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0700), 0);         /* not a file */
    assert_int_equal(hostconfig_max_file_read(dfd, &v), HOSTCONFIG_REFUSED);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);        /* nor a FIFO */
    assert_int_equal(hostconfig_max_file_read(dfd, &v), HOSTCONFIG_REFUSED);
    assert_int_equal(unlink(path), 0);
    close(dfd);
    assert_int_equal(rmdir(dir), 0);
    free(path);
    free(real);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostconfig_parse),
        cmocka_unit_test(test_hostconfig_parse_bad),
        cmocka_unit_test(test_hostconfig_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
