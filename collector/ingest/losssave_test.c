/* SPDX-License-Identifier: MIT */
/*
 * losssave_test: the lost-data file written on the saver's thread
 * (common/filesave.c with lossfile_write, as ingest.c starts it): the
 * calling thread writes nothing (lossfile_n_written_here stays 0 here
 * while the file appears with the text, mode 0600); results come back by
 * polling (the version saved; a failure counted once with its error, the
 * file untouched); a burst of texts ends with the newest on disk; a text
 * still queued at free is written.
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

#include "collector/ingest/lossfile.h"
#include "common/filesave.h"
#include "common/xmalloc.h"
#include "tests/support/testdir.h"

static int
setup(void **state)
{
    *state = testdir_file_new("losssave_test", "losses");
    return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    return testdir_file_free(*state);
}

static void
expect_file(const char *path, const char *want)
{
    FILE *fp = fopen(path, "r");
    char got[256] = "";

    assert_non_null(fp);
    size_t n = fread(got, 1, sizeof(got) - 1, fp);
    fclose(fp);
    got[n] = '\0';
    assert_string_equal(got, want);
}

static void
test_losssave_off_thread(void **state)
{
    struct testdir_file *f = *state;
    char *err = NULL;
    struct filesave *s = filesave_new(f->path, "lq-losssave",
                                     lossfile_write, &err);
    struct filesave_result r;
    struct stat st;
    uint64_t before = lossfile_n_written_here();

    assert_non_null(s);
    filesave_put(s, xstrdup("logq-losses 1\n"), 14, 7);
    filesave_drain(s);
    filesave_poll(s, &r);
    assert_int_equal(r.has_saved, 1);
    assert_int_equal(r.saved, 7);
    assert_int_equal(r.n_failed, 0);
    assert_null(r.err);
    assert_int_equal(r.is_busy, 0);
    expect_file(f->path, "logq-losses 1\n");
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(lossfile_n_written_here(), before);
    filesave_poll(s, &r);               /* reported once */
    assert_int_equal(r.has_saved, 0);
    filesave_free(s);
    /* writing here does count: the check can fail */
    assert_int_equal(lossfile_write(f->path, "x", 1, &err), 0);
    assert_int_equal(lossfile_n_written_here(), before + 1);
}

static void
test_losssave_failure(void **state)
{
    struct testdir_file *f = *state;
    char *err = NULL;
    struct filesave *s = filesave_new(f->path, "lq-losssave",
                                     lossfile_write, &err);
    struct filesave_result r;

    assert_int_equal(mkdir(f->path, 0700), 0);
    char *inner = xasprintf("%s/x", f->path);
    assert_int_equal(mkdir(inner, 0700), 0);  /* a non-empty directory */
    filesave_put(s, xstrdup("a"), 1, 1);
    filesave_drain(s);
    filesave_put(s, xstrdup("b"), 1, 2);
    filesave_drain(s);
    filesave_poll(s, &r);
    assert_int_equal(r.n_failed, 2);
    assert_int_equal(r.has_saved, 0);
    assert_non_null(r.err);
    assert_non_null(strstr(r.err, f->path));
    free(r.err);
    assert_int_equal(rmdir(inner), 0);
    assert_int_equal(rmdir(f->path), 0);
    free(inner);
    filesave_put(s, xstrdup("c"), 1, 3);    /* the next one works */
    filesave_drain(s);
    filesave_poll(s, &r);
    assert_int_equal(r.n_failed, 0);
    assert_int_equal(r.has_saved, 1);
    assert_int_equal(r.saved, 3);
    expect_file(f->path, "c");
    filesave_free(s);
}

/* A burst: the newest text is on disk once drained; one queued at free
 * is written before the thread stops. */
static void
test_losssave_burst_and_free(void **state)
{
    struct testdir_file *f = *state;
    char *err = NULL;
    struct filesave *s = filesave_new(f->path, "lq-losssave",
                                     lossfile_write, &err);
    struct filesave_result r;
    uint64_t before = lossfile_n_written_here();

    for (int i = 1; i <= 200; i++)
        filesave_put(s, xasprintf("text %d", i), strlen("text ") +
                     (i < 10 ? 1 : i < 100 ? 2 : 3), (uint64_t)i);
    filesave_drain(s);
    filesave_poll(s, &r);
    assert_int_equal(r.saved, 200);
    expect_file(f->path, "text 200");
    filesave_put(s, xstrdup("last"), 4, 201);
    filesave_free(s);
    expect_file(f->path, "last");
    assert_int_equal(lossfile_n_written_here(), before);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_losssave_off_thread, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_losssave_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_losssave_burst_and_free, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
